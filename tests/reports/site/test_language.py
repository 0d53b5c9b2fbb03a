"""A reader who asked for English sees no German UI text: on every public page, the 404 page, the staff list and a
staff ticket (routing reasons, the map credit line, dates); and the German UI says "Sie", never "du"."""

from __future__ import annotations

import json
import re

import pytest

from reports.services import report_transition
from reports.workflow import Status
from tests.reports.site.conftest import SecureClient, file_report

pytestmark = pytest.mark.django_db

# German UI words and phrases that must not appear on an English page (user text and proper names, such as
# "Stadt Hameln", are left alone: the reports filed here use none of these words).
GERMAN_UI = [
    "Meldung", "Karte", "Zuständig", "zuständig", "Unterstützende", "Statistik", "Kategorie", "Überfällig",
    "Behebung", "Sprache", "Zurück", "Seite", "Ort ", "Straße:", "Bitte ", "Mitwirkende", "Daten verändert",
    # routing reasons, as geo.routing words them in German
    "ist für den Ort zuständig", "im Gebiet", "Weitergeleitet von", "unterhalten", "hier", "erhält",
    # the demo's response template titles, offered on a staff ticket
    "Eingang bestätigt", "Auftrag eingeplant", "Mangel behoben",
]
US_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b(January|February|March|April|May|June|July|August|September|"
                     r"October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\.? \d{1,2}, \d{4}\b")


def _visible_text(page: str) -> str:
    """What a reader sees or hears: text and the attributes read out (not URLs, ids or class names)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    spoken = re.findall(r'\b(?:alt|title|aria-label|placeholder|value)="([^"]*)"', page)
    return re.sub(r"<[^>]+>", " ", page) + " " + " ".join(spoken)


def _german_in(text: str) -> list[str]:
    return [word for word in GERMAN_UI if word in text]


@pytest.fixture
def reader(demo):
    return SecureClient(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def routed_report(demo, personas):
    report = file_report(description="Deep hole")
    report_transition(report=report, to=Status.IN_PROGRESS, actor=personas.hameln_lead, message="On it")
    return report


@pytest.mark.parametrize("path", ["/", "/meldungen/", "/melden/", "/statistik/", "detail", "/no-such-page/"])
def test_public_pages_in_english_show_no_german_ui_text(reader, routed_report, path):
    if path == "detail":
        path = f"/meldungen/{routed_report.reference}/"
    page = reader.get(path).content.decode()
    assert '<html lang="en">' in page
    assert _german_in(_visible_text(page)) == [], path
    assert not US_DATE.search(_visible_text(page)), path


def test_the_map_credit_line_follows_the_language(demo):
    def credit(language: str) -> str:
        page = SecureClient(HTTP_ACCEPT_LANGUAGE=language).get("/").content.decode()
        config = re.search(r'<script id="map-config" type="application/json">(.*?)</script>', page, re.S)
        assert config, "the map page has its configuration"
        return json.loads(config.group(1))["attribution"]

    assert "OpenStreetMap</a> contributors" in credit("en") and "(data modified)" in credit("en")
    assert "OpenStreetMap</a>-Mitwirkende" in credit("de") and "(Daten verändert)" in credit("de")


def test_staff_pages_in_english_show_no_german_ui_text_routing_reasons_or_us_dates(routed_report, personas):
    staff = SecureClient(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(personas.hameln_worker)
    for path in ("/staff/", f"/staff/reports/{routed_report.reference}/"):
        page = staff.get(path).content.decode()
        assert '<html lang="en">' in page
        text = _visible_text(page)
        # The ticket shows why the report came here, in English.
        if "reports/" in path:
            assert "Why here" in text and ("covers the place" in text or "in the area of" in text)
        found = [word for word in _german_in(text) if word not in ("Bitte ",)]
        assert found == [], (path, found)
        assert not US_DATE.search(text), (path, US_DATE.search(text))


def test_a_stored_routing_reason_is_shown_in_english_and_stays_german_for_german_readers(routed_report, personas):
    stored = routed_report.routing_reason
    assert "zuständig" in stored or "im Gebiet" in stored  # stored in the installation's language
    english = SecureClient(HTTP_ACCEPT_LANGUAGE="en")
    english.force_login(personas.hameln_worker)
    german = SecureClient(HTTP_ACCEPT_LANGUAGE="de")
    german.force_login(personas.hameln_worker)
    path = f"/staff/reports/{routed_report.reference}/"
    assert stored in german.get(path).content.decode()
    assert stored not in english.get(path).content.decode()


def test_german_pages_say_sie_and_have_no_doubled_punctuation(demo, routed_report, personas):
    pages = [SecureClient().get(p).content.decode() for p in ("/", "/meldungen/", "/melden/", "/statistik/")]
    pages.append(SecureClient().post("/melden/", {"category": ""}).content.decode())  # with every error shown
    staff = SecureClient()
    staff.force_login(personas.hameln_worker)
    pages += [staff.get(p).content.decode() for p in ("/staff/", f"/staff/reports/{routed_report.reference}/")]
    for page in pages:
        text = _visible_text(page)
        assert not re.search(r"\b(du|Du|dein\w*|Dein\w*|dich|dir|Gib|gib)\b", text), re.search(
            r".{40}\b(du|Du|dein\w*|Dein\w*|dich|dir|Gib|gib)\b.{40}", text, re.S
        )
        assert not re.search(r"[?!.:]\s*:", re.sub(r"https?://\S+", "", text)), re.search(r".{40}[?!.:]\s*:.{10}", text)


def test_api_validation_messages_say_sie_in_german(demo, client):
    data = {"category": "schlagloch", "lat": "52.1", "lon": "9.36", "description": "Loch", "email": "kein-mail"}
    response = client.post("/api/v1/reports/", data, secure=True, HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 400
    messages = [e["message"] for e in response.json()["errors"]]
    assert "Bitte geben Sie eine gültige E-Mail-Adresse ein." in messages, messages


def test_the_staff_maps_credit_line_follows_the_language(routed_report, personas):
    def credits(language: str) -> list[str]:
        staff = SecureClient(HTTP_ACCEPT_LANGUAGE=language)
        staff.force_login(personas.hameln_worker)
        found = []
        for path in ("/staff/karte/", f"/staff/reports/{routed_report.reference}/"):
            page = staff.get(path).content.decode()
            assert '"attribution"' in page, path  # the map's options
            found.append(page)
        return found

    for page in credits("en"):
        assert "OpenStreetMap</a> contributors" in page and "(data modified)" in page
        assert "Mitwirkende" not in page and "Daten ver" not in page
    for page in credits("de"):
        assert "OpenStreetMap</a>-Mitwirkende" in page


def test_the_citizen_api_gives_the_routing_reason_in_the_clients_language(demo):
    def reason(language: str) -> str:
        response = SecureClient().post(
            "/api/v1/reports/",
            {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576", "description": "Loch"},
            HTTP_ACCEPT_LANGUAGE=language,
        )
        assert response.status_code == 201, response.content
        return response.json()["reason"]

    german, english = reason("de"), reason("en")
    assert "im Gebiet" in german or "zuständig" in german
    assert german != english and _german_in(english) == [], english
