"""Reads for the scan pages: the warehouse a person works in, the last scans of a page."""

from __future__ import annotations

from inventory.models import Warehouse
from warehouse.models import ScanEvent, ScanPreference

RECENT_SCANS = 8


def scan_warehouse_remembered(user) -> Warehouse | None:
    """The warehouse ``user`` chose last on the scan pages, while it is active."""
    preference = ScanPreference.objects.filter(user=user, warehouse__is_active=True).select_related("warehouse").first()
    return preference.warehouse if preference is not None else None


def scans_recent(*, warehouse: Warehouse, step: str, reference: str = "", limit: int = RECENT_SCANS) -> list[ScanEvent]:
    """The newest scans of a step in a warehouse (of one document when ``reference`` is given), with who made them:
    one query."""
    scans = ScanEvent.objects.filter(warehouse=warehouse, step=step)
    if reference:
        scans = scans.filter(reference=reference)
    return list(scans.select_related("user").order_by("-id")[:limit])
