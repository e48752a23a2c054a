"""Load the demo catalogue through the apps' own services; creates what is missing and never overwrites."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from django.db import transaction

from core.roles import roles_ensure
from demo import catalogue
from demo.catalogue import DemoProduct, DemoSupplier, DemoWarehouse
from inventory.bulk import product_bulk_upsert
from inventory.models import Bin, Product, Warehouse
from inventory.services import bin_create, bin_generate, product_create, warehouse_create
from purchasing.models import Supplier, SupplierProduct
from purchasing.services import supplier_create, supplier_product_create


def _warehouse_data(warehouse: DemoWarehouse) -> dict[str, Any]:
    return {
        "code": warehouse.code,
        "name": warehouse.name,
        "kind": warehouse.kind,
        "country": warehouse.country,
        "address_line1": warehouse.address_line1,
        "address_line2": warehouse.address_line2,
        "city": warehouse.city,
        "state": warehouse.state,
        "postal_code": warehouse.postal_code,
        "contact_name": warehouse.contact_name,
        "phone": warehouse.phone,
        "priority": warehouse.priority,
        "bin_code_pattern": catalogue.BIN_CODE_PATTERN,
    }


def _product_row(product: DemoProduct, *, number: int) -> dict[str, Any]:
    """One row in the shape of a spreadsheet import: Product field names, text values."""
    length, width, height = product.dimensions_mm
    return {
        "sku": product.sku,
        "name": product.name,
        "barcode": catalogue.demo_barcode(number),
        "weight_g": str(product.weight_g),
        "length_mm": str(length),
        "width_mm": str(width),
        "height_mm": str(height),
        "declared_name_en": product.declared_name_en,
        "declared_name_zh": product.declared_name_zh,
        "hs_code": product.hs_code,
        "declared_value": product.declared_value_usd,
        "declared_currency": "USD",
        "origin_country": "CN",
        "contains_battery": "true" if product.contains_battery else "false",
        "contains_liquid": "true" if product.contains_liquid else "false",
        "cost_price": product.cost_cny,
        "cost_currency": "CNY",
    }


def _warehouses_ensure(created: Counter) -> dict[str, Warehouse]:
    existing = {
        warehouse.code: warehouse
        for warehouse in Warehouse.objects.filter(code__in=[demo.code for demo in catalogue.WAREHOUSES])
    }
    for demo_warehouse in catalogue.WAREHOUSES:
        if demo_warehouse.code not in existing:
            existing[demo_warehouse.code] = warehouse_create(data=_warehouse_data(demo_warehouse))
            created["warehouses"] += 1
    return existing


def _bins_ensure(warehouses: dict[str, Warehouse], created: Counter) -> None:
    for code, layouts in catalogue.RACK_LAYOUTS.items():
        warehouse = warehouses[code]
        for zones, aisles, racks, levels, kind in layouts:
            made = bin_generate(
                warehouse=warehouse,
                zones=zones,
                aisles=aisles,
                racks=racks,
                levels=levels,
                kind=kind,
                skip_existing=True,
            )
            created["bins"] += len(made)
        taken = set(Bin.objects.filter(warehouse=warehouse).values_list("code", flat=True))
        for bin_code, kind in catalogue.WORK_AREA_BINS[code]:
            if bin_code not in taken:
                bin_create(data={"warehouse": warehouse, "code": bin_code, "kind": kind})
                created["bins"] += 1


def _products_ensure(created: Counter) -> dict[str, Product]:
    skus = [product.sku for product in catalogue.PRODUCTS] + [bundle.sku for bundle in catalogue.BUNDLES]
    existing = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    # Barcodes are numbered by catalogue position so that a product keeps its barcode from run to run.
    rows = [
        _product_row(product, number=number)
        for number, product in enumerate(catalogue.PRODUCTS, start=1)
        if product.sku not in existing
    ]
    if rows:
        product_bulk_upsert(rows=rows)
        created["products"] += len(rows)
    by_sku = {product.sku: product for product in Product.objects.filter(sku__in=skus)}
    first_bundle_number = len(catalogue.PRODUCTS) + 1
    for number, bundle in enumerate(catalogue.BUNDLES, start=first_bundle_number):
        if bundle.sku in by_sku:
            continue
        components = [(by_sku[sku], quantity) for sku, quantity in bundle.components]
        by_sku[bundle.sku] = product_create(
            data={
                "sku": bundle.sku,
                "name": bundle.name,
                "barcode": catalogue.demo_barcode(number),
                "declared_name_en": bundle.declared_name_en,
                "declared_name_zh": bundle.declared_name_zh,
                "is_bundle": True,
            },
            components=components,
        )
        created["bundles"] += 1
    return by_sku


def _supplier_ensure(demo_supplier: DemoSupplier, created: Counter) -> Supplier:
    supplier = Supplier.objects.filter(name=demo_supplier.name).first()
    if supplier is not None:
        return supplier
    created["suppliers"] += 1
    return supplier_create(
        name=demo_supplier.name,
        contact_name=demo_supplier.contact_name,
        email=demo_supplier.email,
        phone=demo_supplier.phone,
        address=demo_supplier.address,
        currency="CNY",
        default_lead_time_days=demo_supplier.lead_time_days,
    )


def _supplier_products_ensure(products: dict[str, Product], created: Counter) -> None:
    suppliers = {demo.key: _supplier_ensure(demo, created) for demo in catalogue.SUPPLIERS}
    prefixes = {demo.key: demo.sku_prefix for demo in catalogue.SUPPLIERS}
    other_key = {"electronics": "general", "general": "electronics"}
    existing = set(
        SupplierProduct.objects.filter(supplier__in=suppliers.values()).values_list("supplier_id", "product_id")
    )
    # A person may have chosen another preferred supplier since the last run; that choice stands.
    has_preferred = set(SupplierProduct.objects.filter(is_preferred=True).values_list("product_id", flat=True))
    for number, demo_product in enumerate(catalogue.PRODUCTS, start=1):
        product = products[demo_product.sku]
        cost = Decimal(demo_product.cost_cny)
        sources = [(demo_product.supplier, cost, True)]
        if demo_product.sku in catalogue.SECOND_SOURCE_SKUS:
            marked_up = (cost * catalogue.SECOND_SOURCE_MARKUP).quantize(Decimal("0.01"))
            sources.append((other_key[demo_product.supplier], marked_up, False))
        for key, unit_cost, preferred in sources:
            supplier = suppliers[key]
            if (supplier.pk, product.pk) in existing:
                continue
            supplier_product_create(
                supplier=supplier,
                product=product,
                unit_cost=unit_cost,
                supplier_sku=f"{prefixes[key]}-{number:04d}",
                # Cheap small goods come in bigger minimums and cartons than chargers and power banks.
                minimum_order_quantity=50 if unit_cost < 5 else 20,
                case_pack=100 if demo_product.weight_g < 100 else 20,
                is_preferred=preferred and product.pk not in has_preferred,
            )
            created["supplier_products"] += 1


@transaction.atomic
def demo_data_load() -> dict[str, int]:
    """Create the demo warehouses, bins, products, bundles, suppliers and roles that do not exist yet.

    Idempotent: a second run creates nothing and leaves rows that exist (even edited ones) as they are.
    Returns how many of each kind were created.
    """
    created: Counter = Counter()
    roles_ensure()
    warehouses = _warehouses_ensure(created)
    _bins_ensure(warehouses, created)
    products = _products_ensure(created)
    _supplier_products_ensure(products, created)
    return {
        kind: created[kind] for kind in ("warehouses", "bins", "products", "bundles", "suppliers", "supplier_products")
    }
