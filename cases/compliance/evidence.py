"""Evidence packs (DESIGN §7, §8): one case's, or a bulk export of the cases a period and a
program select, built by a Celery task that reports its progress, kept in the private storage for
EVIDENCE_PACK_DAYS and downloaded only by whoever asked (each download is access-logged per case).

A pack is one ZIP archive:

    README.txt                 what is inside and how to check it
    manifest.json              every file with its SHA-256; who asked, when, for what
    verify_chain.py            the chain's own format (cases/compliance/chain.py), standalone
    <reference>/evidence.pdf   timeline, decisions, reasons, reviewers, SLA figures, document
                               hashes, the verification against the latest anchor (CJK embedded)
    <reference>/events.json    every event in the chain's format, and the anchored head
    <reference>/anchor.json    the signed anchor that holds that head (when anchored)
    <reference>/documents/...  the files, only when the requester may see them and asked

`python verify_chain.py <reference>/events.json --anchor <reference>/anchor.json` re-checks the
history without the application; with `--key id=secret` also the keyed hashes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from cases import rules
from cases.audit import event_document, record_accesses
from cases.compliance import chain
from cases.compliance.anchors import Anchor, anchor_store
from cases.compliance.pdf import Section, render_pdf
from cases.compliance.timeline import Entry, case_timeline, reason_lines
from cases.compliance.verification import AnchoredReport, load_anchors, verify_against_anchors
from cases.display import format_business, mask_id_number
from cases.enqueue import BUILD_EVIDENCE, enqueue, enqueue_on_commit
from cases.errors import InvalidInput, NotPermitted
from cases.models import (
    AccessKind,
    Case,
    CaseEvent,
    DecisionProposal,
    Document,
    EvidenceExport,
    Program,
    ReasonCode,
    SlaClock,
)
from cases.sla.business_time import ZERO
from cases.states import ClockStatus, EventType, ExportStatus, SegmentKind, Slot

log = logging.getLogger(__name__)
PACKS = "evidence"  # folder of the private storage
STALE = timedelta(minutes=10)  # a running build whose worker said nothing for this long
ATTEMPTS = 3
DECISIONS = {
    EventType.APPROVED,
    EventType.REJECTED,
    EventType.MATERIALS_REQUESTED,
    EventType.FROZEN,
    EventType.UNFROZEN,
    EventType.CLOSED,
    EventType.DECISION_PROPOSED,
    EventType.DECISION_SENT_BACK,
}


# --- who may --------------------------------------------------------------------------------


def may_include_files(user: User) -> bool:
    """The document files go in only for someone who may open them."""
    return rules.may_export_evidence(user) and user.has_perm("cases.view_document")


# --- asking ---------------------------------------------------------------------------------


def export_cases(export: EvidenceExport) -> QuerySet[Case]:
    """The cases an export holds, oldest first."""
    if export.case_id is not None:
        return Case.objects.filter(pk=export.case_id)
    selection = Q()
    if export.program_id:
        selection &= Q(program_id=export.program_id)
    zone = timezone.get_current_timezone()
    if export.opened_from:
        selection &= Q(created_at__gte=datetime.combine(export.opened_from, time(), zone))
    if export.opened_to:
        end = datetime.combine(export.opened_to + timedelta(days=1), time(), zone)
        selection &= Q(created_at__lt=end)
    return Case.objects.filter(selection).order_by("created_at", "pk")


def evidence_request(
    *,
    actor: User,
    case: Case | None = None,
    program: Program | None = None,
    opened_from: date | None = None,
    opened_to: date | None = None,
    include_files: bool = False,
) -> EvidenceExport:
    """Ask for an evidence pack of one case, or of every case of a program (or all) opened in a
    period. The build runs in a worker once this commits.

    Side effects: an EvidenceExport (queued); the build task published after commit."""
    if not rules.may_export_evidence(actor):
        raise NotPermitted(_("You are not allowed to export evidence."))
    if include_files and not may_include_files(actor):
        raise NotPermitted(_("You are not allowed to export the document files."))
    if case is None:
        if opened_from is None or opened_to is None:
            raise InvalidInput(
                _("Choose the period: the first and the last day the cases were opened."),
                field_errors={"opened_from": [_("This field is required.")]},
            )
        if opened_to < opened_from:
            raise InvalidInput(
                _("The period ends before it starts."),
                field_errors={"opened_to": [_("The period ends before it starts.")]},
            )
    with transaction.atomic():
        export = EvidenceExport(
            requested_by=actor,
            case=case,
            program=program if case is None else None,
            opened_from=opened_from if case is None else None,
            opened_to=opened_to if case is None else None,
            include_files=include_files,
            language=actor.preferred_language or settings.LANGUAGE_CODE,
        )
        total = 1 if case is not None else export_cases(export).count()
        if total == 0:
            raise InvalidInput(_("No case was opened in that period."))
        if total > settings.EVIDENCE_BULK_MAX:
            raise InvalidInput(
                _(
                    "%(count)s cases match; one export holds at most %(max)s. Choose a shorter "
                    "period or one program."
                )
                % {"count": total, "max": settings.EVIDENCE_BULK_MAX}
            )
        export.total = total
        export.save()
        enqueue_on_commit(BUILD_EVIDENCE, export_id=export.pk)
    return export


# --- building -------------------------------------------------------------------------------


def _claim(export_id: int, now: datetime) -> EvidenceExport | None:
    """Take a queued export for this worker (once, even if the task runs twice)."""
    claimed = EvidenceExport.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, heartbeat_at=now, done=0
    )
    return EvidenceExport.objects.get(pk=export_id) if claimed else None


def evidence_build(export_id: int) -> EvidenceExport | None:
    """Build a queued export into its archive, telling its progress case by case; None when
    another worker has it or it is not queued.

    Side effects: the archive in the private storage; the export's progress, then ready (with
    SHA-256, size and expiry) or failed (with the error)."""
    export = _claim(export_id, timezone.now())
    if export is None:
        return None
    try:
        with translation.override(export.language), tempfile.TemporaryDirectory() as work:
            archive = Path(work) / "pack.zip"
            _write_archive(export, archive)
            digest = _sha256(archive)
            with archive.open("rb") as handle:
                name = default_storage.save(f"{PACKS}/{export.uuid}.zip", File(handle))
    except Exception as exc:
        log.exception("evidence export %s failed", export.pk)
        EvidenceExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    now = timezone.now()
    EvidenceExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.READY,
        file=name,
        sha256=digest,
        size=default_storage.size(name),
        done=export.total,
        finished_at=now,
        expires_at=now + timedelta(days=settings.EVIDENCE_PACK_DAYS),
        error="",
    )
    return EvidenceExport.objects.get(pk=export.pk)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class _Context:
    export: EvidenceExport
    loaded: tuple[list[Anchor], str]
    catalogue: dict[str, ReasonCode]
    generated_at: datetime


def _write_archive(export: EvidenceExport, archive: Path) -> None:
    context = _Context(
        export=export,
        loaded=load_anchors(),
        catalogue=ReasonCode.objects.in_bulk(),
        generated_at=timezone.now(),
    )
    files: dict[str, str] = {}  # archive path → SHA-256
    cases: list[dict[str, Any]] = []
    # Cases opened since the request belong to the period too.
    export.total = export_cases(export).count()
    EvidenceExport.objects.filter(pk=export.pk).update(total=export.total)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as pack:

        def add(path: str, content: bytes) -> None:
            pack.writestr(path, content)
            files[path] = hashlib.sha256(content).hexdigest()

        for done, case in enumerate(export_cases(export).select_related("program").iterator(), 1):
            cases.append(_write_case(pack, add, files, case, context))
            EvidenceExport.objects.filter(pk=export.pk).update(
                done=done, heartbeat_at=timezone.now()
            )
        add("verify_chain.py", Path(str(chain.__file__)).read_bytes())
        add("README.txt", _readme(export, context).encode())
        manifest = {
            "export": str(export.uuid),
            "requested_by": export.requested_by.email,
            "generated_at": context.generated_at.isoformat(),
            "selection": _selection(export),
            "with_document_files": export.include_files,
            "cases": cases,
            "files": files,
        }
        pack.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))


def _write_case(
    pack: zipfile.ZipFile,
    add: Any,
    files: dict[str, str],
    case: Case,
    context: _Context,
) -> dict[str, Any]:
    folder = case.reference or str(case.uuid)
    report = verify_against_anchors(case=case, loaded=context.loaded)
    anchor = _anchor_holding(case, context.loaded[0])
    head = anchor_head(case, anchor)
    events = [
        event_document(e, case_uuid=str(case.uuid)) for e in case.events.order_by("seq").iterator()
    ]
    add(
        f"{folder}/events.json",
        json.dumps(
            {
                "case": str(case.uuid),
                "reference": case.reference,
                "events": events,
                "anchored_head": head,
            },
            ensure_ascii=False,
            indent=1,
        ).encode(),
    )
    if anchor is not None:
        add(f"{folder}/anchor.json", anchor_store().read(anchor.name))
    documents = list(case.documents.order_by("slot", "version"))
    altered: set[int] = set()
    if context.export.include_files:
        for document in documents:
            if document.purged_at is None and document.file.name:
                path = f"{folder}/documents/{_file_name(document)}"
                if _copy_file(pack, files, path, document) != document.sha256:
                    altered.add(document.pk)
    add(f"{folder}/evidence.pdf", _case_pdf(case, documents, altered, report, head, context))
    return {
        "case": str(case.uuid),
        "reference": case.reference,
        "folder": folder,
        "events": len(events),
        "intact": report.ok,
        "files_not_matching_their_hash": sorted(altered),
    }


def _file_name(document: Document) -> str:
    extension = Path(document.file.name or "").suffix
    return f"{document.slot}-v{document.version}{extension}"


def _copy_file(pack: zipfile.ZipFile, files: dict[str, str], path: str, document: Document) -> str:
    """Stream a stored file into the archive; its SHA-256, which should be the one recorded at
    upload (the stored bytes are the hashed ones)."""
    digest = hashlib.sha256()
    with document.file.open("rb") as source, pack.open(path, "w") as target:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            target.write(block)
    files[path] = digest.hexdigest()
    return files[path]


def _anchor_holding(case: Case, anchors: list[Anchor]) -> Anchor | None:
    """The latest anchor that names this case's head."""
    uuid = str(case.uuid)
    for anchor in reversed(anchors):
        if any(h[0] == uuid for h in anchor.heads):
            return anchor
    return None


