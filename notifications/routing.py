"""Websocket URL routes, exported for backend.asgi."""

from django.urls import path

from notifications.consumers import MapConsumer

websocket_urlpatterns = [
    path("ws/map/", MapConsumer.as_asgi()),
]
