"""What every page's template may need from notifications: the VAPID public key, "" while Web Push is off."""

from __future__ import annotations

from django.http import HttpRequest

from notifications.webpush import public_key


def web_push(request: HttpRequest) -> dict[str, str]:
    return {"web_push_key": public_key()}
