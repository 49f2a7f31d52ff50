"""Case events (DESIGN §7): one append-only, hash-chained row per change of a case, and the e-mail
rows the outbox writes with them. Events are written only by cases/audit.py."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models.append_only import AppendOnlyModel, AppendOnlyQuerySet
from cases.models.catalogue import ReasonCode, reasons_told
from cases.states import ActorType, EventType

# The name the rest of the code knows the case events' queryset by.
CaseEventQuerySet = AppendOnlyQuerySet


class CaseEvent(AppendOnlyModel):
    """One change to a case, hash-chained to the one before. Written only by audit.py."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField(_("sequence number"))
    event_type = models.CharField(_("event"), max_length=40, choices=EventType)
    actor_type = models.CharField(_("actor type"), max_length=20, choices=ActorType)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=254)
    from_state = models.CharField(_("from"), max_length=20, blank=True)
    to_state = models.CharField(_("to"), max_length=20, blank=True)
    reason_codes = models.JSONField(_("reasons"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("time"))
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # The id of the AUDIT_CHAIN_KEYS key the hash was made with; "" for the plain SHA-256 of
    # events written before the keyed chain.
    key_id = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ("case", "seq")
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="event_seq_per_case")]
        indexes = [models.Index(fields=["created_at"], name="caseevent_created")]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.event_type}"

    def reasons_told(self, catalogue: Mapping[str, ReasonCode] | None = None) -> list[ReasonCode]:
        """This event's reasons that the applicant may learn (see `reasons_told`)."""
        return reasons_told(
            self.reason_codes, frozen=self.event_type == EventType.FROZEN, catalogue=catalogue
        )

    @property
    def message_told(self) -> str:
        """The event's message as the applicant may read it: none for a freeze."""
        return "" if self.event_type == EventType.FROZEN else self.message


class Notification(models.Model):
    """An outbox row: written with the event, sent after commit, never sent twice."""

    event = models.ForeignKey(CaseEvent, on_delete=models.PROTECT, related_name="notifications")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    channel = models.CharField(max_length=20, default="email")
    language = models.CharField(max_length=10)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient", "channel"], name="one_notification_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient}"
