"""Factories. Cases reach a state only through the services, as in production."""

from __future__ import annotations

import io
from typing import Any

import factory
from django.contrib.auth.models import Group
from PIL import Image

from accounts.models import User
from accounts.roles import Role
from cases import services
from cases.models import Case, Program
from cases.states import FILE_SLOTS, CaseState, ProgramCode, Slot, Verdict

VALID_ID_NUMBER = "11010519491231002X"
VALID_CREDIT_CODE = "91350100M000100Y43"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def roles(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        for role in extracted or [Role.APPLICANT]:
            obj.groups.add(Group.objects.get(name=role))
        if any(role != Role.APPLICANT for role in extracted or []):
            obj.is_staff = True
        obj.save()


def png_bytes(colour: str = "#3366aa", size: tuple[int, int] = (64, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def declared_for(program: str) -> dict[str, Any]:
    if program == ProgramCode.BUSINESS:
        return {
            "full_name": "张三",
            "company_name": "示例科技有限公司",
            "credit_code": VALID_CREDIT_CODE,
            "contact_email": "finance@example.com",
            "id_number": VALID_ID_NUMBER,
            "phone": "13800138000",
        }
    declared: dict[str, Any] = {
        "full_name": "张三",
        "id_number": VALID_ID_NUMBER,
        "phone": "13800138000",
    }
    if program == ProgramCode.CREDIT:
        declared["credit_score"] = 700
    return declared


def upload(case: Case, slot: str, actor: Any = None, colour: str = "#3366aa") -> Any:
    return services.document_upload(
        case=case,
        actor=actor or case.applicant,
        slot=slot,
        content=png_bytes(colour),
        content_type="image/png",
        original_name=f"{slot}.png",
    )


def draft_case(applicant: User, program: str = ProgramCode.REAL_NAME, **declared: Any) -> Case:
    case = services.case_create(
        program=Program.objects.get(code=program),
        applicant=applicant,
        actor=applicant,
        declared={**declared_for(program), **declared},
    )
    for slot in case.program.required_slots:
        if slot in FILE_SLOTS:
            upload(case, slot)
    return Case.objects.get(pk=case.pk)


def submitted_case(applicant: User, program: str = ProgramCode.REAL_NAME, **declared: Any) -> Case:
    case = draft_case(applicant, program, **declared)
    services.case_submit(case=case, actor=applicant)
    return Case.objects.get(pk=case.pk)


def reviewing_case(
    applicant: User, reviewer: User, program: str = ProgramCode.REAL_NAME, **declared: Any
) -> Case:
    case = submitted_case(applicant, program, **declared)
    services.case_claim(case=case, actor=reviewer)
    return Case.objects.get(pk=case.pk)


def accept_all(case: Case, reviewer: User) -> Case:
    for document in case.current_documents():
        services.document_set_verdict(document=document, actor=reviewer, verdict=Verdict.ACCEPTED)
    return Case.objects.get(pk=case.pk)


def approved_case(applicant: User, reviewer: User) -> Case:
    case = accept_all(reviewing_case(applicant, reviewer), reviewer)
    services.case_approve(case=case, actor=reviewer)
    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.APPROVED
    return case


def ask_again(
    case: Case,
    reviewer: User,
    *,
    message: str = "Blurred.",
    reasons: tuple[str, ...] = ("DOC_UNREADABLE",),
    slots: tuple[str, ...] = (Slot.ID_FRONT,),
) -> Case:
    """The reviewer claims a submitted case and asks for new materials (by default a sharper
    photo of the ID front)."""
    services.case_claim(case=case, actor=reviewer)
    services.case_request_materials(
        case=case, actor=reviewer, reason_codes=list(reasons), message=message, slots=list(slots)
    )
    return Case.objects.get(pk=case.pk)
