"""What several admin screens share: read-only lists, configuration saved through its service,
the signed-in member of staff, the access log of what they read, and the masks and formats of
personal data and business time."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest

from accounts.models import User
from cases.audit import client_ip, record_access
from cases.models import Case, Document
from cases.services.config import config_delete, config_save


class ReadOnly:
    """Nothing is added, changed or deleted through this admin or inline: lists and records to
    read (changes happen through services, on the screens made for them)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SavedAsConfiguration:
    """Every save and delete of this admin, and of its inlines, goes through the configuration
    service (cases/services/config.py), which records it as a ConfigChange row."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        config_save(obj=obj, actor=person(request))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        config_delete(obj=obj, actor=person(request))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            config_delete(obj=obj, actor=person(request))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for obj in formset.save(commit=False):
            config_save(obj=obj, actor=person(request))
        for obj in formset.deleted_objects:
            config_delete(obj=obj, actor=person(request))
        formset.save_m2m()


def person(request: HttpRequest) -> User:
    """The signed-in member of staff (the admin lets no one else reach these views)."""
    return cast(User, request.user)


def log_access(
    request: HttpRequest,
    kind: str,
    *,
    case: Case | None = None,
    document: Document | None = None,
    detail: str = "",
) -> None:
    """One read of personal data by the signed-in member of staff, from where they are."""
    record_access(
        user=person(request),
        kind=kind,
        case=case,
        document=document,
        detail=detail,
        ip=client_ip(request.META),
    )
