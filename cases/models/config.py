"""The history of configuration changes: who changed which setting, from what to what."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models.append_only import AppendOnlyModel


class ConfigChange(AppendOnlyModel):
    """Who changed which configuration (SLA policies, calendar, programs, reasons, integrations,
    keys, webhook subscriptions), from what to what. Rows are only ever added."""

    changed_at = models.DateTimeField(_("time"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    object_type = models.CharField(_("setting"), max_length=50)
    object_repr = models.CharField(_("object"), max_length=200)
    action = models.CharField(_("action"), max_length=20)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        verbose_name = _("configuration change")
        verbose_name_plural = _("configuration changes")
        ordering = ("-changed_at", "-pk")

    def __str__(self) -> str:
        return f"{self.changed_at:%Y-%m-%d %H:%M} {self.object_type} {self.object_repr}"
