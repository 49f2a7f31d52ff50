"""Verifying every audit chain against the signed anchors, recording each run, and telling the
supervisors and auditors when a history no longer proves itself (DESIGN §7).

A run checks each case's chain (keys, links, order, the head on the case row) and, for each case
an anchor names, that its history still holds the anchored event: a history edited and re-chained
with recomputed hashes, truncated, or deleted entirely is named. It reads the database from one
snapshot, and the anchors from their store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Min, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from cases.audit import ChainReport, verify_audit_chains
from cases.compliance.anchors import (
    Anchor,
    AnchorError,
    AnchorStore,
    anchored_heads,
    read_anchors,
)
from cases.models import Case, CaseEvent, ChainVerification

log = logging.getLogger(__name__)
BATCH = 2000


@dataclass
class AnchoredReport:
    """A chain report, with what the anchors say and which anchored cases are gone."""

    chains: ChainReport
    anchors: list[Anchor] = field(default_factory=list)
    anchor_error: str = ""
    gone: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chains.ok and not self.anchor_error and not self.gone

    @property
    def problems(self) -> list[str]:
        found = [str(link) for link in self.chains.broken or []]
        found += [
            _("%(case)s: the case and its whole history are gone from the database") % {"case": u}
            for u in self.gone
        ]
        if self.anchor_error:
            found.insert(0, self.anchor_error)
        return found


def _gone(uuids: list[str]) -> list[str]:
    """The anchored case UUIDs that no longer exist in the database."""
    missing: list[str] = []
    for start in range(0, len(uuids), BATCH):
        batch = uuids[start : start + BATCH]
        present = {
            str(u) for u in Case.objects.filter(uuid__in=batch).values_list("uuid", flat=True)
        }
        missing += [u for u in batch if u not in present]
    return missing


def _first_keyed_event(anchors: list[Anchor]) -> int | None:
    """The id of the first keyed event: unkeyed events may only come before it. The anchors
    remember it even if every keyed event after it were rewritten."""
    known = [a.first_keyed_event for a in anchors if a.first_keyed_event is not None]
    in_database = CaseEvent.objects.filter(~Q(key_id="")).aggregate(first=Min("id"))["first"]
    candidates = [*known, *([in_database] if in_database is not None else [])]
    return min(candidates) if candidates else None


def load_anchors(store: AnchorStore | None = None) -> tuple[list[Anchor], str]:
    """The anchors of the store, checked, and "" ; or none and why they cannot be trusted."""
    try:
        return read_anchors(store), ""
    except AnchorError as exc:
        return [], str(exc)


def verify_against_anchors(
    *,
    case: Case | None = None,
    store: AnchorStore | None = None,
    against: str | None = None,
    loaded: tuple[list[Anchor], str] | None = None,
) -> AnchoredReport:
    """Every chain (or one case's) checked, and against the anchors up to `against` (an anchor's
    name; by default the latest). `loaded` (from load_anchors) spares reading the store again
    when many cases are checked one by one. Reads only."""
    anchors, anchor_error = loaded if loaded is not None else load_anchors(store)
    if against is not None and not anchor_error:
        names = [anchor.name for anchor in anchors]
        if against not in names:
            anchor_error = _("There is no anchor named %(name)s.") % {"name": against}
            anchors = []
        else:
            anchors = anchors[: names.index(against) + 1]
    heads = anchored_heads(anchors)
    if case is not None:
        heads = {u: h for u, h in heads.items() if u == str(case.uuid)}
    chains = verify_audit_chains(
        case=case, anchored=heads, legacy_before=_first_keyed_event(anchors)
    )
    return AnchoredReport(
        chains=chains, anchors=anchors, anchor_error=anchor_error, gone=_gone(sorted(heads))
    )


def verify_in_one_snapshot(
    *, case: Case | None = None, store: AnchorStore | None = None, against: str | None = None
) -> AnchoredReport:
    """As verify_against_anchors, reading every chain from one snapshot, so an event appended
    while we read is not taken for one added behind the application's back."""
    if connection.in_atomic_block:
        # Inside someone else's transaction (tests, shells): that transaction is the snapshot.
        return verify_against_anchors(case=case, store=store, against=against)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Must be the transaction's first statement. A read-only snapshot blocks no writer.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # On SQLite the (IMMEDIATE) transaction holds the write lock while we read: writers
        # wait, up to the configured timeout, instead of changing chains under the check.
        return verify_against_anchors(case=case, store=store, against=against)


def chain_verification_run(*, requested_by: User | None = None) -> ChainVerification:
    """Verify every chain against the anchors and record the run; on a break, e-mail the
    supervisors and the auditors once.

    Side effects: one ChainVerification row; e-mails on a break (after the row is written).
    """
    started = timezone.now()
    report = verify_in_one_snapshot()
    latest = report.anchors[-1] if report.anchors else None
    run = ChainVerification.objects.create(
        started_at=started,
        finished_at=timezone.now(),
        requested_by=requested_by,
        cases_checked=report.chains.cases_checked,
        events_checked=report.chains.events_checked,
        anchors_checked=len(report.anchors),
        anchor_name=latest.name if latest else "",
        anchored_at=latest.created_at if latest else None,
        ok=report.ok,
        problems=report.problems,
    )
    if not run.ok:
        log.error("audit chain verification %s found %d problems", run.pk, len(run.problems))
        _alert(run)
    return run


def _alert(run: ChainVerification) -> None:
    """One e-mail to each supervisor and auditor, in their language."""
    holds = Q(groups__permissions__codename="view_all_cases") | Q(
        user_permissions__codename="view_all_cases"
    )
    people = User.objects.filter(holds, is_active=True).exclude(email="").distinct()
    for person in people:
        with translation.override(person.preferred_language):
            subject = ngettext(
                "[kycreview] The audit trail verification found %(n)d problem",
                "[kycreview] The audit trail verification found %(n)d problems",
                len(run.problems),
            ) % {"n": len(run.problems)}
            body = render_to_string("emails/audit_alert.txt", {"run": run, "person": person})
        send_mail(subject, body, None, [person.email])
    run.alerted_at = timezone.now()
    ChainVerification.objects.filter(pk=run.pk).update(alerted_at=run.alerted_at)
