"""Two manifests handed over at the same moment whose parcels share SKUs in opposite orders: both ship, no deadlock."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from inventory.models import Bin, InventoryBalance, Reservation, StockLevel, StockMove
from inventory.stock_services import stock_pick
from logistics.manifests import manifest_close, manifest_open, manifest_scan
from logistics.models import Manifest, Shipment
from orders.fulfilment import orders_allocate
from orders.models import Order, Parcel
from orders.shipping import parcel_ship
from tests.inventory.factories import BinFactory
from tests.orders.factories import line_in
from tests.orders.test_fulfilment import imported, map_skus, receive

# The hand-overs' connections say who they are, so the rendezvous below acts on them and nothing else.
APPLICATION_NAME = "handover-race-"
# How long a hand-over waits at the rendezvous for the other one at most. It is a safety net, not the mechanism:
# each wait ends as soon as the other hand-over has written a balance too or is seen waiting behind this one.
RENDEZVOUS_TIMEOUT_SECONDS = 10
JOIN_TIMEOUT_SECONDS = 60
# Why a hand-over left the rendezvous, each counted in a sequence (sequences are not rolled back with a deadlock
# victim's transaction, so the test reads what happened in both).
EXITS = ("met", "queued_behind", "timed_out")

RENDEZVOUS_SQL = f"""
CREATE SEQUENCE handover_race_arrived;
{"".join(f"CREATE SEQUENCE handover_race_{exit};" for exit in EXITS)}
CREATE FUNCTION handover_race_rendezvous() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '{RENDEZVOUS_TIMEOUT_SECONDS} seconds';
BEGIN
    IF current_setting('application_name') NOT LIKE '{APPLICATION_NAME}%'
        OR current_setting('handover_race.arrived', true) = 'yes' THEN
        RETURN NULL;
    END IF;
    -- This transaction's first balance written: it holds that balance's row lock until it ends.
    PERFORM set_config('handover_race.arrived', 'yes', true);
    PERFORM nextval('handover_race_arrived');
    LOOP
        IF (SELECT last_value FROM handover_race_arrived) >= 2 THEN
            PERFORM nextval('handover_race_met');  -- the other holds a balance too: both go on
            RETURN NULL;
        END IF;
        IF EXISTS (
            SELECT FROM pg_stat_activity
            WHERE application_name LIKE '{APPLICATION_NAME}%' AND pg_backend_pid() = ANY(pg_blocking_pids(pid))
        ) THEN
            PERFORM nextval('handover_race_queued_behind');  -- the other waits for a lock this one holds
            RETURN NULL;
        END IF;
        IF clock_timestamp() > deadline THEN
            PERFORM nextval('handover_race_timed_out');
            RETURN NULL;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;
CREATE TRIGGER handover_race_rendezvous AFTER UPDATE ON inventory_inventorybalance
    FOR EACH ROW EXECUTE FUNCTION handover_race_rendezvous();
