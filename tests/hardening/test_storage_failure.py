"""A full or failing media disk: the submission gets a 503 with Retry-After, and leaves no report and no files."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage

from tests.mobile_api.staff.conftest import Client

pytestmark = pytest.mark.django_db

PHOTOS = ["data/photos/02_jpeg_orient6_portrait_nogps.jpg", "data/photos/04_jpeg_orient3_landscape_nogps.jpg"]


class NearlyFullDisk(FileSystemStorage):
    """A real file system storage whose disk fills up after a few files, as a full volume would (ENOSPC)."""

    files_left = 0

    def _save(self, name, content):
        if NearlyFullDisk.files_left <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        NearlyFullDisk.files_left -= 1
        return super()._save(name, content)


@pytest.fixture
def nearly_full_disk(settings, tmp_path):
    # Django's test signals hand the new storage to default_storage.
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.NearlyFullDisk"}}
    return tmp_path


def submit_with_photos(client: Client):
    handles = [open(path, "rb") for path in PHOTOS]
    try:
        return client.post(
            "/api/v1/reports/", {"category": "schlagloch", "lat": "52.1039", "lon": "9.3576", "photos": handles},
            format="multipart",
        )
    finally:
        for handle in handles:
            handle.close()


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_a_disk_that_fills_up_half_way_through_the_photos_leaves_nothing_behind(demo, nearly_full_disk):
    from reports.models import Photo, Report, ReportEvent

    client = Client()
    client.raise_request_exception = False
    NearlyFullDisk.files_left = 2
    before = submit_with_photos(client)  # two photos, each stored as sent (the worker makes the rest): exactly fits
    NearlyFullDisk.files_left = 1  # the second photo no longer fits

    response = submit_with_photos(client)

    assert before.status_code == 201
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["errors"][0]["code"] == "service_unavailable"
    assert "Traceback" not in response.content.decode() and "ENOSPC" not in response.content.decode()
    assert Report.objects.count() == 1 and Photo.objects.count() == 2
    assert ReportEvent.objects.exclude(report__public_id=before.json()["id"]).count() == 0
    assert len(stored_files(nearly_full_disk)) == 2  # only the first report's files


def test_fix_photos_on_a_full_disk_leave_the_report_as_it_was(personas, nearly_full_disk):
    from reports.models import Report
    from tests.mobile_api.staff.conftest import staff_client, submit

    NearlyFullDisk.files_left = 0
    report = submit()
    worker = staff_client(personas.hameln_worker)
    worker.raise_request_exception = False

    with open(PHOTOS[0], "rb") as photo:
        response = worker.post(f"/api/staff/reports/{report['id']}/photos/", {"photos": [photo]}, format="multipart")

    assert response.status_code == 503
    stored = Report.objects.get(public_id=report["id"])
    assert stored.photos.count() == 0 and stored.events.count() == 2
    assert stored_files(nearly_full_disk) == []
