"""Pages carry a strict Content-Security-Policy and the other security headers; forms need their CSRF token."""

from __future__ import annotations

import pytest

from tests.mobile_api.staff.conftest import Client

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = ["/", "/meldungen/", "/melden/", "/statistik/"]


def policy(response) -> dict[str, str]:
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
        for part in (item.strip() for item in response["Content-Security-Policy"].split(";"))
    }


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_allow_no_inline_script_and_no_framing(demo, settings, path):
    response = Client().get(path)

    assert response.status_code == 200
    csp = policy(response)
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["form-action"] == "'self'"
    assert "https://tile.openstreetmap.org" in csp["img-src"]
    assert "wss://testserver" in csp["connect-src"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "geolocation=(self)" in response["Permissions-Policy"]
    assert response["Strict-Transport-Security"].startswith("max-age=")


def test_json_answers_carry_no_page_policy(demo):
    response = Client().get("/api/v1/categories/")

    assert "Content-Security-Policy" not in response
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_web_form_refuses_a_post_without_its_csrf_token(demo):
    from reports.models import Report

    visitor = Client(enforce_csrf_checks=True)

    response = visitor.post("/melden/", {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576"})

    assert response.status_code == 403
    assert Report.objects.count() == 0


def test_the_staff_login_refuses_a_post_without_its_csrf_token(personas):
    response = Client(enforce_csrf_checks=True).post(
        "/staff/login/", {"username": "hameln-worker", "password": personas.password}
    )

    assert response.status_code == 403
