"""Filters of the orders API."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from core.api.filters import UtcMomentFilter
from inventory.models import normalize_code
from orders.models import Order, OrderHold, OrderLine, ParcelLine
from orders.selectors import open_holds


class OrderFilter(django_filters.FilterSet):
    store = django_filters.NumberFilter(field_name="store_id", help_text="Store id.")
    # distinct=False: a column of the row cannot repeat it; a DISTINCT over every column would sort all matches.
    status = django_filters.MultipleChoiceFilter(
        choices=Order.Status.choices, help_text="One or more statuses.", distinct=False
    )
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
    hold_code = django_filters.ChoiceFilter(
        choices=OrderHold.Code.choices, method="filter_hold_code", help_text="Orders with an open hold of this reason."
    )
    warehouse = django_filters.CharFilter(
        method="filter_warehouse", help_text="Code of the warehouse allocation chose (the order's `warehouse`)."
    )
    shipping_method = django_filters.CharFilter(
        method="filter_shipping_method", help_text="Code of the shipping method allocation chose."
    )
    tag = django_filters.CharFilter(method="filter_tag", help_text="Orders with this tag.")
    parcel = django_filters.CharFilter(method="filter_parcel", help_text="Orders in the parcel of this number.")
    merged = django_filters.BooleanFilter(
        method="filter_merged", help_text="Orders in a parcel made by a merge (true), or not."
    )
    ship_by_before = UtcMomentFilter(
        field_name="ship_by", lookup_expr="lt", help_text="The store's latest ship date is before this time."
    )

    class Meta:
        model = Order
        fields = [
            "store",
            "status",
            "country",
            "sku",
            "channel_order_id",
            "held",
            "hold_code",
            "warehouse",
            "shipping_method",
            "tag",
            "parcel",
            "merged",
            "ship_by_before",
        ]

    def filter_country(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(ship_country=value.strip().upper())

    def filter_sku(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        sku = value.strip()
        lines = OrderLine.objects.filter(Q(channel_sku=sku) | Q(product__sku=sku.upper()), order=OuterRef("pk"))
        return queryset.filter(Exists(lines))

    def filter_held(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        held = Exists(open_holds().filter(order=OuterRef("pk")))
        return queryset.filter(held) if value else queryset.exclude(held)

    def filter_hold_code(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Exists(open_holds().filter(order=OuterRef("pk"), code=value)))

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(warehouse__code=normalize_code(value))

    def filter_shipping_method(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(shipping_method__code=value.strip().upper())

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(tags__contains=[value.strip()])

    def filter_parcel(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        lines = ParcelLine.objects.filter(order=OuterRef("pk"), parcel__number=value.strip().upper())
        return queryset.filter(Exists(lines))

    def filter_merged(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        merged = Exists(ParcelLine.objects.filter(order=OuterRef("pk"), parcel__made_by="merge"))
        return queryset.filter(merged) if value else queryset.exclude(merged)
