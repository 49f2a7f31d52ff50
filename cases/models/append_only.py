"""Rows that are only ever added (the case events, the access log, the configuration changes):
the models refuse to update or delete them, and so do database triggers (cases/db_triggers.py)."""

from __future__ import annotations

from typing import Any

from django.db import models


class AuditTrailImmutable(Exception):
    """Raised when code tries to change or delete a row of an append-only table."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise AuditTrailImmutable(f"{self.model._meta.verbose_name_plural} are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditTrailImmutable(f"{self.model._meta.verbose_name_plural} are append-only.")


class AppendOnlyModel(models.Model):
    """A row written once: saved only as an insert, never updated or deleted."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailImmutable(f"{self._meta.verbose_name_plural} are append-only.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditTrailImmutable(f"{self._meta.verbose_name_plural} are append-only.")
