"""'Me too' on a report's page: the button posts to the page without the script (the script uses the citizen
API); once per browser session, only for published reports, within the API's support limit."""

from __future__ import annotations

import pytest

from geo.models import Authority, PublishingPolicy
from reports.models import Report
from tests.reports.site.conftest import SecureClient, file_report

pytestmark = pytest.mark.django_db


def _count(report: Report) -> int:
    return Report.objects.values_list("support_count", flat=True).get(pk=report.pk)


def test_the_report_page_offers_me_too_with_the_api_for_the_script(demo, visitor):
    report = file_report()
    page = visitor.get(f"/meldungen/{report.reference}/").content.decode()
    assert f'action="/meldungen/{report.reference}/unterstuetzen/"' in page
    assert f'data-api="/api/v1/reports/{report.public_id}/support/"' in page
    assert ">Me too</button>" in page
    german = visitor.get(f"/meldungen/{report.reference}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert ">Ich bin auch betroffen</button>" in german


def test_without_the_script_me_too_counts_once_per_browser_and_says_thank_you(demo, visitor):
    report = file_report()
    response = visitor.post(f"/meldungen/{report.reference}/unterstuetzen/")
    assert response.status_code == 302
    assert response["Location"] == f"/meldungen/{report.reference}/#support"
    assert _count(report) == 1
    page = visitor.get(f"/meldungen/{report.reference}/").content.decode()
    assert '<dd id="support-count">1</dd>' in page
    assert "Thank you: you support this report." in page

    visitor.post(f"/meldungen/{report.reference}/unterstuetzen/")  # the same browser again
    assert _count(report) == 1
    SecureClient().post(f"/meldungen/{report.reference}/unterstuetzen/")  # someone else
    assert _count(report) == 2


def test_reports_awaiting_review_cannot_be_supported_and_offer_no_button(demo, visitor):
    Authority.objects.filter(slug="hameln").update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    report = file_report()
    assert "unterstuetzen" not in visitor.get(f"/meldungen/{report.reference}/").content.decode()
    assert visitor.post(f"/meldungen/{report.reference}/unterstuetzen/").status_code == 404
    assert visitor.get(f"/meldungen/{report.reference}/unterstuetzen/").status_code == 405
    assert _count(report) == 0


def test_me_too_shares_the_api_support_limit_and_says_so(demo, visitor, settings):
    settings.API_RATES = {**settings.API_RATES, "support": "1/hour"}
    report = file_report()
    supported = visitor.post(f"/api/v1/reports/{report.public_id}/support/", {"device_id": "phone-123456"})
    assert supported.status_code == 201
    refused = visitor.post(f"/meldungen/{report.reference}/unterstuetzen/")
    assert refused.status_code == 429
    assert "Too many requests from your connection" in refused.content.decode()
    assert _count(report) == 1
