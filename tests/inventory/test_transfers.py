"""Transfers between warehouses: stock leaves the source when shipped, is in transit, then lands in a bin."""

from __future__ import annotations

import pytest

from core.errors import Conflict, ValidationFailed
from core.status import status_transition
from inventory.errors import InsufficientStock, StockRuleBroken
from inventory.models import Bin, InventoryBalance, StockLevel, StockMove, Transfer, TransferEvent, TransferLine
from inventory.stock_services import stock_receive, stock_reserve
from inventory.transfer_services import (
    TRANSFER_STATUS,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
    transfers_in_transit,
)
from tests.inventory.factories import BinFactory, BundleFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    shenzhen = WarehouseFactory(code="SZ")
    los_angeles = WarehouseFactory(code="LA", country="US")
    return {
        "source": shenzhen,
        "destination": los_angeles,
        "pick": BinFactory(warehouse=shenzhen, code="A-01-01-01", kind=Bin.Kind.PICK, pick_sequence=1),
        "bulk": BinFactory(warehouse=shenzhen, code="B-01-01-01", kind=Bin.Kind.BULK, pick_sequence=2),
        "source_receiving": BinFactory(
            warehouse=shenzhen, code="R-01-01-01", kind=Bin.Kind.RECEIVING, is_sellable=False, pick_sequence=0
        ),
        "receiving": BinFactory(
            warehouse=los_angeles, code="R-01-01-01", kind=Bin.Kind.RECEIVING, is_sellable=False, pick_sequence=1
        ),
        "la_pick": BinFactory(warehouse=los_angeles, code="A-01-01-01", kind=Bin.Kind.PICK, pick_sequence=2),
        "case": ProductFactory(sku="CASE-1"),
        "cable": ProductFactory(sku="CABLE-1"),
    }


def level(product, bin_) -> int:
    row = StockLevel.objects.filter(product=product, bin=bin_).first()
    return row.on_hand if row else 0


def balance(product, warehouse) -> tuple[int, int, int]:
    row = InventoryBalance.objects.filter(product=product, warehouse=warehouse).first()
    return (row.on_hand, row.sellable, row.reserved) if row else (0, 0, 0)


def ledger(reference: str) -> list[tuple[str, str, str | None, str | None, int]]:
    return [
        (
            move.reason,
            move.product.sku,
            move.from_bin and move.from_bin.code,
            move.to_bin and move.to_bin.code,
            move.quantity,
        )
        for move in StockMove.objects.filter(reference=reference)
        .select_related("product", "from_bin", "to_bin")
        .order_by("id")
    ]


def events(transfer: Transfer) -> list[tuple[str, str]]:
    return list(TransferEvent.objects.filter(transfer=transfer).order_by("id").values_list("from_status", "to_status"))


def stocked_transfer(site, user=None) -> Transfer:
    """10 CASE-1 in the pick bin and 5 CABLE-1 in bulk; a draft for 6 CASE-1 (from pick) and 4 CABLE-1 (bins chosen)."""
    stock_receive(product=site["case"], bin=site["pick"], quantity=10, reference="PO-1")
    stock_receive(product=site["cable"], bin=site["bulk"], quantity=5, reference="PO-1")
    return transfer_create(
        source=site["source"],
        destination=site["destination"],
        lines=[(site["case"], 6, site["pick"]), (site["cable"], 4, None)],
        note="Restock LA",
        user=user,
    )


