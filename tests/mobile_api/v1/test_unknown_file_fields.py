"""The citizen API refuses a file sent under another name than "photos" instead of dropping it silently."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reports.models import Report
from tests.conftest import REPO
from tests.personas import HAMELN_MARKET

pytestmark = pytest.mark.django_db

PHOTO = REPO / "data" / "photos" / "02_jpeg_orient6_portrait_nogps.jpg"


def test_a_file_under_another_name_is_400_naming_the_field_and_nothing_is_stored(client, demo):
    response = client.post("/api/v1/reports/", {
        "category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1]),
        "photo": SimpleUploadedFile("loch.jpg", PHOTO.read_bytes(), content_type="image/jpeg"),
    }, secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    assert response.json() == {"errors": [
        {"field": "photo", "code": "invalid", "message": "Unknown file field: photos are sent as “photos”."},
    ]}
    assert not Report.objects.exists()
