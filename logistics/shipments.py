"""Shipments: the status machine, and making one with a carrier (tracking number and label).

created → label ready → handed over → in transit → delivered, with exception, returned, cancelled (only before
hand-over) and failed (the carrier refused it, with its message). ``shipment_create`` checks the parcel against the
method before anything is sent: a country the method does not serve, a weight over its limit, a customs line without
an HS code or a value are refused by field, and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from core.errors import Conflict, DomainError, ErrorDetail, ValidationFailed
from core.status import StatusMachine, next_id, status_check, status_start, status_transition
from logistics.carriers import adapter_for
from logistics.carriers.base import CarrierShipment, CarrierUnavailable, CustomsLineIn, ShipmentIn, TrackResult
from logistics.models import CarrierAccount, CustomsLine, Shipment, ShipmentEvent, ShippingMethod, TrackingEvent

Status = Shipment.Status

SHIPMENT_STATUS = StatusMachine(
    model=Shipment,
    status_choices=Status,
    transitions={
        "": {Status.CREATED},
        Status.CREATED: {Status.LABEL_READY, Status.FAILED, Status.CANCELLED},
        Status.LABEL_READY: {Status.HANDED_OVER, Status.CANCELLED},
        Status.HANDED_OVER: {Status.IN_TRANSIT, Status.DELIVERED, Status.EXCEPTION, Status.RETURNED},
        Status.IN_TRANSIT: {Status.DELIVERED, Status.EXCEPTION, Status.RETURNED},
        Status.EXCEPTION: {Status.IN_TRANSIT, Status.DELIVERED, Status.RETURNED},
        Status.DELIVERED: set(),
        Status.RETURNED: set(),
        Status.CANCELLED: set(),
        Status.FAILED: set(),
    },
    event_model=ShipmentEvent,
    event_document_field="shipment",
    label=pgettext_lazy("document", "Shipment"),
)

# Sent (on commit) when tracking moves a shipment: orders listens, to move its orders on.
shipment_moved = Signal()
# Sent (on commit) when a shipment's label is ready: orders listens, to tell stores that want to hear early.
shipment_label_ready = Signal()

RECIPIENT_NEEDS = ("name", "address1", "city", "country")


def shipment_number(pk: int) -> str:
    return f"SHP{pk:08d}"


def parcel_problems(method: ShippingMethod, parcel: ShipmentIn) -> list[ErrorDetail]:
    """What the method or customs would refuse in ``parcel``, each named by its field."""
    problems = []
    for name in RECIPIENT_NEEDS:
        if not str(parcel.recipient.get(name) or "").strip():
            problems.append(ErrorDetail(_("Required."), field=f"recipient.{name}", code="required"))
    country = str(parcel.recipient.get("country") or "").upper()
    if country and method.countries and country not in method.countries:
        problems.append(
            ErrorDetail(
                _("%(method)s does not serve %(country)s.") % {"method": method.code, "country": country},
                field="recipient.country",
                code="not_served",
            )
        )
    if parcel.weight_g <= 0:
        problems.append(ErrorDetail(_("The parcel has no weight."), field="weight_g", code="invalid"))
    elif method.max_weight_g and parcel.weight_g > method.max_weight_g:
        problems.append(
            ErrorDetail(
                _("%(weight)s g is over the %(limit)s g %(method)s takes.")
                % {"weight": parcel.weight_g, "limit": method.max_weight_g, "method": method.code},
                field="weight_g",
                code="max_value",
            )
        )
    for index, line in enumerate(parcel.lines):
        if not line.hs_code:
            problems.append(
                ErrorDetail(
                    _("%(sku)s has no HS code: enter it on the product.") % {"sku": line.sku},
                    field=f"lines[{index}].hs_code",
                    code="required",
                )
            )
        if not line.name_en:
            problems.append(
                ErrorDetail(
                    _("%(sku)s has no English declared name: enter it on the product.") % {"sku": line.sku},
                    field=f"lines[{index}].name_en",
                    code="required",
                )
            )
        if line.unit_value is None or line.unit_value <= 0 or not line.currency:
            problems.append(
                ErrorDetail(
                    _("%(sku)s has no declared value: enter it on the product.") % {"sku": line.sku},
                    field=f"lines[{index}].unit_value",
                    code="required",
                )
            )
    return problems


def shipment_create(
    *,
    account: CarrierAccount,
    method: ShippingMethod,
    parcel: ShipmentIn,
    parcel_id: int | None = None,
    label_size: str = "",
    user=None,
) -> Shipment:
    """Make a shipment of ``parcel`` with the carrier: checked first (ValidationFailed by field), then saved and
    sent; the carrier's answer gives the tracking number and the label (status label ready), or its refusal ends it
    as failed with the carrier's message.

    Two steps, and the carrier is asked between them, outside any transaction of ours: the shipment is committed
    first (with the number the carrier will know it by), so a worker that dies while the carrier answers leaves a
    created shipment that ``shipment_label_refresh`` sends again under the same number, never a second parcel; and
    no row stays locked while a slow carrier thinks. A carrier that cannot be reached leaves it created, with why.
    """
    adapter_for(account)  # a carrier Seabridge cannot speak to yet is refused before anything is made
    problems = parcel_problems(method, parcel)
    if problems:
        raise ValidationFailed.listing(_("The parcel %(reference)s") % {"reference": parcel.reference}, problems)
    with transaction.atomic():
        shipment = _shipment_save(account, method, parcel, parcel_id, label_size, user)
    return _carrier_create(shipment, parcel, user)


def _shipment_save(account, method, parcel: ShipmentIn, parcel_id, label_size: str, user) -> Shipment:
    pk = next_id(Shipment)
    shipment = Shipment.objects.create(
        pk=pk,
        number=shipment_number(pk),
        parcel_id=parcel_id,
        reference=parcel.reference,
        carrier_reference=parcel.idempotency_key or shipment_number(pk),
        account=account,
        method=method,
        recipient=dict(parcel.recipient),
        sender=dict(account.sender or {}),
        expected_weight_g=parcel.weight_g,
        declared_weight_g=sum(line.unit_weight_g * line.quantity for line in parcel.lines) or parcel.weight_g,
        length_mm=parcel.length_mm,
        width_mm=parcel.width_mm,
        height_mm=parcel.height_mm,
        ioss_number=parcel.ioss_number,
        vat_number=parcel.vat_number,
        eori_number=parcel.eori_number,
        label_size=label_size or method.label_size or "100x100",
    )
    CustomsLine.objects.bulk_create([CustomsLine(shipment=shipment, **line.values()) for line in parcel.lines])
    status_start(machine=SHIPMENT_STATUS, document=shipment, user=user)
    return shipment


def shipment_in_of(shipment: Shipment) -> ShipmentIn:
    """The parcel as it was sent, read back from the shipment (to send it again under the same number)."""
    return ShipmentIn(
        reference=shipment.reference,
        method_code=shipment.method.code,
        recipient=dict(shipment.recipient),
        weight_g=shipment.expected_weight_g or shipment.declared_weight_g or 0,
        lines=tuple(CustomsLineIn.of(line) for line in shipment.customs_lines.order_by("pk")),
        length_mm=shipment.length_mm,
        width_mm=shipment.width_mm,
        height_mm=shipment.height_mm,
        ioss_number=shipment.ioss_number,
        vat_number=shipment.vat_number,
        eori_number=shipment.eori_number,
        idempotency_key=shipment.carrier_reference,
    )


def _carrier_create(shipment: Shipment, parcel: ShipmentIn, user) -> Shipment:
    try:
        answer = adapter_for(shipment.account).create(shipment, parcel)
    except CarrierUnavailable as unavailable:
        # Not a no: the carrier may have it. It stays created, to be sent again under the same number.
        return _answer_apply(shipment, None, user, str(unavailable))
    except DomainError as refused:
        with transaction.atomic():
            locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
            if locked.status != Status.CREATED:
                return locked
            return _status(locked, Status.FAILED, user, str(refused), {"carrier_message": str(refused)})
    return _answer_apply(shipment, answer, user)


@transaction.atomic
def _answer_apply(shipment: Shipment, answer: CarrierShipment | None, user, message: str = "") -> Shipment:
    locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if locked.status != Status.CREATED:
        return locked  # another worker finished it meanwhile
    if answer is None:
        locked.carrier_message = message
        locked.save(update_fields=["carrier_message", "updated_at"])
        return locked
    changes: dict[str, Any] = {
        "carrier_order_id": answer.carrier_order_id or locked.carrier_order_id,
        "tracking_number": answer.tracking_number or locked.tracking_number,
        "label": answer.label,
        "label_format": answer.label_format,
        "carrier_message": answer.message,
    }
    if answer.quoted_cost is not None:
        changes["quoted_cost"], changes["cost_currency"] = answer.quoted_cost, answer.cost_currency
    if answer.label:
        ready = _status(locked, Status.LABEL_READY, user, changes["tracking_number"], changes)
        transaction.on_commit(lambda: shipment_label_ready.send(sender=Shipment, shipment_id=ready.pk))
        return ready
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save(update_fields=[*changes, "updated_at"])
    return locked


def shipment_label_refresh(*, shipment: Shipment, user=None) -> Shipment:
    """Ask the carrier again for a shipment still without its label: one the carrier never answered for is sent
    again under the same number (the carrier finds it, or makes it once); one with a tracking number issued later
    is asked for it. The carrier is asked outside any transaction."""
    shipment = Shipment.objects.select_related("account", "method").get(pk=shipment.pk)
    if shipment.status != Status.CREATED:
        return shipment
    if not shipment.carrier_order_id and not shipment.tracking_number:
        return _carrier_create(shipment, shipment_in_of(shipment), user)
    try:
        answer = adapter_for(shipment.account).label(shipment)
    except CarrierUnavailable as unavailable:
        return _answer_apply(shipment, None, user, str(unavailable))
    if not answer.label:
        return shipment
    return _answer_apply(shipment, answer, user)


def shipments_labels_refresh(*, older_than: timedelta = timedelta(minutes=1), limit: int = 500) -> int:
    """Every created shipment still without its label (a carrier that did not answer, a number issued later),
    asked again; returns how many got their label."""
    ids = list(
        Shipment.objects.filter(status=Status.CREATED, updated_at__lt=timezone.now() - older_than)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pk in ids:
        try:
            refreshed = shipment_label_refresh(shipment=Shipment(pk=pk))
        except DomainError:
            continue
        done += refreshed.status == Status.LABEL_READY
    return done


def _status(shipment: Shipment, to_status: str, user, note: str, changes: Mapping[str, Any] | None = None) -> Shipment:
    return status_transition(
        machine=SHIPMENT_STATUS, document=shipment, to_status=to_status, user=user, note=note, changes=changes
    )


@transaction.atomic
def shipment_cancel(*, shipment: Shipment, user=None, note: str = "") -> Shipment:
    """Cancel a shipment and void its label with the carrier; only before hand-over (the map refuses later).

    The row stays locked while the carrier voids it, so a hand-over scan cannot slip in between."""
    shipment = (
        Shipment.objects.select_for_update(of=("self",)).select_related("account", "manifest").get(pk=shipment.pk)
    )
    if shipment.status == Status.CANCELLED:
        return shipment
    status_check(machine=SHIPMENT_STATUS, document=shipment, to_status=Status.CANCELLED)
    if shipment.manifest_id and shipment.manifest.status == "closing":
        raise Conflict(
            _("%(shipment)s is being handed over in %(manifest)s: cancel it after, or take it out first.")
            % {"shipment": shipment.tracking_number or shipment.number, "manifest": shipment.manifest.number},
            code="being_handed_over",
        )
    if shipment.carrier_order_id or shipment.tracking_number or shipment.status == Status.LABEL_READY:
        adapter_for(shipment.account).cancel(shipment)
    return _status(shipment, Status.CANCELLED, user, note, {"void_requested_at": None})


# --- Voiding labels whose orders went away ----------------------------------------------------------------------

VOIDABLE = (Status.CREATED, Status.LABEL_READY)


def shipments_void_request(*, shipment_ids: Iterable[int], reason: str = "") -> list[int]:
    """Mark live shipments to be voided with their carrier (their order was cancelled, their parcel undone), in the
    caller's transaction, and try at once after it commits; what the carrier does not void now is tried again by
    the periodic task, so a cancelled order never keeps a live label. Returns the ids marked."""
    ids = list(
        Shipment.objects.filter(pk__in=list(shipment_ids), status__in=VOIDABLE, void_requested_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        Shipment.objects.filter(pk__in=ids).update(void_requested_at=timezone.now(), void_reason=reason[:200])
        transaction.on_commit(lambda: shipments_void_pending(shipment_ids=ids))
    return ids


def shipments_void_pending(*, shipment_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Void with their carriers the shipments marked to be voided; a carrier that refuses or is down is noted on
    the shipment and asked again next time. One already handed over cannot be voided: it is left for a person
    (intercept it with the carrier), with the reason on it."""
    queryset = Shipment.objects.filter(void_requested_at__isnull=False)
    if shipment_ids is not None:
        queryset = queryset.filter(pk__in=list(shipment_ids))
    counts = {"voided": 0, "failed": 0, "too_late": 0}
    for shipment in queryset.order_by("pk"):
        if shipment.status not in VOIDABLE:
            Shipment.objects.filter(pk=shipment.pk).update(
                void_requested_at=None,
                carrier_message=_("Its order was cancelled after hand-over: intercept it with the carrier."),
            )
            counts["too_late"] += 1
            continue
        try:
            shipment_cancel(shipment=shipment, note=shipment.void_reason)
        except DomainError as error:
            Shipment.objects.filter(pk=shipment.pk).update(carrier_message=str(error))
            counts["failed"] += 1
            continue
        counts["voided"] += 1
    return counts


