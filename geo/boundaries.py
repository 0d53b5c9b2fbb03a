"""Import official boundaries (VG250/VG5000, ALKIS exports, …) from any OGR data source.

Everything is read and checked first; only then is the database changed, in one transaction.
A file that cannot be used changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.gis.gdal import CoordTransform, DataSource, GDALException, OGRGeomType, SpatialReference
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Polygon
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from geo.models import Authority, AuthorityKind, BoundaryVersion

# The BKG's designations (field BEZ) and the kind each stands for.
DESIGNATION_KINDS: dict[str, str] = {
    "landkreis": AuthorityKind.COUNTY,
    "kreis": AuthorityKind.COUNTY,
    "regionalverband": AuthorityKind.COUNTY,
    "region": AuthorityKind.COUNTY,
    "kreisfreie stadt": AuthorityKind.INDEPENDENT_CITY,
    "stadtkreis": AuthorityKind.INDEPENDENT_CITY,
    "samtgemeinde": AuthorityKind.MUNICIPAL_ASSOCIATION,
    "verbandsgemeinde": AuthorityKind.MUNICIPAL_ASSOCIATION,
    "verwaltungsgemeinschaft": AuthorityKind.MUNICIPAL_ASSOCIATION,
    "amt": AuthorityKind.MUNICIPAL_ASSOCIATION,
    "gemeinde": AuthorityKind.MUNICIPALITY,
    "stadt": AuthorityKind.MUNICIPALITY,
    "markt": AuthorityKind.MUNICIPALITY,
    "flecken": AuthorityKind.MUNICIPALITY,
    "einheitsgemeinde": AuthorityKind.MUNICIPALITY,
    "gemeinschaftsfreie gemeinde": AuthorityKind.MUNICIPALITY,
    "ortsgemeinde": AuthorityKind.MUNICIPALITY,
    "amtsfreie gemeinde": AuthorityKind.MUNICIPALITY,
    "gemeindefreies gebiet": AuthorityKind.UNINCORPORATED,
}

_WGS84 = SpatialReference(4326)


class BoundaryImportError(Exception):
    """The file cannot be imported; the message says why, for a person."""


@dataclass(frozen=True)
class BoundaryRecord:
    ars: str
    name: str
    designation: str
    kind: str
    ags: str
    boundary: MultiPolygon


@dataclass
class ImportResult:
    created: list[Authority] = field(default_factory=list)
    updated: list[Authority] = field(default_factory=list)
    unchanged: list[Authority] = field(default_factory=list)
    # What changed of each updated authority, by ARS: "name", "boundary", …
    changes: dict[str, list[str]] = field(default_factory=dict)
    # The boundary versions the import opened (a new authority's first, a changed boundary's next), and the
    # versions they replaced: closed, kept with their dates for the reports routed with them.
    opened: list[BoundaryVersion] = field(default_factory=list)
    closed: list[BoundaryVersion] = field(default_factory=list)


def german_slug(text: str) -> str:
    """A slug that spells umlauts the German way: Bad Münder → bad-muender."""
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
        text = text.replace(umlaut, spelled)
    return slugify(text)


def read_boundaries(
    path: str | Path,
    *,
    kind: str | None = None,
    layer: str | None = None,
    key_field: str = "ARS",
    name_field: str = "GEN",
    designation_field: str = "BEZ",
    ags_field: str = "AGS",
) -> list[BoundaryRecord]:
    """Read and check every feature; raise BoundaryImportError on the first problem."""
    path = Path(path)
    if not path.exists():
        raise BoundaryImportError(f"{path}: no such file.")
    if kind is not None and kind not in AuthorityKind.values:
        raise BoundaryImportError(f"Unknown kind {kind!r}; use one of: {', '.join(AuthorityKind.values)}.")
    try:
        source = DataSource(str(path))
    except GDALException as exc:
        raise BoundaryImportError(f"{path}: not a readable geodata file ({exc}).") from None
    if layer is not None:
        names = [lyr.name for lyr in source]  # type: ignore[attr-defined]  # iterable at runtime (__getitem__), not in the stubs
        if layer not in names:
            raise BoundaryImportError(f"{path}: no layer {layer!r}; the file has: {', '.join(names)}.")
        layers = [source[layer]]
    else:
        layers = list(source)  # type: ignore[call-overload]  # iterable at runtime (__getitem__), not in the stubs
    if not layers:
        raise BoundaryImportError(f"{path}: the file has no layers.")

    records: list[BoundaryRecord] = []
    for lyr in layers:
        records.extend(
            _read_layer(
                path, lyr, kind=kind, key_field=key_field, name_field=name_field,
                designation_field=designation_field, ags_field=ags_field,
            )
        )
    if not records:
        raise BoundaryImportError(f"{path}: the file has no features.")
    keys = [record.ars for record in records]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise BoundaryImportError(f"{path}: the key {key_field} repeats: {', '.join(duplicates)}.")
    return records


def _read_layer(path, lyr, *, kind, key_field, name_field, designation_field, ags_field) -> list[BoundaryRecord]:
    where = f"{path} (layer {lyr.name})"
    geom_type = OGRGeomType(lyr.geom_type.num % 1000)  # 2.5D types are ordinary polygons here
    if geom_type.name not in {"Polygon", "MultiPolygon", "Unknown"}:
        raise BoundaryImportError(f"{where}: has {geom_type.name} geometries; boundaries must be polygons.")
    if key_field not in lyr.fields:
        raise BoundaryImportError(
            f"{where}: no key field {key_field!r}; fields are: {', '.join(lyr.fields)}. Use --key-field."
        )
    if name_field not in lyr.fields:
        raise BoundaryImportError(
            f"{where}: no name field {name_field!r}; fields are: {', '.join(lyr.fields)}. Use --name-field."
        )
    if lyr.srs is None:
        raise BoundaryImportError(f"{where}: has no coordinate reference system; add a .prj file or reproject it.")
    transform = CoordTransform(lyr.srs, _WGS84)

    records = []
    for number, feature in enumerate(lyr, start=1):
        label = f"{where}, feature {number}"
        ars = _text(feature, key_field)
        if not re.fullmatch(r"\d{2,12}", ars):
            raise BoundaryImportError(f"{label}: {key_field} {ars!r} is not a regional key of 2 to 12 digits.")
        name = _text(feature, name_field)
        if not name:
            raise BoundaryImportError(f"{label}: {name_field} is empty.")
        designation = _text(feature, designation_field) if designation_field in lyr.fields else ""
        record_kind = kind or DESIGNATION_KINDS.get(designation.lower())
        if record_kind is None:
            raise BoundaryImportError(
                f"{label} ({name}): unknown designation {designation!r} in {designation_field}; pass --kind."
            )
        ags = _text(feature, ags_field) if ags_field in lyr.fields else ""
        if not re.fullmatch(r"\d{2,8}", ags):
            ags = ""  # VG files write "--------" where a unit has no AGS
        records.append(
            BoundaryRecord(
                ars=ars, name=name, designation=designation, kind=record_kind, ags=ags,
                boundary=_multipolygon(feature, transform, label),
            )
        )
    return records


def _text(feature, field_name: str) -> str:
    value = feature.get(field_name)
    return "" if value is None else str(value).strip()


def _multipolygon(feature, transform: CoordTransform, label: str) -> MultiPolygon:
    try:
        ogr_geometry = feature.geom.clone()
    except GDALException:
        raise BoundaryImportError(f"{label}: has no geometry.") from None
    ogr_geometry.set_3d(False)  # heights (2.5D shapefiles) mean nothing for an area
    try:
        ogr_geometry.transform(transform)
        geometry = GEOSGeometry(ogr_geometry.wkb, srid=4326)
    except (GDALException, GEOSException) as exc:
        raise BoundaryImportError(f"{label}: geometry cannot be read or reprojected ({exc}).") from None
    if not geometry.valid:
        geometry = geometry.make_valid()
        polygons = [g for g in _flatten(geometry) if isinstance(g, Polygon)]
        geometry = MultiPolygon(polygons, srid=4326)
    if isinstance(geometry, Polygon):
        geometry = MultiPolygon(geometry, srid=4326)
    if not isinstance(geometry, MultiPolygon) or geometry.empty:
        raise BoundaryImportError(f"{label}: geometry is a {geometry.geom_type}, not a polygon.")
    _check_wgs84_extent(geometry, label)
    return geometry


def _flatten(geometry):
    if geometry.geom_type in {"MultiPolygon", "GeometryCollection"}:
        for part in geometry:
            yield from _flatten(part)
    else:
        yield geometry


def _check_wgs84_extent(geometry: MultiPolygon, label: str) -> None:
    xmin, ymin, xmax, ymax = geometry.extent
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        raise BoundaryImportError(
            f"{label}: coordinates lie outside longitude/latitude after reprojection; "
            "is the file's coordinate reference system declared correctly?"
        )


def save_boundaries(
    records: list[BoundaryRecord], *, parent: Authority | None = None, source: str = ""
) -> ImportResult:
    """Create or update one Authority per record, keyed by ARS, in one transaction.

    Without an explicit parent, a record's parent is the smallest already known unit whose ARS
    its own ARS starts with (Gemeinde → Samtgemeinde → Landkreis), as the ARS is hierarchical.
    A changed boundary becomes a new BoundaryVersion from now (``source``: the file), the previous
    one is closed and kept; identical geometry makes none.
    """
    result = ImportResult()
    now = timezone.now()
    with transaction.atomic():
        known = {a.ars: a for a in Authority.objects.filter(ars__in=[r.ars for r in records])}
        for record in sorted(records, key=lambda r: len(r.ars)):
            authority = known.get(record.ars)
            # An explicit parent wins, then the one the ARS implies, then the one already set.
            record_parent = parent or _parent_by_key(record.ars) or (authority.parent if authority else None)
            if authority is None:
                authority = Authority(ars=record.ars, slug=_unique_slug(record))
                changes, outcome = ["boundary"], result.created
            else:
                changes = _changes(authority, record, record_parent)
                outcome = result.updated if changes else result.unchanged
            if changes:
                authority.name = record.name
                authority.designation = record.designation
                authority.kind = record.kind
                authority.ags = record.ags
                authority.boundary = record.boundary
                authority.parent = record_parent
                authority.full_clean(exclude=["slug", "default_department"], validate_unique=False)
                authority.save()
                if outcome is result.updated:
                    result.changes[record.ars] = changes
            # An authority whose boundary predates versions (or was set by other means) gets its first one too.
            if "boundary" in changes or authority.boundary_version_id is None:
                opened, closed = new_boundary_version(authority, source=source, at=now)
                result.opened += [opened] if opened else []
                result.closed += [closed] if closed else []
            outcome.append(authority)
    return result


def new_boundary_version(
    authority: Authority, *, source: str, at=None
) -> tuple[BoundaryVersion | None, BoundaryVersion | None]:
    """Make the authority's saved boundary its current version, from ``at`` (default: now): close the version
    current so far (kept, with its dates) and open a new one. Returns (opened, closed); either may be None (no
    boundary now; none before). Call it in the transaction that saved the boundary."""
    at = at or timezone.now()
    current = (
        BoundaryVersion.objects.select_for_update().defer("boundary")
        .filter(authority=authority, valid_until__isnull=True).first()
    )
    if current is not None:
        current.valid_until = max(at, current.valid_from)
        BoundaryVersion.objects.filter(pk=current.pk).update(valid_until=current.valid_until)
    opened = None
    if authority.boundary is not None:
        opened = BoundaryVersion(authority=authority, boundary=authority.boundary, valid_from=at, source=source[:300])
        opened.save()
    Authority.objects.filter(pk=authority.pk).update(boundary_version=opened)
    authority.boundary_version = opened
    return opened, current


def _parent_by_key(ars: str) -> Authority | None:
    prefixes = [ars[:n] for n in (9, 5, 2) if n < len(ars)]
    candidates = {a.ars: a for a in Authority.objects.filter(ars__in=prefixes)}
    return next((candidates[p] for p in prefixes if p in candidates), None)


def _changes(authority: Authority, record: BoundaryRecord, parent: Authority | None) -> list[str]:
    """The names of what the record changes, in the order the command reports them."""
    differs = {
        "name": authority.name != record.name,
        "designation": authority.designation != record.designation,
        "kind": authority.kind != record.kind,
        "ags": authority.ags != record.ags,
        "parent": authority.parent_id != (parent.pk if parent else None),
        "boundary": authority.boundary is None or not authority.boundary.equals_exact(record.boundary, tolerance=1e-9),
    }
    return [name for name, changed in differs.items() if changed]


def _unique_slug(record: BoundaryRecord) -> str:
    base = german_slug(record.name)
    if Authority.objects.filter(slug=base).exists():
        # Stadt Bayreuth and Landkreis Bayreuth share a name: the designation tells them apart.
        base = german_slug(f"{record.designation} {record.name}") or base
    slug, number = base, 2
    while Authority.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug
