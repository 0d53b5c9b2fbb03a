"""Who may use which staff endpoint: the authorisation matrix, persona by persona.

Staff of another authority get 404 (the report does not exist for them); a citizen's report
secret and an anonymous visitor get nothing at all.
"""

from __future__ import annotations

import pytest

from tests.mobile_api.staff.conftest import Client, submit

pytestmark = pytest.mark.django_db

PHOTO = "data/photos/02_jpeg_orient6_portrait_nogps.jpg"

# (method, path under the report, body) for every staff endpoint that concerns one report.
REPORT_ENDPOINTS = [
    ("get", "", None),
    ("patch", "", {"category": "graffiti"}),
    ("post", "transition/", {"to": "acknowledged"}),
    ("post", "answer/", {"message": "Wir kümmern uns."}),
    ("post", "notes/", {"note": "Kolonne 2"}),
    ("post", "reassign/", {"department": "gruenflaechen-hameln"}),
    ("post", "forward/", {"authority": "hildesheim"}),
    ("post", "duplicate/", {"original": "HM-2026-000001"}),
    ("post", "photos/", "photo"),
    ("get", "templates/", None),
]


def call(client, method: str, url: str, body):
    if body == "photo":
        with open(PHOTO, "rb") as photo:
            return client.post(url, {"photos": [photo]}, format="multipart")
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, body, format="json")


@pytest.mark.parametrize(("method", "suffix", "body"), REPORT_ENDPOINTS)
def test_the_hildesheim_clerk_cannot_find_a_hameln_report(hameln_report, clerk, method, suffix, body):
    response = call(clerk, method, f"/api/staff/reports/{hameln_report['id']}/{suffix}", body)

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize(("method", "suffix", "body"), REPORT_ENDPOINTS)
def test_an_anonymous_visitor_is_asked_to_log_in(hameln_report, method, suffix, body):
    response = call(Client(), method, f"/api/staff/reports/{hameln_report['id']}/{suffix}", body)

    assert response.status_code in (401, 403)
    assert "Anna" not in response.content.decode()


@pytest.mark.parametrize(("method", "suffix", "body"), REPORT_ENDPOINTS)
def test_the_reporters_secret_opens_no_staff_endpoint(hameln_report, method, suffix, body):
    citizen = Client()
    citizen.credentials(HTTP_AUTHORIZATION=f"Bearer {hameln_report['secret']}")

    response = call(citizen, method, f"/api/staff/reports/{hameln_report['id']}/{suffix}", body)

    assert response.status_code in (401, 403)


@pytest.mark.parametrize(("method", "suffix", "body"), REPORT_ENDPOINTS)
def test_the_hameln_worker_may_use_every_endpoint_on_a_hameln_report(
    hameln_report, worker, lead, personas, method, suffix, body
):
    from geo.models import Department

    Department.objects.create(
        authority=personas.bauhof_hameln.authority, slug="gruenflaechen-hameln", name="Grünflächenamt"
    )
    if suffix == "duplicate/":
        original = submit(description="Das erste Loch")
        body = {"original": original["reference"]}
    if suffix == "forward/":
        worker = lead  # forwarding is for leads; the worker's 409 is in test_transitions

    response = call(worker, method, f"/api/staff/reports/{hameln_report['id']}/{suffix}", body)

    assert response.status_code == 200, response.content


def test_the_list_shows_staff_only_their_own_authorities_reports(hameln_report, hildesheim_report, worker, clerk):
    hameln_list = worker.get("/api/staff/reports/").json()
    hildesheim_list = clerk.get("/api/staff/reports/").json()

    assert [r["reference"] for r in hameln_list["results"]] == [hameln_report["reference"]]
    assert [r["reference"] for r in hildesheim_list["results"]] == [hildesheim_report["reference"]]


def test_the_list_is_closed_to_anonymous_visitors_and_citizens(hameln_report):
    assert Client().get("/api/staff/reports/").status_code in (401, 403)
    citizen = Client()
    citizen.credentials(HTTP_AUTHORIZATION=f"Bearer {hameln_report['secret']}")
    assert citizen.get("/api/staff/reports/").status_code in (401, 403)


