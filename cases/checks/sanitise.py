"""Sanitising uploads, shared by the portal and the API: what a file is, whether we take it, and
the clean bytes we store (DESIGN §7).

- The size cap is checked before the file is read whole (`MAX_UPLOAD_BYTES`; the views also refuse
  a request whose Content-Length is already too big).
- The type comes from the content, never the name: JPEG, PNG and WebP images, PDF, and MP4/WebM
  for the liveness video. Anything else (SVG, HTML, an executable, a PDF named .jpg …) is refused.
- Images are fully decoded by Pillow under a lowered pixel limit where the decompression-bomb
  warning is an error, turned upright from their EXIF orientation, and re-encoded without any
  metadata (no GPS, no camera serial); a thumbnail is made for reviewers.
- PDFs are parsed and rewritten (cases/checks/pdf_sanitiser.py) in a separate process with a
  time limit, and must have at least one page.
- Nothing here touches the database or the disk; `document_upload` stores the result.
"""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from cases.checks.pictures import perceptual_hash, source_software
from cases.errors import InvalidInput
from cases.states import SLOT_KINDS, MaterialKind, Slot

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# ISO media major brands of MP4 video (not HEIC/AVIF images, not QuickTime).
MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"M4V ",
    b"dash",
}
THUMBNAIL_SIZE = (480, 480)
PDF_CHECK_SECONDS = 5


class UploadRefused(InvalidInput):
    """A file we do not take; `status` is the HTTP status the views answer with."""

    def __init__(self, message: Any, *, status: int = 400) -> None:
        super().__init__(message, field_errors={"file": [str(message)]})
        self.status = status


@dataclass(frozen=True)
class CleanUpload:
    content: bytes
    content_type: str
    original_name: str
    thumbnail: bytes | None = None
    # The software the original file names in its metadata (before it was stripped), for the
    # editing-software check; never the metadata itself.
    software: str = ""
    # The picture's perceptual hash (cases.checks.pictures), from the image already decoded here.
    perceptual_hash: str = ""


def max_upload_bytes() -> int:
    return int(settings.MAX_UPLOAD_BYTES)


def allowed_types(slot: str) -> list[str]:
    """The content types a slot takes, for the forms' hints and the API schema."""
    kinds = SLOT_KINDS.get(slot, ())
    types: list[str] = []
    if MaterialKind.IMAGE in kinds:
        types += list(IMAGE_TYPES.values())
    if MaterialKind.PDF in kinds:
        types.append("application/pdf")
    if MaterialKind.VIDEO in kinds:
        types += ["video/mp4", "video/webm"]
    return types


def safe_name(name: str) -> str:
    """The applicant's file name as a label only: no path, no control characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "\r\n\t")
    return name.strip(" .")[:120] or "upload"


def _hostile_name(name: str) -> bool:
    """A name no browser sends for a plain file: a path, a parent directory, control bytes."""
    return any(mark in (name or "") for mark in ("/", "\\")) or any(
        not ch.isprintable() for ch in name or ""
    )


def sniff(head: bytes) -> str | None:
    """The content type the first bytes prove, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def read_capped(stream: IO[bytes], size: int | None) -> bytes:
    """Read the whole upload, refusing it as soon as it passes the cap (never all of a huge one)."""
    cap = max_upload_bytes()
    if size is not None and size > cap:
        raise _too_big(size)
    chunks, total = [], 0
    while True:
        chunk = stream.read(64 * 1024)
        if not chunk:
            break
        total += len(chunk)
        if total > cap:
            raise _too_big(total)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(size: int) -> UploadRefused:
    return UploadRefused(
        _("The file is too large (%(size)s). Upload a file of at most %(cap)s.")
        % {"size": filesizeformat(size), "cap": filesizeformat(max_upload_bytes())},
        status=413,
    )


# A multipart request carries some bytes besides the file (boundaries, headers, other fields).
FORM_OVERHEAD = 64 * 1024


def oversized_request(meta: Mapping[str, Any]) -> UploadRefused | None:
    """The refusal of a request whose declared length is already over the upload cap (read
    before its body is, so a huge upload is refused unread), or None."""
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return UploadRefused(_("The request has a malformed Content-Length; try again."))
    if length > max_upload_bytes() + FORM_OVERHEAD:
        return _too_big(length)
    return None


