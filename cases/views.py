"""The applicant portal: my applications, starting one, uploading, submitting, and the case page
that says exactly what is missing and why. Presentation only: reads through the ownership-scoped
selector (someone else's case is a 404), changes through the services."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import User
from cases import services
from cases.checks.sanitise import UploadRefused, allowed_types, oversized_request
from cases.errors import CaseActionError, NotPermitted
from cases.files import document_response, purged_response
from cases.forms import DeclaredDataForm
from cases.models import Case, Program, ReasonCode
from cases.selectors import case_for_applicant, case_history, cases_for_applicant
from cases.sla.selectors import case_eta
from cases.states import FILE_SLOTS, CaseState, Slot


def applicant(request: HttpRequest) -> User:
    return cast(User, request.user)


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/case_list.html",
        {
            "cases": cases_for_applicant(applicant(request)),
            "programs": Program.objects.filter(is_active=True),
        },
    )


@login_required
def case_start(request: HttpRequest, program: str) -> HttpResponse:
    chosen = get_object_or_404(Program, code=program, is_active=True)
    form = DeclaredDataForm(request.POST or None, program=chosen.code)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_create(
                program=chosen,
                applicant=applicant(request),
                actor=applicant(request),
                declared={k: v for k, v in form.cleaned_data.items() if v not in (None, "")},
            )
        except CaseActionError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Application started. Now upload the materials."))
            return redirect("portal:case", uuid=case.uuid)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "portal/case_start.html", {"program": chosen, "form": form}, status=status
    )


def _form_errors(form: Any, exc: CaseActionError) -> None:
    placed = False
    for field, errors in exc.field_errors.items():
        if field in form.fields:
            for error in errors:
                form.add_error(field, str(error))
                placed = True
    if not placed:
        form.add_error(None, exc.message)


def _uploadable_slots(case: Case) -> list[str]:
    """The file slots the applicant may upload to now, in the program's order."""
    if case.state == CaseState.DRAFT:
        return [s for s in case.program.slot_codes if s in FILE_SLOTS]
    request = case.open_material_request()
    if case.state in (CaseState.NEEDS_MATERIALS, CaseState.REJECTED) and request is not None:
        return [s for s in request.slots if s in FILE_SLOTS]
    return []


def _history(case: Case, language: str) -> list[dict[str, Any]]:
    catalogue = ReasonCode.objects.in_bulk()
    rows = []
    for event in case_history(case):
        rows.append(
            {
                "event": event,
                "reasons": [r.applicant_message(language) for r in event.reasons_told(catalogue)],
                "message": event.message_told,
                "slot": Slot(event.data["slot"]).label
                if event.data.get("slot") in Slot.values
                else "",
            }
        )
    return rows


def _case_context(request: HttpRequest, case: Case, **extra: Any) -> dict[str, Any]:
    language = get_language() or settings.LANGUAGE_CODE
    open_request = case.open_material_request()
    missing = open_request.missing_slots() if open_request else []
    reasons = (
        list(ReasonCode.objects.filter(code__in=open_request.reason_codes)) if open_request else []
    )
    rejection = list(ReasonCode.objects.filter(code__in=case.rejection_reasons))
    slots = _uploadable_slots(case)
    current = {d.slot: d for d in case.current_documents()}
    return {
        "case": case,
        "eta": case_eta(case),
        "request_open": open_request,
        "missing": missing,
        "request_reasons": [r.applicant_message(language) for r in reasons],
        "rejection_reasons": [r.applicant_message(language) for r in rejection],
        "upload_slots": [
            {
                "code": slot,
                "label": Slot(slot).label,
                "types": ", ".join(t.split("/")[1].upper() for t in allowed_types(slot)),
                "accept": ",".join(allowed_types(slot)),
                "current": current.get(slot),
                "requested": slot in missing,
            }
            for slot in slots
        ],
        "declared_requested": "declared_data" in missing,
        "missing_required": [
            Slot(s).label for s in case.missing_required_slots() if s in Slot.values
        ]
        if case.state == CaseState.DRAFT
        else [],
        "may_reapply": case.state == CaseState.REJECTED
        and case.rejection_retryable
        and (not case.rejection_counts_attempt or case.attempt < case.program.attempt_limit),
        "max_upload": filesizeformat(settings.MAX_UPLOAD_BYTES),
        "history": _history(case, language),
        "frozen_account": applicant(request).frozen_at is not None,
        **extra,
    }


