"""A submission stays cheap (issue #21): a bounded number of queries, from the request to the websocket push after
commit, and nothing it skips reading back changes what clients get."""

import json

import pytest

from notifications import handlers
from reports.models import ReportEvent
from tests.conftest import REPO
from tests.mobile_api.v1.conftest import HAMELN_MARKET

pytestmark = pytest.mark.django_db

# Taken by the iPhone in Madrid: far from the device position in Hameln, so staff get a note on the discrepancy.
PHOTO = REPO / "data" / "photos" / "05_jpeg_iphone6_o1_gps-madrid.jpg"

# What a submission without a photo reads and writes (#21 part 3): its category and the category's questions;
# routing; in one transaction the reference number, the report, its events, the webhooks and area alerts to tell,
# the queued delivery and its task; after commit the public data's version. 13 today, with the transaction's two
# statements; nothing is read back for the answer or the push (23 before). One to spare.
MAX_QUERIES = 14
# A photo adds its row and its rendition's task; a road category the road and the responsibility there.
PHOTO_QUERIES = ROAD_QUERIES = 2


@pytest.fixture
def pushed(monkeypatch) -> list[tuple[int, str, dict]]:
    """The (event id, group, payload) messages the after-commit push sends."""
    sent: list[tuple[int, str, dict]] = []

    async def send_all(layer, messages):
        sent.extend(messages)

    monkeypatch.setattr(handlers, "_send_all", send_all)
    return sent


def submit(client, photo: bool = False, **fields):
    data = {"category": "wilder-muell", **HAMELN_MARKET, "description": "Sperrmüll am Markt.",
            "answers": json.dumps({"muellart": ["sperrmuell"]}), **fields}
    if not photo:
        return client.post("/api/v1/reports/", data, secure=True)
    with open(PHOTO, "rb") as file:
        return client.post("/api/v1/reports/", {**data, "photos": file}, secure=True)


@pytest.mark.parametrize("photo", [False, True], ids=["without a photo", "with a photo"])
def test_a_submission_takes_a_bounded_number_of_queries_including_its_push(
    client, demo, pushed, photo, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    submit(client, photo=photo)  # the first request of a process reads things once (the database's versions)
    bound = MAX_QUERIES + (PHOTO_QUERIES if photo else 0)
    with django_assert_max_num_queries(bound), django_capture_on_commit_callbacks(execute=True):
        response = submit(client, photo=photo)
    assert response.status_code == 201, response.content
    assert pushed, "the websocket push ran after commit"


def test_a_road_category_adds_only_its_road_queries(
    client, demo, pushed, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    submit(client, category="schlagloch", answers="")
    with django_assert_max_num_queries(MAX_QUERIES + ROAD_QUERIES), django_capture_on_commit_callbacks(execute=True):
        response = submit(client, category="schlagloch", answers="")
    assert response.status_code == 201, response.content


def test_the_push_is_what_reading_the_events_back_gives(client, demo, pushed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        body = submit(client, photo=True).json()
    events = list(
        ReportEvent.objects.filter(report__public_id=body["id"])
        .select_related("report__category", "report__department", "report__authority")
        .order_by("id")
    )
    # created, routed, the note on the photo's distant position (staff only) and the photo.
    assert [e.kind for e in events] == ["created", "routed", "internal_note", "photo_added"]
    assert pushed == handlers.messages_for(events)
    groups = [group for _id, group, _payload in pushed]
    assert f"report.{body['id']}" in groups and "map" in groups and any(g.startswith("department.") for g in groups)


def test_the_answer_is_what_reading_the_report_back_gives(client, demo, django_capture_on_commit_callbacks):
    key = "6b0e2b7c-3f55-4d55-9a6f-2b1a7f0c9d11"
    with django_capture_on_commit_callbacks(execute=True):
        with open(PHOTO, "rb") as file:
            data = {"category": "wilder-muell", **HAMELN_MARKET, "answers": json.dumps({"muellart": ["sperrmuell"]}),
                    "photos": file}
            created = client.post("/api/v1/reports/", data, secure=True, HTTP_IDEMPOTENCY_KEY=key)
        with open(PHOTO, "rb") as file:
            replayed = client.post("/api/v1/reports/", {**data, "photos": file}, secure=True,
                                   HTTP_IDEMPOTENCY_KEY=key)
    assert created.status_code == 201 and replayed.status_code == 200, (created.content, replayed.content)
    # The replay's answer is made from the report as read from the database.
    assert created.json() == replayed.json()
    assert created.json()["answers"] == {"muellart": ["sperrmuell"]}


def test_consecutive_submissions_get_consecutive_reference_numbers(client, demo):
    first, second = submit(client).json()["reference"], submit(client).json()["reference"]
    prefix, number = first.rsplit("-", 1)
    assert first.startswith("HM-") and second == f"{prefix}-{int(number) + 1:06d}"
