"""Rate limits per client address for the public APIs: 429 with Retry-After when exceeded."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ClientRateThrottle(SimpleRateThrottle):
    """Limits requests per client address and scope (a view's ``throttle_scope``).

    Rates come from ``settings.API_RATES`` when a request is checked, not when the class is
    loaded, so deployments (and tests) can change them.
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
