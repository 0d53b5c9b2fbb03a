"""The web form on a phone: every mistake at once, chosen photos kept across them, swapped coordinates."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from reports.models import Report
from reports.site import drafts
from tests.personas import HAMELN_MARKET
from tests.reports.site.conftest import PHOTO, SecureClient

pytestmark = pytest.mark.django_db


def _photo() -> SimpleUploadedFile:
    return SimpleUploadedFile("loch.jpg", PHOTO.read_bytes(), content_type="image/jpeg")


def _errors(page: str) -> dict[str, str]:
    return {
        field: re.sub(r"<[^>]+>", " ", text).strip()
        for field, text in re.findall(r'<div class="field-errors" id="id_(\w+)_error">(.*?)</div>', page, re.S)
    }


def _draft(page: str) -> str:
    match = re.search(r'<input type="hidden" name="draft" value="([^"]+)">', page)
    assert match, "the page keeps no draft"
    return match.group(1)


def _drafts_on_disk() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "drafts"
    return [p for p in root.iterdir() if p.is_dir()] if root.is_dir() else []


def test_all_mistakes_are_shown_at_once_and_the_chosen_photo_is_kept_until_the_report_is_filed(demo, visitor):
    before = set(_drafts_on_disk())
    submission = str(uuid.uuid4())
    response = visitor.post("/melden/", {"category": "", "lat": "", "lon": "", "description": "Loch",
                                         "submission": submission, "photos": _photo()})
    assert response.status_code == 400
    page = response.content.decode()
    errors = _errors(page)
    assert "This field is required." in errors["category"]
    assert "Choose the place" in errors["address"]  # not only after the category is fixed
    assert "Loch</textarea>" in page
    draft = _draft(page)
    thumbnail = re.search(r'<img src="(/melden/entwurf/[^"]+/0\.jpg)" alt="Chosen photo 1">', page)
    assert thumbnail, "the chosen photo is not shown again"
    image = visitor.get(thumbnail.group(1))
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image["Cache-Control"] == "private, no-store"
    assert b"Exif" not in image.content[:200]  # made by the pipeline: no metadata
    assert Report.objects.count() == 0

    response = visitor.post("/melden/", {"category": "schlagloch", "lat": str(HAMELN_MARKET[0]),
                                         "lon": str(HAMELN_MARKET[1]), "description": "Loch",
                                         "submission": submission, "draft": draft})
    assert response.status_code == 302
    assert Report.objects.get().photos.count() == 1
    assert visitor.get(thumbnail.group(1)).status_code == 404  # the draft went with the filed report
    assert set(_drafts_on_disk()) == before


def test_a_kept_photo_can_be_removed_and_a_new_one_added(demo, visitor):
    page = visitor.post("/melden/", {"category": "", "lat": "", "lon": "", "photos": _photo()}).content.decode()
    response = visitor.post("/melden/", {
        "category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1]),
        "draft": _draft(page), "draft_remove": "0",
    })
    assert response.status_code == 302
    assert Report.objects.get().photos.count() == 0


def test_kept_photos_count_towards_the_limit(demo, visitor):
    page = visitor.post("/melden/", {"category": "", "photos": [_photo() for _ in range(3)]}).content.decode()
    response = visitor.post("/melden/", {
        "category": "schlagloch", "lat": str(HAMELN_MARKET[0]), "lon": str(HAMELN_MARKET[1]),
        "draft": _draft(page), "photos": [_photo() for _ in range(3)],
    })
    assert response.status_code == 400
    assert "At most 5 photos." in _errors(response.content.decode())["photos"]
    assert Report.objects.count() == 0


def test_a_draft_is_seen_only_with_its_signed_token_and_never_under_media(demo, visitor):
    before = set(_drafts_on_disk())
    page = visitor.post("/melden/", {"category": "", "photos": _photo()}).content.decode()
    draft = _draft(page)
    assert visitor.get(f"/melden/entwurf/{draft}/0.jpg").status_code == 200
    (directory,) = set(_drafts_on_disk()) - before
    forged = draft.split(":")[0] + ":forged"
    assert visitor.get(f"/melden/entwurf/{forged}/0.jpg").status_code == 404
    assert visitor.get(f"/melden/entwurf/{draft}/7.jpg").status_code == 404
    assert visitor.get(f"/media/drafts/{directory.name}/0.jpg").status_code == 404
    assert visitor.get(f"/media/drafts/{directory.name}/0_thumb.jpg").status_code == 404
    # A forged draft in the form adds no photos either.
    response = visitor.post("/melden/", {"category": "schlagloch", "lat": str(HAMELN_MARKET[0]),
                                         "lon": str(HAMELN_MARKET[1]), "draft": forged})
    assert response.status_code == 302 and Report.objects.get().photos.count() == 0


def test_a_file_that_is_no_photo_is_refused_together_with_the_other_mistakes(demo, visitor):
    upload = SimpleUploadedFile("loch.jpg", b"%PDF-1.4 not a photo", content_type="image/jpeg")
    errors = _errors(visitor.post("/melden/", {"category": "", "photos": upload}).content.decode())
    assert set(errors) >= {"category", "address", "photos"}


def test_swapped_coordinates_are_recognised_and_the_right_way_round_suggested(demo, visitor):
    lat, lon = HAMELN_MARKET
    response = visitor.post("/melden/", {"category": "schlagloch", "lat": str(lon), "lon": str(lat)})
    assert response.status_code == 400
    page = response.content.decode()
    assert f"Did you mean {lat}, {lon}" in _errors(page)["lat"]
    assert f'id="swap-coordinates" class="secondary" data-lat="{lat}" data-lon="{lon}"' in page
    assert Report.objects.count() == 0


def test_both_coordinates_pasted_into_one_field_are_understood(demo, visitor):
    lat, lon = HAMELN_MARKET
    page = visitor.post("/melden/", {"category": "schlagloch", "lat": f"{lon}, {lat}", "lon": ""}).content.decode()
    assert f"Did you mean {lat}, {lon}" in _errors(page)["lat"]
    german = f"{lat}".replace(".", ",") + "; " + f"{lon}".replace(".", ",")
    assert visitor.post("/melden/", {"category": "schlagloch", "lat": german, "lon": ""}).status_code == 302
    assert Report.objects.get().location.y == pytest.approx(lat)


def test_drafts_older_than_a_few_hours_are_removed_when_the_next_one_is_made(demo, visitor):
    before = set(_drafts_on_disk())
    visitor.post("/melden/", {"category": "", "photos": _photo()})
    (old,) = set(_drafts_on_disk()) - before
    stale = time.time() - drafts.MAX_AGE - 60
    os.utime(old, (stale, stale))
    visitor.post("/melden/", {"category": "", "photos": _photo()})
    assert not old.exists()
    assert len(set(_drafts_on_disk()) - before) == 1


def test_the_phone_helpers_speak_german_with_sie(demo):
    german = SecureClient(HTTP_ACCEPT_LANGUAGE="de")
    page = german.get("/melden/").content.decode()
    assert "Meinen Standort verwenden" in page
    config = json.loads(re.search(r'<script id="map-config" type="application/json">(.*?)</script>', page, re.S)[1])
    assert config["form"]["support"] == "Das ist mein Anliegen — unterstützen"
    assert "tippen Sie auf die Karte" in config["form"]["locateFailed"]
    lat, lon = HAMELN_MARKET
    refused = german.post("/melden/", {"category": "schlagloch", "lat": str(lon), "lon": str(lat)}).content.decode()
    assert f"Meinten Sie {lat}, {lon}" in refused
