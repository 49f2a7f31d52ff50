"""Personal data at rest (DESIGN §7): ID numbers and phones are stored as Fernet ciphertext,
found through a keyed blind index, survive key rotation, and fail loudly under a wrong key."""

from __future__ import annotations

import io
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from cases import crypto, services
from cases.crypto import FieldDecryptionError, blind_index
from cases.models import Case
from tests.factories import VALID_ID_NUMBER, draft_case

PHONE = "13800138000"
OLD_KEY = django_settings.FIELD_ENCRYPTION_KEYS[0]
NEW_KEY = Fernet.generate_key().decode()
STRANGER_KEY = Fernet.generate_key().decode()


def stored(case: Case) -> dict[str, Any]:
    """The case row exactly as the database holds it, read past the ORM's fields."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM cases_case WHERE id = %s", [case.pk])
        names = [column[0] for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def opens_with(key: str, token: str) -> str | None:
    try:
        return Fernet(key.encode()).decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def set_raw(case: Case, column: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE cases_case SET {column} = %s WHERE id = %s", [value, case.pk])


def rotate(*args: str) -> str:
    out = io.StringIO()
    call_command("rotate_field_keys", *args, stdout=out)
    return out.getvalue()


# --- at rest --------------------------------------------------------------------------------


def test_the_database_holds_ciphertext_not_the_id_number_or_phone(applicant: Any) -> None:
    case = draft_case(applicant)

    row = stored(case)
    for value in row.values():
        assert VALID_ID_NUMBER not in str(value)
        assert PHONE not in str(value)
    assert row["id_number"].startswith("gAAAAA")  # a Fernet token
    assert crypto.decrypt(row["id_number"]) == VALID_ID_NUMBER
    assert crypto.decrypt(row["phone"]) == PHONE
    assert row["id_number_index"] == blind_index(VALID_ID_NUMBER)
    # Through the ORM the application sees plaintext.
    case = Case.objects.get(pk=case.pk)
    assert (case.id_number, case.phone) == (VALID_ID_NUMBER, PHONE)


def test_the_audit_trail_does_not_copy_the_declared_values(applicant: Any) -> None:
    case = draft_case(applicant)
    services.case_update_declared_data(
        case=case, actor=applicant, declared={"phone": "13900139000"}
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM cases_caseevent WHERE case_id = %s", [case.pk])
        rows = cursor.fetchall()
    assert rows
    dumped = repr(rows)
    for secret in (VALID_ID_NUMBER, PHONE, "13900139000"):
        assert secret not in dumped


def test_the_same_value_encrypts_differently_each_time(
    applicant: Any, other_applicant: Any
) -> None:
    first, second = draft_case(applicant), draft_case(other_applicant)

    assert stored(first)["id_number"] != stored(second)["id_number"]
    # The blind index, by design, is equal for equal ID numbers: that is what makes it searchable.
    assert stored(first)["id_number_index"] == stored(second)["id_number_index"]


# --- the blind index ------------------------------------------------------------------------


def test_lookup_by_id_number_goes_through_the_blind_index(
    applicant: Any, other_applicant: Any
) -> None:
    wanted = draft_case(applicant, id_number="110105 19491231 002x")
    draft_case(other_applicant, id_number="110101199003074477")

    assert Case.objects.get(pk=wanted.pk).id_number == VALID_ID_NUMBER  # normalized on input
    for typed in (VALID_ID_NUMBER, "11010519491231002x", " 110105 19491231 002X "):
        found = Case.objects.filter(id_number_index=blind_index(typed))
        assert list(found.values_list("pk", flat=True)) == [wanted.pk]
    assert not Case.objects.filter(id_number_index=blind_index("110105194912310011")).exists()


def test_the_blind_index_is_keyed(settings: Any) -> None:
    before = blind_index(VALID_ID_NUMBER)
    settings.BLIND_INDEX_KEY = "another-blind-index-key"
    assert blind_index(VALID_ID_NUMBER) != before
    settings.BLIND_INDEX_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="BLIND_INDEX_KEY"):
        blind_index(VALID_ID_NUMBER)


@pytest.mark.parametrize(
    "lookup",
    [
        {"id_number": VALID_ID_NUMBER},
        {"id_number__iexact": VALID_ID_NUMBER},
        {"id_number__startswith": "110105"},
        {"phone__contains": "138"},
        {"phone__in": [PHONE]},
    ],
)
def test_filtering_on_an_encrypted_field_is_refused(db: None, lookup: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="is encrypted and cannot be searched"):
        Case.objects.filter(**lookup)


def test_isnull_on_an_encrypted_field_still_works(applicant: Any) -> None:
    case = draft_case(applicant)
    assert list(Case.objects.filter(id_number__isnull=False).values_list("pk", flat=True)) == [
        case.pk
    ]


# --- rotation -------------------------------------------------------------------------------


def test_a_new_key_first_keeps_old_rows_readable_and_encrypts_new_writes_with_it(
    settings: Any, applicant: Any, other_applicant: Any
) -> None:
    old_case = draft_case(applicant)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    old_case = Case.objects.get(pk=old_case.pk)
    assert (old_case.id_number, old_case.phone) == (VALID_ID_NUMBER, PHONE)
    # Reading does not rewrite: the row stays under the old key until written or rotated.
    assert opens_with(NEW_KEY, stored(old_case)["id_number"]) is None
    assert opens_with(OLD_KEY, stored(old_case)["id_number"]) == VALID_ID_NUMBER

    new_case = draft_case(other_applicant)
    services.case_update_declared_data(
        case=old_case, actor=applicant, declared={"phone": "13900139000"}
    )
    assert opens_with(NEW_KEY, stored(new_case)["id_number"]) == VALID_ID_NUMBER
    assert opens_with(OLD_KEY, stored(new_case)["id_number"]) is None
    assert opens_with(NEW_KEY, stored(old_case)["phone"]) == "13900139000"
    assert opens_with(OLD_KEY, stored(old_case)["phone"]) is None


def test_rotate_field_keys_makes_every_row_readable_with_the_new_key_alone(
    settings: Any, applicant: Any, other_applicant: Any
) -> None:
    first, second = draft_case(applicant), draft_case(other_applicant, phone="")
    index_before = stored(first)["id_number_index"]
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    output = rotate("--batch-size", "1")

    assert "Checked 2 cases: re-encrypted 3 values" in output
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    first, second = Case.objects.get(pk=first.pk), Case.objects.get(pk=second.pk)
    assert (first.id_number, first.phone) == (VALID_ID_NUMBER, PHONE)
    assert (second.id_number, second.phone) == (VALID_ID_NUMBER, "")
    assert stored(second)["phone"] == ""  # empty stays empty, not an encrypted empty string
    assert stored(first)["id_number_index"] == index_before  # the blind index is not touched
    # A second run finds nothing left to do.
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert "re-encrypted 0 values under the newest key; 3 were already under it" in rotate()


def test_rotation_stops_with_a_clear_error_at_a_row_no_key_opens(
    settings: Any, applicant: Any, other_applicant: Any
) -> None:
    good, bad = draft_case(applicant), draft_case(other_applicant)
    set_raw(bad, "phone", Fernet(STRANGER_KEY.encode()).encrypt(PHONE.encode()).decode())
    good_before, bad_before = stored(good), stored(bad)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    with pytest.raises(CommandError, match=rf"Case {bad.reference}: phone cannot be opened"):
        rotate()
    # Both cases were in the failed batch: its transaction rolled back, nothing half-rotated.
    assert stored(good) == good_before
    assert stored(bad) == bad_before

    with pytest.raises(CommandError):
        rotate("--batch-size", "1")
    # One case per transaction: the batch before the bad row is done and stays done.
    assert opens_with(NEW_KEY, stored(good)["id_number"]) == VALID_ID_NUMBER
    assert stored(bad) == bad_before


# --- wrong or missing keys ------------------------------------------------------------------


def test_a_wrong_key_is_a_clear_error_never_ciphertext_as_data(
    settings: Any, applicant: Any
) -> None:
    case = draft_case(applicant)
    token = stored(case)["id_number"]
    settings.FIELD_ENCRYPTION_KEYS = [STRANGER_KEY]

    with pytest.raises(FieldDecryptionError, match=r"Cannot decrypt Case\.id_number") as failure:
        Case.objects.get(pk=case.pk)
    assert token not in str(failure.value)
    with pytest.raises(FieldDecryptionError):
        list(Case.objects.values_list("phone", flat=True))
    # Fields that are not encrypted are still readable without the key.
    assert Case.objects.values_list("reference", flat=True).get(pk=case.pk) == case.reference


def test_altered_ciphertext_is_refused_not_decrypted_to_garbage(applicant: Any) -> None:
    case = draft_case(applicant)
    token = stored(case)["id_number"]
    flipped = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    set_raw(case, "id_number", flipped)

    with pytest.raises(FieldDecryptionError, match=r"Cannot decrypt Case\.id_number"):
        Case.objects.get(pk=case.pk)


def test_plaintext_left_in_the_column_is_refused(applicant: Any) -> None:
    case = draft_case(applicant)
    set_raw(case, "phone", PHONE)

    with pytest.raises(FieldDecryptionError, match=r"Cannot decrypt Case\.phone"):
        Case.objects.get(pk=case.pk)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "FIELD_ENCRYPTION_KEYS is empty"),
        (["not-a-fernet-key"], "not a Fernet key"),
    ],
)
def test_missing_or_malformed_keys_are_a_configuration_error(
    settings: Any, applicant: Any, keys: list[str], message: str
) -> None:
    case = draft_case(applicant)
    settings.FIELD_ENCRYPTION_KEYS = keys

    with pytest.raises(ImproperlyConfigured, match=message):
        Case.objects.get(pk=case.pk)
    with pytest.raises(ImproperlyConfigured, match=message):
        crypto.encrypt(PHONE)
    with pytest.raises(ImproperlyConfigured, match=message):
        rotate()


# --- the key commands -----------------------------------------------------------------------


def test_generate_field_key_prints_a_new_usable_fernet_key() -> None:
    keys = []
    for _ in range(2):
        out = io.StringIO()
        call_command("generate_field_key", stdout=out)
        keys.append(out.getvalue().strip())

    assert keys[0] != keys[1]
    for key in keys:
        fernet = Fernet(key.encode())
        assert fernet.decrypt(fernet.encrypt(b"x")) == b"x"
