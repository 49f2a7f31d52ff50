"""The cases app: it registers the calendar check and the API's schema extensions, and after every
migrate re-creates the audit tables' append-only triggers and, on PostgreSQL through the owner's
connection, grants the application's role (cases/db_roles.py)."""

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_audit_triggers(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    from cases.db_roles import grant_after_migrate
    from cases.db_triggers import install_audit_triggers

    install_audit_triggers(connections[using])
    grant_after_migrate(connections, using)


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Verification cases")

    def ready(self) -> None:
        from cases.integrations.api import schema  # noqa: F401  (the API's auth in the OpenAPI schema)
        from cases.sla import calendar  # noqa: F401  (registers the next-year calendar check)

        post_migrate.connect(_ensure_audit_triggers, sender=self)
