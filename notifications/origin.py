"""Who may open a websocket, judged by the handshake's Origin header (ASGI middleware for backend.asgi).

- A foreign Origin (a host not in ALLOWED_HOSTS, or ``null``): refused at the handshake, whatever it
  carries. A page on another site must neither ride on a visitor's session cookie nor use our sockets.
- The site's own Origin: passed on unchanged (the staff web pages authenticate by their session).
- No Origin at all: a native app (the iOS and Android websocket clients send none), passed on WITHOUT
  its cookies. A browser always sends an Origin, so a session cookie arriving without one does not come
  from a page we trust; such a client proves itself by what it sends on purpose: a report's secret or a
  staff token.
"""

from __future__ import annotations

from channels.security.websocket import AllowedHostsOriginValidator


def has_origin(scope: dict) -> bool:
    return any(name == b"origin" for name, _value in scope.get("headers", []))


def without_cookies(scope: dict) -> dict:
    return {**scope, "headers": [(name, value) for name, value in scope.get("headers", []) if name != b"cookie"]}


class OriginPolicy:
    """Channels' allowed-hosts check for sockets with an Origin; cookie-less pass for sockets without one."""

    def __init__(self, application) -> None:
        self.application = application
        # Channels' matching of Origin against ALLOWED_HOSTS (ports, subdomain patterns, DEBUG defaults).
        self.same_site = AllowedHostsOriginValidator(application)

    async def __call__(self, scope: dict, receive, send):
        if has_origin(scope):
            return await self.same_site(scope, receive, send)  # type: ignore[arg-type]  # stubs: a private TypedDict
        return await self.application(without_cookies(scope), receive, send)
