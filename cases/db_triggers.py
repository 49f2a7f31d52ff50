"""Database triggers that make the case-event table append-only, on SQLite and PostgreSQL.

The model and its queryset already refuse updates and deletes; the triggers also stop raw SQL and
any other client of the database. They are created by a migration and re-created (idempotently)
after every migrate or flush, so a dropped trigger does not stay dropped.
"""

from __future__ import annotations

from typing import Any

TABLE = "cases_caseevent"
MESSAGE = "case events are append-only"

_SQLITE_CREATE = [
    f"""CREATE TRIGGER IF NOT EXISTS caseevent_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS caseevent_no_delete BEFORE DELETE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS caseevent_no_update",
    "DROP TRIGGER IF EXISTS caseevent_no_delete",
]

_PG_CREATE = [
    f"""CREATE OR REPLACE FUNCTION caseevent_refuse_change() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege'; END;
        $$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS caseevent_no_update_delete ON {TABLE}",
    f"""CREATE TRIGGER caseevent_no_update_delete BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION caseevent_refuse_change()""",
    f"DROP TRIGGER IF EXISTS caseevent_no_truncate ON {TABLE}",
    f"""CREATE TRIGGER caseevent_no_truncate BEFORE TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION caseevent_refuse_change()""",
]
_PG_DROP = [
    f"DROP TRIGGER IF EXISTS caseevent_no_update_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS caseevent_no_truncate ON {TABLE}",
]


def _statements(vendor: str, *, create: bool) -> list[str]:
    if vendor == "sqlite":
        return _SQLITE_CREATE if create else _SQLITE_DROP
    if vendor == "postgresql":
        return _PG_CREATE if create else _PG_DROP
    raise NotImplementedError(f"No append-only triggers for the {vendor} database.")


def install_audit_triggers(connection: Any) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, create=True):
            cursor.execute(sql)


def drop_audit_triggers(connection: Any) -> None:
    """Only for tests that prove tampering is detected, and for the test-suite's flush."""
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, create=False):
            cursor.execute(sql)


def audit_triggers_installed(connection: Any) -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='trigger' AND tbl_name=%s", [TABLE]
            )
            return bool(cursor.fetchone()[0] == 2)
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname IN "
            "('caseevent_no_update_delete', 'caseevent_no_truncate')"
        )
        return bool(cursor.fetchone()[0] == 2)
