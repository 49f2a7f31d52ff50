"""`python manage.py request_checks`: run the automatic checks again on cases already in play.

After an upgrade that added or changed checks (or new CHECK_* thresholds), cases submitted
earlier have no signals until their next upload. This gives pictures without a perceptual hash
one (so the duplicate check sees them), then asks for the checks of every open case, or of the
cases named, and queues them for the workers (or runs them here with --run-here).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from cases.checks.run import checks_request_many, documents_backfill_hashes
from cases.management.commands.verify_audit_chain import find_case
from cases.models import Case


class Command(BaseCommand):
    help = (
        "Give older pictures their perceptual hash, then ask for the automatic checks of every "
        "case still in play (or of the cases named), queued for the workers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "cases", nargs="*", metavar="CASE", help="references or UUIDs (default: every case)"
        )
        parser.add_argument(
            "--run-here",
            action="store_true",
            help="run the checks in this process instead of queueing them for the workers",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hashed = documents_backfill_hashes()
        self.stdout.write(_("Pictures given a perceptual hash: %(n)d") % {"n": hashed})
        if options["cases"]:
            cases = Case.objects.filter(pk__in=[find_case(c).pk for c in options["cases"]])
        else:
            cases = Case.objects.all()
        count = checks_request_many(cases, run_here=options["run_here"])
        if options["run_here"]:
            message = _("Cases checked: %(n)d") % {"n": count}
        else:
            message = _("Cases whose checks were queued: %(n)d") % {"n": count}
        self.stdout.write(self.style.SUCCESS(message))
