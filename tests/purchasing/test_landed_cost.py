"""Landed cost: freight and duties spread over a receipt's lines by value or by weight to the cent, the products'
moving average cost (with stock in several warehouses and on the road), currencies, costs learnt later, and two
receipts of one product at once averaging one after the other."""

from __future__ import annotations

import re
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from core.errors import Conflict, ValidationFailed
from inventory.models import Bin, Product
from inventory.stock_services import stock_adjust, stock_receive
from inventory.transfer_services import transfer_create, transfer_ship
from purchasing.models import ReceiptLine
from purchasing.receiving import ReceiveLine, receipt_costs_add, receipt_create
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory
from tests.purchasing.test_receiving import purchase_order_make

pytestmark = pytest.mark.django_db

WAIT_TIMEOUT = 30


def costs_of(receipt) -> list[tuple]:
    return [
        (line.product.sku, line.freight_share, line.duty_share, line.landed_unit_cost)
        for line in receipt.lines.select_related("product").order_by("id")
    ]


def cost_ledger(receipt) -> list[tuple]:
    return [
        (line.product.sku, line.on_hand_before, line.cost_before, line.cost_after)
        for line in receipt.lines.select_related("product").order_by("id")
    ]


@pytest.fixture
def three_lines():
    """Three products on one order: 10 × 3.00 (100 g), 20 × 1.50 (250 g), 7 × 10.00 (500 g); worth 30, 30 and 70."""
    warehouse = WarehouseFactory(code="SZ")
    products = [
        ProductFactory(sku="CASE-1", weight_g=100, cost_price=None),
        ProductFactory(sku="CABLE-2", weight_g=250, cost_price=None),
        ProductFactory(sku="LAMP-3", weight_g=500, cost_price=None),
    ]
    order = purchase_order_make(
        warehouse=warehouse, lines=[(products[0], 10, "3.00"), (products[1], 20, "1.50"), (products[2], 7, "10.00")]
    )
    lines = [ReceiveLine(products[0], 10), ReceiveLine(products[1], 20), ReceiveLine(products[2], 7)]
    return {"warehouse": warehouse, "products": products, "order": order, "lines": lines}


def test_freight_and_duties_spread_by_value_add_up_to_the_cent(three_lines):
    receipt = receipt_create(
        purchase_order=three_lines["order"],
        lines=three_lines["lines"],
        freight=Decimal("100"),
        duties=Decimal("30"),
        spread_by="value",
    )
    # 100 × 30/130 = 23.07692… rounded down; the last line takes the rest, so the shares add up exactly.
    assert costs_of(receipt) == [
        ("CASE-1", Decimal("23.0769"), Decimal("6.9230"), Decimal("6.0000")),
        ("CABLE-2", Decimal("23.0769"), Decimal("6.9230"), Decimal("3.0000")),
        ("LAMP-3", Decimal("53.8462"), Decimal("16.1540"), Decimal("20.0000")),
    ]
    lines = list(receipt.lines.all())
    assert sum(line.freight_share for line in lines) == Decimal("100.0000")
    assert sum(line.duty_share for line in lines) == Decimal("30.0000")
    landed_value = sum(line.landed_unit_cost * line.quantity_accepted for line in lines)
    assert landed_value == Decimal("260.0000")  # 130 of goods + 100 + 30
    assert (receipt.freight, receipt.duties, receipt.spread_by) == (Decimal("100"), Decimal("30"), "value")
    # Nothing was owned and no product had a cost: each takes its landed cost, in the order's currency.
    assert cost_ledger(receipt) == [
        ("CASE-1", 0, None, Decimal("6.0000")),
        ("CABLE-2", 0, None, Decimal("3.0000")),
        ("LAMP-3", 0, None, Decimal("20.0000")),
    ]
    assert [(p.cost_price, p.cost_currency) for p in Product.objects.order_by("sku")] == [
        (Decimal("3.0000"), "CNY"),
        (Decimal("6.0000"), "CNY"),
        (Decimal("20.0000"), "CNY"),
    ]


