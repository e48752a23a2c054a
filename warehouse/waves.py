"""Waves (配货波次): allocated parcels picked together, and their pick path.

- ``wave_candidates`` finds the parcels a wave may take: allocated in the warehouse, every order of them allocated
  (not held, not cancelled), in no other wave; filtered by shipping method, carrier, store and ship-by cut-off; by
  shape (one unit of one SKU 单品单件, several units of one SKU 单品多件, several SKUs 多品); oldest ship-by first.
- ``wave_create`` takes them (locked, skipping parcels another wave is taking this moment) up to a number of
  parcels or order lines.
- ``wave_release`` builds the pick path: the wave's reserved units are assigned to the sellable bins that hold
  them (pick faces before bulk, in the bins' pick sequence, never counting a bin's units twice across released
  waves), one pick task per bin and SKU with the parcels each unit goes to, in walking order; a cart bin receives
  what is picked; the orders move to picking; and after commit the labels are made, so the pack station only
  fetches a file (``wave_labels_make``).
- ``pick_list_pdf`` prints the A4 pick list, by bin, with barcodes; ``wave_assign`` gives a wave to a picker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError, ErrorDetail, ValidationFailed
from core.outbox import task_enqueue
from core.pdf import pdf_from_html
from core.status import next_id
from inventory.models import Bin, Product, Reservation, StockLevel, Warehouse
from logistics.labels import code128_svg
from logistics.models import Shipment
from logistics.shipments import shipment_label_refresh
from orders.fulfilment import order_picking_start
from orders.models import Order, Parcel, ParcelLine
from orders.shipping import parcel_ship
from warehouse.models import PickTask, PickTaskLine, Wave, WaveParcel

Shape = Wave.Shape
LIVE_WAVES = (Wave.Status.DRAFT, Wave.Status.RELEASED, Wave.Status.PICKING, Wave.Status.PICKED)
MOST_PARCELS = 1000
# Each order shape as a condition on a parcel's reservations grouped: how many SKUs, how many units in all.
SHAPES = {
    Shape.SINGLE_ITEM: Q(shape_skus=1, shape_units=1),
    Shape.SINGLE_SKU: Q(shape_skus=1, shape_units__gt=1),
    Shape.MULTI_ITEM: Q(shape_skus__gt=1),
}


@dataclass(frozen=True)
class WaveCriteria:
    """What a wave is made of; every filter is optional but the warehouse."""

    warehouse_id: int
    shape: str = Shape.ANY
    method_ids: tuple[int, ...] = ()
    carrier_ids: tuple[int, ...] = ()
    store_ids: tuple[int, ...] = ()
    ship_by_before: datetime | None = None
    max_parcels: int = 200
    max_lines: int | None = None

    def as_json(self) -> dict:
        return {
            "shape": self.shape,
            "method_ids": list(self.method_ids),
            "carrier_ids": list(self.carrier_ids),
            "store_ids": list(self.store_ids),
            "ship_by_before": self.ship_by_before.isoformat() if self.ship_by_before else None,
            "max_parcels": self.max_parcels,
            "max_lines": self.max_lines,
        }


def wave_number(pk: int) -> str:
    return f"WAV{pk:08d}"


def criteria_problems(criteria: WaveCriteria) -> list[ErrorDetail]:
    """What is wrong with ``criteria``, by field (the API and the admin form show the same rules)."""
    problems = []
    if criteria.shape not in Shape.values:
        problems.append(ErrorDetail(_("Not an order shape."), field="shape"))
    if not 1 <= criteria.max_parcels <= MOST_PARCELS:
        problems.append(
            ErrorDetail(
                _("Between 1 and %(most)s parcels.") % {"most": MOST_PARCELS}, field="max_parcels", code="max_value"
            )
        )
    if criteria.max_lines is not None and criteria.max_lines < 1:
        problems.append(ErrorDetail(_("At least 1."), field="max_lines", code="min_value"))
    return problems


def wave_candidates(criteria: WaveCriteria):
    """Parcels a wave may take, oldest ship-by first (a queryset annotated with ``skus`` and ``units``, from the
    parcel's reservations, so a bundle counts as its components, and ``ship_by``, its orders' earliest)."""
    reserved = Reservation.objects.filter(
        reference=OuterRef("number"), warehouse_id=criteria.warehouse_id, quantity_reserved__gt=0
    ).values("reference")
    not_ready = ParcelLine.objects.filter(parcel=OuterRef("pk")).exclude(order__status=Order.Status.ALLOCATED)
    in_wave = WaveParcel.objects.filter(parcel=OuterRef("pk")).exclude(status=WaveParcel.Status.REMOVED)
    first_ship_by = ParcelLine.objects.filter(parcel=OuterRef("pk"), order__ship_by__isnull=False).order_by(
        "order__ship_by"
    )
    queryset = (
        Parcel.objects.filter(warehouse_id=criteria.warehouse_id, reserved_at__isnull=False)
        .filter(Exists(reserved))
        .exclude(Exists(not_ready))
        .exclude(Exists(in_wave))
        .annotate(
            skus=Subquery(reserved.annotate(n=Count("product_id")).values("n")[:1]),
            units=Subquery(reserved.annotate(n=Sum("quantity_reserved")).values("n")[:1]),
            ship_by=Subquery(first_ship_by.values("order__ship_by")[:1]),
        )
    )
    if criteria.method_ids:
        queryset = queryset.filter(shipping_method_id__in=criteria.method_ids)
    if criteria.carrier_ids:
        queryset = queryset.filter(shipping_method__carrier_id__in=criteria.carrier_ids)
    if criteria.store_ids:
        queryset = queryset.filter(
            Exists(ParcelLine.objects.filter(parcel=OuterRef("pk"), order__store_id__in=criteria.store_ids))
        )
    if criteria.ship_by_before:
        queryset = queryset.filter(ship_by__lt=criteria.ship_by_before)
    if criteria.shape in SHAPES:
        # The shape from the reservations grouped once (the parcel's number IN the references of that shape), not a
        # filter on the ``skus``/``units`` subqueries above: PostgreSQL guesses that such a filter keeps about no
        # parcel and then reads every reservation again for each parcel (8 s for a single-item wave among 10,000
        # open orders in bench/bench_scans.py; a tenth of a second this way).
        shaped = (
            Reservation.objects.filter(warehouse_id=criteria.warehouse_id, quantity_reserved__gt=0)
            .values("reference")
            .annotate(shape_skus=Count("product_id"), shape_units=Sum("quantity_reserved"))
            .filter(SHAPES[criteria.shape])
            .values("reference")
        )
        queryset = queryset.filter(number__in=shaped)
    return queryset.order_by(F("ship_by").asc(nulls_last=True), "pk")


@transaction.atomic
def wave_create(*, criteria: WaveCriteria, user=None) -> Wave:
    """A draft wave of the parcels ``criteria`` choose (ValidationFailed by field for bad criteria; Conflict when
    none is there to take)."""
    problems = criteria_problems(criteria)
    if problems:
        raise ValidationFailed.listing(_("The wave"), problems)
    warehouse = Warehouse.objects.get(pk=criteria.warehouse_id)
    ids = list(wave_candidates(criteria).values_list("pk", flat=True)[: criteria.max_parcels * 2])
    # Locked in primary-key order (two waves made at once wait for each other, never deadlock); the second then
    # reads again which are still free and takes those.
    locked = {
        parcel.pk: parcel for parcel in Parcel.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    }
    still_free = set(
        wave_candidates(criteria).filter(pk__in=list(locked)).values_list("pk", flat=True)
    )  # re-read under the locks: another wave may have taken one before we locked it
    lines_by_parcel = dict(
        ParcelLine.objects.filter(parcel_id__in=still_free).values_list("parcel_id").annotate(n=Count("pk"))
    )
    chosen: list[int] = []
    lines = 0
    for pk in ids:
        if pk not in still_free:
            continue
        if criteria.max_lines is not None and lines + lines_by_parcel.get(pk, 0) > criteria.max_lines and chosen:
            break
        chosen.append(pk)
        lines += lines_by_parcel.get(pk, 0)
        if len(chosen) == criteria.max_parcels:
            break
    if not chosen:
        raise Conflict(_("No allocated parcel matches: nothing to pick in this wave."), code="wave_empty")
    pk = next_id(Wave)
    wave = Wave.objects.create(
        pk=pk,
        number=wave_number(pk),
        warehouse=warehouse,
        shape=criteria.shape,
        criteria=criteria.as_json(),
        parcel_count=len(chosen),
        line_count=lines,
    )
    units = dict(
        Reservation.objects.filter(reference__in=[locked[pk].number for pk in chosen], warehouse=warehouse)
        .values_list("reference")
        .annotate(total=Sum("quantity_reserved"))
    )
    WaveParcel.objects.bulk_create(
        [
            WaveParcel(wave=wave, parcel_id=pk, position=position, units=units.get(locked[pk].number, 0))
            for position, pk in enumerate(chosen, start=1)
        ]
    )
    wave.unit_count = sum(units.values())
    wave.save(update_fields=["unit_count"])
    return wave


def _cart_bin(wave: Wave) -> Bin:
    bin_, _created = Bin.objects.get_or_create(
        warehouse=wave.warehouse,
        code=f"CART-{wave.number}",
        defaults={"kind": Bin.Kind.PACKING, "is_sellable": False, "zone": "CART"},
    )
    return bin_


def _claimed(warehouse_id: int, product_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """Units of each (bin, product) that released waves still have to pick: not available to another wave."""
    rows = (
        PickTask.objects.filter(
            wave__warehouse_id=warehouse_id,
            wave__status__in=[Wave.Status.RELEASED, Wave.Status.PICKING],
            status=PickTask.Status.OPEN,
            product_id__in=list(product_ids),
        )
        .values_list("bin_id", "product_id")
        .annotate(left=Sum(F("quantity") - F("picked")))
    )
    return {(bin_id, product_id): left for bin_id, product_id, left in rows}


@transaction.atomic
def wave_release(*, wave: Wave, user=None, picker=None) -> Wave:
    """Build the wave's pick path and send it to the floor; its orders move to picking; its labels are made after
    commit. A unit no sellable bin holds free (shouldn't happen: it is reserved) leaves its parcel short at once."""
    wave = Wave.objects.select_for_update().select_related("warehouse").get(pk=wave.pk)
    if picker is not None and (problem := picker_problem(picker)) is not None:
        raise ValidationFailed(problem, code="invalid_picker", errors=[ErrorDetail(problem, field="picker")])
    if wave.status != Wave.Status.DRAFT:
        raise Conflict(_("Wave %(wave)s was released already.") % {"wave": wave.number}, code="invalid_transition")
    entries = list(wave.parcels.exclude(status=WaveParcel.Status.REMOVED).select_related("parcel").order_by("position"))
    by_reference = {entry.parcel.number: entry for entry in entries}
    needs: dict[int, list[tuple[WaveParcel, int]]] = defaultdict(list)  # product → [(parcel, units)] in order
    for reservation in Reservation.objects.filter(
        reference__in=list(by_reference), warehouse=wave.warehouse, quantity_reserved__gt=0
    ).order_by("product_id", "reference"):
        needs[reservation.product_id].append((by_reference[reservation.reference], reservation.quantity_reserved))
    claimed = _claimed(wave.warehouse_id, needs)
    levels = defaultdict(list)
    for level in (
        StockLevel.objects.filter(
            product_id__in=list(needs), bin__warehouse=wave.warehouse, bin__is_sellable=True, on_hand__gt=0
        )
        .select_related("bin")
        .order_by(F("bin__kind").desc(), "bin__pick_sequence", "bin__code_sort")  # pick faces ("pick") before bulk
    ):
        levels[level.product_id].append(level)
    stops: dict[tuple[int, int], list[tuple[WaveParcel, int]]] = defaultdict(list)
    bins: dict[int, Bin] = {}
    short: dict[int, str] = {}
    for product_id, wanted in needs.items():
        free = [(level.bin, level.on_hand - claimed.get((level.bin_id, product_id), 0)) for level in levels[product_id]]
        free = [(bin_, units) for bin_, units in free if units > 0]
        for entry, units in wanted:
            while units > 0 and free:
                bin_, available = free[0]
                take = min(units, available)
                stops[(bin_.pk, product_id)].append((entry, take))
                bins[bin_.pk] = bin_
                units -= take
                if take == available:
                    free.pop(0)
                else:
                    free[0] = (bin_, available - take)
            if units > 0:
                short[entry.pk] = _("%(units)s units are in no bin to pick from.") % {"units": units}
    products = {product.pk: product for product in Product.objects.filter(pk__in=list(needs))}
    order = sorted(stops, key=lambda key: (bins[key[0]].pick_sequence, bins[key[0]].code_sort, products[key[1]].sku))
    for sequence, (bin_id, product_id) in enumerate(order, start=1):
        rows = stops[(bin_id, product_id)]
        task = PickTask.objects.create(
            wave=wave,
            sequence=sequence,
            bin_id=bin_id,
            product_id=product_id,
            quantity=sum(units for _entry, units in rows),
        )
        PickTaskLine.objects.bulk_create(
            [PickTaskLine(task=task, wave_parcel=entry, quantity=units) for entry, units in rows]
        )
    # Each parcel's slot on the sorting wall is its position in the wave.
    WaveParcel.objects.filter(wave=wave).update(slot=F("position"))
    for entry_pk, note in short.items():
        WaveParcel.objects.filter(pk=entry_pk).update(status=WaveParcel.Status.SHORT, note=note[:255])
    orders = Order.objects.filter(parcel_lines__parcel__in=[entry.parcel_id for entry in entries]).distinct()
    for order in orders.order_by("pk"):
        order_picking_start(order=order, user=user, note=wave.number)
    wave.status = Wave.Status.RELEASED
    wave.released_at = timezone.now()
    wave.cart_bin = _cart_bin(wave)
    wave.picker = picker
    wave.save()
    _labels_later(wave.pk)
    return wave


def _labels_later(wave_id: int) -> None:
    """Queue the wave's labels through the outbox, in the release's transaction (sent when it commits)."""
    from warehouse.tasks import wave_labels_task

    task_enqueue(wave_labels_task, wave_id)


def wave_labels_make(*, wave: Wave, user=None) -> dict[str, int]:
    """Each of the wave's parcels gets its shipment and label (with its method's carrier account), one carrier
    call at a time outside any transaction; a parcel the carrier refuses keeps the refusal on its shipment for the
    pack station to show. Safe to repeat: a parcel with a live shipment keeps it, and one an earlier run left
    without its label (its worker died while the carrier answered) is asked for again under the same number, so the
    carrier reads back the parcel it made rather than selling a second label."""
    if wave.status in (Wave.Status.DRAFT, Wave.Status.CANCELLED):
        raise Conflict(
            _("Wave %(wave)s is %(status)s: labels are made when it is released.")
            % {"wave": wave.number, "status": wave.get_status_display()},
            code="wave_not_released",
        )
    counts = {"ready": 0, "waiting": 0, "refused": 0}
    started = timezone.now()
    for entry in wave.parcels.exclude(status=WaveParcel.Status.REMOVED).select_related("parcel").order_by("position"):
        try:
            shipment = parcel_ship(parcel=entry.parcel, user=user)
            if shipment.status == Shipment.Status.CREATED and shipment.created_at < started:
                shipment = shipment_label_refresh(shipment=shipment, user=user)
        except DomainError as error:
            WaveParcel.objects.filter(pk=entry.pk).update(note=str(error)[:255])
            counts["refused"] += 1
            continue
        if shipment.status == Shipment.Status.LABEL_READY:
            counts["ready"] += 1
        elif shipment.status == Shipment.Status.FAILED:
            counts["refused"] += 1
        else:
            counts["waiting"] += 1
    return counts


def pick_list_pdf(wave: Wave) -> bytes:
    """The wave's A4 pick list: each stop in walking order (bin, SKU, name, quantity, for how many parcels), with
    barcodes of the wave, each bin and each SKU."""
    tasks = list(wave.tasks.select_related("bin", "product").annotate(parcels=Count("lines")).order_by("sequence"))
    rows = [
        {
            "sequence": task.sequence,
            "bin": task.bin.code,
            "bin_barcode": code128_svg(task.bin.code, height=30),
            "sku": task.product.sku,
            "sku_barcode": code128_svg(task.product.sku, height=30),
            "name": task.product.name,
            "quantity": task.quantity,
            "parcels": task.parcels,
            "status": task.get_status_display(),
        }
        for task in tasks
    ]
    html = render_to_string(
        "warehouse/pick_list.html",
        {
            "wave": wave,
            "rows": rows,
            "barcode": code128_svg(wave.number),
            "units": sum(row["quantity"] for row in rows),
            "printed_at": timezone.localtime(),
        },
    )
    return pdf_from_html(html)


# --- Who picks a wave ----------------------------------------------------------------------------------------------

ASSIGNABLE = (Wave.Status.DRAFT, Wave.Status.RELEASED, Wave.Status.PICKING)
# What a person needs to pick a wave on the scan page.
PICK_PERMISSION = "warehouse.change_picktask"


def picker_problem(picker) -> str | None:
    """Why ``picker`` cannot be given a wave to pick (inactive, or their roles do not let them pick), or None."""
    if not picker.is_active:
        return _("%(user)s is not active.") % {"user": picker.get_username()}
    if not picker.has_perm(PICK_PERMISSION):
        return _("%(user)s may not pick: their roles lack picking.") % {"user": picker.get_username()}
    return None


@transaction.atomic
def wave_assign(*, wave: Wave, picker, user=None) -> Wave:
    """Give ``wave`` to ``picker`` (None: to whoever starts it first). Only a wave still to be picked; a wave
    being picked changes hands (the new picker carries on where the other stopped)."""
    wave = Wave.objects.select_for_update().get(pk=wave.pk)
    if wave.status not in ASSIGNABLE:
        raise Conflict(
            _("Wave %(wave)s is %(status)s: there is nothing left to pick.")
            % {"wave": wave.number, "status": wave.get_status_display()},
            code="wave_not_assignable",
            wave=wave.number,
        )
    if picker is not None:
        problem = picker_problem(picker)
        if problem is not None:
            raise ValidationFailed(problem, code="invalid_picker", errors=[ErrorDetail(problem, field="picker")])
    if wave.picker_id != (picker.pk if picker is not None else None):
        wave.picker = picker
        wave.save(update_fields=["picker", "updated_at"])
    return wave
