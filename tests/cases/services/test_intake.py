"""Documents: private storage under random names, versions, and what uploads refuse."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from cases import services
from cases.actors import IntegrationActor
from cases.errors import InvalidInput, InvalidState, NotPermitted
from cases.models import Case, Document
from cases.states import CaseState, EventType, Slot
from tests.factories import draft_case, png_bytes, submitted_case


def test_a_document_is_stored_privately_under_a_random_name(applicant: User) -> None:
    case = draft_case(applicant)
    content = png_bytes("#abcdef")
    document = services.document_upload(
        case=case,
        actor=applicant,
        slot=Slot.ID_FRONT,
        content=content,
        content_type="image/png",
        original_name="../../etc/passwd\r\n.png",
    )
    path = Path(document.file.path)
    assert path.is_file()
    assert path.read_bytes() == content
    assert path.resolve().is_relative_to(Path(settings.PRIVATE_MEDIA_ROOT).resolve())
    assert "passwd" not in str(document.file.name) and ".png" not in str(document.file.name)
    assert len(path.name) == 32  # 128 random bits, hex
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    event = case.events.get(
        event_type=EventType.DOCUMENT_UPLOADED,
        data__version=document.version,
        data__slot=Slot.ID_FRONT,
    )
    assert event.file_sha256 == document.sha256


def test_no_url_serves_private_files(applicant: User) -> None:
    document = draft_case(applicant).documents.first()
    assert document is not None
    client = Client()
    client.force_login(applicant)
    for url in (
        f"/{document.file.name}",
        f"/media/{document.file.name}",
        f"/private/{document.file.name}",
        f"/static/../private/{document.file.name}",
    ):
        assert client.get(url).status_code == 404


def test_uploads_are_refused_where_they_do_not_belong(
    applicant: User, other_applicant: User, reviewer: User
) -> None:
    case = draft_case(applicant)
    submitted = submitted_case(applicant)
    count, events = Document.objects.count(), case.events.count()
    with pytest.raises(NotPermitted):
        services.document_upload(
            case=case,
            actor=other_applicant,
            slot=Slot.ID_FRONT,
            content=png_bytes(),
            content_type="image/png",
        )
    with pytest.raises(NotPermitted):
        services.document_upload(
            case=case,
            actor=IntegrationActor("someone-else"),
            slot=Slot.ID_FRONT,
            content=png_bytes(),
            content_type="image/png",
        )
    with pytest.raises(InvalidInput):
        services.document_upload(
            case=case,
            actor=applicant,
            slot=Slot.BUSINESS_LICENCE,
            content=png_bytes(),
            content_type="image/png",
        )
    with pytest.raises(InvalidInput):
        services.document_upload(
            case=case, actor=applicant, slot=Slot.ID_FRONT, content=b"", content_type="image/png"
        )
    with pytest.raises(InvalidState):
        services.document_upload(
            case=submitted,
            actor=applicant,
            slot=Slot.ID_FRONT,
            content=png_bytes(),
            content_type="image/png",
        )
    assert Document.objects.count() == count
    assert case.events.count() == events
    stored = [p for p in Path(settings.PRIVATE_MEDIA_ROOT).rglob("*") if p.is_file()]
    assert len(stored) == Document.objects.count()


def test_the_integration_that_created_a_case_acts_for_its_applicant(applicant: User) -> None:
    wallet = IntegrationActor("wallet")
    case = services.case_create(
        program=draft_case(applicant).program,
        applicant=applicant,
        actor=wallet,
        declared={"full_name": "张三", "id_number": "11010519491231002X", "phone": "13800138000"},
    )
    for slot in (Slot.ID_FRONT, Slot.ID_BACK):
        services.document_upload(
            case=case, actor=wallet, slot=slot, content=png_bytes(), content_type="image/png"
        )
    event = services.case_submit(case=Case.objects.get(pk=case.pk), actor=wallet)
    assert event.actor_type == "integration" and event.actor_label == "wallet"
    assert Case.objects.get(pk=case.pk).state == CaseState.SUBMITTED


def test_case_reference_is_human_readable(applicant: User) -> None:
    case = draft_case(applicant)
    assert case.reference == f"KYC-{case.created_at.year}-{case.pk:06d}"


def test_real_name_records_cannot_be_deleted(applicant: User) -> None:
    from django.db.models import ProtectedError

    case = draft_case(applicant)
    with pytest.raises(ProtectedError):
        case.delete()
    with pytest.raises(ProtectedError):
        applicant.delete()