def test_full_flow_moves_stock_out_into_transit_and_into_the_destination_bin(site, make_user):
    user = make_user()
    case, cable, source, destination = site["case"], site["cable"], site["source"], site["destination"]
    transfer = stocked_transfer(site, user=user)
    assert transfer.number == f"TR-{transfer.pk:06d}"
    assert (transfer.status, transfer.note, transfer.created_by) == ("draft", "Restock LA", user)
    assert list(transfer.lines.values_list("product__sku", "quantity", "from_bin__code", "quantity_shipped")) == [
        ("CASE-1", 6, "A-01-01-01", 0),
        ("CABLE-1", 4, None, 0),
    ]
    assert transfers_in_transit() == {}

    shipped = transfer_ship(transfer=transfer, user=user, carrier_reference="MSKU1234567")
    assert (shipped.status, shipped.carrier_reference) == ("shipped", "MSKU1234567")
    assert shipped.shipped_at is not None and shipped.received_at is None
    assert (level(case, site["pick"]), level(cable, site["bulk"])) == (4, 1)
    assert balance(case, source) == (4, 4, 0)
    assert balance(cable, source) == (1, 1, 0)
    assert balance(case, destination) == (0, 0, 0)
    assert ledger(transfer.number) == [
        ("transfer_out", "CASE-1", "A-01-01-01", None, 6),
        ("transfer_out", "CABLE-1", "B-01-01-01", None, 4),
    ]
    assert set(StockMove.objects.filter(reference=transfer.number).values_list("user", flat=True)) == {user.pk}
    assert list(transfer.lines.values_list("quantity_shipped", "quantity_received")) == [(6, 0), (4, 0)]
    assert transfers_in_transit() == {(case.pk, destination.pk): 6, (cable.pk, destination.pk): 4}

    received = transfer_receive(transfer=transfer, lines=[(case, 6), (cable, 4)], bin=site["receiving"], user=user)
    assert received.status == "received"
    assert received.received_at is not None
    assert (level(case, site["receiving"]), level(cable, site["receiving"])) == (6, 4)
    # The receiving bin is not sellable: the units are on hand in LA but not for sale until put away.
    assert balance(case, destination) == (6, 0, 0)
    assert balance(cable, destination) == (4, 0, 0)
    assert balance(case, source) == (4, 4, 0)
    assert ledger(transfer.number)[2:] == [
        ("transfer_in", "CASE-1", None, "R-01-01-01", 6),
        ("transfer_in", "CABLE-1", None, "R-01-01-01", 4),
    ]
    assert transfers_in_transit() == {}
    assert events(transfer) == [("", "draft"), ("draft", "shipped"), ("shipped", "received")]
    assert list(TransferEvent.objects.filter(transfer=transfer).values_list("user", flat=True)) == [user.pk] * 3
    assert TransferEvent.objects.filter(transfer=transfer).order_by("id").last().note == (
        "Received 6 × CASE-1, 4 × CABLE-1 into bin R-01-01-01"
    )


def test_partial_receipt_in_two_steps(site):
    case, cable, destination = site["case"], site["cable"], site["destination"]
    transfer = stocked_transfer(site)
    transfer_ship(transfer=transfer)

    first = transfer_receive(transfer=transfer, lines=[(case, 2)], bin=site["receiving"])
    assert first.status == "partially_received"
    assert first.received_at is None
    assert list(transfer.lines.values_list("quantity_shipped", "quantity_received")) == [(6, 2), (4, 0)]
    assert transfers_in_transit(warehouse=destination) == {(case.pk, destination.pk): 4, (cable.pk, destination.pk): 4}
    assert balance(case, destination) == (2, 0, 0)

    # The rest of CASE-1 goes straight to a pick face, given in two pieces that are added up.
    second = transfer_receive(transfer=transfer, lines=[(case, 3), (cable, 4), (case, 1)], bin=site["la_pick"])
    assert second.status == "received"
    assert list(transfer.lines.values_list("quantity_shipped", "quantity_received")) == [(6, 6), (4, 4)]
    assert (level(case, site["receiving"]), level(case, site["la_pick"]), level(cable, site["la_pick"])) == (2, 4, 4)
    assert balance(case, destination) == (6, 4, 0)
    assert balance(cable, destination) == (4, 4, 0)
    assert ledger(transfer.number)[2:] == [
        ("transfer_in", "CASE-1", None, "R-01-01-01", 2),
        ("transfer_in", "CASE-1", None, "A-01-01-01", 4),
        ("transfer_in", "CABLE-1", None, "A-01-01-01", 4),
    ]
    assert events(transfer) == [
        ("", "draft"),
        ("draft", "shipped"),
        ("shipped", "partially_received"),
        ("partially_received", "received"),
    ]
    assert transfers_in_transit() == {}


def test_receiving_more_than_in_transit_names_the_sku_and_figures_and_saves_nothing(site):
    case = site["case"]
    transfer = stocked_transfer(site)
    transfer_ship(transfer=transfer)
    transfer_receive(transfer=transfer, lines=[(case, 4)], bin=site["receiving"])
    moves_before = StockMove.objects.count()

    with pytest.raises(ValidationFailed) as caught:
        transfer_receive(transfer=transfer, lines=[(site["cable"], 1), (case, 3)], bin=site["receiving"])
    assert caught.value.message == (
        "Nothing was received: CASE-1: receiving 3 but only 2 in transit (shipped 6, received 4)."
    )
    assert [(error.field, error.code) for error in caught.value.errors] == [("lines[1].quantity", "exceeds_in_transit")]
    assert StockMove.objects.count() == moves_before
    assert level(case, site["receiving"]) == 4
    assert list(transfer.lines.values_list("quantity_received", flat=True)) == [4, 0]
    transfer.refresh_from_db()
    assert transfer.status == "partially_received"


def test_receive_refuses_a_bin_outside_the_destination_and_products_not_on_the_transfer(site):
    transfer = stocked_transfer(site)
    transfer_ship(transfer=transfer)
    stranger = ProductFactory(sku="OTHER-1")
    with pytest.raises(ValidationFailed) as caught:
        transfer_receive(transfer=transfer, lines=[(stranger, 1), (site["case"], 0)], bin=site["bulk"])
    assert [(error.field, error.code, error.message) for error in caught.value.errors] == [
        ("bin", "warehouse", "Bin B-01-01-01 is not in destination warehouse LA."),
        ("lines[0].product", "unknown", f"OTHER-1 is not on transfer {transfer.number}."),
        ("lines[1].quantity", "min_value", "CASE-1: quantity must be at least 1 (got 0)."),
    ]
    assert not StockMove.objects.filter(reason="transfer_in").exists()


def test_ship_with_insufficient_stock_names_every_short_line_and_changes_nothing(site):
    case, cable, source = site["case"], site["cable"], site["source"]
    stock_receive(product=case, bin=site["pick"], quantity=3)
    stock_receive(product=cable, bin=site["bulk"], quantity=2)
    stock_receive(product=cable, bin=site["source_receiving"], quantity=50)  # not sellable: never chosen
    transfer = transfer_create(
        source=source, destination=site["destination"], lines=[(case, 5, site["pick"]), (cable, 3, None)]
    )
    with pytest.raises(InsufficientStock) as caught:
        transfer_ship(transfer=transfer)
    assert caught.value.message == "Not enough stock for 2 lines: CASE-1 (3 of 5), CABLE-1 (2 of 3)"
    assert [error.message for error in caught.value.errors] == [
        "CASE-1: asked for 5, 3 available in bin A-01-01-01.",
        "CABLE-1: asked for 3, 2 available in warehouse SZ (sellable bins, 0 reserved for orders).",
    ]
    assert [error.field for error in caught.value.errors] == ["lines[0].from_bin", "lines[1].quantity"]
    transfer.refresh_from_db()
    assert (transfer.status, transfer.shipped_at) == ("draft", None)
    assert list(transfer.lines.values_list("quantity_shipped", flat=True)) == [0, 0]
    assert (level(case, site["pick"]), level(cable, site["bulk"]), level(cable, site["source_receiving"])) == (3, 2, 50)
    assert balance(cable, source) == (52, 2, 0)
    assert not StockMove.objects.filter(reason="transfer_out").exists()
    assert events(transfer) == [("", "draft")]


