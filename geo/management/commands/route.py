import json
import math

from django.conf import settings
from django.contrib.gis.gdal import CoordTransform, DataSource, GDALException, SpatialReference
from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import override

from geo.errors import OutsideServiceArea
from geo.models import Authority, Category
from geo.routing import Decision, route


def _authority(authority: Authority | None) -> dict | None:
    if authority is None:
        return None
    return {
        "name": str(authority), "slug": authority.slug, "kind": authority.kind, "ars": authority.ars,
        "ags": authority.ags or None,
    }


def decision_json(decision: Decision) -> dict:
    department = decision.department
    return {
        "authority": _authority(decision.authority),
        "department": {"name": department.name, "slug": department.slug} if department else None,
        "reason": decision.reason,
        "road": {"ref": decision.road.ref, "class": decision.road.road_class} if decision.road else None,
        "near_border": (
            {
                "distance_m": round(decision.near_border.distance_m, 1),
                "candidates": [_authority(a) for a in decision.near_border.candidates],
            }
            if decision.near_border
            else None
        ),
    }


class Command(BaseCommand):
    help = (
        "Show who receives a report: `route LAT LON [--category SLUG]` prints the decision as JSON; "
        "`route --points FILE` routes every point of a geodata file and prints one JSON line per point."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("lat", nargs="?", type=float)
        parser.add_argument("lon", nargs="?", type=float)
        parser.add_argument("--category", help="Category slug (service code); without it only the area decides.")
        parser.add_argument("--points", help="A file of points (any OGR format, any CRS).")

    def handle(self, *args, **options) -> None:
        # Messages in the installation's language, also when called from code that has another one active.
        with override(settings.LANGUAGE_CODE):
            self._handle(**options)

    def _handle(self, **options) -> None:
        category = None
        if options["category"]:
            category = Category.objects.filter(slug=options["category"]).first()
            if category is None:
                raise CommandError(f"No category {options['category']!r}.")
        if options["points"]:
            if options["lat"] is not None:
                raise CommandError("Give either LAT LON or --points FILE, not both.")
            for line in self._route_file(options["points"], category):
                self.stdout.write(json.dumps(line, ensure_ascii=False))
            return
        lat, lon = options["lat"], options["lon"]
        if lat is None or lon is None:
            raise CommandError("Give LAT LON (WGS84 degrees) or --points FILE.")
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise CommandError("LAT must lie within -90..90 and LON within -180..180.")
        self.stdout.write(json.dumps(self._route_point(category, lat, lon), ensure_ascii=False, indent=2))

    def _route_point(self, category, lat: float, lon: float) -> dict:
        try:
            return {"lat": lat, "lon": lon, **decision_json(route(category, Point(lon, lat, srid=4326)))}
        except OutsideServiceArea as exc:
            return {
                "lat": lat, "lon": lon, "error": exc.code, "message": str(exc),
                "nearest": _authority(exc.nearest),
                "distance_m": None if exc.distance_m is None else round(exc.distance_m, 1),
            }

    def _route_file(self, path: str, category):
        try:
            source = DataSource(path)
        except GDALException as exc:
            raise CommandError(f"{path}: not a readable geodata file ({exc}).") from None
        wgs84 = SpatialReference(4326)
        for layer in source:  # type: ignore[attr-defined]  # iterable at runtime (__getitem__), not in the stubs
            if layer.srs is None:
                raise CommandError(f"{path} (layer {layer.name}): has no coordinate reference system.")
            transform = CoordTransform(layer.srs, wgs84)
            for number, feature in enumerate(layer, start=1):
                geometry = feature.geom.clone()
                geometry.transform(transform)
                properties = {name: feature.get(name) for name in layer.fields}
                if geometry.geom_type.name != "Point":
                    yield {"feature": number, "properties": properties, "error": "not_a_point"}
                    continue
                routed = self._route_point(category, geometry.y, geometry.x)
                yield {"feature": number, "properties": properties, **routed}
