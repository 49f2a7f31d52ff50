"""Pages in the language the person chose for their account, unless they switched for now."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


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
