"""Due dates count working days: no weekends, no public holidays of the authority's Land."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from reports.deadlines import add_working_days, due_at, land_of

pytestmark = pytest.mark.backend_independent

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=10, tzinfo=BERLIN)


def test_a_report_on_friday_with_one_working_day_is_due_on_monday_evening():
    due = add_working_days(at("2026-11-20"), 1, "NI")

    assert due.isoformat() == "2026-11-23T23:59:59+01:00"


def test_christmas_and_the_weekend_do_not_count():
    # 24 Dec is a working day; 25 and 26 Dec are holidays and 26/27 Dec 2026 a weekend.
    assert add_working_days(at("2026-12-23"), 2, "NI").date().isoformat() == "2026-12-28"


def test_reformation_day_counts_as_a_working_day_in_bavaria_but_not_in_lower_saxony():
    # In 2025, 31 October was a Friday.
    thursday = at("2025-10-30")
    assert due_at(thursday, 1, "03252006").date().isoformat() == "2025-11-03"  # NI: 31 Oct holiday
    assert due_at(thursday, 1, "09472001").date().isoformat() == "2025-10-31"  # BY: 31 Oct working day


def test_without_a_target_there_is_no_due_date_and_unknown_lands_use_national_holidays():
    assert due_at(at("2026-11-20"), 0, "03252006") is None
    assert land_of("") is None
    assert add_working_days(at("2026-12-23"), 2, None).date().isoformat() == "2026-12-28"
