"""Area alerts by e-mail: a citizen subscribes to new reports and/or status changes in a municipality, around a
place or in a drawn area (double opt-in); each matching report event brings one mail with a link that stops the
alert; nothing before confirmation, nothing outside the area, nothing private."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from geo.models import Authority, Category, PublishingPolicy
from notifications.models import AreaAlert, Delivery
from reports.models import Report
from reports.services import report_moderate, report_note
from tests.nominatim import LoopbackNominatim
from tests.notifications.delivery import change_status, links, mails_to, run_worker
from tests.reports.site.conftest import SecureClient

pytestmark = pytest.mark.django_db

SENT = "Please confirm your address: we have sent you an e-mail."
HAMELN_MARKET = (52.1039, 9.3576)  # Pferdemarkt, Stadt Hameln
HAMELN_BRIDGE = (52.1063, 9.3500)  # Münsterbrücke, Stadt Hameln, about 620 m west of the market
AERZEN = (52.0497, 9.2636)  # Flecken Aerzen
HAMELN_AGS = "03252006"


@pytest.fixture(autouse=True)
def no_geocoder(settings):
    settings.GEOCODER = {**settings.GEOCODER, "URL": "http://127.0.0.1:9", "TIMEOUT": 1}


@pytest.fixture
def visitor():
    return SecureClient(HTTP_ACCEPT_LANGUAGE="en")


def subscribe(client, email: str = "bert@example.org", **fields):
    data = {"email": email, "scope": "municipality", "new_reports": "on", **fields}
    return client.post("/mail/alerts/", data)


def confirm(client, address: str = "bert@example.org") -> None:
    run_worker()
    [confirmation] = [m for m in mails_to(address) if links(m.body, "alert-confirm")]
    (path,) = links(confirmation.body, "alert-confirm")
    assert client.post(path).status_code == 200


def submit(at, category: str = "schlagloch", description: str = "Tiefes Loch", **extra) -> Report:
    """A report through the public API, as the app sends it."""
    answer = SecureClient().post("/api/v1/reports/", {
        "category": category, "lat": at[0], "lon": at[1], "description": description, **extra,
    })
    assert answer.status_code == 201, answer.content
    return Report.objects.get(public_id=answer.json()["id"])


def alert_mails(address: str = "bert@example.org") -> list:
    return [m for m in mails_to(address) if links(m.body, "alert-stop")]


def test_the_form_says_what_is_stored_and_lists_the_municipalities(demo, visitor):
    page = visitor.get("/mail/alerts/").content.decode()
    assert 'action="/mail/alerts/"' in page and 'type="email"' in page
    assert "we store only your e-mail address, your language and the area" in page
    hameln = Authority.objects.get(ags=HAMELN_AGS)
    assert f'<option value="{hameln.slug}">{hameln}</option>' in page
    assert "Landkreis" not in page.split('id="id_municipality"')[1].split("</select>")[0], "Gemeinden only"
    german = visitor.get("/mail/alerts/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "E-Mail-Benachrichtigungen für ein Gebiet" in german


def test_a_hameln_alert_mails_once_for_a_hameln_report_and_never_for_an_aerzen_report(demo, visitor):
    hameln = Authority.objects.get(ags=HAMELN_AGS)
    answer = subscribe(visitor, "Bert@Example.org", municipality=hameln.slug)
    assert answer.status_code == 200 and SENT in answer.content.decode()
    run_worker()
    [confirmation] = mails_to("bert@example.org")
    assert "Hameln" in confirmation.subject
    confirm(visitor)
    mail.outbox.clear()

    in_hameln = submit(HAMELN_MARKET, email="anna@example.org", name="Anna Beispiel", description="Loch am Markt")
    in_aerzen = submit(AERZEN, description="Loch in Aerzen")
    assert in_aerzen.authority.ags != HAMELN_AGS
    run_worker()
    [alert] = alert_mails()
    assert in_hameln.reference in alert.subject and in_aerzen.reference not in alert.body
    assert "Loch am Markt" in alert.body and f"/meldungen/{in_hameln.reference}/" in alert.body
    for private in ("anna@example.org", "Anna Beispiel"):
        assert private not in alert.body and private not in alert.alternatives[0][0]
    (stop,) = links(alert.body, "alert-stop")
    assert alert.extra_headers["List-Unsubscribe"] == f"<{django_settings.PUBLIC_URL}{stop}>"
    assert alert.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert links(alert.alternatives[0][0], "alert-stop") == [stop]

    run_worker()
    assert len(alert_mails()) == 1, "exactly one mail, even when the worker runs again"


def test_nothing_is_mailed_before_the_confirmation_link_is_used(demo, visitor):
    subscribe(visitor, municipality=Authority.objects.get(ags=HAMELN_AGS).slug)
    submit(HAMELN_MARKET)
    run_worker()
    assert len(mails_to("bert@example.org")) == 1, "the confirmation mail only"
    assert not alert_mails()


def test_opening_the_confirmation_link_confirms_nothing_and_a_link_works_once(demo, visitor):
    subscribe(visitor, municipality=Authority.objects.get(ags=HAMELN_AGS).slug)
    run_worker()
    (path,) = links(mails_to("bert@example.org")[0].body, "alert-confirm")
    page = visitor.get(path)
    assert page.status_code == 200 and b"Confirm and start the alert" in page.content
    assert AreaAlert.objects.get().confirmed_at is None
    assert visitor.post(path).status_code == 200
    assert visitor.post(path).status_code == 410
    assert visitor.post("/mail/alert-confirm/not-a-token/").status_code == 410


def test_a_radius_alert_matches_by_distance(demo, visitor):
    subscribe(visitor, scope="radius", lat=str(HAMELN_MARKET[0]), lon=str(HAMELN_MARKET[1]), radius="500")
    confirm(visitor)
    near = submit((52.1050, 9.3590), description="nah")  # about 150 m from the market
    far = submit(HAMELN_BRIDGE, description="weiter weg")  # about 620 m away: outside 500 m
    run_worker()
    [alert] = alert_mails()
    assert near.reference in alert.subject and far.reference not in alert.subject


def test_a_radius_around_an_address_is_placed_by_the_geocoder(demo, visitor, settings):
    market = {"lat": "52.1039", "lon": "9.3576", "display_name": "Pferdemarkt, Hameln, Niedersachsen, Deutschland",
              "address": {"road": "Pferdemarkt", "postcode": "31785", "town": "Hameln"}}
    with LoopbackNominatim({"pferdemarkt": [market]}) as server:
        settings.GEOCODER = {**settings.GEOCODER, "URL": server.url}
        answer = subscribe(visitor, scope="radius", address="Pferdemarkt, Hameln", radius="300")
        unknown = subscribe(visitor, "carla@example.org", scope="radius", address="Nirgendwo 1", radius="300")
    assert answer.status_code == 200, answer.content
    assert unknown.status_code == 400 and b"No place of this name was found." in unknown.content
    alert = AreaAlert.objects.get()
    assert (round(alert.center.y, 4), round(alert.center.x, 4)) == HAMELN_MARKET and alert.radius_m == 300
    confirm(visitor)
    near = submit((52.1050, 9.3590))
    submit(HAMELN_BRIDGE)
    run_worker()
    [mail_] = alert_mails()
    assert near.reference in mail_.subject


def test_a_drawn_area_matches_what_lies_inside(demo, visitor):
    square = {"type": "Polygon", "coordinates": [[
        [9.3550, 52.1020], [9.3600, 52.1020], [9.3600, 52.1060], [9.3550, 52.1060], [9.3550, 52.1020],
    ]]}
    answer = subscribe(visitor, scope="area", area=json.dumps({"type": "Feature", "geometry": square}))
    assert answer.status_code == 200, answer.content
    confirm(visitor)
    inside = submit(HAMELN_MARKET, description="drinnen")
    outside = submit(HAMELN_BRIDGE, description="draußen")
    run_worker()
    [alert] = alert_mails()
    assert inside.reference in alert.subject and outside.reference not in alert.body


def test_the_category_filter_keeps_other_categories_out(demo, visitor):
    other = Category.objects.filter(is_public=True, active=True).exclude(slug="schlagloch").first()
    subscribe(visitor, municipality=Authority.objects.get(ags=HAMELN_AGS).slug, categories=[other.slug])
    confirm(visitor)
    submit(HAMELN_MARKET, category="schlagloch")
    wanted = submit(HAMELN_MARKET, category=other.slug)
    run_worker()
    [alert] = alert_mails()
    assert wanted.reference in alert.subject


def test_status_change_alerts_tell_the_new_status_and_the_public_answer_only(demo, personas, visitor):
    subscribe(visitor, municipality=Authority.objects.get(ags=HAMELN_AGS).slug, new_reports="",
              status_changes="on")
    confirm(visitor)
    report = submit(HAMELN_MARKET)
    run_worker()
    assert not alert_mails(), "no mail for a new report: only status changes were asked for"

    report_note(report=report, actor=personas.hameln_worker, note="Intern: Kollege krank")
    change_status(str(report.public_id), "in_progress", actor=personas.hameln_worker, message="Wir kümmern uns.")
    run_worker()
    [alert] = alert_mails()
    assert report.reference in alert.subject and "Wir kümmern uns." in alert.body
    assert "Kollege krank" not in alert.body and "Kollege krank" not in alert.alternatives[0][0]


def test_the_stop_link_asks_first_then_deletes_the_alert_and_stops_the_mails(demo, visitor):
    subscribe(visitor, municipality=Authority.objects.get(ags=HAMELN_AGS).slug)
    confirm(visitor)
    submit(HAMELN_MARKET)
    run_worker()
    (stop,) = links(alert_mails()[0].body, "alert-stop")
    page = visitor.get(stop)
    assert page.status_code == 200 and b"Stop the alert" in page.content
    assert AreaAlert.objects.exists(), "opening the link changes nothing"
    assert visitor.post(stop).status_code == 200
    assert not AreaAlert.objects.exists()
    assert visitor.post(stop).status_code == 410
    mail.outbox.clear()
    submit(HAMELN_MARKET)
    run_worker()
    assert mails_to("bert@example.org") == []


def test_a_mail_client_unsubscribes_with_one_click(demo, visitor):
    subscribe(visitor, municipality=Authority.objects.get(ags=HAMELN_AGS).slug)
    confirm(visitor)
    submit(HAMELN_MARKET)
    run_worker()
    (stop,) = links(alert_mails()[0].body, "alert-stop")
    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click", without a CSRF token or cookie.
    client = SecureClient(enforce_csrf_checks=True)
    answer = client.post(stop, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    assert not AreaAlert.objects.exists()
    assert not Delivery.objects.filter(target="bert@example.org", status="pending").exists()


def test_a_report_held_for_review_is_announced_when_it_is_released(demo, personas, visitor):
    Authority.objects.filter(ags=HAMELN_AGS).update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    subscribe(visitor, municipality=Authority.objects.get(ags=HAMELN_AGS).slug)
    confirm(visitor)
    report = submit(HAMELN_MARKET)
    run_worker()
    assert not alert_mails(), "a held report is not public"
    report_moderate(report=report, actor=personas.hameln_lead, moderation="published")
    run_worker()
    [alert] = alert_mails()
    assert report.reference in alert.subject


def test_one_mail_per_event_even_if_several_alerts_of_an_address_match(demo, visitor):
    subscribe(visitor, municipality=Authority.objects.get(ags=HAMELN_AGS).slug)
    subscribe(visitor, scope="radius", lat=str(HAMELN_MARKET[0]), lon=str(HAMELN_MARKET[1]), radius="1000")
    run_worker()
    for message in list(mails_to("bert@example.org")):
        for path in links(message.body, "alert-confirm"):
            visitor.post(path)
    assert AreaAlert.objects.filter(confirmed_at__isnull=False).count() == 2
    submit(HAMELN_MARKET)
    run_worker()
    assert len(alert_mails()) == 1


def test_asking_again_sends_no_second_confirmation_mail(demo, visitor):
    slug = Authority.objects.get(ags=HAMELN_AGS).slug
    first = subscribe(visitor, municipality=slug)
    again = subscribe(SecureClient(HTTP_ACCEPT_LANGUAGE="en"), "BERT@example.org ", municipality=slug)
    assert first.status_code == again.status_code == 200
    run_worker()
    assert len(mails_to("bert@example.org")) == 1
    assert AreaAlert.objects.count() == 1


def test_an_alert_never_confirmed_is_deleted_after_a_week(demo, visitor):
    subscribe(visitor, municipality=Authority.objects.get(ags=HAMELN_AGS).slug)
    run_worker()
    (path,) = links(mails_to("bert@example.org")[0].body, "alert-confirm")
    AreaAlert.objects.update(created_at=timezone.now() - timedelta(days=6))
    call_command("schedule_notifications", stdout=io.StringIO())
    assert AreaAlert.objects.exists()
    AreaAlert.objects.update(created_at=timezone.now() - timedelta(days=8))
    call_command("schedule_notifications", stdout=io.StringIO())
    assert not AreaAlert.objects.exists()
    assert not Delivery.objects.filter(target="bert@example.org").exists()
    assert visitor.post(path).status_code == 410


def test_an_app_subscribes_through_the_json_api_and_gets_json_errors(demo):
    app = SecureClient(HTTP_ACCEPT_LANGUAGE="en")
    square = {"type": "Polygon", "coordinates": [[
        [9.3550, 52.1020], [9.3600, 52.1020], [9.3600, 52.1060], [9.3550, 52.1060], [9.3550, 52.1020],
    ]]}
    answer = app.post("/api/v1/alerts/", {
        "email": "bert@example.org", "scope": "area", "area": square, "new_reports": False, "status_changes": True,
        "categories": ["schlagloch"],
    }, content_type="application/json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == "confirmation_sent"
    alert = AreaAlert.objects.get()
    assert (alert.scope, alert.new_reports, alert.status_changes) == ("area", False, True)
    assert [c.slug for c in alert.categories.all()] == ["schlagloch"]
    run_worker()
    assert len(mails_to("bert@example.org")) == 1

    bad = app.post("/api/v1/alerts/", {
        "email": "bert@", "scope": "radius", "lat": 52.1039, "lon": 9.3576, "radius": 20_000,
    }, content_type="application/json")
    assert bad.status_code == 400
    errors = {(e["field"], e["code"]) for e in bad.json()["errors"]}
    assert errors == {("email", "invalid"), ("radius", "max_value")}
    outside = app.post("/api/v1/alerts/", {"email": "bert@example.org", "scope": "area", "area": {
        "type": "Polygon", "coordinates": [[[11.57, 48.13], [11.58, 48.13], [11.58, 48.14], [11.57, 48.13]]]}},
        content_type="application/json")
    assert outside.status_code == 400
    assert outside.json()["errors"][0]["code"] == "outside_service_area"
    for garbage in ("[1, 2]", "not json", ""):
        refused = app.post("/api/v1/alerts/", garbage, content_type="application/json")
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "parse_error"
    assert AreaAlert.objects.count() == 1


def ring(*corners):
    return json.dumps({"type": "Polygon", "coordinates": [[list(c) for c in corners]]})


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"email": "not-an-address"}, "email", "Please enter a valid e-mail address"),
    ({"email": ""}, "email", "Please enter your e-mail address."),
    ({"municipality": ""}, "municipality", "Choose a municipality."),
    ({"municipality": "atlantis"}, "municipality", "Choose a municipality from the list."),
    ({"new_reports": ""}, "new_reports", "Choose new reports, status changes, or both."),
    ({"scope": "radius", "lat": "52.1039", "lon": "9.3576", "radius": "20"}, "radius", "between 50 m and 10 km"),
    ({"scope": "radius", "lat": "52.1039", "lon": "9.3576", "radius": "20000"}, "radius", "between 50 m and 10 km"),
    ({"scope": "radius", "lat": "52.1039", "lon": "9.3576", "radius": "1e9"}, "radius", "between 50 m and 10 km"),
    ({"scope": "radius", "lat": "95", "lon": "9.3576", "radius": "500"}, "lat", ""),
    ({"scope": "radius", "lat": "48.137", "lon": "11.575", "radius": "500"}, "lat", "outside the service area"),
    ({"scope": "radius", "radius": "500"}, "address", "Enter an address, or give latitude and longitude."),
    ({"scope": "radius", "address": "Pferdemarkt, Hameln", "radius": "500"}, "address",
     "address search is not available"),
    ({"scope": "area", "area": ""}, "area", "Draw an area"),
    ({"scope": "area", "area": "{not json"}, "area", "must be a GeoJSON polygon"),
    ({"scope": "area", "area": json.dumps({"type": "Point", "coordinates": [9.35, 52.1]})}, "area",
     "must be a GeoJSON polygon"),
    ({"scope": "area", "area": ring((9.355, 52.102), (9.36, 52.102), (9.36, 52.106), (9.355, 52.106))}, "area",
     "must be closed"),
    ({"scope": "area", "area": ring((9.355, 52.102), (9.36, 52.106), (9.36, 52.102), (9.355, 52.106),
                                    (9.355, 52.102))}, "area", "must not cross itself"),
    ({"scope": "area", "area": ring(*[(9.35 + i * 1e-5, 52.10 + (i % 2) * 1e-5) for i in range(300)],
                                    (9.35, 52.10))}, "area", "too many corners"),
    ({"scope": "area", "area": ring((9.1, 52.0), (9.5, 52.0), (9.5, 52.2), (9.1, 52.2), (9.1, 52.0))}, "area",
     "too large"),
    ({"scope": "area", "area": ring((11.57, 48.13), (11.58, 48.13), (11.58, 48.14), (11.57, 48.13))}, "area",
     "within the service area"),
    ({"scope": "moon"}, "scope", ""),
])
def test_bad_input_gets_the_form_back_with_a_clear_message(demo, visitor, fields, field, message):
    data = {"municipality": Authority.objects.get(ags=HAMELN_AGS).slug, **fields}
    answer = subscribe(visitor, **data)
    page = answer.content.decode()
    assert answer.status_code == 400
    assert message in page
    assert f'id="id_{field}_error"' in page
    assert not AreaAlert.objects.exists() and not Delivery.objects.filter(kind="alert_confirm").exists()


def test_the_form_shares_the_support_limit(demo, visitor, settings):
    settings.API_RATES = {**settings.API_RATES, "support": "1/hour"}
    slug = Authority.objects.get(ags=HAMELN_AGS).slug
    assert subscribe(visitor, municipality=slug).status_code == 200
    refused = subscribe(visitor, "carla@example.org", municipality=slug)
    assert refused.status_code == 429 and b"Too many requests" in refused.content
    assert not AreaAlert.objects.filter(address="carla@example.org").exists()


def test_an_admin_finds_an_address_alerts_and_deletes_them_on_request(demo, visitor, admin_client):
    subscribe(visitor, scope="radius", lat=str(HAMELN_MARKET[0]), lon=str(HAMELN_MARKET[1]), radius="500")
    alert = AreaAlert.objects.get()
    found = admin_client.get("/admin/notifications/areaalert/", {"q": "bert@"}, secure=True)
    assert found.status_code == 200 and b"bert@example.org" in found.content
    page = admin_client.get(f"/admin/notifications/areaalert/{alert.pk}/change/", secure=True)
    assert page.status_code == 200 and b"token_hash" not in page.content
    deleted = admin_client.post(f"/admin/notifications/areaalert/{alert.pk}/delete/", {"post": "yes"}, secure=True)
    assert deleted.status_code == 302 and not AreaAlert.objects.exists()


def test_a_german_subscriber_gets_german_mails(demo):
    german = SecureClient(HTTP_ACCEPT_LANGUAGE="de")
    hameln = Authority.objects.get(ags=HAMELN_AGS)
    answer = subscribe(german, municipality=hameln.slug)
    assert "Bitte bestätigen Sie Ihre Adresse" in answer.content.decode()
    run_worker()
    [confirmation] = mails_to("bert@example.org")
    assert confirmation.subject == f"Bitte bestätigen Sie Ihre Gebietsbenachrichtigung für {hameln}"
    confirm(german)
    report = submit(HAMELN_MARKET)
    run_worker()
    [alert] = alert_mails()
    assert alert.subject.startswith(f"Neue Meldung {report.reference} in {hameln}: ")
    assert "Diese Gebietsbenachrichtigung beenden" in alert.body
