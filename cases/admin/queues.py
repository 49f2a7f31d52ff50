"""The reviewer's queues in the admin (DESIGN §8): one read-only list per queue, each in its own
order served by its own index, with capped counts, the business time left and the open signals.
Every action happens on the review screen (cases/admin/review.py); supervisors may reassign
several cases at once from a queue.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import User
from cases import crypto, rules, services
from cases.admin.base import ReadOnly, log_access, person
from cases.display import format_business, mask_name
from cases.errors import CaseActionError
from cases.models import (
    AccessKind,
    AtRiskCase,
    BreachedCase,
    Case,
    FourEyesCase,
    FrozenCase,
    MyCase,
    UnassignedCase,
    WaitingCase,
)
from cases.selectors import may_see_queue, open_signal_counts, queue_for
from cases.sla.calendar import business_calendar
from cases.sla.selectors import business_time_left
from cases.states import CaseState, SignalSeverity

ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
COUNT_CAP = 1_000


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows: a million-row queue never pays for a full COUNT.

    A work queue is read from its head; past the cap the page says "more than 1,000" and search
    or the filters narrow it down.
    """

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
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
        return self._get_deterministic_ordering(ordering)  # type: ignore[attr-defined]

    def get_results(self, request: HttpRequest) -> None:
        """The page's rows, each with its open signals counted: one query for the page."""
        super().get_results(request)
        rows = list(self.result_list)
        counts = open_signal_counts([case.pk for case in rows])
        for case in rows:
            case.open_signals = counts.get(case.pk, {})
        self.result_list = rows


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


class QueueAdmin(ReadOnly, admin.ModelAdmin):
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
        return queue_for(person(request), self.queue)

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
        user = person(request)
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
            "can_claim": rules.is_reviewer(person(request)),
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
        if not rules.is_supervisor(person(request)):
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
