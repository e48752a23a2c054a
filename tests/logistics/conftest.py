"""What the logistics tests share: the orders' world with a YunExpress product code on its method, the
self-printed China Post with a number range, and a YunExpress server."""

from __future__ import annotations

import pytest

from core.simulators import SimulatorServer
from logistics.simulators.yunexpress import YunExpressSimulator
from tests.logistics.parcels import post_account, world_with_product_code


@pytest.fixture
def world():
    return world_with_product_code()


@pytest.fixture
def post():
    return post_account()


@pytest.fixture
def yun():
    simulator = YunExpressSimulator(customer_code="C12345", api_secret="s3cret")
    with SimulatorServer(simulator) as server:
        simulator.url = server.url
        yield simulator
