"""Load the demo warehouses, bins, products, bundles, suppliers and roles (idempotent)."""

from django.core.management.base import BaseCommand

from demo.services import demo_data_load


class Command(BaseCommand):
    help = "Create the demo data that does not exist yet; rows that exist are left as they are."

    def handle(self, *args, **options) -> None:
        created = demo_data_load()
        summary = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in created.items())
        self.stdout.write(f"Demo data: created {summary}.")
