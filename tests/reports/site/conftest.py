"""Helpers for the public page tests: reports filed through the service, a browser-like client."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from geo.models import Category
from reports.models import Report
from reports.photos import inspect_photo
from reports.services import report_submit
from tests.conftest import REPO
from tests.notifications.delivery import run_worker
from tests.personas import HAMELN_MARKET

PHOTO = REPO / "data" / "photos" / "02_jpeg_orient6_portrait_nogps.jpg"
# Around the Bäckerstraße in Hameln, and in Bad Pyrmont (another Gemeinde of the Landkreis).
HAMELN_STREET = (52.1025, 9.3590)
BAD_PYRMONT = (51.9866, 9.2636)


class SecureClient(Client):
    """Production settings redirect plain HTTP to HTTPS; a browser follows to HTTPS."""

    def generic(self, method, path, data="", content_type="application/octet-stream", secure=True, **extra):
        return super().generic(method, path, data, content_type, secure=True, **extra)


@pytest.fixture
def visitor() -> Client:
    """An anonymous visitor whose browser prefers English."""
    return SecureClient(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture(autouse=True)
def no_geocoder(settings):
    """No test talks to the public Nominatim; tests that need a geocoder start their own."""
    settings.GEOCODER = {**settings.GEOCODER, "URL": "http://127.0.0.1:9", "TIMEOUT": 1}


def file_report(*, category: str = "schlagloch", at=HAMELN_MARKET, description: str = "Tiefes Loch vor der Apotheke",
                email: str = "", name: str = "", photo: bool = False, answers: dict | None = None) -> Report:
    result = report_submit(
        category=Category.objects.get(slug=category), device_location=Point(at[1], at[0], srid=4326),
        description=description, reporter_email=email, reporter_name=name, answers=answers,
        photos=[inspect_photo(PHOTO.read_bytes())] if photo else [],
    )
    if photo:
        run_worker()  # the photo's public rendition (faces and plates blurred)
    return Report.objects.get(pk=result.report.pk)
