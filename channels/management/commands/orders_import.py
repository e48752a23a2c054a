"""Import a spreadsheet of orders into a store: python manage.py orders_import --store "My shop" orders.csv"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from channels.models import Store
from channels.services import store_orders_import
from core.errors import ValidationFailed
from core.resources import detail_line


class Command(BaseCommand):
    help = "Import orders from a CSV or XLSX file (one row per line) into a store; all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--store", required=True, help="The store's name.")

    def handle(self, *args, file: Path, store: str, **options):
        found = Store.objects.filter(name=store).first()
        if found is None:
            raise CommandError(f"No store is named {store!r}.")
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        try:
            with file.open("rb") as source:
                result = store_orders_import(store=found, source=source)
        except ValidationFailed as failed:
            lines = [failed.message, *(detail_line(detail) for detail in failed.errors)]
            raise CommandError("\n".join(lines)) from None
        counts = result.counts()
        self.stdout.write(
            f"{counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged, "
            f"{counts['held']} held."
        )
