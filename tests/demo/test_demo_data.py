"""The demo catalogue loads through the services, is valid master data, and loading it again changes nothing."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.db.models import Count, Max, Q

from core.roles import ROLES
from core.validators import gtin_check_digit
from demo import catalogue
from demo.services import demo_data_load
from inventory.models import Bin, BundleComponent, Product, Warehouse
from purchasing.models import Supplier, SupplierProduct

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
    Bin.objects.filter(warehouse__code="SZ", code="A-01-01-01").delete()

    created = demo_data_load()

    assert Product.objects.get(sku="GT-PRUNER").name == "Pruning shears (renamed by a person)"
    # What was deleted comes back: the demo data only fills in what is missing.
    assert created["bins"] == 1
    assert Bin.objects.filter(warehouse__code="SZ", code="A-01-01-01").exists()
