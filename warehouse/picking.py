"""Picking a released wave, stop by stop: the next bin in walking order, the SKU and how many; the bin scanned
is checked, each item scanned is checked, and the units move from the bin into the wave's cart under each
parcel's reservation (``inventory.stock_services.stock_pick``), so the ledger knows which parcel each unit is for.
A short pick is reported with a reason: its parcels are marked short (the pack station will not pack them) and
the rest of the wave goes on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound, ValidationFailed
from inventory.models import Product
from inventory.stock_services import stock_pick
from warehouse.models import PickTask, PickTaskLine, Wave, WaveParcel

PICKABLE = (Wave.Status.RELEASED, Wave.Status.PICKING)
MOST_AT_ONCE = 9999


@dataclass(frozen=True)
class PickAnswer:
    """What the picker sees after a scan: what was done, and where to go next (None when the wave is picked)."""

    message: str
    task: PickTask | None
    picked: int = 0


def product_by_scan(code: str) -> Product | None:
    """The product whose SKU or barcode was scanned (SKUs are matched as written, then in capitals)."""
    code = (code or "").strip()
    if not code:
        return None
    return Product.objects.filter(Q(sku=code) | Q(sku=code.upper()) | Q(barcode=code)).order_by("pk").first()


def wave_by_scan(code: str, warehouse_id: int) -> Wave:
    wave = Wave.objects.filter(number=(code or "").strip().upper(), warehouse_id=warehouse_id).first()
    if wave is None:
        raise NotFound(_("No wave %(code)s in this warehouse.") % {"code": code}, code="unknown_wave", scan=code)
    if wave.status not in PICKABLE:
        raise Conflict(
            _("Wave %(wave)s is %(status)s: nothing to pick.")
            % {"wave": wave.number, "status": wave.get_status_display()},
            code="wave_not_pickable",
        )
    return wave


def pick_next(wave: Wave) -> PickTask | None:
    """The next stop of the wave's path (the first task not yet picked nor reported short)."""
    return wave.tasks.filter(status=PickTask.Status.OPEN).select_related("bin", "product").order_by("sequence").first()


@transaction.atomic
def pick_start(*, wave: Wave, user=None) -> Wave:
    """The picker takes the wave (assigned to them unless someone else has it)."""
    wave = Wave.objects.select_for_update().get(pk=wave.pk)
    if wave.status not in PICKABLE:
        raise Conflict(
            _("Wave %(wave)s is %(status)s: nothing to pick.")
            % {"wave": wave.number, "status": wave.get_status_display()},
            code="wave_not_pickable",
        )
    if wave.picker_id and user is not None and wave.picker_id != user.pk:
        raise Conflict(
            _("Wave %(wave)s is assigned to %(picker)s.") % {"wave": wave.number, "picker": wave.picker},
            code="wave_assigned",
        )
    changes = []
    if wave.status == Wave.Status.RELEASED:
        wave.status = Wave.Status.PICKING
        changes.append("status")
    if wave.picker_id is None and user is not None:
        wave.picker = user
        changes.append("picker")
    if changes:
        wave.save(update_fields=[*changes, "updated_at"])
    return wave


def _task(wave: Wave, task_id: int) -> PickTask:
    task = (
        PickTask.objects.select_for_update(of=("self",))
        .select_related("bin", "product")
        .filter(pk=task_id, wave=wave)
        .first()
    )
    if task is None:
        raise NotFound(_("That stop is not in this wave."), code="unknown_task")
    if task.status != PickTask.Status.OPEN:
        raise Conflict(
            _("%(sku)s at %(bin)s is done already.") % {"sku": task.product.sku, "bin": task.bin.code},
            code="task_done",
        )
    return task


def pick_bin(*, wave: Wave, task_id: int, code: str) -> PickTask:
    """The picker is at a bin: it must be the stop's."""
    with transaction.atomic():
        task = _task(wave, task_id)
    if (code or "").strip().upper() != task.bin.code:
        raise Conflict(
            _("Wrong bin %(scanned)s: go to %(bin)s.") % {"scanned": code, "bin": task.bin.code},
            code="wrong_bin",
            scan=code,
        )
    return task


