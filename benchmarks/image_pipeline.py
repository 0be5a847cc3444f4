"""Time `prepare_picture` against a naive full-decode pipeline on photo-like JPEGs.

Run from the project root: python benchmarks/image_pipeline.py [--runs N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.base import PreparedPicture
from bot.images import _centre_square, _encode, _to_rgb, prepare_picture

SIZES = {"800 px": (800, 600), "1280 px": (1280, 960), "12 MP": (4000, 3000)}


def photo_jpeg(width: int, height: int) -> bytes:
    """Gradients plus noise: compresses about like a real photo."""
    size = (width, height)
    gradient = Image.linear_gradient("L").resize(size)
    across = Image.linear_gradient("L").rotate(90).resize(size)
    noise = Image.effect_noise(size, 30)
    out = io.BytesIO()
    Image.merge("RGB", (gradient, across, noise)).save(out, "JPEG", quality=90)
    return out.getvalue()


def naive(data: bytes) -> PreparedPicture:
    """Full-size decode, then the same transpose, crop, conversion, resize and encoding."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        upright = ImageOps.exif_transpose(image)
    return _encode(_to_rgb(_centre_square(upright)))


def median_ms(pipeline: Callable[[bytes], PreparedPicture], data: bytes, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        pipeline(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="runs per image (default 15)")
    runs = parser.parse_args().runs

    header = (
        f"{'image':<8} {'input':>9} {'output':>14} {'prepare':>10} {'naive':>10} {'speed-up':>9}"
    )
    print(f"median of {runs} runs per image")
    print(header)
    print("-" * len(header))
    for name, size in SIZES.items():
        data = photo_jpeg(*size)
        result = prepare_picture(data)
        fast, slow = median_ms(prepare_picture, data, runs), median_ms(naive, data, runs)
        print(
            f"{name:<8} {len(data) / 1024:>6.0f} KB"
            f" {result.side:>4} px {len(result.jpeg) / 1024:>3.0f} KB"
            f" {fast:>7.1f} ms {slow:>7.1f} ms {slow / fast:>8.1f}x"
        )


if __name__ == "__main__":
    main()