def anchor_head(case: Case, anchor: Anchor | None) -> dict[str, Any] | None:
    if anchor is None:
        return None
    for uuid, seq, digest in anchor.heads:
        if uuid == str(case.uuid):
            return {"seq": seq, "hash": digest, "anchor": anchor.name}
    return None


# --- the PDF --------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _case_pdf(
    case: Case,
    documents: list[Document],
    altered: set[int],
    report: AnchoredReport,
    head: dict[str, Any] | None,
    context: _Context,
) -> bytes:
    export = context.export
    title = _("Evidence pack: %(reference)s") % {"reference": case.reference or case.uuid}
    subtitle = [
        _("Generated %(when)s for %(who)s (export %(export)s).")
        % {
            "when": _when(context.generated_at),
            "who": export.requested_by.email,
            "export": export.uuid,
        },
        _(
            "Times are in %(zone)s. The events are in events.json; verify_chain.py re-checks "
            "them without this application."
        )
        % {"zone": settings.TIME_ZONE},
    ]
    sections = [
        _summary(case),
        _verification(case, report, head),
        _decisions(case, context.catalogue),
        _four_eyes(case),
        _sla(case),
        _documents(documents, export.include_files, altered),
        _timeline(case_timeline(case)),
    ]
    return render_pdf(
        title=title,
        subtitle=subtitle,
        sections=sections,
        stamp=f"{case.reference} · {export.uuid}",
        author=export.requested_by.email,
        created_at=context.generated_at,
    )


