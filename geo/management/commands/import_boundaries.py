from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from geo.boundaries import BoundaryImportError, read_boundaries, save_boundaries
from geo.models import Authority, AuthorityKind


class Command(BaseCommand):
    help = (
        "Import authorities' boundaries from any OGR data source (GeoJSON, Shapefile, GeoPackage, …) in any "
        "coordinate reference system. Keyed by the regional key (ARS): a re-import updates instead of duplicating. "
        "A changed boundary becomes a new version; the previous one is kept with its dates for the reports routed "
        "with it. A file that cannot be used changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The file (for a Shapefile, the .shp).")
        parser.add_argument(
            "--kind", choices=AuthorityKind.values,
            help="The kind of every feature; default: from the designation field (BEZ).",
        )
        parser.add_argument("--parent", help="ARS or slug of the parent authority of every feature; default: by ARS.")
        parser.add_argument("--layer", help="Only this layer of the file.")
        parser.add_argument("--key-field", default="ARS", help="Field with the regional key (default: ARS).")
        parser.add_argument("--name-field", default="GEN", help="Field with the name (default: GEN).")
        parser.add_argument("--designation-field", default="BEZ", help="Field with the designation (default: BEZ).")
        parser.add_argument("--ags-field", default="AGS", help="Field with the municipality key (default: AGS).")

    def handle(self, *args, **options) -> None:
        parent = None
        if options["parent"]:
            parent = (
                Authority.objects.filter(ars=options["parent"]).first()
                or Authority.objects.filter(slug=options["parent"]).first()
            )
            if parent is None:
                raise CommandError(f"No authority with ARS or slug {options['parent']!r} (--parent).")
        try:
            records = read_boundaries(
                options["path"],
                kind=options["kind"],
                layer=options["layer"],
                key_field=options["key_field"],
                name_field=options["name_field"],
                designation_field=options["designation_field"],
                ags_field=options["ags_field"],
            )
        except BoundaryImportError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        result = save_boundaries(records, parent=parent, source=Path(options["path"]).name)
        closed = {version.authority_id: version for version in result.closed}
        for authority in result.created:
            self.stdout.write(f"created   {authority.ars:<12} {authority} ({authority.get_kind_display()})")
        for authority in result.updated:
            changes = ", ".join(result.changes.get(authority.ars or "", []))
            self.stdout.write(f"updated   {authority.ars:<12} {authority} ({authority.get_kind_display()}): {changes}")
            if authority.pk in closed:
                self.stdout.write(f"          boundary: {_dates(closed[authority.pk])} kept, new version from now on")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(result.created)} created, {len(result.updated)} updated, {len(result.unchanged)} unchanged. "
                f"{len(result.opened)} new boundary versions, {len(result.closed)} previous versions kept."
            )
        )


def _dates(version) -> str:
    since = timezone.localtime(version.valid_from).strftime("%Y-%m-%d %H:%M")
    until = timezone.localtime(version.valid_until).strftime("%Y-%m-%d %H:%M")
    return f"version {version.pk} (valid {since} to {until})"
