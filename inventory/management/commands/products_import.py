"""manage.py products_import FILE: create or update products from a CSV or XLSX file, all or nothing."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ValidationFailed
from inventory.bulk import product_bulk_upsert, product_rows_from_sheet


class Command(BaseCommand):
    help = (
        "Create or update products by SKU from a CSV or XLSX file whose header names Product fields (sku, name, "
        "barcode, ...) or their labels ('SKU', 'Declared name (Chinese)'). Empty cells keep the current value. If "
        "any row is wrong, every error is printed, nothing is saved, and the exit code is 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV (UTF-8, UTF-16 with BOM or GB18030) or XLSX file")
        parser.add_argument(
            "--encoding",
            default=None,
            help="text encoding of a CSV file, e.g. big5 (default: detected; a BOM, else UTF-8, else GB18030)",
        )
        parser.add_argument("--chunk-size", type=int, default=5000, help="rows validated and staged at a time")

    def handle(self, *args, file: Path, encoding: str | None, chunk_size: int, **options) -> None:
        started = time.perf_counter()
        try:
            rows = product_rows_from_sheet(source=file, encoding=encoding)
            result = product_bulk_upsert(rows=rows, chunk_size=chunk_size)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}.") from error
        except ValidationFailed as error:
            for detail in error.errors:
                if detail.row is None:
                    self.stderr.write(f"file: {detail.message}")
                else:
                    column = f", column {detail.field}" if detail.field else ""
                    self.stderr.write(f"row {detail.row}{column}: {detail.message}")
            omitted = error.context.get("errors_omitted")
            if omitted:
                self.stderr.write(f"... and {omitted} more errors not shown.")
            raise CommandError(error.message, returncode=1) from error
        seconds = time.perf_counter() - started
        rate = f" ({result.total / seconds:,.0f} rows/s)" if result.total and seconds > 0 else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {result.created}, updated {result.updated}, unchanged {result.unchanged}, "
                f"total {result.total} rows in {seconds:.2f} s{rate}."
            )
        )