def _summary(case: Case) -> Section:
    pairs = [
        (_("Reference"), case.reference or "—"),
        (_("Public id"), str(case.uuid)),
        (_("Program"), str(case.program)),
        (_("State now"), case.get_state_display()),
        (_("Attempt"), str(case.attempt)),
        (_("Applicant"), case.company_name or case.full_name or "—"),
        (_("ID number"), mask_id_number(case.id_number) if case.id_number else "—"),
        (_("Opened"), _when(case.created_at)),
        (_("Submitted"), _when(case.submitted_at)),
        (_("Decided"), _when(case.decided_at)),
        (_("Closed"), _when(case.closed_at)),
        (_("Events"), str(case.event_seq)),
        (_("Last event hash"), case.event_head or "—"),
    ]
    if case.credit_code:
        pairs.insert(6, (_("Unified social credit code"), case.credit_code))
    return Section(_("The case"), pairs=pairs)


def _verification(case: Case, report: AnchoredReport, head: dict[str, Any] | None) -> Section:
    latest = report.anchors[-1] if report.anchors else None
    pairs = [
        (_("Result"), _("Intact") if report.ok else _("BROKEN")),
        (
            _("Latest anchor"),
            f"{latest.name} · {_when(latest.created_at)}" if latest else _("none yet"),
        ),
        (
            _("Anchored head"),
            _("event #%(seq)s, %(hash)s, in %(anchor)s") % head if head else _("not anchored yet"),
        ),
        (_("Anchor signing key"), latest.public_key if latest else "—"),
    ]
    return Section(
        _("Verification against the latest anchor"),
        pairs=pairs,
        lines=report.problems,
        alert=not report.ok,
    )


