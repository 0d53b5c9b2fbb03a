"""Due dates: a category's target in working days, counted without weekends and the public holidays of the
authority's Land (the first two digits of its ARS say which Land it is in)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
from django.utils import timezone

# ARS/AGS Land keys → ISO 3166-2:DE subdivision codes, as the holidays package names them.
LAND_BY_KEY = {
    "01": "SH", "02": "HH", "03": "NI", "04": "HB", "05": "NW", "06": "HE", "07": "RP", "08": "BW",
    "09": "BY", "10": "SL", "11": "BE", "12": "BB", "13": "MV", "14": "SN", "15": "ST", "16": "TH",
}


def land_of(ars: str | None) -> str | None:
    return LAND_BY_KEY.get((ars or "")[:2])


@lru_cache(maxsize=64)
def _calendar(land: str | None, year: int) -> holidays.HolidayBase:
    # Only nationwide holidays when the Land is unknown (e.g. an external authority without an ARS).
    return holidays.Germany(subdiv=land, years=[year, year + 1])


def is_working_day(day: date, land: str | None) -> bool:
    return day.weekday() < 5 and day not in _calendar(land, day.year)


def add_working_days(start: datetime, days: int, land: str | None) -> datetime:
    """The end of the ``days``-th working day after ``start`` (local time), e.g. Friday + 1 → Monday 23:59."""
    local = timezone.localtime(start)
    day = local.date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, land):
            counted += 1
    end = datetime.combine(day, time(23, 59, 59))
    return timezone.make_aware(end, local.tzinfo)


def due_at(start: datetime, working_days: int | None, ars: str | None) -> datetime | None:
    if not working_days:
        return None
    return add_working_days(start, working_days, land_of(ars))
