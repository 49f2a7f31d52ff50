"""Staff sign-in to the admin: password, then a TOTP code (DESIGN §8). A member of staff without
an authenticator enrols on first sign-in: a QR code and the secret, confirmed by a first code."""

from __future__ import annotations

import base64
import io
from typing import Any, cast
from urllib.parse import quote

import django_otp
from django import forms
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

from accounts.models import User
from accounts.services import staff_enrolment_code_matches, staff_enrolment_done
from cases.errors import security_log

DEVICE_NAME = "authenticator"
ENROLMENT_SESSION_KEY = "kyc_enrolment_code_ok"


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=gettext_lazy("Code from your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": gettext_lazy("Enter the 6-digit code.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def verified(request: HttpRequest) -> bool:
    """Whether this session passed the second factor (OTPMiddleware sets `is_verified`)."""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def provisioning(device: TOTPDevice) -> dict[str, str]:
    """The secret as an authenticator app takes it: base32, an otpauth:// URL and its QR code."""
    secret = base64.b32encode(device.bin_key).decode()
    label = quote(f"kycreview:{device.user.get_username()}")
    url = f"otpauth://totp/{label}?secret={secret}&issuer=kycreview&digits={device.digits}"
    out = io.BytesIO()
    write_qrcode_image(url, out)
    qr = "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()
    return {"secret": secret, "url": url, "qr_data_uri": qr}


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


class KycAdminSite(admin.AdminSite):
    """The admin, open only to active staff who signed in with their second factor."""

    site_header = gettext_lazy("kycreview")
    site_title = gettext_lazy("kycreview")
    index_title = gettext_lazy("Review workbench")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and verified(request))

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not verified(request):
            second = reverse("admin:second_factor")
            return redirect_to_login(_next_url(request), second, REDIRECT_FIELD_NAME)
        return super().login(request, extra_context)

    def _enrolment_code(self, request: HttpRequest) -> HttpResponse:
        return _enrolment_code_view(self, request)

    def get_urls(self) -> list[Any]:
        return [
            path("second-factor/", self.second_factor_view, name="second_factor"),
            *super().get_urls(),
        ]

    @method_decorator(never_cache)
    def second_factor_view(self, request: HttpRequest) -> HttpResponse:
        """Verify a code (or enrol a new authenticator) for a password-authenticated staff user."""
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(_next_url(request), reverse("admin:login"))
        if verified(request):
            return HttpResponseRedirect(_next_url(request))
        device = confirmed_device(user)
        enrolling = device is None
        if enrolling and request.session.get(ENROLMENT_SESSION_KEY) != user.pk:
            return self._enrolment_code(request)
        if device is None:
            device, _created = TOTPDevice.objects.get_or_create(
                user=user, confirmed=False, defaults={"name": DEVICE_NAME}
            )
        form = TokenForm(request.POST or None)
        allowed, _why = device.verify_is_allowed()
        if request.method == "POST" and form.is_valid() and not allowed:
            form.add_error("token", _("Too many wrong codes: wait a few seconds and try again."))
        elif request.method == "POST" and form.is_valid():
            if device.verify_token(form.cleaned_data["token"].strip()):
                if enrolling:
                    device.confirmed = True
                    device.save(update_fields=["confirmed"])
                    staff_enrolment_done(user=cast(User, user))
                    request.session.pop(ENROLMENT_SESSION_KEY, None)
                django_otp.login(request, device)
                return HttpResponseRedirect(_next_url(request))
            security_log.warning("second factor refused user=%s", user.pk)
            form.add_error(
                "token", _("That code is not valid. Check your device's clock and try again.")
            )
        context = {
            **self.each_context(request),
            "title": _("Set up your authenticator") if enrolling else _("Second factor"),
            "form": form,
            "enrolling": enrolling,
            "next": _next_url(request),
            "site_header": self.site_header,
        }
        if enrolling:
            details = provisioning(device)
            context.update(
                secret=details["secret"], otpauth=details["url"], qr=details["qr_data_uri"]
            )
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(request, "admin/second_factor.html", context, status=status)


class EnrolmentCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Enrolment code from your supervisor"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )


def _enrolment_code_view(site: KycAdminSite, request: HttpRequest) -> HttpResponse:
    """Before an authenticator can be set up: the one-time code a supervisor issued."""
    user = cast(User, request.user)
    form = EnrolmentCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if staff_enrolment_code_matches(user=user, code=form.cleaned_data["code"]):
            request.session[ENROLMENT_SESSION_KEY] = user.pk
            return HttpResponseRedirect(request.get_full_path())
        security_log.warning("enrolment code refused user=%s", user.pk)
        form.add_error(
            "code",
            _("This code is not valid or has expired. Ask your supervisor for a new one."),
        )
    context = {
        **site.each_context(request),
        "title": _("Set up your authenticator"),
        "code_form": form,
        "next": _next_url(request),
        "site_header": site.site_header,
    }
    status = 400 if request.method == "POST" else 200
    return TemplateResponse(request, "admin/second_factor.html", context, status=status)


def login_url() -> str:
    return resolve_url("admin:login")