def test_freight_and_duties_spread_by_weight_add_up_to_the_cent(three_lines):
    receipt = receipt_create(
        purchase_order=three_lines["order"],
        lines=three_lines["lines"],
        freight=Decimal("100.00"),
        duties=Decimal("30.00"),
        spread_by="weight",
    )
    # Weights 10 × 100 g, 20 × 250 g, 7 × 500 g: 1,000, 5,000 and 3,500 of 9,500 g.
    assert costs_of(receipt) == [
        ("CASE-1", Decimal("10.5263"), Decimal("3.1578"), Decimal("4.3684")),
        ("CABLE-2", Decimal("52.6315"), Decimal("15.7894"), Decimal("4.9210")),
        ("LAMP-3", Decimal("36.8422"), Decimal("11.0528"), Decimal("16.8421")),
    ]
    lines = list(receipt.lines.all())
    assert sum(line.freight_share for line in lines) == Decimal("100.0000")
    assert sum(line.duty_share for line in lines) == Decimal("30.0000")
    landed_value = sum(line.landed_unit_cost * line.quantity_accepted for line in lines)
    assert abs(landed_value - Decimal("260")) < Decimal("0.005")  # 259.9987: per-unit rounding, within a cent


def test_spreading_by_weight_refuses_a_product_without_weight(three_lines):
    cable = three_lines["products"][1]
    Product.objects.filter(pk=cable.pk).update(weight_g=None)
    cable.refresh_from_db()
    lines = [ReceiveLine(three_lines["products"][0], 10), ReceiveLine(cable, 20)]
    with pytest.raises(ValidationFailed) as caught:
        receipt_create(purchase_order=three_lines["order"], lines=lines, freight=Decimal("50"), spread_by="weight")
    assert [(detail.field, detail.code) for detail in caught.value.errors] == [("lines[1].product", "no_weight")]
    assert caught.value.errors[0].message == (
        "CABLE-2 has no weight, so costs cannot be spread by weight; enter its weight or spread by value."
    )
    # Without freight or duties there is nothing to spread: the weight is not needed.
    receipt = receipt_create(purchase_order=three_lines["order"], lines=lines, spread_by="weight")
    assert costs_of(receipt)[1] == ("CABLE-2", Decimal("0"), Decimal("0"), Decimal("1.5000"))


def test_free_goods_share_the_freight_by_units():
    warehouse = WarehouseFactory(code="SZ")
    sample, flyer = ProductFactory(sku="SAMPLE-1", cost_price=None), ProductFactory(sku="FLYER-1", cost_price=None)
    order = purchase_order_make(warehouse=warehouse, lines=[(sample, 1, "0"), (flyer, 3, "0")])
    receipt = receipt_create(
        purchase_order=order, lines=[ReceiveLine(sample, 1), ReceiveLine(flyer, 3)], freight=Decimal("10")
    )
    assert costs_of(receipt) == [
        ("SAMPLE-1", Decimal("2.5000"), Decimal("0"), Decimal("2.5000")),
        ("FLYER-1", Decimal("7.5000"), Decimal("0"), Decimal("2.5000")),
    ]


def test_freight_on_a_receipt_that_accepted_nothing_is_refused(three_lines):
    case = three_lines["products"][0]
    with pytest.raises(ValidationFailed) as caught:
        receipt_create(
            purchase_order=three_lines["order"],
            lines=[ReceiveLine(case, 0, rejected=2, reason="broken")],
            freight=Decimal("5"),
        )
    assert [(detail.field, detail.code) for detail in caught.value.errors] == [("freight", "nothing_accepted")]


# --- the moving average ------------------------------------------------------------------------------------------


