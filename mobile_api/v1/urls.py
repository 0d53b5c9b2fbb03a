from django.urls import path

from mobile_api.v1 import public, views

app_name = "api-v1"

urlpatterns = [
    path("categories/", views.CategoryList.as_view(), name="categories"),
    path("reports/", views.ReportCreate.as_view(), name="report-create"),
    path("reports/nearby/", views.ReportsNearby.as_view(), name="reports-nearby"),
    path("reports/<uuid:public_id>/", views.ReportDetail.as_view(), name="report-detail"),
    path("reports/<uuid:public_id>/events/", views.ReportEvents.as_view(), name="report-events"),
    path("reports/<uuid:public_id>/personal-data/", views.PersonalData.as_view(), name="report-personal-data"),
    path("reports/<uuid:public_id>/support/", views.ReportSupport.as_view(), name="report-support"),
    path("reports/<uuid:public_id>/push/", views.PushEndpoint.as_view(), name="report-push"),
    path("map/", public.MapView.as_view(), name="map"),
    path("stats/", public.StatsView.as_view(), name="stats"),
    path("export.csv", public.ExportCSV.as_view(), name="export-csv"),
    path("export.geojson", public.ExportGeoJSON.as_view(), name="export-geojson"),
]
