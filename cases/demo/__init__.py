"""Demo data for `make run` (`manage.py seed_demo`): people of every role, and cases of every
program in every state, built through the services exactly as production builds them, so the
audit trail, the outbox and the material requests are the ones production writes.

- `people`: the demo users, identities, companies and the wallet's API key;
- `materials`: the generated documents;
- `loader`: the steps (start, fill, submit, review, decide) through the services;
- `stories`: the cases, program by program.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from accounts.models import User
from cases.compliance.reports import weeks_between
from cases.compliance.statistics import report_refresh
from cases.demo.loader import Loader
from cases.demo.people import DEMO_API_KEY, DEMO_USERS
from cases.demo.stories import load_everything
from cases.models import Case

__all__ = ["DEMO_API_KEY", "DEMO_USERS", "demo_is_loaded", "demo_load"]


def demo_is_loaded() -> bool:
    return User.objects.filter(email__in=[demo.email for demo in DEMO_USERS]).exists()


def demo_load() -> bool:
    """Load the demo data unless it is there already. Returns whether it loaded.

    Side effects: users, cases, documents (files in private storage), events and queued
    notifications, all in one transaction; if anything fails, nothing stays, files included.
    The notification e-mails are enqueued after commit; the reports' counters are computed.
    """
    loader = Loader()
    try:
        with transaction.atomic():
            if demo_is_loaded():
                return False
            load_everything(loader)
    except BaseException:
        loader.remove_files()
        raise
    # The reports show the demo's weeks at once, not after the first periodic refresh.
    first = Case.objects.aggregate(first=Min("created_at"))["first"]
    if first is not None:
        report_refresh(weeks_between(timezone.localdate(first), timezone.localdate()))
    return True
