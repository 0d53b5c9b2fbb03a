"""load_demo gives a municipal IT person a realistic Landkreis Hameln-Pyrmont to try, and is safe to repeat."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import GEOSGeometry
from django.core.management import call_command

from geo.models import Authority, AuthorityKind, Category, Department, Membership, Responsibility
from reports.models import Report, ReportEvent
from reports.workflow import CLOSED_STATUSES, OPEN_STATUSES, can_transition

pytestmark = pytest.mark.django_db


def load(monkeypatch, password="Hameln-Demo-2026", *, sample_reports: bool = True) -> str:
    """load_demo as an operator runs it; without sample reports (300, a few seconds) for tests of the
    configuration alone."""
    monkeypatch.setenv("DEMO_PASSWORD", password)
    out = StringIO()
    call_command("load_demo", *([] if sample_reports else ["--reports", "0"]), stdout=out)
    return out.getvalue()


def _comparable(value):
    return value.ewkt if isinstance(value, GEOSGeometry) else value


def database_snapshot() -> dict:
    models = [Authority, Department, Category, Responsibility, Membership, Report, ReportEvent, get_user_model()]
    return {
        model.__name__: sorted(repr(tuple(map(_comparable, row))) for row in model.objects.values_list())
        for model in models
    }


def test_it_loads_the_landkreis_its_gemeinden_departments_and_staff(monkeypatch):
    out = load(monkeypatch, sample_reports=False)

    county = Authority.objects.get(ars="03252")
    assert Authority.objects.count() == 9
    assert Authority.objects.filter(parent=county, kind=AuthorityKind.MUNICIPALITY).count() == 8
    assert all(a.boundary is not None and a.default_department is not None for a in Authority.objects.all())

    assert Department.objects.filter(slug__startswith="bauhof-").count() == 8
    assert Department.objects.filter(authority=county).count() == 2
    assert Category.objects.count() >= 15
    assert Category.objects.filter(name_de="Schlagloch / Straßenschaden").exists()

    User = get_user_model()
    lead = User.objects.get(username="bauhof-hameln")
    assert lead.check_password("Hameln-Demo-2026")
    assert Membership.objects.get(user=lead).department.slug == "bauhof-hameln"
    assert User.objects.get(username="admin").is_superuser
    assert "Logins" in out and "bauhof-aerzen" in out and "Hameln-Demo-2026" in out


def test_every_demo_department_has_an_address_at_an_example_domain_for_new_reports(monkeypatch):
    load(monkeypatch, sample_reports=False)
    Department.objects.update(email="")  # as a demo loaded before departments had addresses: the next load adds them
    load(monkeypatch, sample_reports=False)

    assert Department.objects.get(slug="bauhof-hameln").email == "bauhof@hameln.example"
    assert (
        Department.objects.get(slug="strassenmeisterei-hameln-pyrmont").email
        == "strassenmeisterei@hameln-pyrmont.example"
    )
    assert all(d.email.endswith(".example") for d in Department.objects.all())


def test_each_bauhof_has_a_worker_and_a_lead_to_try_and_the_logins_say_which_is_which(monkeypatch):
    out = load(monkeypatch, sample_reports=False)

    lines = out.splitlines()
    logins = [line.split() for line in lines[lines.index("Logins (username, who, password):") + 1:]]
    listed = {words[0]: (words[1], " ".join(words[2:])) for words in logins}
    for bauhof in Department.objects.filter(slug__startswith="bauhof-"):
        roles = dict(Membership.objects.filter(department=bauhof).values_list("user__username", "role"))
        assert roles == {bauhof.slug: "lead", f"{bauhof.slug}-worker": "worker"}
        assert listed[bauhof.slug] == ("Hameln-Demo-2026", f"{bauhof.name} (lead)")
        assert listed[f"{bauhof.slug}-worker"] == ("Hameln-Demo-2026", f"{bauhof.name} (worker)")
    # Every login printed works, with the role it says.
    for username, (password, label) in listed.items():
        user = get_user_model().objects.get(username=username)
        assert user.check_password(password), username
        if username != "admin":
            assert label.endswith(f"({Membership.objects.get(user=user).role})"), username
    assert len(listed) == get_user_model().objects.count() == 1 + 2 + 2 * 8


def test_sample_reports_lie_in_their_authority_and_have_plausible_histories(monkeypatch):
    load(monkeypatch)
    reports = Report.objects.select_related("authority", "department")
    assert 200 <= reports.count() <= 1000
    statuses = set(reports.values_list("status", flat=True))
    assert statuses & OPEN_STATUSES and statuses & CLOSED_STATUSES and "fixed" in statuses

    for report in reports:
        assert report.authority.boundary.covers(report.location), report.reference
        assert report.department.authority_id == report.authority_id
        assert report.reference.startswith(f"HM-{report.created_at.year}-")
        events = list(report.events.order_by("id"))
        assert [e.kind for e in events[:2]] == ["created", "routed"]
        assert [e.created_at for e in events] == sorted(e.created_at for e in events)
        status = "new"
        for event in events:
            if event.kind == "status_changed":
                assert event.from_status == status and can_transition(status, event.to_status)
                status = event.to_status
        assert status == report.status
        assert (report.closed_at is None) == (report.status in OPEN_STATUSES)


def test_a_gemeinde_override_beats_the_landkreis_for_the_same_category(monkeypatch):
    load(monkeypatch)
    dumping = Report.objects.filter(category__slug="wilder-muell")
    assert set(dumping.filter(authority__slug="hameln").values_list("department__slug", flat=True)) == {"bauhof-hameln"}
    elsewhere = dumping.exclude(authority__slug="hameln")
    assert set(elsewhere.values_list("department__slug", flat=True)) == {"abfallwirtschaft-hameln-pyrmont"}


def test_loading_twice_changes_nothing(monkeypatch):
    load(monkeypatch)
    before = database_snapshot()
    out = load(monkeypatch)
    assert "nothing changed" in out
    assert database_snapshot() == before


def test_without_demo_password_new_accounts_get_a_generated_one_that_is_printed(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    out = StringIO()
    call_command("load_demo", "--reports", "5", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if line.strip().startswith("bauhof-hameln "))
    password = line.split()[1]
    assert len(password) >= 12
    assert get_user_model().objects.get(username="bauhof-hameln").check_password(password)
