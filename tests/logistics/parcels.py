"""Allocated parcels and their shipments, for the logistics tests."""

from __future__ import annotations

from logistics.models import Shipment
from orders.fulfilment import orders_allocate
from orders.models import Parcel
from orders.shipping import parcel_ship
from tests.orders.test_fulfilment import imported, map_skus, receive

SENDER = {
    "name": "Seabridge 深圳仓",
    "address1": "1 Bao'an Rd",
    "city": "Shenzhen",
    "postcode": "518000",
    "country": "CN",
}


def allocated(world, *order_ids: str) -> list[Parcel]:
    """One allocated parcel per order (each of one CASE-A, with stock received in Shenzhen first)."""
    receive(world, "CN1", world["a"], 10)
    orders = [imported(world, order_id) for order_id in order_ids]
    map_skus(world)
    orders_allocate()
    return [Parcel.objects.filter(lines__order=order).distinct().get() for order in orders]


def shipped(world, account, *order_ids: str) -> list[Shipment]:
    return [parcel_ship(parcel=parcel, account=account) for parcel in allocated(world, *order_ids)]
