"""URL configuration: wires the apps together; no business rules here."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backend import health, metrics
from backend.admin_login import admin_login
from notifications import alert_views
from reports import media

admin.site.site_header = "OpenMelder"
admin.site.site_title = "OpenMelder"
admin.site.site_url = "/"  # "View site" leads to the public map

handler400 = "backend.api_errors.bad_request"
handler404 = "backend.api_errors.not_found"
handler500 = "backend.api_errors.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Before the admin's own URLs: its login form counts against the login budget (backend/admin_login.py).
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/alerts/", alert_views.alerts_api, name="alerts-api"),  # area alerts for apps (notifications)
    path("api/v1/", include("mobile_api.v1.urls")),
    path("mail/", include("notifications.urls")),
    path("push/", include("notifications.push_urls")),
    path("open311/v2/", include("mobile_api.open311.urls")),
    path("api/staff/", include("mobile_api.staff.urls")),
    path("staff/", include("reports.staff.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("reports.site.urls")),
]

# Always routed: whether and how Django delivers media (SERVE_MEDIA, MEDIA_ACCEL_REDIRECT) and who may see a
# photo are decided per request in reports.media, so a hidden report's photos are never a plain static file.
urlpatterns += [
    re_path(r"^media/(?P<path>.*)$", media.serve_photo, name="media"),
]
