"""Web Push for browsers (mounted under /push/ by backend/urls.py): the service worker, and the endpoint the
page's script (notifications/static/notifications/push.js) registers a browser's subscription with.

The service worker is served from /push/sw.js, so its scope is /push/: it controls no page (it has no fetch
handler), it only shows the notifications and opens the report's page when one is clicked. The subscription
endpoint is a JSON API without accounts, like "me too": CSRF does not apply (no session is used), the
throttle of the support action does.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.following import followable_reports
from notifications.models import PushSource
from notifications.webpush import PushDisabled, push_enabled, push_subscribe, push_unsubscribe

SERVICE_WORKER_SCOPE = "/push/"


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        render_to_string("notifications/push/sw.js"), content_type="text/javascript; charset=utf-8"
    )
    # Browsers check a service worker for updates at least daily; never serve a stale one from a cache.
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = SERVICE_WORKER_SCOPE
    return response


class BrowserSubscription(APIView):
    """Push messages about a published report to this browser: POST its subscription, DELETE to stop."""

    authentication_classes: list = []
    parser_classes = [JSONParser]
    throttle_scope = "support"

    def _report(self, public_id: uuid.UUID):
        if not push_enabled():
            raise PushDisabled()
        return get_object_or_404(followable_reports(), public_id=public_id)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT})
    def post(self, request: Request, public_id: uuid.UUID) -> Response:
        report = self._report(public_id)
        _subscription, created = push_subscribe(
            report=report, data=request.data, source=PushSource.BROWSER, language=request.LANGUAGE_CODE
        )
        return Response({"subscribed": True}, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={204: None})
    def delete(self, request: Request, public_id: uuid.UUID) -> Response:
        report = self._report(public_id)
        data = request.data if isinstance(request.data, dict) else {}
        push_unsubscribe(report=report, endpoint=data.get("endpoint"))
        return Response(status=status.HTTP_204_NO_CONTENT)
