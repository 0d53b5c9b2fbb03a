"""Which reports are public, the public filters and the paginated list (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import FloatField, Func, OuterRef, Subquery
from django.utils.functional import cached_property

from geo.models import Authority, AuthorityKind, Category
from reports.models import Moderation, Report, ReportQuerySet
from reports.workflow import STATUS_TYPE, Status, StatusType


def visible_reports() -> ReportQuerySet:
    """Reports on the public map, list and statistics (see the module's docstring)."""
    return Report.objects.filter(
        moderation__in=[Moderation.PUBLISHED, Moderation.PENDING], category__is_public=True
    )


def released_reports() -> ReportQuerySet:
    """Reports whose text and photos are public: the open-data export."""
    return Report.objects.published()


def is_released(report: Report) -> bool:
    """Whether the public may see the report's text and photos, not only category, location and status."""
    return report.moderation == Moderation.PUBLISHED


def statuses_for(names: list[str]) -> set[str]:
    """Concrete statuses for a mix of status types (open, closed, fixed) and statuses; ValueError for others."""
    result: set[str] = set()
    for name in names:
        if name in StatusType.values:
            result |= {status for status, kind in STATUS_TYPE.items() if kind == name}
        elif name in Status.values:
            result.add(name)
        else:
            raise ValueError(name)
    return result


@dataclass(frozen=True)
class Filters:
    """Filters of the public list, the map and the export; empty means "all"."""

    categories: tuple[str, ...] = ()  # category slugs
    statuses: frozenset[str] = frozenset()  # concrete statuses (see statuses_for)
    authorities: tuple[str, ...] = ()  # responsible authority slugs, each with all authorities below it
    area: Authority | None = None  # reports located within this authority's boundary (a Gemeinde)
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive

    def apply(self, reports: ReportQuerySet) -> ReportQuerySet:
        if self.categories:
            # By id, looked up first: a join on the slug keeps PostgreSQL from walking the report index on
            # (category, created_at) newest first, and it scanned a million reports for a rare category.
            ids = list(Category.objects.filter(slug__in=self.categories).values_list("pk", flat=True))
            reports = reports.filter(category_id__in=ids)
        if self.statuses:
            reports = reports.filter(status__in=self.statuses)
        if self.authorities:
            responsible = Authority.objects.filter(slug__in=self.authorities).with_descendants()
            reports = reports.filter(authority__in=responsible)
        if self.area is not None and self.area.boundary is not None:
            reports = reports.in_area(self.area.boundary)
        if self.created_after is not None:
            reports = reports.filter(created_at__gte=self.created_after)
        if self.created_before is not None:
            reports = reports.filter(created_at__lt=self.created_before)
        return reports


def public_list(filters: Filters = Filters()) -> ReportQuerySet:
    """The public list, newest first; paginate it. Show text and photos only where ``is_released``."""
    return (
        filters.apply(visible_reports())
        .select_related("category", "authority")
        .defer("reporter_name", "reporter_email", "reporter_phone", "secret_hash", "idempotency_fingerprint")
        .order_by("-created_at", "-pk")
    )


# The Städte and Gemeinden a place lies in, as people name places (not the Landkreis that may be responsible).
MUNICIPAL_KINDS = (AuthorityKind.MUNICIPALITY, AuthorityKind.INDEPENDENT_CITY)


def with_municipalities(reports: Iterable[Report]) -> list[Report]:
    """The reports, each with ``municipality``: the Stadt or Gemeinde its place lies in (None outside all).

    One spatial query for a whole page (a subquery per row in the database, no round trip per row),
    then one lookup of the names: a page of the list costs the same with any number of reports in it.
    """
    reports = list(reports)
    if not reports:
        return reports
    smallest = (
        Authority.objects.filter(kind__in=MUNICIPAL_KINDS, boundary__intersects=OuterRef("location"))
        .order_by("area_km2", "pk")
        .values("pk")[:1]
    )
    found = dict(
        Report.objects.filter(pk__in=[r.pk for r in reports])
        .annotate(municipality_id=Subquery(smallest))
        .values_list("pk", "municipality_id")
        .order_by()
    )
    names = Authority.objects.only("name", "designation").in_bulk({pk for pk in found.values() if pk is not None})
    for report in reports:
        municipality_id = found.get(report.pk)
        report.municipality = names.get(municipality_id) if municipality_id is not None else None  # type: ignore[attr-defined]
    return reports


class ListPaginator(Paginator):
    """Pages of the public list that count at most ``settings.OPENMELDER["LIST_COUNT_LIMIT"]`` reports.

    Counting every visible report for every page view costs about 0.75 s with a Land's million
    (a full scan), more than the page itself; beyond the limit the list says "more than …" and
    offers the newest ones' pages, and the filters narrow it down.
    """

    def __init__(self, object_list: ReportQuerySet, per_page: int) -> None:
        super().__init__(object_list, per_page)
        self.reports = object_list
        self.limit: int = settings.OPENMELDER["LIST_COUNT_LIMIT"]

    @cached_property
    def _counted(self) -> int:
        return self.reports[: self.limit + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.limit)

    @cached_property
    def capped(self) -> bool:
        """Whether there are more reports than counted."""
        return self._counted > self.limit


class PointX(Func):
    """The longitude of a point (ST_X; SpatiaLite knows it by the same name)."""

    function = "ST_X"
    output_field = FloatField()


class PointY(Func):
    """The latitude of a point (ST_Y)."""

    function = "ST_Y"
    output_field = FloatField()
