"""Signed anchors of the audit chains' heads, written outside the database (DESIGN §7).

An anchor is a JSON file in an append-only store: the head (case, sequence number, hash) of every
case whose chain moved since the previous anchor (of every case, the first time), their Merkle
root, the largest event id it covers, the SHA-256 of the previous anchor's file, and an Ed25519
signature over all of it. Anchors therefore form a chain of their own: an anchor removed,
replaced or reordered in the store breaks it, and without the signing key none can be forged.
Folding them in order gives the latest anchored head of every case; a history in the database
that no longer contains its anchored head was rewritten, truncated or deleted.

The default store is a directory (AUDIT_ANCHOR_DIR) whose files are created read-only and never
overwritten; an object store with write-once objects fits the same interface.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Max, Min, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.compliance.chain import anchor_leaf as _leaf
from cases.compliance.chain import anchor_signed_part as _signed_part
from cases.compliance.chain import merkle_root
from cases.models import CaseEvent

VERSION = 1
# No transaction that writes events runs this long. An event that commits just after an anchor
# was written, with an id below the anchor's last one, was created less than this before it: the
# next anchor looks at the cases of those events again.
SETTLE = timedelta(minutes=5)
BATCH = 2000


class AnchorError(Exception):
    """The anchor store cannot be trusted: a signature, a link or a file is wrong."""


class AnchorStore(Protocol):
    def names(self) -> list[str]: ...

    def read(self, name: str) -> bytes: ...

    def write(self, name: str, content: bytes) -> None: ...


class DirectoryAnchorStore:
    """Anchors as read-only files of a directory; a name is written once, never replaced."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def names(self) -> list[str]:
        if not self.path.exists():
            return []
        return sorted(p.name for p in self.path.glob("*.json"))

    def read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def write(self, name: str, content: bytes) -> None:
        """Create `name` with `content`; FileExistsError if it exists (another writer won)."""
        self.path.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())


def anchor_store() -> AnchorStore:
    return DirectoryAnchorStore(Path(settings.AUDIT_ANCHOR_DIR))


# --- keys and digests ----------------------------------------------------------------------


def signing_key() -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(settings.AUDIT_ANCHOR_SIGNING_KEY, validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(
            "AUDIT_ANCHOR_SIGNING_KEY must be the base64 of a 32-byte Ed25519 private key "
            "(manage.py generate_anchor_key makes one)."
        ) from exc


def _public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def trusted_public_keys() -> set[str]:
    """Base64 public keys whose anchors are believed: the signing key's, and older ones."""
    own = base64.b64encode(_public_raw(signing_key().public_key())).decode()
    return {own, *settings.AUDIT_ANCHOR_PUBLIC_KEYS}


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    name: str
    sequence: int
    created_at: datetime
    previous: str
    through_event: int
    first_keyed_event: int | None
    heads: list[list[Any]]
    merkle_root: str
    public_key: str
    digest: str  # SHA-256 of the file: the next anchor's `previous`


def _parse(name: str, content: bytes, trusted: set[str]) -> Anchor:
    try:
        body = json.loads(content)
        public = body["public_key"]
        signature = base64.b64decode(body["signature"], validate=True)
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public, validate=True))
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorError(_("Anchor %(name)s is not a readable anchor.") % {"name": name}) from exc
    if public not in trusted:
        raise AnchorError(
            _("Anchor %(name)s is signed with a key that is not trusted.") % {"name": name}
        )
    try:
        key.verify(signature, _signed_part(body))
    except InvalidSignature as exc:
        raise AnchorError(
            _("Anchor %(name)s has a bad signature: it was altered or forged.") % {"name": name}
        ) from exc
    if merkle_root(_leaf(h) for h in body["heads"]) != body["merkle_root"]:
        raise AnchorError(_("Anchor %(name)s: its heads do not match its root.") % {"name": name})
    return Anchor(
        name=name,
        sequence=body["sequence"],
        created_at=datetime.fromisoformat(body["created_at"]),
        previous=body["previous"],
        through_event=body["through_event"],
        first_keyed_event=body.get("first_keyed_event"),
        heads=body["heads"],
        merkle_root=body["merkle_root"],
        public_key=public,
        digest=hashlib.sha256(content).hexdigest(),
    )


