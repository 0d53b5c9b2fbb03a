"""Support raises priority for staff: the task list sorts by supporters, and from SUPPORT_HIGHLIGHT_THRESHOLD
supporters a report is "viel unterstützt" in the staff web app and the staff API."""

from __future__ import annotations

import re

import pytest

from reports.models import Report
from reports.services import report_support
from tests.mobile_api.staff.conftest import staff_client, submit
from tests.reports.staff.test_staff_pages import Browser, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def threshold(settings) -> int:
    settings.OPENMELDER = {**settings.OPENMELDER, "SUPPORT_HIGHLIGHT_THRESHOLD": 3}
    return 3


def supported(count: int, description: str) -> Report:
    report = Report.objects.get(reference=submit(description=description)["reference"])
    for number in range(count):
        report_support(report=report, supporter=f"device-{description}-{number}")
    report.refresh_from_db()
    assert report.support_count == count
    return report


def rows(html: str) -> list[str]:
    """The cards of the task list, each as its text."""
    cards = re.findall(r'<li class="report-row[^"]*">(.*?)</li>', html, flags=re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card)).strip() for card in cards]


def reference(row: str) -> str:
    """The report a card is about (its first reference: the card's selection box names it too)."""
    found = re.search(r"\b[A-Z]{2,}-\d{4}-\d+\b", row)
    assert found, row
    return found.group()


def test_the_task_list_sorted_by_supporters_shows_the_most_supported_first(personas, threshold):
    few = supported(1, "Wenig")
    many = supported(5, "Viel")
    none = supported(0, "Keiner")
    some = supported(2, "Einige")
    browser = logged_in(personas.hameln_worker)
    page = browser.get("/staff/?status=any&ordering=-support_count")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<option value="-support_count" selected>Most supporters first</option>' in html
    assert [reference(row) for row in rows(html)] == [many.reference, some.reference, few.reference, none.reference]
    assert "5 supporters" in rows(html)[0] and "1 supporter" in rows(html)[2]


def test_the_badge_appears_at_the_threshold_and_not_below(personas, threshold):
    below = supported(threshold - 1, "Knapp")
    at = supported(threshold, "Genau")
    html = logged_in(personas.hameln_worker).get("/staff/?status=any&ordering=-support_count").content.decode()
    cards = {reference(row): row for row in rows(html)}
    assert "much supported" in cards[at.reference]
    assert "much supported" not in cards[below.reference]
    detail = logged_in(personas.hameln_worker).get(f"/staff/reports/{at.reference}/").content.decode()
    assert 'class="badge supported-badge">much supported<' in detail

    german = Browser(language="de")
    german.post("/staff/login/", {"username": personas.hameln_worker.username, "password": personas.password})
    german_html = german.get("/staff/?status=any&ordering=-support_count").content.decode()
    assert german_html.count(">viel unterstützt<") == 1
    assert "Meiste Unterstützende zuerst" in german_html


def test_the_threshold_zero_turns_the_badge_off(personas, settings):
    settings.OPENMELDER = {**settings.OPENMELDER, "SUPPORT_HIGHLIGHT_THRESHOLD": 0}
    report = supported(4, "Viele")
    html = logged_in(personas.hameln_worker).get("/staff/?status=any").content.decode()
    assert report.reference in html and "much supported" not in html
    item = staff_client(personas.hameln_worker).get(f"/api/staff/reports/{report.reference}/").json()
    assert item["support_count"] == 4 and item["much_supported"] is False


def test_the_staff_api_marks_much_supported_reports(personas, threshold):
    below = supported(threshold - 1, "Knapp")
    at = supported(threshold + 1, "Darueber")
    api = staff_client(personas.hameln_worker)
    listed = api.get("/api/staff/reports/", {"ordering": "-support_count"}).json()
    items = listed["results"] if isinstance(listed, dict) else listed
    top = [(item["reference"], item["much_supported"]) for item in items[:2]]
    assert top == [(at.reference, True), (below.reference, False)]
    assert api.get(f"/api/staff/reports/{below.reference}/").json()["much_supported"] is False
    assert api.get(f"/api/staff/reports/{at.reference}/").json()["much_supported"] is True
