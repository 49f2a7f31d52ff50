"""The applicant's side, in the portal and through the API alike: start an application, fill it,
upload, submit, resubmit, apply again."""

from __future__ import annotations

import hashlib
from typing import IO, Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import crypto, rules
from cases.actors import Actor, IntegrationActor, actor_label, is_user, user_or_none
from cases.audit import record_case_event
from cases.checks.pictures import hash_bands, image_hash
from cases.checks.sanitise import upload_clean
from cases.errors import (
    InvalidInput,
    InvalidState,
    NotPermitted,
)
from cases.guards import case_lock, refuse, state_label, transition_check
from cases.models import (
    Case,
    CaseEvent,
    Document,
    DocumentHashBand,
    MaterialRequest,
    Program,
)
from cases.outbox import outbox_dispatch
from cases.services.transitions import case_transition
from cases.states import (
    APPLICANT_EDITABLE_STATES,
    FILE_SLOTS,
    EventType,
    Slot,
    Transition,
)
from cases.validation import declared_data_errors, normalize_declared

# What an applicant (or the wallet) may declare; everything else is refused by name.
DECLARED_FIELDS = (
    "full_name",
    "id_number",
    "phone",
    "company_name",
    "credit_code",
    "contact_email",
    "credit_score",
    "device_risk_flags",
)


