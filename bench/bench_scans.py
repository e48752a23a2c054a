"""Benchmark: the warehouse floor's scan pages, served by gunicorn, under 50 floor workers scanning at once.

Run from the project root:  python -m bench.bench_scans [--bins 100000] [--orders 10000] [--users 50] [--rounds 1]
[--pause 5] [--small]. In a throw-away database (bench/_database.py):

- a warehouse of 100,000 stocked bins (pick faces, the last fifth bulk, each with its pick sequence) holding 20,000
  products, the bins by COPY and their stock in set-based SQL as ``bench_ledger_check`` writes it: one receipt move
  per bin in the ledger, levels and balances derived from it;
- 10,000 open orders imported (``orders_upsert``) and allocated (``orders_allocate``: parcels, reservations);
- per floor worker and round, through the floor's services: a several-SKU wave and a single-item wave released to
  them (``wave_create``/``wave_release``) with their labels made (``wave_labels_make``), a transfer shipped to the
  warehouse, and bins of their own (an open count over two, two to move stock between, one to put away into);
- 50 users with the Picker/packer role, each logged in up front (a session and a CSRF cookie).

Then gunicorn serves the project on 127.0.0.1 (``--web-workers``/``--threads``) and one client thread per user, with
one keep-alive connection each, posts the scans a floor worker makes in a round, as the scan page's script does
(the code in a form with the CSRF token, ``Accept: application/json``): receive the transfer, put it away, pick
the several-SKU wave, sort it, pack its parcels by slot (items, weight), pick the single-item wave and pack it in
the fast lane, hand every parcel over and close the manifest, count two bins, move stock there and back; with one
refused scan of most kinds (a wrong item, a wrong bin, an unknown label ...), as a refusal is a scan answered too.
Between pages the worker opens the menu (GET /scan/): that request, with no work but the session, the user and
the page, is the baseline, measured the same way in the same run.

Server time is the request's time in gunicorn (``%(D)s`` of its access log, from the request read to the response
sent; the project has no Server-Timing header); the client's time (queueing included) is printed beside it. After
the run the extra worker's round is replayed in this process through Django's test client, counting the queries
of each kind of scan. The run fails if any answer is not the one expected, any request is not answered 200, a wave
is not done or a manifest not handed over at the end, or the stock no longer agrees with its ledger.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a file: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._database import django_setup, server_description, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 50.0
UNITS_PER_BIN = 20
BINS_PER_PRODUCT = 5
PARCELS_PER_WAVE = 3
START_DEADLINE = 60.0
REQUEST_HEADER = "X-Bench-Request"  # logged by gunicorn, to join its time to the client's record
SENDER = {
    "name": "Seabridge 深圳仓",
    "address1": "1 Bao'an Rd",
    "city": "Shenzhen",
    "postcode": "518000",
    "country": "CN",
}
PAGES = {
    "menu": "/scan/",
    "receive": "/scan/receive/",
    "put away": "/scan/put-away/",
    "pick": "/scan/pick/",
    "sort": "/scan/sort/",
    "pack": "/scan/pack/",
    "fast lane": "/scan/fast-lane/",
    "hand over": "/scan/hand-over/",
    "count": "/scan/count/",
    "move": "/scan/move/",
}


def bin_code(number: int) -> str:
    """Zone-aisle-rack-level, the warehouses' default scheme: A-00-00-01 … J-99-99-01 for 100,000 bins."""
    zone = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[number // 10000]
    return f"{zone}-{(number // 100) % 100:02d}-{number % 100:02d}-01"


# --- The floor's data ----------------------------------------------------------------------------------------------


@dataclass
class World:
    warehouse: object
    source: object
    source_bin: object
    store: object
    account: object
    manager: object
    products: int = 0
    bins: int = 0
    orders: int = 0
    allocated: int = 0


STOCK_SQL = """
INSERT INTO inventory_stockmove (product_id, from_bin_id, to_bin_id, quantity, reason, reference, note, created_at)
SELECT product.id, NULL, place.id, %(units)s, 'receipt', 'BENCH-STOCK', '', now()
FROM (
    SELECT id, pick_sequence AS number FROM inventory_bin
    WHERE warehouse_id = %(warehouse)s AND kind IN ('pick', 'bulk')
) AS place
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS number FROM inventory_product) AS product
  ON product.number = place.number %% %(products)s
ORDER BY place.number
"""


def floor_load(*, bins: int, orders: int, seed: int) -> World:
    """Products, bins and their stock (set-based SQL), the carrier and method, a store, the open orders (imported
    and allocated by the services), the roles and a manager."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.bench_ledger_check import BALANCES_SQL, LEVELS_SQL
    from channels.services import store_create
    from core.models import natural_sort_key
    from core.roles import roles_ensure
    from inventory.models import Bin, Product, Warehouse
    from logistics.models import Carrier, CarrierAccount, TrackingNumberRange
    from logistics.services import method_save, rate_card_save

    chooser = random.Random(seed)
    started = time.perf_counter()
    products = max(bins // BINS_PER_PRODUCT, 10)
    warehouse = Warehouse.objects.create(code="SZ1", name="Shenzhen", country="CN", priority=10)
    source = Warehouse.objects.create(code="HK1", name="Hong Kong", country="HK", priority=90)
    Product.objects.bulk_create(
        [
            Product(
                sku=f"SKU-{number:06d}",
                name=f"Product {number}",
                weight_g=chooser.randint(50, 900),
                declared_name_en="Phone case",
                declared_name_zh="手机壳",
                hs_code="392690",
                declared_value=Decimal("5.00"),
            )
            for number in range(products)
        ],
        batch_size=5000,
    )
    bulk_from = bins - bins // 5  # the last fifth is bulk (overstock); pick faces are picked first
    with transaction.atomic(), connection.cursor() as cursor:
        columns = (
            "created_at, updated_at, warehouse_id, code, code_sort, zone, kind, is_sellable, pick_sequence, is_active"
        )
        with cursor.cursor.copy(f"COPY inventory_bin ({columns}) FROM STDIN") as copy:
            now = timezone.now()
            for number in range(bins):
                code = bin_code(number)
                kind = Bin.Kind.BULK if number >= bulk_from else Bin.Kind.PICK
                copy.write_row(
                    (now, now, warehouse.pk, code, natural_sort_key(code), code[0], kind, True, number, True)
                )
    Bin.objects.create(warehouse=warehouse, code="R-00-00-01", zone="R", kind=Bin.Kind.RECEIVING, is_sellable=False)
    source_bin = Bin.objects.create(warehouse=source, code="A-00-00-01", zone="A", kind=Bin.Kind.PICK)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(STOCK_SQL, {"units": UNITS_PER_BIN, "warehouse": warehouse.pk, "products": products})
        cursor.execute(LEVELS_SQL)
        cursor.execute(BALANCES_SQL)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"stock: {bins:,} bins of {products:,} products, {bins * UNITS_PER_BIN:,} units, in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )

    carrier = Carrier.objects.create(code="CHINAPOST", name="China Post")
    account = CarrierAccount.objects.create(carrier="self", name="China Post 中国邮政", sender=SENDER)
    TrackingNumberRange.objects.create(
        account=account, prefix="RR", suffix="CN", first_number=1, last_number=99_999_999, next_number=1
    )
    method = method_save(data={"carrier": carrier, "account": account, "code": "CP-REG", "name": "China Post Reg."})
    rate_card_save(
        data={"method": method, "name": "CP-REG 2026", "currency": "CNY"},
        zones=[
            {
                "code": "US",
                "countries": ["US"],
                "brackets": [{"max_weight_g": 30000, "pricing": "per_kg", "price_per_kg": Decimal("80")}],
            }
        ],
    )
    store = store_create(channel="manual", name="Bench store")
    allocated = orders_load(store=store, orders=orders, products=products, seed=seed)

    roles_ensure()
    manager = get_user_model().objects.create_user(username="manager", password=None, is_staff=True)
    manager.groups.add(Group.objects.get(name="Warehouse manager"))
    return World(
        warehouse=warehouse,
        source=source,
        source_bin=source_bin,
        store=store,
        account=account,
        manager=manager,
        products=products,
        bins=bins,
        orders=orders,
        allocated=allocated,
    )


def orders_load(*, store, orders: int, products: int, seed: int, allocate: bool = True) -> int:
    """``orders`` orders to the US, imported and allocated by the services: about 45 % one unit of one SKU, 40 %
    two or three SKUs, 15 % two or three units of one SKU. Returns how many were allocated (none without
    ``allocate``: imported only, as bench_load reads them)."""
    from datetime import UTC, datetime, timedelta

    from inventory.models import Product
    from orders.fulfilment import orders_allocate
    from orders.imports import orders_upsert
    from orders.inbound import AddressIn, LineIn, OrderIn

    chooser = random.Random(seed + 1)
    started = time.perf_counter()
    ids = list(Product.objects.order_by("pk").values_list("pk", "sku"))
    address = AddressIn(
        name="Jane Roe", address1="1 Main St", city="Springfield", state="IL", postcode="62701", country="US"
    )
    made = []
    for number in range(orders):
        shape = chooser.random()
        if shape < 0.45:
            lines = [(chooser.randrange(products), 1)]
        elif shape < 0.85:
            lines = [(index, 1) for index in chooser.sample(range(products), chooser.choice([2, 2, 3]))]
        else:
            lines = [(chooser.randrange(products), chooser.choice([2, 3]))]
        moment = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=number)
        made.append(
            OrderIn(
                channel_order_id=f"SO-{number:07d}",
                status="awaiting_shipment",
                channel_status="Unshipped",
                ordered_at=moment,
                channel_updated_at=moment,
                currency="USD",
                total=Decimal("19.99"),
                address=address,
                lines=[
                    LineIn(
                        channel_line_id=str(position),
                        channel_sku=ids[index][1],
                        quantity=quantity,
                        unit_price=Decimal("9.99"),
                        product_id=ids[index][0],
                        product_quantity=quantity,
                    )
                    for position, (index, quantity) in enumerate(lines)
                ],
            )
        )
    for start in range(0, len(made), 1000):
        result = orders_upsert(store_id=store.pk, orders=made[start : start + 1000])
        if result.problems:
            raise RuntimeError(f"the orders were refused: {result.problems[:3]}")
    imported = time.perf_counter() - started
    if not allocate:
        print(f"orders: {orders:,} imported in {imported:.1f} s", flush=True)
        return 0
    allocation = orders_allocate()
    print(
        f"orders: {orders:,} imported in {imported:.1f} s, {allocation.allocated:,} allocated in "
        f"{allocation.parcels:,} parcels in {allocation.seconds_total:.1f} s",
        flush=True,
    )
    return allocation.allocated


# --- What each floor worker does -----------------------------------------------------------------------------------


@dataclass
class ParcelWork:
    slot: str  # SLOT-<wave>-<n>, as the pack station scans it
    items: list[tuple[str, int]]  # (SKU, units)
    grams: int  # what it weighs: the products and the packaging
    tracking: str


@dataclass
class WaveWork:
    number: str
    stops: list[tuple[str, str, int]]  # (bin, SKU, units) in walking order
    parcels: list[ParcelWork]
    wrong_sku: str  # a SKU none of its parcels has


@dataclass
class RoundWork:
    several: WaveWork  # several SKUs a parcel: picked, sorted, packed item by item
    single: WaveWork  # one unit a parcel: picked, packed in the fast lane
    transfer: str
    transfer_lines: list[tuple[str, int]]
    count_bins: list[tuple[str, str, int]]  # (bin, SKU, units on hand)


@dataclass
class Worker:
    index: int
    username: str
    session: str = ""
    csrf: str = ""
    rounds: list[RoundWork] = field(default_factory=list)
    put_away_bin: str = ""
    move_bins: tuple[str, str] = ("", "")
    move_sku: str = ""


@dataclass(frozen=True)
class Scan:
    page: str
    what: str
    code: str | None  # None: a GET of the page
    refused: str = ""  # the error code the answer must carry; "" when the scan must be accepted

    @property
    def kind(self) -> str:
        return f"{self.page}: {self.what}"

    @property
    def path(self) -> str:
        return PAGES[self.page]


def floor_work(world: World, *, workers: int, rounds: int) -> list[Worker]:
    """Per worker and round, through the services: two waves released to them with labels, a transfer shipped here;
    then bins of their own (none any wave picks from), a count over some, and their session."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from inventory.count_services import stock_count_open
    from inventory.models import Bin, Product, StockLevel
    from inventory.stock_services import stock_receive
    from inventory.transfer_services import transfer_create, transfer_ship
    from warehouse.models import PickTask, Wave
    from warehouse.waves import WaveCriteria, wave_create, wave_labels_make, wave_release

    started = time.perf_counter()
    pickers = Group.objects.get(name="Picker/packer")
    users = []
    for index in range(workers):
        user = get_user_model().objects.create_user(username=f"floor{index:02d}", password=None)
        user.groups.add(pickers)
        users.append(user)
    made: list[list[tuple[Wave, Wave]]] = []
    for user in users:
        waves = []
        for _ in range(rounds):
            waves.append(
                tuple(
                    wave_release(
                        wave=wave_create(
                            criteria=WaveCriteria(
                                warehouse_id=world.warehouse.pk, shape=shape, max_parcels=PARCELS_PER_WAVE
                            )
                        ),
                        picker=user,
                    )
                    for shape in (Wave.Shape.MULTI_ITEM, Wave.Shape.SINGLE_ITEM)
                )
            )
        made.append(waves)
    released = time.perf_counter() - started
    for waves in made:
        for pair in waves:
            for wave in pair:
                labels = wave_labels_make(wave=wave)
                if labels["ready"] != wave.parcel_count:
                    notes = list(wave.parcels.exclude(note="").values_list("note", flat=True))
                    raise RuntimeError(f"wave {wave.number}: labels {labels}: {notes}")
    labelled = time.perf_counter() - started - released

    # Bins no wave picks from, from the far end of the walk: each worker counts, moves and puts away in their own.
    busy = set(PickTask.objects.values_list("bin_id", flat=True))
    per_worker = 2 * rounds + 3
    free = []
    for level in (
        StockLevel.objects.filter(bin__warehouse=world.warehouse, bin__kind=Bin.Kind.PICK, on_hand__gt=0)
        .select_related("bin", "product")
        .order_by("-bin__pick_sequence")
        .iterator(chunk_size=2000)
    ):
        if level.bin_id not in busy:
            free.append(level)
            if len(free) == per_worker * workers:
                break
    if len(free) < per_worker * workers:
        raise RuntimeError("not enough bins free of waves for every worker")
    # Transfers: two SKUs of three units each, a different pair every time (so what waits in receiving never
    # mixes), none of them in the workers' own bins (whose SKUs are refused on the transfer's page).
    own = {level.product.sku for level in free}
    skus = [sku for sku in Product.objects.order_by("pk").values_list("sku", flat=True) if sku not in own]
    skus = skus[len(skus) // 3 :][: 2 * workers * rounds]
    if len(skus) < 2 * workers * rounds:
        raise RuntimeError("not enough products for every worker's transfers")
    products = {product.sku: product for product in Product.objects.filter(sku__in=skus)}
    floor_workers = []
    for index, (user, waves) in enumerate(zip(users, made, strict=True)):
        mine = free[index * per_worker : (index + 1) * per_worker]
        worker = Worker(
            index=index,
            username=user.username,
            put_away_bin=mine[0].bin.code,
            move_bins=(mine[1].bin.code, mine[2].bin.code),
            move_sku=mine[1].product.sku,
        )
        counted = mine[3:]
        stock_count_open(warehouse=world.warehouse, bins=[level.bin for level in counted], user=world.manager)
        for number, (several, single) in enumerate(waves):
            pair = skus[(index * rounds + number) * 2 : (index * rounds + number) * 2 + 2]
            for sku in pair:
                stock_receive(product=products[sku], bin=world.source_bin, quantity=3, reference="BENCH-HK")
            transfer = transfer_ship(
                transfer=transfer_create(
                    source=world.source,
                    destination=world.warehouse,
                    lines=[(products[sku], 3, world.source_bin) for sku in pair],
                )
            )
            worker.rounds.append(
                RoundWork(
                    several=wave_work(several),
                    single=wave_work(single),
                    transfer=transfer.number,
                    transfer_lines=[(sku, 3) for sku in pair],
                    count_bins=[
                        (level.bin.code, level.product.sku, level.on_hand)
                        for level in counted[2 * number : 2 * number + 2]
                    ],
                )
            )
        floor_workers.append(worker)
    sessions_open(world, floor_workers, users)
    print(
        f"floor: {len(users)} workers × {rounds} round(s): {2 * len(users) * rounds} waves released in "
        f"{released:.1f} s, their labels made in {labelled:.1f} s; transfers, counts and sessions, "
        f"{time.perf_counter() - started:.1f} s in all",
        flush=True,
    )
    return floor_workers


def wave_work(wave) -> WaveWork:
    """What the worker will scan for ``wave``: its stops in walking order and its parcels with labels."""
    from inventory.models import Product, Reservation
    from logistics.models import Shipment
    from warehouse.packing import floor_settings

    stops = [
        (task.bin.code, task.product.sku, task.quantity)
        for task in wave.tasks.select_related("bin", "product").order_by("sequence")
    ]
    packaging = floor_settings(wave.warehouse_id).packaging_g
    parcels = []
    for entry in wave.parcels.select_related("parcel").order_by("position"):
        reserved = list(
            Reservation.objects.filter(reference=entry.parcel.number, quantity_reserved__gt=0)
            .select_related("product")
            .order_by("product__sku")
        )
        shipment = entry.parcel.shipments.get(status=Shipment.Status.LABEL_READY)
        parcels.append(
            ParcelWork(
                slot=f"SLOT-{wave.number}-{entry.slot}",
                items=[(row.product.sku, row.quantity_reserved) for row in reserved],
                grams=sum((row.product.weight_g or 0) * row.quantity_reserved for row in reserved) + packaging,
                tracking=shipment.tracking_number,
            )
        )
    in_wave = {sku for _bin, sku, _units in stops}
    wrong = Product.objects.exclude(sku__in=in_wave).order_by("pk").values_list("sku", flat=True).first()
    return WaveWork(number=wave.number, stops=stops, parcels=parcels, wrong_sku=wrong)


def sessions_open(world: World, workers: list[Worker], users: list) -> None:
    """Each worker logged in as on their phone: a session that knows the warehouse (and the hand-over's carrier
    account and pickup, one per worker, so each fills and closes a manifest of their own), and a CSRF cookie."""
    from django.conf import settings
    from django.test import Client
    from django.utils.crypto import get_random_string

    from warehouse.scan.hand_over import SESSION_KEY as HAND_OVER_KEY
    from warehouse.scan.views import WAREHOUSE_KEY

    for worker, user in zip(workers, users, strict=True):
        client = Client()
        client.force_login(user)
        session = client.session
        session[WAREHOUSE_KEY] = world.warehouse.pk
        session[HAND_OVER_KEY] = {
            "warehouse": world.warehouse.pk,
            "account": world.account.pk,
            "pickup": f"Van {worker.index:02d}",
            "manifest": None,
        }
        session.save()
        worker.session = client.cookies[settings.SESSION_COOKIE_NAME].value
        worker.csrf = get_random_string(32)


def worker_scans(worker: Worker) -> list[Scan]:
    """The scans of a worker's rounds, in the floor's order, each page opened from the menu first."""
    scans: list[Scan] = []

    def page(name: str) -> None:
        scans.append(Scan("menu", "menu", None))
        scans.append(Scan(name, "page", None))

    def picked(wave: WaveWork, *, refusals: bool) -> None:
        page("pick")
        scans.append(Scan("pick", "wave", wave.number))
        at = None
        for number, (bin_, sku, units) in enumerate(wave.stops):
            if refusals and number == 0:
                scans.append(Scan("pick", "wrong bin", worker.put_away_bin, refused="wrong_bin"))
            if bin_ != at:
                scans.append(Scan("pick", "bin", bin_))
                at = bin_
            if refusals and number == 0:
                scans.append(Scan("pick", "wrong item", wave.wrong_sku, refused="wrong_item"))
            if units <= 2:
                scans.extend(Scan("pick", "item", sku) for _ in range(units))
            else:  # the item, then how many that scan was in all
                scans.append(Scan("pick", "item", sku))
                scans.append(Scan("pick", "quantity", str(units)))

    for work in worker.rounds:
        page("receive")
        scans.append(Scan("receive", "transfer", work.transfer))
        scans.append(Scan("receive", "not on it", worker.move_sku, refused="not_on_document"))
        (first, first_units), (second, second_units) = work.transfer_lines
        scans.extend(Scan("receive", "item", first) for _ in range(first_units))
        scans.append(Scan("receive", "item", second))
        scans.append(Scan("receive", "quantity", str(second_units)))

        page("put away")
        scans.append(Scan("put away", "bin first", worker.put_away_bin, refused="item_first"))
        for sku, units in work.transfer_lines:
            scans.append(Scan("put away", "item", sku))
            scans.append(Scan("put away", "bin", worker.put_away_bin))
            scans.append(Scan("put away", "quantity", str(units)))

        several = work.several
        picked(several, refusals=True)
        page("sort")
        scans.append(Scan("sort", "wave", several.number))
        for _bin, sku, units in several.stops:
            scans.extend(Scan("sort", "item", sku) for _ in range(units))
        scans.append(Scan("sort", "not needed", several.stops[0][1], refused="not_needed"))

        page("pack")
        for number, parcel in enumerate(several.parcels):
            scans.append(Scan("pack", "slot", parcel.slot))
            if number == 0:
                scans.append(Scan("pack", "wrong item", several.wrong_sku, refused="wrong_item"))
            for sku, units in parcel.items:
                scans.extend(Scan("pack", "item", sku) for _ in range(units))
            scans.append(Scan("pack", "weight", str(parcel.grams)))

        single = work.single
        picked(single, refusals=False)
        page("fast lane")
        scans.append(Scan("fast lane", "wave", single.number))
        for parcel in single.parcels:
            scans.append(Scan("fast lane", "item", parcel.items[0][0]))

        page("hand over")
        for parcel in [*several.parcels, *single.parcels]:
            scans.append(Scan("hand over", "parcel", parcel.tracking))
        scans.append(Scan("hand over", "unknown label", "RR000000000XX", refused="unknown_parcel"))
        scans.append(Scan("hand over", "close", "CLOSE"))

        page("count")
        (first_bin, first_sku, first_units), (second_bin, second_sku, second_units) = work.count_bins
        scans.append(Scan("count", "bin", first_bin))
        scans.append(Scan("count", "item", first_sku))
        scans.append(Scan("count", "quantity", str(first_units)))
        scans.append(Scan("count", "tally open", second_bin, refused="tally_open"))
        scans.append(Scan("count", "done", "DONE"))
        scans.append(Scan("count", "bin", second_bin))
        scans.append(Scan("count", "item", second_sku))
        scans.append(Scan("count", "quantity", str(second_units)))
        scans.append(Scan("count", "done", "DONE"))

        page("move")
        scans.append(Scan("move", "unknown bin", "Z-99-99-99", refused="unknown_bin"))
        there, back = worker.move_bins
        for from_bin, to_bin in ((there, back), (back, there)):
            scans.append(Scan("move", "bin", from_bin))
            scans.append(Scan("move", "item", worker.move_sku))
            scans.append(Scan("move", "quantity", "5"))
            scans.append(Scan("move", "to bin", to_bin))
    return scans


# --- Scanning over HTTP ----------------------------------------------------------------------------------------------


@dataclass
class Answer:
    request: str
    scan: Scan
    status: int
    client_seconds: float
    level: str = ""
    code: str = ""
    message: str = ""
    statements: list[tuple[float, str]] = field(default_factory=list)  # replayed: (seconds, SQL) of each query

    @property
    def refused(self) -> bool:
        return self.level == "error"

    def problem(self) -> str | None:
        """What is wrong with this answer, or None when it is the one expected."""
        if self.status != 200:
            return f"{self.scan.kind} {self.scan.code!r}: HTTP {self.status}"
        if self.scan.code is None:
            return None
        if self.scan.refused and (not self.refused or self.code != self.scan.refused):
            return f"{self.scan.kind} {self.scan.code!r}: expected refused {self.scan.refused}, got {self.level} "
        if not self.scan.refused and self.refused:
            return f"{self.scan.kind} {self.scan.code!r}: refused {self.code}: {self.message}"
        return None


class HttpFloor:
    """One phone on the floor: a keep-alive connection, the worker's session and CSRF cookies, and each scan sent
    the way the scan page's script sends it."""

    def __init__(self, port: int, worker: Worker):
        self.port, self.worker = port, worker
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = f"sessionid={worker.session}; csrftoken={worker.csrf}"

    def send(self, scan: Scan, request: str) -> Answer:
        headers = {
            "Cookie": self.cookie,
            "Accept-Language": "zh-CN,zh;q=0.9",
            REQUEST_HEADER: request,
        }
        if scan.code is None:
            method, body = "GET", None
            headers["Accept"] = "text/html"
        else:
            method = "POST"
            body = urlencode({"csrfmiddlewaretoken": self.worker.csrf, "code": scan.code})
            headers.update(
                {
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": f"http://127.0.0.1:{self.port}",
                }
            )
        began = time.perf_counter()
        self.connection.request(method, scan.path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        seconds = time.perf_counter() - began
        answer = Answer(request=request, scan=scan, status=response.status, client_seconds=seconds)
        if scan.code is not None and response.status == 200:
            said = json.loads(content)
            answer.level, answer.code, answer.message = said["level"], said.get("code", ""), said["message"]
        return answer

    def close(self) -> None:
        self.connection.close()


def scanning(port: int, workers: list[Worker], plans: list[list[Scan]], pause: float, seed: int) -> tuple:
    """Every worker's scans, one thread each, all starting together; a pause of ``pause`` seconds on average
    (uniformly 0.5× to 1.5×) between a worker's scans. Returns the answers and the seconds it took."""
    answers: list[list[Answer]] = [[] for _ in workers]
    failures: list[str] = []
    barrier = threading.Barrier(len(workers) + 1)

    def work(position: int) -> None:
        worker, plan = workers[position], plans[position]
        floor = HttpFloor(port, worker)
        chooser = random.Random(seed * 1000 + worker.index)
        barrier.wait()
        try:
            for number, scan in enumerate(plan):
                if pause:
                    time.sleep(chooser.uniform(0.5 * pause, 1.5 * pause))
                answers[position].append(floor.send(scan, f"{worker.index}.{number}"))
        except Exception as error:  # a broken connection: the run fails, naming it
            failures.append(f"worker {worker.index}: {type(error).__name__}: {error}")
        finally:
            floor.close()

    threads = [threading.Thread(target=work, args=(position,), daemon=True) for position in range(len(workers))]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return [answer for mine in answers for answer in mine], failures, time.perf_counter() - began


class Server:
    """gunicorn serving the project against the throw-away database, with an access log of each request's id,
    status and time in microseconds; stopped (its whole process group) on exit."""

    def __init__(self, database: dict, *, workers: int, threads: int, log: Path):
        from tests.processes import database_url, free_port

        self.port = free_port()
        self.log = log
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(database),
            "SEABRIDGE_TESTING": "1",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "CELERY_BROKER_URL": "memory://localhost/",  # tasks queued by a scan (a shipment's news) go nowhere
        }
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--keep-alive",
            "300",  # a phone keeps its connection between scans
            "--timeout",
            "120",
            "--log-level",
            "warning",
            "--access-logfile",
            str(log),
            "--access-logformat",
            f"%({{{REQUEST_HEADER.lower()}}}i)s %(s)s %(D)s",
        ]
        self.environment = environment

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.environment, start_new_session=True)
        deadline = time.monotonic() + START_DEADLINE
        url = f"http://127.0.0.1:{self.port}/scan/login/"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {self.process.returncode} before it served {url}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not serve {url} within {START_DEADLINE:.0f} s")

    def __exit__(self, *exc_info: object) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def times(self) -> dict[str, float]:
        """Each bench request's time in the server, in seconds, by its id."""
        found = {}
        for line in self.log.read_text().splitlines():
            request, _status, microseconds = line.split()
            if request != "-":
                found[request] = int(microseconds) / 1e6
        return found


