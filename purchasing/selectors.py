"""Reads of suppliers and supplier products, with the joins their lists need."""

from __future__ import annotations

from django.db.models import QuerySet

from purchasing.models import Supplier, SupplierProduct


def supplier_list() -> QuerySet[Supplier]:
    return Supplier.objects.all()


def supplier_product_list() -> QuerySet[SupplierProduct]:
    """Supplier products with their supplier and product, so a page of them is one query."""
    return SupplierProduct.objects.select_related("supplier", "product")