@login_required
def case_detail(request: HttpRequest, uuid: Any) -> HttpResponse:
    case = case_for_applicant(applicant(request), uuid)
    return render(request, "portal/case_detail.html", _case_context(request, case))


@csrf_exempt  # checked below, once the size is known to be acceptable
@login_required
def case_upload(request: HttpRequest, uuid: Any, slot: str) -> HttpResponse:
    """One file for one slot. A request over the cap is refused before its body is read."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    case = case_for_applicant(applicant(request), uuid)
    too_big = oversized_request(request.META)
    if too_big is not None:
        return _refused(request, case, too_big)
    # Checked here, not by the middleware: a body over the cap must be refused unread.
    rejected = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
        request, _csrf_checked, (), {}
    )
    if rejected is not None:
        return rejected
    upload = request.FILES.get("file")
    if upload is None:
        return _refused(request, case, UploadRefused(_("Choose a file to upload.")))
    try:
        services.document_upload_file(
            case=case,
            actor=applicant(request),
            slot=slot,
            stream=upload,
            name=upload.name or "",
            size=upload.size,
        )
    except UploadRefused as exc:
        return _refused(request, case, exc)
    except NotPermitted as exc:
        messages.error(request, exc.message)
        return render(request, "portal/case_detail.html", _case_context(request, case), status=403)
    except CaseActionError as exc:
        messages.error(request, exc.message)
        return render(request, "portal/case_detail.html", _case_context(request, case), status=400)
    messages.success(
        request,
        _("Uploaded: %(slot)s.") % {"slot": Slot(slot).label if slot in Slot.values else slot},
    )
    return redirect("portal:case", uuid=case.uuid)


def _csrf_checked(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    """Stands for the upload view in the CSRF check (the view itself is marked exempt)."""
    return HttpResponse()


def _refused(request: HttpRequest, case: Case, exc: UploadRefused) -> HttpResponse:
    messages.error(request, exc.message)
    return render(
        request,
        "portal/case_detail.html",
        _case_context(request, case, upload_error=exc.message),
        status=exc.status,
    )


@login_required
def case_document(request: HttpRequest, uuid: Any, pk: int) -> HttpResponseBase:
    """One of the applicant's own uploads, as an attachment (someone else's: 404)."""
    case = case_for_applicant(applicant(request), uuid)
    document = get_object_or_404(case.documents, pk=pk)
    return purged_response(document) or document_response(document)


@login_required
def case_declared(request: HttpRequest, uuid: Any) -> HttpResponse:
    """Correct the declared data (a draft, or when a reviewer asked for it)."""
    case = case_for_applicant(applicant(request), uuid)
    initial = {f: getattr(case, f) for f in DeclaredDataForm.base_fields}
    form = DeclaredDataForm(request.POST or None, program=case.program_id, initial=initial)
    if request.method == "POST" and form.is_valid():
        changed = {f: form.cleaned_data[f] for f in form.changed_data}
        try:
            if changed:
                services.case_update_declared_data(
                    case=case, actor=applicant(request), declared=changed
                )
        except CaseActionError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Your information was saved."))
            return redirect("portal:case", uuid=case.uuid)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "portal/case_declared.html",
        {"case": case, "form": form, "program": case.program},
        status=status,
    )


def _act(request: HttpRequest, uuid: Any, service: Any, done: str) -> HttpResponse:
    case = case_for_applicant(applicant(request), uuid)
    try:
        service(case=case, actor=applicant(request))
    except CaseActionError as exc:
        messages.error(request, exc.message)
        status = 403 if isinstance(exc, NotPermitted) else 400
        case.refresh_from_db()
        return render(
            request, "portal/case_detail.html", _case_context(request, case), status=status
        )
    messages.success(request, done)
    return redirect("portal:case", uuid=case.uuid)


@require_POST
@login_required
def case_submit(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _act(request, uuid, services.case_submit, _("Submitted. We will review it."))


@require_POST
@login_required
def case_resubmit(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _act(request, uuid, services.case_resubmit, _("Resubmitted. The review continues."))


@require_POST
@login_required
def case_reapply(request: HttpRequest, uuid: Any) -> HttpResponse:
    return _act(request, uuid, services.case_reapply, _("Applied again. We will review it."))
