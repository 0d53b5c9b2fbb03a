"""The privacy scan (DSGVO): a report with a name, an e-mail address, a phone number and a photo that
carries GPS and the phone model is made through Open311, and commented on the same way (FixMyStreet's
servicerequestupdates); then every public output is collected — the
citizen API, Open311, the map data, the exports, the statistics, the public pages, the map socket and the
public images — and none of them may contain any of it.
"""

from __future__ import annotations

import io
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from PIL import Image

from tests.mobile_api.staff.conftest import Client, staff_client

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

PHOTO = "data/photos/05_jpeg_iphone6_o1_gps-madrid.jpg"  # GPS 40.44697, -3.72475; Apple iPhone 6
SECRETS = ["Erika", "Mustermann", "erika.privat@example.org", "erika.privat", "05151 987654", "5151987654",
           "40.446", "40,446", "-3.724", "-3,724", "iPhone", "Apple", "device-4711", "account-0815"]
HEADERS = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


def _submit_through_open311() -> dict:
    from mobile_api.models import Open311Client

    client = Open311Client(name="Privacy scan")
    key = client.new_key()
    client.save()
    with open(PHOTO, "rb") as photo:
        response = Client().post("/open311/v2/requests.json", {
            "api_key": key, "service_code": "schlagloch", "lat": "52.1039", "long": "9.3576",
            "description": "Schlagloch vor Hausnummer 3", "first_name": "Erika", "last_name": "Mustermann",
            "email": "erika.privat@example.org", "phone": "05151 987654", "device_id": "device-4711",
            "account_id": "account-0815", "media": photo, "attribute[caller]": "Erika Mustermann",
        })
    assert response.status_code == 201, response.content
    created = response.json()[0]
    # FixMyStreet's send-comments: the same person comments, with a photo from the same phone.
    with open(PHOTO, "rb") as photo:
        response = Client().post("/open311/v2/servicerequestupdates.json", {
            "api_key": key, "service_request_id": created["service_request_id"], "update_id": "1", "status": "OPEN",
            "description": "Immer noch da", "first_name": "Erika", "last_name": "Mustermann",
            "email": "erika.privat@example.org", "phone": "05151 987654", "account_id": "account-0815",
            "photo1": photo,
        })
    assert response.status_code == 201, response.content
    return created


def _work_on_it(reference: str, personas) -> None:
    worker = staff_client(personas.hameln_worker)
    worker.post(
        f"/api/staff/reports/{reference}/notes/",
        {"note": "Anruferin Erika Mustermann, Tel. 05151 987654"},
        format="json",
    )
    response = worker.post(
        f"/api/staff/reports/{reference}/transition/", {"to": "in_progress", "message": "Wir kommen."}, format="json"
    )
    assert response.status_code == 200


def _collect(reference: str) -> list[tuple[str, bytes]]:
    from reports.models import Report
    from tests.notifications.delivery import run_worker

    run_worker()  # the photo made from the upload and its public rendition
    report = Report.objects.get(reference=reference)
    public_id = report.public_id
    client = Client()
    urls = [
        f"/api/v1/reports/{public_id}/",
        f"/api/v1/reports/{public_id}/events/",
        "/api/v1/reports/nearby/?lat=52.1039&lon=9.3576&category=schlagloch",
        "/api/v1/map/?bbox=9.35,52.10,9.37,52.11&zoom=16",
        "/api/v1/map/?bbox=9.0,51.9,9.7,52.3&zoom=8",
        "/api/v1/export.csv",
        "/api/v1/export.geojson",
        "/api/v1/stats/",
        "/api/v1/categories/?lat=52.1039&lon=9.3576",
        f"/open311/v2/requests/{reference}.json?extensions=true",
        f"/open311/v2/requests/{reference}.xml?extensions=true",
        "/open311/v2/requests.json?extensions=true",
        "/open311/v2/requests.xml?extensions=true",
        f"/open311/v2/servicerequestupdates.json?service_request_id={reference}",
        f"/open311/v2/servicerequestupdates.xml?service_request_id={reference}",
        "/",
        "/meldungen/",
        f"/meldungen/{reference}/",
        "/statistik/",
    ]
    outputs = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        outputs.append((url, body))
    for photo in report.photos.all():
        assert photo.public_image and not photo.upload
        for field in (photo.image, photo.thumbnail, photo.public_image, photo.public_thumbnail):
            # The files the public gets from the media URLs (in production a proxy serves them as they are).
            with field.open("rb") as image:
                outputs.append((field.url, image.read()))
    return outputs


async def test_no_public_output_carries_personal_data_or_photo_metadata(demo, personas):
    from backend.asgi import application

    socket = WebsocketCommunicator(application, "/ws/map/", headers=HEADERS)
    assert (await socket.connect())[0]

    created = await sync_to_async(_submit_through_open311)()
    await sync_to_async(_work_on_it)(created["service_request_id"], personas)
    outputs = await sync_to_async(_collect)(created["service_request_id"])
    messages = []
    while not await socket.receive_nothing(timeout=1):
        messages.append(await socket.receive_json_from())
    await socket.disconnect()

    assert len(messages) >= 3  # created, routed, status changed: the scan saw the socket's traffic
    outputs += [("/ws/map/", json.dumps(message, ensure_ascii=False).encode()) for message in messages]
    leaks = [(where, secret) for where, body in outputs for secret in SECRETS if secret.encode() in body]
    assert leaks == []
    reference = created["service_request_id"]
    updates = dict(outputs)[f"/open311/v2/servicerequestupdates.json?service_request_id={reference}"]
    assert b"Immer noch da" in updates  # the scan saw the comment
    images = [body for where, body in outputs if where.endswith(".jpg")]
    assert len(images) == 8  # the report's photo and the comment's, each with its thumbnail, as taken and public
    for image in images:
        opened = Image.open(io.BytesIO(image))
        assert dict(opened.getexif()) == {} and "xmp" not in opened.info and b"GPS" not in image
