"""Filters of the purchase order list (and of its export, which takes the same parameters)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from core.api.references import ID_MAX
from inventory.api.stock_filters import WAREHOUSE_HELP, product_ids_matching, warehouse_ids_matching
from purchasing.models import PurchaseOrder, PurchaseOrderLine, Supplier


def supplier_ids_matching(value: str) -> list[int]:
    """Ids of the suppliers whose id or name is ``value`` (a number matches either)."""
    name = value.strip()
    condition = Q(name=name)
    # ASCII digits only: str.isdigit() also takes "¹" and "٣", which int() refuses; an id past a bigint names nothing.
    if name.isascii() and name.isdigit() and int(name) <= ID_MAX:
        condition |= Q(pk=int(name))
    return list(Supplier.objects.filter(condition).values_list("pk", flat=True))


class PurchaseOrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=PurchaseOrder.Status.choices)
    supplier = django_filters.CharFilter(
        method="filter_supplier", help_text="Supplier id or name (a number matches either)."
    )
    warehouse = django_filters.CharFilter(method="filter_warehouse", help_text=WAREHOUSE_HELP)
    sku = django_filters.CharFilter(method="filter_sku", help_text="Orders with a line of this product (SKU or id).")
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", help_text="Made on or after this day."
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", help_text="Made on or before this day."
    )
    expected_after = django_filters.DateFilter(
        field_name="expected_on", lookup_expr="gte", help_text="Expected on or after this day."
    )
    expected_before = django_filters.DateFilter(
        field_name="expected_on", lookup_expr="lte", help_text="Expected on or before this day."
    )

    class Meta:
        model = PurchaseOrder
        fields = [
            "status",
            "supplier",
            "warehouse",
            "sku",
            "created_after",
            "created_before",
            "expected_after",
            "expected_before",
        ]

    def filter_supplier(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(supplier_id__in=supplier_ids_matching(value))

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(warehouse_id__in=warehouse_ids_matching(value))

    def filter_sku(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        orders = PurchaseOrderLine.objects.filter(product_id__in=product_ids_matching(value)).values(
            "purchase_order_id"
        )
        return queryset.filter(pk__in=orders)
