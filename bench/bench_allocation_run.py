"""Benchmark: the allocation run (issue 9) — 10,000 new orders against 100 rules and 3 warehouses, stock reserved.

Run from the project root:  python -m bench.bench_allocation_run [--orders 10000] [--rules 100] [--small]
In a throw-away database, the data of ``bench_allocation_rules`` (300 products, 3 warehouses in CN, US and GB,
3 shipping methods with rate cards, orders of one to five lines to 6 countries, 100 rules of every condition and
action), plus stock received into one bin per warehouse so that most orders can be filled and some must wait.
Timed:

(a) ``orders.fulfilment.orders_allocate`` over every order: facts, rules, routing, parcels, reservations through
    ``inventory.stock_services.stock_reserve``, the status events; with its share spent reserving stock and the
    queries per order (a fixed number, whatever the number of rules);
and, as baselines in the same run, (b) a plain ``SELECT`` of the same orders with their lines and products, and
(c) ``stock_reserve`` alone for as many parcels as (a) reserved, with the same lines, in a rolled-back transaction.

Goal of the issue: the 10,000 orders in under a minute on this machine, with no query per order per rule.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._database import django_setup, server_description, throwaway_database


def stock_make(per_product: int) -> None:
    from inventory.models import Bin, Product, Warehouse
    from inventory.stock_services import stock_receive

    for index, warehouse in enumerate(Warehouse.objects.order_by("code")):
        warehouse.bin_code_pattern = ""
        warehouse.save(update_fields=["bin_code_pattern"])
        bin_ = Bin.objects.create(warehouse=warehouse, code=f"A-{index:02d}", kind=Bin.Kind.PICK, is_sellable=True)
        for number, product in enumerate(Product.objects.order_by("pk")):
            # Some products are short in some warehouses, so routing looks further and some orders wait.
            quantity = per_product if (number + index) % 7 else per_product // 20
            if quantity:
                stock_receive(product=product, bin=bin_, quantity=quantity, reference="BENCH")


def run(options: argparse.Namespace) -> int:
    from django.db import connection, transaction
    from django.db.models import Count

    from bench.bench_allocation_rules import data_make
    from inventory.errors import InsufficientStock
    from inventory.models import Reservation
    from inventory.stock_services import stock_reserve
    from orders.fulfilment import orders_allocate
    from orders.models import AllocationRule, Order, OrderLine

    with throwaway_database("bench_allocation"):
        print(server_description() + " before the run", flush=True)
        ids = data_make(options.orders, options.rules)
        stock_make(max(options.orders // 40, 20))
        rules = AllocationRule.objects.filter(is_active=True).count()
        print(f"{len(ids):,} orders, {rules} rules, 3 warehouses", flush=True)

        began = time.perf_counter()
        list(Order.objects.filter(pk__in=ids).select_related("store"))
        list(OrderLine.objects.filter(order_id__in=ids).select_related("product"))
        plain = time.perf_counter() - began

        queries = []

        def counted(execute, sql, params, many, context):
            queries.append(1)
            return execute(sql, params, many, context)

        if options.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        with connection.execute_wrapper(counted):
            result = orders_allocate()
        if options.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        total = result.seconds_total
        count = len(ids)
        statuses = dict(Order.objects.values_list("status").annotate(n=Count("pk")).order_by())

        # (c) the same reservations alone, rolled back.
        reservations = list(Reservation.objects.select_related("product", "warehouse").order_by("reference", "pk"))
        by_parcel: dict[str, list] = {}
        for row in reservations:
            by_parcel.setdefault(row.reference, []).append(row)
        began = time.perf_counter()
        with transaction.atomic():
            for reference, rows in by_parcel.items():
                try:  # one unit of each line: the cost of the call, whatever stock is left
                    with transaction.atomic():
                        stock_reserve(
                            warehouse=rows[0].warehouse,
                            lines=[(row.product, 1) for row in rows],
                            reference=reference + "-BENCH",
                        )
                except InsufficientStock:
                    pass
            transaction.set_rollback(True)
        alone = time.perf_counter() - began

        print(f"(b) SELECT of the orders, lines and products   {plain:7.2f} s {count / plain:9,.0f} orders/s")
        print(
            f"(a) allocation run                             {total:7.2f} s {count / total:9,.0f} orders/s   "
            f"{len(queries):,} queries ({len(queries) / count:.2f} per order, whatever the number of rules)"
        )
        print(
            f"    facts {result.seconds_facts:.2f} s, rules {result.seconds_deciding:.2f} s "
            f"({result.seconds_deciding / max(result.rule_evaluations, 1) * 1e6:.1f} µs per rule per order), "
            f"reserving {result.seconds_reserving:.2f} s ({result.seconds_reserving / total:.0%} of the run)"
        )
        print(
            f"(c) stock_reserve alone for the {len(by_parcel):,} parcels  {alone:7.2f} s "
            f"(the run takes {total / alone:.1f}× that, {total / plain:.1f}× the plain SELECT)"
        )
        print(
            f"    {result.allocated:,} allocated in {result.parcels:,} parcels, {result.awaiting_stock:,} awaiting "
            f"stock, {result.held:,} held; statuses now {statuses}"
        )
        print(f"    goal: {count:,} orders in under 60 s — {'met' if total < 60 else 'NOT met'}")
        problems = []
        if result.allocated == 0:
            problems.append("no order was allocated")
        if len(queries) / count > 30:
            problems.append(f"{len(queries) / count:.0f} queries per order: a query per rule?")
        for problem in problems:
            print(f"FAILED: {problem}")
        return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--small", action="store_true", help="CI size: 500 orders, 20 rules")
    parser.add_argument("--profile", action="store_true", help="print where the run spends its time")
    options = parser.parse_args(argv)
    if options.small:
        options.orders, options.rules = 500, 20
    if options.orders < 1 or options.rules < 2:
        parser.error("--orders must be at least 1, --rules at least 2")
    django_setup()
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
