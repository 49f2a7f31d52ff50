"""The chain's format in plain Python (cases/compliance/chain.py): what it finds wrong, and the
same file run on its own as an evidence pack's verifier."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cases.compliance import chain

KEYS = {"k1": b"secret-one"}


def events(n: int = 4, *, keyed_from: int = 1) -> list[dict[str, Any]]:
    """`n` events of one case, unkeyed before `keyed_from`, keyed (k1) from it on."""
    built: list[dict[str, Any]] = []
    prev = chain.GENESIS_HASH
    for seq in range(1, n + 1):
        event: dict[str, Any] = {
            "case": "c0ffee00-0000-0000-0000-000000000001",
            "seq": seq,
            "type": "submitted",
            "actor_type": "user",
            "actor_user": 7,
            "actor": "a@example.com",
            "from": "draft",
            "to": "submitted",
            "reasons": [],
            "message": f"step {seq} 中文",
            "data": {"n": seq},
            "file_sha256": "",
            "at": f"2026-03-1{seq}T02:00:00.000000+00:00",
            "prev_hash": prev,
        }
        if seq >= keyed_from:
            event["key"] = "k1"
        key = KEYS["k1"] if seq >= keyed_from else None
        event["hash"] = chain.chain_hash(prev, chain.canonical(event), key)
        built.append(event)
        prev = event["hash"]
    return built


def test_an_intact_chain_has_no_broken_link() -> None:
    assert chain.check_chain(events(keyed_from=3), KEYS) is None


def test_each_kind_of_damage_is_named_at_its_event() -> None:
    removed = events()
    del removed[1]
    assert chain.check_chain(removed, KEYS) == (2, chain.MISSING)
    altered = events()
    altered[2]["message"] = "changed"
    assert chain.check_chain(altered, KEYS) == (3, chain.ALTERED)
    relinked = events()
    relinked[2]["prev_hash"] = "f" * 64
    assert chain.check_chain(relinked, KEYS) == (3, chain.LINK)
    assert chain.check_chain(events(), {"other": b"x"}) == (1, chain.UNKNOWN_KEY)


def test_a_chain_recomputed_without_the_key_is_a_downgrade() -> None:
    """Rewriting keyed events needs the key; redoing them as plain SHA-256 is caught."""
    forged = events(keyed_from=2)
    forged[2].pop("key")
    forged[2]["message"] = "rewritten"
    forged[2]["hash"] = chain.chain_hash(forged[1]["hash"], chain.canonical(forged[2]))
    assert chain.check_chain(forged, KEYS) == (3, chain.DOWNGRADE)


def test_a_wrong_key_or_a_guessed_one_does_not_verify() -> None:
    assert chain.check_chain(events(), {"k1": b"guess"}) == (1, chain.ALTERED)


def run_script(
    tmp_path: Path, pack: dict[str, Any], *keys: str
) -> subprocess.CompletedProcess[str]:
    """The chain module run by itself with a plain Python, as a pack's reader runs it."""
    (tmp_path / "events.json").write_text(json.dumps(pack), encoding="utf-8")
    script = tmp_path / "verify_chain.py"
    script.write_text(Path(chain.__file__).read_text(encoding="utf-8"), encoding="utf-8")
    args = [sys.executable, "-I", str(script), str(tmp_path / "events.json")]
    for key in keys:
        args += ["--key", key]
    return subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, check=False)


@pytest.mark.parametrize("keys", [(), ("k1=secret-one",)])
def test_the_module_alone_verifies_a_pack_and_names_a_break(tmp_path: Path, keys: Any) -> None:
    history = events()
    good: dict[str, Any] = {
        "case": "KYC-1",
        "events": history,
        "anchored_head": {"seq": 4, "hash": history[-1]["hash"]},
    }
    ok = run_script(tmp_path, good, *keys)
    assert ok.returncode == 0 and ok.stdout.startswith("OK KYC-1: 4 events"), ok.stderr
    truncated = {**good, "events": history[:3]}
    broken = run_script(tmp_path, truncated, *keys)
    assert broken.returncode == 1 and "BROKEN KYC-1: event #4" in broken.stdout


def test_with_the_key_the_script_also_catches_an_edit_that_kept_the_links(tmp_path: Path) -> None:
    edited = events()
    edited[1]["message"] = "edited, links untouched"
    pack = {"case": "KYC-2", "events": edited}
    assert run_script(tmp_path, pack).returncode == 0  # without the key: links and order only
    with_key = run_script(tmp_path, pack, "k1=secret-one")
    assert with_key.returncode == 1 and "event #2: altered" in with_key.stdout
