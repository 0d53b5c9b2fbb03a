"""GET /api/v1/stats/ and reports.publicdata.statistics: figures of a known set of reports."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reports.models import Moderation, Report
from tests.reports.publicdata.helpers import MARKET, PYRMONT, STATION, report, submit

pytestmark = pytest.mark.django_db


def _set(body: dict, **fields) -> None:
    Report.objects.filter(public_id=body["id"]).update(**fields)


@pytest.fixture
def known_reports(client, demo):
    now = timezone.now()

    def days_ago(n: float):
        return now - timedelta(days=n)

    fixed_in_2 = submit(client, MARKET)
    _set(fixed_in_2, status="fixed", created_at=days_ago(10), closed_at=days_ago(8))
    fixed_in_6 = submit(client, MARKET)
    _set(fixed_in_6, status="fixed", created_at=days_ago(20), closed_at=days_ago(14))
    still_open = submit(client, MARKET)
    _set(still_open, created_at=days_ago(3), due_at=now + timedelta(days=5))
    graffiti_fixed_in_4 = submit(client, STATION, "graffiti")
    _set(graffiti_fixed_in_4, status="fixed", created_at=days_ago(30), closed_at=days_ago(26))
    pyrmont_fixed_in_1 = submit(client, PYRMONT)
    _set(pyrmont_fixed_in_1, status="fixed", created_at=days_ago(5), closed_at=days_ago(4))
    pyrmont_rejected = submit(client, PYRMONT)
    _set(pyrmont_rejected, status="rejected", created_at=days_ago(5), closed_at=days_ago(5))
    # Open for more than a year: in the backlog (and overdue), not in the period's figures.
    old_open = submit(client, MARKET)
    _set(old_open, created_at=days_ago(400), due_at=days_ago(380))
    # Never counted: hidden by staff, or in a category that is not public.
    hidden = submit(client, MARKET)
    _set(hidden, status="fixed", created_at=days_ago(10), closed_at=days_ago(9), moderation=Moderation.HIDDEN)
    carcass = submit(client, MARKET, "tierkadaver")
    _set(carcass, created_at=days_ago(2))
    assert report(fixed_in_2).authority.slug == "hameln" and report(pyrmont_rejected).authority.slug == "bad-pyrmont"


def test_statistics_count_reports_and_median_days_to_fix_per_category_and_authority(client, known_reports):
    response = client.get("/api/v1/stats/", secure=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    stats = response.json()
    assert stats["totals"] == {
        "reports": 6, "open": 1, "fixed": 4, "closed_without_fix": 1, "median_days_to_fix": 3.0,
    }
    assert stats["by_category"] == [
        {
            "slug": "schlagloch",
            "name": "Pothole / road damage",
            "reports": 5,
            "open": 1,
            "fixed": 3,
            "closed_without_fix": 1,
            "median_days_to_fix": 2.0,
        },
        {
            "slug": "graffiti", "name": "Graffiti", "reports": 1, "open": 0, "fixed": 1, "closed_without_fix": 0,
            "median_days_to_fix": 4.0,
        },
    ]
    assert stats["by_authority"] == [
        {
            "slug": "hameln", "name": "Stadt Hameln", "reports": 4, "open": 1, "fixed": 3, "closed_without_fix": 0,
            "median_days_to_fix": 4.0,
        },
        {
            "slug": "bad-pyrmont",
            "name": "Stadt Bad Pyrmont",
            "reports": 2,
            "open": 0,
            "fixed": 1,
            "closed_without_fix": 1,
            "median_days_to_fix": 1.0,
        },
    ]


def test_the_open_backlog_counts_every_open_public_report_whenever_it_came_in(client, known_reports):
    backlog = client.get("/api/v1/stats/", secure=True).json()["backlog"]
    assert backlog == {
        "open": 2, "overdue": 1,
        "by_authority": [{"slug": "hameln", "name": "Stadt Hameln", "open": 2, "overdue": 1}],
    }


def test_the_statistics_page_function_takes_any_period_and_names_things_in_german_by_default(known_reports):
    from reports.publicdata import statistics

    last_week = statistics(since=timezone.now() - timedelta(days=7))
    assert last_week["totals"] == {
        "reports": 3, "open": 1, "fixed": 1, "closed_without_fix": 1, "median_days_to_fix": 1.0,
    }
    assert {row["name"] for row in last_week["by_category"]} == {"Schlagloch / Straßenschaden"}


def test_statistics_of_an_empty_installation_are_zeros_not_errors(client, demo):
    stats = client.get("/api/v1/stats/", secure=True).json()
    assert stats["totals"] == {
        "reports": 0, "open": 0, "fixed": 0, "closed_without_fix": 0, "median_days_to_fix": None,
    }
    assert stats["by_category"] == [] and stats["by_authority"] == [] and stats["backlog"]["open"] == 0
    assert len(stats["monthly"]) == 12 and {(m["reports"], m["fixed"]) for m in stats["monthly"]} == {(0, 0)}
