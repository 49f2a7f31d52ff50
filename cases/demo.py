"""Demo data for `make run`: people of every role, and cases of every program in every state.

Every case is built through cases/services.py, exactly as the portal, the API and the reviewers
would build it, so the audit trail, the outbox and the material requests are the ones production
writes. Nothing here sets a state or creates an event.

The documents are generated with Pillow (ID cards, selfies, a licence), written by hand (PDFs) or
are a placeholder container (the liveness "video": no encoder is available, see
`mp4_placeholder`). Pillow's default font has no Chinese glyphs, so text on the images is in
pinyin/English; the declared data itself is in Chinese.
"""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import time_machine
from django.contrib.auth.models import Group
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from stdnum.cn import ric, uscc

from accounts.models import User
from accounts.roles import Role
from cases import services
from cases.actors import SYSTEM, Actor, IntegrationActor
from cases.checks.run import case_run_checks
from cases.models import ApiKey, ApiScope, Case, Document, Integration, Program
from cases.models.api import hash_key
from cases.sla.business_time import add_business_days
from cases.sla.calendar import business_calendar
from cases.sla.sweep import sla_sweep
from cases.states import FILE_SLOTS, CaseState, ProgramCode, Slot, Verdict

DEMO_DOMAIN = "demo.kycreview.test"
# The demo wallet backend: its cases are readable with the printed demo API key.
DEMO_INTEGRATION = "wallet"
WALLET = IntegrationActor(DEMO_INTEGRATION)
S = CaseState
P = ProgramCode


# --- who ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    key: str
    full_name: str
    role: str  # a Role value; "" for the superuser
    language: str = "zh-hans"

    @property
    def email(self) -> str:
        return f"{self.key}@{DEMO_DOMAIN}"

    @property
    def password(self) -> str:
        # Fixed and printed on purpose: this is demo data for a local machine only.
        return f"kyc-demo-{self.key}"

    @property
    def is_superuser(self) -> bool:
        return not self.role


# Fixed and printed on purpose, like the demo passwords: a local demo only (DEBUG=1).
DEMO_API_KEY = "kyc_demo00000000_wallet-demo-key-for-local-use-only"

DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("applicant", "张伟", Role.APPLICANT),
    DemoUser("applicant2", "王芳", Role.APPLICANT),
    DemoUser("applicant3", "李娜", Role.APPLICANT, language="en"),
    DemoUser("reviewer", "刘洋", Role.REVIEWER),
    DemoUser("reviewer2", "陈静", Role.REVIEWER, language="en"),
    DemoUser("senior", "杨磊", Role.SENIOR_REVIEWER),
    DemoUser("supervisor", "赵敏", Role.SUPERVISOR),
    DemoUser("supervisor2", "黄勇", Role.SUPERVISOR),
    DemoUser("auditor", "周丽", Role.AUDITOR),
    DemoUser("admin", "系统管理员", ""),
)


@dataclass(frozen=True)
class Person:
    """An applicant's identity as declared and as printed on the generated ID card."""

    name: str
    latin: str
    area: str  # administrative division code of the place of registration
    born: date
    order: int  # odd for men, even for women
    phone: str
    authority: str

    @property
    def id_number(self) -> str:
        body = f"{self.area}{self.born:%Y%m%d}{self.order:03d}"
        # calc_check_digit ignores the last character: it expects the number with its check digit.
        return ric.validate(body + ric.calc_check_digit(body + "0"))

    @property
    def sex(self) -> str:
        return "M" if self.order % 2 else "F"


@dataclass(frozen=True)
class Company:
    name: str
    latin: str
    region: str
    organization: str  # the first 8 characters of the organization code (GB 11714)
    contact_email: str

    @property
    def credit_code(self) -> str:
        return credit_code(self.region, self.organization)


