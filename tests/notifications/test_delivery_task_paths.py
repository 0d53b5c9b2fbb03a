"""Task rows name their task by dotted path: rows queued before the delivery code moved to
notifications/delivery/ still run, and the periodic sweep keeps its path."""

import pytest
from django_tasks_db.models import DBTaskResult

from notifications.models import Delivery
from notifications.tasks import sweep
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import Receiver, run_worker
from tests.notifications.test_webhook_delivery import hameln_webhook

pytestmark = pytest.mark.django_db


def test_deliveries_queued_under_the_old_task_path_are_still_sent(client, demo):
    receiver = Receiver()
    try:
        hameln_webhook(receiver.start())
        submit(client, {"email": "anna@example.org", "name": "Anna Beispiel"})
        queued = DBTaskResult.objects.filter(task_path__endswith=".deliver")
        assert queued.count() == Delivery.objects.count() > 0
        queued.update(task_path="notifications.tasks.deliver")  # as a database from before the move holds them

        run_worker()

        assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
        assert len(receiver.delivered()) == 2
    finally:
        receiver.stop()


def test_the_periodic_sweep_keeps_its_task_path():
    assert sweep.module_path == "notifications.tasks.sweep"
