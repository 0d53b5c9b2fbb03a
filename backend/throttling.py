"""Rate limits per client address for the public APIs: 429 with Retry-After when exceeded.

The rule is DRF's (``SimpleRateThrottle``): at most N requests within the last period, a refused request is not
counted, Retry-After says when the oldest counted one leaves the period. Where Redis is the cache, the moments
are a sorted set, checked and added to by one script (``ALLOW_LUA``) in one round trip, whatever the rate; the
fast path for public reads (``mobile_api.public_cache``) runs the same script. Otherwise (the embedded default)
DRF keeps the list of moments in the process' cache.
"""

from __future__ import annotations

import math
import os

from django.conf import settings
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from backend.cache import cache_key, redis_script

# A Lua function: drops the moments older than the period, then adds ``now`` if fewer than ``limit`` are left.
# Returns 1 when the request is allowed, else the oldest moment (a string) for Retry-After.
ALLOW_LUA = """
local function allow(key, now, duration, limit, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - duration)
  if redis.call('ZCARD', key) >= limit then
    return redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]
  end
  redis.call('ZADD', key, now, member)
  redis.call('EXPIRE', key, math.ceil(duration))
  return 1
end
"""
_ALLOW = ALLOW_LUA + "return allow(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4])"


def history_key(scope: str, ident: str | None) -> str:
    """The key of a client's moments in one scope (prefixed like every cache key)."""
    return cache_key(f"rate:{scope}:{ident}")


def member(now: float) -> str:
    """A sorted set member for the moment ``now``: unique, so that two requests at the same moment both count."""
    return f"{now:.6f}:{os.urandom(4).hex()}"


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
        self.wait_s: float | None = None
        if self.scope is None or self.scope not in settings.API_RATES:
            return True
        self.rate = settings.API_RATES[self.scope]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        script = redis_script(_ALLOW)
        if script is None:
            return super().allow_request(request, view)
        now = self.timer()
        try:
            answer = script(
                keys=[history_key(self.scope, self.get_ident(request))],
                args=[repr(now), self.duration, self.num_requests, member(now)],
            )
        except RedisError:
            return True  # fails open, as the cache does
        if answer == 1:
            return True
        self.wait_s = max(0.0, (self.duration or 0) - (now - float(answer)))
        return False

    def wait(self) -> float | None:
        return self.wait_s if self.wait_s is not None else super().wait()

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
