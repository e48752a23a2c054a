"""Database invariants of inventory master data: every CHECK and UNIQUE constraint, and natural sort order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from inventory.models import Bin, BundleComponent, Product, Warehouse
from tests.inventory.factories import (
    BinFactory,
    BundleComponentFactory,
    ProductFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db


def violated_constraint(create) -> str:
    """Run ``create`` expecting the database to refuse it; return the name of the constraint it broke."""
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        create()
    return caught.value.__cause__.diag.constraint_name


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"sku": "ab-1"}, "product_sku_format"),
        ({"sku": "AB 1"}, "product_sku_format"),
        ({"barcode": "12345"}, "product_barcode_digits"),
        ({"barcode": "ABCDEFGH"}, "product_barcode_digits"),
        ({"hs_code": "12345"}, "product_hs_code_format"),
        ({"hs_code": "6109.10"}, "product_hs_code_format"),
        ({"declared_value": Decimal("-0.01")}, "product_declared_value_not_negative"),
        ({"cost_price": Decimal("-1")}, "product_cost_not_negative"),
        ({"origin_country": "cn"}, "product_origin_iso2"),
    ],
)
def test_product_check_constraints_reject_bad_rows(overrides, constraint):
    values = {"sku": "GOOD-1", "name": "Good", "barcode": "", **overrides}
    assert violated_constraint(lambda: Product.objects.create(**values)) == constraint
    assert Product.objects.count() == 0


def test_product_sku_is_unique():
    ProductFactory(sku="DUP-1")
    assert violated_constraint(lambda: Product.objects.create(sku="DUP-1", name="again")) == "inventory_product_sku_key"


def test_product_barcode_is_unique_when_given_and_blank_may_repeat():
    ProductFactory(sku="A-1", barcode="4006381333931")
    assert (
        violated_constraint(lambda: Product.objects.create(sku="A-2", name="x", barcode="4006381333931"))
        == "product_barcode_unique"
    )
    Product.objects.create(sku="B-1", name="no barcode")
    Product.objects.create(sku="B-2", name="no barcode either")
    assert Product.objects.filter(barcode="").count() == 2


def test_bundle_component_constraints():
    component = BundleComponentFactory(quantity=2)
    bundle = component.bundle
    assert (
        violated_constraint(
            lambda: BundleComponent.objects.create(bundle=bundle, component=component.component, quantity=1)
        )
        == "bundle_component_unique"
    )
    other = ProductFactory()
    assert (
        violated_constraint(lambda: BundleComponent.objects.create(bundle=bundle, component=other, quantity=0))
        == "bundle_component_quantity_positive"
    )
    assert (
        violated_constraint(lambda: BundleComponent.objects.create(bundle=bundle, component=bundle, quantity=1))
        == "bundle_not_own_component"
    )
    assert list(bundle.components.values_list("component__sku", "quantity")) == [(component.component.sku, 2)]


def test_a_product_used_in_a_bundle_cannot_be_deleted_but_the_bundle_can():
    line = BundleComponentFactory()
    with pytest.raises(ProtectedError):
        line.component.delete()
    line.bundle.delete()
    assert BundleComponent.objects.count() == 0
    assert Product.objects.filter(pk=line.component.pk).exists()


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"code": "wh-1"}, "warehouse_code_format"),
        ({"code": "WH.1"}, "warehouse_code_format"),
        ({"country": "1A"}, "warehouse_country_iso2"),
        ({"country": "us"}, "warehouse_country_iso2"),
    ],
)
def test_warehouse_check_constraints_reject_bad_rows(overrides, constraint):
    values = {"code": "WH-1", "name": "Main", "country": "CN", **overrides}
    assert violated_constraint(lambda: Warehouse.objects.create(**values)) == constraint


def test_warehouse_code_is_unique():
    WarehouseFactory(code="SZ")
    assert (
        violated_constraint(lambda: Warehouse.objects.create(code="SZ", name="again", country="CN"))
        == "inventory_warehouse_code_key"
    )


def test_bin_code_is_unique_per_warehouse_only():
    first, second = WarehouseFactory(), WarehouseFactory()
    BinFactory(warehouse=first, code="A-01-01-01")
    assert (
        violated_constraint(lambda: Bin.objects.create(warehouse=first, code="A-01-01-01"))
        == "bin_code_unique_per_warehouse"
    )
    Bin.objects.create(warehouse=second, code="A-01-01-01")
    assert Bin.objects.filter(code="A-01-01-01").count() == 2


@pytest.mark.parametrize("code", ["a-01-01-01", "A 01", "A/01", ""])
def test_bin_code_format_is_checked_by_the_database(code):
    warehouse = WarehouseFactory()
    assert violated_constraint(lambda: Bin.objects.create(warehouse=warehouse, code=code)) == "bin_code_format"


def test_a_warehouse_with_bins_cannot_be_deleted():
    bin_ = BinFactory()
    with pytest.raises(ProtectedError):
        bin_.warehouse.delete()


def test_products_sort_naturally_by_default():
    for sku in ["A-10", "A-2", "B-1", "A-1", "A-02-10", "A-02-9"]:
        ProductFactory(sku=sku, barcode="")
    assert list(Product.objects.values_list("sku", flat=True)) == ["A-1", "A-2", "A-02-9", "A-02-10", "A-10", "B-1"]


def test_bins_sort_naturally_within_their_warehouse():
    warehouse = WarehouseFactory(bin_code_pattern="")
    for code in ["A-10-1", "A-2-1", "A-2-10", "A-2-2", "B-1-1"]:
        BinFactory(warehouse=warehouse, code=code)
    assert list(Bin.objects.filter(warehouse=warehouse).values_list("code", flat=True)) == [
        "A-2-1",
        "A-2-2",
        "A-2-10",
        "A-10-1",
        "B-1-1",
    ]


def test_sort_columns_are_computed_by_the_database():
    product = ProductFactory(sku="X-7")
    product.refresh_from_db()
    assert product.sku_sort == "X-000000000007"
    bin_ = BinFactory(code="A-01-02-03")
    bin_.refresh_from_db()
    assert bin_.code_sort == "A-000000000001-000000000002-000000000003"
