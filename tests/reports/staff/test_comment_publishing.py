"""Staff publish a citizen's comment held for review, in the staff web app and through the staff API.

Publishing appends a public copy of the comment (the held event stays as it was); only staff of the
report's authority may do it, and only once.
"""

from __future__ import annotations

import re

import pytest

from geo.models import Authority, PublishingPolicy
from reports import services
from reports.models import EventKind, Report, ReportEvent, Source
from tests.mobile_api.staff.conftest import staff_client
from tests.reports.staff.test_staff_pages import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def held_comment(hameln_report) -> ReportEvent:
    report = Report.objects.get(reference=hameln_report["reference"])
    Authority.objects.filter(pk=report.authority_id).update(publishing_policy=PublishingPolicy.AFTER_REVIEW)
    result = services.report_comment(
        report=report, message="Immer noch gefährlich", author_name="Erika Mustermann",
        author_email="erika@example.org", source=Source.OPEN311, sender="test", client_ref="1",
    )
    assert result.event.is_public is False and result.event.data["pending_review"] is True
    return result.event


def public_comments(event: ReportEvent) -> list[str]:
    return list(ReportEvent.objects.filter(report=event.report_id, kind=EventKind.COMMENT, is_public=True)
                .values_list("message", flat=True))


def test_a_worker_publishes_a_held_comment_from_the_reports_history(personas, held_comment):
    browser = logged_in(personas.hameln_worker)
    page = f"/staff/reports/{held_comment.report.reference}/"
    shown = re.sub(r"\s+", " ", browser.get(page).content.decode())
    assert "awaiting review" in shown and "Erika Mustermann &lt;erika@example.org&gt;" in shown
    action = f"/staff/reports/{held_comment.report.reference}/comments/{held_comment.pk}/publish/"
    assert f'action="{action}"' in shown

    response = browser.post(action, follow=True)
    assert response.status_code == 200
    after = re.sub(r"\s+", " ", response.content.decode())
    assert "Comment published." in after and f'action="{action}"' not in after
    assert "Published after review" in after
    assert public_comments(held_comment) == ["Immer noch gefährlich"]
    held_comment.refresh_from_db()
    assert held_comment.is_public is False  # append-only: the held event is unchanged


def test_staff_of_another_authority_cannot_publish(personas, held_comment):
    action = f"/staff/reports/{held_comment.report.reference}/comments/{held_comment.pk}/publish/"
    assert logged_in(personas.hildesheim_clerk).post(action).status_code == 404
    api = staff_client(personas.hildesheim_clerk)
    response = api.post(f"/api/staff/reports/{held_comment.report.reference}/comments/{held_comment.pk}/publish/")
    assert response.status_code == 404
    assert public_comments(held_comment) == []


def test_the_staff_api_publishes_once(personas, held_comment):
    api = staff_client(personas.hameln_worker)
    url = f"/api/staff/reports/{held_comment.report.reference}/comments/{held_comment.pk}/publish/"
    first = api.post(url)
    assert first.status_code == 200, first.content
    published = [e for e in first.json()["events"] if e["kind"] == "comment" and e["is_public"]]
    assert [(e["message"], e["data"]["published_from"]) for e in published] == [
        ("Immer noch gefährlich", held_comment.pk)]
    again = api.post(url)
    assert again.status_code == 400
    assert again.json()["errors"][0]["code"] == "published"
    assert public_comments(held_comment) == ["Immer noch gefährlich"]


def test_only_held_comments_can_be_published(personas, hameln_report):
    report = Report.objects.get(reference=hameln_report["reference"])
    public = services.report_comment(report=report, message="Danke", source=Source.OPEN311).event
    api = staff_client(personas.hameln_worker)
    response = api.post(f"/api/staff/reports/{report.reference}/comments/{public.pk}/publish/")
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "public"
    created = report.events.get(kind=EventKind.CREATED)
    assert api.post(f"/api/staff/reports/{report.reference}/comments/{created.pk}/publish/").status_code == 404