def test_bins_are_chosen_by_pick_sequence_among_sellable_bins_only(site):
    case = site["case"]
    stock_receive(product=case, bin=site["source_receiving"], quantity=50)
    stock_receive(product=case, bin=site["bulk"], quantity=10)
    stock_receive(product=case, bin=site["pick"], quantity=3)
    inactive = BinFactory(warehouse=site["source"], code="A-01-01-02", pick_sequence=0, is_active=False)
    stock_receive(product=case, bin=inactive, quantity=20)
    transfer = transfer_create(source=site["source"], destination=site["destination"], lines=[(case, 5, None)])
    transfer_ship(transfer=transfer)
    assert ledger(transfer.number) == [
        ("transfer_out", "CASE-1", "A-01-01-01", None, 3),
        ("transfer_out", "CASE-1", "B-01-01-01", None, 2),
    ]
    assert (level(case, site["pick"]), level(case, site["bulk"]), level(case, site["source_receiving"])) == (0, 8, 50)
    assert level(case, inactive) == 20
    assert list(transfer.lines.values_list("quantity_shipped", flat=True)) == [5]


def test_ship_never_takes_units_reserved_for_orders(site):
    case, source = site["case"], site["source"]
    stock_receive(product=case, bin=site["pick"], quantity=5)
    stock_reserve(warehouse=source, lines=[(case, 3)], reference="order-line:1")

    named_bin = transfer_create(source=source, destination=site["destination"], lines=[(case, 3, site["pick"])])
    with pytest.raises(StockRuleBroken) as caught:
        transfer_ship(transfer=named_bin)
    assert caught.value.code == "reserved_not_covered"
    assert caught.value.context == {"sku": "CASE-1", "reserved": 3, "sellable": 2}

    chosen_bins = transfer_create(source=source, destination=site["destination"], lines=[(case, 3, None)])
    with pytest.raises(InsufficientStock) as caught:
        transfer_ship(transfer=chosen_bins)
    assert caught.value.message == (
        "Not enough CASE-1 in warehouse SZ (sellable bins, 3 reserved for orders): asked for 3, 2 available."
    )
    assert balance(case, source) == (5, 5, 3)
    assert not StockMove.objects.filter(reason="transfer_out").exists()
    named_bin.refresh_from_db()
    chosen_bins.refresh_from_db()
    assert (named_bin.status, chosen_bins.status) == ("draft", "draft")

    # Two units are free: they can go.
    free = transfer_create(source=source, destination=site["destination"], lines=[(case, 2, None)])
    transfer_ship(transfer=free)
    assert balance(case, source) == (3, 3, 3)


def test_create_reports_every_bad_line_and_saves_nothing(site):
    source, case = site["source"], site["case"]
    la_bin = site["receiving"]
    with pytest.raises(ValidationFailed) as caught:
        transfer_create(
            source=source,
            destination=source,
            lines=[
                (case, 0, None),
                (BundleFactory(sku="KIT-1"), 1, None),
                (case, 2, la_bin),
                (site["cable"], "3", None),
            ],
        )
    assert [(error.field, error.code) for error in caught.value.errors] == [
        ("destination", "same_warehouse"),
        ("lines[0].quantity", "min_value"),
        ("lines[1].product", "bundle"),
        ("lines[2].product", "duplicate"),
        ("lines[2].from_bin", "warehouse"),
        ("lines[3].quantity", "invalid"),
    ]
    assert caught.value.errors[3].message == "CASE-1 is already on line 1; one line per product."
    assert caught.value.errors[4].message == "CASE-1: bin R-01-01-01 is not in source warehouse SZ."
    with pytest.raises(ValidationFailed) as caught:
        transfer_create(source=source, destination=site["destination"], lines=[])
    assert caught.value.errors[0].field == "lines"
    assert not Transfer.objects.exists()
    assert not TransferLine.objects.exists()
    assert not TransferEvent.objects.exists()


