"""Packing and verifying (复核打包): the packer scans the parcel (its order ID, parcel number, tracking number or
sorting-wall slot), then every item; a wrong or extra item is refused; when the parcel is complete it is weighed
and checked against what it should weigh (products + packaging) within the warehouse's tolerance; out of
tolerance, the label waits for a supervisor's override with a reason. Then the label is ready to print and the
parcel's orders are packed.

A parcel whose order was cancelled while it was picked is caught here: refused, with a put-back task already
made for its units (``orders.fulfilment.order_cancel``). The single-item fast lane packs without the item-by-item
check: scanning a SKU packs the oldest picked single-item parcel of the wave with that SKU.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound, ValidationFailed
from inventory.models import Reservation
from logistics.models import Shipment
from orders.fulfilment import order_packed
from orders.models import Order
from warehouse.models import FloorSettings, PackCheck, Wave, WaveParcel
from warehouse.picking import product_by_scan

MOST_GRAMS = 100_000
LIVE_SHIPMENT = (Shipment.Status.CREATED, Shipment.Status.LABEL_READY)


@dataclass(frozen=True)
class PackState:
    """Where a parcel's packing is: each product's units wanted and packed, and whether all are in."""

    entry: WaveParcel
    wanted: dict[int, int]
    packed: dict[int, int]

    @property
    def complete(self) -> bool:
        return all(self.packed.get(product_id, 0) >= units for product_id, units in self.wanted.items())


def floor_settings(warehouse_id: int) -> FloorSettings:
    settings, _created = FloorSettings.objects.get_or_create(warehouse_id=warehouse_id)
    return settings


def _live_entry_by_scan(code: str, warehouse_id: int) -> WaveParcel:
    code = (code or "").strip()
    if not code:
        raise NotFound(_("Scan an order, parcel or slot."), code="scan_empty")
    live = WaveParcel.objects.exclude(status=WaveParcel.Status.REMOVED).filter(wave__warehouse_id=warehouse_id)
    found = (
        live.filter(
            Q(parcel__number=code)
            | Q(parcel__lines__order__channel_order_id=code)
            | Q(parcel__shipments__tracking_number=code)
        )
        .select_related("parcel", "wave")
        .order_by("-pk")
        .first()
    )
    if found is None and code.upper().startswith("SLOT-"):
        wave_number, _dash, slot = code.upper().removeprefix("SLOT-").rpartition("-")
        if slot.isdigit():
            found = live.filter(wave__number=wave_number, slot=int(slot)).select_related("parcel", "wave").first()
    if found is None:
        raise NotFound(_("No parcel to pack is %(code)s.") % {"code": code}, code="unknown_parcel", scan=code)
    return found


def pack_state(entry: WaveParcel) -> PackState:
    wanted = dict(
        Reservation.objects.filter(reference=entry.parcel.number, quantity_picked__gt=0).values_list(
            "product_id", "quantity_picked"
        )
    )
    packed = {int(product_id): units for product_id, units in (entry.packed or {}).items()}
    return PackState(entry=entry, wanted=wanted, packed=packed)


def _not_cancelled(entry: WaveParcel, code: str = "") -> None:
    """Refuse a parcel whose order was cancelled (read under the caller's lock on the parcel's wave entry)."""
    cancelled = Order.objects.filter(parcel_lines__parcel=entry.parcel, status=Order.Status.CANCELLED).first()
    if cancelled is not None:
        raise Conflict(
            _("Order %(order)s was cancelled: do not pack it. Put its items in the put-back tray.")
            % {"order": cancelled.channel_order_id},
            code="order_cancelled",
            scan=code or entry.parcel.number,
        )


def pack_open(*, code: str, warehouse_id: int) -> PackState:
    """The parcel the packer scanned, if it may be packed: every unit picked, not short, its orders not cancelled."""
    entry = _live_entry_by_scan(code, warehouse_id)
    _not_cancelled(entry, code)
    if entry.status == WaveParcel.Status.SHORT:
        raise Conflict(
            _("Parcel %(parcel)s is short (%(note)s): do not pack it; give it to a supervisor.")
            % {"parcel": entry.parcel.number, "note": entry.note},
            code="parcel_short",
            scan=code,
        )
    if entry.status == WaveParcel.Status.PACKED:
        raise Conflict(
            _("Parcel %(parcel)s is packed already.") % {"parcel": entry.parcel.number}, code="packed", scan=code
        )
    if entry.status != WaveParcel.Status.PICKED:
        raise Conflict(
            _("Parcel %(parcel)s is not picked yet (%(picked)s of %(units)s units).")
            % {"parcel": entry.parcel.number, "picked": entry.units_picked, "units": entry.units},
            code="not_picked",
            scan=code,
        )
    return pack_state(entry)


@transaction.atomic
def pack_item(*, entry: WaveParcel, code: str) -> PackState:
    """One item into the box: it must be one the parcel still needs."""
    entry = WaveParcel.objects.select_for_update().select_related("parcel").get(pk=entry.pk)
    state = pack_state(entry)
    product = product_by_scan(code)
    if product is None or product.pk not in state.wanted:
        raise Conflict(
            _("%(scanned)s is not in this parcel: take it out.") % {"scanned": code}, code="wrong_item", scan=code
        )
    if state.packed.get(product.pk, 0) >= state.wanted[product.pk]:
        raise Conflict(
            _("One %(sku)s too many: the parcel takes %(units)s.")
            % {"sku": product.sku, "units": state.wanted[product.pk]},
            code="extra_item",
            scan=code,
        )
    packed = dict(state.packed)
    packed[product.pk] = packed.get(product.pk, 0) + 1
    entry.packed = {str(key): value for key, value in packed.items()}
    entry.units_packed = sum(packed.values())
    entry.save(update_fields=["packed", "units_packed"])
    return PackState(entry=entry, wanted=state.wanted, packed=packed)


def expected_weight_g(entry: WaveParcel) -> int:
    """Products' weight (as picked) plus the warehouse's packaging."""
    rows = Reservation.objects.filter(reference=entry.parcel.number, quantity_picked__gt=0).select_related("product")
    goods = sum((row.product.weight_g or 0) * row.quantity_picked for row in rows)
    return goods + floor_settings(entry.wave.warehouse_id).packaging_g


def tolerance_g(expected: int, settings: FloorSettings) -> int:
    return max(settings.weight_tolerance_g, expected * settings.weight_tolerance_percent // 100)


@transaction.atomic
def pack_weigh(*, entry: WaveParcel, grams: int, user=None) -> PackCheck:
    """The complete parcel weighed: within tolerance it is packed (label ready to print); out of it, the check is
    kept and the label waits for ``pack_override``."""
    entry = WaveParcel.objects.select_for_update().select_related("parcel", "wave").get(pk=entry.pk)
    if not 1 <= grams <= MOST_GRAMS:
        raise ValidationFailed(
            _("Weigh the parcel: between 1 and %(most)s g.") % {"most": MOST_GRAMS}, code="invalid_weight"
        )
    _not_cancelled(entry)
    state = pack_state(entry)
    if not state.complete:
        raise Conflict(_("Scan every item before weighing."), code="not_complete")
    expected = expected_weight_g(entry)
    allowed = tolerance_g(expected, floor_settings(entry.wave.warehouse_id))
    check = PackCheck.objects.create(
        wave_parcel=entry,
        expected_g=expected,
        weighed_g=grams,
        tolerance_g=allowed,
        within=abs(grams - expected) <= allowed,
        user=user,
    )
    if check.within:
        _packed(entry, grams, user)
    return check


@transaction.atomic
def pack_override(*, check: PackCheck, reason: str, user) -> PackCheck:
    """A supervisor lets an out-of-tolerance parcel go, saying why."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why the weight is right after all."), code="reason_required")
    if user is None or not user.has_perm("warehouse.change_packcheck"):
        raise Conflict(_("Only a supervisor can let a parcel go out of tolerance."), code="not_supervisor")
    check = (
        PackCheck.objects.select_for_update()
        .select_related("wave_parcel__parcel", "wave_parcel__wave")
        .get(pk=check.pk)
    )
    if check.within or check.override_by_id:
        return check
    _not_cancelled(check.wave_parcel)
    check.override_by, check.override_reason = user, reason[:200]
    check.save(update_fields=["override_by", "override_reason"])
    _packed(check.wave_parcel, check.weighed_g, user)
    return check


