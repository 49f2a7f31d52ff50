"""Evidence packs (cases/compliance/evidence.py): built from a case that went through every state,
the archive's PDF (Chinese rendered with an embedded font) tells the timeline, decisions, SLA and
hashes; its events.json re-verifies with the standalone script, against the signed anchor; a
tampered case is reported broken by both. Files go in only for those who may see them; only the
requester downloads, and each download is in the access log of every case in the pack."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import User
from cases.compliance.anchors import anchor_chains
from cases.compliance.evidence import evidence_build, evidence_request, evidence_sweep
from cases.db_triggers import drop_audit_triggers
from cases.errors import InvalidInput, NotPermitted
from cases.models import AccessKind, AccessLog, Case, CaseEvent, EvidenceExport, Program
from cases.states import ExportStatus, ProgramCode
from tests.factories import submitted_case
from tests.helpers import at, make_user, queued_tasks, signed_in


@pytest.fixture(autouse=True)
def anchors(tmp_path: Path, settings: Any) -> Path:
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    return settings.AUDIT_ANCHOR_DIR


def built(export: EvidenceExport) -> zipfile.ZipFile:
    done = evidence_build(export.pk)
    assert done is not None and done.status == ExportStatus.READY, done and done.error
    assert done.done == done.total and done.percent == 100
    with default_storage.open(done.file, "rb") as handle:
        content = handle.read()
    import hashlib

    assert hashlib.sha256(content).hexdigest() == done.sha256 and len(content) == done.size
    return zipfile.ZipFile(io.BytesIO(content))


def pdf_text(pack: zipfile.ZipFile, name: str) -> str:
    reader = PdfReader(io.BytesIO(pack.read(name)))
    # pypdf reads a NUL before each of fpdf2's two-byte glyph codes (poppler's pdftotext does
    # not); the comparisons ignore those and whitespace.
    return "".join(
        "".join(page.extract_text().replace("\x00", "").split()) for page in reader.pages
    )


def verify(tmp_path: Path, pack: zipfile.ZipFile, folder: str, *keys: str) -> Any:
    """The pack's own verify_chain.py, run by a plain Python in a folder of its own."""
    target = tmp_path / "unpacked"
    pack.extractall(target)
    args = [sys.executable, "-I", "verify_chain.py", f"{folder}/events.json"]
    if (target / folder / "anchor.json").exists():
        args += ["--anchor", f"{folder}/anchor.json"]
    for key in keys:
        args += ["--key", key]
    return subprocess.run(args, capture_output=True, text=True, cwd=target, check=False)


