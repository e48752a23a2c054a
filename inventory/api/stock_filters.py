"""Filters of the stock API: stock levels, the ledger, reservations, sellable changes, transfers and counts."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from inventory.api.filters import UpperCaseCharFilter
from inventory.models import (
    Bin,
    Product,
    Reservation,
    SellableChange,
    StockCount,
    StockLevel,
    StockMove,
    Transfer,
    Warehouse,
    normalize_code,
)
from inventory.stock_selectors import STOCK_LEVEL_ORDER_IN_WAREHOUSE


def _id_or_code(model, code_field: str, value: str) -> list[int]:
    """Ids of the rows whose id or code is ``value`` (a number matches either), found before filtering.

    Resolving first keeps the filter on the plain foreign key column, so the ledger's (product, -id) and
    (bin, -id) indexes are used instead of a join.
    """
    code = normalize_code(value)
    condition = Q(**{code_field: code})
    # ASCII digits only: str.isdigit() also takes "¹" and "٣", which int() refuses.
    if code.isascii() and code.isdigit():
        condition |= Q(pk=int(code))
    return list(model.objects.filter(condition).values_list("pk", flat=True))


def product_ids_matching(value: str) -> list[int]:
    return _id_or_code(Product, "sku", value)


def warehouse_ids_matching(value: str) -> list[int]:
    return _id_or_code(Warehouse, "code", value)


def bin_ids_matching(value: str, *, warehouse_ids: list[int] | None = None) -> list[int]:
    ids = _id_or_code(Bin, "code", value)
    if warehouse_ids is not None:
        ids = list(Bin.objects.filter(pk__in=ids, warehouse_id__in=warehouse_ids).values_list("pk", flat=True))
    return ids


PRODUCT_HELP = "Product id or SKU (a number matches either)."
WAREHOUSE_HELP = "Warehouse id or code (a number matches either)."
BIN_HELP = "Bin id or code (a number matches either); a code matches in every warehouse unless `warehouse` is given."


class StockLevelFilter(django_filters.FilterSet):
    warehouse = django_filters.CharFilter(method="filter_warehouse", help_text=WAREHOUSE_HELP)
    bin = django_filters.CharFilter(method="filter_bin", help_text=BIN_HELP)
    product = django_filters.CharFilter(method="filter_product", help_text=PRODUCT_HELP)
    zone = UpperCaseCharFilter(field_name="bin__zone", help_text="Zone of the bin, e.g. A.")
    bin_kind = django_filters.ChoiceFilter(field_name="bin__kind", choices=Bin.Kind.choices, help_text="Kind of bin.")
    is_sellable = django_filters.BooleanFilter(field_name="bin__is_sellable", help_text="Bins whose stock is sellable.")
    include_zero = django_filters.BooleanFilter(
        method="filter_include_zero", help_text="Also list product × bin rows at zero (left out by default)."
    )

    class Meta:
        model = StockLevel
        fields = ["warehouse", "bin", "product", "zone", "bin_kind", "is_sellable", "include_zero"]

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        ids = warehouse_ids_matching(value)
        queryset = queryset.filter(bin__warehouse_id__in=ids)
        if len(ids) == 1:
            # The same order as stock_levels' without the warehouse's keys, constant here: PostgreSQL then walks the
            # (warehouse, code_sort) index of bins and stops after the page instead of sorting every level of the
            # warehouse (27 ms instead of 341 ms for page 19 of 50,000 levels).
            queryset = queryset.order_by(*STOCK_LEVEL_ORDER_IN_WAREHOUSE)
        return queryset

    def filter_bin(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(bin_id__in=bin_ids_matching(value))

    def filter_product(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(product_id__in=product_ids_matching(value))

    def filter_include_zero(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset  # applied in filter_queryset, because leaving zeros out is what happens without it

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("include_zero"):
            queryset = queryset.exclude(on_hand=0)
        return queryset


class StockMoveFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(method="filter_product", help_text=PRODUCT_HELP)
    bin = django_filters.CharFilter(method="filter_bin", help_text=BIN_HELP + " Moves out of it and into it.")
    warehouse = django_filters.CharFilter(
        method="filter_warehouse", help_text=WAREHOUSE_HELP + " Moves out of its bins and into them."
    )
    reference = django_filters.CharFilter(help_text="The document that caused the moves, exactly, e.g. TR-000012.")
    # distinct=False: a column of the row itself cannot repeat a row, and django-filter's default DISTINCT over
    # every selected column made PostgreSQL sort the whole matching ledger (105 ms a page on a million moves).
    reason = django_filters.MultipleChoiceFilter(
        choices=StockMove.Reason.choices, help_text="One or more reasons (repeat the parameter).", distinct=False
    )

    class Meta:
        model = StockMove
        fields = ["product", "bin", "warehouse", "reference", "reason"]

    def filter_product(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        ids = product_ids_matching(value)
        # One id is by far the usual case; "= id" (not "IN (...)") lets PostgreSQL read the index in order.
        return queryset.filter(product_id=ids[0]) if len(ids) == 1 else queryset.filter(product_id__in=ids)

    def filter_bin(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        warehouse = self.form.cleaned_data.get("warehouse")
        ids = bin_ids_matching(value, warehouse_ids=warehouse_ids_matching(warehouse) if warehouse else None)
        return queryset.filter(Q(from_bin_id__in=ids) | Q(to_bin_id__in=ids))

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        bins = Bin.objects.filter(warehouse_id__in=warehouse_ids_matching(value)).values("pk")
        return queryset.filter(Q(from_bin_id__in=bins) | Q(to_bin_id__in=bins))


class TransferFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(method="filter_source", help_text=WAREHOUSE_HELP)
    destination = django_filters.CharFilter(method="filter_destination", help_text=WAREHOUSE_HELP)
    product = django_filters.CharFilter(method="filter_product", help_text="Transfers with a line of this product.")
    status = django_filters.MultipleChoiceFilter(choices=Transfer.Status.choices)

    class Meta:
        model = Transfer
        fields = ["source", "destination", "product", "status"]

    def filter_source(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(source_id__in=warehouse_ids_matching(value))

    def filter_destination(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(destination_id__in=warehouse_ids_matching(value))

    def filter_product(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(pk__in=Transfer.objects.filter(lines__product_id__in=product_ids_matching(value)))


class StockCountFilter(django_filters.FilterSet):
    warehouse = django_filters.CharFilter(method="filter_warehouse", help_text=WAREHOUSE_HELP)
    status = django_filters.MultipleChoiceFilter(choices=StockCount.Status.choices)

    class Meta:
        model = StockCount
        fields = ["warehouse", "status", "is_blind"]

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(warehouse_id__in=warehouse_ids_matching(value))


class ReservationFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(method="filter_product", help_text=PRODUCT_HELP)
    warehouse = django_filters.CharFilter(method="filter_warehouse", help_text=WAREHOUSE_HELP)
    reference = django_filters.CharFilter(help_text="The line the units are for, exactly, e.g. order-line:123.")
    is_open = django_filters.BooleanFilter(
        method="filter_is_open", help_text="Only reservations with units still reserved or picked (not shipped)."
    )

    class Meta:
        model = Reservation
        fields = ["product", "warehouse", "reference", "is_open"]

    def filter_product(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(product_id__in=product_ids_matching(value))

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(warehouse_id__in=warehouse_ids_matching(value))

    def filter_is_open(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        held = Q(quantity_reserved__gt=0) | Q(quantity_picked__gt=0)
        return queryset.filter(held) if value else queryset.exclude(held)


class SellableChangeFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(method="filter_product", help_text=PRODUCT_HELP)
    bin = django_filters.CharFilter(method="filter_bin", help_text=BIN_HELP)
    warehouse = django_filters.CharFilter(method="filter_warehouse", help_text=WAREHOUSE_HELP)
    is_sellable = django_filters.BooleanFilter(help_text="true: put on sale; false: taken off sale.")

    class Meta:
        model = SellableChange
        fields = ["product", "bin", "warehouse", "is_sellable"]

    def filter_product(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(product_id__in=product_ids_matching(value))

    def filter_bin(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        warehouse = self.form.cleaned_data.get("warehouse")
        ids = bin_ids_matching(value, warehouse_ids=warehouse_ids_matching(warehouse) if warehouse else None)
        return queryset.filter(bin_id__in=ids)

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(bin__warehouse_id__in=warehouse_ids_matching(value))


class AvailabilityFilter(django_filters.FilterSet):
    """Chooses the products; which warehouses are counted is the view's ``warehouse`` parameter."""

    product = django_filters.CharFilter(method="filter_product", help_text=PRODUCT_HELP)
    sku = django_filters.CharFilter(method="filter_sku", help_text="SKUs starting with this text (any case).")
    warehouse = django_filters.CharFilter(
        method="filter_warehouse",
        help_text="Count only these warehouses: ids or codes, comma-separated. Every product is still listed.",
    )

    class Meta:
        model = Product
        fields = ["product", "sku", "warehouse", "is_bundle", "is_active"]

    def filter_product(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(pk__in=product_ids_matching(value))

    def filter_sku(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(sku__startswith=normalize_code(value))

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # chooses the warehouses counted, not the products: read by the view


def warehouse_ids_from_list(value: str) -> tuple[list[int], list[str]]:
    """Warehouse ids for a comma-separated list of ids or codes, and the items that matched none."""
    found: list[int] = []
    unknown: list[str] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        ids = warehouse_ids_matching(item)
        if ids:
            found.extend(ids)
        else:
            unknown.append(item)
    return found, unknown
