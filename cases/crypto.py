"""Encryption of personal data at rest, and the keyed blind index that makes it searchable.

Fernet (AES-128-CBC + HMAC-SHA256) is authenticated: a wrong key or an altered ciphertext fails
loudly instead of decrypting to garbage. MultiFernet gives rotation: the first key of
FIELD_ENCRYPTION_KEYS encrypts, every key decrypts. The blind index is an HMAC with its own key, so
knowing the index does not help to decrypt, and rotating encryption keys leaves it unchanged.
"""

from __future__ import annotations

import functools
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class FieldDecryptionError(Exception):
    """Stored ciphertext could not be opened with any configured key."""


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: set at least one Fernet key.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes; make one with `python manage.py "
            "generate_field_key`)."
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str, *, what: str = "a field") -> str:
    try:
        return fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise FieldDecryptionError(
            f"Cannot decrypt {what}: none of FIELD_ENCRYPTION_KEYS opens it. "
            "Check that the key that encrypted it is still configured."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token under the newest key (it must open with one of the configured keys)."""
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise FieldDecryptionError("Cannot rotate a value no configured key opens.") from exc


def normalize_id_number(value: str) -> str:
    return "".join(value.split()).upper()


def blind_index(value: str) -> str:
    """Keyed hash for exact search; the same input always gives the same index."""
    key = settings.BLIND_INDEX_KEY
    if not key:
        raise ImproperlyConfigured("BLIND_INDEX_KEY is not set.")
    normalized = normalize_id_number(value)
    return hmac.new(key.encode(), normalized.encode(), hashlib.sha256).hexdigest()
