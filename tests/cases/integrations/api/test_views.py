"""The REST API for the wallet backend (cases/integrations/api/), through the Django test client."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases.models import (
    ApiKey,
    Case,
    CaseEvent,
    Document,
    ExternalApplicant,
    IdempotencyRecord,
    Integration,
)
from cases.models.api import hash_key
from cases.states import CaseState, Slot
from tests.factories import ask_again, png_bytes
from tests.helpers import Api, application, make_key, signed_in


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture
def wallet(db: None) -> Api:
    return Api(make_key()[1])


def test_create_upload_submit_read_and_history(wallet: Any, reviewer: User) -> None:
    created = wallet.post(reverse("api-cases"), application())
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == CaseState.DRAFT and body["external_id"] == "u-1001"
    case = Case.objects.get(uuid=body["id"])
    assert case.integration == "wallet" and case.applicant.email.endswith(".invalid")
    for slot in (Slot.ID_FRONT, Slot.ID_BACK):
        uploaded = wallet.upload(body["id"], slot, png_bytes())
        assert uploaded.status_code == 201 and uploaded.json()["content_type"] == "image/png"
    submitted = wallet.post(reverse("api-case-submit", args=[body["id"]]))
    assert submitted.status_code == 200 and submitted.json()["state"] == CaseState.SUBMITTED
    assert submitted.json()["expected_completion"]
    # A reviewer asks for a new photo; the wallet reads why, in the language it asks for.

    ask_again(case, reviewer)
    read = wallet.get(reverse("api-case", args=[body["id"]])).json()
    assert read["paused"] is True and read["expected_completion"] is None
    assert read["requested_items"] == [{"slot": "id_front", "label": "ID card, front"}]
    assert read["reasons"][0]["code"] == "DOC_UNREADABLE"
    chinese = Api(wallet.key, "zh-hans")
    zh = chinese.get(reverse("api-case", args=[body["id"]])).json()
    assert zh["reasons"][0]["message"] != read["reasons"][0]["message"]
    assert "身份证" in zh["requested_items"][0]["label"]
    history = wallet.get(reverse("api-case-history", args=[body["id"]])).json()
    types = [row["type"] for row in history]
    assert types[0] == "created" and "materials_requested" in types
    assert [row["sequence"] for row in history] == sorted(row["sequence"] for row in history)
    assert wallet.upload(body["id"], Slot.ID_FRONT, png_bytes("#010203")).status_code == 201
    resubmitted = wallet.post(reverse("api-case-resubmit", args=[body["id"]]))
    assert resubmitted.json()["state"] == CaseState.SUBMITTED


def test_idempotency_key_replays_the_first_answer_and_refuses_a_different_body(wallet: Any) -> None:
    url = reverse("api-cases")
    first = wallet.post(url, application(), **{"Idempotency-Key": "req-1"})
    again = wallet.post(url, application(), **{"Idempotency-Key": "req-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1 and IdempotencyRecord.objects.count() == 1
    other = wallet.post(url, application("u-2002"), **{"Idempotency-Key": "req-1"})
    assert_error(other, 409, "idempotency_key_reused")
    assert Case.objects.count() == 1
    # Without a key, two requests are two applications (of the same external applicant).
    wallet.post(url, application())
    assert Case.objects.count() == 2
    assert ExternalApplicant.objects.count() == 1


def test_errors_have_one_shape_and_the_right_status(wallet: Any, settings: Any) -> None:
    url = reverse("api-cases")
    bad = assert_error(
        wallet.post(
            url, application(declared={"full_name": "X", "id_number": "110105194912310021"})
        ),
        400,
        "invalid",
    )
    assert "last character" in bad["fields"]["declared"]["id_number"][0]
    assert_error(wallet.post(url, {"program": "nope"}), 400, "invalid")
    raw = wallet.client.post(url, "{not json", content_type="application/json")
    assert_error(raw, 400, "bad_request")
    assert_error(Client().get(url), 401, "unauthenticated")
    assert_error(Api("kyc_000000000000_nope").get(url), 401, "unauthenticated")
    missing = "00000000-0000-0000-0000-000000000000"
    assert_error(wallet.get(reverse("api-case", args=[missing])), 404, "not_found")
    case_id = wallet.post(url, application()).json()["id"]
    assert_error(wallet.post(reverse("api-case-submit", args=[case_id])), 400, "invalid")
    assert_error(wallet.post(reverse("api-case-resubmit", args=[case_id])), 409, "conflict")
    assert_error(
        wallet.upload(case_id, Slot.ID_FRONT, b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        415,
        "unsupported_file_type",
    )
    settings.MAX_UPLOAD_BYTES = 1024
    assert_error(
        wallet.upload(case_id, Slot.ID_FRONT, b"\xff\xd8\xff" + b"0" * 4096), 413, "file_too_large"
    )
    settings.MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    assert_error(wallet.upload(case_id, "no_such_slot", png_bytes()), 400, "invalid")
    json_upload = wallet.post(reverse("api-case-upload", args=[case_id, Slot.ID_FRONT]), {})
    assert_error(json_upload, 415, "unsupported_media_type")
    assert_error(wallet.get(url, state="nonsense"), 400, "invalid")
    assert_error(wallet.get(url, updated_since="yesterday"), 400, "invalid")
    assert not Document.objects.filter(case__uuid=case_id).exists()


def test_scopes_and_revoked_keys(db: None) -> None:
    _, reader_key = make_key(scopes=["cases:read"])
    reader = Api(reader_key)
    assert reader.get(reverse("api-cases")).status_code == 200
    assert_error(reader.post(reverse("api-cases"), application()), 403, "forbidden")
    integration, key = make_key("other-wallet")
    api = Api(key)
    assert api.get(reverse("api-cases")).status_code == 200
    ApiKey.objects.filter(integration=integration).update(revoked_at=timezone.now())
    revoked = assert_error(api.get(reverse("api-cases")), 401, "unauthenticated")
    assert "revoked" in revoked["message"]


def test_another_integrations_case_is_404(wallet: Any) -> None:
    case_id = wallet.post(reverse("api-cases"), application()).json()["id"]
    other = Api(make_key("rival")[1])
    for response in (
        other.get(reverse("api-case", args=[case_id])),
        other.get(reverse("api-case-history", args=[case_id])),
        other.post(reverse("api-case-submit", args=[case_id])),
        other.upload(case_id, Slot.ID_FRONT, png_bytes()),
    ):
        assert_error(response, 404, "not_found")
    assert other.get(reverse("api-cases")).json()["results"] == []
    assert CaseEvent.objects.filter(case__uuid=case_id).count() == 1


def test_staff_sessions_read_only(wallet: Any, supervisor: User, reviewer: User) -> None:
    case_id = wallet.post(reverse("api-cases"), application()).json()["id"]
    staff = signed_in(supervisor)
    assert staff.get(reverse("api-case", args=[case_id])).status_code == 200
    from cases.models import AccessKind, AccessLog

    assert AccessLog.objects.filter(
        user=supervisor, kind=AccessKind.VIEW_CASE, case__uuid=case_id, detail="api"
    ).exists()
    refused = staff.post(reverse("api-case-submit", args=[case_id]))
    assert refused.status_code == 403
    assert signed_in(reviewer).get(reverse("api-cases")).status_code == 403


def test_cursor_pages_stay_stable_while_cases_are_inserted(wallet: Any) -> None:
    url = reverse("api-cases")
    ids = [wallet.post(url, application(f"u-{n}")).json()["id"] for n in range(7)]
    first = wallet.get(url, page_size=3).json()
    assert [c["id"] for c in first["results"]] == ids[::-1][:3]
    for n in range(4):  # inserted between the pages
        wallet.post(url, application(f"new-{n}"))
    second = wallet.client.get(first["next"]).json()
    third = wallet.client.get(second["next"]).json()
    seen = [c["id"] for c in first["results"] + second["results"] + third["results"]]
    assert seen == ids[::-1]
    assert third["next"] is None


def test_filters(wallet: Any) -> None:
    url = reverse("api-cases")
    a = wallet.post(url, application("a")).json()["id"]
    b = wallet.post(url, {**application("b"), "program": "credit", "credit_score": 700}).json()[
        "id"
    ]
    assert [c["id"] for c in wallet.get(url, program="credit").json()["results"]] == [b]
    assert [c["id"] for c in wallet.get(url, state="draft").json()["results"]] == [b, a]
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert wallet.get(url, updated_since=later).json()["results"] == []


def test_report_theft_and_closure(wallet: Any, reviewer: User) -> None:
    url = reverse("api-cases")
    case_id = wallet.post(url, application()).json()["id"]
    for slot in (Slot.ID_FRONT, Slot.ID_BACK):
        wallet.upload(case_id, slot, png_bytes())
    wallet.post(reverse("api-case-submit", args=[case_id]))
    frozen = wallet.post(reverse("api-case-report-theft", args=[case_id]))
    assert frozen.status_code == 200 and frozen.json()["state"] == CaseState.ACCOUNT_FROZEN
    closed = wallet.post(reverse("api-case-close", args=[case_id]))
    assert closed.status_code == 200 and closed.json()["state"] == CaseState.CLOSED
    assert_error(wallet.post(reverse("api-case-close", args=[case_id])), 409, "conflict")


def test_throttling_per_key(db: None, settings: Any) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_key": "3/min"},
    }
    from rest_framework.settings import api_settings

    api_settings.reload()
    from cases.integrations.api.auth import PerKeyThrottle

    PerKeyThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        first, second = Api(make_key("one")[1]), Api(make_key("two")[1])
        for _ in range(3):
            assert first.get(reverse("api-cases")).status_code == 200
        limited = assert_error(first.get(reverse("api-cases")), 429, "rate_limited")
        assert limited
        assert second.get(reverse("api-cases")).status_code == 200
    finally:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"api_key": "600/min"},
        }
        api_settings.reload()
        PerKeyThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        cache.clear()


def test_the_schema_and_the_docs_are_served_without_a_cdn(db: None) -> None:
    schema = Client().get(reverse("api-schema"), {"format": "json"})
    assert schema.status_code == 200
    spec = json.loads(schema.content)
    assert "/api/v1/cases/" in spec["paths"]
    docs = Client().get(reverse("api-docs")).content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "//unpkg" not in docs


def test_api_keys_are_created_in_the_admin_and_shown_once(db: None, supervisor: User) -> None:
    integration = Integration.objects.create(name="wallet-prod")
    client = signed_in(supervisor)
    response = client.post(
        reverse("admin:cases_apikey_add"),
        {"integration": integration.pk, "label": "prod", "scopes": ["cases:read"]},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    key = next(m.split(": ")[-1] for m in shown if "kyc_" in m)
    stored = ApiKey.objects.get(integration=integration)
    assert stored.key_hash == hash_key(key)
    assert key not in json.dumps(list(ApiKey.objects.values()), default=str)
    assert Api(key).get(reverse("api-cases")).status_code == 200


def test_a_malformed_cursor_is_a_404_not_a_crash(wallet: Any) -> None:
    import base64

    bad = base64.b64encode(b"p=abc").decode()
    assert_error(wallet.get(reverse("api-cases"), cursor=bad), 404, "not_found")
