"""A report's public page: what anyone may see, and nothing else."""

from __future__ import annotations

import pytest

from geo.models import Authority, PublishingPolicy
from reports.models import Moderation, Report
from reports.services import report_answer, report_moderate, report_note, report_support, report_transition
from reports.workflow import Status
from tests.reports.site.conftest import file_report

pytestmark = pytest.mark.django_db


def test_the_page_shows_category_status_description_photos_history_and_supporters(demo, personas, visitor):
    report = file_report(photo=True, description="Tiefes Loch vor der Apotheke")
    report_support(report=report, supporter="device-1234567")
    report_transition(report=report, to=Status.IN_PROGRESS, actor=personas.hameln_worker, message="Ist eingeplant.")
    response = visitor.get(f"/meldungen/{report.reference}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<title>" + f"{report.reference}: Pothole / road damage – OpenMelder</title>" in page
    assert 'data-status="in_progress"' in page
    assert "Tiefes Loch vor der Apotheke" in page
    assert 'id="support-count">1<' in page
    photo = report.photos.get()
    assert photo.public_thumbnail.url in page and 'alt="Photo 1 of the report"' in page
    assert photo.thumbnail.url not in page and photo.image.url not in page  # as taken: staff only
    assert "Ist eingeplant." in page
    assert "52.10390, 9.35760" in page  # the place, also without a map


def test_internal_notes_private_photos_and_personal_data_stay_off_the_page(demo, personas, visitor):
    report = file_report(photo=True, email="anna@example.org", name="Anna Beispiel")
    report_note(report=report, actor=personas.hameln_worker, note="Anwohner ist schwierig")
    private = report.photos.get()
    private.is_public = False
    private.save()
    page = visitor.get(f"/meldungen/{report.reference}/").content.decode()
    for secret in (
        "Anwohner ist schwierig",
        "anna@example.org",
        "Anna Beispiel",
        private.thumbnail.url,
        private.image.url,
        private.public_thumbnail.url,
        private.public_image.url,
    ):
        assert secret not in page


def test_the_public_id_of_the_map_leads_to_the_page_by_reference(demo, visitor):
    report = file_report()
    response = visitor.get(f"/meldungen/{report.public_id}/")
    assert response.status_code == 302
    assert response["Location"] == f"/meldungen/{report.reference}/"


@pytest.mark.parametrize("case", ["unknown", "non-public category", "hidden"])
def test_reports_the_public_may_not_see_are_not_found(demo, visitor, case):
    if case == "unknown":
        key = "HM-2026-999999"
    elif case == "non-public category":
        key = file_report(category="tierkadaver").reference
    else:
        report = file_report()
        Report.objects.filter(pk=report.pk).update(moderation=Moderation.HIDDEN)
        key = report.reference
    assert visitor.get(f"/meldungen/{key}/").status_code == 404
    assert visitor.get(f"/meldungen/{key}/", HTTP_ACCEPT_LANGUAGE="de").status_code == 404


def test_before_review_the_public_sees_category_place_and_status_but_no_text_or_photos(demo, personas, visitor):
    Authority.objects.filter(slug="hameln").update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    report = file_report(photo=True, description="Müll vor Hausnummer 7")
    report_answer(report=report, actor=personas.hameln_worker, message="Wir kümmern uns darum.")
    page = visitor.get(f"/meldungen/{report.reference}/").content.decode()
    assert "Pothole / road damage" in page and 'data-status="new"' in page and "52.10390, 9.35760" in page
    assert 'id="review-notice"' in page
    assert "Müll vor Hausnummer 7" not in page
    assert "Wir kümmern uns darum." not in page
    assert report.photos.get().public_thumbnail.url not in page

    report_moderate(report=report, actor=personas.hameln_lead, moderation=Moderation.PUBLISHED)
    released = visitor.get(f"/meldungen/{report.reference}/").content.decode()
    assert "Müll vor Hausnummer 7" in released
    assert "Wir kümmern uns darum." in released
    assert report.photos.get().public_thumbnail.url in released