def _packed(entry: WaveParcel, grams: int, user) -> None:
    entry.status = WaveParcel.Status.PACKED
    entry.packed_at, entry.packed_by = timezone.now(), user
    entry.save(update_fields=["status", "packed_at", "packed_by"])
    Shipment.objects.filter(parcel=entry.parcel, status__in=LIVE_SHIPMENT).update(actual_weight_g=grams)
    for order in Order.objects.filter(parcel_lines__parcel=entry.parcel, status=Order.Status.PICKING).distinct():
        order_packed(order=order, user=user, note=entry.parcel.number)
    _wave_done_if_packed(entry.wave_id)


def _wave_done_if_packed(wave_id: int) -> None:
    open_parcels = WaveParcel.objects.filter(wave_id=wave_id).exclude(
        status__in=[WaveParcel.Status.PACKED, WaveParcel.Status.REMOVED, WaveParcel.Status.SHORT]
    )
    if not open_parcels.exists():
        Wave.objects.filter(pk=wave_id, status=Wave.Status.PICKED).update(
            status=Wave.Status.DONE, finished_at=timezone.now()
        )


def label_of(entry: WaveParcel) -> Shipment | None:
    """The parcel's shipment whose label prints, if it has one ready."""
    return entry.parcel.shipments.filter(status=Shipment.Status.LABEL_READY).order_by("-pk").first()


@transaction.atomic
def fast_lane(*, wave: Wave, code: str, user=None) -> WaveParcel:
    """Single-item fast lane: the SKU scanned packs the oldest picked single-item parcel of the wave with it."""
    product = product_by_scan(code)
    if product is None:
        raise NotFound(_("No product has the code %(code)s.") % {"code": code}, code="unknown_product", scan=code)
    candidates = (
        WaveParcel.objects.select_for_update(skip_locked=True)
        .filter(wave=wave, status=WaveParcel.Status.PICKED, units=1)
        .filter(parcel__number__in=Reservation.objects.filter(product=product, quantity_picked=1).values("reference"))
        .exclude(parcel__lines__order__status=Order.Status.CANCELLED)  # its item goes to the next order
        .select_related("parcel", "wave")
        .order_by("position")
    )
    entry = candidates.first()
    if entry is None:
        raise Conflict(
            _("No picked single-item parcel of %(sku)s waits in wave %(wave)s.")
            % {"sku": product.sku, "wave": wave.number},
            code="nothing_waiting",
            scan=code,
        )
    entry.packed = {str(product.pk): 1}
    entry.units_packed = 1
    entry.save(update_fields=["packed", "units_packed"])
    _packed(entry, expected_weight_g(entry), user)
    return entry
