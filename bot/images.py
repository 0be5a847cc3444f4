"""Turn whatever picture a person sends into one WhatsApp accepts as an avatar.

WhatsApp wants a square baseline RGB JPEG of at most 640x640 px and about 100 KB
(see docs/providers.md, "Image format and size"). Every refusal is an `ImageRefused`
whose reason can be shown to the person as it is.
"""

from __future__ import annotations

import asyncio
import io

from PIL import Image, ImageOps, UnidentifiedImageError

from adapters.base import PreparedPicture

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
#: larger pictures are refused before decoding: a 50 MP PNG already needs ~200 MB as RGBA
MAX_MEGAPIXELS = 50
MIN_SIDE = 192
MAX_SIDE = 640
MAX_JPEG_BYTES = 100_000
QUALITIES = range(85, 39, -5)  # 85, 80, ... 40
SHRINK = 0.85

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
SEND_INSTEAD = "send a JPEG, PNG or WebP picture"
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
KNOWN_OTHERS = {
    b"GIF87a": f"this is a GIF; {SEND_INSTEAD}",
    b"GIF89a": f"this is a GIF; {SEND_INSTEAD}",
    b"%PDF": "this is a PDF, not a picture",
    b"PK\x03\x04": "this is a ZIP archive, not a picture",
    b"BM": f"this is a BMP picture; {SEND_INSTEAD}",
    b"II*\x00": f"this is a TIFF picture; {SEND_INSTEAD}",
    b"MM\x00*": f"this is a TIFF picture; {SEND_INSTEAD}",
}


class ImageRefused(Exception):
    """The picture cannot be used; .reason is plain words for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def prepare_picture(data: bytes) -> PreparedPicture:
    """Check, decode, crop, scale and re-encode `data`; raise ImageRefused if it is unusable."""
    _refuse_other_formats(data)
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            _check_size(*image.size)
            # JPEG only: let libjpeg decode at 1/2, 1/4 or 1/8 scale, keeping both sides >= 640
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow's own limit is above ours; this only fires for pictures far beyond it
        raise ImageRefused(
            f"the picture is far over {MAX_MEGAPIXELS} megapixels, the limit"
        ) from error
    except UnidentifiedImageError as error:
        if _looks_accepted(data):
            raise ImageRefused("the picture is damaged or incomplete") from error
        raise ImageRefused("this file is not a picture I can read") from error
    except (OSError, SyntaxError, EOFError, ValueError) as error:
        # includes "image file is truncated": Pillow's LOAD_TRUNCATED_IMAGES stays False
        raise ImageRefused("the picture is damaged or incomplete") from error
    square = _to_rgb(_centre_square(upright))
    square.info = {}  # no EXIF, ICC profile or comment may reach the JPEG
    return _encode(square)


async def prepare_picture_async(data: bytes) -> PreparedPicture:
    """`prepare_picture` in a worker thread, so the event loop keeps running meanwhile."""
    return await asyncio.to_thread(prepare_picture, data)


def _refuse_other_formats(data: bytes) -> None:
    """Name the formats people commonly send by mistake, from their first bytes."""
    if not data:
        raise ImageRefused("the file is empty")
    for magic, reason in KNOWN_OTHERS.items():
        if data.startswith(magic):
            raise ImageRefused(reason)
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in HEIF_BRANDS:
            raise ImageRefused(
                "this is a HEIC picture, which is not supported; "
                "send it as a photo rather than as a file"
            )
        if brand in (b"avif", b"avis"):
            raise ImageRefused(f"this is an AVIF picture; {SEND_INSTEAD}")


def _looks_accepted(data: bytes) -> bool:
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) or (
        data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    )


def _check_size(width: int, height: int) -> None:
    """Check the size the header claims, before any pixel is decoded."""
    megapixels = width * height / 1_000_000
    if megapixels > MAX_MEGAPIXELS:
        raise ImageRefused(
            f"the picture is {round(megapixels, 1):g} megapixels; the limit is {MAX_MEGAPIXELS}"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageRefused(
            f"the picture is {width}x{height} px; "
            f"it must be at least {MIN_SIDE} px on its shorter side"
        )


def _centre_square(image: Image.Image) -> Image.Image:
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any mode to RGB; transparent areas become white."""
    if image.mode.startswith("I;16"):
        # a plain convert("L") clips 16-bit values at 255 (all white)
        image = image.convert("I").point(lambda value: value / 256)
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, "white")
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _encode(square: Image.Image) -> PreparedPicture:
    """Baseline JPEG of at most MAX_JPEG_BYTES: lower the quality first, then the side."""
    side = min(square.width, MAX_SIDE)
    while True:
        picture = square.resize((side, side), Image.Resampling.LANCZOS)
        for quality in QUALITIES:
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=quality, optimize=True, progressive=False)
            if out.tell() <= MAX_JPEG_BYTES:
                return PreparedPicture(jpeg=out.getvalue(), side=side)
        side = int(side * SHRINK)