def test_the_cost_averages_over_everything_owned_in_every_warehouse_and_on_the_road():
    shenzhen, ontario = WarehouseFactory(code="SZ"), WarehouseFactory(code="CA")
    lamp = ProductFactory(sku="LAMP-3", cost_price=Decimal("8.0000"))
    stock_receive(product=lamp, bin=BinFactory(warehouse=shenzhen, code="A-01-01-01"), quantity=40)
    stock_receive(product=lamp, bin=BinFactory(warehouse=ontario, code="A-01-01-01"), quantity=10)
    transfer = transfer_create(source=shenzhen, destination=ontario, lines=[(lamp, 10, None)])
    transfer_ship(transfer=transfer)  # 30 in Shenzhen, 10 in Ontario, 10 at sea: 50 owned at 8.00
    order = purchase_order_make(warehouse=shenzhen, lines=[(lamp, 20, "12.00")])

    first = receipt_create(purchase_order=order, lines=[ReceiveLine(lamp, 10)], freight=Decimal("20"))
    # Landed 12 + 20/10 = 14; (50 × 8 + 10 × 14) / 60 = 9.
    assert cost_ledger(first) == [("LAMP-3", 50, Decimal("8.0000"), Decimal("9.0000"))]
    lamp.refresh_from_db()
    assert (lamp.cost_price, lamp.cost_currency) == (Decimal("9.0000"), "CNY")

    second = receipt_create(purchase_order=order, lines=[ReceiveLine(lamp, 5, rejected=1, reason="cracked")])
    # (60 × 9 + 5 × 12) / 65 = 9.230769…: the rejected unit is not averaged in.
    assert cost_ledger(second) == [("LAMP-3", 60, Decimal("9.0000"), Decimal("9.2308"))]
    lamp.refresh_from_db()
    assert lamp.cost_price == Decimal("9.2308")


def test_two_lines_of_one_product_average_one_after_the_other():
    warehouse = WarehouseFactory(code="SZ")
    case = ProductFactory(sku="CASE-1", cost_price=Decimal("4.0000"))
    stock_receive(product=case, bin=BinFactory(warehouse=warehouse, code="A-01-01-01"), quantity=10)
    order = purchase_order_make(warehouse=warehouse, lines=[(case, 20, "7.00")])
    bulk = BinFactory(warehouse=warehouse, code="B-01-01-01", kind=Bin.Kind.BULK)
    receipt = receipt_create(purchase_order=order, lines=[ReceiveLine(case, 10), ReceiveLine(case, 10, bin=bulk)])
    # (10 × 4 + 10 × 7) / 20 = 5.5, then (20 × 5.5 + 10 × 7) / 30 = 6.
    assert cost_ledger(receipt) == [
        ("CASE-1", 10, Decimal("4.0000"), Decimal("5.5000")),
        ("CASE-1", 20, Decimal("5.5000"), Decimal("6.0000")),
    ]


def test_a_product_costed_in_another_currency_is_refused_unless_it_has_no_cost():
    warehouse = WarehouseFactory(code="SZ")
    priced = ProductFactory(sku="CASE-USD", cost_price=Decimal("1.2000"), cost_currency="USD")
    unpriced = ProductFactory(sku="CABLE-USD", cost_price=None, cost_currency="USD")
    order = purchase_order_make(warehouse=warehouse, lines=[(priced, 5, "8.00"), (unpriced, 5, "3.00")])
    with pytest.raises(Conflict) as caught:
        receipt_create(purchase_order=order, lines=[ReceiveLine(unpriced, 5), ReceiveLine(priced, 5)])
    assert caught.value.code == "currency_mismatch"
    assert [(detail.field, detail.code) for detail in caught.value.errors] == [
        ("lines[1].product", "currency_mismatch")
    ]
    assert caught.value.message == (
        f"CASE-USD: its cost is kept in USD but purchase order {order.number} is in CNY; there are no exchange rates. "
        "Change the product's cost currency (and cost) or the order's currency."
    )
    unpriced.refresh_from_db()
    assert (unpriced.cost_price, unpriced.cost_currency) == (None, "USD")  # nothing saved

    receipt_create(purchase_order=order, lines=[ReceiveLine(unpriced, 5)])
    unpriced.refresh_from_db()
    assert (unpriced.cost_price, unpriced.cost_currency) == (Decimal("3.0000"), "CNY")


