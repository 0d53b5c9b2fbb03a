"""The public web pages, mounted at the site root (German paths: the site is German first)."""

from django.urls import path

from reports.site import views

app_name = "public"

urlpatterns = [
    path("", views.map_page, name="map"),
    path("meldungen/", views.report_list, name="list"),
    path("meldungen/<str:key>/", views.report_detail, name="detail"),
    path("meldungen/<str:key>/unterstuetzen/", views.report_support_page, name="support"),
    path("meldungen/<uuid:public_id>/vorschau/", views.report_preview, name="preview"),
    path("melden/", views.report_new, name="new"),
    path("melden/adresse/", views.address_search, name="address-search"),
    path("melden/gesendet/", views.report_submitted, name="submitted"),
    path("melden/entwurf/<str:draft>/<int:number>.jpg", views.draft_photo, name="draft-photo"),
    path("statistik/", views.statistics_page, name="statistics"),
]
