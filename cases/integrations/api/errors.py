"""One JSON shape for every error: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from cases.checks.sanitise import UploadRefused
from cases.errors import (
    CaseActionError,
    ConcurrentChange,
    FourEyesConflict,
    InvalidInput,
    InvalidState,
    NotPermitted,
)


def error(code: str, message: Any, http_status: int, fields: Any = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=http_status)


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [
            str(item) if not isinstance(item, (dict, list)) else _flatten(item) for item in detail
        ]
    return [str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, UploadRefused):
        code = {413: "file_too_large", 415: "unsupported_file_type"}.get(exc.status, "invalid_file")
        return error(code, exc.message, exc.status, exc.field_errors)
    if isinstance(exc, NotPermitted):
        return error("forbidden", exc.message, status.HTTP_403_FORBIDDEN)
    if isinstance(exc, InvalidInput):
        return error("invalid", exc.message, status.HTTP_400_BAD_REQUEST, exc.field_errors)
    if isinstance(exc, (InvalidState, FourEyesConflict, ConcurrentChange)):
        return error("conflict", exc.message, status.HTTP_409_CONFLICT)
    if isinstance(exc, CaseActionError):
        return error("invalid", exc.message, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return error("request_too_large", _("The request is too large."), 413)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return error(
            "invalid",
            _("Some fields are not valid."),
            status.HTTP_400_BAD_REQUEST,
            _flatten(exc.detail),
        )
    codes = {
        400: "bad_request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        406: "not_acceptable",
        415: "unsupported_media_type",
        429: "rate_limited",
    }
    detail = getattr(exc, "detail", response.data)
    message = detail if isinstance(detail, str) else _("The request could not be handled.")
    body = error(codes.get(response.status_code, "error"), message, response.status_code)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            body[header] = response[header]
    return body
