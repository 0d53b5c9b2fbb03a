"""The pages behind the links in mails (confirm an address, reopen a report) are styled: every style they use
is allowed by the Content-Security-Policy they are served with, and the stylesheet is really there."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from django.core import mail

from tests.mobile_api.v1.test_submit import submit
from tests.notifications.delivery import change_status, links, run_worker

pytestmark = pytest.mark.django_db


class Styles(HTMLParser):
    """What a browser would apply as styles: stylesheet links, <style> elements and style attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.sheets: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "link" and "stylesheet" in (attributes.get("rel") or "").lower().split():
            self.sheets.append(attributes.get("href") or "")
        if tag == "style":
            self.inline.append("<style>")
        if attributes.get("style"):
            self.inline.append(f"style attribute on <{tag}>")


def style_sources(csp: str) -> list[str]:
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    return directives.get("style-src", directives.get("default-src", []))


def assert_styles_allowed(client, response) -> None:
    assert response["Content-Type"].startswith("text/html")
    allowed = style_sources(response["Content-Security-Policy"])
    page = Styles()
    page.feed(response.content.decode())
    if "'unsafe-inline'" not in allowed:
        assert page.inline == [], f"inline styles the CSP blocks: {page.inline}"
    assert page.sheets, "the page has a stylesheet"
    for href in page.sheets:
        url = urljoin("https://testserver/", href)
        same_origin = url.startswith("https://testserver/")
        assert (same_origin and "'self'" in allowed) or any(url.startswith(s) for s in allowed), (href, allowed)
        sheet = client.get(url.removeprefix("https://testserver"), secure=True)
        assert sheet.status_code == 200 and sheet["Content-Type"].startswith("text/css"), href
        assert b"button" in b"".join(sheet.streaming_content if sheet.streaming else [sheet.content])


def test_the_confirmation_pages_styles_are_allowed_by_their_own_csp(client, personas):
    submit(client, {"email": "anna@example.org"})
    run_worker()
    (path,) = links(next(m for m in mail.outbox if m.to == ["anna@example.org"]).body, "confirm")

    assert_styles_allowed(client, client.get(path, secure=True))  # the button
    assert_styles_allowed(client, client.post(path, secure=True))  # thank you
    assert_styles_allowed(client, client.post(path, secure=True))  # no longer valid (410)


def test_the_reopen_pages_styles_are_allowed_by_their_own_csp(client, personas, settings):
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "FOLLOW_UP_DAYS": 0}
    report = submit(client, {"email": "anna@example.org"}).json()
    run_worker()
    (path,) = links(next(m for m in mail.outbox if m.to == ["anna@example.org"]).body, "confirm")
    client.post(path, secure=True)
    change_status(report["id"], "fixed", actor=personas.hameln_worker, message="Verfüllt.")
    run_worker()
    (reopen,) = [link for m in mail.outbox for link in links(m.body, "reopen")]

    assert_styles_allowed(client, client.get(reopen, secure=True))  # the button
    assert_styles_allowed(client, client.post(reopen, secure=True))  # open again
