import os

from django.core.management.base import BaseCommand, CommandParser

from reports.demo import SAMPLE_REPORTS, load_demo
from reports.publicdata import version


class Command(BaseCommand):
    help = (
        "Load the demo: Landkreis Hameln-Pyrmont and its 8 Gemeinden, departments, categories, responsibilities, "
        "staff accounts (password from DEMO_PASSWORD, else generated) and sample reports. "
        "Loading twice changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reports", type=int, default=SAMPLE_REPORTS, help="Number of sample reports.")

    def handle(self, *args, **options) -> None:
        result = load_demo(password=os.environ.get("DEMO_PASSWORD") or None, reports=options["reports"])
        version.changed()  # reports are written in bulk, past the signals: cached public answers are old now
        if result.created:
            summary = ", ".join(f"{count} {what}" for what, count in sorted(result.created.items()))
            self.stdout.write(self.style.SUCCESS(f"Demo loaded: {summary} created or updated."))
        else:
            self.stdout.write(self.style.SUCCESS("Demo already loaded: nothing changed."))
        self.stdout.write("Logins (username, who, password):")
        width = max(len(username) for username, _, _ in result.logins)
        for username, label, password in result.logins:
            self.stdout.write(f"  {username:<{width}}  {password}  {label}")