PEOPLE = {
    "applicant": Person(
        "张伟",
        "ZHANG WEI",
        "110105",
        date(1988, 3, 12),
        123,
        "13800138001",
        "Beijing PSB Chaoyang Branch",
    ),
    "applicant2": Person(
        "王芳",
        "WANG FANG",
        "310104",
        date(1992, 7, 8),
        246,
        "13900139002",
        "Shanghai PSB Xuhui Branch",
    ),
    "applicant3": Person(
        "李娜", "LI NA", "330106", date(1995, 11, 23), 58, "13700137003", "Hangzhou PSB Xihu Branch"
    ),
}
COMPANIES = {
    "applicant": Company(
        "北京云帆科技有限公司",
        "Beijing Yunfan Technology Co., Ltd.",
        "110105",
        "MA01YF2K",
        f"finance.yunfan@{DEMO_DOMAIN}",
    ),
    "applicant3": Company(
        "杭州青禾贸易有限公司",
        "Hangzhou Qinghe Trading Co., Ltd.",
        "330106",
        "MA2CQH8R",
        f"office.qinghe@{DEMO_DOMAIN}",
    ),
}

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def credit_code(region: str, organization: str) -> str:
    """A valid unified social credit code: registered by the market regulator (9), a company (1),
    in `region`, with the organization code's own check digit and the code's check digit."""
    total = sum(int(c, 36) * w for c, w in zip(organization, _ORG_WEIGHTS, strict=True))
    org_check = {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))
    body = f"91{region}{organization}{org_check}"
    return uscc.validate(body + uscc.calc_check_digit(body))


# --- documents ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _watermark(image: Image.Image, text: str = "DEMO SPECIMEN") -> Image.Image:
    """Diagonal translucent text, so no generated card is ever mistaken for a real one."""
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    stamp = Image.new("RGBA", (image.width, 120), (0, 0, 0, 0))
    ImageDraw.Draw(stamp).text(
        (stamp.width // 2, 60), text, font=_font(72), fill=(200, 40, 40, 90), anchor="mm"
    )
    stamp = stamp.rotate(20, expand=True)
    layer.paste(stamp, ((image.width - stamp.width) // 2, (image.height - stamp.height) // 2))
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def _encode(image: Image.Image, fmt: str, *, blurred: bool = False) -> bytes:
    if blurred:  # the DOC_UNREADABLE demo: too blurry to read the ID number
        image = image.filter(ImageFilter.GaussianBlur(7))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 85} if fmt == "JPEG" else {"optimize": True}))
    return buffer.getvalue()


def _portrait(image: Image.Image, box: tuple[int, int, int, int], skin: str) -> None:
    """Head and shoulders, clipped to `box`."""
    w, h = box[2] - box[0], box[3] - box[1]
    photo = Image.new("RGB", (w, h), "#c9d6e3")
    draw = ImageDraw.Draw(photo)
    draw.ellipse((w * 0.28, h * 0.12, w * 0.72, h * 0.58), fill=skin)
    draw.ellipse((w * 0.08, h * 0.62, w * 0.92, h * 1.3), fill="#34495e")
    image.paste(photo, box[:2])


@functools.lru_cache(maxsize=32)
def id_card_front(person: Person, *, shown_name: str = "", blurred: bool = False) -> bytes:
    """The portrait side of an ID-card-like specimen, with the ID number masked (JPEG)."""
    image = Image.new("RGB", (856, 540), "#dfeaf5")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((8, 8, 847, 531), radius=28, outline="#7a9cc6", width=4)
    draw.text((40, 30), "RESIDENT IDENTITY CARD - DEMO", font=_font(30), fill="#1f3a5f")
    rows = [
        ("Name", shown_name or person.latin),
        ("Sex", person.sex),
        ("Born", person.born.strftime("%Y-%m-%d")),
        ("Address", person.authority.removesuffix(" Branch").replace("PSB ", "")),
    ]
    for i, (label, value) in enumerate(rows):
        draw.text((40, 100 + i * 62), label, font=_font(22), fill="#4a6485")
        draw.text((170, 96 + i * 62), value, font=_font(30), fill="#111111")
    masked = person.id_number[:6] + "*" * 8 + person.id_number[-4:]
    draw.text((40, 440), "ID No.", font=_font(22), fill="#4a6485")
    draw.text((170, 432), masked, font=_font(36), fill="#111111")
    _portrait(image, (600, 90, 800, 350), "#f1c27d" if person.sex == "M" else "#e8b898")
    return _encode(_watermark(image), "JPEG", blurred=blurred)


@functools.lru_cache(maxsize=32)
def id_card_back(person: Person) -> bytes:
    """The issuing-authority side of the specimen (JPEG)."""
    image = Image.new("RGB", (856, 540), "#e6eff7")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((8, 8, 847, 531), radius=28, outline="#7a9cc6", width=4)
    draw.ellipse((50, 40, 200, 190), fill="#c0392b")
    draw.ellipse((95, 85, 155, 145), fill="#f5c542")
    draw.text((240, 70), "PEOPLE'S REPUBLIC OF CHINA", font=_font(32), fill="#1f3a5f")
    draw.text((240, 120), "RESIDENT IDENTITY CARD (DEMO)", font=_font(28), fill="#1f3a5f")
    issued = person.born.replace(year=person.born.year + 25)
    expires = issued.replace(year=issued.year + 20)
    draw.text((80, 320), "Issued by", font=_font(22), fill="#4a6485")
    draw.text((260, 314), person.authority, font=_font(28), fill="#111111")
    draw.text((80, 400), "Valid", font=_font(22), fill="#4a6485")
    draw.text((260, 394), f"{issued:%Y.%m.%d} - {expires:%Y.%m.%d}", font=_font(28), fill="#111111")
    return _encode(_watermark(image), "JPEG")


