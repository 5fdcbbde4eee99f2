"""Photos: the only importer of Pillow (tests/test_architecture.py, LIBRARY_HOMES).

Evidence photos travel to the county inside the station log over links as slow as 64 kbit/s,
so every photo is re-encoded before it is written: EXIF orientation applied, longest side at
most ``MAX_SIDE`` px, JPEG at the best quality that fits ``MAX_OUTPUT_BYTES``, no metadata
(phone photos carry GPS positions and camera serials the county has no use for). Re-encoding
is deterministic for a given Pillow, so the same file gives the same SHA-256 and is stored
once however often it is attached.

A webcam photo (``station_app.media_camera``, the OpenCV side) arrives here as a PNG frame
and goes through ``prepare_photo`` like a file: same limits, same re-encoding, no metadata.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageOps, UnidentifiedImageError

from station_app.errors import PhotoInvalid, PhotoTooLarge

MAX_INPUT_BYTES = 20 * 1024 * 1024  # refused before decoding: a phone photo is 2–8 MB
MAX_PIXELS = 60_000_000  # a 60 MP camera; bigger is a decompression bomb, not a photo
MAX_SIDE = 1280
MAX_OUTPUT_BYTES = 150_000
QUALITIES = (75, 65, 55, 45, 35)
ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "MPO": "JPEG"}  # MPO: some phones' JPEG
_EXIF_IFD, _DATETIME_ORIGINAL, _DATETIME = 0x8769, 36867, 306


@dataclass(frozen=True, slots=True)
class PreparedPhoto:
    jpeg: bytes
    width: int
    height: int
    taken_at: datetime | None  # the camera's own clock (EXIF), naive local time; may be wrong


def prepare_photo(data: bytes, *, where: str) -> PreparedPhoto:
    """Check and re-encode a JPEG or PNG file's bytes; ``where`` names it in messages."""
    if len(data) > MAX_INPUT_BYTES:
        raise PhotoTooLarge(where=where, size_mb=f"{len(data) / 2**20:.1f}",
                            limit_mb=MAX_INPUT_BYTES // 2**20)
    image = _open(data, where)
    taken_at = _exif_time(image)
    try:
        image = ImageOps.exif_transpose(image)
        image = _rgb(image)
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt pixel data
        raise PhotoInvalid(where=where, reason=f"图片已损坏（{exc}）",
                           reason_en=f"damaged image ({exc})") from None
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    jpeg, width, height = _fit(image)
    return PreparedPhoto(jpeg=jpeg, width=width, height=height, taken_at=taken_at)


def thumbnail(jpeg: bytes, side: int = 160) -> bytes:
    """A small JPEG for lists and screens (never stored)."""
    with Image.open(io.BytesIO(jpeg)) as image:
        image = _rgb(image)
        image.thumbnail((side, side))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=70)
        return out.getvalue()


def _open(data: bytes, where: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format or ""
            if fmt not in ACCEPTED_FORMATS:
                raise PhotoInvalid(where=where, reason=f"只接受 JPEG 或 PNG 照片（这是 {fmt}）",
                                   reason_en=f"only JPEG or PNG photos are accepted ({fmt})")
            if image.width * image.height > MAX_PIXELS:
                raise PhotoTooLarge(where=where, size_mb=f"{len(data) / 2**20:.1f}",
                                    limit_mb=MAX_INPUT_BYTES // 2**20)
            image.load()
            return image
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise PhotoInvalid(where=where, reason="不是 JPEG 或 PNG 图片",
                           reason_en="not a JPEG or PNG image") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise PhotoInvalid(where=where, reason=f"图片已损坏（{exc}）",
                           reason_en=f"damaged image ({exc})") from None


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, "white")  # transparency on white, as printed
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def _fit(image: Image.Image) -> tuple[bytes, int, int]:
    """The best of ``QUALITIES`` that fits; if none does (a very busy picture), a smaller
    picture: legibility of a sign board matters more than resolution."""
    while True:
        for quality in QUALITIES:
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality, optimize=True)
            if out.tell() <= MAX_OUTPUT_BYTES:
                return out.getvalue(), image.width, image.height
        image = image.resize((max(1, image.width * 3 // 4), max(1, image.height * 3 // 4)),
                             Image.Resampling.LANCZOS)


def _exif_time(image: Image.Image) -> datetime | None:
    try:
        exif = image.getexif()
        text = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
        return datetime.strptime(str(text).strip("\x00 "), "%Y:%m:%d %H:%M:%S") if text else None
    except (ValueError, TypeError, OSError, KeyError):
        return None
