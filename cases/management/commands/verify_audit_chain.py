"""Verify the hash chain of every case's audit trail (or of one case).

Prints a summary and the first broken link of each broken chain; exits non-zero when any chain
is broken, so a cron job or CI step fails loudly.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cases.audit import ChainReport, verify_audit_chains
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


def _verify(case: Case | None) -> ChainReport:
    """Read every chain from one snapshot, so an event appended while we read is not taken for
    an event added behind the application's back."""
    if connection.in_atomic_block:
        # Inside someone else's transaction (tests, shells): that transaction is the snapshot.
        return verify_audit_chains(case=case)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Must be the transaction's first statement. A read-only snapshot blocks no writer.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # On SQLite the (IMMEDIATE) transaction holds the write lock while we read: writers
        # wait, up to the configured timeout, instead of changing chains under the check.
        return verify_audit_chains(case=case)


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

    def handle(self, *args: Any, **options: Any) -> None:
        """Reads only. Writes the summary to stdout; raises CommandError (exit 1) when broken."""
        case = find_case(options["case"]) if options["case"] else None
        report = _verify(case)
        broken = report.broken or []
        self.stdout.write(
            _("Checked %(cases)s, %(events)s: %(broken)s.")
            % {
                "cases": ngettext("%(n)d case", "%(n)d cases", report.cases_checked)
                % {"n": report.cases_checked},
                "events": ngettext("%(n)d event", "%(n)d events", report.events_checked)
                % {"n": report.events_checked},
                "broken": ngettext("%(n)d broken chain", "%(n)d broken chains", len(broken))
                % {"n": len(broken)},
            }
        )
        for link in broken:
            self.stdout.write(self.style.ERROR(str(link)))
        if broken:
            raise CommandError(
                ngettext(
                    "%(n)d audit chain is broken; the first broken link is listed above.",
                    "%(n)d audit chains are broken; the first broken link of each is listed above.",
                    len(broken),
                )
                % {"n": len(broken)}
            )
        self.stdout.write(self.style.SUCCESS(_("Every audit chain checked is intact.")))
