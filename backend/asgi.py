"""ASGI entry point: HTTP through Django, websockets through Channels.

Run with ``python -m backend.server``: uvicorn, believing forwarded headers only as the settings say (TRUSTED_PROXY).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
# Django must be set up before anything imports models (the websocket routes do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from backend.admission import Admission  # noqa: E402
from backend.metrics import RequestMetrics  # noqa: E402
from mobile_api.public_cache import PublicReadFastPath  # noqa: E402
from notifications.origin import OriginPolicy  # noqa: E402
from notifications.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Public reads stored in Redis answered without Django (mobile_api.public_cache); then at most so many
        # requests at work, a short queue, then a fast 503 (backend.admission); every request counted and timed,
        # refused ones too (backend.metrics).
        "http": RequestMetrics(PublicReadFastPath(Admission(django_asgi_app))),
        # A foreign Origin is refused; a native app without Origin is let in without cookies (notifications.origin).
        "websocket": OriginPolicy(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
