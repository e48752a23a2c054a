"""Allocation and the order life cycle against real stock: routing, split and backorder, holds, merge, split,
cancel at each stage, the store's news, a run repeated and two runs at once."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.utils import translation

from core.errors import Conflict, ValidationFailed
from core.phrases import phrase_text
from inventory.models import Bin, InventoryBalance, Reservation
from inventory.stock_services import stock_pick, stock_receive
from orders.allocation import rule_save
from orders.fulfilment import (
    SplitLineIn,
    merge_suggestions,
    order_cancel,
    order_hold,
    order_packed,
    order_parcels_undo,
    order_picking_start,
    order_release,
    order_set_by_hand,
    order_split,
    orders_allocate,
    orders_merge,
)
from orders.imports import orders_upsert
from orders.inbound import AddressIn
from orders.models import Blacklist, Order, OrderEvent, OrderHold, Parcel
from orders.services import blacklist_save, order_lines_map, order_shipment_record
from tests.inventory.factories import BinFactory, BundleComponentFactory, ProductFactory, WarehouseFactory
from tests.logistics.test_quotes import method_with_card
from tests.orders.factories import T0, StoreFactory, line_in, order_in
from warehouse.models import PutBackTask

pytestmark = pytest.mark.django_db
Status = Order.Status
DE = AddressIn(name="Max Muster", address1="Hauptstr. 1", city="Berlin", postcode="10115", country="DE")


@pytest.fixture
def world():
    return world_make()


def world_make():
    """Two warehouses (Shenzhen first by priority, Los Angeles overseas), two products, a method that serves the
    US and Germany, and a store."""
    cn = WarehouseFactory(code="CN1", country="CN", priority=10)
    us = WarehouseFactory(code="US1", country="US", priority=50)
    bins = {cn.code: BinFactory(warehouse=cn), us.code: BinFactory(warehouse=us)}
    a = ProductFactory(sku="CASE-A", weight_g=200)
    b = ProductFactory(sku="CABLE-B", weight_g=100)
    method, card = method_with_card("YT-STD")
    de = card.zones.create(code="DE", countries=["DE"])
    de.brackets.create(max_weight_g=30000, pricing="per_kg", price_per_kg=Decimal("70"))
    store = StoreFactory()
    return {"cn": cn, "us": us, "bins": bins, "a": a, "b": b, "method": method, "store": store}


def receive(world, code: str, product, quantity: int):
    stock_receive(product=product, bin=world["bins"][code], quantity=quantity, reference="PO-1")


def imported(world, order_id: str, *lines, store=None, **kwargs) -> Order:
    store = store or world["store"]
    lines = lines or (line_in("L1", "CASE-A", 1),)
    result = orders_upsert(store_id=store.pk, orders=[order_in(order_id, lines=list(lines), **kwargs)])
    assert not result.problems, result.problems
    return Order.objects.get(store=store, channel_order_id=order_id)


def map_skus(world, store=None):
    store = store or world["store"]
    for product in (world["a"], world["b"]):
        order_lines_map(store_id=store.pk, channel_sku=product.sku, product_id=product.pk)


def reserved(product, warehouse) -> int:
    balance = InventoryBalance.objects.filter(product=product, warehouse=warehouse).first()
    return balance.reserved if balance else 0


def fresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def test_an_imported_order_flows_to_allocated_with_the_reason_on_record(world):
    receive(world, "CN1", world["a"], 5)
    order = imported(world, "A-1", line_in("L1", "CASE-A", 2), address=DE)
    assert order.status == Status.AWAITING_SHIPMENT
    map_skus(world)
    assert fresh(order).status == Status.AWAITING_SHIPMENT  # the mapping released its hold

    result = orders_allocate()

    order = fresh(order)
    assert result.allocated == 1 and order.status == Status.ALLOCATED
    assert order.warehouse.code == "CN1" and order.shipping_method.code == "YT-STD"
    [parcel] = Parcel.objects.filter(lines__order=order).distinct()
    assert parcel.warehouse.code == "CN1" and parcel.reserved_at is not None
    reservation = Reservation.objects.get(reference=parcel.number)
    assert (reservation.product, reservation.quantity_reserved) == (world["a"], 2)
    assert reserved(world["a"], world["cn"]) == 2
    assert order.decision["parcels"] == [parcel.number]
    routing = [phrase_text(step) for step in order.decision["routing"]]
    assert "CN1 can fill it all." in routing
    assert any("the cheapest that can take it, YT-STD" in step for step in routing)
    [filled] = [step for step in order.decision["routing"] if step["message"] == "%(code)s can fill it all."]
    with translation.override("zh-hans"):  # saved as a message: read in the reader's language
        assert "CN1" in phrase_text(filled) and "can fill" not in phrase_text(filled)
    event = order.events.filter(to_status=Status.ALLOCATED).get()
    assert event.from_status == Status.AWAITING_SHIPMENT and event.details["parcels"] == [parcel.number]

    again = orders_allocate()  # safe to run twice: nothing more is reserved
    assert again.allocated == 0 and reserved(world["a"], world["cn"]) == 2
    assert Parcel.objects.count() == 1


def test_rules_choose_warehouse_and_method_and_the_trail_names_the_rule(world):
    receive(world, "US1", world["a"], 5)
    receive(world, "CN1", world["a"], 5)
    fast, _card = method_with_card("YT-FAST", transit_days_max=5)
    rule_save(
        data={
            "name": "Germany from Shenzhen, fast",
            "priority": 10,
            "conditions": [{"field": "country", "op": "in", "value": ["DE"]}],
            "actions": [
                {"type": "set_warehouse", "warehouse": "US1"},
                {"type": "set_method", "method": fast.code},
                {"type": "add_tag", "tag": "eu"},
            ],
        }
    )
    order = imported(world, "A-2", address=DE)
    map_skus(world)
    orders_allocate()
    order = fresh(order)
    assert (order.status, order.warehouse.code, order.shipping_method.code) == (Status.ALLOCATED, "US1", "YT-FAST")
    assert order.tags == ["eu"]
    assert [step["name"] for step in order.decision["rules"]] == ["Germany from Shenzhen, fast"] * 3
    assert reserved(world["a"], world["us"]) == 1 and reserved(world["a"], world["cn"]) == 0


def test_routing_prefers_stock_in_the_destination_country_then_a_warehouse_that_fills_it_all(world):
    receive(world, "US1", world["a"], 5)
    receive(world, "CN1", world["a"], 5)
    receive(world, "CN1", world["b"], 5)
    to_us = imported(world, "US-1")  # US1 is overseas stock in the buyer's country, though CN1 comes first
    both = imported(world, "US-2", line_in("L1", "CASE-A", 1), line_in("L2", "CABLE-B", 1))  # only CN1 has B
    to_de = imported(world, "DE-1", address=DE)  # no warehouse in Germany: priority
    map_skus(world)
    orders_allocate()
    assert fresh(to_us).warehouse.code == "US1"
    assert fresh(both).warehouse.code == "CN1"
    assert fresh(to_de).warehouse.code == "CN1"
    assert any("US1" in phrase_text(step) for step in fresh(to_us).decision["routing"])


def test_split_across_warehouses_when_the_store_allows_it_else_wait_and_allocate_when_stock_comes(world):
    receive(world, "US1", world["a"], 1)
    receive(world, "CN1", world["b"], 1)
    waiting = imported(world, "W-1", line_in("L1", "CASE-A", 1), line_in("L2", "CABLE-B", 1))
    splitting_store = StoreFactory(split_orders=True)
    split = imported(world, "S-1", line_in("L1", "CASE-A", 1), line_in("L2", "CABLE-B", 1), store=splitting_store)
    map_skus(world)
    map_skus(world, splitting_store)
    # The split order is older in ship-by terms: it takes the stock first.
    Order.objects.filter(pk=split.pk).update(ship_by=T0)
    orders_allocate()

    split = fresh(split)
    assert split.status == Status.ALLOCATED
    parcels = list(Parcel.objects.filter(lines__order=split).distinct().order_by("pk"))
    assert sorted(parcel.warehouse.code for parcel in parcels) == ["CN1", "US1"]
    assert (
        sum(
            Reservation.objects.filter(reference__in=[p.number for p in parcels]).values_list(
                "quantity_reserved", flat=True
            )
        )
        == 2
    )
    waiting = fresh(waiting)
    assert waiting.status == Status.AWAITING_STOCK
    assert "waits for stock" in phrase_text(waiting.decision["routing"][-1])
    assert not Parcel.objects.filter(lines__order=waiting).exists()

    orders_allocate()  # still short: no new event each run
    assert waiting.events.filter(to_status=Status.AWAITING_STOCK).count() == 1

    receive(world, "CN1", world["a"], 1)
    receive(world, "CN1", world["b"], 1)
    orders_allocate()
    waiting = fresh(waiting)
    assert waiting.status == Status.ALLOCATED and waiting.warehouse.code == "CN1"


def test_orders_awaiting_stock_are_served_by_ship_by_date_then_oldest(world):
    late = imported(world, "LATE", ordered_at=T0 - timedelta(days=2))
    urgent = imported(world, "URGENT", ordered_at=T0)
    old = imported(world, "OLD", ordered_at=T0 - timedelta(days=1))
    Order.objects.filter(pk=urgent.pk).update(ship_by=T0 + timedelta(days=1))
    map_skus(world)
    orders_allocate()
    assert {fresh(o).status for o in (late, urgent, old)} == {Status.AWAITING_STOCK}
    receive(world, "CN1", world["a"], 2)
    orders_allocate()
    assert fresh(urgent).status == Status.ALLOCATED
    assert fresh(late).status == Status.ALLOCATED  # oldest next
    assert fresh(old).status == Status.AWAITING_STOCK


def test_bundles_reserve_their_components(world):
    kit = ProductFactory(sku="KIT-1", is_bundle=True, weight_g=300)
    BundleComponentFactory(bundle=kit, component=world["a"], quantity=2)
    BundleComponentFactory(bundle=kit, component=world["b"], quantity=1)
    receive(world, "CN1", world["a"], 4)
    receive(world, "CN1", world["b"], 2)
    order = imported(world, "K-1", line_in("L1", "KIT-1", 2))
    order_lines_map(store_id=world["store"].pk, channel_sku="KIT-1", product_id=kit.pk)
    orders_allocate()
    assert fresh(order).status == Status.ALLOCATED
    assert (reserved(world["a"], world["cn"]), reserved(world["b"], world["cn"])) == (4, 2)


def test_holds_by_rule_address_blacklist_and_unmapped_sku_and_their_release(world):
    receive(world, "CN1", world["a"], 10)
    rule_save(
        data={
            "name": "Risky",
            "priority": 1,
            "match": "any",
            "conditions": [
                {"field": "order_total", "op": "gt", "value": "500"},
                {"field": "address_ok", "op": "is", "value": False},
                {"field": "blacklisted", "op": "is", "value": True},
                {"field": "country_mismatch", "op": "is", "value": True},
            ],
            "actions": [{"type": "hold", "reason": "Check the buyer"}],
        }
    )
    blacklist_save(data={"kind": Blacklist.Kind.EMAIL, "value": "bad@example.com", "reason": "chargebacks"})
    rich = imported(world, "R-1", total=Decimal("900"))
    no_street = imported(world, "R-2", address=AddressIn(name="X", city="Berlin", postcode="10115", country="DE"))
    listed = imported(world, "R-3", buyer_email="Bad@Example.com")
    abroad = imported(world, "R-4", raw={"billing_address": {"country_code": "NG"}})
    fine = imported(world, "R-5")
    unmapped = imported(world, "R-6", line_in("L1", "NOT-MAPPED", 1))
    map_skus(world)
    orders_allocate()
    for order in (rich, no_street, listed, abroad):
        order = fresh(order)
        assert order.status == Status.ON_HOLD, order.channel_order_id
        assert order.holds.get(released_at__isnull=True).detail == "Check the buyer"
    assert fresh(fine).status == Status.ALLOCATED
    assert fresh(unmapped).status == Status.ON_HOLD
    assert fresh(unmapped).holds.get().code == OrderHold.Code.UNMAPPED_SKU
    with pytest.raises(Conflict) as refused:
        order_release(order=unmapped)
    assert refused.value.code == "hold_needs_mapping"

    released = order_release(order=rich, note="Called the buyer")
    assert released.status == Status.ALLOCATED  # allocated at once, and the rule does not hold it again
    orders_allocate()
    assert fresh(rich).status == Status.ALLOCATED and reserved(world["a"], world["cn"]) == 2


def test_a_manual_hold_gives_the_stock_back_and_needs_a_reason(world):
    receive(world, "CN1", world["a"], 1)
    order = imported(world, "H-1")
    map_skus(world)
    orders_allocate()
    assert reserved(world["a"], world["cn"]) == 1
    with pytest.raises(ValidationFailed) as refused:
        order_hold(order=order, reason="  ")
    assert refused.value.errors[0].field == "reason"
    held = order_hold(order=order, reason="Buyer asked to change the colour")
    assert held.status == Status.ON_HOLD and reserved(world["a"], world["cn"]) == 0
    assert not Parcel.objects.exists()
    assert order_release(order=held).status == Status.ALLOCATED


def test_no_method_that_can_take_it_holds_the_order_until_one_is_set_by_hand(world):
    receive(world, "CN1", world["a"], 1)
    order = imported(
        world, "N-1", address=AddressIn(name="A", address1="1 Rd", city="Oslo", postcode="0150", country="NO")
    )
    map_skus(world)
    orders_allocate()
    order = fresh(order)
    assert order.status == Status.ON_HOLD
    assert order.holds.get(released_at__isnull=True).code == OrderHold.Code.NO_METHOD
    order = order_set_by_hand(order=order, method=world["method"])
    assert order.status == Status.ALLOCATED and order.shipping_method == world["method"]
    moved = order_set_by_hand(order=order, warehouse=world["us"])  # US1 has none: it waits
    assert moved.status == Status.AWAITING_STOCK and reserved(world["a"], world["cn"]) == 0


def test_cancel_at_each_stage(world):
    receive(world, "CN1", world["a"], 10)
    orders = {name: imported(world, name) for name in ("NEW", "ALLOC", "PICK", "PACK", "SHIP")}
    map_skus(world)
    Order.objects.filter(pk=orders["NEW"].pk).update(ship_by=None)
    orders_allocate(order_ids=[orders[name].pk for name in ("ALLOC", "PICK", "PACK", "SHIP")])
    assert reserved(world["a"], world["cn"]) == 4

    assert order_cancel(order=orders["NEW"], reason="Buyer changed mind").status == Status.CANCELLED
    assert order_cancel(order=orders["ALLOC"]).status == Status.CANCELLED
    assert reserved(world["a"], world["cn"]) == 3

    tote = BinFactory(warehouse=world["cn"], kind=Bin.Kind.PACKING, code="P-00-00-01")
    for name in ("PICK", "PACK"):
        parcel = Parcel.objects.filter(lines__order=orders[name]).distinct().get()
        order_picking_start(order=orders[name])
        stock_pick(reference=parcel.number, product=world["a"], from_bin=world["bins"]["CN1"], to_bin=tote, quantity=1)
    order_packed(order=orders["PACK"])
    for name in ("PICK", "PACK"):
        assert order_cancel(order=orders[name], reason="Store cancelled").status == Status.CANCELLED
        parcel = Parcel.objects.filter(lines__order=orders[name]).distinct().get()
        task = PutBackTask.objects.get(reference=parcel.number)
        assert (task.product, task.quantity, task.from_bin, task.status) == (world["a"], 1, tote, "open")
    assert reserved(world["a"], world["cn"]) == 1

    order_shipment_record(order=orders["SHIP"], carrier="YunExpress", tracking_number="YT1")
    assert reserved(world["a"], world["cn"]) == 0  # shipped outside the floor's steps: the reservation goes
    with pytest.raises(Conflict) as refused:
        order_cancel(order=orders["SHIP"])
    assert refused.value.code == "invalid_transition"


def test_merge_keeps_each_stores_order_and_tracking_and_can_be_undone(world):
    receive(world, "CN1", world["a"], 5)
    other_store = StoreFactory()
    first = imported(world, "M-1", buyer_email="jane@example.com")
    second = imported(world, "M-2", buyer_email="JANE@example.com ", store=other_store)
    stranger = imported(world, "M-3", buyer_email="joe@example.com")
    map_skus(world)
    map_skus(world, other_store)
    orders_allocate()
    assert [sorted(o.channel_order_id for o in group) for group in merge_suggestions()] == [["M-1", "M-2"]]

    with pytest.raises(ValidationFailed):
        orders_merge(orders=[first, stranger])
    parcel = orders_merge(orders=[first, second])
    assert parcel.reserved_at is not None
    assert set(parcel.lines.values_list("order__channel_order_id", flat=True)) == {"M-1", "M-2"}
    assert Reservation.objects.get(reference=parcel.number).quantity_reserved == 2
    assert reserved(world["a"], world["cn"]) == 3  # the two old parcels' reservations went
    assert {fresh(first).status, fresh(second).status} == {Status.ALLOCATED}
    assert first.events.filter(kind=OrderEvent.Kind.MERGED).exists()

    undone = order_parcels_undo(order=first)
    assert undone.status == Status.ALLOCATED
    assert Parcel.objects.filter(lines__order__in=[first, second]).distinct().count() == 2
    assert reserved(world["a"], world["cn"]) == 3

    parcel = orders_merge(orders=[first, second])
    for order in (first, second):  # one parcel, one tracking number, told to each store for its own order
        order_shipment_record(order=fresh(order), carrier="YunExpress", tracking_number="YT900")
    assert sorted(fresh(o).shipments.get().order.store_id for o in (first, second)) == sorted(
        [world["store"].pk, other_store.pk]
    )
    with pytest.raises(Conflict):
        order_parcels_undo(order=first)


def test_split_by_quantities_makes_parcels_each_allocated_and_refuses_bad_splits(world):
    receive(world, "CN1", world["a"], 5)
    receive(world, "CN1", world["b"], 5)
    order = imported(world, "SP-1", line_in("L1", "CASE-A", 3), line_in("L2", "CABLE-B", 1))
    map_skus(world)
    orders_allocate()
    lines = {line.channel_line_id: line for line in order.lines.all()}
    with pytest.raises(ValidationFailed) as refused:
        order_split(order=order, parcels=[[SplitLineIn(line_id=999999, quantity=1)]])
    assert refused.value.errors[0].field == "parcels[0][0].line"
    with pytest.raises(ValidationFailed) as refused:
        order_split(order=order, parcels=[[SplitLineIn(line_id=lines["L1"].pk, quantity=4)]])
    assert refused.value.errors[0].field == "parcels[0][0].quantity"

    parcels = order_split(order=order, parcels=[[SplitLineIn(line_id=lines["L1"].pk, quantity=2)]])
    assert len(parcels) == 2 and all(parcel.reserved_at for parcel in parcels)
    first = {row.line.channel_line_id: row.quantity for row in parcels[0].lines.all()}
    rest = {row.line.channel_line_id: row.quantity for row in parcels[1].lines.all()}
    assert (first, rest) == ({"L1": 2}, {"L1": 1, "L2": 1})
    assert (reserved(world["a"], world["cn"]), reserved(world["b"], world["cn"])) == (3, 1)
    assert fresh(order).status == Status.ALLOCATED
    order_parcels_undo(order=order)
    assert Parcel.objects.filter(lines__order=order).distinct().count() == 1
    assert (reserved(world["a"], world["cn"]), reserved(world["b"], world["cn"])) == (3, 1)


def test_the_stores_news_reaches_an_allocated_order(world):
    receive(world, "CN1", world["a"], 5)
    moved = imported(world, "C-1")
    cancelled = imported(world, "C-2")
    map_skus(world)
    orders_allocate()
    assert reserved(world["a"], world["cn"]) == 2
    later = T0 + timedelta(hours=1)
    orders_upsert(
        store_id=world["store"].pk,
        orders=[
            order_in("C-1", lines=[line_in("L1", "CASE-A", 1)], address=DE, updated=later),
            order_in("C-2", lines=[line_in("L1", "CASE-A", 1)], status=Status.CANCELLED, updated=later),
        ],
    )
    assert fresh(moved).status == Status.AWAITING_SHIPMENT  # a new address: allocated afresh
    assert fresh(cancelled).status == Status.CANCELLED
    assert reserved(world["a"], world["cn"]) == 0
    # The store still says "awaiting shipment" of an allocated order: that is no news.
    orders_allocate()
    orders_upsert(
        store_id=world["store"].pk,
        orders=[
            order_in(
                "C-1",
                lines=[line_in("L1", "CASE-A", 1)],
                address=DE,
                updated=later + timedelta(hours=1),
                channel_status="Unshipped again",
            )
        ],
    )
    assert fresh(moved).status == Status.ALLOCATED and reserved(world["a"], world["cn"]) == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_allocate_each_order_once(world):
    receive(world, "CN1", world["a"], 30)
    for number in range(40):
        imported(world, f"T-{number}")
    map_skus(world)
    errors = []

    def run():
        try:
            orders_allocate(batch_size=5)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    orders_allocate()  # what a run skipped while the other held it
    assert not errors
    statuses = list(Order.objects.values_list("status", flat=True))
    assert statuses.count(Status.ALLOCATED) == 30 and statuses.count(Status.AWAITING_STOCK) == 10
    assert reserved(world["a"], world["cn"]) == 30
    assert Reservation.objects.filter(quantity_reserved__gt=0).count() == 30
    assert OrderEvent.objects.filter(to_status=Status.ALLOCATED, kind="status").count() == 30


def test_merging_an_order_again_sends_the_order_left_behind_back_to_allocation(world):
    receive(world, "CN1", world["a"], 5)
    orders = [imported(world, f"MM-{n}", buyer_email="jane@example.com") for n in range(3)]
    map_skus(world)
    orders_allocate()
    orders_merge(orders=orders[:2])
    orders_merge(orders=[orders[0], orders[2]])
    left = fresh(orders[1])
    assert left.status == Status.ALLOCATED  # allocated afresh on its own, not stranded without a parcel
    assert Parcel.objects.filter(lines__order=left).distinct().get().reserved_at is not None
    assert reserved(world["a"], world["cn"]) == 3


def test_a_merge_rule_merges_the_buyers_orders_and_a_merged_parcel_waiting_for_stock_is_allocated_whole(world):
    rule_save(
        data={
            "name": "Merge a buyer's orders",
            "conditions": [{"field": "country", "op": "in", "value": ["US"]}],
            "actions": [{"type": "merge"}],
        }
    )
    first = imported(world, "RM-1", buyer_email="jane@example.com")
    second = imported(world, "RM-2", buyer_email="jane@example.com", ordered_at=T0 + timedelta(hours=1))
    other = imported(world, "RM-3", buyer_email="joe@example.com")
    map_skus(world)
    orders_allocate()  # no stock yet: merged, and the parcel waits for stock
    [parcel] = Parcel.objects.filter(made_by="merge")
    assert set(parcel.lines.values_list("order__channel_order_id", flat=True)) == {"RM-1", "RM-2"}
    assert {fresh(first).status, fresh(second).status, fresh(other).status} == {Status.AWAITING_STOCK}

    receive(world, "CN1", world["a"], 2)
    orders_allocate(batch_size=1)  # the two merged orders are taken together though batches hold one order
    assert {fresh(first).status, fresh(second).status} == {Status.ALLOCATED}
    parcel.refresh_from_db()
    assert parcel.reserved_at is not None
    assert Reservation.objects.get(reference=parcel.number).quantity_reserved == 2
    assert fresh(other).status == Status.AWAITING_STOCK
    assert any(step["name"] == "Merge a buyer's orders" for step in fresh(first).decision["rules"])


def test_the_periodic_run_looks_again_at_orders_awaiting_stock_only_when_stock_moved(world):
    receive(world, "CN1", world["b"], 1)
    waiting = imported(world, "AS-1")
    map_skus(world)
    orders_allocate()
    decided = fresh(waiting).decision["decided_at"]
    InventoryBalance.objects.update(updated_at=F("updated_at") - timedelta(hours=1))
    orders_allocate()
    assert fresh(waiting).decision["decided_at"] == decided  # nothing moved: not looked at again
    orders_allocate(order_ids=[waiting.pk])  # named: always looked at
    assert fresh(waiting).decision["decided_at"] != decided
    receive(world, "CN1", world["a"], 1)
    orders_allocate()
    assert fresh(waiting).status == Status.ALLOCATED
