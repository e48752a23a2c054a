"""Orders as a store describes them, before they are saved: what every channel adapter and the CSV import produce.

The adapters (``channels.adapters``) turn each platform's shape into these; ``orders.imports.orders_upsert``
checks and saves them. Money is ``Decimal``, times are aware (UTC), the country is ISO 3166 alpha-2 and the
status is one of ``Order.Status`` (the adapter maps the platform's own status, which it keeps in
``channel_status``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(slots=True)
class AddressIn:
    name: str = ""
    company: str = ""
    address1: str = ""
    address2: str = ""
    address3: str = ""
    district: str = ""
    city: str = ""
    county: str = ""
    state: str = ""
    postcode: str = ""
    country: str = ""
    phone: str = ""


@dataclass(slots=True)
class LineIn:
    channel_line_id: str
    channel_sku: str
    quantity: int
    unit_price: Decimal = Decimal("0")
    title: str = ""
    channel_item_id: str = ""
    # Filled by the store's SKU mapping (channels) before the order is saved; None while the SKU is not mapped.
    product_id: int | None = None
    product_quantity: int | None = None


@dataclass(slots=True)
class OrderIn:
    channel_order_id: str
    status: str
    channel_status: str
    ordered_at: datetime
    channel_updated_at: datetime
    lines: list[LineIn]
    address: AddressIn = field(default_factory=AddressIn)
    buyer_name: str = ""
    buyer_email: str = ""
    currency: str = ""
    subtotal: Decimal = Decimal("0")
    shipping_total: Decimal = Decimal("0")
    tax_total: Decimal = Decimal("0")
    discount_total: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    paid_at: datetime | None = None
    ship_by: datetime | None = None
    requested_service: str = ""
    buyer_note: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    # Not empty while the buyer's request to cancel waits for the seller (eBay's cancelState IN_PROGRESS, an
    # Amazon item's cancellationRequest, AliExpress's IN_CANCEL): what the store says of it, shown on the hold.
    cancel_requested: str = ""
