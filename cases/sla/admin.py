"""The SLA configuration in the admin: supervisors edit the policies and the calendar overrides;
whoever reads every case may look, and read the history of every configuration change."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from cases.admin.base import ReadOnly, SavedAsConfiguration
from cases.models import CalendarOverride, ConfigChange, SlaPolicy


class SlaConfigAdmin(SavedAsConfiguration, admin.ModelAdmin):
    """Supervisors (configure_programs) edit; everyone who reads all cases may look. Every save
    and delete goes through cases.services.config and leaves a ConfigChange row."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return user.has_perm("cases.configure_programs") or user.has_perm("cases.view_all_cases")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("cases.configure_programs")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("cases.configure_programs")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SlaPolicy)
class SlaPolicyAdmin(SlaConfigAdmin):
    list_display = (
        "program",
        "priority",
        "target_days",
        "at_risk_percent",
        "response_window_days",
        "reminder_offsets_days",
        "updated_at",
    )
    list_filter = ("program", "priority")
    list_select_related = ("program",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("program", "priority") if obj is not None else ()


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(SlaConfigAdmin):
    list_display = ("day", "is_working_day", "note", "updated_by", "updated_at")
    list_filter = ("is_working_day",)
    date_hierarchy = "day"
    exclude = ("updated_by",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("cases.configure_programs")


@admin.register(ConfigChange)
class ConfigChangeAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("changed_at", "changed_by", "object_type", "object_repr", "action")
    list_filter = ("object_type", "action")
    list_select_related = ("changed_by",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return user.has_perm("cases.configure_programs") or user.has_perm("cases.view_all_cases")
