"""Benchmark: reservations per second through stock_reserve with 1, 4 and 16 workers, against a bare conditional UPDATE.

Run from the project root:  python -m bench.bench_reservations [--seconds 3] [--repeat 3] [--skus 1000] [--small]
Each worker is a separate process with its own connection. Three loads per worker count: stock_reserve of one
unit of one hot SKU; stock_reserve of one unit of a random SKU out of --skus; and, as the baseline, a bare
autocommit `UPDATE inventory_inventorybalance SET reserved = reserved + 1 WHERE id = %s AND sellable - reserved
>= 1` loop through psycopg against one hot row. Every worker starts at the same instant and stops after
--seconds; the figure is the median over --repeat runs. Runs in a throw-away database (see bench/_database.py).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._database import django_setup, psycopg_connect, server_description, throwaway_database, worker_django_setup

WORKER_COUNTS = (1, 4, 16)
SMALL_WORKER_COUNTS = (1, 4)  # CI proves the benchmark works; starting 16 processes would cost it half its minute
# More than any run can reserve, so no reservation is ever refused and every figure is a success rate.
STOCK_PER_SKU = 1_000_000_000
# Time for every worker to receive its job and load its products before the common start.
START_DELAY = 1.0
BARE_UPDATE_SQL = (
    "UPDATE inventory_inventorybalance SET reserved = reserved + 1 WHERE id = %s AND sellable - reserved >= 1"
)


def _worker(database: dict[str, Any], synchronous_commit: str, inbox, outbox) -> None:
    worker_django_setup(database)
    from django.db import connection

    from inventory.models import Product, Warehouse
    from inventory.stock_services import stock_reserve

    bare = psycopg_connect(database, autocommit=True)
    # Both paths alike: "off" measures locking and CPU rather than how fast this disk flushes the WAL.
    bare.execute(f"SET synchronous_commit = {synchronous_commit}")
    with connection.cursor() as cursor:
        cursor.execute(f"SET synchronous_commit = {synchronous_commit}")
    outbox.put({"ready": os.getpid()})
    for job in iter(inbox.get, None):
        randomizer = random.Random(job["seed"])
        count = failures = 0
        if job["kind"] == "service":
            warehouse = Warehouse.objects.get(pk=job["warehouse_id"])
            products = list(Product.objects.filter(pk__in=job["product_ids"]))
            prefix = f"bench-{job['run']}-{job['worker']}-"
        else:
            balance_ids = job["balance_ids"]
        time.sleep(max(0.0, job["start_at"] - time.time()))
        end = job["start_at"] + job["seconds"]
        while time.time() < end:
            if job["kind"] == "service":
                stock_reserve(
                    warehouse=warehouse, lines=[(randomizer.choice(products), 1)], reference=f"{prefix}{count}"
                )
                count += 1
            else:
                cursor = bare.execute(BARE_UPDATE_SQL, (randomizer.choice(balance_ids),))
                if cursor.rowcount == 1:
                    count += 1
                else:
                    failures += 1
        outbox.put({"worker": job["worker"], "count": count, "failures": failures, "finished_at": time.time()})
    bare.close()
    connection.close()


class Workers:
    def __init__(self, *, size: int, database: dict[str, Any], synchronous_commit: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.inboxes = [context.Queue() for _ in range(size)]
        self.outbox = context.Queue()
        self.processes = [
            context.Process(target=_worker, args=(database, synchronous_commit, inbox, self.outbox), daemon=True)
            for inbox in self.inboxes
        ]
        for process in self.processes:
            process.start()
        for _ in self.processes:
            self.outbox.get(timeout=300)
        self.runs = 0

    def measure(self, *, workers: int, seconds: float, **job: Any) -> tuple[float, int]:
        """Operations per second of ``workers`` workers running ``job`` together for ``seconds``; and the count."""
        self.runs += 1
        start_at = time.time() + START_DELAY
        for worker in range(workers):
            self.inboxes[worker].put(
                {
                    **job,
                    "worker": worker,
                    "run": self.runs,
                    "seed": self.runs * 100 + worker,
                    "start_at": start_at,
                    "seconds": seconds,
                }
            )
        results = [self.outbox.get(timeout=seconds + 300) for _ in range(workers)]
        failures = sum(result["failures"] for result in results)
        if failures:
            raise RuntimeError(f"{failures} bare UPDATEs found no stock; STOCK_PER_SKU is too small")
        total = sum(result["count"] for result in results)
        return total / (max(result["finished_at"] for result in results) - start_at), total

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for process in self.processes:
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()


def prepare(*, skus: int) -> dict[str, Any]:
    """A warehouse with one pick bin holding STOCK_PER_SKU of a hot SKU, of the baseline's SKU and of ``skus`` more."""
    from django.db import transaction

    from inventory.models import Bin, InventoryBalance, Product, StockMove, Warehouse
    from inventory.stock_services import PlannedMove, moves_apply

    warehouse = Warehouse.objects.create(code="BENCH", name="Benchmark", country="CN")
    bin_ = Bin.objects.create(warehouse=warehouse, code="A-01-01-01", kind=Bin.Kind.PICK, is_sellable=True)
    hot = Product.objects.create(sku="HOT-1", name="Hot SKU")
    bare = Product.objects.create(sku="HOT-BARE", name="Hot SKU of the bare UPDATE baseline")
    many = Product.objects.bulk_create(
        [Product(sku=f"SKU-{number:05d}", name=f"Product {number}") for number in range(skus)]
    )
    with transaction.atomic():
        moves_apply(
            moves=[
                PlannedMove(product, STOCK_PER_SKU, StockMove.Reason.RECEIPT, to_bin=bin_, reference="bench")
                for product in [hot, bare, *many]
            ]
        )
    return {
        "warehouse_id": warehouse.pk,
        "hot": hot,
        "bare": bare,
        "many": many,
        "bare_balance_id": InventoryBalance.objects.get(product=bare, warehouse=warehouse).pk,
    }