# --- Queries per scan, in this process -----------------------------------------------------------------------------


def replayed(worker: Worker, plan: list[Scan], *, profiled: Collection[str] = ()) -> list[Answer]:
    """The worker's scans through Django's test client in this process, one at a time with nobody else scanning:
    the time of each alone, and its queries; the scans of the kinds ``profiled`` under cProfile, whose top
    functions are printed."""
    import cProfile
    import pstats

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    client.cookies[settings.SESSION_COOKIE_NAME] = worker.session
    client.get(PAGES["menu"])  # the first request of this process loads the URLs and templates: not measured
    answers = []
    profiler = cProfile.Profile()
    for number, scan in enumerate(plan):
        with CaptureQueriesContext(connection) as captured:
            if scan.kind in profiled:
                profiler.enable()
            began = time.perf_counter()
            if scan.code is None:
                response = client.get(scan.path)
            else:
                response = client.post(scan.path, {"code": scan.code}, HTTP_ACCEPT="application/json")
            seconds = time.perf_counter() - began
            profiler.disable()
        answer = Answer(
            request=f"replay.{number}",
            scan=scan,
            status=response.status_code,
            client_seconds=seconds,
            statements=[(float(query["time"]), query["sql"]) for query in captured.captured_queries],
        )
        if scan.code is not None and response.status_code == 200:
            said = response.json()
            answer.level, answer.code, answer.message = said["level"], said.get("code", ""), said["message"]
        answers.append(answer)
    if profiled:
        print(f"\nWhere the replayed scans of {', '.join(sorted(profiled))} spend their time (cProfile):")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return answers


