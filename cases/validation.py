"""Declared data checks (DESIGN §2), shared by the portal, the API and the services: clear,
field-by-field messages that say what is wrong and what to do."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

PHONE = re.compile(r"^1[3-9]\d{9}$")
MIN_AGE = 16


def _digits(value: Any) -> str:
    return re.sub(r"[\s-]", "", str(value or "")).upper()


def id_number_errors(value: Any, *, today: date | None = None) -> list[str]:
    number = _digits(value)
    if not number:
        return [_("Enter the 18-character resident ID number.")]
    try:
        ric.validate(number)
    except stdnum_errors.InvalidLength:
        return [
            _("A resident ID number has 18 characters; this one has %(n)d.") % {"n": len(number)}
        ]
    except stdnum_errors.InvalidFormat:
        return [_("Use digits only, with an X allowed as the last character.")]
    except stdnum_errors.InvalidComponent:
        return [_("Digits 7–14 must be your birth date (YYYYMMDD); this date does not exist.")]
    except stdnum_errors.InvalidChecksum:
        return [_("The last character does not match the others: check every digit again.")]
    born = ric.get_birth_date(number)
    today = today or date.today()
    if born > today:
        return [_("The birth date in the number (digits 7–14) is in the future.")]
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < MIN_AGE:
        return [_("Applicants must be at least %(age)d years old.") % {"age": MIN_AGE}]
    return []


def credit_code_errors(value: Any) -> list[str]:
    code = _digits(value)
    if not code:
        return [_("Enter the 18-character unified social credit code.")]
    try:
        uscc.validate(code)
    except stdnum_errors.InvalidLength:
        return [
            _("A unified social credit code has 18 characters; this one has %(n)d.")
            % {"n": len(code)}
        ]
    except stdnum_errors.InvalidChecksum:
        return [_("The last character of the credit code does not match: check it on the licence.")]
    except stdnum_errors.ValidationError:
        return [_("This is not a unified social credit code: copy it from the business licence.")]
    return []


def phone_errors(value: Any) -> list[str]:
    phone = _digits(value).removeprefix("+86")
    if not PHONE.match(phone):
        return [_("Enter an 11-digit mainland mobile number, e.g. 13812345678.")]
    return []


def declared_data_errors(declared: dict[str, Any]) -> dict[str, list[str]]:
    """Errors by field for the fields given (a partial update checks only what it changes)."""
    errors: dict[str, list[str]] = {}
    checks = {
        "id_number": id_number_errors,
        "phone": phone_errors,
        "credit_code": credit_code_errors,
    }
    for field, check in checks.items():
        # Empty is allowed while the application is a draft: submitting asks for what is missing.
        if declared.get(field):
            found = check(declared[field])
            if found:
                errors[field] = found
    for field in ("full_name", "company_name"):
        if field in declared and len(str(declared[field] or "")) > 200:
            errors[field] = [_("At most 200 characters.")]
    if "credit_score" in declared and declared["credit_score"] is not None:
        score = declared["credit_score"]
        if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 1000:
            errors["credit_score"] = [_("A credit score is a whole number from 0 to 1000.")]
    if "device_risk_flags" in declared and not (
        isinstance(declared["device_risk_flags"], list)
        and all(isinstance(flag, str) for flag in declared["device_risk_flags"])
    ):
        errors["device_risk_flags"] = [_("Device risk flags are a list of strings.")]
    return errors


def normalize_declared(declared: dict[str, Any]) -> dict[str, Any]:
    """Canonical forms: ID number and credit code upper-case without spaces, phone digits only."""
    result = dict(declared)
    for field in ("id_number", "credit_code"):
        if result.get(field):
            result[field] = _digits(result[field])
    if result.get("phone"):
        result["phone"] = _digits(result["phone"]).removeprefix("+86")
    return result
