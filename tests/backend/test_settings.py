"""Configuration comes from the environment and a bad value stops the process with a clear message."""

import secrets

import pytest

from tests.conftest import manage

pytestmark = pytest.mark.backend_independent


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "melder.hameln.de",
        "DATA_DIR": str(tmp_path),
    }


def test_production_settings_pass_the_deployment_checklist(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_missing_secret_in_production_stops_with_a_clear_message(production_env):
    del production_env["SECRET_KEY"]
    result = manage("check", env=production_env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_the_secret_can_come_from_a_file(production_env, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(production_env.pop("SECRET_KEY") + "\n")
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**production_env, "SECRET_KEY_FILE": str(secret_file)}
    )
    assert result.returncode == 0, result.stderr


def test_an_unreadable_secret_file_is_named(production_env, tmp_path):
    del production_env["SECRET_KEY"]
    result = manage("check", env={**production_env, "SECRET_KEY_FILE": str(tmp_path / "missing")})
    assert result.returncode != 0
    assert "SECRET_KEY_FILE" in result.stderr and "cannot be read" in result.stderr


@pytest.mark.parametrize(
    "url",
    ["mysql://user:pw@localhost/db", "sqlite:///db.sqlite3", "postgres://localhost/db", "not a url", "postgis://localhost"],
)
def test_a_database_url_that_is_not_spatial_or_broken_is_rejected(production_env, url):
    result = manage("check", env={**production_env, "DATABASE_URL": url})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_password_is_not_shown_in_the_error(production_env):
    result = manage("check", env={**production_env, "DATABASE_URL": "mysql://melder:geheim123@db/melder"})
    assert "DATABASE_URL" in result.stderr
    assert "geheim123" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "not a boolean"),
        ("EMAIL_PORT", "smtp", "not a whole number"),
        ("REDIS_URL", "localhost:6379", "not a Redis URL"),
        ("LOG_LEVEL", "LOUD", "must be one of"),
        ("LOG_FORMAT", "xml", "must be one of"),
        ("API_RATE_SUBMIT", "viele", "not a rate"),
    ],
)
def test_bad_values_name_the_variable(production_env, name, value, message):
    result = manage("check", env={**production_env, name: value})
    assert result.returncode != 0
    assert name in result.stderr and message in result.stderr


def test_nothing_but_debug_set_runs_embedded_on_spatialite(tmp_path):
    result = manage("migrate", "--noinput", env={"DEBUG": "true", "DATA_DIR": str(tmp_path)}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "openmelder.sqlite3").exists()
