"""`manage.py anchor_audit_chains`: sign the heads of every chain that moved since the last anchor
into a new anchor, now (Celery beat does it every AUDIT_ANCHOR_SECONDS)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from cases.compliance.anchors import anchor_chains


class Command(BaseCommand):
    help = _("Sign the heads of every audit chain that moved since the last anchor.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Side effects: one file in the anchor store, unless no chain moved."""
        anchor = anchor_chains()
        if anchor is None:
            self.stdout.write(_("No chain moved since the last anchor; nothing written."))
            return
        self.stdout.write(
            self.style.SUCCESS(
                _("Anchor %(name)s signs the heads of %(n)d cases.")
                % {"name": anchor.name, "n": len(anchor.heads)}
            )
        )
