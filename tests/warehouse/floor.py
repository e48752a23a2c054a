"""The warehouse tests' floor of bins, orders allocated in their world, wave criteria for Shenzhen, and a transfer on
its way there."""

from __future__ import annotations

from inventory.models import Bin, Transfer
from inventory.stock_services import stock_receive
from inventory.transfer_services import transfer_create, transfer_ship
from orders.fulfilment import orders_allocate
from tests.inventory.factories import BinFactory
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


def floor_make(world, post) -> dict[str, Bin]:
    """Shenzhen with a bulk bin (sequence 0) holding 50 CASE-A and two pick faces, A-01-01-02 (sequence 10) with 5
    CABLE-B and A-01-01-01 (20) with 3 CASE-A; the method's labels are made with the post account."""
    cn = world["cn"]
    bulk = BinFactory(warehouse=cn, code="B-01-01-01", kind=Bin.Kind.BULK, pick_sequence=0)
    p1 = BinFactory(warehouse=cn, code="A-01-01-01", pick_sequence=20)
    p2 = BinFactory(warehouse=cn, code="A-01-01-02", pick_sequence=10)
    stock_receive(product=world["a"], bin=bulk, quantity=50, reference="PO-1")
    stock_receive(product=world["a"], bin=p1, quantity=3, reference="PO-1")
    stock_receive(product=world["b"], bin=p2, quantity=5, reference="PO-1")
    world["method"].account = post
    world["method"].save()
    return {"bulk": bulk, "p1": p1, "p2": p2}


def transfer_shipped(world) -> Transfer:
    """Ten CASE-A and two CABLE-B on their way from Los Angeles to Shenzhen."""
    us_bin = world["bins"]["US1"]
    stock_receive(product=world["a"], bin=us_bin, quantity=10, reference="PO-9")
    stock_receive(product=world["b"], bin=us_bin, quantity=2, reference="PO-9")
    made = transfer_create(
        source=world["us"], destination=world["cn"], lines=[(world["a"], 10, us_bin), (world["b"], 2, us_bin)]
    )
    return transfer_ship(transfer=made)
