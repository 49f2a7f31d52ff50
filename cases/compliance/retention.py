"""Retention with legal hold (DESIGN §7): the document files of a closed case are purged once its
program's retention period after closure has passed, unless a legal hold keeps them.

A purge keeps everything but the files: the case row and its declared data (real-name records are
never deleted), every document row with its SHA-256, the signals and the whole history, to which
it appends one DOCUMENTS_PURGED event naming each file by slot, version and hash.

A legal hold is proposed by one supervisor with a reason and is in force once a second, different
supervisor countersigns; lifting it takes the same two signatures. A proposed hold already stops
the purge (the evidence is kept while the second supervisor looks); a declined proposal does not.
Each step is an event in the case's chain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cases import rules
from cases.actors import SYSTEM
from cases.audit import record_case_event
from cases.errors import FourEyesConflict, InvalidInput, InvalidState
from cases.guards import case_lock, refuse
from cases.models import Case, Document, LegalHold, Program
from cases.states import HOLDING, CaseState, EventType, HoldStatus

log = logging.getLogger(__name__)
BATCH = 200


def holding(case: Case) -> LegalHold | None:
    """The hold that keeps this case's files now, if any."""
    return case.legal_holds.filter(status__in=sorted(HOLDING)).first()


def purge_due_at(case: Case) -> datetime | None:
    """When the files of this case go (None: not closed, so not yet counting)."""
    if case.state != CaseState.CLOSED or case.closed_at is None:
        return None
    return case.closed_at + timedelta(days=case.program.retention_days)


# --- legal holds ---------------------------------------------------------------------------


def _reason(text: str, field_name: str = "reason") -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(
            _("Give the reason; it is kept in the case's history."),
            field_errors={field_name: [_("This field is required.")]},
        )
    return text


def _locked_hold(hold: LegalHold) -> tuple[Case, LegalHold]:
    case = case_lock(hold.case)
    return case, LegalHold.objects.select_for_update().get(pk=hold.pk)


def legal_hold_propose(
    *, case: Case, actor: User, reason: str, now: datetime | None = None
) -> LegalHold:
    """The first signature of a legal hold; it keeps the files from now on.

    Side effects: a LegalHold (proposed) and a LEGAL_HOLD_PROPOSED event."""
    now = now or timezone.now()
    reason = _reason(reason)
    with transaction.atomic():
        case = case_lock(case)
        if not rules.may_place_legal_hold(actor):
            raise refuse(case, actor, "hold", _("You are not allowed to place legal holds."))
        if holding(case) is not None:
            raise InvalidState(_("This case is already under a legal hold or a proposed one."))
        hold = LegalHold.objects.create(
            case=case, status=HoldStatus.PROPOSED, reason=reason, proposed_by=actor, proposed_at=now
        )
        record_case_event(
            case=case,
            event_type=EventType.LEGAL_HOLD_PROPOSED,
            actor=actor,
            message=reason,
            data={"hold": hold.pk},
            now=now,
        )
    return hold


def legal_hold_propose_lift(
    *, hold: LegalHold, actor: User, reason: str, now: datetime | None = None
) -> LegalHold:
    """The first signature of lifting a hold in force; the hold stays until countersigned.

    Side effects: the hold becomes lift_proposed; a LEGAL_HOLD_LIFT_PROPOSED event."""
    now = now or timezone.now()
    reason = _reason(reason, "lift_reason")
    with transaction.atomic():
        case, hold = _locked_hold(hold)
        if not rules.may_place_legal_hold(actor):
            raise refuse(case, actor, "lift", _("You are not allowed to lift legal holds."))
        if hold.status != HoldStatus.ACTIVE:
            raise InvalidState(_("Only a legal hold in force can be lifted."))
        hold.status = HoldStatus.LIFT_PROPOSED
        hold.lift_reason, hold.lift_proposed_by, hold.lift_proposed_at = reason, actor, now
        hold.save()
        record_case_event(
            case=case,
            event_type=EventType.LEGAL_HOLD_LIFT_PROPOSED,
            actor=actor,
            message=reason,
            data={"hold": hold.pk},
            now=now,
        )
    return hold


def first_signer(hold: LegalHold) -> int | None:
    """Who signed what waits for a countersignature (the proposal or the lifting), or None."""
    if hold.status == HoldStatus.PROPOSED:
        return hold.proposed_by_id
    if hold.status == HoldStatus.LIFT_PROPOSED:
        return hold.lift_proposed_by_id
    return None


def _second_signature(case: Case, hold: LegalHold, actor: User, verb: str) -> None:
    if not rules.may_place_legal_hold(actor):
        raise refuse(case, actor, verb, _("You are not allowed to countersign legal holds."))
    first = first_signer(hold)
    if first is None:
        raise InvalidState(_("Nothing about this legal hold waits for a countersignature."))
    if first == actor.pk:
        raise FourEyesConflict(
            _("The second signature must come from a different supervisor than the first.")
        )


def legal_hold_countersign(
    *, hold: LegalHold, actor: User, note: str = "", now: datetime | None = None
) -> LegalHold:
    """The second signature: a proposed hold comes into force, a proposed lifting lifts it.

    Side effects: the hold's status; a LEGAL_HOLD_PLACED or LEGAL_HOLD_LIFTED event. After a
    lifting the next purge run takes the files if the retention period has passed."""
    now = now or timezone.now()
    with transaction.atomic():
        case, hold = _locked_hold(hold)
        _second_signature(case, hold, actor, "countersign")
        if hold.status == HoldStatus.PROPOSED:
            hold.status, hold.placed_by, hold.placed_at = HoldStatus.ACTIVE, actor, now
            event_type = EventType.LEGAL_HOLD_PLACED
        else:
            hold.status, hold.lifted_by, hold.lifted_at = HoldStatus.LIFTED, actor, now
            event_type = EventType.LEGAL_HOLD_LIFTED
        hold.save()
        record_case_event(
            case=case,
            event_type=event_type,
            actor=actor,
            message=note.strip(),
            data={"hold": hold.pk},
            now=now,
        )
    return hold


