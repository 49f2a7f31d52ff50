"""The reasons a decision names and the items it asks for again, checked against the catalogue
(DESIGN §4) and the case's program."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from cases.errors import InvalidInput
from cases.models import Case, ReasonCode
from cases.states import Decision, Slot


def reasons_for(codes: Sequence[str], decision: str, *, required: bool = True) -> list[ReasonCode]:
    """The active catalogue reasons of `codes`, in the given order, each usable for `decision`.
    Raises InvalidInput naming the unknown or unusable ones."""
    codes = list(dict.fromkeys(code.strip().upper() for code in codes if code and code.strip()))
    if required and not codes:
        raise InvalidInput(
            _("Choose at least one reason from the catalogue."),
            field_errors={"reason_codes": [_("At least one reason is required.")]},
        )
    found = {r.code: r for r in ReasonCode.objects.filter(code__in=codes, is_active=True)}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise InvalidInput(
            _("Unknown reason code: %(codes)s.") % {"codes": ", ".join(unknown)},
            field_errors={"reason_codes": [_("Unknown reason code.")]},
        )
    unusable = [code for code in codes if decision not in found[code].decisions]
    if unusable:
        raise InvalidInput(
            _("These reasons cannot be used to %(decision)s: %(codes)s.")
            % {"decision": Decision(decision).label, "codes": ", ".join(unusable)},
            field_errors={"reason_codes": [_("This reason does not fit this decision.")]},
        )
    return [found[code] for code in codes]


def slots_for(case: Case, reasons: list[ReasonCode], slots: Sequence[str] | None) -> list[str]:
    """The slots to ask for again: the reviewer's choice, else what the reasons name."""
    chosen = list(
        dict.fromkeys(slots if slots is not None else [s for r in reasons for s in r.slots])
    )
    allowed = set(case.program.slot_codes) | {Slot.DECLARED_DATA}
    wrong = [slot for slot in chosen if slot not in allowed]
    # A reason's default slots may name items another program has (ID front on a business
    # case); those are dropped. Only the reviewer's own choice can be wrong.
    if wrong and slots is not None:
        raise InvalidInput(
            _("These items are not part of this program: %(slots)s.") % {"slots": ", ".join(wrong)},
            field_errors={"slots": [_("Choose items of this program.")]},
        )
    return [slot for slot in chosen if slot in allowed]
