"""The upload pipeline (cases/checks/sanitise.py) through document_upload_file, as the portal and
the API use it: refused files leave nothing behind, accepted images come back clean."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import IO, Any, cast

import pytest
from PIL import Image

from accounts.models import User
from cases import services
from cases.checks.sanitise import UploadRefused
from cases.models import CaseEvent, Document
from cases.states import ProgramCode, Slot
from tests.factories import draft_case, png_bytes
from tests.helpers import stored_files


def jpeg_bytes(size: tuple[int, int] = (120, 80), exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "#4477aa").save(out, "JPEG", exif=exif or Image.Exif())
    return out.getvalue()


def pdf_bytes() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width × height pixels (the pixel-flood attack) with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def upload(case: Any, actor: Any, slot: str, content: bytes, name: str) -> Document:
    return services.document_upload_file(
        case=case, actor=actor, slot=slot, stream=io.BytesIO(content), name=name, size=len(content)
    )


BAD = {
    "over the size cap": (Slot.ID_FRONT, b"\xff\xd8\xff" + b"0" * 2048, "big.jpg", 413),
    "a PDF named .jpg": (Slot.ID_FRONT, pdf_bytes(), "front.jpg", 415),
    "HTML named .png": (Slot.ID_FRONT, b"<html><script>alert(1)</script></html>", "a.png", 415),
    "an SVG": (
        Slot.ID_FRONT,
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "a.svg",
        415,
    ),
    "a 30000x30000 image": (Slot.ID_FRONT, png_header_only(30000, 30000), "flood.png", 400),
    "a truncated JPEG": (Slot.ID_FRONT, jpeg_bytes((800, 600))[:700], "cut.jpg", 400),
    "a PDF that does not parse": (
        Slot.BUSINESS_LICENCE,
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf",
        "licence.pdf",
        400,
    ),
    "a filename with ../ and CRLF": (Slot.ID_FRONT, jpeg_bytes(), "../../x\r\n.jpg", 400),
    "an empty file": (Slot.ID_FRONT, b"", "empty.jpg", 400),
}


@pytest.mark.parametrize("case_name", list(BAD))
def test_bad_uploads_are_refused_with_a_clear_message_and_leave_nothing(
    applicant: User, settings: Any, case_name: Any
) -> None:
    settings.MAX_UPLOAD_BYTES = 1024
    slot, content, name, status = BAD[case_name]
    program = ProgramCode.BUSINESS if slot == Slot.BUSINESS_LICENCE else ProgramCode.REAL_NAME
    case = draft_case(applicant, program)
    files, documents, events = stored_files(), Document.objects.count(), CaseEvent.objects.count()
    if case_name != "over the size cap":
        settings.MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    with pytest.raises(UploadRefused) as excinfo:
        upload(case, applicant, slot, content, name)
    assert excinfo.value.status == status
    assert len(excinfo.value.message) > 20 and "file" in excinfo.value.field_errors
    assert stored_files() == files
    assert Document.objects.count() == documents
    assert CaseEvent.objects.count() == events


def test_a_huge_upload_is_refused_without_reading_it_whole(applicant: User, settings: Any) -> None:
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    case = draft_case(applicant)

    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            buffer[: len(buffer)] = b"\xff" * len(buffer)
            self.read_bytes += len(buffer)
            return len(buffer)

    stream = Endless()
    with pytest.raises(UploadRefused) as excinfo:
        services.document_upload_file(
            case=case,
            actor=applicant,
            slot=Slot.ID_FRONT,
            stream=cast(IO[bytes], stream),
            name="x.jpg",
        )
    assert excinfo.value.status == 413
    assert stream.read_bytes <= settings.MAX_UPLOAD_BYTES + 64 * 1024


def test_gps_exif_is_gone_and_the_photo_is_upright(applicant: User) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    gps = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    exif[0x8825] = gps
    exif[0x010F] = "PhoneMaker"
    original = jpeg_bytes((120, 80), exif)
    with Image.open(io.BytesIO(original)) as check:
        assert check.getexif().get_ifd(0x8825)  # the test file really carries GPS
    case = draft_case(applicant)
    document = upload(case, applicant, Slot.ID_FRONT, original, "IMG_0001.JPG")
    stored = Path(document.file.path).read_bytes()
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (80, 120)  # turned upright from the EXIF orientation
        assert not image.getexif()
        assert not image.getexif().get_ifd(0x8825)
        assert "exif" not in image.info
    assert b"PhoneMaker" not in stored
    assert document.content_type == "image/jpeg"
    assert document.original_name == "IMG_0001.JPG"
    with Image.open(document.thumbnail.path) as thumb:
        assert max(thumb.size) <= 480


@pytest.mark.parametrize(
    ("slot", "program", "content", "content_type"),
    [
        (Slot.ID_FRONT, ProgramCode.REAL_NAME, png_bytes(), "image/png"),
        (Slot.ID_BACK, ProgramCode.REAL_NAME, jpeg_bytes(), "image/jpeg"),
        (Slot.FINANCIAL_STATEMENTS, ProgramCode.BUSINESS, pdf_bytes(), "application/pdf"),
        (
            Slot.LIVENESS_VIDEO,
            ProgramCode.VIDEO,
            b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64,
            "video/mp4",
        ),
        (
            Slot.LIVENESS_VIDEO,
            ProgramCode.VIDEO,
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01" + b"\x00" * 64,
            "video/webm",
        ),
    ],
)
def test_accepted_types_are_decided_by_content(
    applicant: User, slot: Any, program: Any, content: Any, content_type: Any
) -> None:
    case = draft_case(applicant, program)
    document = upload(case, applicant, slot, content, "whatever.bin")
    assert document.content_type == content_type
    assert Path(document.file.path).is_file()


def test_a_webp_photo_is_accepted_and_re_encoded(applicant: User) -> None:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "#884400").save(out, "WEBP")
    document = upload(draft_case(applicant), applicant, Slot.ID_FRONT, out.getvalue(), "a.webp")
    assert document.content_type == "image/webp"


def pdf_with_script() -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hello from the PDF');"),
        }
    )
    writer.add_metadata({"/Author": "Zhang Wei 13812345678"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue() + b"<html><script>alert(1)</script></html>"


def test_a_pdf_is_stored_without_scripts_actions_or_metadata(applicant: User) -> None:
    original = pdf_with_script()
    assert b"/JavaScript" in original and b"13812345678" in original
    case = draft_case(applicant, ProgramCode.BUSINESS)
    document = upload(case, applicant, Slot.FINANCIAL_STATEMENTS, original, "statements.pdf")
    stored = Path(document.file.path).read_bytes()
    assert stored.startswith(b"%PDF-")
    for leftover in (b"/JavaScript", b"/OpenAction", b"13812345678", b"<script>"):
        assert leftover not in stored
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(stored)).pages) == 1


@pytest.mark.parametrize(
    "head",
    [
        b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64,  # a HEIC photo is not a video
        b"\x00\x00\x00\x18ftyp<html><script>alert(1)</script>",
        b"\x00\x00\x00\x14ftypqt  " + b"\x00" * 64,  # QuickTime
    ],
)
def test_only_mp4_brands_pass_as_mp4(applicant: User, head: Any) -> None:
    case = draft_case(applicant, ProgramCode.VIDEO)
    with pytest.raises(UploadRefused) as excinfo:
        upload(case, applicant, Slot.LIVENESS_VIDEO, head, "video.mp4")
    assert excinfo.value.status == 415


def test_an_upload_to_a_case_that_takes_none_is_refused_before_decoding(
    applicant: User, reviewer: User
) -> None:
    from cases.errors import InvalidState
    from tests.factories import submitted_case

    case = submitted_case(applicant)

    class Unread(io.BytesIO):
        def read(self, *args: Any) -> bytes:
            raise AssertionError("the file was read")

    with pytest.raises(InvalidState):
        services.document_upload_file(
            case=case,
            actor=applicant,
            slot=Slot.ID_FRONT,
            stream=Unread(),
            name="x.png",
        )
