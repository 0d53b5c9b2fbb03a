"""The map page: a legend of the pins, counts in the singular and plural of the page's language, and the popup's
data (date, place, first public photo) for one report at a time."""

from __future__ import annotations

import json
import re

import pytest

from geo.models import Authority, PublishingPolicy
from reports.models import Report
from tests.reports.site.conftest import file_report

pytestmark = pytest.mark.django_db


def _config(page: str) -> dict:
    return json.loads(re.search(r'<script id="map-config" type="application/json">(.*?)</script>', page, re.S).group(1))


def test_the_map_page_has_a_legend_and_says_1_meldung_not_1_meldungen(demo, visitor):
    page = visitor.get("/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert 'aria-label="Legende"' in page
    for label in ("Offen", "In Bearbeitung", "Erledigt", "Ohne Behebung geschlossen"):
        assert f'<span class="legend-label">{label}</span>' in page
    strings = _config(page)["strings"]
    assert strings["cluster"] == ["%(count)s Meldung hier – hineinzoomen", "%(count)s Meldungen hier – hineinzoomen"]
    assert strings["loaded"][0] == "%(count)s Meldung in diesem Kartenausschnitt."


def test_the_popup_data_has_date_place_and_the_first_public_photo_but_nothing_personal(demo, visitor):
    report = file_report(photo=True, email="anna@example.org", name="Anna Muster")
    Report.objects.filter(pk=report.pk).update(address="Pferdemarkt 1, 31785 Hameln")
    response = visitor.get(f"/meldungen/{report.public_id}/vorschau/")
    assert response.status_code == 200
    data = response.json()
    assert data["reference"] == report.reference and data["url"] == f"/meldungen/{report.reference}/"
    assert data["address"] == "Pferdemarkt 1, 31785 Hameln"
    assert data["municipality"] == str(Authority.objects.get(slug="hameln"))
    assert data["thumbnail"] == report.photos.get().public_thumbnail.url
    assert data["status_label"] == "New" and data["category"] == "Pothole / road damage"
    assert "anna" not in response.content.decode().lower() and "Muster" not in response.content.decode()


def test_before_review_the_popup_shows_no_photo_and_unknown_reports_are_not_found(demo, visitor):
    Authority.objects.filter(slug="hameln").update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    pending = file_report(photo=True)
    assert visitor.get(f"/meldungen/{pending.public_id}/vorschau/").json()["thumbnail"] is None
    assert visitor.get("/meldungen/00000000-0000-0000-0000-000000000000/vorschau/").status_code == 404
    assert visitor.get("/meldungen/not-a-uuid/vorschau/").status_code == 404
