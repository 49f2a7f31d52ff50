"""SLA configuration and the clock ledger (DESIGN §5).

A case's review clock is a list of segments, running or paused, each with who started and ended
it and why. Elapsed and remaining business time are derived from the segments; the case row only
caches the instants the sweep looks for (`Case.sla_due_at` and friends, indexed).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases.states import ClockStatus, Priority, SegmentKind

DEFAULT_AT_RISK_PERCENT = 75
DEFAULT_RESPONSE_WINDOW_DAYS = 10
DEFAULT_REMINDER_OFFSETS = [3, 7]


def default_reminder_offsets() -> list[int]:
    return list(DEFAULT_REMINDER_OFFSETS)


class SlaPolicy(models.Model):
    """The review target and the applicant's response window, per program and priority."""

    program = models.ForeignKey(
        "cases.Program",
        on_delete=models.CASCADE,
        related_name="sla_policies",
        verbose_name=_("program"),
    )
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority)
    target_days = models.PositiveSmallIntegerField(
        _("review target (business days)"),
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    at_risk_percent = models.PositiveSmallIntegerField(
        _("at risk after (percent of the target)"),
        default=DEFAULT_AT_RISK_PERCENT,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )
    response_window_days = models.PositiveSmallIntegerField(
        _("applicant response window (business days)"),
        default=DEFAULT_RESPONSE_WINDOW_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
    )
    reminder_offsets_days = models.JSONField(
        _("applicant reminders after (business days)"),
        default=default_reminder_offsets,
        blank=True,
        help_text=_("Business days after the request, e.g. [3, 7]; each before the window ends."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ("program", "-priority")
        constraints = [
            models.UniqueConstraint(fields=["program", "priority"], name="one_policy_per_priority")
        ]

    def __str__(self) -> str:
        return f"{self.program} · {Priority(self.priority).label}"

    def clean(self) -> None:
        offsets = self.reminder_offsets_days
        if not isinstance(offsets, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in offsets
        ):
            raise ValidationError(
                {"reminder_offsets_days": _("Give a list of whole business days, e.g. [3, 7].")}
            )
        if offsets != sorted(set(offsets)) or any(
            n < 1 or n >= self.response_window_days for n in offsets
        ):
            raise ValidationError(
                {
                    "reminder_offsets_days": _(
                        "Reminders must be distinct, ascending, at least 1 day and before the "
                        "response window of %(days)d business days ends."
                    )
                    % {"days": self.response_window_days}
                }
            )


class CalendarOverride(models.Model):
    """One day the holiday calendar gets wrong or does not know yet: worked, or not worked."""

    day = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ("-day",)

    def __str__(self) -> str:
        return f"{self.day}: {_('working day') if self.is_working_day else _('day off')}"


class SlaClock(models.Model):
    """One review clock of a case, from submission (or reapply, or unfreeze) to the decision."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="sla_clocks")
    policy = models.ForeignKey(
        SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The targets as they were when the clock started (or was re-targeted): a later policy change
    # does not move a running clock.
    target = models.DurationField(_("target (business time)"))
    at_risk_after = models.DurationField(_("at risk after (business time)"))
    status = models.CharField(
        _("status"), max_length=20, choices=ClockStatus, default=ClockStatus.RUNNING
    )
    started_at = models.DateTimeField(_("started"))
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        ordering = ("case", "started_at", "pk")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(stopped_at=None), name="one_open_clock_per_case"
            )
        ]
        indexes = [
            # The reports' refresh: the clocks stopped in a week (cases/compliance/statistics.py).
            models.Index(
                fields=["stopped_at"],
                condition=Q(stopped_at__isnull=False),
                name="slaclock_stopped",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class SlaSegment(models.Model):
    """A stretch of a clock: running (counts) or paused (waiting on the applicant)."""

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="segments")
    kind = models.CharField(_("kind"), max_length=10, choices=SegmentKind)
    started_at = models.DateTimeField(_("started"))
    started_by = models.CharField(_("started by"), max_length=254)
    start_reason = models.CharField(_("why it started"), max_length=100)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_by = models.CharField(_("ended by"), max_length=254, blank=True)
    end_reason = models.CharField(_("why it ended"), max_length=100, blank=True)
    # Business time inside the segment, fixed when it ends (the calendar of that moment).
    business_time = models.DurationField(_("business time"), default=timedelta(0))

    class Meta:
        verbose_name = _("SLA clock segment")
        verbose_name_plural = _("SLA clock segments")
        ordering = ("clock", "started_at", "pk")
        constraints = [
            models.UniqueConstraint(
                fields=["clock"], condition=Q(ended_at=None), name="one_open_segment_per_clock"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.started_at:%Y-%m-%d %H:%M}"
