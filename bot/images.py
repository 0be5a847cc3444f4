"""Turn whatever picture a person sends into one WhatsApp accepts as an avatar.

WhatsApp wants a square baseline RGB JPEG of at most 640x640 px and about 100 KB
(see docs/providers.md, "Image format and size"). Every refusal is an `ImageRefused`
whose reason can be shown to the person as it is.
"""

from __future__ import annotations

import asyncio
import io
import re
import struct

from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from adapters.base import PreparedPicture

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
#: larger pictures are refused before decoding: a 50 MP PNG already needs ~200 MB as RGBA
MAX_MEGAPIXELS = 50
MIN_SIDE = 192
MAX_SIDE = 640
MAX_JPEG_BYTES = 100_000
QUALITIES = range(85, 39, -5)  # 85, 80, ... 40
SHRINK = 0.85

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
    opener = _opener_for(data)
    try:
        # not Image.open(): it checks Pillow's own pixel limit right after reading the header
        # and *warns* (DecompressionBombWarning) between 89 and 179 MP, before our stricter
        # check could refuse; the plugin class reads the same header without that check
        with opener(io.BytesIO(data)) as image:
            _check_size(*image.size)
            # JPEG only: let libjpeg decode at 1/2, 1/4 or 1/8 scale, keeping both sides >= 640
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))
            image.load()
            # crop() makes a new image, which outlives `image`; it keeps .info (the EXIF)
            square = _upright(_centre_square(image))
    except Image.DecompressionBombError as error:
        # Pillow's own limit is above ours, and ours is checked first: a safety net only
        raise ImageRefused(
            f"the picture is far over {MAX_MEGAPIXELS} megapixels, the limit"
        ) from error
    except (OSError, SyntaxError, EOFError, ValueError) as error:
        # includes "image file is truncated": Pillow's LOAD_TRUNCATED_IMAGES stays False
        raise ImageRefused("the picture is damaged or incomplete") from error
    except (IndexError, KeyError, struct.error) as error:
        # Pillow turns these into SyntaxError while it reads the header, but not always after:
        # an empty iCCP chunk after a PNG's pixels raised IndexError out of load()
        raise ImageRefused("the picture is damaged or incomplete") from error
    square = _to_rgb(square)
    square.info = {}  # no EXIF, ICC profile or comment may reach the JPEG
    return _encode(square)


async def prepare_picture_async(data: bytes) -> PreparedPicture:
    """`prepare_picture` in a worker thread, so the event loop keeps running meanwhile."""
    return await asyncio.to_thread(prepare_picture, data)


class _Jpeg(JpegImagePlugin.JpegImageFile):
    """A JPEG opened without the two steps that make Pillow *warn* on hostile files.

    Used instead of jpeg_factory(), Image.open's JPEG entry: that one also looks for an MPO
    header and warns when it is malformed (the first picture of an MPO is a plain JPEG anyway).
    """

    def _read_dpi_from_exif(self) -> None:
        """Skipped: Pillow parses the whole EXIF block here, while opening, when the JFIF header
        names no DPI (most phone photos), and warns on each damaged tag ("Corrupt EXIF data",
        "Tag data larger than file"). The DPI is of no use; _upright() reads the orientation."""


def _opener_for(data: bytes) -> type[ImageFile.ImageFile]:
    """The Pillow plugin for the format the first bytes name; refuse anything else by name."""
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
    # the same tests as the plugins' own _accept() functions
    if data.startswith(b"\xff\xd8\xff"):
        return _Jpeg
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        _check_png_animation(data)
        return PngImagePlugin.PngImageFile
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        if size := _webp_canvas_size(data):
            # libwebp allocates the whole canvas before Pillow reports the size: check first
            _check_size(*size)
        return WebPImagePlugin.WebPImageFile
    raise ImageRefused("this file is not a picture I can read")


def _check_png_animation(data: bytes) -> None:
    """Refuse a broken APNG animation header (acTL chunk) as damaged.

    Pillow would warn ("Invalid APNG, will use default PNG image if possible") on a second acTL
    or a frame count of 0 or over 2**31, wherever it comes, and then go on with the still image.
    """
    position, animations = 8, 0
    while position + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        if kind == b"acTL" and length >= 8:  # shorter: Pillow raises ValueError, refused too
            (frames,) = struct.unpack_from(">I", data, position + 8)
            animations += 1
            if animations > 1 or not 0 < frames <= 0x80000000:
                raise ImageRefused("the picture is damaged or incomplete")
        if kind == b"IEND":
            return
        position += 12 + length  # length, kind, data, CRC


def _webp_canvas_size(data: bytes) -> tuple[int, int] | None:
    """The canvas size a WebP header claims, without decoding (as WebPImagePlugin._get_size)."""
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8X" and len(data) >= 30:
        return (
            int.from_bytes(data[24:27], "little") + 1,
            int.from_bytes(data[27:30], "little") + 1,
        )
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


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


#: EXIF Orientation -> the transposition that shows the picture as a viewer does
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_XMP_ORIENTATION = re.compile(
    rb'tiff:Orientation="([0-9])"|<tiff:Orientation>([0-9])</tiff:Orientation>'
)


def _upright(image: Image.Image) -> Image.Image:
    """`image` turned as its EXIF (or else XMP) Orientation says.

    Not ImageOps.exif_transpose(): it parses the whole EXIF block with Pillow's TIFF reader,
    which *warns* on every damaged tag ("Corrupt EXIF data", "Tag data larger than file"), and
    then re-encodes that EXIF, which raised TypeError for a rotated photo with one mistyped
    tag. The orientation is one number; a damaged or unknown one means "as stored".
    """
    orientation = _exif_orientation(image.info.get("exif"))
    if orientation is None:
        orientation = _xmp_orientation(image.info)
    method = _TRANSPOSE.get(orientation or 1)
    return image.transpose(method) if method is not None else image


def _exif_orientation(exif: object) -> int | None:
    """Tag 0x0112 of IFD0 of a raw EXIF block, or None when absent or unreadable."""
    if not isinstance(exif, bytes):
        return None
    tiff = exif[6:] if exif.startswith(b"Exif\0\0") else exif
    order = {b"II*\0": "<", b"MM\0*": ">"}.get(tiff[:4])
    if order is None:
        return None
    try:
        (ifd,) = struct.unpack_from(order + "I", tiff, 4)
        (entries,) = struct.unpack_from(order + "H", tiff, ifd)
        for entry in range(ifd + 2, ifd + 2 + 12 * entries, 12):
            tag, kind, count = struct.unpack_from(order + "HHI", tiff, entry)
            if tag == 0x0112 and count >= 1 and kind in (3, 4):  # SHORT or LONG
                (value,) = struct.unpack_from(order + ("H" if kind == 3 else "I"), tiff, entry + 8)
                return int(value)
    except struct.error:  # an offset or a count past the end of the block
        return None
    return None


def _xmp_orientation(info: dict[str, object]) -> int | None:
    """tiff:Orientation of the XMP packet, which Pillow also honours when EXIF has none."""
    for key in ("xmp", "XML:com.adobe.xmp"):
        xmp = info.get(key)
        if isinstance(xmp, str):
            xmp = xmp.encode("utf-8", "replace")
        if isinstance(xmp, bytes) and (match := _XMP_ORIENTATION.search(xmp)):
            return int(match.group(1) or match.group(2))
    return None


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
