"""Signed webhooks to the integration that created a case (cases/integrations/webhooks.py).

A real HTTP server on 127.0.0.1 receives them and records every request; signatures are checked
by an independent verifier written here. The database and the broker are real; time moves with
time-machine. Most tests call `webhook_deliver` / `webhooks_deliver_due` directly, as the tasks
would; the last one runs a real Celery worker that delivers on commit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from cases import services
from cases.actors import IntegrationActor
from cases.integrations.webhooks import webhook_deliver, webhooks_deliver_due
from cases.models import (
    Case,
    CaseEvent,
    DeliveryStatus,
    ExternalApplicant,
    Integration,
    Program,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from cases.states import FILE_SLOTS, EventType
from cases.tasks import deliver_webhook
from cases.tasks import webhooks_deliver_due as webhooks_deliver_due_task
from kycreview.celery import app
from tests.factories import declared_for, submitted_case, upload
from tests.helpers import make_user, queued_tasks, signed_in, wait_for

START = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 on a Tuesday in Shanghai


@pytest.fixture(autouse=True)
def _local_receivers(settings: Any) -> None:
    """The receivers in these tests listen on 127.0.0.1, which production refuses (SSRF)."""
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True


# --- The receiver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers["X-Kycreview-Event-Id"]


class Receiver:
    """An HTTP server that records each POST and answers with the next of `answers` (200 once
    they run out); a 3xx answer points `Location` at `redirect_to`."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: list[int] = []
        self.redirect_to = ""
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def at(self, path: str) -> list[Received]:
        return [request for request in self.requests if request.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(
        target=server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join()


def verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver does: recompute the HMAC over `<timestamp>.<raw body>`, compare in
    constant time, and refuse stale timestamps (replays)."""
    timestamp = headers.get("X-Kycreview-Timestamp", "")
    scheme, _, signature = headers.get("X-Kycreview-Signature", "").partition("=")
    if scheme != "v1" or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), signature)


# --- Set-up ------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def wallet(db: None) -> Integration:
    return Integration.objects.create(name="wallet", description="The wallet backend")


@pytest.fixture
def subscription(wallet: Integration, receiver: Receiver) -> WebhookSubscription:
    return WebhookSubscription.objects.create(integration=wallet, url=receiver.url + "/hooks")


@pytest.fixture
def wallet_user(db: None) -> User:
    return make_user("wallet-user@example.com", Role.APPLICANT, full_name="Wang Wei")


def integration_case(name: str, applicant: User) -> Case:
    """A case the integration created, filled and submitted over the API (via the services)."""
    actor = IntegrationActor(name)
    case = services.case_create(
        program=Program.objects.get(code="real_name"),
        applicant=applicant,
        actor=actor,
        declared=declared_for("real_name"),
    )
    for slot in case.program.required_slots:
        if slot in FILE_SLOTS:
            upload(case, slot, actor=actor)
    services.case_submit(case=case, actor=actor)
    return Case.objects.get(pk=case.pk)


def claim_and_request_materials(case: Case, reviewer: User) -> None:
    services.case_claim(case=case, actor=reviewer)
    services.case_request_materials(
        case=case, actor=reviewer, reason_codes=["INFO_MISMATCH"], message="Internal: name differs."
    )


def deliveries(case: Case, subscription: WebhookSubscription) -> list[WebhookDelivery]:
    return list(
        WebhookDelivery.objects.filter(case=case, subscription=subscription).order_by("seq")
    )


# --- Scheduling and signing --------------------------------------------------------------------


def test_a_state_change_is_delivered_signed_with_the_event_and_no_personal_data(
    clock: Any, wallet: Any, subscription: Any, wallet_user: User, receiver: Any
) -> None:
    ExternalApplicant.objects.create(integration=wallet, external_id="w-42", user=wallet_user)
    case = integration_case("wallet", wallet_user)
    # Only the change of state produces a delivery: not the creation, not the uploads.
    (delivery,) = WebhookDelivery.objects.filter(case=case)
    event = delivery.event
    assert (event.event_type, delivery.seq) == (EventType.SUBMITTED, event.seq)

    assert webhook_deliver(delivery_pk=delivery.pk) is True

    (request,) = receiver.requests
    assert request.path == "/hooks"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "kycreview-webhooks/1"
    assert request.event_id == str(delivery.delivery_id)
    assert request.headers["X-Kycreview-Timestamp"] == str(int(START.timestamp()))
    assert verify(subscription.secret, request.headers, request.body)
    assert request.payload == {
        "id": str(delivery.delivery_id),
        "type": "submitted",
        "created_at": event.created_at.isoformat(),
        "case": {
            "id": str(case.uuid),
            "reference": case.reference,
            "state": "submitted",
            "program": "real_name",
            "external_id": "w-42",
        },
        "sequence": event.seq,
        "from_state": "draft",
        "to_state": "submitted",
        "reason_codes": [],
    }
    assert "Wang Wei" not in request.body.decode() and "张三" not in request.body.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert (delivery.delivered_at, delivery.attempts, delivery.last_status_code) == (START, 1, 200)
    assert delivery.claimed_at is None and delivery.next_attempt_at is None

    # The same task delivered twice (a lost ack) and the sweep send nothing more.
    assert deliver_webhook(delivery_id=delivery.pk) is False
    assert webhooks_deliver_due() == 0
    assert len(receiver.requests) == 1
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


def test_the_verifier_refuses_a_tampered_body_a_wrong_secret_and_an_old_timestamp(
    clock: Any, subscription: Any, wallet_user: User, receiver: Any
) -> None:
    case = integration_case("wallet", wallet_user)
    webhooks_deliver_due()
    (request,) = receiver.requests
    tampered = request.body.replace(b'"submitted"', b'"approved"')
    assert tampered != request.body
    assert verify(subscription.secret, request.headers, request.body)
    assert not verify(subscription.secret, request.headers, tampered)
    assert not verify("whsec_someone-else", request.headers, request.body)
    replayed = {**request.headers, "X-Kycreview-Timestamp": str(int(START.timestamp()) + 60)}
    assert not verify(subscription.secret, replayed, request.body)
    clock.shift(timedelta(minutes=10))
    assert not verify(subscription.secret, request.headers, request.body)
    assert case.reference in request.body.decode()


@pytest.mark.usefixtures("empty_queue")  # the real broker's queue, emptied around the test
def test_each_delivery_task_is_put_on_the_broker_after_commit(
    db: None, wallet: Any, receiver: Any, wallet_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    first = WebhookSubscription.objects.create(integration=wallet, url=receiver.url + "/a")
    second = WebhookSubscription.objects.create(integration=wallet, url=receiver.url + "/b")
    with django_capture_on_commit_callbacks(execute=True):
        case = integration_case("wallet", wallet_user)
    ours = {delivery.pk for delivery in WebhookDelivery.objects.filter(case=case)}
    assert {d.subscription_id for d in WebhookDelivery.objects.filter(case=case)} == {
        first.pk,
        second.pk,
    }
    tasks = [kwargs for name, kwargs in queued_tasks() if name == "cases.deliver_webhook"]
    assert sorted(kwargs["delivery_id"] for kwargs in tasks) == sorted(ours)
    assert receiver.requests == []  # nothing is sent inside the request


# --- Retries -----------------------------------------------------------------------------------


def test_a_receiver_failing_twice_gets_the_same_event_three_times_with_back_off(
    clock: Any, subscription: Any, wallet_user: User, receiver: Any
) -> None:
    receiver.answers = [500, 500]
    case = integration_case("wallet", wallet_user)
    (delivery,) = deliveries(case, subscription)

    assert webhook_deliver(delivery_pk=delivery.pk) is False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at == START + timedelta(seconds=10)
    assert delivery.claimed_at is None

    clock.shift(timedelta(seconds=9))  # not yet due: neither the task nor the sweep sends
    assert webhook_deliver(delivery_pk=delivery.pk) is False
    assert webhooks_deliver_due() == 0
    assert len(receiver.requests) == 1

    clock.shift(timedelta(seconds=1))
    assert webhooks_deliver_due() == 0
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == START + timedelta(seconds=10 + 20)

    clock.shift(timedelta(seconds=19))
    assert webhooks_deliver_due() == 0
    assert len(receiver.requests) == 2
    clock.shift(timedelta(seconds=1))
    assert webhooks_deliver_due() == 1

    assert len(receiver.requests) == 3
    assert {request.event_id for request in receiver.requests} == {str(delivery.delivery_id)}
    assert {request.body for request in receiver.requests} == {receiver.requests[0].body}
    assert all(verify(subscription.secret, r.headers, r.body) for r in receiver.requests)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert delivery.delivered_at == START + timedelta(seconds=30)
    log = list(WebhookAttempt.objects.filter(delivery=delivery))
    assert [(a.status_code, a.at - START) for a in log] == [
        (500, timedelta(0)),
        (500, timedelta(seconds=10)),
        (200, timedelta(seconds=30)),
    ]
    assert "500" in log[0].error and log[2].error == ""

    clock.shift(timedelta(hours=2))
    assert webhooks_deliver_due() == 0
    assert len(receiver.requests) == 3


def test_back_off_doubles_up_to_an_hour_and_gives_up_after_the_retry_window(
    clock: Any, subscription: Any, wallet_user: User, receiver: Any, settings: Any
) -> None:
    receiver.answers = [503] * 100
    case = integration_case("wallet", wallet_user)
    (delivery,) = deliveries(case, subscription)
    waits = []
    while True:
        webhooks_deliver_due()
        delivery.refresh_from_db()
        if delivery.status != DeliveryStatus.PENDING:
            break
        assert delivery.next_attempt_at is not None
        waits.append(delivery.next_attempt_at - datetime.now(UTC))
        clock.move_to(delivery.next_attempt_at)

    assert waits[:4] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert max(waits) == timedelta(hours=1)
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    given_up_at = WebhookAttempt.objects.filter(delivery=delivery).last()
    assert given_up_at is not None
    window = timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    assert window <= given_up_at.at - delivery.created_at < window + timedelta(hours=1)
    assert delivery.attempts == len(receiver.requests) == len(waits) + 1

    clock.shift(timedelta(days=1))
    assert webhooks_deliver_due() == 0
    assert len(receiver.requests) == delivery.attempts


def test_a_redirect_and_an_unreachable_receiver_are_failed_attempts(
    clock: Any, wallet: Any, subscription: Any, wallet_user: User, receiver: Any
) -> None:
    elsewhere = Receiver()  # never started: nobody listens there once it is closed
    elsewhere.server.server_close()
    receiver.answers = [302]
    receiver.redirect_to = receiver.url + "/somewhere-else"
    case = integration_case("wallet", wallet_user)
    (delivery,) = deliveries(case, subscription)

    assert webhook_deliver(delivery_pk=delivery.pk) is False
    assert [request.path for request in receiver.requests] == ["/hooks"]  # not followed
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)

    WebhookSubscription.objects.filter(pk=subscription.pk).update(url=elsewhere.url + "/hooks")
    clock.shift(timedelta(seconds=10))
    assert webhook_deliver(delivery_pk=delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.last_status_code is None
    assert "refused" in delivery.last_error.lower()
    last = WebhookAttempt.objects.filter(delivery=delivery).last()
    assert last is not None and last.status_code is None and last.error == delivery.last_error


def test_a_claim_left_by_a_dead_worker_is_taken_over_after_two_minutes(
    clock: Any, subscription: Any, wallet_user: User, receiver: Any
) -> None:
    case = integration_case("wallet", wallet_user)
    (delivery,) = deliveries(case, subscription)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=START)  # a worker took it

    clock.shift(timedelta(minutes=1))
    assert webhook_deliver(delivery_pk=delivery.pk) is False
    assert receiver.requests == []
    clock.shift(timedelta(minutes=1, seconds=1))
    assert webhook_deliver(delivery_pk=delivery.pk) is True
    assert len(receiver.requests) == 1


# --- Ordering ----------------------------------------------------------------------------------


def test_events_of_a_case_arrive_in_sequence_even_when_a_later_one_is_tried_first(
    clock: Any, subscription: Any, wallet_user: User, reviewer: User, receiver: Any
) -> None:
    receiver.answers = [500]  # the first event fails once: the later ones wait for it
    case = integration_case("wallet", wallet_user)
    claim_and_request_materials(case, reviewer)
    submitted, claimed, requested = deliveries(case, subscription)
    assert [d.event.event_type for d in (submitted, claimed, requested)] == [
        "submitted",
        "claimed",
        "materials_requested",
    ]
    assert submitted.seq < claimed.seq < requested.seq

    # The later events' tasks run first (they are all due): nothing is sent, no attempt made.
    assert webhook_deliver(delivery_pk=requested.pk) is False
    assert webhook_deliver(delivery_pk=claimed.pk) is False
    assert receiver.requests == []
    assert WebhookAttempt.objects.filter(delivery__case=case).count() == 0
    requested.refresh_from_db()
    assert requested.next_attempt_at == START + timedelta(seconds=5)
    assert requested.attempts == 0 and requested.claimed_at is None

    assert webhooks_deliver_due() == 0  # the first one is tried, and fails
    assert len(receiver.requests) == 1
    clock.shift(timedelta(seconds=5))  # the later ones are due, the first one's retry is not
    assert webhooks_deliver_due() == 0
    assert len(receiver.requests) == 1
    claimed.refresh_from_db()
    assert claimed.next_attempt_at == START + timedelta(seconds=10)  # with the first's retry

    clock.shift(timedelta(seconds=5))
    assert webhooks_deliver_due() == 3

    sequences = [request.payload["sequence"] for request in receiver.requests]
    assert sequences == [submitted.seq, submitted.seq, claimed.seq, requested.seq]
    assert [request.payload["type"] for request in receiver.requests[1:]] == [
        "submitted",
        "claimed",
        "materials_requested",
    ]
    last = receiver.requests[-1].payload
    assert (last["from_state"], last["to_state"], last["reason_codes"]) == (
        "reviewing",
        "needs_materials",
        ["INFO_MISMATCH"],
    )
    assert "Internal" not in receiver.requests[-1].body.decode()  # no reviewer's message


# --- Who hears what ----------------------------------------------------------------------------


def test_a_subscription_gets_only_the_events_it_asked_for(
    clock: Any, wallet: Any, wallet_user: User, reviewer: User, receiver: Any
) -> None:
    everything = WebhookSubscription.objects.create(integration=wallet, url=receiver.url + "/all")
    picky = WebhookSubscription.objects.create(
        integration=wallet,
        url=receiver.url + "/picky",
        events=[EventType.MATERIALS_REQUESTED, EventType.APPROVED],
    )
    WebhookSubscription.objects.create(
        integration=wallet, url=receiver.url + "/off", is_active=False
    )
    case = integration_case("wallet", wallet_user)
    claim_and_request_materials(case, reviewer)

    assert webhooks_deliver_due() == 4
    assert [r.payload["type"] for r in receiver.at("/all")] == [
        "submitted",
        "claimed",
        "materials_requested",
    ]
    assert [r.payload["type"] for r in receiver.at("/picky")] == ["materials_requested"]
    assert receiver.at("/off") == []
    # Each subscription has its own event id and is signed with its own secret.
    (picked,) = receiver.at("/picky")
    assert verify(picky.secret, picked.headers, picked.body)
    assert not verify(everything.secret, picked.headers, picked.body)
    assert picked.event_id not in {r.event_id for r in receiver.at("/all")}


def test_other_integrations_and_applicants_own_cases_send_nothing_to_the_wallet(
    clock: Any, wallet: Any, subscription: Any, wallet_user: User, applicant: User, receiver: Any
) -> None:
    other = Integration.objects.create(name="other-wallet")
    WebhookSubscription.objects.create(integration=other, url=receiver.url + "/other")
    Integration.objects.create(name="silent")  # no subscription at all
    theirs = integration_case("other-wallet", wallet_user)
    silent = integration_case("silent", wallet_user)
    own = submitted_case(applicant)  # the applicant applied through the portal
    assert own.integration == ""

    assert not WebhookDelivery.objects.filter(subscription=subscription).exists()
    assert not WebhookDelivery.objects.filter(case__in=[silent, own]).exists()
    assert webhooks_deliver_due() == 1
    assert receiver.at("/hooks") == []
    (request,) = receiver.at("/other")
    assert request.payload["case"]["id"] == str(theirs.uuid)
    assert request.payload["case"]["external_id"] is None  # the wallet never named this user


def test_a_switched_off_integration_hears_nothing_and_pending_events_are_not_sent(
    clock: Any, wallet: Any, subscription: Any, wallet_user: User, reviewer: User, receiver: Any
) -> None:
    case = integration_case("wallet", wallet_user)
    (pending,) = deliveries(case, subscription)
    Integration.objects.filter(pk=wallet.pk).update(is_active=False)
    services.case_claim(case=case, actor=reviewer)

    assert deliveries(case, subscription) == [pending]
    assert webhooks_deliver_due() == 0
    assert receiver.requests == []
    pending.refresh_from_db()
    assert pending.status == DeliveryStatus.FAILED and pending.attempts == 0
    assert "switched off" in pending.last_error


# --- The admin ---------------------------------------------------------------------------------


def test_a_supervisor_redelivers_from_the_admin_with_the_same_event_id(
    clock: Any,
    subscription: Any,
    wallet_user: User,
    supervisor: User,
    receiver: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    case = integration_case("wallet", wallet_user)
    assert webhooks_deliver_due() == 1
    (delivery,) = deliveries(case, subscription)
    client = signed_in(supervisor)
    url = reverse("admin:cases_webhookdelivery_changelist")
    listing = client.get(url)
    assert listing.status_code == 200
    assert str(delivery.delivery_id) in listing.content.decode()

    clock.shift(timedelta(hours=30))  # long after the retry window: still redeliverable
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            url, {"action": "redeliver", ACTION_CHECKBOX_NAME: [delivery.pk]}, follow=True
        )
    assert response.status_code == 200
    assert "1 delivery will be sent again with the same event id." in response.content.decode()
    assert len(callbacks) == 1  # the task is enqueued after commit
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)

    assert webhooks_deliver_due() == 1
    first, again = receiver.requests
    assert again.event_id == first.event_id == str(delivery.delivery_id)
    assert again.body == first.body
    assert verify(subscription.secret, again.headers, again.body)
    assert again.headers["X-Kycreview-Timestamp"] != first.headers["X-Kycreview-Timestamp"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)

    page = client.get(reverse("admin:cases_webhookdelivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    assert page.content.decode().count('<td class="field-status_code">') == 2


def test_auditors_read_the_delivery_log_but_cannot_redeliver_and_reviewers_see_nothing(
    clock: Any, subscription: Any, wallet_user: User, auditor: User, reviewer: User, receiver: Any
) -> None:
    case = integration_case("wallet", wallet_user)
    webhooks_deliver_due()
    (delivery,) = deliveries(case, subscription)
    url = reverse("admin:cases_webhookdelivery_changelist")
    reader = signed_in(auditor)
    listing = reader.get(url)
    assert listing.status_code == 200
    assert 'value="redeliver"' not in listing.content.decode()
    reader.post(url, {"action": "redeliver", ACTION_CHECKBOX_NAME: [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 1

    page = reader.get(reverse("admin:cases_webhooksubscription_change", args=[subscription.pk]))
    assert page.status_code == 200
    assert subscription.secret not in page.content.decode()
    assert subscription.secret[-4:] in page.content.decode()

    outsider = signed_in(reviewer)
    assert outsider.get(url).status_code == 403
    assert outsider.get(reverse("admin:cases_integration_changelist")).status_code == 403


def test_a_supervisor_subscribes_an_integration_and_sees_its_signing_secret(
    db: None, wallet: Any, supervisor: User, receiver: Any
) -> None:
    client = signed_in(supervisor)
    response = client.post(
        reverse("admin:cases_webhooksubscription_add"),
        {
            "integration": wallet.pk,
            "url": receiver.url + "/decisions",
            "events": [EventType.APPROVED, EventType.REJECTED],
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = WebhookSubscription.objects.get(integration=wallet)
    assert created.events == ["approved", "rejected"]
    assert created.secret.startswith("whsec_") and len(created.secret) > 40

    page = client.get(reverse("admin:cases_webhooksubscription_change", args=[created.pk]))
    assert created.secret in page.content.decode()
    integration_page = client.get(reverse("admin:cases_integration_change", args=[wallet.pk]))
    assert integration_page.status_code == 200
    assert receiver.url + "/decisions" in integration_page.content.decode()


def test_a_supervisor_adds_an_integration_with_its_subscription_in_one_form(
    db: None, supervisor: User
) -> None:
    response = signed_in(supervisor).post(
        reverse("admin:cases_integration_add"),
        {
            "name": "pay-wallet",
            "description": "Payments wallet",
            "is_active": "on",
            "webhooks-TOTAL_FORMS": "1",
            "webhooks-INITIAL_FORMS": "0",
            "webhooks-MIN_NUM_FORMS": "0",
            "webhooks-MAX_NUM_FORMS": "1000",
            "webhooks-0-url": "https://wallet.example.com/kyc-hooks",
            "webhooks-0-is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    (created,) = WebhookSubscription.objects.filter(integration__name="pay-wallet")
    assert created.url == "https://wallet.example.com/kyc-hooks"
    assert created.events == [] and created.wants(EventType.CLOSED)
    assert created.secret.startswith("whsec_")


# --- A real worker -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_worker_delivers_on_commit_and_the_sweep_task_retries(
    transactional_db: None, receiver: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    wallet = Integration.objects.create(name="wallet")
    subscription = WebhookSubscription.objects.create(
        integration=wallet, url=receiver.url + "/hooks"
    )
    applicant = make_user("wallet-user@example.com", Role.APPLICANT)
    reviewer = make_user("rita@example.com", Role.REVIEWER)
    app.control.purge()
    receiver.answers = [200, 500]
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            # Each service commits; its on-commit hook publishes the task; the worker sends.
            case = integration_case("wallet", applicant)
            wait_for(lambda: receiver.requests, "deliver the 'submitted' event")
            services.case_claim(case=case, actor=reviewer)  # the receiver fails this one once
            wait_for(lambda: len(receiver.requests) == 2, "try the 'claimed' event")
            submitted, claimed = deliveries(case, subscription)
            wait_for(
                lambda: WebhookDelivery.objects.filter(pk=claimed.pk, attempts=1).exists(),
                "record the failed attempt",
            )
            # Eleven seconds later the beat's sweep task finds it due and sends it again.
            with time_machine.travel(timedelta(seconds=11)):
                webhooks_deliver_due_task.delay()
                wait_for(
                    lambda: WebhookDelivery.objects.filter(
                        pk=claimed.pk, status=DeliveryStatus.DELIVERED
                    ).exists(),
                    "redeliver the 'claimed' event from the sweep",
                )
    finally:
        app.control.purge()

    submitted.refresh_from_db()
    assert submitted.status == DeliveryStatus.DELIVERED and submitted.attempts == 1
    types = [request.payload["type"] for request in receiver.requests]
    assert types == ["submitted", "claimed", "claimed"]
    assert receiver.requests[1].event_id == receiver.requests[2].event_id
    assert all(verify(subscription.secret, r.headers, r.body) for r in receiver.requests)


def test_a_fraud_freeze_names_no_reason_to_the_wallet(db: None) -> None:
    from cases.integrations.webhooks import _disclosed_codes

    forged = CaseEvent(event_type=EventType.FROZEN, reason_codes=["DOC_FORGED"])
    theft = CaseEvent(event_type=EventType.FROZEN, reason_codes=["THEFT_REPORTED"])
    rejected = CaseEvent(event_type=EventType.REJECTED, reason_codes=["DOC_EXPIRED"])
    assert _disclosed_codes(forged) == []
    assert _disclosed_codes(theft) == ["THEFT_REPORTED"]
    assert _disclosed_codes(rejected) == ["DOC_EXPIRED"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
        "http://no-such-host.invalid/hook",
    ],
)
def test_internal_receivers_are_refused(settings: Any, url: str) -> None:
    from cases.integrations.webhooks import webhook_host_allowed

    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    assert not webhook_host_allowed(url)
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    assert webhook_host_allowed(url) or "invalid" in url


def test_the_admin_form_refuses_an_internal_receiver(db: None, settings: Any) -> None:
    from cases.integrations.admin import WebhookSubscriptionForm

    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    integration = Integration.objects.create(name="ssrf-wallet")
    form = WebhookSubscriptionForm(
        data={"integration": integration.pk, "url": "http://127.0.0.1:6379/", "is_active": True}
    )
    assert not form.is_valid() and "url" in form.errors
