"""/statistik/ as a visitor reads it: rows that add up, reports in and fixed per month as a chart with its table,
what "overdue" and the kinds of days mean, tables that scroll in their own region."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from reports.models import Report
from reports.services import report_transition
from reports.workflow import Status
from tests.reports.site.conftest import SecureClient, file_report

pytestmark = pytest.mark.django_db


def _cells(table: str, row_header: str) -> list[str]:
    row = re.search(rf'<th scope="row">{re.escape(row_header)}</th>(.*?)</tr>', table, re.S)
    assert row, f"no row {row_header!r}"
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def _table(page: str, table_id: str) -> str:
    return re.search(rf'<table class="stats-table" id="{table_id}">(.*?)</table>', page, re.S).group(1)


@pytest.fixture
def reports_of_a_year(demo, personas):
    """Two reports fixed, one rejected, one a duplicate, one open; one of the fixed came in three months ago."""
    now = timezone.now()
    fixed = file_report()
    old_fixed = file_report()
    rejected = file_report()
    duplicate = file_report()
    file_report()
    for report, to in ((fixed, Status.FIXED), (old_fixed, Status.FIXED), (rejected, Status.REJECTED)):
        report_transition(report=report, to=to, actor=personas.hameln_lead, message="Erledigt")
    Report.objects.filter(pk=duplicate.pk).update(status=Status.DUPLICATE, closed_at=now)
    Report.objects.filter(pk=old_fixed.pk).update(
        created_at=now - timedelta(days=95), closed_at=now - timedelta(days=92)
    )
    return now


def test_open_fixed_and_closed_without_fix_add_up_to_all_reports(reports_of_a_year, visitor):
    page = visitor.get("/statistik/").content.decode()
    assert _cells(_table(page, "by-category"), "Pothole / road damage")[:4] == ["5", "1", "2", "2"]
    assert '<th scope="col" class="number">Closed without fix</th>' in _table(page, "by-authority")
    assert re.search(r"<dt>Closed without fix</dt><dd>2</dd>", page)
    assert "rejected, marked as a duplicate of another report, or forwarded" in page


def test_the_api_gives_closed_without_fix_and_the_months(reports_of_a_year, client):
    stats = client.get("/api/v1/stats/", secure=True).json()
    totals = stats["totals"]
    assert totals["reports"] == totals["open"] + totals["fixed"] + totals["closed_without_fix"] == 5
    months = stats["monthly"]
    assert len(months) == 12
    this_month = timezone.localtime(reports_of_a_year).strftime("%Y-%m")
    assert months[-1] == {"month": this_month, "reports": 4, "fixed": 1}
    assert sum(m["reports"] for m in months) == 5 and sum(m["fixed"] for m in months) == 2
    assert [m["month"] for m in months] == sorted(m["month"] for m in months)


def test_the_monthly_chart_is_an_image_described_by_its_table(reports_of_a_year, visitor):
    page = visitor.get("/statistik/").content.decode()
    svg = re.search(r"<svg class=\"trend-chart\"(.*?)</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and 'aria-describedby="trend-caption"' in svg
    assert re.search(r'<title id="trend-title">Bar chart: reports received and fixed', svg)
    assert svg.count('class="bar bar-in"') == 12 and svg.count('class="bar bar-fixed"') == 12
    assert "style=" not in svg  # the CSP allows no inline styles
    # The tallest bar is the month with the most reports: this one, with 4.
    heights = [float(h) for h in re.findall(r'class="bar bar-in"[^>]*height="([\d.]+)"', svg)]
    assert heights[-1] == max(heights) > 0
    monthly = _table(page, "monthly")
    assert '<caption id="trend-caption">' in monthly
    this_month = timezone.localtime(reports_of_a_year).strftime("%B %Y")
    assert _cells(monthly, this_month) == ["4", "1"]


def test_overdue_working_and_calendar_days_are_explained_under_the_backlog(demo, visitor):
    file_report()
    page = visitor.get("/statistik/").content.decode()
    explained = re.search(r'<p class="explain" id="overdue-explained">(.*?)</p>', page, re.S).group(1)
    assert "working days" in explained and "calendar days" in explained and "public holidays" in explained


def test_tables_scroll_in_a_labelled_focusable_region_with_a_hint(demo, visitor):
    file_report()
    page = visitor.get("/statistik/").content.decode()
    for table_id in ("by-category", "by-authority", "backlog"):
        region = re.search(rf'<div class="table-wrap"([^>]*)>\s*<table class="stats-table" id="{table_id}">', page)
        assert region, table_id
        assert 'tabindex="0"' in region.group(1) and 'role="region"' in region.group(1)
        assert f'aria-labelledby="{table_id}-caption"' in region.group(1)
        assert f'aria-describedby="{table_id}-hint"' in region.group(1)
        assert f'<caption id="{table_id}-caption">' in page


def test_the_page_is_german_by_default(demo):
    file_report()
    page = SecureClient().get("/statistik/").content.decode()
    assert "Ohne Behebung geschlossen" in page and "Pro Monat" in page and "Arbeitstage" in page
