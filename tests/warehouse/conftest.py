"""The warehouse tests' world: the logistics tests' (orders, products, a method, the self-printed post account)
and a floor of bins in Shenzhen."""

from __future__ import annotations

import pytest

from inventory.models import Bin
from inventory.stock_services import stock_receive
from tests.inventory.factories import BinFactory
from tests.logistics.parcels import post_account, world_with_product_code


@pytest.fixture
def world():
    return world_with_product_code()


@pytest.fixture
def post():
    return post_account()


@pytest.fixture
def floor(world, post):
    """Shenzhen with a bulk bin (sequence 0) and two pick faces, A-01-01-02 (sequence 10) and A-01-01-01 (20); the
    method's labels are made with the post account."""
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
