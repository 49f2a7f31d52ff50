"""`python manage.py seed_demo`: load the demo data once, and print the demo logins every time."""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role
from cases.demo import DEMO_API_KEY, DEMO_USERS, demo_load
from cases.errors import CaseActionError
from cases.models import Case


class Command(BaseCommand):
    help = _(
        "Load demo users of every role and demo cases of every program in every state (once), "
        "then print the demo logins."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            # The demo passwords are printed and fixed: never on a real installation.
            raise CommandError(_("Demo data has well-known passwords; load it only with DEBUG=1."))
        try:
            loaded = demo_load()
        except CaseActionError as exc:
            raise CommandError(
                _("Loading the demo data failed, nothing was saved: %(error)s") % {"error": exc}
            ) from exc
        if loaded:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Demo data loaded: %(users)s users, %(cases)s cases.")
                    % {"users": len(DEMO_USERS), "cases": Case.objects.count()}
                )
            )
        else:
            self.stdout.write(_("Demo data is already loaded; nothing was changed."))
        self._print_logins()

    def _print_logins(self) -> None:
        # A context of their own: Django's catalogue already translates bare "Password".
        header = (
            pgettext("demo logins", "Role"),
            pgettext("demo logins", "E-mail"),
            pgettext("demo logins", "Password"),
            pgettext("demo logins", "Name"),
        )
        rows = [header]
        for demo in DEMO_USERS:
            role = _("Superuser") if demo.is_superuser else str(Role(demo.role).label)
            rows.append((role, demo.email, demo.password, demo.full_name))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, row[3]]))
        self._print_second_factors()
        self.stdout.write("")
        self.stdout.write(
            _("API (/api/docs/): the demo wallet's key, with every scope: %(key)s")
            % {"key": DEMO_API_KEY}
        )

    def _print_second_factors(self) -> None:
        self.stdout.write("")
        self.stdout.write(
            _(
                "Staff also give a 6-digit code at sign-in. Add these secrets to an "
                "authenticator app, or print the current code with "
                "`python manage.py totp_code E-MAIL`:"
            )
        )
        emails = [demo.email for demo in DEMO_USERS if demo.role != Role.APPLICANT]
        devices = TOTPDevice.objects.filter(user__email__in=emails, confirmed=True)
        secrets = {d.user.email: base64.b32encode(d.bin_key).decode() for d in devices}
        for email in emails:
            if email in secrets:
                self.stdout.write(f"  TOTP {secrets[email]}  ({email})")
