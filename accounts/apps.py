"""The accounts app: every successful sign-in is recorded (the sign-in history)."""

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _record_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from accounts.models import SignInRecord
    from cases.audit import client_ip

    meta = getattr(request, "META", {}) if request is not None else {}
    SignInRecord.objects.create(
        user=user,
        ip=client_ip(meta),
        user_agent=(meta.get("HTTP_USER_AGENT") or "")[:300],
    )


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_record_sign_in, dispatch_uid="accounts.record_sign_in")
