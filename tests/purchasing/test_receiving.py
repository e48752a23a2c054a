"""Receiving against purchase orders: partial receipts, QC rejects into quarantine, the over-receipt tolerance, the
refusals (each named by its field), and the floor's scans adding up into one receipt."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from core.errors import Conflict, ValidationFailed
from core.status import next_id, status_start, status_transition
from inventory.models import Bin, InventoryBalance, StockLevel, StockMove
from purchasing.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine, Receipt
from purchasing.orders import PO_STATUS
from purchasing.receiving import ReceiveLine, receipt_costs_add, receipt_create, receipt_scan
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory
from tests.purchasing.factories import SupplierFactory
from warehouse.models import FloorSettings

pytestmark = pytest.mark.django_db

Status = PurchaseOrder.Status


def purchase_order_make(
    *,
    warehouse,
    lines: Sequence[tuple],
    currency: str = "CNY",
    status: str = Status.SUBMITTED,
    supplier=None,
    user=None,
) -> PurchaseOrder:
    """A purchase order with ``lines`` of (product, quantity, unit cost), made as a draft and taken to ``status``
    (submitted or cancelled) through its status machine."""
    order_id = next_id(PurchaseOrder)
    order = PurchaseOrder.objects.create(
        pk=order_id,
        number=f"PO-{order_id:06d}",
        supplier=supplier or SupplierFactory(),
        warehouse=warehouse,
        status=Status.DRAFT,
        currency=currency,
    )
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(purchase_order=order, product=product, quantity=quantity, unit_cost=Decimal(cost))
            for product, quantity, cost in lines
        ]
    )
    status_start(machine=PO_STATUS, document=order, user=user)
    if status in (Status.SUBMITTED, Status.CANCELLED):
        order = status_transition(machine=PO_STATUS, document=order, to_status=Status.SUBMITTED, user=user)
    if status == Status.CANCELLED:
        order = status_transition(machine=PO_STATUS, document=order, to_status=Status.CANCELLED, user=user)
    return order


@pytest.fixture
def world():
    warehouse = WarehouseFactory(code="SZ")
    case = ProductFactory(sku="CASE-1", cost_price=None)
    cable = ProductFactory(sku="CABLE-2", cost_price=None)
    order = purchase_order_make(warehouse=warehouse, lines=[(case, 10, "5.00"), (cable, 4, "2.50")])
    return {"warehouse": warehouse, "case": case, "cable": cable, "order": order}


def order_lines(order: PurchaseOrder) -> dict[str, tuple[int, int]]:
    return {
        line.product.sku: (line.quantity_received, line.quantity_rejected)
        for line in order.lines.select_related("product")
    }


def levels(warehouse) -> dict[tuple[str, str], int]:
    return {
        (level.bin.code, level.product.sku): level.on_hand
        for level in StockLevel.objects.filter(bin__warehouse=warehouse, on_hand__gt=0).select_related("bin", "product")
    }


def steps(order: PurchaseOrder) -> list[tuple[str, str, str]]:
    return [
        (event.from_status, event.to_status, event.note)
        for event in PurchaseOrderEvent.objects.filter(purchase_order=order).order_by("id")
    ]


def refused(call, **kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        call(**kwargs)
    return caught.value


def fields_of(error) -> list[tuple[str | None, str]]:
    return [(detail.field, detail.code) for detail in error.errors]


# --- partial receipts, the status, the ledger ----------------------------------------------------------------------


def test_a_partial_receipt_then_the_rest_takes_the_order_to_received(world, make_user):
    order, case, cable, warehouse = world["order"], world["case"], world["cable"], world["warehouse"]
    clerk = make_user("Warehouse manager")
    first = receipt_create(purchase_order=order, lines=[ReceiveLine(case, 6)], user=clerk)

    order.refresh_from_db()
    assert order.status == Status.PARTIALLY_RECEIVED
    assert order.received_at is None
    assert order_lines(order) == {"CASE-1": (6, 0), "CABLE-2": (0, 0)}
    receiving = Bin.objects.get(warehouse=warehouse, code="RECEIVING")
    assert (receiving.kind, receiving.is_sellable) == (Bin.Kind.RECEIVING, False)
    assert levels(warehouse) == {("RECEIVING", "CASE-1"): 6}
    assert first.number == f"RCV-{first.pk:06d}"
    assert first.received_by == clerk
    (line,) = first.lines.all()
    assert (line.quantity_accepted, line.quantity_rejected, line.bin, line.unit_cost) == (
        6,
        0,
        receiving,
        Decimal("5.0000"),
    )
    move = StockMove.objects.get(reference=first.number)
    assert (move.reason, move.to_bin, move.quantity, move.note, move.user) == (
        StockMove.Reason.RECEIPT,
        receiving,
        6,
        order.number,
        clerk,
    )

    second = receipt_create(purchase_order=order, lines=[ReceiveLine(case, 4), ReceiveLine(cable, 4)], user=clerk)
    order.refresh_from_db()
    assert order.status == Status.RECEIVED
    assert order.received_at is not None
    assert order_lines(order) == {"CASE-1": (10, 0), "CABLE-2": (4, 0)}
    assert levels(warehouse) == {("RECEIVING", "CASE-1"): 10, ("RECEIVING", "CABLE-2"): 4}
    assert steps(order) == [
        ("", "draft", ""),
        ("draft", "submitted", ""),
        ("submitted", "partially_received", first.number),
        ("partially_received", "received", second.number),
    ]
    # A received order takes nothing more.
    with pytest.raises(Conflict) as closed:
        receipt_create(purchase_order=order, lines=[ReceiveLine(case, 1)])
    assert closed.value.code == "not_receivable"
    assert closed.value.message == (
        f"Purchase order {order.number} is received: goods are received only against a submitted or partially "
        "received order."
    )


def test_units_go_into_the_lines_bin_else_the_receipts_bin(world):
    order, case, cable, warehouse = world["order"], world["case"], world["cable"], world["warehouse"]
    pick_face = BinFactory(warehouse=warehouse, code="A-01-01-01", kind=Bin.Kind.PICK)
    bulk = BinFactory(warehouse=warehouse, code="B-01-01-01", kind=Bin.Kind.BULK)
    receipt = receipt_create(
        purchase_order=order, lines=[ReceiveLine(case, 3, bin=pick_face), ReceiveLine(cable, 2)], bin=bulk
    )
    assert levels(warehouse) == {("A-01-01-01", "CASE-1"): 3, ("B-01-01-01", "CABLE-2"): 2}
    assert [line.bin for line in receipt.lines.order_by("id")] == [pick_face, bulk]
    assert not Bin.objects.filter(warehouse=warehouse, code="RECEIVING").exists()
    # Both bins are sellable: the units can be sold at once.
    assert InventoryBalance.objects.get(product=case, warehouse=warehouse).sellable == 3


def test_one_product_on_two_lines_into_two_bins_adds_up_on_the_order_line(world):
    order, case, warehouse = world["order"], world["case"], world["warehouse"]
    pick_face = BinFactory(warehouse=warehouse, code="A-01-01-01")
    receipt_create(purchase_order=order, lines=[ReceiveLine(case, 4, bin=pick_face), ReceiveLine(case, 6)])
    assert order_lines(order)["CASE-1"] == (10, 0)
    assert levels(warehouse) == {("A-01-01-01", "CASE-1"): 4, ("RECEIVING", "CASE-1"): 6}


# --- QC rejects -----------------------------------------------------------------------------------------------------


def test_rejected_units_go_into_quarantine_with_their_reason_and_are_not_received(world):
    order, case, warehouse = world["order"], world["case"], world["warehouse"]
    receipt = receipt_create(purchase_order=order, lines=[ReceiveLine(case, 7, rejected=3, reason="  cracked case  ")])
    quarantine = Bin.objects.get(warehouse=warehouse, code="QUARANTINE")
    assert (quarantine.kind, quarantine.is_sellable) == (Bin.Kind.QUARANTINE, False)
    assert levels(warehouse) == {("RECEIVING", "CASE-1"): 7, ("QUARANTINE", "CASE-1"): 3}
    rejected_move = StockMove.objects.get(reference=receipt.number, to_bin=quarantine)
    assert (rejected_move.reason, rejected_move.quantity, rejected_move.note) == (
        StockMove.Reason.RECEIPT,
        3,
        "cracked case",
    )
    (line,) = receipt.lines.all()
    assert (line.quantity_accepted, line.quantity_rejected, line.reject_reason) == (7, 3, "cracked case")
    order.refresh_from_db()
    assert order_lines(order)["CASE-1"] == (7, 3)
    assert order.lines.get(product=case).quantity_open == 3  # rejected units are still to come
    assert order.status == Status.PARTIALLY_RECEIVED
    balance = InventoryBalance.objects.get(product=case, warehouse=warehouse)
    assert (balance.on_hand, balance.sellable) == (10, 0)  # counted, not for sale


def test_a_reject_needs_a_reason_and_nothing_is_saved(world):
    order, case = world["order"], world["case"]
    error = refused(receipt_create, purchase_order=order, lines=[ReceiveLine(case, 2, rejected=1, reason="  ")])
    assert fields_of(error) == [("lines[0].reason", "reason_required")]
    assert error.errors[0].message == "Say why CASE-1 was rejected (damaged, wrong item...)."
    assert (
        error.message == "Nothing was received: lines[0].reason: Say why CASE-1 was rejected (damaged, wrong item...)."
    )
    assert not Receipt.objects.exists()
    assert not StockMove.objects.exists()
    order.refresh_from_db()
    assert order.status == Status.SUBMITTED


def test_an_all_rejected_delivery_is_kept_and_moves_the_order_on(world):
    order, cable = world["order"], world["cable"]
    receipt = receipt_create(purchase_order=order, lines=[ReceiveLine(cable, 0, rejected=4, reason="wrong plug")])
    (line,) = receipt.lines.all()
    assert (line.quantity_accepted, line.bin, line.cost_before, line.cost_after) == (0, None, None, None)
    order.refresh_from_db()
    assert order.status == Status.PARTIALLY_RECEIVED
    assert order_lines(order)["CABLE-2"] == (0, 4)


# --- the over-receipt tolerance --------------------------------------------------------------------------------------


def test_without_floor_settings_nothing_over_the_order_is_taken_and_the_line_is_named(world):
    order, case, cable = world["order"], world["case"], world["cable"]
    error = refused(
        receipt_create,
        purchase_order=order,
        lines=[ReceiveLine(cable, 4), ReceiveLine(case, 6), ReceiveLine(case, 5)],
    )
    assert fields_of(error) == [("lines[2].accepted", "over_receipt")]
    assert error.errors[0].message == (
        f"CASE-1: accepting 11 is more than purchase order {order.number} allows: ordered 10, received 0, at most 10 "
        "more may come (over-receipt tolerance 0%)."
    )
    assert not StockMove.objects.exists()


def test_the_warehouse_tolerance_lets_a_little_more_in_and_refuses_beyond_it(world):
    order, case, warehouse = world["order"], world["case"], world["warehouse"]
    FloorSettings.objects.create(warehouse=warehouse, over_receipt_percent=15)  # 10 × 1.15 = 11.5: 11 may come
    receipt_create(purchase_order=order, lines=[ReceiveLine(case, 9)])
    error = refused(receipt_create, purchase_order=order, lines=[ReceiveLine(case, 3)])
    assert fields_of(error) == [("lines[0].accepted", "over_receipt")]
    assert error.errors[0].message == (
        f"CASE-1: accepting 3 is more than purchase order {order.number} allows: ordered 10, received 9, at most 2 "
        "more may come (over-receipt tolerance 15%)."
    )
    receipt_create(purchase_order=order, lines=[ReceiveLine(case, 2, rejected=5, reason="scratched")])
    assert order_lines(order)["CASE-1"] == (11, 5)  # rejects do not count against the tolerance
    order.refresh_from_db()
    assert order.status == Status.PARTIALLY_RECEIVED  # the cable has not come


# --- refusals, every problem named ----------------------------------------------------------------------------------


def test_every_problem_of_a_receipt_is_named_at_once(world):
    order, case, warehouse = world["order"], world["case"], world["warehouse"]
    stranger = ProductFactory(sku="NOT-ORDERED")
    elsewhere = BinFactory(warehouse=WarehouseFactory(code="LA"), code="A-09-09-09")
    error = refused(
        receipt_create,
        purchase_order=order,
        lines=[
            ReceiveLine(stranger, 1),
            ReceiveLine(case, 0),
            ReceiveLine(case, -1, rejected=1),
            ReceiveLine(case, 1, bin=elsewhere),
        ],
        bin=elsewhere,
        freight=Decimal("-1"),
        duties=Decimal("0.001"),
        spread_by="volume",
    )
    assert fields_of(error) == [
        ("freight", "min_value"),
        ("duties", "max_decimal_places"),
        ("spread_by", "invalid"),
        ("bin", "warehouse"),
        ("lines[0].product", "not_on_order"),
        ("lines[1].accepted", "empty"),
        ("lines[2].accepted", "min_value"),
        ("lines[2].reason", "reason_required"),
        ("lines[3].bin", "warehouse"),
    ]
    assert error.errors[4].message == f"NOT-ORDERED is not on purchase order {order.number}."
    assert error.errors[3].message == (
        f"Bin A-09-09-09 is not in warehouse SZ, where purchase order {order.number} is delivered."
    )
    assert not Receipt.objects.exists()
    assert not Bin.objects.filter(warehouse=warehouse).exists()


@pytest.mark.parametrize("status", [Status.DRAFT, Status.CANCELLED])
def test_a_draft_or_cancelled_order_receives_nothing(status):
    warehouse = WarehouseFactory(code="SZ")
    case = ProductFactory(sku="CASE-1")
    order = purchase_order_make(warehouse=warehouse, lines=[(case, 10, "5.00")], status=status)
    with pytest.raises(Conflict) as caught:
        receipt_create(purchase_order=order, lines=[ReceiveLine(case, 1)])
    label = {"draft": "draft", "cancelled": "cancelled"}[status]
    assert caught.value.code == "not_receivable"
    assert caught.value.context == {"number": order.number, "status": status}
    assert caught.value.message == (
        f"Purchase order {order.number} is {label}: goods are received only against a submitted or partially "
        "received order."
    )
    with pytest.raises(Conflict):
        receipt_scan(purchase_order=order, product=case)
    assert not Receipt.objects.exists()


# --- scans from the floor ---------------------------------------------------------------------------------------------


def test_scans_add_up_into_one_receipt_per_person_and_day(world, make_user):
    order, case, cable, warehouse = world["order"], world["case"], world["cable"], world["warehouse"]
    clerk = make_user("Warehouse manager")
    receipts = {receipt_scan(purchase_order=order, product=case, user=clerk) for _ in range(3)}
    receipts.add(receipt_scan(purchase_order=order, product=case, quantity=2, user=clerk))
    receipts.add(receipt_scan(purchase_order=order, product=case, accept=False, reason="dented", user=clerk))
    receipts.add(receipt_scan(purchase_order=order, product=case, accept=False, reason="dented", user=clerk))
    receipts.add(receipt_scan(purchase_order=order, product=case, accept=False, reason="wrong colour", user=clerk))
    receipts.add(receipt_scan(purchase_order=order, product=cable, quantity=4, user=clerk))
    assert len(receipts) == 1
    (receipt,) = receipts
    assert (receipt.freight, receipt.duties, receipt.received_by) == (0, 0, clerk)
    assert [
        (
            line.product.sku,
            line.quantity_accepted,
            line.quantity_rejected,
            line.reject_reason,
            line.bin and line.bin.code,
        )
        for line in receipt.lines.select_related("product", "bin").order_by("id")
    ] == [
        ("CASE-1", 5, 0, "", "RECEIVING"),
        ("CASE-1", 0, 2, "dented", None),
        ("CASE-1", 0, 1, "wrong colour", None),
        ("CABLE-2", 4, 0, "", "RECEIVING"),
    ]
    assert order_lines(order) == {"CASE-1": (5, 3), "CABLE-2": (4, 0)}
    assert levels(warehouse) == {("RECEIVING", "CASE-1"): 5, ("QUARANTINE", "CASE-1"): 3, ("RECEIVING", "CABLE-2"): 4}
    assert StockMove.objects.filter(reference=receipt.number).count() == 8  # one ledger row per scan

    # Someone else's scans make their own receipt; so do scans after costs were spread over this one.
    other = receipt_scan(purchase_order=order, product=case, user=make_user("Warehouse manager"))
    assert other.pk != receipt.pk
    receipt_costs_add(receipt=receipt, freight=Decimal("10.00"))
    after_costs = receipt_scan(purchase_order=order, product=case, user=clerk)
    assert after_costs.pk not in (receipt.pk, other.pk)
    order.refresh_from_db()
    assert order.status == Status.PARTIALLY_RECEIVED
    assert order_lines(order) == {"CASE-1": (7, 3), "CABLE-2": (4, 0)}


def test_a_scan_is_refused_naming_what_is_wrong(world):
    order, case, warehouse = world["order"], world["case"], world["warehouse"]
    stranger = ProductFactory(sku="NOT-ORDERED")
    not_on_order = refused(receipt_scan, purchase_order=order, product=stranger)
    assert (fields_of(not_on_order), not_on_order.code) == ([("product", "not_on_order")], "not_on_order")
    no_reason = refused(receipt_scan, purchase_order=order, product=case, accept=False)
    assert fields_of(no_reason) == [("reason", "reason_required")]
    assert fields_of(refused(receipt_scan, purchase_order=order, product=case, quantity=0)) == [
        ("quantity", "min_value")
    ]
    receipt_scan(purchase_order=order, product=case, quantity=10)
    over = refused(receipt_scan, purchase_order=order, product=case)
    assert (fields_of(over), over.code) == ([("quantity", "over_receipt")], "over_receipt")
    assert over.message == (
        f"CASE-1: accepting 1 is more than purchase order {order.number} allows: ordered 10, received 10, at most 0 "
        "more may come (over-receipt tolerance 0%)."
    )
    assert levels(warehouse) == {("RECEIVING", "CASE-1"): 10}
