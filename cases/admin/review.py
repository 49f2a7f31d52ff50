"""The review screen in the admin: claim-next, one case with its documents beside the declared
data, the signals, the history and the clock, and the decision forms a person may use now.

Presentation only: cases are fetched through the ownership-scoped selectors and every change goes
through a service (via cases/admin/forms.py). Files and unmasked ID numbers are served only by the
permission-checked views here, each read written to the access log.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import rules, services
from cases.admin.base import log_access, person
from cases.admin.forms import ACTION_FORMS, TRANSITION_FORMS, ActionForm, VerdictForm
from cases.admin.queues import SupervisedQueueAdmin
from cases.checks.run import signal_clear
from cases.display import format_business, mask_id_number
from cases.emails import render_notification
from cases.errors import CaseActionError, NotPermitted
from cases.files import document_response, purged_response
from cases.models import (
    AccessKind,
    Case,
    CaseEvent,
    Document,
    Notification,
    ReasonCode,
    Signal,
)
from cases.selectors import case_for_staff
from cases.sla.calendar import business_calendar
from cases.sla.clock import case_touch
from cases.sla.selectors import business_time_left, case_eta, open_clock
from cases.states import TRANSITION_EVENTS, CaseState, SignalSeverity, Slot, Transition

SEVERITY_RANK: dict[str, int] = {
    SignalSeverity.HIGH: 0,
    SignalSeverity.MEDIUM: 1,
    SignalSeverity.LOW: 2,
}
# The order of the decision forms on the review screen: the usual outcomes first.
FORM_ORDER = list(ACTION_FORMS)


@admin.register(Case)
class CaseAdmin(SupervisedQueueAdmin):
    """All cases (supervisors, auditors), and the home of the review screen's URLs."""

    queue = "all"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("claim-next/", view(self.claim_next_view), name="cases_claim_next"),
            path("review/<uuid:uuid>/", view(self.review_view), name="cases_review"),
            path("review/<uuid:uuid>/act/", view(self.act_view), name="cases_act"),
            path(
                "review/<uuid:uuid>/document/<int:pk>/",
                view(self.document_view),
                name="cases_document",
            ),
            path(
                "review/<uuid:uuid>/signal/<int:pk>/clear/",
                view(self.clear_signal_view),
                name="cases_clear_signal",
            ),
            path(
                "review/<uuid:uuid>/id-number/",
                view(self.reveal_id_view),
                name="cases_reveal_id",
            ),
            *super().get_urls(),
        ]

    # --- claim next ---------------------------------------------------------------------------

    @method_decorator(require_POST)
    def claim_next_view(self, request: HttpRequest) -> HttpResponse:
        try:
            event = services.case_claim_next(actor=person(request))
        except NotPermitted as exc:
            return HttpResponseForbidden(exc.message)
        if event is None:
            self.message_user(request, _("The queue is empty: there is no case to claim."))
            return redirect("admin:cases_unassignedcase_changelist")
        case = Case.objects.get(pk=event.case_id)
        self.message_user(
            request, _("You claimed %(ref)s.") % {"ref": case.reference}, messages.SUCCESS
        )
        return redirect("admin:cases_review", uuid=case.uuid)

    # --- the review screen --------------------------------------------------------------------

    def review_view(self, request: HttpRequest, uuid: Any) -> HttpResponse:
        case = case_for_staff(person(request), uuid)
        log_access(request, AccessKind.VIEW_CASE, case=case)
        if case_touch(case=case, actor=person(request)):
            case.refresh_from_db()
        return self._render_review(request, case)

    def _available_forms(
        self, request: HttpRequest, case: Case, bound: ActionForm | None
    ) -> list[ActionForm]:
        user = person(request)
        names = [t.name for t in case.get_available_user_state_transitions(user)]  # type: ignore[attr-defined]
        wanted: list[type[ActionForm]] = [
            TRANSITION_FORMS[n] for n in names if n in TRANSITION_FORMS
        ]
        proposal = case.pending_proposal()
        if proposal is not None:
            # Nothing else is decided while a decision waits for its second signature.
            wanted = [
                f
                for f in wanted
                if f.transition in (Transition.FREEZE, Transition.CLOSE, Transition.RELEASE)
            ]
            if rules.can_countersign(user) and proposal.proposed_by_id != user.pk:
                wanted += [ACTION_FORMS["countersign"], ACTION_FORMS["send_back"]]
        if rules.is_supervisor(user) and case.state in (CaseState.SUBMITTED, CaseState.REVIEWING):
            wanted.append(ACTION_FORMS[Transition.ASSIGN])
            if open_clock(case) is not None:
                wanted.append(ACTION_FORMS["retarget"])
        forms_: list[ActionForm] = []
        for form_class in sorted(dict.fromkeys(wanted), key=lambda f: FORM_ORDER.index(f.action)):
            if bound is not None and bound.action == form_class.action:
                forms_.append(bound)
            else:
                forms_.append(form_class(case=case, user=user))
        return forms_

    def _documents(self, case: Case) -> list[dict[str, Any]]:
        by_slot: dict[str, list[Document]] = {}
        for document in case.documents.select_related("verdict_reason").order_by(
            "slot", "-version"
        ):
            by_slot.setdefault(document.slot, []).append(document)
        order = [s for s in case.program.slot_codes if s in by_slot] + [
            s for s in by_slot if s not in case.program.slot_codes
        ]
        return [
            {
                "slot": slot,
                "label": Slot(slot).label if slot in Slot.values else slot,
                "versions": by_slot[slot],
                "current": by_slot[slot][0],
            }
            for slot in order
        ]

    def _preview(self, case: Case, form: ActionForm) -> tuple[str, str] | None:
        """The e-mail the applicant would receive for this decision, in their language."""
        if form.transition is None:
            return None
        declared = case.declared_transition(form.transition)
        if declared is None:
            return None
        data = form.cleaned_data
        if "reason_codes" in data:
            codes = list(data["reason_codes"])
        else:
            codes = [data["reason_code"]] if data.get("reason_code") else []
        slots = list(data.get("slots") or [])
        if not slots and form.transition == Transition.REQUEST_MATERIALS:
            slots = [s for r in ReasonCode.objects.filter(code__in=codes) for s in r.slots]
            slots = [s for s in dict.fromkeys(slots) if s in case.program.slot_codes]
        event = CaseEvent(
            case=case,
            event_type=TRANSITION_EVENTS[form.transition],
            to_state=str(declared.target),
            reason_codes=codes,
            message=data.get("message", ""),
            data={"slots": slots},
        )
        notification = Notification(
            event=event,
            recipient=case.applicant,
            language=case.applicant.preferred_language,
        )
        return render_notification(notification)

    def _render_review(
        self,
        request: HttpRequest,
        case: Case,
        *,
        bound: ActionForm | None = None,
        preview: tuple[str, str] | None = None,
        revealed: str = "",
        status: int = 200,
        signal_error: tuple[int, str] | None = None,
    ) -> HttpResponse:
        calendar = business_calendar()
        now = timezone.now()
        left = business_time_left(case, calendar=calendar, now=now)
        clock = open_clock(case)
        read_only = not (rules.is_reviewer(person(request)) or rules.is_supervisor(person(request)))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Case %(ref)s") % {"ref": case.reference},
            "opts": self.model._meta,
            "case": case,
            "masked_id": mask_id_number(case.id_number) if case.id_number else "",
            "masked_phone": mask_id_number(case.phone) if case.phone else "",
            "revealed_id": revealed,
            "documents": self._documents(case),
            "events": case.events.select_related("actor_user").order_by("seq"),
            "proposal": case.pending_proposal(),
            "request_open": case.open_material_request(),
            "eta": case_eta(case, now=now),
            "time_left": format_business(left) if left is not None else "",
            "overdue": left is not None and left < timedelta(0),
            "clock": clock,
            "segments": clock.segments.order_by("started_at") if clock else [],
            "forms": [] if read_only else self._available_forms(request, case, bound),
            "verdict_form": ACTION_FORMS["verdict"](case=case, user=person(request)),
            "can_verdict": case.state == CaseState.REVIEWING
            and rules.is_assignee(case, person(request)),
            "preview": preview,
            "preview_language": case.applicant.preferred_language,
            "read_only": read_only,
            "signals": sorted(
                case.signals.select_related("resolved_by").order_by("-raised_at", "-pk"),
                key=lambda s: (not s.is_open, SEVERITY_RANK.get(s.severity, 9)),
            ),
            "can_clear_signals": not read_only and rules.may_clear_signal(case, person(request)),
            "can_clear_high_signals": not read_only
            and rules.may_clear_signal(case, person(request), high=True),
            "signal_error": signal_error,
        }
        return TemplateResponse(request, "admin/cases/review.html", context, status=status)

    @method_decorator(require_POST)
    def act_view(self, request: HttpRequest, uuid: Any) -> HttpResponse:
        case = case_for_staff(person(request), uuid)
        form_class = ACTION_FORMS.get(request.POST.get("action", ""))
        if form_class is None:
            self.message_user(request, _("Unknown action."), messages.ERROR)
            return self._render_review(request, case, status=400)
        form = form_class(request.POST, case=case, user=person(request))
        if not form.is_valid():
            self.message_user(
                request, _("Please correct the errors in the form below."), messages.ERROR
            )
            if isinstance(form, VerdictForm):  # rendered once per document: say it up top
                for error in form.errors.get("reason_code", []):
                    self.message_user(request, str(error), messages.ERROR)
            return self._render_review(request, case, bound=form, status=400)
        if "preview" in request.POST and form.previewable:
            case_touch(case=case, actor=person(request))
            return self._render_review(request, case, bound=form, preview=self._preview(case, form))
        try:
            form.perform()
        except NotPermitted as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return self._render_review(request, case, bound=form, status=403)
        except CaseActionError as exc:
            for field, problems in (exc.field_errors or {}).items():
                if field in form.fields:
                    for problem in problems:
                        form.add_error(field, str(problem))
            self.message_user(request, exc.message, messages.ERROR)
            case.refresh_from_db()
            return self._render_review(request, case, bound=form, status=400)
        except forms.ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return self._render_review(request, case, bound=form, status=400)
        self.message_user(
            request, _("Done: %(action)s.") % {"action": form.label}, messages.SUCCESS
        )
        try:
            case_for_staff(person(request), uuid)
        except Http404:
            # The case left this person's view (e.g. released, or assigned to someone else).
            return redirect("admin:cases_mycase_changelist")
        return HttpResponseRedirect(reverse("admin:cases_review", args=[uuid]))

    @method_decorator(require_POST)
    def clear_signal_view(self, request: HttpRequest, uuid: Any, pk: int) -> HttpResponse:
        case = case_for_staff(person(request), uuid)
        signal = Signal.objects.filter(case=case, pk=pk).first()
        if signal is None:
            raise Http404
        try:
            signal_clear(signal=signal, actor=person(request), note=request.POST.get("note", ""))
        except NotPermitted as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return self._render_review(request, case, status=403)
        except CaseActionError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return self._render_review(
                request, case, status=400, signal_error=(signal.pk, exc.message)
            )
        self.message_user(
            request,
            _("Signal cleared: %(kind)s.") % {"kind": signal.get_kind_display()},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:cases_review", args=[uuid]))

    # --- personal data ------------------------------------------------------------------------

    def document_view(self, request: HttpRequest, uuid: Any, pk: int) -> HttpResponseBase:
        case = case_for_staff(person(request), uuid)
        document = Document.objects.filter(case=case, pk=pk).first()
        if document is None:
            raise Http404
        if gone := purged_response(document):
            return gone
        log_access(request, AccessKind.VIEW_DOCUMENT, case=case, document=document)
        case_touch(case=case, actor=person(request))
        response = document_response(document, inline=request.GET.get("inline") == "1")
        response["X-Frame-Options"] = "SAMEORIGIN"  # the review screen frames PDFs
        if document.content_type != "application/pdf":
            # An image or video can never run script; (a sandboxed PDF would not display).
            response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response

    @method_decorator(require_POST)
    def reveal_id_view(self, request: HttpRequest, uuid: Any) -> HttpResponse:
        case = case_for_staff(person(request), uuid)
        if not case.id_number:
            raise Http404
        log_access(request, AccessKind.REVEAL_ID_NUMBER, case=case)
        case_touch(case=case, actor=person(request))
        return self._render_review(request, case, revealed=case.id_number)
