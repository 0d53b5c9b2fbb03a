"""Redis away: the report is stored and answered all the same; clients catch up from the history."""

import socket

import pytest

from tests.mobile_api.v1.test_submit import submit

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_submission_succeeds_when_the_channel_layer_is_unreachable(
    client, demo, settings, django_capture_on_commit_callbacks, caplog
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{_closed_port()}/0"]},
        }
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = submit(client)
    assert callbacks, "the push is scheduled after commit"
    assert response.status_code == 201
    assert "clients will catch up" in caplog.text
    events = client.get(f"/api/v1/reports/{response.json()['id']}/events/", secure=True).json()["events"]
    assert [e["kind"] for e in events] == ["created", "routed"]
