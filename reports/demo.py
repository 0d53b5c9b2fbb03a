"""Demo data: Landkreis Hameln-Pyrmont, its 8 Gemeinden, departments, categories, staff and reports.

Everything is created only when missing, so loading twice changes nothing. Sample reports are
drawn from a seeded random generator and keyed by a deterministic idempotency key.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from geo.boundaries import read_boundaries, save_boundaries
from geo.models import (
    Authority,
    AuthorityKind,
    Category,
    CategoryQuestion,
    Department,
    Membership,
    QuestionType,
    Responsibility,
    StaffRole,
)
from geo.routing import route
from reports.deadlines import due_at
from reports.models import (
    EventKind,
    Moderation,
    ReferenceCounter,
    Report,
    ReportEvent,
    ResponseTemplate,
    Source,
    hash_secret,
)
from reports.services import opening_events
from reports.workflow import Status, can_transition, is_open

T = TypeVar("T")

BOUNDARIES = Path(settings.BASE_DIR) / "data" / "boundaries"
COUNTY_FILE = BOUNDARIES / "landkreise_vg5000_2021.geojson"
MUNICIPALITIES_FILE = BOUNDARIES / "gemeinden_hameln-pyrmont_vg5000_2021.geojson"
COUNTY_ARS = "03252"
REFERENCE_PREFIX = "HM"
SAMPLE_REPORTS = 300
SEED = 20260123
_KEY_NAMESPACE = uuid.UUID("6f1d3c1e-5b0a-4d8e-9f43-0a6c2e9b7d11")

# (slug, German name, English name, German group, English group, level, road category, target days, public)
# level "gemeinde": each Gemeinde's Bauhof; "strassen"/"abfall": the Landkreis' departments.
CATEGORIES = [
    ("schlagloch", "Schlagloch / Straßenschaden", "Pothole / road damage", "Straße und Verkehr", "Roads and traffic", "gemeinde", True, 10, True),
    ("gehweg-schaden", "Gehweg beschädigt", "Damaged pavement", "Straße und Verkehr", "Roads and traffic", "gemeinde", True, 15, True),
    ("verkehrsschild-beschaedigt", "Verkehrsschild beschädigt", "Damaged traffic sign", "Straße und Verkehr", "Roads and traffic", "gemeinde", True, 5, True),
    ("leitplanke-beschaedigt", "Leitplanke oder Leitpfosten beschädigt", "Damaged crash barrier or delineator", "Straße und Verkehr", "Roads and traffic", "strassen", True, 10, True),
    ("strassenbeleuchtung-defekt", "Straßenbeleuchtung defekt", "Street light out", "Straße und Verkehr", "Roads and traffic", "gemeinde", False, 10, True),
    ("gully-verstopft", "Gully verstopft", "Blocked drain", "Straße und Verkehr", "Roads and traffic", "gemeinde", True, 5, True),
    ("winterdienst", "Glätte / Winterdienst", "Ice and snow", "Straße und Verkehr", "Roads and traffic", "gemeinde", True, 1, True),
    ("wilder-muell", "Wilder Müll", "Illegal dumping", "Sauberkeit", "Cleanliness", "abfall", False, 5, True),
    ("containerstandort", "Containerstandort verschmutzt", "Dirty recycling bank", "Sauberkeit", "Cleanliness", "abfall", False, 5, True),
    ("papierkorb", "Papierkorb voll oder defekt", "Litter bin full or broken", "Sauberkeit", "Cleanliness", "gemeinde", False, 3, True),
    ("graffiti", "Graffiti", "Graffiti", "Sauberkeit", "Cleanliness", "gemeinde", False, 20, True),
    ("tierkadaver", "Tierkadaver", "Dead animal", "Sauberkeit", "Cleanliness", "abfall", False, 2, False),
    ("gruenpflege", "Grünpflege (Hecke, Rasen, Unkraut)", "Green spaces (hedges, grass, weeds)", "Grün und Spiel", "Parks and play", "gemeinde", False, 20, True),
    ("baum-gefahr", "Baum beschädigt oder gefährlich", "Damaged or dangerous tree", "Grün und Spiel", "Parks and play", "gemeinde", False, 5, True),
    ("spielplatz-defekt", "Spielplatz defekt", "Broken playground", "Grün und Spiel", "Parks and play", "gemeinde", False, 10, True),
    ("sitzbank-defekt", "Sitzbank defekt", "Broken bench", "Grün und Spiel", "Parks and play", "gemeinde", False, 20, True),
]

# The categories' extra questions (Open311 attributes): category → (code, German, English, type, required, options).
WASTE_KINDS = [
    ("sperrmuell", "Sperrmüll", "Bulky waste"),
    ("hausmuell", "Hausmüll", "Household waste"),
    ("bauschutt", "Bauschutt", "Building rubble"),
    ("gruenschnitt", "Grünschnitt", "Garden waste"),
    ("sonderabfall", "Sonderabfall/Chemikalien", "Hazardous waste/chemicals"),
    ("sonstiges", "Sonstiges", "Other"),
]
QUESTIONS: dict[str, list[tuple[str, str, str, str, bool, list[dict[str, str]]]]] = {
    "strassenbeleuchtung-defekt": [
        ("mastnummer", "Mastnummer (steht auf einem Schild am Mast)", "Pole number (on a label on the pole)",
         QuestionType.STRING, False, []),
    ],
    "wilder-muell": [
        ("muellart", "Art des Mülls", "Kind of waste", QuestionType.MULTIPLE_CHOICE, True,
         [{"key": key, "name_de": de, "name_en": en} for key, de, en in WASTE_KINDS]),
    ],
}

# Stadt Hameln runs its own waste collection in town: a Gemeinde-level override of the Landkreis.
OVERRIDES = [("hameln", "wilder-muell")]

DESCRIPTIONS = {
    "schlagloch": ["Tiefes Schlagloch auf der Fahrbahn, ca. 30 cm breit.", "Mehrere Schlaglöcher hintereinander, Radfahrer müssen ausweichen.", "Asphalt an der Einmündung aufgebrochen."],
    "gehweg-schaden": ["Gehwegplatten angehoben, Stolpergefahr.", "Bordstein lose, Gehweg abgesackt."],
    "verkehrsschild-beschaedigt": ["Vorfahrtsschild umgefahren.", "Schild verdreht, nicht mehr lesbar."],
    "leitplanke-beschaedigt": ["Leitplanke nach Unfall eingedrückt.", "Mehrere Leitpfosten umgefahren."],
    "strassenbeleuchtung-defekt": ["Laterne brennt seit Tagen nicht.", "Straßenlampe flackert die ganze Nacht.", "Zwei Laternen in Folge dunkel."],
    "gully-verstopft": ["Gully mit Laub verstopft, Wasser steht auf der Straße.", "Abfluss riecht und läuft bei Regen über."],
    "winterdienst": ["Gehweg spiegelglatt, nicht gestreut.", "Radweg nicht geräumt."],
    "wilder-muell": ["Sperrmüll am Waldrand abgeladen.", "Mehrere Müllsäcke neben dem Parkplatz.", "Alte Reifen im Graben."],
    "containerstandort": ["Altglascontainer überfüllt, Flaschen daneben.", "Kartons rund um den Papiercontainer."],
    "papierkorb": ["Papierkorb quillt über.", "Papierkorb abgerissen."],
    "graffiti": ["Graffiti an der Bushaltestelle.", "Schmiererei an der Unterführung."],
    "tierkadaver": ["Totes Reh am Straßenrand.", "Toter Fuchs auf dem Radweg."],
    "gruenpflege": ["Hecke ragt weit in den Gehweg.", "Unkraut auf dem Gehweg, Rasen seit Wochen nicht gemäht."],
    "baum-gefahr": ["Großer Ast hängt abgebrochen über dem Weg.", "Baum neigt sich stark zur Straße."],
    "spielplatz-defekt": ["Schaukelkette gerissen.", "Rutsche hat eine scharfe Kante."],
    "sitzbank-defekt": ["Sitzbank: zwei Latten gebrochen.", "Bank ist umgekippt."],
}

ANSWERS = {
    Status.ACKNOWLEDGED: "Vielen Dank für Ihre Meldung. Wir haben sie erhalten und prüfen sie.",
    Status.IN_PROGRESS: "Der Auftrag ist eingeplant; unser Team ist in den nächsten Tagen vor Ort.",
    Status.FIXED: "Der Mangel wurde behoben. Vielen Dank für Ihren Hinweis!",
    Status.REJECTED: "Die Stelle liegt auf einem Privatgrundstück. Bitte wenden Sie sich an die Eigentümerin oder den Eigentümer.",
    Status.DUPLICATE: "Dieser Mangel wurde bereits gemeldet; wir bearbeiten ihn unter der früheren Meldung.",
    Status.REOPENED: "Die Meldung wurde wieder geöffnet.",
}
NOTES = ["Kolonne 2 eingeplant.", "Material bestellt, Lieferung nächste Woche.", "Vor Ort geprüft, Foto in der Akte.", "Rücksprache mit dem Ordnungsamt gehalten."]

# Rough population weights: more people, more reports.
MUNICIPALITY_WEIGHTS = {
    "hameln": 57, "bad-pyrmont": 19, "hessisch-oldendorf": 18, "bad-muender-am-deister": 17,
    "aerzen": 11, "emmerthal": 10, "salzhemmendorf": 9, "coppenbruegge": 7,
}


@dataclass
class DemoResult:
    created: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # username, what, password or note

    def count(self, what: str, created: bool | int = True) -> None:
        if created:
            self.created[what] = self.created.get(what, 0) + int(created)


def load_demo(*, password: str | None, reports: int = SAMPLE_REPORTS, now: datetime | None = None) -> DemoResult:
    result = DemoResult()
    now = now or timezone.now()
    with transaction.atomic():
        county, municipalities = _boundaries(result)
        departments = _departments(county, municipalities, result)
        categories = _categories(result)
        _responsibilities(county, municipalities, departments, categories, result)
        _accounts(departments, password, result)
        _response_templates(result)
        _reports(categories, municipalities, reports, now, result)
    return result


def _boundaries(result: DemoResult) -> tuple[Authority, list[Authority]]:
    county_records = [r for r in read_boundaries(COUNTY_FILE) if r.ars == COUNTY_ARS]
    imported = save_boundaries(county_records)
    imported_municipalities = save_boundaries(read_boundaries(MUNICIPALITIES_FILE))
    for outcome in (imported, imported_municipalities):
        result.count("authorities", len(outcome.created) + len(outcome.updated))
    county = Authority.objects.get(ars=COUNTY_ARS)
    if not county.reference_prefix:
        county.reference_prefix = REFERENCE_PREFIX
        county.save(update_fields=["reference_prefix"])
    municipalities = list(Authority.objects.filter(parent=county, kind=AuthorityKind.MUNICIPALITY).order_by("ars"))
    return county, municipalities


def _department(authority: Authority, slug: str, name: str, email: str, result: DemoResult) -> Department:
    department, created = Department.objects.get_or_create(
        slug=slug, defaults={"authority": authority, "name": name, "email": email}
    )
    if not department.email:
        # New reports are mailed to the department's address: a demo loaded before departments had one gets it.
        department.email = email
        department.save(update_fields=["email"])
        created = True
    result.count("departments", created)
    if authority.default_department_id is None:
        authority.default_department = department
        authority.save(update_fields=["default_department"])
    return department


def _departments(county: Authority, municipalities: list[Authority], result: DemoResult) -> dict[str, Department]:
    # Addresses at .example (RFC 2606): the demo's mails can never reach a real mailbox.
    departments = {
        "strassen": _department(
            county, f"strassenmeisterei-{county.slug}", f"Straßenmeisterei des Landkreises {county.name}",
            f"strassenmeisterei@{county.slug}.example", result,
        ),
        "abfall": _department(
            county, f"abfallwirtschaft-{county.slug}", f"Abfallwirtschaft des Landkreises {county.name}",
            f"abfallwirtschaft@{county.slug}.example", result,
        ),
    }
    for municipality in municipalities:
        short_name = municipality.name.removesuffix(" am Deister")
        departments[municipality.slug] = _department(
            municipality, f"bauhof-{municipality.slug}", f"Bauhof {short_name}", f"bauhof@{municipality.slug}.example",
            result,
        )
    return departments


def _categories(result: DemoResult) -> dict[str, tuple[Category, str]]:
    categories = {}
    for order, (slug, name_de, name_en, group_de, group_en, level, road, days, public) in enumerate(CATEGORIES):
        category, created = Category.objects.get_or_create(
            slug=slug,
            defaults={
                "name_de": name_de, "name_en": name_en, "group_de": group_de, "group_en": group_en,
                "is_road_category": road, "target_working_days": days, "is_public": public, "sort_order": order,
            },
        )
        result.count("categories", created)
        categories[slug] = (category, level)
        for order_in_category, (code, question_de, question_en, datatype, required, options) in enumerate(
            QUESTIONS.get(slug, [])
        ):
            _question, created = CategoryQuestion.objects.get_or_create(
                category=category, code=code,
                defaults={"question_de": question_de, "question_en": question_en, "datatype": datatype,
                          "required": required, "options": options, "order": order_in_category},
            )
            result.count("questions", created)
    return categories


def demo_answers(category: Category, number: int) -> dict:
    """Answers for a sample report, drawn from its number (not the random generator, so each report stays the same)."""
    if category.slug == "wilder-muell":
        return {"muellart": [WASTE_KINDS[number % len(WASTE_KINDS)][0]]}
    if category.slug == "strassenbeleuchtung-defekt" and number % 2:
        return {"mastnummer": f"L-{number:04d}"}
    return {}


def _responsibilities(county, municipalities, departments, categories, result) -> None:
    def ensure(department: Department, category: Category) -> None:
        _, created = Responsibility.objects.get_or_create(department=department, category=category, area=None)
        result.count("responsibilities", created)

    for category, level in categories.values():
        if level == "gemeinde":
            for municipality in municipalities:
                ensure(departments[municipality.slug], category)
        else:
            ensure(departments[level], category)
    for municipality_slug, category_slug in OVERRIDES:
        ensure(departments[municipality_slug], categories[category_slug][0])


def _accounts(departments: dict[str, Department], password: str | None, result: DemoResult) -> None:
    """The administrator; a lead for each department, named after it; and for each Bauhof also a worker
    (``<department>-worker``), so that what a worker may not do (reject, forward, move a report to another
    authority) can be tried as well as what a lead may."""
    User = get_user_model()
    generated = password or secrets.token_urlsafe(12)
    accounts: list[tuple[str, Department | None, str, str]] = [("admin", None, "", "Administrator")]
    for department in departments.values():
        accounts.append((department.slug, department, StaffRole.LEAD, f"{department.name} ({StaffRole.LEAD.value})"))
        if department.slug.startswith("bauhof-"):
            accounts.append((f"{department.slug}-worker", department, StaffRole.WORKER,
                             f"{department.name} ({StaffRole.WORKER.value})"))
    for username, account_department, role, label in accounts:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "is_staff": account_department is None, "is_superuser": account_department is None,
                "first_name": label[:150],
            },
        )
        result.count("accounts", created)
        if created or (password and not user.check_password(password)):
            user.set_password(generated)
            user.save(update_fields=["password"])
            shown = generated
        else:
            shown = "(unchanged; set DEMO_PASSWORD to reset)" if not password else password
        if account_department is not None:
            _, created = Membership.objects.get_or_create(
                user=user, department=account_department, defaults={"role": role}
            )
            result.count("memberships", created)
        result.logins.append((username, label, shown))


# Prepared answers offered to staff: (title, status, German text, English text).
RESPONSE_TEMPLATES = [
    ("Eingang bestätigt", Status.ACKNOWLEDGED,
     "Vielen Dank für Ihre Meldung {reference}. Wir haben sie erhalten und prüfen sie.",
     "Thank you for your report {reference}. We have received it and will look into it."),
    ("Auftrag eingeplant", Status.IN_PROGRESS,
     "Ihre Meldung {reference} ({category}) ist eingeplant; {department} ist in den nächsten Tagen vor Ort.",
     "Your report {reference} ({category}) is scheduled; {department} will be on site in the next few days."),
    ("Mangel behoben", Status.FIXED,
     "Der gemeldete Mangel ({category}) wurde behoben. Vielen Dank für Ihren Hinweis!",
     "The reported problem ({category}) has been fixed. Thank you for letting us know!"),
    ("Privatgrund", Status.REJECTED,
     "Die Stelle liegt auf einem Privatgrundstück; dafür ist {authority} nicht zuständig. "
     "Bitte wenden Sie sich an die Eigentümerin oder den Eigentümer.",
     "The place is on private land, which {authority} is not responsible for. Please contact the owner."),
    ("Bereits gemeldet", Status.DUPLICATE,
     "Dieser Mangel wurde bereits gemeldet; wir bearbeiten ihn unter der früheren Meldung.",
     "This problem has already been reported; we are handling it under the earlier report."),
]


# The titles staff see in the English app.
RESPONSE_TEMPLATE_TITLES_EN = {
    "Eingang bestätigt": "Receipt confirmed",
    "Auftrag eingeplant": "Work scheduled",
    "Mangel behoben": "Problem fixed",
    "Privatgrund": "Private land",
    "Bereits gemeldet": "Already reported",
}


def _response_templates(result: DemoResult) -> None:
    for order, (title, status, german, english) in enumerate(RESPONSE_TEMPLATES):
        _, created = ResponseTemplate.objects.get_or_create(
            title=title, status=status, category=None, authority=None,
            defaults={
                "title_en": RESPONSE_TEMPLATE_TITLES_EN.get(title, ""), "text": german, "text_en": english,
                "sort_order": order,
            },
        )
        result.count("response templates", created)


# The way a report went, by whether its due date has passed: (weight, statuses after "new"). Most reports are
# handled in time, so only a minority of the open ones is overdue (as in a Bauhof that keeps up, mostly):
# still before its due date, a report is mostly open, some already fixed; past it, most are closed.
PATHS_IN_TIME = [
    (5, []),
    (4, [Status.ACKNOWLEDGED]),
    (4, [Status.ACKNOWLEDGED, Status.IN_PROGRESS]),
    (2, [Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.FIXED]),
    (1, [Status.ACKNOWLEDGED, Status.FIXED]),
]
PATHS_PAST_DUE = [
    (0.1, []),
    (0.2, [Status.ACKNOWLEDGED]),
    (0.4, [Status.ACKNOWLEDGED, Status.IN_PROGRESS]),
    (9, [Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.FIXED]),
    (3, [Status.ACKNOWLEDGED, Status.FIXED]),
    (2, [Status.REJECTED]),
    (1, [Status.DUPLICATE]),
    (0.2, [Status.ACKNOWLEDGED, Status.FIXED, Status.REOPENED, Status.IN_PROGRESS]),
]
# Reports reach back a year, more of them recent (the square of a uniform draw): about one in five in the last
# fortnight, so the open ones still within their due date fill the first page of a Bauhof's tasks.
DEMO_DAYS = 365


def _weighted(rng: random.Random, options: Sequence[tuple[float, T]]) -> T:
    return rng.choices([o for _, o in options], weights=[w for w, _ in options])[0]


def _random_point(rng: random.Random, authority: Authority) -> Point:
    boundary = authority.boundary
    if boundary is None:  # the demo's Gemeinden are loaded with their boundaries
        raise ValueError(f"{authority} has no boundary to place demo reports in")
    prepared = boundary.prepared
    xmin, ymin, xmax, ymax = boundary.extent
    while True:
        point = Point(round(rng.uniform(xmin, xmax), 6), round(rng.uniform(ymin, ymax), 6), srid=4326)
        if prepared.contains(point):
            return point


def _reports(categories, municipalities, count, now, result) -> None:
    rng = random.Random(SEED)
    keys = [uuid.uuid5(_KEY_NAMESPACE, f"demo-report-{n}") for n in range(count)]
    existing = set(Report.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    by_slug = {m.slug: m for m in municipalities}
    weights = [(MUNICIPALITY_WEIGHTS.get(slug, 5), m) for slug, m in by_slug.items()]
    category_list = [c for c, _ in categories.values()]
    # Draw every report, also the ones that exist, so each key always gets the same report.
    drafts = []
    for key in keys:
        municipality = _weighted(rng, weights)
        category = rng.choice(category_list)
        point = _random_point(rng, municipality)
        age = timedelta(days=DEMO_DAYS * rng.random() ** 2, minutes=rng.randint(0, 24 * 60))
        created_at = now - age
        due = due_at(created_at, category.target_working_days, municipality.ars)
        path = _weighted(rng, PATHS_IN_TIME if due is None or due > now else PATHS_PAST_DUE)
        description = rng.choice(DESCRIPTIONS.get(category.slug, ["Mangel vor Ort."]))
        with_email = rng.random() < 0.4
        gaps = [timedelta(hours=rng.uniform(2, 24 * min(8, max(age.days, 1) / (len(path) + 1)))) for _ in path]
        drafts.append((key, municipality, category, point, created_at, path, description, with_email, gaps))

    for number, draft in enumerate(drafts):
        key, _municipality, category, point, created_at, path, description, with_email, gaps = draft
        if key in existing:
            continue
        _create_report(number, key, category, point, created_at, path, description, with_email, gaps, now)
        result.count("reports")


def _create_report(number, key, category, point, created_at, path, description, with_email, gaps, now) -> None:
    decision = route(category, point)
    report = Report(
        idempotency_key=key,
        reference=ReferenceCounter.next_reference(decision.authority.get_reference_prefix(), created_at.year),
        category=category,
        location=point,
        description=description,
        answers=demo_answers(category, number),
        authority=decision.authority,
        department=decision.department,
        routing_reason=decision.reason,
        boundary_version_id=decision.authority.boundary_version_id,
        reporter_email=f"buerger{number}@example.org" if with_email else "",
        secret_hash=hash_secret(secrets.token_urlsafe(32)),
        source=Source.APP if number % 4 else Source.WEB,
        moderation=Moderation.PUBLISHED,
        created_at=created_at,
        updated_at=created_at,
        due_at=due_at(created_at, category.target_working_days, decision.authority.ars),
    )
    events = opening_events(decision, created_at)
    status, when = Status.NEW, created_at
    for to_status, gap in zip(path, gaps, strict=True):
        when = min(when + gap, now)
        if not can_transition(status, to_status):
            raise ValueError(f"Demo path {path} breaks the workflow at {status} → {to_status}.")
        if to_status == Status.DUPLICATE:
            original = (
                Report.objects.filter(category=category, authority=decision.authority, created_at__lt=created_at)
                .order_by("-created_at")
                .first()
            )
            if original is None:
                # Nothing earlier to be a duplicate of: the Bauhof fixed it instead (not left "new" for a year).
                to_status = Status.FIXED
            else:
                report.duplicate_of = original
        if to_status == Status.IN_PROGRESS and number % 3 == 0:
            events.append(ReportEvent(
                kind=EventKind.INTERNAL_NOTE, is_public=False, message=NOTES[number % len(NOTES)], created_at=when
            ))
        events.append(
            ReportEvent(
                kind=EventKind.STATUS_CHANGED, from_status=status, to_status=to_status,
                message=ANSWERS.get(to_status, ""), created_at=when,
            )
        )
        status = to_status
    report.status = status
    report.updated_at = when
    report.closed_at = None if is_open(status) else when
    report.save()
    for event in events:
        event.report = report
    ReportEvent.objects.bulk_create(events)
