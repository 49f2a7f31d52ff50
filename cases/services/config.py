"""Changes to the configuration (SLA policies, calendar overrides, programs, reasons,
integrations, API keys, webhook subscriptions), each with its ConfigChange row. Every
configuration admin saves through here."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import models, transaction
from django.forms.models import model_to_dict

from cases.actors import Actor, is_user
from cases.models import ConfigChange

# Recorded only as a fingerprint: the history shows that a secret changed, never the secret.
SECRET_FIELDS = frozenset({"secret", "key_hash"})


def _snapshot(obj: models.Model) -> dict[str, Any]:
    return {key: _recorded(key, value) for key, value in model_to_dict(obj).items()}


def _recorded(field: str, value: Any) -> Any:
    if field in SECRET_FIELDS and value:
        return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:12]
    return value.isoformat() if hasattr(value, "isoformat") else value


def _record(obj: models.Model, *, actor: Actor, action: str, before: Any, after: Any) -> None:
    ConfigChange.objects.create(
        changed_by=actor if is_user(actor) else None,
        object_type=obj._meta.model_name or "",
        object_repr=str(obj)[:200],
        action=action,
        before=before,
        after=after,
    )


@transaction.atomic
def config_save(*, obj: models.Model, actor: Actor) -> models.Model:
    """Save a configuration row and record who changed what, from what to what (secrets as a
    fingerprint only).

    Side effects: the row is saved; one ConfigChange row. New clocks use a new SLA policy;
    running clocks keep their target (a supervisor re-targets one with `case_sla_retarget`).
    """
    before = None
    if obj.pk is not None:
        previous = type(obj)._default_manager.filter(pk=obj.pk).first()
        before = _snapshot(previous) if previous is not None else None
    if hasattr(obj, "updated_by_id") and is_user(actor):
        obj.updated_by = actor  # type: ignore[attr-defined]
    obj.save()
    _record(
        obj,
        actor=actor,
        action="created" if before is None else "changed",
        before=before,
        after=_snapshot(obj),
    )
    return obj


@transaction.atomic
def config_delete(*, obj: models.Model, actor: Actor) -> None:
    """Delete a configuration row (the admins allow it for calendar overrides and webhook
    subscriptions of an integration), recording what it was. Side effects: one ConfigChange row."""
    before = _snapshot(obj)
    _record(obj, actor=actor, action="deleted", before=before, after=None)
    obj.delete()
