"""Picture analysis for the automatic checks and the upload pipeline: the perceptual hash that
finds the same picture again, sharpness and exposure, and the software a picture's metadata names.

Pure: Pillow and the CHECK_* settings; no database and no storage (callers pass the picture).
"""

from __future__ import annotations

import io
import re
from typing import Any

from django.conf import settings
from PIL import Image, ImageFilter, ImageStat, UnidentifiedImageError

# Image analysis is done on a copy whose longest side is at most this (comparable sharpness).
ANALYSIS_SIDE = 1000
HASH_SIDE = 16  # a 16 × 16 difference hash: 256 bits


def difference_hash(image: Image.Image) -> str:
    """A 256-bit difference hash (dHash, 16 × 16) as 64 hex digits: the same picture
    re-encoded, recompressed or resized gives the same value, while two cards of one printed
    template (every ID card back looks alike at 8 × 8) differ in their text."""
    width = HASH_SIDE + 1
    small = image.convert("L").resize((width, HASH_SIDE), Image.Resampling.LANCZOS)
    pixels = small.tobytes()  # one byte per pixel, row by row
    bits = 0
    for row in range(HASH_SIDE):
        for col in range(HASH_SIDE):
            left, right = pixels[row * width + col], pixels[row * width + col + 1]
            bits = (bits << 1) | (left > right)
    return f"{bits:064x}"


def perceptual_hash(image: Image.Image) -> str:
    """The difference hash of a picture, or "" when it says nothing (a blank or evenly shaded
    picture hashes to nearly all zeros or ones: every such picture would look like every other)."""
    value = difference_hash(image)
    bits = HASH_SIDE * HASH_SIDE
    return value if bits // 16 <= int(value, 16).bit_count() <= bits - bits // 16 else ""


def image_hash(content: bytes) -> str:
    """perceptual_hash of an encoded image, or "" when it cannot be read."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            return perceptual_hash(image)
    except (UnidentifiedImageError, OSError, ValueError):
        return ""


def hash_bands(value: str) -> list[tuple[int, int]]:
    """The 16 bands (number, 16-bit value) of a 256-bit hash in hex."""
    return [(band, int(value[band * 4 : band * 4 + 4], 16)) for band in range(len(value) // 4)]


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def image_quality(image: Image.Image, *, glare: bool = True) -> dict[str, Any]:
    """Resolution, sharpness (variance of a Laplacian) and exposure of a picture, and the
    problems they show against the CHECK_* settings. `glare`: whether blown-out pixels count (on
    a photographed card they are a reflection; on a scanned page, white paper)."""
    width, height = image.size
    grey = image.convert("L")
    if max(grey.size) > ANALYSIS_SIDE:
        grey.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE), Image.Resampling.LANCZOS)
    laplacian = grey.filter(
        ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=1, offset=128)
    )
    sharpness = ImageStat.Stat(laplacian).var[0]
    stat = ImageStat.Stat(grey)
    brightness = stat.mean[0]
    histogram = grey.histogram()
    clipped = sum(histogram[250:]) / max(1, grey.width * grey.height)
    problems = []
    if min(width, height) < settings.CHECK_MIN_IMAGE_SIDE:
        problems.append("small")
    if sharpness < settings.CHECK_MIN_SHARPNESS:
        problems.append("blurry")
    if brightness < settings.CHECK_MIN_BRIGHTNESS:
        problems.append("dark")
    elif brightness > settings.CHECK_MAX_BRIGHTNESS:
        problems.append("bright")
    if glare and clipped > settings.CHECK_MAX_GLARE:
        problems.append("glare")
    return {
        "width": width,
        "height": height,
        "sharpness": round(sharpness, 1),
        "brightness": round(brightness, 1),
        "glare": round(clipped, 3),
        "problems": problems,
    }


_XMP_TOOL = re.compile(rb"CreatorTool(?:>|=\")([^<\"]{1,200})")
_EXIF_SOFTWARE = (0x0131, 0x000B)  # Software, ProcessingSoftware


def source_software(image: Image.Image) -> str:
    """The programs an image's metadata says made it: EXIF Software, XMP CreatorTool, PNG
    "Software" text, a JPEG comment (GIMP writes one). At most 200 characters."""
    found: list[str] = []
    try:
        exif = image.getexif()
        found += [str(exif.get(tag, "")) for tag in _EXIF_SOFTWARE]
    except (OSError, ValueError, SyntaxError):
        pass
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    found += [m.decode("utf-8", "replace") for m in _XMP_TOOL.findall(xmp)]
    for key in ("Software", "comment"):
        value = image.info.get(key)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            found.append(value)
    cleaned = [" ".join(v.replace("\x00", " ").split()) for v in found]
    return "; ".join(dict.fromkeys(v for v in cleaned if v))[:200]