def _decisions(case: Case, catalogue: dict[str, ReasonCode]) -> Section:
    rows = [
        (
            f"#{event.seq}\n{_when(event.created_at)}",
            event.get_event_type_display(),
            event.actor_label,
            "\n".join(reason_lines(event.reason_codes, catalogue)),
            "\n".join(x for x in (event.message, str(event.data.get("note") or "")) if x),
        )
        for event in CaseEvent.objects.filter(case=case, event_type__in=DECISIONS).order_by("seq")
    ]
    return Section(
        _("Decisions, reasons and reviewers"),
        columns=(_("When"), _("Decision"), _("By"), _("Reasons"), _("Message / note")),
        rows=rows,
        widths=(2, 2.2, 2.4, 4, 4),
        empty=_("No decision yet."),
    )


def _four_eyes(case: Case) -> Section:
    rows = [
        (
            proposal.get_decision_display(),
            f"{proposal.proposed_by.email}\n{_when(proposal.proposed_at)}",
            f"{proposal.checked_by.email}\n{_when(proposal.checked_at)}"
            if proposal.checked_by
            else "—",
            proposal.get_status_display(),
            proposal.check_note or "",
        )
        for proposal in DecisionProposal.objects.filter(case=case)
        .select_related("proposed_by", "checked_by")
        .order_by("proposed_at", "pk")
    ]
    return Section(
        _("Four-eyes signatures"),
        columns=(
            _("Decision"),
            _("First signature"),
            _("Second signature"),
            _("Result"),
            _("Note"),
        ),
        rows=rows,
        widths=(2, 3.5, 3.5, 2.5, 3),
        empty=_("No decision on this case needed a second signature."),
    )


