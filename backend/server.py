"""Start the web server: uvicorn serving ``backend.asgi:application``, the one way make run, the Dockerfile,
compose.yaml and the tests' live servers start it.

    python -m backend.server --host 127.0.0.1 --port 8000 [other uvicorn options]

uvicorn on its own believes X-Forwarded-For and X-Forwarded-Proto from 127.0.0.1 (or from
``FORWARDED_ALLOW_IPS``): without a proxy in front, every forged address got a fresh rate-limit budget.
Whom to believe is configuration, read here from the same settings the application reads: forwarded
headers count only with ``TRUSTED_PROXY=true``, and only on connections from ``TRUSTED_PROXY_ADDRESSES``.
The process replaces itself with uvicorn (same PID), so signals and process supervisors reach uvicorn.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APPLICATION = "backend.asgi:application"
# Options that decide whose word about the client's address counts: settings decide that, not a command line.
PROXY_OPTIONS = ("--proxy-headers", "--no-proxy-headers", "--forwarded-allow-ips")
METRICS_DIRECTORY_ENV = "PROMETHEUS_MULTIPROC_DIR"


def proxy_arguments(trusted_proxy: bool, addresses: list[str]) -> list[str]:
    if not trusted_proxy:
        return ["--no-proxy-headers"]
    return ["--proxy-headers", "--forwarded-allow-ips", ",".join(addresses)]


def uvicorn_command(argv: list[str]) -> list[str]:
    for argument in argv:
        option = argument.split("=", 1)[0]
        if option in PROXY_OPTIONS:
            raise SystemExit(
                f"{option}: whose forwarded headers the server believes is set by TRUSTED_PROXY and "
                "TRUSTED_PROXY_ADDRESSES, not on the command line."
            )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        trusted_proxy, addresses = settings.TRUSTED_PROXY, settings.TRUSTED_PROXY_ADDRESSES
    except ImproperlyConfigured as exc:
        # As manage.py: the operator's mistake, said plainly, without a traceback.
        sys.stderr.write(f"Configuration error: {exc}\n")
        raise SystemExit(2) from None
    prepare_metrics_directory(settings.DATA_DIR)
    return [sys.executable, "-m", "uvicorn", APPLICATION, *argv, *proxy_arguments(trusted_proxy, addresses)]


def prepare_metrics_directory(data_dir: Path) -> Path:
    """Request metrics in prometheus-client's multiprocess mode (backend.metrics): each uvicorn worker writes its
    counters to files in ``PROMETHEUS_MULTIPROC_DIR`` (default ``$DATA_DIR/metrics``) and a scrape adds them up.
    Set here, before uvicorn and its workers start (they inherit it), and emptied: the files of a previous run
    would be counted again, and their process ids may be reused."""
    directory = Path(os.environ.get(METRICS_DIRECTORY_ENV) or data_dir / "metrics")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    except OSError as exc:
        sys.stderr.write(f"Configuration error: {METRICS_DIRECTORY_ENV}: cannot use {directory}: {exc.strerror}\n")
        raise SystemExit(2) from None
    os.environ[METRICS_DIRECTORY_ENV] = str(directory)
    return directory


def main() -> None:
    command = uvicorn_command(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
