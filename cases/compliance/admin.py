"""The auditors' pages in the admin (supervisors and auditors, read-only): case histories to
search (reference, applicant, exact ID number, reviewer, period) that open on a case's complete
timeline and its state "as of" any instant; and the audit trail verification: every run with
what it found, the latest anchor, and buttons to verify now (it reads only) and to anchor now
(supervisors)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseRedirect,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from cases.admin.base import ReadOnly, log_access, person
from cases.admin.queues import QueueAdmin
from cases.compliance.anchors import AnchorError, read_anchors
from cases.compliance.timeline import case_as_of, case_timeline, cases_handled_by
from cases.enqueue import AUDIT_ANCHOR, AUDIT_VERIFY, enqueue
from cases.models import AccessKind, AuditCase, Case, ChainVerification
from cases.selectors import case_for_staff


def _reads(request: HttpRequest) -> bool:
    return bool(request.user.has_perm("cases.view_all_cases"))


def _anchors(request: HttpRequest) -> bool:
    return bool(request.user.has_perm("cases.configure_programs"))


@admin.register(ChainVerification)
class ChainVerificationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "started_at",
        "ok",
        "cases_checked",
        "events_checked",
        "anchors_checked",
        "anchor_name",
        "requested_by",
        "alerted_at",
    )
    list_filter = ("ok",)
    list_select_related = ("requested_by",)
    fields = (
        "started_at",
        "finished_at",
        "requested_by",
        "ok",
        "cases_checked",
        "events_checked",
        "anchors_checked",
        "anchor_name",
        "anchored_at",
        "problem_list",
        "alerted_at",
    )
    readonly_fields = fields
    change_list_template = "admin/cases/verification_change_list.html"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _reads(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _reads(request)

    @admin.display(description=gettext_lazy("problems"))
    def problem_list(self, run: ChainVerification) -> str:
        return format_html_join("", "<p>{}</p>", ((p,) for p in run.problems)) or "—"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("verify-now/", view(self.verify_now_view), name="cases_verify_now"),
            path("anchor-now/", view(self.anchor_now_view), name="cases_anchor_now"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        try:
            anchors, anchor_error = read_anchors(), ""
        except AnchorError as exc:
            anchors, anchor_error = [], str(exc)
        context = {
            "latest_anchor": anchors[-1] if anchors else None,
            "anchor_count": len(anchors),
            "anchor_error": anchor_error,
            "latest_run": ChainVerification.objects.first(),
            "can_anchor": _anchors(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def verify_now_view(self, request: HttpRequest) -> HttpResponse:
        """Queue a verification of every chain; it writes only its own record."""
        if request.method != "POST" or not _reads(request):
            return HttpResponseForbidden()
        enqueue(AUDIT_VERIFY, requested_by_id=person(request).pk)
        self.message_user(
            request,
            _("The verification is running; its result appears in this list when it is done."),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:cases_chainverification_changelist"))

    def anchor_now_view(self, request: HttpRequest) -> HttpResponse:
        """Queue an anchor of the chains that moved since the last one."""
        if request.method != "POST" or not _anchors(request):
            return HttpResponseForbidden()
        enqueue(AUDIT_ANCHOR)
        self.message_user(
            request,
            _("The heads are being anchored; the new anchor shows here when it is written."),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:cases_chainverification_changelist"))


# --- case histories ------------------------------------------------------------------------


class ReviewerFilter(admin.SimpleListFilter):
    """Cases a given member of staff acted on (claimed, decided, signed, released ...)."""

    title = gettext_lazy("handled by")
    parameter_name = "handled_by"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
        staff = User.objects.filter(is_staff=True).order_by("email").values_list("pk", "email")
        return [(str(pk), email) for pk, email in staff]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        return queryset.filter(pk__in=cases_handled_by(int(value)))


class PeriodFilter(admin.ListFilter):
    """Cases opened within a period: `opened_from` and `opened_to` (dates, both inclusive, on
    the installation's clock)."""

    title = gettext_lazy("opened in the period")
    template = "admin/cases/period_filter.html"
    parameters = ("opened_from", "opened_to")

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        self.form = PeriodForm(
            {name: params.pop(name)[-1] for name in self.parameters if name in params}
        )
        self.used_parameters = dict(self.form.data)

    def has_output(self) -> bool:
        return True

    def choices(self, changelist: Any) -> Any:
        keep = [
            (name, value)
            for name, values in self.request.GET.lists()
            if name not in self.parameters
            for value in values
        ]
        clear = changelist.get_query_string(remove=self.parameters)
        return [{"form": self.form, "clear": clear, "keep": keep}]

    def expected_parameters(self) -> list[str | None]:
        return list(self.parameters)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.form.is_valid():
            return queryset
        start, end = self.form.cleaned_data["opened_from"], self.form.cleaned_data["opened_to"]
        zone = timezone.get_current_timezone()
        if start:
            queryset = queryset.filter(
                created_at__gte=datetime.combine(start, time.min, tzinfo=zone)
            )
        if end:
            queryset = queryset.filter(
                created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
            )
        return queryset


class PeriodForm(forms.Form):
    opened_from = forms.DateField(label=gettext_lazy("from"), required=False)
    opened_to = forms.DateField(label=gettext_lazy("to"), required=False)


@admin.register(AuditCase)
class AuditCaseAdmin(QueueAdmin):
    """Every case, searched by reference, applicant e-mail or exact ID number (the search is
    logged), filtered by who handled it and when it was opened; each opens on its timeline."""

    queue = "all"

    def get_list_filter(self, request: HttpRequest) -> Any:
        return ("program", "state", ReviewerFilter, PeriodFilter)

    def get_list_display(self, request: HttpRequest) -> Any:
        return (
            "reference_link",
            "program",
            "applicant_masked",
            "state_badge",
            "created_at",
            "assignee",
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _reads(request)

    @admin.display(description=gettext_lazy("reference"))
    def reference_link(self, case: Case) -> str:
        url = reverse("admin:cases_timeline", args=[case.uuid])
        return format_html('<a href="{}">{}</a>', url, case.reference or case.uuid)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        found = self.get_queryset(request).filter(pk=object_id).values_list("uuid", flat=True)
        if not str(object_id).isdigit() or not found:
            raise Http404
        return redirect("admin:cases_timeline", uuid=found[0])

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<uuid:uuid>/timeline/", view(self.timeline_view), name="cases_timeline"),
            *super().get_urls(),
        ]

    def timeline_view(self, request: HttpRequest, uuid: Any) -> HttpResponse:
        """The complete timeline, and the case as of an instant (`?as_of=`). The read is logged."""
        if not _reads(request):
            return HttpResponseForbidden()
        case = case_for_staff(person(request), uuid)
        form = AsOfForm(request.GET or None)
        as_of = case_as_of(case, form.cleaned_data["as_of"]) if form.is_valid() else None
        log_access(request, AccessKind.VIEW_CASE, case=case, detail="timeline")
        context = {
            **self.admin_site.each_context(request),
            "title": _("History of %(ref)s") % {"ref": case.reference},
            "opts": self.model._meta,
            "case": case,
            "entries": case_timeline(case),
            "form": form,
            "as_of": as_of,
            "as_of_assignee": User.objects.filter(pk=as_of.assignee_id).first()
            if as_of and as_of.assignee_id
            else None,
        }
        return TemplateResponse(request, "admin/cases/audit_timeline.html", context)


class AsOfForm(forms.Form):
    as_of = forms.DateTimeField(
        label=gettext_lazy("As of"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=gettext_lazy("The case as it was at this instant, rebuilt from its events."),
    )

    def clean_as_of(self) -> datetime:
        value: datetime = self.cleaned_data["as_of"]
        return value if timezone.is_aware(value) else timezone.make_aware(value)
