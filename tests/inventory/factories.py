"""factory_boy factories for inventory master data: products, bundle components, warehouses and bins."""

from __future__ import annotations

from decimal import Decimal

import factory

from core.validators import gtin_check_digit
from inventory.models import Bin, BundleComponent, Product, Warehouse


def ean13(number: int) -> str:
    """A valid EAN-13 in the 200-299 "in-store" prefix range, unique per ``number`` (< 10**9)."""
    body = f"200{number:09d}"
    return body + str(gtin_check_digit(body))


def bin_code(number: int, zone: str = "A") -> str:
    """A zone-aisle-rack-level code that follows the default warehouse scheme, unique per ``number`` (< 10**6)."""
    return f"{zone}-{(number // 10000) % 100:02d}-{(number // 100) % 100:02d}-{number % 100:02d}"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Test product {n}")
    barcode = factory.Sequence(ean13)
    weight_g = 250
    length_mm = 120
    width_mm = 80
    height_mm = 40
    declared_name_en = "Phone case"
    declared_name_zh = "手机壳"
    hs_code = "392690"
    declared_value = Decimal("5.00")
    declared_currency = "USD"
    origin_country = "CN"
    contains_battery = False
    contains_liquid = False
    cost_price = Decimal("8.5000")
    cost_currency = "CNY"
    is_bundle = False
    is_active = True


class BundleFactory(ProductFactory):
    """A bundle SKU without components; add them with BundleComponentFactory(bundle=...)."""

    sku = factory.Sequence(lambda n: f"KIT-{n:05d}")
    name = factory.Sequence(lambda n: f"Test bundle {n}")
    is_bundle = True


class BundleComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BundleComponent

    bundle = factory.SubFactory(BundleFactory)
    component = factory.SubFactory(ProductFactory)
    quantity = 1


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"WH{n:03d}")
    name = factory.Sequence(lambda n: f"Warehouse {n}")
    kind = Warehouse.Kind.OWN
    country = "CN"
    city = "Shenzhen"
    priority = 100
    is_active = True


class BinFactory(factory.django.DjangoModelFactory):
    """A pick bin whose code follows the warehouse's default scheme (A-00-00-01, A-00-00-02, ...)."""

    class Meta:
        model = Bin

    warehouse = factory.SubFactory(WarehouseFactory)
    code = factory.Sequence(lambda n: bin_code(n + 1))
    zone = factory.LazyAttribute(lambda bin_: bin_.code.split("-", 1)[0])
    kind = Bin.Kind.PICK
    is_sellable = factory.LazyAttribute(lambda bin_: bin_.kind in Bin.SELLABLE_BY_DEFAULT)
    pick_sequence = factory.Sequence(lambda n: n + 1)
    is_active = True