def _sla(case: Case) -> Section:
    rows = []
    for clock in (
        SlaClock.objects.filter(case=case).prefetch_related("segments").order_by("started_at", "pk")
    ):
        segments = list(clock.segments.all())
        used = sum((s.business_time for s in segments if s.kind == SegmentKind.RUNNING), ZERO)
        paused = sum((s.business_time for s in segments if s.kind == SegmentKind.PAUSED), ZERO)
        pauses = sum(1 for s in segments if s.kind == SegmentKind.PAUSED)
        rows.append(
            (
                f"{_when(clock.started_at)}\n{_when(clock.stopped_at)}",
                format_business(clock.target),
                format_business(used),
                f"{pauses} · {format_business(paused)}",
                clock.get_status_display(),
                _when(clock.breached_at) if clock.breached_at else "—",
            )
        )
    summary = []
    if rows:
        met = SlaClock.objects.filter(case=case, status=ClockStatus.MET).count()
        breached = SlaClock.objects.filter(case=case, status=ClockStatus.BREACHED).count()
        summary = [
            _("Clocks met: %(met)s; breached: %(breached)s.") % {"met": met, "breached": breached}
        ]
    return Section(
        _("Review clock (business time)"),
        columns=(
            _("Started / stopped"),
            _("Target"),
            _("Used"),
            _("Pauses"),
            _("Status"),
            _("Breached at"),
        ),
        rows=rows,
        widths=(3.2, 1.6, 1.6, 2, 2.4, 2.4),
        lines=summary,
        empty=_("No review clock has started."),
    )


def _file_status(document: Document, with_files: bool, altered: set[int]) -> str:
    if document.purged_at:
        return _("purged %(when)s") % {"when": _when(document.purged_at)}
    if document.pk in altered:
        return _("IN THE PACK, BUT THE STORED FILE DOES NOT MATCH ITS HASH")
    return _("in the pack") if with_files else _("not in the pack")


def _documents(documents: list[Document], with_files: bool, altered: set[int]) -> Section:
    rows = [
        (
            f"{Slot(d.slot).label if d.slot in Slot.values else d.slot} v{d.version}",
            f"{_when(d.uploaded_at)}\n{d.uploaded_by_label}",
            f"{d.content_type}\n{d.size}",
            d.get_verdict_display(),
            d.sha256,
            _file_status(d, with_files, altered),
        )
        for d in documents
    ]
    return Section(
        _("Documents and their hashes"),
        columns=(
            _("Document"),
            _("Uploaded"),
            _("Type, bytes"),
            _("Verdict"),
            "SHA-256",
            _("File"),
        ),
        rows=rows,
        widths=(2.4, 2.8, 2.2, 1.6, 5, 1.8),
        empty=_("No document was uploaded."),
        alert=bool(altered),
    )


def _timeline(entries: list[Entry]) -> Section:
    rows = []
    for entry in entries:
        details = list(entry.details)
        for recipient, subject, body in entry.mail:
            details.append(
                _("E-mail to %(to)s: %(subject)s\n%(body)s")
                % {"to": recipient, "subject": subject, "body": body.strip()}
            )
        rows.append(
            (
                _when(entry.at),
                str(entry.seq or ""),
                entry.title,
                entry.actor,
                "\n".join(details),
            )
        )
    return Section(
        _("Complete timeline"),
        columns=(_("Time"), "#", _("What"), _("Who"), _("Details")),
        rows=rows,
        widths=(2.2, 0.6, 3, 2.6, 6.6),
    )


def _selection(export: EvidenceExport) -> dict[str, Any]:
    if export.case_id:
        return {"case": str(export.case.uuid) if export.case else None}
    return {
        "program": export.program_id,
        "opened_from": export.opened_from.isoformat() if export.opened_from else None,
        "opened_to": export.opened_to.isoformat() if export.opened_to else None,
    }


