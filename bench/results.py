"""One table over all benchmarks.

Each benchmark prints its own detailed output and, when ``BENCH_RESULTS`` names a file (``make bench`` sets
it), appends its headline figures to it as JSON lines with :func:`record`. ``python -m bench.results FILE``
prints them as one table: workload, figure, our value, the baseline measured in the same run, their ratio,
the target and whether it is met. Figures only: nothing here fails on a missed target.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path


def record(workload: str, figure: str, value: float, *, unit: str = "", baseline: float | None = None,
           baseline_name: str = "", target: str = "", met: bool | None = None) -> None:
    """Add one row to the run's table (a no-op when the benchmark runs on its own)."""
    path = os.environ.get("BENCH_RESULTS")
    if not path:
        return
    row = {"workload": workload, "figure": figure, "value": value, "unit": unit, "baseline": baseline,
           "baseline_name": baseline_name, "target": target, "met": met}
    with open(path, "a", encoding="utf-8") as results:
        results.write(json.dumps(row) + "\n")


def percentile(values: list[float], share: float) -> float:
    """Nearest rank; ``share`` in 0..1."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), round(share * len(ordered))) - 1)]


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit in ("", "count") and float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}".strip()
    return f"{value:.1f} {unit}".strip() if abs(value) >= 10 else f"{value:.2f} {unit}".strip()


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine() -> str:
    cpu = cpu_name()
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "?"
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, load average now {load}"


def table(rows: list[dict]) -> list[str]:
    header = ["workload", "figure", "value", "baseline (same run)", "ratio", "target", "met"]
    lines = []
    for row in rows:
        baseline = ""
        ratio = ""
        if row["baseline"] is not None:
            baseline = f"{_number(row['baseline'], row['unit'])} {row['baseline_name']}".strip()
            if row["baseline"]:
                ratio = f"{row['value'] / row['baseline']:.2f}×"
        met = {True: "yes", False: "NO", None: ""}[row["met"]]
        lines.append([row["workload"], row["figure"], _number(row["value"], row["unit"]), baseline, ratio,
                      row["target"], met])
    widths = [max(len(str(cells[i])) for cells in [header, *lines]) for i in range(len(header))]
    right = {2, 4}

    def format_line(cells: list[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=False))
        ).rstrip()

    out = [format_line(header), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    previous = None
    for cells in lines:
        if previous is not None and cells[0] != previous:
            out.append("")
        out.append(format_line([cells[0] if cells[0] != previous else "", *cells[1:]]))
        previous = cells[0]
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.results FILE", file=sys.stderr)
        return 2
    path = Path(argv[0])
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    rows = [json.loads(line) for line in lines if line.strip()]
    print()
    print(f"OpenMelder benchmarks: {machine()}")
    print("ratio = value ÷ baseline. Targets are for reference: a missed one is reported, never a failure.")
    print()
    if not rows:
        print("(no figures recorded)")
        return 0
    for line in table(rows):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
