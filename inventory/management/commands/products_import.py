"""manage.py products_import FILE.csv: create or update products from a CSV file, all or nothing."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ValidationFailed
from inventory.bulk import product_bulk_upsert, product_rows_from_csv


class Command(BaseCommand):
    help = (
        "Create or update products by SKU from a CSV file whose header names Product fields (sku, name, barcode, "
        "...) or their labels ('SKU', 'Declared name (Chinese)'). Empty cells keep the current value. If any row "
        "is wrong, every error is printed, nothing is saved, and the exit code is 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV file, UTF-8 (a BOM is fine)")
        parser.add_argument(
            "--encoding",
            default="utf-8",
            help="text encoding of the file, e.g. gb18030 for a CSV saved by a Chinese Excel (default utf-8)",
        )
        parser.add_argument("--chunk-size", type=int, default=5000, help="rows validated and staged at a time")

    def handle(self, *args, file: Path, encoding: str, chunk_size: int, **options) -> None:
        started = time.perf_counter()
        try:
            with file.open(encoding=encoding, newline="") as stream:
                result = product_bulk_upsert(rows=product_rows_from_csv(stream), chunk_size=chunk_size)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror or error}.") from error
        except UnicodeDecodeError as error:
            raise CommandError(
                f"{file} is not {encoding} text (byte {error.start}); save it as 'CSV UTF-8' or pass --encoding."
            ) from error
        except ValidationFailed as error:
            for detail in error.errors:
                where = f"row {detail.row}" if detail.row is not None else "file"
                column = f", column {detail.field}" if detail.field else ""
                self.stderr.write(f"{where}{column}: {detail.message}")
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
