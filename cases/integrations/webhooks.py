"""Signed webhooks to the integration that created a case, through the outbox like the e-mails.

Every change of state of a case created by an integration writes one WebhookDelivery row per
active subscription that wants the event, in the same transaction as the event (cases/outbox.py
calls `webhook_deliveries_create`). After commit the Celery task `cases.deliver_webhook` tries it
once; failures are retried with exponential back-off by the periodic sweep
`cases.webhooks_deliver_due` over `next_attempt_at` (never a long countdown, DESIGN §5), until
delivered or WEBHOOK_RETRY_HOURS old. The delivery id is the event id receivers
dedup on: every attempt of one delivery carries the same id, and per case and subscription an
event is never sent while an earlier one is still pending, so `sequence` only goes up.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.actors import Actor, actor_label
from cases.enqueue import DELIVER_WEBHOOK, enqueue_on_commit
from cases.models import (
    CaseEvent,
    DeliveryStatus,
    ExternalApplicant,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from cases.states import WEBHOOK_EVENTS, EventType

log = logging.getLogger(__name__)

USER_AGENT = "kycreview-webhooks/1"
# A claim older than this belongs to a worker that died mid-attempt; longer than any attempt.
CLAIM_EXPIRES = timedelta(minutes=2)
FIRST_BACKOFF = timedelta(seconds=10)
MAX_BACKOFF = timedelta(hours=1)
# How long a delivery waits, at least, for an earlier event of its case to go out first.
ORDER_WAIT = timedelta(seconds=5)
SWEEP_BATCH = 100
# We only need the status line; a receiver's body is read no further than this.
MAX_RESPONSE_BYTES = 4096


def _disclosed_codes(event: CaseEvent) -> list[str]:
    """The API's rule (the wallet may pass the reasons on to the applicant: no tipping-off);
    only a freeze needs the catalogue."""
    if event.event_type != EventType.FROZEN:
        return list(event.reason_codes)
    return [reason.code for reason in event.reasons_told()]


def webhook_deliveries_create(event: CaseEvent) -> list[WebhookDelivery]:
    """Inside the event's transaction: one delivery per subscription of the case's integration
    that wants this change of state (the outbox tries each after commit).

    Side effects: WebhookDelivery rows.
    """
    case = event.case
    changed = event.from_state != event.to_state and event.event_type in WEBHOOK_EVENTS
    if not changed or not case.integration:
        return []
    subscriptions = [
        subscription
        for subscription in WebhookSubscription.objects.filter(
            integration__name=case.integration, integration__is_active=True, is_active=True
        ).order_by("pk")
        if subscription.wants(event.event_type)
    ]
    if not subscriptions:
        return []
    external_id = (
        ExternalApplicant.objects.filter(
            integration__name=case.integration, user_id=case.applicant_id
        )
        .values_list("external_id", flat=True)
        .first()
    )
    now = timezone.now()
    deliveries = []
    for subscription in subscriptions:
        delivery = WebhookDelivery(
            subscription=subscription,
            event=event,
            case=case,
            seq=event.seq,
            created_at=now,
            next_attempt_at=now,
        )
        delivery.payload = webhook_payload(delivery, external_id=external_id)
        delivery.save()
        deliveries.append(delivery)
    return deliveries


def webhook_payload(delivery: WebhookDelivery, *, external_id: str | None) -> dict[str, Any]:
    """What the receiver reads: the change of state, never notes or personal data."""
    event, case = delivery.event, delivery.case
    return {
        "id": str(delivery.delivery_id),
        "type": event.event_type,
        "created_at": event.created_at.isoformat(),
        "case": {
            "id": str(case.uuid),
            "reference": case.reference,
            "state": event.to_state,
            "program": case.program.code,
            "external_id": external_id,
        },
        "sequence": event.seq,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "reason_codes": _disclosed_codes(event),
    }


# --- Signing ---------------------------------------------------------------------------------


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent, and signed."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 over `<timestamp>.<body>`: a replayed body with a new timestamp
    does not verify."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def webhook_headers(*, delivery: WebhookDelivery, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Kycreview-Event-Id": str(delivery.delivery_id),
        "X-Kycreview-Timestamp": str(timestamp),
        "X-Kycreview-Signature": webhook_signature(
            secret=delivery.subscription.secret, timestamp=timestamp, body=body
        ),
    }


# --- Delivery --------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a place to go: it is recorded as a failed attempt (the
    signed body never follows it to another host)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def webhook_host_allowed(url: str) -> bool:
    """Whether `url` points outside this machine and its private networks (no SSRF into our own
    Redis, database or a cloud metadata service), unless WEBHOOK_ALLOW_PRIVATE_HOSTS is on (tests,
    a receiver on the same private network)."""
    if settings.WEBHOOK_ALLOW_PRIVATE_HOSTS:
        return True
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return False
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
            or address.is_unspecified
        ):
            return False
    return True


def _post(url: str, *, body: bytes, headers: dict[str, str]) -> _Outcome:
    started = time.perf_counter()
    status_code: int | None = None
    error = ""
    if urlsplit(url).scheme not in ("http", "https"):
        error = _("Only http and https URLs can receive webhooks.")
    elif not webhook_host_allowed(url):
        error = _("The receiver's address is internal to this network; webhooks go elsewhere.")
    else:
        # The scheme was checked just above: http and https only.
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
                response.read(MAX_RESPONSE_BYTES)
                status_code = response.status
        except urllib.error.HTTPError as exc:
            status_code = exc.code
            error = f"HTTP {exc.code} {exc.reason}"
            exc.close()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # URLError (refused, DNS, TLS) and timeouts are OSErrors.
            error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    elapsed = round((time.perf_counter() - started) * 1000)
    return _Outcome(status_code=status_code, error=error[:300], duration_ms=elapsed)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 10 s, 20 s, 40 s … at most an hour."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def _claim(delivery_pk: int, now: datetime) -> bool:
    return (
        WebhookDelivery.objects.filter(
            Q(claimed_at=None) | Q(claimed_at__lt=now - CLAIM_EXPIRES),
            pk=delivery_pk,
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now,
        ).update(claimed_at=now)
        == 1
    )


def _earlier_pending(delivery: WebhookDelivery) -> WebhookDelivery | None:
    return (
        WebhookDelivery.objects.filter(
            subscription_id=delivery.subscription_id,
            case_id=delivery.case_id,
            seq__lt=delivery.seq,
            status=DeliveryStatus.PENDING,
        )
        .order_by("seq")
        .first()
    )


def webhook_deliver(*, delivery_pk: int) -> bool:
    """Try one due delivery once. Returns whether this call delivered it.

    Side effects: claims the row; one HTTP POST to the subscription's URL and one WebhookAttempt
    row; the row is marked delivered, or scheduled for its next try (or given up when older than
    WEBHOOK_RETRY_HOURS); the claim is released. A row that is not due, not pending or claimed by
    another worker is left alone, and one whose case has an earlier event still pending waits.
    """
    now = timezone.now()
    if not _claim(delivery_pk, now):
        return False
    mine = WebhookDelivery.objects.filter(pk=delivery_pk, claimed_at=now)
    delivery = WebhookDelivery.objects.select_related("subscription__integration").get(
        pk=delivery_pk
    )
    earlier = _earlier_pending(delivery)
    if earlier is not None:
        # Per case, events go out in sequence: wait for the earlier one's next try.
        later = max(now + ORDER_WAIT, earlier.next_attempt_at or now)
        mine.update(claimed_at=None, next_attempt_at=later)
        return False
    subscription = delivery.subscription
    if not (subscription.is_active and subscription.integration.is_active):
        mine.update(
            claimed_at=None,
            status=DeliveryStatus.FAILED,
            next_attempt_at=None,
            last_error=_("The subscription was switched off before this event was sent."),
        )
        return False
    timestamp = int(now.timestamp())
    body = webhook_body(delivery.payload)
    outcome = _post(
        subscription.url,
        body=body,
        headers=webhook_headers(delivery=delivery, body=body, timestamp=timestamp),
    )
    _record(delivery, outcome, claim=now)
    return outcome.ok


def _record(delivery: WebhookDelivery, outcome: _Outcome, *, claim: datetime) -> None:
    """Write the attempt and the row's next step together, releasing the claim."""
    now = timezone.now()
    attempts = delivery.attempts + 1
    fields: dict[str, Any] = {
        "claimed_at": None,
        "attempts": F("attempts") + 1,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    # A failure is written only while the claim is still ours (a worker that outlived
    # CLAIM_EXPIRES lost it to another); a success is a success whoever holds the claim now.
    row = Q(claimed_at=claim)
    if outcome.ok:
        fields |= {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "next_attempt_at": None}
        row = Q(status=DeliveryStatus.PENDING)
    elif now - delivery.created_at >= timedelta(hours=settings.WEBHOOK_RETRY_HOURS):
        fields |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
        log.warning("webhook %s given up after %s attempts", delivery.delivery_id, attempts)
    else:
        fields["next_attempt_at"] = now + backoff(attempts)
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
        WebhookDelivery.objects.filter(row, pk=delivery.pk).update(**fields)


def webhooks_deliver_due() -> int:
    """The periodic sweep: try every pending delivery that is due, earliest event of each case
    first. Returns how many were delivered.

    Side effects: as `webhook_deliver`, for at most SWEEP_BATCH rows, one after another.
    """
    due = list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("case_id", "seq", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    delivered = 0
    for delivery_pk in due:
        try:
            delivered += webhook_deliver(delivery_pk=delivery_pk)
        except Exception:
            log.exception("webhook sweep: delivery %s failed", delivery_pk)
    return delivered


def webhook_redeliver(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Send a delivered or given-up event again, as a new attempt with the same event id.

    Side effects: the row is pending and due now (its attempt count kept); on commit, a
    `cases.deliver_webhook` task. A pending delivery is left as it is. A row older than
    WEBHOOK_RETRY_HOURS gets this one attempt; it is not retried automatically.
    """
    with transaction.atomic():
        reset = WebhookDelivery.objects.filter(
            pk=delivery.pk, status__in=(DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
        ).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=timezone.now(),
            claimed_at=None,
            delivered_at=None,
        )
        if reset:
            log.info("webhook %s redelivered by %s", delivery.delivery_id, actor_label(actor))
            enqueue_on_commit(DELIVER_WEBHOOK, delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery
