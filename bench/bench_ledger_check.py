"""Benchmark: check and rebuild stock levels and balances against a ledger of a million moves.

Run from the project root:  python -m bench.bench_ledger_check [--moves 1000000] [--products 10000] [--repeat 3]
[--small]. In a throw-away database (see bench/_database.py) it writes the ledger with one INSERT … SELECT over
generate_series (receipt → put-away → pick → ship cycles across two warehouses), derives levels, balances and
one reserved unit per product from it in SQL, then times stock_drift_check and stock_balances_rebuild
(dry run, and a real repair of drift made on purpose). The baseline is one bare GROUP BY over the ledger.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._database import django_setup, server_description, throwaway_database

PICK_BINS_PER_WAREHOUSE = 500
# Drift made on purpose after the clean runs: the check must find exactly these, the rebuild must repair them.
CORRUPT_LEVELS = 10
CORRUPT_BALANCES = 5

# Cycle c (moves 4c .. 4c+3) is about product c mod P, kept in warehouse P mod 2 and its pick bin:
# receipt of 10 into receiving, put-away of 10 to the pick bin, pick of 3 to packing, ship of 3 from packing.
# Any prefix of a cycle leaves every bin at zero or more, so the ledger can stop anywhere.
LEDGER_SQL = """
INSERT INTO inventory_stockmove (product_id, from_bin_id, to_bin_id, quantity, reason, reference, note, created_at)
SELECT product.id,
       (ARRAY[NULL, place.receiving_id, place.pick_id, place.packing_id])[step.k + 1],
       (ARRAY[place.receiving_id, place.pick_id, place.packing_id, NULL])[step.k + 1],
       (ARRAY[10, 10, 3, 3])[step.k + 1],
       (ARRAY['receipt', 'put_away', 'pick', 'ship'])[step.k + 1],
       'BENCH-' || step.cycle, '', now()
FROM generate_series(0, %(moves)s - 1) AS move(number)
CROSS JOIN LATERAL (SELECT move.number / 4 AS cycle, move.number %% 4 AS k) AS step
JOIN bench_product AS product ON product.number = step.cycle %% %(products)s
JOIN bench_place AS place ON place.product_number = product.number
ORDER BY move.number
"""
LEVELS_SQL = """
INSERT INTO inventory_stocklevel (product_id, bin_id, on_hand, updated_at)
SELECT product_id, bin_id, SUM(quantity), now()
FROM (
    SELECT product_id, to_bin_id AS bin_id, quantity FROM inventory_stockmove WHERE to_bin_id IS NOT NULL
    UNION ALL
    SELECT product_id, from_bin_id, -quantity FROM inventory_stockmove WHERE from_bin_id IS NOT NULL
) AS entries
GROUP BY product_id, bin_id
"""
RESERVATIONS_SQL = """
INSERT INTO inventory_reservation
    (product_id, warehouse_id, reference, quantity_reserved, quantity_picked, quantity_shipped, created_at, updated_at)
