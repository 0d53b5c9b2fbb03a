"""Webhooks: every public event of a report is POSTed, signed, to its authority's receiver; refused
calls fail at once, failing receivers are retried until they accept, and each delivery arrives once."""

import pytest

from notifications.models import Delivery, Webhook
from reports.models import Report
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import Receiver, change_status, run_worker, valid_signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_backoff(settings):
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "RETRY_BASE_SECONDS": 0, "MAX_ATTEMPTS": 4}


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


def hameln_webhook(url: str) -> Webhook:
    from geo.models import Authority

    return Webhook.objects.create(
        authority=Authority.objects.get(ags="03252006"), url=url, secret="s3cr3t"
    )  # Stadt Hameln


def test_each_public_event_is_posted_once_signed_and_without_personal_data(client, personas, receiver):
    hook = hameln_webhook(receiver.start())
    report = submit(client, {"email": "anna@example.org", "name": "Anna Beispiel"}).json()
    change_status(report["id"], "in_progress", actor=personas.hameln_worker, message="Wir kümmern uns.")
    run_worker()
    calls = receiver.delivered()
    assert [c.json["kind"] for c in calls] == ["created", "routed", "status_changed"]
    assert all(valid_signature(c, hook.secret) for c in calls)
    assert not valid_signature(calls[0], "another secret")
    assert all(c.headers["x-openmelder-timestamp"] == str(c.json["sent_at"]) for c in calls)
    last = calls[-1].json
    assert last["seq"] > calls[0].json["seq"] and last["to_status"] == "in_progress"
    assert last["message"] == "Wir kümmern uns."
    assert last["report"]["id"] == report["id"] and last["report"]["reference"] == report["reference"]
    assert last["report"]["status"] == "in_progress"
    for call in calls:
        assert b"anna" not in call.body.lower() and b"Beispiel" not in call.body
    run_worker()
    assert len(receiver.calls) == 3, "nothing is sent twice"


def test_a_receiver_that_refuses_with_a_4xx_is_not_asked_again(client, demo, receiver, no_backoff):
    receiver.answer = lambda attempt: 410
    hameln_webhook(receiver.start())
    submit(client)
    run_worker()
    assert len(receiver.calls) == 2
    deliveries = Delivery.objects.filter(channel="webhook")
    assert {(d.status, d.attempts) for d in deliveries} == {("failed", 1)}
    assert "HTTP 410" in deliveries[0].last_error


def test_a_receiver_that_fails_with_500_then_accepts_gets_each_event_delivered_once(client, demo, receiver, no_backoff):
    receiver.answer = lambda attempt: 500 if attempt == 1 else 200
    hameln_webhook(receiver.start())
    submit(client)
    run_worker()
    assert sorted(c.answered for c in receiver.calls) == [200, 200, 500, 500]
    delivered = receiver.delivered()
    assert sorted(c.json["kind"] for c in delivered) == ["created", "routed"]
    assert len({c.headers["x-openmelder-delivery"] for c in delivered}) == 2
    assert {(d.status, d.attempts) for d in Delivery.objects.filter(channel="webhook")} == {("sent", 2)}


def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_attempt(client, demo, receiver, no_backoff):
    receiver.answer = lambda attempt: 503
    hameln_webhook(receiver.start())
    submit(client)
    run_worker()
    assert len(receiver.calls) == 2 * 4
    assert {(d.status, d.attempts) for d in Delivery.objects.filter(channel="webhook")} == {("failed", 4)}


def test_a_retry_waits_for_its_backoff(client, demo, receiver, settings):
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "RETRY_BASE_SECONDS": 300}
    receiver.answer = lambda attempt: 429
    hameln_webhook(receiver.start())
    submit(client)
    run_worker()
    assert len(receiver.calls) == 2, "the second attempt is not due yet"
    assert {(d.status, d.attempts) for d in Delivery.objects.filter(channel="webhook")} == {("pending", 1)}


def test_an_unreachable_receiver_is_retried(client, demo, no_backoff):
    receiver = Receiver()
    url = receiver.start()
    receiver.stop()  # nothing listens there any more
    hameln_webhook(url)
    submit(client)
    run_worker()
    deliveries = Delivery.objects.filter(channel="webhook")
    assert {(d.status, d.attempts) for d in deliveries} == {("failed", 4)}


def test_webhooks_of_other_authorities_hear_nothing(client, personas, receiver):
    Webhook.objects.create(department=personas.hildesheim_department, url=receiver.start(), secret="x")
    submit(client)
    run_worker()
    assert receiver.calls == [] and Report.objects.count() == 1
