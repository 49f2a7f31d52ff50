"""Database triggers that make the audit tables append-only, on SQLite and PostgreSQL: the case
events, the access log (who read which personal data) and the configuration changes.

The models and their querysets already refuse updates and deletes; the triggers also stop raw SQL
and any other client of the database. On PostgreSQL the application's own role additionally
holds no UPDATE, DELETE or TRUNCATE on these tables and owns no table, so it cannot disable the
triggers either (cases/db_roles.py). They are created by a migration and re-created
(idempotently) after every migrate or flush, so a dropped trigger does not stay dropped.
"""

from __future__ import annotations

from typing import Any

# table → what the refusal says
APPEND_ONLY_TABLES = {
    "cases_caseevent": "case events are append-only",
    "cases_accesslog": "the access log is append-only",
    "cases_configchange": "configuration changes are append-only",
}
TABLE = "cases_caseevent"  # the first and best known of them


def _short(table: str) -> str:
    return table.removeprefix("cases_")


def _sqlite_create(table: str, message: str) -> list[str]:
    short = _short(table)
    return [
        f"""CREATE TRIGGER IF NOT EXISTS {short}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{message}'); END""",
        f"""CREATE TRIGGER IF NOT EXISTS {short}_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, '{message}'); END""",
    ]


def _sqlite_drop(table: str) -> list[str]:
    short = _short(table)
    return [
        f"DROP TRIGGER IF EXISTS {short}_no_update",
        f"DROP TRIGGER IF EXISTS {short}_no_delete",
    ]


def _pg_create(table: str, message: str) -> list[str]:
    short = _short(table)
    return [
        f"""CREATE OR REPLACE FUNCTION {short}_refuse_change() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{message}' USING ERRCODE = 'insufficient_privilege'; END;
            $$ LANGUAGE plpgsql""",
        f"DROP TRIGGER IF EXISTS {short}_no_update_delete ON {table}",
        f"""CREATE TRIGGER {short}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {short}_refuse_change()""",
        f"DROP TRIGGER IF EXISTS {short}_no_truncate ON {table}",
        f"""CREATE TRIGGER {short}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION {short}_refuse_change()""",
    ]


def _pg_drop(table: str) -> list[str]:
    short = _short(table)
    return [
        f"DROP TRIGGER IF EXISTS {short}_no_update_delete ON {table}",
        f"DROP TRIGGER IF EXISTS {short}_no_truncate ON {table}",
    ]


def _statements(vendor: str, table: str, *, create: bool) -> list[str]:
    message = APPEND_ONLY_TABLES[table]
    if vendor == "sqlite":
        return _sqlite_create(table, message) if create else _sqlite_drop(table)
    if vendor == "postgresql":
        return _pg_create(table, message) if create else _pg_drop(table)
    raise NotImplementedError(f"No append-only triggers for the {vendor} database.")


def _existing(connection: Any) -> list[str]:
    """The append-only tables the database has now (a migration may run before some exist)."""
    with connection.cursor() as cursor:
        present = set(connection.introspection.table_names(cursor))
    return [table for table in APPEND_ONLY_TABLES if table in present]


def install_audit_triggers(connection: Any) -> None:
    with connection.cursor() as cursor:
        for table in _existing(connection):
            for sql in _statements(connection.vendor, table, create=True):
                cursor.execute(sql)


def drop_audit_triggers(connection: Any) -> None:
    """Only for tests that prove tampering is detected, and for the test-suite's flush."""
    with connection.cursor() as cursor:
        for table in _existing(connection):
            for sql in _statements(connection.vendor, table, create=False):
                cursor.execute(sql)


def audit_triggers_installed(connection: Any) -> bool:
    """Whether every append-only table has its triggers."""
    wanted = 2 * len(APPEND_ONLY_TABLES)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT tbl_name FROM sqlite_master WHERE type='trigger' AND name LIKE %s",
                ["%_no_%"],
            )
            found = [row[0] for row in cursor.fetchall() if row[0] in APPEND_ONLY_TABLES]
            return len(found) == wanted
        names = [
            f"{_short(t)}_{kind}"
            for t in APPEND_ONLY_TABLES
            for kind in ("no_update_delete", "no_truncate")
        ]
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = ANY(%s)",
            [names],
        )
        return bool(cursor.fetchone()[0] == wanted)
