"""Pictures the tests make in memory (no binary fixtures)."""

from __future__ import annotations

import io

from PIL import Image


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def photo(width: int, height: int) -> Image.Image:
    """Photo-like: gradients plus noise, so it compresses like a real photo."""
    size = (width, height)
    gradient = Image.linear_gradient("L").resize(size)
    across = Image.linear_gradient("L").rotate(90).resize(size)
    noise = Image.effect_noise(size, 40)
    return Image.merge("RGB", (gradient, across, noise))


def photo_bytes(width: int = 2000, height: int = 1500, fmt: str = "JPEG") -> bytes:
    """A photo as a user sends it: encoded, 2000x1500 JPEG unless told otherwise."""
    return encode(photo(width, height), fmt)
