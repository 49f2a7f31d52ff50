"""Pages in the language the person chose for their account, unless they switched for now; and
the read-only door: a role that only reads can write nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

security_log = logging.getLogger("kycreview.security")


class PreferredLanguageMiddleware:
    """After LocaleMiddleware and authentication: a signed-in person without a language cookie
    reads the pages in their preferred language (the one their e-mails use)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = getattr(user, "preferred_language", "") if user is not None else ""
        if (
            user is not None
            and user.is_authenticated
            and chosen
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        ):
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)


# Permissions that only read. A person whose every permission is one of these (the compliance
# auditor, DESIGN §8) has a read-only role.
READ_PERMISSIONS = frozenset({"cases.view_all_cases", "cases.export_case"})
# What such a person may still send: asking for an evidence pack and verifying the chains (their
# own records), revealing an ID number (a read, written to the access log), and their own
# session, password, second factor and language.
READ_ONLY_WRITES = frozenset(
    {
        "admin:cases_evidence_request",
        "admin:cases_verify_now",
        "admin:cases_reveal_id",
        "admin:login",
        "admin:logout",
        "admin:second_factor",
        "admin:password_change",
        "login",
        "logout",
        "language",
        "set_language",
    }
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def reads_only(user: Any) -> bool:
    """Whether every permission `user` holds only reads (and they hold some)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_superuser:
        return False
    held = user.get_all_permissions()
    return bool(held) and all(
        name in READ_PERMISSIONS or name.split(".", 1)[1].startswith("view_") for name in held
    )


class ReadOnlyRoleMiddleware:
    """After authentication: a read-only role (the auditor) gets 403 for every write anywhere,
    whatever a view would have done, but for the few writes reading needs (READ_ONLY_WRITES).
    The views check permissions too; this is the door that keeps a new view from forgetting.
    Every refusal is logged on the security log."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if request.method in SAFE_METHODS or not reads_only(getattr(request, "user", None)):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in READ_ONLY_WRITES:
            return None
        security_log.warning(
            "denied write by a read-only role path=%s method=%s user=%s",
            request.path,
            request.method,
            request.user.pk,
        )
        message = _("Your role reads only; it cannot change anything.")
        if request.path.startswith("/api/"):
            body = {"error": {"code": "forbidden", "message": str(message)}}
            return JsonResponse(body, status=403)
        return HttpResponseForbidden(message, content_type="text/plain; charset=utf-8")
