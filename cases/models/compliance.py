"""Compliance records: each verification of the audit chains against the signed anchors, with
what it found; legal holds; evidence exports; the auditors' list of cases."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models.case import Case
from cases.states import HOLDING, ExportStatus, HoldStatus


class ChainVerification(models.Model):
    """One run of the verification: when, by whom (or the schedule), what it checked and found."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    cases_checked = models.PositiveIntegerField(_("cases checked"), default=0)
    events_checked = models.PositiveBigIntegerField(_("events checked"), default=0)
    anchors_checked = models.PositiveIntegerField(_("anchors checked"), default=0)
    anchor_name = models.CharField(_("latest anchor"), max_length=100, blank=True)
    anchored_at = models.DateTimeField(_("latest anchor written"), null=True, blank=True)
    ok = models.BooleanField(_("intact"))
    # Each problem as one sentence naming the case (a reference or UUID) and the broken link.
    problems = models.JSONField(_("problems"), default=list, blank=True)
    alerted_at = models.DateTimeField(_("alert sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit trail verification")
        verbose_name_plural = _("audit trail verifications")
        ordering = ("-started_at", "-pk")

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'BROKEN'}"


class AuditCase(Case):
    """Every case, as the auditors search and read them: each opens on its complete timeline."""

    class Meta:
        proxy = True
        verbose_name = _("case history")
        verbose_name_plural = _("case histories")


class LegalHold(models.Model):
    """A legal hold on a case's files (DESIGN §7): proposed by a supervisor with a reason, in
    force once a second supervisor countersigns; lifted the same way. While it holds (HOLDING)
    the retention purge leaves the case's files alone."""

    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="legal_holds", verbose_name=_("case")
    )
    status = models.CharField(_("status"), max_length=20, choices=HoldStatus)
    reason = models.TextField(_("reason"))
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("proposed by"),
    )
    proposed_at = models.DateTimeField(_("proposed"), default=timezone.now)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("countersigned by"),
    )
    placed_at = models.DateTimeField(_("in force from"), null=True, blank=True)
    lift_reason = models.TextField(_("reason for lifting"), blank=True)
    lift_proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lifting proposed by"),
    )
    lift_proposed_at = models.DateTimeField(_("lifting proposed"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lifting countersigned by"),
    )
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    declined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("declined by"),
    )
    declined_at = models.DateTimeField(_("declined"), null=True, blank=True)
    decline_note = models.TextField(_("why it was declined"), blank=True)

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        ordering = ("-proposed_at", "-pk")
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status__in=sorted(HOLDING)),
                name="one_holding_legal_hold_per_case",
            ),
            # The database itself refuses one person signing both halves.
            models.CheckConstraint(
                condition=Q(placed_by=None) | ~Q(placed_by=F("proposed_by")),
                name="legal_hold_placed_by_another",
            ),
            models.CheckConstraint(
                condition=Q(lifted_by=None) | ~Q(lifted_by=F("lift_proposed_by")),
                name="legal_hold_lifted_by_another",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case}: {self.get_status_display()}"

    @property
    def holds(self) -> bool:
        return self.status in HOLDING


class EvidenceExport(models.Model):
    """An evidence pack being built or ready to download (cases/compliance/evidence.py): one
    case's, or a bulk export of the cases a period and a program select. Only its requester
    downloads it, each download logged per case; the file goes after EVIDENCE_PACK_DAYS."""

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("case"),
    )
    # A bulk export: the cases of this program (any, if empty) opened in this period.
    program = models.ForeignKey(
        "cases.Program",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("program"),
    )
    opened_from = models.DateField(_("opened from"), null=True, blank=True)
    opened_to = models.DateField(_("opened until"), null=True, blank=True)
    include_files = models.BooleanField(_("with the document files"), default=False)
    language = models.CharField(_("language"), max_length=10)
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus, default=ExportStatus.QUEUED
    )
    done = models.PositiveIntegerField(_("cases done"), default=0)
    total = models.PositiveIntegerField(_("cases"), default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)
    file = models.CharField(max_length=255, blank=True)  # its name in the private storage
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("evidence export")
        verbose_name_plural = _("evidence exports")
        ordering = ("-requested_at", "-pk")
        indexes = [
            # The sweep: exports waiting for a worker, or whose worker went quiet.
            models.Index(
                fields=["status", "heartbeat_at"],
                condition=Q(status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]),
                name="evidence_export_pending",
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(status=ExportStatus.READY),
                name="evidence_export_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case or _('bulk export')} ({self.get_status_display()})"

    @property
    def is_bulk(self) -> bool:
        return self.case_id is None

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.READY:
            return 100
        return int(100 * self.done / (self.total or 1))


class ReportWeek(models.Model):
    """A week (its Monday) the report counters cover, and when they were last recomputed."""

    week = models.DateField(_("week"), primary_key=True)
    refreshed_at = models.DateTimeField(_("refreshed"))

    class Meta:
        verbose_name = _("report week")
        verbose_name_plural = _("report weeks")
        ordering = ("-week",)

    def __str__(self) -> str:
        return self.week.isoformat()


class ReportFact(models.Model):
    """One counter of the compliance reports: for a week and a program, a metric's value under a
    key (cases/compliance/statistics.py says which). The reports read only these rows."""

    week = models.DateField(_("week"))
    program = models.CharField(_("program"), max_length=20)
    metric = models.CharField(_("metric"), max_length=20)
    key = models.CharField(_("key"), max_length=100)
    value = models.BigIntegerField(_("value"))

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "week", "program", "key"], name="one_report_counter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.week} {self.program} {self.metric} {self.key}={self.value}"
