"""Four-eyes decisions (DESIGN §3): the first signature, recorded as a proposal, that a second and
different person countersigns or sends back."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.states import Decision, ProposalStatus


class DecisionProposal(models.Model):
    """The first signature of a four-eyes decision; the countersignature performs it."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="proposals")
    decision = models.CharField(
        max_length=20,
        choices=[
            (d.value, d.label) for d in (Decision.APPROVE, Decision.REJECT, Decision.UNFREEZE)
        ],
    )
    reason_codes = models.JSONField(default=list, blank=True)
    slots = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    note = models.TextField(_("internal note"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=ProposalStatus, default=ProposalStatus.PENDING)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    check_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("four-eyes proposal")
        verbose_name_plural = _("four-eyes proposals")
        indexes = [
            # The Four-eyes queue: the oldest request for a second signature first.
            models.Index(
                fields=["proposed_at", "id"],
                condition=Q(status=ProposalStatus.PENDING),
                name="proposal_pending_queue",
            ),
            # The reports' refresh: the second signatures of a week.
            models.Index(
                fields=["checked_at"],
                condition=Q(checked_at__isnull=False),
                name="proposal_checked",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status=ProposalStatus.PENDING),
                name="one_pending_proposal_per_case",
            ),
            # The database itself refuses a maker who is also the checker.
            models.CheckConstraint(
                condition=Q(checked_by=None) | ~Q(checked_by=F("proposed_by")),
                name="maker_is_not_checker",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case}: {self.decision} ({self.status})"
