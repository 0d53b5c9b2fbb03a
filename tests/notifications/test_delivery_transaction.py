"""Deliveries and their tasks are written in the report's own transaction: they commit or roll back with it."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from notifications.models import Delivery
from reports.models import Report
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import run_worker
from tests.notifications.test_webhook_delivery import hameln_webhook

pytestmark = pytest.mark.django_db


class Abort(Exception):
    pass


def test_a_status_change_that_rolls_back_leaves_no_delivery_and_no_task(client, personas):
    from reports.services import report_transition

    hameln_webhook("http://127.0.0.1:9/hook")
    report = submit(client).json()
    deliveries, tasks = Delivery.objects.count(), DBTaskResult.objects.count()
    assert deliveries == 3 and tasks == 3, (
        "created and routed to the webhook, the department's mail; each with its task"
    )
    with pytest.raises(Abort), transaction.atomic():
        report_transition(
            report=Report.objects.get(public_id=report["id"]), to="in_progress", actor=personas.hameln_worker
        )
        assert Delivery.objects.count() == 4 and DBTaskResult.objects.count() == 4
        raise Abort()
    assert Delivery.objects.count() == 3 and DBTaskResult.objects.count() == 3


def test_deliveries_are_listed_read_only_in_the_admin_and_filter_by_status_and_channel(client, demo, django_user_model):
    hameln_webhook("http://127.0.0.1:9/hook")
    submit(client)
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pw-Admin-2026")
    client.force_login(admin)
    listing = client.get("/admin/notifications/delivery/?status__exact=pending&channel__exact=webhook", secure=True)
    assert listing.status_code == 200 and listing.content.count(b"127.0.0.1:9/hook") == 2
    assert (
        client.get("/admin/notifications/delivery/?status__exact=sent", secure=True).content.count(b"127.0.0.1:9/hook")
        == 0
    )
    delivery = Delivery.objects.first()
    page = client.get(f"/admin/notifications/delivery/{delivery.pk}/change/", secure=True)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get("/admin/notifications/delivery/add/", secure=True).status_code == 403
    run_worker()  # port 9 (discard) refuses: the deliveries wait for their retry
    assert set(Delivery.objects.filter(channel="webhook").values_list("status", flat=True)) == {"pending"}
