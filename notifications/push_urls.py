"""Web Push for browsers (mounted under /push/ by backend/urls.py)."""

from django.urls import path

from notifications import push_views

app_name = "push"

urlpatterns = [
    path("sw.js", push_views.service_worker, name="service-worker"),
    path("reports/<uuid:public_id>/", push_views.BrowserSubscription.as_view(), name="subscription"),
]