def run(options: argparse.Namespace) -> int:
    from django.db.models import Sum

    from inventory.ledger import stock_drift_check
    from inventory.models import InventoryBalance, Reservation

    with throwaway_database("bench_reservations") as database:
        print(server_description() + " before the run", flush=True)
        data = prepare(skus=options.skus)
        print(
            f"{options.skus:,} SKUs + 2 hot ones in one bin; workers are processes, one connection each; "
            f"{options.seconds:g} s per run, median of {options.repeat} run(s); "
            f"synchronous_commit = {options.synchronous_commit}\n",
            flush=True,
        )
        pool = Workers(size=max(options.workers), database=database, synchronous_commit=options.synchronous_commit)
        rates: dict[tuple[str, int], float] = {}
        totals: dict[str, int] = {"hot": 0, "many": 0, "bare": 0}
        loads = {
            "hot": {"kind": "service", "warehouse_id": data["warehouse_id"], "product_ids": [data["hot"].pk]},
            "many": {
                "kind": "service",
                "warehouse_id": data["warehouse_id"],
                "product_ids": [product.pk for product in data["many"]],
            },
            "bare": {"kind": "bare", "balance_ids": [data["bare_balance_id"]]},
        }
        try:
            for workers in options.workers:
                for load, job in loads.items():
                    runs = []
                    for _ in range(options.repeat):
                        per_second, count = pool.measure(workers=workers, seconds=options.seconds, **job)
                        runs.append(per_second)
                        totals[load] += count
                    rates[(load, workers)] = statistics.median(runs)
                    shown = " ".join(f"{value:,.0f}" for value in runs)
                    print(
                        f"  {workers:>2} workers, {load:<4}: {rates[(load, workers)]:>9,.0f}/s   runs: {shown}",
                        flush=True,
                    )
        finally:
            pool.close()

        # Every counted reservation is in the tables, exactly once, and the service path left no drift.
        service_ids = [data["hot"].pk] + [product.pk for product in data["many"]]
        reserved = InventoryBalance.objects.filter(product_id__in=service_ids).aggregate(total=Sum("reserved"))["total"]
        rows = Reservation.objects.filter(product_id__in=service_ids).count()
        bare_reserved = InventoryBalance.objects.get(pk=data["bare_balance_id"]).reserved
        drift = stock_drift_check(product_ids=service_ids)
        checks = {
            "service reservations in balances": (reserved, totals["hot"] + totals["many"]),
            "service reservations as rows": (rows, totals["hot"] + totals["many"]),
            "bare UPDATEs in the baseline's balance": (bare_reserved, totals["bare"]),
        }

        print()
        print("Reservations per second (each one a committed transaction)")
        header = (
            f"{'workers':>7} | {'stock_reserve, 1 hot SKU':>24} | {f'stock_reserve, {options.skus:,} SKUs':>26} | "
            f"{'bare UPDATE, 1 hot SKU':>22} | {'service / bare (hot SKU)':>24}"
        )
        print(header)
        print("-" * len(header))
        for workers in options.workers:
            hot, many, bare = (rates[(load, workers)] for load in ("hot", "many", "bare"))
            print(f"{workers:>7} | {hot:>24,.0f} | {many:>26,.0f} | {bare:>22,.0f} | {hot / bare:>23.2f}x")
        print()
        failed = False
        for label, (found, expected) in checks.items():
            verdict = "ok" if found == expected else "MISMATCH"
            failed |= found != expected
            print(f"{label}: {found:,} (counted {expected:,}) {verdict}")
        print("drift check on the service's SKUs: " + ("no drift" if drift.ok else f"DRIFT {drift.summary()}"))
        print(f"load average after the run: {os.getloadavg()[0]:.2f}")
        return 1 if failed or not drift.ok else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each run (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is shown (default 3)")
    parser.add_argument("--skus", type=int, default=1000, help="SKUs of the many-SKU load (default 1,000)")
    parser.add_argument(
        "--synchronous-commit",
        choices=["on", "off"],
        default="on",
        help="for every worker session; off takes the disk's flush time out of the figures (default on)",
    )
    parser.add_argument(
        "--small", action="store_true", help="CI size: 0.5 s runs, 1 run each, 50 SKUs, 1 and 4 workers"
    )
    options = parser.parse_args(argv)
    options.workers = WORKER_COUNTS
    if options.small:
        options.seconds, options.repeat, options.skus, options.workers = 0.5, 1, 50, SMALL_WORKER_COUNTS
    if options.seconds <= 0 or options.repeat < 1 or options.skus < 1:
        parser.error("--seconds, --repeat and --skus must be positive")
    django_setup()
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
