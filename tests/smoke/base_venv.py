"""The smoke tests' virtualenv with requirements/base.txt alone, built once however many processes want it.

scripts/test.sh starts the build in the background right after its own bootstrap (``python
tests/smoke/base_venv.py VENV``), so that it overlaps with the servers' start and the first tests, and both
concurrent test runs then find it ready. The fixture calls :func:`ensure` too: outside scripts/test.sh it builds
the virtualenv itself.

Next to ``VENV`` live ``VENV.lock`` (an exclusive ``flock`` held during the build: the kernel drops it when the
builder ends, whichever way, so a waiter never waits for a dead build), ``VENV.log`` (the build's output) and
``VENV.status`` (the build's exit status, written when it has ended). A virtualenv is only used after
``scripts/bootstrap.sh base`` succeeded for it under the lock, never half-built; a build that failed while a
waiter ran is not repeated by it but reported with its output.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
TIMEOUT_S = 600  # a first build on a new machine downloads and installs every package of base.txt
_STARTED = time.time()  # (about) when this process started


class BuildFailed(Exception):
    """The build failed (or is still running after the timeout); the message carries its output."""


def _paths(venv: Path) -> tuple[Path, Path, Path]:
    return (venv.with_name(venv.name + ".lock"), venv.with_name(venv.name + ".log"),
            venv.with_name(venv.name + ".status"))


def ensure(venv: Path, timeout: float = TIMEOUT_S) -> Path:
    """``venv``, complete: built now, or by another process (waited for), or before. Raises BuildFailed."""
    venv = Path(venv).absolute()
    lock_path, log, status = _paths(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with open(lock_path, "a") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BuildFailed(f"the build of {venv} is still running after {timeout:.0f} s; "
                                      f"its output so far:\n{_tail(log)}") from None
                time.sleep(0.2)
        # Locked: nobody is building. A build that failed while this process ran (scripts/test.sh's, or the other
        # run's) is reported, not repeated by every waiter; one that failed earlier is tried again.
        failed = status.exists() and status.read_text().strip() != "0"
        if failed and status.stat().st_mtime >= _STARTED:
            raise BuildFailed(f"building {venv} failed (exit {status.read_text().strip()}):\n{_tail(log)}")
        # Otherwise bootstrap.sh: it does nothing (0.2 s) if the virtualenv is complete and up to date, and
        # finishes one that a killed build left behind.
        status.unlink(missing_ok=True)
        env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "PIP_CACHE_DIR"}}
        with open(log, "w") as out:
            try:
                result = subprocess.run(["bash", "scripts/bootstrap.sh", "base"], cwd=REPO,
                                        env={**env, "VENV_DIR": str(venv)}, stdout=out, stderr=subprocess.STDOUT,
                                        timeout=max(1.0, deadline - time.monotonic()))
                code = result.returncode
            except subprocess.TimeoutExpired:
                code = 124
                out.write(f"\n[base_venv] timed out after {timeout:.0f} s\n")
        _write_atomically(status, f"{code}\n")
        if code != 0:
            raise BuildFailed(f"building {venv} failed (exit {code}):\n{_tail(log)}")
    return venv


def _tail(log: Path, limit: int = 8000) -> str:
    try:
        text = log.read_text(errors="replace")
    except FileNotFoundError:
        return "(no output)"
    return text[-limit:]


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} VENV")
    try:
        ensure(Path(sys.argv[1]))
    except BuildFailed as error:
        sys.exit(str(error))