# --- Figures -------------------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value at least ``share`` of the values are at or below."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def report(answers: list[Answer], server: dict[str, float], replay: list[Answer], seconds: float) -> dict[str, float]:
    """The table of figures by kind of scan; returns each kind's p95 in the server, in ms."""
    by_kind: dict[str, list[Answer]] = defaultdict(list)
    for answer in answers:
        by_kind[answer.scan.kind].append(answer)
    alone: dict[str, list[Answer]] = defaultdict(list)
    for answer in replay:
        alone[answer.scan.kind].append(answer)
    base_p95 = percentile([server[answer.request] for answer in by_kind["menu: menu"]], 0.95) * 1000
    header = (
        f"{'page: scan':<25} {'count':>6} {'refused':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'client p95':>10} "
        f"{'alone':>6} {'queries':>7} {'×menu':>6}  p95 ≤ {GOAL_MS:.0f} ms"
    )
    print(header)
    print("-" * len(header))
    p95s = {}

    def row(label: str, group: list[Answer], kinds: list[str], goal: bool = True) -> None:
        times = [server[answer.request] * 1000 for answer in group]
        client = [answer.client_seconds * 1000 for answer in group]
        replays = [answer for kind in kinds for answer in alone.get(kind, [])]
        queries = f"{statistics.median(len(answer.statements) for answer in replays):g}" if replays else "-"
        by_itself = f"{statistics.median(answer.client_seconds for answer in replays) * 1000:.1f}" if replays else "-"
        p95 = p95s[label] = percentile(times, 0.95)
        print(
            f"{label:<25} {len(group):>6,} {sum(answer.refused for answer in group):>7,} "
            f"{percentile(times, 0.5):>7.1f} {p95:>7.1f} {percentile(times, 0.99):>7.1f} "
            f"{percentile(client, 0.95):>10.1f} {by_itself:>6} {queries:>7} {p95 / base_p95:>5.1f}×  "
            f"{('yes' if p95 <= GOAL_MS else 'NO') if goal else ''}",
            flush=True,
        )

    order = list(PAGES)
    for kind in sorted(by_kind, key=lambda kind: (order.index(kind.split(":")[0]), kind)):
        if kind != "menu: menu":
            row(kind, by_kind[kind], [kind], goal=not kind.endswith(": page"))
    scans = [answer for answer in answers if answer.scan.code is not None]
    print("-" * len(header))
    row("all scans", scans, [kind for kind in by_kind if not kind.endswith(": page") and kind != "menu: menu"])
    row("baseline: menu (GET)", by_kind["menu: menu"], ["menu: menu"], goal=False)
    print(
        f"\ntimes in ms. p50/p95/p99: in the server (gunicorn's request time); client p95: as the phone waited "
        f"(queueing included); alone: median of the extra worker's same scans replayed in this process with nobody "
        f"else scanning, and their queries; ×menu: p95 ÷ the menu's p95 (the baseline)\n"
        f"{len(scans):,} scans ({sum(answer.refused for answer in scans):,} refused, as planned) and "
        f"{len(answers) - len(scans):,} page loads in {seconds:.1f} s: {len(scans) / seconds:.1f} scans/s, "
        f"{len(answers) / seconds:.1f} requests/s",
        flush=True,
    )
    return p95s


