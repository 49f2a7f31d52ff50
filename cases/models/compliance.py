"""Compliance records: each verification of the audit chains against the signed anchors, with
what it found."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models.case import Case


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
