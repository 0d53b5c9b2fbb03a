"""What every public page has, the map page's configuration, statistics, and the two languages."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings

from reports.services import report_transition
from reports.workflow import Status
from tests.reports.site.conftest import SecureClient, file_report

pytestmark = pytest.mark.django_db

PAGES = ["/", "/meldungen/", "/melden/", "/statistik/"]


@pytest.mark.parametrize("path", PAGES + ["detail"])
def test_every_page_has_language_title_skip_link_landmarks_and_navigation(demo, visitor, path):
    if path == "detail":
        path = f"/meldungen/{file_report().reference}/"
    page = visitor.get(path).content.decode()
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in page
    assert re.search(r"<title>[^<]+ – OpenMelder</title>", page)
    assert '<a class="skip-link" href="#main">Skip to content</a>' in page
    assert '<main id="main"' in page and "<header" in page and "<footer" in page and '<nav aria-label="Main">' in page
    assert page.count("<h1>") == 1
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page


def test_pages_are_german_by_default_and_english_by_accept_language_or_the_switch(demo):
    german = SecureClient().post("/melden/", {"category": ""}).content.decode()
    assert '<html lang="de">' in german
    assert "Dieses Feld ist zwingend erforderlich." in german  # Django's own German catalogue is active
    assert '<html lang="en">' in SecureClient(HTTP_ACCEPT_LANGUAGE="en").get("/meldungen/").content.decode()
    browser = SecureClient()
    switched = browser.post("/i18n/setlang/", {"language": "en", "next": "/meldungen/"})
    assert switched.status_code == 302 and switched["Location"] == "/meldungen/"
    english = browser.post("/melden/", {"category": ""}).content.decode()
    assert '<html lang="en">' in english and "This field is required." in english


def test_the_map_page_works_without_its_map_list_link_filters_tiles_and_attributions(demo, visitor):
    page = visitor.get("/?category=schlagloch").content.decode()
    assert '<a href="/meldungen/" id="list-link">' in page
    assert '<label for="id_category">Category</label>' in page
    assert '<option value="schlagloch" selected>' in page
    assert '<label for="id_status">Status</label>' in page
    assert re.search(r'<script src="/static/leaflet/leaflet\.[0-9a-f]+\.js">', page)  # from django-leaflet
    config = json.loads(
        re.search(r'<script id="map-config" type="application/json">(.*?)</script>', page, re.S).group(1)
    )
    assert config["tileUrl"] == settings.TILE_URL
    assert "OpenStreetMap" in config["attribution"] and "BKG" in config["attribution"]
    assert config["dataUrl"] == "/api/v1/map/" and config["socketPath"] == "/ws/map/"
    assert config["categories"]["schlagloch"] == "Pothole / road damage"
    assert "tierkadaver" not in config["categories"]


def test_the_tile_server_is_configurable(demo, visitor, settings):
    settings.TILE_URL = "https://tiles.example.de/{z}/{x}/{y}.png"
    assert "https://tiles.example.de/{z}/{x}/{y}.png" in visitor.get("/").content.decode()


def test_statistics_are_tables_with_headers_per_category_authority_and_backlog(demo, personas, visitor):
    fixed = file_report()
    file_report()
    file_report(category="graffiti")
    file_report(category="tierkadaver")  # not public: not counted
    report_transition(report=fixed, to=Status.FIXED, actor=personas.hameln_lead, message="Verfüllt")
    page = visitor.get("/statistik/").content.decode()
    table = re.search(r'<table class="stats-table" id="by-category">(.*?)</table>', page, re.S).group(1)
    assert '<caption id="by-category-caption">Reports per category</caption>' in table
    assert '<th scope="col">Category</th>' in table
    row = re.search(r'<th scope="row">Pothole / road damage</th>(.*?)</tr>', table, re.S).group(1)
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] == [
        "2",
        "1",
        "1",
        "0",
        "0.0",
    ]
    assert "Dead animal" not in page
    assert 'id="by-authority"' in page and 'id="backlog"' in page
    backlog = re.search(r'<table class="stats-table" id="backlog">(.*?)</table>', page, re.S).group(1)
    assert re.search(r'<th scope="row">Stadt Hameln</th>\s*<td class="number">2</td>', backlog)
