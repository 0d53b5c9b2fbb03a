"""Links in mails, and the pages of following and area alerts (mounted under /mail/ by backend/urls.py)."""

from django.urls import path

from notifications import alert_views, views

app_name = "notifications"

urlpatterns = [
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("reopen/<str:token>/", views.reopen, name="reopen"),
    path("follow/<str:key>/", views.follow, name="follow"),
    path("follow-confirm/<str:token>/", views.follow_confirmation, name="follow-confirm"),
    path("unfollow/<str:token>/", views.unfollow_page, name="unfollow"),
    path("alerts/", alert_views.alerts, name="alerts"),
    path("alert-confirm/<str:token>/", alert_views.alert_confirmation, name="alert-confirm"),
    path("alert-stop/<str:token>/", alert_views.alert_unsubscribe_page, name="alert-unsubscribe"),
]
