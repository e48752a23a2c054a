"""Stock under real concurrency on PostgreSQL: racing reservations, locks taken before writes, mixed traffic."""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from inventory.errors import InsufficientStock
from inventory.ledger import stock_drift_check
from inventory.models import Bin, InventoryBalance, Reservation, StockLevel, StockMove
from inventory.stock_services import bin_sellable_set, stock_pick, stock_receive, stock_reserve
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory
from tests.inventory.stock_race_workers import MIXED_ALLOWED_REFUSALS, WorkerPool

# Worker processes, each with its own PostgreSQL connection; they start every round together at a barrier.
WORKERS = 16
# Rounds of the reservation race: even rounds one unit of one SKU per attempt, odd rounds multi-SKU baskets.
RACE_ROUNDS = 50
# Each worker tries this many baskets one after the other in every round.
BASKETS_PER_WORKER = 3
SKUS_PER_ROUND = 5
# Per SKU and round: sellable units in two pick bins, and units in a receiving bin that must never be reserved.
UNITS_IN_PICK_BINS = (4, 2)
UNITS_IN_RECEIVING = 2
SELLABLE_UNITS = sum(UNITS_IN_PICK_BINS)
# Mixed traffic: operations per worker.
MIXED_OPERATIONS = 40
# How long a lock test waits to see a transaction blocked before it fails.
WAIT_TIMEOUT = 30

BROKEN_BALANCES_SQL = """
    SELECT count(*) FROM inventory_inventorybalance
    WHERE on_hand < 0 OR sellable < 0 OR reserved < 0 OR reserved > sellable OR sellable > on_hand
"""


@pytest.fixture(scope="module")
def worker_pool(django_db_setup):
    # settings_dict already names the test database (pytest-django set it), so the workers use it too.
    pool = WorkerPool(size=WORKERS, database=connection.settings_dict)
    yield pool
    pool.close()


def _broken_balances() -> int:
    with connection.cursor() as cursor:
        cursor.execute(BROKEN_BALANCES_SQL)
        return cursor.fetchone()[0]


def _basket(randomizer: random.Random, products, *, single: bool) -> list[tuple[int, int]]:
    if single:
        return [(randomizer.choice(products).pk, 1)]
    lines = [
        (product.pk, randomizer.randint(1, 2)) for product in randomizer.sample(products, randomizer.randint(2, 3))
    ]
    if randomizer.random() < 0.3:
        lines.append((lines[0][0], 1))  # the same SKU on two lines: reserved as one
    randomizer.shuffle(lines)
    return lines


