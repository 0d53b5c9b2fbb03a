"""Public reads answered in front of Django (mobile_api.public_cache.PublicReadFastPath), through the server's ASGI
interface with the suite's Redis, as uvicorn calls it: a counter between the fast path and Django's application
shows which requests Django answered. Each test commits for real (the version changes after commit)."""

from __future__ import annotations

import json
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application
from django.core.cache import cache
from django.db import connection

from backend.cache import redis_client
from reports.publicdata import version
from tests.mobile_api.staff.conftest import submit
from tests.personas import HAMELN_MARKET

LAT, LON = HAMELN_MARKET
MAP = f"bbox={LON - 0.005},{LAT - 0.005},{LON + 0.005},{LAT + 0.005}&zoom=16"
PHONE = ("203.0.113.9", 50123)
pytestmark = pytest.mark.django_db(transaction=True)


class DjangoCounted:
    """Django's ASGI application, counting the requests that reach it."""

    def __init__(self) -> None:
        self.app = get_asgi_application()
        self.calls = 0

    async def __call__(self, scope, receive, send) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


@pytest.fixture
def server(settings):
    from mobile_api.public_cache import PublicReadFastPath

    assert settings.REDIS_URL, "the suite runs with Redis (scripts/test.sh)"
    django = DjangoCounted()
    return PublicReadFastPath(django), django


def get(app, path: str, query: str = "", headers: dict[str, str] | None = None, client=PHONE) -> dict:
    """A GET as uvicorn hands it to the application; the answer's headers as a dict (names in lower case)."""
    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "scheme": "https", "path": path,
        "raw_path": path.encode(), "root_path": "", "query_string": query.encode(), "client": client,
        "server": ("127.0.0.1", 8000),
        "headers": [(name.lower().encode(), value.encode("latin-1")) for name, value in (headers or {}).items()],
    }

    async def exchange():
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "http.request", "body": b""})
        start = await communicator.receive_output(20)
        body = b""
        while True:
            message = await communicator.receive_output(20)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await communicator.wait(5)
        return {"status": start["status"], "body": body,
                "headers": {name.decode().lower(): value.decode("latin-1") for name, value in start["headers"]}}

    return async_to_sync(exchange)()


def ids(answer: dict) -> set[str]:
    return {feature["properties"]["id"] for feature in json.loads(answer["body"])["features"]}


@pytest.mark.parametrize(("path", "query"), [
    ("/api/v1/map/", MAP),
    ("/api/v1/stats/", ""),
    ("/open311/v2/services.json", ""),
    ("/open311/v2/requests.xml", "service_code=schlagloch"),
])
def test_a_repeated_public_read_is_answered_without_django_exactly_as_django_answered_it(personas, server, path,
                                                                                         query):
    fast_path, django = server
    first = get(fast_path, path, query)
    assert first["status"] == 200 and django.calls == 1
    again = get(fast_path, path, query)
    assert django.calls == 1, "answered by Django again"
    assert again["status"] == 200 and again["body"] == first["body"]
    # Every header the middleware chain set (content type, language, ETag, security policy), but its own request id.
    assert again["headers"].pop("x-request-id") != first["headers"].pop("x-request-id")
    assert again["headers"] == first["headers"]
    assert again["headers"]["x-frame-options"] == "DENY" and again["headers"]["cache-control"] == "no-cache"


def test_a_new_report_is_in_the_very_next_read_after_its_answer(personas, server):
    fast_path, django = server
    get(fast_path, "/api/v1/map/", MAP)
    before = get(fast_path, "/api/v1/map/", MAP)
    assert django.calls == 1 and ids(before) == set()

    report = submit()  # answered after its commit and the change of version

    after = get(fast_path, "/api/v1/map/", MAP)
    assert django.calls == 2 and ids(after) == {report["id"]}
    assert after["headers"]["etag"] != before["headers"]["etag"]
    assert ids(get(fast_path, "/api/v1/map/", MAP)) == {report["id"]} and django.calls == 2


