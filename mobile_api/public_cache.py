"""Public read answers from the shared cache, with ``ETag`` and ``304 Not Modified``.

The public map, statistics, categories, nearby reports and Open311's GET answers are the same for every
client that asks the same URL in the same language. Such an answer is stored in Django's cache (Redis in
production, local memory embedded) under the version of the public data (``reports.publicdata.version``),
which every change replaces after its commit: a new report is in the very next answer, and nothing has to be
deleted. The version and the request give the ``ETag`` before anything is computed, so a client that has the
answer already gets ``304`` for one primary-key lookup.

Where Redis is the cache, ``PublicReadFastPath`` (ASGI, in front of admission and Django: backend/asgi.py) answers
hits without Django at all: one Redis round trip reads the version's mirror, the client's rate-limit history and
the whole answer as Django sent it (status, every header, body), a second one counts the request. A miss goes
on to Django, marked, and this middleware then only adds the ``ETag``: the fast path stores what Django answered.

Never from or into the cache: anything but GET and HEAD, a request with credentials (``Authorization``, a
session cookie, an Open311 ``api_key``) — those pass to the view untouched — and any answer but a 200 without
cookies. Hits count against the client's read rate like any other request; a client beyond it is handed to
the view, which answers 429.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import pickle
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import parse_qsl

import redis.asyncio
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.http.cookie import parse_cookie
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.http import parse_etags

from backend.cache import cache_key
from backend.middleware import log_request, request_id
from backend.throttling import ALLOW_LUA, ClientRateThrottle, history_key, member
from reports.publicdata import version

logger = logging.getLogger(__name__)

# Entries outlive one period of the version (which is in their key) and are never served after it.
CACHE_SECONDS = 2 * version.PERIOD_SECONDS
# Clients may keep an answer but must ask again (If-None-Match) before they use it.
CACHE_CONTROL = "no-cache"
# Not stored with an answer: what belongs to one request (the middleware further out sets its own).
_NOT_STORED = frozenset({"set-cookie", "x-request-id", "etag", "cache-control"})
# The scope key by which the fast path tells this middleware that it looked in Redis and found no answer ("no
# answer") or not even the version's mirror ("no version").
FAST_PATH_MISSED = "openmelder.public_read_missed"
# A header this middleware puts on an answer the fast path may store (which removes it again).
_STORE_MARK = "X-OpenMelder-Public-Read"


class PublicReadCacheMiddleware:
    """Early in ``MIDDLEWARE``, before sessions, CSRF, authentication and messages: an answer from the cache
    (or a 304) costs none of their work, nor DRF's. Only views marked by ``PublicReadCache`` are concerned."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if not _anonymous_read(request):
            return self.get_response(request)
        marked = _cache_scope(request.path_info)
        if marked is None:
            return self.get_response(request)
        scope, areas_of = marked
        # The language as LocaleMiddleware, further in, will choose it.
        language = translation.get_language_from_request(request)
        fast_path = getattr(request, "scope", {}).get(FAST_PATH_MISSED)
        current = version.current(mirror=fast_path == "no version", areas=areas_of(request.GET) if areas_of else None)
        key, etag = _key_and_etag(request, current, language)
        if etag in _etags(request.headers.get("If-None-Match", "")):
            if _throttled(request, scope):
                return self.get_response(request)  # the view answers 429
            return _not_modified(etag)
        stored = None if fast_path else cache.get(key)
        if stored is not None:
            if _throttled(request, scope):
                return self.get_response(request)
            return _from_cache(stored, etag)
        response = self.get_response(request)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            response["ETag"] = etag
            response["Cache-Control"] = CACHE_CONTROL
            if fast_path:
                response[_STORE_MARK] = scope
            else:
                cache.set(key, _stored(response), CACHE_SECONDS)
        return response


