"""The staff list: filters, sorting by distance and due date, search and pages."""

from __future__ import annotations

import pytest

from tests.mobile_api.staff.conftest import submit

pytestmark = pytest.mark.django_db

NEAR_MARKET = (52.1039, 9.3576)
FURTHER = (52.1100, 9.3600)
FURTHEST = (52.0900, 9.3700)


def references(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["reference"] for r in response.json()["results"]]


@pytest.fixture
def three(personas) -> list[dict]:
    return [
        submit(at=FURTHEST, category="graffiti", description="Schmiererei am Bahnhof"),
        submit(at=NEAR_MARKET, description="Loch am Pferdemarkt"),
        submit(at=FURTHER, category="papierkorb", description="Papierkorb voll"),
    ]


def test_near_sorts_by_distance_and_says_how_far(three, worker):
    response = worker.get("/api/staff/reports/?near=52.1039,9.3576")

    assert references(response) == [three[1]["reference"], three[2]["reference"], three[0]["reference"]]
    distances = [r["distance_m"] for r in response.json()["results"]]
    assert distances[0] < 1 < distances[1] < distances[2]


def test_filters_by_status_category_and_text(three, worker):
    worker.post(f"/api/staff/reports/{three[0]['id']}/transition/", {"to": "fixed"}, format="json")

    assert references(worker.get("/api/staff/reports/?status=fixed")) == [three[0]["reference"]]
    assert set(references(worker.get("/api/staff/reports/?open=true"))) == {
        three[1]["reference"],
        three[2]["reference"],
    }
    assert references(worker.get("/api/staff/reports/?category=papierkorb")) == [three[2]["reference"]]
    assert references(worker.get("/api/staff/reports/?q=pferdemarkt")) == [three[1]["reference"]]
    assert references(worker.get(f"/api/staff/reports/?q={three[2]['reference']}")) == [three[2]["reference"]]


def test_bbox_keeps_only_the_reports_inside(three, worker):
    response = worker.get("/api/staff/reports/?bbox=9.35,52.10,9.37,52.12")

    assert set(references(response)) == {three[1]["reference"], three[2]["reference"]}


def test_overdue_lists_open_reports_past_their_due_date(three, worker):
    from datetime import timedelta

    from django.utils import timezone

    from reports.models import Report

    Report.objects.filter(reference=three[1]["reference"]).update(due_at=timezone.now() - timedelta(days=1))

    overdue = worker.get("/api/staff/reports/?overdue=true")
    by_due_date = worker.get("/api/staff/reports/?ordering=due_at")

    assert references(overdue) == [three[1]["reference"]]
    assert overdue.json()["results"][0]["is_overdue"] is True
    assert references(by_due_date)[0] == three[1]["reference"]


def test_pages_are_numbered_and_bounded(three, worker):
    first = worker.get("/api/staff/reports/?page_size=2").json()
    second = worker.get("/api/staff/reports/?page_size=2&page=2").json()

    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    assert len(second["results"]) == 1
    assert worker.get("/api/staff/reports/?page=9").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [("near=abc", "near"), ("near=95,9", "near"), ("bbox=1,2,3", "bbox"), ("bbox=9.4,52,9.3,52.1", "bbox"),
     ("ordering=distance", "ordering"), ("ordering=secret", "ordering")],
)
def test_bad_list_queries_are_a_400_naming_the_parameter(three, worker, query, field):
    response = worker.get(f"/api/staff/reports/?{query}")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