SELECT level.product_id, bin.warehouse_id, 'bench-order-line:' || level.product_id, 1, 0, 0, now(), now()
FROM inventory_stocklevel AS level JOIN inventory_bin AS bin ON bin.id = level.bin_id
WHERE bin.is_sellable AND level.on_hand >= 1
"""
# Each reservation's history, as stock_reserve writes it: the check compares the two.
RESERVATION_EVENTS_SQL = """
INSERT INTO inventory_reservationevent (reservation_id, kind, quantity, created_at)
SELECT id, 'reserved', quantity_reserved, now() FROM inventory_reservation
"""
BALANCES_SQL = """
INSERT INTO inventory_inventorybalance (product_id, warehouse_id, on_hand, sellable, reserved, updated_at)
SELECT stock.product_id, stock.warehouse_id, stock.on_hand, stock.sellable, COALESCE(reserved.quantity, 0), now()
FROM (
    SELECT level.product_id, bin.warehouse_id, SUM(level.on_hand) AS on_hand,
           COALESCE(SUM(level.on_hand) FILTER (WHERE bin.is_sellable), 0) AS sellable
    FROM inventory_stocklevel AS level JOIN inventory_bin AS bin ON bin.id = level.bin_id
    GROUP BY level.product_id, bin.warehouse_id
) AS stock
LEFT JOIN (
    SELECT product_id, warehouse_id, SUM(quantity_reserved) AS quantity
    FROM inventory_reservation GROUP BY product_id, warehouse_id
) AS reserved ON reserved.product_id = stock.product_id AND reserved.warehouse_id = stock.warehouse_id
"""
BASELINE_SQL = (
    "SELECT count(*) FROM (SELECT product_id, to_bin_id, SUM(quantity) FROM inventory_stockmove GROUP BY 1, 2) AS sums"
)


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    outcome = function()
    return time.perf_counter() - start, outcome


def execute(sql: str, params: dict[str, Any] | None = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def build(*, moves: int, products: int) -> None:
    """Master data through the ORM; the ledger, levels, reservations and balances in set-based SQL."""
    from django.db import connection, transaction

    from inventory.models import Bin, Product, Warehouse

    warehouses = [
        Warehouse.objects.create(code=code, name=code, country=country)
        for code, country in (("SZ", "CN"), ("LA", "US"))
    ]
    bins: dict[int, dict[str, Any]] = {}
    for number, warehouse in enumerate(warehouses):
        bins[number] = {
            "receiving": Bin.objects.create(
                warehouse=warehouse, code="R-01-01-01", kind=Bin.Kind.RECEIVING, is_sellable=False
            ),
            "packing": Bin.objects.create(
                warehouse=warehouse, code="P-01-01-01", kind=Bin.Kind.PACKING, is_sellable=False
            ),
            "pick": Bin.objects.bulk_create(
                [
                    Bin(warehouse=warehouse, code=f"A-{index // 100:02d}-{index % 100:02d}-01", kind=Bin.Kind.PICK)
                    for index in range(PICK_BINS_PER_WAREHOUSE)
                ]
            ),
        }
    created = Product.objects.bulk_create(
        [Product(sku=f"SKU-{number:06d}", name=f"Product {number}") for number in range(products)], batch_size=5000
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_product (number integer PRIMARY KEY, id bigint) ON COMMIT DROP")
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_place (product_number integer PRIMARY KEY, receiving_id bigint, "
            "pick_id bigint, packing_id bigint) ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY bench_product (number, id) FROM STDIN") as copy:
            for number, product in enumerate(created):
                copy.write_row((number, product.pk))
        with cursor.cursor.copy("COPY bench_place FROM STDIN") as copy:
            for number in range(products):
                place = bins[number % 2]
                pick = place["pick"][(number // 2) % PICK_BINS_PER_WAREHOUSE]
                copy.write_row((number, place["receiving"].pk, pick.pk, place["packing"].pk))
        seconds, _ = timed(lambda: cursor.execute(LEDGER_SQL, {"moves": moves, "products": products}))
        print(f"ledger: {moves:,} moves written in {seconds:.1f} s", flush=True)
        cursor.execute(LEVELS_SQL)
        cursor.execute(RESERVATIONS_SQL)
        cursor.execute(RESERVATION_EVENTS_SQL)
        cursor.execute(BALANCES_SQL)
    execute("VACUUM ANALYZE")


def corrupt() -> None:
    """Change CORRUPT_LEVELS levels and CORRUPT_BALANCES balances behind the ledger's back."""
    execute(
        "UPDATE inventory_stocklevel SET on_hand = on_hand + 1 "
        "WHERE id IN (SELECT id FROM inventory_stocklevel ORDER BY id LIMIT %(count)s)",
        {"count": CORRUPT_LEVELS},
    )
    execute(
        "UPDATE inventory_inventorybalance SET on_hand = on_hand + 2 "
        "WHERE id IN (SELECT id FROM inventory_inventorybalance ORDER BY id DESC LIMIT %(count)s)",
        {"count": CORRUPT_BALANCES},
    )