def test_numbers_follow_the_transfer_and_are_unique(site):
    first = transfer_create(source=site["source"], destination=site["destination"], lines=[(site["case"], 1, None)])
    second = transfer_create(source=site["destination"], destination=site["source"], lines=[(site["case"], 1, None)])
    assert first.number == f"TR-{first.pk:06d}"
    assert second.number == f"TR-{first.pk + 1:06d}"
    assert Transfer.objects.get(number=second.number) == second


def test_cancel_only_a_draft_and_bad_transitions_write_no_event(site, make_user):
    user = make_user()
    draft = stocked_transfer(site)
    cancelled = transfer_cancel(transfer=draft, user=user, note="Sent by sea instead")
    assert cancelled.status == "cancelled"
    assert list(
        TransferEvent.objects.filter(transfer=draft).values_list("from_status", "to_status", "note", "user")
    ) == [
        ("", "draft", "", None),
        ("draft", "cancelled", "Sent by sea instead", user.pk),
    ]
    with pytest.raises(Conflict) as caught:
        transfer_ship(transfer=draft)
    assert caught.value.message == (
        f"Transfer {draft.number} is cancelled; it cannot become shipped (in transit) "
        "(from here it can become: nothing, it is closed)."
    )
    assert caught.value.code == "invalid_transition"
    with pytest.raises(Conflict):
        transfer_cancel(transfer=draft)
    assert not StockMove.objects.filter(reason="transfer_out").exists()

    shipped = transfer_create(source=site["source"], destination=site["destination"], lines=[(site["case"], 2, None)])
    with pytest.raises(Conflict) as caught:
        transfer_receive(transfer=shipped, lines=[(site["case"], 1)], bin=site["receiving"])
    assert caught.value.message == (
        f"Transfer {shipped.number} is draft; it cannot become received "
        "(from here it can become: cancelled, shipped (in transit))."
    )
    transfer_ship(transfer=shipped)
    with pytest.raises(Conflict) as caught:
        transfer_cancel(transfer=shipped, note="too late")
    assert caught.value.context == {
        "number": shipped.number,
        "status": "shipped",
        "requested_status": "cancelled",
    }
    with pytest.raises(Conflict):
        transfer_ship(transfer=shipped)
    with pytest.raises(Conflict):
        status_transition(machine=TRANSFER_STATUS, document=shipped, to_status="draft")
    transfer_receive(transfer=shipped, lines=[(site["case"], 2)], bin=site["receiving"])
    with pytest.raises(Conflict):
        transfer_receive(transfer=shipped, lines=[(site["case"], 1)], bin=site["receiving"])
    assert events(shipped) == [("", "draft"), ("draft", "shipped"), ("shipped", "received")]
    assert events(draft) == [("", "draft"), ("draft", "cancelled")]


def test_in_transit_figure_filters_by_destination_and_products(site):
    case, cable = site["case"], site["cable"]
    source, destination = site["source"], site["destination"]
    third = WarehouseFactory(code="DE", country="DE")
    stock_receive(product=case, bin=site["pick"], quantity=20)
    stock_receive(product=cable, bin=site["pick"], quantity=20)
    to_la = transfer_create(source=source, destination=destination, lines=[(case, 3, None), (cable, 2, None)])
    to_de = transfer_create(source=source, destination=third, lines=[(case, 5, None)])
    transfer_create(source=source, destination=destination, lines=[(case, 7, None)])  # a draft is not in transit
    transfer_ship(transfer=to_la)
    transfer_ship(transfer=to_de)
    assert transfers_in_transit() == {
        (case.pk, destination.pk): 3,
        (cable.pk, destination.pk): 2,
        (case.pk, third.pk): 5,
    }
    assert transfers_in_transit(warehouse=third) == {(case.pk, third.pk): 5}
    assert transfers_in_transit(product_ids=[cable.pk]) == {(cable.pk, destination.pk): 2}
    assert transfers_in_transit(warehouse=destination, product_ids=[]) == {}
    transfer_receive(transfer=to_la, lines=[(case, 1)], bin=site["receiving"])
    assert transfers_in_transit(warehouse=destination) == {(case.pk, destination.pk): 2, (cable.pk, destination.pk): 2}
