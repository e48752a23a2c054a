"""Parcels waiting at the hand-over, for the scan tests (the test client's and the browser's)."""

from __future__ import annotations

from logistics.models import CarrierAccount, Shipment, TrackingNumberRange
from logistics.shipments import shipment_cancel
from orders.shipping import parcel_ship
from tests.logistics.parcels import SENDER, allocated


def courier_account() -> CarrierAccount:
    """A second self-printed carrier, whose parcels must not go with the post's."""
    account = CarrierAccount.objects.create(carrier="self", name="Shenzhen Courier 顺丰同城", sender=SENDER)
    TrackingNumberRange.objects.create(
        account=account, prefix="EE", suffix="CN", first_number=1, last_number=999, next_number=1
    )
    return account


def hand_over_parcels(world, post) -> dict[str, Shipment]:
    """Labelled parcels in Shenzhen: three for the post (H-1, H-2, H-3), one for the courier (H-4) and one for the
    post whose label was cancelled (H-5)."""
    courier = courier_account()
    first, second, third, other, cancelled = allocated(world, "H-1", "H-2", "H-3", "H-4", "H-5")
    parcels = {
        "first": parcel_ship(parcel=first, account=post),
        "second": parcel_ship(parcel=second, account=post),
        "third": parcel_ship(parcel=third, account=post),
        "other": parcel_ship(parcel=other, account=courier),
        "cancelled": parcel_ship(parcel=cancelled, account=post),
    }
    parcels["cancelled"] = shipment_cancel(shipment=parcels["cancelled"])
    return parcels
