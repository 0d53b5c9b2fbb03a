"""compose.yaml is valid against the Compose specification and sets only variables the settings read."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from backend import env
from tests.conftest import REPO

pytestmark = pytest.mark.backend_independent

COMPOSE = REPO / "compose.yaml"


def test_compose_file_is_valid_against_the_compose_specification():
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _environment(service: dict) -> dict:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return environment


def test_compose_runs_postgis_redis_web_and_worker_with_healthchecks():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert {"postgis", "redis", "web", "worker"} <= set(services)
    for name in ("postgis", "redis", "web"):
        assert "healthcheck" in services[name], name


def test_web_and_worker_set_only_variables_the_settings_read():
    import backend.settings  # noqa: F401  (fills env.KNOWN)

    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in ("web", "worker"):
        variables = set(_environment(services[name]))
        assert variables <= env.KNOWN, f"{name} sets unknown variables: {sorted(variables - env.KNOWN)}"
        assert {"DATABASE_URL", "REDIS_URL"} <= variables, name
        assert variables & {"SECRET_KEY", "SECRET_KEY_FILE"}, name
        assert _environment(services[name])["DATABASE_URL"].startswith("postgis://")
