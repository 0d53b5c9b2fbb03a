"""Open311 GeoReport v2 (/open311/v2/): thin views over queries, representations and submission."""

from __future__ import annotations

import uuid
from typing import cast

from django.conf import settings
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo.models import Authority, Category
from mobile_api.models import Open311Client
from mobile_api.open311 import errors, queries, representations
from mobile_api.open311.errors import Open311Error
from mobile_api.open311.renderers import Document, JSONRenderer, XMLRenderer
from mobile_api.open311.submission import submit
from mobile_api.open311.throttling import ClientKeyThrottle
from mobile_api.public_cache import PublicReadCache
from reports.models import Report, Source

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this API last changed in a way clients should notice (discovery's changeset).
CHANGESET = "2026-12-06T00:00:00+00:00"


class BySuffix(DefaultContentNegotiation):
    """GeoReport chooses the format by the URL suffix alone; XML where there is none. An Accept header
    such as application/xml must not turn a request for requests.xml into a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = next((r for r in renderers if r.format == (format_suffix or "xml")), renderers[0])
        return renderer, renderer.media_type


@extend_schema(exclude=True)  # GeoReport v2 has its own specification; it is not part of the citizen API's schema
class Open311View(APIView):
    authentication_classes: list = []
    renderer_classes = [XMLRenderer, JSONRenderer]  # XML first: the format the spec requires
    parser_classes = [FormParser, MultiPartParser]
    content_negotiation_class = BySuffix
    metadata_class = None  # OPTIONS is no part of GeoReport: 405 in the spec's error format

    def initial(self, request: Request, *args, **kwargs) -> None:
        # Scopes of backend.throttling, shared with the citizen API; a POST with a valid api_key counts
        # against that key's own budget instead (get_throttles).
        self.throttle_scope = "submit" if request.method == "POST" else "read"
        self.client: Open311Client | None = None
        super().initial(request, *args, **kwargs)

    def check_throttles(self, request: Request) -> None:
        # After content negotiation: a body the parsers refuse is answered in the format the URL asked for.
        if request.method == "POST":
            data = cast(QueryDict, request.data)  # form parsers only (parser_classes): never a JSON list
            self.client = Open311Client.objects.authenticate(str(data.get("api_key", "")))
        super().check_throttles(request)

    def get_throttles(self):
        if self.client is not None:
            return [ClientKeyThrottle(self.client)]
        return super().get_throttles()

    def get_exception_handler(self):
        return errors.exception_handler

    def extensions(self) -> bool:
        return self.request.query_params.get("extensions", "").lower() == "true"


class Discovery(PublicReadCache, Open311View):
    def get(self, request: Request, format: str | None = None) -> Response:
        return Response(Document("discovery", {
            "changeset": CHANGESET,
            "contact": settings.DEFAULT_FROM_EMAIL,
            "key_service": _("Ask the operator of this installation for an API key."),
            "endpoints": [{
                "specification": SPECIFICATION,
                "url": request.build_absolute_uri(reverse("open311:root")).rstrip("/"),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }],
        }))


class ServiceList(PublicReadCache, Open311View):
    def get(self, request: Request, format: str | None = None) -> Response:
        queries.jurisdiction(request.query_params)
        categories = Category.objects.filter(active=True).prefetch_related("questions")
        services = [representations.service(category) for category in categories]
        return Response(Document("services", services))


class ServiceDefinition(PublicReadCache, Open311View):
    def get(self, request: Request, service_code: str, format: str | None = None) -> Response:
        queries.jurisdiction(request.query_params)
        category = Category.objects.filter(slug=service_code, active=True).prefetch_related("questions").first()
        if category is None:
            raise Open311Error(404, _("service_code %(code)s was not found.") % {"code": service_code})
        return Response(Document("service_definition", representations.service_definition(category)))


class ServiceRequests(PublicReadCache, Open311View):
    def get(self, request: Request, format: str | None = None) -> Response:
        params = request.query_params
        authority = queries.jurisdiction(params)
        extensions = self.extensions()
        requests, page = queries.filter_requests(queries.visible_requests(extensions=extensions), params)
        if authority is not None:
            requests = requests.filter(authority__in=Authority.objects.filter(pk=authority.pk).with_descendants())
        items = [representations.service_request(r, request, extensions=extensions) for r in page.slice(requests)]
        return Response(Document("service_requests", items))

    def post(self, request: Request, format: str | None = None) -> Response:
        data = cast(QueryDict, request.data)  # form parsers only (parser_classes): never a JSON list
        client = self.client
        if client is None:
            raise Open311Error(403, _("api_key is missing or not valid."))
        authority = queries.jurisdiction(data)
        report = submit(data=data, files=request.FILES, client=client, jurisdiction=authority)
        return Response(Document("service_requests", [representations.created_request(report)]), status=201)


class ServiceRequest(PublicReadCache, Open311View):
    def get(self, request: Request, service_request_id: str, format: str | None = None) -> Response:
        authority = queries.jurisdiction(request.query_params)
        requests = queries.visible_requests(extensions=self.extensions())
        if authority is not None:
            requests = requests.filter(authority__in=Authority.objects.filter(pk=authority.pk).with_descendants())
        report = requests.filter(reference=service_request_id).first()
        if report is None:
            raise Open311Error(404, _("service_request_id %(id)s was not found.") % {"id": service_request_id})
        item = representations.service_request(report, request, extensions=self.extensions())
        return Response(Document("service_requests", [item]))


class Token(Open311View):
    def get(self, request: Request, token: str, format: str | None = None) -> Response:
        queries.jurisdiction(request.query_params)
        try:
            public_id = uuid.UUID(token)
        except ValueError:
            public_id = None
        report = Report.objects.filter(public_id=public_id, source=Source.OPEN311).first() if public_id else None
        if report is None:
            raise Open311Error(404, _("token %(token)s was not found.") % {"token": token})
        return Response(Document("service_requests", [representations.token(report)]))


class UnknownResource(Open311View):
    """Anything else under /open311/v2/ answers in the spec's error format, not with an HTML page."""

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise Open311Error(404, _("There is no such Open311 resource."))

    get = post = http_method_not_allowed
