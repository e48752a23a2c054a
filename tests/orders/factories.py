"""Stores and orders as a store sends them, for the order and channel tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from channels.models import Store
from orders.inbound import AddressIn, LineIn, OrderIn
from orders.models import Order

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    channel = "manual"
    name = factory.Sequence(lambda n: f"Store {n}")
    import_from = T0 - timedelta(days=30)


def line_in(line_id: str = "L1", sku: str = "SKU-A", quantity: int = 1, **kwargs) -> LineIn:
    return LineIn(channel_line_id=line_id, channel_sku=sku, quantity=quantity, unit_price=Decimal("9.99"), **kwargs)


def order_in(
    order_id: str = "A-1",
    *,
    lines: list[LineIn] | None = None,
    status: str = Order.Status.AWAITING_SHIPMENT,
    updated: datetime | None = None,
    **kwargs,
) -> OrderIn:
    address = kwargs.pop(
        "address",
        AddressIn(
            name="Jane Roe", address1="1 Main St", city="Springfield", state="IL", postcode="62701", country="US"
        ),
    )
    return OrderIn(
        channel_order_id=order_id,
        status=status,
        channel_status=kwargs.pop("channel_status", "Unshipped"),
        ordered_at=kwargs.pop("ordered_at", T0),
        channel_updated_at=updated or T0,
        lines=lines if lines is not None else [line_in()],
        address=address,
        currency=kwargs.pop("currency", "USD"),
        total=kwargs.pop("total", Decimal("9.99")),
        **kwargs,
    )
