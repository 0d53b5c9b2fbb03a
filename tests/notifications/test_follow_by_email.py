"""Following a published report by e-mail from its public page: double opt-in for that report, its status
mails with a link that stops them, the same answer whether or not the address already follows, and the
followers' addresses removed with the report's personal data."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from geo.models import Authority, PublishingPolicy
from notifications.models import Delivery, Follower
from reports.models import Report
from reports.services.retention import anonymise_expired
from tests.mobile_api.staff.conftest import staff_client
from tests.notifications.delivery import change_status, links, mails_to, run_worker
from tests.reports.site.conftest import SecureClient, file_report

pytestmark = pytest.mark.django_db

SENT = "Please confirm your address: we have sent you an e-mail."


@pytest.fixture(autouse=True)
def no_geocoder(settings):
    settings.GEOCODER = {**settings.GEOCODER, "URL": "http://127.0.0.1:9", "TIMEOUT": 1}


@pytest.fixture
def visitor():
    return SecureClient(HTTP_ACCEPT_LANGUAGE="en")


def follow(client, report: Report, email: str = "bert@example.org", **headers):
    return client.post(f"/mail/follow/{report.reference}/", {"email": email}, **headers)


def without_csrf_token(page: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)


def confirm_link(address: str) -> str:
    [confirmation] = [m for m in mails_to(address) if links(m.body, "follow-confirm")]
    (path,) = links(confirmation.body, "follow-confirm")
    return path


def test_the_page_of_a_published_report_offers_to_follow_it_by_email(demo, visitor):
    report = file_report()
    page = visitor.get(f"/meldungen/{report.reference}/").content.decode()
    assert f'action="/mail/follow/{report.reference}/"' in page
    assert "Follow by e-mail" in page and 'type="email"' in page and 'for="follow-email"' in page
    german = visitor.get(f"/meldungen/{report.reference}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Per E-Mail folgen" in german


def test_following_sends_only_the_confirmation_mail_until_its_link_is_used(demo, personas, visitor):
    report = file_report()
    run_worker()
    mail.outbox.clear()
    answer = follow(visitor, report, "Bert@Example.org")
    assert answer.status_code == 200 and SENT in answer.content.decode()
    run_worker()
    [confirmation] = mails_to("bert@example.org")
    assert report.reference in confirmation.subject
    assert len(links(confirmation.body, "follow-confirm")) == 1
    assert links(confirmation.alternatives[0][0], "follow-confirm") == links(confirmation.body, "follow-confirm")

    change_status(str(report.public_id), "in_progress", actor=personas.hameln_worker, message="Wir kümmern uns.")
    run_worker()
    assert len(mails_to("bert@example.org")) == 1, "no status mail before the address is confirmed"


def test_the_german_page_answers_in_german(demo, visitor):
    report = file_report()
    answer = follow(visitor, report, HTTP_ACCEPT_LANGUAGE="de")
    assert "Bitte bestätigen Sie Ihre Adresse: wir haben Ihnen eine E-Mail geschickt." in answer.content.decode()


def test_after_confirming_status_changes_are_mailed_with_a_link_to_stop_them(demo, personas, visitor):
    report = file_report()
    follow(visitor, report)
    run_worker()
    path = confirm_link("bert@example.org")
    page = visitor.get(path)
    assert page.status_code == 200 and b"Confirm and follow" in page.content
    assert Follower.objects.get().confirmed_at is None, "opening the link confirms nothing"
    confirmed = visitor.post(path)
    assert confirmed.status_code == 200 and b"you now follow report" in confirmed.content
    assert visitor.post(path).status_code == 410, "a link works once"
    mail.outbox.clear()

    change_status(str(report.public_id), "fixed", actor=personas.hameln_worker, message="Das Loch ist verfüllt.")
    run_worker()
    [status_mail] = mails_to("bert@example.org")
    assert report.reference in status_mail.subject and "Das Loch ist verfüllt." in status_mail.body
    assert "Das Loch ist verfüllt." in status_mail.alternatives[0][0]
    (unfollow,) = links(status_mail.body, "unfollow")
    assert links(status_mail.alternatives[0][0], "unfollow") == [unfollow]
    assert status_mail.extra_headers["List-Unsubscribe"] == f"<{django_settings.PUBLIC_URL}{unfollow}>"
    assert status_mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not Delivery.objects.filter(kind="follow_up", target="bert@example.org").exists(), (
        "only the reporter is asked whether the defect is fixed"
    )


def test_the_link_in_a_status_mail_stops_the_mails_and_forgets_the_address(demo, personas, visitor):
    report = file_report()
    follow(visitor, report)
    run_worker()
    visitor.post(confirm_link("bert@example.org"))
    change_status(str(report.public_id), "in_progress", actor=personas.hameln_worker)
    run_worker()
    (unfollow,) = links(mails_to("bert@example.org")[-1].body, "unfollow")

    page = visitor.get(unfollow)
    assert page.status_code == 200 and b"Stop the mails" in page.content
    assert Follower.objects.exists(), "opening the link changes nothing"
    stopped = visitor.post(unfollow)
    assert stopped.status_code == 200 and b"no longer follow" in stopped.content
    assert not Follower.objects.exists()
    assert visitor.post(unfollow).status_code == 410
    mail.outbox.clear()

    change_status(str(report.public_id), "fixed", actor=personas.hameln_worker, message="Erledigt.")
    run_worker()
    assert mails_to("bert@example.org") == []


def test_following_again_answers_the_same_and_sends_no_second_mail(demo, personas, visitor):
    report = file_report(email="anna@example.org")
    first = follow(visitor, report)
    again = follow(SecureClient(HTTP_ACCEPT_LANGUAGE="en"), report, "BERT@example.org ")
    run_worker()
    assert len(mails_to("bert@example.org")) == 1, "one confirmation mail while one is on its way"
    visitor.post(confirm_link("bert@example.org"))
    confirmed = follow(visitor, report)
    # The reporter's own address (not confirmed) is answered alike.
    reporter = follow(visitor, report, "anna@example.org")
    stranger = follow(visitor, report, "carla@example.org")
    answers = {(r.status_code, without_csrf_token(r.content.decode()))
               for r in (first, again, confirmed, reporter, stranger)}
    assert len(answers) == 1 and SENT in next(iter(answers))[1]
    run_worker()
    assert len(mails_to("bert@example.org")) == 1, "a confirmed follower gets no new confirmation mail"
    assert Follower.objects.filter(address="bert@example.org").count() == 1
    mail.outbox.clear()

    change_status(str(report.public_id), "in_progress", actor=personas.hameln_worker, message="Gleich.")
    run_worker()
    assert len(mails_to("bert@example.org")) == 1


@pytest.mark.parametrize(("email", "message"), [
    ("", "Please enter your e-mail address."),
    ("not-an-address", "Please enter a valid e-mail address"),
    ("a" * 250 + "@example.org", "The address is too long: at most 254 characters."),
])
def test_a_bad_address_gets_the_form_back_with_a_message(demo, visitor, email, message):
    report = file_report()
    answer = follow(visitor, report, email)
    page = answer.content.decode()
    assert answer.status_code == 400 and message in page
    assert 'aria-invalid="true"' in page and f'action="/mail/follow/{report.reference}/"' in page
    assert not Follower.objects.exists()


def test_unknown_and_unpublished_reports_cannot_be_followed(demo, visitor):
    unknown = visitor.post("/mail/follow/HM-2099-999999/", {"email": "bert@example.org"})
    assert unknown.status_code == 404 and b"Only published reports can be followed" in unknown.content
    Authority.objects.filter(slug="hameln").update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    held = file_report()
    assert "/mail/follow/" not in visitor.get(f"/meldungen/{held.reference}/").content.decode()
    assert follow(visitor, held).status_code == 404
    assert visitor.get(f"/mail/follow/{held.reference}/").status_code == 405
    assert not Follower.objects.exists() and not mail.outbox


def test_following_shares_the_support_limit_and_says_so(demo, visitor, settings):
    settings.API_RATES = {**settings.API_RATES, "support": "1/hour"}
    report = file_report()
    assert follow(visitor, report).status_code == 200
    refused = follow(visitor, report, "carla@example.org")
    assert refused.status_code == 429 and b"Too many requests" in refused.content
    assert not Follower.objects.filter(address="carla@example.org").exists()


def test_a_bad_confirmation_or_stop_link_changes_nothing(demo, visitor):
    assert visitor.post("/mail/follow-confirm/not-a-token/").status_code == 410
    assert visitor.get("/mail/unfollow/not-a-token/").status_code == 410
    assert visitor.post("/mail/unfollow/eyJmIjoxfQ:1abc:forged/").status_code == 410


def test_followers_are_never_shown_and_go_with_the_reports_personal_data(demo, personas, visitor):
    report = file_report(email="anna@example.org")
    follow(visitor, report)
    run_worker()
    visitor.post(confirm_link("bert@example.org"))
    assert "bert@example.org" not in visitor.get(f"/meldungen/{report.reference}/").content.decode()
    assert "bert@example.org" not in visitor.get(f"/api/v1/reports/{report.public_id}/").content.decode()

    change_status(str(report.public_id), "fixed", actor=personas.hameln_worker)
    Report.objects.filter(pk=report.pk).update(
        closed_at=timezone.now() - timedelta(days=django_settings.OPENMELDER["RETENTION_DAYS"] + 1)
    )
    assert anonymise_expired() == 1
    assert not Follower.objects.exists()
    assert not Delivery.objects.filter(target="bert@example.org").exists()


def test_followers_go_when_retention_ends_even_if_the_report_had_no_reporter_data(demo, personas, visitor):
    report = file_report()  # no reporter address: nothing to anonymise, so no "anonymised" event
    follow(visitor, report)
    run_worker()
    visitor.post(confirm_link("bert@example.org"))
    change_status(str(report.public_id), "fixed", actor=personas.hameln_worker)
    call_command("schedule_notifications", stdout=io.StringIO())
    assert Follower.objects.exists(), "kept while the retention period runs"

    Report.objects.filter(pk=report.pk).update(
        closed_at=timezone.now() - timedelta(days=django_settings.OPENMELDER["RETENTION_DAYS"] + 1)
    )
    call_command("schedule_notifications", stdout=io.StringIO())
    assert not Follower.objects.exists()
    assert not Delivery.objects.filter(target="bert@example.org").exists()


def test_an_address_that_never_confirms_is_forgotten_after_a_week(demo, visitor):
    report = file_report()
    follow(visitor, report)
    run_worker()
    path = confirm_link("bert@example.org")
    Follower.objects.update(created_at=timezone.now() - timedelta(days=6))
    call_command("schedule_notifications", stdout=io.StringIO())
    assert Follower.objects.exists()
    Follower.objects.update(created_at=timezone.now() - timedelta(days=8))
    call_command("schedule_notifications", stdout=io.StringIO())
    assert not Follower.objects.exists()
    assert not Delivery.objects.filter(target="bert@example.org").exists()
    assert visitor.post(path).status_code == 410


def test_a_mail_client_unsubscribes_with_one_click(demo, personas, visitor):
    report = file_report()
    follow(visitor, report)
    run_worker()
    visitor.post(confirm_link("bert@example.org"))
    change_status(str(report.public_id), "in_progress", actor=personas.hameln_worker)
    run_worker()
    (unfollow,) = links(mails_to("bert@example.org")[-1].body, "unfollow")
    mail_client = SecureClient(enforce_csrf_checks=True)  # RFC 8058: a POST without cookie or form token
    answer = mail_client.post(unfollow, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200 and not Follower.objects.exists()


def test_a_follower_of_a_duplicate_hears_how_the_original_ends(demo, personas, visitor):
    original = file_report()
    duplicate = file_report()
    follow(visitor, duplicate)
    run_worker()
    visitor.post(confirm_link("bert@example.org"))
    response = staff_client(personas.hameln_worker).post(
        f"/api/staff/reports/{duplicate.public_id}/duplicate/", {"original": original.reference}, format="json"
    )
    assert response.status_code == 200, response.content
    run_worker()
    mail.outbox.clear()

    change_status(str(original.public_id), "fixed", actor=personas.hameln_worker, message="Das Loch ist verfüllt.")
    run_worker()
    [status_mail] = mails_to("bert@example.org")
    assert original.reference in status_mail.subject and "Das Loch ist verfüllt." in status_mail.body
