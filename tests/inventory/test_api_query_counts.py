"""List endpoints run the same number of queries for 1 row and for 50."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.inventory.factories import BinFactory, BundleComponentFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

# The token with its user and their permissions (one query), the page's count, the rows, and (products) one prefetch
# of bundle components with their products.
PRODUCT_LIST_QUERIES = 4
OTHER_LIST_QUERIES = 3


def queries_for(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"page_size": 100})
    assert response.status_code == 200
    return len(captured), response.json()["count"]


def add_products(count: int) -> None:
    for _ in range(count):
        line = BundleComponentFactory(quantity=2)
        ProductFactory()
        BundleComponentFactory(bundle=line.bundle, quantity=3)


def test_product_list_queries_do_not_grow_with_rows(api_client_for, django_assert_num_queries):
    client = api_client_for("Warehouse manager")
    ProductFactory()
    with django_assert_num_queries(PRODUCT_LIST_QUERIES):
        assert client.get("/api/v1/products/").json()["count"] == 1
    add_products(12)  # 12 bundles with 2 components each, 12 loose products, 24 components: 48 more rows
    ProductFactory()
    with django_assert_num_queries(PRODUCT_LIST_QUERIES):
        response = client.get("/api/v1/products/")
    body = response.json()
    assert body["count"] == 50
    assert len(body["results"]) == 50
    assert sum(len(row["components"]) for row in body["results"]) == 24


def test_product_list_with_search_and_filters_stays_constant(api_client_for):
    client = api_client_for("Warehouse manager")
    ProductFactory(name="Widget")
    one, _ = queries_for(client, "/api/v1/products/?search=widget&is_active=true&ordering=-sku")
    for _ in range(50):
        ProductFactory(name="Widget")
    many, count = queries_for(client, "/api/v1/products/?search=widget&is_active=true&ordering=-sku")
    assert (one, many, count) == (PRODUCT_LIST_QUERIES, PRODUCT_LIST_QUERIES, 51)


def test_bin_list_queries_do_not_grow_with_rows(api_client_for, django_assert_num_queries):
    client = api_client_for("Warehouse manager")
    BinFactory()
    with django_assert_num_queries(OTHER_LIST_QUERIES):
        assert client.get("/api/v1/bins/").json()["count"] == 1
    for _ in range(5):
        warehouse = WarehouseFactory()
        for _ in range(10):
            BinFactory(warehouse=warehouse)
    with django_assert_num_queries(OTHER_LIST_QUERIES):
        response = client.get("/api/v1/bins/")
    assert response.json()["count"] == 51
    assert len({row["warehouse_code"] for row in response.json()["results"]}) == 6


def test_warehouse_list_queries_do_not_grow_with_rows(api_client_for, django_assert_num_queries):
    client = api_client_for("Warehouse manager")
    WarehouseFactory()
    with django_assert_num_queries(OTHER_LIST_QUERIES):
        assert client.get("/api/v1/warehouses/").json()["count"] == 1
    for _ in range(49):
        WarehouseFactory()
    with django_assert_num_queries(OTHER_LIST_QUERIES):
        assert len(client.get("/api/v1/warehouses/").json()["results"]) == 50
