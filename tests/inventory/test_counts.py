"""Stock counts: expected snapshot, counted vs book at the moment of counting, approval through the ledger."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from django.db import OperationalError, connection, transaction

from core.errors import Conflict, ValidationFailed
from core.limits import QUANTITY_MAX
from inventory.count_services import (
    stock_count_approve,
    stock_count_cancel,
    stock_count_import_rows,
    stock_count_open,
    stock_count_record,
)
from inventory.errors import StockRuleBroken
from inventory.models import (
    Bin,
    InventoryBalance,
    StockCount,
    StockCountBin,
    StockCountEvent,
    StockCountLine,
    StockLevel,
    StockMove,
)
from inventory.stock_selectors import stock_count_variance
from inventory.stock_services import stock_move, stock_receive, stock_reserve
from tests.inventory.factories import BinFactory, BundleFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    warehouse = WarehouseFactory(code="SZ")
    return {
        "warehouse": warehouse,
        "a1": BinFactory(warehouse=warehouse, code="A-01-01-01", zone="A"),
        "a2": BinFactory(warehouse=warehouse, code="A-01-01-02", zone="A"),
        "a_inactive": BinFactory(warehouse=warehouse, code="A-01-01-03", zone="A", is_active=False),
        "b1": BinFactory(warehouse=warehouse, code="B-01-01-01", zone="B", kind=Bin.Kind.BULK),
        "packing": BinFactory(
            warehouse=warehouse, code="P-01-01-01", zone="P", kind=Bin.Kind.PACKING, is_sellable=False
        ),
        "case": ProductFactory(sku="CASE-1"),
        "cable": ProductFactory(sku="CABLE-1"),
        "other_warehouse_bin": BinFactory(warehouse=WarehouseFactory(code="LA", country="US"), code="A-01-01-01"),
    }


def level(product, bin_) -> int:
    row = StockLevel.objects.filter(product=product, bin=bin_).first()
    return row.on_hand if row else 0


def balance(product, warehouse) -> tuple[int, int, int]:
    row = InventoryBalance.objects.filter(product=product, warehouse=warehouse).first()
    return (row.on_hand, row.sellable, row.reserved) if row else (0, 0, 0)


def lines(count: StockCount) -> list[tuple]:
    return list(
        count.lines.order_by("bin__code_sort", "product__sku_sort").values_list(
            "bin__code", "product__sku", "expected_quantity", "system_quantity", "counted_quantity", "adjustment"
        )
    )


def count_ledger(count: StockCount) -> list[tuple[str, str | None, str | None, int]]:
    return [
        (move.product.sku, move.from_bin and move.from_bin.code, move.to_bin and move.to_bin.code, move.quantity)
        for move in StockMove.objects.filter(reason="count", reference=count.number)
        .select_related("product", "from_bin", "to_bin")
        .order_by("id")
    ]


def events(count: StockCount) -> list[tuple[str, str]]:
    return list(StockCountEvent.objects.filter(count=count).order_by("id").values_list("from_status", "to_status"))


@pytest.fixture
def stocked(site):
    """CASE-1: 10 in A1, 4 in B1; CABLE-1: 6 in A1, 2 in A2 and 9 in the inactive A3."""
    stock_receive(product=site["case"], bin=site["a1"], quantity=10)
    stock_receive(product=site["case"], bin=site["b1"], quantity=4)
    stock_receive(product=site["cable"], bin=site["a1"], quantity=6)
    stock_receive(product=site["cable"], bin=site["a2"], quantity=2)
    stock_receive(product=site["cable"], bin=site["a_inactive"], quantity=9)
    return site


# --- Opening ------------------------------------------------------------------------------------------------


def test_open_by_bins_snapshots_what_is_on_hand(stocked, make_user):
    user = make_user()
    count = stock_count_open(warehouse=stocked["warehouse"], bins=[stocked["a1"], stocked["b1"]], note="Q3", user=user)
    assert count.number == f"CNT-{count.pk:06d}"
    assert (count.status, count.scope, count.note, count.is_blind, count.created_by) == (
        "open",
        "bins A-01-01-01, B-01-01-01",
        "Q3",
        False,
        user,
    )
    assert sorted(StockCountBin.objects.filter(count=count).values_list("bin__code", flat=True)) == [
        "A-01-01-01",
        "B-01-01-01",
    ]
    assert lines(count) == [
        ("A-01-01-01", "CABLE-1", 6, None, None, None),
        ("A-01-01-01", "CASE-1", 10, None, None, None),
        ("B-01-01-01", "CASE-1", 4, None, None, None),
    ]
    assert events(count) == [("", "open")]


def test_open_by_zone_takes_its_active_bins(stocked):
    count = stock_count_open(warehouse=stocked["warehouse"], zone=" a ")
    assert count.scope == "zone A"
    assert sorted(count.count_bins.values_list("bin__code", flat=True)) == ["A-01-01-01", "A-01-01-02"]
    assert lines(count) == [
        ("A-01-01-01", "CABLE-1", 6, None, None, None),
        ("A-01-01-01", "CASE-1", 10, None, None, None),
        ("A-01-01-02", "CABLE-1", 2, None, None, None),
    ]


def test_open_whole_warehouse_takes_every_active_bin(stocked):
    count = stock_count_open(warehouse=stocked["warehouse"], is_blind=True)
    assert (count.scope, count.is_blind) == ("whole warehouse", True)
    assert sorted(count.count_bins.values_list("bin__code", flat=True)) == [
        "A-01-01-01",
        "A-01-01-02",
        "B-01-01-01",
        "P-01-01-01",
    ]
    assert [(bin_code, sku, expected) for bin_code, sku, expected, *_ in lines(count)] == [
        ("A-01-01-01", "CABLE-1", 6),
        ("A-01-01-01", "CASE-1", 10),
        ("A-01-01-02", "CABLE-1", 2),
        ("B-01-01-01", "CASE-1", 4),
    ]


def test_open_refuses_bad_scopes_and_bins_already_being_counted(stocked):
    warehouse = stocked["warehouse"]
    with pytest.raises(ValidationFailed) as caught:
        stock_count_open(warehouse=warehouse, bins=[stocked["a1"]], zone="A")
    assert caught.value.errors[0].field == "zone"
    with pytest.raises(ValidationFailed) as caught:
        stock_count_open(warehouse=warehouse, bins=[stocked["a1"], stocked["other_warehouse_bin"]])
    assert caught.value.message == "Bins A-01-01-01 are not in warehouse SZ."
    with pytest.raises(ValidationFailed) as caught:
        stock_count_open(warehouse=warehouse, zone="Z")
    assert caught.value.message == "There is nothing to count: no active bins in zone Z of warehouse SZ."
    with pytest.raises(ValidationFailed) as caught:
        stock_count_open(warehouse=warehouse, bins=[])
    assert caught.value.message == "There is nothing to count: no bins were given."
    assert not StockCount.objects.exists()

    first = stock_count_open(warehouse=warehouse, zone="A")
    with pytest.raises(Conflict) as caught:
        stock_count_open(warehouse=warehouse, bins=[stocked["b1"], stocked["a2"]])
    assert caught.value.message == (
        f"1 of these bins are already being counted: A-01-01-02 in {first.number}. Approve or cancel that count first."
    )
    assert caught.value.code == "bin_in_open_count"
    assert StockCount.objects.count() == 1
    stock_count_cancel(count=first)
    second = stock_count_open(warehouse=warehouse, bins=[stocked["b1"], stocked["a2"]])
    assert second.status == "open"


# --- Recording and the variance -----------------------------------------------------------------------------


def test_record_approve_posts_the_variance_through_the_ledger(stocked, make_user):
    counter, manager = make_user(), make_user()
    case, cable, warehouse = stocked["case"], stocked["cable"], stocked["warehouse"]
    count = stock_count_open(warehouse=warehouse, bins=[stocked["a1"]])
    line = stock_count_record(count=count, bin=stocked["a1"], product=case, counted_quantity=8, user=counter)
    assert (line.expected_quantity, line.system_quantity, line.counted_quantity, line.variance) == (10, 10, 8, -2)
    assert (line.counted_by, line.counted_at is not None) == (counter, True)
    stock_count_record(count=count, bin=stocked["a1"], product=cable, counted_quantity=7, user=counter)

    approved = stock_count_approve(count=count, user=manager)
    assert (approved.status, approved.approved_by) == ("approved", manager)
    assert approved.approved_at is not None
    assert lines(count) == [
        ("A-01-01-01", "CABLE-1", 6, 6, 7, 1),
        ("A-01-01-01", "CASE-1", 10, 10, 8, -2),
    ]
    assert count_ledger(count) == [("CASE-1", "A-01-01-01", None, 2), ("CABLE-1", None, "A-01-01-01", 1)]
    assert set(StockMove.objects.filter(reference=count.number).values_list("user", flat=True)) == {manager.pk}
    assert (level(case, stocked["a1"]), level(cable, stocked["a1"])) == (8, 7)
    assert balance(case, warehouse) == (12, 12, 0)
    assert balance(cable, warehouse) == (18, 18, 0)
    assert list(
        StockCountEvent.objects.filter(count=count).values_list("from_status", "to_status", "note", "user")
    ) == [
        ("", "open", "bins A-01-01-01", None),
        ("open", "approved", "2 line(s) adjusted (+1 / -2 units), 0 unchanged", manager.pk),
    ]


def test_recount_overwrites_the_line(stocked, make_user):
    first_counter, second_counter = make_user(), make_user()
    count = stock_count_open(warehouse=stocked["warehouse"], bins=[stocked["a1"]])
    first = stock_count_record(
        count=count, bin=stocked["a1"], product=stocked["case"], counted_quantity=3, user=first_counter
    )
    second = stock_count_record(
        count=count, bin=stocked["a1"], product=stocked["case"], counted_quantity=9, user=second_counter
    )
    assert second.pk == first.pk
    second.refresh_from_db()
    assert (second.counted_quantity, second.system_quantity, second.counted_by) == (9, 10, second_counter)
    assert StockCountLine.objects.filter(count=count, product=stocked["case"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_record_reads_the_book_quantity_under_the_stock_level_lock(stocked):
    case, a1 = stocked["case"], stocked["a1"]
    count = stock_count_open(warehouse=stocked["warehouse"], bins=[a1])
    level_id = StockLevel.objects.get(product=case, bin=a1).pk
    with psycopg.connect(**connection.get_connection_params()) as other:
        # Another transaction (a pick, say) holds the row: recording must wait for it, not read around it.
        other.execute("SELECT 1 FROM inventory_stocklevel WHERE id = %s FOR UPDATE", [level_id])
        with transaction.atomic():
            connection.cursor().execute("SET LOCAL lock_timeout = '100ms'")
            with pytest.raises(OperationalError, match="lock timeout"):
                stock_count_record(count=count, bin=a1, product=case, counted_quantity=9)
        other.rollback()
    assert count.lines.get(product=case).counted_quantity is None
    line = stock_count_record(count=count, bin=a1, product=case, counted_quantity=9)
    assert (line.system_quantity, line.counted_quantity) == (10, 9)


def test_a_pick_after_counting_is_kept_and_explained(stocked):
    """Counted 9 when the book said 10; then 3 were moved out; approval takes 1 more off the 7 left."""
    case, warehouse, a1 = stocked["case"], stocked["warehouse"], stocked["a1"]
    count = stock_count_open(warehouse=warehouse, bins=[a1])
    stock_count_record(count=count, bin=a1, product=case, counted_quantity=9)
    picked = stock_move(product=case, from_bin=a1, to_bin=stocked["packing"], quantity=3, reference="order-line:7")
    assert level(case, a1) == 7

    stock_count_approve(count=count)
    assert level(case, a1) == 6  # 7 − 1, not overwritten with the 9 counted before the pick
    assert level(case, stocked["packing"]) == 3
    assert balance(case, warehouse) == (13, 10, 0)
    assert count_ledger(count) == [("CASE-1", "A-01-01-01", None, 1)]

    (row,) = [row for row in stock_count_variance(count=count) if row.sku == "CASE-1"]
    assert (row.bin_code, row.expected_quantity, row.system_quantity, row.counted_quantity) == ("A-01-01-01", 10, 10, 9)
    assert (row.variance, row.adjustment, row.is_counted) == (-1, -1, True)
    assert (row.net_moved_before_counting, row.net_moved_after_counting) == (0, -3)
    assert [
        (move.move_id, move.reason, move.reference, move.quantity, move.is_before_counting) for move in row.moves
    ] == [(picked.pk, "move", "order-line:7", -3, False)]


def test_a_receipt_before_counting_is_in_the_book_quantity(stocked):
    case, a1 = stocked["case"], stocked["a1"]
    count = stock_count_open(warehouse=stocked["warehouse"], bins=[a1])
    receipt = stock_receive(product=case, bin=a1, quantity=5, reference="PO-9")
    line = stock_count_record(count=count, bin=a1, product=case, counted_quantity=15)
    assert (line.expected_quantity, line.system_quantity, line.variance) == (10, 15, 0)

    stock_count_approve(count=count)
    assert level(case, a1) == 15
    assert count_ledger(count) == []
    (row,) = [row for row in stock_count_variance(count=count) if row.sku == "CASE-1"]
    assert (row.expected_quantity, row.system_quantity, row.variance, row.adjustment) == (10, 15, 0, 0)
    assert (row.net_moved_before_counting, row.net_moved_after_counting) == (5, 0)
    assert [(move.move_id, move.quantity, move.is_before_counting) for move in row.moves] == [(receipt.pk, 5, True)]


def test_a_product_nobody_expected_gets_a_line(stocked):
    a2, case = stocked["a2"], stocked["case"]
    count = stock_count_open(warehouse=stocked["warehouse"], bins=[a2])
    line = stock_count_record(count=count, bin=a2, product=case, counted_quantity=3)
    assert (line.expected_quantity, line.system_quantity, line.counted_quantity) == (0, 0, 3)
    stock_count_approve(count=count)
    assert lines(count) == [
        ("A-01-01-02", "CABLE-1", 2, None, None, None),
        ("A-01-01-02", "CASE-1", 0, 0, 3, 3),
    ]
    assert count_ledger(count) == [("CASE-1", None, "A-01-01-02", 3)]
    assert level(case, a2) == 3


def test_blind_count_variance_can_hide_the_book_figures(stocked):
    count = stock_count_open(warehouse=stocked["warehouse"], bins=[stocked["b1"]], is_blind=True)
    stock_count_record(count=count, bin=stocked["b1"], product=stocked["case"], counted_quantity=5)
    (full,) = stock_count_variance(count=count)
    (hidden,) = stock_count_variance(count=count, include_expected=False)
    assert (full.expected_quantity, full.system_quantity, full.counted_quantity, full.variance) == (4, 4, 5, 1)
    assert (hidden.expected_quantity, hidden.system_quantity, hidden.counted_quantity, hidden.variance) == (
        None,
        None,
        5,
        None,
    )
    assert hidden.adjustment is None


def test_variance_report_runs_a_fixed_number_of_queries(stocked, django_assert_num_queries):
    count = stock_count_open(warehouse=stocked["warehouse"])
    stock_move(product=stocked["case"], from_bin=stocked["a1"], to_bin=stocked["a2"], quantity=1)
    with django_assert_num_queries(2):
        rows = stock_count_variance(count=count)
    assert [(row.bin_code, row.sku, row.net_moved_before_counting) for row in rows] == [
        ("A-01-01-01", "CABLE-1", 0),
        ("A-01-01-01", "CASE-1", -1),
        ("A-01-01-02", "CABLE-1", 0),
        ("B-01-01-01", "CASE-1", 0),
    ]


# --- Approval rules -----------------------------------------------------------------------------------------


def test_uncounted_lines_are_skipped_by_default(stocked):
    count = stock_count_open(warehouse=stocked["warehouse"], bins=[stocked["a1"]])
    stock_count_record(count=count, bin=stocked["a1"], product=stocked["case"], counted_quantity=10)
    stock_count_approve(count=count)
    assert lines(count) == [
        ("A-01-01-01", "CABLE-1", 6, None, None, None),
        ("A-01-01-01", "CASE-1", 10, 10, 10, 0),
    ]
    assert level(stocked["cable"], stocked["a1"]) == 6
    assert count_ledger(count) == []
    assert StockCountEvent.objects.filter(count=count, to_status="approved").get().note == (
        "0 line(s) adjusted (+0 / -0 units), 1 unchanged, 1 not counted and skipped"
    )


def test_uncounted_lines_taken_as_empty_write_off_what_is_there_now(stocked):
    cable, a1 = stocked["cable"], stocked["a1"]
    count = stock_count_open(warehouse=stocked["warehouse"], bins=[a1])
    stock_count_record(count=count, bin=a1, product=stocked["case"], counted_quantity=10)
    stock_receive(product=cable, bin=a1, quantity=1)  # 7 on hand now; nobody counted CABLE-1
    stock_count_approve(count=count, uncounted="zero")
    assert lines(count) == [
        ("A-01-01-01", "CABLE-1", 6, 7, 0, -7),
        ("A-01-01-01", "CASE-1", 10, 10, 10, 0),
    ]
    assert count.lines.get(product=cable).counted_at is None
    assert count_ledger(count) == [("CABLE-1", "A-01-01-01", None, 7)]
    assert level(cable, a1) == 0
    assert StockCountEvent.objects.filter(count=count, to_status="approved").get().note == (
        "1 line(s) adjusted (+0 / -7 units), 1 unchanged, 1 not counted and taken as empty"
    )
    with pytest.raises(ValidationFailed):
        stock_count_approve(count=stock_count_open(warehouse=stocked["warehouse"], bins=[a1]), uncounted="all")


def test_approval_refuses_a_result_below_zero_naming_bin_sku_and_figures(stocked):
    case, a1, b1 = stocked["case"], stocked["a1"], stocked["b1"]
    count = stock_count_open(warehouse=stocked["warehouse"], bins=[a1, b1])
    stock_count_record(count=count, bin=a1, product=case, counted_quantity=2)  # book 10: −8
    stock_count_record(count=count, bin=b1, product=case, counted_quantity=4)
    stock_move(product=case, from_bin=a1, to_bin=stocked["packing"], quantity=5)  # 5 left: 5 − 8 < 0
    with pytest.raises(Conflict) as caught:
        stock_count_approve(count=count)
    assert caught.value.code == "count_result_negative"
    assert [(error.field, error.message) for error in caught.value.errors] == [
        (
            "lines",
            "Bin A-01-01-01, CASE-1: counted 2 when the book said 10 (-8), but only 5 are on hand now; "
            "stock left the bin after it was counted. Recount this line.",
        )
    ]
    count.refresh_from_db()
    assert (count.status, count.approved_at) == ("open", None)
    assert count_ledger(count) == []
    assert list(count.lines.values_list("adjustment", flat=True)) == [None, None, None]
    assert level(case, a1) == 5
    assert events(count) == [("", "open")]

    # Counting the line again reads the new book quantity, and approval goes through.
    stock_count_record(count=count, bin=a1, product=case, counted_quantity=2)
    stock_count_approve(count=count)
    assert count_ledger(count) == [("CASE-1", "A-01-01-01", None, 3)]
    assert level(case, a1) == 2


def test_approval_that_would_uncover_reserved_stock_is_refused(stocked):
    case, warehouse, a1 = stocked["case"], stocked["warehouse"], stocked["a1"]
    stock_reserve(warehouse=warehouse, lines=[(case, 12)], reference="order-line:1")
    count = stock_count_open(warehouse=warehouse, bins=[a1])
    stock_count_record(count=count, bin=a1, product=case, counted_quantity=7)  # 14 − 3 = 11 sellable < 12 reserved
    with pytest.raises(StockRuleBroken) as caught:
        stock_count_approve(count=count)
    assert caught.value.context == {"sku": "CASE-1", "reserved": 12, "sellable": 11}
    count.refresh_from_db()
    assert count.status == "open"
    assert balance(case, warehouse) == (14, 14, 12)
    assert count_ledger(count) == []
    assert count.lines.get(product=case).adjustment is None


def test_record_rules(stocked):
    count = stock_count_open(warehouse=stocked["warehouse"], bins=[stocked["a1"]])
    with pytest.raises(ValidationFailed) as caught:
        stock_count_record(count=count, bin=stocked["b1"], product=stocked["case"], counted_quantity=1)
    assert caught.value.message == f"Bin B-01-01-01 is not part of count {count.number} (bins A-01-01-01)."
    with pytest.raises(ValidationFailed) as caught:
        stock_count_record(count=count, bin=stocked["a1"], product=BundleFactory(sku="KIT-1"), counted_quantity=1)
    assert caught.value.errors[0].code == "bundle"
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValidationFailed) as caught:
            stock_count_record(count=count, bin=stocked["a1"], product=stocked["case"], counted_quantity=bad)
        assert caught.value.errors[0].field == "counted_quantity"
    assert not count.lines.filter(counted_quantity__isnull=False).exists()

    stock_count_cancel(count=count)
    with pytest.raises(Conflict) as caught:
        stock_count_record(count=count, bin=stocked["a1"], product=stocked["case"], counted_quantity=1)
    assert caught.value.message == (
        f"Count {count.number} is cancelled; quantities are recorded only while it is open."
    )


def test_bad_transitions_are_refused_and_write_no_event(stocked, make_user):
    user = make_user()
    approved = stock_count_open(warehouse=stocked["warehouse"], bins=[stocked["a1"]])
    stock_count_approve(count=approved, user=user)
    with pytest.raises(Conflict) as caught:
        stock_count_approve(count=approved)
    assert caught.value.message == (
        f"Count {approved.number} is approved; it cannot become approved "
        "(from here it can become: nothing, it is closed)."
    )
    with pytest.raises(Conflict):
        stock_count_cancel(count=approved)
    assert events(approved) == [("", "open"), ("open", "approved")]

    cancelled = stock_count_cancel(
        count=stock_count_open(warehouse=stocked["warehouse"], bins=[stocked["a1"]]), user=user, note="wrong bins"
    )
    assert cancelled.status == "cancelled"
    with pytest.raises(Conflict) as caught:
        stock_count_approve(count=cancelled)
    assert caught.value.code == "invalid_transition"
    assert list(StockCountEvent.objects.filter(count=cancelled).values_list("from_status", "to_status", "note")) == [
        ("", "open", "bins A-01-01-01"),
        ("open", "cancelled", "wrong bins"),
    ]
    assert not StockMove.objects.filter(reason="count").exists()


# --- Import -------------------------------------------------------------------------------------------------


def test_import_of_opening_balances_posts_one_count_move_per_row(site, make_user):
    user = make_user()
    rows = [
        {"sku": "case-1", "bin": "a-01-01-01", "quantity": "12", "_row": 2},
        {"sku": "CABLE-1", "bin": "A-01-01-01", "quantity": 3, "_row": 3},
        {"sku": " CASE-1 ", "bin": "B-01-01-01", "quantity": 4.0, "_row": 4},
        {"sku": "CABLE-1", "bin": "A-01-01-02", "quantity": Decimal("0"), "_row": 5},
    ]
    count = stock_count_import_rows(warehouse=site["warehouse"], rows=rows, user=user, note="Opening balances")
    assert (count.status, count.note, count.approved_by, count.created_by) == (
        "approved",
        "Opening balances",
        user,
        user,
    )
    assert count.scope == "bins A-01-01-01, A-01-01-02, B-01-01-01"
    assert count_ledger(count) == [
        ("CASE-1", None, "A-01-01-01", 12),
        ("CABLE-1", None, "A-01-01-01", 3),
        ("CASE-1", None, "B-01-01-01", 4),
    ]
    assert lines(count) == [
        ("A-01-01-01", "CABLE-1", 0, 0, 3, 3),
        ("A-01-01-01", "CASE-1", 0, 0, 12, 12),
        ("A-01-01-02", "CABLE-1", 0, 0, 0, 0),
        ("B-01-01-01", "CASE-1", 0, 0, 4, 4),
    ]
    assert balance(site["case"], site["warehouse"]) == (16, 16, 0)
    assert balance(site["cable"], site["warehouse"]) == (3, 3, 0)

    moves_before = StockMove.objects.count()
    again = stock_count_import_rows(warehouse=site["warehouse"], rows=rows, user=user)
    assert again.pk != count.pk and again.status == "approved"
    assert StockMove.objects.count() == moves_before
    assert [adjustment for *_, adjustment in lines(again)] == [0, 0, 0, 0]
    assert balance(site["case"], site["warehouse"]) == (16, 16, 0)


def test_import_sets_named_products_and_leaves_the_others_in_the_bin_alone(stocked):
    count = stock_count_import_rows(
        warehouse=stocked["warehouse"], rows=[{"sku": "CASE-1", "bin": "A-01-01-01", "quantity": "7"}]
    )
    assert count_ledger(count) == [("CASE-1", "A-01-01-01", None, 3)]
    assert lines(count) == [
        ("A-01-01-01", "CABLE-1", 6, None, None, None),
        ("A-01-01-01", "CASE-1", 10, 10, 7, -3),
    ]
    assert (level(stocked["case"], stocked["a1"]), level(stocked["cable"], stocked["a1"])) == (7, 6)


def test_import_reports_every_bad_row_and_saves_nothing(site, django_assert_max_num_queries):
    BundleFactory(sku="KIT-1")
    rows = [
        {"sku": "CASE-1", "bin": "A-01-01-01", "quantity": "5"},  # good
        {"sku": "NOPE-1", "bin": "A-01-01-01", "quantity": "1"},
        {"sku": "KIT-1", "bin": "A-01-01-01", "quantity": "1"},
        {"sku": "CASE-1", "bin": "Z-99-99-99", "quantity": "1"},
        {"sku": "CABLE-1", "bin": "A-01-01-01", "quantity": "-2"},
        {"sku": "CABLE-1", "bin": "A-01-01-02", "quantity": "2.5"},
        {"sku": "CABLE-1", "bin": "B-01-01-01", "quantity": "many"},
        {"sku": "case-1", "bin": "a-01-01-01", "quantity": "6"},  # same bin and SKU as the first row
        {"sku": "", "bin": "", "quantity": ""},
        {"sku": "CASE-1", "bin": "A-01-01-01", "quantity": 1.5, "_row": 40},  # a row number from the file
    ]
    with django_assert_max_num_queries(2), pytest.raises(ValidationFailed) as caught:
        stock_count_import_rows(warehouse=site["warehouse"], rows=rows)
    assert caught.value.message == "9 of 10 rows are wrong; nothing was imported."
    assert caught.value.context == {"bad_rows": 9, "rows": 10}
    assert [(error.row, error.field, error.code, error.message) for error in caught.value.errors] == [
        (2, "sku", "unknown_sku", "Unknown SKU NOPE-1."),
        (3, "sku", "bundle", "KIT-1 is a bundle; count its components."),
        (4, "bin", "unknown_bin", "Unknown bin Z-99-99-99 in warehouse SZ."),
        (5, "quantity", "min_value", "Quantity cannot be negative (got -2)."),
        (6, "quantity", "invalid", "Quantity must be a whole number (got '2.5')."),
        (7, "quantity", "invalid", "Quantity must be a whole number (got 'many')."),
        (8, "sku", "duplicate", "Bin A-01-01-01 and SKU CASE-1 are already on row 1."),
        (9, "sku", "required", "SKU is required."),
        (9, "bin", "required", "Bin is required."),
        (9, "quantity", "required", "Quantity is required."),
        (40, "quantity", "invalid", "Quantity must be a whole number (got 1.5)."),
        (40, "sku", "duplicate", "Bin A-01-01-01 and SKU CASE-1 are already on row 1."),
    ]
    # The bin of the other warehouse is unknown here, too.
    with pytest.raises(ValidationFailed) as caught:
        stock_count_import_rows(warehouse=site["other_warehouse_bin"].warehouse, rows=[rows[5]])
    assert [(error.row, error.field) for error in caught.value.errors] == [(1, "bin"), (1, "quantity")]
    with pytest.raises(ValidationFailed) as caught:
        stock_count_import_rows(warehouse=site["warehouse"], rows=[])
    assert caught.value.message == "The file has no rows to import."
    assert not StockCount.objects.exists()
    assert not StockMove.objects.exists()
    assert not StockLevel.objects.exists()


def test_import_of_many_rows_runs_a_bounded_number_of_queries(site, django_assert_max_num_queries):
    warehouse = site["warehouse"]
    bins = Bin.objects.bulk_create(
        [
            Bin(warehouse=warehouse, code=f"C-01-{aisle:02d}-{level:02d}", zone="C")
            for aisle in range(20)
            for level in range(10)
        ]
    )
    products = [ProductFactory(sku=f"BULK-{number:03d}") for number in range(10)]
    rows = [
        {"sku": product.sku, "bin": bin_.code, "quantity": (index % 7) + 1}
        for index, (bin_, product) in enumerate((bin_, product) for bin_ in bins for product in products)
    ]
    assert len(rows) == 2000
    first = stock_count_import_rows(warehouse=warehouse, rows=rows)
    assert StockMove.objects.filter(reference=first.number).count() == 2000
    assert sum(StockLevel.objects.filter(bin__warehouse=warehouse).values_list("on_hand", flat=True)) == sum(
        row["quantity"] for row in rows
    )
    # Re-importing the same sheet posts nothing and does not query per row.
    with django_assert_max_num_queries(40):
        again = stock_count_import_rows(warehouse=warehouse, rows=rows)
    assert again.lines.count() == 2000
    assert not StockMove.objects.filter(reference=again.number).exists()


def test_import_refuses_bins_of_an_open_count(stocked):
    open_count = stock_count_open(warehouse=stocked["warehouse"], bins=[stocked["a1"]])
    with pytest.raises(Conflict) as caught:
        stock_count_import_rows(
            warehouse=stocked["warehouse"], rows=[{"sku": "CASE-1", "bin": "A-01-01-01", "quantity": 1}]
        )
    assert caught.value.code == "bin_in_open_count"
    assert StockCount.objects.get() == open_count
    with pytest.raises(ValidationFailed):
        stock_count_import_rows(warehouse=stocked["warehouse"], rows=[], mode="add")


def test_a_count_cannot_set_a_bin_above_the_line_limit_and_later_receipts_still_work():
    """A count approved at 2,147,483,647 used to make every later receipt of that product fail; now it is refused."""
    warehouse = WarehouseFactory(code="SZ", bin_code_pattern="")
    bin_ = BinFactory(warehouse=warehouse, code="A-01-01-01")
    product = ProductFactory(sku="CASE-1")
    count = stock_count_open(warehouse=warehouse, bins=[bin_])
    with pytest.raises(ValidationFailed) as caught:
        stock_count_record(count=count, bin=bin_, product=product, counted_quantity=2_147_483_647)
    assert [(error.field, error.code) for error in caught.value.errors] == [("counted_quantity", "max_value")]
    with pytest.raises(ValidationFailed) as caught:
        stock_count_import_rows(
            warehouse=warehouse, rows=[{"sku": "CASE-1", "bin": "A-01-01-01", "quantity": "2147483647"}]
        )
    assert [(error.row, error.field, error.code) for error in caught.value.errors] == [(1, "quantity", "max_value")]
    stock_count_record(count=count, bin=bin_, product=product, counted_quantity=QUANTITY_MAX)
    stock_count_approve(count=count)
    stock_receive(product=product, bin=bin_, quantity=5)
    assert StockLevel.objects.get(product=product, bin=bin_).on_hand == QUANTITY_MAX + 5
