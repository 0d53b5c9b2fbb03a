"""Websocket URL routes, exported for backend.asgi."""

from django.urls import path, re_path

from notifications.consumers import MapConsumer, NotFoundConsumer, ReportConsumer, StaffConsumer

websocket_urlpatterns = [
    path("ws/map/", MapConsumer.as_asgi()),
    # Any id reaches the consumer, which closes a malformed one like an unknown one (4404), not the router (500).
    path("ws/reports/<str:public_id>/", ReportConsumer.as_asgi()),
    path("ws/staff/", StaffConsumer.as_asgi()),
    # Last: every other path is closed with 4404 instead of failing in the router with a traceback.
    re_path(r"^", NotFoundConsumer.as_asgi()),
]
