"""The automatic checks (DESIGN §6): what they find about a case, as plain findings.

Signals, never decisions: each finding informs the reviewer; cases/checks/run.py stores them,
raises the priority for high ones and, while a high one is open, an approval needs a second
signature. Everything here reads; nothing writes.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from PIL import Image, UnidentifiedImageError
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

from cases.checks.pictures import hamming, hash_bands, image_quality
from cases.models import Case, Document, DocumentHashBand
from cases.states import ProgramCode, SignalKind, SignalSeverity, Slot

# Slots whose pictures are checked for quality, reuse and editing traces.
PHOTO_SLOTS = {
    Slot.ID_FRONT,
    Slot.ID_BACK,
    Slot.SELFIE_WITH_ID,
    Slot.LEGAL_REP_ID_FRONT,
    Slot.LEGAL_REP_ID_BACK,
    Slot.BUSINESS_LICENCE,
}
# Photographs of a card or a face, where blown-out pixels are a reflection hiding something.
CARD_PHOTO_SLOTS = PHOTO_SLOTS - {Slot.BUSINESS_LICENCE}
# Software that edits pictures (matched in the original file's metadata, case-insensitive).
EDITORS = re.compile(
    r"photoshop|gimp|lightroom|affinity|pixelmator|snapseed|picsart|meitu|美图|canva|"
    r"paint\.net|illustrator|coreldraw|corel paint|fotor|facetune|photoscape|醒图|"
    r"acdsee|photopea|krita",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str
    severity: str
    evidence: dict[str, Any] = field(default_factory=dict)
    document: Document | None = None


def case_findings(case: Case, *, today: date | None = None) -> list[Finding]:
    """Everything the checks find about the case as it is now (declared data and the current
    version of each document)."""
    found = _declared_findings(case, today=today or date.today())
    for document in case.current_documents():
        if document.slot in PHOTO_SLOTS and document.content_type.startswith("image/"):
            found += _document_findings(case, document)
    return found


# --- declared data --------------------------------------------------------------------------


def number_problem(number: str, kind: str, *, today: date) -> str:
    """A stable code for what is wrong with a resident ID number or credit code, or ""."""
    module = ric if kind == SignalKind.ID_NUMBER else uscc
    try:
        module.validate(number)
    except stdnum_errors.InvalidLength:
        return "length"
    except stdnum_errors.InvalidFormat:
        return "format"
    except stdnum_errors.InvalidComponent:
        return "birth_date"
    except stdnum_errors.InvalidChecksum:
        return "checksum"
    except stdnum_errors.ValidationError:
        return "invalid"
    if kind == SignalKind.ID_NUMBER and ric.get_birth_date(number) > today:
        return "future_birth_date"
    return ""


def _name_key(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\s·.\-]", "", folded)


def _declared_findings(case: Case, *, today: date) -> list[Finding]:
    found: list[Finding] = []
    if case.id_number:
        problem = number_problem(case.id_number, SignalKind.ID_NUMBER, today=today)
        if problem:
            found.append(
                Finding(
                    SignalKind.ID_NUMBER,
                    f"declared:{case.id_number_index[:16]}",
                    SignalSeverity.HIGH,
                    {"problem": problem},
                )
            )
    if case.program_id == ProgramCode.BUSINESS and case.credit_code:
        problem = number_problem(case.credit_code, SignalKind.CREDIT_CODE, today=today)
        if problem:
            found.append(
                Finding(
                    SignalKind.CREDIT_CODE,
                    f"declared:{case.credit_code}",
                    SignalSeverity.HIGH,
                    {"problem": problem, "code": case.credit_code},
                )
            )
    profile = (case.applicant.full_name or "").strip()
    declared = (case.full_name or "").strip()
    if profile and declared and _name_key(profile) != _name_key(declared):
        found.append(
            Finding(
                SignalKind.PROFILE_MISMATCH,
                f"declared:{_name_key(declared)}:{_name_key(profile)}"[:200],
                SignalSeverity.MEDIUM,
                {"declared": declared, "profile": profile},
            )
        )
    minimum = case.program.min_credit_score
    if minimum is not None and case.credit_score is not None and case.credit_score < minimum:
        found.append(
            Finding(
                SignalKind.CREDIT_SCORE,
                f"declared:{case.credit_score}:{minimum}",
                SignalSeverity.HIGH,
                {"score": case.credit_score, "minimum": minimum},
            )
        )
    flags = sorted({str(flag) for flag in case.device_risk_flags or []})
    if flags:
        found.append(
            Finding(
                SignalKind.DEVICE_RISK,
                ("declared:" + ",".join(flags))[:200],
                SignalSeverity.HIGH,
                {"flags": flags},
            )
        )
    return found


# --- documents ------------------------------------------------------------------------------


# Band values of flat rows (all pixels alike): shared by countless unrelated pictures.
UNINFORMATIVE_BANDS = {0x0000, 0xFFFF}


def similar_pictures(case: Case, document: Document) -> list[tuple[str, int]]:
    """Other applicants' cases holding a picture within CHECK_DUPLICATE_MAX_DISTANCE bits of this
    document's hash: (reference, distance), closest first.

    The same picture (distance 0) is looked up by its hash. A picture d bits away differs in at
    most d of the 16 bands, so it shares at least 16 - d of them exactly. Each band is looked up
    on its own, reading at most CHECK_DUPLICATE_CANDIDATES rows: a band value that more pictures
    share than that (a printed template, a plain background) says little about any one of them
    and is left out, and the others must then agree on all but d. The cost is bounded (17 index
    reads of at most that many rows), however many pictures there are and however alike.
    """
    if not document.perceptual_hash:
        return []
    limit = settings.CHECK_DUPLICATE_MAX_DISTANCE
    per_band = settings.CHECK_DUPLICATE_CANDIDATES
    # The very same picture first, through its own index: found however widely it is reused
    # (then its bands are common, and left out below).
    closest: dict[str, int] = {
        reference: 0
        for reference in Document.objects.filter(perceptual_hash=document.perceptual_hash)
        .exclude(case__applicant=case.applicant_id)
        .values_list("case__reference", flat=True)
        .order_by("-pk")[:per_band]
        if reference
    }
    others = DocumentHashBand.objects.exclude(document__case__applicant=case.applicant_id)
    shared: Counter[int] = Counter()
    informative = 0
    for band, value in hash_bands(document.perceptual_hash):
        if value in UNINFORMATIVE_BANDS:
            continue
        found = list(
            others.filter(band=band, value=value).values_list("document", flat=True)[: per_band + 1]
        )
        if len(found) > per_band:
            continue  # too common to tell pictures apart
        informative += 1
        shared.update(found)
    needed = informative - limit
    candidates = [pk for pk, n in shared.items() if n >= needed] if needed >= 1 else []
    rows = Document.objects.filter(pk__in=candidates).values_list(
        "case__reference", "perceptual_hash"
    )
    for reference, other in rows:
        distance = hamming(document.perceptual_hash, other)
        if reference and distance <= limit:
            closest[reference] = min(distance, closest.get(reference, distance))
    return sorted(closest.items(), key=lambda item: (item[1], item[0]))


def _document_findings(case: Case, document: Document) -> list[Finding]:
    subject = f"document:{document.pk}"
    where = {"slot": document.slot, "version": document.version}
    found: list[Finding] = []
    try:
        with document.file.open("rb") as handle, Image.open(handle) as image:
            image.load()
            quality = image_quality(image, glare=document.slot in CARD_PHOTO_SLOTS)
    except (UnidentifiedImageError, OSError, ValueError):
        quality = None
    if quality and quality["problems"]:
        found.append(
            Finding(
                SignalKind.IMAGE_QUALITY,
                subject,
                SignalSeverity.MEDIUM,
                {**where, **quality},
                document,
            )
        )
    matches = similar_pictures(case, document)
    if matches:
        found.append(
            Finding(
                SignalKind.DUPLICATE_IMAGE,
                subject,
                SignalSeverity.HIGH,
                {
                    **where,
                    "cases": [reference for reference, _ in matches[:5]],
                    "distances": [distance for _, distance in matches[:5]],
                },
                document,
            )
        )
    software = document.source_software
    if software and EDITORS.search(software):
        found.append(
            Finding(
                SignalKind.EDITING_SOFTWARE,
                subject,
                SignalSeverity.HIGH,
                {**where, "software": software},
                document,
            )
        )
    return found
