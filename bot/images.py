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
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageFile, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from adapters.base import PreparedPicture
from bot import texts

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
#: larger pictures are refused before decoding: a 50 MP PNG already needs ~200 MB as RGBA
MAX_MEGAPIXELS = 50
MIN_SIDE = 192
MAX_SIDE = 640
MAX_JPEG_BYTES = 100_000
QUALITIES = range(85, 39, -5)  # 85, 80, ... 40
SHRINK = 0.85
#: the scaling filter: BICUBIC costs half of LANCZOS at 1280 px (the commonest Telegram photo);
#: its output is 0.04-0.07 dB PSNR below LANCZOS, still above libvips' own lanczos3 thumbnail
RESAMPLE = Image.Resampling.BICUBIC

HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
KNOWN_OTHERS = {
    b"GIF87a": texts.GIF,
    b"GIF89a": texts.GIF,
    b"%PDF": texts.PDF,
    b"PK\x03\x04": texts.ZIP,
    b"BM": texts.BMP,
    b"II*\x00": texts.TIFF,
    b"MM\x00*": texts.TIFF,
}


class ImageRefused(Exception):
    """The picture cannot be used; .reason is plain words for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def prepare_picture(data: bytes) -> PreparedPicture:
    """Check, decode, crop, scale and re-encode `data`; raise ImageRefused if it is unusable."""
    opener = _opener_for(data)
    with _refused_when_damaged():
        # not Image.open(): it checks Pillow's own pixel limit right after reading the header
        # and *warns* (DecompressionBombWarning) between 89 and 179 MP, before our stricter
        # check could refuse; the plugin class reads the same header without that check
        image = opener(io.BytesIO(data))
    with image:
        with _refused_when_damaged():
            _check_size(*image.size)
            # JPEG only: let libjpeg decode at 1/2, 1/4 or 1/8 scale, keeping both sides >= 640
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))
            image.load()
            square = _centre_square(image)
        return _encode(square)


@contextmanager
def _refused_when_damaged() -> Iterator[None]:
    """Pillow's ways of saying a file is damaged, too big or incomplete, as an ImageRefused."""
    try:
        yield
    except Image.DecompressionBombError as error:
        # Pillow's own limit is above ours, and ours is checked first: a safety net only
        raise ImageRefused(texts.far_too_big(MAX_MEGAPIXELS)) from error
    except (OSError, SyntaxError, EOFError, ValueError) as error:
        # includes "image file is truncated": Pillow's LOAD_TRUNCATED_IMAGES stays False
        raise ImageRefused(texts.DAMAGED) from error
    except (IndexError, KeyError, struct.error) as error:
        # Pillow turns these into SyntaxError while it reads the header, but not always after:
        # an empty iCCP chunk after a PNG's pixels raised IndexError out of load()
        raise ImageRefused(texts.DAMAGED) from error


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
        "Tag data larger than file"). The DPI is of no use; _transposition() reads the
        orientation."""


def _opener_for(data: bytes) -> type[ImageFile.ImageFile]:
    """The Pillow plugin for the format the first bytes name; refuse anything else by name."""
    if not data:
        raise ImageRefused(texts.EMPTY_FILE)
    for magic, reason in KNOWN_OTHERS.items():
        if data.startswith(magic):
            raise ImageRefused(reason)
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in HEIF_BRANDS:
            raise ImageRefused(texts.HEIC)
        if brand in (b"avif", b"avis"):
            raise ImageRefused(texts.AVIF)
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
    raise ImageRefused(texts.UNREADABLE)


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
                raise ImageRefused(texts.DAMAGED)
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
        raise ImageRefused(texts.too_many_megapixels(round(megapixels, 1), MAX_MEGAPIXELS))
    if min(width, height) < MIN_SIDE:
        raise ImageRefused(texts.too_small(width, height, MIN_SIDE))


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


def _transposition(image: Image.Image) -> Image.Transpose | None:
    """What turns `image` as its EXIF (or else XMP) Orientation says; None: it is upright.

    Not ImageOps.exif_transpose(): it parses the whole EXIF block with Pillow's TIFF reader,
    which *warns* on every damaged tag ("Corrupt EXIF data", "Tag data larger than file"), and
    then re-encodes that EXIF, which raised TypeError for a rotated photo with one mistyped
    tag. The orientation is one number; a damaged or unknown one means "as stored".
    """
    orientation = _exif_orientation(image.info.get("exif"))
    if orientation is None:
        orientation = _xmp_orientation(image.info)
    return _TRANSPOSE.get(orientation or 1)


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


def _xmp_orientation(info: Mapping[Any, object]) -> int | None:
    """tiff:Orientation of the XMP packet, which Pillow also honours when EXIF has none."""
    for key in ("xmp", "XML:com.adobe.xmp"):
        xmp = info.get(key)
        if isinstance(xmp, str):
            xmp = xmp.encode("utf-8", "replace")
        if isinstance(xmp, bytes) and (match := _XMP_ORIENTATION.search(xmp)):
            return int(match.group(1) or match.group(2))
    return None


@dataclass(frozen=True)
class _Square:
    """The upright centre square of a picture, RGB: `box` of `image`, not yet scaled."""

    image: Image.Image
    box: tuple[int, int, int, int]

    @property
    def side(self) -> int:
        return self.box[2] - self.box[0]

    def scaled(self, side: int) -> Image.Image:
        """The square at `side` x `side` px (RESAMPLE), a new image without .info."""
        picture = (
            self.image.crop(self.box) if side == self.side else _resize(self.image, side, self.box)
        )
        picture.info = {}  # no EXIF, ICC profile or comment may reach the JPEG
        return picture


def _centre_square(image: Image.Image) -> _Square:
    """The centre square of a decoded picture, turned upright and made RGB."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    box = (left, top, left + side, top + side)
    transposition = _transposition(image)
    if transposition is None and image.mode == "RGB":
        # most photos: scale straight from the decoded picture, without a copy of the square
        return _Square(image, box)
    square = _to_rgb(image.crop(box))  # a new image: it outlives `image`
    if transposition is not None:
        square = square.transpose(transposition)
    return _Square(square, (0, 0, side, side))


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


