"""The one interface every carrier adapter speaks, and what goes through it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from logistics.models import CarrierAccount, Shipment


@dataclass(frozen=True)
class CustomsLineIn:
    sku: str
    name_en: str
    name_zh: str
    hs_code: str
    quantity: int
    unit_value: Decimal
    currency: str
    unit_weight_g: int
    origin_country: str


@dataclass(frozen=True)
class ShipmentIn:
    """A parcel to ship, in the words every carrier needs: who, where, how heavy, what is in it."""

    reference: str
    method_code: str
    recipient: Mapping[str, str]
    weight_g: int
    lines: Sequence[CustomsLineIn] = field(default_factory=tuple)
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    ioss_number: str = ""
    vat_number: str = ""
    eori_number: str = ""
    # The number the carrier knows this parcel by: the same on a retry, so the carrier never makes two.
    idempotency_key: str = ""


@dataclass
class CarrierShipment:
    """What the carrier answered: its ids, the tracking number (some give it later), the label as it sent it."""

    carrier_order_id: str = ""
    tracking_number: str = ""
    label: bytes | None = None
    label_format: str = ""
    message: str = ""


@dataclass(frozen=True)
class TrackEventIn:
    occurred_at: datetime
    kind: str  # TrackingEvent.Kind
    code: str = ""
    description: str = ""
    location: str = ""


@dataclass
class TrackResult:
    """Where a parcel is: its state in Seabridge's words (a TrackingEvent.Kind, or "" when unknown) and the events."""

    kind: str = ""
    events: list[TrackEventIn] = field(default_factory=list)


class CarrierAdapter:
    """Quote, create shipment, fetch label, cancel, track — in the carrier's own protocol."""

    tracks = False  # whether the carrier can say where its parcels are

    def __init__(self, account: CarrierAccount) -> None:
        self.account = account

    def create(self, shipment: Shipment, parcel: ShipmentIn) -> CarrierShipment:
        raise NotImplementedError

    def label(self, shipment: Shipment) -> CarrierShipment:
        raise NotImplementedError

    def cancel(self, shipment: Shipment) -> None:
        raise NotImplementedError

    def track(self, shipments: list[Shipment]) -> dict[int, TrackResult]:
        """Shipment id → where it is, for shipments handed over; none for carriers without tracking."""
        return {}
