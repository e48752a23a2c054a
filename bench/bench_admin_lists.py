"""Benchmark: the admin's lists and home page with 100,000 products and 100,000 stock moves.

Run from the project root:  python -m bench.bench_admin_lists [--moves 100000] [--products 100000] [--repeat 5]
[--small]. In a throw-away database (see bench/_database.py) it writes the products, bins and ledger as
bench_ledger_check does (levels, balances and reservations derived in SQL), then requests each page as a
logged-in superuser through Django's test client (the whole request: middleware, admin, templates) and prints,
per page, the median time, the number of queries, the time those queries take when run again on their own,
and the ratio to the same page with Django's defaults (a full count of the table on every page, no related rows
selected in the list's query), measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._database import django_setup, server_description, throwaway_database


def pages() -> list[tuple[str, str, type | None]]:
    """(label, URL, model whose admin the page is) for each page measured."""
    from django.urls import reverse

    from inventory.models import (
        Bin,
        InventoryBalance,
        Product,
        Reservation,
        ReservationEvent,
        StockLevel,
        StockMove,
    )

    product = Product.objects.order_by("id")[Product.objects.count() // 2]
    changelist = {
        model: reverse(f"admin:inventory_{model._meta.model_name}_changelist")
        for model in (Product, Bin, StockLevel, InventoryBalance, StockMove, Reservation, ReservationEvent)
    }
    return [
        ("home page (dashboard)", reverse("admin:index"), None),
        ("products", changelist[Product], Product),
        ("products, search by SKU", f"{changelist[Product]}?q={product.sku}", Product),
        ("products, active only", f"{changelist[Product]}?is_active__exact=1", Product),
        ("product change page", reverse("admin:inventory_product_change", args=[product.pk]), None),
        ("bins", changelist[Bin], Bin),
        ("stock by bin", changelist[StockLevel], StockLevel),
        ("stock by warehouse", changelist[InventoryBalance], InventoryBalance),
        ("stock ledger", changelist[StockMove], StockMove),
        ("stock ledger of one product", f"{changelist[StockMove]}?product={product.pk}", StockMove),
        ("stock ledger, search by reference", f"{changelist[StockMove]}?q=BENCH-4242", StockMove),
        ("reservations", changelist[Reservation], Reservation),
        ("reservation history", changelist[ReservationEvent], ReservationEvent),
    ]


def request(client, url: str) -> tuple[float, list[str]]:
    """One GET of the page: its time and the SQL it ran. Fails on anything but 200."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        response = client.get(url)
        seconds = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return seconds, [query["sql"] for query in captured.captured_queries]


def measured(client, url: str, repeat: int) -> tuple[float, list[str]]:
    """The median time of ``repeat`` requests after one warm-up, and the SQL of the last."""
    request(client, url)
    runs, statements = [], []
    for _ in range(repeat):
        seconds, statements = request(client, url)
        runs.append(seconds)
    return statistics.median(runs), statements


def database_seconds(statements: list[str]) -> float:
    """The time the page's queries take on their own, run again in the same order."""
    from django.db import connection

    with connection.cursor() as cursor:
        start = time.perf_counter()
        for sql in statements:
            if sql.lstrip().upper().startswith(("SELECT", "WITH")):
                cursor.execute(sql)
                cursor.fetchall()
        return time.perf_counter() - start


class DjangoDefaults:
    """The page's admin as Django ships it: a full count on every page, the list's related rows one by one."""

    def __init__(self, model: type | None) -> None:
        from django.contrib import admin

        self.model_admin = admin.site._registry.get(model) if model else None
        self.saved: dict[str, object] = {}

    def __enter__(self) -> DjangoDefaults:
        if self.model_admin is not None:
            for name, value in (("show_full_result_count", True), ("list_select_related", False)):
                self.saved[name] = self.model_admin.__dict__.get(name, getattr(type(self.model_admin), name))
                setattr(self.model_admin, name, value)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for name in self.saved:
            delattr(self.model_admin, name)


def run(options: argparse.Namespace) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from bench.bench_ledger_check import build

    with throwaway_database("bench_admin_lists"):
        print(server_description() + " before the run", flush=True)
        build(moves=options.moves, products=options.products)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM inventory_product), (SELECT count(*) FROM inventory_stockmove), "
                "(SELECT count(*) FROM inventory_stocklevel), (SELECT count(*) FROM inventory_reservation)"
            )
            products, moves, levels, reservations = cursor.fetchone()
        print(
            f"{products:,} products, {moves:,} moves, {levels:,} stock levels, {reservations:,} reservations; "
            f"median of {options.repeat} request(s) after one warm-up\n",
            flush=True,
        )
        user = get_user_model().objects.create_superuser("bench", password="bench-pass-123")
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)

        header = f"{'page':<36} {'time':>9} {'queries':>7} {'in SQL':>9} {'defaults':>9} {'queries':>7} {'ratio':>6}"
        print(header)
        print("-" * len(header))
        problems = []
        for label, url, model in pages():
            ours, statements = measured(client, url, options.repeat)
            in_sql = database_seconds(statements)
            with DjangoDefaults(model):
                defaults, default_statements = measured(client, url, options.repeat)
            print(
                f"{label:<36} {ours * 1000:>7.0f}ms {len(statements):>7} {in_sql * 1000:>7.0f}ms "
                f"{defaults * 1000:>7.0f}ms {len(default_statements):>7} {ours / defaults:>5.2f}x",
                flush=True,
            )
            if len(statements) > len(default_statements):
                problems.append(f"{label}: more queries ({len(statements)}) than Django's defaults")
        print()
        print(
            "time: the whole request, median; in SQL: its queries run again on their own; defaults: the same page "
            "with show_full_result_count=True and list_select_related=False; ratio: time / defaults"
        )
        for problem in problems:
            print(f"FAILED: {problem}")
        return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=100_000, help="ledger rows (default 100,000)")
    parser.add_argument("--products", type=int, default=100_000, help="products (default 100,000)")
    parser.add_argument("--repeat", type=int, default=5, help="requests of each page; median shown (default 5)")
    parser.add_argument("--small", action="store_true", help="CI size: 4,000 moves, 1,000 products, 1 request")
    options = parser.parse_args(argv)
    if options.small:
        options.moves, options.products, options.repeat = 4000, 1000, 1
    if options.moves < 4 or options.products < 2 or options.repeat < 1:
        parser.error("--moves must be at least 4, --products at least 2, --repeat at least 1")
    django_setup()
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
