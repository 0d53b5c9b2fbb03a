"""URLs of the staff API, mounted at /api/staff/."""

from django.urls import path

from reports import api

app_name = "staff-api"

urlpatterns = [
    path("auth/token/", api.TokenLogin.as_view(), name="token"),
    path("auth/token/revoke/", api.TokenLogout.as_view(), name="token-revoke"),
    path("departments/", api.Departments.as_view(), name="departments"),
    path("reports/", api.ReportList.as_view(), name="report-list"),
    path("reports/<str:key>/", api.ReportDetail.as_view(), name="report-detail"),
    path("reports/<str:key>/transition/", api.Transition.as_view(), name="report-transition"),
    path("reports/<str:key>/answer/", api.Answer.as_view(), name="report-answer"),
    path("reports/<str:key>/notes/", api.Note.as_view(), name="report-note"),
    path("reports/<str:key>/reassign/", api.Reassign.as_view(), name="report-reassign"),
    path("reports/<str:key>/forward/", api.Forward.as_view(), name="report-forward"),
    path("reports/<str:key>/duplicate/", api.Duplicate.as_view(), name="report-duplicate"),
    path("reports/<str:key>/moderate/", api.Moderate.as_view(), name="report-moderate"),
    path("reports/<str:key>/photos/", api.Photos.as_view(), name="report-photos"),
    path("reports/<str:key>/templates/", api.Templates.as_view(), name="report-templates"),
]
