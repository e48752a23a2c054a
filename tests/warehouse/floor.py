"""Orders allocated in the warehouse tests' world, and wave criteria for Shenzhen."""

from __future__ import annotations

from orders.fulfilment import orders_allocate
from tests.orders.test_fulfilment import imported, map_skus
from warehouse.waves import WaveCriteria


def orders(world, *specs) -> None:
    """Import orders (order ID, lines) into the world's store, map the SKUs, allocate."""
    for order_id, lines in specs:
        imported(world, order_id, *lines)
    map_skus(world)
    orders_allocate()


def criteria(world, **kwargs) -> WaveCriteria:
    return WaveCriteria(warehouse_id=world["cn"].pk, **kwargs)
