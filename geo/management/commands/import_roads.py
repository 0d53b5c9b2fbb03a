from django.core.management.base import BaseCommand, CommandError, CommandParser

from geo.roads import RoadImportError, import_roads


class Command(BaseCommand):
    help = (
        "Import numbered roads (any OGR line file, e.g. OpenStreetMap extracts with a 'ref' field) and derive each "
        "road's owner (Baulastträger) from its class and the boundaries already imported. Re-importing a file "
        "replaces its roads. Import boundaries first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--ref-field", default="ref", help="Field with the road number (default: ref).")
        parser.add_argument("--name-field", default="name", help="Field with the street name (default: name).")

    def handle(self, *args, **options) -> None:
        try:
            result = import_roads(options["path"], ref_field=options["ref_field"], name_field=options["name_field"])
        except RoadImportError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        for owner, count in sorted(result.by_owner.items()):
            self.stdout.write(f"{count:6} road sections of {owner}")
        if result.without_owner:
            refs = ", ".join(sorted(set(result.without_owner)))
            self.stdout.write(self.style.WARNING(f"No owner found (no Landkreis covers them): {refs}"))
        self.stdout.write(self.style.SUCCESS(f"{result.imported} road sections imported, {result.replaced} replaced."))
