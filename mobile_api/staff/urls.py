"""URLs of the staff API, mounted at /api/staff/."""

from django.urls import path

from mobile_api.staff import views

app_name = "staff-api"

urlpatterns = [
    path("auth/token/", views.TokenLogin.as_view(), name="token"),
    path("auth/token/revoke/", views.TokenLogout.as_view(), name="token-revoke"),
    path("departments/", views.Departments.as_view(), name="departments"),
    path("reports/", views.ReportList.as_view(), name="report-list"),
    path("reports/export.csv", views.Export.as_view(), name="report-export-csv"),
    path("reports/export.xlsx", views.Export.as_view(kind="xlsx"), name="report-export-xlsx"),
    path("reports/bulk/", views.Bulk.as_view(), name="report-bulk"),
    path("reports/<str:key>/", views.ReportDetail.as_view(), name="report-detail"),
    path("reports/<str:key>/transition/", views.Transition.as_view(), name="report-transition"),
    path("reports/<str:key>/answer/", views.Answer.as_view(), name="report-answer"),
    path("reports/<str:key>/notes/", views.Note.as_view(), name="report-note"),
    path("reports/<str:key>/reassign/", views.Reassign.as_view(), name="report-reassign"),
    path("reports/<str:key>/forward/", views.Forward.as_view(), name="report-forward"),
    path("reports/<str:key>/duplicate/", views.Duplicate.as_view(), name="report-duplicate"),
    path("reports/<str:key>/moderate/", views.Moderate.as_view(), name="report-moderate"),
    path("reports/<str:key>/photos/", views.Photos.as_view(), name="report-photos"),
    path("reports/<str:key>/photos/<int:photo_id>/hide/", views.PhotoVisibility.as_view(),
         name="report-photo-hide"),
    path("reports/<str:key>/photos/<int:photo_id>/show/", views.PhotoVisibility.as_view(show=True),
         name="report-photo-show"),
    path("reports/<str:key>/photos/<int:photo_id>/blur/", views.BlurArea.as_view(), name="report-photo-blur"),
    path("reports/<str:key>/photos/<int:photo_id>/blur/clear/", views.BlurArea.as_view(clear=True),
         name="report-photo-blur-clear"),
    path("reports/<str:key>/redact/", views.Redact.as_view(), name="report-redact"),
    path("reports/<str:key>/templates/", views.Templates.as_view(), name="report-templates"),
    path("reports/<str:key>/comments/<int:event_id>/publish/", views.PublishComment.as_view(),
         name="report-comment-publish"),
]
