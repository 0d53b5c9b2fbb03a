"""Photo pipeline benchmark: ``reports.photos.process_photo`` next to a naive Pillow pipeline.

    python -m bench.photos [--runs N] [--warmup N] [--folder PATH]

For every photo in the folder (default: the sample photos in data/photos), the median wall time of ``--runs``
calls after ``--warmup`` untimed ones, for our pipeline and, in the same run, for a naive one: open,
``ImageOps.exif_transpose``, ``thumbnail((2048, 2048))``, save as JPEG, and a 400 px thumbnail of that,
saved as JPEG too. Both start from the file's bytes in memory. It prints figures and exits 0 whatever
they are; a photo that fails is reported as an error in the table.

Target (for reference): ≤ 60 ms median for an 8–12 MP JPEG, and at least 2× faster than naive.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pillow_heif
from PIL import Image, ImageOps, features

from bench.results import cpu_name, record
from reports.photos import PhotoError, process_photo

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"}


def naive(data: bytes) -> None:
    """What one writes without thinking about it: decode everything, turn it, shrink it, save it."""
    with Image.open(io.BytesIO(data)) as im:
        upright = ImageOps.exif_transpose(im)
        upright.thumbnail((2048, 2048))
        upright = upright.convert("RGB")
        upright.save(io.BytesIO(), "JPEG", quality=85)
        thumbnail = upright.copy()
        thumbnail.thumbnail((400, 400))
        thumbnail.save(io.BytesIO(), "JPEG", quality=80)


def ours(data: bytes) -> None:
    process_photo(data)


def median_ms(function: Callable[[bytes], None], data: bytes, runs: int, warmup: int) -> float:
    for _ in range(warmup):
        function(data)
    times = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        function(data)
        times.append(time.perf_counter_ns() - started)
    return statistics.median(times) / 1e6


@dataclass
class Row:
    photo: str
    format: str
    megapixels: float
    ours_ms: float | None
    naive_ms: float | None
    error: str = ""


def measure(path: Path, runs: int, warmup: int) -> Row:
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        fmt = "JPEG" if im.format == "MPO" else im.format
        megapixels = im.width * im.height / 1e6
    try:
        ours_ms = median_ms(ours, data, runs, warmup)
    except PhotoError as exc:
        return Row(path.name, fmt, megapixels, None, None, f"error: {exc.code}")
    return Row(path.name, fmt, megapixels, ours_ms, median_ms(naive, data, runs, warmup))


def table(rows: list[Row]) -> list[str]:
    width = max(len("photo"), *(len(row.photo) for row in rows))
    header = f"{'photo':<{width}}  {'format':<6}  {'MP':>5}  {'ms (ours)':>9}  {'ms (naive)':>10}  {'ratio':>6}"
    lines = [header, "-" * len(header)]
    formats = sorted({row.format for row in rows})
    for fmt in formats:
        group = [row for row in rows if row.format == fmt]
        for row in sorted(group, key=lambda row: row.photo):
            if row.error:
                lines.append(f"{row.photo:<{width}}  {row.format:<6}  {row.megapixels:>5.1f}  {row.error}")
                continue
            ratio = row.naive_ms / row.ours_ms
            lines.append(
                f"{row.photo:<{width}}  {row.format:<6}  {row.megapixels:>5.1f}  {row.ours_ms:>9.1f}  "
                f"{row.naive_ms:>10.1f}  {ratio:>5.1f}×"
            )
        timed = [row for row in group if not row.error]
        if timed:
            ours_total = sum(row.ours_ms for row in timed)
            naive_total = sum(row.naive_ms for row in timed)
            label = f"all {fmt} ({len(timed)}), sum of medians"
            lines.append(
                f"{label:<{width}}  {'':<6}  {'':>5}  {ours_total:>9.1f}  {naive_total:>10.1f}  "
                f"{naive_total / ours_total:>5.1f}×"
            )
        lines.append("")
    return lines


def machine() -> list[tuple[str, str]]:
    cpu = cpu_name()
    heif = pillow_heif.libheif_info()
    return [
        ("machine", f"{os.cpu_count()} CPUs, {cpu}"),
        ("python", f"{platform.python_version()} ({platform.platform()})"),
        (
            "pillow",
            f"{Image.__version__}, libjpeg-turbo {features.version('jpg')} "
            f"(turbo: {features.check_feature('libjpeg_turbo')}), littlecms {features.version('littlecms2')}",
        ),
        ("heif", f"pillow-heif {pillow_heif.__version__}, libheif {heif['libheif']}, {', '.join(heif['decoders'])}"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.photos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed calls per photo and pipeline (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls first (default 1)")
    parser.add_argument("--folder", type=Path, default=PHOTOS, help=f"photos to time (default {PHOTOS})")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1, --warmup at least 0")

    paths = sorted(path for path in args.folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        print(f"no photos in {args.folder}", file=sys.stderr)
        return 1
    rows = []
    for path in paths:
        print(f"timing {path.name} …", file=sys.stderr, flush=True)
        rows.append(measure(path, args.runs, args.warmup))

    print()
    print("Photo pipeline benchmark (python -m bench.photos)")
    for name, value in machine():
        print(f"  {name:<8} {value}")
    print(f"  runs     median of {args.runs} after {args.warmup} warm-up call(s) per photo and pipeline")
    print()
    for line in table(rows):
        print(line)
    print("ours: reports.photos.process_photo (content sniffing, size checks, JPEG draft decoding, orientation,")
    print("≤ 2048 px + 400 px thumbnail, sRGB, JPEG without metadata, capture time and GPS read).")
    print("naive: open, ImageOps.exif_transpose, thumbnail((2048, 2048)), save JPEG, 400 px thumbnail, save JPEG.")
    print("ratio: naive ÷ ours (2.0× = twice as fast). MP: megapixels as stored.")
    record_summary(rows)
    return 0


def record_summary(rows: list[Row]) -> None:
    """Median over the photos of each group (their per-photo medians) for make bench's table."""
    groups = {
        # "8–12 MP" as phones label them: the iPhone's "8 MP" photo has 7.99 million pixels.
        "JPEG 8–12 MP": [r for r in rows if r.format == "JPEG" and 7.5 <= r.megapixels <= 12.5],
        "JPEG, all sizes": [r for r in rows if r.format == "JPEG"],
        "HEIC/HEIF": [r for r in rows if r.format in ("HEIF", "HEIC", "AVIF")],
    }
    for name, group in groups.items():
        timed = [r for r in group if not r.error]
        if not timed:
            continue
        value = statistics.median(r.ours_ms for r in timed)
        baseline = statistics.median(r.naive_ms for r in timed)
        target, met = "", None
        if name == "JPEG 8–12 MP":
            target, met = "≤ 60 ms, ≤ 0.5× naive", value <= 60 and value <= baseline / 2
        record("1 photo pipeline", f"{name} ({len(timed)}): median ms", value, unit="ms", baseline=baseline,
               baseline_name="naive Pillow", target=target, met=met)


if __name__ == "__main__":
    sys.exit(main())
