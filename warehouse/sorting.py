"""Sorting a picked wave of several-SKU parcels on the sorting wall (播种墙): each item scanned from the cart is
told its slot (the parcel that still needs one of it, first in the wave's order); a slot whose parcel has every
picked unit is announced complete, ready for the pack station (which opens it by ``SLOT-<wave>-<n>``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound
from inventory.models import Reservation
from warehouse.models import Wave, WaveParcel
from warehouse.picking import product_by_scan

SORTABLE = (Wave.Status.PICKING, Wave.Status.PICKED)


@dataclass(frozen=True)
class SortAnswer:
    slot: int
    entry: WaveParcel
    complete: bool
    message: str


def slot_code(wave: Wave, slot: int) -> str:
    return f"SLOT-{wave.number}-{slot}"


@transaction.atomic
def sort_item(*, wave: Wave, code: str) -> SortAnswer:
    """Which slot the scanned item goes to; the slot's count goes up. Refused: an item no parcel of the wave
    still needs (one too many, or not of this wave), a wave not picked yet."""
    wave = Wave.objects.select_for_update().get(pk=wave.pk)
    if wave.status not in SORTABLE:
        raise Conflict(
            _("Wave %(wave)s is %(status)s: nothing to sort.")
            % {"wave": wave.number, "status": wave.get_status_display()},
            code="wave_not_sortable",
        )
    product = product_by_scan(code)
    if product is None:
        raise NotFound(_("No product has the code %(code)s.") % {"code": code}, code="unknown_product", scan=code)
    entries = list(
        wave.parcels.filter(status__in=[WaveParcel.Status.WAITING, WaveParcel.Status.PICKED])
        .select_related("parcel")
        .order_by("position")
    )
    picked = {
        row.reference: row.quantity_picked
        for row in Reservation.objects.filter(
            reference__in=[entry.parcel.number for entry in entries], product=product, quantity_picked__gt=0
        )
    }
    for entry in entries:
        wanted = picked.get(entry.parcel.number, 0)
        done = int((entry.sorted_units or {}).get(str(product.pk), 0))
        if done < wanted:
            entry.sorted_units = {**(entry.sorted_units or {}), str(product.pk): done + 1}
            entry.units_sorted += 1
            entry.save(update_fields=["sorted_units", "units_sorted"])
            complete = entry.status == WaveParcel.Status.PICKED and entry.units_sorted >= entry.units_picked
            message = (
                _("Slot %(slot)s is complete: ready to pack.") % {"slot": entry.slot}
                if complete
                else _("%(sku)s → slot %(slot)s.") % {"sku": product.sku, "slot": entry.slot}
            )
            return SortAnswer(slot=entry.slot, entry=entry, complete=complete, message=message)
    raise Conflict(
        _("No parcel of wave %(wave)s needs another %(sku)s: put it aside for a supervisor.")
        % {"wave": wave.number, "sku": product.sku},
        code="not_needed",
        scan=code,
    )
