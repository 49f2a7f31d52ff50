"""Errors the services raise. Each carries a stable machine code and a message a person can act on.

Presentation layers turn them into form errors, admin messages or API error bodies; none of them
is ever a 500.
"""

from __future__ import annotations

import logging
from typing import Any

security_log = logging.getLogger("kycreview.security")


class CaseActionError(Exception):
    code = "case_error"

    def __init__(self, message: Any, *, field_errors: dict[str, list[str]] | None = None) -> None:
        self.message = str(message)
        self.field_errors = field_errors or {}
        super().__init__(self.message)


class InvalidState(CaseActionError):
    """The case is not in a state where this action exists."""

    code = "invalid_state"


class NotPermitted(CaseActionError):
    """This actor may not take this action on this case. Every denial is logged."""

    code = "not_permitted"


class InvalidInput(CaseActionError):
    """The action exists and is allowed, but what came with it is missing or wrong."""

    code = "invalid_input"


class FourEyesConflict(CaseActionError):
    """A four-eyes rule was broken: the maker tried to check, or a proposal is in the way."""

    code = "four_eyes"


class ConcurrentChange(CaseActionError):
    """Someone else changed the case first; reload and decide again."""

    code = "concurrent_change"
