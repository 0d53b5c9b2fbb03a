"""Rate limits per client address for the public APIs: 429 with Retry-After when exceeded."""

from __future__ import annotations

import math

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import SimpleRateThrottle


class ClientRateThrottle(SimpleRateThrottle):
    """Limits requests per client address and scope (a view's ``throttle_scope``).

    Rates come from ``settings.API_RATES`` when a request is checked, not when the class is
    loaded, so deployments (and tests) can change them.

    The client address is ``REMOTE_ADDR`` only (``NUM_PROXIES`` is 0): the web server puts the
    forwarded address there when, and only when, the request came from a trusted proxy
    (backend/server.py), so a forged ``X-Forwarded-For`` never opens a fresh budget.
    """

    def __init__(self) -> None:  # the base class reads the rate here; we read it per request
        pass

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, "throttle_scope", None)
        if self.scope is None or self.scope not in settings.API_RATES:
            return True
        self.rate = settings.API_RATES[self.scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class _LoginForms:
    """Every way to try a password (staff web app, token login, admin) shares the "login" scope, so
    the guesses of one client address count against one budget wherever they are made."""

    throttle_scope = "login"


def login_attempt_wait(request: HttpRequest) -> int | None:
    """Counts one login attempt against the client address' budget.

    None while the budget lasts; beyond it, the seconds until the next attempt may be made
    (for ``Retry-After``). A refused attempt is not checked at all, not even a right password:
    otherwise a guesser would learn from the answer which password was right.
    """
    throttle = ClientRateThrottle()
    if throttle.allow_request(request, _LoginForms):
        return None
    return max(1, math.ceil(throttle.wait() or 1))
