"""The applicant's account in the portal: sign-up, language, sign-in history, theft report,
closing the account and downloading their data."""

from __future__ import annotations

import json
from typing import cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.forms import SignUpForm
from accounts.models import User
from accounts.roles import Role
from accounts.services import account_close, account_export, account_report_theft

LANGUAGES = {code for code, _name in settings.LANGUAGES}


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand, and I want to go ahead."),
        error_messages={"required": gettext_lazy("Tick the box to confirm.")},
    )


def person(request: HttpRequest) -> User:
    return cast(User, request.user)


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("portal:cases")
    return redirect("login")


def signup(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None, initial={"preferred_language": _current(request)})
    if request.method == "POST" and form.is_valid():
        user = form.save()
        user.groups.add(Group.objects.get(name=Role.APPLICANT))
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        response = redirect("portal:cases")
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.preferred_language)
        return response
    return render(request, "portal/signup.html", {"form": form}, status=400 if form.errors else 200)


def _current(request: HttpRequest) -> str:
    return getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Switch the language of the pages and, when signed in, of the e-mails too."""
    chosen = request.POST.get("language", "")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    response = redirect(target)
    if chosen in LANGUAGES:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, chosen, samesite="Lax")
        if request.user.is_authenticated:
            User.objects.filter(pk=request.user.pk).update(preferred_language=chosen)
    return response


@login_required
def security(request: HttpRequest) -> HttpResponse:
    user = person(request)
    return render(
        request,
        "portal/security.html",
        {
            "sign_ins": user.sign_ins.all()[:50],
            "theft_form": ConfirmForm(prefix="theft"),
            "close_form": ConfirmForm(prefix="close"),
        },
    )


@require_POST
@login_required
def report_theft(request: HttpRequest) -> HttpResponse:
    form = ConfirmForm(request.POST, prefix="theft")
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm that your account was stolen."))
        return redirect("security")
    frozen = account_report_theft(user=person(request))
    messages.warning(
        request,
        _(
            "Your account is frozen: no one can change anything in it now. %(n)d application(s) "
            "were frozen and passed to our team as urgent. We will contact you at %(email)s to "
            "check your identity; if you still have access to your e-mail, change its password too."
        )
        % {"n": len(frozen), "email": person(request).email},
    )
    return redirect("security")


@require_POST
@login_required
def close_account(request: HttpRequest) -> HttpResponse:
    form = ConfirmForm(request.POST, prefix="close")
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm that you want to close your account."))
        return redirect("security")
    account_close(user=person(request))
    logout(request)
    return render(request, "portal/closed.html")


@login_required
def data_download(request: HttpRequest) -> HttpResponse:
    data = account_export(user=person(request))
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="kycreview-my-data.json"'
    response["Cache-Control"] = "private, no-store"
    return response
