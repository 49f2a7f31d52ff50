"""The reviewer workbench in the admin: queues, claim-next, the review screen and its actions.

Presentation only: cases are fetched through the ownership-scoped selectors and every change goes
through a service (via cases/forms.py). Files and unmasked ID numbers are served only by the
permission-checked views here, each read written to the access log.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import QuerySet
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
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.models import User
from cases import crypto, rules, services
from cases.admin.base import ReadOnly
from cases.audit import client_ip, record_access
from cases.calendar import business_calendar
from cases.errors import CaseActionError, NotPermitted
from cases.files import document_response
from cases.forms import ACTION_FORMS, TRANSITION_FORMS, ActionForm, VerdictForm
from cases.models import (
    AccessKind,
    AtRiskCase,
    BreachedCase,
    Case,
    CaseEvent,
    Document,
    FourEyesCase,
    FrozenCase,
    MyCase,
    Notification,
    Signal,
    UnassignedCase,
    WaitingCase,
)
from cases.notifications import render_notification
from cases.selectors import (
    business_time_left,
    case_eta,
    case_for_staff,
    may_see_queue,
    open_signal_counts,
    queue_for,
)
from cases.services.clock import case_touch, open_clock
from cases.states import CaseState, EventType, SignalSeverity, Slot

ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
COUNT_CAP = 1_000
SEVERITY_RANK: dict[str, int] = {
    SignalSeverity.HIGH: 0,
    SignalSeverity.MEDIUM: 1,
    SignalSeverity.LOW: 2,
}
# The order of the decision forms on the review screen: the usual outcomes first.
FORM_ORDER = [
    "claim",
    "approve",
    "request_materials",
    "reject",
    "countersign",
    "send_back",
    "release",
    "assign",
    "retarget",
    "unfreeze",
    "freeze",
    "close",
]


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows: a million-row queue never pays for a full COUNT.

    A work queue is read from its head; past the cap the page says "more than 1,000" and search
    or the filters narrow it down.
    """

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        object_list: Any = self.object_list
        # Without the ORDER BY: counting needs no sort, whatever the queue's order.
        return min(object_list.order_by()[: self.cap + 1].count(), self.cap + 1)

    @property
    def capped(self) -> bool:
        return self.count > self.cap


class QueueChangeList(ChangeList):
    """Lists a queue in the queue's own order, which its index serves: `Case.Meta.ordering` is not
    put first (as an empty `get_ordering()` would), and `?o=` cannot sort the whole queue."""

    def get_ordering(self, request: HttpRequest, queryset: QuerySet[Any]) -> list[Any]:
        ordering = list(queryset.query.order_by)
        return self._get_deterministic_ordering(ordering)  # type: ignore[attr-defined,no-any-return]

    def get_results(self, request: HttpRequest) -> None:
        """The page's rows, each with its open signals counted: one query for the page."""
        super().get_results(request)
        rows = list(self.result_list)
        counts = open_signal_counts([case.pk for case in rows])
        for case in rows:
            case.open_signals = counts.get(case.pk, {})
        self.result_list = rows  # type: ignore[assignment]


def mask_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) <= 1:
        return name or "—"
    return name[0] + "*" * (len(name) - 1)


