"""Reports for the public-data tests, submitted through the citizen API like an app would."""

from __future__ import annotations

from reports.models import Report

# Places in the Stadt Hameln (lat, lon), a few hundred metres apart.
MARKET = (52.1039, 9.3576)
STATION = (52.0960, 9.3720)
WESER_BRIDGE = (52.1030, 9.3495)
# Bad Pyrmont, about 15 km south-west.
PYRMONT = (51.9860, 9.2570)

HAMELN_BBOX = "9.30,52.05,9.42,52.15"
LANDKREIS_BBOX = "9.0,51.85,9.75,52.30"


def submit(client, at: tuple[float, float], category: str = "schlagloch", **fields) -> dict:
    data = {"category": category, "lat": str(at[0]), "lon": str(at[1]), "description": "Tiefes Loch.", **fields}
    response = client.post("/api/v1/reports/", data, secure=True)
    assert response.status_code == 201, response.content
    return response.json()


def report(body: dict) -> Report:
    return Report.objects.get(public_id=body["id"])


def update(body: dict, **fields) -> None:
    """Change a report as any writer may (admin, bulk update): the map's counts must follow. A bulk update goes
    past the model's signals, so it says itself that the public data changed (as README asks of scripts)."""
    from django.test import TestCase

    from reports.publicdata import version

    with TestCase.captureOnCommitCallbacks(execute=True):  # as the script's transaction commits
        Report.objects.filter(public_id=body["id"]).update(**fields)
        version.changed()


def close_as_fixed(body: dict) -> None:
    from django.utils import timezone

    update(body, status="fixed", closed_at=timezone.now())


def internal_note(body: dict, text: str) -> None:
    from django.utils import timezone

    from reports.models import EventKind, ReportEvent

    ReportEvent.objects.create(report=report(body), kind=EventKind.INTERNAL_NOTE, is_public=False, message=text,
                               created_at=timezone.now())
