"""Benchmark: purchase suggestions for 50,000 products in 2 warehouses over a year of shipped order lines, against a
bare SQL GROUP BY of the same sales.

Run from the project root:  python -m bench.bench_suggestions [--products 50000] [--lines 3000000] [--repeat 3]
[--small] [--profile]. In a throw-away database (bench/_database.py): two warehouses (Shenzhen, own; Los Angeles,
overseas, replenished from Shenzhen by sea, so its rows are transfers), 50,000 products and 500 bundles of two
components, 20 suppliers with supplier products for nine products in ten, a global policy with a day cap, 1,000
product policies in Shenzhen with MOQ and case pack, promotions, stock-out days, a balance per product and
warehouse, 2,000 open purchase orders of 10 lines, 200 transfers in transit of 20 lines, 5,000 orders awaiting
stock, and a year of shipped orders of three lines each (one line in a hundred a bundle, products drawn with a skew:
a few sell every day, most now and then), written with INSERT … SELECT over generate_series. Then, per run
(``--repeat``, median shown):

(a) the bare GROUP BY (product, warehouse, day) of every shipped line of the year: the baseline;
(w) the same GROUP BY over the longest window only (30 days), which is what the engine reads of the sales;
(b) ``suggestions_compute()`` into an empty table (the first run: every row inserted);
(c) ``suggestions_compute()`` again (every row updated, as the hourly task does).

Goal of the issue: 100,000 suggestions over a few million order lines in under a minute. ``--profile`` prints
where (c) spends its time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._database import django_setup, server_description, throwaway_database

GOAL_SECONDS = 60.0
LINES_PER_ORDER = 3
BUNDLE_SHARE = 100  # one product in a hundred is a bundle (of two components)

# The sales of a year, per (product, warehouse, day): what the engine's SQL does, without the explosion of bundles.
BASELINE_SQL = """
SELECT count(*) FROM (
    SELECT line.product_id, sale.warehouse_id, shipment.shipped_at::date, SUM(shipment_line.quantity)
    FROM orders_ordershipment AS shipment
    JOIN orders_ordershipmentline AS shipment_line ON shipment_line.shipment_id = shipment.id
    JOIN orders_orderline AS line ON line.id = shipment_line.line_id
    JOIN orders_order AS sale ON sale.id = line.order_id
    WHERE shipment.handed_over AND shipment.shipped_at >= %(start)s
    GROUP BY 1, 2, 3
) AS sums
"""


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    outcome = function()
    return time.perf_counter() - start, outcome


def execute(sql: str, params: Any = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def insert_select(model, values: dict[str, str], source: str, params: dict[str, Any] | None = None) -> int:
    """INSERT INTO <model's table> SELECT ``values`` (column → SQL expression) FROM ``source``; every other column that
    may not be NULL gets the model's default (or now() for automatic times), so the generated rows are what the ORM
    would have written."""
    from django.db import connection

    columns, expressions = [], []
    params = dict(params or {})
    for field in model._meta.concrete_fields:
        column = field.column
        if column in values:
            columns.append(column)
            expressions.append(values[column])
        elif field.primary_key or field.null:
            continue
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            columns.append(column)
            expressions.append("now()")
        elif field.has_default():
            columns.append(column)
            expressions.append(f"%(default_{column})s")
            params[f"default_{column}"] = field.get_db_prep_save(field.get_default(), connection)
        else:
            raise ValueError(f"{model.__name__}.{field.name} needs a value")
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(expressions)} FROM {source}"
    return execute(sql, params)


def build(*, products: int, lines: int, today) -> dict[str, int]:
    """Master data through the ORM, everything counted in thousands or millions in set-based SQL."""
    from datetime import datetime, timedelta
    from datetime import time as clock

    from django.db import connection, transaction
    from django.utils import timezone

    from channels.services import store_create
    from inventory.models import BundleComponent, InventoryBalance, Product, Transfer, TransferLine, Warehouse
    from orders.models import Order, OrderLine, OrderShipment, OrderShipmentLine
    from purchasing.models import (
        Promotion,
        PurchaseOrder,
        PurchaseOrderLine,
        ReorderPolicy,
        Supplier,
        SupplierProduct,
    )

    shenzhen = Warehouse.objects.create(code="SZ", name="Shenzhen", country="CN")
    los_angeles = Warehouse.objects.create(code="LA", name="Los Angeles", country="US", kind=Warehouse.Kind.OVERSEAS)
    store = store_create(channel="manual", name="Bench store")
    plain = Product.objects.bulk_create(
        [Product(sku=f"SKU-{number:06d}", name=f"Product {number}") for number in range(products)], batch_size=5000
    )
    bundles = Product.objects.bulk_create(
        [Product(sku=f"KIT-{number:05d}", name=f"Kit {number}", is_bundle=True) for number in range(products // 100)]
    )
    BundleComponent.objects.bulk_create(
        [
            BundleComponent(bundle=bundle, component=plain[(number * 2 + offset) % products], quantity=1 + offset)
            for number, bundle in enumerate(bundles)
            for offset in (0, 1)
        ]
    )
    Supplier.objects.bulk_create([Supplier(name=f"Supplier {number:02d}") for number in range(20)])
    ReorderPolicy.objects.create(name="Global", day_cap_multiple=3)
    ReorderPolicy.objects.create(
        name="Los Angeles from Shenzhen",
        warehouse=los_angeles,
        replenish_from=shenzhen,
        transit_mode=ReorderPolicy.TransitMode.SEA,
        transit_days=30,
        safety_days=14,
    )
    ReorderPolicy.objects.bulk_create(
        [
            ReorderPolicy(
                name=f"Product {number}",
                product=plain[number],
                warehouse=shenzhen,
                minimum_order_quantity=50,
                case_pack=12,
            )
            for number in range(0, products, max(products // 1000, 1))
        ]
    )
    Promotion.objects.create(
        name="Store-wide", starts_on=today - timedelta(days=12), ends_on=today - timedelta(days=11)
    )
    Promotion.objects.bulk_create(
        [
            Promotion(
                name=f"Deal {number}",
                product=plain[number],
                starts_on=today - timedelta(days=3 + number % 20),
                ends_on=today - timedelta(days=1 + number % 20),
            )
            for number in range(0, products, max(products // 500, 1))
        ]
    )

    year_end = datetime.combine(today, clock.min, tzinfo=timezone.get_default_timezone())
    orders = max(lines // LINES_PER_ORDER, 1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            # Every row below names ids just read or made in this transaction; checking millions of foreign keys
            # at commit (Django's are deferred) took most of the load, so a superuser skips it in this throw-away
            # database.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_product (number integer PRIMARY KEY, id bigint, is_bundle boolean) "
            "ON COMMIT DROP"
        )
        with cursor.cursor.copy("COPY bench_product (number, id, is_bundle) FROM STDIN") as copy:
            for number, product in enumerate(plain):
                copy.write_row((number, product.pk, False))
            for number, bundle in enumerate(bundles):
                copy.write_row((products + number, bundle.pk, True))
        cursor.execute("ANALYZE bench_product")
        warehouses = f"ARRAY[{shenzhen.pk}, {los_angeles.pk}]::bigint[]"
        numbers = {"products": products, "bundles": len(bundles), "orders": orders}

        # Supplier products: nine products in ten, a tenth of those with a second, cheaper one; some legs set.
        insert_select(
            SupplierProduct,
            {
                "supplier_id": "(SELECT min(id) FROM purchasing_supplier) + mod(product.number, 20)",
                "product_id": "product.id",
                "unit_cost": "1 + mod(product.number, 97) / 10.0",
                "minimum_order_quantity": "CASE WHEN mod(product.number, 3) = 0 THEN 100 ELSE 1 END",
                "case_pack": "CASE WHEN mod(product.number, 4) = 0 THEN 24 ELSE 1 END",
                "lead_time_days": "CASE WHEN mod(product.number, 2) = 0 THEN 5 + mod(product.number, 25) END",
                "qc_days": "CASE WHEN mod(product.number, 5) = 0 THEN 2 END",
                "transit_days": "CASE WHEN mod(product.number, 7) = 0 THEN 4 END",
                "is_preferred": "mod(product.number, 30) = 0",
            },
            "bench_product AS product WHERE NOT product.is_bundle AND mod(product.number, 10) <> 9",
        )
        insert_select(
            SupplierProduct,
            {
                "supplier_id": "(SELECT min(id) FROM purchasing_supplier) + mod(product.number + 7, 20)",
                "product_id": "product.id",
                "unit_cost": "0.5 + mod(product.number, 89) / 10.0",
            },
            "bench_product AS product WHERE NOT product.is_bundle AND mod(product.number, 100) = 1",
        )
        # A balance per product and warehouse; one in ten out of stock. (The "x * 0" in LATERAL subqueries tie them
        # to the row, so that PostgreSQL draws random() for each row instead of once.)
        insert_select(
            InventoryBalance,
            {
                "product_id": "product.id",
                "warehouse_id": "warehouse.id",
                "on_hand": "stock.units",
                "sellable": "stock.units",
                "reserved": "(stock.units * random() * 0.3)::integer",
            },
            f"bench_product AS product CROSS JOIN unnest({warehouses}) AS warehouse(id) "
            "CROSS JOIN LATERAL (SELECT CASE WHEN random() < 0.1 THEN 0 ELSE (random() * 200)::integer END "
            "+ product.number * 0 + warehouse.id * 0 AS units) AS stock WHERE NOT product.is_bundle",
        )
        cursor.execute(
            "INSERT INTO purchasing_stockoutday (product_id, warehouse_id, day) "
            "SELECT product_id, warehouse_id, %(today)s::date - (1 + (random() * 29)::integer) "
            "FROM inventory_inventorybalance CROSS JOIN generate_series(1, 3) WHERE sellable - reserved <= 0 "
            "ON CONFLICT DO NOTHING",
            {"today": today},
        )
        # 2,000 open purchase orders of 10 lines, to either warehouse.
        insert_select(
            PurchaseOrder,
            {
                "number": "'PO-' || lpad(n::text, 6, '0')",
                "supplier_id": "(SELECT min(id) FROM purchasing_supplier) + mod(n, 20)",
                "warehouse_id": f"({warehouses})[1 + mod(n, 2)]",
                "status": "(ARRAY['draft', 'submitted', 'partially_received'])[1 + mod(n, 3)]",
            },
            "generate_series(1, 2000) AS n",
        )
        insert_select(
            PurchaseOrderLine,
            {
                "purchase_order_id": "purchase_order.id",
                "product_id": "product.id",
                "quantity": "20 + k * 10",
                "quantity_received": "CASE WHEN purchase_order.status = 'partially_received' THEN 10 ELSE 0 END",
                "unit_cost": "5",
            },
            "purchasing_purchaseorder AS purchase_order CROSS JOIN generate_series(0, 9) AS k "
            "JOIN bench_product AS product "
            "ON product.number = mod((purchase_order.id * 10 + k) * 7919, %(products)s)",
            numbers,
        )
        # 200 transfers from Shenzhen to Los Angeles, shipped, of 20 lines.
        insert_select(
            Transfer,
            {
                "number": "'TR-' || lpad(n::text, 6, '0')",
                "source_id": str(shenzhen.pk),
                "destination_id": str(los_angeles.pk),
                "status": "'shipped'",
                "shipped_at": "now()",
            },
            "generate_series(1, 200) AS n",
        )
        insert_select(
            TransferLine,
            {
                "transfer_id": "transfer.id",
                "product_id": "product.id",
                "quantity": "12",
                "quantity_shipped": "12",
                "quantity_received": "0",
            },
            "inventory_transfer AS transfer CROSS JOIN generate_series(0, 19) AS k "
            "JOIN bench_product AS product ON product.number = mod((transfer.id * 20 + k) * 104729, %(products)s)",
            numbers,
        )

        # A year of orders, each shipped in one parcel: order n at (n / orders) of the year, skewed products.
        shipped_at = f"%(year_end)s::timestamptz - interval '365 days' + (n::float8 / {orders}) * interval '365 days'"
        insert_select(
            Order,
            {
                "store_id": str(store.pk),
                "channel_order_id": "'B-' || n",
                "status": "'shipped'",
                "ordered_at": f"{shipped_at} - interval '1 day'",
                "channel_updated_at": shipped_at,
                "warehouse_id": f"({warehouses})[1 + mod(n, 2)]",
            },
            "generate_series(1, %(orders)s) AS n",
            {**numbers, "year_end": year_end},
        )
        cursor.execute("SELECT min(id), max(id) FROM orders_order")
        first_order, last_order = cursor.fetchone()
        # Line k of order n: a bundle one time in a hundred, else a product drawn with a skew (random()^3).
        insert_select(
            OrderLine,
            {
                "order_id": "sale.id",
                "channel_line_id": "'L' || k",
                "channel_sku": "'SKU'",
                "quantity": "pick.quantity",
                "product_id": "product.id",
                "product_quantity": "pick.quantity",
            },
            "orders_order AS sale CROSS JOIN generate_series(1, %(lines_per_order)s) AS k "
            "CROSS JOIN LATERAL (SELECT CASE WHEN random() < 0.01 "
            "THEN %(products)s + (random() * (%(bundles)s - 1))::integer "
            "ELSE (power(random(), 3) * (%(products)s - 1))::integer END + sale.id * 0 + k * 0 AS number, "
            "1 + (random() < 0.2)::integer * (random() * 4)::integer + sale.id * 0 AS quantity) AS pick "
            "JOIN bench_product AS product ON product.number = pick.number "
            "WHERE sale.status = 'shipped'",
            {**numbers, "lines_per_order": LINES_PER_ORDER},
        )
        insert_select(
            OrderShipment,
            {
                "order_id": "sale.id",
                "carrier": "'YunExpress'",
                "tracking_number": "'YT' || sale.id",
                "shipped_at": "sale.channel_updated_at",
                "handed_over": "mod(sale.id, 100) <> 0",  # one in a hundred only labelled
                "store_status": "'not_needed'",
            },
            "orders_order AS sale WHERE sale.status = 'shipped'",
        )
        insert_select(
            OrderShipmentLine,
            {"shipment_id": "shipment.id", "line_id": "line.id", "quantity": "line.quantity"},
            "orders_ordershipment AS shipment JOIN orders_orderline AS line ON line.order_id = shipment.order_id",
        )
        # 5,000 orders waiting for stock, at either warehouse, of one line.
        insert_select(
            Order,
            {
                "store_id": str(store.pk),
                "channel_order_id": "'W-' || n",
                "status": "'awaiting_stock'",
                "ordered_at": "now()",
                "channel_updated_at": "now()",
                "warehouse_id": f"({warehouses})[1 + mod(n, 2)]",
            },
            "generate_series(1, 5000) AS n",
        )
        insert_select(
            OrderLine,
            {
                "order_id": "sale.id",
                "channel_line_id": "'L1'",
                "channel_sku": "'SKU'",
                "quantity": "2",
                "product_id": "product.id",
                "product_quantity": "2",
            },
            "orders_order AS sale JOIN bench_product AS product ON product.number = mod(sale.id * 31, %(products)s) "
            "WHERE sale.status = 'awaiting_stock'",
            numbers,
        )
    for table in (
        "orders_order",
        "orders_orderline",
        "orders_ordershipment",
        "orders_ordershipmentline",
        "inventory_inventorybalance",
        "purchasing_supplierproduct",
        "purchasing_purchaseorderline",
        "inventory_transferline",
        "purchasing_stockoutday",
    ):
        execute(f"VACUUM ANALYZE {table}")
    return {
        "orders": last_order - first_order + 1,
        "lines": OrderShipmentLine.objects.count(),
        "products": len(plain),
        "warehouses": 2,
    }


def run(options: argparse.Namespace) -> int:
    from datetime import datetime, timedelta
    from datetime import time as clock

    from django.db import connection
    from django.utils import timezone

    from purchasing.models import Suggestion
    from purchasing.suggestions import suggestions_compute

    problems: list[str] = []
    with throwaway_database("bench_suggestions"):
        print(server_description() + " before the run", flush=True)
        today = timezone.localdate()
        seconds, made = timed(lambda: build(products=options.products, lines=options.lines, today=today))
        rows = made["products"] * made["warehouses"]
        print(
            f"Loaded {made['products']:,} products × {made['warehouses']} warehouses, {made['orders']:,} orders and "
            f"{made['lines']:,} shipped lines over a year in {seconds:.1f} s",
            flush=True,
        )
        year_start = datetime.combine(today - timedelta(days=365), clock.min, tzinfo=timezone.get_default_timezone())
        window_start = datetime.combine(today - timedelta(days=30), clock.min, tzinfo=timezone.get_default_timezone())

        def group_by(start: datetime) -> float:
            with connection.cursor() as cursor:
                seconds, _ = timed(lambda: cursor.execute(BASELINE_SQL, {"start": start}))
            return seconds

        baseline_runs, window_runs, first_runs, again_runs = [], [], [], []
        profile = cProfile.Profile() if options.profile else None
        for number in range(options.repeat):
            baseline_runs.append(group_by(year_start))
            window_runs.append(group_by(window_start))
            if number == 0:
                seconds, written = timed(lambda: suggestions_compute(today=today))
                first_runs.append(seconds)
                if written != rows:
                    problems.append(f"the first run wrote {written:,} rows, not {rows:,}")
            if profile is not None:
                profile.enable()
            seconds, written = timed(lambda: suggestions_compute(today=today))
            if profile is not None:
                profile.disable()
            again_runs.append(seconds)
            if written != rows:
                problems.append(f"a recompute wrote {written:,} rows, not {rows:,}")

        baseline = statistics.median(baseline_runs)

        def line(label: str, runs: list[float], note: str = "") -> float:
            median = statistics.median(runs)
            shown = " ".join(f"{run:.2f}" for run in runs)
            print(
                f"{label:<48} {median:7.2f} s {rows / median:10,.0f} rows/s {median / baseline:7.2f}x (a)"
                f"   runs: {shown} s {note}",
                flush=True,
            )
            return median

        print()
        line("(a) GROUP BY of a year of shipped lines", baseline_runs, f"({made['lines']:,} lines)")
        line("(w) the same over the longest window (30 days)", window_runs)
        first = line("(b) suggestions_compute, first run (inserts)", first_runs)
        again = line("(c) suggestions_compute again (updates)", again_runs)
        to_order = Suggestion.objects.filter(quantity__gt=0).count()
        transfers = Suggestion.objects.filter(kind="transfer").count()
        print(
            f"    {rows:,} suggestions: {to_order:,} with something to order; {transfers:,} are transfers "
            "(Los Angeles from Shenzhen)"
        )
        slowest = max(first, again)
        print(
            f"goal: {rows:,} suggestions over {made['lines']:,} order lines in under {GOAL_SECONDS:.0f} s — "
            f"{'met' if slowest < GOAL_SECONDS else 'NOT met'} ({slowest:.1f} s)"
        )
        if to_order == 0 or transfers != made["products"]:
            problems.append(f"{to_order} rows to order and {transfers} transfers (expected {made['products']:,})")
        if profile is not None:
            stream = io.StringIO()
            pstats.Stats(profile, stream=stream).sort_stats("cumulative").print_stats(25)
            print(stream.getvalue())
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=50_000, help="products (default 50,000), in 2 warehouses")
    parser.add_argument("--lines", type=int, default=3_000_000, help="shipped order lines over a year (default 3M)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; median shown (default 3)")
    parser.add_argument("--small", action="store_true", help="CI size: 500 products, 21,000 lines, 1 run")
    parser.add_argument("--profile", action="store_true", help="print where the recomputes spend their time")
    options = parser.parse_args(argv)
    if options.small:
        options.products, options.lines, options.repeat = 500, 21_000, 1
    if options.products < 100 or options.lines < LINES_PER_ORDER or options.repeat < 1:
        parser.error("--products must be at least 100, --lines at least 3 and --repeat at least 1")
    django_setup()
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
