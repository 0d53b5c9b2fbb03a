"""Remove personal data of reports closed longer ago than the retention period (DSGVO)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from reports.services import anonymise_expired, expired
from reports.tasks import schedule_daily


class Command(BaseCommand):
    help = (
        "Remove the reporter's contact and the photos' private metadata from reports closed more than "
        "RETENTION_DAYS ago."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, help="Override RETENTION_DAYS for this run.")
        parser.add_argument("--dry-run", action="store_true", help="Only count the reports that would be anonymised.")
        parser.add_argument(
            "--schedule", action="store_true", help="Also make sure the daily run is queued for the worker."
        )

    def handle(self, *args, days=None, dry_run=False, schedule=False, **options) -> None:
        days = settings.OPENMELDER["RETENTION_DAYS"] if days is None else days
        if days < 1:
            self.stderr.write("--days must be at least 1.")
            raise SystemExit(2)
        if dry_run:
            self.stdout.write(
                f"{expired(days=days).count()} reports closed more than {days} days ago hold personal data."
            )
            return
        count = anonymise_expired(days=days)
        self.stdout.write(f"{count} reports closed more than {days} days ago anonymised.")
        if schedule:
            queued = schedule_daily()
            self.stdout.write("Daily run " + ("scheduled." if queued else "already scheduled."))
