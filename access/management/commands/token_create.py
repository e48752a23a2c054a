"""Make an API token for a user or a partner and print its key (once): for scripts and first setups."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from access import services
from access.models import Partner
from channels.models import Store
from core.errors import DomainError
from inventory.models import Warehouse


class Command(BaseCommand):
    help = "Create an API token and print its key; the key is not stored and cannot be printed again."

    def add_arguments(self, parser):
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--user", help="Username the token acts as (a staff user).")
        owner.add_argument("--partner", help="Name of the partner whose service user the token acts as.")
        parser.add_argument("--name", required=True, help="What the token is for.")
        parser.add_argument(
            "--scope", action="append", dest="scopes", required=True, help="A scope (repeat): orders:read, *, ..."
        )
        parser.add_argument("--store", action="append", type=int, default=[], help="Store id it may see (repeat).")
        parser.add_argument(
            "--warehouse", action="append", type=int, default=[], help="Warehouse id it may see (repeat)."
        )
        parser.add_argument("--all-stores", action="store_true", help="Every store, now and later.")
        parser.add_argument("--all-warehouses", action="store_true", help="Every warehouse, now and later.")
        parser.add_argument("--expires-in-days", type=int, default=None, help="Expire after this many days.")
        parser.add_argument("--rotate", action="store_true", help="Revoke the owner's live tokens of the same name.")

    def handle(self, *args, **options):
        if options["partner"]:
            partner = Partner.objects.select_related("user").filter(name=options["partner"]).first()
            if partner is None:
                raise CommandError(f"No partner named {options['partner']!r}.")
            user = partner.user
        else:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}.")
        stores = list(Store.objects.filter(pk__in=options["store"]))
        warehouses = list(Warehouse.objects.filter(pk__in=options["warehouse"]))
        unknown = sorted(set(options["store"]) - {store.pk for store in stores}) + sorted(
            set(options["warehouse"]) - {warehouse.pk for warehouse in warehouses}
        )
        if unknown:
            raise CommandError(f"No store or warehouse has id {', '.join(map(str, unknown))}.")
        days = options["expires_in_days"]
        arguments = {
            "user": user,
            "name": options["name"],
            "scopes": options["scopes"],
            "stores": stores,
            "warehouses": warehouses,
            "all_stores": options["all_stores"],
            "all_warehouses": options["all_warehouses"],
            "expires_at": timezone.now() + timedelta(days=days) if days is not None else None,
        }
        try:
            if options["rotate"]:
                token, key = services.token_rotate(**arguments)
            else:
                token, key = services.token_create(**arguments)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(key)
        self.stderr.write(f"Token {token.name} ({token.prefix}) for {user.get_username()}; store the key now.")