#: a second thread scales the top half of a picture while the caller scales the bottom half
#: (Pillow releases the GIL while it resamples; libvips, too, uses every core); the halves are
#: the very rows a single resize gives, as resampling reads across the box's edges
_HALF_SCALER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="picture-half")
_HALF_SCALER_FREE = threading.Lock()
#: below this many output rows the hand-off costs more than it saves
SPLIT_MIN_SIDE = 256


def _resize(image: Image.Image, side: int, box: tuple[int, int, int, int]) -> Image.Image:
    """`box` of `image` scaled to `side` x `side` with RESAMPLE, in two halves when a second
    thread is free (when several pictures are prepared at once, each goes on alone)."""
    size, resample = (side, side), RESAMPLE
    if side < SPLIT_MIN_SIDE or not _HALF_SCALER_FREE.acquire(blocking=False):
        return image.resize(size, resample, box)
    try:
        left, top, right, bottom = box
        rows = side // 2
        middle = top + (bottom - top) * rows / side
        upper = _HALF_SCALER.submit(
            image.resize, (side, rows), resample, (left, top, right, middle)
        )
        lower = image.resize((side, side - rows), resample, (left, middle, right, bottom))
        picture = Image.new(image.mode, size, None)  # None: not filled, both halves cover it
        picture.paste(upper.result(), (0, 0))
    finally:
        _HALF_SCALER_FREE.release()
    picture.paste(lower, (0, rows))
    return picture


def _encode(square: _Square) -> PreparedPicture:
    """Baseline JPEG of at most MAX_JPEG_BYTES: lower the quality first, then the side."""
    side = min(square.side, MAX_SIDE)
    while (jpeg := _fitting_jpeg(square.scaled(side))) is None:
        side = int(side * SHRINK)
    return PreparedPicture(jpeg=jpeg, side=side)


def _fitting_jpeg(picture: Image.Image) -> bytes | None:
    """`picture` at the highest of QUALITIES whose JPEG fits in MAX_JPEG_BYTES; None if none does.

    Each try is a full encode. Most photos fit at the first; otherwise a bisection over the
    rest finds the same quality as trying them in turn (the size falls as the quality does)
    with 3 or 4 encodes instead of up to 8.
    """
    qualities = list(QUALITIES)  # highest first
    if len(jpeg := _jpeg(picture, qualities[0])) <= MAX_JPEG_BYTES:
        return jpeg
    fitting, low, high = None, 1, len(qualities) - 1
    while low <= high:
        middle = (low + high) // 2
        if len(jpeg := _jpeg(picture, qualities[middle])) <= MAX_JPEG_BYTES:
            fitting, high = jpeg, middle - 1
        else:
            low = middle + 1
    return fitting


def _jpeg(picture: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, optimize=True, progressive=False)
    return out.getvalue()
