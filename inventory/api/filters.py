"""Filters and natural ordering for the inventory API lists."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from rest_framework.filters import OrderingFilter

from inventory.models import Bin, Product, Warehouse, normalize_code


class NaturalOrderingFilter(OrderingFilter):
    """``?ordering=sku`` sorts by the stored natural-sort column (A-2 before A-10) named in ``ordering_aliases``.

    The primary key is appended so that pages stay stable when the chosen column has ties.
    """

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            return ordering
        aliases = getattr(view, "ordering_aliases", {})
        mapped = []
        for term in ordering:
            descending = term.startswith("-")
            name = term.lstrip("-")
            mapped.append(("-" if descending else "") + aliases.get(name, name))
        if not any(term.lstrip("-") in ("pk", "id") for term in mapped):
            mapped.append("pk")
        return mapped


class UpperCaseCharFilter(django_filters.CharFilter):
    """Codes are stored upper-cased, so ``?origin_country=cn`` finds CN."""

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        return super().filter(qs, normalize_code(value) if value else value)


class ProductFilter(django_filters.FilterSet):
    origin_country = UpperCaseCharFilter(help_text="ISO 3166-1 alpha-2 country of origin, e.g. CN.")

    class Meta:
        model = Product
        fields = ["is_active", "is_bundle", "contains_battery", "contains_liquid", "origin_country"]


class WarehouseFilter(django_filters.FilterSet):
    country = UpperCaseCharFilter(help_text="ISO 3166-1 alpha-2 country, e.g. US.")

    class Meta:
        model = Warehouse
        fields = ["kind", "country", "is_active"]


class BinFilter(django_filters.FilterSet):
    warehouse = django_filters.CharFilter(
        method="filter_warehouse", help_text="Warehouse id or code (a number matches either)."
    )
    zone = UpperCaseCharFilter(help_text="Zone, e.g. A.")

    class Meta:
        model = Bin
        fields = ["warehouse", "zone", "kind", "is_sellable", "is_active"]

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        code = normalize_code(value)
        condition = Q(warehouse__code=code)
        if code.isascii() and code.isdigit():
            condition |= Q(warehouse_id=int(code))
        return queryset.filter(condition)
