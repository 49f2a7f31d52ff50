"""The wallet backend's side: integrations, their API keys, the applicants they create, the
idempotency of their requests, and the webhooks we send them (DESIGN §1, the REST API)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiScope(models.TextChoices):
    READ = "cases:read", _("Read cases")
    WRITE = "cases:write", _("Create and change cases")
    DOCUMENTS = "documents:write", _("Upload documents")


class Integration(models.Model):
    """A client of the API (the wallet backend). Its `name` is the actor name in the audit trail."""

    name = models.SlugField(_("name"), max_length=100, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(models.Model):
    """A key of an integration: only its prefix and SHA-256 are stored; the key is shown once."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="keys")
    label = models.CharField(_("label"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.integration} {self.prefix}…"

    @classmethod
    def new_secret(cls) -> tuple[str, str]:
        """(prefix, full key). The key is `kyc_<prefix>_<secret>`; 256 bits of randomness."""
        prefix = secrets.token_hex(6)
        return prefix, f"kyc_{prefix}_{secrets.token_urlsafe(32)}"

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_key(key))

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.integration.is_active


class ExternalApplicant(models.Model):
    """The wallet's own id for an applicant, tied to the user that owns their cases here."""

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="+")
    external_id = models.CharField(_("external id"), max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("external applicant")
        verbose_name_plural = _("external applicants")
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_id"], name="one_user_per_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.integration}:{self.external_id}"


class IdempotencyRecord(models.Model):
    """The first answer to a request with an Idempotency-Key, replayed for its retries."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "key"], name="one_answer_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.integration_id}:{self.key}"


class WebhookSubscription(models.Model):
    """Where an integration wants to hear about its cases, and the secret we sign with."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("URL"), max_length=500)
    # Event types (EventType values); empty means every state change.
    events = models.JSONField(_("events"), default=list, blank=True)
    secret = models.CharField(_("signing secret"), max_length=100, default="", blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return f"{self.integration} → {self.url}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.secret:
            self.secret = "whsec_" + secrets.token_urlsafe(32)
        super().save(*args, **kwargs)

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Given up")


class WebhookDelivery(models.Model):
    """One event for one subscription: retried with back-off until delivered or 24 h old."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The event id receivers dedup on is `delivery_id` (one per event and subscription).
    event = models.ForeignKey("cases.CaseEvent", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveIntegerField()
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="one_delivery_per_event")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_due",
            ),
            models.Index(fields=["subscription", "case", "seq"], name="webhook_case_order"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"
