"""Signals: what the automatic checks found about a case (DESIGN §6). Written only by
cases/checks/run.py; shown to reviewers, never to applicants."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models.case import Case
from cases.models.documents import Document
from cases.states import SignalKind, SignalSeverity, SignalStatus, Slot

IMAGE_PROBLEMS = {
    "small": gettext_lazy("too few pixels"),
    "blurry": gettext_lazy("blurry"),
    "dark": gettext_lazy("too dark"),
    "bright": gettext_lazy("overexposed"),
    "glare": gettext_lazy("glare"),
}
NUMBER_PROBLEMS = {
    "length": gettext_lazy("wrong length"),
    "format": gettext_lazy("wrong characters"),
    "birth_date": gettext_lazy("no such birth date"),
    "future_birth_date": gettext_lazy("birth date in the future"),
    "checksum": gettext_lazy("check character does not match"),
    "invalid": gettext_lazy("not a valid code"),
}


class DocumentHashBand(models.Model):
    """One 16-bit band of a document's 256-bit perceptual hash. Two pictures within a few bits
    of each other share at least one band exactly (16 bands: any distance up to 15), so the
    duplicate check finds its candidates through one index instead of reading every hash."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="hash_bands")
    band = models.PositiveSmallIntegerField()
    value = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["band", "value"], name="hash_band_value")]
        constraints = [
            models.UniqueConstraint(fields=["document", "band"], name="one_value_per_band")
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.band}={self.value:04x}"


class Signal(models.Model):
    """One finding of one check about one subject (the declared data, or one document version).

    A finding is stored once (`kind` + `subject` per case): running the checks again changes
    nothing, a cleared signal stays cleared, and a finding that no longer holds (the data changed,
    a newer version replaced the document) is marked resolved.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="signals")
    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, null=True, blank=True, related_name="signals"
    )
    kind = models.CharField(_("check"), max_length=40, choices=SignalKind)
    # What was checked, e.g. "declared:credit_score:420:600" or "document:17".
    subject = models.CharField(max_length=200)
    severity = models.CharField(_("severity"), max_length=10, choices=SignalSeverity)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SignalStatus, default=SignalStatus.OPEN
    )
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution_note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = gettext_lazy("signal")
        verbose_name_plural = gettext_lazy("signals")
        ordering = ("case", "-raised_at", "-pk")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind", "subject"], name="one_signal_per_finding"
            ),
        ]
        indexes = [
            # The queues' "open signals" column: 50 cases at a time.
            models.Index(
                fields=["case"], condition=Q(status=SignalStatus.OPEN), name="signal_open_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == SignalStatus.OPEN

    def describe(self) -> str:
        """What was found, for the reviewer, in the active language."""
        e: dict[str, Any] = self.evidence or {}
        if self.kind in (SignalKind.ID_NUMBER, SignalKind.CREDIT_CODE):
            return str(NUMBER_PROBLEMS.get(e.get("problem", ""), e.get("problem", "")))
        if self.kind == SignalKind.PROFILE_MISMATCH:
            return _("Declared “%(declared)s”, the wallet account says “%(profile)s”.") % e
        if self.kind == SignalKind.CREDIT_SCORE:
            return _("Score %(score)s, the program needs at least %(minimum)s.") % e
        if self.kind == SignalKind.DEVICE_RISK:
            return _("Flags from the wallet: %(flags)s.") % {"flags": ", ".join(e.get("flags", []))}
        if self.kind == SignalKind.IMAGE_QUALITY:
            problems = ", ".join(str(IMAGE_PROBLEMS.get(p, p)) for p in e.get("problems", []))
            return _(
                "%(slot)s: %(problems)s (%(width)s×%(height)s px, sharpness %(sharpness)s, "
                "brightness %(brightness)s)."
            ) % {**e, "slot": self._slot_label(), "problems": problems}
        if self.kind == SignalKind.DUPLICATE_IMAGE:
            return _("%(slot)s: the same picture is in %(cases)s.") % {
                "slot": self._slot_label(),
                "cases": ", ".join(e.get("cases", [])),
            }
        if self.kind == SignalKind.EDITING_SOFTWARE:
            return _("%(slot)s: the original file was saved by “%(software)s”.") % {
                "slot": self._slot_label(),
                "software": e.get("software", ""),
            }
        return ""

    def _slot_label(self) -> str:
        slot = self.evidence.get("slot", "")
        label = Slot(slot).label if slot in Slot.values else slot
        version = self.evidence.get("version")
        return f"{label} v{version}" if version else str(label)
