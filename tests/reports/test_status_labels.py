"""Status labels are data: an installation renames a status in the admin and every channel shows it."""

from __future__ import annotations

import pytest

from tests.mobile_api.staff.conftest import Client, submit

pytestmark = pytest.mark.django_db


def test_a_label_renamed_in_the_admin_shows_in_the_public_api(demo, admin_user):
    from reports.models import StatusLabel

    report = submit()
    admin = Client()
    admin.force_login(admin_user)
    # Created by migration; transactional tests elsewhere may have flushed the table.
    label, _ = StatusLabel.objects.get_or_create(status="new", defaults={"label_de": "Neu", "label_en": "New"})

    response = admin.post(
        f"/admin/reports/statuslabel/{label.pk}/change/", {"label_de": "Gemeldet", "label_en": "Reported"}
    )
    german = Client().get(f"/api/v1/reports/{report['id']}/", HTTP_ACCEPT_LANGUAGE="de").json()
    english = Client().get(f"/api/v1/reports/{report['id']}/events/", HTTP_ACCEPT_LANGUAGE="en").json()

    assert response.status_code == 302
    assert german["status"] == "new" and german["status_label"] == "Gemeldet"
    assert english["events"][0]["status"] == "Reported"


def test_the_admin_can_neither_add_nor_delete_a_status(demo, admin_user):
    from reports.models import StatusLabel

    admin = Client()
    admin.force_login(admin_user)
    label, _ = StatusLabel.objects.get_or_create(status="fixed", defaults={"label_de": "Erledigt", "label_en": "Fixed"})

    assert admin.get("/admin/reports/statuslabel/add/").status_code == 403
    assert admin.post(f"/admin/reports/statuslabel/{label.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StatusLabel.objects.filter(pk=label.pk).exists()


def test_labels_are_read_safely_while_other_requests_start(demo):
    """Every request's start forgets the labels read by the last one (another thread, under ASGI): a page
    being rendered meanwhile still gets its labels. (It once got a TypeError, a 500 under load.)"""
    import sys
    import threading

    from django.core.cache import cache

    from reports.models import _LABELS_CACHE_KEY, StatusLabel

    cache.set(_LABELS_CACHE_KEY, {"new": ("Gemeldet", "Reported")}, 300)
    stop = threading.Event()

    def requests_starting() -> None:
        while not stop.is_set():
            StatusLabel.forget_memo()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race shows within a few thousand
    starter = threading.Thread(target=requests_starting)
    starter.start()
    try:
        labels = [StatusLabel.label("new", "de") for _ in range(20_000)]
    finally:
        stop.set()
        starter.join()
        sys.setswitchinterval(interval)
    assert set(labels) == {"Gemeldet"}