def mask_id_number(number: str) -> str:
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def format_business(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return _("%(h)dh %(m)02dm") % {"h": hours, "m": minutes}


def person(request: HttpRequest) -> User:
    """The signed-in member of staff (the admin lets no one else reach these views)."""
    return cast(User, request.user)


def log_access(
    request: HttpRequest,
    kind: str,
    *,
    case: Case | None = None,
    document: Document | None = None,
    detail: str = "",
) -> None:
    record_access(
        user=person(request),
        kind=kind,
        case=case,
        document=document,
        detail=detail,
        ip=client_ip(request.META),
    )


class SlaStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("SLA status")
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("on_time", gettext_lazy("On time")),
            ("at_risk", gettext_lazy("At risk")),
            ("breached", gettext_lazy("Breached")),
            ("paused", gettext_lazy("Paused")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        running = queryset.filter(state__in=(CaseState.SUBMITTED, CaseState.REVIEWING))
        value = self.value()
        if value == "on_time":
            return running.filter(sla_at_risk_since=None, sla_breached_at=None)
        if value == "at_risk":
            return running.filter(sla_at_risk_since__isnull=False, sla_breached_at=None)
        if value == "breached":
            return running.filter(sla_breached_at__isnull=False)
        if value == "paused":
            return queryset.filter(state=CaseState.NEEDS_MATERIALS)
        return queryset


class StaffFilter(admin.RelatedFieldListFilter):
    """Assignees are staff: never list every applicant in the sidebar."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        return field.get_choices(
            include_blank=False, limit_choices_to={"is_staff": True}, ordering=("email",)
        )


class QueueAdmin(ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """One queue. Read-only lists; every action happens on the review screen."""

    queue = "all"
    list_display = (
        "reference_link",
        "program",
        "applicant_masked",
        "state_badge",
        "priority",
        "time_left",
        "attempt",
        "assignee",
        "signals_column",
    )
    list_display_links = None
    list_filter = ("program", "state", "priority", SlaStatusFilter, ("assignee", StaffFilter))
    # Facet counts are a full COUNT per choice: never at a million cases.
    show_facets = admin.ShowFacets.NEVER
    search_fields = ("=reference", "=applicant__email")
    search_help_text = gettext_lazy(
        "Reference, applicant e-mail, or an exact resident ID number (searches are logged)."
    )
    list_select_related = ("program", "assignee", "applicant")
    list_per_page = 50
    show_full_result_count = False
    paginator = CappedCountPaginator
    # Each queue has its own order, served by an index; a column header would sort the whole queue.
    sortable_by = ()
    change_list_template = "admin/cases/queue_change_list.html"
    actions: Any = []

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return queue_for(request.user, self.queue)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return QueueChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if ID_NUMBER.match(term):
            found = queryset.filter(id_number_index=crypto.blind_index(term))
            log_access(request, AccessKind.SEARCH_ID_NUMBER, detail=f"queue={self.queue}")
            return found, False
        return super().get_search_results(request, queryset, term)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff) and may_see_queue(user, self.queue)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        if not str(object_id).isdigit():
            raise Http404
        uuid = self.get_queryset(request).filter(pk=int(object_id)).values_list("uuid", flat=True)
        found = uuid.first()
        if found is None:
            raise Http404
        return redirect("admin:cases_review", uuid=found)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        self._calendar = business_calendar()
        self._now = timezone.now()
        context = {
            "queue": self.queue,
            "can_claim": rules.is_reviewer(request.user),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    # --- columns ------------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("reference"))
    def reference_link(self, case: Case) -> str:
        url = reverse("admin:cases_review", args=[case.uuid])
        return format_html('<a href="{}">{}</a>', url, case.reference or case.uuid)

    @admin.display(description=gettext_lazy("applicant"))
    def applicant_masked(self, case: Case) -> str:
        return mask_name(case.company_name or case.full_name or case.applicant.full_name)

    @admin.display(description=gettext_lazy("state"))
    def state_badge(self, case: Case) -> str:
        return format_html(
            '<span class="kyc-badge kyc-{}">{}</span>', case.state, case.get_state_display()
        )

    @admin.display(description=gettext_lazy("open signals"))
    def signals_column(self, case: Case) -> str:
        counts: dict[str, int] = getattr(case, "open_signals", {})
        total = sum(counts.values())
        if not total:
            return "0"
        if counts.get(SignalSeverity.HIGH):
            return format_html(
                '<span class="kyc-signal-high" title="{}">{}</span>',
                _("%(n)d high-severity") % {"n": counts[SignalSeverity.HIGH]},
                total,
            )
        return str(total)

    @admin.display(description=gettext_lazy("business time left"))
    def time_left(self, case: Case) -> str:
        if case.state == CaseState.NEEDS_MATERIALS:
            return _("paused")
        left = business_time_left(case, calendar=self._calendar, now=self._now)
        if left is None:
            return "—"
        if left < timedelta(0):
            return format_html(
                '<span class="kyc-overdue">{}</span>',
                _("overdue by %(time)s") % {"time": format_business(left)},
            )
        text = format_business(left)
        if case.sla_at_risk_since:
            return format_html('<span class="kyc-at-risk">{}</span>', text)
        return text


class ReassignForm(helpers.ActionForm):
    reviewer = forms.ModelChoiceField(
        label=gettext_lazy("to reviewer"),
        queryset=User.objects.filter(is_active=True, is_staff=True).order_by("email"),
        required=False,
    )


class SupervisedQueueAdmin(QueueAdmin):
    """Queues where supervisors may reassign several cases at once."""

    action_form = ReassignForm
    actions = ["reassign_selected"]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        if not rules.is_supervisor(request.user):
            return {}
        return super().get_actions(request)

    @admin.action(description=gettext_lazy("Assign the selected cases to the chosen reviewer"))
    def reassign_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        reviewer = ReassignForm(request.POST).data.get("reviewer")
        target = User.objects.filter(pk=reviewer).first() if reviewer else None
        if target is None:
            self.message_user(request, _("Choose a reviewer first."), messages.ERROR)
            return
        cap = CappedCountPaginator.cap
        if queryset.order_by()[: cap + 1].count() > cap:
            self.message_user(
                request,
                _("Reassign at most %(cap)d cases at a time; narrow the queue with the filters.")
                % {"cap": cap},
                messages.ERROR,
            )
            return
        done, failed = 0, []
        for case in queryset:
            try:
                services.case_assign(case=case, actor=person(request), reviewer=target)
                done += 1
            except CaseActionError as exc:
                failed.append(f"{case.reference}: {exc.message}")
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(n)d case assigned to %(user)s.", "%(n)d cases assigned to %(user)s.", done
                )
                % {"n": done, "user": target.email},
                messages.SUCCESS,
            )
        for line in failed:
            self.message_user(request, line, messages.ERROR)


@admin.register(MyCase)
class MyCaseAdmin(QueueAdmin):
    queue = "my"


@admin.register(UnassignedCase)
class UnassignedCaseAdmin(SupervisedQueueAdmin):
    queue = "unassigned"


@admin.register(AtRiskCase)
class AtRiskCaseAdmin(SupervisedQueueAdmin):
    queue = "at_risk"


@admin.register(BreachedCase)
class BreachedCaseAdmin(SupervisedQueueAdmin):
    queue = "breached"


@admin.register(WaitingCase)
class WaitingCaseAdmin(QueueAdmin):
    queue = "waiting"


@admin.register(FourEyesCase)
class FourEyesCaseAdmin(QueueAdmin):
    queue = "four_eyes"


@admin.register(FrozenCase)
class FrozenCaseAdmin(QueueAdmin):
    queue = "frozen"


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
        case = case_for_staff(request.user, uuid)
        log_access(request, AccessKind.VIEW_CASE, case=case)
        if case_touch(case=case, actor=person(request)):
            case.refresh_from_db()
        return self._render_review(request, case)

    def _available_forms(
        self, request: HttpRequest, case: Case, bound: ActionForm | None
    ) -> list[ActionForm]:
        user = request.user
        names = [t.name for t in case.get_available_user_state_transitions(user)]  # type: ignore[attr-defined]
        wanted: list[type[ActionForm]] = [
            TRANSITION_FORMS[n] for n in names if n in TRANSITION_FORMS
        ]
        proposal = case.pending_proposal()
        if proposal is not None:
            # Nothing else is decided while a decision waits for its second signature.
            wanted = [f for f in wanted if f.action in ("freeze", "close", "release")]
            if rules.can_countersign(user) and proposal.proposed_by_id != user.pk:
                wanted += [ACTION_FORMS["countersign"], ACTION_FORMS["send_back"]]
        if rules.is_supervisor(user) and case.state in (CaseState.SUBMITTED, CaseState.REVIEWING):
            wanted.append(ACTION_FORMS["assign"])
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
        data = form.cleaned_data
        event_type = {
            "request_materials": EventType.MATERIALS_REQUESTED,
            "reject": EventType.REJECTED,
            "approve": EventType.APPROVED,
            "freeze": EventType.FROZEN,
            "close": EventType.CLOSED,
        }.get(form.action)
        if event_type is None:
            return None
        if "reason_codes" in data:
            codes = list(data["reason_codes"])
        else:
            codes = [data["reason_code"]] if data.get("reason_code") else []
        slots = list(data.get("slots") or [])
        if not slots and form.action == "request_materials":
            from cases.models import ReasonCode

            slots = [s for r in ReasonCode.objects.filter(code__in=codes) for s in r.slots]
            slots = [s for s in dict.fromkeys(slots) if s in case.program.slot_codes]
        target = {
            "request_materials": CaseState.NEEDS_MATERIALS,
            "reject": CaseState.REJECTED,
            "approve": CaseState.APPROVED,
            "freeze": CaseState.ACCOUNT_FROZEN,
            "close": CaseState.CLOSED,
        }[form.action]
        event = CaseEvent(
            case=case,
            event_type=event_type,
            to_state=target,
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
        read_only = not (rules.is_reviewer(request.user) or rules.is_supervisor(request.user))
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
            "verdict_form": ACTION_FORMS["verdict"](case=case, user=request.user),
            "can_verdict": case.state == CaseState.REVIEWING
            and rules.is_assignee(case, request.user),
            "preview": preview,
            "preview_language": case.applicant.preferred_language,
            "read_only": read_only,
            "signals": sorted(
                case.signals.select_related("resolved_by").order_by("-raised_at", "-pk"),
                key=lambda s: (not s.is_open, SEVERITY_RANK.get(s.severity, 9)),
            ),
            "can_clear_signals": not read_only and rules.may_clear_signal(case, request.user),
            "can_clear_high_signals": not read_only
            and rules.may_clear_signal(case, request.user, high=True),
            "signal_error": signal_error,
        }
        return TemplateResponse(request, "admin/cases/review.html", context, status=status)

    @method_decorator(require_POST)
    def act_view(self, request: HttpRequest, uuid: Any) -> HttpResponse:
        case = case_for_staff(request.user, uuid)
        form_class = ACTION_FORMS.get(request.POST.get("action", ""))
        if form_class is None:
            self.message_user(request, _("Unknown action."), messages.ERROR)
            return self._render_review(request, case, status=400)
        form = form_class(request.POST, case=case, user=request.user)
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
            case_for_staff(request.user, uuid)
        except Http404:
            # The case left this person's view (e.g. released, or assigned to someone else).
            return redirect("admin:cases_mycase_changelist")
        return HttpResponseRedirect(reverse("admin:cases_review", args=[uuid]))

    @method_decorator(require_POST)
    def clear_signal_view(self, request: HttpRequest, uuid: Any, pk: int) -> HttpResponse:
        case = case_for_staff(request.user, uuid)
        signal = Signal.objects.filter(case=case, pk=pk).first()
        if signal is None:
            raise Http404
        try:
            services.signal_clear(
                signal=signal, actor=person(request), note=request.POST.get("note", "")
            )
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
        case = case_for_staff(request.user, uuid)
        document = Document.objects.filter(case=case, pk=pk).first()
        if document is None:
            raise Http404
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
        case = case_for_staff(request.user, uuid)
        if not case.id_number:
            raise Http404
        log_access(request, AccessKind.REVEAL_ID_NUMBER, case=case)
        case_touch(case=case, actor=person(request))
        return self._render_review(request, case, revealed=case.id_number)
