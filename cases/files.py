"""Serving a stored document to a person already checked (and logged) by the calling view."""

from __future__ import annotations

from django.http import FileResponse

from cases.models import Document


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
