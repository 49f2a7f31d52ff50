"""Print a new Fernet key for FIELD_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _(
        "Print a new key for FIELD_ENCRYPTION_KEYS. To rotate, put it first in the list, keep "
        "the old keys after it, restart, run `rotate_field_keys`, then drop the old keys."
    )
    # Needs neither the database nor a valid configuration: it is how a configuration starts.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def handle(self, *args: Any, **options: Any) -> None:
        """Writes only the key to stdout (so it can be piped into a secret store)."""
        self.stdout.write(Fernet.generate_key().decode("ascii"))
