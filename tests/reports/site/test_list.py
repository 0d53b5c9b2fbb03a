"""The public list of reports: the full alternative to the map, with filters and pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from reports.models import Moderation, Report
from reports.services import report_transition
from reports.site.views import PAGE_SIZE
from reports.workflow import Status
from tests.reports.site.conftest import BAD_PYRMONT, file_report

pytestmark = pytest.mark.django_db


def _references(response) -> list[str]:
    return [r.reference for r in response.context["page"].object_list]


def test_the_list_shows_published_reports_with_category_status_and_count(demo, visitor):
    report = file_report()
    response = visitor.get("/meldungen/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'href="/meldungen/{report.reference}/"' in page
    assert "Pothole / road damage" in page
    assert "1 report found" in page
    assert "<title>1 report – List of reports – OpenMelder</title>" in page


def test_hidden_reports_and_non_public_categories_are_not_listed(demo, visitor):
    shown = file_report()
    hidden = file_report()
    Report.objects.filter(pk=hidden.pk).update(moderation=Moderation.HIDDEN)
    carcass = file_report(category="tierkadaver")
    assert _references(visitor.get("/meldungen/")) == [shown.reference]
    assert carcass.reference not in visitor.get("/meldungen/").content.decode()


def test_the_filters_narrow_the_list_by_category_status_municipality_and_period(demo, personas, visitor):
    pothole = file_report()
    rubbish = file_report(category="papierkorb")
    pyrmont = file_report(at=BAD_PYRMONT)
    old = file_report(category="graffiti")
    Report.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=60))
    report_transition(report=pothole, to=Status.FIXED, actor=personas.hameln_lead, message="Verfüllt")

    assert _references(visitor.get("/meldungen/?category=papierkorb")) == [rubbish.reference]
    assert _references(visitor.get("/meldungen/?status=fixed")) == [pothole.reference]
    assert set(_references(visitor.get("/meldungen/?status=open"))) == {
        rubbish.reference,
        pyrmont.reference,
        old.reference,
    }
    assert _references(visitor.get("/meldungen/?gemeinde=bad-pyrmont")) == [pyrmont.reference]
    assert pyrmont.reference not in _references(visitor.get("/meldungen/?gemeinde=hameln"))
    assert old.reference not in _references(visitor.get("/meldungen/?period=30"))
    assert old.reference in _references(visitor.get("/meldungen/?period=90"))
    page = visitor.get("/meldungen/?category=schlagloch&status=fixed").content.decode()
    assert "1 report found" in page
    assert 'href="/meldungen/"' in page  # reset


def test_a_filter_value_that_is_not_offered_is_shown_as_an_error_not_a_500(demo, visitor):
    file_report()
    response = visitor.get("/meldungen/?status=bogus&category=nonsense&period=2&gemeinde=x")
    assert response.status_code == 200
    page = response.content.decode()
    assert "0 reports found" in page
    assert 'role="alert"' in page
    assert 'aria-invalid="true"' in page


def test_pages_keep_the_filters(demo, visitor):
    for _ in range(PAGE_SIZE + 2):
        file_report(category="graffiti")
    file_report()
    first = visitor.get("/meldungen/?category=graffiti").content.decode()
    assert f"{PAGE_SIZE + 2} reports found" in first
    assert 'href="?category=graffiti&amp;page=2"' in first
    second = visitor.get("/meldungen/?category=graffiti&page=2")
    assert len(_references(second)) == 2
    assert "Page 2 of 2" in second.content.decode()


def test_beyond_the_counting_limit_the_list_says_more_than_and_pages_through_the_newest(demo, visitor, settings):
    settings.OPENMELDER = {**settings.OPENMELDER, "LIST_COUNT_LIMIT": PAGE_SIZE + 1}
    newest = [file_report() for _ in range(PAGE_SIZE + 3)][::-1]
    first = visitor.get("/meldungen/").content.decode()
    assert f"More than {PAGE_SIZE + 1} reports found; the newest {PAGE_SIZE + 1} are listed." in first
    assert f"<title>More than {PAGE_SIZE + 1} reports – List of reports" in first
    assert "Page 1 of 2" in first
    last = visitor.get("/meldungen/?page=2")
    assert _references(last) == [newest[PAGE_SIZE].reference]
    # Exactly at the limit, the count is exact.
    Report.objects.filter(pk__in=[r.pk for r in newest[-2:]]).delete()
    assert f"{PAGE_SIZE + 1} reports found" in visitor.get("/meldungen/").content.decode()


def test_the_list_carries_no_personal_data(demo, visitor):
    file_report(email="anna@example.org", name="Anna Beispiel")
    page = visitor.get("/meldungen/").content.decode()
    assert "anna@example.org" not in page
    assert "Anna Beispiel" not in page
