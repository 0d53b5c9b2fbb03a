"""Atom and RSS feeds of what happens to public reports: everything, per Gemeinde, per category, per report.

Each item is one public event of a released report (published, in a public category): reported, a new status,
a public answer. Nothing else goes in: never the reporter, an internal note, a device or a photo as taken
(only the blurred public rendition). Each item links to the report's public page. A feed holds the newest
``settings.OPENMELDER["FEED_ITEMS"]`` items, in the language LocaleMiddleware chose (Accept-Language, the
site's language switch), and is cached like the other public reads (``public_read_cache``, read by
``mobile_api.public_cache``; no import of it, the dependency points the other way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from backend.throttling import ClientRateThrottle
from geo.models import Authority, Category
from reports import publicdata
from reports.models import EventKind, Photo, Report, ReportEvent, ReportQuerySet
from reports.publicdata.lists import with_municipalities

# What a subscriber is told about: the report itself, its new statuses and the authority's public answers.
FEED_KINDS = (EventKind.CREATED, EventKind.STATUS_CHANGED, EventKind.PUBLIC_ANSWER)
FORMATS = {"atom": Atom1Feed, "rss": Rss201rev2Feed}


@dataclass(frozen=True)
class _Subject:
    """What a feed is about: its title, the page it belongs to, and which reports it covers."""

    title: str
    page: str
    reports: ReportQuerySet
    feed: tuple[str, list[Any]]  # URL name and arguments; the format is added


def _events(reports: ReportQuerySet) -> list[ReportEvent]:
    """The newest public events of these (released) reports, with what their items show."""
    photos = Prefetch("report__photos", queryset=Photo.objects.published().order_by("created_at", "id"))
    events = list(
        ReportEvent.objects.filter(kind__in=FEED_KINDS, is_public=True, report__in=reports.values("pk"))
        .select_related("report__category", "report__authority")
        .prefetch_related(photos)
        .order_by("-id")[: settings.OPENMELDER["FEED_ITEMS"]]
    )
    with_municipalities([event.report for event in events])
    return events


class ReportEventFeed(Feed):
    """The common part: items are events; subclasses say what the feed is about (``subject``)."""

    def __init__(self, feed_type: type) -> None:
        super().__init__()
        self.feed_type = feed_type

    def subject(self, key: str = "") -> _Subject:
        raise NotImplementedError

    def get_object(self, request: HttpRequest, *args, **kwargs) -> _Subject:
        return self.subject(kwargs.get("key", ""))

    def title(self, subject: _Subject) -> str:
        return f"{subject.title} – OpenMelder"

    def link(self, subject: _Subject) -> str:
        return subject.page

    def feed_url(self, subject: _Subject) -> str:
        name, args = subject.feed
        return reverse(name, args=[*args, "atom" if self.feed_type is Atom1Feed else "rss"])

    def description(self, subject: _Subject) -> str:
        return _("New reports, status changes and answers of the authorities: %(subject)s.") % {
            "subject": subject.title
        }

    def author_name(self) -> str:
        return "OpenMelder"

    def items(self, subject: _Subject) -> list[ReportEvent]:
        return _events(subject.reports)

    def item_title(self, event: ReportEvent) -> str:
        report = event.report
        what = {
            EventKind.CREATED: _("reported"),
            EventKind.STATUS_CHANGED: _("status: %(status)s") % {"status": event.to_status_label},
            EventKind.PUBLIC_ANSWER: _("answer of the authority"),
        }[EventKind(event.kind)]
        return f"{report.reference}: {report.category.name} – {what}"

    def item_description(self, event: ReportEvent) -> str:
        report = event.report
        place = ", ".join(
            str(part) for part in (report.address, report.municipality) if part  # type: ignore[attr-defined]  # with_municipalities
        )
        parts = [format_html("<p>{}: {}</p>", _("Place"), place or _("see the map"))]
        if event.kind == EventKind.CREATED:
            if report.public_text:
                parts.append(format_html("<p>{}</p>", report.public_text))
            photo = next(iter(report.photos.all()), None)  # published ones only (prefetched)
            if photo is not None:
                parts.append(format_html(
                    '<p><img src="{}" alt="{}"></p>', self.request.build_absolute_uri(photo.public_thumbnail.url),
                    _("Photo of the report"),
                ))
        elif event.kind == EventKind.STATUS_CHANGED:
            parts.append(format_html("<p>{}: {}</p>", _("New status"), event.to_status_label))
        if event.message and event.kind != EventKind.CREATED:
            parts.append(format_html("<p>{}</p>", event.message))
        parts.append(format_html("<p>{}: {}</p>", _("Responsible"), report.authority))
        return format_html_join("", "{}", ((part,) for part in parts))

    def item_link(self, event: ReportEvent) -> str:
        return reverse("public:detail", args=[event.report.reference])

    def item_guid(self, event: ReportEvent) -> str:
        # One entry per event, stable: the report's page and the event's number.
        return self.request.build_absolute_uri(f"{self.item_link(event)}#ereignis-{event.pk}")

    item_guid_is_permalink = False

    def item_pubdate(self, event: ReportEvent):
        return event.created_at

    def item_updateddate(self, event: ReportEvent):
        return event.created_at  # events are never edited

    def item_author_name(self, event: ReportEvent) -> str:
        return str(event.report.authority)  # who answers; never the reporter

    def item_categories(self, event: ReportEvent) -> list[str]:
        return [event.report.category.name]

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.request = request  # absolute addresses of photos and entry ids
        return super().__call__(request, *args, **kwargs)


class AllReportsFeed(ReportEventFeed):
    def subject(self, key: str = "") -> _Subject:
        return _Subject(_("All reports"), reverse("public:list"), publicdata.released_reports(), ("public:feed", []))


class AuthorityFeed(ReportEventFeed):
    """Reports located in a Gemeinde (or any authority's area; by its slug or AGS), as the list's filter."""

    def subject(self, key: str = "") -> _Subject:
        authority = find_authority(key)
        if authority.boundary is not None:
            filters = publicdata.Filters(area=authority)
        else:  # a body without an area of its own: the reports it is responsible for
            filters = publicdata.Filters(authorities=(authority.slug,))
        return _Subject(
            _("Reports in %(place)s") % {"place": authority},
            f"{reverse('public:list')}?{urlencode({'gemeinde': authority.slug})}",
            filters.apply(publicdata.released_reports()),
            ("public:feed-authority", [authority.slug]),
        )


class CategoryFeed(ReportEventFeed):
    def subject(self, key: str = "") -> _Subject:
        category = Category.objects.filter(slug=key, is_public=True).first()
        if category is None:
            raise Http404
        return _Subject(
            _("Reports of the category %(category)s") % {"category": category.name},
            f"{reverse('public:list')}?{urlencode({'category': category.slug})}",
            publicdata.released_reports().filter(category=category),
            ("public:feed-category", [category.slug]),
        )


class SingleReportFeed(ReportEventFeed):
    def subject(self, key: str = "") -> _Subject:
        report = publicdata.released_reports().select_related("category").filter(reference=key).first()
        if report is None:
            raise Http404  # unknown, hidden, waiting for review or in a non-public category
        return _Subject(
            _("Report %(reference)s: %(category)s") % {"reference": report.reference, "category": report.category.name},
            reverse("public:detail", args=[report.reference]),
            Report.objects.filter(pk=report.pk),
            ("public:feed-report", [report.reference]),
        )


def find_authority(key: str) -> Authority:
    """An active authority by slug, or by its official key (AGS); 404 for anything else."""
    authorities = Authority.objects.filter(active=True)
    authority = authorities.filter(slug=key).first() or (authorities.filter(ags=key).first() if key.isdigit() else None)
    if authority is None:
        raise Http404
    return authority


def feed_view(feed_class: type[ReportEventFeed]) -> Callable[..., HttpResponse]:
    """The view of a feed in either format: a public read, limited per client and cached by the shared
    public read cache (its middleware looks for ``public_read_cache`` on the view)."""

    def view(request: HttpRequest, fmt: str, **kwargs) -> HttpResponse:
        if fmt not in FORMATS:
            raise Http404
        if not ClientRateThrottle().allow_request(request, SimpleNamespace(throttle_scope="read")):
            text = _("Too many requests from your connection. Please try again later.")
            return HttpResponse(text, status=429, content_type="text/plain; charset=utf-8")
        return feed_class(FORMATS[fmt])(request, **kwargs)

    view.public_read_cache = "read"  # type: ignore[attr-defined]
    return view


all_reports_feed = feed_view(AllReportsFeed)
authority_feed = feed_view(AuthorityFeed)
category_feed = feed_view(CategoryFeed)
report_feed = feed_view(SingleReportFeed)


def links(*, report: Report | None = None, category: str = "", gemeinde: str = "") -> list[dict[str, str]]:
    """The feeds a page links (``<link rel="alternate">`` and visibly): the report's, or the list's filters'
    (category, Gemeinde), and always the one of all reports on list pages."""
    found: list[tuple[str, str, list[Any]]] = []
    if report is not None:
        found.append((_("Updates of report %(reference)s") % {"reference": report.reference},
                      "public:feed-report", [report.reference]))
    else:
        if gemeinde:
            place = Authority.objects.filter(slug=gemeinde).first()
            if place is not None:
                found.append((_("Reports in %(place)s") % {"place": place}, "public:feed-authority", [place.slug]))
        if category:
            kind = Category.objects.filter(slug=category, is_public=True).first()
            if kind is not None:
                found.append((_("Reports of the category %(category)s") % {"category": kind.name},
                              "public:feed-category", [kind.slug]))
        found.append((_("All reports"), "public:feed", []))
    return [
        {"title": title, "atom": reverse(name, args=[*args, "atom"]), "rss": reverse(name, args=[*args, "rss"])}
        for title, name, args in found
    ]
