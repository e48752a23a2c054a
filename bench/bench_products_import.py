"""Benchmark: product CSV import through product_bulk_upsert against a raw PostgreSQL COPY of the same file.

Run from the project root:  python -m bench.bench_products_import [--rows 100000] [--repeat 3] [--small]
It creates a throw-away database (bench_products_<pid>) on the server of the configured database (DATABASE_URL,
or the embedded PostgreSQL), migrates it, measures, and drops it at the end, also on error (bench/_database.py).
What each figure means: bench/README.md.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._database import django_setup, server_description, throwaway_database

GOAL_RATIO = 5.0

# (English declared name, Chinese declared name, HS code, product words, battery, liquid, weight range in g)
CATEGORIES = [
    ("Phone case", "手机壳", "392690", "Silicone phone case", False, False, (20, 80)),
    ("Screen protector", "屏幕保护膜", "700719", "Tempered glass screen protector", False, False, (10, 40)),
    ("Bluetooth earphones", "蓝牙耳机", "851830", "Wireless Bluetooth earbuds", True, False, (40, 160)),
    ("USB cable", "数据线", "854442", "USB-C charging cable", False, False, (30, 120)),
    ("Power bank", "移动电源", "850760", "Portable power bank", True, False, (180, 450)),
    ("LED strip light", "LED灯带", "940542", "RGB LED strip light", False, False, (150, 900)),
    ("Cotton T-shirt", "棉质T恤", "610910", "Cotton crew-neck T-shirt", False, False, (120, 260)),
    ("Nail polish", "指甲油", "330430", "Gel nail polish", False, True, (30, 90)),
    ("Plastic toy", "塑料玩具", "950300", "Building block toy set", False, False, (100, 1500)),
    ("Kitchen knife", "厨房刀具", "821191", "Stainless steel chef knife", False, False, (150, 400)),
    ("Yoga mat", "瑜伽垫", "950691", "Non-slip yoga mat", False, False, (800, 2500)),
    ("Watch strap", "表带", "911390", "Leather watch strap", False, False, (15, 60)),
]
COLOURS = [("BLK", "black"), ("WHT", "white"), ("RED", "red"), ("BLU", "blue"), ("GRN", "green"), ("PNK", "pink")]
SIZES = ["S", "M", "L", "XL", "10CM", "1M", "2M"]


def ean13(number: int) -> str:
    """An EAN-13 under China's GS1 prefix 690-699 with a correct check digit, unique per ``number``."""
    body = f"69{number:010d}"
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(body))
    return body + str((10 - total % 10) % 10)


def generate_csv(path: Path, rows: int, *, seed: int) -> None:
    """``rows`` realistic products: bilingual customs names, valid barcodes, a few gaps as real sheets have."""
    from inventory.models import PRODUCT_FIELDS  # after django_setup()

    chooser = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(PRODUCT_FIELDS)
        for number in range(rows):
            declared_en, declared_zh, hs_code, words, battery, liquid, (low, high) = chooser.choice(CATEGORIES)
            colour_code, colour = chooser.choice(COLOURS)
            size = chooser.choice(SIZES)
            name = f"{words}, {colour}, size {size}"
            if number % 97 == 0:
                name = f'"{words}" {colour} (2-pack)'  # quotes and a comma exercise the CSV quoting
            if number % 211 == 0:
                name = "'+" + name  # our export's formula escape, undone on import
            has_dimensions = number % 23 != 0
            writer.writerow(
                [
                    f"{hs_code[:4]}-{number:07d}-{colour_code}-{size}",
                    name,
                    ean13(number) if number % 31 != 0 else "",
                    chooser.randint(low, high),
                    chooser.randint(50, 600) if has_dimensions else "",
                    chooser.randint(30, 400) if has_dimensions else "",
                    chooser.randint(5, 200) if has_dimensions else "",
                    declared_en,
                    declared_zh,
                    hs_code if number % 53 != 0 else "",
                    f"{chooser.randint(100, 5000) / 100:.2f}",
                    chooser.choice(["USD", "USD", "USD", "EUR", "GBP"]),
                    chooser.choice(["CN", "CN", "CN", "CN", "VN", "IN"]),
                    "true" if battery else "false",
                    "true" if liquid else "false",
                    f"{chooser.randint(1000, 300000) / 10000:.4f}",
                    "CNY",
                    "false",
                    "false" if number % 50 == 0 else "true",
                ]
            )


