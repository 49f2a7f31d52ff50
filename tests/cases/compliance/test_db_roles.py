"""On PostgreSQL the application's role owns no table (cases/db_roles.py): connected as it, the
audit tables refuse UPDATE, DELETE and TRUNCATE, and their triggers cannot be disabled, while the
application's ordinary work (reading, adding events) goes on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection

from accounts.models import User
from cases.db_roles import grant_app_role
from cases.db_triggers import APPEND_ONLY_TABLES
from tests.factories import submitted_case

pytestmark = pytest.mark.postgres
APP_ROLE = "kycreview_test_app"


@pytest.fixture
def as_app(committed_db: None) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the test database as a role that owns nothing, granted as in production."""
    if connection.vendor != "postgresql":
        pytest.skip("database roles are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE ROLE "{APP_ROLE}" LOGIN')
    grant_app_role(connection, APP_ROLE)
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=APP_ROLE,
        autocommit=True,
    ) as app:
        yield app


def refused(app: psycopg.Connection[Any], statement: str) -> str:
    with pytest.raises(psycopg.Error) as failure:
        app.execute(statement)
    return str(failure.value)


def test_the_application_role_cannot_rewrite_or_unguard_the_audit_tables(
    as_app: psycopg.Connection[Any], applicant: User
) -> None:
    case = submitted_case(applicant)
    assert as_app.execute(
        "SELECT count(*) FROM cases_caseevent WHERE case_id = %s", [case.pk]
    ).fetchone() == (case.event_seq,)
    for table in APPEND_ONLY_TABLES:
        for statement in (
            f"ALTER TABLE {table} DISABLE TRIGGER ALL",
            f"ALTER TABLE {table} DISABLE TRIGGER USER",
            f"UPDATE {table} SET id = id",
            f"DELETE FROM {table}",
            f"TRUNCATE {table}",
        ):
            said = refused(as_app, statement)
            assert "permission denied" in said or "must be owner" in said, (statement, said)
    # Its ordinary work goes on: it reads and writes the case, and may add to the trail.
    as_app.execute("UPDATE cases_case SET priority = priority WHERE id = %s", [case.pk])
    may_add = as_app.execute(
        "SELECT has_table_privilege(current_user, 'cases_caseevent', 'INSERT')"
    ).fetchone()
    assert may_add == (True,)
    owned = as_app.execute(
        "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
    ).fetchone()
    assert owned == (0,)
