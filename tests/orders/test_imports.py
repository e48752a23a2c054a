"""orders_upsert: new orders, the store's later changes, holds for unmapped SKUs and after shipment, bad data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.imports import orders_upsert
from orders.inbound import AddressIn
from orders.models import Order, OrderEvent, OrderHold, OrderLine
from orders.services import order_shipment_record
from tests.inventory.factories import ProductFactory
from tests.orders.factories import T0, StoreFactory, line_in, order_in

pytestmark = pytest.mark.django_db
Status = Order.Status


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def product():
    return ProductFactory(sku="SKU-A")


def mapped(line, product, per_unit: int = 1):
    line.product_id = product.pk
    line.product_quantity = line.quantity * per_unit
    return line


def open_holds(order: Order) -> list[tuple[str, str]]:
    return sorted(order.holds.filter(released_at__isnull=True).values_list("code", "detail"))


def test_a_new_order_is_saved_with_its_lines_and_an_imported_event(store, product):
    result = orders_upsert(
        store_id=store.pk,
        orders=[order_in("A-1", lines=[mapped(line_in("L1", quantity=2), product)], buyer_name="Jane")],
    )
    assert result.counts() == {"created": 1, "updated": 0, "unchanged": 0, "stale": 0, "held": 0, "rejected": 0}
    order = Order.objects.get(store=store, channel_order_id="A-1")
    assert (order.status, order.buyer_name, order.ship_country, order.total) == (
        Status.AWAITING_SHIPMENT,
        "Jane",
        "US",
        Decimal("9.9900"),
    )
    line = order.lines.get()
    assert (line.channel_sku, line.quantity, line.product_id, line.product_quantity) == ("SKU-A", 2, product.pk, 2)
    assert list(order.events.values_list("kind", "from_status", "to_status")) == [("imported", "", "awaiting_shipment")]


def test_the_same_data_twice_changes_nothing(store, product):
    batch = [order_in("A-1", lines=[mapped(line_in(), product)]), order_in("A-2", lines=[line_in("X", "NOPE")])]
    orders_upsert(store_id=store.pk, orders=batch)
    before = (Order.objects.count(), OrderLine.objects.count(), OrderEvent.objects.count(), OrderHold.objects.count())
    result = orders_upsert(store_id=store.pk, orders=batch)
    assert result.counts()["unchanged"] == 2 and result.created == 0
    after = (Order.objects.count(), OrderLine.objects.count(), OrderEvent.objects.count(), OrderHold.objects.count())
    assert after == before


def test_the_same_order_twice_in_one_batch_keeps_the_latest(store):
    result = orders_upsert(
        store_id=store.pk,
        orders=[
            order_in("A-1", updated=T0 + timedelta(minutes=5), buyer_name="New"),
            order_in("A-1", updated=T0, buyer_name="Old"),
        ],
    )
    assert result.created == 1
    assert Order.objects.get().buyer_name == "New"


def test_an_unmapped_sku_holds_the_order_and_names_the_sku(store):
    result = orders_upsert(
        store_id=store.pk, orders=[order_in("A-1", lines=[line_in("L1", "RED-CASE"), line_in("L2", "BLUE-CASE")])]
    )
    assert result.held == 1
    order = Order.objects.get()
    assert open_holds(order) == [("unmapped_sku", "BLUE-CASE"), ("unmapped_sku", "RED-CASE")]
    assert order.events.filter(kind="held").count() == 2


def test_newer_changes_apply_to_an_order_not_shipped_and_older_data_is_ignored(store, product):
    orders_upsert(store_id=store.pk, orders=[order_in("A-1", lines=[mapped(line_in(quantity=1), product)])])
    changed = order_in(
        "A-1",
        updated=T0 + timedelta(hours=1),
        address=AddressIn(name="Jane Roe", address1="9 New Rd", city="Springfield", country="US"),
        lines=[mapped(line_in(quantity=3), product), line_in("L2", "SKU-B")],
    )
    result = orders_upsert(store_id=store.pk, orders=[changed])
    assert result.updated == 1
    order = Order.objects.get()
    assert order.ship_address1 == "9 New Rd"
    assert sorted(order.lines.values_list("channel_line_id", "quantity", "product_quantity")) == [
        ("L1", 3, 3),
        ("L2", 1, None),
    ]
    assert open_holds(order) == [("unmapped_sku", "SKU-B")]
    change = order.events.get(kind="changed")
    assert change.details["ship_address1"] == ["1 Main St", "9 New Rd"]
    assert change.details["lines"]["L1"] == ["SKU-A × 1", "SKU-A × 3"]

    stale = order_in("A-1", updated=T0 + timedelta(minutes=30), address=AddressIn(address1="Old", country="US"))
    assert orders_upsert(store_id=store.pk, orders=[stale]).stale == 1
    assert Order.objects.get().ship_address1 == "9 New Rd"


def test_a_line_dropped_by_the_store_goes_to_zero_and_its_hold_is_released(store):
    orders_upsert(store_id=store.pk, orders=[order_in("A-1", lines=[line_in("L1", "GONE"), line_in("L2", "ALSO")])])
    orders_upsert(
        store_id=store.pk, orders=[order_in("A-1", updated=T0 + timedelta(hours=1), lines=[line_in("L2", "ALSO")])]
    )
    order = Order.objects.get()
    assert order.lines.get(channel_line_id="L1").quantity == 0
    assert open_holds(order) == [("unmapped_sku", "ALSO")]
    assert order.holds.get(detail="GONE").released_at is not None


def test_a_cancellation_before_shipment_cancels(store, product):
    orders_upsert(store_id=store.pk, orders=[order_in("A-1", lines=[mapped(line_in(), product)])])
    orders_upsert(
        store_id=store.pk,
        orders=[order_in("A-1", status=Status.CANCELLED, channel_status="Canceled", updated=T0 + timedelta(hours=1))],
    )
    order = Order.objects.get()
    assert (order.status, order.channel_status) == (Status.CANCELLED, "Canceled")
    assert order.events.filter(kind="status", from_status="awaiting_shipment", to_status="cancelled").exists()


def test_a_cancellation_or_an_address_change_after_shipment_holds_the_order_for_a_person(store, product):
    orders_upsert(store_id=store.pk, orders=[order_in("A-1", lines=[mapped(line_in(), product)])])
    order = Order.objects.get()
    order_shipment_record(order=order, carrier="UPS", tracking_number="1Z999")
    orders_upsert(
        store_id=store.pk,
        orders=[
            order_in(
                "A-1",
                status=Status.CANCELLED,
                channel_status="Canceled",
                updated=T0 + timedelta(hours=2),
                address=AddressIn(
                    name="Jane Roe",
                    address1="Elsewhere 5",
                    city="Springfield",
                    state="IL",
                    postcode="62701",
                    country="US",
                ),
            )
        ],
    )
    order.refresh_from_db()
    assert order.status == Status.SHIPPED  # nothing moves back: the parcel is gone
    assert order.ship_address1 == "1 Main St"
    assert order.channel_status == "Canceled"
    assert open_holds(order) == [("cancelled_after_shipment", "Canceled"), ("changed_after_shipment", "ship_address1")]
    # Seen again, the same news holds nothing twice.
    orders_upsert(
        store_id=store.pk,
        orders=[order_in("A-1", status=Status.CANCELLED, channel_status="Canceled", updated=T0 + timedelta(hours=3))],
    )
    assert len(open_holds(order)) == 2


def test_a_buyers_request_to_cancel_holds_the_order_until_the_store_stops_saying_so(store, product):
    request = "eBay cancelState IN_PROGRESS BUYER_ASKED_CANCEL"
    result = orders_upsert(
        store_id=store.pk, orders=[order_in("A-1", lines=[mapped(line_in(), product)], cancel_requested=request)]
    )
    order = Order.objects.get()
    assert result.held == 1
    assert open_holds(order) == [("cancel_requested", request)]

    # The seller declined it in the store: the next read no longer says so, and the hold goes by itself.
    orders_upsert(
        store_id=store.pk,
        orders=[order_in("A-1", lines=[mapped(line_in(), product)], updated=T0 + timedelta(hours=1))],
    )
    assert open_holds(order) == []
    released = order.holds.get()
    assert (released.released_at is not None, released.released_by) == (True, None)
    assert order.events.filter(kind="released", details__code="cancel_requested").exists()


def test_a_request_to_cancel_that_ends_in_a_cancel_leaves_no_hold(store, product):
    orders_upsert(store_id=store.pk, orders=[order_in("A-1", lines=[mapped(line_in(), product)], cancel_requested="x")])
    orders_upsert(
        store_id=store.pk,
        orders=[
            order_in(
                "A-1",
                lines=[mapped(line_in(), product)],
                status=Status.CANCELLED,
                cancel_requested="x",
                updated=T0 + timedelta(hours=1),
            )
        ],
    )
    order = Order.objects.get()
    assert (order.status, open_holds(order)) == (Status.CANCELLED, [])


def test_a_request_to_cancel_released_by_a_person_does_not_hold_the_order_again(store, product, make_user):
    from orders.services import order_hold_release

    orders_upsert(store_id=store.pk, orders=[order_in("A-1", lines=[mapped(line_in(), product)], cancel_requested="x")])
    order = Order.objects.get()
    order_hold_release(hold=order.holds.get(), user=make_user())  # the seller ships anyway
    orders_upsert(
        store_id=store.pk,
        orders=[
            order_in(
                "A-1",
                lines=[mapped(line_in(), product)],
                cancel_requested="x",
                buyer_note="please hurry",
                updated=T0 + timedelta(hours=1),
            )
        ],
    )
    order.refresh_from_db()
    assert (order.buyer_note, open_holds(order)) == ("please hurry", [])


def test_a_request_to_cancel_after_shipment_holds_nothing(store, product):
    orders_upsert(store_id=store.pk, orders=[order_in("A-1", lines=[mapped(line_in(), product)])])
    order = Order.objects.get()
    order_shipment_record(order=order, carrier="UPS", tracking_number="1Z999")
    orders_upsert(
        store_id=store.pk,
        orders=[order_in("A-1", lines=[mapped(line_in(), product)], cancel_requested="x", updated=T0 + timedelta(1))],
    )
    assert open_holds(order) == []


def test_bad_orders_are_set_aside_with_the_field_and_the_others_are_saved(store):
    naive = order_in("BAD-TIME")
    naive.ordered_at = naive.ordered_at.replace(tzinfo=None)
    result = orders_upsert(
        store_id=store.pk,
        orders=[
            order_in("GOOD"),
            naive,
            order_in("BAD-QTY", lines=[line_in(quantity=-2)]),
            order_in("BAD-COUNTRY", address=AddressIn(country="USA")),
            order_in("NO-LINES", lines=[]),
            order_in("BAD-MONEY", total="lots"),
            order_in("TWICE", lines=[line_in("L1"), line_in("L1")]),
        ],
    )
    assert list(Order.objects.values_list("channel_order_id", flat=True)) == ["GOOD"]
    problems = {problem.channel_order_id: problem.field for problem in result.problems}
    assert problems == {
        "BAD-TIME": "ordered_at",
        "BAD-QTY": "lines[0].quantity",
        "BAD-COUNTRY": "address.country",
        "NO-LINES": "lines",
        "BAD-MONEY": "total",
        "TWICE": "lines[1].channel_line_id",
    }


def test_invisible_characters_from_a_store_are_replaced_not_refused(store):
    orders_upsert(
        store_id=store.pk,
        orders=[order_in("A-1", buyer_name="Ja\x00ne", raw={"note": "bad\x00byte", "nested": ["\x07"]})],
    )
    order = Order.objects.get()
    assert order.buyer_name == "Ja\ufffdne"
    assert order.raw == {"note": "bad\ufffdbyte", "nested": ["\ufffd"]}


def test_a_thousand_orders_take_a_fixed_number_of_queries(store, product):
    def batch(count, updated):
        return [
            order_in(f"A-{n}", updated=updated, lines=[mapped(line_in("L1", quantity=1), product), line_in("L2", "X")])
            for n in range(count)
        ]

    with CaptureQueriesContext(connection) as small:
        orders_upsert(store_id=store.pk, orders=batch(10, T0))
    with CaptureQueriesContext(connection) as large:
        orders_upsert(store_id=store.pk, orders=[*batch(10, T0), *batch(900, T0)][10:] + batch(10, T0))
    # Rows are written a thousand per query: 900 orders with 1,800 lines, 900 holds and 1,800 events cost two
    # more queries (lines and events) than 10 orders do, whatever the number of orders in the batch.
    assert len(large) <= len(small) + 2 * 2
    assert Order.objects.count() == 900
    with CaptureQueriesContext(connection) as updates:
        orders_upsert(store_id=store.pk, orders=batch(900, T0 + timedelta(hours=1)))
    assert len(updates) <= 12
