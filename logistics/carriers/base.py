"""The one interface every carrier adapter speaks, and what goes through it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.errors import DomainError
from logistics.models import CarrierAccount, Shipment


class CarrierRefused(DomainError):
    """The carrier said no, with its reason (an address it cannot deliver, an unknown method...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="carrier_refused")


class CarrierUnavailable(DomainError):
    """The carrier could not be asked (down, an HTTP error, an answer that makes no sense): try again later. In the
    API it is the gateway's fault (502), not the request's."""

    status_code = 502

    def __init__(self, message: str) -> None:
        super().__init__(message, code="carrier_unavailable")


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

    @classmethod
    def of(cls, line) -> CustomsLineIn:
        """The customs line of anything that has its fields (a stored ``CustomsLine``)."""
        return cls(**{name: getattr(line, name) for name in CUSTOMS_FIELDS})

    def values(self) -> dict:
        return {name: getattr(self, name) for name in CUSTOMS_FIELDS}


# The fields of a customs line, as every carrier, label and screen reads them.
CUSTOMS_FIELDS = (
    "sku",
    "name_en",
    "name_zh",
    "hs_code",
    "quantity",
    "unit_value",
    "currency",
    "unit_weight_g",
    "origin_country",
)


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
    quoted_cost: Decimal | None = None  # what the carrier said this parcel costs, where it says
    cost_currency: str = ""


@dataclass(frozen=True)
class RateIn:
    """One price the carrier offers for a parcel: its service (product) code, amount, and how fast."""

    service: str
    amount: Decimal
    currency: str
    delivery_days: int | None = None
    carrier_rate_id: str = ""
    description: str = ""


@dataclass
class HandoverResult:
    """What the carrier said when parcels were handed over (交运) in one manifest: its manifest id, its document
    (a scan form or manifest PDF, as it sent it), and the parcels it would not take, by shipment id, with why."""

    carrier_manifest_id: str = ""
    document: bytes | None = None
    document_format: str = ""
    message: str = ""
    refused: dict[int, str] = field(default_factory=dict)


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
    hands_over = False  # whether the carrier's API has a hand-over (manifest, scan form, pickup) step
    label_formats: tuple[str, ...] = ("pdf",)  # the label formats the carrier can send

    def __init__(self, account: CarrierAccount) -> None:
        self.account = account

    def quote(self, shipment: Shipment, parcel: ShipmentIn) -> list[RateIn]:
        """The carrier's prices for ``parcel`` (``shipment`` is not saved: it carries the method and sender).
        Empty for carriers without a rate call (Seabridge's own rate cards price those)."""
        return []

    def create(self, shipment: Shipment, parcel: ShipmentIn) -> CarrierShipment:
        raise NotImplementedError

    def label(self, shipment: Shipment) -> CarrierShipment:
        raise NotImplementedError

    def cancel(self, shipment: Shipment) -> None:
        raise NotImplementedError

    def handover(self, shipments: list[Shipment], reference: str) -> HandoverResult:
        """Tell the carrier these parcels are handed over, as one manifest named ``reference``; carriers without
        that step (``hands_over`` False) need nothing."""
        return HandoverResult()

    def track(self, shipments: list[Shipment]) -> dict[int, TrackResult]:
        """Shipment id → where it is, for shipments handed over; none for carriers without tracking."""
        return {}
