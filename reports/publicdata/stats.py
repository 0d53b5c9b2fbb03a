"""Public statistics: reports, open, fixed and closed without fix per category and authority, days to fix,
reports in and fixed per month, the open backlog."""

from __future__ import annotations

import statistics as stats
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import get_language

from reports.models import Report
from reports.publicdata import version
from reports.publicdata.lists import visible_reports
from reports.workflow import OPEN_STATUSES, STATUS_TYPE, Status, StatusType

# Closed without a fix: rejected, a duplicate, or forwarded to a body outside OpenMelder. With the open and the
# fixed ones they add up to all reports.
CLOSED_WITHOUT_FIX = frozenset(s for s, t in STATUS_TYPE.items() if t == StatusType.CLOSED)
TREND_MONTHS = 12


def twelve_months_ago(now: datetime) -> datetime:
    """The same moment a year earlier (29 February: the 28th)."""
    try:
        return now.replace(year=now.year - 1)
    except ValueError:
        return now.replace(year=now.year - 1, day=28)


STATISTICS_CACHE_SECONDS = 300


def statistics_last_12_months() -> dict:
    """statistics() of the last 12 months in the active language, cached until the public data changes
    (``version``, which also moves on every few minutes): with a million reports the figures take about a
    second to compute."""
    key = f"publicdata:statistics:{version.current()}:{(get_language() or 'de')[:2]}"
    figures = cache.get(key)
    if figures is None:
        figures = statistics(since=twelve_months_ago(timezone.now()))
        cache.set(key, figures, STATISTICS_CACHE_SECONDS)
    return figures


def statistics(*, since: datetime, until: datetime | None = None) -> dict:
    """Figures of the visible reports created in [since, until): per category and per authority the
    number of reports, how many are open, fixed and closed without a fix, and the median calendar days from
    report to fix (of those now fixed, from ``closed_at``); the reports in and fixed in each of the last
    12 calendar months up to ``until`` (``monthly``, oldest first, the last month so far); plus the open
    backlog today, whenever reported.

    Names are in the active language; rows are sorted by number of reports, then name.
    """
    until = until or timezone.now()
    period = visible_reports().filter(created_at__gte=since, created_at__lt=until)
    english = (get_language() or "de").startswith("en")
    days_to_fix = _days_to_fix(period)

    by_category = _counts(period, "category", "category__slug", "category__name_en" if english else "category__name_de")
    by_authority = _counts(period, "authority", "authority__slug", "authority__name", "authority__designation")
    for row in by_category:
        row["median_days_to_fix"] = _median(days_to_fix["category"].get(row.pop("key")))
    for row in by_authority:
        row["median_days_to_fix"] = _median(days_to_fix["authority"].get(row.pop("key")))
    every = [d for ds in days_to_fix["category"].values() for d in ds]
    return {
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "totals": {
            "reports": sum(r["reports"] for r in by_category),
            "open": sum(r["open"] for r in by_category),
            "fixed": sum(r["fixed"] for r in by_category),
            "closed_without_fix": sum(r["closed_without_fix"] for r in by_category),
            "median_days_to_fix": _median(every),
        },
        "by_category": by_category,
        "by_authority": by_authority,
        "monthly": _monthly(until),
        "backlog": _backlog(),
    }


def _counts(reports: QuerySet[Report], key: str, slug: str, name: str, designation: str | None = None) -> list[dict]:
    fields = [key, slug, name] + ([designation] if designation else [])
    rows = (
        reports.values(*fields)
        .annotate(
            reports=Count("pk"),
            open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
            fixed=Count("pk", filter=Q(status=Status.FIXED)),
            closed_without_fix=Count("pk", filter=Q(status__in=CLOSED_WITHOUT_FIX)),
        )
        .order_by()
    )
    result = [
        {
            "key": row[key],
            "slug": row[slug],
            "name": f"{row[designation]} {row[name]}".strip() if designation else row[name],
            "reports": row["reports"],
            "open": row["open"],
            "fixed": row["fixed"],
            "closed_without_fix": row["closed_without_fix"],
        }
        for row in rows
    ]
    return sorted(result, key=lambda r: (-r["reports"], r["name"]))


def trend_months(until: datetime) -> list[date]:
    """The first days of the TREND_MONTHS calendar months up to ``until`` (local time), oldest first."""
    month = timezone.localtime(until).date().replace(day=1)
    months = [month]
    for _ in range(TREND_MONTHS - 1):
        month = (month.replace(day=1) - timedelta(days=1)).replace(day=1)
        months.append(month)
    return months[::-1]


def _monthly(until: datetime) -> list[dict]:
    """Reports in (by ``created_at``) and fixed (by ``closed_at``) per calendar month, as "YYYY-MM"."""
    months = trend_months(until)
    start = timezone.make_aware(datetime.combine(months[0], datetime.min.time()))
    visible = visible_reports()

    def per_month(reports: QuerySet[Report], field: str) -> dict[str, int]:
        rows = (
            reports.filter(**{f"{field}__gte": start, f"{field}__lt": until})
            .annotate(month=TruncMonth(field))
            .values("month")
            .annotate(n=Count("pk"))
            .order_by()
        )
        return {timezone.localtime(row["month"]).strftime("%Y-%m"): row["n"] for row in rows}

    came_in = per_month(visible, "created_at")
    fixed = per_month(visible.filter(status=Status.FIXED), "closed_at")
    return [
        {"month": key, "reports": came_in.get(key, 0), "fixed": fixed.get(key, 0)}
        for key in (m.strftime("%Y-%m") for m in months)
    ]


def _days_to_fix(reports: QuerySet[Report]) -> dict[str, dict[int, list[float]]]:
    # Medians are computed here, not in SQL: PostGIS has percentile_cont, SQLite has nothing alike.
    result: dict[str, dict[int, list[float]]] = {"category": defaultdict(list), "authority": defaultdict(list)}
    fixed = reports.filter(status=Status.FIXED, closed_at__isnull=False).values_list(
        "category_id", "authority_id", "created_at", "closed_at"
    )
    for category_id, authority_id, created_at, closed_at in fixed.iterator(chunk_size=5000):
        days = (closed_at - created_at).total_seconds() / 86400  # type: ignore[operator]  # closed_at__isnull=False
        result["category"][category_id].append(days)
        result["authority"][authority_id].append(days)
    return result


def _median(days: list[float] | None) -> float | None:
    return round(stats.median(days), 1) if days else None


def _backlog() -> dict:
    open_reports = visible_reports().open()
    now = timezone.now()
    rows = (
        open_reports.values("authority", "authority__slug", "authority__name", "authority__designation")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
        .order_by()
    )
    by_authority = sorted(
        (
            {
                "slug": row["authority__slug"],
                "name": f"{row['authority__designation']} {row['authority__name']}".strip(),
                "open": row["open"],
                "overdue": row["overdue"],
            }
            for row in rows
        ),
        key=lambda r: (-r["open"], r["name"]),
    )
    return {
        "open": sum(r["open"] for r in by_authority),
        "overdue": sum(r["overdue"] for r in by_authority),
        "by_authority": by_authority,
    }
