"""Each Open311 API key sends against its own budget (Open311Client.submissions_per_hour).

A city system such as FixMyStreet forwards the reports of many citizens from one address; sharing the
per-address limit of the citizen API would stop it after a few dozen reports, and two clients behind one
gateway would eat each other's budget. POSTs with a valid key count against the key; POSTs without one keep
the per-address budget (backend.throttling), so guessing keys stays as slow as submitting without one.
"""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from mobile_api.models import Open311Client

HOUR = 3600


class ClientKeyThrottle(SimpleRateThrottle):
    cache_format = "throttle_open311_client_%(ident)s"

    def __init__(self, client: Open311Client) -> None:  # the rate is the client's, read per request
        self.client = client
        self.rate = f"{client.submissions_per_hour}/hour"
        self.num_requests, self.duration = client.submissions_per_hour, HOUR

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"ident": self.client.pk}

    def allow_request(self, request, view) -> bool:
        if self.num_requests == 0:  # a key an operator has stopped from sending
            self.history, self.now = [], self.timer()
            return False
        return super().allow_request(request, view)

    def wait(self) -> float | None:
        if self.num_requests == 0:
            return float(HOUR)
        return super().wait()
