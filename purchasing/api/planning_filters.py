"""Filters of the planning API lists: reorder policies, promotions and suggestions."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from inventory.api.filters import UpperCaseCharFilter
from inventory.api.stock_filters import PRODUCT_HELP, WAREHOUSE_HELP, product_ids_matching, warehouse_ids_matching
from purchasing.models import Promotion, ReorderPolicy, Suggestion, Supplier

SUPPLIER_HELP = "Supplier id or exact name (a number matches either)."


def supplier_ids_matching(value: str) -> list[int]:
    """Ids of the suppliers whose id or name is ``value``, found before filtering (names compared case-blind)."""
    name = value.strip()
    condition = Q(name__iexact=name)
    if name.isascii() and name.isdigit():
        condition |= Q(pk=int(name))
    return list(Supplier.objects.filter(condition).values_list("pk", flat=True))


class ReorderPolicyFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(method="filter_product", help_text=PRODUCT_HELP)
    warehouse = django_filters.CharFilter(method="filter_warehouse", help_text=WAREHOUSE_HELP)
    is_global = django_filters.BooleanFilter(
        method="filter_is_global", help_text="The global policy (no product, no warehouse), or the overrides."
    )

    class Meta:
        model = ReorderPolicy
        fields = ["product", "warehouse", "is_global", "is_active"]

    def filter_product(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(product_id__in=product_ids_matching(value))

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(warehouse_id__in=warehouse_ids_matching(value))

    def filter_is_global(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        is_global = Q(product__isnull=True, warehouse__isnull=True)
        return queryset.filter(is_global) if value else queryset.exclude(is_global)


class PromotionFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(
        method="filter_product", help_text=PRODUCT_HELP + " Promotions of every product are included."
    )
    active_on = django_filters.DateFilter(method="filter_active_on", help_text="Promotions running on this day.")

    class Meta:
        model = Promotion
        fields = ["product", "active_on"]

    def filter_product(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(product_id__in=product_ids_matching(value)) | Q(product__isnull=True))

    def filter_active_on(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset.filter(starts_on__lte=value, ends_on__gte=value)


class SuggestionFilter(django_filters.FilterSet):
    supplier = django_filters.CharFilter(
        method="filter_supplier", help_text=SUPPLIER_HELP + " The supplier of the suggested supplier product."
    )
    warehouse = django_filters.CharFilter(method="filter_warehouse", help_text=WAREHOUSE_HELP)
    product = django_filters.CharFilter(method="filter_product", help_text=PRODUCT_HELP)
    sku = UpperCaseCharFilter(field_name="product__sku", help_text="Product SKU, exactly (any case).")
    urgency = django_filters.MultipleChoiceFilter(
        choices=Suggestion.Urgency.choices, help_text="One or more urgencies (repeat the parameter)."
    )
    kind = django_filters.ChoiceFilter(choices=Suggestion.Kind.choices, help_text="Purchase or transfer.")
    status = django_filters.MultipleChoiceFilter(
        choices=Suggestion.Status.choices, help_text="One or more statuses (repeat the parameter)."
    )
    needs_order = django_filters.BooleanFilter(
        method="filter_needs_order", help_text="true: a quantity to order (> 0); false: nothing to order."
    )

    class Meta:
        model = Suggestion
        fields = ["supplier", "warehouse", "product", "sku", "urgency", "kind", "status", "needs_order"]

    def filter_supplier(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(supplier_product__supplier_id__in=supplier_ids_matching(value))

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(warehouse_id__in=warehouse_ids_matching(value))

    def filter_product(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(product_id__in=product_ids_matching(value))

    def filter_needs_order(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(quantity__gt=0) if value else queryset.filter(quantity=0)
