"""Fixtures of the checks' tests."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from accounts.roles import Role
from tests.helpers import make_user


@pytest.fixture
def plain_factory_pictures(request: Any, settings: Any) -> None:
    """The factories' uploads are tiny plain PNGs: the picture checks are tested with real
    photos below; elsewhere they are told to look away, so each test sees only its finding."""
    if "real_photos" not in request.keywords:
        settings.CHECK_MIN_IMAGE_SIDE = 1
        settings.CHECK_MIN_SHARPNESS = 0


@pytest.fixture
def matching_applicant(db: None) -> User:
    """An applicant whose wallet profile carries the name the factories declare."""
    return make_user("zhang@example.com", Role.APPLICANT, full_name="张三")
