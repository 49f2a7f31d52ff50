"""PostgreSQL roles (DESIGN §9): migrations run as the owner of the tables, the application
connects as a role that owns none, so it can neither alter a table nor disable a trigger, and
holds no UPDATE, DELETE or TRUNCATE on the append-only audit tables.

After every migrate through the owner's connection (`manage.py migrate --database owner`, with
DATABASE_OWNER_URL set) the owner grants the application's role (DATABASE_URL's user) what it
needs; the same statements run when called by hand (`grant_app_role`).
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from cases.db_triggers import APPEND_ONLY_TABLES


def grant_app_role(connection: Any, role: str) -> None:
    """As the owner: the application's role may read and write every table of the schema but the
    append-only ones, where it may only read and add, and may use their sequences."""
    name = sql.Identifier(role)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            name
        ),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(name),
        sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
            sql.SQL(", ").join(sql.Identifier(t) for t in APPEND_ONLY_TABLES), name
        ),
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.as_string(connection.connection))


def grant_after_migrate(connections: Any, using: str) -> None:
    """After a migrate through the owner's connection, grant the application's role."""
    if using != "owner" or "default" not in connections.databases:
        return
    owner = connections["owner"]
    app_role = connections["default"].settings_dict.get("USER")
    if owner.vendor != "postgresql" or not app_role:
        return
    if app_role != owner.settings_dict.get("USER"):
        grant_app_role(owner, app_role)
