"""The audit trail: the only writer of CaseEvent and of AccessLog (who read which personal
data), and the verifier of the events' hash chains.

Each event's hash is HMAC-SHA-256, under a key the database does not hold (AUDIT_CHAIN_KEYS; the
event records the key's id), over the previous event's hash and a canonical JSON serialization
of every recorded field (cases/compliance/chain.py), so changing, removing or inserting an event
breaks the chain, and recomputing it needs the key. Events written before the keyed chain keep
their plain SHA-256. The case row keeps the head of its chain (sequence number and hash), moved in
the same transaction, so an event appended behind our back does not match the head either; the
signed anchors outside the database (cases/compliance/anchors.py) catch the rest.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cases.actors import Actor, actor_label, actor_type, is_user
from cases.compliance import chain
from cases.compliance.chain import GENESIS_HASH, canonical, chain_hash
from cases.models import AccessLog, Case, CaseEvent, Document


def client_ip(meta: Mapping[str, Any]) -> str | None:
    """Where a request came from, for the access log and the sign-in history.

    Behind TRUSTED_PROXIES reverse proxies, each appends the address it saw to
    X-Forwarded-For, so the client is that many entries from the right; anything further left
    was written by the client and is not believed. Without proxies: REMOTE_ADDR. Not an IP
    address: None.
    """
    address = meta.get("REMOTE_ADDR") or ""
    proxies = int(settings.TRUSTED_PROXIES)
    if proxies > 0:
        forwarded = [a.strip() for a in str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    return _ip_only(address.strip())


def _ip_only(address: str) -> str | None:
    """ "1.2.3.4", "1.2.3.4:5678", "[2001:db8::1]:443" → the address; IPv4-mapped IPv6 as IPv4."""
    if address.startswith("[") and "]" in address:
        address = address[1 : address.index("]")]
    elif address.count(":") == 1:
        address = address.split(":", 1)[0]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    mapped = getattr(parsed, "ipv4_mapped", None)
    return str(mapped or parsed)


def record_access(
    *,
    user: User,
    kind: str,
    ip: str | None,
    case: Case | None = None,
    document: Document | None = None,
    detail: str = "",
) -> AccessLog:
    """One read of personal data (DESIGN §7): who, what, when, from where."""
    return AccessLog.objects.create(
        user=user, kind=kind, case=case, document=document, detail=detail, ip=ip or None
    )


def record_accesses(
    *, user: User, kind: str, ip: str | None, case_ids: Iterable[int], detail: str = ""
) -> int:
    """The same read of many cases at once (a bulk evidence export): one row per case."""
    rows = AccessLog.objects.bulk_create(
        AccessLog(user=user, kind=kind, case_id=case_id, detail=detail, ip=ip or None)
        for case_id in case_ids
    )
    return len(rows)


class AuditChainForked(Exception):
    """Two writers tried to extend one case's chain at once; the transaction must not commit."""


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class UnknownChainKey(KeyError):
    """An event names a chain key that AUDIT_CHAIN_KEYS does not hold."""


@functools.lru_cache(maxsize=4)
def _parse_keys(entries: tuple[str, ...]) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for entry in entries:
        key_id, _colon, secret = entry.partition(":")
        if not key_id or not secret or len(key_id) > 40:
            raise ImproperlyConfigured(
                "AUDIT_CHAIN_KEYS holds id:secret pairs (an id of at most 40 characters)."
            )
        keys[key_id] = secret.encode()
    if not keys:
        raise ImproperlyConfigured("AUDIT_CHAIN_KEYS is empty: set at least one id:secret pair.")
    return keys


def chain_keys() -> dict[str, bytes]:
    """The configured chain keys by id, the current one (which keys new events) first."""
    return _parse_keys(tuple(settings.AUDIT_CHAIN_KEYS))


