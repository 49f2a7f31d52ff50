"""Model fields for personal data: plaintext in Python, ciphertext in the database."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from cases import crypto


class EncryptedTextField(models.TextField):
    """A text field stored encrypted. It cannot be filtered on: search through a blind index."""

    description = _("Encrypted text")

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value, what=f"{self.model.__name__}.{self.name}")

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise TypeError(
                f"{self.name} is encrypted and cannot be searched with '{lookup_name}'; "
                "use its blind index."
            )
        return super().get_lookup(lookup_name)
