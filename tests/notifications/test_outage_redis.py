"""Redis stops: reports are still submitted and worked, and once Redis is back every e-mail and every
webhook call goes out exactly once (they never depended on Redis: the queue is in the database)."""

from collections import Counter

import pytest
from django.core import mail

from notifications.models import Delivery
from tests.mobile_api.staff.conftest import staff_client
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import Receiver, RedisServer, links, run_worker
from tests.notifications.test_webhook_delivery import hameln_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_server(tmp_path, settings):
    assert settings.CACHES["default"]["BACKEND"] == "backend.cache.FailOpenRedisCache", "run with REDIS_URL set"
    server = RedisServer(tmp_path)
    server.start()
    try:
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [server.url]}}
        }
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
        yield server
    finally:
        server.stop()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


def test_reports_and_status_changes_during_a_redis_outage_are_all_delivered_exactly_once_afterwards(
    client, personas, redis_server, receiver
):
    hameln_webhook(receiver.start())
    worker = staff_client(personas.hameln_worker)
    confirmed = submit(client, {"email": "anna@example.org"}).json()
    run_worker()
    (path,) = links(next(m for m in mail.outbox if m.to == ["anna@example.org"]).body, "confirm")
    client.post(path, secure=True)
    mail.outbox.clear()
    receiver.calls.clear()

    redis_server.stop()
    later = [submit(client, {"email": "anna@example.org", "description": f"Loch {n}"}) for n in range(2)]
    newcomer = submit(client, {"email": "bob@example.org"})
    anonymous = submit(client)
    assert [r.status_code for r in (*later, newcomer, anonymous)] == [201] * 4
    changes = [
        worker.post(
            f"/api/staff/reports/{report_id}/transition/",
            {"to": "in_progress", "message": "Wir sind dran."},
            format="json",
        )
        for report_id in [confirmed["id"], later[0].json()["id"], newcomer.json()["id"]]
    ]
    assert [c.status_code for c in changes] == [200] * 3, [c.content for c in changes]
    redis_server.start()

    run_worker()
    run_worker()
    # Bauhof Hameln: a mail for each of the 4 new reports.
    assert Counter(address for m in mail.outbox for address in m.to) == {
        "anna@example.org": 2, "bob@example.org": 1, "bauhof@hameln.example": 4,
    }
    # anna: a status mail for each of her changed reports (confirmed); bob: only the confirmation.
    anna = sorted(m.subject for m in mail.outbox if m.to == ["anna@example.org"])
    assert [confirmed["reference"] in anna[0], later[0].json()["reference"] in anna[1]] == [True, True]
    # Webhook: created + routed for 4 new reports, and 3 status changes; each once.
    seqs = Counter(c.json["seq"] for c in receiver.delivered())
    assert len(seqs) == 4 * 2 + 3 and set(seqs.values()) == {1}
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