# --- costs learnt later -------------------------------------------------------------------------------------------


def test_freight_added_later_raises_the_cost_of_the_units_still_owned():
    warehouse = WarehouseFactory(code="SZ")
    shelf = BinFactory(warehouse=warehouse, code="A-01-01-01")
    case = ProductFactory(sku="CASE-1", cost_price=Decimal("5.0000"))
    cable = ProductFactory(sku="CABLE-2", cost_price=None)
    stock_receive(product=case, bin=shelf, quantity=30)
    order = purchase_order_make(warehouse=warehouse, lines=[(case, 10, "5.00"), (cable, 10, "5.00")])
    receipt = receipt_create(purchase_order=order, lines=[ReceiveLine(case, 10, bin=shelf), ReceiveLine(cable, 10)])
    assert cost_ledger(receipt) == [
        ("CASE-1", 30, Decimal("5.0000"), Decimal("5.0000")),
        ("CABLE-2", 0, None, Decimal("5.0000")),
    ]
    receiving = receipt.lines.get(product=cable).bin
    stock_adjust(product=cable, bin=receiving, delta=-10, note="all sold before the invoice came")

    receipt = receipt_costs_add(receipt=receipt, freight=Decimal("40.00"), spread_by="value")
    # 20 freight per line, 2.00 a unit. CASE-1: its 10 units are among the 40 owned: 5 + 2 × 10 / 40 = 5.50.
    # CABLE-2: none left, so its cost stays; the line's landed cost still says what the units cost.
    assert costs_of(receipt) == [
        ("CASE-1", Decimal("20.0000"), Decimal("0"), Decimal("7.0000")),
        ("CABLE-2", Decimal("20.0000"), Decimal("0"), Decimal("7.0000")),
    ]
    assert cost_ledger(receipt) == [
        ("CASE-1", 30, Decimal("5.0000"), Decimal("5.5000")),
        ("CABLE-2", 0, None, Decimal("5.0000")),
    ]
    assert {p.sku: p.cost_price for p in Product.objects.all()} == {
        "CASE-1": Decimal("5.5000"),
        "CABLE-2": Decimal("5.0000"),
    }
    assert (receipt.freight, receipt.duties, receipt.spread_by) == (Decimal("40.00"), Decimal("0"), "value")

    # Freight is set once: a form sent twice does not charge twice.
    with pytest.raises(Conflict) as twice:
        receipt_costs_add(receipt=receipt, freight=Decimal("40.00"))
    assert twice.value.code == "costs_already_set"
    assert twice.value.message == (
        f"Receipt {receipt.number} already has its freight (40.00 CNY); it is set once per receipt, so a form sent "
        "twice cannot charge it twice."
    )
    # The duties come later, spread the same way; the other way is refused.
    with pytest.raises(Conflict) as other_way:
        receipt_costs_add(receipt=receipt, duties=Decimal("8.00"), spread_by="weight")
    assert other_way.value.code == "spread_by_differs"
    receipt = receipt_costs_add(receipt=receipt, duties=Decimal("8.00"), spread_by="value")
    # 4 duty per line, 0.40 a unit: CASE-1 5.50 + 0.40 × 10 / 40 = 5.60.
    assert costs_of(receipt) == [
        ("CASE-1", Decimal("20.0000"), Decimal("4.0000"), Decimal("7.4000")),
        ("CABLE-2", Decimal("20.0000"), Decimal("4.0000"), Decimal("7.4000")),
    ]
    assert cost_ledger(receipt)[0] == ("CASE-1", 30, Decimal("5.0000"), Decimal("5.6000"))
    assert (receipt.freight, receipt.duties) == (Decimal("40.00"), Decimal("8.00"))