@transaction.atomic
def pick_item(*, wave: Wave, task_id: int, code: str, quantity: int = 1, user=None) -> PickAnswer:
    """Items of the stop taken: ``code`` must be its SKU (or barcode), ``quantity`` at most what is left. The units
    go into the cart for the stop's parcels in pick order."""
    wave = Wave.objects.select_for_update(of=("self",)).select_related("cart_bin").get(pk=wave.pk)
    task = _task(wave, task_id)
    product = product_by_scan(code)
    if product is None or product.pk != task.product_id:
        raise Conflict(
            _("Wrong item %(scanned)s: this stop is %(sku)s.") % {"scanned": code, "sku": task.product.sku},
            code="wrong_item",
            scan=code,
        )
    left = task.quantity - task.picked
    if not 1 <= quantity <= MOST_AT_ONCE:
        raise ValidationFailed(_("Enter a quantity of 1 or more."), code="invalid_quantity")
    if quantity > left:
        raise Conflict(
            _("Only %(left)s left to pick here, not %(quantity)s.") % {"left": left, "quantity": quantity},
            code="too_many",
        )
    to_take = quantity
    lines = task.lines.select_for_update().select_related("wave_parcel__parcel").order_by("wave_parcel__position")
    for line in lines:
        take = min(to_take, line.quantity - line.picked)
        if take <= 0:
            continue
        stock_pick(
            reference=line.wave_parcel.parcel.number,
            product=task.product,
            from_bin=task.bin,
            to_bin=wave.cart_bin,
            quantity=take,
            user=user,
        )
        PickTaskLine.objects.filter(pk=line.pk).update(picked=F("picked") + take)
        WaveParcel.objects.filter(pk=line.wave_parcel_id).update(units_picked=F("units_picked") + take)
        to_take -= take
        if to_take == 0:
            break
    task.picked += quantity
    task.picked_by = user
    if task.picked == task.quantity:
        task.status = PickTask.Status.DONE
    task.save(update_fields=["picked", "picked_by", "status"])
    _parcels_settle(wave)
    following = pick_next(wave)
    if following is None:
        _wave_picked(wave)
    message = _("%(quantity)s × %(sku)s picked.") % {"quantity": quantity, "sku": task.product.sku}
    return PickAnswer(message=message, task=following, picked=quantity)


@transaction.atomic
def pick_short(*, wave: Wave, task_id: int, reason: str, user=None) -> PickAnswer:
    """The bin does not hold what the stop asks for: the stop ends short with the reason, its parcels not fully
    picked are marked short (not to be packed; a manager resolves them), and the wave goes on."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why it is short (empty bin, damaged...)."), code="reason_required")
    wave = Wave.objects.select_for_update().get(pk=wave.pk)
    task = _task(wave, task_id)
    task.status = PickTask.Status.SHORT
    task.short_reason = reason[:200]
    task.picked_by = user
    task.save(update_fields=["status", "short_reason", "picked_by"])
    short_parcels = [line.wave_parcel_id for line in task.lines.all() if line.picked < line.quantity]
    note = _("Short at %(bin)s: %(reason)s") % {"bin": task.bin.code, "reason": reason}
    WaveParcel.objects.filter(pk__in=short_parcels).update(status=WaveParcel.Status.SHORT, note=note[:255])
    following = pick_next(wave)
    if following is None:
        _wave_picked(wave)
    missing = task.quantity - task.picked
    return PickAnswer(
        message=_("%(missing)s × %(sku)s reported short.") % {"missing": missing, "sku": task.product.sku},
        task=following,
    )


def _parcels_settle(wave: Wave) -> None:
    """Parcels whose every unit is picked become picked."""
    WaveParcel.objects.filter(wave=wave, status=WaveParcel.Status.WAITING, units_picked__gte=F("units")).update(
        status=WaveParcel.Status.PICKED
    )


def _wave_picked(wave: Wave) -> None:
    Wave.objects.filter(pk=wave.pk, status__in=PICKABLE).update(status=Wave.Status.PICKED, updated_at=timezone.now())


def pick_progress(wave: Wave) -> dict[str, int]:
    """Stops and units, done and in all, for the page's progress bar and the admin."""
    tasks = list(wave.tasks.values_list("status", "quantity", "picked"))
    return {
        "stops": len(tasks),
        "stops_done": sum(1 for status, _quantity, _picked in tasks if status != PickTask.Status.OPEN),
        "units": sum(quantity for _status, quantity, _picked in tasks),
        "units_picked": sum(picked for _status, _quantity, picked in tasks),
    }
