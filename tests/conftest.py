"""Shared fixtures. The suite runs once on PostGIS and once on SpatiaLite (scripts/test.sh)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parent.parent
BOUNDARIES = REPO / "data" / "boundaries"

pytest_plugins = ["tests.personas"]


def is_postgis() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgis")


def manage(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process, as an operator would, with exactly the given environment."""
    base = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}}
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        env={**base, **(env or {})},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def boundaries() -> Path:
    return BOUNDARIES


@pytest.fixture(scope="session", autouse=True)
def collected_static(django_db_blocker):
    """Production settings serve hashed static files from a manifest, as deployments do: collect them once."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    """Tests send many requests from one address; the rate-limit tests set their own limits."""
    from django.core.cache import cache

    settings.API_RATES = {
        "submit": "10000/hour", "support": "10000/hour", "read": "10000/minute", "staff": "10000/minute", "login": "10000/minute",
    }
    cache.clear()


@pytest.fixture(autouse=True)
def fresh_status_labels():
    """Status labels a previous test edited (and its rollback undid) are not remembered."""
    from reports.models import StatusLabel

    StatusLabel.forget_memo()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 is slow by design (0.7 s per account here); in-process tests need no protection against
    password cracking. Servers started by tests keep the real hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_geocoder(settings):
    """No network in tests: the geocoding tests start their own Nominatim on 127.0.0.1."""
    settings.GEOCODER = {**settings.GEOCODER, "PROVIDER": "none"}


@pytest.fixture
def demo(db, monkeypatch):
    """The demo configuration (Landkreis Hameln-Pyrmont), without sample reports."""
    from io import StringIO

    from django.core.management import call_command

    monkeypatch.setenv("DEMO_PASSWORD", "Hameln-Demo-2026")
    call_command("load_demo", "--reports", "0", stdout=StringIO())
