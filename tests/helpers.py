"""The helpers the test modules share: people and their clients, the Shanghai wall clock, the real
broker's queue, the API client, stored files and e-mails. Fixtures are in tests/conftest.py;
case builders in tests/factories.py."""

from __future__ import annotations

import io
import json
import queue
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageDraw

from accounts.models import User
from accounts.roles import Role
from cases import services
from cases.checks.run import case_run_checks
from cases.models import ApiKey, Case, Document, Integration, Signal
from cases.models.api import hash_key
from cases.states import ProgramCode, SignalStatus
from kycreview.celery import app
from tests.factories import VALID_ID_NUMBER, submitted_case

SH = ZoneInfo("Asia/Shanghai")
# How long a test waits for a real worker before it fails, naming what did not happen.
WAIT_SECONDS = 20


README = Path(__file__).resolve().parent.parent / "README.md"


# --- people --------------------------------------------------------------------------------


def make_user(email: str, *roles: str, **extra: object) -> User:
    user = User.objects.create_user(email=email, password="pw-" + email, **extra)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    is_staff = any(role != Role.APPLICANT for role in roles)
    if is_staff:
        User.objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    return User.objects.get(pk=user.pk)  # fresh permission cache


def english_client(user: User | None = None) -> Client:
    """A test client that reads English (over the account's language), signed in as `user`
    with a password only, when one is given."""
    client = Client(headers={"Accept-Language": "en"})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    if user is not None:
        client.force_login(user)
    return client


def client_for(request: pytest.FixtureRequest, who: str) -> Client:
    """A client for the person the fixture `who` names ("anonymous" for nobody): staff past the
    second factor, applicants with their password."""
    if who == "anonymous":
        return english_client()
    user = request.getfixturevalue(who)
    return signed_in(user) if user.is_staff else english_client(user)


def signed_in(user: User, *, second_factor: bool = True) -> Client:
    """A test client signed in as `user`, past the admin's second factor unless told not to."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = english_client(user)
    if second_factor:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, confirmed=True, defaults={"name": "test"}
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


# --- time ----------------------------------------------------------------------------------


def at(
    month: int, day: int, hour: int, minute: int = 0, second: int = 0, *, year: int = 2026
) -> datetime:
    """An instant on the Shanghai wall clock (2026 unless said otherwise)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SH)


def fresh(case: Case) -> Case:
    """The case as the database has it now."""
    return Case.objects.get(pk=case.pk)


def submit_at(applicant: User, when: datetime, program: str = ProgramCode.REAL_NAME) -> Case:
    """A case submitted at `when` (the clock travels there for the submission only)."""
    with time_machine.travel(when, tick=False):
        return submitted_case(applicant, program)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Poll until `condition()` is truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not {what} within {timeout:.0f} s")
        time.sleep(0.05)


# --- the broker, storage and mail ----------------------------------------------------------


def queued_tasks() -> list[tuple[str, dict[str, Any]]]:
    """Take every message off the default queue of the real broker: (task name, kwargs)."""
    found = []
    with app.connection_for_read() as connection:
        simple = connection.SimpleQueue(app.conf.task_default_queue, no_ack=True)
        try:
            while True:
                try:
                    message = simple.get(block=False)
                except queue.Empty:
                    break
                _args, kwargs, _embed = message.decode()
                found.append((message.headers["task"], kwargs))
        finally:
            simple.close()
    return found


def stored_files() -> list[Path]:
    """Every file in the private document storage of this test."""
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that is down: every send fails as a refused connection would."""

    def send_messages(self, email_messages: Any) -> int:
        raise ConnectionRefusedError("the mail server refused the connection")


# --- the wallet's API ----------------------------------------------------------------------

ALL_SCOPES = ["cases:read", "cases:write", "documents:write"]


def make_key(name: str = "wallet", scopes: list[str] | None = None) -> tuple[Integration, str]:
    """An integration (made on first use) and a new key of it with `scopes` (all by default)."""
    integration, _ = Integration.objects.get_or_create(name=name)
    prefix, key = ApiKey.new_secret()
    ApiKey.objects.create(
        integration=integration, prefix=prefix, key_hash=hash_key(key), scopes=scopes or ALL_SCOPES
    )
    return integration, key


class Api:
    """The wallet backend calling the API with one key."""

    def __init__(self, key: str, language: str = "en") -> None:
        self.key = key
        self.client = Client(
            headers={"Authorization": f"Api-Key {key}", "Accept-Language": language}
        )

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, params)

    def post(self, url: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(
            url, json.dumps(body or {}), content_type="application/json", headers=headers
        )

    def upload(self, case_id: str, slot: str, content: bytes, name: str = "x.png") -> Any:
        file = io.BytesIO(content)
        file.name = name
        return self.client.post(reverse("api-case-upload", args=[case_id, slot]), {"file": file})


def application(external_id: str = "u-1001", **extra: Any) -> dict[str, Any]:
    """The body of a new real-name application from the wallet."""
    return {
        "program": "real_name",
        "external_id": external_id,
        "declared": {"full_name": "张伟", "id_number": VALID_ID_NUMBER, "phone": "13812345678"},
        **extra,
    }


# --- pictures for the automatic checks ---------------------------------------------------


def photo(seed: int = 0, *, size: tuple[int, int] = (900, 600), fmt: str = "JPEG") -> bytes:
    """A sharp, well-exposed picture: a card with text and shapes over fine texture."""
    image = Image.effect_noise(size, 40 + seed).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, size[0] - 40, size[1] - 40), outline="#102040", width=6)
    for row in range(8):
        draw.text((70, 70 + row * 55), f"LINE {seed}-{row} 0123456789", fill="#000000")
    draw.ellipse((size[0] - 300, 100, size[0] - 80, 380), fill=(200 - seed % 50, 150, 120))
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def run_checks(case: Case) -> Any:
    """Run the automatic checks of `case` now, in this process."""
    result = case_run_checks(case_id=case.pk)
    assert result is not None
    return result


def open_signals(case: Case) -> dict[str, Signal]:
    return {s.kind: s for s in Signal.objects.filter(case=case, status=SignalStatus.OPEN)}


def upload_photo(case: Case, slot: str, content: bytes, name: str = "card.jpg") -> Document:
    return services.document_upload_file(
        case=case, actor=case.applicant, slot=slot, stream=io.BytesIO(content), name=name
    )


# --- the README ----------------------------------------------------------------------------


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def readme_mermaid_block(start: str, end: str) -> str:
    """The one ```mermaid block between the README's `start` and `end` markers."""
    text = readme_text()
    assert text.count(start) == 1 and text.count(end) == 1, "diagram markers missing or repeated"
    between = text.split(start, 1)[1].split(end, 1)[0]
    match = re.fullmatch(r"\s*```mermaid\n(.*?)```\s*", between, flags=re.DOTALL)
    assert match, "the markers must hold exactly one ```mermaid block"
    return match.group(1)
