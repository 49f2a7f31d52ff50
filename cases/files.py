"""Serving a stored document to a person already checked (and logged) by the calling view."""

from __future__ import annotations

from django.http import FileResponse, HttpResponseGone
from django.utils.translation import gettext as _

from cases.models import Document


def purged_response(document: Document) -> HttpResponseGone | None:
    """410 Gone for a file purged under the retention rule (its row and hash stay), else None."""
    if document.purged_at is None:
        return None
    return HttpResponseGone(
        _(
            "This file was purged on %(date)s under the retention rule; its SHA-256 %(sha)s is "
            "kept in the case's history."
        )
        % {"date": document.purged_at.date().isoformat(), "sha": document.sha256},
        content_type="text/plain; charset=utf-8",
    )


def document_response(document: Document, *, inline: bool = False) -> FileResponse:
    """The file as an attachment (or inline, for the review screen's viewer), never cached,
    never sniffed; named after the case, slot and version, not the applicant's file name."""
    case = document.case
    response = FileResponse(
        document.file.open("rb"),
        content_type=document.content_type,
        as_attachment=not inline,
        filename=f"{case.reference}-{document.slot}-v{document.version}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
