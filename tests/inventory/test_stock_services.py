"""Stock services: every write keeps levels, balances and the ledger in step, and refuses what breaks a rule."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from core.errors import ValidationFailed
from core.limits import QUANTITY_MAX, STOCK_MAX
from inventory.errors import InsufficientStock, StockRuleBroken
from inventory.models import Bin, InventoryBalance, Reservation, StockLevel, StockMove
from inventory.stock_services import (
    PlannedMove,
    ReservePart,
    bin_sellable_set,
    moves_apply,
    stock_adjust,
    stock_move,
    stock_pick,
    stock_receive,
    stock_release,
    stock_reserve,
    stock_reserve_many,
    stock_return,
    stock_ship,
)
from tests.inventory.factories import BinFactory, BundleFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    warehouse = WarehouseFactory(code="SZ")
    return {
        "warehouse": warehouse,
        "pick": BinFactory(warehouse=warehouse, code="A-01-01-01", kind=Bin.Kind.PICK, is_sellable=True),
        "bulk": BinFactory(warehouse=warehouse, code="B-01-01-01", kind=Bin.Kind.BULK, is_sellable=True),
        "receiving": BinFactory(warehouse=warehouse, code="R-01-01-01", kind=Bin.Kind.RECEIVING, is_sellable=False),
        "packing": BinFactory(warehouse=warehouse, code="P-01-01-01", kind=Bin.Kind.PACKING, is_sellable=False),
        "product": ProductFactory(sku="CASE-1"),
    }


def level(product, bin_) -> int:
    row = StockLevel.objects.filter(product=product, bin=bin_).first()
    return row.on_hand if row else 0


def balance(product, warehouse) -> tuple[int, int, int]:
    row = InventoryBalance.objects.get(product=product, warehouse=warehouse)
    return row.on_hand, row.sellable, row.reserved


def test_receive_into_non_sellable_bin_then_put_away_makes_it_sellable(site):
    product, warehouse = site["product"], site["warehouse"]
    stock_receive(product=product, bin=site["receiving"], quantity=10, reference="PO-1")
    assert balance(product, warehouse) == (10, 0, 0)
    stock_move(product=product, from_bin=site["receiving"], to_bin=site["pick"], quantity=7, reason="put_away")
    assert (level(product, site["receiving"]), level(product, site["pick"])) == (3, 7)
    assert balance(product, warehouse) == (10, 7, 0)
    reasons = list(StockMove.objects.order_by("id").values_list("reason", "quantity", "reference"))
    assert reasons == [("receipt", 10, "PO-1"), ("put_away", 7, "")]


def test_move_more_than_the_bin_holds_names_the_bin_and_saves_nothing(site):
    product = site["product"]
    stock_receive(product=product, bin=site["pick"], quantity=2)
    with pytest.raises(InsufficientStock) as caught:
        stock_move(product=product, from_bin=site["pick"], to_bin=site["bulk"], quantity=3)
    assert caught.value.message == "Not enough CASE-1 in bin A-01-01-01: asked for 3, 2 available."
    assert level(product, site["pick"]) == 2
    assert StockMove.objects.count() == 1


def test_adjustment_needs_a_reason_and_cannot_go_negative(site):
    product = site["product"]
    stock_receive(product=product, bin=site["pick"], quantity=5)
    with pytest.raises(ValidationFailed) as caught:
        stock_adjust(product=product, bin=site["pick"], delta=-1, note=" ")
    assert caught.value.errors[0].field == "note"
    with pytest.raises(InsufficientStock):
        stock_adjust(product=product, bin=site["pick"], delta=-6, note="damaged")
    stock_adjust(product=product, bin=site["pick"], delta=-2, note="damaged")
    assert balance(product, site["warehouse"]) == (3, 3, 0)


def test_reserve_pick_ship_keeps_available_and_clears_the_reservation(site):
    product, warehouse = site["product"], site["warehouse"]
    stock_receive(product=product, bin=site["pick"], quantity=5)
    stock_reserve(warehouse=warehouse, lines=[(product, 3)], reference="order-line:1")
    assert balance(product, warehouse) == (5, 5, 3)
    stock_pick(reference="order-line:1", product=product, from_bin=site["pick"], to_bin=site["packing"], quantity=3)
    # Picked units sit in the packing bin: still on hand, no longer sellable, no longer counted as reserved.
    assert balance(product, warehouse) == (5, 2, 0)
    stock_ship(reference="order-line:1", product=product, from_bin=site["packing"], quantity=3)
    assert balance(product, warehouse) == (2, 2, 0)
    reservation = Reservation.objects.get(reference="order-line:1")
    assert (reservation.quantity_reserved, reservation.quantity_picked, reservation.quantity_shipped) == (0, 0, 3)


def test_reserve_all_or_nothing_names_every_short_sku(site):
    warehouse = site["warehouse"]
    cable = ProductFactory(sku="CABLE-1")
    stock_receive(product=site["product"], bin=site["pick"], quantity=1)
    stock_receive(product=cable, bin=site["pick"], quantity=10)
    with pytest.raises(InsufficientStock) as caught:
        stock_reserve(
            warehouse=warehouse,
            lines=[(cable, 4), (site["product"], 2), (ProductFactory(sku="NONE-1"), 1)],
            reference="o:1",
        )
    assert [s["sku"] for s in caught.value.context["shortages"]] == ["CASE-1", "NONE-1"]
    assert balance(cable, warehouse) == (10, 10, 0)
    assert not Reservation.objects.exists()


def test_release_gives_back_only_what_is_held(site):
    product, warehouse = site["product"], site["warehouse"]
    stock_receive(product=product, bin=site["pick"], quantity=5)
    stock_reserve(warehouse=warehouse, lines=[(product, 2), (product, 1)], reference="o:7")
    assert balance(product, warehouse)[2] == 3
    with pytest.raises(StockRuleBroken):
        stock_release(warehouse=warehouse, reference="o:7", lines=[(product, 4)])
    stock_release(warehouse=warehouse, reference="o:7", lines=[(product, 1)])
    assert balance(product, warehouse)[2] == 2
    stock_release(warehouse=warehouse, reference="o:7")
    assert balance(product, warehouse)[2] == 0


def test_moving_reserved_stock_out_of_sellable_bins_is_refused(site):
    product, warehouse = site["product"], site["warehouse"]
    stock_receive(product=product, bin=site["pick"], quantity=4)
    stock_reserve(warehouse=warehouse, lines=[(product, 3)], reference="o:1")
    with pytest.raises(StockRuleBroken) as caught:
        stock_move(product=product, from_bin=site["pick"], to_bin=site["receiving"], quantity=2)
    assert caught.value.code == "reserved_not_covered"
    stock_move(product=product, from_bin=site["pick"], to_bin=site["receiving"], quantity=1)
    assert balance(product, warehouse) == (4, 3, 3)
    with pytest.raises(StockRuleBroken):
        bin_sellable_set(bin=site["pick"], is_sellable=False)


def test_bin_sellable_flag_change_moves_its_stock_in_or_out_of_sellable(site):
    product, warehouse = site["product"], site["warehouse"]
    stock_receive(product=product, bin=site["bulk"], quantity=6)
    bin_sellable_set(bin=site["bulk"], is_sellable=False)
    assert balance(product, warehouse) == (6, 0, 0)
    bin_sellable_set(bin=site["bulk"], is_sellable=True)
    assert balance(product, warehouse) == (6, 6, 0)


def test_returns_and_bundles(site):
    product = site["product"]
    stock_return(product=product, bin=site["receiving"], quantity=1, reference="RMA-1")
    assert StockMove.objects.get().reason == "return"
    with pytest.raises(ValidationFailed):
        stock_receive(product=BundleFactory(), bin=site["pick"], quantity=1)


def test_ledger_rows_cannot_be_updated_or_deleted(site):
    move = stock_receive(product=site["product"], bin=site["pick"], quantity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMove.objects.filter(pk=move.pk).update(quantity=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMove.objects.filter(pk=move.pk).delete()
    assert StockMove.objects.get(pk=move.pk).quantity == 1


def test_database_refuses_oversell_even_without_the_services(site):
    product, warehouse = site["product"], site["warehouse"]
    stock_receive(product=product, bin=site["pick"], quantity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryBalance.objects.filter(product=product, warehouse=warehouse).update(reserved=2)


@pytest.mark.parametrize(
    ("quantity", "code"), [(2**31, "max_value"), (QUANTITY_MAX + 1, "max_value"), (0, "min_value"), (1.5, "invalid")]
)
def test_quantities_are_whole_numbers_within_the_line_limit(site, quantity, code):
    with pytest.raises(ValidationFailed) as caught:
        stock_receive(product=site["product"], bin=site["pick"], quantity=quantity)
    assert [(error.field, error.code) for error in caught.value.errors] == [("quantity", code)]
    assert not StockMove.objects.exists()


@pytest.mark.parametrize(("delta", "code"), [(-(2**31), "min_value"), (QUANTITY_MAX + 1, "max_value"), (0, "invalid")])
def test_adjustments_are_bounded_both_ways(site, delta, code):
    with pytest.raises(ValidationFailed) as caught:
        stock_adjust(product=site["product"], bin=site["pick"], delta=delta, note="x")
    assert [(error.field, error.code) for error in caught.value.errors] == [("delta", code)]


def test_a_bin_cannot_be_filled_past_the_stock_limit_and_later_receipts_say_why(site):
    product = site["product"]
    # A count of a huge variance is the one way in above the line limit; it stops at STOCK_MAX.
    with transaction.atomic():
        moves_apply(moves=[PlannedMove(product, STOCK_MAX, StockMove.Reason.COUNT, to_bin=site["pick"])])
    with pytest.raises(StockRuleBroken) as caught:
        stock_receive(product=product, bin=site["pick"], quantity=1)
    assert caught.value.code == "stock_limit"
    assert caught.value.message == (
        f"CASE-1: bin A-01-01-01 would hold {STOCK_MAX + 1:,} units, more than the {STOCK_MAX:,} a bin can hold "
        "of one product. Check the quantity."
    )
    with pytest.raises(StockRuleBroken) as caught:
        stock_receive(product=product, bin=site["bulk"], quantity=1)
    assert caught.value.code == "stock_limit"
    assert "warehouse" in caught.value.message
    stock_adjust(product=product, bin=site["pick"], delta=-QUANTITY_MAX, note="over-counted")
    stock_receive(product=product, bin=site["bulk"], quantity=QUANTITY_MAX)
    assert balance(product, site["warehouse"])[0] == STOCK_MAX


def test_reserve_many_takes_requests_in_order_each_all_or_nothing(site):
    other_warehouse = WarehouseFactory(code="LA", country="US")
    other_bin = BinFactory(warehouse=other_warehouse, code="A-01-01-01", kind=Bin.Kind.PICK, is_sellable=True)
    cable = ProductFactory(sku="CABLE-1")
    stock_receive(product=site["product"], bin=site["pick"], quantity=5)
    stock_receive(product=cable, bin=other_bin, quantity=1)
    outcome = stock_reserve_many(
        requests=[
            [ReservePart(site["warehouse"], "P-1", [(site["product"], 3)])],
            # split across warehouses: the second part is short, so neither part is reserved
            [
                ReservePart(site["warehouse"], "P-2", [(site["product"], 1)]),
                ReservePart(other_warehouse, "P-3", [(cable, 2)]),
            ],
            [ReservePart(site["warehouse"], "P-4", [(site["product"], 2), (site["product"], 1)])],
            [ReservePart(site["warehouse"], "P-5", [(site["product"], 2)])],
        ]
    )
    assert outcome[0] is None and outcome[3] is None
    assert outcome[1] == [{"sku": "CABLE-1", "requested": 2, "available": 1, "warehouse": "LA"}]
    assert outcome[2] == [{"sku": "CASE-1", "requested": 3, "available": 2, "warehouse": "SZ"}]
    reserved = dict(Reservation.objects.values_list("reference", "quantity_reserved"))
    assert reserved == {"P-1": 3, "P-5": 2}
    balance = InventoryBalance.objects.get(product=site["product"], warehouse=site["warehouse"])
    assert (balance.reserved, balance.sellable) == (5, 5)
    assert InventoryBalance.objects.get(product=cable).reserved == 0
    with pytest.raises(ValidationFailed):
        stock_reserve_many(requests=[[ReservePart(site["warehouse"], "", [(site["product"], 1)])]])