class PublicReadCache:
    """Mixin for APIViews whose GET answers are the same for every anonymous client: marks the view for
    ``PublicReadCacheMiddleware`` (which counts its hits against the view's read rate).

    A view whose answers depend only on the reports of a part of the map defines ``public_read_areas(query)``:
    the areas of the public data's version (``version.areas_of_view``) that an answer to the query (a mapping of
    the query string's parameters to their last values, unchecked) depends on, or None (the version of all public
    data, as for the other views). It must never raise; a query the view will refuse may get None."""

    public_read_areas: Callable[[Mapping[str, str]], list[int] | None] | None = None

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        view.public_read_cache = "read"
        view.public_read_areas = cls.public_read_areas
        return view


def _anonymous_read(request: HttpRequest) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and "Authorization" not in request.headers
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "api_key" not in request.GET
    )


def _key_and_etag(request: HttpRequest, current: str, language: str) -> tuple[str, str]:
    digest = _digest(
        getattr(request, "scope", {}).get("scheme") or request.scheme or "", request.META.get("HTTP_HOST", ""),
        request.path, request.META.get("QUERY_STRING", ""), language, request.headers.get("Accept", ""),
    )
    return f"public:{current}:{digest}", f'"{current}-{digest}"'


def _digest(scheme: str, host: str, path: str, query: str, language: str, accept: str) -> str:
    # Everything an answer depends on besides the data: the address as sent (absolute links in answers, such as
    # Open311's media_url, are made from its scheme and host), the language and the formats the client takes
    # (the citizen API negotiates by Accept, Open311 by the URL's suffix).
    identity = "\n".join((scheme, host, path, query, language, accept))
    return hashlib.blake2b(identity.encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()


def _etags(header: str) -> set[str]:
    # A weak validator compares equal to a strong one of the same value (RFC 9110 13.1.2).
    return {tag.removeprefix("W/") for tag in parse_etags(header)} if header else set()


def _throttled(request: HttpRequest, scope: str) -> bool:
    return not ClientRateThrottle().allow_request(request, SimpleNamespace(throttle_scope=scope))


def _stored(response: HttpResponse) -> tuple[bytes, list[tuple[str, str]]]:
    return response.content, [(name, value) for name, value in response.items() if name.lower() not in _NOT_STORED]


def _from_cache(stored: tuple[bytes, list[tuple[str, str]]], etag: str) -> HttpResponse:
    content, headers = stored
    response = HttpResponse(content)
    for name, value in headers:
        response[name] = value
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    return response


def _not_modified(etag: str) -> HttpResponse:
    response = HttpResponseNotModified()
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    return response


# One round trip: the version's mirrors (KEYS[2], and for a map view those of its areas after it: their values
# combined as version.combined does), the answer stored under it, and (only when there is an answer to give) the
# client's rate limit (KEYS[1]), as backend.throttling checks it. Returns {} without a mirror, {value} without an
# answer, {value, false} beyond the rate, else {value, answer}.
_LOOKUP = ALLOW_LUA + """
local values = redis.call('MGET', unpack(KEYS, 2))
for i = 1, #values do
  if not values[i] then return {} end
end
local value = values[1]
if #values > 1 then
  value = value .. '.' .. string.sub(redis.sha1hex(table.concat(values, ',', 2)), 1, 12)
end
local answer = redis.call('GET', ARGV[1] .. value .. ARGV[2])
if not answer then return {value} end
if ARGV[3] ~= '' and allow(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]) ~= 1 then
  return {value, false}
end
return {value, answer}
"""
# After Redis failed, Django answers everything for so long (its cache fails open).
_PAUSE_AFTER_FAILURE_S = 5.0
# Larger answers are not stored by the fast path (the public map's largest are some hundred kilobytes).
_MAX_STORED_BYTES = 4 * 1024 * 1024
_NOT_IN_304 = frozenset({b"content-length", b"content-type"})


class PublicReadFastPath:
    """ASGI middleware in front of admission and Django (backend/asgi.py), where Redis is the cache: a public read
    whose answer is stored under the current version is answered from Redis without Django, admission, a thread
    or the database; everything else passes through untouched. The answers are those Django sent (captured here
    on a miss, marked by ``PublicReadCacheMiddleware``), with every header the middleware chain set; the request
    gets its own ``X-Request-ID`` and counts against the client's read rate as in DRF (the same history in the
    same key). A client beyond its rate, a missing mirror or answer, and any Redis failure go on to Django."""

    def __init__(self, app) -> None:
        self.app = app
        self.enabled = settings.PUBLIC_READ_FAST_PATH and bool(settings.REDIS_URL) and (
            "mobile_api.public_cache.PublicReadCacheMiddleware" in settings.MIDDLEWARE
        ) and settings.REST_FRAMEWORK.get("NUM_PROXIES") == 0 and not settings.FORCE_SCRIPT_NAME
        self._clients: dict[asyncio.AbstractEventLoop, tuple[redis.asyncio.Redis, object]] = {}
        self._paused_until = 0.0

    async def __call__(self, scope, receive, send) -> None:
        if (not self.enabled or scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path")
                or time.monotonic() < self._paused_until):
            await self.app(scope, receive, send)
            return
        read = _PublicRead.of(scope)
        if read is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        _, lookup = self._client()
        now = time.time()
        rate = _rate(read.scope)
        try:
            found = await lookup(  # type: ignore[operator]
                keys=[history_key(read.scope, read.ident), *read.version_keys],
                args=[cache_key("public-asgi:"), f".{version.period()}-{read.digest}",
                      *((repr(now), rate[1], rate[0], member(now)) if rate else ("", "", "", ""))],
            )
        except (redis.RedisError, OSError) as exc:
            self._pause(exc)
            await self.app(scope, receive, send)
            return
        if len(found) < 2:
            # Django answers (and counts the request); without a mirror (Redis restarted) it also writes that.
            missed = "no version" if not found else "no answer"
            await self.app({**scope, FAST_PATH_MISSED: missed}, receive, self._storing(send))
            return
        value, answer = found
        if answer is None:  # beyond the client's rate: DRF answers 429 (and says when to try again)
            await self.app(scope, receive, send)
            return
        etag = f'"{value.decode()}.{version.period()}-{read.digest}"'
        status, headers, body = pickle.loads(answer)
        if etag in _etags(read.if_none_match):
            status, body = 304, b""
            headers = [(name, value) for name, value in headers if name not in _NOT_IN_304]
        request_id_ = request_id(read.request_id)
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"x-request-id", request_id_.encode())]})
        await send({"type": "http.response.body", "body": body})
        log_request("GET", scope["path"], status, started)

    def _client(self) -> tuple[redis.asyncio.Redis, object]:
        # redis.asyncio's connections belong to the event loop they were made in: one client per loop.
        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is None:
            client = redis.asyncio.Redis.from_url(settings.REDIS_URL or "", socket_timeout=1, socket_connect_timeout=1)
            found = self._clients[loop] = (client, client.register_script(_LOOKUP))
        return found

    def _pause(self, exc: Exception) -> None:
        logger.warning("public read fast path: Redis failed (%s); Django answers for %s s", exc,
                       _PAUSE_AFTER_FAILURE_S)
        self._paused_until = time.monotonic() + _PAUSE_AFTER_FAILURE_S

    def _storing(self, send):
        """``send`` that also stores the answer, when ``PublicReadCacheMiddleware`` marked it, under its ETag."""
        mark = _STORE_MARK.lower().encode()
        state: dict = {"headers": None, "etag": "", "body": [], "size": 0}

        async def send_and_store(message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if message["status"] == 200 and any(name.lower() == mark for name, _ in headers):
                    kept = [(name.lower(), value) for name, value in headers if name.lower() != mark]
                    state["headers"] = [(name, value) for name, value in kept if name != b"x-request-id"]
                    state["etag"] = dict(kept).get(b"etag", b"").decode("latin-1").strip('"')
                    message = {**message, "headers": kept}
            elif message["type"] == "http.response.body" and state["headers"] is not None:
                state["body"].append(message.get("body", b""))
                state["size"] += len(message.get("body", b""))
                if state["size"] > _MAX_STORED_BYTES:
                    state["headers"] = None
                elif not message.get("more_body") and state["etag"]:
                    await send(message)
                    await self._store(state["etag"], (200, state["headers"], b"".join(state["body"])))
                    return
            await send(message)

        return send_and_store

    async def _store(self, etag: str, answer: tuple) -> None:
        client, _ = self._client()
        try:
            await client.set(cache_key("public-asgi:" + etag), pickle.dumps(answer, pickle.HIGHEST_PROTOCOL),
                             ex=CACHE_SECONDS)
        except (redis.RedisError, OSError) as exc:
            self._pause(exc)


@dataclass(frozen=True, slots=True)
class _PublicRead:
    """What the fast path needs of a request, if it is an anonymous read of a view marked ``PublicReadCache``."""

    scope: str
    ident: str | None
    digest: str
    version_keys: list[str]
    if_none_match: str
    request_id: str

    @classmethod
    def of(cls, scope) -> _PublicRead | None:
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in headers:  # a header sent twice: Django joins them its own way
                return None
            headers[name] = value
        if b"authorization" in headers:
            return None
        try:
            query = scope.get("query_string", b"").decode()
            cookies = parse_cookie(headers.get(b"cookie", b"").decode("latin-1"))
        except UnicodeDecodeError:
            return None
        if settings.SESSION_COOKIE_NAME in cookies or "api_key" in {name for name, _ in parse_qsl(query, True)}:
            return None
        marked = _cache_scope(scope["path"])
        if marked is None:
            return None
        read_scope, areas_of = marked
        areas = areas_of(dict(parse_qsl(query, keep_blank_values=True))) if areas_of else None
        accept = headers.get(b"accept", b"").decode("latin-1")
        language = _language(cookies.get(settings.LANGUAGE_COOKIE_NAME),
                             headers.get(b"accept-language", b"").decode("latin-1"))
        return cls(
            scope=read_scope,
            ident=scope["client"][0] if scope.get("client") else None,
            # As _key_and_etag computes it for Django's request.
            digest=_digest(scope.get("scheme", "http"), headers.get(b"host", b"").decode("latin-1"), scope["path"],
                           query, language, accept),
            version_keys=version.mirror_keys([version.ALL] if areas is None else [version.MAP_BASE, *areas]),
            if_none_match=headers.get(b"if-none-match", b"").decode("latin-1"),
            request_id=headers.get(b"x-request-id", b"").decode("latin-1"),
        )


@functools.lru_cache(maxsize=4096)
def _cache_scope(path: str) -> tuple[str, Callable[[Mapping[str, str]], list[int] | None] | None] | None:
    """The read-rate scope and the ``public_read_areas`` of the view at ``path``, if marked by PublicReadCache."""
    try:
        func = resolve(path).func
    except Resolver404:
        return None
    scope = getattr(func, "public_read_cache", None)
    return None if scope is None else (scope, getattr(func, "public_read_areas", None))


@functools.lru_cache(maxsize=512)
def _language(cookie: str | None, accept_language: str) -> str:
    cookies = {settings.LANGUAGE_COOKIE_NAME: cookie} if cookie is not None else {}
    request = SimpleNamespace(COOKIES=cookies, META={"HTTP_ACCEPT_LANGUAGE": accept_language})
    return translation.get_language_from_request(request)  # type: ignore[arg-type]  # reads only these two


def _rate(scope: str) -> tuple[int, int] | None:
    """The scope's number of requests and period (seconds), as ClientRateThrottle reads it; None: no limit."""
    rate = settings.API_RATES.get(scope)
    if rate is None:
        return None
    count, duration = ClientRateThrottle().parse_rate(rate)
    return (count, duration) if count is not None and duration is not None else None