def _wanted(lines: list[tuple[int, int]]) -> Counter:
    wanted: Counter = Counter()
    for product_id, quantity in lines:
        wanted[product_id] += quantity
    return wanted


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_racing_workers_reserve_exactly_the_units_there_are(worker_pool):
    seed = random.randrange(2**32)
    randomizer = random.Random(seed)
    warehouse = WarehouseFactory(code="RACE")
    pick_bins = [BinFactory(warehouse=warehouse, kind=Bin.Kind.PICK) for _ in UNITS_IN_PICK_BINS]
    receiving = BinFactory(warehouse=warehouse, kind=Bin.Kind.RECEIVING, is_sellable=False)
    checks_during_race: list[tuple[bool, int]] = []

    def check_while_racing() -> None:
        # One statement, one snapshot: a check next to live reservations must never see half of one.
        checks_during_race.append((stock_drift_check(warehouse_ids=[warehouse.pk]).ok, _broken_balances()))

    outcomes_seen: Counter = Counter()
    for round_number in range(RACE_ROUNDS):
        single = round_number % 2 == 0
        with transaction.atomic():  # one commit for the round's stock, not fifteen
            products = [ProductFactory() for _ in range(SKUS_PER_ROUND)]
            for product in products:
                for bin_, units in zip(pick_bins, UNITS_IN_PICK_BINS, strict=True):
                    stock_receive(product=product, bin=bin_, quantity=units)
                stock_receive(product=product, bin=receiving, quantity=UNITS_IN_RECEIVING)
        jobs = [
            {
                "warehouse_id": warehouse.pk,
                "baskets": [
                    {
                        "lines": _basket(randomizer, products, single=single),
                        "reference": f"race-{round_number}-{worker}-{attempt}",
                        "hold_seconds": randomizer.choice([0, 0, 0.001, 0.003]),
                    }
                    for attempt in range(BASKETS_PER_WORKER)
                ],
            }
            for worker in range(WORKERS)
        ]
        results = worker_pool.run("reserve_baskets", jobs, while_waiting=check_while_racing)
        context = f"seed {seed}, round {round_number}"
        assert [result for result in results if result["outcome"] != "done"] == [], context
        attempts = [
            (basket, outcome)
            for job, result in zip(jobs, results, strict=True)
            for basket, outcome in zip(job["baskets"], result["baskets"], strict=True)
        ]
        outcomes_seen.update(outcome["outcome"] for _, outcome in attempts)

        # Every attempt either reserved its whole basket or got a clean InsufficientStock: no deadlock, no
        # IntegrityError from a CHECK, nothing else.
        unexpected = [outcome for _, outcome in attempts if outcome["outcome"] not in ("reserved", "insufficient")]
        assert unexpected == [], context
        reserved_by_winners: Counter = Counter()
        winners = 0
        for basket, outcome in attempts:
            if outcome["outcome"] == "reserved":
                winners += 1
                assert outcome["reserved"] == dict(_wanted(basket["lines"])), context
                reserved_by_winners.update(outcome["reserved"])
        balances = {
            row.product_id: (row.on_hand, row.sellable, row.reserved)
            for row in InventoryBalance.objects.filter(product__in=products)
        }
        reservations = dict(
            Reservation.objects.filter(product__in=products)
            .values_list("product_id")
            .annotate(total=Sum("quantity_reserved"))
        )
        total_on_hand = SELLABLE_UNITS + UNITS_IN_RECEIVING
        for product in products:
            assert balances[product.pk] == (total_on_hand, SELLABLE_UNITS, reserved_by_winners[product.pk]), context
            assert reservations.get(product.pk, 0) == reserved_by_winners[product.pk], context
        references = Reservation.objects.filter(reference__startswith=f"race-{round_number}-").values("reference")
        assert references.distinct().count() == winners, context

        left = {product.pk: SELLABLE_UNITS - reserved_by_winners[product.pk] for product in products}
        if single:
            # Exactly as many winners as units, wherever demand exceeds stock.
            demand = Counter(basket["lines"][0][0] for basket, _ in attempts)
            for product in products:
                assert reserved_by_winners[product.pk] == min(demand[product.pk], SELLABLE_UNITS), context
            assert winners == sum(min(demand[product.pk], SELLABLE_UNITS) for product in products), context
        skus = {product.sku: product.pk for product in products}
        for basket, outcome in attempts:
            if outcome["outcome"] != "insufficient":
                continue
            wanted = _wanted(basket["lines"])
            # The error names short SKUs of this basket, with what it asked and what was there then ...
            assert outcome["shortages"], context
            for shortage in outcome["shortages"]:
                product_id = skus[shortage["sku"]]
                assert shortage["requested"] == wanted[product_id], context
                assert left[product_id] <= shortage["available"] < shortage["requested"], context
            # ... and no loser was refused what is still there: its basket does not fit in what is left.
            assert any(left[product_id] < quantity for product_id, quantity in wanted.items()), context

    assert checks_during_race, "the drift check never ran during a race"
    assert [check for check in checks_during_race if check != (True, 0)] == []
    assert _broken_balances() == 0
    assert stock_drift_check().ok
    assert sum(outcomes_seen.values()) == RACE_ROUNDS * WORKERS * BASKETS_PER_WORKER
    assert outcomes_seen["reserved"] > 0 and outcomes_seen["insufficient"] > 0


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _wait_until_blocked(pid: int) -> tuple[str, list[int]]:
    """Wait until backend ``pid`` waits for a lock; returns the statement it waits in and who blocks it."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT wait_event_type, query, pg_blocking_pids(pid) FROM pg_stat_activity WHERE pid = %s", [pid]
            )
            row = cursor.fetchone()
            if row and row[0] == "Lock":
                return row[1], row[2]
            threading.Event().wait(0.01)  # polling an observable state, not timing a race
    raise AssertionError(f"backend {pid} was never seen waiting for a lock within {WAIT_TIMEOUT}s")


class Worker(threading.Thread):
    """A thread with its own database connection (Django gives each thread one); records its pid and outcome."""

    def __init__(self, action) -> None:
        super().__init__(daemon=True)
        self.action = action
        self.pid_known = threading.Event()
        self.pid: int | None = None
        self.result = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.pid = _backend_pid()
            self.pid_known.set()
            self.result = self.action()
        except BaseException as error:
            self.error = error
        finally:
            self.pid_known.set()
            connection.close()

    def started_pid(self) -> int:
        self.start()
        assert self.pid_known.wait(WAIT_TIMEOUT)
        assert self.pid is not None, self.error
        return self.pid


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("second_asks", "second_outcome", "reserved_at_end"),
    [(2, "insufficient: 1 available", 2), (1, "reserved 1", 3)],
)
def test_a_reservation_waits_at_the_row_lock_and_then_sees_the_first_one(second_asks, second_outcome, reserved_at_end):
    warehouse = WarehouseFactory(code="LOCK")
    product = ProductFactory(sku="LAST-UNITS")
    stock_receive(product=product, bin=BinFactory(warehouse=warehouse), quantity=3)
    first_reserved = threading.Event()
    first_may_commit = threading.Event()

    def first():
        with transaction.atomic():
            stock_reserve(warehouse=warehouse, lines=[(product, 2)], reference="order-line:1")
            first_reserved.set()
            assert first_may_commit.wait(WAIT_TIMEOUT)

    def second():
        try:
            (reservation,) = stock_reserve(
                warehouse=warehouse, lines=[(product, second_asks)], reference="order-line:2"
            )
        except InsufficientStock as error:
            return f"insufficient: {error.context['available']} available"
        return f"reserved {reservation.quantity_reserved}"

    holder = Worker(first)
    holder_pid = holder.started_pid()
    assert first_reserved.wait(WAIT_TIMEOUT), holder.error
    waiter = Worker(second)
    waiter_pid = waiter.started_pid()
    query, blocked_by = _wait_until_blocked(waiter_pid)
    # It waits in the locking read of the balance row, before it has read a quantity or written anything.
    assert query.lstrip().upper().startswith("SELECT"), query
    assert "inventory_inventorybalance" in query
    assert re.search(r"FOR (NO KEY )?UPDATE\s*$", query, re.IGNORECASE), query
    assert blocked_by == [holder_pid]
    assert InventoryBalance.objects.get(product=product).reserved == 0  # the first has not committed yet
    first_may_commit.set()
    holder.join(WAIT_TIMEOUT)
    waiter.join(WAIT_TIMEOUT)
    assert (holder.error, waiter.error) == (None, None)
    assert waiter.result == second_outcome
    balance = InventoryBalance.objects.get(product=product)
    assert (balance.on_hand, balance.sellable, balance.reserved) == (3, 3, reserved_at_end)


@pytest.mark.django_db(transaction=True)
def test_a_pick_and_a_bin_going_unsellable_queue_instead_of_deadlocking():
    warehouse = WarehouseFactory(code="DEAD")
    product = ProductFactory(sku="PICK-VS-FLAG")
    pick_bin = BinFactory(warehouse=warehouse, kind=Bin.Kind.PICK)
    bulk_bin = BinFactory(warehouse=warehouse, kind=Bin.Kind.BULK)
    packing = BinFactory(warehouse=warehouse, kind=Bin.Kind.PACKING, is_sellable=False)
    stock_receive(product=product, bin=pick_bin, quantity=5)
    stock_receive(product=product, bin=bulk_bin, quantity=3)
    stock_reserve(warehouse=warehouse, lines=[(product, 2)], reference="order-line:9")
    reservation_locked = threading.Event()
    release_reservation = threading.Event()

    def hold_the_reservation():
        # Holds the reservation row so the pick stops half-way, after taking its first locks.
        with transaction.atomic():
            list(Reservation.objects.select_for_update().filter(reference="order-line:9"))
            reservation_locked.set()
            assert release_reservation.wait(WAIT_TIMEOUT)

    def pick():
        return stock_pick(reference="order-line:9", product=product, from_bin=pick_bin, to_bin=packing, quantity=1)

    def take_the_pick_bin_off_sale():
        return bin_sellable_set(bin=pick_bin, is_sellable=False)

    holder = Worker(hold_the_reservation)
    holder_pid = holder.started_pid()
    assert reservation_locked.wait(WAIT_TIMEOUT)
    picker = Worker(pick)
    picker_pid = picker.started_pid()
    assert _wait_until_blocked(picker_pid)[1] == [holder_pid]
    flagger = Worker(take_the_pick_bin_off_sale)
    flagger_pid = flagger.started_pid()
    assert _wait_until_blocked(flagger_pid)[1] == [picker_pid]
    release_reservation.set()
    for thread in (holder, picker, flagger):
        thread.join(WAIT_TIMEOUT)
    assert (holder.error, picker.error, flagger.error) == (None, None, None)
    assert flagger.result.is_sellable is False
    levels = dict(StockLevel.objects.filter(product=product).values_list("bin_id", "on_hand"))
    assert levels == {pick_bin.pk: 4, bulk_bin.pk: 3, packing.pk: 1}
    balance = InventoryBalance.objects.get(product=product)
    # Picked unit in packing; the pick bin's 4 are off sale; only the bulk bin's 3 remain sellable for 1 reserved.
    assert (balance.on_hand, balance.sellable, balance.reserved) == (8, 3, 1)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_mixed_stock_traffic_keeps_ledger_levels_balances_and_reservations_in_step(worker_pool):
    seed = random.randrange(2**32)
    warehouse = WarehouseFactory(code="MIX")
    bins = {
        "receiving": BinFactory(warehouse=warehouse, kind=Bin.Kind.RECEIVING, is_sellable=False),
        "pick_1": BinFactory(warehouse=warehouse, kind=Bin.Kind.PICK),
        "pick_2": BinFactory(warehouse=warehouse, kind=Bin.Kind.PICK),
        "bulk": BinFactory(warehouse=warehouse, kind=Bin.Kind.BULK),
        "packing": BinFactory(warehouse=warehouse, kind=Bin.Kind.PACKING, is_sellable=False),
    }
    products = [ProductFactory() for _ in range(3)]
    for product in products:
        for role in ("pick_1", "pick_2", "bulk"):
            stock_receive(product=product, bin=bins[role], quantity=4)
    jobs = [
        {
            "warehouse_id": warehouse.pk,
            "product_ids": [product.pk for product in products],
            "bin_ids": {role: bin_.pk for role, bin_ in bins.items()},
            "operations": MIXED_OPERATIONS,
            "seed": seed + worker,
        }
        for worker in range(WORKERS)
    ]
    checks_during_race: list[tuple[bool, int]] = []

    def check_while_racing() -> None:
        checks_during_race.append((stock_drift_check(warehouse_ids=[warehouse.pk]).ok, _broken_balances()))

    results = worker_pool.run("mixed_operations", jobs, while_waiting=check_while_racing)

    assert [result for result in results if result["outcome"] != "done"] == [], f"seed {seed}"
    assert [line for result in results for line in result["unexpected"]] == [], f"seed {seed}"
    assert [check for check in checks_during_race if check != (True, 0)] == []
    assert stock_drift_check().ok
    assert _broken_balances() == 0
    # Each worker's reservations are exactly what it believes it reserved, picked and shipped: no lost update.
    believed = {
        (reference, int(product_id)): tuple(figures)
        for result in results
        for reference, lines in result["held"].items()
        for product_id, figures in lines.items()
    }
    stored = {
        (row.reference, row.product_id): (row.quantity_reserved, row.quantity_picked, row.quantity_shipped)
        for row in Reservation.objects.filter(reference__startswith="mix-")
    }
    assert stored == believed
    # Every operation that went through left its ledger rows, and no refused one left any.
    expected_moves = Counter(reference for result in results for reference in result["stock_moving_references"])
    assert Counter(StockMove.objects.filter(reference__startswith="mix-").values_list("reference", flat=True)) == (
        expected_moves
    )
    # Only picks put stock into packing and only ships take it out.
    picked = Counter()
    for (_, product_id), (_, quantity_picked, _) in believed.items():
        picked[product_id] += quantity_picked
    in_packing = dict(
        StockLevel.objects.filter(bin=bins["packing"], on_hand__gt=0).values_list("product_id", "on_hand")
    )
    assert in_packing == {product_id: quantity for product_id, quantity in picked.items() if quantity}
    outcomes = Counter(outcome for result in results for _, outcome in result["log"])
    assert sum(outcomes.values()) == WORKERS * MIXED_OPERATIONS
    assert outcomes["done"] > 0
    assert set(outcomes) - {"done"} <= set().union(*MIXED_ALLOWED_REFUSALS.values())
