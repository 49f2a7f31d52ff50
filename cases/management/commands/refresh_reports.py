"""`manage.py refresh_reports [--since DATE] [--until DATE]`: recompute the reports' weekly
counters (Celery beat does this week's and last week's every REPORT_REFRESH_SECONDS); after an
upgrade, or to rebuild history, give the range."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.compliance.reports import weeks_between
from cases.compliance.statistics import report_refresh


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        message = _("Give dates as YYYY-MM-DD, not %(value)r.") % {"value": value}
        raise CommandError(message) from exc


class Command(BaseCommand):
    help = _("Recompute the compliance reports' weekly counters.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", help=_("first day (YYYY-MM-DD); default: last week"))
        parser.add_argument("--until", help=_("last day (YYYY-MM-DD); default: today"))

    def handle(self, *args: Any, **options: Any) -> None:
        """Side effects: the ReportFact rows of every week in the range, replaced."""
        until = _day(options["until"]) if options["until"] else timezone.localdate()
        weeks = weeks_between(_day(options["since"]), until) if options["since"] else None
        done = report_refresh(weeks)
        self.stdout.write(
            self.style.SUCCESS(
                _("%(weeks)d weeks recomputed, %(counters)d counters.")
                % {"weeks": len(done), "counters": sum(done.values())}
            )
        )
