"""The access log and the configuration changes are append-only like the case events: the models
refuse to change a row, and the database refuses raw UPDATE and DELETE too
(cases/db_triggers.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import User
from cases.audit import record_access
from cases.db_triggers import APPEND_ONLY_TABLES, audit_triggers_installed
from cases.models import AccessKind, AccessLog, AuditTrailImmutable, ConfigChange, Program
from cases.services.config import config_save


@pytest.fixture
def rows(db: None, supervisor: User) -> None:
    record_access(user=supervisor, kind=AccessKind.VIEW_CASE, ip="127.0.0.1")
    config_save(obj=Program.objects.get(code="real_name"), actor=supervisor)


def test_every_audit_table_has_its_triggers(db: None) -> None:
    assert audit_triggers_installed(connection)
    assert set(APPEND_ONLY_TABLES) == {
        "cases_caseevent",
        "cases_accesslog",
        "cases_configchange",
    }


@pytest.mark.parametrize("model", [AccessLog, ConfigChange])
def test_the_models_refuse_to_change_or_delete_a_row(rows: None, model: Any) -> None:
    row = model.objects.get()
    with pytest.raises(AuditTrailImmutable):
        row.save()
    with pytest.raises(AuditTrailImmutable):
        row.delete()
    with pytest.raises(AuditTrailImmutable):
        model.objects.update(pk=row.pk)
    with pytest.raises(AuditTrailImmutable):
        model.objects.all().delete()


@pytest.mark.parametrize("table", ["cases_accesslog", "cases_configchange"])
def test_the_database_refuses_raw_updates_and_deletes(rows: None, table: str) -> None:
    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert AccessLog.objects.count() == 1 and ConfigChange.objects.count() == 1
