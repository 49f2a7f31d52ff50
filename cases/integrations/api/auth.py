"""Who calls the API: an integration with an API key (scoped, revocable), or a member of staff
with a verified admin session (read-only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from cases.actors import IntegrationActor
from cases.models import ApiKey, Integration

SAFE = ("GET", "HEAD", "OPTIONS")


@dataclass
class IntegrationPrincipal:
    """request.user for an API-key request."""

    integration: Integration
    key: ApiKey
    scopes: set[str] = field(default_factory=set)
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    pk: Any = None

    @property
    def actor(self) -> IntegrationActor:
        return IntegrationActor(self.integration.name)

    def has_perm(self, perm: str) -> bool:
        return False


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key kyc_<prefix>_<secret>` (or the X-Api-Key header)."""

    def authenticate(self, request: Request) -> tuple[IntegrationPrincipal, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        key = header[len("Api-Key ") :].strip() if header.startswith("Api-Key ") else ""
        key = key or request.META.get("HTTP_X_API_KEY", "").strip()
        if not key:
            return None
        parts = key.split("_")
        prefix = parts[1] if len(parts) >= 3 and parts[0] == "kyc" else ""
        found = ApiKey.objects.select_related("integration").filter(prefix=prefix).first()
        if found is None or not found.matches(key):
            raise exceptions.AuthenticationFailed(_("This API key is not valid."))
        if not found.is_usable:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        ApiKey.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        principal = IntegrationPrincipal(found.integration, found, set(found.scopes or []))
        principal.pk = f"key:{found.prefix}"
        return principal, found

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="kycreview"'


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """A member of staff signed in to the admin (password and second factor): read-only."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        verified = getattr(user, "is_verified", None)
        if not (user.is_staff and verified and verified()):
            return None
        return result


class ApiAccess(permissions.BasePermission):
    """Integrations: the scope the view asks for. Staff: reading, with view_all_cases."""

    message = _("Your key does not have the scope this request needs.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated(
                _("Send your API key in the Authorization header: Api-Key <key>.")
            )
        if isinstance(user, IntegrationPrincipal):
            needed = getattr(view, "required_scopes", {}).get(request.method, "cases:read")
            return needed in user.scopes
        if request.method not in SAFE:
            self.message = _("Staff sessions can only read through the API.")
            return False
        return bool(user.has_perm("cases.view_all_cases"))


class PerKeyThrottle(throttling.SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = request.user
        ident = getattr(user, "pk", None)
        if ident is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}