def _readme(export: EvidenceExport, context: _Context) -> str:
    anchors = context.loaded[0]
    key = anchors[-1].public_key if anchors else "—"
    return _(
        "Evidence export %(export)s, generated %(when)s for %(who)s.\n\n"
        "Each case has its folder: evidence.pdf (the case's timeline, decisions, reviewers, "
        "SLA figures, document hashes and the verification against the latest anchor), "
        "events.json (every event of its audit chain), anchor.json (the signed anchor of its "
        "last anchored event, when there is one) and, if requested and permitted, the "
        "document files. manifest.json lists every file with its SHA-256.\n\n"
        "To check a history without this application (Python 3):\n"
        "    python verify_chain.py REFERENCE/events.json --anchor REFERENCE/anchor.json\n"
        "It checks the order and links of the events, that the anchored event is among "
        "them, and the anchor's root and Ed25519 signature (with the cryptography package "
        "installed). The anchors here are signed by the public key %(key)s: compare it with "
        "the one your operator publishes. Whoever holds the chain keys can add --key "
        "ID=SECRET to check each keyed hash too.\n"
    ) % {
        "export": export.uuid,
        "when": _when(context.generated_at),
        "who": export.requested_by.email,
        "key": key,
    }


# --- the sweep and downloads ----------------------------------------------------------------


def evidence_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Publish again the builds that no worker took (a broker that was down) or whose worker
    went quiet (it died): up to ATTEMPTS times, then failed. Delete the archives past their time.

    Side effects: exports requeued, failed or expired; archive files deleted."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0, "expired": 0}
    waiting = EvidenceExport.objects.filter(
        status=ExportStatus.QUEUED, requested_at__lte=now - timedelta(minutes=1)
    ).exclude(heartbeat_at__gt=now - timedelta(minutes=1))
    for export in waiting:
        if EvidenceExport.objects.filter(pk=export.pk, status=ExportStatus.QUEUED).update(
            heartbeat_at=now
        ):
            enqueue(BUILD_EVIDENCE, export_id=export.pk)
            counts["requeued"] += 1
    stale = EvidenceExport.objects.filter(status=ExportStatus.RUNNING, heartbeat_at__lt=now - STALE)
    for export in stale:
        again = export.attempts + 1 < ATTEMPTS
        if EvidenceExport.objects.filter(
            pk=export.pk, status=ExportStatus.RUNNING, heartbeat_at=export.heartbeat_at
        ).update(
            status=ExportStatus.QUEUED if again else ExportStatus.FAILED,
            attempts=export.attempts + 1,
            heartbeat_at=now,
            error="" if again else _("The worker building it stopped answering."),
        ):
            if again:
                enqueue(BUILD_EVIDENCE, export_id=export.pk)
            counts["requeued" if again else "failed"] += 1
    for export in EvidenceExport.objects.filter(status=ExportStatus.READY, expires_at__lte=now):
        if export.file:
            default_storage.delete(export.file)
        EvidenceExport.objects.filter(pk=export.pk, status=ExportStatus.READY).update(
            status=ExportStatus.EXPIRED, file=""
        )
        counts["expired"] += 1
    return counts


def evidence_open(export: EvidenceExport, *, user: User, ip: str | None) -> IO[bytes]:
    """The archive for its requester, each case it holds logged as exported by them.

    Side effects: one AccessLog row per case (kind export_evidence)."""
    if export.requested_by_id != user.pk or not rules.may_export_evidence(user):
        raise NotPermitted(_("Only the person who asked for this pack may download it."))
    if export.status != ExportStatus.READY or not export.file:
        raise InvalidInput(_("This pack is not ready, or it was deleted after its time."))
    detail = _("evidence pack %(export)s%(files)s") % {
        "export": export.uuid,
        "files": _(", with the document files") if export.include_files else "",
    }
    record_accesses(
        user=user,
        kind=AccessKind.EXPORT_EVIDENCE,
        ip=ip,
        case_ids=export_cases(export).values_list("pk", flat=True).iterator(),
        detail=detail[:200],
    )
    return default_storage.open(export.file, "rb")
