"""POST requests: a client application with a valid key creates a report as the app does; all else is refused."""


import pytest

from reports.models import EventKind, Moderation, Report, Source
from tests.conftest import REPO
from tests.mobile_api.open311.conftest import HAMELN_MARKET, errors_of, post, validate, xml
from tests.nominatim import LoopbackNominatim
from tests.notifications.delivery import run_worker

pytestmark = pytest.mark.django_db

PHOTOS = REPO / "data" / "photos"
LAT, LON = (str(c) for c in HAMELN_MARKET)


def fields(api_key: str, **extra) -> dict:
    return {"api_key": api_key, "service_code": "schlagloch", "lat": LAT, "long": LON, **extra}


def test_a_post_with_a_valid_key_creates_a_routed_report_from_open311(client, demo, api_key):
    response = post(client, "requests.json", fields(
        api_key, description="Loch in der Fahrbahn", first_name="Erika", last_name="Mustermann",
        email="erika@example.org", phone="+49 5151 0000", device_id="device-123", account_id="acc-9",
    ))
    assert response.status_code == 201, response.content
    body = response.json()
    validate("post_response", body)
    report = Report.objects.get(reference=body[0]["service_request_id"])
    assert body[0]["token"] == str(report.public_id)
    assert report.source == Source.OPEN311
    assert report.category.slug == "schlagloch" and report.authority.slug == "hameln"
    assert report.description == "Loch in der Fahrbahn"
    contact = (report.reporter_name, report.reporter_email, report.reporter_phone)
    assert contact == ("Erika Mustermann", "erika@example.org", "+49 5151 0000")
    kinds = list(report.events.values_list("kind", flat=True))
    assert kinds[:2] == [EventKind.CREATED, EventKind.ROUTED]
    for private in ("Erika", "erika@example.org", "5151", "device-123"):
        assert private not in response.content.decode()


def test_attributes_and_a_media_url_are_kept_for_staff_and_an_http_url_is_not_fetched(client, demo, api_key):
    response = post(client, "requests.xml", fields(
        api_key,
        **{"attribute[fixmystreet_id]": "4711", "attribute[title]": "Pothole", "attribute[hazards][]": ["a", "b"]},
        media_url="http://192.0.2.1/photo.jpg",
    ))
    assert response.status_code == 201, response.content
    reference = xml(response).findtext("request/service_request_id")
    report = Report.objects.get(reference=reference)
    note, refusal = report.events.filter(kind=EventKind.INTERNAL_NOTE).order_by("id")
    assert note.is_public is False and refusal.is_public is False
    assert refusal.data == {"media_url": "http://192.0.2.1/photo.jpg", "error": "not_https"}
    assert note.data == {
        "open311_client": "FixMyStreet",
        "attributes": {"fixmystreet_id": "4711", "title": "Pothole", "hazards": ["a", "b"]},
        "media_url": "http://192.0.2.1/photo.jpg",
    }
    assert "http://192.0.2.1/photo.jpg" in note.message
    assert report.photos.count() == 0  # 192.0.2.1 (TEST-NET) was never asked for it


def test_a_multipart_media_file_goes_through_the_photo_pipeline(client, demo, api_key):
    with open(PHOTOS / "05_jpeg_iphone6_o1_gps-madrid.jpg", "rb") as photo:
        response = post(client, "requests.json", fields(api_key, media=photo))
    assert response.status_code == 201, response.content
    report = Report.objects.get(reference=response.json()[0]["service_request_id"])
    run_worker()  # the photo is made from the upload in the worker
    stored = report.photos.get()
    with stored.image.open() as image:
        content = image.read()
    assert content.startswith(b"\xff\xd8") and b"Exif\x00" not in content
    assert report.events.filter(kind=EventKind.PHOTO_ADDED).count() == 1


def test_a_broken_media_file_is_400_and_nothing_is_stored(client, demo, api_key):
    from django.core.files.uploadedfile import SimpleUploadedFile

    broken = SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", content_type="image/jpeg")
    [description] = errors_of(post(client, "requests.xml", fields(api_key, media=broken)), 400)
    assert description.startswith("media: ")
    assert not Report.objects.exists()


@pytest.mark.parametrize("key", [None, "", "not-a-key"])
def test_without_a_valid_key_the_answer_is_403_and_nothing_is_stored(client, demo, api_key, key):
    data = fields(api_key)
    if key is None:
        del data["api_key"]
    else:
        data["api_key"] = key
    assert errors_of(post(client, "requests.xml", data), 403) == ["api_key is missing or not valid."]
    assert not Report.objects.exists()


def test_a_deactivated_client_key_is_refused(client, demo, api_key):
    from mobile_api.models import Open311Client

    Open311Client.objects.update(active=False)
    assert errors_of(post(client, "requests.json", fields(api_key)), 403)


