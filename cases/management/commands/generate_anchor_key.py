"""`manage.py generate_anchor_key`: print a new Ed25519 key for AUDIT_ANCHOR_SIGNING_KEY and its
public key, to publish and to keep in AUDIT_ANCHOR_PUBLIC_KEYS after the next rotation."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Print a new Ed25519 anchor signing key and its public key.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Writes nothing but stdout."""
        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.stdout.write(f"AUDIT_ANCHOR_SIGNING_KEY={base64.b64encode(private).decode()}")
        self.stdout.write(f"# public key: {base64.b64encode(public).decode()}")
