"""What the logistics tests share: the orders' world with a YunExpress product code on its method, the
self-printed China Post with a number range, and a YunExpress server."""

from __future__ import annotations

import pytest

from core.simulators import SimulatorServer
from logistics.models import CarrierAccount, TrackingNumberRange
from logistics.simulators.yunexpress import YunExpressSimulator
from tests.logistics.parcels import SENDER
from tests.orders.test_fulfilment import world_make


@pytest.fixture
def world():
    made = world_make()
    made["method"].carrier_product_code = "THPHR"
    made["method"].save()
    return made


@pytest.fixture
def post():
    account = CarrierAccount.objects.create(carrier="self", name="China Post 中国邮政", sender=SENDER)
    TrackingNumberRange.objects.create(
        account=account, prefix="RR", suffix="CN", first_number=1, last_number=999, next_number=1
    )
    return account


@pytest.fixture
def yun():
    simulator = YunExpressSimulator(customer_code="C12345", api_secret="s3cret")
    with SimulatorServer(simulator) as server:
        simulator.url = server.url
        yield simulator
