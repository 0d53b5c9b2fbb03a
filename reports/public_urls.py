"""The public web pages, mounted at the site root (German paths: the site is German first)."""

from django.urls import path

from reports import public_views

app_name = "public"

urlpatterns = [
    path("", public_views.map_page, name="map"),
    path("meldungen/", public_views.report_list, name="list"),
    path("meldungen/<str:key>/", public_views.report_detail, name="detail"),
    path("melden/", public_views.report_new, name="new"),
    path("melden/adresse/", public_views.address_search, name="address-search"),
    path("melden/gesendet/", public_views.report_submitted, name="submitted"),
    path("statistik/", public_views.statistics_page, name="statistics"),
]