def test_an_unknown_service_code_is_400(client, demo, api_key):
    assert errors_of(post(client, "requests.xml", fields(api_key, service_code="ufo-landing")), 400) == [
        "service_code ufo-landing was not found."
    ]


@pytest.mark.parametrize("place", [
    {"lat": "abc"}, {"lat": "91"}, {"long": "-181"}, {"lat": "nan"}, {"long": "inf"}, {"lat": ""},
])
def test_bad_coordinates_are_400(client, demo, api_key, place):
    data = fields(api_key, **place)
    descriptions = errors_of(post(client, "requests.json", {k: v for k, v in data.items() if v != ""}), 400)
    assert any(d.startswith(("lat:", "long:")) for d in descriptions)
    assert not Report.objects.exists()


@pytest.fixture
def geocoder(settings):
    """A geocoder on loopback that knows the Pferdemarkt in Hameln and nothing else."""
    market = {"lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1]), "display_name": "Pferdemarkt, Hameln",
              "address": {"road": "Pferdemarkt", "postcode": "31785", "town": "Hameln"}}
    with LoopbackNominatim({"Pferdemarkt": [market]}) as server:
        settings.GEOCODER = {**settings.GEOCODER, "PROVIDER": "nominatim", "URL": server.url}
        yield


def _without_coordinates(api_key: str, address: str) -> dict:
    data = fields(api_key, address_string=address)
    del data["lat"], data["long"]
    return data


def test_an_address_without_coordinates_is_located_by_the_geocoder(client, demo, api_key, geocoder):
    response = post(client, "requests.json", _without_coordinates(api_key, "Pferdemarkt 1, Hameln"))
    assert response.status_code == 201, response.content
    report = Report.objects.get(reference=response.json()[0]["service_request_id"])
    assert (report.location.y, report.location.x) == pytest.approx(HAMELN_MARKET)
    assert report.authority.slug == "hameln" and report.address == "Pferdemarkt 1, Hameln"
    unknown = post(client, "requests.xml", _without_coordinates(api_key, "Nirgendwo 7"))
    assert errors_of(unknown, 400) == ["address_string could not be located: give lat and long."]


def test_without_a_geocoder_an_address_alone_is_400_asking_for_coordinates(client, demo, api_key):
    assert errors_of(post(client, "requests.xml", _without_coordinates(api_key, "Pferdemarkt 1, Hameln")), 400) == [
        "address_string could not be located: give lat and long."
    ]
    assert not Report.objects.exists()


def test_no_place_at_all_and_a_place_outside_the_service_area_are_400(client, demo, api_key):
    data = fields(api_key)
    del data["lat"], data["long"]
    assert errors_of(post(client, "requests.json", data), 400)
    assert errors_of(post(client, "requests.json", fields(api_key, lat="48.1374", long="11.5755")), 400)  # München
    assert not Report.objects.exists()


def test_a_jurisdiction_only_takes_places_inside_it(client, demo, api_key):
    assert errors_of(post(client, "requests.json", fields(api_key, jurisdiction_id="aerzen")), 400)
    assert post(client, "requests.json", fields(api_key, jurisdiction_id="hameln")).status_code == 201


def test_a_report_awaiting_review_says_so_and_is_not_listed_yet(client, demo, api_key):
    from geo.models import Authority, PublishingPolicy

    Authority.objects.filter(slug="hameln").update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    response = post(client, "requests.json", fields(api_key))
    [created] = response.json()
    assert created["service_notice"] == "The report will be published after review."
    assert Report.objects.get(reference=created["service_request_id"]).moderation == Moderation.PENDING
    assert errors_of(client.get(f"/open311/v2/requests/{created['service_request_id']}.json", secure=True), 404)


def test_too_long_text_is_400_not_500(client, demo, api_key):
    assert errors_of(post(client, "requests.json", fields(api_key, description="x" * 4001)), 400)
    assert errors_of(post(client, "requests.json", fields(api_key, email="not-an-address")), 400)


def test_a_token_leads_to_the_service_request_id(client, demo, api_key):
    [created] = post(client, "requests.json", fields(api_key)).json()
    body = client.get(f"/open311/v2/tokens/{created['token']}.json", secure=True).json()
    validate("tokens", body)
    assert body == [{"service_request_id": created["service_request_id"], "token": created["token"]}]
    root = xml(client.get(f"/open311/v2/tokens/{created['token']}.xml", secure=True))
    assert root.findtext("request/service_request_id") == created["service_request_id"]
    assert errors_of(client.get("/open311/v2/tokens/00000000-0000-0000-0000-000000000000.xml", secure=True), 404)
    assert errors_of(client.get("/open311/v2/tokens/garbage.json", secure=True), 404)
