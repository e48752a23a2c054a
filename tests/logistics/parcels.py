"""Allocated parcels and their shipments, for the logistics tests."""

from __future__ import annotations

from logistics.models import CarrierAccount, Shipment, TrackingNumberRange
from orders.fulfilment import orders_allocate
from orders.models import Parcel
from orders.shipping import parcel_ship
from tests.orders.test_fulfilment import imported, map_skus, receive, world_make

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


def world_with_product_code() -> dict:
    """The orders' world (tests.orders.test_fulfilment.world_make) with YunExpress's product code on its method."""
    made = world_make()
    made["method"].carrier_product_code = "THPHR"
    made["method"].save()
    return made


def post_account() -> CarrierAccount:
    """A self-printed China Post account with an S10 range of 999 numbers."""
    account = CarrierAccount.objects.create(carrier="self", name="China Post 中国邮政", sender=SENDER)
    TrackingNumberRange.objects.create(
        account=account, prefix="RR", suffix="CN", first_number=1, last_number=999, next_number=1
    )
    return account
