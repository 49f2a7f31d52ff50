"""The audit trail: the only writer of CaseEvent and of AccessLog (who read which personal
data), and the verifier of the events' hash chains.

Each event's hash is SHA-256 over the previous event's hash and a canonical JSON serialization of
every recorded field, so changing, removing or inserting an event breaks the chain. The case row
keeps the head of its chain (sequence number and hash), moved in the same transaction, so an event
appended behind our back does not match the head either.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cases.actors import Actor, actor_label, actor_type, is_user
from cases.models import AccessLog, Case, CaseEvent, Document

GENESIS_HASH = "0" * 64


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


class AuditChainForked(Exception):
    """Two writers tried to extend one case's chain at once; the transaction must not commit."""


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_payload(
    *,
    case_uuid: str,
    seq: int,
    event_type: str,
    actor_type: str,
    actor_user_id: int | None,
    actor_label: str,
    from_state: str,
    to_state: str,
    reason_codes: Sequence[str],
    message: str,
    data: Any,
    file_sha256: str,
    created_at: datetime,
) -> bytes:
    body = {
        "case": str(case_uuid),
        "seq": seq,
        "type": event_type,
        "actor_type": actor_type,
        "actor_user": actor_user_id,
        "actor": actor_label,
        "from": from_state,
        "to": to_state,
        "reasons": list(reason_codes),
        "message": message,
        "data": data,
        "file_sha256": file_sha256,
        "at": _timestamp(created_at),
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def chain_hash(prev_hash: str, payload: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + payload).hexdigest()


def event_hash(event: CaseEvent, *, case_uuid: str, prev_hash: str) -> str:
    payload = canonical_payload(
        case_uuid=case_uuid,
        seq=event.seq,
        event_type=event.event_type,
        actor_type=event.actor_type,
        actor_user_id=event.actor_user_id,
        actor_label=event.actor_label,
        from_state=event.from_state,
        to_state=event.to_state,
        reason_codes=event.reason_codes,
        message=event.message,
        data=event.data,
        file_sha256=event.file_sha256,
        created_at=event.created_at,
    )
    return chain_hash(prev_hash, payload)


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


def _verify_one(case: Case, events: Iterable[CaseEvent]) -> tuple[int, BrokenLink | None]:
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    ref = case.reference or str(case.uuid)
    for event in events:
        count += 1
        if event.seq != expected_seq:
            problem = _("expected event #%(want)s, found #%(got)s (an event is missing)") % {
                "want": expected_seq,
                "got": event.seq,
            }
            return count, BrokenLink(case.pk, ref, expected_seq, problem)
        if event.prev_hash != prev_hash:
            problem = _("its previous-hash does not match the event before it")
            return count, BrokenLink(case.pk, ref, event.seq, problem)
        if event_hash(event, case_uuid=str(case.uuid), prev_hash=prev_hash) != event.hash:
            problem = _("its content does not match its hash (the event was altered)")
            return count, BrokenLink(case.pk, ref, event.seq, problem)
        prev_hash, expected_seq = event.hash, expected_seq + 1
    last = expected_seq - 1
    if last < case.event_seq:
        problem = _("the chain ends at #%(last)s but the case recorded #%(head)s") % {
            "last": last,
            "head": case.event_seq,
        }
        return count, BrokenLink(case.pk, ref, expected_seq, problem)
    if last > case.event_seq:
        problem = _(
            "the chain runs to #%(last)s but the case recorded #%(head)s "
            "(an event was added outside the application)"
        ) % {"last": last, "head": case.event_seq}
        return count, BrokenLink(case.pk, ref, case.event_seq + 1, problem)
    if last and prev_hash != case.event_head:
        problem = _("its hash is not the one the case recorded (the event was replaced)")
        return count, BrokenLink(case.pk, ref, last, problem)
    return count, None


def _events_by_case(case_ids: list[int]) -> Iterator[tuple[int, list[CaseEvent]]]:
    events = CaseEvent.objects.filter(case_id__in=case_ids).order_by("case_id", "seq")
    batch: dict[int, list[CaseEvent]] = {case_id: [] for case_id in case_ids}
    for event in events:
        batch[event.case_id].append(event)
    yield from batch.items()


def verify_audit_chains(*, case: Case | None = None, batch_size: int = 500) -> ChainReport:
    """Check every case's chain (or one case's). Reads only; returns what it found."""
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
            count, broken = _verify_one(by_id[case_id], events)
            report.events_checked += count
            if broken:
                report.broken.append(broken)
        report.cases_checked += len(page)
        last_pk = page[-1].pk
    return report
