"""bot/images.py: every input is generated here, in memory."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

import pytest
from PIL import Image, ImageDraw, ImageFile

from adapters.base import PreparedPicture
from bot import images
from bot.images import QUALITIES, ImageRefused, prepare_picture, prepare_picture_async
from tests.pictures import encode, photo

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


# ---- inputs -----------------------------------------------------------------------------


def halves(size: tuple[int, int], left: object, right: object, mode: str = "RGB") -> Image.Image:
    """`left` on the left half, `right` on the right half."""
    image = Image.new(mode, size, left)  # type: ignore[arg-type]
    ImageDraw.Draw(image).rectangle((size[0] // 2, 0, size[0], size[1]), fill=right)  # type: ignore[arg-type]
    return image


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height but holds a few bytes of pixels: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


# ---- checks -----------------------------------------------------------------------------


def whatsapp_ready(prepared: PreparedPicture, side: int) -> Image.Image:
    """Assert `prepared` is what WhatsApp takes, and return it decoded."""
    assert len(prepared.jpeg) <= 100_000
    assert prepared.side == side
    image = Image.open(io.BytesIO(prepared.jpeg))
    assert image.format == "JPEG"
    assert not image.info.get("progressive")
    assert b"\xff\xc0" in prepared.jpeg  # SOF0: baseline
    assert image.mode == "RGB"
    assert image.size == (side, side)
    assert "exif" not in image.info and "icc_profile" not in image.info
    assert "comment" not in image.info
    return image


def colour_at(image: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    """The colour at a point given as fractions of the width and height."""
    return image.getpixel((int(x * (image.width - 1)), int(y * (image.height - 1))))  # type: ignore[return-value]


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def refusal(data: bytes) -> str:
    with pytest.raises(ImageRefused) as refused:
        prepare_picture(data)
    return refused.value.reason


# ---- good pictures ----------------------------------------------------------------------


def test_12_megapixel_phone_photo_becomes_a_small_square_baseline_jpeg() -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    data = encode(
        photo(4000, 3000), "JPEG", quality=92, exif=exif, icc_profile=b"\0" * 128, comment=b"hi"
    )
    whatsapp_ready(prepare_picture(data), 640)


def noise(side: int) -> bytes:
    """Random pixels: the worst case for JPEG compression."""
    pixels = random.Random(1).randbytes(side * side * 3)
    return encode(Image.frombytes("RGB", (side, side), pixels), "PNG", compress_level=0)


def test_noisy_picture_fits_in_100_kb_at_full_side() -> None:
    whatsapp_ready(prepare_picture(noise(2000)), 640)  # a lower quality is enough


def jpeg_quality(jpeg: bytes) -> int:
    """The quality setting a Pillow (libjpeg) JPEG was saved with, read from its tables."""
    tables = Image.open(io.BytesIO(jpeg)).quantization  # type: ignore[attr-defined]
    sample = Image.new("RGB", (16, 16))
    return next(
        quality
        for quality in range(1, 101)
        if Image.open(io.BytesIO(encode(sample, "JPEG", quality=quality))).quantization == tables  # type: ignore[attr-defined]
    )


def test_too_big_at_first_gets_the_highest_quality_that_fits() -> None:
    data = noise(2000)
    prepared = prepare_picture(data)
    whatsapp_ready(prepared, 640)
    quality = jpeg_quality(prepared.jpeg)
    assert quality in QUALITIES[1:]
    # one quality step higher, the same square would not have fitted
    square = Image.open(io.BytesIO(data)).resize((640, 640), Image.Resampling.LANCZOS)
    higher = encode(square, "JPEG", quality=quality + 5, optimize=True)
    assert len(higher) > 100_000


def test_a_second_thread_scales_to_the_same_picture() -> None:
    # a 1280x960 photo is scaled in two halves when the helper thread is free: no seam
    data = encode(photo(1280, 960), "JPEG")
    halves_together = prepare_picture(data)
    with images._HALF_SCALER_FREE:  # busy: the whole square in one go
        in_one_go = prepare_picture(data)
    assert halves_together == in_one_go


def test_noise_too_big_even_at_low_quality_is_shrunk() -> None:
    prepared = prepare_picture(noise(640))
    assert 192 <= prepared.side < 640
    whatsapp_ready(prepared, prepared.side)


def test_exif_rotation_is_applied_as_a_viewer_sees_it() -> None:
    # stored sideways: red on the left, blue on the right; Orientation 6 = turn 90° clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(halves((400, 300), RED, BLUE), "JPEG", exif=exif)
    image = whatsapp_ready(prepare_picture(data), 300)
    for x in (0.1, 0.5, 0.9):
        assert near(colour_at(image, x, 0.1), RED)
        assert near(colour_at(image, x, 0.9), BLUE)


def test_transparent_png_area_becomes_white() -> None:
    image = halves((300, 300), (0, 0, 0, 0), (*GREEN, 255), mode="RGBA")
    out = whatsapp_ready(prepare_picture(encode(image, "PNG")), 300)
    assert near(colour_at(out, 0.1, 0.5), WHITE)
    assert near(colour_at(out, 0.9, 0.5), GREEN)


def test_landscape_is_cropped_to_its_centre() -> None:
    image = Image.new("RGB", (1200, 600), BLUE)
    ImageDraw.Draw(image).rectangle((300, 0, 899, 599), fill=RED)
    out = whatsapp_ready(prepare_picture(encode(image, "PNG")), 600)
    for x, y in ((0.5, 0.5), (0.02, 0.5), (0.98, 0.5), (0.02, 0.02), (0.98, 0.98)):
        assert near(colour_at(out, x, y), RED), (x, y)


def animated_webp() -> bytes:
    red, blue = Image.new("RGB", (300, 300), RED), Image.new("RGB", (300, 300), BLUE)
    data = encode(red, "WEBP", save_all=True, append_images=[blue], duration=100, lossless=True)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    return data


def palette_png() -> bytes:
    image = halves((300, 300), 0, 1, mode="P")
    image.putpalette([0, 0, 0, *RED])
    return encode(image, "PNG", transparency=0)


def grey_16_bit_png() -> bytes:
    image = Image.new("I;16", (300, 300), 0x8080)
    return encode(image, "PNG")


@pytest.mark.parametrize(
    ("data", "left", "right"),
    [
        pytest.param(encode(Image.new("RGB", (300, 300), GREEN), "WEBP"), GREEN, GREEN, id="webp"),
        pytest.param(animated_webp(), RED, RED, id="animated-webp-first-frame"),
        pytest.param(palette_png(), WHITE, RED, id="palette-png-transparency"),
        pytest.param(
            encode(Image.new("CMYK", (300, 300), (0, 255, 255, 0)), "JPEG"), RED, RED, id="cmyk"
        ),
        pytest.param(grey_16_bit_png(), (128,) * 3, (128,) * 3, id="16-bit-grey-png"),
        pytest.param(encode(Image.new("LA", (300, 300), (0, 0)), "PNG"), WHITE, WHITE, id="la"),
        pytest.param(
            encode(halves((300, 300), 0, 1, mode="1"), "PNG"), (0,) * 3, WHITE, id="1-bit"
        ),
    ],
)
def test_other_formats_and_modes_give_the_right_colours(
    data: bytes, left: tuple[int, int, int], right: tuple[int, int, int]
) -> None:
    image = whatsapp_ready(prepare_picture(data), 300)
    assert near(colour_at(image, 0.1, 0.5), left)
    assert near(colour_at(image, 0.9, 0.5), right)


def test_small_square_is_not_upscaled() -> None:
    whatsapp_ready(prepare_picture(encode(photo(400, 400), "JPEG")), 400)


async def test_async_gives_the_same_picture_and_refusals() -> None:
    data = encode(photo(1280, 960), "JPEG")
    assert await prepare_picture_async(data) == prepare_picture(data)
    with pytest.raises(ImageRefused):
        await prepare_picture_async(b"")


# ---- refusals ---------------------------------------------------------------------------


def test_too_small_is_refused() -> None:
    reason = refusal(encode(photo(150, 150), "JPEG"))
    assert "150x150" in reason and "192" in reason


def test_truncated_jpeg_is_refused_not_greyed() -> None:
    data = encode(photo(800, 600), "JPEG")
    assert "damaged or incomplete" in refusal(data[: len(data) // 2])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_png_cut_inside_its_header_is_damaged() -> None:
    assert "damaged or incomplete" in refusal(encode(photo(300, 300), "PNG")[:40])


def zip_of_a_jpeg() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photo.jpg", encode(photo(300, 300), "JPEG"))
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(b"", ["empty"], id="empty"),
        pytest.param(random.Random(0).randbytes(5000), ["not a picture"], id="random-bytes"),
        pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\n", ["PDF"], id="pdf"),
        pytest.param(
            encode(Image.new("P", (300, 300)), "GIF"), ["GIF", "JPEG, PNG or WebP"], id="gif"
        ),
        pytest.param(
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 64,
            ["HEIC", "not supported", "photo"],
            id="heic",
        ),
        pytest.param(zip_of_a_jpeg(), ["ZIP"], id="zip"),
    ],
)
def test_what_is_not_a_usable_picture_is_named(data: bytes, words: list[str]) -> None:
    reason = refusal(data)
    for word in words:
        assert word in reason


def test_oversized_picture_is_refused_from_its_header() -> None:
    # decoding would have failed as "damaged" (the pixels are missing): the header decided
    assert refusal(png_header_only(9000, 9000)) == "the picture is 81 megapixels; the limit is 50"


def test_decompression_bomb_is_refused() -> None:
    assert "megapixels" in refusal(png_header_only(20000, 20000))


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_warning_raised_as_error_is_refused() -> None:
    assert "megapixels" in refusal(png_header_only(10000, 10000))