def statements_show(replay: list[Answer], kind: str) -> None:
    """The queries of the replayed scans of ``kind``, with their time (--show-queries)."""
    for answer in replay:
        if answer.scan.kind != kind:
            continue
        total = sum(seconds for seconds, _sql in answer.statements)
        print(f"\n{kind} {answer.scan.code!r}: {len(answer.statements)} queries, {total * 1000:.1f} ms in SQL")
        for seconds, sql in answer.statements:
            print(f"  {seconds * 1000:6.1f} ms  {sql[:300]}")


def floor_check(workers: list[Worker]) -> list[str]:
    """What the scans must have left: every wave done, every manifest handed over, the stock agreeing with its
    ledger."""
    from inventory.ledger import stock_drift_check
    from logistics.models import Manifest
    from warehouse.models import Wave

    problems = []
    numbers = [wave.number for worker in workers for work in worker.rounds for wave in (work.several, work.single)]
    undone = list(Wave.objects.filter(number__in=numbers).exclude(status=Wave.Status.DONE).values_list("number"))
    if undone:
        problems.append(f"{len(undone)} waves not done: {undone[:5]}")
    handed = Manifest.objects.filter(status=Manifest.Status.HANDED_OVER).count()
    rounds = sum(len(worker.rounds) for worker in workers)
    if handed != rounds:
        problems.append(f"{handed} manifests handed over, {rounds} expected")
    drift = stock_drift_check()
    if not drift.ok:
        problems.append("stock drift: " + drift.summary())
    return problems


