"""A postal or local service whose labels Seabridge prints itself: the tracking number comes from a range the
seller entered (``TrackingNumberRange``), the label from ``logistics.labels``. Nothing is sent anywhere; cancelling
only voids the label here (the number is not used again)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from core.errors import Conflict
from logistics.carriers.base import CarrierAdapter, CarrierShipment, ShipmentIn
from logistics.labels import LabelIn, LabelLine, labels_pdf
from logistics.models import Shipment, TrackingNumberRange

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check_digit(serial: str) -> int:
    """The UPU S10 check digit of eight serial digits: weights 8 6 4 2 3 5 9 7, 11 − sum mod 11, with 10 → 0 and
    11 → 5."""
    check = 11 - sum(int(digit) * weight for digit, weight in zip(serial, S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


def tracking_number_format(number_range: TrackingNumberRange, number: int) -> str:
    if number_range.scheme == TrackingNumberRange.Scheme.S10:
        serial = f"{number:08d}"
        return f"{number_range.prefix}{serial}{s10_check_digit(serial)}{number_range.suffix}"
    return f"{number_range.prefix}{number:0{number_range.width}d}{number_range.suffix}"


@transaction.atomic
def tracking_number_take(account_id: int) -> str:
    """The next unused number of the account's active ranges (oldest range first), taken under a row lock so two
    labels never get one number; Conflict when every range is used up."""
    number_range = (
        TrackingNumberRange.objects.select_for_update()
        .filter(account_id=account_id, is_active=True, next_number__lte=F("last_number"))
        .order_by("first_number", "pk")
        .first()
    )
    if number_range is None:
        raise Conflict(
            _("Every tracking number range of this carrier account is used up: enter a new range."),
            code="tracking_numbers_used_up",
        )
    number = number_range.next_number
    TrackingNumberRange.objects.filter(pk=number_range.pk).update(next_number=F("next_number") + 1)
    return tracking_number_format(number_range, number)


class SelfPrinted(CarrierAdapter):
    def create(self, shipment: Shipment, parcel: ShipmentIn) -> CarrierShipment:
        tracking = tracking_number_take(self.account.pk)
        label = labels_pdf([label_in(shipment, parcel, tracking)])
        return CarrierShipment(tracking_number=tracking, label=label, label_format="pdf")

    def label(self, shipment: Shipment) -> CarrierShipment:
        return CarrierShipment(tracking_number=shipment.tracking_number, label=bytes(shipment.label or b""))

    def cancel(self, shipment: Shipment) -> None:
        return None


def label_in(shipment: Shipment, parcel: ShipmentIn, tracking: str) -> LabelIn:
    method = shipment.method
    return LabelIn(
        tracking_number=tracking,
        reference=parcel.reference,
        carrier=str(method.carrier.name),
        service=str(method.name),
        sender=shipment.sender,
        recipient=parcel.recipient,
        weight_g=parcel.weight_g,
        lines=[
            LabelLine(**{name: value for name, value in line.values().items() if name != "sku"})
            for line in parcel.lines
        ],
        size=shipment.label_size or "100x100",
    )