def upload_clean(
    *, slot: str, stream: IO[bytes], name: str, size: int | None = None
) -> CleanUpload:
    """Validate one upload for `slot` and return the bytes to store. Raises UploadRefused."""
    content = read_capped(stream, size)
    if not content:
        raise UploadRefused(_("The file is empty. Choose the file again and upload it."))
    detected = sniff(content[:16])
    allowed = allowed_types(slot)
    if detected is None or detected not in allowed:
        label = Slot(slot).label if slot in Slot.values else slot
        raise UploadRefused(
            _(
                "This file is not an accepted type for “%(slot)s”. Upload one of: %(types)s. "
                "(The type is read from the file itself, not its name.)"
            )
            % {"slot": label, "types": ", ".join(_type_label(t) for t in allowed)},
            status=415,
        )
    if _hostile_name(name):
        raise UploadRefused(
            _(
                "The file name contains characters we do not accept (folders, “..” or line "
                "breaks). Rename the file, e.g. id-front.jpg, and upload it again."
            )
        )
    original = safe_name(name)
    if detected.startswith("image/"):
        cleaned, content_type, thumbnail, software, fingerprint = _clean_image(content)
        return CleanUpload(cleaned, content_type, original, thumbnail, software, fingerprint)
    if detected == "application/pdf":
        return CleanUpload(_clean_pdf(content), detected, original)
    return CleanUpload(content, detected, original)


def _type_label(content_type: str) -> str:
    return {
        "image/jpeg": "JPEG",
        "image/png": "PNG",
        "image/webp": "WebP",
        "application/pdf": "PDF",
        "video/mp4": "MP4",
        "video/webm": "WebM",
    }[content_type]


def _unreadable_image() -> UploadRefused:
    return UploadRefused(
        _("The image could not be read: it may be damaged or cut off. Take or export it again.")
    )


def _clean_image(content: bytes) -> tuple[bytes, str, bytes, str, str]:
    limit = int(settings.MAX_IMAGE_PIXELS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, limit
        try:
            with Image.open(io.BytesIO(content)) as image:
                fmt = image.format or ""
                if fmt not in IMAGE_TYPES:
                    raise _unreadable_image()
                width, height = image.size
                if width * height > limit:
                    raise _pixel_flood(width, height)
                image.load()  # the whole image, so a truncated one fails here
                software = source_software(image)
                upright = ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _pixel_flood(0, 0) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise _unreadable_image() from exc
        finally:
            Image.MAX_IMAGE_PIXELS = previous
    cleaned = _encode(upright, fmt)
    return cleaned, IMAGE_TYPES[fmt], _thumbnail(upright), software, perceptual_hash(upright)


def _pixel_flood(width: int, height: int) -> UploadRefused:
    return UploadRefused(
        _("The image has too many pixels to be a photo of a document. Upload a normal photo.")
    )


def _encode(image: Image.Image, fmt: str) -> bytes:
    """Re-encode without metadata: only pixels survive (no EXIF, XMP, ICC text chunks)."""
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=92)
    elif fmt == "PNG":
        mode = image.mode if image.mode in ("RGB", "RGBA", "L", "LA", "P") else "RGBA"
        image.convert(mode).save(out, "PNG")
    else:
        image.convert("RGBA" if "A" in image.mode else "RGB").save(out, "WEBP", quality=90)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    thumb = image.convert("RGB")
    thumb.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80)
    return out.getvalue()


def _clean_pdf(content: bytes) -> bytes:
    """Parse the PDF in a child process (a hostile file can make a parser spin) with a deadline,
    and keep what it writes back: the pages only, without scripts, actions, attachments or
    document metadata."""
    refused = UploadRefused(
        _("The PDF could not be opened or has no pages. Export it again and upload the new file.")
    )
    try:
        result = subprocess.run(
            [sys.executable, "-m", "cases.checks.pdf_sanitiser"],
            input=content,
            capture_output=True,
            timeout=PDF_CHECK_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise refused from exc
    if result.returncode != 0 or not result.stdout.startswith(b"%PDF-"):
        raise refused
    return result.stdout