def run(options: argparse.Namespace) -> int:
    from django.db import connection

    problems: list[str] = []
    with throwaway_database("bench_scans") as database, tempfile.TemporaryDirectory() as folder:
        print(server_description() + " before the run", flush=True)
        world = floor_load(bins=options.bins, orders=options.orders, seed=options.seed)
        # One worker more than scan over HTTP: their round is replayed in this process to count queries.
        workers = floor_work(world, workers=options.users + 1, rounds=options.rounds)
        replaying, workers = workers[-1], workers[:-1]
        plans = [worker_scans(worker) for worker in workers]
        connection.close()  # the server's processes use the database meanwhile
        print(
            f"gunicorn: {options.web_workers} worker processes × {options.threads} threads on 127.0.0.1; "
            f"{len(workers)} floor workers, one keep-alive connection each, "
            f"{sum(len(plan) for plan in plans):,} requests; pause between a worker's scans: "
            f"{options.pause:g} s on average; load average {os.getloadavg()[0]:.2f}\n",
            flush=True,
        )
        server = Server(database, workers=options.web_workers, threads=options.threads, log=Path(folder) / "access.log")
        with server:
            answers, failures, seconds = scanning(server.port, workers, plans, options.pause, options.seed)
        problems.extend(failures)
        times = server.times()
        missing = [answer.request for answer in answers if answer.request not in times]
        if missing:
            problems.append(f"{len(missing)} requests missing from the server's log")
        problems.extend(problem for answer in answers if (problem := answer.problem()) is not None)

        replay = replayed(replaying, worker_scans(replaying), profiled=options.profile)
        problems.extend(f"replayed: {problem}" for answer in replay if (problem := answer.problem()) is not None)
        if not missing and answers:
            report(answers, times, replay, seconds)
        for kind in options.show_queries:
            statements_show(replay, kind)
        print(f"load average after the run: {os.getloadavg()[0]:.2f}")
        problems.extend(floor_check([*workers, replaying]))
        for problem in problems[:20]:
            print(f"FAILED: {problem}")
        if len(problems) > 20:
            print(f"FAILED: … and {len(problems) - 20} more")
        connection.close()
        return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    full = {"bins": 100_000, "orders": 10_000, "users": 50, "pause": 5.0}
    small = {"bins": 1000, "orders": 100, "users": 5, "pause": 0.0}
    parser.add_argument("--bins", type=int, help="stocked bins (default 100,000)")
    parser.add_argument("--orders", type=int, help="open orders (default 10,000)")
    parser.add_argument("--users", type=int, help="floor workers scanning at once (default 50)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the floor's work per worker (default 1)")
    parser.add_argument(
        "--pause",
        type=float,
        help="seconds between a worker's scans, on average (default 5: about 720 scans an hour each)",
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="KIND",
        help="profile the replayed scans of a kind, e.g. 'pick: item', and print the top functions (repeatable)",
    )
    parser.add_argument(
        "--show-queries",
        action="append",
        default=[],
        metavar="KIND",
        help="print the queries of the replayed scans of a kind, e.g. 'hand over: close' (repeatable)",
    )
    parser.add_argument(
        "--small", action="store_true", help="CI size: 1,000 bins, 100 orders, 5 workers, no pause (each can be set)"
    )
    options = parser.parse_args(argv)
    for name, value in (small if options.small else full).items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    if options.bins < 100 or options.orders < 50 or not 1 <= options.users <= 99 or options.rounds < 1:
        parser.error("--bins must be at least 100, --orders at least 50, --users 1 to 99, --rounds at least 1")
    if options.bins > 260_000:
        parser.error("--bins at most 260,000 (26 zones of 10,000)")
    # Before Django reads its settings: wave releases queue their label task, which goes nowhere (labels are made
    # here, by the same service the task runs).
    os.environ.setdefault("CELERY_BROKER_URL", "memory://localhost/")
    django_setup()
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
