"""Every GeoReport v2 resource validates against its schema in JSON and says the same in XML."""

from datetime import datetime

import pytest
from django.core.files.storage import default_storage

from reports.models import EventKind
from reports.photos import inspect_photo
from reports.workflow import Status
from tests.conftest import REPO
from tests.mobile_api.open311.conftest import errors_of, get, record, validate, xml, xml_records
from tests.notifications.delivery import run_worker

pytestmark = pytest.mark.django_db

PHOTO = REPO / "data" / "photos" / "10_jpeg_casio-qv7000sx_no-exif-at-all.jpg"


def test_discovery_names_the_georeport_v2_endpoint_and_both_formats(client, demo):
    body = get(client, "discovery.json").json()
    validate("discovery", body)
    [endpoint] = body["endpoints"]
    assert endpoint["url"] == "https://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = xml(get(client, "discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]


def test_the_suffix_alone_chooses_the_format(client, demo):
    for accept in ("application/xml", "application/json", "text/html", "image/png"):
        assert xml(get(client, "services.xml", HTTP_ACCEPT=accept)).tag == "services"
        assert get(client, "services.json", HTTP_ACCEPT=accept)["Content-Type"] == "application/json"


def test_the_service_list_is_the_category_catalogue_in_json_and_xml(client, demo):
    response = get(client, "services.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    services = response.json()
    validate("services", services)
    pothole = next(s for s in services if s["service_code"] == "schlagloch")
    assert pothole["service_name"] == "Pothole / road damage" and pothole["metadata"] is False
    root = xml(get(client, "services.xml"))
    assert root.tag == "services" and {child.tag for child in root} == {"service"}
    records = xml_records(root)
    assert [r["service_code"] for r in records] == [s["service_code"] for s in services]
    assert next(r for r in records if r["service_code"] == "schlagloch")["metadata"] == "false"


def test_a_service_definition_validates_and_an_unknown_service_is_404(client, demo):
    definition = get(client, "services/schlagloch.json").json()
    validate("service_definition", definition)
    assert definition == {"service_code": "schlagloch", "attributes": []}
    root = xml(get(client, "services/schlagloch.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "schlagloch"
    assert errors_of(get(client, "services/no-such-thing.xml"), 404) == ["service_code no-such-thing was not found."]
    assert errors_of(get(client, "services/no-such-thing.json"), 404) == ["service_code no-such-thing was not found."]


@pytest.fixture
def worked_report(make_report):
    """A pothole with a photo that the Bauhof fixed, with a public answer."""
    photo = inspect_photo(PHOTO.read_bytes())
    report = make_report(description="Tiefes Loch vor der Marktkirche", photos=[photo],
                         reporter_name="Erika Mustermann", reporter_email="erika@example.org")
    run_worker()  # the photo's public rendition
    record(report, EventKind.PUBLIC_ANSWER, "We are on our way.")
    record(report, EventKind.STATUS_CHANGED, to_status=Status.IN_PROGRESS)  # no message: not a note
    record(report, EventKind.STATUS_CHANGED, "Filled with asphalt.", to_status=Status.FIXED)
    record(report, EventKind.INTERNAL_NOTE, "Asphalt ordered", public=False)
    return report


def test_a_service_request_carries_status_agency_last_public_answer_and_photo(client, worked_report):
    [item] = get(client, "requests.json").json()
    assert item["service_request_id"] == worked_report.reference
    assert item["status"] == "closed"
    assert item["status_notes"] == "Filled with asphalt."
    assert item["service_code"] == "schlagloch"
    assert item["agency_responsible"] == worked_report.department.name
    assert item["description"] == "Tiefes Loch vor der Marktkirche"
    worked_report.refresh_from_db()
    assert datetime.fromisoformat(item["expected_datetime"]) == worked_report.due_at.replace(microsecond=0)
    assert item["lat"] == pytest.approx(52.1039) and item["long"] == pytest.approx(9.3576)
    assert item["media_url"].startswith("https://testserver/media/photos/")
    stored = item["media_url"].split("/media/", 1)[1]
    assert default_storage.exists(stored)
    assert stored == worked_report.photos.get().public_image.name  # faces and plates blurred, never as taken


def test_requests_validate_and_the_xml_says_the_same(client, worked_report, make_report):
    make_report(category="strassenbeleuchtung-defekt")
    listing = get(client, "requests.json").json()
    validate("service_requests", listing)
    assert len(listing) == 2
    root = xml(get(client, "requests.xml"))
    assert root.tag == "service_requests" and {child.tag for child in root} == {"request"}
    records = xml_records(root)
    for row, item in zip(records, listing, strict=True):
        assert row["service_request_id"] == item["service_request_id"]
        assert row["status"] == item["status"]
        assert float(row["lat"]) == pytest.approx(item["lat"])
        assert row["media_url"] == (item["media_url"] or "")
        assert row["status_notes"] == (item["status_notes"] or "")


def test_a_single_request_is_an_array_of_one_and_an_unknown_one_is_404(client, worked_report):
    body = get(client, f"requests/{worked_report.reference}.json").json()
    validate("service_requests", body)
    assert [item["service_request_id"] for item in body] == [worked_report.reference]
    root = xml(get(client, f"requests/{worked_report.reference}.xml"))
    assert root.tag == "service_requests" and len(root) == 1
    assert root.find("request").findtext("service_request_id") == worked_report.reference
    missing = get(client, "requests/HM-2026-999999.json")
    assert errors_of(missing, 404) == ["service_request_id HM-2026-999999 was not found."]
    assert errors_of(get(client, "requests/HM-2026-999999.xml"), 404)


def test_extensions_add_the_public_notes_and_all_photo_urls(client, worked_report):
    [item] = get(client, "requests.json", extensions="true").json()
    validate("service_requests", [item])
    extended = item["extended_attributes"]
    assert [note["description"] for note in extended["notes"]] == ["We are on our way.", "Filled with asphalt."]
    assert extended["media_urls"] == [item["media_url"]]
    root = xml(get(client, "requests.xml", extensions="true"))
    notes = root.find("request/extended_attributes/notes")
    assert [note.findtext("description") for note in notes] == ["We are on our way.", "Filled with asphalt."]
    assert "extended_attributes" not in get(client, "requests.json").json()[0]


def test_no_reporter_data_and_no_internal_notes_in_any_output(client, worked_report):
    record(worked_report, EventKind.INTERNAL_NOTE, "Caller sounded angry", public=False)
    for path in (f"requests/{worked_report.reference}.json", f"requests/{worked_report.reference}.xml",
                 "requests.json", "requests.xml"):
        content = get(client, path, extensions="true").content.decode()
        for private in ("Erika", "Mustermann", "erika@example.org", "angry"):
            assert private not in content, (path, private)


def test_only_published_reports_of_public_categories_are_visible(client, make_report, demo):
    from geo.models import Category
    from reports.models import Moderation, Report

    visible = make_report()
    hidden = make_report()
    Report.objects.filter(pk=hidden.pk).update(moderation=Moderation.PENDING)
    private = make_report(category="strassenbeleuchtung-defekt")
    Category.objects.filter(slug="strassenbeleuchtung-defekt").update(is_public=False)
    assert [i["service_request_id"] for i in get(client, "requests.json").json()] == [visible.reference]
    for report in (hidden, private):
        errors_of(get(client, f"requests/{report.reference}.json"), 404)
    ids = f"{visible.reference},{hidden.reference},{private.reference}"
    listed = get(client, "requests.json", service_request_id=ids).json()
    assert [i["service_request_id"] for i in listed] == [visible.reference]


def test_unknown_resources_answer_in_the_error_format(client, demo):
    assert errors_of(get(client, "nothing-here.json"), 404)
    assert errors_of(get(client, "nothing-here"), 404)
    assert errors_of(client.delete("/open311/v2/services.json", secure=True), 405)
    assert errors_of(client.options("/open311/v2/services.xml", secure=True), 405)


def test_text_that_xml_cannot_carry_does_not_break_the_document(client, make_report):
    from reports.models import Report

    report = make_report()
    Report.objects.filter(pk=report.pk).update(description="Loch\x0b im\x01 Weg\ufffe")
    root = xml(get(client, "requests.xml"))
    assert root.findtext("request/description") == "Loch im Weg"
