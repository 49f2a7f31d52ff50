"""What each automatic check finds (cases/checks/findings.py, cases/checks/pictures.py): numbers,
names, scores, device flags, and pictures that are poor, reused or edited. Images are real files
through the real upload pipeline and storage."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFilter

from accounts.models import User
from accounts.roles import Role
from cases import services
from cases.checks.findings import number_problem
from cases.checks.pictures import image_quality
from cases.models import Case, CaseEvent, Document, Program, Signal
from cases.states import (
    EventType,
    Priority,
    ProgramCode,
    SignalKind,
    SignalSeverity,
    SignalStatus,
    Slot,
)
from tests.factories import (
    VALID_CREDIT_CODE,
    VALID_ID_NUMBER,
    ask_again,
    declared_for,
    submitted_case,
)
from tests.helpers import make_user, open_signals, photo, run_checks, upload_photo

# The factories' uploads are tiny plain PNGs; see tests/cases/checks/conftest.py.
pytestmark = pytest.mark.usefixtures("plain_factory_pictures")


def test_number_checks_name_what_is_wrong() -> None:
    today = date(2026, 11, 24)
    assert number_problem(VALID_ID_NUMBER, SignalKind.ID_NUMBER, today=today) == ""
    assert number_problem("110105194912310021", SignalKind.ID_NUMBER, today=today) == "checksum"
    assert number_problem("110105194913310021", SignalKind.ID_NUMBER, today=today) == "birth_date"
    assert number_problem("1101051949", SignalKind.ID_NUMBER, today=today) == "length"
    assert (
        number_problem("110105203001010028", SignalKind.ID_NUMBER, today=today)
        == "future_birth_date"
    )
    assert number_problem(VALID_CREDIT_CODE, SignalKind.CREDIT_CODE, today=today) == ""
    assert number_problem("91350100M000100Y44", SignalKind.CREDIT_CODE, today=today) != ""


@pytest.mark.real_photos
def test_image_quality_sees_blur_darkness_glare_and_size(settings: Any) -> None:
    sharp = Image.open(io.BytesIO(photo()))
    assert image_quality(sharp)["problems"] == []
    assert "blurry" in image_quality(sharp.filter(ImageFilter.GaussianBlur(6)))["problems"]
    dark = sharp.point(lambda v: v // 8)
    assert "dark" in image_quality(dark)["problems"]
    glare = sharp.copy()
    ImageDraw.Draw(glare).rectangle((0, 0, 900, 350), fill="#ffffff")
    assert "glare" in image_quality(glare)["problems"]
    assert "glare" not in image_quality(glare, glare=False)["problems"]  # a scanned page
    assert "small" in image_quality(sharp.resize((300, 200)))["problems"]
    settings.CHECK_MIN_SHARPNESS = 10**9  # the thresholds are the settings'
    assert "blurry" in image_quality(sharp)["problems"]


def test_declared_data_checks_on_a_credit_case(db: None, applicant: User) -> None:
    program = Program.objects.get(code=ProgramCode.CREDIT)
    program.min_credit_score = 600
    program.save()
    case = submitted_case(
        applicant, ProgramCode.CREDIT, credit_score=420, device_risk_flags=["rooted", "emulator"]
    )
    result = run_checks(case)
    found = open_signals(case)
    assert set(found) == {
        SignalKind.CREDIT_SCORE,
        SignalKind.DEVICE_RISK,
        SignalKind.PROFILE_MISMATCH,  # "Alice Applicant" in the wallet, 张三 declared
    }
    assert found[SignalKind.CREDIT_SCORE].evidence == {"score": 420, "minimum": 600}
    assert found[SignalKind.CREDIT_SCORE].severity == SignalSeverity.HIGH
    assert found[SignalKind.DEVICE_RISK].evidence == {"flags": ["emulator", "rooted"]}
    assert found[SignalKind.PROFILE_MISMATCH].evidence == {
        "declared": "张三",
        "profile": "Alice Applicant",
    }
    assert "420" in found[SignalKind.CREDIT_SCORE].describe()
    # One event for the run; a high signal lifts the priority of a case in the queue.
    event = CaseEvent.objects.get(case=case, event_type=EventType.CHECKS_UPDATED)
    assert {r["kind"] for r in event.data["raised"]} == set(found)
    assert event.data["priority_to"] == Priority.HIGH
    assert Case.objects.get(pk=case.pk).priority == Priority.HIGH
    assert len(result.raised) == 3


def test_running_the_checks_again_changes_nothing(db: None, matching_applicant: User) -> None:
    case = submitted_case(matching_applicant, device_risk_flags=["hooked"])
    run_checks(case)
    events = CaseEvent.objects.filter(case=case).count()
    again = run_checks(case)
    assert again.raised == [] and again.resolved == []
    assert CaseEvent.objects.filter(case=case).count() == events
    assert Signal.objects.filter(case=case).count() == 1


@pytest.mark.real_photos
def test_a_clean_case_raises_nothing(db: None, matching_applicant: User) -> None:
    case = services.case_create(
        program=Program.objects.get(code=ProgramCode.REAL_NAME),
        applicant=matching_applicant,
        actor=matching_applicant,
        declared=declared_for(ProgramCode.REAL_NAME),
    )
    upload_photo(case, Slot.ID_FRONT, photo(1))
    upload_photo(case, Slot.ID_BACK, photo(2))
    services.case_submit(case=case, actor=matching_applicant)
    assert run_checks(case).raised == []
    assert not CaseEvent.objects.filter(case=case, event_type=EventType.CHECKS_UPDATED).exists()


def test_an_invalid_number_in_the_record_is_flagged(db: None, matching_applicant: User) -> None:
    """Input validation refuses bad numbers; a record that holds one anyway (older rules, a
    migration) is still caught."""
    case = submitted_case(matching_applicant)
    case.id_number = "110105194912310021"
    case.save(update_fields=["id_number"])
    run_checks(case)
    signal = open_signals(case)[SignalKind.ID_NUMBER]
    assert signal.evidence == {"problem": "checksum"}
    assert "110105194912310021" not in str(signal.evidence) + signal.subject


@pytest.mark.real_photos
def test_pictures_poor_reused_or_edited(db: None, matching_applicant: User) -> None:
    other = make_user("copycat@example.com", Role.APPLICANT, full_name="张三")
    shared = photo(7)
    first = services.case_create(
        program=Program.objects.get(code=ProgramCode.REAL_NAME),
        applicant=other,
        actor=other,
        declared=declared_for(ProgramCode.REAL_NAME),
    )
    upload_photo(first, Slot.ID_FRONT, shared)
    first.refresh_from_db()

    case = services.case_create(
        program=Program.objects.get(code=ProgramCode.REAL_NAME),
        applicant=matching_applicant,
        actor=matching_applicant,
        declared=declared_for(ProgramCode.REAL_NAME),
    )
    # The same picture, recompressed as PNG: the perceptual hash still matches.
    reused = io.BytesIO()
    Image.open(io.BytesIO(shared)).save(reused, "PNG")
    front = upload_photo(case, Slot.ID_FRONT, reused.getvalue(), "front.png")
    # A blurry back, saved by Photoshop (EXIF Software): recorded, then stripped from the file.
    blurry = Image.open(io.BytesIO(photo(3))).filter(ImageFilter.GaussianBlur(6))
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 25.1 (Windows)"
    edited = io.BytesIO()
    blurry.save(edited, "JPEG", exif=exif)
    back = upload_photo(case, Slot.ID_BACK, edited.getvalue(), "back.jpg")
    assert back.source_software == "Adobe Photoshop 25.1 (Windows)"
    with back.file.open("rb") as stored:
        assert not Image.open(stored).getexif()
    services.case_submit(case=case, actor=matching_applicant)

    run_checks(case)
    found = open_signals(case)
    assert set(found) == {
        SignalKind.DUPLICATE_IMAGE,
        SignalKind.IMAGE_QUALITY,
        SignalKind.EDITING_SOFTWARE,
    }
    duplicate = found[SignalKind.DUPLICATE_IMAGE]
    assert duplicate.document == front and duplicate.evidence["cases"] == [first.reference]
    assert str(first.reference) in duplicate.describe()
    assert found[SignalKind.IMAGE_QUALITY].document == back
    assert found[SignalKind.IMAGE_QUALITY].evidence["problems"] == ["blurry"]
    assert "Photoshop" in str(found[SignalKind.EDITING_SOFTWARE].describe())
    # The same applicant using one picture twice is not a duplicate.
    own = photo(8)
    cases = []
    for _ in range(2):
        again = services.case_create(
            program=Program.objects.get(code=ProgramCode.REAL_NAME),
            applicant=other,
            actor=other,
            declared=declared_for(ProgramCode.REAL_NAME),
        )
        upload_photo(again, Slot.ID_FRONT, own)
        cases.append(again)
    run_checks(again)
    assert SignalKind.DUPLICATE_IMAGE not in open_signals(again)


@pytest.mark.real_photos
def test_a_newer_version_resolves_the_old_documents_signal(
    db: None, matching_applicant: User, reviewer: User
) -> None:
    case = services.case_create(
        program=Program.objects.get(code=ProgramCode.REAL_NAME),
        applicant=matching_applicant,
        actor=matching_applicant,
        declared=declared_for(ProgramCode.REAL_NAME),
    )
    dark = Image.open(io.BytesIO(photo(4))).point(lambda v: v // 8)
    out = io.BytesIO()
    dark.save(out, "JPEG")
    upload_photo(case, Slot.ID_FRONT, out.getvalue())
    upload_photo(case, Slot.ID_BACK, photo(5))
    services.case_submit(case=case, actor=matching_applicant)
    run_checks(case)
    (signal,) = Signal.objects.filter(case=case)
    assert signal.kind == SignalKind.IMAGE_QUALITY and "dark" in signal.evidence["problems"]

    ask_again(case, reviewer, message="Too dark.")
    upload_photo(case, Slot.ID_FRONT, photo(6))
    services.case_resubmit(case=case, actor=matching_applicant)
    result = run_checks(case)
    signal.refresh_from_db()
    assert signal.status == SignalStatus.RESOLVED and result.resolved == [signal]
    assert result.raised == []


@pytest.mark.real_photos
def test_a_band_many_pictures_share_is_left_out_and_the_copy_still_found(
    db: None, matching_applicant: User, settings: Any
) -> None:
    from cases.checks.findings import similar_pictures
    from cases.checks.pictures import hash_bands
    from cases.models import DocumentHashBand

    settings.CHECK_DUPLICATE_CANDIDATES = 2
    shared = photo(11)

    def draft_with(owner: User, content: bytes) -> tuple[Case, Document]:
        case = services.case_create(
            program=Program.objects.get(code=ProgramCode.REAL_NAME),
            applicant=owner,
            actor=owner,
            declared=declared_for(ProgramCode.REAL_NAME),
        )
        return case, upload_photo(case, Slot.ID_FRONT, content)

    original_case, original = draft_with(make_user("orig@example.com", Role.APPLICANT), shared)
    # Three other applicants' unrelated pictures that happen to share band 0 with it.
    band, value = hash_bands(original.perceptual_hash)[0]
    for n in range(3):
        _, other = draft_with(make_user(f"crowd{n}@example.com", Role.APPLICANT), photo(20 + n))
        DocumentHashBand.objects.filter(document=other, band=band).update(value=value)
    case, copy = draft_with(matching_applicant, shared)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert similar_pictures(case, copy) == [(original_case.reference, 0)]
    # Bounded: one lookup per band, each reading at most CHECK_DUPLICATE_CANDIDATES + 1 rows.
    lookups = [q["sql"] for q in captured.captured_queries if "cases_documenthashband" in q["sql"]]
    assert 1 <= len(lookups) <= 16 and all("LIMIT 3" in sql for sql in lookups)
    # A picture reused so widely that all its bands are too common is still found, by its hash.
    for n in range(3):
        draft_with(make_user(f"ring{n}@example.com", Role.APPLICANT), shared)
    found = similar_pictures(case, copy)
    assert found and all(distance == 0 for _, distance in found)