def test_a_client_with_the_current_etag_gets_304_without_django(personas, server):
    fast_path, django = server
    etag = get(fast_path, "/api/v1/map/", MAP)["headers"]["etag"]
    for sent in (etag, f"W/{etag}", f'"other", {etag}'):
        answer = get(fast_path, "/api/v1/map/", MAP, {"If-None-Match": sent})
        assert answer["status"] == 304 and answer["body"] == b"" and answer["headers"]["etag"] == etag
        assert "content-type" not in answer["headers"]
    assert django.calls == 1
    assert get(fast_path, "/api/v1/map/", MAP, {"If-None-Match": '"other"'})["status"] == 200


def test_each_language_gets_its_own_answer(personas, server):
    fast_path, django = server
    german = get(fast_path, "/api/v1/stats/", "", {"Accept-Language": "de-DE,de;q=0.9"})
    english = get(fast_path, "/api/v1/stats/", "", {"Accept-Language": "en-GB,en;q=0.8"})
    assert django.calls == 2
    assert german["headers"]["content-language"] == "de" and english["headers"]["content-language"] == "en"
    assert get(fast_path, "/api/v1/stats/", "", {"Accept-Language": "en-GB,en;q=0.8"})["body"] == english["body"]
    # The language chosen on the site (its cookie) comes before the browser's: the German answer, stored already.
    by_cookie = get(fast_path, "/api/v1/stats/", "", {"Accept-Language": "en", "Cookie": "django_language=de"})
    assert by_cookie["body"] == german["body"] and django.calls == 2


def test_each_address_the_service_is_reached_at_gets_its_own_links(personas, server, settings):
    settings.ALLOWED_HOSTS = ["melder.example.org", "127.0.0.1"]
    fast_path, django = server
    public = get(fast_path, "/open311/v2/discovery.json", "", {"Host": "melder.example.org"})
    local = get(fast_path, "/open311/v2/discovery.json", "", {"Host": "127.0.0.1"})
    assert django.calls == 2
    assert b"https://melder.example.org/open311/v2" in public["body"]
    assert b"https://127.0.0.1/open311/v2" in local["body"] and b"melder.example.org" not in local["body"]
    assert get(fast_path, "/open311/v2/discovery.json", "", {"Host": "melder.example.org"})["body"] == public["body"]
    assert django.calls == 2
    # A host the installation does not answer to is refused by Django, never served from the cache.
    assert get(fast_path, "/open311/v2/discovery.json", "", {"Host": "evil.example"})["status"] == 400


def test_requests_with_credentials_and_other_requests_always_reach_django(personas, server):
    fast_path, django = server
    get(fast_path, "/api/v1/map/", MAP)
    get(fast_path, "/api/v1/map/", MAP)
    assert django.calls == 1
    get(fast_path, "/api/v1/map/", MAP, {"Authorization": "Token not-a-token"})
    get(fast_path, "/api/v1/map/", MAP, {"Cookie": "sessionid=abc"})
    get(fast_path, "/open311/v2/services.json", "api_key=abc")
    get(fast_path, "/api/v1/map/", MAP, {"Accept": "application/json"})  # another Accept: another answer
    get(fast_path, "/meldungen/")  # not a cached view
    get(fast_path, "/api/v1/reports/1/")
    assert django.calls == 7


def test_reads_from_the_fast_path_count_against_the_clients_read_rate(personas, server, settings):
    settings.API_RATES = {**settings.API_RATES, "read": "3/minute"}
    fast_path, django = server
    assert [get(fast_path, "/api/v1/map/", MAP)["status"] for _ in range(3)] == [200, 200, 200]
    assert django.calls == 1
    refused = get(fast_path, "/api/v1/map/", MAP)
    assert refused["status"] == 429 and int(refused["headers"]["retry-after"]) > 0 and django.calls == 2
    # Another client's budget is its own.
    assert get(fast_path, "/api/v1/map/", MAP, client=("198.51.100.7", 40000))["status"] == 200
    assert django.calls == 2


