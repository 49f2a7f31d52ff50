"""Shared fixtures: a real Redis (embedded unless REDIS_URL is set), role users, real commits,
an empty broker queue, and the append-only triggers around the suite's own table flushes. The
shared helpers are in tests/helpers.py."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from accounts.models import User
from accounts.roles import Role
from tests.helpers import make_user


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Each test starts with an empty cache (API throttling counts live there)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _english_messages() -> Iterator[None]:
    """Tests read messages in English; zh-hans (the default) is tested in test_translations."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The Redis the tests use: REDIS_URL when given, else an embedded one for this run."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from kycreview.embedded_redis import EmbeddedRedis

    server = EmbeddedRedis(Path(settings.VAR_DIR) / "redis" / f"test-{os.getpid()}.sock").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _celery_broker(redis_url: str) -> None:
    """Point Celery at the test Redis before anything publishes."""
    from kycreview.celery import app
    from kycreview.settings import celery_url

    settings.REDIS_URL = redis_url
    settings.CELERY_BROKER_URL = celery_url(redis_url)
    app.conf.broker_url = settings.CELERY_BROKER_URL


@functools.cache
def _data_migration_steps() -> tuple[Any, list[Callable[[Any, Any], None]]]:
    """The RunPython steps of our own apps' migrations, in order, with the migrated apps."""
    from django.db.migrations import RunPython
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    plan: list[tuple[str, str]] = []
    for leaf in loader.graph.leaf_nodes():
        plan += [key for key in loader.graph.forwards_plan(leaf) if key not in plan]
    steps = [
        operation.code
        for key in plan
        if key[0] in ("accounts", "cases")
        for operation in loader.graph.nodes[key].operations
        if isinstance(operation, RunPython)
    ]
    return loader.project_state().apps, steps


def restore_migration_data() -> None:
    """Put back what our migrations seed (roles, programs, reasons, triggers) after a
    transactional test's flush has emptied every table."""
    from django.db import connection

    from cases.db_triggers import install_audit_triggers
    from cases.models import Program

    if not Program.objects.exists():
        state_apps, steps = _data_migration_steps()
        with connection.schema_editor() as schema_editor:
            for step in steps:
                step(state_apps, schema_editor)
    install_audit_triggers(connection)


@pytest.fixture
def transactional_db(transactional_db: None) -> Iterator[None]:
    """Real commits. Each transactional test ends with a flush of every table, which removes the
    migrations' seed data (put back here) and which the append-only triggers refuse (DELETE on
    SQLite, TRUNCATE on PostgreSQL): they are dropped for the flush only."""
    restore_migration_data()
    yield
    from django.db import connection

    from cases.db_triggers import drop_audit_triggers

    drop_audit_triggers(connection)


@pytest.fixture(autouse=True)
def _private_media(tmp_path: Path, settings: Any) -> None:
    """Each test writes documents to its own private directory."""
    location = tmp_path / "private"
    settings.PRIVATE_MEDIA_ROOT = location
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location), "base_url": None},
        },
    }


@pytest.fixture
def committed_db(transactional_db: None) -> None:
    """Real commits: on-commit hooks run, and other connections (threads, a worker) see the
    rows (the conftest's transactional_db restores seeded data and triggers)."""


@pytest.fixture
def empty_queue() -> Iterator[None]:
    """The real broker's task queue, empty before and after the test."""
    from kycreview.celery import app

    app.control.purge()
    yield
    app.control.purge()


@pytest.fixture
def applicant(db: None) -> User:
    return make_user("alice@example.com", Role.APPLICANT, full_name="Alice Applicant")


@pytest.fixture
def other_applicant(db: None) -> User:
    return make_user("oscar@example.com", Role.APPLICANT)


@pytest.fixture
def reviewer(db: None) -> User:
    return make_user("rita@example.com", Role.REVIEWER)


@pytest.fixture
def other_reviewer(db: None) -> User:
    return make_user("rob@example.com", Role.REVIEWER)


@pytest.fixture
def senior(db: None) -> User:
    return make_user("sam@example.com", Role.SENIOR_REVIEWER)


@pytest.fixture
def supervisor(db: None) -> User:
    return make_user("sue@example.com", Role.SUPERVISOR)


@pytest.fixture
def other_supervisor(db: None) -> User:
    return make_user("steve@example.com", Role.SUPERVISOR)


@pytest.fixture
def auditor(db: None) -> User:
    return make_user("audrey@example.com", Role.AUDITOR)
