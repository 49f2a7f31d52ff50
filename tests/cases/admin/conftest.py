"""Fixtures of the admin tests: a small world of cases the matrices look at."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from tests.factories import reviewing_case, submitted_case


@pytest.fixture
def world(db: None, applicant: User, reviewer: User) -> dict[str, Any]:
    """A case under review by `reviewer`, and an unassigned submitted one."""
    return {
        "assigned": reviewing_case(applicant, reviewer),
        "unassigned": submitted_case(applicant),
    }
