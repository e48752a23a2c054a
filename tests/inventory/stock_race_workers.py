"""Worker processes for the stock concurrency tests, each with Django set up on its own database connection.

Workers are forked from a fork server that has already set Django up (stock_race_django), so sixteen of them
start in well under a second instead of sixteen interpreters importing Django; nothing of the test process
(its threads, its connections) is inherited. This module must still import without Django being set up: every
import of models or services happens inside the functions, after ``_worker_main`` has called django.setup().
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import time
import traceback
from collections.abc import Callable
from typing import Any

# Generous: on a busy 2-core machine sixteen interpreters starting Django at once take a while.
START_TIMEOUT = 180
BARRIER_TIMEOUT = 120
JOB_TIMEOUT = 300
# How often the parent runs its own check while the workers race.
WATCH_INTERVAL = 0.05
PRELOAD_MODULE = "tests.inventory.stock_race_django"


def _worker_main(database: dict[str, Any], barrier, inbox, outbox) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SEABRIDGE_TESTING", "1")
    import django

    django.setup()  # already done in the fork server when its preload worked; then this returns at once
    from django.db import connection, connections

    # The parent passes its settings_dict, whose NAME pytest-django has already pointed at the test database.
    # Updated in place: Django's connection handler holds this very dict, and nothing has connected yet.
    connections.settings["default"].update(database)
    with connection.cursor() as cursor:
        # Locking and visibility are the same either way; only a crash could lose the last commits, which no
        # test cares about. Without it every commit waits for the disk, and rounds take several times longer.
        cursor.execute("SET synchronous_commit = off")
    outbox.put({"ready": os.getpid()})
    for name, arguments in iter(inbox.get, None):
        try:
            result = JOBS[name](barrier=barrier, **arguments)
        except BaseException:
            result = {"worker": arguments.get("worker"), "outcome": "crash", "error": traceback.format_exc()}
        outbox.put(result)
    connection.close()


class WorkerPool:
    """``size`` processes that take one job each per ``run`` and start it together, behind one barrier."""

    def __init__(self, *, size: int, database: dict[str, Any]) -> None:
        context = multiprocessing.get_context("forkserver")
        # Only takes effect if this process has not started its fork server yet; otherwise workers set up Django.
        context.set_forkserver_preload([PRELOAD_MODULE])
        self.size = size
        self.barrier = context.Barrier(size)
        self.inbox = context.Queue()
        self.outbox = context.Queue()
        self.processes = [
            context.Process(
                target=_worker_main, args=(dict(database), self.barrier, self.inbox, self.outbox), daemon=True
            )
            for _ in range(size)
        ]
        for process in self.processes:
            process.start()
        self.pids = [self.outbox.get(timeout=START_TIMEOUT)["ready"] for _ in range(size)]

    def run(
        self, name: str, jobs: list[dict[str, Any]], *, while_waiting: Callable[[], None] | None = None
    ) -> list[dict[str, Any]]:
        """Run ``name`` once per worker with these arguments; results in worker order.

        Each worker takes exactly one job, because after taking it it waits at the barrier until all have
        theirs. ``while_waiting`` is called over and over (in this process) while the workers race.
        """
        if len(jobs) != self.size:
            raise ValueError(f"{self.size} workers need {self.size} jobs, got {len(jobs)}")
        for worker, arguments in enumerate(jobs):
            self.inbox.put((name, {"worker": worker, **arguments}))
        results: list[dict[str, Any]] = []
        deadline = time.monotonic() + JOB_TIMEOUT
        while len(results) < self.size:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(results)} of {self.size} workers answered within {JOB_TIMEOUT}s")
            if while_waiting is not None:
                while_waiting()
            try:
                results.append(self.outbox.get(timeout=WATCH_INTERVAL if while_waiting else 1))
            except queue.Empty:
                continue
        return sorted(results, key=lambda result: result["worker"])

    def close(self) -> None:
        for _ in self.processes:
            self.inbox.put(None)
        for process in self.processes:
            process.join(timeout=30)
        for process in self.processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)


def _failure(worker: int, error: BaseException) -> dict[str, Any]:
    return {
        "worker": worker,
        "outcome": "error",
        "error": f"{type(error).__name__}: {error}",
        "cause": type(error.__cause__).__name__ if error.__cause__ else "",
    }


def reserve_baskets(*, barrier, worker: int, warehouse_id: int, baskets: list[dict[str, Any]]) -> dict[str, Any]:
    """Once every worker is ready, try each basket in turn; returns one outcome per basket.

    A basket is ``{"lines": [(product_id, quantity)], "reference": str, "hold_seconds": float}``; its lines are
    reserved in the given order. ``hold_seconds`` keeps the transaction (and its row locks) open a little after
    reserving, so the other workers really queue behind it.
    """
    from django.db import connection, transaction

    from inventory.errors import InsufficientStock
    from inventory.models import Product, Warehouse
    from inventory.stock_services import stock_reserve

    warehouse = Warehouse.objects.get(pk=warehouse_id)
    products = Product.objects.in_bulk({product_id for basket in baskets for product_id, _ in basket["lines"]})
    outcomes: list[dict[str, Any]] = []
    barrier.wait(timeout=BARRIER_TIMEOUT)
    for basket in baskets:
        lines = [(products[product_id], quantity) for product_id, quantity in basket["lines"]]
        try:
            with transaction.atomic():
                reservations = stock_reserve(warehouse=warehouse, lines=lines, reference=basket["reference"])
                if basket["hold_seconds"]:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_sleep(%s)", [basket["hold_seconds"]])
        except InsufficientStock as error:
            outcomes.append({"outcome": "insufficient", "shortages": error.context["shortages"]})
        except Exception as error:
            outcomes.append(_failure(worker, error))
            connection.close()  # whatever state the connection is in, the next basket starts afresh
        else:
            outcomes.append(
                {
                    "outcome": "reserved",
                    "reserved": {reservation.product_id: reservation.quantity_reserved for reservation in reservations},
                }
            )
    return {"worker": worker, "outcome": "done", "baskets": outcomes}


# What each operation of the mixed run may refuse with: a clean domain error, by its code. Anything else
# (a deadlock, an IntegrityError from a CHECK, a refusal of an operation that cannot be refused) fails.
MIXED_ALLOWED_REFUSALS = {
    "receive": set(),
    "move": {"insufficient_stock", "reserved_not_covered"},
    "adjust": {"insufficient_stock", "reserved_not_covered"},
    "reserve": {"insufficient_stock"},
    "release": set(),
    "pick": {"insufficient_stock", "bin_not_sellable"},
    "ship": set(),
    "bin_sellable_set": {"reserved_not_covered"},
}


def mixed_operations(
    *,
    barrier,
    worker: int,
    warehouse_id: int,
    product_ids: list[int],
    bin_ids: dict[str, int],
    operations: int,
    seed: int,
) -> dict[str, Any]:
    """Run ``operations`` random stock operations; track this worker's own reservations and ledger rows.

    Bins: "receiving" (not sellable), "pick_1" and "pick_2" (sellable), "bulk" (its sellable flag is
    toggled), "packing" (only picks put stock there and only ships take it out, so it must always hold
    exactly what is picked and not shipped).
    """
    from django.db import connection

    from core.errors import DomainError
    from inventory.models import Bin, Product, Warehouse
    from inventory.stock_services import (
        bin_sellable_set,
        stock_adjust,
        stock_move,
        stock_pick,
        stock_receive,
        stock_release,
        stock_reserve,
        stock_ship,
    )

    randomizer = random.Random(seed)
    warehouse = Warehouse.objects.get(pk=warehouse_id)
    products = [Product.objects.get(pk=product_id) for product_id in product_ids]
    bins = {role: Bin.objects.get(pk=bin_id) for role, bin_id in bin_ids.items()}
    storage = ["receiving", "pick_1", "pick_2", "bulk"]
    pickable = ["pick_1", "pick_2", "bulk"]
    # reference -> product_id -> [reserved, picked, shipped], as this worker believes them to be
    held: dict[str, dict[int, list[int]]] = {}
    stock_moving_references: list[str] = []
    log: list[tuple[str, str]] = []
    refusals: list[str] = []

    barrier.wait(timeout=BARRIER_TIMEOUT)
    for number in range(operations):
        reference = f"mix-{worker}-{number}"
        product = randomizer.choice(products)
        with_reserved = [(ref, pid) for ref, lines in held.items() for pid, figures in lines.items() if figures[0]]
        with_picked = [(ref, pid) for ref, lines in held.items() for pid, figures in lines.items() if figures[1]]
        choices = ["receive", "move", "adjust", "reserve", "reserve", "bin_sellable_set"]
        choices += ["release", "pick", "pick"] if with_reserved else []
        choices += ["ship", "ship"] if with_picked else []
        operation = randomizer.choice(choices)
        try:
            if operation == "receive":
                stock_receive(
                    product=product,
                    bin=bins[randomizer.choice(storage)],
                    quantity=randomizer.randint(1, 3),
                    reference=reference,
                )
                stock_moving_references.append(reference)
            elif operation == "move":
                source, destination = randomizer.sample(storage, 2)
                stock_move(
                    product=product,
                    from_bin=bins[source],
                    to_bin=bins[destination],
                    quantity=randomizer.randint(1, 2),
                    reference=reference,
                )
                stock_moving_references.append(reference)
            elif operation == "adjust":
                stock_adjust(
                    product=product,
                    bin=bins[randomizer.choice(storage)],
                    delta=randomizer.choice([-1, 1]),
                    note="cycle count",
                    reference=reference,
                )
                stock_moving_references.append(reference)
            elif operation == "reserve":
                lines = [
                    (randomizer.choice(products), randomizer.randint(1, 2)) for _ in range(randomizer.randint(1, 3))
                ]
                stock_reserve(warehouse=warehouse, lines=lines, reference=reference)
                for line_product, quantity in lines:
                    held.setdefault(reference, {}).setdefault(line_product.pk, [0, 0, 0])[0] += quantity
            elif operation == "release":
                ref, _ = randomizer.choice(with_reserved)
                stock_release(warehouse=warehouse, reference=ref)
                for figures in held[ref].values():
                    figures[0] = 0
            elif operation == "pick":
                ref, product_id = randomizer.choice(with_reserved)
                stock_pick(
                    reference=ref,
                    product=Product.objects.get(pk=product_id),
                    from_bin=bins[randomizer.choice(pickable)],
                    to_bin=bins["packing"],
                    quantity=1,
                )
                held[ref][product_id][0] -= 1
                held[ref][product_id][1] += 1
                stock_moving_references.append(ref)
            elif operation == "ship":
                ref, product_id = randomizer.choice(with_picked)
                stock_ship(
                    reference=ref, product=Product.objects.get(pk=product_id), from_bin=bins["packing"], quantity=1
                )
                held[ref][product_id][1] -= 1
                held[ref][product_id][2] += 1
                stock_moving_references.append(ref)
            else:
                bulk = Bin.objects.get(pk=bins["bulk"].pk)
                bins["bulk"] = bin_sellable_set(bin=bulk, is_sellable=not bulk.is_sellable)
            log.append((operation, "done"))
        except DomainError as error:
            if error.code not in MIXED_ALLOWED_REFUSALS[operation]:
                refusals.append(f"{operation} {reference}: {error.code}: {error.message}")
            log.append((operation, error.code))
        except Exception as error:
            refusals.append(f"{operation} {reference}: {type(error).__name__}: {error}")
            log.append((operation, type(error).__name__))
            connection.close()  # start the next operation on a fresh connection, whatever state this one is in
    return {
        "worker": worker,
        "outcome": "done",
        "log": log,
        "unexpected": refusals,
        "held": {ref: {str(pid): figures for pid, figures in lines.items()} for ref, lines in held.items()},
        "stock_moving_references": stock_moving_references,
    }


def transfer_status_race(
    *, barrier, worker: int, transfer_id: int, action: str, user_id: int, hold_lock_key: int
) -> dict[str, Any]:
    """Ship or cancel one transfer once both workers are ready; the winner keeps its transaction open.

    The worker says who it is in ``application_name``, so the test finds it in pg_stat_activity. After its
    transition, it waits for the shared advisory lock ``hold_lock_key``, which the test holds until it has seen
    the other worker blocked behind the transfer's row lock; the winner commits only then.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from core.errors import DomainError
    from inventory.models import Transfer
    from inventory.transfer_services import transfer_cancel, transfer_ship

    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('application_name', %s, false)", [f"transfer-race-{action}"])
    user = get_user_model().objects.get(pk=user_id)
    transfer = Transfer.objects.get(pk=transfer_id)  # both read it as a draft before racing
    barrier.wait(timeout=BARRIER_TIMEOUT)
    try:
        with transaction.atomic():
            if action == "ship":
                done = transfer_ship(transfer=transfer, user=user)
            else:
                done = transfer_cancel(transfer=transfer, user=user, note="Raced")
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [hold_lock_key])
    except DomainError as error:
        return {"worker": worker, "outcome": "refused", "code": error.code, "context": error.context}
    except Exception as error:
        connection.close()
        return _failure(worker, error)
    return {"worker": worker, "outcome": "won", "status": done.status}


JOBS: dict[str, Callable[..., dict[str, Any]]] = {
    "reserve_baskets": reserve_baskets,
    "mixed_operations": mixed_operations,
    "transfer_status_race": transfer_status_race,
}
