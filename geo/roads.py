"""Road ownership (Baulastträger): import numbered roads and find who maintains them.

The owner follows from the road class: A → Autobahn GmbH des Bundes; B and L (Bavaria and Saxony:
St, S) → the state road authority of the Land the road lies in; K and the Kreis plate prefixes
(BT, KU, …) → the Landkreis (or kreisfreie Stadt) the road lies in; other roads → nobody here,
the Gemeinde of the report is responsible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.gis.gdal import CoordTransform, DataSource, GDALException, SpatialReference
from django.contrib.gis.geos import GEOSException, GEOSGeometry, LineString, MultiLineString
from django.db import transaction

from geo.models import Authority, AuthorityKind, Road, RoadClass

_WGS84 = SpatialReference(4326)
_REF = re.compile(r"^(?P<prefix>[A-ZÄÖÜ][A-Za-zÄÖÜäöü]{0,2})\s*(?P<number>\d+[a-z]?)$")
_CLASS_BY_PREFIX = {"A": RoadClass.MOTORWAY, "B": RoadClass.FEDERAL, "L": RoadClass.STATE, "St": RoadClass.STATE,
                    "S": RoadClass.STATE, "K": RoadClass.COUNTY}
# Highest first: on a shared section the higher class is the Baulastträger.
_CLASS_RANK = [RoadClass.MOTORWAY, RoadClass.FEDERAL, RoadClass.STATE, RoadClass.COUNTY, RoadClass.OTHER]

AUTOBAHN_SLUG = "autobahn-gmbh"
AUTOBAHN_NAME = "Autobahn GmbH des Bundes"
# The body that maintains Bundes- and Landesstraßen, per Land (first two digits of the ARS).
STATE_ROAD_AUTHORITIES = {
    "01": "Landesbetrieb Straßenbau und Verkehr Schleswig-Holstein",
    "02": "Landesbetrieb Straßen, Brücken und Gewässer Hamburg",
    "03": "Niedersächsische Landesbehörde für Straßenbau und Verkehr",
    "04": "Amt für Straßen und Verkehr Bremen",
    "05": "Landesbetrieb Straßenbau Nordrhein-Westfalen",
    "06": "Hessen Mobil – Straßen- und Verkehrsmanagement",
    "07": "Landesbetrieb Mobilität Rheinland-Pfalz",
    "08": "Straßenbauverwaltung Baden-Württemberg",
    "09": "Staatliche Bauverwaltung Bayern",
    "10": "Landesbetrieb für Straßenbau Saarland",
    "11": "Senatsverwaltung für Mobilität und Verkehr Berlin",
    "12": "Landesbetrieb Straßenwesen Brandenburg",
    "13": "Straßenbauverwaltung Mecklenburg-Vorpommern",
    "14": "Landesamt für Straßenbau und Verkehr Sachsen",
    "15": "Landesstraßenbaubehörde Sachsen-Anhalt",
    "16": "Thüringer Landesamt für Bau und Verkehr",
}


class RoadImportError(Exception):
    """The file cannot be imported; the message says why."""


def road_class(ref: str) -> RoadClass:
    """The class of a (possibly multi-valued, ';'-separated) road number: the highest one wins."""
    classes = [_single_class(part.strip()) for part in ref.split(";") if part.strip()]
    return min(classes, key=_CLASS_RANK.index, default=RoadClass.OTHER)


def _single_class(ref: str) -> RoadClass:
    match = _REF.match(ref)
    if match is None:
        return RoadClass.OTHER
    prefix = match["prefix"]
    if prefix in _CLASS_BY_PREFIX:
        return _CLASS_BY_PREFIX[prefix]
    if prefix == "E":  # European route numbers say nothing about the owner
        return RoadClass.OTHER
    if prefix.isupper():  # a Kreis plate code: BT 14, KU 11, HM 3
        return RoadClass.COUNTY
    return RoadClass.OTHER


@dataclass
class RoadImportResult:
    imported: int = 0
    replaced: int = 0
    by_owner: dict[str, int] = field(default_factory=dict)
    without_owner: list[str] = field(default_factory=list)


def import_roads(path: str | Path, *, ref_field: str = "ref", name_field: str = "name") -> RoadImportResult:
    """Replace the roads of this file with its current content, in one transaction."""
    path = Path(path)
    lines = _read(path, ref_field, name_field)
    result = RoadImportResult()
    with transaction.atomic():
        result.replaced, _ = Road.objects.filter(source=path.name).delete()
        roads = []
        for ref, name, geometry in lines:
            klass = road_class(ref)
            owner = owner_for(klass, geometry)
            if owner is None and klass != RoadClass.OTHER:
                result.without_owner.append(ref)
            if owner is not None:
                result.by_owner[str(owner)] = result.by_owner.get(str(owner), 0) + 1
            roads.append(Road(source=path.name, ref=ref, name=name, road_class=klass, owner=owner, geometry=geometry))
        Road.objects.bulk_create(roads)
        result.imported = len(roads)
    return result


def _read(path: Path, ref_field: str, name_field: str) -> list[tuple[str, str, MultiLineString]]:
    if not path.exists():
        raise RoadImportError(f"{path}: no such file.")
    try:
        source = DataSource(str(path))
    except GDALException as exc:
        raise RoadImportError(f"{path}: not a readable geodata file ({exc}).") from None
    lines = []
    for layer in source:  # type: ignore[attr-defined]  # iterable at runtime (__getitem__), not in the stubs
        if ref_field not in layer.fields:
            raise RoadImportError(
                f"{path} (layer {layer.name}): no field {ref_field!r}; fields are: {', '.join(layer.fields)}."
            )
        if layer.srs is None:
            raise RoadImportError(f"{path} (layer {layer.name}): has no coordinate reference system.")
        transform = CoordTransform(layer.srs, _WGS84)
        for number, feature in enumerate(layer, start=1):
            ref = str(feature.get(ref_field) or "").strip()
            if not ref:
                continue  # unnumbered roads belong to the Gemeinde anyway
            name = str(feature.get(name_field) or "").strip() if name_field in layer.fields else ""
            lines.append((ref, name[:200], _multilinestring(feature, transform, f"{path}, feature {number}")))
    if not lines:
        raise RoadImportError(f"{path}: no numbered roads ({ref_field}) in the file.")
    return lines


def _multilinestring(feature, transform, label: str) -> MultiLineString:
    try:
        geometry = feature.geom.clone()
        geometry.set_3d(False)
        geometry.transform(transform)
        geometry = GEOSGeometry(geometry.wkb, srid=4326)
    except (GDALException, GEOSException) as exc:
        raise RoadImportError(f"{label}: geometry cannot be read ({exc}).") from None
    if isinstance(geometry, LineString):
        geometry = MultiLineString(geometry, srid=4326)
    if not isinstance(geometry, MultiLineString) or geometry.empty:
        raise RoadImportError(f"{label}: a {geometry.geom_type}, not a line.")
    return geometry


def owner_for(klass: str, geometry: MultiLineString) -> Authority | None:
    if klass == RoadClass.MOTORWAY:
        return _external(AUTOBAHN_SLUG, AUTOBAHN_NAME)
    if klass in (RoadClass.FEDERAL, RoadClass.STATE):
        land = _land_of(geometry)
        if land is None:
            return _external("strassenbauverwaltung", "Straßenbauverwaltung des Landes")
        return _external(
            f"strassenbauverwaltung-{land}", STATE_ROAD_AUTHORITIES.get(land, f"Straßenbauverwaltung {land}")
        )
    if klass == RoadClass.COUNTY:
        return (
            Authority.objects.filter(
                kind__in=[AuthorityKind.COUNTY, AuthorityKind.INDEPENDENT_CITY], boundary__covers=_inside(geometry)
            )
            .defer("boundary")
            .order_by("area_km2")
            .first()
        )
    return None


def _inside(geometry: MultiLineString):
    return geometry.point_on_surface


def _land_of(geometry: MultiLineString) -> str | None:
    ars = (
        Authority.objects.filter(boundary__covers=_inside(geometry), ars__isnull=False)
        .order_by("area_km2")
        .values_list("ars", flat=True)
        .first()
    )
    return ars[:2] if ars else None


def _external(slug: str, name: str) -> Authority:
    authority, _ = Authority.objects.get_or_create(slug=slug, defaults={"name": name, "kind": AuthorityKind.EXTERNAL})
    return authority
