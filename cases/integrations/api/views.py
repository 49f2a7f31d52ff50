"""REST API v1 for the wallet backend (presentation only: selectors to read, services to act)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import services
from cases.actors import Actor
from cases.audit import client_ip, record_access
from cases.checks.sanitise import oversized_request
from cases.integrations.api.auth import IntegrationPrincipal
from cases.integrations.api.errors import error
from cases.integrations.api.serializers import (
    CaseCreateSerializer,
    CaseFilterSerializer,
    CasePageSerializer,
    CaseSerializer,
    DocumentSerializer,
    ErrorSerializer,
    HistorySerializer,
    UploadSerializer,
)
from cases.integrations.applicants import integration_applicant
from cases.models import (
    AccessKind,
    Case,
    IdempotencyRecord,
    Integration,
    Program,
)
from cases.selectors import (
    case_for_integration,
    case_for_staff,
    case_history,
    cases_for_integration,
    cases_for_staff,
)
from cases.states import Slot

ERRORS = {code: ErrorSerializer for code in (400, 401, 403, 404, 409, 413, 415, 429)}
CASE_ID = OpenApiParameter(
    "uuid", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The case id"
)
READ, WRITE, DOCS = "cases:read", "cases:write", "documents:write"


def scoped_cases(request: Request) -> QuerySet[Case]:
    """What the caller may read: an integration its own cases; staff (view_all_cases, see
    ApiAccess) every case."""
    user = request.user
    if isinstance(user, IntegrationPrincipal):
        return cases_for_integration(user.integration.name)
    return cases_for_staff(user)


def actor_of(request: Request) -> Actor:
    user = request.user
    assert isinstance(user, IntegrationPrincipal)
    return user.actor


def case_of(request: Request, uuid: Any) -> Case:
    """The caller's case, or 404 (another integration's case does not exist here, and neither
    does an id that is not a UUID)."""
    user = request.user
    if isinstance(user, IntegrationPrincipal):
        return case_for_integration(user.integration.name, uuid)
    return case_for_staff(user, uuid)


class CasePagination(CursorPagination):
    # The id only grows: cases inserted while a client pages never shift or repeat its pages.
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request: Request) -> Any:
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                int(cursor.position)
            except (TypeError, ValueError) as exc:
                raise NotFound(self.invalid_cursor_message) from exc
        return cursor


class CaseListCreate(APIView):
    required_scopes = {"GET": READ, "POST": WRITE}
    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[CaseFilterSerializer],
        responses={200: CasePageSerializer, **ERRORS},
        summary="List cases",
        operation_id="cases_list",
    )
    def get(self, request: Request) -> Response:
        # A plain dict: an empty value is then refused, not taken for an absent one.
        filters = CaseFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        cases = scoped_cases(request)
        if "state" in wanted:
            cases = cases.filter(state=wanted["state"])
        if "program" in wanted:
            cases = cases.filter(program_id=wanted["program"])
        if "updated_since" in wanted:
            cases = cases.filter(updated_at__gte=wanted["updated_since"])
        paginator = CasePagination()
        page = paginator.paginate_queryset(cases, request, view=self)
        return paginator.get_paginated_response(CaseSerializer(page, many=True).data)

    @extend_schema(
        request=CaseCreateSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, location="header")],
        responses={201: CaseSerializer, **ERRORS},
        summary="Create an application",
        operation_id="cases_create",
    )
    def post(self, request: Request) -> Response:
        principal = request.user
        assert isinstance(principal, IntegrationPrincipal)
        serializer = CaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 255:
            return error("invalid", _("Idempotency-Key is at most 255 characters."), 400)
        fingerprint = hashlib.sha256(
            json.dumps(serializer.validated_data, sort_keys=True, default=str).encode()
        ).hexdigest()
        if key:
            replay = self._replay(principal.integration, key, fingerprint)
            if replay is not None:
                return replay
        try:
            with transaction.atomic():
                body = self._create(principal, serializer.validated_data)
                if key:
                    IdempotencyRecord.objects.create(
                        integration=principal.integration,
                        key=key,
                        request_hash=fingerprint,
                        status=201,
                        body=body,
                    )
        except IntegrityError:
            # The same key, sent twice at once: the other request won; answer as it did.
            replay = self._replay(principal.integration, key, fingerprint) if key else None
            if replay is None:
                raise
            return replay
        return Response(body, status=201)

    def _replay(self, integration: Integration, key: str, fingerprint: str) -> Response | None:
        record = IdempotencyRecord.objects.filter(integration=integration, key=key).first()
        if record is None:
            return None
        if record.request_hash != fingerprint:
            return error(
                "idempotency_key_reused",
                _("This Idempotency-Key was used for a different request."),
                409,
            )
        response = Response(record.body, status=record.status)
        response["Idempotent-Replayed"] = "true"
        return response

    def _create(self, principal: IntegrationPrincipal, data: dict[str, Any]) -> Any:
        program = get_object_or_404(Program, code=data["program"])
        declared = {k: v for k, v in data["declared"].items() if v not in ("", None)}
        for field in ("credit_score", "device_risk_flags"):
            if data.get(field) is not None:
                declared[field] = data[field]
        case = services.case_create(
            program=program,
            applicant=integration_applicant(
                integration=principal.integration, external_id=data["external_id"]
            ),
            actor=principal.actor,
            declared=declared,
        )
        return CaseSerializer(Case.objects.select_related("program").get(pk=case.pk)).data


class CaseDetail(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(
        parameters=[CASE_ID],
        responses={200: CaseSerializer, **ERRORS},
        summary="Read a case",
        operation_id="case_read",
    )
    def get(self, request: Request, uuid: Any) -> Response:
        case = case_of(request, uuid)
        if not isinstance(request.user, IntegrationPrincipal):
            # A member of staff reading personal data: logged like the review screen.
            record_access(
                user=request.user,
                kind=AccessKind.VIEW_CASE,
                case=case,
                detail="api",
                ip=client_ip(request.META),
            )
        return Response(CaseSerializer(case).data)


class CaseHistory(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(
        parameters=[CASE_ID],
        responses={200: HistorySerializer(many=True), **ERRORS},
        summary="The applicant-facing history",
        operation_id="case_history",
    )
    def get(self, request: Request, uuid: Any) -> Response:
        case = case_of(request, uuid)
        return Response(HistorySerializer(case_history(case), many=True).data)


class CaseUpload(APIView):
    required_scopes = {"POST": DOCS}
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        parameters=[
            CASE_ID,
            OpenApiParameter("slot", str, OpenApiParameter.PATH, enum=list(Slot.values)),
        ],
        responses={201: DocumentSerializer, **ERRORS},
        summary="Upload a material to a slot",
        operation_id="case_upload",
    )
    def post(self, request: Request, uuid: Any, slot: str) -> Response:
        case = case_of(request, uuid)
        too_big = oversized_request(request.META)
        if too_big is not None:
            raise too_big
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": [_("Send the file in the 'file' field.")]})
        document = services.document_upload_file(
            case=case,
            actor=actor_of(request),
            slot=slot,
            stream=upload,
            name=upload.name or "",
            size=upload.size,
        )
        return Response(
            DocumentSerializer(
                {
                    "slot": document.slot,
                    "version": document.version,
                    "sha256": document.sha256,
                    "content_type": document.content_type,
                    "size": document.size,
                    "uploaded_at": document.uploaded_at,
                }
            ).data,
            status=201,
        )


class _CaseAction(APIView):
    required_scopes = {"POST": WRITE}

    def act(self, case: Case, actor: Actor) -> None:
        raise NotImplementedError

    def post(self, request: Request, uuid: Any) -> Response:
        case = case_of(request, uuid)
        self.act(case, actor_of(request))
        return Response(CaseSerializer(case_of(request, uuid)).data)


def action_schema(summary: str, operation_id: str) -> Any:
    return extend_schema(
        summary=summary,
        operation_id=operation_id,
        request=None,
        parameters=[CASE_ID],
        responses={200: CaseSerializer, **ERRORS},
    )


class CaseSubmit(_CaseAction):
    @action_schema("Submit", "case_submit")
    def post(self, request: Request, uuid: Any) -> Response:
        return super().post(request, uuid)

    def act(self, case: Case, actor: Actor) -> None:
        services.case_submit(case=case, actor=actor)


class CaseResubmit(_CaseAction):
    @action_schema("Resubmit after a request for materials", "case_resubmit")
    def post(self, request: Request, uuid: Any) -> Response:
        return super().post(request, uuid)

    def act(self, case: Case, actor: Actor) -> None:
        services.case_resubmit(case=case, actor=actor)


class CaseReportTheft(_CaseAction):
    @action_schema("Report the account stolen (freezes the case)", "case_report_theft")
    def post(self, request: Request, uuid: Any) -> Response:
        return super().post(request, uuid)

    def act(self, case: Case, actor: Actor) -> None:
        services.case_freeze(case=case, actor=actor, reason_code="THEFT_REPORTED")


class CaseClose(_CaseAction):
    @action_schema("Request closure", "case_close")
    def post(self, request: Request, uuid: Any) -> Response:
        return super().post(request, uuid)

    def act(self, case: Case, actor: Actor) -> None:
        services.case_close(case=case, actor=actor, reason_code="CLOSURE_REQUESTED")


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Unknown API paths answer in the API's error shape."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound()

    post = put = patch = delete = get
