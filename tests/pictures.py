"""Pictures the tests make in memory (no binary fixtures)."""

from __future__ import annotations

import functools
import io
import random

from PIL import Image, ImageChops

#: photos of at least this many pixels are made from layers kept per size (see `photo`)
_LARGE = 1_000_000


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def photo(width: int, height: int, *, seed: int | None = None) -> Image.Image:
    """Photo-like: gradients plus noise, so it compresses like a real photo; each one its own,
    or with `seed` the same one each time (its noise from that seed).

    A large photo's layers are made once per size and its noise shifted by a random amount:
    making 3 million pixels of noise took a quarter of a second, and 300 tests ask for photos."""
    if seed is not None:
        gradient, across, _ = _kept_layers((width, height))
        noise = Image.frombytes("L", (width, height), random.Random(seed).randbytes(width * height))
        return Image.merge("RGB", (gradient, across, noise))
    if width * height < _LARGE:
        return Image.merge("RGB", _layers((width, height)))
    gradient, across, noise = _kept_layers((width, height))
    shifted = ImageChops.offset(noise, random.randrange(width), random.randrange(height))
    return Image.merge("RGB", (gradient, across, shifted))


def _layers(size: tuple[int, int]) -> tuple[Image.Image, Image.Image, Image.Image]:
    gradient = Image.linear_gradient("L").resize(size)
    across = Image.linear_gradient("L").rotate(90).resize(size)
    return gradient, across, Image.effect_noise(size, 40)


_kept_layers = functools.cache(_layers)


def photo_bytes(width: int = 2000, height: int = 1500, fmt: str = "JPEG") -> bytes:
    """A photo as a user sends it: encoded, 2000x1500 JPEG unless told otherwise."""
    return encode(photo(width, height), fmt)