def timed(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    outcome = function()
    return time.perf_counter() - start, outcome


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:>11,.0f} rows/s"


def line(label: str, rows: int, runs: list[float], note: str = "") -> float:
    median = statistics.median(runs)
    shown = " ".join(f"{run:.2f}" for run in runs)
    print(f"{label:<58} {rows:>8,} rows {median:>7.2f} s {rate(rows, median)}   runs: {shown} s {note}", flush=True)
    return median


def run(options: argparse.Namespace) -> int:
    django_setup()
    with throwaway_database("bench_products"), tempfile.TemporaryDirectory(prefix="bench_products_") as folder:
        csv_path = Path(folder) / "products.csv"
        seconds, _ = timed(lambda: generate_csv(csv_path, options.rows, seed=options.seed))
        print(f"{server_description()} before the run", flush=True)
        print(
            f"CSV: {options.rows:,} products, {csv_path.stat().st_size / 1e6:.1f} MB, "
            f"generated in {seconds:.1f} s; median of {options.repeat} run(s) each\n",
            flush=True,
        )
        return measure(options, csv_path)


def measure(options: argparse.Namespace, csv_path: Path) -> int:
    from django.db import connection, transaction

    from core.errors import ValidationFailed
    from inventory.bulk import product_bulk_upsert, product_rows_from_sheet
    from inventory.models import (
        PRODUCT_FIELDS,  # after django_setup()
        Product,
    )

    rows = options.rows
    product_table = Product._meta.db_table
    # The baseline table has the product columns with the same types, and nothing else: no key, index or check.
    column_types = ", ".join(f"{name} {Product._meta.get_field(name).db_type(connection)}" for name in PRODUCT_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_copy_baseline ({column_types})")

        # What any path into the product table pays: its keys, indexes and checks. The file has no sku_sort
        # (the bulk path computes it in Python), so here it stays NULL: a slight advantage to this baseline.
        cursor.execute(f"CREATE TABLE bench_copy_product (LIKE {product_table} INCLUDING ALL)")
        cursor.execute(
            "ALTER TABLE bench_copy_product ALTER created_at SET DEFAULT now(), ALTER updated_at SET DEFAULT now(), "
            "ALTER sku_sort DROP NOT NULL"
        )
    text_columns = [name for name in PRODUCT_FIELDS if Product._meta.get_field(name).get_internal_type() == "CharField"]
    csv_options = "FORMAT csv, HEADER true"
    # Empty text cells become '' (not NULL) there, as the model's NOT NULL text columns want.
    product_csv_options = f"{csv_options}, FORCE_NOT_NULL ({', '.join(text_columns)})"

    def raw_copy(table: str, options: str) -> None:
        # The same psycopg connection as the bulk path, streaming the file's bytes as they are.
        sql = f"COPY {table} ({', '.join(PRODUCT_FIELDS)}) FROM STDIN WITH ({options})"
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            csv_path.open("rb") as stream,
            cursor.cursor.copy(sql) as copy,
        ):
            while block := stream.read(1 << 20):
                copy.write(block)

    def copied(table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            return cursor.fetchone()[0]

    def bulk():
        return product_bulk_upsert(rows=product_rows_from_sheet(source=csv_path))

    def truncate(table: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table} RESTART IDENTITY CASCADE")

    copy_runs, product_copy_runs, bulk_runs, again_runs = [], [], [], []
    bulk_python_cpu = []  # CPU time of this process during (b): parsing, validating, feeding COPY
    peak_rss_mb = 0.0
    for _ in range(options.repeat):
        truncate("bench_copy_baseline")
        seconds, _ = timed(lambda: raw_copy("bench_copy_baseline", csv_options))
        copy_runs.append(seconds)
        truncate("bench_copy_product")
        seconds, _ = timed(lambda: raw_copy("bench_copy_product", product_csv_options))
        product_copy_runs.append(seconds)
        for table in ("bench_copy_baseline", "bench_copy_product"):
            if copied(table) != rows:
                print(f"FAILED: COPY loaded {copied(table)} rows into {table}, expected {rows}.")
                return 1

        truncate(product_table)
        try:
            cpu_before = time.process_time()
            seconds, result = timed(bulk)
            bulk_python_cpu.append(time.process_time() - cpu_before)
        except ValidationFailed as error:
            print(f"FAILED: {error.message}")
            for detail in error.errors[:20]:
                print(f"  row {detail.row}, {detail.field}: {detail.message}")
            return 1
        bulk_runs.append(seconds)
        peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if (result.created, result.updated, result.total) != (rows, 0, rows):
            print(f"FAILED: first import gave {result}, expected {rows} created.")
            return 1

        seconds, result = timed(bulk)
        again_runs.append(seconds)
        if (result.created, result.updated, result.total) != (0, 0, rows):
            print(f"FAILED: importing the same file again gave {result}, expected nothing created or updated.")
            return 1

    copy_seconds = line("(a) raw COPY FROM STDIN (CSV) into a plain table", rows, copy_runs)
    python_cpu = statistics.median(bulk_python_cpu)
    bulk_seconds = line(
        "(b) product_bulk_upsert over product_rows_from_sheet",
        rows,
        bulk_runs,
        f"({rows:,} created; {python_cpu:.2f} s of it CPU time in Python)",
    )
    line("(c) the same file again", rows, again_runs, "(0 created, 0 updated)")
    product_copy_seconds = line("(e) raw COPY into a copy of inventory_product", rows, product_copy_runs)

    sample = min(options.sample, rows)
    truncate(product_table)
    resource_name, import_export_seconds, problem = import_export_sample(csv_path, sample)
    if problem:
        print(f"FAILED: django-import-export ({resource_name}): {problem}")
        return 1
    line(f"(d) django-import-export, {resource_name}", sample, [import_export_seconds])

    ratio = bulk_seconds / copy_seconds
    import_export_rate = sample / import_export_seconds
    print()
    verdict = "goal met" if ratio <= GOAL_RATIO else "goal NOT met"
    print(f"bulk / COPY: {ratio:.2f}x the time of COPY (goal: within {GOAL_RATIO:g}x) -> {verdict}")
    print(
        f"bulk / COPY into the product-shaped table (e): {bulk_seconds / product_copy_seconds:.2f}x; "
        f"that COPY alone is {product_copy_seconds / copy_seconds:.2f}x the plain COPY (a)"
    )
    print(f"bulk / django-import-export: {rows / bulk_seconds / import_export_rate:,.0f}x the rows per second")
    print(f"peak RSS of this process after the bulk imports: {peak_rss_mb:,.0f} MB")
    return 0


def import_export_sample(csv_path: Path, sample: int) -> tuple[str, float, str | None]:
    """Time django-import-export's import of the first ``sample`` rows of the same file into an empty table."""
    import tablib

    from inventory.models import PRODUCT_FIELDS  # after django_setup()

    try:
        from inventory.resources import ProductResource

        resource_class = ProductResource
        resource_name = "the admin's ProductResource"
    except ImportError:
        from import_export.resources import ModelResource

        from inventory.models import Product

        class PlainProductResource(ModelResource):
            class Meta:
                model = Product
                import_id_fields = ["sku"]
                fields = PRODUCT_FIELDS

        resource_class = PlainProductResource
        resource_name = "a plain ModelResource"
    with csv_path.open(encoding="utf-8", newline="") as stream:
        lines = [next(stream) for _ in range(sample + 1)]
    dataset = tablib.Dataset().load("".join(lines), format="csv")
    seconds, result = timed(lambda: resource_class().import_data(dataset, dry_run=False))
    if result.has_errors() or result.has_validation_errors():
        first = next(iter(result.invalid_rows), None) or next(iter(result.row_errors()), None)
        return resource_name, seconds, f"the import reported errors, first: {first}"
    if result.totals.get("new", 0) != sample:
        return resource_name, seconds, f"created {result.totals.get('new', 0)} rows, expected {sample}"
    return resource_name, seconds, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="products in the generated CSV (default 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a)-(c); the median is shown (default 3)")
    parser.add_argument("--sample", type=int, default=1000, help="rows for django-import-export (default 1,000)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--small", action="store_true", help="CI size: 2,000 rows, 1 run, 200-row sample")
    options = parser.parse_args(argv)
    if options.small:
        options.rows, options.repeat, options.sample = 2000, 1, 200
    if options.rows < 1 or options.repeat < 1 or options.sample < 1:
        parser.error("--rows, --repeat and --sample must be at least 1")
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
