"""LOG_FORMAT=json, as municipal IT runs the service behind a log collector: every line the server writes is one
JSON object; what happens during a request carries its id, which the client gets back as X-Request-ID."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.live import demo_server

pytestmark = pytest.mark.backend_independent


def _get(url: str, **headers: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Accept-Language": "de", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {name.lower(): value for name, value in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {name.lower(): value for name, value in error.headers.items()}


@pytest.fixture(scope="module")
def log_lines(tmp_path_factory) -> tuple[list[dict], dict[str, tuple[int, dict[str, str]]]]:
    """The server's output after a few requests, each line parsed as JSON (a line that is not fails here)."""
    with demo_server(tmp_path_factory.mktemp("json-logs"), LOG_FORMAT="json") as (base, process):
        answers = {
            "given": _get(f"{base}/api/v1/categories/?lat=52.1039&lon=9.3576", **{"X-Request-ID": "app-7f3c2a91"}),
            "missing": _get(f"{base}/api/v1/reports/00000000-0000-0000-0000-000000000000/"),
            "forged": _get(f"{base}/healthz", **{"X-Request-ID": 'x" injected\\" ' + "a" * 100}),
        }
    output = process.stdout.read()
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, "the server wrote nothing"
    return [json.loads(line) for line in lines], answers


def test_every_line_is_json_with_level_logger_and_utc_time(log_lines):
    lines, _ = log_lines
    assert all({"event", "level", "logger", "timestamp"} <= line.keys() for line in lines), lines
    assert all(line["timestamp"].endswith("Z") for line in lines)
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # the server's own lines, too


def test_a_clients_request_id_comes_back_and_marks_the_request_line(log_lines):
    lines, answers = log_lines
    status, headers = answers["given"]
    assert status == 200 and headers["x-request-id"] == "app-7f3c2a91"
    [line] = [line for line in lines if line.get("request_id") == "app-7f3c2a91"]
    assert line["event"] == "request" and line["logger"] == "openmelder.request"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/categories/", 200)
    assert isinstance(line["duration_ms"], float)
    assert "lat" not in json.dumps(line)  # the query string is never logged


def test_a_warning_inside_a_request_carries_its_generated_id(log_lines):
    lines, answers = log_lines
    status, headers = answers["missing"]
    request_id = headers["x-request-id"]
    assert status == 404 and len(request_id) == 32
    ours = [line for line in lines if line.get("request_id") == request_id]
    assert {(line["logger"], line["level"]) for line in ours} == {
        ("django.request", "warning"), ("openmelder.request", "info")}


def test_a_forged_request_id_is_replaced_and_nothing_personal_is_logged(log_lines):
    lines, answers = log_lines
    _, headers = answers["forged"]
    assert "injected" not in headers["x-request-id"] and len(headers["x-request-id"]) == 32
    text = "\n".join(json.dumps(line) for line in lines)
    assert "injected" not in text
    assert 'HTTP/1.1"' not in text  # uvicorn's access lines (with the client's address) are off
