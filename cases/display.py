"""How staff pages and evidence packs show personal data and business time: names and ID numbers
masked unless revealed (the reveal is logged by the caller), durations in hours and minutes."""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext as _


def mask_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) <= 1:
        return name or "—"
    return name[0] + "*" * (len(name) - 1)


def mask_id_number(number: str) -> str:
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def format_business(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return _("%(h)dh %(m)02dm") % {"h": hours, "m": minutes}
