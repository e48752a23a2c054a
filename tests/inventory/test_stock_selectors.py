"""Availability (the one definition of available), bundles, incoming stock, and the ledger's index use."""

from __future__ import annotations

import pytest
from django.db import connection

from inventory import stock_selectors
from inventory.models import Bin, StockMove
from inventory.stock_selectors import StockFigures, availability, incoming_source_register, ledger
from inventory.stock_services import stock_adjust, stock_receive, stock_reserve
from inventory.transfer_services import transfer_create, transfer_ship
from tests.inventory.factories import (
    BinFactory,
    BundleComponentFactory,
    BundleFactory,
    ProductFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db


def figures(on_hand=0, sellable=0, reserved=0, incoming=0) -> StockFigures:
    return StockFigures(on_hand=on_hand, sellable=sellable, reserved=reserved, incoming=incoming)


@pytest.fixture
def site():
    """Two warehouses; a kit of 2 × CASE + 1 × CABLE; stock in sellable and non-sellable bins, reserved, in transit.

    Shenzhen: CASE 10 in a pick bin and 3 in receiving (not sellable), 6 reserved; CABLE 5 in a pick bin,
    2 of them shipped to Los Angeles by a transfer. Los Angeles: CASE 7 in a pick bin; CABLE 2 on the way.
    """
    shenzhen = WarehouseFactory(code="SZ", priority=1)
    los_angeles = WarehouseFactory(code="LA", country="US", priority=2)
    sz_pick = BinFactory(warehouse=shenzhen, code="A-01-01-01", kind=Bin.Kind.PICK)
    sz_receiving = BinFactory(warehouse=shenzhen, code="R-01-01-01", kind=Bin.Kind.RECEIVING, is_sellable=False)
    la_pick = BinFactory(warehouse=los_angeles, code="A-01-01-01", kind=Bin.Kind.PICK)
    case = ProductFactory(sku="CASE")
    cable = ProductFactory(sku="CABLE")
    kit = BundleFactory(sku="KIT")
    BundleComponentFactory(bundle=kit, component=case, quantity=2)
    BundleComponentFactory(bundle=kit, component=cable, quantity=1)

    stock_receive(product=case, bin=sz_pick, quantity=10)
    stock_receive(product=case, bin=sz_receiving, quantity=3)
    stock_reserve(warehouse=shenzhen, lines=[(case, 6)], reference="order-line:1")
    stock_receive(product=cable, bin=sz_pick, quantity=5)
    stock_receive(product=case, bin=la_pick, quantity=7)
    transfer = transfer_create(source=shenzhen, destination=los_angeles, lines=[(cable, 2, sz_pick)])
    transfer_ship(transfer=transfer)
    return {
        "shenzhen": shenzhen,
        "los_angeles": los_angeles,
        "sz_pick": sz_pick,
        "la_pick": la_pick,
        "case": case,
        "cable": cable,
        "kit": kit,
    }


def test_available_is_sellable_minus_reserved_per_warehouse_and_in_total(site):
    sz, la = site["shenzhen"].pk, site["los_angeles"].pk
    report = availability(product_ids=[site["case"].pk, site["cable"].pk])

    case = report[site["case"].pk]
    assert case.warehouses == {sz: figures(13, 10, 6), la: figures(7, 7, 0)}
    assert case.warehouses[sz].available == 4  # the 3 in receiving are on hand but not sellable
    assert case.total == figures(20, 17, 6)
    assert case.total.available == 11

    cable = report[site["cable"].pk]
    assert cable.warehouses == {sz: figures(3, 3, 0), la: figures(0, 0, 0, incoming=2)}
    assert cable.total.as_dict() == {"on_hand": 3, "sellable": 3, "reserved": 0, "available": 3, "incoming": 2}


def test_bundle_is_the_minimum_over_components_of_figure_divided_by_quantity(site):
    sz, la = site["shenzhen"].pk, site["los_angeles"].pk
    kit = availability(product_ids=[site["kit"].pk])[site["kit"].pk]

    assert kit.is_bundle is True
    # Shenzhen: CASE on hand 13 // 2 = 6, sellable 10 // 2 = 5, available 4 // 2 = 2; CABLE 3 of each. The
    # reservations of CASE take 1 kit away from the 3 sellable ones.
    assert kit.warehouses[sz] == figures(on_hand=3, sellable=3, reserved=1, incoming=0)
    assert kit.warehouses[sz].available == 2
    # Los Angeles: 7 CASE make 3 kits' worth but there is no CABLE yet; the 2 on the way complete 2 kits.
    assert kit.warehouses[la] == figures(on_hand=0, sellable=0, reserved=0, incoming=2)
    # Across warehouses, kits are added up per warehouse (a kit ships from one warehouse): not min(11 // 2, 3).
    assert kit.total.as_dict() == {"on_hand": 3, "sellable": 3, "reserved": 1, "available": 2, "incoming": 2}
    assert set(availability(product_ids=[site["kit"].pk])) == {site["kit"].pk}


def test_warehouse_filter_counts_only_those_warehouses(site):
    sz = site["shenzhen"].pk
    report = availability(product_ids=[site["case"].pk, site["kit"].pk], warehouse_ids=[sz])
    assert report[site["case"].pk].warehouses == {sz: figures(13, 10, 6)}
    assert report[site["case"].pk].total.available == 4
    assert report[site["kit"].pk].total == figures(on_hand=3, sellable=3, reserved=1)


def test_without_a_product_filter_every_stocked_product_and_its_bundles_are_listed(site):
    ProductFactory(sku="NO-STOCK")
    empty_kit = BundleFactory(sku="EMPTY-KIT")
    BundleComponentFactory(bundle=empty_kit, component=ProductFactory(sku="NEVER-RECEIVED"), quantity=1)
    report = availability()
    assert {row.sku for row in report.values()} == {"CASE", "CABLE", "KIT"}
    la_only = availability(warehouse_ids=[site["los_angeles"].pk])
    assert {row.sku: row.total.available for row in la_only.values()} == {"CASE": 7, "CABLE": 0, "KIT": 0}
    assert la_only[site["cable"].pk].total.incoming == 2


def test_products_without_stock_and_bundles_without_components_are_zero(site):
    loose = ProductFactory(sku="LOOSE")
    hollow = BundleFactory(sku="HOLLOW")
    report = availability(product_ids=[loose.pk, hollow.pk])
    assert report[loose.pk].warehouses == {}
    assert report[loose.pk].total == StockFigures()
    assert report[hollow.pk].warehouses == {}
    assert report[hollow.pk].total.available == 0


def test_receiving_the_transfer_moves_incoming_into_available(site):
    from inventory.models import Transfer
    from inventory.transfer_services import transfer_receive

    transfer = Transfer.objects.get()
    transfer_receive(transfer=transfer, lines=[(site["cable"], 2)], bin=site["la_pick"])
    la = site["los_angeles"].pk
    report = availability(product_ids=[site["cable"].pk, site["kit"].pk])
    assert report[site["cable"].pk].warehouses[la] == figures(2, 2, 0, incoming=0)
    assert report[site["kit"].pk].warehouses[la] == figures(on_hand=2, sellable=2, reserved=0, incoming=0)
    assert report[site["kit"].pk].total.available == 4


def test_registered_incoming_sources_add_up(site):
    """Purchasing will add open purchase orders this way; here a source of 5 CASE on order for Los Angeles."""
    case_id, la = site["case"].pk, site["los_angeles"].pk

    def on_order(product_ids):
        return {(case_id, la): 5} if product_ids is None or case_id in product_ids else {}

    incoming_source_register(on_order)
    try:
        report = availability(product_ids=[site["case"].pk, site["kit"].pk])
    finally:
        stock_selectors.INCOMING_SOURCES.remove(on_order)
    assert report[case_id].warehouses[la] == figures(7, 7, 0, incoming=5)
    # In LA, (7 + 5) // 2 = 6 kits of CASE but only 0 + 2 CABLE: 2 more kits once everything arrives.
    assert report[site["kit"].pk].warehouses[la].incoming == 2


def test_availability_runs_the_same_queries_for_one_product_and_many(site, django_assert_num_queries):
    # Products, bundle components, balances, transfers in transit.
    with django_assert_num_queries(4):
        availability(product_ids=[site["kit"].pk])
    more = [ProductFactory() for _ in range(20)]
    for product in more:
        stock_receive(product=product, bin=site["sz_pick"], quantity=1)
    with django_assert_num_queries(4):
        report = availability(product_ids=[site["kit"].pk, site["case"].pk, *(product.pk for product in more)])
    assert len(report) == 22


def test_balances_with_available_annotates_the_same_rule(site):
    rows = {(row.product.sku, row.warehouse.code): row.available for row in stock_selectors.balances_with_available()}
    assert rows == {("CASE", "SZ"): 4, ("CABLE", "SZ"): 3, ("CASE", "LA"): 7}


def test_stock_levels_leave_zeros_out_unless_asked(site):
    stock_adjust(product=site["cable"], bin=site["sz_pick"], delta=-3, note="damaged")
    rows = [
        (level.bin.warehouse.code, level.bin.code, level.product.sku, level.on_hand)
        for level in stock_selectors.stock_levels()
    ]
    assert rows == [
        ("SZ", "A-01-01-01", "CASE", 10),
        ("SZ", "R-01-01-01", "CASE", 3),
        ("LA", "A-01-01-01", "CASE", 7),
    ]
    assert len(stock_selectors.stock_levels(include_zero=True)) == 4


def test_ledger_filters_and_is_newest_first(site):
    moves = ledger(product=site["cable"])
    assert [(move.reason, move.quantity) for move in moves] == [("transfer_out", 2), ("receipt", 5)]
    assert [move.reason for move in ledger(bin=site["sz_pick"])] == ["transfer_out", "receipt", "receipt"]
    assert [move.product.sku for move in ledger(warehouse=site["los_angeles"])] == ["CASE"]
    assert ledger(reference="TR-NOPE").count() == 0


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_ledger_page_of_a_busy_product_reads_the_product_index_in_order(site):
    """A page of a product with many moves reads the (product, -id) index in order and stops: no sort.

    The index is on id descending, so the newest-first walk is a plain forward index scan.
    """
    busy, other = site["case"], site["cable"]
    with connection.cursor() as cursor:
        # 40,000 moves in and out of one bin, in blocks of 20 (in, out, in, ...: they net to zero, so stock
        # still matches the ledger); one move in 20 is of the busy product, the others of another product.
        cursor.execute(
            """
            INSERT INTO inventory_stockmove (product_id, from_bin_id, to_bin_id, quantity, reason, reference, note,
                                             created_at)
            SELECT CASE WHEN n %% 20 = 0 THEN %s ELSE %s END,
                   CASE WHEN (n / 20) %% 2 = 1 THEN %s END,
                   CASE WHEN (n / 20) %% 2 = 0 THEN %s END,
                   1, 'adjustment', '', '', now()
            FROM generate_series(0, 39999) AS n
            """,
            [busy.pk, other.pk, site["la_pick"].pk, site["la_pick"].pk],
        )
        cursor.execute("ANALYZE inventory_stockmove")
    first_page = ledger(product=busy)[:101]
    assert "Index Scan using stockmove_product_id_idx" in _plan(first_page)
    assert "Sort" not in _plan(first_page)
    next_page = ledger(product=busy).filter(id__lt=StockMove.objects.order_by("-id")[5000].pk)[:101]
    assert "Index Scan using stockmove_product_id_idx" in _plan(next_page)
    assert len(list(first_page)) == 101
