"""Double opt-in: a reporter's address gets nothing but the confirmation mail until its link is used."""

import pytest
from django.core import mail

from notifications.models import Delivery, EmailAddress
from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import change_status, links, mails_to, run_worker

pytestmark = pytest.mark.django_db


def test_a_new_address_gets_the_confirmation_mail_and_no_status_mail_before_confirming(client, personas):
    report = submit(client, {"email": "Anna@Example.org"}).json()
    run_worker()
    [confirmation] = mails_to("anna@example.org")
    assert report["reference"] in confirmation.subject
    assert len(links(confirmation.body, "confirm")) == 1
    html = confirmation.alternatives[0][0]
    assert links(html, "confirm") == links(confirmation.body, "confirm")

    change_status(report["id"], "in_progress", actor=personas.hameln_worker, message="Wir kümmern uns.")
    run_worker()
    assert len(mails_to("anna@example.org")) == 1


def test_the_confirmation_link_works_once_and_then_status_changes_are_mailed(client, personas):
    report = submit(client, {"email": "anna@example.org"}).json()
    run_worker()
    (path,) = links(mails_to("anna@example.org")[0].body, "confirm")

    page = client.get(path, secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b"Confirm address" in page.content
    assert not EmailAddress.objects.get(address="anna@example.org").is_confirmed, "opening the link confirms nothing"
    confirmed = client.post(path, secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert confirmed.status_code == 200 and b"your address is confirmed" in confirmed.content
    again = client.post(path, secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 410 and b"already used" in again.content
    assert client.get(path, secure=True, HTTP_ACCEPT_LANGUAGE="en").status_code == 410

    change_status(report["id"], "fixed", actor=personas.hameln_worker, message="Das Loch ist verfüllt.")
    run_worker()
    status_mail = mail.outbox[-1]
    assert len(mails_to("anna@example.org")) == 2 and status_mail.to == ["anna@example.org"]
    assert "Das Loch ist verfüllt." in status_mail.body and report["reference"] in status_mail.subject
    assert "Das Loch ist verfüllt." in status_mail.alternatives[0][0]


def test_a_confirmation_link_that_never_existed_changes_nothing(client, demo):
    response = client.post("/mail/confirm/not-a-token/", secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410 and b"no longer valid" in response.content


def test_an_address_confirmed_once_is_not_asked_again_for_its_next_report(client, personas):
    submit(client, {"email": "anna@example.org"})
    run_worker()
    (path,) = links(mails_to("anna@example.org")[0].body, "confirm")
    client.post(path, secure=True)
    submit(client, {"email": "anna@example.org", "description": "Noch ein Loch."})
    run_worker()
    assert len(mails_to("anna@example.org")) == 1
    assert Delivery.objects.filter(kind="confirmation").count() == 1
