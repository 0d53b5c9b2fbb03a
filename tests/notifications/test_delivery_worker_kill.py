"""A worker killed (SIGKILL) while a webhook receiver holds its request loses nothing: once the lease
has expired, the next worker's start hands the delivery to a new task, and it is delivered.

Delivery is at least once across a kill: the receiver saw the killed attempt too, with the same
X-OpenMelder-Delivery id, by which it can deduplicate."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from notifications.models import Delivery
from tests.conftest import REPO, is_postgis, manage
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import Receiver
from tests.notifications.test_webhook_delivery import hameln_webhook

pytestmark = pytest.mark.django_db(transaction=True)

LEASE_SECONDS = 2


def worker_environment() -> dict[str, str]:
    """What a worker process of this deployment gets: the test database, short leases."""
    db = connection.settings_dict
    if is_postgis():
        credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        url = f"postgis://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    else:
        url = f"spatialite:///{db['NAME']}"
    return {
        "DATABASE_URL": url, "SECRET_KEY": settings.SECRET_KEY, "DEBUG": "false", "DATA_DIR": str(settings.DATA_DIR),
        "NOTIFY_LEASE_SECONDS": str(LEASE_SECONDS), "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def receiver():
    receiver = Receiver(hold=threading.Event())
    yield receiver
    receiver.stop()


def test_a_delivery_whose_worker_was_killed_mid_request_is_delivered_by_the_next_worker(client, demo, receiver):
    hook = hameln_webhook(receiver.start())
    env = worker_environment()
    base = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}
    worker = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "manage.py"),
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.2",
        ],
        env={**base, **env},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert submit(client).status_code == 201  # created and routed: two webhook deliveries
        assert receiver.got_first.wait(60), "the worker never called the receiver"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    held = Delivery.objects.get(lease_until__isnull=False)
    assert held.status == "pending" and held.attempts == 1
    receiver.hold.set()  # the killed worker's request now ends, unheard
    time.sleep(LEASE_SECONDS + 0.5)

    started = manage("schedule_notifications", env=env)
    # Both are handed over: the killed one, and the one still waiting behind it (its first task is still
    # queued too; whichever task comes second finds it sent and does nothing).
    assert started.returncode == 0 and "2 deliveries re-queued" in started.stdout, started.stdout + started.stderr
    batch = manage("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval", "0", env=env)
    assert batch.returncode == 0, batch.stderr

    deliveries = list(Delivery.objects.filter(webhook=hook))
    assert len(deliveries) == 2 and {d.status for d in deliveries} == {"sent"}
    assert Delivery.objects.get(pk=held.pk).attempts == 2
    per_delivery = Counter(int(c.headers["x-openmelder-delivery"]) for c in receiver.calls)
    assert per_delivery == {held.pk: 2, next(d.pk for d in deliveries if d.pk != held.pk): 1}
    assert Counter(c.json["kind"] for c in receiver.calls if c.headers["x-openmelder-delivery"] != str(held.pk)) == {
        ({"created", "routed"} - {held.event.kind}).pop(): 1
    }