def read_anchors(store: AnchorStore | None = None) -> list[Anchor]:
    """Every anchor of the store, checked: signed by a trusted key, heads matching the root, and
    each linked to the one before (none removed, replaced or reordered). AnchorError if not."""
    store = store or anchor_store()
    trusted = trusted_public_keys()
    anchors: list[Anchor] = []
    for name in store.names():
        anchor = _parse(name, store.read(name), trusted)
        expected_previous = anchors[-1].digest if anchors else ""
        if anchor.sequence != len(anchors) + 1 or anchor.previous != expected_previous:
            raise AnchorError(
                _(
                    "Anchor %(name)s does not follow the one before it: an anchor was removed, "
                    "replaced or reordered."
                )
                % {"name": name}
            )
        anchors.append(anchor)
    return anchors


def anchored_heads(anchors: Iterable[Anchor]) -> dict[str, tuple[int, str]]:
    """The latest anchored (sequence number, hash) of every case, by case UUID."""
    heads: dict[str, tuple[int, str]] = {}
    for anchor in anchors:
        for case, seq, digest in anchor.heads:
            heads[case] = (seq, digest)
    return heads


# --- writing -------------------------------------------------------------------------------


def _heads(moved: Q, through: int) -> Iterator[list[Any]]:
    """(case UUID, seq, hash) as of event id `through`, of every case with an event `moved`
    selects, in case order."""
    case_ids = list(
        CaseEvent.objects.filter(moved, id__lte=through)
        .values_list("case_id", flat=True)
        .distinct()
        .order_by("case_id")
    )
    last = CaseEvent.objects.filter(case_id=OuterRef("case_id"), id__lte=through).order_by("-seq")
    for start in range(0, len(case_ids), BATCH):
        rows = (
            CaseEvent.objects.filter(
                case_id__in=case_ids[start : start + BATCH],
                seq=Subquery(last.values("seq")[:1]),
            )
            .order_by("case_id")
            .values_list("case__uuid", "seq", "hash")
        )
        for uuid, seq, digest in rows:
            yield [str(uuid), seq, digest]


def anchor_chains(
    *, now: datetime | None = None, store: AnchorStore | None = None
) -> Anchor | None:
    """Sign the heads of every chain that moved since the last anchor into a new anchor (and of
    the cases with events written shortly before it, in case one committed after it).

    Returns the anchor, or None when no event was written since. Side effects: one read-only
    file in the anchor store. Two writers at once: one wins, the other returns None.
    """
    store = store or anchor_store()
    now = now or timezone.now()
    anchors = read_anchors(store)
    previous = anchors[-1] if anchors else None
    after = previous.through_event if previous else 0
    through = CaseEvent.objects.aggregate(last=Max("id"))["last"] or 0
    if through <= after:
        return None
    moved = Q(id__gt=after)
    if previous is not None:
        moved |= Q(created_at__gte=previous.created_at - SETTLE)
    heads = list(_heads(moved, through))
    key = signing_key()
    body: dict[str, Any] = {
        "version": VERSION,
        "sequence": len(anchors) + 1,
        "created_at": now.isoformat(),
        "previous": previous.digest if previous else "",
        "through_event": through,
        # Unkeyed (plain SHA-256) events may only come before this one.
        "first_keyed_event": CaseEvent.objects.filter(id__lte=through)
        .exclude(key_id="")
        .aggregate(first=Min("id"))["first"],
        "heads": heads,
        "merkle_root": merkle_root(_leaf(h) for h in heads),
        "public_key": base64.b64encode(_public_raw(key.public_key())).decode(),
    }
    body["signature"] = base64.b64encode(key.sign(_signed_part(body))).decode()
    content = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    name = f"{body['sequence']:08d}.json"
    try:
        store.write(name, content)
    except FileExistsError:
        return None
    return _parse(name, content, trusted_public_keys())