def legal_hold_decline(
    *, hold: LegalHold, actor: User, note: str, now: datetime | None = None
) -> LegalHold:
    """The second supervisor refuses: a proposed hold ends (declined), a proposed lifting is
    withdrawn and the hold stays in force.

    Side effects: the hold's status; a LEGAL_HOLD_DECLINED event with the note."""
    now = now or timezone.now()
    note = _reason(note, "note")
    with transaction.atomic():
        case, hold = _locked_hold(hold)
        _second_signature(case, hold, actor, "decline")
        declined = hold.status
        if hold.status == HoldStatus.PROPOSED:
            hold.status, hold.declined_by, hold.declined_at = HoldStatus.DECLINED, actor, now
            hold.decline_note = note
        else:
            hold.status = HoldStatus.ACTIVE
            hold.lift_reason, hold.lift_proposed_by, hold.lift_proposed_at = "", None, None
        hold.save()
        record_case_event(
            case=case,
            event_type=EventType.LEGAL_HOLD_DECLINED,
            actor=actor,
            message=note,
            data={"hold": hold.pk, "declined": str(declined)},
            now=now,
        )
    return hold


# --- the purge -----------------------------------------------------------------------------


@dataclass
class PurgeReport:
    cases: int = 0
    documents: int = 0
    files_failed: int = 0
    purged: list[str] = field(default_factory=list)  # case references


def _due(now: datetime) -> Q:
    """Closed cases whose program's retention period after closure has passed."""
    due = Q(pk__in=[])
    for program in Program.objects.all():
        cutoff = now - timedelta(days=program.retention_days)
        due |= Q(program=program, closed_at__lte=cutoff)
    return Q(state=CaseState.CLOSED) & due


def purge_candidates(now: datetime) -> list[int]:
    """Ids of the cases past their retention period that still hold files and no hold."""
    unpurged = Document.objects.filter(case=OuterRef("pk"), purged_at=None)
    held = LegalHold.objects.filter(case=OuterRef("pk"), status__in=sorted(HOLDING))
    return list(
        Case.objects.filter(_due(now))
        .filter(Exists(unpurged))
        .exclude(Exists(held))
        .order_by("closed_at", "pk")
        .values_list("pk", flat=True)[:BATCH]
    )


def case_purge(*, case: Case, now: datetime | None = None) -> list[Document]:
    """Purge one case's files if it is (still, under its lock) due and not held; the documents
    marked purged, or [] when there is nothing to do.

    Side effects: documents' purged_at, one DOCUMENTS_PURGED event (in one transaction); then
    the stored files and thumbnails are deleted and the rows forget their names."""
    now = now or timezone.now()
    with transaction.atomic():
        case = case_lock(case)
        if not Case.objects.filter(_due(now), pk=case.pk).exists() or holding(case) is not None:
            return []
        documents = list(case.documents.filter(purged_at=None).order_by("slot", "version"))
        if not documents:
            return []
        Document.objects.filter(pk__in=[d.pk for d in documents]).update(purged_at=now)
        record_case_event(
            case=case,
            event_type=EventType.DOCUMENTS_PURGED,
            actor=SYSTEM,
            message=_(
                "Retention period of %(days)s days after closure passed; files purged, "
                "their hashes kept."
            )
            % {"days": case.program.retention_days},
            data={
                "documents": [
                    {"id": d.pk, "slot": d.slot, "version": d.version, "sha256": d.sha256}
                    for d in documents
                ]
            },
            now=now,
        )
    return documents


def _delete_files(document: Document) -> bool:
    """Delete a purged document's file and thumbnail from storage, then forget their names.
    False (and the names kept, for the next run) if storage refused."""
    try:
        for stored in (document.file, document.thumbnail):
            if stored.name:
                stored.storage.delete(stored.name)
    except OSError:
        log.exception("document %s: purged, but its file could not be deleted", document.pk)
        return False
    Document.objects.filter(pk=document.pk).update(file="", thumbnail="")
    return True


def retention_purge(*, now: datetime | None = None) -> PurgeReport:
    """Purge every case past its retention period that no legal hold keeps; also finish the file
    deletions an earlier run could not. Safe to run twice or concurrently: each case is decided
    under its lock and writes its event once.

    Side effects: see case_purge, for every due case."""
    now = now or timezone.now()
    report = PurgeReport()
    leftovers = Document.objects.filter(purged_at__isnull=False).exclude(file="")
    for document in leftovers.iterator():
        report.files_failed += not _delete_files(document)
    seen: set[int] = set()
    while batch := [pk for pk in purge_candidates(now) if pk not in seen]:
        for case in Case.objects.filter(pk__in=batch).order_by("closed_at", "pk"):
            seen.add(case.pk)
            documents = case_purge(case=case, now=now)
            if not documents:
                continue
            report.cases += 1
            report.documents += len(documents)
            report.purged.append(case.reference or str(case.uuid))
            report.files_failed += sum(not _delete_files(d) for d in documents)
    return report
