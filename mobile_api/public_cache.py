"""Public read answers from the shared cache, with ``ETag`` and ``304 Not Modified``.

The public map, statistics, categories, nearby reports and Open311's GET answers are the same for every
client that asks the same URL in the same language. Such an answer is stored in Django's cache (Redis in
production, local memory embedded) under the version of the public data (``reports.publicdata.version``),
which every change replaces after its commit: a new report is in the very next answer, and nothing has to be
deleted. The version and the request give the ``ETag`` before anything is computed, so a client that has the
answer already gets ``304`` for one primary-key lookup.

Never from or into the cache: anything but GET and HEAD, a request with credentials (``Authorization``, a
session cookie, an Open311 ``api_key``) — those pass to the view untouched — and any answer but a 200 without
cookies. Hits count against the client's read rate like any other request; a client beyond it is handed to
the view, which answers 429.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.http import parse_etags

from backend.throttling import ClientRateThrottle
from reports.publicdata import version

# Entries outlive one period of the version (which is in their key) and are never served after it.
CACHE_SECONDS = 2 * version.PERIOD_SECONDS
# Clients may keep an answer but must ask again (If-None-Match) before they use it.
CACHE_CONTROL = "no-cache"
# Not stored with an answer: what belongs to one request (the middleware further out sets its own).
_NOT_STORED = frozenset({"set-cookie", "x-request-id", "etag", "cache-control"})


class PublicReadCacheMiddleware:
    """Early in ``MIDDLEWARE``, before sessions, CSRF, authentication and messages: an answer from the cache
    (or a 304) costs none of their work, nor DRF's. Only views marked by ``PublicReadCache`` are concerned."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if not _anonymous_read(request):
            return self.get_response(request)
        try:
            scope = getattr(resolve(request.path_info).func, "public_read_cache", None)
        except Resolver404:
            scope = None
        if scope is None:
            return self.get_response(request)
        # The language as LocaleMiddleware, further in, will choose it.
        language = translation.get_language_from_request(request)
        key, etag = _key_and_etag(request, version.current(), language)
        if etag in _etags(request.headers.get("If-None-Match", "")):
            if _throttled(request, scope):
                return self.get_response(request)  # the view answers 429
            return _not_modified(etag)
        stored = cache.get(key)
        if stored is not None:
            if _throttled(request, scope):
                return self.get_response(request)
            return _from_cache(stored, etag)
        response = self.get_response(request)
        if response.status_code == 200 and not response.streaming and not response.cookies:
            response["ETag"] = etag
            response["Cache-Control"] = CACHE_CONTROL
            cache.set(key, _stored(response), CACHE_SECONDS)
        return response


class PublicReadCache:
    """Mixin for APIViews whose GET answers are the same for every anonymous client: marks the view for
    ``PublicReadCacheMiddleware`` (which counts its hits against the view's read rate)."""

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        view.public_read_cache = "read"
        return view


def _anonymous_read(request: HttpRequest) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and "Authorization" not in request.headers
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "api_key" not in request.GET
    )


def _key_and_etag(request: HttpRequest, current: str, language: str) -> tuple[str, str]:
    # Everything an answer depends on besides the data: the URL as sent, the language and the formats the
    # client takes (the citizen API negotiates by Accept, Open311 by the URL's suffix).
    identity = "\n".join(
        (request.path, request.META.get("QUERY_STRING", ""), language, request.headers.get("Accept", ""))
    )
    digest = hashlib.blake2b(identity.encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()
    return f"public:{current}:{digest}", f'"{current}-{digest}"'


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
