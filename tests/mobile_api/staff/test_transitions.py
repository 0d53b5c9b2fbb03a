"""Every transition rule of the workflow, as staff meet it through POST …/transition/."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from reports.deadlines import due_at
from reports.models import Report
from tests.mobile_api.staff.conftest import Client, submit
from tests.notifications.delivery import run_worker

pytestmark = pytest.mark.django_db


def transition(client, report: dict, to: str, **body):
    return client.post(f"/api/staff/reports/{report['id']}/transition/", {"to": to, **body}, format="json")


def public_events(report: dict) -> list[dict]:
    return Client().get(f"/api/v1/reports/{report['id']}/events/").json()["events"]


def test_a_worker_works_a_report_from_new_to_fixed(hameln_report, worker):
    steps = [("acknowledged", "Danke!"), ("in_progress", "Wir kommen."), ("fixed", "Erledigt.")]

    bodies = [transition(worker, hameln_report, to, message=message) for to, message in steps]

    assert [b.status_code for b in bodies] == [200, 200, 200]
    final = bodies[-1].json()
    assert final["status"] == "fixed" and final["closed_at"] is not None
    assert final["allowed_transitions"] == []  # reopening is for leads
    changes = [
        (e["from_status"], e["to_status"], e["message"])
        for e in public_events(hameln_report)
        if e["kind"] == "status_changed"
    ]
    assert changes == [
        ("new", "acknowledged", "Danke!"),
        ("acknowledged", "in_progress", "Wir kommen."),
        ("in_progress", "fixed", "Erledigt."),
    ]


def test_a_transition_the_graph_does_not_have_is_a_409_naming_the_allowed_ones(hameln_report, lead):
    transition(lead, hameln_report, "fixed")

    response = transition(lead, hameln_report, "in_progress")

    assert response.status_code == 409
    body = response.json()
    assert body["errors"][0]["field"] == "to" and body["errors"][0]["code"] == "invalid_transition"
    assert body["allowed_transitions"] == ["reopened"]
    assert "reopened" in body["errors"][0]["message"]


@pytest.mark.parametrize("to", ["rejected", "forwarded", "reopened"])
def test_a_worker_may_not_reject_forward_or_reopen(hameln_report, worker, to):
    if to == "reopened":
        transition(worker, hameln_report, "fixed")

    response = transition(worker, hameln_report, to, message="Privatgrund", authority="hildesheim")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] in ("not_permitted", "invalid_transition")
    assert to not in response.json()["allowed_transitions"]


def test_rejecting_needs_a_public_reason(hameln_report, lead):
    without = transition(lead, hameln_report, "rejected")
    blank = transition(lead, hameln_report, "rejected", message="   ")
    with_reason = transition(lead, hameln_report, "rejected", message="Privatgrundstück.")

    assert without.status_code == 400 and without.json()["errors"][0]["field"] == "message"
    assert blank.status_code == 400
    assert with_reason.status_code == 200 and with_reason.json()["status"] == "rejected"


def test_an_unknown_status_is_a_400_naming_the_field(hameln_report, worker):
    response = transition(worker, hameln_report, "erledigt")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "to"


def test_a_lead_reopens_a_fixed_report_and_it_gets_a_new_due_date(hameln_report, lead):
    transition(lead, hameln_report, "fixed")
    # Submitted and reopened within seconds, both deadlines would end on the same day: make the old one long past.
    long_past = timezone.now() - timedelta(days=60)
    Report.objects.filter(public_id=hameln_report["id"]).update(due_at=long_past)
    report = Report.objects.select_related("category", "authority").get(public_id=hameln_report["id"])

    before = timezone.now()
    reopened = transition(lead, hameln_report, "reopened", message="Wieder aufgebrochen.").json()
    after = timezone.now()

    assert reopened["status"] == "reopened" and reopened["closed_at"] is None
    # The fresh deadline counts the category's working days from the moment of reopening.
    fresh = {due_at(moment, report.category.target_working_days, report.authority.ars) for moment in (before, after)}
    assert None not in fresh
    assert datetime.fromisoformat(reopened["due_at"]) in fresh
    assert "in_progress" in reopened["allowed_transitions"]


def test_a_duplicate_needs_its_original_and_hands_over_its_supporters(personas, worker):
    original = submit(description="Loch vor der Sparkasse")
    duplicate = submit(description="Loch schon wieder")
    for device in ("phone-0001", "phone-0002"):
        Client().post(f"/api/v1/reports/{duplicate['id']}/support/", {"device_id": device}, format="json")

    missing = transition(worker, duplicate, "duplicate")
    unknown = transition(worker, duplicate, "duplicate", duplicate_of="HM-2026-999999")
    itself = transition(worker, duplicate, "duplicate", duplicate_of=duplicate["reference"])
    done = transition(worker, duplicate, "duplicate", duplicate_of=original["reference"], message="Bereits gemeldet.")

    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "duplicate_of"
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "duplicate_of"
    assert itself.status_code == 400
    assert done.status_code == 200
    assert done.json()["status"] == "duplicate" and done.json()["duplicate_of"] == original["reference"]
    original_now = Client().get(f"/api/v1/reports/{original['id']}/").json()
    assert original_now["support_count"] == 3  # two supporters and the duplicate's reporter
    assert [e["kind"] for e in public_events(original)][-1] == "merged"


def test_a_hildesheim_report_cannot_be_named_as_the_original(hameln_report, hildesheim_report, worker):
    response = transition(worker, hameln_report, "duplicate", duplicate_of=hildesheim_report["reference"])

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "duplicate_of"


def test_forwarding_within_the_platform_moves_the_report_to_the_other_authority(hameln_report, lead, clerk):
    response = transition(
        lead, hameln_report, "forwarded", authority="hildesheim", message="Zuständig ist der Landkreis Hildesheim."
    )

    assert response.status_code == 200
    assert response.json()["moved"] is True
    assert lead.get(f"/api/staff/reports/{hameln_report['id']}/").status_code == 404
    moved = clerk.get(f"/api/staff/reports/{hameln_report['id']}/").json()
    assert moved["status"] == "new" and moved["authority"]["slug"] == "hildesheim"
    assert moved["department"]["slug"] == "bauhof-landkreis-hildesheim"
    assert any(e["kind"] == "forwarded" for e in public_events(hameln_report))


def test_forwarding_to_an_external_body_closes_the_report_as_forwarded(hameln_report, lead):
    from geo.models import Authority, AuthorityKind

    Authority.objects.create(
        name="Niedersächsische Landesbehörde für Straßenbau und Verkehr", slug="nlstbv", kind=AuthorityKind.EXTERNAL,
        email="poststelle@nlstbv.example",
    )
    Authority.objects.create(name="Ohne Adresse", slug="ohne-adresse", kind=AuthorityKind.EXTERNAL)

    no_address = lead.post(
        f"/api/staff/reports/{hameln_report['id']}/forward/", {"authority": "ohne-adresse"}, format="json"
    )
    response = lead.post(
        f"/api/staff/reports/{hameln_report['id']}/forward/",
        {"authority": "nlstbv", "message": "Landesstraße"},
        format="json",
    )

    assert no_address.status_code == 400 and no_address.json()["errors"][0]["field"] == "authority"
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "forwarded" and body["closed_at"] is not None
    forwarded = [e for e in body["events"] if e["kind"] == "forwarded"][0]
    assert forwarded["data"]["email"] == "poststelle@nlstbv.example" and forwarded["message"] == "Landesstraße"


def test_reassigning_stays_within_the_authority(hameln_report, worker, personas):
    from geo.models import Department

    gruen = Department.objects.create(
        authority=personas.bauhof_hameln.authority, slug="gruenflaechen-hameln", name="Grünflächenamt Hameln"
    )

    foreign = worker.post(
        f"/api/staff/reports/{hameln_report['id']}/reassign/",
        {"department": "bauhof-landkreis-hildesheim"},
        format="json",
    )
    same = worker.post(
        f"/api/staff/reports/{hameln_report['id']}/reassign/", {"department": "bauhof-hameln"}, format="json"
    )
    moved = worker.post(
        f"/api/staff/reports/{hameln_report['id']}/reassign/",
        {"department": gruen.slug, "note": "Baumsache"},
        format="json",
    )

    assert foreign.status_code == 400 and foreign.json()["errors"][0]["field"] == "department"
    assert same.status_code == 400
    assert moved.status_code == 200 and moved.json()["department"]["slug"] == "gruenflaechen-hameln"
    assert [e["kind"] for e in moved.json()["events"]][-2:] == ["reassigned", "internal_note"]


def test_a_closed_report_cannot_be_reassigned_or_moved(hameln_report, worker):
    transition(worker, hameln_report, "fixed")

    response = worker.patch(f"/api/staff/reports/{hameln_report['id']}/", {"category": "graffiti"}, format="json")

    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "closed"


def test_answers_and_notes_must_not_be_empty(hameln_report, worker):
    answer = worker.post(f"/api/staff/reports/{hameln_report['id']}/answer/", {"message": ""}, format="json")
    note = worker.post(f"/api/staff/reports/{hameln_report['id']}/notes/", {}, format="json")

    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "message"
    assert note.status_code == 400 and note.json()["errors"][0]["field"] == "note"


def test_a_fix_photo_goes_through_the_photo_pipeline_and_is_public(hameln_report, worker):
    with open("data/photos/02_jpeg_orient6_portrait_nogps.jpg", "rb") as photo:
        response = worker.post(
            f"/api/staff/reports/{hameln_report['id']}/photos/", {"photos": [photo]}, format="multipart"
        )
    not_a_photo = worker.post(
        f"/api/staff/reports/{hameln_report['id']}/photos/", {"photos": [_upload(b"not an image")]}, format="multipart"
    )

    assert response.status_code == 200
    photos = response.json()["photos"]
    assert [p["kind"] for p in photos] == ["fix"] and max(photos[0]["width"], photos[0]["height"]) <= 2048
    assert Client().get(f"/api/v1/reports/{hameln_report['id']}/").json()["photos"] == []  # not blurred yet
    run_worker()
    assert len(Client().get(f"/api/v1/reports/{hameln_report['id']}/").json()["photos"]) == 1
    assert not_a_photo.status_code == 400 and not_a_photo.json()["errors"][0]["field"] == "photos.0"


def _upload(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("x.jpg", content, content_type="image/jpeg")


def test_templates_are_offered_per_status_and_category_with_their_placeholders_filled(hameln_report, worker, personas):
    from geo.models import Category
    from reports.models import ResponseTemplate
    from tests.mobile_api.staff.conftest import staff_client

    ResponseTemplate.objects.create(
        title="Asphaltkolonne", status="in_progress", category=Category.objects.get(slug="schlagloch"),
        text="Die Asphaltkolonne kommt.", text_en="The asphalt crew is coming to {reference}.",
    )
    ResponseTemplate.objects.create(
        title="Nur Graffiti", status="in_progress", category=Category.objects.get(slug="graffiti"), text="x"
    )

    offered = worker.get(f"/api/staff/reports/{hameln_report['id']}/templates/?status=in_progress").json()["templates"]
    german = staff_client(personas.hameln_worker, "de").get(
        f"/api/staff/reports/{hameln_report['id']}/templates/?status=in_progress"
    )
    bad = worker.get(f"/api/staff/reports/{hameln_report['id']}/templates/?status=kaputt")

    reference = hameln_report["reference"]
    assert [t["text"] for t in offered] == [
        f"The asphalt crew is coming to {reference}.",
        f"Your report {reference} (Pothole / road damage) is scheduled; "
        "Bauhof Hameln will be on site in the next few days.",
    ]
    assert german.json()["templates"][1]["text"].startswith(
        f"Ihre Meldung {reference} (Schlagloch / Straßenschaden) ist eingeplant"
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "status"


def test_a_lead_releases_a_report_held_for_review_and_the_public_then_sees_it(personas, lead, worker):
    from geo.models import Authority

    Authority.objects.filter(slug="hameln").update(publishing_policy="after_review")
    report = submit(description="Sperrmüll am Wehr")
    assert Client().get(f"/api/v1/reports/{report['id']}/").status_code == 404

    by_worker = worker.post(f"/api/staff/reports/{report['id']}/moderate/", {"moderation": "published"}, format="json")
    released = lead.post(f"/api/staff/reports/{report['id']}/moderate/", {"moderation": "published"}, format="json")
    again = lead.post(f"/api/staff/reports/{report['id']}/moderate/", {"moderation": "published"}, format="json")

    assert by_worker.status_code == 400 and by_worker.json()["errors"][0]["code"] == "not_permitted"
    assert released.status_code == 200 and released.json()["moderation"] == "published"
    assert again.status_code == 400
    assert Client().get(f"/api/v1/reports/{report['id']}/").json()["description"] == "Sperrmüll am Wehr"
