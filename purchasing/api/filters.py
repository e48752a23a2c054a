"""Filters of the purchasing API lists."""

from __future__ import annotations

import django_filters

from purchasing.models import Supplier, SupplierProduct


class SupplierFilter(django_filters.FilterSet):
    currency = django_filters.CharFilter(method="filter_currency")

    class Meta:
        model = Supplier
        fields = ["currency", "is_active"]

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper())


class SupplierProductFilter(django_filters.FilterSet):
    product_sku = django_filters.CharFilter(method="filter_product_sku", label="Product SKU (exact)")

    class Meta:
        model = SupplierProduct
        fields = ["supplier", "product", "product_sku", "is_preferred"]

    def filter_product_sku(self, queryset, name, value):
        # SKUs are stored upper-cased; a scanner or a person may type them in any case.
        return queryset.filter(product__sku=value.strip().upper())
