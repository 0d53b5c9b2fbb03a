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
DEMO_PASSWORD = "Hameln-Demo-2026"
DEMO_DEPARTMENT = "bauhof-hameln"  # a row of the demo, to tell cheaply whether it is loaded
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

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


# scripts/test.sh runs the suite on PostGIS and on SpatiaLite. The tests whose outcome cannot depend on the run's
# database backend (marked backend_independent) need to run once, not twice: the runner sets this to "1/2" in the
# PostGIS run and to "2/2" in the SpatiaLite run, and each run keeps its share of them. Shares go by module (a
# module's servers and fixtures are started in one run only): the modules with such tests, in the order of their
# paths, alternate between the runs, so both runs end at about the same time. Unset: every test runs.
SHARE_ENV = "TESTS_BACKEND_INDEPENDENT_SHARE"
DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


def _share(value: str) -> tuple[int, int]:
    """``"k/n"`` → (k, n): this run keeps the k-th of n shares (1-based)."""
    try:
        index, count = (int(part) for part in value.split("/"))
    except ValueError:
        raise pytest.UsageError(f'{SHARE_ENV}={value!r}: expected "k/n", e.g. "1/2"') from None
    if not 1 <= index <= count:
        raise pytest.UsageError(f"{SHARE_ENV}={value!r}: k must be between 1 and n")
    return index, count


def _module_path(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    once = [item for item in items if item.get_closest_marker("backend_independent")]
    for item in once:
        # In-process database code is what differs between the backends: such a test must run on both.
        if item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(item.fixturenames):
            raise pytest.UsageError(f"{item.nodeid} is marked backend_independent but uses the test database")
    share = os.environ.get(SHARE_ENV)
    if not share or not once:
        return
    index, count = _share(share)
    # Every module of the whole suite that has such tests, not only the selected ones: a module's share must not
    # depend on which other tests were selected (-k, paths), or a test could be left out of both runs.
    modules = sorted({_module_path(item) for item in once} | _backend_independent_modules(config))
    mine = {module for position, module in enumerate(modules) if position % count == index - 1}
    left_out = [item for item in once if _module_path(item) not in mine]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        dropped = set(map(id, left_out))
        items[:] = [item for item in items if id(item) not in dropped]


def _backend_independent_modules(config: pytest.Config) -> set[str]:
    """The test modules (paths relative to the root, as in node ids) that mark tests backend_independent."""
    root = config.rootpath
    found = set()
    for path in sorted((root / "tests").rglob("test_*.py")):
        if "backend_independent" in path.read_text(encoding="utf-8"):
            found.add(path.relative_to(root).as_posix())
    return found


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
        "submit": "10000/hour",
        "support": "10000/hour",
        "read": "10000/minute",
        "staff": "10000/minute",
        "login": "10000/minute",
    }
    cache.clear()


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test gets channel layer objects of its own.

    Every async test runs in an event loop of its own, while the channel layer object lives as long as the process.
    With channels_redis, a consumer the previous test's communicator cancelled in the middle of receive() can leave
    the layer's per-channel receive lock held and bound to that test's (now closed) loop; the next consumer waiting
    on it then fails with "is bound to a different event loop". In a server there is one loop, so this is a test
    artefact: a new layer object per test (the next get_channel_layer() makes one) has fresh locks.
    """
    yield
    from channels.layers import channel_layers

    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def fresh_status_labels():
    """Status labels a previous test edited (and its rollback undid) are not remembered."""
    from reports.models import StatusLabel

    StatusLabel.forget_memo()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 is slow by design (0.7 s per account here); in-process tests need no protection against
    password cracking. Servers started by tests keep the real hasher."""
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def no_geocoder(settings):
    """No network in tests: the geocoding tests start their own Nominatim on 127.0.0.1."""
    settings.GEOCODER = {**settings.GEOCODER, "PROVIDER": "none"}


@pytest.fixture
def demo_database() -> None:
    """Marks a test that needs the committed demo; pytest_fixture_setup below loads it before the test's
    transaction begins."""


@pytest.fixture
def demo(demo_database, db, monkeypatch) -> None:
    """The demo configuration (Landkreis Hameln-Pyrmont), without sample reports.

    Loading it takes 0.2 s, and most tests need it: it is loaded once and committed, and each test's
    transaction rolls back what the test changed. A transactional test flushes the database afterwards, so the
    demo is loaded again when the next test needs it (see ``_prepare_database``)."""
    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)


def _demo_is_loaded() -> bool:
    from geo.models import Department

    return Department.objects.filter(slug=DEMO_DEPARTMENT).exists()


def _prepare_database(wants_demo: bool) -> None:
    """Before a test's transaction: the committed demo for tests that ask for it, an empty database for the others
    (as each test had it when the demo was loaded inside its own transaction)."""
    from io import StringIO
    from unittest import mock

    from django.core.management import call_command
    from django.test import override_settings

    loaded = _demo_is_loaded()
    if wants_demo and not loaded:
        # The hasher fast_password_hashing sets: logging in as a demo account stays cheap.
        with override_settings(PASSWORD_HASHERS=FAST_HASHERS), mock.patch.dict(os.environ, DEMO_PASSWORD=DEMO_PASSWORD):
            call_command("load_demo", "--reports", "0", stdout=StringIO())
    elif loaded and not wants_demo:
        # What a transactional test does after itself (django.test.TransactionTestCase._fixture_teardown).
        call_command("flush", interactive=False, verbosity=0, reset_sequences=False)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    # pytest-django's _django_db_helper opens the test's transaction (or starts a transactional test); its
    # dependencies (the test database, the blocker) are set up by now.
    if fixturedef.argname == "_django_db_helper":
        with request.getfixturevalue("django_db_blocker").unblock():
            _prepare_database("demo_database" in request.fixturenames)
    return (yield)


@pytest.fixture
def hameln_report(personas) -> dict:
    """A citizen's report in Hameln, through the public API, with contact details (staff API and staff pages)."""
    from tests.mobile_api.staff.conftest import submit

    return submit(email="anna@example.org", name="Anna Beispiel")


@pytest.fixture
def hildesheim_report(personas) -> dict:
    """A citizen's report in Hildesheim, another authority than the Hameln personas'."""
    from tests.mobile_api.staff.conftest import submit
    from tests.personas import HILDESHEIM_MARKET

    return submit(at=HILDESHEIM_MARKET)


@pytest.fixture
def serve_media(settings):
    """Django sends the photos under /media/ itself, after its access check, as in the embedded default (DEBUG)."""
    settings.SERVE_MEDIA = True
    settings.MEDIA_ACCEL_REDIRECT = ""
