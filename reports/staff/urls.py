"""The staff web app, mounted at /staff/ (namespace "staff")."""

from django.urls import path

from reports.staff import sso, views

app_name = "staff"

urlpatterns = [
    path("", views.task_list, name="tasks"),
    path("karte/", views.task_map, name="map"),
    path("sammelaktion/", views.task_bulk, name="bulk"),
    path("export.csv", views.task_export, {"kind": "csv"}, name="export_csv"),
    path("export.xlsx", views.task_export, {"kind": "xlsx"}, name="export_xlsx"),
    path("karte/daten/", views.task_map_data, name="map_data"),
    path("login/", views.StaffLoginView.as_view(), name="login"),
    path("logout/", views.StaffLogoutView.as_view(), name="logout"),
    # Single sign-on (reports/staff/sso.py): the redirect URI to register at the provider is .../staff/sso/callback/
    path("sso/login/", sso.SignInStart.as_view(), name="sso_login"),
    path("sso/callback/", sso.SignInCallback.as_view(), name="sso_callback"),
    path("reports/<str:key>/", views.report_detail, name="report"),
    path("reports/<str:key>/transition/", views.report_transition, name="transition"),
    path("reports/<str:key>/answer/", views.report_answer, name="answer"),
    path("reports/<str:key>/note/", views.report_note, name="note"),
    path("reports/<str:key>/reassign/", views.report_reassign, name="reassign"),
    path("reports/<str:key>/photos/", views.report_photos, name="photos"),
    path("reports/<str:key>/photos/<int:photo_id>/hide/", views.report_hide_photo, name="hide_photo"),
    path("reports/<str:key>/photos/<int:photo_id>/show/", views.report_show_photo, name="show_photo"),
    path("reports/<str:key>/photos/<int:photo_id>/blur/", views.report_blur_area, name="blur_area"),
    path("reports/<str:key>/photos/<int:photo_id>/blur/clear/", views.report_clear_blur_areas,
         name="clear_blur_areas"),
    path("reports/<str:key>/redact/", views.report_redact, name="redact"),
    path("reports/<str:key>/comments/<int:event_id>/publish/", views.report_publish_comment, name="publish_comment"),
]
