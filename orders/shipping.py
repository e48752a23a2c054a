"""An allocated parcel shipped with a carrier: the parcel in the carrier's words (``ShipmentIn``: recipient,
weight, size, customs lines from the products' data), handed to ``logistics.shipments.shipment_create``.

``logistics`` knows shipments, not orders; this module, above it, turns an order's parcel into one."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import Conflict
from logistics.carriers.base import CustomsLineIn, ShipmentIn
from logistics.models import CarrierAccount, Shipment
from logistics.shipments import shipment_create
from orders.models import Order, Parcel

# Destinations where an IOSS number goes with a low-value parcel (the EU) and the store may have one.
EU = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()  # noqa: SIM905
)


def parcel_shipment_in(parcel: Parcel) -> ShipmentIn:
    """The parcel as a carrier reads it: the first order's address (merged orders share it), every line's product
    weight and customs data (bundles declared as sold), the orders' references joined."""
    rows = list(parcel.lines.select_related("line__product", "order__store").order_by("order_id", "pk"))
    orders: dict[int, Order] = {}
    lines: dict[str, CustomsLineIn] = {}
    weight = 0
    for row in rows:
        orders.setdefault(row.order_id, row.order)
        product = row.line.product
        if product is None:
            continue
        units = (row.line.product_quantity or 0) * row.quantity // (row.line.quantity or 1)
        weight += (product.weight_g or 0) * units
        previous = lines.get(product.sku)
        lines[product.sku] = CustomsLineIn(
            sku=product.sku,
            name_en=product.declared_name_en or "",
            name_zh=product.declared_name_zh or "",
            hs_code=product.hs_code or "",
            quantity=(previous.quantity if previous else 0) + units,
            unit_value=product.declared_value if product.declared_value is not None else Decimal(0),
            currency=product.declared_currency or "USD",
            unit_weight_g=product.weight_g or 0,
            origin_country=product.origin_country or "CN",
        )
    first = next(iter(orders.values()))
    country = (first.ship_country or "").upper()
    options = first.store.options if isinstance(first.store.options, dict) else {}
    return ShipmentIn(
        reference="+".join(order.channel_order_id for order in orders.values())[:64],
        method_code=parcel.shipping_method.code if parcel.shipping_method_id else "",
        recipient={
            "name": first.ship_name,
            "company": first.ship_company,
            "address1": first.ship_address1,
            "address2": " ".join(part for part in (first.ship_address2, first.ship_address3) if part),
            "city": first.ship_city,
            "state": first.ship_state,
            "postcode": first.ship_postcode,
            "country": country,
            "phone": first.ship_phone,
            "email": first.buyer_email,
        },
        weight_g=weight,
        lines=tuple(lines.values()),
        ioss_number=str(options.get("ioss_number") or "") if country in EU else "",
    )


@transaction.atomic
def parcel_ship(*, parcel: Parcel, account: CarrierAccount, user=None) -> Shipment:
    """Make the shipment of an allocated parcel with ``account`` (tracking number and label)."""
    parcel = Parcel.objects.select_for_update(of=("self",)).select_related("shipping_method__carrier").get(pk=parcel.pk)
    if parcel.reserved_at is None or parcel.shipping_method_id is None:
        raise Conflict(
            _("Parcel %(parcel)s is not allocated: it has no stock reserved or no shipping method.")
            % {"parcel": parcel.number},
            code="parcel_not_allocated",
        )
    live = parcel.shipments.exclude(status__in=[Shipment.Status.CANCELLED, Shipment.Status.FAILED]).first()
    if live is not None:
        return live  # asked again (a retry, a second click): the shipment made first
    earlier = parcel.shipments.count()  # cancelled or failed: a new attempt gets a new number with the carrier
    shipment_in = parcel_shipment_in(parcel)
    shipment_in = replace(shipment_in, idempotency_key=parcel.number if not earlier else f"{parcel.number}-{earlier}")
    return shipment_create(
        account=account,
        method=parcel.shipping_method,
        parcel=shipment_in,
        parcel_id=parcel.pk,
        user=user,
    )
