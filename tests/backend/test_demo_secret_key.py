"""A demo (DEBUG=true without SECRET_KEY, as make run starts it) signs with a key of its own: generated once per
data directory, kept private in $DATA_DIR/secret-key and the same on every later start. A reopen link signed
with the old fixed development key, or by another installation, is refused."""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core import signing

from notifications.delivery.email import REOPEN_SALT
from tests.conftest import manage
from tests.live import migrated_database, uvicorn

OLD_FIXED_KEY = "insecure-development-key-only-for-DEBUG"
FIND_FIXED_REPORT = """
import json
from notifications.delivery.email import last_status_event
from reports.models import Report
for report in Report.objects.filter(status="fixed"):
    event = last_status_event(report)
    if event is not None and event.to_status == "fixed":
        print(json.dumps({"r": str(report.public_id), "e": event.pk})); break
"""


# Fresh manage.py processes on the embedded default (no DATABASE_URL): the run's database backend plays no part.
ONCE = pytest.mark.backend_independent


def demo_env(data_dir: Path) -> dict[str, str]:
    return {"DEBUG": "true", "DATA_DIR": str(data_dir)}


def start(data_dir: Path) -> None:
    """What every process of make run does first: read the settings (here: manage.py check)."""
    result = manage("check", env=demo_env(data_dir))
    assert result.returncode == 0, result.stderr


def key_of(data_dir: Path) -> str:
    return (data_dir / "secret-key").read_text().strip()


@ONCE
def test_each_data_directory_gets_its_own_key_that_only_its_owner_can_read(tmp_path):
    first, second = tmp_path / "hameln", tmp_path / "aerzen"
    start(first)
    start(second)

    assert key_of(first) != key_of(second)
    assert len(key_of(first)) >= 50 and OLD_FIXED_KEY not in (key_of(first), key_of(second))
    for data_dir in (first, second):
        assert stat.S_IMODE((data_dir / "secret-key").stat().st_mode) == 0o600


@ONCE
def test_a_restart_keeps_the_key(tmp_path):
    start(tmp_path)
    key = key_of(tmp_path)

    start(tmp_path)
    start(tmp_path)

    assert key_of(tmp_path) == key


@ONCE
def test_an_explicit_secret_key_wins_and_no_key_file_is_written(tmp_path):
    result = manage("check", env={**demo_env(tmp_path), "SECRET_KEY": "explicit-" + "x" * 50})

    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "secret-key").exists()


@ONCE
def test_a_data_directory_that_cannot_hold_the_key_stops_with_a_clear_message(tmp_path):
    (tmp_path / "file").write_text("not a directory")

    result = manage("check", env=demo_env(tmp_path / "file"))

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A migrated demo with sample reports, one of them fixed; the server is started per test."""
    data_dir = tmp_path_factory.mktemp("demo-key")
    with migrated_database(data_dir, demo_reports=40) as database:
        env = {**demo_env(data_dir), "DATABASE_URL": database, "GEOCODER": "none"}
        found = manage("shell", "-c", FIND_FIXED_REPORT, env=env)
        assert found.returncode == 0 and found.stdout.strip(), found.stderr
        yield env, json.loads(found.stdout.strip().splitlines()[-1])  # after the shell's "objects imported" line


def reopen_page(base: str, token: str) -> int:
    try:
        with urllib.request.urlopen(f"{base}/mail/reopen/{token}/", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_reopen_link_signed_with_the_old_fixed_key_is_refused(demo):
    env, fixed = demo
    forged = signing.dumps(fixed, key=OLD_FIXED_KEY, salt=REOPEN_SALT)

    with uvicorn(env) as base:
        assert reopen_page(base, forged) == 410
        genuine = signing.dumps(fixed, key=key_of(Path(env["DATA_DIR"])), salt=REOPEN_SALT)
        assert reopen_page(base, genuine) == 200


def test_a_reopen_link_stays_valid_after_a_restart_and_is_refused_by_another_installation(demo, tmp_path):
    env, fixed = demo
    link = signing.dumps(fixed, key=key_of(Path(env["DATA_DIR"])), salt=REOPEN_SALT)
    start(tmp_path)
    other_installation = signing.dumps(fixed, key=key_of(tmp_path), salt=REOPEN_SALT)

    for _start in ("first", "after a restart"):
        with uvicorn(env) as base:
            assert reopen_page(base, link) == 200, _start
            assert reopen_page(base, other_installation) == 410, _start