def test_a_token_is_only_for_staff_with_the_right_password(personas, django_user_model):
    django_user_model.objects.create_user("citizen", password="Persona-Pass-2026")
    client = Client()

    good = client.post(
        "/api/staff/auth/token/", {"username": "hameln-worker", "password": "Persona-Pass-2026"}, format="json"
    )
    wrong = client.post("/api/staff/auth/token/", {"username": "hameln-worker", "password": "nope"}, format="json")
    not_staff = client.post(
        "/api/staff/auth/token/", {"username": "citizen", "password": "Persona-Pass-2026"}, format="json"
    )
    empty = client.post("/api/staff/auth/token/", {}, format="json")

    assert good.status_code == 200 and len(good.json()["token"]) == 40
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == "authorization"
    assert not_staff.status_code == 400 and not_staff.json()["errors"][0]["field"] == "username"
    assert empty.status_code == 400 and {e["field"] for e in empty.json()["errors"]} == {"username", "password"}


def test_a_staff_member_logged_in_by_session_may_use_the_api(hameln_report, personas):
    client = Client()
    client.force_login(personas.hameln_worker)

    assert client.get(f"/api/staff/reports/{hameln_report['reference']}/").status_code == 200


def test_internal_notes_and_the_reporters_contact_never_reach_public_views(hameln_report, worker):
    worker.post(
        f"/api/staff/reports/{hameln_report['id']}/notes/", {"note": "Schlüssel beim Hausmeister"}, format="json"
    )
    worker.post(
        f"/api/staff/reports/{hameln_report['id']}/transition/",
        {"to": "in_progress", "message": "Wir kommen morgen.", "note": "Kolonne 2 fährt hin"},
        format="json",
    )
    public = Client()

    detail = public.get(f"/api/v1/reports/{hameln_report['id']}/").content.decode()
    events = public.get(f"/api/v1/reports/{hameln_report['id']}/events/").json()["events"]
    staff_view = worker.get(f"/api/staff/reports/{hameln_report['id']}/").json()

    assert "Schlüssel" not in detail and "Kolonne" not in detail and "anna@example.org" not in detail
    assert [e["message"] for e in events if e["message"]] == ["Wir kommen morgen."]
    assert {e["message"] for e in staff_view["events"] if not e["is_public"]} == {
        "Schlüssel beim Hausmeister",
        "Kolonne 2 fährt hin",
    }
    assert staff_view["reporter"]["email"] == "anna@example.org"


def test_a_revoked_token_opens_nothing_any_more(personas):
    from tests.mobile_api.staff.conftest import staff_client

    worker = staff_client(personas.hameln_worker)
    assert worker.get("/api/staff/reports/").status_code == 200

    revoked = worker.delete("/api/staff/auth/token/revoke/")

    assert revoked.status_code == 204
    assert worker.get("/api/staff/reports/").status_code == 401


def test_token_logins_are_rate_limited_per_client_address(personas, settings):
    from tests.mobile_api.staff.conftest import Client

    settings.API_RATES = {**settings.API_RATES, "login": "3/minute"}
    client = Client()

    answers = [
        client.post("/api/staff/auth/token/", {"username": "hameln-worker", "password": f"guess-{n}"}, format="json")
        for n in range(4)
    ]

    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert int(answers[-1]["Retry-After"]) > 0
    assert answers[-1].json()["errors"][0]["code"] == "throttled"


def test_a_superuser_works_on_the_reports_of_every_authority(hameln_report, hildesheim_report, admin_user):
    from tests.mobile_api.staff.conftest import Client

    admin = Client()
    admin.force_login(admin_user)

    listed = {r["reference"] for r in admin.get("/api/staff/reports/").json()["results"]}
    rejected = admin.post(f"/api/staff/reports/{hildesheim_report['id']}/transition/",
                          {"to": "rejected", "message": "Privatgrund."}, format="json")

    assert listed == {hameln_report["reference"], hildesheim_report["reference"]}
    assert rejected.status_code == 200 and "reopened" in rejected.json()["allowed_transitions"]
