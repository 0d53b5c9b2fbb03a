"""A wrong address or a failing page shows the site's own page (German by default, English on request), also with
DEBUG on; the APIs keep answering in JSON; /favicon.ico exists."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from backend import urls as project_urls

pytestmark = pytest.mark.django_db


def _broken(request):
    raise RuntimeError("a bug in a view")


# The project's URLs plus a page that fails, for the 500 page.
urlpatterns = [path("kaputt/", _broken), *project_urls.urlpatterns]
handler404 = project_urls.handler404
handler500 = project_urls.handler500


def browser(language: str = "de") -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE=language, raise_request_exception=False)


def get(client: Client, url: str):
    return client.get(url, secure=True, HTTP_ACCEPT="text/html")


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    settings.ROOT_URLCONF = __name__
    return request.param


def test_an_unknown_address_shows_the_german_404_page_in_the_site_design(debug):
    response = get(browser(), "/gibt-es-nicht/")
    assert response.status_code == 404
    page = response.content.decode()
    assert '<html lang="de">' in page and "<h1>Seite nicht gefunden</h1>" in page
    assert '<a class="skip-link" href="#main">' in page and "/static/public/public." in page  # the site's design
    assert 'href="/meldungen/"' in page and 'href="/melden/"' in page
    assert "Technical" not in page and "URLconf" not in page and "Traceback" not in page


def test_a_report_that_does_not_exist_shows_the_same_page_in_english_on_request(debug, demo):
    response = get(browser("en"), "/meldungen/XX-2026-999999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert '<html lang="en">' in page and "<h1>Page not found</h1>" in page and "URLconf" not in page


def test_a_failing_page_shows_the_german_500_page_without_details(debug):
    response = get(browser(), "/kaputt/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "<h1>Bei uns ist etwas schiefgegangen</h1>" in page and 'href="/"' in page
    assert "a bug in a view" not in page and "Traceback" not in page and "RuntimeError" not in page


def test_the_error_pages_carry_the_content_security_policy(debug):
    response = get(browser(), "/gibt-es-nicht/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "style=" not in response.content.decode() and "<script>" not in response.content.decode()


def test_the_api_answers_unknown_addresses_with_json(debug):
    response = get(browser(), "/api/v1/gibt-es-nicht/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_the_favicon_is_served_at_the_root_and_linked_from_every_page(debug):
    icon = get(browser(), "/favicon.ico")
    assert icon.status_code == 200 and icon["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = get(browser(), "/gibt-es-nicht/").content.decode()
    assert 'rel="icon"' in page and "favicon" in page and 'type="image/svg+xml"' in page
