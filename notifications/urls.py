"""Links in mails (mounted under /mail/ by backend/urls.py)."""

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("reopen/<str:token>/", views.reopen, name="reopen"),
    path("follow/<str:key>/", views.follow, name="follow"),
    path("follow-confirm/<str:token>/", views.follow_confirmation, name="follow-confirm"),
    path("unfollow/<str:token>/", views.unfollow_page, name="unfollow"),
]