"""


@pytest.fixture
def rendezvous(transactional_db):
    """A trigger, in the test database only, that holds each hand-over at its first balance write until the other
    hand-over has written its first balance as well (or waits behind this one).

    That forces the interleaving that deadlocked: without locking every parcel's balances up front, each hand-over
    holds the balance of its first parcel's SKU and then wants the other's. The wait is bounded and ends on what the
    other transaction did, never on time passing, so it makes the race happen every run rather than hiding one.
    Returns a function counting why hand-overs left the rendezvous."""
    with connection.cursor() as cursor:
        cursor.execute(RENDEZVOUS_SQL)

    def exits() -> dict[str, int]:
        with connection.cursor() as cursor:
            counts = {}
            for name in ("arrived", *EXITS):
                cursor.execute(f"SELECT last_value, is_called FROM handover_race_{name}")
                last_value, is_called = cursor.fetchone()
                counts[name] = last_value if is_called else 0
            return counts

    yield exits
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER handover_race_rendezvous ON inventory_inventorybalance")
        cursor.execute("DROP FUNCTION handover_race_rendezvous()")
        for name in ("arrived", *EXITS):
            cursor.execute(f"DROP SEQUENCE handover_race_{name}")


def parcels_picked(world, skus: list[str]) -> list[Parcel]:
    """One allocated parcel per SKU (an order of one unit each), its unit picked on the floor into the cart."""
    receive(world, "CN1", world["a"], 10)
    receive(world, "CN1", world["b"], 10)
    orders = [imported(world, f"RACE-{index}", line_in("L1", sku, 1)) for index, sku in enumerate(skus, 1)]
    map_skus(world)
    orders_allocate()
    cart = BinFactory(warehouse=world["cn"], code="CART-1", kind=Bin.Kind.PACKING)
    parcels = [Parcel.objects.filter(lines__order=order).distinct().get() for order in orders]
    for parcel in parcels:
        reservation = Reservation.objects.get(reference=parcel.number)
        stock_pick(
            reference=parcel.number, product=reservation.product, from_bin=world["bins"]["CN1"], to_bin=cart, quantity=1
        )
    return parcels


def skus_of(manifest: Manifest) -> list[str]:
    """The SKUs of the manifest's parcels in the order the hand-over ships them (by shipment)."""
    return [
        Reservation.objects.get(reference=shipment.parcel.number).product.sku
        for shipment in manifest.shipments.select_related("parcel").order_by("pk")
    ]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_hand_overs_sharing_skus_in_opposite_orders_both_ship_without_deadlock(world, post, rendezvous):
    parcels = parcels_picked(world, ["CASE-A", "CABLE-B", "CABLE-B", "CASE-A"])
    shipments = [parcel_ship(parcel=parcel, account=post) for parcel in parcels]
    first = manifest_open(account=post, warehouse=world["cn"], pickup="morning van")
    second = manifest_open(account=post, warehouse=world["cn"], pickup="afternoon van")
    for manifest, taken in ((first, shipments[:2]), (second, shipments[2:])):
        for shipment in taken:
            manifest_scan(manifest=manifest, code=shipment.tracking_number)
    assert skus_of(first) == ["CASE-A", "CABLE-B"] and skus_of(second) == ["CABLE-B", "CASE-A"]

    start = threading.Barrier(2, timeout=JOIN_TIMEOUT_SECONDS)
    errors: dict[str, BaseException] = {}

    def hand_over(manifest: Manifest) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('application_name', %s, false)", [APPLICATION_NAME + manifest.number])
            start.wait()
            manifest_close(manifest=manifest)
        except BaseException as error:  # reported by the test thread, with its message (a deadlock, say)
            errors[manifest.number] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=hand_over, args=(manifest,)) for manifest in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a hand-over did not end"

    assert not errors, {number: f"{type(error).__name__}: {error}" for number, error in errors.items()}
    # Both hand-overs wrote stock while the other was under way: the second waited for the first one's up-front
    # locks before writing anything, and went on once the first had committed.
    assert rendezvous() == {"arrived": 2, "met": 1, "queued_behind": 1, "timed_out": 0}
    for manifest in (first, second):
        manifest.refresh_from_db()
        assert (manifest.status, manifest.parcel_count) == (Manifest.Status.HANDED_OVER, 2)
    assert set(Shipment.objects.filter(pk__in=[s.pk for s in shipments]).values_list("status", flat=True)) == {
        Shipment.Status.HANDED_OVER
    }
    assert set(Order.objects.filter(channel_order_id__startswith="RACE-").values_list("status", flat=True)) == {
        Order.Status.SHIPPED
    }
    cart = Bin.objects.get(warehouse=world["cn"], code="CART-1")
    for parcel in parcels:
        reservation = Reservation.objects.get(reference=parcel.number)
        shipped = StockMove.objects.filter(reference=parcel.number, reason=StockMove.Reason.SHIP)
        assert list(shipped.values_list("product_id", "from_bin_id", "quantity")) == [
            (reservation.product_id, cart.pk, 1)
        ], parcel.number
        assert (reservation.quantity_reserved, reservation.quantity_picked, reservation.quantity_shipped) == (0, 0, 1)
    for product in (world["a"], world["b"]):
        balance = InventoryBalance.objects.get(product=product, warehouse=world["cn"])
        assert (balance.on_hand, balance.sellable, balance.reserved) == (8, 8, 0), product.sku
        assert StockLevel.objects.get(product=product, bin=cart).on_hand == 0
