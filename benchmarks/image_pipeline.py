"""Time `prepare_picture` on photo-like JPEGs, beside libvips doing the same job when it is there.

Run from the project root: python benchmarks/image_pipeline.py [--runs N]

libvips comes with the `bench` extra (`pip install -e '.[bench]'`: pyvips and its binary wheel
of libvips; or Debian's `apt-get install libvips42` with plain `pip install pyvips`). Its job is
ours: `pyvips.Image.thumbnail_buffer` to the same centre square of at most 640 px (never
upscaled), then a baseline JPEG without metadata at the highest of the same qualities that fits
in the same 100 KB. Both run in this process, alternating, one picture at a time; libvips uses
its default number of threads (one per core), `prepare_picture` at most two (see bot/images.py).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.images import MAX_JPEG_BYTES, MAX_SIDE, QUALITIES, prepare_picture

try:
    import pyvips
except (ImportError, OSError):  # OSError: pyvips without a libvips it can load
    pyvips = None

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


def ours(data: bytes) -> tuple[int, bytes]:
    prepared = prepare_picture(data)
    return prepared.side, prepared.jpeg


def libvips(data: bytes) -> tuple[int, bytes]:
    """The same square, size limit and quality steps with libvips."""
    assert pyvips is not None
    square = pyvips.Image.thumbnail_buffer(
        data, MAX_SIDE, height=MAX_SIDE, crop="centre", size="down"
    )
    if square.width != square.height:  # a side under 640 px: "down" kept it, crop the other
        side = min(square.width, square.height)
        square = square.crop((square.width - side) // 2, (square.height - side) // 2, side, side)
    for quality in QUALITIES:
        jpeg = square.jpegsave_buffer(Q=quality, optimize_coding=True, keep="none")
        if len(jpeg) <= MAX_JPEG_BYTES:
            return square.width, jpeg
    raise SystemExit("libvips found no quality that fits: the benchmark's pictures changed?")


def timed(pipeline: Callable[[bytes], tuple[int, bytes]], data: bytes) -> float:
    start = time.perf_counter()
    pipeline(data)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15, help="runs per image (default 15)")
    runs = parser.parse_args().runs
    rivals = {"ours": ours} | ({"libvips": libvips} if pyvips is not None else {})

    if pyvips is None:
        print("libvips: not installed (pip install -e '.[bench]'); timing ours alone")
    else:
        print(f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}")
    print(f"median of {runs} runs per image, the two alternating")
    header = (
        f"{'image':<8} {'input':>9} {'output (ours / libvips)':>25}"
        f" {'ours':>9} {'libvips':>9} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for name, size in SIZES.items():
        data = photo_jpeg(*size)
        outputs = {rival: pipeline(data) for rival, pipeline in rivals.items()}  # and warm up
        times: dict[str, list[float]] = {rival: [] for rival in rivals}
        for _ in range(runs):
            for rival, pipeline in rivals.items():
                times[rival].append(timed(pipeline, data))
        ms = {rival: statistics.median(values) * 1000 for rival, values in times.items()}
        made = " / ".join(f"{side} px {len(jpeg) / 1024:.0f} KB" for side, jpeg in outputs.values())
        line = f"{name:<8} {len(data) / 1024:>6.0f} KB {made:>25} {ms['ours']:>6.1f} ms"
        if "libvips" in ms:
            line += f" {ms['libvips']:>6.1f} ms {ms['ours'] / ms['libvips']:>5.2f}x"
        print(line)


if __name__ == "__main__":
    main()