def test_without_the_version_in_redis_django_answers_and_puts_it_back(personas, server):
    fast_path, django = server
    get(fast_path, "/api/v1/map/", MAP)
    cache.clear()  # as after a restart of Redis without persistence
    assert get(fast_path, "/api/v1/map/", MAP)["status"] == 200 and django.calls == 2
    # A map view's version: the value of every change not confined to places, and those of its areas.
    assert redis_client().get(version.mirror_key(version.MAP_BASE)).decode() == version.current(areas=[]).split(".")[0]
    assert get(fast_path, "/api/v1/map/", MAP)["status"] == 200 and django.calls == 2  # stored again
    report = submit()
    assert ids(get(fast_path, "/api/v1/map/", MAP)) == {report["id"]} and django.calls == 3


def test_two_reports_filed_at_once_are_both_in_every_later_read(personas, server, monkeypatch):
    """Each report changes the version in the database and then its mirror in Redis. Two at once may write the
    mirror in the other order than the database: were the first report's value kept then, the fast path would go on
    reading it, and serve an answer made between the two (without the second report) until the next change there
    or the end of the period (minutes). Here the first report's mirror is held back until the second report has
    been answered, and a read happens in between."""
    fast_path, django = server
    first_in_window, second_answered = threading.Event(), threading.Event()
    held: list[threading.Thread] = []
    write_mirror = version._mirror

    def mirror(values, **kwargs):
        if threading.current_thread() in held and not kwargs.get("only_if_absent"):
            first_in_window.set()
            second_answered.wait(10)
        write_mirror(values, **kwargs)

    monkeypatch.setattr(version, "_mirror", mirror)
    filed: dict[str, dict] = {}

    def file(name: str) -> None:
        try:
            filed[name] = submit(description=f"Loch {name}")
        finally:
            connection.close()  # this thread's own connection

    first = threading.Thread(target=file, args=("first",))
    held.append(first)
    first.start()
    assert first_in_window.wait(30), "the first report did not change the version"
    get(fast_path, "/api/v1/map/", MAP)  # a read between the two: the fast path keeps Django's answer
    second = threading.Thread(target=file, args=("second",))
    second.start()
    second.join(30)
    second_answered.set()
    first.join(30)
    assert set(filed) == {"first", "second"}

    both = {filed["first"]["id"], filed["second"]["id"]}
    assert ids(get(fast_path, "/api/v1/map/", MAP)) == both
    calls = django.calls
    assert ids(get(fast_path, "/api/v1/map/", MAP)) == both and django.calls == calls  # kept, and from the fast path


def test_while_redis_is_away_django_answers_every_read(personas, settings):
    from mobile_api.public_cache import PublicReadFastPath

    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    django = DjangoCounted()
    fast_path = PublicReadFastPath(django)
    answers = [get(fast_path, "/api/v1/map/", MAP)["status"] for _ in range(3)]
    assert answers == [200, 200, 200] and django.calls == 3


def test_no_answer_to_a_reporter_or_staff_member_is_stored_or_served_to_others(personas, server):
    from tests.mobile_api.staff.conftest import staff_client
    from tests.mobile_api.test_public_cache import stored_value

    fast_path, django = server
    report = submit(email="anna@example.org", name="Anna Beispiel", phone="+49 5151 123456")
    staff = staff_client(personas.hameln_worker)._credentials["HTTP_AUTHORIZATION"]
    for headers in ({"Authorization": f"Bearer {report['secret']}"}, {"Authorization": staff}, {}):
        for _ in range(2):
            for path in ("/api/v1/map/", f"/api/v1/reports/{report['id']}/", "/api/v1/stats/",
                         f"/api/staff/reports/{report['id']}/", "/api/staff/reports/"):
                get(fast_path, path, MAP if path == "/api/v1/map/" else "", headers)
    assert b"anna@example.org" in get(fast_path, f"/api/staff/reports/{report['id']}/", "",
                                      {"Authorization": staff})["body"]
    mine = get(fast_path, f"/api/v1/reports/{report['id']}/", "", {"Authorization": f"Bearer {report['secret']}"})
    assert b"anna@example.org" in mine["body"]

    redis = redis_client()
    keys = list(redis.scan_iter("om:*"))
    assert any(key.startswith(b"om:1:public-asgi:") for key in keys)
    stored = b"".join(stored_value(redis, key) for key in keys)
    for private in (b"anna@example.org", b"Anna Beispiel", b"5151", report["secret"].encode()):
        assert private not in stored
