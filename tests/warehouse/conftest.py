"""The warehouse tests' world: the logistics tests' (orders, products, a method, the self-printed post account),
a floor of bins in Shenzhen and a transfer on its way there."""

from __future__ import annotations

import pytest

from tests.logistics.parcels import post_account, world_with_product_code
from tests.warehouse.floor import floor_make, transfer_shipped


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
    return floor_make(world, post)


@pytest.fixture
def transfer(world, floor):
    """Ten CASE-A and two CABLE-B on their way from Los Angeles to Shenzhen."""
    return transfer_shipped(world)
