"""`python manage.py totp_code E-MAIL`: the current second-factor code of a demo staff user."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = _("Print the current TOTP code of a staff user (development only, DEBUG=1).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            # Reading a second factor off the server defeats it: development machines only.
            raise CommandError(_("totp_code works only with DEBUG=1."))
        device = (
            TOTPDevice.objects.filter(user__email=options["email"], confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise CommandError(
                _("%(email)s has no authenticator enrolled.") % {"email": options["email"]}
            )
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
