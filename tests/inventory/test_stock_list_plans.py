"""The stock lists' cheaper plans, found by bench/bench_load.py, answer what the plain ones answered.

Stock levels of one warehouse are ordered by bin and SKU without the warehouse's keys (so PostgreSQL walks the
bins' index and stops after a page): the rows come in the same order as in the list of every warehouse. The ledger
filtered by reason runs without DISTINCT (which sorted every matching move before a page could stop).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import Product, StockMove
from inventory.stock_services import stock_move, stock_receive
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_warehouses():
    """Shenzhen (first by priority) and Los Angeles; bins in an order where natural and plain sorting differ; two
    SKUs per bin in Shenzhen, one in Los Angeles."""
    shenzhen = WarehouseFactory(code="SZ", priority=10)
    los_angeles = WarehouseFactory(code="LA", priority=20)
    alpha, beta, gamma = (ProductFactory(sku=sku) for sku in ("SKU-10", "SKU-9", "SKU-2"))
    for code in ("A-10-01-01", "A-02-01-01", "A-01-01-01"):
        place = BinFactory(warehouse=shenzhen, code=code)
        stock_receive(product=alpha, bin=place, quantity=3)
        stock_receive(product=beta, bin=place, quantity=2)
    stock_receive(product=gamma, bin=BinFactory(warehouse=los_angeles, code="A-01-01-01"), quantity=1)
    return shenzhen, los_angeles


def rows(client, url: str) -> list[tuple[str, str, str]]:
    response = client.get(url)
    assert response.status_code == 200
    return [(row["warehouse_code"], row["bin_code"], row["sku"]) for row in response.json()["results"]]


def test_stock_levels_of_one_warehouse_come_in_the_order_of_the_whole_list(api_client_for, two_warehouses):
    client = api_client_for("Warehouse manager")
    everything = rows(client, "/api/v1/stock-levels/")
    assert everything == [
        ("SZ", "A-01-01-01", "SKU-9"),
        ("SZ", "A-01-01-01", "SKU-10"),
        ("SZ", "A-02-01-01", "SKU-9"),
        ("SZ", "A-02-01-01", "SKU-10"),
        ("SZ", "A-10-01-01", "SKU-9"),
        ("SZ", "A-10-01-01", "SKU-10"),
        ("LA", "A-01-01-01", "SKU-2"),
    ]
    assert rows(client, "/api/v1/stock-levels/?warehouse=SZ") == everything[:6]
    assert rows(client, "/api/v1/stock-levels/?warehouse=LA") == everything[6:]
    assert rows(client, "/api/v1/stock-levels/?page_size=3&page=2&warehouse=SZ") == everything[3:6]


def test_the_ledger_filtered_by_reason_runs_without_distinct(api_client_for, two_warehouses):
    shenzhen, _los_angeles = two_warehouses
    client = api_client_for("Warehouse manager")
    source, target = shenzhen.bins.get(code="A-01-01-01"), shenzhen.bins.get(code="A-02-01-01")
    moved = stock_move(product=Product.objects.get(sku="SKU-10"), from_bin=source, to_bin=target, quantity=1)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/stock-moves/?warehouse=SZ&reason=move&reason=receipt&page_size=50")
    assert response.status_code == 200
    found = [(row["id"], row["reason"]) for row in response.json()["results"]]
    receipts = list(
        StockMove.objects.filter(reason="receipt", to_bin__warehouse=shenzhen)
        .order_by("-id")
        .values_list("id", "reason")
    )
    assert found == [(moved.pk, "move"), *receipts]
    assert len(found) == 7
    assert not [query["sql"] for query in captured.captured_queries if "DISTINCT" in query["sql"]]
