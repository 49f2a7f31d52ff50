"""`manage.py verify_audit_chain [--case REF] [--against ANCHOR]`: verify the hash chain of every
case's audit trail (or of one case), and against the signed anchors (the latest by default).

Prints a summary and each problem (the first broken link of each broken chain, each history that
no longer holds its anchored event); exits non-zero when there is any, so a cron job or CI step
fails loudly.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.compliance.verification import verify_in_one_snapshot
from cases.models import Case


def find_case(reference_or_uuid: str) -> Case:
    """The case with this reference (KYC-2026-000123) or public UUID; CommandError if none."""
    value = reference_or_uuid.strip()
    try:
        lookup: dict[str, Any] = {"uuid": uuid.UUID(value)}
    except ValueError:
        lookup = {"reference": value.upper()}
    case = Case.objects.filter(**lookup).only("pk", "uuid", "reference").first()
    if case is None:
        raise CommandError(
            _(
                "No case has the reference or id %(value)s. Give a reference such as "
                "KYC-2026-000123 or the case's UUID."
            )
            % {"value": value}
        )
    return case


class Command(BaseCommand):
    help = _(
        "Verify the tamper-evident hash chain of every case's audit trail, or of one case. "
        "Names the first broken link of each broken chain and exits with status 1 if any "
        "chain is broken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--case",
            metavar="REFERENCE_OR_UUID",
            help=_("Verify only this case (its reference, e.g. KYC-2026-000123, or its UUID)."),
        )
        parser.add_argument(
            "--against",
            metavar="ANCHOR",
            help=_(
                "Compare with the heads signed up to this anchor (its file name in the anchor "
                "store, e.g. 00000012.json) instead of the latest."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Reads only. Writes the summary to stdout; raises CommandError (exit 1) when broken."""
        case = find_case(options["case"]) if options["case"] else None
        anchored = verify_in_one_snapshot(case=case, against=options["against"])
        report = anchored.chains
        problems = anchored.problems
        latest = anchored.anchors[-1] if anchored.anchors else None
        if latest is not None:
            self.stdout.write(
                _("Against %(n)d anchors, the last %(name)s of %(when)s.")
                % {"n": len(anchored.anchors), "name": latest.name, "when": latest.created_at}
            )
        elif not anchored.anchor_error:
            self.stdout.write(_("There is no anchor yet: the chains are checked on their own."))
        self.stdout.write(
            _("Checked %(cases)s, %(events)s: %(broken)s.")
            % {
                "cases": ngettext("%(n)d case", "%(n)d cases", report.cases_checked)
                % {"n": report.cases_checked},
                "events": ngettext("%(n)d event", "%(n)d events", report.events_checked)
                % {"n": report.events_checked},
                "broken": ngettext("%(n)d broken chain", "%(n)d broken chains", len(problems))
                % {"n": len(problems)},
            }
        )
        for problem in problems:
            self.stdout.write(self.style.ERROR(problem))
        if problems:
            raise CommandError(
                ngettext(
                    "%(n)d audit chain is broken; the first broken link is listed above.",
                    "%(n)d audit chains are broken; the first broken link of each is listed above.",
                    len(problems),
                )
                % {"n": len(problems)}
            )
        self.stdout.write(self.style.SUCCESS(_("Every audit chain checked is intact.")))
