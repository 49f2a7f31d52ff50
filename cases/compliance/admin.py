"""The audit trail verification in the admin: every run with what it found, the latest anchor, and
buttons to verify now (supervisors and auditors: it reads only) and to anchor now (supervisors)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.admin.base import ReadOnly, person
from cases.compliance.anchors import AnchorError, read_anchors
from cases.enqueue import AUDIT_ANCHOR, AUDIT_VERIFY, enqueue
from cases.models import ChainVerification


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
