"""Who looked at which personal data, and when (DESIGN §7): documents, unmasked ID numbers,
searches by ID number. Rows are only ever added."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models.append_only import AppendOnlyModel


class AccessKind(models.TextChoices):
    VIEW_CASE = "view_case", _("Opened the case")
    VIEW_DOCUMENT = "view_document", _("Viewed a document")
    REVEAL_ID_NUMBER = "reveal_id_number", _("Revealed the ID number")
    SEARCH_ID_NUMBER = "search_id_number", _("Searched by ID number")
    EXPORT_EVIDENCE = "export_evidence", _("Downloaded an evidence pack")


class AccessLog(AppendOnlyModel):
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("who")
    )
    kind = models.CharField(_("what"), max_length=30, choices=AccessKind)
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="access_log"
    )
    document = models.ForeignKey(
        "cases.Document", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # For searches: how many cases matched (never the searched number itself).
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ("-at", "-pk")
        indexes = [models.Index(fields=["case", "at"], name="accesslog_case_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.user_id} {self.kind}"
