"""The audit chain's format in plain Python (no Django): an event's canonical form, its hash, the
check of one case's events in order, and the signed anchors' format (Merkle root, signed part).
The application writes and verifies with it, and every evidence pack ships this very file as its
standalone verifier:

    python verify_chain.py events.json [--anchor anchor.json] [--key ID=SECRET ...]

It exits 0 when the chain is intact and ends at the anchored head (and, given the anchor, that
head is in the anchor, whose heads match its root and whose Ed25519 signature holds; the
signature is checked when the `cryptography` package is installed), 1 naming what is broken.

Events before the keyed chain are hashed with SHA-256 over the previous hash and the canonical
form; keyed events (their `key` names the key) with HMAC-SHA-256 under a key the database does
not hold. Without that key a reader can still check the order, the links and the unkeyed hashes,
and compare the last hash with a signed anchor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

GENESIS_HASH = "0" * 64
# The fields of an event that its hash covers, besides the key id of keyed events.
CONTENT_FIELDS = (
    "case",
    "seq",
    "type",
    "actor_type",
    "actor_user",
    "actor",
    "from",
    "to",
    "reasons",
    "message",
    "data",
    "file_sha256",
    "at",
)
# What can be wrong with a chain, in the order the check finds it.
MISSING = "missing"  # a sequence number is skipped: an event was removed
LINK = "link"  # the previous-hash does not match the event before
ALTERED = "altered"  # the content does not match the hash
UNKNOWN_KEY = "unknown_key"  # hashed under a key this check does not have
DOWNGRADE = "downgrade"  # an unkeyed event after keyed ones


def canonical(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: its content fields, and its key id when keyed."""
    body = {field: event[field] for field in CONTENT_FIELDS}
    if event.get("key"):
        body["key"] = event["key"]
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def chain_hash(prev_hash: str, payload: bytes, key: bytes | None = None) -> str:
    """SHA-256 (unkeyed) or HMAC-SHA-256 (keyed) over the previous hash and the payload."""
    message = prev_hash.encode("ascii") + payload
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def merkle_root(leaves: Iterable[bytes]) -> str:
    """The SHA-256 Merkle root of `leaves` (an odd node is paired with itself)."""
    level = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level), 2)
        ]
    return level[0].hex()


def anchor_leaf(head: Sequence[Any]) -> bytes:
    """An anchor's leaf for one case's head: (case UUID, sequence number, hash)."""
    case, seq, digest = head
    return f"{case}:{seq}:{digest}".encode()


def anchor_signed_part(body: Mapping[str, Any]) -> bytes:
    """The bytes of an anchor its Ed25519 signature covers: everything but the signature."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()


def check_anchor(anchor: Mapping[str, Any], case: str, head: Mapping[str, Any]) -> str | None:
    """What is wrong with `anchor` as the proof of `case`'s anchored `head`, or None. The
    signature is checked with `cryptography` when it is installed (see anchor_signature)."""
    if merkle_root(anchor_leaf(h) for h in anchor["heads"]) != anchor["merkle_root"]:
        return "the anchor's heads do not match its root"
    if [case, head["seq"], head["hash"]] not in [list(h) for h in anchor["heads"]]:
        return "the anchored head is not in the anchor"
    if anchor_signature(anchor) is False:
        return "the anchor's signature does not hold"
    return None


def anchor_signature(anchor: Mapping[str, Any]) -> bool | None:
    """Whether the anchor's Ed25519 signature holds under the public key it names; None when
    `cryptography` is not installed. Compare that key with the one your operator publishes."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return None
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(anchor["public_key"]))
        key.verify(base64.b64decode(anchor["signature"]), anchor_signed_part(anchor))
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True


def check_chain(
    events: Sequence[Mapping[str, Any]], keys: Mapping[str, bytes], *, verify_keyed: bool = True
) -> tuple[int, str] | None:
    """The first broken link of one case's events (sorted by `seq`) as (seq, problem), or None.

    `keys` maps key ids to secrets; without `verify_keyed` (a reader without the keys), keyed
    events are checked for order and links only.
    """
    prev_hash, keyed_seen = GENESIS_HASH, False
    for expected, event in enumerate(events, start=1):
        if event["seq"] != expected:
            return expected, MISSING
        if event["prev_hash"] != prev_hash:
            return event["seq"], LINK
        key_id = event.get("key") or ""
        if not key_id and keyed_seen:
            return event["seq"], DOWNGRADE
        keyed_seen = keyed_seen or bool(key_id)
        if not key_id or verify_keyed:
            if key_id and key_id not in keys:
                return event["seq"], UNKNOWN_KEY
            key = keys[key_id] if key_id else None
            if chain_hash(prev_hash, canonical(event), key) != event["hash"]:
                return event["seq"], ALTERED
        prev_hash = event["hash"]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Check an evidence pack's events.json (and its anchor): exit 0 when intact, 1 naming the
    break."""
    import argparse

    parser = argparse.ArgumentParser(description="Check the audit chain of an evidence pack.")
    parser.add_argument("events", help="the pack's events.json")
    parser.add_argument("--anchor", help="the pack's anchor.json, the signed anchor of the head")
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="ID=SECRET",
        help="a chain key, to check the keyed hashes too (without: order, links, anchor)",
    )
    options = parser.parse_args(argv)
    with open(options.events, encoding="utf-8") as handle:
        pack = json.load(handle)
    keys = {k: v.encode() for k, _, v in (pair.partition("=") for pair in options.key)}
    events = sorted(pack["events"], key=lambda event: event["seq"])
    broken = check_chain(events, keys, verify_keyed=bool(keys))
    head = pack.get("anchored_head")
    if broken is None and head and not _anchored(pack, events):
        broken = (head["seq"], "not the anchored head")
    if broken is None and head and options.anchor:
        with open(options.anchor, encoding="utf-8") as handle:
            problem = check_anchor(json.load(handle), pack["case"], head)
        if problem:
            broken = (head["seq"], problem)
    if broken is not None:
        print(f"BROKEN {pack.get('case')}: event #{broken[0]}: {broken[1]}")
        return 1
    last = events[-1]["hash"] if events else GENESIS_HASH
    print(f"OK {pack.get('case')}: {len(events)} events, last hash {last}")
    if head and options.anchor:
        with open(options.anchor, encoding="utf-8") as handle:
            signed = anchor_signature(json.load(handle))
        print(
            "anchor signature verified"
            if signed
            else "anchor signature not checked: install the cryptography package"
        )
    if keys:
        print("keyed hashes verified")
    return 0


def _anchored(pack: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> bool:
    """The anchored head (seq, hash) is one of the pack's events."""
    anchored = pack["anchored_head"]
    return any(e["seq"] == anchored["seq"] and e["hash"] == anchored["hash"] for e in events)


if __name__ == "__main__":
    sys.exit(main())
