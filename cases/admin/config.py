"""Admin views: the case domain read-only, and the SLA configuration that supervisors edit. The
reviewer workbench (its own issue) adds the queues and the decision screens; nothing here can
change a case or an event."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.admin.base import ReadOnly
from cases.models import (
    AccessLog,
    ApiKey,
    ApiScope,
    CalendarOverride,
    CaseEvent,
    ConfigChange,
    Program,
    ReasonCode,
    SlaPolicy,
)
from cases.models.api import hash_key
from cases.services.config import config_delete, config_save


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    pass


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


class SlaConfigAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
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

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        config_save(obj=obj, actor=request.user)  # type: ignore[arg-type]


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

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        config_delete(obj=obj, actor=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            config_delete(obj=obj, actor=request.user)  # type: ignore[arg-type]


@admin.register(ConfigChange)
class ConfigChangeAdmin(ReadOnlyAdmin):
    list_display = ("changed_at", "changed_by", "object_type", "object_repr", "action")
    list_filter = ("object_type", "action")
    list_select_related = ("changed_by",)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return user.has_perm("cases.configure_programs") or user.has_perm("cases.view_all_cases")


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


class ApiKeyForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("scopes"),
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiKey
        fields = ("integration", "label", "scopes")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Supervisors create keys (shown once, stored hashed) and revoke them; nobody edits one."""

    form = ApiKeyForm
    list_display = (
        "integration",
        "label",
        "prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("integration",)
    actions = ["revoke"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return user.has_perm("cases.configure_programs") or user.has_perm("cases.view_all_cases")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("cases.configure_programs")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and request.user.has_perm("cases.configure_programs")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        if not request.user.has_perm("cases.configure_programs"):
            return {}
        return super().get_actions(request)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return
        obj.prefix, key = ApiKey.new_secret()
        obj.key_hash = hash_key(key)
        config_save(obj=obj, actor=request.user)  # type: ignore[arg-type]
        self.message_user(
            request,
            _("The new key is shown only now; store it safely: %(key)s") % {"key": key},
            messages.WARNING,
        )

    @admin.action(description=gettext_lazy("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for key in queryset.filter(revoked_at=None):
            key.revoked_at = timezone.now()
            config_save(obj=key, actor=request.user)  # type: ignore[arg-type]
        self.message_user(request, _("Revoked."), messages.SUCCESS)
