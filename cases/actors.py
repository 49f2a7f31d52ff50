"""Who acts on a case: a signed-in person, the system (timers, sweeps), or an integration.

Every service takes the actor explicitly; the audit trail records which kind it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias, TypeGuard

from cases.states import ActorType

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class SystemActor:
    """The system itself: a sweep, a timer, a migration. `name` says which part acted."""

    name: str = "system"


@dataclass(frozen=True)
class IntegrationActor:
    """A client of the API (the wallet backend), identified by its integration's key name."""

    name: str


SYSTEM = SystemActor()

Actor: TypeAlias = "User | SystemActor | IntegrationActor"


def actor_type(actor: Actor) -> ActorType:
    if isinstance(actor, SystemActor):
        return ActorType.SYSTEM
    if isinstance(actor, IntegrationActor):
        return ActorType.INTEGRATION
    return ActorType.USER


def actor_label(actor: Actor) -> str:
    if isinstance(actor, SystemActor | IntegrationActor):
        return actor.name
    return actor.email


def is_user(actor: Actor) -> TypeGuard[User]:
    return actor_type(actor) == ActorType.USER


def user_or_none(actor: Actor) -> User | None:
    """The person behind `actor`, or None for the system and integrations (for the "by" columns
    that reference a user)."""
    return actor if is_user(actor) else None