def chain_key() -> str:
    key_id, _, secret = settings.AUDIT_CHAIN_KEYS[0].partition(":")
    return f"{key_id}={secret}"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_case_through_every_state_makes_a_pack_that_proves_itself(
    lived: Any, auditor: User, tmp_path: Path, language: str
) -> None:
    case, _ = lived
    auditor.preferred_language = language
    auditor.save()
    anchor_chains()
    export = evidence_request(actor=auditor, case=case, include_files=True)
    assert export.status == ExportStatus.QUEUED and export.total == 1
    pack = built(export)
    folder = case.reference
    names = set(pack.namelist())
    assert {
        "README.txt",
        "manifest.json",
        "verify_chain.py",
        f"{folder}/evidence.pdf",
        f"{folder}/events.json",
        f"{folder}/anchor.json",
    } <= names

    # Every file is listed with its hash; the document files are the stored, hashed bytes.
    manifest = json.loads(pack.read("manifest.json"))
    import hashlib

    for name, digest in manifest["files"].items():
        assert hashlib.sha256(pack.read(name)).hexdigest() == digest, name
    files = sorted(n for n in names if "/documents/" in n)
    assert len(files) == case.documents.count()
    stored = {d.sha256 for d in case.documents.all()}
    assert {manifest["files"][n] for n in files} == stored
    assert (
        manifest["cases"][0]["intact"] and not manifest["cases"][0]["files_not_matching_their_hash"]
    )

    # The events are the database's, in the chain's format, and re-verify without the app.
    events = json.loads(pack.read(f"{folder}/events.json"))
    assert [e["seq"] for e in events["events"]] == list(range(1, case.event_seq + 1))
    assert events["anchored_head"]["hash"] == case.event_head
    result = verify(tmp_path, pack, folder, chain_key())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "anchor signature verified" in result.stdout and "keyed hashes verified" in result.stdout
    assert verify(tmp_path, pack, folder).returncode == 0  # without the key: links and anchor

    # The PDF, in the requester's language, Chinese rendered from the embedded font.
    text = pdf_text(pack, f"{folder}/evidence.pdf")
    reader = PdfReader(io.BytesIO(pack.read(f"{folder}/evidence.pdf")))
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }
    assert any("NotoSansCJK" in font for font in fonts), fonts
    assert "张三" in text  # the declared name, as corrected during the case
    for document in case.documents.all():
        assert document.sha256[:40] in text
    assert case.event_head[:40] in text
    for expected in ("INFO_MISMATCH", "Blurred.", "Checkthename.", "OWNER_VERIFIED"):
        assert expected in text
    if language == "en":
        for heading in ("Decisions,reasonsandreviewers", "Four-eyessignatures", "Intact"):
            assert heading in text
    else:
        for heading in ("决定、理由与审核人", "双人复核签名", "完好"):
            assert heading in text


def test_a_tampered_case_is_reported_broken_by_the_pdf_and_the_script(
    lived: Any, auditor: User, tmp_path: Path
) -> None:
    case, _ = lived
    anchor_chains()
    drop_audit_triggers(connection)  # the owner's power; the test's rollback restores them
    middle = CaseEvent.objects.get(case=case, seq=5)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_caseevent SET message = %s WHERE id = %s", ["Nothing asked.", middle.pk]
        )
    auditor.preferred_language = "en"
    auditor.save()
    pack = built(evidence_request(actor=auditor, case=case))
    folder = case.reference
    result = verify(tmp_path, pack, folder, chain_key())
    assert result.returncode == 1 and "event #5" in result.stdout, result.stdout
    text = pdf_text(pack, f"{folder}/evidence.pdf")
    assert "BROKEN" in text and "#5" in text
    assert not json.loads(pack.read("manifest.json"))["cases"][0]["intact"]


def test_a_pack_edited_after_export_is_reported_broken(
    lived: Any, auditor: User, tmp_path: Path
) -> None:
    case, _ = lived
    anchor_chains()
    pack = built(evidence_request(actor=auditor, case=case))
    folder = case.reference
    target = tmp_path / "edited"
    pack.extractall(target)
    events_path = target / folder / "events.json"
    events = json.loads(events_path.read_text(encoding="utf-8"))
    events["events"][2]["message"] = "rewritten"
    events_path.write_text(json.dumps(events), encoding="utf-8")
    args = [sys.executable, "-I", "verify_chain.py", f"{folder}/events.json"]
    keyed = subprocess.run(
        [*args, "--key", chain_key()], capture_output=True, text=True, cwd=target, check=False
    )
    assert keyed.returncode == 1 and "event #3" in keyed.stdout
    # Dropping the last events to hide an action: the anchored head is missing.
    events["events"] = events["events"][:-2]
    events_path.write_text(json.dumps(events), encoding="utf-8")
    cut = subprocess.run(args, capture_output=True, text=True, cwd=target, check=False)
    assert cut.returncode == 1 and "anchored head" in cut.stdout
    # A forged anchor: its signature does not hold.
    anchor_path = target / folder / "anchor.json"
    anchor = json.loads(anchor_path.read_text(encoding="utf-8"))
    anchor["created_at"] = "2020-01-01T00:00:00+00:00"
    anchor_path.write_text(json.dumps(anchor), encoding="utf-8")
    pack.extract(f"{folder}/events.json", target)
    forged = subprocess.run(
        [*args, "--anchor", f"{folder}/anchor.json"],
        capture_output=True,
        text=True,
        cwd=target,
        check=False,
    )
    assert forged.returncode == 1 and "signature" in forged.stdout


