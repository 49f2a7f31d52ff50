"""What the API accepts and returns. Reads are built from the same selectors as the portal."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import get_language
from rest_framework import serializers

from cases.models import Case, CaseEvent, ExternalApplicant, ReasonCode, reasons_told
from cases.sla.selectors import case_eta
from cases.states import CaseState, ProgramCode, Slot
from cases.validation import declared_data_errors


class DeclaredSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    id_number = serializers.RegexField(
        r"^\d{17}[\dXx]$",
        required=False,
        allow_blank=True,
        help_text="18 characters; checksum, birth date and length are checked (400 otherwise).",
    )
    phone = serializers.RegexField(r"^1[3-9]\d{9}$", required=False, allow_blank=True)
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    credit_code = serializers.RegexField(
        r"^[0-9A-HJ-NPQRTUWXY]{18}$",
        required=False,
        allow_blank=True,
        help_text="18 characters; the checksum is checked (400 otherwise).",
    )
    contact_email = serializers.EmailField(required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = declared_data_errors(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class CaseCreateSerializer(serializers.Serializer):
    program = serializers.ChoiceField(choices=ProgramCode.choices)
    external_id = serializers.RegexField(
        r"^[A-Za-z0-9._:\-]{1,100}$",
        help_text="The wallet's id of the applicant: letters, digits, . _ : - (at most 100).",
    )
    declared = DeclaredSerializer()
    credit_score = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=1000
    )
    device_risk_flags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=50
    )


class ItemSerializer(serializers.Serializer):
    slot = serializers.CharField()
    label = serializers.CharField()


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


def _items(slots: list[str]) -> list[dict[str, str]]:
    return [{"slot": s, "label": str(Slot(s).label)} for s in slots if s in Slot.values]


def _described(reasons: list[ReasonCode]) -> list[dict[str, str]]:
    """Reasons as the API shows them: code and the applicant's message in the active language."""
    language = get_language() or settings.LANGUAGE_CODE
    return [{"code": r.code, "message": r.applicant_message(language)} for r in reasons]


def _reasons(codes: list[str], *, frozen: bool = False) -> list[dict[str, str]]:
    return _described(reasons_told(codes, frozen=frozen))


class CaseSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    program = serializers.CharField(source="program_id", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    attempt_limit = serializers.IntegerField(source="program.attempt_limit", read_only=True)
    external_id = serializers.SerializerMethodField()
    expected_completion = serializers.SerializerMethodField()
    paused = serializers.SerializerMethodField()
    respond_by = serializers.SerializerMethodField()
    status_text = serializers.SerializerMethodField()
    requested_items = serializers.SerializerMethodField()
    reasons = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = (
            "id",
            "reference",
            "program",
            "state",
            "state_label",
            "attempt",
            "attempt_limit",
            "external_id",
            "expected_completion",
            "paused",
            "respond_by",
            "status_text",
            "requested_items",
            "reasons",
            "created_at",
            "updated_at",
        )

    def get_external_id(self, case: Case) -> str | None:
        link = ExternalApplicant.objects.filter(user_id=case.applicant_id).first()
        return link.external_id if link else None

    def get_expected_completion(self, case: Case) -> str | None:
        eta = case_eta(case)
        return eta.expected_at.isoformat() if eta.expected_at else None

    def get_paused(self, case: Case) -> bool:
        return case.state == CaseState.NEEDS_MATERIALS

    def get_respond_by(self, case: Case) -> str | None:
        return case.auto_close_at.isoformat() if case.auto_close_at else None

    def get_status_text(self, case: Case) -> str:
        return case_eta(case).describe()

    def get_requested_items(self, case: Case) -> list[dict[str, str]]:
        request = case.open_material_request()
        if request is None or case.state not in (CaseState.NEEDS_MATERIALS, CaseState.REJECTED):
            return []
        return _items(request.missing_slots())

    def get_reasons(self, case: Case) -> list[dict[str, str]]:
        if case.state == CaseState.NEEDS_MATERIALS:
            request = case.open_material_request()
            return _reasons(request.reason_codes) if request else []
        if case.state == CaseState.REJECTED:
            return _reasons(case.rejection_reasons)
        if case.state in (CaseState.ACCOUNT_FROZEN, CaseState.CLOSED) and case.state_reason:
            # Only reasons marked as disclosed, as for a freeze (the pre-refactor rule for both).
            return _reasons([case.state_reason], frozen=True)
        return []


class HistorySerializer(serializers.ModelSerializer):
    sequence = serializers.IntegerField(source="seq")
    type = serializers.CharField(source="event_type")
    label = serializers.CharField(source="get_event_type_display")
    reasons = serializers.SerializerMethodField()
    message = serializers.SerializerMethodField()

    class Meta:
        model = CaseEvent
        fields = (
            "sequence",
            "type",
            "label",
            "created_at",
            "from_state",
            "to_state",
            "reasons",
            "message",
        )

    def get_reasons(self, event: CaseEvent) -> list[dict[str, str]]:
        return _described(event.reasons_told())

    def get_message(self, event: CaseEvent) -> str:
        return event.message_told


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The file; its type is read from its content.")


class DocumentSerializer(serializers.Serializer):
    slot = serializers.CharField()
    version = serializers.IntegerField()
    sha256 = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_at = serializers.DateTimeField()


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


class CasePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")
    results = CaseSerializer(many=True)


class CaseFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=CaseState.choices, required=False)
    program = serializers.ChoiceField(choices=ProgramCode.choices, required=False)
    updated_since = serializers.DateTimeField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)
    cursor = serializers.CharField(required=False)
