"""The public web pages, mounted at the site root (German paths: the site is German first)."""

from django.urls import path, re_path

from reports.site import feeds, views

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
    # Atom and RSS (reports/site/feeds.py): all reports, by Gemeinde (slug or AGS), by category, one report.
    re_path(r"^feeds/meldungen/(?P<fmt>atom|rss)/$", feeds.all_reports_feed, name="feed"),
    re_path(r"^feeds/meldungen/(?P<key>[^/]+)/(?P<fmt>atom|rss)/$", feeds.report_feed, name="feed-report"),
    re_path(r"^feeds/gemeinden/(?P<key>[^/]+)/(?P<fmt>atom|rss)/$", feeds.authority_feed, name="feed-authority"),
    re_path(r"^feeds/kategorien/(?P<key>[^/]+)/(?P<fmt>atom|rss)/$", feeds.category_feed, name="feed-category"),
]
