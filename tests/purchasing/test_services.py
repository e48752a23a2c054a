"""Supplier and supplier product services: validation errors, and the one-preferred-supplier rule under a lock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import ValidationFailed
from purchasing.models import Supplier, SupplierProduct
from purchasing.services import (
    supplier_create,
    supplier_product_create,
    supplier_product_update,
    supplier_update,
)
from tests.inventory.factories import ProductFactory
from tests.purchasing.factories import SupplierFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db


def test_supplier_create_trims_name_and_upper_cases_currency():
    supplier = supplier_create(name="  Shenzhen Case Co. ", currency="usd", default_lead_time_days=12)
    supplier.refresh_from_db()
    assert (supplier.name, supplier.currency, supplier.default_lead_time_days, supplier.is_active) == (
        "Shenzhen Case Co.",
        "USD",
        12,
        True,
    )


def test_supplier_create_reports_every_bad_field():
    SupplierFactory(name="Taken")
    with pytest.raises(ValidationFailed) as caught:
        supplier_create(name="Taken", currency="XXY", email="not-an-email")
    assert sorted((error.field, error.code) for error in caught.value.errors) == [
        ("currency", "currency"),
        ("email", "invalid"),
        ("name", "unique"),
    ]
    assert Supplier.objects.count() == 1


def test_supplier_update_changes_only_given_fields_and_refuses_unknown_ones():
    supplier = SupplierFactory(name="Acme", default_lead_time_days=7, currency="CNY")
    supplier_update(supplier=supplier, data={"default_lead_time_days": 21})
    supplier.refresh_from_db()
    assert (supplier.name, supplier.default_lead_time_days, supplier.currency) == ("Acme", 21, "CNY")

    with pytest.raises(ValidationFailed) as caught:
        supplier_update(supplier=supplier, data={"rating": 5})
    assert [(error.field, error.code) for error in caught.value.errors] == [("rating", "unknown_field")]


def test_create_preferred_unsets_the_products_other_preferred_row():
    product = ProductFactory()
    first = SupplierProductFactory(product=product, is_preferred=True)
    other_product_row = SupplierProductFactory(is_preferred=True)

    second = supplier_product_create(
        supplier=SupplierFactory(), product=product, unit_cost=Decimal("3.2"), is_preferred=True
    )

    assert list(SupplierProduct.objects.filter(product=product, is_preferred=True)) == [second]
    first.refresh_from_db()
    other_product_row.refresh_from_db()
    assert (first.is_preferred, other_product_row.is_preferred) == (False, True)


def test_update_to_preferred_moves_the_flag_and_locks_the_product_row_first():
    product = ProductFactory()
    preferred = SupplierProductFactory(product=product, is_preferred=True)
    challenger = SupplierProductFactory(product=product, is_preferred=False)

    with CaptureQueriesContext(connection) as captured:
        supplier_product_update(supplier_product=challenger, data={"is_preferred": True})

    statements = [query["sql"] for query in captured.captured_queries]
    lock = next(
        index
        for index, sql in enumerate(statements)
        if sql.startswith('SELECT "inventory_product"."id"') and sql.endswith("FOR NO KEY UPDATE")
    )
    unset = next(
        index
        for index, sql in enumerate(statements)
        if sql.startswith('UPDATE "purchasing_supplierproduct" SET "is_preferred" = false')
    )
    assert lock < unset
    assert f'"inventory_product"."id" = {product.pk}' in statements[lock]
    preferred.refresh_from_db()
    challenger.refresh_from_db()
    assert (preferred.is_preferred, challenger.is_preferred) == (False, True)


def test_update_without_preferred_takes_no_lock():
    row = SupplierProductFactory(is_preferred=False)
    with CaptureQueriesContext(connection) as captured:
        supplier_product_update(supplier_product=row, data={"unit_cost": Decimal("9.99")})
    assert not any("FOR NO KEY UPDATE" in query["sql"] for query in captured.captured_queries)
    row.refresh_from_db()
    assert row.unit_cost == Decimal("9.9900")


def test_supplier_product_errors_name_fields_and_save_nothing():
    product = ProductFactory()
    supplier = SupplierFactory()
    SupplierProductFactory(supplier=supplier, product=product, supplier_sku="ABC-1")

    with pytest.raises(ValidationFailed) as caught:
        supplier_product_create(
            supplier=supplier, product=ProductFactory(), unit_cost=Decimal("-1"), case_pack=0, supplier_sku="ABC-2"
        )
    assert sorted((error.field, error.code) for error in caught.value.errors) == [
        ("case_pack", "min_value"),
        ("unit_cost", "min_value"),
    ]

    with pytest.raises(ValidationFailed) as caught:
        supplier_product_create(
            supplier=supplier, product=ProductFactory(), unit_cost=Decimal("1"), supplier_sku="ABC-1"
        )
    assert [(error.field, error.code, error.message) for error in caught.value.errors] == [
        ("supplier_sku", "unique", f"Supplier SKU ABC-1 is already used by {supplier.name} for {product.sku}.")
    ]

    with pytest.raises(ValidationFailed) as caught:
        supplier_product_create(supplier=supplier, product=product, unit_cost=Decimal("1"))
    assert [(error.field, error.code, error.message) for error in caught.value.errors] == [
        ("product", "unique", f"{supplier.name} already has a row for {product.sku}; change that one instead.")
    ]
    assert SupplierProduct.objects.count() == 1


def test_failed_preferred_create_leaves_the_old_preferred_row_alone():
    product = ProductFactory()
    preferred = SupplierProductFactory(product=product, is_preferred=True)

    with pytest.raises(ValidationFailed):
        supplier_product_create(supplier=SupplierFactory(), product=product, unit_cost=Decimal("-5"), is_preferred=True)

    preferred.refresh_from_db()
    assert preferred.is_preferred is True
