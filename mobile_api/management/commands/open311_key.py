from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from mobile_api.models import Open311Client


class Command(BaseCommand):
    help = (
        "Create an Open311 client application and print its new API key (only a hash is stored). "
        "With --rotate, give an existing client a new key; its old key stops working."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Name of the client application, e.g. 'FixMyStreet'.")
        parser.add_argument("--rotate", action="store_true", help="Replace the key of an existing client.")
        parser.add_argument("--contact", default="", help="Who runs the application.")

    @transaction.atomic
    def handle(self, *args, name: str, rotate: bool, contact: str, **options) -> None:
        client = Open311Client.objects.select_for_update().filter(name=name).first()
        if client is not None and not rotate:
            raise CommandError(f"A client named {name!r} exists; use --rotate to give it a new key.")
        if client is None and rotate:
            raise CommandError(f"There is no client named {name!r}.")
        client = client or Open311Client(name=name, contact=contact)
        key = client.new_key()
        client.save()
        self.stdout.write(key)