def line(label: str, moves: int, runs: list[float], baseline: float | None = None, note: str = "") -> float:
    median = statistics.median(runs)
    shown = " ".join(f"{run:.2f}" for run in runs)
    ratio = f"{median / baseline:>6.2f}x baseline" if baseline else " " * 15
    print(f"{label:<52} {median:>7.2f} s {moves / median:>12,.0f} moves/s {ratio}   runs: {shown} s {note}", flush=True)
    return median


def run(options: argparse.Namespace) -> int:
    from django.db import connection

    from inventory.ledger import stock_balances_rebuild, stock_drift_check

    with throwaway_database("bench_ledger"):
        print(server_description() + " before the run", flush=True)
        build(moves=options.moves, products=options.products)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM inventory_stockmove")
            (moves,) = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM inventory_stocklevel")
            (levels,) = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM inventory_inventorybalance")
            (balances,) = cursor.fetchone()
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('inventory_stockmove'))")
            (size,) = cursor.fetchone()
        print(
            f"{moves:,} moves ({size} with indexes), {levels:,} stock levels, {balances:,} balances; "
            f"median of {options.repeat} run(s)\n",
            flush=True,
        )

        baseline_runs, check_runs, dry_runs, found_runs, repair_runs = [], [], [], [], []
        problems = []
        for _ in range(options.repeat):
            seconds, _ = timed(lambda: execute(BASELINE_SQL))
            baseline_runs.append(seconds)
            seconds, report = timed(stock_drift_check)
            check_runs.append(seconds)
            if not report.ok:
                problems.append(f"the check found drift in a consistent ledger: {report.summary()}")
            seconds, rebuild = timed(lambda: stock_balances_rebuild(dry_run=True))
            dry_runs.append(seconds)
            if rebuild.changed:
                problems.append(f"the dry run would change {rebuild.changed} rows of a consistent ledger")

            corrupt()
            seconds, report = timed(stock_drift_check)
            found_runs.append(seconds)
            found = (len(report.level_drifts), len(report.balance_drifts))
            if found != (CORRUPT_LEVELS, CORRUPT_BALANCES):
                problems.append(f"the check found {found} drifts, {(CORRUPT_LEVELS, CORRUPT_BALANCES)} were made")
            seconds, rebuild = timed(lambda: stock_balances_rebuild(dry_run=False))
            repair_runs.append(seconds)
            after = stock_drift_check()
            if rebuild.changed != CORRUPT_LEVELS + CORRUPT_BALANCES or not after.ok:
                problems.append(f"the rebuild changed {rebuild.changed} rows and left drift: {after.summary()}")

        baseline = line("(a) baseline: one bare GROUP BY over the ledger", moves, baseline_runs)
        line("(b) stock_drift_check, no drift", moves, check_runs, baseline)
        line("(c) stock_balances_rebuild(dry_run=True)", moves, dry_runs, baseline)
        line("(d) stock_drift_check, finding the drift made", moves, found_runs, baseline, f"({found[0]} + {found[1]})")
        line("(e) stock_balances_rebuild(dry_run=False), repair", moves, repair_runs, baseline, "(with table locks)")
        print()
        for problem in problems:
            print(f"FAILED: {problem}")
        if not problems:
            print("every check agreed with the ledger; every drift made was found and repaired")
        return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=1_000_000, help="ledger rows (default 1,000,000)")
    parser.add_argument("--products", type=int, default=10_000, help="products (default 10,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; median shown (default 3)")
    parser.add_argument("--small", action="store_true", help="CI size: 20,000 moves, 1,000 products, 1 run")
    options = parser.parse_args(argv)
    if options.small:
        options.moves, options.products, options.repeat = 20_000, 1000, 1
    if options.moves < 4 or options.products < 2 or options.repeat < 1:
        parser.error("--moves must be at least 4, --products at least 2, --repeat at least 1")
    django_setup()
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
