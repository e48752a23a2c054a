"""Benchmark: 100 allocation rules decided for 10,000 orders (the rule engine of issue 9 alone; the whole allocation
run, with routing, parcels and reservations, is ``bench_allocation_run``).

Run from the project root:  python -m bench.bench_allocation_rules [--orders 10000] [--rules 100] [--small]
In a throw-away database: 300 products, 3 warehouses, 3 shipping methods with rate cards, 10,000 orders of one to
five lines to 6 countries, 100 rules of every condition and action (the last one chooses the cheapest of three
methods, so every order not decided earlier is quoted). Timed, in batches of 1,000 orders:

(f) the facts the rules read (``orders.allocation.order_facts``): orders, lines and products, the blacklist, the
    buyers' earlier orders; with the number of queries per batch;
(r) the decisions (``orders.rules.decide``) of every order against every rule, quotes included;
and, as the baseline in the same run, (b) a plain ``SELECT`` of the same orders with their lines and products.

Figures printed: orders/s, the time of one rule on one order, queries per batch (none per order or per rule).
Goal of the issue: 10,000 orders in under a minute, reservations included (see ``bench_allocation_run``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._database import django_setup, server_description, throwaway_database

BATCH = 1000
COUNTRIES = [("US", "62701", "IL"), ("US", "94105", "CA"), ("GB", "SW1A 1AA", ""), ("DE", "10115", ""),
             ("FR", "69001", ""), ("JP", "150-0002", "東京都")]  # fmt: skip


def rules_make(count: int, skus: list[str]) -> list[dict]:
    chooser = random.Random(3)
    conditions = [
        lambda: {"field": "country", "op": "in", "value": [chooser.choice(["US", "GB", "DE", "FR", "JP"])]},
        lambda: {"field": "postcode", "op": "starts_with", "value": [str(chooser.randint(1, 9))]},
        lambda: {"field": "order_total", "op": "gt", "value": str(chooser.randint(50, 500))},
        lambda: {"field": "line_count", "op": "gte", "value": chooser.randint(2, 5)},
        lambda: {"field": "total_weight_g", "op": "lt", "value": chooser.randint(100, 3000)},
        lambda: {"field": "sku", "op": "any_of", "value": chooser.sample(skus, 5)},
        lambda: {"field": "has_battery", "op": "is", "value": True},
        lambda: {"field": "buyer_orders", "op": "eq", "value": 0},
        lambda: {"field": "address_ok", "op": "is", "value": False},
        lambda: {"field": "blacklisted", "op": "is", "value": True},
        lambda: {"field": "tag", "op": "any_of", "value": ["t1", "t2"]},
    ]
    actions = [
        lambda: {"type": "add_tag", "tag": chooser.choice(["t1", "t2", "t3"])},
        lambda: {"type": "set_warehouse", "warehouse": chooser.choice(["SZ", "LA", "UK"])},
        lambda: {"type": "set_method", "method": chooser.choice(["YT", "EC", "EX"])},
    ]
    rare_hold = {"type": "hold", "reason": "check"}
    rules = [
        {
            "name": "blacklisted: hold",
            "priority": 0,
            "conditions": [{"field": "blacklisted", "op": "is", "value": True}],
            "actions": [rare_hold],
            "stop": True,
        }
    ]
    for number in range(1, count - 1):
        rules.append(
            {
                "name": f"rule {number:03d}",
                "priority": number,
                "match": chooser.choice(["all", "all", "any"]),
                "conditions": [chooser.choice(conditions)() for _ in range(chooser.randint(1, 3))],
                "actions": [chooser.choice(actions)() for _ in range(chooser.randint(1, 2))],
            }
        )
    rules.append(
        {
            "name": "the rest: cheapest",
            "priority": count,
            "conditions": [],
            "actions": [{"type": "cheapest_method", "methods": ["YT", "EC", "EX"]}],
        }
    )
    return rules


def data_make(orders: int, rules: int) -> list[int]:
    from channels.services import store_create
    from inventory.models import Product, Warehouse
    from logistics.models import Carrier
    from logistics.services import method_save, rate_card_save
    from orders.allocation import rule_save
    from orders.imports import orders_upsert
    from orders.inbound import AddressIn, LineIn, OrderIn

    chooser = random.Random(7)
    skus = [f"SKU-{n:03d}" for n in range(300)]
    products = Product.objects.bulk_create(
        [
            Product(sku=sku, name=sku, weight_g=chooser.randint(50, 900), contains_battery=n % 17 == 0)
            for n, sku in enumerate(skus)
        ]
    )
    for code, country in (("SZ", "CN"), ("LA", "US"), ("UK", "GB")):
        Warehouse.objects.create(code=code, name=code, country=country)
    carrier = Carrier.objects.create(code="BENCH", name="Bench")
    for code, price in (("YT", "80"), ("EC", "60"), ("EX", "200")):
        method = method_save(data={"carrier": carrier, "code": code, "name": code, "allows_battery": code != "EC"})
        zone = {"code": "ALL", "countries": ["US", "GB", "DE", "FR", "JP"]}
        brackets = [{"max_weight_g": 30000, "pricing": "per_kg", "price_per_kg": Decimal(price)}]
        rate_card_save(data={"method": method, "name": code, "currency": "CNY"}, zones=[{**zone, "brackets": brackets}])
    for rule in rules_make(rules, skus):
        rule_save(data=rule)
    from orders.models import Blacklist

    Blacklist.objects.bulk_create(
        [Blacklist(kind="email", value=f"buyer{n}@example.com", reason="bench") for n in range(0, 4000, 400)]
    )
    store = store_create(channel="manual", name="Bench store")
    made = []
    for number in range(orders):
        country, postcode, state = chooser.choice(COUNTRIES)
        picked = chooser.sample(range(len(products)), chooser.choice([1, 2, 3, 3, 4, 5]))
        made.append(
            OrderIn(
                channel_order_id=f"AL-{number:06d}",
                status="awaiting_shipment",
                channel_status="",
                ordered_at=_moment(number),
                channel_updated_at=_moment(number),
                buyer_email=f"buyer{number % 4000}@example.com",
                total=Decimal(chooser.randint(10, 900)),
                currency="USD",
                address=AddressIn(
                    name="Bench Buyer",
                    address1="1 Bench St",
                    city="Town",
                    state=state,
                    postcode=postcode,
                    country=country,
                ),
                lines=[
                    LineIn(
                        channel_line_id=str(index),
                        channel_sku=products[p].sku,
                        quantity=1,
                        product_id=products[p].pk,
                        product_quantity=1,
                    )
                    for index, p in enumerate(picked)
                ],
            )
        )
    orders_upsert(store_id=store.pk, orders=made)
    from orders.models import Order

    return list(Order.objects.order_by("pk").values_list("pk", flat=True))


def _moment(number: int):
    from datetime import UTC, datetime, timedelta

    return datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=number)


def run(options: argparse.Namespace) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from logistics.quotes import methods_for_quotes, quotes_for
    from orders.allocation import order_facts
    from orders.models import AllocationRule, Order, OrderLine
    from orders.parcels import order_parcel
    from orders.rules import decide

    with throwaway_database("bench_rules"):
        print(server_description() + " before the run", flush=True)
        ids = data_make(options.orders, options.rules)
        rules = list(AllocationRule.objects.filter(is_active=True).order_by("priority", "pk"))
        print(f"{len(ids):,} orders, {len(rules)} rules", flush=True)
        plain_runs, facts_runs, decide_runs, queries_per_batch = [], [], [], []
        decided = held = 0
        for _ in range(options.repeat):
            plain = facts_time = decide_time = 0.0
            decided = held = 0
            for start in range(0, len(ids), BATCH):
                batch = ids[start : start + BATCH]
                began = time.perf_counter()
                list(Order.objects.filter(pk__in=batch).select_related("store"))
                list(OrderLine.objects.filter(order_id__in=batch).select_related("product"))
                plain += time.perf_counter() - began

                began = time.perf_counter()
                with CaptureQueriesContext(connection) as queries:
                    orders = list(Order.objects.filter(pk__in=batch))
                    facts = order_facts(orders)
                    methods = methods_for_quotes()
                facts_time += time.perf_counter() - began
                queries_per_batch.append(len(queries))

                began = time.perf_counter()
                for order in orders:

                    def quotes_of(order=order, methods=methods):
                        return quotes_for(order_parcel(order), methods)

                    decision = decide(facts[order.pk], rules, quotes_of)
                    decided += decision.method is not None
                    held += bool(decision.holds)
                decide_time += time.perf_counter() - began
            plain_runs.append(plain)
            facts_runs.append(facts_time)
            decide_runs.append(decide_time)
        plain, facts_time, decide_time = (statistics.median(runs) for runs in (plain_runs, facts_runs, decide_runs))
        total = facts_time + decide_time
        count = len(ids)
        print(f"(b) SELECT of the orders, lines and products   {plain:7.2f} s {count / plain:9,.0f} orders/s")
        print(
            f"(f) facts the rules read                        {facts_time:7.2f} s {count / facts_time:9,.0f} "
            f"orders/s   {max(queries_per_batch)} queries per batch of {BATCH:,}"
        )
        print(
            f"(r) decisions, {len(rules)} rules each (quotes included)  {decide_time:7.2f} s "
            f"{count / decide_time:9,.0f} orders/s   {decide_time / (count * len(rules)) * 1e6:.1f} µs per rule "
            f"per order"
        )
        print(f"(f)+(r): {total:.2f} s for {count:,} orders ({total / plain:.1f}× the plain SELECT); goal: < 60 s")
        print(f"    {decided:,} orders given a shipping method, {held:,} held")
        problems = []
        if decided == 0:
            problems.append("no order was given a shipping method")
        if max(queries_per_batch) > 12:
            problems.append(f"{max(queries_per_batch)} queries for a batch: a query per order or per rule?")
        for problem in problems:
            print(f"FAILED: {problem}")
        return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="CI size: 500 orders, 20 rules, 1 run")
    options = parser.parse_args(argv)
    if options.small:
        options.orders, options.rules, options.repeat = 500, 20, 1
    if options.orders < 1 or options.rules < 2 or options.repeat < 1:
        parser.error("--orders and --repeat must be at least 1, --rules at least 2")
    django_setup()
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
