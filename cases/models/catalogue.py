"""The catalogue (DESIGN §2, §4): the verification programs with their material slots and limits,
and the reasons a decision names, with what the applicant is told."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from cases.states import ProgramCode, ReasonCategory, ReasonOutcome


class Program(models.Model):
    """A verification program (DESIGN §2): its material slots, limits and review target."""

    code = models.CharField(_("code"), max_length=20, primary_key=True, choices=ProgramCode)
    # [{"slot": "id_front", "required": true}, ...] in the order the applicant sees them.
    slots = models.JSONField(_("material slots"), default=list)
    attempt_limit = models.PositiveSmallIntegerField(
        _("attempt limit"), default=3, validators=[MinValueValidator(1)]
    )
    min_credit_score = models.PositiveSmallIntegerField(
        _("minimum credit score"), null=True, blank=True
    )
    review_target_days = models.PositiveSmallIntegerField(
        _("review target (business days)"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    approval_needs_four_eyes = models.BooleanField(
        _("approvals need a second signature"), default=False
    )
    is_active = models.BooleanField(_("accepting applications"), default=True)
    # DESIGN §7: the record and its history stay for ever; the document files of a closed case
    # go this long after closure, unless a legal hold keeps them (cases/compliance/retention.py).
    retention_days = models.PositiveIntegerField(
        _("keep document files after closure (days)"),
        default=1825,
        validators=[MinValueValidator(30)],
        help_text=_(
            "After this many days from closure the files of a closed case are purged; the record, "
            "the file hashes and the history stay. A legal hold stops the purge."
        ),
    )

    class Meta:
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        ordering = ("code",)

    def __str__(self) -> str:
        return str(ProgramCode(self.code).label)

    @property
    def slot_codes(self) -> list[str]:
        return [entry["slot"] for entry in self.slots]

    @property
    def required_slots(self) -> list[str]:
        return [entry["slot"] for entry in self.slots if entry.get("required", True)]


class ReasonCode(models.Model):
    """One entry of the reason catalogue (DESIGN §4). Reasons are data, not strings in code."""

    code = models.CharField(_("code"), max_length=40, primary_key=True)
    category = models.CharField(_("category"), max_length=20, choices=ReasonCategory)
    outcome = models.CharField(_("outcome"), max_length=10, choices=ReasonOutcome)
    # Decision values this reason may justify (reject, request_materials, freeze, ...).
    decisions = models.JSONField(_("usable for"), default=list)
    message_zh_hans = models.TextField(_("applicant message (Chinese)"))
    message_en = models.TextField(_("applicant message (English)"))
    guidance_zh_hans = models.TextField(_("reviewer guidance (Chinese)"), blank=True)
    guidance_en = models.TextField(_("reviewer guidance (English)"), blank=True)
    slots = models.JSONField(_("slots to re-request"), default=list, blank=True)
    counts_as_attempt = models.BooleanField(_("counts as an attempt"), default=True)
    needs_second_signature = models.BooleanField(_("needs a second signature"), default=False)
    sla_penalty = models.BooleanField(
        _("counts against the SLA"),
        default=True,
        help_text=_("Off for our own failures: the time is not held against the review target."),
    )
    # Fraud reasons are never explained to the applicant (no tipping-off).
    disclosed_to_applicant = models.BooleanField(_("shown to the applicant"), default=True)
    cooloff_days = models.PositiveSmallIntegerField(
        _("days before a new application"), null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reason code")
        verbose_name_plural = _("reason codes")
        ordering = ("category", "code")

    def __str__(self) -> str:
        return self.code

    def applicant_message(self, language: str | None = None) -> str:
        language = language or translation.get_language() or settings.LANGUAGE_CODE
        return self.message_en if language.startswith("en") else self.message_zh_hans

    def guidance(self, language: str | None = None) -> str:
        language = language or translation.get_language() or settings.LANGUAGE_CODE
        return self.guidance_en if language.startswith("en") else self.guidance_zh_hans

    @property
    def is_retryable(self) -> bool:
        return self.outcome == ReasonOutcome.RETRY


def reasons_told(
    codes: Iterable[str], *, frozen: bool, catalogue: Mapping[str, ReasonCode] | None = None
) -> list[ReasonCode]:
    """The reasons the applicant (and the wallet, which may pass them on) may learn, in order.

    The one "no tipping-off" rule (DESIGN §3): a freeze names only the reasons marked
    `disclosed_to_applicant`; other decisions name all of theirs. Unknown codes are dropped.
    `catalogue` (code → ReasonCode) saves a query per call when the caller holds one.
    """
    codes = list(codes)
    if catalogue is None:
        catalogue = ReasonCode.objects.in_bulk(codes)
    return [
        catalogue[code]
        for code in codes
        if code in catalogue and (catalogue[code].disclosed_to_applicant or not frozen)
    ]
