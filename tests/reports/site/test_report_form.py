"""The web report form: the same rules and service as the API, errors next to the fields."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reports.models import Report, Source
from tests.nominatim import LoopbackNominatim
from tests.personas import HAMELN_MARKET
from tests.reports.site.conftest import PHOTO

pytestmark = pytest.mark.django_db


def _form(**overrides) -> dict:
    data = {"category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1]),
            "description": "Tiefes Loch", "email": "", "submission": str(uuid.uuid4())}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _error_of(page: str, field: str) -> str:
    match = re.search(rf'<div class="field-errors" id="id_{field}_error">(.*?)</div>', page, re.S)
    assert match, f"no error next to {field}"
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


def test_the_form_offers_grouped_categories_labelled_fields_and_the_privacy_note(demo, visitor):
    page = visitor.get("/melden/").content.decode()
    assert '<optgroup label="Roads and traffic">' in page
    assert '<option value="tierkadaver">Dead animal</option>' in page  # reportable, though not shown publicly
    for field in ("category", "address", "lat", "lon", "description", "photos", "email"):
        assert f'<label for="id_{field}">' in page
    assert "never published" in page and "GDPR" in page


def test_a_report_with_a_photo_is_filed_from_the_web_and_confirmed_with_its_reference(demo, visitor):
    with PHOTO.open("rb") as photo:
        upload = SimpleUploadedFile("loch.jpg", photo.read(), content_type="image/jpeg")
    response = visitor.post("/melden/", _form(email="anna@example.org", photos=upload))
    assert response.status_code == 302 and response["Location"] == "/melden/gesendet/"
    report = Report.objects.get()
    assert report.source == Source.WEB
    assert report.reporter_email == "anna@example.org"
    assert report.language == "en"
    assert report.photos.count() == 1
    confirmation = visitor.get("/melden/gesendet/").content.decode()
    assert f'<strong id="reference">{report.reference}</strong>' in confirmation
    assert "anna@example.org" not in confirmation
    assert report.reference in visitor.get("/meldungen/").content.decode()


def test_sending_the_same_form_twice_files_one_report(demo, visitor):
    data = _form()
    assert visitor.post("/melden/", data).status_code == 302
    assert visitor.post("/melden/", data).status_code == 302
    assert Report.objects.count() == 1


def test_a_german_decimal_comma_in_the_coordinates_is_understood(demo, visitor):
    response = visitor.post("/melden/", _form(lat="52,1039", lon="9,3576"))
    assert response.status_code == 302
    assert Report.objects.get().location.y == pytest.approx(52.1039)


@pytest.mark.parametrize("overrides, field, message", [
    ({"category": ""}, "category", "This field is required."),
    ({"category": "no-such-category"}, "category", "Select a valid choice."),
    ({"lon": ""}, "lon", "Give latitude and longitude together."),
    ({"lat": "north"}, "lat", "Enter a number."),
    ({"lat": "", "lon": ""}, "address", "Choose the place"),
    ({"lat": "48.1374", "lon": "11.5755"}, "address", "outside"),
    ({"description": "x" * 4001}, "description", "at most 4000 characters"),
    ({"email": "anna@"}, "email", "valid email address"),
])
def test_mistakes_are_shown_next_to_their_field_and_nothing_is_filed(demo, visitor, overrides, field, message):
    response = visitor.post("/melden/", _form(**overrides))
    assert response.status_code == 400
    page = response.content.decode()
    assert message in _error_of(page, field)
    assert f'aria-describedby="id_{field}_error' in page
    assert 'role="alert"' in page and "<title>Error: Report a problem" in page
    assert Report.objects.count() == 0


def test_the_web_form_shares_the_api_submission_limit_per_address(demo, visitor, settings):
    settings.API_RATES = {**settings.API_RATES, "submit": "2/hour"}
    assert (
        visitor.post("/api/v1/reports/", {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576"}).status_code
        == 201
    )
    assert visitor.post("/melden/", _form()).status_code == 302
    refused = visitor.post("/melden/", _form())
    assert refused.status_code == 429
    assert "Too many reports from your connection" in refused.content.decode()
    assert Report.objects.count() == 2


def test_a_file_that_is_no_photo_is_refused_at_the_photo_field(demo, visitor):
    upload = SimpleUploadedFile("loch.jpg", b"%PDF-1.4 not a photo", content_type="image/jpeg")
    response = visitor.post("/melden/", _form(photos=upload))
    assert response.status_code == 400
    assert _error_of(response.content.decode(), "photos")
    assert Report.objects.count() == 0


def test_without_a_reachable_geocoder_the_search_says_so_and_the_form_still_files_by_coordinates(demo, visitor):
    searched = visitor.post("/melden/", _form(action="search", address="Pferdemarkt Hameln", lat="", lon=""))
    assert searched.status_code == 200
    assert "not available at the moment" in searched.content.decode()
    assert visitor.get("/melden/adresse/?q=Pferdemarkt").json() == {"results": [], "available": False}
    assert visitor.post("/melden/", _form(address="Pferdemarkt Hameln")).status_code == 302


@pytest.fixture
def geocoder(settings):
    """A geocoder on loopback that knows one place."""
    market = {"lat": "52.1039", "lon": "9.3576", "display_name": "Pferdemarkt, Hameln, Niedersachsen, Deutschland",
              "address": {"road": "Pferdemarkt", "postcode": "31785", "town": "Hameln"}}
    with LoopbackNominatim({"": [market]}) as server:
        settings.GEOCODER = {**settings.GEOCODER, "URL": server.url}
        yield


def test_the_address_search_offers_places_and_a_chosen_place_files_the_report(demo, visitor, geocoder):
    answer = visitor.get("/melden/adresse/?q=Pferdemarkt Hameln").json()
    found = answer["results"]
    assert answer["available"] is True
    assert [(r["lat"], r["lon"]) for r in found] == [(52.1039, 9.3576)]
    assert "Pferdemarkt" in found[0]["label"]

    searched = visitor.post("/melden/", _form(action="search", address="Pferdemarkt Hameln", lat="", lon="",
                                               description="Loch am Markt")).content.decode()
    assert '<legend>Choose a place</legend>' in searched
    assert "Loch am Markt</textarea>" in searched and 'value="Pferdemarkt Hameln"' in searched
    assert 'role="alert"' not in searched  # searching is not sending: no errors yet
    assert 'value="52.1039,9.3576" checked' in searched
    assert visitor.post("/melden/", _form(lat="", lon="", place="52.1039,9.3576")).status_code == 302
    assert Report.objects.get().location.x == pytest.approx(9.3576)
