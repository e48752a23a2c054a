"""factory_boy factories for suppliers and supplier products."""

from __future__ import annotations

from decimal import Decimal

import factory

from purchasing.models import Supplier, SupplierProduct
from tests.inventory.factories import ProductFactory


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Supplier {n:03d}")
    contact_name = "Li Wei"
    email = factory.Sequence(lambda n: f"sales{n}@supplier.example")
    phone = "+86 755 0000 0000"
    currency = "CNY"
    default_lead_time_days = 7
    is_active = True


class SupplierProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierProduct

    supplier = factory.SubFactory(SupplierFactory)
    product = factory.SubFactory(ProductFactory)
    supplier_sku = factory.Sequence(lambda n: f"S-{n:05d}")
    unit_cost = Decimal("12.5000")
    minimum_order_quantity = 10
    case_pack = 5
    lead_time_days = None
    is_preferred = False
