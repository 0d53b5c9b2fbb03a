from django.urls import path, re_path

from mobile_api.open311 import update_views, views

app_name = "open311"

_FORMAT = r"\.(?P<format>xml|json)"

urlpatterns = [
    path("", views.UnknownResource.as_view(), name="root"),
    re_path(rf"^discovery{_FORMAT}$", views.Discovery.as_view(), name="discovery"),
    re_path(rf"^services{_FORMAT}$", views.ServiceList.as_view(), name="services"),
    re_path(rf"^services/(?P<service_code>[-\w]+){_FORMAT}$", views.ServiceDefinition.as_view(), name="service"),
    re_path(rf"^requests{_FORMAT}$", views.ServiceRequests.as_view(), name="requests"),
    re_path(rf"^requests/(?P<service_request_id>[^/]+?){_FORMAT}$", views.ServiceRequest.as_view(), name="request"),
    re_path(rf"^servicerequestupdates{_FORMAT}$", update_views.ServiceRequestUpdates.as_view(), name="updates"),
    re_path(rf"^tokens/(?P<token>[^/]+?){_FORMAT}$", views.Token.as_view(), name="token"),
    re_path(rf"^.*?(?:{_FORMAT})?$", views.UnknownResource.as_view(), name="unknown"),
]
