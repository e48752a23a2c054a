"""Filters of the floor's API: waves and scans."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from core.api.references import ID_MAX
from inventory.api.stock_filters import WAREHOUSE_HELP, warehouse_ids_matching
from warehouse.models import ScanEvent, Wave
from warehouse.selectors import day_bounds

USER_HELP = "User id or username (a number matches either)."


def user_ids_matching(value: str) -> list[int]:
    """Ids of the users whose id or username is ``value``."""
    value = value.strip()
    condition = Q(username=value)
    if value.isascii() and value.isdigit() and 1 <= int(value) <= ID_MAX:
        condition |= Q(pk=int(value))
    return list(get_user_model().objects.filter(condition).values_list("pk", flat=True))


class WaveFilter(django_filters.FilterSet):
    warehouse = django_filters.CharFilter(method="filter_warehouse", help_text=WAREHOUSE_HELP)
    status = django_filters.MultipleChoiceFilter(choices=Wave.Status.choices, help_text="One or more statuses.")
    shape = django_filters.ChoiceFilter(choices=Wave.Shape.choices, help_text="The order shape it was made for.")
    picker = django_filters.CharFilter(method="filter_picker", help_text=f"Its picker: {USER_HELP}")
    number = django_filters.CharFilter(method="filter_number", help_text="Exactly this number (WAV00000001).")

    class Meta:
        model = Wave
        fields = ["warehouse", "status", "shape", "picker", "number"]

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(warehouse_id__in=warehouse_ids_matching(value))

    def filter_picker(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(picker_id__in=user_ids_matching(value))

    def filter_number(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(number=value.strip().upper())


class ScanEventFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(method="filter_user", help_text=f"Who scanned: {USER_HELP}")
    warehouse = django_filters.CharFilter(method="filter_warehouse", help_text=WAREHOUSE_HELP)
    step = django_filters.MultipleChoiceFilter(choices=ScanEvent.Step.choices, help_text="One or more steps.")
    ok = django_filters.BooleanFilter(help_text="Accepted scans (true) or refused ones (false).")
    wave = django_filters.CharFilter(method="filter_wave", help_text="Wave id or number (WAV00000001).")
    date_from = django_filters.DateFilter(method="filter_date_from", help_text="Scanned on or after this day.")
    date_to = django_filters.DateFilter(method="filter_date_to", help_text="Scanned on or before this day.")

    class Meta:
        model = ScanEvent
        fields = ["user", "warehouse", "step", "ok", "wave", "date_from", "date_to"]

    def filter_user(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(user_id__in=user_ids_matching(value))

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(warehouse_id__in=warehouse_ids_matching(value))

    def filter_wave(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if value.isascii() and value.isdigit():
            return queryset.filter(wave_id=int(value)) if 1 <= int(value) <= ID_MAX else queryset.none()
        return queryset.filter(wave__number=value.upper())

    # Local days as a range of moments, so the created_at index is used; the day after 9999-12-31 does not exist.
    def filter_date_from(self, queryset: QuerySet, name: str, value) -> QuerySet:
        try:
            start, _end = day_bounds(value, value)
        except OverflowError:
            return queryset.none()
        return queryset.filter(created_at__gte=start)

    def filter_date_to(self, queryset: QuerySet, name: str, value) -> QuerySet:
        try:
            _start, end = day_bounds(value, value)
        except OverflowError:
            return queryset  # the last day there is: nothing is later
        return queryset.filter(created_at__lt=end)
