"""Every configuration admin saves through the configuration service: each change leaves a
ConfigChange row (who, what, before, after), and secrets are recorded as fingerprints only."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import models
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import User
from cases.models import (
    ApiKey,
    ConfigChange,
    Integration,
    Program,
    ReasonCode,
    WebhookSubscription,
)
from cases.states import ProgramCode
from tests.helpers import signed_in


def change_form(model: type[models.Model], obj: models.Model, user: User, **changes: Any) -> dict:
    """The admin change form of `obj` as a browser posts it unchanged, with `changes` applied."""
    request = RequestFactory().get("/")
    request.user = user
    form = admin.site._registry[model].get_form(request, obj)(instance=obj)
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.JSONField):
            data[name] = json.dumps(value)
        elif isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return data | changes


def recorded(object_type: str) -> list[ConfigChange]:
    return list(ConfigChange.objects.filter(object_type=object_type).order_by("pk"))


def test_changing_a_program_is_recorded(db: None, supervisor: User) -> None:
    program = Program.objects.get(code=ProgramCode.REAL_NAME)
    url = reverse("admin:cases_program_change", args=[program.pk])
    response = signed_in(supervisor).post(
        url, change_form(Program, program, supervisor, attempt_limit=5)
    )
    assert response.status_code == 302, response.content
    assert Program.objects.get(pk=program.pk).attempt_limit == 5
    (change,) = recorded("program")
    assert change.changed_by == supervisor and change.action == "changed"
    assert change.before is not None and change.after is not None
    assert (change.before["attempt_limit"], change.after["attempt_limit"]) == (3, 5)


def test_changing_a_reason_is_recorded(db: None, supervisor: User) -> None:
    reason = ReasonCode.objects.get(code="DOC_EXPIRED")
    url = reverse("admin:cases_reasoncode_change", args=[reason.pk])
    response = signed_in(supervisor).post(
        url, change_form(ReasonCode, reason, supervisor, cooloff_days=7)
    )
    assert response.status_code == 302, response.content
    (change,) = recorded("reasoncode")
    assert change.before is not None and change.after is not None
    assert (change.before["cooloff_days"], change.after["cooloff_days"]) == (None, 7)


def test_an_integration_and_its_subscription_are_recorded_without_the_secret(
    db: None, supervisor: User, settings: Any
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    client = signed_in(supervisor)
    response = client.post(
        reverse("admin:cases_integration_add"),
        {
            "name": "shop",
            "description": "Another wallet",
            "is_active": "on",
            "webhooks-TOTAL_FORMS": "1",
            "webhooks-INITIAL_FORMS": "0",
            "webhooks-MIN_NUM_FORMS": "0",
            "webhooks-MAX_NUM_FORMS": "1000",
            "webhooks-0-url": "https://127.0.0.1:9/hooks",
            "webhooks-0-is_active": "on",
        },
    )
    assert response.status_code == 302, response.content
    subscription = WebhookSubscription.objects.get(integration__name="shop")
    assert subscription.secret.startswith("whsec_")
    (integration,) = recorded("integration")
    (created,) = recorded("webhooksubscription")
    assert integration.after is not None and integration.after["name"] == "shop"
    assert created.action == "created" and created.after is not None
    assert created.after["url"] == "https://127.0.0.1:9/hooks"
    assert created.after["secret"].startswith("sha256:")

    url = reverse("admin:cases_webhooksubscription_change", args=[subscription.pk])
    response = client.post(url, {"url": "https://127.0.0.1:9/v2", "is_active": "on"})
    assert response.status_code == 302, response.content
    changed = recorded("webhooksubscription")[-1]
    assert changed.before is not None and changed.after is not None
    assert (changed.before["url"], changed.after["url"]) == (
        "https://127.0.0.1:9/hooks",
        "https://127.0.0.1:9/v2",
    )
    history = json.dumps(list(ConfigChange.objects.values("before", "after")))
    assert subscription.secret not in history


def test_an_api_key_made_and_revoked_is_recorded_without_its_hash(
    db: None, supervisor: User
) -> None:
    wallet = Integration.objects.create(name="wallet")
    client = signed_in(supervisor)
    response = client.post(
        reverse("admin:cases_apikey_add"),
        {"integration": wallet.pk, "label": "backend", "scopes": ["cases:read"]},
    )
    assert response.status_code == 302, response.content
    key = ApiKey.objects.get(integration=wallet)
    response = client.post(
        reverse("admin:cases_apikey_changelist"),
        {"action": "revoke", ACTION_CHECKBOX_NAME: [key.pk]},
    )
    assert response.status_code == 302, response.content
    made, revoked = recorded("apikey")
    assert (made.action, revoked.action) == ("created", "changed")
    assert revoked.before is not None and revoked.after is not None
    assert revoked.before["revoked_at"] is None and revoked.after["revoked_at"] is not None
    assert key.key_hash not in json.dumps([made.after, revoked.before, revoked.after])
