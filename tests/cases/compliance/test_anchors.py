"""Signed anchors of the chain heads (cases/compliance/anchors.py): what an anchor holds, that it
covers only what moved, and that a store with a forged, untrusted, removed or altered anchor is
refused."""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from accounts.models import User
from cases import services
from cases.compliance.anchors import (
    AnchorError,
    DirectoryAnchorStore,
    anchor_chains,
    anchored_heads,
    merkle_root,
    read_anchors,
)
from cases.models import Case
from tests.factories import submitted_case


def later(minutes: int = 10) -> Any:
    """An anchor's time, `minutes` from now: later than the revisit window (anchors.SETTLE)."""
    return timezone.now() + timedelta(minutes=minutes)


@pytest.fixture
def store(tmp_path: Path, settings: Any) -> DirectoryAnchorStore:
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    return DirectoryAnchorStore(settings.AUDIT_ANCHOR_DIR)


def test_an_anchor_signs_every_head_then_only_what_moved(
    db: None, store: DirectoryAnchorStore, applicant: User, reviewer: User
) -> None:
    first, second = submitted_case(applicant), submitted_case(applicant)
    anchor = anchor_chains(now=later(), store=store)
    assert anchor is not None and anchor.sequence == 1 and anchor.previous == ""
    assert sorted(anchor.heads) == sorted(
        [str(c.uuid), c.event_seq, c.event_head]
        for c in Case.objects.filter(pk__in=[first.pk, second.pk])
    )
    assert os.stat(store.path / anchor.name).st_mode & 0o222 == 0  # read-only on disk
    assert anchor_chains(now=later(), store=store) is None  # nothing moved

    services.case_claim(case=second, actor=reviewer)
    moved = anchor_chains(now=later(20), store=store)
    assert moved is not None and moved.previous == anchor.digest
    second.refresh_from_db()
    assert moved.heads == [[str(second.uuid), second.event_seq, second.event_head]]
    heads = anchored_heads(read_anchors(store))
    assert heads[str(second.uuid)] == (second.event_seq, second.event_head)
    assert heads[str(first.uuid)][0] == Case.objects.get(pk=first.pk).event_seq


def test_the_next_anchor_looks_again_at_cases_written_just_before_the_last(
    db: None, store: DirectoryAnchorStore, applicant: User
) -> None:
    """An event that commits just after an anchor, with an id below the anchor's last one, was
    written shortly before it: the next anchor revisits the cases written in that window."""
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        old = submitted_case(applicant)
    recent = submitted_case(applicant)
    first = anchor_chains(now=timezone.now() + timedelta(minutes=1), store=store)
    assert first is not None and {h[0] for h in first.heads} == {str(old.uuid), str(recent.uuid)}
    assert anchor_chains(now=timezone.now() + timedelta(minutes=2), store=store) is None
    new = submitted_case(applicant)
    second = anchor_chains(now=timezone.now() + timedelta(minutes=2), store=store)
    assert second is not None
    assert {h[0] for h in second.heads} == {str(recent.uuid), str(new.uuid)}


def test_the_store_never_overwrites_an_anchor(tmp_path: Path) -> None:
    store = DirectoryAnchorStore(tmp_path)
    store.write("00000001.json", b"{}")
    with pytest.raises(FileExistsError):
        store.write("00000001.json", b"{}")
    assert store.read("00000001.json") == b"{}"


def test_the_merkle_root_depends_on_every_leaf_and_their_order() -> None:
    leaves = [b"a", b"b", b"c"]
    assert merkle_root(leaves) != merkle_root([b"a", b"b", b"d"])
    assert merkle_root(leaves) != merkle_root([b"b", b"a", b"c"])
    assert merkle_root(leaves) == merkle_root(list(leaves))


def _rewrite(store: DirectoryAnchorStore, name: str, change: Any) -> None:
    path = store.path / name
    body = json.loads(path.read_bytes())
    change(body)
    path.chmod(0o644)
    path.write_text(json.dumps(body, sort_keys=True, separators=(",", ":")))


def test_an_anchor_with_a_bad_signature_is_refused(
    db: None, store: DirectoryAnchorStore, applicant: User
) -> None:
    submitted_case(applicant)
    anchor = anchor_chains(now=later(), store=store)
    assert anchor is not None
    _rewrite(store, anchor.name, lambda body: body["heads"][0].__setitem__(2, "0" * 64))
    with pytest.raises(AnchorError, match=r"bad signature|do not match"):
        read_anchors(store)


def test_an_anchor_signed_with_an_untrusted_key_is_refused(
    db: None, store: DirectoryAnchorStore, applicant: User, settings: Any
) -> None:
    submitted_case(applicant)
    raw = Ed25519PrivateKey.generate().private_bytes_raw()
    settings.AUDIT_ANCHOR_SIGNING_KEY = base64.b64encode(raw).decode()
    anchor = anchor_chains(now=later(), store=store)  # signed by "someone else"
    assert anchor is not None
    settings.AUDIT_ANCHOR_SIGNING_KEY = base64.b64encode(b"\x07" * 32).decode()
    with pytest.raises(AnchorError, match="not trusted"):
        read_anchors(store)
    settings.AUDIT_ANCHOR_PUBLIC_KEYS = [anchor.public_key]  # rotated: the old key trusted
    assert [a.name for a in read_anchors(store)] == [anchor.name]


def test_a_removed_anchor_breaks_the_anchors_own_chain(
    db: None, store: DirectoryAnchorStore, applicant: User, reviewer: User
) -> None:
    case = submitted_case(applicant)
    first = anchor_chains(now=later(), store=store)
    services.case_claim(case=case, actor=reviewer)
    assert first is not None and anchor_chains(now=later(20), store=store) is not None
    (store.path / first.name).chmod(0o644)
    (store.path / first.name).unlink()
    with pytest.raises(AnchorError, match="does not follow"):
        read_anchors(store)
