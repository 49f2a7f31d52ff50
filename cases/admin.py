"""Read-only admin views of the case domain. The reviewer workbench (its own issue) adds the
queues and the decision screens; nothing here can change a case or an event."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from cases.models import Case, CaseEvent, Program, ReasonCode


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "review_target_days", "attempt_limit", "approval_needs_four_eyes")
    readonly_fields = ("code", "slots")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "category", "outcome", "counts_as_attempt", "needs_second_signature")
    list_filter = ("category", "outcome")
    search_fields = ("code", "message_zh_hans", "message_en")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "program",
        "state",
        "priority",
        "attempt",
        "assignee",
        "created_at",
    )
    list_filter = ("program", "state")
    list_select_related = ("program", "assignee")
    fields = (
        "reference",
        "uuid",
        "program",
        "state",
        "priority",
        "attempt",
        "assignee",
        "created_at",
        "submitted_at",
        "decided_at",
        "closed_at",
        "previous_case",
    )
    show_full_result_count = False


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