def test_files_go_in_only_for_those_who_may_see_them(
    applicant: User, auditor: User, reviewer: User
) -> None:
    case = submitted_case(applicant)
    with pytest.raises(NotPermitted):
        evidence_request(actor=reviewer, case=case)
    # Someone who may export but not open documents: no files, and not on request either.
    exporter = make_user("erin@example.com")
    exporter.user_permissions.add(
        *Permission.objects.filter(codename__in=["export_case", "view_all_cases"])
    )
    exporter = User.objects.get(pk=exporter.pk)
    with pytest.raises(NotPermitted):
        evidence_request(actor=exporter, case=case, include_files=True)
    pack = built(evidence_request(actor=exporter, case=case))
    assert not [n for n in pack.namelist() if "/documents/" in n]
    pack = built(evidence_request(actor=auditor, case=case))  # did not ask for files
    assert not [n for n in pack.namelist() if "/documents/" in n]
    assert EvidenceExport.objects.count() == 2


def test_a_bulk_export_holds_the_cases_of_its_period_and_program(
    applicant: User, other_applicant: User, supervisor: User
) -> None:
    with time_machine.travel(at(3, 10, 10), tick=False):
        first = submitted_case(applicant)
        business = submitted_case(other_applicant, ProgramCode.BUSINESS)
    with time_machine.travel(at(3, 12, 10), tick=False):
        second = submitted_case(other_applicant)
    with time_machine.travel(at(4, 2, 10), tick=False):
        submitted_case(applicant)  # outside the period
    program = Program.objects.get(code=ProgramCode.REAL_NAME)
    export = evidence_request(
        actor=supervisor, program=program, opened_from=date(2026, 3, 1), opened_to=date(2026, 3, 31)
    )
    assert export.total == 2
    pack = built(export)
    folders = {name.split("/")[0] for name in pack.namelist() if "/" in name}
    assert folders == {first.reference, second.reference}
    assert business.reference not in folders
    every = evidence_request(
        actor=supervisor, opened_from=date(2026, 3, 1), opened_to=date(2026, 3, 31)
    )
    assert every.total == 3
    with pytest.raises(InvalidInput):
        evidence_request(actor=supervisor, opened_from=date(2026, 3, 5), opened_to=date(2026, 3, 1))
    with pytest.raises(InvalidInput):
        evidence_request(actor=supervisor, opened_from=date(2025, 1, 1), opened_to=date(2025, 1, 2))


