"""Clients and users of the test provider: ``op_seed client ID SECRET --redirect-uri URI …`` and
``op_seed user NAME PASSWORD --email E --groups a,b [--unverified]`` (both idempotent: an existing one is updated)."""

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from oidc_provider.models import Client, ResponseType

from op.claims import UNVERIFIED


class Command(BaseCommand):
    def add_arguments(self, parser):
        kinds = parser.add_subparsers(dest="kind", required=True)
        client = kinds.add_parser("client")
        client.add_argument("client_id")
        client.add_argument("secret")
        client.add_argument("--redirect-uri", action="append", default=[])
        client.add_argument("--post-logout-uri", action="append", default=[])
        user = kinds.add_parser("user")
        user.add_argument("username")
        user.add_argument("password")
        user.add_argument("--email", default="")
        user.add_argument("--first-name", default="")
        user.add_argument("--last-name", default="")
        user.add_argument("--groups", default="")
        user.add_argument("--unverified", action="store_true")

    def handle(self, *args, **options):
        if options["kind"] == "client":
            code, _ = ResponseType.objects.get_or_create(
                value="code", defaults={"description": "code (Authorization Code Flow)"}
            )
            client, _ = Client.objects.get_or_create(client_id=options["client_id"], defaults={"name": "OpenMelder"})
            client.client_secret = options["secret"]
            client.client_type = "confidential"
            client.jwt_alg = "RS256"
            client.require_consent = False
            client.redirect_uris = sorted(set(client.redirect_uris) | set(options["redirect_uri"]))
            client.post_logout_redirect_uris = sorted(
                set(client.post_logout_redirect_uris) | set(options["post_logout_uri"])
            )
            client.save()
            client.response_types.add(code)
            return
        user, _ = User.objects.get_or_create(username=options["username"])
        user.set_password(options["password"])
        user.email = options["email"]
        user.first_name = options["first_name"]
        user.last_name = options["last_name"]
        user.save()
        names = [name for name in options["groups"].split(",") if name]
        if options["unverified"]:
            names.append(UNVERIFIED)
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])
