"""Forged X-Forwarded-For and X-Forwarded-Proto headers buy nothing: the web server, started as make run starts
it, believes them only with TRUSTED_PROXY=true and only from TRUSTED_PROXY_ADDRESSES. Without that, every address
a client makes up shares the one rate-limit budget of its real address."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO
from tests.live import migrated_database, uvicorn

pytestmark = pytest.mark.backend_independent

CATEGORIES = "/api/v1/categories/"
FORGED = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]


@pytest.fixture(scope="module")
def base_env(tmp_path_factory) -> Iterator[dict[str, str]]:
    directory = tmp_path_factory.mktemp("forwarded")
    with migrated_database(directory, demo_reports=None) as database:
        env = {"DEBUG": "true", "DATA_DIR": str(directory), "DATABASE_URL": database, "API_RATE_READ": "3/minute"}
        yield env


@contextmanager
def server(base_env: dict[str, str], **env: str) -> Iterator[str]:
    with uvicorn({**base_env, **env}) as base:
        yield base


def get(base: str, path: str = CATEGORIES, **headers: str) -> http.client.HTTPResponse:
    """One request from 127.0.0.1 (where a proxy on the same machine would connect from), redirects not followed."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request("GET", path, headers={key.replace("_", "-"): value for key, value in headers.items()})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def statuses(base: str, forwarded_for: list[str]) -> list[int]:
    return [get(base, X_Forwarded_For=address).status for address in forwarded_for]


def test_without_a_trusted_proxy_forged_addresses_share_one_budget(base_env):
    with server(base_env) as base:
        assert statuses(base, FORGED) == [200, 200, 200, 429]


def test_forwarded_headers_from_an_address_that_is_not_the_proxy_are_ignored(base_env):
    with server(base_env, TRUSTED_PROXY="true", TRUSTED_PROXY_ADDRESSES="192.0.2.1") as base:
        assert statuses(base, FORGED) == [200, 200, 200, 429]


def test_behind_the_configured_proxy_each_forwarded_address_has_its_own_budget(base_env):
    with server(base_env, TRUSTED_PROXY="true", TRUSTED_PROXY_ADDRESSES="127.0.0.1") as base:
        assert statuses(base, FORGED) == [200, 200, 200, 200]
        # The proxy appends the address it saw; what the client wrote in front of it does not count.
        assert statuses(base, ["198.51.100.9, 203.0.113.1", "198.51.100.10, 203.0.113.1"]) == [200, 200]
        assert statuses(base, ["203.0.113.1"]) == [429]
        assert statuses(base, ["203.0.113.2"]) == [200]


def test_a_client_that_is_not_the_proxy_cannot_claim_https(base_env):
    with server(base_env, HTTPS="true", TRUSTED_PROXY="true", TRUSTED_PROXY_ADDRESSES="192.0.2.1") as base:
        response = get(base, X_Forwarded_Proto="https")
        assert response.status == 301
        assert response.headers["Location"].startswith("https://")


def test_the_configured_proxy_tells_the_server_the_request_came_over_https(base_env):
    with server(base_env, HTTPS="true", TRUSTED_PROXY="true", TRUSTED_PROXY_ADDRESSES="127.0.0.1/8") as base:
        assert get(base, X_Forwarded_Proto="https").status == 200
        assert get(base).status == 301


def test_a_proxy_address_that_is_not_an_address_stops_the_server_with_a_clear_message(base_env):
    env = {**base_env, "PATH": os.environ["PATH"], "TRUSTED_PROXY": "true", "TRUSTED_PROXY_ADDRESSES": "*"}
    result = subprocess.run([sys.executable, "-m", "backend.server", "--host", "127.0.0.1", "--port", "0"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "TRUSTED_PROXY_ADDRESSES" in result.stderr and "Traceback" not in result.stderr


def test_the_server_takes_no_proxy_options_that_would_bypass_the_settings(base_env):
    env = {**base_env, "PATH": os.environ["PATH"]}
    result = subprocess.run([sys.executable, "-m", "backend.server", "--forwarded-allow-ips=*"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "TRUSTED_PROXY" in result.stderr