@functools.lru_cache(maxsize=16)
def selfie(person: Person, *, blurred: bool = False) -> bytes:
    """A placeholder of the applicant holding their ID card next to their face (JPEG)."""
    image = Image.new("RGB", (600, 800), "#b8c7d9")
    draw = ImageDraw.Draw(image)
    _portrait(image, (100, 120, 500, 800), "#f1c27d" if person.sex == "M" else "#e8b898")
    draw.rounded_rectangle(
        (330, 520, 560, 665), radius=12, fill="#dfeaf5", outline="#7a9cc6", width=3
    )
    draw.text((345, 535), "ID CARD", font=_font(20), fill="#1f3a5f")
    draw.text((345, 570), person.latin, font=_font(22), fill="#111111")
    draw.text((30, 30), f"SELFIE WITH ID - {person.latin}", font=_font(28), fill="#1f3a5f")
    return _encode(_watermark(image), "JPEG", blurred=blurred)


@functools.lru_cache(maxsize=16)
def business_licence(company: Company, person: Person, *, code: str = "") -> bytes:
    """A business-licence specimen (PNG); `code` prints a different credit code on it."""
    image = Image.new("RGB", (1000, 700), "#fffdf6")
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, 987, 687), outline="#b03a2e", width=6)
    draw.rectangle((28, 28, 971, 671), outline="#b03a2e", width=2)
    draw.text((500, 80), "BUSINESS LICENCE - DEMO", font=_font(40), fill="#b03a2e", anchor="mm")
    rows = [
        ("Unified social credit code", code or company.credit_code),
        ("Name", company.latin),
        ("Type", "Limited liability company"),
        ("Legal representative", person.latin),
        ("Registered capital", "CNY 1,000,000"),
        ("Established", "2016-08-01"),
    ]
    for i, (label, value) in enumerate(rows):
        draw.text((70, 170 + i * 62), label, font=_font(22), fill="#555555")
        draw.text((400, 164 + i * 62), value, font=_font(28), fill="#111111")
    draw.ellipse((760, 500, 920, 660), outline="#c0392b", width=6)
    draw.text((840, 580), "REGISTRY", font=_font(20), fill="#c0392b", anchor="mm")
    return _encode(_watermark(image), "PNG")


def _pdf_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


@functools.lru_cache(maxsize=32)
def pdf_document(title: str, lines: tuple[str, ...]) -> bytes:
    """A one-page PDF 1.4 written by hand: Helvetica text, a correct cross-reference table."""
    text = [f"BT /F1 18 Tf 24 TL 56 780 Td ({_pdf_text(title)}) Tj /F1 11 Tf 16 TL T*"]
    text += [f"T* ({_pdf_text(line)}) Tj" for line in lines]
    text.append("T* T* (DEMO SPECIMEN - generated by kycreview seed_demo) Tj ET")
    stream = "\n".join(text).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_placeholder(label: str) -> bytes:
    """An ISO base media file (ftyp, moov with a movie header and no track, free, empty mdat).

    Structurally valid boxes, but NOT playable video: without ffmpeg there is no encoder here.
    It stands in for the liveness video so the slot, its content type and its hash are real.
    """
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">IIIIIIHH8x", 0, 0, 0, 1000, 0, 0x10000, 0x100, 0)
        + matrix
        + bytes(24)
        + struct.pack(">I", 1),
    )
    note = f"kycreview demo placeholder, not a recording: {label}".encode()
    return ftyp + _box(b"moov", mvhd) + _box(b"free", note) + _box(b"mdat", b"")


# --- the load -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Subject:
    person: Person
    company: Company | None
    shown_name: str


def _business_days_before(calendar: Any, now: datetime, days: float) -> datetime:
    """The latest instant from which `days` business days end at or before `now` (bisection:
    the calendar adds business time forwards only)."""
    low, high = now - timedelta(days=60), now
    for _step in range(40):
        middle = low + (high - low) / 2
        if add_business_days(calendar, middle, days) <= now:
            low = middle
        else:
            high = middle
    return low


