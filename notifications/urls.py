"""Links in mails (mounted under /mail/ by backend/urls.py)."""

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("reopen/<str:token>/", views.reopen, name="reopen"),
]
