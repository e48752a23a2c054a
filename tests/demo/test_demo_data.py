"""The demo catalogue loads through the services, is valid master data, and loading it again changes nothing."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from core.roles import ROLES
from core.validators import gtin_check_digit
from demo import catalogue
from demo.services import demo_data_load
from inventory import stock_selectors
from inventory.ledger import stock_drift_check
from inventory.models import (
    Bin,
    BundleComponent,
    InventoryBalance,
    Product,
    Reservation,
    ReservationEvent,
    StockCount,
    StockMove,
    Transfer,
    Warehouse,
)
from purchasing.models import PurchaseOrder, ReorderPolicy, Suggestion, Supplier, SupplierProduct

pytestmark = pytest.mark.django_db

MODELS = (Warehouse, Bin, Product, BundleComponent, Supplier, SupplierProduct)


def snapshot() -> dict[str, tuple]:
    """Row count and latest change of every model the demo data fills."""
    state = {}
    for model in MODELS:
        latest = "updated_at" if hasattr(model, "updated_at") else "id"
        state[model.__name__] = (model.objects.count(), model.objects.aggregate(latest=Max(latest))["latest"])
    return state


def test_demo_data_creates_two_warehouses_with_bins_that_follow_their_scheme():
    created = demo_data_load()

    assert created["warehouses"] == 2
    shenzhen = Warehouse.objects.get(code="SZ")
    los_angeles = Warehouse.objects.get(code="LA")
    assert (shenzhen.kind, shenzhen.country, shenzhen.city) == ("own", "CN", "Shenzhen")
    assert (los_angeles.kind, los_angeles.country, los_angeles.state) == ("overseas", "US", "CA")
    assert 200 <= shenzhen.bins.count() <= 500
    assert 10 <= los_angeles.bins.count() < shenzhen.bins.count()
    assert created["bins"] == Bin.objects.count()
    for warehouse in (shenzhen, los_angeles):
        codes = list(warehouse.bins.values_list("code", flat=True))
        assert all(re.fullmatch(warehouse.bin_code_pattern, code) for code in codes)
        kinds = set(warehouse.bins.values_list("kind", flat=True))
        assert {"pick", "receiving", "packing", "quarantine", "shipping"} <= kinds
    # Work areas hold no sellable stock; rack bins do.
    assert not Bin.objects.filter(
        kind__in=["receiving", "packing", "quarantine", "shipping"], is_sellable=True
    ).exists()
    assert not Bin.objects.filter(kind__in=["pick", "bulk"], is_sellable=False).exists()


def test_shenzhen_pick_path_snakes_through_the_aisles():
    demo_data_load()
    path = list(
        Bin.objects.filter(warehouse__code="SZ", kind="pick", zone="A", code__regex=r"^A-0[12]-")
        .order_by("pick_sequence")
        .values_list("code", flat=True)
    )
    # Aisle 1 walks racks up, aisle 2 walks them back down, so the picker never walks an aisle empty-handed.
    assert path[:2] == ["A-01-01-01", "A-01-01-02"]
    assert path[23] == "A-01-06-04"
    assert path[24] == "A-02-06-01"
    assert path[-1] == "A-02-01-04"


def test_demo_products_have_valid_bilingual_customs_data():
    demo_data_load()

    products = Product.objects.filter(is_bundle=False)
    assert products.count() == len(catalogue.PRODUCTS) >= 45
    for product in products:
        product.full_clean()  # every validator of the model: SKU, EAN-13 check digit, HS code, country, currency
        assert len(product.barcode) == 13
        assert int(product.barcode[-1]) == gtin_check_digit(product.barcode[:-1])
        assert product.declared_name_en
        assert re.search(r"[\u4e00-\u9fff]", product.declared_name_zh), product.sku
        assert product.weight_g and product.length_mm and product.width_mm and product.height_mm
        assert product.declared_value > 0 and product.declared_currency == "USD"
        assert product.cost_price > 0 and product.cost_currency == "CNY"
    assert Product.objects.get(sku="PB-10K-WHT").contains_battery
    assert Product.objects.get(sku="LQ-PERF-30").contains_liquid
    assert Product.objects.get(sku="CBL-USBC-1M").declared_name_zh == "数据线"
    assert Product.objects.get(sku="PC-IP15-CLR").declared_name_zh == "手机壳"
    assert Product.objects.filter(contains_battery=True).count() >= 5
    assert Product.objects.filter(contains_liquid=True).count() >= 3
    assert len(set(products.values_list("barcode", flat=True))) == products.count()


def test_demo_bundles_are_made_of_demo_products():
    demo_data_load()

    bundles = Product.objects.filter(is_bundle=True).order_by("sku")
    assert [bundle.sku for bundle in bundles] == sorted(bundle.sku for bundle in catalogue.BUNDLES)
    kit = {line.component.sku: line.quantity for line in BundleComponent.objects.filter(bundle__sku="BDL-IP15-KIT")}
    assert kit == {"PC-IP15-CLR": 1, "SP-IP15-GLS": 1, "CBL-USBC-1M": 1}
    three_pack = BundleComponent.objects.get(bundle__sku="BDL-CBL-3PK")
    assert (three_pack.component.sku, three_pack.quantity) == ("CBL-USBC-1M", 3)


def test_every_demo_product_has_exactly_one_preferred_supplier_in_cny():
    demo_data_load()

    assert Supplier.objects.count() == 2
    assert set(Supplier.objects.values_list("currency", flat=True)) == {"CNY"}
    preferred = Product.objects.filter(is_bundle=False).annotate(
        preferred=Count("supplier_products", filter=Q(supplier_products__is_preferred=True))
    )
    assert {product.preferred for product in preferred} == {1}
    # Second sources exist and are never the preferred one.
    cable_offers = SupplierProduct.objects.filter(product__sku="CBL-USBC-1M").order_by("-is_preferred")
    assert [offer.is_preferred for offer in cable_offers] == [True, False]
    assert cable_offers[1].unit_cost > cable_offers[0].unit_cost
    power_bank = SupplierProduct.objects.get(product__sku="PB-10K-WHT")
    assert "Shenzhen" in power_bank.supplier.name
    perfume = SupplierProduct.objects.get(product__sku="LQ-PERF-30")
    assert "Yiwu" in perfume.supplier.name


def test_demo_data_creates_the_roles():
    demo_data_load()
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)


def test_loading_the_demo_data_again_creates_and_changes_nothing():
    first = demo_data_load()
    before = snapshot()

    second = demo_data_load()

    assert sum(first.values()) > 300
    assert second == dict.fromkeys(first, 0)
    assert snapshot() == before


def test_loading_again_keeps_what_a_person_changed():
    demo_data_load()
    Product.objects.filter(sku="GT-PRUNER").update(name="Pruning shears (renamed by a person)")
    empty = Bin.objects.filter(warehouse__code="SZ", kind="pick", stock_levels__isnull=True).order_by("code_sort")[0]
    empty_code = empty.code
    empty.delete()

    created = demo_data_load()

    assert Product.objects.get(sku="GT-PRUNER").name == "Pruning shears (renamed by a person)"
    # What was deleted comes back: the demo data only fills in what is missing.
    assert created["bins"] == 1
    assert Bin.objects.filter(warehouse__code="SZ", code=empty_code).exists()


def test_the_demo_has_stock_work_in_progress_and_a_user_per_role():
    created = demo_data_load(password="demo-pass-123")

    balances = InventoryBalance.objects.values("warehouse__code").annotate(units=Sum("on_hand"), products=Count("id"))
    units = {row["warehouse__code"]: (row["units"], row["products"]) for row in balances}
    assert units["SZ"][0] > 5_000 and units["SZ"][1] >= 40
    assert units["LA"][0] > 0 and units["LA"][1] == catalogue.OVERSEAS_PRODUCTS
    # Opening stock came in through counts, so every unit has its ledger row.
    assert StockMove.objects.filter(reason="count").count() == created["opening_stock_rows"]
    assert stock_drift_check().ok
    # Some products have no stock, so the home page has something to say about them.
    assert stock_selectors.products_without_stock_count() >= 3

    transfer = Transfer.objects.get(note=catalogue.TRANSFER_NOTE)
    assert (transfer.status, transfer.carrier_reference) == ("shipped", catalogue.TRANSFER_CARRIER_REFERENCE)
    assert StockCount.objects.get(note=catalogue.COUNT_NOTE).status == "open"
    # The buyer's side: a purchase order due at Shenzhen today for the floor to receive, Ontario refilled from
    # Shenzhen (its suggestions are transfers), and a suggestion per product and warehouse.
    order = PurchaseOrder.objects.get(note=catalogue.PURCHASE_ORDER_NOTE)
    assert (order.status, order.warehouse.code, order.expected_on) == ("submitted", "SZ", timezone.localdate())
    assert sorted(order.lines.values_list("product__sku", "quantity")) == sorted(catalogue.PURCHASE_ORDER_LINES)
    assert ReorderPolicy.objects.get(warehouse__code="LA").replenish_from.code == "SZ"
    products = Product.objects.filter(is_active=True, is_bundle=False).count()
    assert Suggestion.objects.filter(warehouse__code="SZ", kind="purchase").count() == products
    assert Suggestion.objects.filter(warehouse__code="LA", kind="transfer").count() == products
    reservations = Reservation.objects.filter(reference__startswith="order-line:").order_by("id")
    assert [(row.quantity_reserved > 0, row.quantity_picked > 0, row.quantity_shipped > 0) for row in reservations][
        :3
    ] == [
        (False, False, True),
        (False, True, False),
        (True, False, False),
    ]
    assert set(ReservationEvent.objects.values_list("user__username", flat=True)) == {"service", "picker"}

    users = {
        user.username: user for user in get_user_model().objects.filter(username__in=[u[0] for u in catalogue.USERS])
    }
    assert {name: [group.name for group in user.groups.all()] for name, user in users.items()} == {
        username: [role] for username, role, _, _ in catalogue.USERS
    }
    assert all(user.is_staff and user.check_password("demo-pass-123") for user in users.values())


def test_the_work_of_the_demo_is_made_once():
    demo_data_load()
    moves = StockMove.objects.count()
    second = demo_data_load()
    assert second == dict.fromkeys(second, 0)
    assert StockMove.objects.count() == moves
    assert Transfer.objects.count() == 1 and StockCount.objects.filter(status="open").count() == 1
