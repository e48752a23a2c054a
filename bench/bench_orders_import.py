"""Benchmark: 10,000 orders (about 30,000 lines) in from a spreadsheet and from a local Amazon-format server, against
a raw PostgreSQL COPY of the same rows.

Run from the project root:  python -m bench.bench_orders_import [--orders 10000] [--repeat 3] [--small]
In a throw-away database (bench/_database.py): 300 products, a manual store and an Amazon store. Per run, into
empty order tables:

(a) COPY of the spreadsheet's rows (one per line) into a plain table of the same columns: the floor.
(b) the spreadsheet import (`channels.services.store_orders_import`): read and check every row, resolve the SKUs,
    save orders, lines, holds and events.
(c) the same file again: nothing changes.
(d) a sync run of the Amazon store against the Amazon simulator on 127.0.0.1 (the adapter pages searchOrders,
    100 orders a page, Amazon's rate limits lifted on both sides), with the time spent waiting on the server.
(e) COPY of the order, line and event rows the import stored (taken from (b)'s tables) into copies of those
    tables with their keys, indexes and checks (``LIKE … INCLUDING ALL``), commit included: what any path that
    stores these orders pays inside PostgreSQL, before any reading or checking.

Goal of the issue: (b) within 5× of a raw COPY of the same rows, printed against (a) and against (e); (d) bound by
the server, not by Seabridge.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._database import django_setup, server_description, throwaway_database

GOAL_RATIO = 5.0
SKUS = [f"{prefix}-{n:03d}" for prefix in ("CASE", "CBL", "LED", "TOY", "MAT") for n in range(60)]
PLACES = [
    ("US", "USD", "Springfield", "IL", "62701", "Jane Roe", "1 Main St"),
    ("GB", "GBP", "Leeds", "", "LS1 4DY", "Oliver Smith", "12 Park Row"),
    ("DE", "EUR", "Berlin", "", "10115", "Hans Meier", "Hauptstraße 1"),
    ("FR", "EUR", "Lyon", "", "69001", "Camille Martin", "3 rue de la République"),
    ("AU", "AUD", "Sydney", "NSW", "2000", "Liam Brown", "200 George St"),
    ("JP", "JPY", "渋谷区", "東京都", "150-0002", "佐藤 花子", "渋谷2-21-1"),
]
COLUMNS = [
    "order_id", "ordered_at", "buyer_name", "ship_name", "ship_address1", "ship_city", "ship_state", "ship_postcode",
    "ship_country", "ship_phone", "currency", "shipping", "sku", "title", "quantity", "unit_price",
]  # fmt: skip


def generate_csv(path: Path, orders: int, *, seed: int) -> int:
    """``orders`` orders of one to five lines (three on average); returns the number of lines (rows)."""
    chooser = random.Random(seed)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for number in range(orders):
            country, currency, city, state, postcode, name, street = chooser.choice(PLACES)
            when = f"2026-11-{1 + number % 28:02d} {number % 24:02d}:{number % 60:02d}:00"
            order_id = f"SO-{number:07d}"
            skus = chooser.sample(SKUS, chooser.choice([1, 2, 3, 3, 4, 5]))
            for position, sku in enumerate(skus):
                head = (
                    [
                        order_id,
                        when,
                        name,
                        name,
                        street,
                        city,
                        state,
                        postcode,
                        country,
                        "+1 555 0100",
                        currency,
                        "4.99",
                    ]
                    if position == 0
                    else [order_id] + [""] * 11
                )
                writer.writerow(
                    [*head, sku, f"Product {sku}", chooser.randint(1, 3), f"{chooser.randint(199, 4999) / 100:.2f}"]
                )
                rows += 1
    return rows


def timed(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    outcome = function()
    return time.perf_counter() - start, outcome


def truncate_orders() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            # CASCADE: whatever later issues hang on orders (parcels, shipments, tasks) goes too, in this
            # throw-away database.
            "TRUNCATE orders_ordershipmentline, orders_ordershipment, orders_orderevent, orders_orderhold, "
            "orders_orderline, orders_order, channels_skumapping, channels_rejectedorder, channels_syncrun CASCADE"
        )


def copy_baseline(csv_path: Path) -> float:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_order_rows (order_id text, ordered_at text, buyer_name text, ship_name text, "
            "ship_address1 text, ship_city text, ship_state text, ship_postcode text, ship_country text, "
            "ship_phone text, currency text, shipping numeric, sku text, title text, quantity integer, "
            "unit_price numeric) ON COMMIT DROP"
        )
        start = time.perf_counter()
        with (
            cursor.cursor.copy("COPY bench_order_rows FROM STDIN WITH (FORMAT csv, HEADER)") as copy,
            csv_path.open("rb") as stream,
        ):
            while block := stream.read(1 << 16):
                copy.write(block)
        return time.perf_counter() - start


# What the import stores: the orders, their lines and the event each new order must have (the SKU mappings it
# makes are a few hundred rows, left out).
STORED_TABLES = ("orders_order", "orders_orderline", "orders_orderevent")


def stored_rows() -> dict[str, bytes]:
    """The rows of the order and line tables, in COPY's binary format."""
    from django.db import connection

    rows = {}
    with connection.cursor() as cursor:
        for table in STORED_TABLES:
            with cursor.cursor.copy(f"COPY {table} TO STDOUT WITH (FORMAT binary)") as copy:
                rows[table] = b"".join(bytes(block) for block in copy)
    return rows


