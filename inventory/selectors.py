"""Reads of inventory master data, each with the joins its callers need so lists run a fixed number of queries."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from core.errors import NotFound
from inventory.models import Bin, BundleComponent, Product, Warehouse, normalize_code


def bundle_components_queryset() -> QuerySet[BundleComponent]:
    """Components with their product, in the order they were given."""
    return BundleComponent.objects.select_related("component").order_by("id")


def product_list() -> QuerySet[Product]:
    """Products in natural SKU order, with their bundle components (and each component's product) prefetched."""
    return Product.objects.prefetch_related(Prefetch("components", queryset=bundle_components_queryset())).order_by(
        "sku_sort"
    )


def product_get(*, pk: int) -> Product:
    try:
        return product_list().get(pk=pk)
    except Product.DoesNotExist as exc:
        raise NotFound(_("Product %(pk)s does not exist.") % {"pk": pk}, code="product_not_found") from exc


def product_get_by_code(*, code: str) -> Product:
    """The product whose SKU (trimmed, any case) or barcode is ``code``: what a scanner or a person types."""
    value = (code or "").strip()
    found = product_list().filter(Q(sku=normalize_code(value)) | Q(barcode=value)).first() if value else None
    if found is None:
        raise NotFound(
            _("No product has SKU or barcode %(code)s.") % {"code": repr(value)},
            code="product_not_found",
            code_scanned=value,
        )
    return found


def products_by_sku(*, skus: list[str]) -> dict[str, Product]:
    """SKU (normalized) → product for the given SKUs, in one query; unknown SKUs are simply missing."""
    normalized = {normalize_code(sku) for sku in skus}
    return {product.sku: product for product in Product.objects.filter(sku__in=normalized)}


def bundle_components_of(*, bundle: Product) -> list[tuple[Product, int]]:
    """What one unit of ``bundle`` is made of, as (component, quantity); empty for a product that is no bundle."""
    return [(line.component, line.quantity) for line in bundle_components_queryset().filter(bundle=bundle)]


def warehouse_list() -> QuerySet[Warehouse]:
    """Warehouses by priority (lower first), then code."""
    return Warehouse.objects.order_by("priority", "code")


def bin_list() -> QuerySet[Bin]:
    """Bins with their warehouse, by warehouse then natural code order (A-2 before A-10)."""
    return Bin.objects.select_related("warehouse").order_by("warehouse_id", "code_sort")


def bin_pick_path(*, warehouse: Warehouse) -> QuerySet[Bin]:
    """Active bins of a warehouse in the order a picker walks them (pick sequence, then natural code)."""
    return bin_list().filter(warehouse=warehouse, is_active=True).order_by("pick_sequence", "code_sort")