def test_costs_added_later_count_only_the_units_of_the_receipt_still_owned():
    warehouse = WarehouseFactory(code="SZ")
    lamp = ProductFactory(sku="LAMP-3", cost_price=None)
    order = purchase_order_make(warehouse=warehouse, lines=[(lamp, 10, "10.00")])
    receipt = receipt_create(purchase_order=order, lines=[ReceiveLine(lamp, 10)])
    stock_adjust(product=lamp, bin=receipt.lines.get().bin, delta=-6, note="sold")
    receipt = receipt_costs_add(receipt=receipt, freight=Decimal("30"))
    # 3.00 a unit, 4 units left of 4 owned: 10 + 3 × 4 / 4 = 13.
    lamp.refresh_from_db()
    assert lamp.cost_price == Decimal("13.0000")


def test_costs_added_later_are_checked(three_lines):
    receipt = receipt_create(purchase_order=three_lines["order"], lines=three_lines["lines"][:1])
    for arguments, expected in [
        ({}, [("freight", "required")]),
        ({"freight": Decimal("-1")}, [("freight", "min_value")]),
        ({"freight": Decimal("1"), "spread_by": "size"}, [("spread_by", "invalid")]),
        ({"duties": Decimal("100000000")}, [("duties", "max_value")]),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            receipt_costs_add(receipt=receipt, **arguments)
        assert [(detail.field, detail.code) for detail in caught.value.errors] == expected
    assert ReceiptLine.objects.get().freight_share == 0


# --- two receipts of one product at once ------------------------------------------------------------------------


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _wait_until_blocked(pid: int) -> tuple[str, list[int]]:
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
    """A thread with its own database connection; records its backend pid and what it returned or raised."""

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
def test_two_receipts_of_one_product_at_once_average_one_after_the_other():
    warehouse = WarehouseFactory(code="SZ")
    shelf = BinFactory(warehouse=warehouse, code="A-01-01-01")
    lamp = ProductFactory(sku="LAMP-3", cost_price=Decimal("10.0000"))
    stock_receive(product=lamp, bin=shelf, quantity=100)
    cheap = purchase_order_make(warehouse=warehouse, lines=[(lamp, 100, "20.00")])
    dear = purchase_order_make(warehouse=warehouse, lines=[(lamp, 100, "40.00")])
    first_received = threading.Event()
    first_may_commit = threading.Event()

    def first():
        with transaction.atomic():
            receipt = receipt_create(purchase_order=cheap, lines=[ReceiveLine(lamp, 100, bin=shelf)])
            first_received.set()
            assert first_may_commit.wait(WAIT_TIMEOUT)
        return receipt

    def second():
        return receipt_create(purchase_order=dear, lines=[ReceiveLine(lamp, 100, bin=shelf)])

    holder = Worker(first)
    holder_pid = holder.started_pid()
    assert first_received.wait(WAIT_TIMEOUT), holder.error
    waiter = Worker(second)
    waiter_pid = waiter.started_pid()
    query, blocked_by = _wait_until_blocked(waiter_pid)
    # It waits at the product's row, before reading what is owned or what the product cost.
    assert "inventory_product" in query and re.search(r"FOR NO KEY UPDATE", query, re.IGNORECASE), query
    assert blocked_by == [holder_pid]
    first_may_commit.set()
    holder.join(WAIT_TIMEOUT)
    waiter.join(WAIT_TIMEOUT)
    assert (holder.error, waiter.error) == (None, None)

    # (100 × 10 + 100 × 20) / 200 = 15, then (200 × 15 + 100 × 40) / 300 = 23.3333: the second saw the first.
    assert cost_ledger(holder.result) == [("LAMP-3", 100, Decimal("10.0000"), Decimal("15.0000"))]
    assert cost_ledger(waiter.result) == [("LAMP-3", 200, Decimal("15.0000"), Decimal("23.3333"))]
    lamp.refresh_from_db()
    assert lamp.cost_price == Decimal("23.3333")
