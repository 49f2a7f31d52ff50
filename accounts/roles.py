"""Roles are groups; what a role may do is the set of permissions its group holds (DESIGN §8).

Code asks `user.has_perm("cases.<codename>")`, never a group's name, so a supervisor can be given
a single extra permission without becoming another role. The groups and their permissions are
created by accounts/migrations/0002_roles.py (later permissions are granted by the cases migration
that adds them, e.g. 0016 for legal holds).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    REVIEWER = "reviewer", _("Reviewer")
    SENIOR_REVIEWER = "senior_reviewer", _("Senior reviewer")
    SUPERVISOR = "supervisor", _("Supervisor")
    AUDITOR = "auditor", _("Compliance auditor")
