"""Re-encrypt every encrypted case field under the newest key of FIELD_ENCRYPTION_KEYS.

Run after putting a new key first in FIELD_ENCRYPTION_KEYS (old keys after it). When it reports
success, no row needs the old keys any more and they can be removed from the setting.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases import crypto
from cases.fields import EncryptedTextField
from cases.models import Case


def encrypted_columns() -> list[str]:
    return [str(f.column) for f in Case._meta.concrete_fields if isinstance(f, EncryptedTextField)]


class Rotation:
    """One run: ciphertext is read and written as stored (raw SQL), never through the field,
    which would decrypt on read and encrypt the token a second time on write."""

    def __init__(self, batch_size: int) -> None:
        crypto.fernet()  # ImproperlyConfigured now, with its message, if a key is unusable
        self.newest = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
        self.batch_size = batch_size
        self.columns = encrypted_columns()
        self.rotated = self.current = self.rows = 0

    def _is_current(self, token: str) -> bool:
        try:
            self.newest.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def _select_sql(self) -> str:
        qn = connection.ops.quote_name
        pk = qn(Case._meta.pk.column)
        columns = ", ".join(qn(c) for c in self.columns)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        return (
            f"SELECT {pk}, {qn('reference')}, {columns} FROM {qn(Case._meta.db_table)} "  # noqa: S608
            f"WHERE {pk} > %s ORDER BY {pk} LIMIT %s{lock}"
        )

    def _update_sql(self, columns: list[str]) -> str:
        qn = connection.ops.quote_name
        assignments = ", ".join(f"{qn(c)} = %s" for c in columns)
        return (
            f"UPDATE {qn(Case._meta.db_table)} SET {assignments} "  # noqa: S608
            f"WHERE {qn(Case._meta.pk.column)} = %s"
        )

    def _new_values(self, reference: str, values: dict[str, str | None]) -> dict[str, str]:
        changed = {}
        for column, token in values.items():
            if not token:
                continue
            if self._is_current(token):
                self.current += 1
                continue
            try:
                changed[column] = crypto.rotate(token)
            except (crypto.FieldDecryptionError, UnicodeError) as exc:
                raise CommandError(
                    _(
                        "Case %(case)s: %(field)s cannot be opened with any key of "
                        "FIELD_ENCRYPTION_KEYS. Add the key that encrypted it and run this "
                        "command again; cases before it are already done."
                    )
                    % {"case": reference, "field": column}
                ) from exc
        return changed

    def batch(self, after_pk: int) -> int | None:
        """Rotate the next batch in one transaction (rows locked on PostgreSQL). Returns the
        last primary key handled, or None when there are no more rows."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(self._select_sql(), [after_pk, self.batch_size])
            rows = cursor.fetchall()
            for pk, reference, *tokens in rows:
                changed = self._new_values(
                    reference or str(pk), dict(zip(self.columns, tokens, strict=True))
                )
                if changed:
                    cursor.execute(self._update_sql(list(changed)), [*changed.values(), pk])
                    self.rotated += len(changed)
            self.rows += len(rows)
        return rows[-1][0] if rows else None


class Command(BaseCommand):
    help = _(
        "Re-encrypt the encrypted fields of every case (ID number, phone) under the first key "
        "of FIELD_ENCRYPTION_KEYS, in batches, one transaction per batch. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help=_("Cases per transaction (default 500)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Side effects: rewrites ciphertext columns of the case table; prints the counts."""
        if options["batch_size"] < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        rotation = Rotation(options["batch_size"])
        last_pk: int | None = 0
        while last_pk is not None:
            last_pk = rotation.batch(last_pk)
        cases = ngettext("%(n)d case", "%(n)d cases", rotation.rows) % {"n": rotation.rows}
        self.stdout.write(
            _(
                "Checked %(cases)s: re-encrypted %(rotated)d values under the newest key; "
                "%(current)d were already under it."
            )
            % {"cases": cases, "rotated": rotation.rotated, "current": rotation.current}
        )
