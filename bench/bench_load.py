"""Benchmark: the load test — a realistic mix at 50 requests a second against gunicorn, on a warehouse-sized data set.

Run from the project root:  python -m bench.bench_load [--products 100000] [--moves 1000000] [--orders 100000]
[--rate 50] [--seconds 60] [--small]. In a throw-away database (bench/_database.py):

- 100,000 products, a ledger of 1,000,000 stock moves over two warehouses with the levels, balances and
  reservations derived from it (``bench_ledger_check.build``: set-based SQL, the rows ``moves_apply`` writes);
- 100,000 open orders imported by ``orders_upsert`` (``bench_scans.orders_load``, not allocated), and one handed-over
  shipment for every tenth order (bulk rows: a shipment's reads do not depend on how it was made);
- users with the Administrator role, each with an API token of their own, and floor workers with a session.

gunicorn then serves the project with DEBUG off and production keys (``SECRET_KEY``, ``CREDENTIALS_KEYS`` in its
environment), sync workers (cores + 1), and Locust, in a process of its own (``bench/_load_locust.py``), sends
the mix at a fixed rate (Poisson arrivals, ``--arrivals``) for ``--seconds``:

- details and scans, 70 %: an order, a product, the stock of a SKU, a shipment; the scan menu, the move page and a
  bin scanned on it (session login, as on the floor);
- lists of 50 rows, 20 %: orders, products by SKU, stock levels of a warehouse, picks of a warehouse in the ledger
  (cursor pages), shipments; pages 1 to 20;
- writes, 10 %: an order put on hold and released, a stock adjustment (+1 then −1), a bin-to-bin move (there and
  back), a product created;
- and, outside the mix, the baseline: ``/healthz`` (the API root where it is missing), the cheapest request.

Printed: throughput, per class and per endpoint p50/p95/p99 in the server (gunicorn's request time, joined to the
client's record by a request header) and as the client waited, error %, the goals met or not, and p99 ÷ the
baseline's p99. It fails (exit 1) if a list answers other than 50 rows, nothing was answered, the server's log misses
requests, or the stock disagrees with its ledger at the end; errors above the goal are a figure, not a failure.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._database import django_setup, server_description, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZE = 50
ORDERS_PER_USER = 4
# Goals of issue 13 on a 2-core machine with the database beside it: p99 in ms per class; errors below 0.1 %.
GOALS_MS = {"detail": 50.0, "scan": 50.0, "list": 150.0}
ERROR_GOAL = 0.001
CLASSES = ("detail", "scan", "list", "write")
ARRIVALS = {
    "poisson": "Poisson arrivals",
    "in-phase": "users in phase: the second's requests sent at one instant",
}


# --- The data set -------------------------------------------------------------------------------------------------


def shipments_load(*, count: int) -> None:
    """A carrier account and method, and ``count`` shipments handed over (bulk rows, one per tenth order)."""
    from django.utils import timezone

    from logistics.models import Carrier, CarrierAccount, Shipment
    from logistics.services import method_save

    carrier = Carrier.objects.create(code="CHINAPOST", name="China Post")
    account = CarrierAccount.objects.create(carrier="self", name="China Post 中国邮政", sender={"country": "CN"})
    method = method_save(data={"carrier": carrier, "account": account, "code": "CP-REG", "name": "China Post Reg."})
    now = timezone.now()
    recipient = {
        "name": "Jane Roe",
        "address1": "1 Main St",
        "city": "Springfield",
        "postcode": "62701",
        "country": "US",
    }
    Shipment.objects.bulk_create(
        [
            Shipment(
                number=f"SH{number:08d}",
                reference=f"SO-{number * 10:07d}",
                account=account,
                method=method,
                status=Shipment.Status.HANDED_OVER,
                tracking_number=f"LT{number:09d}CN",
                recipient=recipient,
                expected_weight_g=300,
                created_at=now,
                updated_at=now,
            )
            for number in range(count)
        ],
        batch_size=5000,
    )


def api_token(user) -> tuple[str, str]:
    """A token of the user's own: (keyword of the Authorization header, key), with every scope, store and warehouse
    (a staff member's; a partner's would name its own)."""
    from access.services import token_create

    _token, key = token_create(user=user, name="load test", scopes=["*"], all_stores=True, all_warehouses=True)
    return "Token", key


def identities_make(*, users: int, seed: int) -> tuple[list[dict], dict]:
    """Per simulated user: an API user (Administrator role) with a token, a floor worker's session on the move page,
    orders of their own to hold and release, a product and two bins of their own to adjust and move; and the ids
    every user reads."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.utils.crypto import get_random_string

    from core.roles import roles_ensure
    from inventory.models import Bin, Product, StockLevel, Warehouse
    from logistics.models import Shipment
    from orders.models import Order
    from warehouse.scan.views import WAREHOUSE_KEY

    chooser = random.Random(seed)
    roles_ensure()
    administrators, pickers = Group.objects.get(name="Administrator"), Group.objects.get(name="Picker/packer")
    warehouse = Warehouse.objects.order_by("pk").first()
    pick_bins = list(Bin.objects.filter(warehouse=warehouse, kind=Bin.Kind.PICK).order_by("pk"))
    # Products of their own in the first warehouse's pick bins, with units to move (the ledger's cycles leave 7+).
    levels = list(
        StockLevel.objects.filter(bin__in=pick_bins, on_hand__gte=2)
        .order_by("product_id")
        .values_list("product_id", "bin_id")[: users * 7 : 7]
    )
    if len(levels) < users:
        raise RuntimeError(f"only {len(levels)} products to write for {users} users")
    orders = list(Order.objects.order_by("pk").values_list("pk", flat=True)[: users * ORDERS_PER_USER])
    identities = []
    for index in range(users):
        api_user = get_user_model().objects.create_user(username=f"api{index:03d}", password=None)
        api_user.groups.add(administrators)
        keyword, key = api_token(api_user)
        floor_user = get_user_model().objects.create_user(username=f"floor{index:03d}", password=None)
        floor_user.groups.add(pickers)
        client = Client()
        client.force_login(floor_user)
        session = client.session
        session[WAREHOUSE_KEY] = warehouse.pk
        session.save()
        product_id, bin_id = levels[index]
        other_bin = next(place.pk for place in chooser.sample(pick_bins, 3) if place.pk != bin_id)
        identities.append(
            {
                "token": key,
                "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "csrf": get_random_string(32),
                "orders": orders[index * ORDERS_PER_USER : (index + 1) * ORDERS_PER_USER],
                "product": product_id,
                "bin": bin_id,
                "other_bin": other_bin,
            }
        )
    order_ids = list(Order.objects.values_list("pk", flat=True))
    product_rows = list(Product.objects.values_list("pk", "sku"))
    data = {
        "orders": chooser.sample(order_ids, min(5000, len(order_ids))),
        "products": [pk for pk, _sku in chooser.sample(product_rows, min(5000, len(product_rows)))],
        "skus": [sku for _pk, sku in chooser.sample(product_rows, min(5000, len(product_rows)))],
        "shipments": list(Shipment.objects.order_by("?").values_list("pk", flat=True)[:5000]),
        "bins": [place.code for place in pick_bins],
        "warehouse": warehouse.code,
        "order_count": len(order_ids),
        "product_count": len(product_rows),
        "level_count": StockLevel.objects.filter(bin__warehouse=warehouse, on_hand__gt=0).count(),
        "shipment_count": Shipment.objects.count(),
    }
    return identities, {"token_keyword": keyword, "data": data}


