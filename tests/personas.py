"""Named personas for authorisation tests (../shared/STYLE.md, after healthchecks' Alice/Bob/Charlie).

- ``hameln_worker``: a worker of the Bauhof Hameln.
- ``hameln_lead``: the lead of the Bauhof Hameln.
- ``hildesheim_clerk``: a worker of the Landkreis Hildesheim, who must never see Hameln's reports.
- a citizen holds a report's secret; an anonymous visitor holds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model

PASSWORD = "Persona-Pass-2026"
HAMELN_MARKET = (52.1039, 9.3576)  # lat, lon: Pferdemarkt, Stadt Hameln
HILDESHEIM_MARKET = (52.1508, 9.9511)  # lat, lon: Marktplatz, Stadt Hildesheim (Landkreis Hildesheim)


@dataclass
class Personas:
    hameln_worker: object
    hameln_lead: object
    hildesheim_clerk: object
    bauhof_hameln: object
    hildesheim_department: object
    password: str = PASSWORD


def make_personas() -> Personas:
    """Needs the demo configuration (``demo`` fixture); adds Landkreis Hildesheim and three staff accounts."""
    from geo.boundaries import read_boundaries, save_boundaries
    from geo.models import Authority, Department, Membership, StaffRole
    from reports.demo import COUNTY_FILE

    save_boundaries([r for r in read_boundaries(COUNTY_FILE) if r.ars == "03254"])
    hildesheim = Authority.objects.get(ars="03254")
    hildesheim_department, _ = Department.objects.get_or_create(
        slug="bauhof-landkreis-hildesheim", defaults={"authority": hildesheim, "name": "Kreisbauhof Hildesheim"}
    )
    hildesheim.default_department = hildesheim_department
    hildesheim.reference_prefix = "HI"
    hildesheim.save(update_fields=["default_department", "reference_prefix"])
    bauhof_hameln = Department.objects.get(slug="bauhof-hameln")
    User = get_user_model()

    def account(username: str, department, role: str):
        user = User.objects.create_user(username=username, password=PASSWORD, first_name=username)
        Membership.objects.create(user=user, department=department, role=role)
        return user

    return Personas(
        hameln_worker=account("hameln-worker", bauhof_hameln, StaffRole.WORKER),
        hameln_lead=account("hameln-lead", bauhof_hameln, StaffRole.LEAD),
        hildesheim_clerk=account("hildesheim-clerk", hildesheim_department, StaffRole.WORKER),
        bauhof_hameln=bauhof_hameln,
        hildesheim_department=hildesheim_department,
    )


@pytest.fixture
def personas(demo) -> Personas:
    return make_personas()
