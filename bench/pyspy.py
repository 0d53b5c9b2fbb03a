"""Where the server's time goes: py-spy attached to a running server and a short summary of its samples.

:func:`record` samples a process and its children (uvicorn's workers) for a while and writes py-spy's raw
("folded") stacks; :func:`summary` reads them and prints the share of samples per group of code (Django's
request cycle, DRF, the ORM, the database driver, JSON, Redis, templates, our code, …) and per function,
each own (the function at the top of the stack) and cumulative (anywhere in the stack). py-spy leaves out
threads that wait (for the database, a socket, the GIL), so the shares are of the CPU time the server's
Python threads spent, not of wall time.

Attaching needs ptrace permission: root, ``CAP_SYS_PTRACE`` or ``kernel.yama.ptrace_scope`` 0. Without it
py-spy fails to attach; the benchmark then says so and goes on without a profile.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

from bench.server import REPO

PY_SPY = REPO / ".venv" / "bin" / "py-spy"

# First match wins, on the frame's file name as py-spy gives it (shortened to the package path, or the
# full path of a file outside sys.path).
GROUPS = (
    ("DRF", ("rest_framework/",)),
    ("templates and forms", ("django/template/", "django/templatetags/", "django/forms/", "jinja2/")),
    ("database driver", ("psycopg/", "psycopg_pool/", "psycopg_c/", "sqlite3/", "django/db/backends/")),
    ("GeoDjango (GEOS, GDAL)", ("django/contrib/gis/",)),
    ("Django ORM", ("django/db/",)),
    ("JSON", ("json/", "orjson")),
    ("Redis and cache", ("redis/", "django_redis/", "django/core/cache/")),
    ("Django request cycle", ("django/", "asgiref/")),
    ("ASGI server, event loop, threads", ("uvicorn/", "httptools/", "h11/", "asyncio/", "uvloop/", "websockets/",
                                 "channels/", "daphne/", "selectors.py", "concurrent/", "threading.py")),
    ("images (Pillow)", ("PIL/", "pillow_heif/")),
)
PLUMBING = ("ASGI server, event loop, threads", "Django request cycle", "Python standard library (other)")
OURS = ("backend/", "geo/", "reports/", "notifications/", "mobile_api/", "bench/")
_PROCESS = re.compile(r'process \d+:"[^"]*";')
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


class ProfileError(Exception):
    pass


def start(pid: int, seconds: int, output: Path, rate: int = 100) -> subprocess.Popen:
    """py-spy sampling ``pid`` and its child processes for ``seconds``, raw stacks into ``output``."""
    command = [str(PY_SPY), "record", "--pid", str(pid), "--subprocesses", "--duration", str(seconds),
               "--rate", str(rate), "--format", "raw", "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen, output: Path) -> None:
    """Wait for py-spy; :class:`ProfileError` with its own words if it could not sample."""
    try:
        said, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        said, _ = process.communicate()
    if process.returncode != 0 or not output.exists():
        raise ProfileError(said.strip().splitlines()[-1] if said.strip() else f"py-spy exit {process.returncode}")


def _file(name: str) -> str:
    for marker in ("site-packages/", "dist-packages/"):
        if marker in name:
            return name.split(marker, 1)[1]
    if name.startswith(str(REPO) + "/"):
        return name[len(str(REPO)) + 1:]
    return re.sub(r"^.*/python3\.\d+/", "", name)


def group(file: str) -> str:
    for name, prefixes in GROUPS:
        if any(file.startswith(prefix) or f"/{prefix}" in file for prefix in prefixes):
            return name
    if file.startswith(OURS):
        return "OpenMelder (our code)"
    if "/" not in file or file.split("/", 1)[0] in ("encodings", "email", "http", "urllib", "importlib",
                                                      "collections", "logging", "multiprocessing"):
        return "Python standard library (other)"
    return "other libraries"


def _stacks(path: Path) -> Counter[tuple[tuple[str, str], ...]]:
    stacks: Counter[tuple[tuple[str, str], ...]] = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        text, _, count = line.rpartition(" ")
        if not text or not count.isdigit():
            continue
        # Process frames come first (the cmdline may hold a ';'), then the Python frames, root first.
        while match := _PROCESS.match(text):
            text = text[match.end():]
        frames = []
        for frame in text.split(";"):
            parsed = _FRAME.match(frame)
            if parsed:
                frames.append((parsed["function"], _file(parsed["file"])))
        if frames:
            stacks[tuple(frames)] += int(count)
    return stacks


def summary(path: Path, top: int = 12) -> list[str]:
    """Shares of the samples by group and by function, own and cumulative, as lines to print."""
    stacks = _stacks(path)
    total = sum(stacks.values())
    if not total:
        return ["no samples of busy threads (the server was idle)"]
    own_group: Counter[str] = Counter()
    all_group: Counter[str] = Counter()
    own_function: Counter[str] = Counter()
    all_function: Counter[str] = Counter()
    seen_in: dict[str, list[int]] = {}  # function → the stacks it is in
    for index, (frames, count) in enumerate(stacks.items()):
        functions = [f"{function} ({file})" for function, file in frames]
        own_group[group(frames[-1][1])] += count
        own_function[functions[-1]] += count
        for name in {group(file) for _, file in frames}:
            all_group[name] += count
        for name in set(functions):
            all_function[name] += count
            seen_in.setdefault(name, []).append(index)

    def share(count: int) -> str:
        return f"{100 * count / total:5.1f} %"

    lines = [f"{total:,} samples of busy server threads", "", f"{'group':34} {'own':>7} {'cumulative':>10}"]
    for name, count in own_group.most_common():
        lines.append(f"{name:34} {share(count)} {share(all_group[name]):>10}")
    lines += ["", f"top {top} functions by own samples (at the top of the stack):"]
    lines += [f"  {share(count)}  {name}" for name, count in own_function.most_common(top)]
    lines += ["", f"top {top} functions by cumulative samples (anywhere in the stack; without the plumbing that "
                  "nearly every sample passes through: server, event loop, threads, Django's handler and "
                  "the middleware chain):"]
    work: list[tuple[str, int]] = []
    chains: set[tuple[int, ...]] = set()
    for name, count in all_function.most_common():
        # Functions that are always in the same stacks (CursorWrapper.execute → _execute → …) are one line.
        chain = tuple(seen_in[name])
        if _plumbing(name) or chain in chains:
            continue
        chains.add(chain)
        work.append((name, count))
    lines += [f"  {share(count)}  {name}" for name, count in work[:top]]
    return lines


def _plumbing(function: str) -> bool:
    name, _, file = function.rpartition(" (")
    file = file.rstrip(")")
    # Middleware and other wrappers around the whole request (whitenoise, our error pages) are __call__s.
    return group(file) in PLUMBING or "Middleware" in name or name.endswith(".__call__") and "/" in file and (
        group(file) in ("OpenMelder (our code)", "other libraries"))