def baseline_path() -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("healthz")
    except NoReverseMatch:
        return "/api/v1/"


# --- The run --------------------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    from bench.bench_scans import percentile as nearest_rank

    return nearest_rank(values, share)


def figures(records: list[dict], times: dict[str, float]) -> dict:
    """Per endpoint and per class: count, errors, server p50/p95/p99 and client p99, in ms."""

    def summary(group: list[dict]) -> dict:
        server = [times.get(record["request"], record["ms"] / 1000) * 1000 for record in group]
        client = [record["ms"] for record in group]
        return {
            "count": len(group),
            "errors": sum(1 for record in group if record["problem"]),
            "p50": percentile(server, 0.50),
            "p95": percentile(server, 0.95),
            "p99": percentile(server, 0.99),
            "client_p99": percentile(client, 0.99),
        }

    by_name, by_class = defaultdict(list), defaultdict(list)
    for record in records:
        by_name[(record["class"], record["name"])].append(record)
        by_class[record["class"]].append(record)
    return {
        "names": {key: summary(group) for key, group in sorted(by_name.items())},
        "classes": {kind: summary(by_class[kind]) for kind in (*CLASSES, "baseline") if by_class[kind]},
    }


def replayed(records: list[dict], *, repeat: int = 5) -> dict[str, tuple[float, int]]:
    """One request of each endpoint but the writes, sent again through Django's test client in this process with
    nobody else asking: the median of ``repeat`` times after a warm-up, in ms, and its queries."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    firsts: dict[str, dict] = {}
    for record in records:
        if record["class"] != "write" and not record["problem"]:
            firsts.setdefault(record["name"], record)
    found = {}
    for name, record in firsts.items():
        client = Client(HTTP_HOST="127.0.0.1")
        headers = {key: value for key, value in record["headers"].items() if key.lower() in ("authorization", "accept")}
        if record["path"].startswith("/scan/"):
            client.cookies["sessionid"] = record["session"]
        send = client.get if record["method"] == "GET" else client.post
        times = []
        for _ in range(repeat + 1):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                if isinstance(record["body"], str):  # a form, encoded as it was sent
                    response = send(
                        record["path"],
                        data=record["body"],
                        content_type=record["headers"].get("Content-Type", ""),
                        headers=headers,
                    )
                else:
                    response = send(record["path"], data=record["body"], headers=headers)
                times.append((time.perf_counter() - began) * 1000)
            if response.status_code != record["status"]:
                raise RuntimeError(f"replayed {name}: {response.status_code}, not {record['status']}")
        found[name] = (statistics.median(times[1:]), len(queries))
    return found


def report(found: dict, seconds: float, baseline_p99: float, alone: dict[str, tuple[float, int]]) -> None:
    header = (
        f"{'endpoint':<40} {'count':>6} {'err %':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'client p99':>10} {'×base':>6}"
        f" {'alone':>7} {'queries':>7}"
    )

    def row(label: str, line: dict) -> str:
        errors = 100 * line["errors"] / line["count"]
        ratio = line["p99"] / baseline_p99 if baseline_p99 else 0
        by_itself = f" {alone[label][0]:>7.1f} {alone[label][1]:>7}" if label in alone else ""
        return (
            f"{label:<40} {line['count']:>6,} {errors:>6.2f} {line['p50']:>7.1f} {line['p95']:>7.1f} "
            f"{line['p99']:>7.1f} {line['client_p99']:>10.1f} {ratio:>5.1f}×{by_itself}"
        )

    print(header)
    print("-" * len(header))
    for kind in (*CLASSES, "baseline"):
        names = [(name, line) for (owner, name), line in found["names"].items() if owner == kind]
        for name, line in names:
            print(row(name, line))
        if kind in found["classes"]:
            print(row(f"  all {kind}", found["classes"][kind]))
        print("-" * len(header))
    total = sum(line["count"] for line in found["classes"].values())
    errors = sum(line["errors"] for line in found["classes"].values())
    print(
        f"times in ms; p50/p95/p99 in the server (gunicorn's request time), client p99 as Locust waited; ×base: p99 "
        f"÷ the baseline's p99;\nalone: the same request replayed in this process with nobody else asking (median of "
        f"5), and its queries\n{total:,} requests in {seconds:.1f} s: {total / seconds:.1f} requests/s; "
        f"errors {errors:,} ({100 * errors / max(total, 1):.2f} %)"
    )
    print("goals:")
    for kind, goal in GOALS_MS.items():
        line = found["classes"].get(kind)
        if line:
            met = "met" if line["p99"] <= goal else "NOT met"
            print(f"  {kind:<7} p99 ≤ {goal:.0f} ms: {line['p99']:.1f} ms — {met}")
    share = errors / max(total, 1)
    print(f"  errors < {100 * ERROR_GOAL:.1f} %: {100 * share:.2f} % — {'met' if share < ERROR_GOAL else 'NOT met'}")


def load_check(*, products: int, moves: int, orders: int) -> list[str]:
    """Exact row counts of the data set, and the stock against its ledger."""
    from django.db import connection

    from inventory.ledger import stock_drift_check

    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM inventory_product WHERE sku NOT LIKE 'LOAD-%%'), "
            "(SELECT count(*) FROM inventory_stockmove WHERE reference LIKE 'BENCH-%%'), "
            "(SELECT count(*) FROM orders_order)"
        )
        counted = cursor.fetchone()
    for label, wanted, found in zip(
        ("products", "ledger moves", "orders"), (products, moves, orders), counted, strict=True
    ):
        if wanted != found:
            problems.append(f"{found:,} {label}, not {wanted:,}")
    drift = stock_drift_check()
    if not drift.ok:
        problems.append(f"the stock disagrees with its ledger: {drift}")
    return problems


def run(options: argparse.Namespace) -> int:
    from django.db import connection

    from bench.bench_ledger_check import build
    from bench.bench_scans import Server, orders_load
    from channels.services import store_create

    problems: list[str] = []
    with throwaway_database("bench_load") as database, tempfile.TemporaryDirectory() as folder:
        print(server_description() + " before the run", flush=True)
        started = time.perf_counter()
        build(moves=options.moves, products=options.products)
        print(f"products and ledger: {time.perf_counter() - started:.1f} s", flush=True)
        store = store_create(channel="manual", name="Bench store")
        orders_load(store=store, orders=options.orders, products=options.products, seed=options.seed, allocate=False)
        shipments_load(count=options.orders // 10)
        identities, plan = identities_make(users=options.users, seed=options.seed)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        problems.extend(load_check(products=options.products, moves=options.moves, orders=options.orders))
        print(f"data set loaded in {time.perf_counter() - started:.1f} s", flush=True)
        connection.close()  # the server's processes use the database meanwhile

        server = Server(database, workers=options.web_workers, threads=1, log=Path(folder) / "access.log")
        server.environment.update(
            {
                "SEABRIDGE_TESTING": "0",  # production settings: the keys come from the environment
                "SECRET_KEY": os.environ["SECRET_KEY"],
                "CREDENTIALS_KEYS": os.environ["CREDENTIALS_KEYS"],
            }
        )
        plan.update(
            {
                "host": f"http://127.0.0.1:{server.port}",
                "rate": options.rate,
                "users": options.users,
                "seconds": options.seconds,
                "seed": options.seed,
                "identities": identities,
                "baseline": baseline_path(),
                "baseline_weight": 3,
                "warmup": options.warmup,
                "arrivals": options.arrivals,
            }
        )
        plan_path, out_path = Path(folder) / "plan.json", Path(folder) / "out.json"
        plan_path.write_text(json.dumps(plan))
        print(
            f"gunicorn: {options.web_workers} sync workers, DEBUG off; Locust: {options.users} users at "
            f"{options.rate / options.users:g} requests/s each ({options.rate:g}/s in all, "
            f"{ARRIVALS[options.arrivals]}) for {options.seconds:g} s; "
            f"baseline {plan['baseline']}; load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        with server:
            locust = subprocess.run(
                [sys.executable, "-m", "bench._load_locust", str(plan_path), str(out_path)],
                cwd=ROOT,
                check=False,
                timeout=options.seconds + 120,
            )
        if locust.returncode != 0 or not out_path.exists():
            problems.append(f"Locust exited with status {locust.returncode}")
        else:
            outcome = json.loads(out_path.read_text())
            records, seconds = outcome["records"], outcome["seconds"]
            times = server.times()
            missing = [record for record in records if record["request"] not in times and not record["problem"]]
            if missing:
                problems.append(f"{len(missing)} answered requests missing from the server's log")
            problems.extend(record["wrong"] for record in records if record["wrong"])
            if not records:
                problems.append("no request was answered")
            else:
                found = figures(records, times)
                for record in records:
                    record["session"] = identities[0]["session"]
                alone = replayed(records)
                report(found, seconds, found["classes"].get("baseline", {}).get("p99", 0), alone)
                mistakes = [record["problem"] for record in records if record["problem"]]
                for mistake in sorted(set(mistakes))[:10]:
                    print(f"  error: {mistake}")
        print(f"load average after the run: {os.getloadavg()[0]:.2f}")
        drift = load_check(products=options.products, moves=options.moves, orders=options.orders)
        problems.extend(drift)
        for problem in problems[:20]:
            print(f"FAILED: {problem}")
        connection.close()
        return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    full = {"products": 100_000, "moves": 1_000_000, "orders": 100_000, "seconds": 60.0, "warmup": 10.0}
    small = {"products": 2_000, "moves": 20_000, "orders": 2_000, "seconds": 6.0, "warmup": 2.0}
    parser.add_argument("--products", type=int, help="products (default 100,000)")
    parser.add_argument("--moves", type=int, help="stock moves in the ledger (default 1,000,000)")
    parser.add_argument("--orders", type=int, help="open orders (default 100,000); a shipment for every tenth")
    parser.add_argument("--seconds", type=float, help="how long the load runs (default 60)")
    parser.add_argument("--warmup", type=float, help="seconds of load before the figures are taken (default 10)")
    parser.add_argument("--rate", type=float, default=50.0, help="requests a second in all (default 50)")
    parser.add_argument("--users", type=int, default=50, help="simulated users, each with a token (default 50)")
    parser.add_argument(
        "--web-workers",
        type=int,
        default=(os.cpu_count() or 1) + 1,
        help="gunicorn sync workers (default cores + 1: the database and Locust share the cores; bench/README.md)",
    )
    parser.add_argument(
        "--arrivals",
        choices=sorted(ARRIVALS),
        default="poisson",
        help="poisson: independent clients (default); in-phase: every user sends at the same instant each second",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--small", action="store_true", help="CI size: 2,000 products, 20,000 moves, 2,000 orders, 6 s")
    options = parser.parse_args(argv)
    for name, value in (small if options.small else full).items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    if options.products < 1000 or options.orders < 1000 or not 1 <= options.users <= 500:
        parser.error("--products and --orders at least 1,000; --users 1 to 500")
    # Production keys, the same in this process (which writes the sessions) and in the server (which reads them).
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("CREDENTIALS_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    os.environ.setdefault("CELERY_BROKER_URL", "memory://localhost/")
    django_setup()
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
