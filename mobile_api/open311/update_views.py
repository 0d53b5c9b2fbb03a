"""/servicerequestupdates.{xml,json}: thin views over updates, representations and reports.services."""

from __future__ import annotations

from typing import cast

from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.response import Response

from geo.models import Authority
from mobile_api.models import Open311Client
from mobile_api.open311 import queries, representations, updates
from mobile_api.open311.errors import Open311Error
from mobile_api.open311.media import media_urls, schedule_media_fetch
from mobile_api.open311.renderers import Document
from mobile_api.open311.statuses import REOPEN_REQUESTS
from mobile_api.open311.submission import uploaded_files
from mobile_api.open311.views import Open311View
from reports.models import Source
from reports.photos import inspected_photos
from reports.services import report_comment


class ServiceRequestUpdates(Open311View):
    def get(self, request: Request, format: str | None = None) -> Response:
        params = request.query_params
        authority = queries.jurisdiction(params)
        # FixMyStreet sends its api_key with every request (empty without one): a read needs none.
        reader = Open311Client.objects.authenticate(params.get("api_key", "").strip())
        events, page = updates.public_updates(params, authority=authority, reader=reader)
        shown = list(page.slice(events))
        photos = updates.public_photo_urls(shown)
        items = [
            representations.service_request_update(
                event, request, description=updates.description(event),
                media_path=updates.first_photo_path(event, photos),
            )
            for event in shown
        ]
        return Response(Document("service_requests_updates", items))

    def post(self, request: Request, format: str | None = None) -> Response:
        data = cast(QueryDict, request.data)  # form parsers only (parser_classes): never a JSON list
        client = Open311Client.objects.authenticate(str(data.get("api_key", "")))
        if client is None:
            raise Open311Error(403, _("api_key is missing or not valid."))
        authority = queries.jurisdiction(data)
        form = updates.UpdateInput(data=data)
        if not form.is_valid():
            raise Open311Error(400, *(f"{field}: {message}" for field, messages in form.errors.items()
                                      for message in messages))
        fields = form.validated_data
        urls = media_urls(data)
        uploads = uploaded_files(request.FILES)
        if not fields["description"] and not urls and not uploads:
            raise Open311Error(400, _("description is required unless a photo or media_url is sent."))
        reports = queries.visible_requests()
        if authority is not None:
            reports = reports.filter(authority__in=Authority.objects.filter(pk=authority.pk).with_descendants())
        report = reports.filter(reference=fields["service_request_id"]).first()
        if report is None:
            raise Open311Error(
                404, _("service_request_id %(id)s was not found.") % {"id": fields["service_request_id"]}
            )
        result = report_comment(
            report=report, message=fields["description"], photos=inspected_photos(uploads),
            author_name=form.author_name, author_email=fields["email"], source=Source.OPEN311,
            sender=updates.sender_of(client), client_ref=fields["update_id"], media_urls=urls,
            reopen=fields["status"] in REOPEN_REQUESTS, sent_at=fields["sent_at"],
        )
        if not result.replayed:
            for url in urls:
                schedule_media_fetch(report, url, client, comment=result.event)
        client.mark_used()
        return Response(Document("service_request_updates", [representations.created_update(result.event)]),
                        status=201)