# --- Tracking --------------------------------------------------------------------------------------------------

# Shipments whose journey is followed; the final states stop it.
TRACKED = (Status.HANDED_OVER, Status.IN_TRANSIT, Status.EXCEPTION)
TRACK_BATCH = 100
# What a reported state makes of a shipment.
KIND_TO_STATUS = {
    TrackingEvent.Kind.IN_TRANSIT: Status.IN_TRANSIT,
    TrackingEvent.Kind.DELIVERED: Status.DELIVERED,
    TrackingEvent.Kind.EXCEPTION: Status.EXCEPTION,
    TrackingEvent.Kind.RETURNED: Status.RETURNED,
}


def shipments_track(*, batch_size: int = TRACK_BATCH) -> dict[str, int]:
    """Ask each carrier where its handed-over parcels are, in batches per account; store the new events, move
    each shipment to what its carrier reports (in transit, delivered, exception, returned) and stop at the final
    states. Each batch is its own transaction; the carrier is asked outside it."""
    counts = {"asked": 0, "events": 0, "moved": 0}
    accounts = CarrierAccount.objects.filter(shipments__status__in=TRACKED, is_active=True).distinct()
    for account in accounts:
        adapter = adapter_for(account)
        if not adapter.tracks:
            continue  # a self-printed post parcel is followed by a person (or marked delivered by hand)
        ids = list(
            Shipment.objects.filter(account=account, status__in=TRACKED).order_by("pk").values_list("pk", flat=True)
        )
        for start in range(0, len(ids), batch_size):
            shipments = list(Shipment.objects.filter(pk__in=ids[start : start + batch_size]).order_by("pk"))
            results = adapter.track(shipments)
            counts["asked"] += len(shipments)
            with transaction.atomic():
                for shipment in shipments:
                    result = results.get(shipment.pk)
                    if result is None:
                        continue
                    counts["events"] += _events_record(shipment, result)
                    if _status_follow(shipment, result):
                        counts["moved"] += 1
    return counts


def _events_record(shipment: Shipment, result: TrackResult) -> int:
    """Store the events not stored yet; returns how many were new."""
    before = shipment.tracking_events.count()
    TrackingEvent.objects.bulk_create(
        [
            TrackingEvent(
                shipment=shipment,
                occurred_at=event.occurred_at,
                kind=event.kind,
                code=event.code,
                description=event.description,
                location=event.location,
            )
            for event in result.events
        ],
        ignore_conflicts=True,  # the carrier repeats its whole history every time: each step is kept once
    )
    return shipment.tracking_events.count() - before


def _status_follow(shipment: Shipment, result: TrackResult) -> bool:
    target = KIND_TO_STATUS.get(result.kind)
    locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if target is None or target == locked.status or target not in SHIPMENT_STATUS.allowed(locked.status):
        return False
    moved = _status(locked, target, None, result.events[-1].description if result.events else "")
    transaction.on_commit(lambda: shipment_moved.send(sender=Shipment, shipment_id=moved.pk, status=moved.status))
    return True