@dataclass
class _Loader:
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

    # --- the cases, program by program

    def real_name(self) -> None:
        u = self.users
        self.expect(self.fill(self.new(P.REAL_NAME, "applicant"), skip=[Slot.ID_BACK]), S.DRAFT)

        # Sent back for a blurry photo, new photo uploaded, resubmitted: front of the queue.
        case = self.reviewing(
            P.REAL_NAME, "applicant2", "reviewer", variants={Slot.ID_FRONT: "blurred"}
        )
        self.ask_again(
            case,
            "reviewer",
            Slot.ID_FRONT,
            "DOC_UNREADABLE",
            "身份证人像面照片模糊，无法辨认身份证号码。请在光线充足处重新拍摄并上传。",
        )
        self.upload(case, Slot.ID_FRONT)
        services.case_resubmit(case=case, actor=u["applicant2"])
        self.expect(case, S.SUBMITTED)

        case = self.reviewing(P.REAL_NAME, "applicant3", "reviewer2")
        self.accept(case, "reviewer2", but=[Slot.ID_BACK])
        self.expect(case, S.REVIEWING)

        case = self.reviewing(P.REAL_NAME, "applicant", "reviewer")
        self.ask_again(
            case,
            "reviewer",
            Slot.ID_BACK,
            "DOC_UNREADABLE",
            "身份证国徽面照片反光，有效期无法辨认。请避开强光重新拍摄。",
        )
        self.expect(case, S.NEEDS_MATERIALS)

        case = self.reviewing(P.REAL_NAME, "applicant2", "reviewer2")
        self.approve(case, "reviewer2", note="证件清晰，信息一致。")
        self.expect(case, S.APPROVED)

        # The card shows another name than the one declared.
        case = self.reviewing(P.REAL_NAME, "applicant2", "reviewer", shown_name="WANG FEI")
        self.reject(
            case,
            "reviewer",
            ["INFO_MISMATCH"],
            "您填写的姓名（王芳）与身份证上的姓名不一致，请核对后重新填写并上传身份证人像面。",
        )
        self.expect(case, S.REJECTED)

        case = self.reviewing(P.REAL_NAME, "applicant3", "reviewer")
        self.approve(case, "reviewer")
        self.freeze(case, u["applicant3"], "THEFT_REPORTED", "申请人报告手机丢失，账户被盗用。")
        self.expect(case, S.ACCOUNT_FROZEN)

        case = self.reviewing(P.REAL_NAME, "applicant", "reviewer2")
        self.approve(case, "reviewer2")
        self.close(case, u["applicant"], "CLOSURE_REQUESTED", "申请人申请注销钱包账户。")
        self.expect(case, S.CLOSED)

    def video(self) -> None:
        u = self.users
        case = self.fill(self.new(P.VIDEO, "applicant2"), skip=[Slot.LIVENESS_VIDEO])
        self.expect(case, S.DRAFT)

        self.expect(self.submitted(P.VIDEO, "applicant3"), S.SUBMITTED)

        # Frozen by a supervisor, then unfrozen under four eyes and handed to a reviewer.
        case = self.submitted(P.VIDEO, "applicant")
        self.freeze(case, u["supervisor"], "INFO_TAMPERED", "钱包风控提示实名手机号被他人修改。")
        services.case_unfreeze(
            case=case,
            actor=u["supervisor"],
            reason_code="OWNER_VERIFIED",
            note="已电话回访本人并核实身份，手机号修改为本人操作。",
            reviewer=u["reviewer2"],
        )
        services.case_countersign(case=case, actor=u["supervisor2"], note="回访记录已核对。")
        self.expect(case, S.REVIEWING)

        case = self.reviewing(
            P.VIDEO, "applicant2", "reviewer", variants={Slot.LIVENESS_VIDEO: "camera blocked"}
        )
        self.ask_again(
            case,
            "reviewer",
            Slot.LIVENESS_VIDEO,
            "LIVENESS_FAILED",
            "视频中未能清晰展示身份证，且画面中断。请检查摄像头权限后重新录制。",
            verdict=False,
        )
        self.expect(case, S.NEEDS_MATERIALS)

        case = self.reviewing(P.VIDEO, "applicant3", "reviewer2")
        self.approve(case, "reviewer2")
        self.expect(case, S.APPROVED)

        case = self.reviewing(P.VIDEO, "applicant", "reviewer")
        self.reject(
            case,
            "reviewer",
            ["FACE_MISMATCH"],
            "自拍和视频中的人与身份证照片不一致，请由证件持有人本人重新拍摄。",
        )
        self.expect(case, S.REJECTED)

        case = self.reviewing(P.VIDEO, "applicant2", "reviewer")
        self.freeze(case, u["reviewer"], "DOC_FORGED", "证件照片边缘有明显拼接痕迹。")
        self.expect(case, S.ACCOUNT_FROZEN)

        # The applicant never answered: the system closes the case.
        case = self.reviewing(
            P.VIDEO, "applicant3", "reviewer2", variants={Slot.SELFIE_WITH_ID: "blurred"}
        )
        self.ask_again(
            case,
            "reviewer2",
            Slot.SELFIE_WITH_ID,
            "DOC_UNREADABLE",
            "手持证件自拍照模糊，请重新拍摄。",
        )
        self.close(case, SYSTEM, "APPLICANT_NO_RESPONSE")
        self.expect(case, S.CLOSED)

    def credit(self) -> None:
        """Credit cases come from the wallet backend, with the score it computed."""
        u = self.users
        self.expect(self.new(P.CREDIT, "applicant3", wallet=True, credit_score=688), S.DRAFT)

        case = self.submitted(P.CREDIT, "applicant", wallet=True, credit_score=702)
        self.expect(case, S.SUBMITTED)

        case = self.submitted(
            P.CREDIT, "applicant2", wallet=True, credit_score=655, device_risk_flags=["rooted"]
        )
        services.case_assign(case=case, actor=u["supervisor"], reviewer=u["senior"])
        self.expect(case, S.REVIEWING)

        case = self.reviewing(P.CREDIT, "applicant3", "reviewer2", wallet=True, credit_score=731)
        self.ask_again(
            case,
            "reviewer2",
            Slot.ID_BACK,
            "DOC_EXPIRED",
            "身份证已过有效期，请上传在有效期内的新身份证。",
        )
        self.expect(case, S.NEEDS_MATERIALS)

        case = self.reviewing(P.CREDIT, "applicant", "reviewer", wallet=True, credit_score=720)
        self.approve(case, "reviewer")
        self.expect(case, S.APPROVED)

        case = self.reviewing(P.CREDIT, "applicant2", "reviewer2", wallet=True, credit_score=540)
        self.reject(case, "reviewer2", ["CREDIT_SCORE_LOW"], "信用分 540，低于本项目最低要求 600。")
        self.expect(case, S.REJECTED)

        case = self.submitted(P.CREDIT, "applicant3", wallet=True, credit_score=612)
        self.freeze(case, WALLET, "ACCOUNT_RESTRICTED", "钱包风控：账户正在处理投诉。")
        self.expect(case, S.ACCOUNT_FROZEN)

        case = self.submitted(P.CREDIT, "applicant", wallet=True, credit_score=590)
        self.freeze(case, WALLET, "SUSPICIOUS_BEHAVIOUR", "钱包风控：同一设备短时间内多次申请。")
        self.close(case, u["supervisor"], "SUPERVISOR_CLOSED", "重复申请，已有处理中的案件。")
        self.expect(case, S.CLOSED)

    def business(self) -> None:
        """Approvals need four eyes: the reviewer proposes, a senior reviewer countersigns."""
        u = self.users
        case = self.new(P.BUSINESS, "applicant", business=True)
        self.fill(
            case, skip=[Slot.BUSINESS_LICENCE, Slot.FINANCIAL_STATEMENTS, Slot.PERSONAL_INFO_FORM]
        )
        self.expect(case, S.DRAFT)

        self.expect(
            self.submitted(P.BUSINESS, "applicant3", business=True, optional=True), S.SUBMITTED
        )

        # Proposed for approval, waiting for the second signature.
        case = self.reviewing(P.BUSINESS, "applicant", "reviewer", business=True)
        self.accept(case, "reviewer")
        services.case_approve(case=case, actor=u["reviewer"], note="材料齐全，建议通过。")
        self.expect(case, S.REVIEWING)

        case = self.reviewing(
            P.BUSINESS,
            "applicant3",
            "reviewer2",
            business=True,
            variants={Slot.FINANCIAL_STATEMENTS: "wrong_document"},
        )
        self.ask_again(
            case,
            "reviewer2",
            Slot.FINANCIAL_STATEMENTS,
            "FINANCIALS_MISSING",
            "上传的文件是开户申请表，不是财务报表。请上传最近一期经审计的财务报表（PDF）。",
        )
        self.expect(case, S.NEEDS_MATERIALS)

        case = self.reviewing(P.BUSINESS, "applicant", "reviewer", business=True, optional=True)
        self.approve(case, "reviewer", checker="senior", note="材料齐全，建议通过。")
        self.expect(case, S.APPROVED)

        # The checker sends an approval back; the maker then proposes a fraud rejection.
        case = self.reviewing(P.BUSINESS, "applicant3", "reviewer2", business=True)
        self.approve(case, "reviewer2", note="材料齐全。")
        services.case_send_back(
            case=case, actor=u["senior"], note="营业执照图片的信用代码区域疑似经过编辑，请再核查。"
        )
        self.reject(
            case,
            "reviewer2",
            ["DOC_FORGED"],
            "",
            checker="supervisor",
            note="经核查，营业执照存在编辑痕迹。",
        )
        self.expect(case, S.REJECTED)

        case = self.submitted(P.BUSINESS, "applicant", business=True)
        self.freeze(case, u["supervisor2"], "ACCOUNT_RESTRICTED", "企业账户涉及投诉，暂停处理。")
        self.expect(case, S.ACCOUNT_FROZEN)

        # Rejected for a wrong licence, applied again with the right one, approved, then closed.
        case = self.reviewing(
            P.BUSINESS,
            "applicant3",
            "reviewer",
            business=True,
            variants={Slot.BUSINESS_LICENCE: "wrong_code"},
        )
        self.reject(
            case,
            "reviewer",
            ["LICENSE_INVALID"],
            "营业执照上的统一社会信用代码与您填写的不一致，请上传正确的营业执照。",
        )
        self.upload(case, Slot.BUSINESS_LICENCE)
        services.case_reapply(case=case, actor=u["applicant3"])
        services.case_claim(case=case, actor=u["reviewer"])
        self.approve(case, "reviewer", checker="senior")
        self.close(case, u["applicant3"], "CLOSURE_REQUESTED", "企业已注销。")
        self.expect(case, S.CLOSED)

    def late(self) -> None:
        """Two cases submitted earlier (the clock travels back for their submission only), so
        the At risk and Breached queues, the escalation and its e-mails are there at once: one
        unassigned with 0.9 of its business day used, one under review half a day overdue."""
        calendar = business_calendar()
        now = timezone.now()
        for owner, used, reviewer in (("applicant3", 0.9, ""), ("applicant", 1.5, "reviewer2")):
            submitted_at = _business_days_before(calendar, now, used)
            with time_machine.travel(submitted_at, tick=False):
                case = self.submitted(P.REAL_NAME, owner)
            if reviewer:
                services.case_claim(case=case, actor=self.users[reviewer])
            self.late_cases.append(case)

    def run(self) -> None:
        self.create_users()
        self.create_integration()
        self.real_name()
        self.video()
        self.credit()
        self.business()
        self.late()
        # What the beat's sweep would do within a minute: flag the late cases (events, e-mails).
        sla_sweep()
        at_risk, breached = (Case.objects.get(pk=case.pk) for case in self.late_cases)
        if at_risk.sla_at_risk_since is None or at_risk.sla_breached_at is not None:
            raise RuntimeError(_("Demo case %(case)s is not at risk.") % {"case": at_risk})
        if breached.sla_breached_at is None:
            raise RuntimeError(_("Demo case %(case)s is not breached.") % {"case": breached})
        # The automatic checks every submission and upload asked for, now, so the reviewers'
        # queues show their signals from the first page load (the worker would run them too).
        for case_id in Case.objects.filter(checks_requested_at__isnull=False).values_list(
            "pk", flat=True
        ):
            case_run_checks(case_id=case_id)

    def remove_files(self) -> None:
        for name in self.stored:
            default_storage.delete(name)


def demo_is_loaded() -> bool:
    return User.objects.filter(email__in=[demo.email for demo in DEMO_USERS]).exists()


def demo_load() -> bool:
    """Load the demo data unless it is there already. Returns whether it loaded.

    Side effects: users, cases, documents (files in private storage), events and queued
    notifications, all in one transaction; if anything fails, nothing stays, files included.
    The notification e-mails are enqueued after commit.
    """
    loader = _Loader()
    try:
        with transaction.atomic():
            if demo_is_loaded():
                return False
            loader.run()
    except BaseException:
        loader.remove_files()
        raise
    return True