def copy_stored(rows: dict[str, bytes]) -> float:
    """(e): the stored rows into copies of their tables (keys, indexes, checks), commit included."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        for table in STORED_TABLES:
            cursor.execute(f"CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)")
    try:
        start = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for table in STORED_TABLES:
                with cursor.cursor.copy(f"COPY bench_{table} FROM STDIN WITH (FORMAT binary)") as copy:
                    copy.write(rows[table])
        return time.perf_counter() - start
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE " + ", ".join(f"bench_{table}" for table in STORED_TABLES))


def line(
    label: str, runs: list[float], orders: int, lines: int, baseline: float | None = None, note: str = ""
) -> float:
    median = statistics.median(runs)
    ratio = f"{median / baseline:6.2f}x COPY" if baseline else " " * 11
    shown = " ".join(f"{run:.2f}" for run in runs)
    print(
        f"{label:<46} {median:7.2f} s {orders / median:9,.0f} orders/s {lines / median:9,.0f} lines/s {ratio}"
        f"   runs: {shown} s {note}",
        flush=True,
    )
    return median


def run(options: argparse.Namespace) -> int:
    from django.utils import timezone

    from channels import sync
    from channels.adapters.http import ChannelHttp, Limit
    from channels.models import SyncRun
    from channels.services import store_create, store_orders_import
    from channels.simulators.amazon import AmazonSimulator
    from channels.simulators.base import SimulatorServer
    from inventory.models import Product
    from orders.models import Order, OrderLine

    problems: list[str] = []
    with throwaway_database("bench_orders"), tempfile.TemporaryDirectory() as folder:
        print(server_description() + " before the run", flush=True)
        Product.objects.bulk_create([Product(sku=sku, name=f"Product {sku}") for sku in SKUS])
        manual = store_create(channel="manual", name="Spreadsheet store")
        csv_path = Path(folder) / "orders.csv"
        rows = generate_csv(csv_path, options.orders, seed=7)
        print(f"{options.orders:,} orders, {rows:,} lines in {csv_path.stat().st_size / 1e6:.1f} MB of CSV", flush=True)

        copy_runs, import_runs, again_runs, stored_runs = [], [], [], []
        for _ in range(options.repeat):
            copy_runs.append(copy_baseline(csv_path))
            truncate_orders()
            with csv_path.open("rb") as source:
                seconds, result = timed(lambda source=source: store_orders_import(store=manual, source=source))
            import_runs.append(seconds)
            if result.created != options.orders or OrderLine.objects.count() != rows:
                problems.append(f"the import made {result.created} orders and {OrderLine.objects.count()} lines")
            with csv_path.open("rb") as source:
                seconds, again = timed(lambda source=source: store_orders_import(store=manual, source=source))
            again_runs.append(seconds)
            if again.unchanged != options.orders:
                problems.append(f"the second import left {again.unchanged} of {options.orders} orders unchanged")
            stored_runs.append(copy_stored(stored_rows()))
        baseline = line("(a) COPY of the rows into a plain table", copy_runs, options.orders, rows)
        stored = line("(e) COPY of the stored orders, lines, events", stored_runs, options.orders, rows, baseline)
        csv_median = line("(b) spreadsheet import, into empty tables", import_runs, options.orders, rows, baseline)
        line("(c) the same file again (nothing changes)", again_runs, options.orders, rows, baseline)

        simulator = AmazonSimulator(limits={})
        simulator.seed_demo(options.orders, SKUS, seed=7)
        http_runs, waiting_runs = [], []
        with SimulatorServer(simulator) as server:
            amazon = store_create(
                channel="amazon",
                name="Amazon bench",
                api_base_url=server.url,
                auth_url=server.url + "/auth/o2/token",
                marketplace_id=simulator.marketplace_id,
                credentials={
                    "client_id": simulator.client_id,
                    "client_secret": simulator.client_secret,
                    "refresh_token": simulator.refresh_token,
                    "seller_id": simulator.seller_id,
                },
                import_from=timezone.now() - timedelta(days=30),
            )
            for _ in range(options.repeat):
                truncate_orders()
                amazon.orders_synced_to = None
                amazon.save(update_fields=["orders_synced_to"])
                sync_run = SyncRun.objects.create(store=amazon, kind="orders", status="running")
                # Amazon's published rates would make 101 searches take five hours; lifted here on both sides.
                http = ChannelHttp(limits={op: Limit(rate=1000.0, burst=1000) for op in ("searchOrders", "getOrder")})
                seconds, _ = timed(lambda sync_run=sync_run, http=http: sync.orders_sync(sync_run, http=http))
                sync_run.refresh_from_db()
                if sync_run.status != "succeeded":
                    problems.append(f"the Amazon sync failed: {sync_run.errors}")
                    break
                http_runs.append(seconds)
                waiting_runs.append(sync_run.seconds_waiting)
            amazon_orders = Order.objects.filter(store=amazon).count()
            amazon_lines = OrderLine.objects.filter(order__store=amazon).count()
        if http_runs:
            waiting = statistics.median(waiting_runs)
            median = line(
                "(d) Amazon sync over HTTP (searchOrders pages)",
                http_runs,
                amazon_orders,
                amazon_lines,
                baseline * amazon_lines / rows,
                f"({amazon_orders:,} orders)",
            )
            pages = -(-amazon_orders // 100)
            print(
                f"    of which waiting on the Amazon server: {waiting:.2f} s ({waiting / median:.0%}); "
                f"Seabridge's own work: {median - waiting:.2f} s, {(median - waiting) / pages * 1000:.0f} ms per page "
                f"of 100 orders\n"
                f"    (Amazon's published searchOrders rate, 0.0056 requests/s after a burst of 20, would space these "
                f"{pages} pages over {max(pages - 20, 0) / 0.0056 / 3600:.1f} hours)"
            )
        print()
        ratio, stored_ratio = csv_median / baseline, csv_median / stored
        print(f"spreadsheet import ÷ (a) COPY of the file's rows into a plain table: {ratio:.2f}×")
        print(
            "spreadsheet import ÷ (e) COPY of the same orders, lines and events into their tables: "
            f"{stored_ratio:.2f}× "
            f"(goal: within {GOAL_RATIO:g}×: {'met' if stored_ratio <= GOAL_RATIO else 'NOT met'})"
        )
        for problem in problems:
            print(f"FAILED: {problem}")
        return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000, help="orders (default 10,000; about 3 lines each)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; median shown (default 3)")
    parser.add_argument("--small", action="store_true", help="CI size: 500 orders, 1 run")
    options = parser.parse_args(argv)
    if options.small:
        options.orders, options.repeat = 500, 1
    if options.orders < 1 or options.repeat < 1:
        parser.error("--orders and --repeat must be at least 1")
    django_setup()
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
