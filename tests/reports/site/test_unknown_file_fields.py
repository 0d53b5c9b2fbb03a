"""The web form refuses a file sent under another name than "photos" instead of dropping it silently."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reports.models import Report
from tests.personas import HAMELN_MARKET
from tests.reports.site.conftest import PHOTO

pytestmark = pytest.mark.django_db


def test_a_file_under_another_name_is_an_error_at_the_photos_and_nothing_is_filed(demo, visitor):
    response = visitor.post("/melden/", {
        "category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1]), "description": "Loch",
        "attachment": SimpleUploadedFile("loch.jpg", PHOTO.read_bytes(), content_type="image/jpeg"),
    })
    assert response.status_code == 400
    errors = re.search(r'<div class="field-errors" id="id_photos_error">(.*?)</div>', response.content.decode(), re.S)
    assert errors and "Unknown file field attachment" in errors.group(1)
    assert not Report.objects.exists()
