"""Write endpoints within a query budget: the same number of queries for one line and for twenty.

References (SKUs, warehouse and bin codes) are looked up in bulk, and the services lock, check and write in
batched statements, so a request's queries do not grow with its lines. Each budget counts everything the
request runs as a Warehouse manager: the token with its user and their permissions (one query), the lookups, the
transaction's savepoint, the service's statements and the response's reads.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.count_services import stock_count_open, stock_count_record
from inventory.models import Bin, BundleComponent, Product
from inventory.stock_services import stock_pick, stock_receive, stock_reserve
from inventory.transfer_services import transfer_create, transfer_ship
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    warehouse = WarehouseFactory(code="SZ", bin_code_pattern="")
    return {
        "warehouse": warehouse,
        "other": WarehouseFactory(code="LA", country="US", bin_code_pattern=""),
        "pick": BinFactory(warehouse=warehouse, code="A-01-01-01", kind=Bin.Kind.PICK, is_sellable=True),
        "packing": BinFactory(warehouse=warehouse, code="PACK-1", kind=Bin.Kind.PACKING, is_sellable=False),
    }


def products_in_stock(site, count: int) -> list[Product]:
    products = [ProductFactory() for _ in range(count)]
    for product in products:
        stock_receive(product=product, bin=site["pick"], quantity=10)
    return products


def measure(client, method: str, url: str, body, *, format: str = "json") -> int:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url, body, format=format)
    assert response.status_code < 300, response.json()
    return len(captured)


# Scenario: (setup(site, lines) -> (method, url, body[, format])); each is measured with 1 line and with 20.
Scenario = Callable[[dict, int], tuple]


def reserve(site, lines):
    products = products_in_stock(site, lines)
    body = {
        "warehouse": "SZ",
        "reference": "order-line:1",
        "lines": [{"product": p.sku, "quantity": 2} for p in products],
    }
    return "post", "/api/v1/stock/reserve/", body


def release(site, lines):
    products = products_in_stock(site, lines)
    stock_reserve(warehouse=site["warehouse"], lines=[(p, 3) for p in products], reference="order-line:1")
    body = {
        "warehouse": "SZ",
        "reference": "order-line:1",
        "lines": [{"product": p.sku, "quantity": 1} for p in products],
    }
    return "post", "/api/v1/stock/release/", body


def release_all(site, lines):
    products = products_in_stock(site, lines)
    stock_reserve(warehouse=site["warehouse"], lines=[(p, 3) for p in products], reference="order-line:1")
    return "post", "/api/v1/stock/release/", {"warehouse": "SZ", "reference": "order-line:1"}


def transfer_new(site, lines):
    products = products_in_stock(site, lines)
    body = {
        "source": "SZ",
        "destination": "LA",
        "lines": [{"product": p.sku, "quantity": 1, "from_bin": "A-01-01-01"} for p in products],
    }
    return "post", "/api/v1/transfers/", body


def transfer_shipping(site, lines):
    products = products_in_stock(site, lines)
    transfer = transfer_create(
        source=site["warehouse"], destination=site["other"], lines=[(p, 2, None) for p in products]
    )
    return "post", f"/api/v1/transfers/{transfer.pk}/ship/", {}


def transfer_receiving(site, lines):
    products = products_in_stock(site, lines)
    receiving = BinFactory(warehouse=site["other"], kind=Bin.Kind.RECEIVING, is_sellable=False)
    transfer = transfer_create(
        source=site["warehouse"], destination=site["other"], lines=[(p, 2, site["pick"]) for p in products]
    )
    transfer_ship(transfer=transfer)
    body = {"bin": receiving.code, "lines": [{"product": p.sku, "quantity": 2} for p in products]}
    return "post", f"/api/v1/transfers/{transfer.pk}/receive/", body


def count_new(site, lines):
    codes = [BinFactory(warehouse=site["warehouse"]).code for _ in range(lines)]
    return "post", "/api/v1/stock-counts/", {"warehouse": "SZ", "bins": codes}


def count_approving(site, lines):
    products = products_in_stock(site, lines)
    count = stock_count_open(warehouse=site["warehouse"], bins=[site["pick"]])
    for product in products:
        stock_count_record(count=count, bin=site["pick"], product=product, counted_quantity=7)
    return "post", f"/api/v1/stock-counts/{count.pk}/approve/", {}


def stock_import(site, lines):
    products = products_in_stock(site, lines)
    content = "sku,bin,quantity\n" + "".join(f"{p.sku},A-01-01-01,12\n" for p in products)
    upload = io.BytesIO(content.encode())
    upload.name = "stock.csv"
    return "post", "/api/v1/stock/import/", {"file": upload, "warehouse": "SZ"}, "multipart"


def bundle_create(site, lines):
    products = [ProductFactory() for _ in range(lines)]
    # The audit trail names the lines' model by its content type, which a process looks up once (Django's cache).
    ContentType.objects.get_for_model(BundleComponent)
    body = {
        "sku": f"KIT-{lines}",
        "name": "Kit",
        "is_bundle": True,
        "components": [{"sku": p.sku, "quantity": 2} for p in products],
    }
    return "post", "/api/v1/products/", body


def bulk_upsert(site, lines):
    # One product exists already, so the request both creates and updates.
    existing = ProductFactory()
    rows = [
        {"sku": existing.sku, "name": "Renamed"},
        *({"sku": f"NEW-{lines}-{n}", "name": "Cable"} for n in range(lines)),
    ]
    return "post", "/api/v1/products/bulk-upsert/", rows


# name: (scenario, budget)
WRITES: dict[str, tuple[Scenario, int]] = {
    "reserve": (reserve, 7),
    "release": (release, 9),
    "release everything": (release_all, 9),
    "transfer create": (transfer_new, 15),
    "transfer ship": (transfer_shipping, 29),
    "transfer receive": (transfer_receiving, 25),
    "count open": (count_new, 17),
    "count approve": (count_approving, 28),
    "stock import": (stock_import, 41),
    # Each with the rows of the audit trail (core/audit.py) in one query: the product made, its component lines
    # (one insert for all), or the import's counts.
    "bundle create": (bundle_create, 16),
    "bulk upsert": (bulk_upsert, 13),
}


@pytest.mark.parametrize("name", WRITES)
def test_write_queries_do_not_grow_with_lines(name, site, api_client_for, django_db_blocker):
    scenario, budget = WRITES[name]
    client = api_client_for("Warehouse manager")
    counts = []
    for lines in (1, 20):
        request = scenario(site, lines)
        counts.append(measure(client, *request[:3], **({"format": request[3]} if len(request) > 3 else {})))
    assert counts == [budget, budget]


@pytest.fixture
def picked(site):
    """A product with stock reserved and picked for order-line:1 (2 units), and 3 more units reserved."""
    product = products_in_stock(site, 1)[0]
    stock_reserve(warehouse=site["warehouse"], lines=[(product, 5)], reference="order-line:1")
    stock_pick(reference="order-line:1", product=product, from_bin=site["pick"], to_bin=site["packing"], quantity=2)
    return product


# name: (url, body, budget); bins by code with the warehouse, products by SKU, as a scan page sends them.
SINGLE_WRITES = {
    "receive": ("/api/v1/stock/receive/", {"bin": "A-01-01-01", "quantity": 4}, 15),
    "return": ("/api/v1/stock/return/", {"bin": "PACK-1", "quantity": 1}, 15),
    "move": ("/api/v1/stock/move/", {"from_bin": "A-01-01-01", "to_bin": "PACK-1", "quantity": 1}, 15),
    "adjust": ("/api/v1/stock/adjust/", {"bin": "A-01-01-01", "delta": -1, "note": "broken"}, 15),
    "pick": (
        "/api/v1/stock/pick/",
        {"reference": "order-line:1", "from_bin": "A-01-01-01", "to_bin": "PACK-1", "quantity": 1},
        19,
    ),
    "ship": ("/api/v1/stock/ship/", {"reference": "order-line:1", "from_bin": "PACK-1", "quantity": 2}, 19),
}


@pytest.mark.parametrize("name", SINGLE_WRITES)
def test_single_stock_actions_stay_within_budget(name, site, picked, api_client_for):
    url, body, budget = SINGLE_WRITES[name]
    client = api_client_for("Warehouse manager")
    assert measure(client, "post", url, {**body, "product": picked.sku, "warehouse": "SZ"}) == budget


def test_unknown_names_cost_no_query_each(site, api_client_for, django_assert_num_queries):
    """Twenty SKUs that name nothing are one lookup, and the answer names each of them."""
    client = api_client_for("Warehouse manager")
    lines = [{"product": f"NOPE-{number}", "quantity": 1} for number in range(20)]
    # The token with its user and their permissions, the warehouse and the products.
    with django_assert_num_queries(3):
        response = client.post(
            "/api/v1/stock/reserve/", {"warehouse": "SZ", "reference": "o:1", "lines": lines}, format="json"
        )
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [f"lines[{n}].product" for n in range(20)]
