"""The demo loader's steps: create the people and the demo wallet, then start, fill, submit,
review and decide cases through the services, exactly as the portal, the API and the reviewers
would. Nothing here sets a state or creates an event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.roles import Role
from cases import services
from cases.actors import Actor, IntegrationActor
from cases.demo.materials import (
    business_licence,
    id_card_back,
    id_card_front,
    mp4_placeholder,
    pdf_document,
    selfie,
)
from cases.demo.people import (
    COMPANIES,
    DEMO_API_KEY,
    DEMO_INTEGRATION,
    DEMO_USERS,
    PEOPLE,
    WALLET,
    Company,
    Person,
    credit_code,
)
from cases.models import ApiKey, ApiScope, Case, Document, Integration, Program
from cases.models.api import hash_key
from cases.states import FILE_SLOTS, Slot, Verdict


@dataclass(frozen=True)
class _Subject:
    person: Person
    company: Company | None
    shown_name: str


@dataclass
class Loader:
    """Builds demo cases through the services, as the portal, the API and the reviewers would,
    remembering whose identity each case uses and which files it wrote."""

    users: dict[str, User] = field(default_factory=dict)
    subjects: dict[int, _Subject] = field(default_factory=dict)
    # Files written so far: a rolled-back load must not leave them behind.
    stored: list[str] = field(default_factory=list)
    late_cases: list[Case] = field(default_factory=list)

    def create_users(self) -> None:
        groups = {group.name: group for group in Group.objects.filter(name__in=list(Role))}
        for demo in DEMO_USERS:
            extra = {"full_name": demo.full_name, "preferred_language": demo.language}
            if demo.is_superuser:
                user = User.objects.create_superuser(demo.email, demo.password, **extra)
            else:
                user = User.objects.create_user(
                    demo.email, demo.password, is_staff=demo.role != Role.APPLICANT, **extra
                )
                user.groups.add(groups[demo.role])
            if user.is_staff:
                # Staff sign in with a second factor; seed_demo prints each secret.
                TOTPDevice.objects.create(user=user, name="demo", confirmed=True)
            self.users[demo.key] = User.objects.get(pk=user.pk)  # fresh permission cache

    def create_integration(self) -> None:
        """The demo wallet: an API key with every scope (printed by seed_demo; demo only)."""
        integration = Integration.objects.create(
            name=DEMO_INTEGRATION, description="Demo wallet backend"
        )
        ApiKey.objects.create(
            integration=integration,
            label="demo",
            prefix=DEMO_API_KEY.split("_")[1],
            key_hash=hash_key(DEMO_API_KEY),
            scopes=[scope.value for scope in ApiScope],
        )

    # --- the applicant's side

    def owner(self, case: Case) -> Actor:
        return IntegrationActor(case.integration) if case.integration else case.applicant

    def new(
        self,
        program: str,
        owner: str,
        *,
        business: bool = False,
        wallet: bool = False,
        shown_name: str = "",
        **extra: Any,
    ) -> Case:
        person = PEOPLE[owner]
        company = COMPANIES[owner] if business else None
        declared = {"full_name": person.name, "id_number": person.id_number, "phone": person.phone}
        if company is not None:
            declared |= {
                "company_name": company.name,
                "credit_code": company.credit_code,
                "contact_email": company.contact_email,
            }
        applicant = self.users[owner]
        case = services.case_create(
            program=Program.objects.get(code=program),
            applicant=applicant,
            actor=WALLET if wallet else applicant,
            declared=declared | extra,
        )
        self.subjects[case.pk] = _Subject(person, company, shown_name)
        return case

    def material(self, case: Case, slot: str, variant: str) -> tuple[bytes, str, str]:
        subject = self.subjects[case.pk]
        person, company = subject.person, subject.company
        if slot in (Slot.ID_FRONT, Slot.LEGAL_REP_ID_FRONT):
            return (
                id_card_front(person, shown_name=subject.shown_name, blurred=variant == "blurred"),
                "image/jpeg",
                "id-front.jpg",
            )
        if slot in (Slot.ID_BACK, Slot.LEGAL_REP_ID_BACK):
            return id_card_back(person), "image/jpeg", "id-back.jpg"
        if slot == Slot.SELFIE_WITH_ID:
            return selfie(person, blurred=variant == "blurred"), "image/jpeg", "selfie.jpg"
        if slot == Slot.LIVENESS_VIDEO:
            label = f"{person.latin} {variant or 'first recording'}"
            return mp4_placeholder(label), "video/mp4", "liveness.mp4"
        assert company is not None
        if slot == Slot.BUSINESS_LICENCE:
            code = credit_code(company.region, "MA9XW3T1") if variant == "wrong_code" else ""
            return business_licence(company, person, code=code), "image/png", "licence.png"
        return self._pdf(slot, person, company, variant), "application/pdf", f"{slot}.pdf"

    def _pdf(self, slot: str, person: Person, company: Company, variant: str) -> bytes:
        if slot == Slot.FINANCIAL_STATEMENTS and variant == "wrong_document":
            return pdf_document(
                "Bank account opening form",
                (
                    f"Account holder: {company.latin}",
                    "Bank: Demo Commercial Bank",
                    "Account type: basic deposit account",
                ),
            )
        if slot == Slot.FINANCIAL_STATEMENTS:
            return pdf_document(
                "Financial statements 2025 (audited)",
                (
                    f"Company: {company.latin}",
                    f"Unified social credit code: {company.credit_code}",
                    "Revenue: CNY 12,480,000",
                    "Net profit: CNY 1,315,000",
                    "Total assets: CNY 8,920,000",
                    "Total liabilities: CNY 3,105,000",
                ),
            )
        if slot == Slot.TAX_REGISTRATION:
            return pdf_document(
                "Tax registration certificate",
                (
                    f"Taxpayer: {company.latin}",
                    f"Taxpayer ID: {company.credit_code}",
                    "Taxpayer type: general VAT taxpayer",
                ),
            )
        return pdf_document(
            "Personal information form",
            (
                f"Name: {person.latin}",
                "Occupation: company director",
                "Annual income: CNY 300,000 - 500,000",
                f"Phone: {person.phone}",
                f"E-mail: {company.contact_email}",
            ),
        )

    def upload(self, case: Case, slot: str, variant: str = "") -> Document:
        content, content_type, name = self.material(case, slot, variant)
        document = services.document_upload(
            case=case,
            actor=self.owner(case),
            slot=slot,
            content=content,
            content_type=content_type,
            original_name=name,
        )
        if document.file.name:
            self.stored.append(document.file.name)
        return document

    def fill(
        self,
        case: Case,
        *,
        skip: Sequence[str] = (),
        optional: bool = False,
        variants: dict[str, str] | None = None,
    ) -> Case:
        slots = case.program.slot_codes if optional else case.program.required_slots
        for slot in slots:
            if slot in FILE_SLOTS and slot not in skip:
                self.upload(case, slot, (variants or {}).get(slot, ""))
        return case

    def submitted(
        self,
        program: str,
        owner: str,
        *,
        optional: bool = False,
        variants: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Case:
        case = self.fill(self.new(program, owner, **kwargs), optional=optional, variants=variants)
        services.case_submit(case=case, actor=self.owner(case))
        return case

    # --- the reviewer's side

    def reviewing(self, program: str, owner: str, reviewer: str, **kwargs: Any) -> Case:
        case = self.submitted(program, owner, **kwargs)
        services.case_claim(case=case, actor=self.users[reviewer])
        return case

    def accept(self, case: Case, reviewer: str, *, but: Sequence[str] = ()) -> None:
        for document in case.current_documents():
            if document.slot not in but and document.verdict != Verdict.ACCEPTED:
                services.document_set_verdict(
                    document=document, actor=self.users[reviewer], verdict=Verdict.ACCEPTED
                )

    def ask_again(
        self,
        case: Case,
        reviewer: str,
        slot: str,
        reason: str,
        message: str,
        *,
        verdict: bool = True,
    ) -> None:
        """Request a new upload of `slot` and send the case back for it. `verdict=False` for
        reasons the catalogue does not allow on a single document (LIVENESS_FAILED)."""
        self.accept(case, reviewer, but=[slot])
        document = case.documents.filter(slot=slot).order_by("-version").first()
        assert document is not None
        if verdict:
            services.document_set_verdict(
                document=document,
                actor=self.users[reviewer],
                verdict=Verdict.REUPLOAD_REQUESTED,
                reason_code=reason,
            )
        services.case_request_materials(
            case=case,
            actor=self.users[reviewer],
            reason_codes=[reason],
            message=message,
            slots=[slot],
        )

    def approve(self, case: Case, reviewer: str, *, checker: str = "", note: str = "") -> None:
        self.accept(case, reviewer)
        services.case_approve(case=case, actor=self.users[reviewer], note=note)
        if checker:
            services.case_countersign(
                case=case, actor=self.users[checker], note="材料齐全，同意通过。"
            )

    def reject(
        self,
        case: Case,
        reviewer: str,
        reasons: Sequence[str],
        message: str,
        *,
        checker: str = "",
        note: str = "",
    ) -> None:
        services.case_reject(
            case=case, actor=self.users[reviewer], reason_codes=reasons, message=message, note=note
        )
        if checker:
            services.case_countersign(
                case=case, actor=self.users[checker], note="已复核，同意拒绝。"
            )

    def freeze(self, case: Case, actor: Actor, reason: str, note: str = "") -> None:
        services.case_freeze(case=case, actor=actor, reason_code=reason, note=note)

    def close(self, case: Case, actor: Actor, reason: str, note: str = "") -> None:
        services.case_close(case=case, actor=actor, reason_code=reason, note=note)

    def expect(self, case: Case, state: str) -> Case:
        case = Case.objects.get(pk=case.pk)
        if case.state != state:
            raise RuntimeError(
                _("Demo case %(case)s ended in %(actual)s instead of %(expected)s.")
                % {"case": case, "actual": case.state, "expected": state}
            )
        return case

    def remove_files(self) -> None:
        for name in self.stored:
            default_storage.delete(name)
