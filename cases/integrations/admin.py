"""The integrations in the admin: supervisors (configure_programs) set up integrations, their API
keys and webhook subscriptions; they and the auditors (view_all_cases) read the delivery log.
Deliveries are never added, changed or deleted here; a supervisor may only send one again
(`webhook_redeliver`). A key is shown once, when it is made, and stored hashed.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from cases.admin.base import ReadOnly, SavedAsConfiguration, person
from cases.integrations.webhooks import webhook_host_allowed, webhook_redeliver
from cases.models import (
    ApiKey,
    ApiScope,
    DeliveryStatus,
    Integration,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from cases.models.api import hash_key
from cases.services.config import config_save
from cases.states import WEBHOOK_EVENTS


def _configures(request: HttpRequest) -> bool:
    return request.user.has_perm("cases.configure_programs")


def _reads(request: HttpRequest) -> bool:
    return _configures(request) or request.user.has_perm("cases.view_all_cases")


class ConfiguredBySupervisors:
    """Supervisors change; whoever reads every case may look; nothing is deleted (switch an
    integration or subscription off instead: its delivery log stays)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _reads(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _reads(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _configures(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _configures(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"])
        if not webhook_host_allowed(url):
            raise forms.ValidationError(
                _(
                    "This address is internal (loopback, private or link-local) or does not "
                    "resolve; webhooks are only sent to the integration's public receiver."
                )
            )
        return url

    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=[(event.value, event.label) for event in WEBHOOK_EVENTS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave every box empty to receive every change of state."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ("url", "events", "is_active")


def _masked_secret(subscription: WebhookSubscription) -> str:
    return f"{subscription.secret[:6]}…{subscription.secret[-4:]}" if subscription.secret else "—"


class SecretShownToSupervisors:
    """The signing secret is read-only; only those who configure webhooks see it whole."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("secret",) if _configures(request) else ("masked_secret",)

    @admin.display(description=_("signing secret"))
    def masked_secret(self, obj: WebhookSubscription) -> str:
        return _masked_secret(obj)


class WebhookSubscriptionInline(
    SecretShownToSupervisors,
    ConfiguredBySupervisors,
    admin.StackedInline,
):
    model = WebhookSubscription
    form = WebhookSubscriptionForm
    extra = 0


@admin.register(Integration)
class IntegrationAdmin(
    ConfiguredBySupervisors,
    SavedAsConfiguration,
    admin.ModelAdmin,
):
    list_display = ("name", "description", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "description")
    fields = ("name", "description", "is_active")
    inlines = (WebhookSubscriptionInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The name is the actor name on its cases and events: it never changes.
        return ("name",) if obj is not None else ()


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(
    SecretShownToSupervisors,
    ConfiguredBySupervisors,
    SavedAsConfiguration,
    admin.ModelAdmin,
):
    form = WebhookSubscriptionForm
    list_display = ("integration", "url", "event_list", "is_active", "created_at")
    list_filter = ("is_active", "integration")
    list_select_related = ("integration",)
    search_fields = ("url", "integration__name")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        secret = SecretShownToSupervisors.get_readonly_fields(self, request, obj)
        return ["integration", "url", "events", "is_active", *secret]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A subscription stays with its integration (and its delivery log with it).
        secret = super().get_readonly_fields(request, obj)
        return ("integration", *secret) if obj is not None else secret

    @admin.display(description=_("events"))
    def event_list(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.events) if obj.events else str(_("every change of state"))


class WebhookAttemptInline(ReadOnly, admin.TabularInline):
    model = WebhookAttempt
    fields = ("at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _reads(request)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = (
        "subscription",
        "case",
        "seq",
        "delivery_id",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "subscription__integration")
    list_select_related = ("subscription__integration", "case")
    search_fields = ("=delivery_id", "=case__reference")
    show_full_result_count = False
    fields = (
        "subscription",
        "case",
        "seq",
        "delivery_id",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "last_status_code",
        "last_error",
        "payload_json",
    )
    readonly_fields = fields
    inlines = (WebhookAttemptInline,)
    actions = ("redeliver",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _reads(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _reads(request)

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return _configures(request)

    @admin.display(description=_("payload"))
    def payload_json(self, obj: WebhookDelivery) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False)
        )

    @admin.action(description=_("Redeliver selected"), permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        sent, skipped = 0, 0
        for delivery in queryset.select_related("subscription"):
            if delivery.status == DeliveryStatus.PENDING:
                skipped += 1
                continue
            webhook_redeliver(delivery=delivery, actor=person(request))
            self.log_change(request, delivery, str(_("Redelivered.")))
            sent += 1
        if sent:
            self.message_user(
                request,
                ngettext(
                    "%(count)d delivery will be sent again with the same event id.",
                    "%(count)d deliveries will be sent again with the same event id.",
                    sent,
                )
                % {"count": sent},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d delivery is still pending and was left as it is.",
                    "%(count)d deliveries are still pending and were left as they are.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiKey
        fields = ("integration", "label", "scopes")


@admin.register(ApiKey)
class ApiKeyAdmin(SavedAsConfiguration, admin.ModelAdmin):
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
        config_save(obj=obj, actor=person(request))
        self.message_user(
            request,
            gettext("The new key is shown only now; store it safely: %(key)s") % {"key": key},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for key in queryset.filter(revoked_at=None):
            key.revoked_at = timezone.now()
            config_save(obj=key, actor=person(request))
        self.message_user(request, gettext("Revoked."), messages.SUCCESS)
