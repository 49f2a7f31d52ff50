"""Documents (DESIGN §2, §7): each upload a new version of a typed slot, stored under a random
name, never overwritten; and the material requests that tell the applicant what to upload again.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models.catalogue import ReasonCode
from cases.states import Slot, Verdict


def document_upload_path(instance: Document, filename: str) -> str:
    """A random name: neither the applicant's filename nor anything guessable reaches the disk."""
    token = secrets.token_hex(16)
    return f"documents/{token[:2]}/{token}"


class Document(models.Model):
    """One version of one material slot. A new upload is a new row; nothing is overwritten."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="documents")
    slot = models.CharField(_("slot"), max_length=40, choices=Slot)
    version = models.PositiveSmallIntegerField(_("version"))
    file = models.FileField(_("file"), upload_to=document_upload_path, max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # A small JPEG for the reviewers' lists, made from the cleaned image; none for PDFs and video.
    thumbnail = models.FileField(
        _("thumbnail"), upload_to=document_upload_path, max_length=255, blank=True
    )
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_by_label = models.CharField(max_length=254)
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    verdict = models.CharField(
        _("verdict"), max_length=20, choices=Verdict, default=Verdict.PENDING
    )
    verdict_reason = models.ForeignKey(
        ReasonCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verdict_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verdict_at = models.DateTimeField(null=True, blank=True)
    # For the automatic checks (DESIGN §6): a 256-bit difference hash of the stored image (hex),
    # and the software named in the original file's metadata, recorded before it was stripped.
    perceptual_hash = models.CharField(max_length=64, blank=True, default="")
    source_software = models.CharField(max_length=200, blank=True, default="")
    # The file (and thumbnail) went under the retention rule; the row and its SHA-256 stay.
    purged_at = models.DateTimeField(_("file purged"), null=True, blank=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ("case", "slot", "-version")
        constraints = [
            models.UniqueConstraint(fields=["case", "slot", "version"], name="document_version"),
        ]
        indexes = [
            # The duplicate check's exact matches (cases/checks/findings.py, similar_pictures).
            models.Index(
                fields=["perceptual_hash"],
                condition=~Q(perceptual_hash=""),
                name="document_perceptual_hash",
            ),
            # The retention purge: a case's documents whose files are still stored.
            models.Index(fields=["case"], condition=Q(purged_at=None), name="document_unpurged"),
            # Purged rows whose stored file a run could not delete yet.
            models.Index(
                fields=["purged_at"],
                condition=Q(purged_at__isnull=False) & ~Q(file=""),
                name="document_purge_leftover",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.slot} v{self.version}"

    @property
    def is_purged(self) -> bool:
        return self.purged_at is not None


class MaterialRequest(models.Model):
    """What the applicant must provide again: after request_materials, or before reapplying."""

    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="material_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason_codes = models.JSONField(default=list)
    slots = models.JSONField(default=list)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("material request")
        verbose_name_plural = _("material requests")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(resolved_at=None), name="one_open_request_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case}: {', '.join(self.slots)}"

    def missing_slots(self) -> list[str]:
        """Requested slots that have no version newer than this request."""
        renewed = set(
            self.case.documents.filter(uploaded_at__gte=self.created_at).values_list(
                "slot", flat=True
            )
        )
        updated = self.case.declared_data_updated_at
        if updated is not None and updated >= self.created_at:
            renewed.add(Slot.DECLARED_DATA)
        return [slot for slot in self.slots if slot not in renewed]