def test_only_the_requester_downloads_and_every_case_logs_it(
    applicant: User,
    other_applicant: User,
    auditor: User,
    supervisor: User,
    empty_queue: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with time_machine.travel(at(3, 10, 10), tick=False):
        cases = [submitted_case(applicant), submitted_case(other_applicant)]
    audrey = signed_in(auditor)
    request = reverse("admin:cases_evidence_request")
    with django_capture_on_commit_callbacks(execute=True):
        answer = audrey.post(request, {"opened_from": "2026-03-01", "opened_to": "2026-03-31"})
    assert answer.status_code == 302
    export = EvidenceExport.objects.get()
    assert ("cases.build_evidence", {"export_id": export.pk}) in queued_tasks()
    listing = reverse("admin:cases_evidenceexport_changelist")
    page = audrey.get(listing).content.decode()
    assert 'http-equiv="refresh"' in page and "<progress" in page  # until it is built
    download = reverse("admin:cases_evidence_download", args=[export.uuid])
    assert audrey.get(download).status_code == 409  # not built yet
    evidence_build(export.pk)
    page = audrey.get(listing).content.decode()
    assert 'http-equiv="refresh"' not in page and download in page

    assert signed_in(supervisor).get(download).status_code == 403
    assert download not in signed_in(supervisor).get(listing).content.decode()
    response = audrey.get(download)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert zipfile.ZipFile(io.BytesIO(content)).testzip() is None
    logged = AccessLog.objects.filter(kind=AccessKind.EXPORT_EVIDENCE, user=auditor)
    assert sorted(logged.values_list("case_id", flat=True)) == sorted(c.pk for c in cases)

    # Bad input is a clear error and asks for nothing.
    refused = audrey.post(request, {"opened_from": "2026-03-31", "opened_to": "2026-03-01"})
    assert refused.status_code == 400 and "ends before it starts" in refused.content.decode()
    assert EvidenceExport.objects.count() == 1


def test_the_case_history_asks_for_a_pack_and_reviewers_cannot(
    applicant: User, auditor: User, reviewer: User
) -> None:
    case = submitted_case(applicant)
    history = reverse("admin:cases_timeline", args=[case.uuid])
    page = signed_in(auditor).get(history).content.decode()
    assert 'id="export-case"' in page and 'name="include_files"' in page
    answer = signed_in(auditor).post(
        reverse("admin:cases_evidence_request"), {"case": str(case.uuid), "include_files": "on"}
    )
    assert answer.status_code == 302
    export = EvidenceExport.objects.get()
    assert export.case == case and export.include_files
    refused = signed_in(reviewer).post(
        reverse("admin:cases_evidence_request"), {"case": str(case.uuid)}
    )
    assert refused.status_code == 403 and EvidenceExport.objects.count() == 1


def test_the_sweep_publishes_again_what_no_worker_took_and_deletes_old_packs(
    applicant: User, auditor: User, empty_queue: None
) -> None:
    case = submitted_case(applicant)
    export = evidence_request(actor=auditor, case=case)
    now = timezone.now()
    assert evidence_sweep(now=now)["requeued"] == 0  # just asked: its own message is on its way
    assert evidence_sweep(now=now + timedelta(minutes=2))["requeued"] == 1
    assert ("cases.build_evidence", {"export_id": export.pk}) in queued_tasks()
    # A worker that died while building: published again, then given up after three tries.
    EvidenceExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.RUNNING, heartbeat_at=now
    )
    later = now + timedelta(minutes=11)
    for attempt in range(3):
        counts = evidence_sweep(now=later)
        export.refresh_from_db()
        if attempt < 2:
            assert counts["requeued"] == 1 and export.status == ExportStatus.QUEUED
            EvidenceExport.objects.filter(pk=export.pk).update(
                status=ExportStatus.RUNNING, heartbeat_at=later
            )
            later += timedelta(minutes=11)
    assert export.status == ExportStatus.FAILED and export.error

    ready = built(evidence_request(actor=auditor, case=case))
    assert ready.testzip() is None
    kept = EvidenceExport.objects.get(status=ExportStatus.READY)
    assert default_storage.exists(kept.file)
    assert kept.expires_at is not None
    assert evidence_sweep(now=kept.expires_at + timedelta(seconds=1))["expired"] == 1
    kept.refresh_from_db()
    assert kept.status == ExportStatus.EXPIRED and not kept.file
    assert not default_storage.listdir("evidence")[1]


def test_a_case_in_the_pack_is_the_one_downloaded(applicant: User, auditor: User) -> None:
    case: Case = submitted_case(applicant)
    pack = built(evidence_request(actor=auditor, case=case))
    manifest = json.loads(pack.read("manifest.json"))
    assert manifest["cases"][0]["reference"] == case.reference
    assert manifest["requested_by"] == auditor.email
    assert "anchor.json" not in " ".join(pack.namelist())  # nothing anchored yet
    readme = pack.read("README.txt").decode()
    assert "verify_chain.py" in readme
