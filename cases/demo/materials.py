"""The demo's documents: ID-card and licence specimens and selfies drawn with Pillow (watermarked
DEMO SPECIMEN), PDFs written by hand, and a placeholder MP4 container for the liveness video (no
encoder is at hand, see `mp4_placeholder`). Pillow's default font has no Chinese glyphs, so the
text on the pictures is in pinyin/English; the declared data itself is in Chinese."""

from __future__ import annotations

import functools
import io
import struct

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from cases.demo.people import Company, Person


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
