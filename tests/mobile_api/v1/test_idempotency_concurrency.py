"""An app on a bad connection retries: 20 concurrent requests with one Idempotency-Key create one report."""

import threading
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from reports.models import Report
from tests.mobile_api.v1.conftest import HAMELN_MARKET


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_requests_with_one_key_create_exactly_one_report(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "Hameln-Demo-2026")
    call_command("load_demo", "--reports", "0", stdout=StringIO())
    key = str(uuid.uuid4())
    payload = {"category": "schlagloch", **HAMELN_MARKET, "description": "Gleichzeitig gesendet."}
    start = threading.Barrier(20)
    statuses, bodies, failures = [], [], []

    def send():
        start.wait()
        try:
            response = Client().post("/api/v1/reports/", payload, secure=True, HTTP_IDEMPOTENCY_KEY=key)
            statuses.append(response.status_code)
            bodies.append(response.json())
        except Exception as exc:  # noqa: BLE001 - reported below, with the statuses
            failures.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert Report.objects.count() == 1
    assert sorted(statuses) == [200] * 19 + [201]
    assert len({body["id"] for body in bodies}) == 1
    assert len({body["secret"] for body in bodies}) == 1
