"""Reads for the scan pages: the warehouse a person works in, the last scans of a page, the waves a picker may take
next and the slots of a sorting wall."""

from __future__ import annotations

from django.db.models import Case, F, Q, Value, When

from inventory.models import Warehouse
from warehouse.models import ScanEvent, ScanPreference, Wave, WaveParcel

RECENT_SCANS = 8
WAVES_OFFERED = 3


def scan_warehouse_remembered(user) -> Warehouse | None:
    """The warehouse ``user`` chose last on the scan pages, while it is active."""
    preference = ScanPreference.objects.filter(user=user, warehouse__is_active=True).select_related("warehouse").first()
    return preference.warehouse if preference is not None else None


def scans_recent(
    *, warehouse: Warehouse, step: str, reference: str = "", wave: Wave | None = None, limit: int = RECENT_SCANS
) -> list[ScanEvent]:
    """The newest scans of a step in a warehouse (of one document when ``reference`` is given, of one wave when
    ``wave`` is), with who made them: one query."""
    scans = ScanEvent.objects.filter(warehouse=warehouse, step=step)
    if reference:
        scans = scans.filter(reference=reference)
    if wave is not None:
        scans = scans.filter(wave=wave)
    return list(scans.select_related("user").order_by("-id")[:limit])


def scan_wave(*, warehouse: Warehouse, code: str) -> Wave | None:
    """The wave whose number was scanned, in this warehouse (any case)."""
    number = (code or "").strip().upper()
    if not number:
        return None
    return Wave.objects.filter(number=number, warehouse=warehouse).first()


def waves_to_pick(*, warehouse: Warehouse, user, limit: int = WAVES_OFFERED) -> list[Wave]:
    """Released waves a picker may take next: theirs first, then nobody's, oldest released first."""
    waves = Wave.objects.filter(warehouse=warehouse, status__in=[Wave.Status.RELEASED, Wave.Status.PICKING]).filter(
        Q(picker__isnull=True) | Q(picker=user)
    )
    mine_first = Case(When(picker=user, then=Value(0)), default=Value(1))
    return list(waves.order_by(mine_first, F("released_at").asc(nulls_last=True), "pk")[:limit])


def sort_wall(wave: Wave) -> list[WaveParcel]:
    """The wave's slots on the sorting wall, in slot order (removed parcels have none)."""
    return list(
        wave.parcels.exclude(status=WaveParcel.Status.REMOVED)
        .only("slot", "position", "status", "units", "units_picked", "units_sorted")
        .order_by("slot", "position")
    )
