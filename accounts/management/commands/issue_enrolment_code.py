"""`python manage.py issue_enrolment_code E-MAIL`: a one-time code to set up the second factor
(the first superuser has no supervisor to ask)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import staff_issue_enrolment_code


class Command(BaseCommand):
    help = _("Issue a one-time second-factor enrolment code for a member of staff.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"], is_staff=True).first()
        if user is None:
            raise CommandError(
                _("No member of staff has the e-mail %(email)s.") % {"email": options["email"]}
            )
        code = staff_issue_enrolment_code(user=user)
        self.stdout.write(
            _("Enrolment code for %(email)s (valid 72 hours, replaces any authenticator): %(code)s")
            % {"email": user.email, "code": code}
        )