def _set_declared_data(case: Case, declared: dict[str, Any]) -> list[str]:
    unknown = sorted(set(declared) - set(DECLARED_FIELDS))
    if unknown:
        raise InvalidInput(_("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)})
    errors = declared_data_errors(declared)
    if errors:
        raise InvalidInput(
            _("Some of the information is not valid; correct the fields marked."),
            field_errors=errors,
        )
    declared = normalize_declared(declared)
    for field, value in declared.items():
        setattr(case, field, value)
    if "id_number" in declared:
        case.id_number = crypto.normalize_id_number(case.id_number or "")
        case.id_number_index = crypto.blind_index(case.id_number) if case.id_number else ""
    return sorted(declared)


@transaction.atomic
def case_create(
    *,
    program: Program,
    applicant: Any,
    actor: Actor,
    declared: dict[str, Any] | None = None,
    previous_case: Case | None = None,
) -> Case:
    """Start an application (state draft). Side effects: a Case row and its `created` event
    (through the outbox, which sends nothing for it)."""
    _refuse_if_frozen(actor)
    if not program.is_active:
        raise InvalidInput(_("This program does not accept applications at the moment."))
    if is_user(actor) and actor != applicant:
        raise NotPermitted(_("You can only apply for yourself."))
    if is_user(actor) and not actor.has_perm("cases.apply_for_verification"):
        raise NotPermitted(_("Your account cannot apply for verification."))
    if previous_case is not None and previous_case.applicant_id != applicant.pk:
        raise InvalidInput(_("The earlier case belongs to someone else."))
    now = timezone.now()
    case = Case(program=program, applicant=applicant, previous_case=previous_case, created_at=now)
    if isinstance(actor, IntegrationActor):
        case.integration = actor.name
    fields = _set_declared_data(case, declared or {})
    if fields:
        case.declared_data_updated_at = now
    case.save()
    case.reference = f"KYC-{now.year}-{case.pk:06d}"
    Case.objects.filter(pk=case.pk).update(reference=case.reference)
    event = record_case_event(
        case=case,
        event_type=EventType.CREATED,
        actor=actor,
        to_state=case.state,
        data={"program": program.code, "fields": fields},
        now=now,
    )
    outbox_dispatch(event)
    return case


def _refuse_if_frozen(actor: Actor) -> None:
    """A person whose account is frozen (reported stolen) changes nothing until it is checked."""
    if is_user(actor) and getattr(actor, "frozen_at", None) is not None:
        raise NotPermitted(
            _(
                "Your account is frozen because it was reported stolen. Our team will contact "
                "you; until then nothing can be changed."
            )
        )


def _check_applicant_edit(case: Case, actor: Actor, *, action: str, closed: str) -> None:
    """Only the case's owner, not frozen, may edit it, and only in the states that allow it."""
    _refuse_if_frozen(actor)
    if not rules.is_owner(case, actor):
        raise refuse(case, actor, action)
    if case.state not in APPLICANT_EDITABLE_STATES:
        raise InvalidState(closed % {"state": state_label(case)})


def _lock_for_applicant_edit(case: Case, actor: Actor, *, action: str, closed: str) -> Case:
    """Lock the case, then check the edit (_check_applicant_edit) on the locked row."""
    _refuse_if_frozen(actor)
    case = case_lock(case)
    _check_applicant_edit(case, actor, action=action, closed=closed)
    return case


@transaction.atomic
def case_update_declared_data(*, case: Case, actor: Actor, declared: dict[str, Any]) -> CaseEvent:
    """Correct declared data while the applicant may edit. Side effects: one event (the values
    themselves are not copied into the audit trail, only which fields changed)."""
    case = _lock_for_applicant_edit(
        case,
        actor,
        action=_("change the declared data of"),
        closed=_("This case is %(state)s; its declared data can no longer be changed."),
    )
    fields = _set_declared_data(case, declared)
    case.declared_data_updated_at = timezone.now()
    case.save()
    event = record_case_event(
        case=case,
        event_type=EventType.DECLARED_DATA_UPDATED,
        actor=actor,
        from_state=case.state,
        to_state=case.state,
        data={"fields": fields},
        now=case.declared_data_updated_at,
    )
    outbox_dispatch(event)
    return event


def _upload_action() -> str:  # messages are translated when raised, in the active language
    return _("upload documents to")


def _upload_closed() -> str:
    return _("This case is %(state)s; documents cannot be added now.")


def _require_file_slot(case: Case, slot: str) -> None:
    if slot not in case.program.slot_codes or slot not in FILE_SLOTS:
        raise InvalidInput(
            _("This program has no upload slot called %(slot)s.") % {"slot": slot},
            field_errors={"slot": [_("Unknown slot.")]},
        )


@transaction.atomic
def document_upload(
    *,
    case: Case,
    actor: Actor,
    slot: str,
    content: bytes,
    content_type: str,
    original_name: str = "",
    thumbnail: bytes | None = None,
    software: str = "",
    fingerprint: str | None = None,
) -> Document:
    """Store a new version of a slot. The bytes must already be validated and cleaned by the
    upload pipeline (`software`: what the original's metadata named, `fingerprint`: the
    picture's perceptual hash if the pipeline computed it; both for the checks).
    Side effects: a private file under a random name, a Document row, one event, the automatic
    checks requested. If anything fails, the file is removed again."""
    case = _lock_for_applicant_edit(case, actor, action=_upload_action(), closed=_upload_closed())
    _require_file_slot(case, slot)
    if not content:
        raise InvalidInput(
            _("The file is empty."), field_errors={"file": [_("The file is empty.")]}
        )
    latest = case.documents.filter(slot=slot).order_by("-version").values_list("version", flat=True)
    sha256 = hashlib.sha256(content).hexdigest()
    document = Document(
        case=case,
        slot=slot,
        version=(latest.first() or 0) + 1,
        sha256=sha256,
        content_type=content_type,
        size=len(content),
        original_name=original_name[:255],
        uploaded_by=user_or_none(actor),
        uploaded_by_label=actor_label(actor),
        perceptual_hash=(
            fingerprint
            if fingerprint is not None
            else image_hash(content)
            if content_type.startswith("image/")
            else ""
        ),
        source_software=software[:200],
    )
    # Written last, after every check: if the row or the event fails, the file goes again.
    document.file.save("upload", ContentFile(content), save=False)
    if thumbnail:
        document.thumbnail.save("thumbnail", ContentFile(thumbnail), save=False)
    try:
        document.save()
        if document.perceptual_hash:
            DocumentHashBand.objects.bulk_create(
                DocumentHashBand(document=document, band=band, value=value)
                for band, value in hash_bands(document.perceptual_hash)
            )
        event = record_case_event(
            case=case,
            event_type=EventType.DOCUMENT_UPLOADED,
            actor=actor,
            from_state=case.state,
            to_state=case.state,
            data={"slot": slot, "version": document.version, "size": document.size},
            file_sha256=sha256,
            now=document.uploaded_at,
        )
        outbox_dispatch(event)  # the automatic checks are requested
    except BaseException:
        document.file.delete(save=False)
        if document.thumbnail:
            document.thumbnail.delete(save=False)
        raise
    return document


def document_upload_file(
    *, case: Case, actor: Actor, slot: str, stream: IO[bytes], name: str, size: int | None = None
) -> Document:
    """An upload as it arrives (portal form or API): validated and cleaned by cases.checks.sanitise,
    then stored. A refused file (UploadRefused, with its HTTP status) leaves nothing behind."""
    # Everything that can refuse without reading the file, before decoding it (which costs);
    # document_upload checks again on the locked row.
    _refuse_if_frozen(actor)
    _require_file_slot(case, slot)
    _check_applicant_edit(case, actor, action=_upload_action(), closed=_upload_closed())
    cleaned = upload_clean(slot=slot, stream=stream, name=name, size=size)
    return document_upload(
        case=case,
        actor=actor,
        slot=slot,
        content=cleaned.content,
        content_type=cleaned.content_type,
        original_name=cleaned.original_name,
        thumbnail=cleaned.thumbnail,
        software=cleaned.software,
        fingerprint=cleaned.perceptual_hash,
    )


@transaction.atomic
def case_submit(*, case: Case, actor: Actor) -> CaseEvent:
    """draft → submitted once every required slot is filled.

    Side effects: as case_transition (the review clock starts; the applicant's e-mail with the
    expected date; the integration's webhook; the automatic checks are requested).
    """
    _refuse_if_frozen(actor)
    case = case_lock(case)
    transition_check(case, Transition.SUBMIT, actor, _("submitted"))
    missing = case.missing_required_slots()
    if missing:
        labels = ", ".join(str(Slot(slot).label) for slot in missing)
        raise InvalidInput(
            _("Some required items are still missing: %(items)s.") % {"items": labels},
            field_errors={"slots": missing},
        )
    now = timezone.now()
    return case_transition(case, Transition.SUBMIT, actor=actor, at=now, args={"now": now})


def _require_renewed(request: MaterialRequest) -> None:
    missing = request.missing_slots()
    if missing:
        labels = ", ".join(str(Slot(slot).label) for slot in missing)
        raise InvalidInput(
            _("Upload a new version of every requested item first: %(items)s.") % {"items": labels},
            field_errors={"slots": missing},
        )


@transaction.atomic
def case_resubmit(*, case: Case, actor: Actor) -> CaseEvent:
    """needs_materials → submitted once every requested item has a new version. The case goes
    to the front of the queue, preferably to its last reviewer.

    Side effects: the material request is settled; as case_transition (the clock resumes with the
    business time that was left; the applicant's e-mail; the webhook; the checks are requested).
    """
    _refuse_if_frozen(actor)
    case = case_lock(case)
    transition_check(case, Transition.RESUBMIT, actor, _("resubmitted"))
    request = case.open_material_request()
    if request is None:
        raise InvalidState(_("No materials were requested for this case."))
    _require_renewed(request)
    now = timezone.now()
    event = case_transition(
        case,
        Transition.RESUBMIT,
        actor=actor,
        data={"request": request.pk, "slots": request.slots},
        at=now,
        args={"now": now},
    )
    MaterialRequest.objects.filter(pk=request.pk).update(resolved_at=now)
    return event


@transaction.atomic
def case_reapply(*, case: Case, actor: Actor) -> CaseEvent:
    """rejected → submitted when every rejection reason is retryable and attempts remain; the
    attempt counts unless no reason counted as one.

    Side effects: a re-request is settled; as case_transition (a new review clock; the
    applicant's e-mail; the webhook; the checks are requested).
    """
    _refuse_if_frozen(actor)
    case = case_lock(case)
    transition_check(case, Transition.REAPPLY, actor, _("submitted again"))
    if not case.rejection_retryable:
        raise InvalidState(_("This rejection is final; a new application is needed."))
    if case.rejection_counts_attempt and case.attempt >= case.program.attempt_limit:
        raise InvalidState(
            _("All %(limit)s attempts of this program are used.")
            % {"limit": case.program.attempt_limit}
        )
    request = case.open_material_request()
    if request is not None:
        _require_renewed(request)
    now = timezone.now()
    event = case_transition(case, Transition.REAPPLY, actor=actor, at=now, args={"now": now})
    if request is not None:
        MaterialRequest.objects.filter(pk=request.pk).update(resolved_at=now)
    return event