def event_document(event: CaseEvent, *, case_uuid: str) -> dict[str, Any]:
    """The event in the chain's own format (cases/compliance/chain.py), as evidence packs carry
    it and as its hash covers it."""
    document: dict[str, Any] = {
        "case": str(case_uuid),
        "seq": event.seq,
        "type": event.event_type,
        "actor_type": event.actor_type,
        "actor_user": event.actor_user_id,
        "actor": event.actor_label,
        "from": event.from_state,
        "to": event.to_state,
        "reasons": list(event.reason_codes),
        "message": event.message,
        "data": event.data,
        "file_sha256": event.file_sha256,
        "at": _timestamp(event.created_at),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
    if event.key_id:
        document["key"] = event.key_id
    return document


def event_hash(event: CaseEvent, *, case_uuid: str, prev_hash: str) -> str:
    """The hash `event` should carry after `prev_hash`: HMAC-SHA-256 under its key, or plain
    SHA-256 for an event written before the keyed chain. UnknownChainKey if its key is gone."""
    key = None
    if event.key_id:
        try:
            key = chain_keys()[event.key_id]
        except KeyError as exc:
            raise UnknownChainKey(event.key_id) from exc
    return chain_hash(prev_hash, canonical(event_document(event, case_uuid=case_uuid)), key)


def record_case_event(
    *,
    case: Case,
    event_type: str,
    actor: Actor,
    from_state: str = "",
    to_state: str = "",
    reason_codes: Iterable[str] = (),
    message: str = "",
    data: dict[str, Any] | None = None,
    file_sha256: str = "",
    now: datetime | None = None,
) -> CaseEvent:
    """Append one event to the case's chain. Must run inside the caller's transaction, with the
    case row locked (services do both), so the chain cannot fork.

    Side effects: inserts a CaseEvent and moves the chain head on the case row.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("record_case_event must run inside the transaction of the change.")
    # JSON round-trip now, so the hash covers exactly what the database will give back.
    data = json.loads(json.dumps(data or {}, sort_keys=True, default=str))
    event = CaseEvent(
        case=case,
        seq=case.event_seq + 1,
        event_type=str(event_type),
        actor_type=str(actor_type(actor)),
        actor_user=actor if is_user(actor) else None,
        actor_label=actor_label(actor),
        from_state=str(from_state),
        to_state=str(to_state),
        reason_codes=[str(code) for code in reason_codes],
        message=message,
        data=data,
        file_sha256=file_sha256,
        created_at=now or timezone.now(),
        prev_hash=case.event_head or GENESIS_HASH,
        key_id=next(iter(chain_keys())),
    )
    event.hash = event_hash(event, case_uuid=str(case.uuid), prev_hash=event.prev_hash)
    event.save()
    moved = Case.objects.filter(pk=case.pk, event_seq=case.event_seq).update(
        event_seq=event.seq, event_head=event.hash
    )
    if moved != 1:
        raise AuditChainForked(f"The audit chain of case {case} moved under this transaction.")
    case.event_seq, case.event_head = event.seq, event.hash
    return event


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenLink:
    case_id: int
    case_reference: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return _("%(case)s: first broken link at event #%(seq)s: %(problem)s") % {
            "case": self.case_reference,
            "seq": self.seq,
            "problem": self.problem,
        }


@dataclass
class ChainReport:
    cases_checked: int = 0
    events_checked: int = 0
    broken: list[BrokenLink] | None = None

    @property
    def ok(self) -> bool:
        return not self.broken


def _problem(code: str) -> str:
    return {
        chain.LINK: _("its previous-hash does not match the event before it"),
        chain.ALTERED: _("its content does not match its hash (the event was altered)"),
        chain.UNKNOWN_KEY: _("it was hashed with a chain key that is not configured"),
        chain.DOWNGRADE: _(
            "it is hashed without a key after keyed events (rewritten with a plain hash)"
        ),
    }[code]


def _verify_one(
    case: Case,
    events: list[CaseEvent],
    *,
    anchored: tuple[int, str] | None = None,
    legacy_before: int | None = None,
) -> tuple[int, BrokenLink | None]:
    ref = case.reference or str(case.uuid)
    documents = [event_document(event, case_uuid=str(case.uuid)) for event in events]
    broken = chain.check_chain(documents, chain_keys())
    late_plain = next(
        (e.seq for e in events if not e.key_id and legacy_before and e.id > legacy_before), None
    )
    if broken is None and late_plain is not None:
        broken = (late_plain, chain.DOWNGRADE)
    if broken is not None:
        seq, code = broken
        if code == chain.MISSING:
            got = next((e.seq for e in events if e.seq >= seq), seq)
            problem = _("expected event #%(want)s, found #%(got)s (an event is missing)") % {
                "want": seq,
                "got": got,
            }
        else:
            problem = _problem(code)
        return len(events), BrokenLink(case.pk, ref, seq, problem)
    last = len(events)
    prev_hash = events[-1].hash if events else GENESIS_HASH
    if last < case.event_seq:
        problem = _("the chain ends at #%(last)s but the case recorded #%(head)s") % {
            "last": last,
            "head": case.event_seq,
        }
        return len(events), BrokenLink(case.pk, ref, last + 1, problem)
    if last > case.event_seq:
        problem = _(
            "the chain runs to #%(last)s but the case recorded #%(head)s "
            "(an event was added outside the application)"
        ) % {"last": last, "head": case.event_seq}
        return len(events), BrokenLink(case.pk, ref, case.event_seq + 1, problem)
    if last and prev_hash != case.event_head:
        problem = _("its hash is not the one the case recorded (the event was replaced)")
        return len(events), BrokenLink(case.pk, ref, last, problem)
    if anchored is not None:
        return len(events), _against_anchor(case, ref, events, anchored)
    return len(events), None


def _against_anchor(
    case: Case, ref: str, events: list[CaseEvent], anchored: tuple[int, str]
) -> BrokenLink | None:
    """The anchored head must still be in the history: same sequence number, same hash."""
    seq, digest = anchored
    if not events:
        problem = _("every event was deleted; the anchor holds #%(seq)s") % {"seq": seq}
        return BrokenLink(case.pk, ref, seq, problem)
    if len(events) < seq:
        problem = _(
            "the history ends at #%(last)s, before the anchored event #%(seq)s (truncated)"
        ) % {"last": len(events), "seq": seq}
        return BrokenLink(case.pk, ref, len(events) + 1, problem)
    if events[seq - 1].hash != digest:
        problem = _(
            "it is not the event the anchor holds: the history was rewritten (even if every "
            "hash was recomputed)"
        )
        return BrokenLink(case.pk, ref, seq, problem)
    return None


def _events_by_case(case_ids: list[int]) -> Iterator[tuple[int, list[CaseEvent]]]:
    events = CaseEvent.objects.filter(case_id__in=case_ids).order_by("case_id", "seq")
    batch: dict[int, list[CaseEvent]] = {case_id: [] for case_id in case_ids}
    for event in events:
        batch[event.case_id].append(event)
    yield from batch.items()


def verify_audit_chains(
    *,
    case: Case | None = None,
    batch_size: int = 500,
    anchored: Mapping[str, tuple[int, str]] | None = None,
    legacy_before: int | None = None,
) -> ChainReport:
    """Check every case's chain (or one case's): order, links, hashes, keys, the head the case
    row recorded, and, for the cases in `anchored` (UUID → anchored seq and hash), that the
    anchored event is still there. An unkeyed event with an id above `legacy_before` (the first
    keyed event) was written with a plain hash after the keyed chain began. Reads only."""
    report = ChainReport(broken=[])
    assert report.broken is not None
    cases = Case.objects.order_by("pk").only("pk", "uuid", "reference", "event_seq", "event_head")
    if case is not None:
        cases = cases.filter(pk=case.pk)
    last_pk = 0
    while True:
        page = list(cases.filter(pk__gt=last_pk)[:batch_size])
        if not page:
            break
        by_id = {c.pk: c for c in page}
        for case_id, events in _events_by_case(list(by_id)):
            current = by_id[case_id]
            count, broken = _verify_one(
                current,
                events,
                anchored=(anchored or {}).get(str(current.uuid)),
                legacy_before=legacy_before,
            )
            report.events_checked += count
            if broken:
                report.broken.append(broken)
        report.cases_checked += len(page)
        last_pk = page[-1].pk
    return report
