"""Changes to the SLA configuration (policies, calendar overrides), each with its audit row."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.forms.models import model_to_dict

from cases.actors import Actor, is_user
from cases.models import ConfigChange


def _snapshot(obj: models.Model) -> dict[str, Any]:
    return {
        key: (value.isoformat() if hasattr(value, "isoformat") else value)
        for key, value in model_to_dict(obj).items()
    }


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
    """Save an SLA policy or calendar override and record who changed what, from what to what.

    Side effects: the row is saved; one ConfigChange row. New clocks use the new policy; running
    clocks keep their target (a supervisor re-targets one with `case_sla_retarget`).
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
    """Delete a calendar override (policies are not deleted), recording what it was."""
    before = _snapshot(obj)
    _record(obj, actor=actor, action="deleted", before=before, after=None)
    obj.delete()
