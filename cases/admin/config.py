"""The catalogue in the admin (programs and reasons, which supervisors edit through the
configuration service) and the read-only audit lists (case events, the access log). Nothing here
can change a case or an event."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from cases.admin.base import ReadOnly, SavedAsConfiguration
from cases.models import (
    AccessLog,
    CaseEvent,
    Program,
    ReasonCode,
)


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    pass


@admin.register(Program)
class ProgramAdmin(SavedAsConfiguration, admin.ModelAdmin):
    list_display = ("code", "review_target_days", "attempt_limit", "approval_needs_four_eyes")
    readonly_fields = ("code", "slots")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReasonCode)
class ReasonCodeAdmin(SavedAsConfiguration, admin.ModelAdmin):
    list_display = ("code", "category", "outcome", "counts_as_attempt", "needs_second_signature")
    list_filter = ("category", "outcome")
    search_fields = ("code", "message_zh_hans", "message_en")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = (
        "case",
        "seq",
        "event_type",
        "actor_label",
        "from_state",
        "to_state",
        "created_at",
    )
    list_filter = ("event_type", "actor_type")
    list_select_related = ("case",)
    show_full_result_count = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Every case's history: supervisors and auditors. Reviewers read the timeline of the
        # cases they may open, on the review screen.
        return request.user.has_perm("cases.view_all_cases")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    """Who read which personal data (DESIGN §7): supervisors and auditors."""

    list_display = ("at", "user", "kind", "case", "document", "detail", "ip")
    list_filter = ("kind",)
    list_select_related = ("user", "case", "document")
    search_fields = ("=user__email", "=case__reference")
    show_full_result_count = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("cases.view_all_cases")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)
