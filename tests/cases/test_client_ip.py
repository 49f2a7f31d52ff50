"""Where a request came from, as the access log and the sign-in history record it, behind
0, 1 or 2 trusted reverse proxies (TRUSTED_PROXIES)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import SignInRecord, User
from cases.audit import client_ip
from cases.models import AccessKind, AccessLog
from tests.factories import reviewing_case
from tests.helpers import signed_in

SPOOFED = "6.6.6.6"  # what a client can write into X-Forwarded-For itself


@pytest.mark.parametrize(
    ("proxies", "meta", "expected"),
    [
        (0, {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": SPOOFED}, "203.0.113.9"),
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, "198.51.100.7"),
        (
            1,
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": f"{SPOOFED}, 198.51.100.7"},
            "198.51.100.7",
        ),
        (
            2,
            {
                "REMOTE_ADDR": "10.0.0.3",
                "HTTP_X_FORWARDED_FOR": f"{SPOOFED}, 2001:db8::1, 10.0.0.2",
            },
            "2001:db8::1",
        ),
        # Fewer entries than proxies: the header was not written by them.
        (2, {"REMOTE_ADDR": "10.0.0.3", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}, "10.0.0.3"),
        (1, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "not-an-address"}, None),
        # Some balancers add the port; IPv4-mapped IPv6 is the IPv4 address.
        (
            1,
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.7:5678"},
            "198.51.100.7",
        ),
        (
            1,
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "[2001:db8::1]:443"},
            "2001:db8::1",
        ),
        (0, {"REMOTE_ADDR": "::ffff:198.51.100.7"}, "198.51.100.7"),
        (0, {}, None),
    ],
)
def test_client_ip(settings: Any, proxies: int, meta: dict[str, str], expected: str) -> None:
    settings.TRUSTED_PROXIES = proxies
    assert client_ip(meta) == expected


def test_behind_one_proxy_the_logs_record_the_client_not_the_proxy(
    db: None, settings: Any, applicant: User, reviewer: User
) -> None:
    settings.TRUSTED_PROXIES = 1
    case = reviewing_case(applicant, reviewer)
    client = signed_in(reviewer)
    headers = {"X-Forwarded-For": f"{SPOOFED}, 198.51.100.7"}
    response = client.get(reverse("admin:cases_review", args=[case.uuid]), headers=headers)
    assert response.status_code == 200
    entry = AccessLog.objects.get(kind=AccessKind.VIEW_CASE, case=case)
    assert entry.ip == "198.51.100.7"

    client.logout()
    client.post(
        reverse("login"),
        {"username": applicant.email, "password": "pw-" + applicant.email},
        headers=headers,
    )
    assert SignInRecord.objects.filter(user=applicant).latest("at").ip == "198.51.100.7"
