"""Filters of the orders API."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from core.api.filters import UtcMomentFilter
from orders.models import Order, OrderLine
from orders.selectors import open_holds


class OrderFilter(django_filters.FilterSet):
    store = django_filters.NumberFilter(field_name="store_id", help_text="Store id.")
    status = django_filters.MultipleChoiceFilter(choices=Order.Status.choices, help_text="One or more statuses.")
    country = django_filters.CharFilter(method="filter_country", help_text="Ship-to country, ISO 3166 alpha-2 (US).")
    sku = django_filters.CharFilter(
        method="filter_sku", help_text="Orders with a line of this channel SKU or of the product with this SKU."
    )
    channel_order_id = django_filters.CharFilter(help_text="The order's id in its store.")
    ordered_after = UtcMomentFilter(field_name="ordered_at", lookup_expr="gte")
    ordered_before = UtcMomentFilter(field_name="ordered_at", lookup_expr="lt")
    updated_after = UtcMomentFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Changed in Seabridge at or after this time."
    )
    held = django_filters.BooleanFilter(method="filter_held", help_text="Orders with (true) or without an open hold.")

    class Meta:
        model = Order
        fields = ["store", "status", "country", "sku", "channel_order_id", "held"]

    def filter_country(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(ship_country=value.strip().upper())

    def filter_sku(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        sku = value.strip()
        lines = OrderLine.objects.filter(Q(channel_sku=sku) | Q(product__sku=sku.upper()), order=OuterRef("pk"))
        return queryset.filter(Exists(lines))

    def filter_held(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        held = Exists(open_holds().filter(order=OuterRef("pk")))
        return queryset.filter(held) if value else queryset.exclude(held)
