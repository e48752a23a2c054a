"""Filters of the shipments, tracking events and manifests API."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from core.api.filters import UtcMomentFilter
from core.api.references import ID_MAX
from inventory.models import normalize_code
from logistics.models import CarrierAccount, Manifest, Shipment, TrackingEvent


def _by_id_or_number(queryset: QuerySet, relation: str, value: str) -> QuerySet:
    """Rows whose ``relation`` is the row of this id (digits) or this number (PCL…, MAN…)."""
    value = value.strip()
    if value.isdigit():
        number = int(value)
        return queryset.filter(**{f"{relation}_id": number}) if 1 <= number <= ID_MAX else queryset.none()
    return queryset.filter(**{f"{relation}__number": value.upper()})


class IdFilter(django_filters.NumberFilter):
    """A row's id: a whole number a bigint can hold (anything else is refused, naming the parameter)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        kwargs.setdefault("decimal_places", 0)
        super().__init__(*args, **kwargs)


class ShipmentFilter(django_filters.FilterSet):
    carrier = django_filters.ChoiceFilter(
        field_name="account__carrier",
        choices=CarrierAccount.Kind.choices,
        help_text="The kind of carrier of the shipment's account.",
    )
    account = IdFilter(field_name="account_id", help_text="Carrier account id.")
    method = IdFilter(field_name="method_id", help_text="Shipping method id.")
    # distinct=False: a column of the row cannot repeat it; a DISTINCT over every column would sort all matches.
    status = django_filters.MultipleChoiceFilter(
        choices=Shipment.Status.choices, help_text="One or more statuses.", distinct=False
    )
    created_after = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", help_text="Made on or after this day."
    )
    created_before = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lt", help_text="Made before this day (that day not included)."
    )
    tracking_number = django_filters.CharFilter(method="filter_tracking_number", help_text="Exactly this number.")
    reference = django_filters.CharFilter(
        method="filter_reference", help_text="The order reference on the label, exactly."
    )
    manifest = django_filters.CharFilter(method="filter_manifest", help_text="Manifest id or number (MAN00000001).")
    parcel = django_filters.CharFilter(method="filter_parcel", help_text="Parcel id or number (PCL00000001).")

    class Meta:
        model = Shipment
        fields = [
            "carrier",
            "account",
            "method",
            "status",
            "created_after",
            "created_before",
            "tracking_number",
            "reference",
            "manifest",
            "parcel",
        ]

    def filter_tracking_number(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(tracking_number=value.strip())

    def filter_reference(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(reference=value.strip())

    def filter_manifest(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _by_id_or_number(queryset, "manifest", value)

    def filter_parcel(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _by_id_or_number(queryset, "parcel", value)


class TrackingEventFilter(django_filters.FilterSet):
    shipment = IdFilter(field_name="shipment_id", help_text="Shipment id.")
    tracking_number = django_filters.CharFilter(
        field_name="shipment__tracking_number", help_text="The shipment's tracking number, exactly."
    )
    kind = django_filters.MultipleChoiceFilter(choices=TrackingEvent.Kind.choices, help_text="One or more kinds.")
    occurred_after = UtcMomentFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UtcMomentFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = TrackingEvent
        fields = ["shipment", "tracking_number", "kind", "occurred_after", "occurred_before"]


class ManifestFilter(django_filters.FilterSet):
    account = IdFilter(field_name="account_id", help_text="Carrier account id.")
    carrier = django_filters.ChoiceFilter(
        field_name="account__carrier",
        choices=CarrierAccount.Kind.choices,
        help_text="The kind of carrier of the manifest's account.",
    )
    status = django_filters.ChoiceFilter(choices=Manifest.Status.choices)
    warehouse = django_filters.CharFilter(method="filter_warehouse", help_text="Warehouse code.")

    class Meta:
        model = Manifest
        fields = ["account", "carrier", "status", "warehouse"]

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(warehouse__code=normalize_code(value))
