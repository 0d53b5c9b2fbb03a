"""Websocket URL routes, exported for backend.asgi."""

from django.urls import path

from notifications.consumers import MapConsumer, ReportConsumer, StaffConsumer

websocket_urlpatterns = [
    path("ws/map/", MapConsumer.as_asgi()),
    path("ws/reports/<uuid:public_id>/", ReportConsumer.as_asgi()),
    path("ws/staff/", StaffConsumer.as_asgi()),
]
