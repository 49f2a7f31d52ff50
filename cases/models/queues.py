"""The reviewer's queues, as proxies of Case: each is its own list in the admin (DESIGN §8)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from cases.models.case import Case


class MyCase(Case):
    class Meta:
        proxy = True
        verbose_name = _("my case")
        verbose_name_plural = _("1. My cases")


class UnassignedCase(Case):
    class Meta:
        proxy = True
        verbose_name = _("unassigned case")
        verbose_name_plural = _("2. Unassigned")


class AtRiskCase(Case):
    class Meta:
        proxy = True
        verbose_name = _("case at risk")
        verbose_name_plural = _("3. At risk")


class BreachedCase(Case):
    class Meta:
        proxy = True
        verbose_name = _("overdue case")
        verbose_name_plural = _("4. Breached")


class WaitingCase(Case):
    class Meta:
        proxy = True
        verbose_name = _("case waiting on the applicant")
        verbose_name_plural = _("5. Waiting on applicant")


class FourEyesCase(Case):
    class Meta:
        proxy = True
        verbose_name = _("case waiting for a second signature")
        verbose_name_plural = _("6. Four-eyes pending")


class FrozenCase(Case):
    class Meta:
        proxy = True
        verbose_name = _("frozen case")
        verbose_name_plural = _("7. Frozen")
