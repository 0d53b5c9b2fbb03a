"""Atom and RSS feeds (/feeds/…) as a subscriber's feed reader sees them: parsed with feedparser."""

from __future__ import annotations

import calendar
import re

import feedparser
import pytest

from geo.models import Authority, Category, PublishingPolicy
from reports.models import Moderation, Report, StatusLabel
from reports.services import report_answer, report_note, report_transition
from reports.workflow import Status
from tests.reports.site.conftest import BAD_PYRMONT, SecureClient, file_report

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader() -> SecureClient:
    """A feed reader that asks for nothing in particular: the site's default language, German."""
    return SecureClient()


def fetch(client, url: str, **headers) -> feedparser.FeedParserDict:
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    kind = "application/atom+xml" if "/atom/" in url else "application/rss+xml"
    assert response["Content-Type"].startswith(kind)
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def timestamp(parsed) -> int:
    return calendar.timegm(parsed)


def references(feed) -> list[str]:
    return [entry.title.split(":")[0] for entry in feed.entries]


def test_a_gemeinde_feed_has_its_reports_with_title_link_and_date_and_none_from_elsewhere(
        demo, reader, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        hameln = file_report(description="Tiefes Loch vor der Apotheke")
        pyrmont = file_report(at=BAD_PYRMONT, description="Loch am Kurpark")
    feed = fetch(reader, "/feeds/gemeinden/hameln/atom/")
    place = Authority.objects.get(slug="hameln")
    assert feed.feed.title == f"Meldungen in {place} – OpenMelder"
    assert feed.feed.link == "https://testserver/meldungen/?gemeinde=hameln"
    assert references(feed) == [hameln.reference]
    entry = feed.entries[0]
    pothole = Category.objects.get(slug="schlagloch")
    assert entry.title == f"{hameln.reference}: {pothole.name_de} – gemeldet"
    assert entry.link == f"https://testserver/meldungen/{hameln.reference}/"
    assert timestamp(entry.published_parsed) == int(hameln.created_at.timestamp())
    assert timestamp(entry.updated_parsed) == int(hameln.created_at.timestamp())
    assert "Tiefes Loch vor der Apotheke" in entry.summary
    assert entry.author == str(hameln.authority)
    assert timestamp(feed.feed.updated_parsed) == int(hameln.created_at.timestamp())

    # The same Gemeinde by its official key; RSS as well; Bad Pyrmont's own feed has only its report.
    assert place.ags
    assert references(fetch(reader, f"/feeds/gemeinden/{place.ags}/rss/")) == [hameln.reference]
    assert references(fetch(reader, "/feeds/gemeinden/bad-pyrmont/atom/")) == [pyrmont.reference]
    assert references(fetch(reader, "/feeds/meldungen/atom/")) == [pyrmont.reference, hameln.reference]


def test_a_new_status_and_an_answer_appear_in_the_next_fetch(
        demo, personas, reader, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report()
    url = f"/feeds/meldungen/{report.reference}/rss/"
    first = fetch(reader, url)
    assert [e.title for e in first.entries] == [f"{report.reference}: {report.category.name_de} – gemeldet"]
    category_feed = fetch(reader, "/feeds/kategorien/schlagloch/atom/")
    assert references(category_feed) == [report.reference]

    with django_capture_on_commit_callbacks(execute=True):
        report_transition(report=report, to=Status.IN_PROGRESS, actor=personas.hameln_worker, message="Ist eingeplant.")
    second = fetch(reader, url)
    assert len(second.entries) == 2
    status = second.entries[0]
    in_progress = StatusLabel.label("in_progress", "de")
    assert status.title == f"{report.reference}: {report.category.name_de} – Status: {in_progress}"
    assert "Ist eingeplant." in status.summary
    assert status.link == f"https://testserver/meldungen/{report.reference}/"
    assert status.id != second.entries[1].id  # a reader shows it as a new entry
    assert timestamp(status.published_parsed) >= timestamp(second.entries[1].published_parsed)

    with django_capture_on_commit_callbacks(execute=True):
        report_answer(report=report, actor=personas.hameln_worker, message="Der Bauhof kommt am Montag.")
    third = fetch(reader, "/feeds/kategorien/schlagloch/atom/")
    assert [e.title.split(" – ")[-1] for e in third.entries] == [
        "Antwort der Behörde", f"Status: {StatusLabel.label('in_progress', 'de')}", "gemeldet",
    ]
    assert "Der Bauhof kommt am Montag." in third.entries[0].summary


def test_no_reporter_internal_note_or_private_photo_in_any_feed(
        demo, personas, reader, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(photo=True, email="anna@example.org", name="Anna Beispiel")
        report_note(report=report, actor=personas.hameln_worker, note="Anwohner ist schwierig")
        report_transition(report=report, to=Status.ACKNOWLEDGED, actor=personas.hameln_worker,
                          note="Nur intern: Schlüssel beim Hausmeister")
    photo = report.photos.get()
    urls = [
        f"/feeds/meldungen/{report.reference}/{fmt}/" for fmt in ("atom", "rss")
    ] + [f"/feeds/{path}/{fmt}/" for path in ("meldungen", "gemeinden/hameln", "kategorien/schlagloch")
         for fmt in ("atom", "rss")]
    for url in urls:
        body = reader.get(url).content.decode()
        assert report.reference in body, url
        for secret in ("anna@example.org", "Anna Beispiel", "Anwohner ist schwierig", "Schlüssel beim Hausmeister",
                       photo.image.url, photo.thumbnail.url, "hameln-worker"):
            assert secret not in body, (url, secret)
    entry = fetch(reader, f"/feeds/meldungen/{report.reference}/atom/").entries[-1]
    assert f"https://testserver{photo.public_thumbnail.url}" in entry.summary  # the blurred rendition only


@pytest.mark.parametrize("url", [
    "/feeds/gemeinden/atlantis/atom/",
    "/feeds/gemeinden/99999999/rss/",
    "/feeds/kategorien/gibt-es-nicht/atom/",
    "/feeds/kategorien/tierkadaver/atom/",  # a category that is not public
    "/feeds/meldungen/HM-2026-999999/rss/",
    "/feeds/meldungen/atom/json/",
])
def test_unknown_places_categories_and_reports_get_the_sites_404_page(demo, reader, url):
    response = reader.get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "OpenMelder" in response.content.decode()


@pytest.mark.parametrize("case", ["hidden", "awaiting review", "non-public category"])
def test_a_report_the_public_may_not_read_has_no_feed_and_is_in_none(
        demo, personas, reader, case, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        if case == "awaiting review":
            Authority.objects.filter(slug="hameln").update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
        report = file_report(category="tierkadaver" if case == "non-public category" else "schlagloch",
                             description="Geheimnisvolles Loch")
        if case == "hidden":
            Report.objects.filter(pk=report.pk).update(moderation=Moderation.HIDDEN)
    assert reader.get(f"/feeds/meldungen/{report.reference}/atom/").status_code == 404
    for url in ("/feeds/meldungen/atom/", "/feeds/gemeinden/hameln/rss/"):
        body = reader.get(url).content.decode()
        assert report.reference not in body and "Geheimnisvolles Loch" not in body


def test_feeds_are_german_by_default_and_english_when_the_reader_asks(demo, reader, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report()
    german = fetch(reader, "/feeds/meldungen/rss/")
    english = fetch(reader, "/feeds/meldungen/rss/", HTTP_ACCEPT_LANGUAGE="en")
    assert german.feed.title == "Alle Meldungen – OpenMelder"
    assert german.feed.language == "de"
    assert german.entries[0].title == f"{report.reference}: {report.category.name_de} – gemeldet"
    assert english.feed.title == "All reports – OpenMelder"
    assert english.feed.language == "en"
    assert english.entries[0].title == f"{report.reference}: {report.category.name_en} – reported"
    # The site's language switch (its cookie) works for feeds as for pages.
    switched = SecureClient()
    switched.cookies["django_language"] = "en"
    assert fetch(switched, "/feeds/meldungen/atom/").feed.title == "All reports – OpenMelder"


def test_a_feed_holds_the_newest_items_only(demo, reader, settings, django_capture_on_commit_callbacks):
    settings.OPENMELDER = {**settings.OPENMELDER, "FEED_ITEMS": 2}
    with django_capture_on_commit_callbacks(execute=True):
        reports = [file_report(description=f"Loch Nummer {n}") for n in range(3)]
    assert references(fetch(reader, "/feeds/meldungen/atom/")) == [reports[2].reference, reports[1].reference]


ALTERNATE = re.compile(r'<link rel="alternate" type="(application/(?:atom|rss)\+xml)" title="[^"]*" href="([^"]+)"')


def _alternates(page: str) -> list[tuple[str, str]]:
    return ALTERNATE.findall(page)


def test_pages_link_their_feeds_for_feed_readers_and_visibly(demo, reader, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report()
    detail = reader.get(f"/meldungen/{report.reference}/").content.decode()
    assert _alternates(detail) == [
        ("application/atom+xml", f"/feeds/meldungen/{report.reference}/atom/"),
        ("application/rss+xml", f"/feeds/meldungen/{report.reference}/rss/"),
    ]
    assert f'<a href="/feeds/meldungen/{report.reference}/atom/" type="application/atom+xml">Atom-Feed</a>' in detail
    assert "Neuigkeiten abonnieren" in detail

    filtered = reader.get("/meldungen/?gemeinde=hameln&category=schlagloch").content.decode()
    assert [href for kind, href in _alternates(filtered) if kind == "application/atom+xml"] == [
        "/feeds/gemeinden/hameln/atom/", "/feeds/kategorien/schlagloch/atom/", "/feeds/meldungen/atom/",
    ]
    assert [href for kind, href in _alternates(reader.get("/").content.decode())] == [
        "/feeds/meldungen/atom/", "/feeds/meldungen/rss/",
    ]
    for _kind, href in _alternates(filtered):
        assert references(fetch(reader, href)) == [report.reference]


def test_a_reader_that_asks_again_gets_304_until_something_changes(demo, reader, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        file_report()
    first = reader.get("/feeds/gemeinden/hameln/atom/")
    assert first.status_code == 200 and first["ETag"]
    assert reader.get("/feeds/gemeinden/hameln/atom/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        file_report(description="Noch ein Loch")
    fresh = reader.get("/feeds/gemeinden/hameln/atom/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert fresh.status_code == 200
    assert len(feedparser.parse(fresh.content).entries) == 2
