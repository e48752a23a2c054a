"""A partner's view: a Python client generated from our OpenAPI schema by openapi-python-client runs a stock flow.

The client is generated afresh from the live schema on every run, imported, and used against a live server: if
the schema advertised a body the views do not read, a response shape they do not give, or an error not in the
one error shape, the generated code would fail to import, to send, or to parse.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import urllib.request

import pytest

from access.services import token_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PACKAGE = "seabridge_client"


@pytest.fixture
def client_package(live_server, tmp_path, monkeypatch):
    with urllib.request.urlopen(f"{live_server.url}/api/schema/?format=json", timeout=30) as response:
        schema = json.load(response)
    (tmp_path / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    # No post hooks: the generator would run ruff on the output, which says nothing about the client.
    (tmp_path / "config.yml").write_text(
        f"post_hooks: []\nproject_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\n", encoding="utf-8"
    )
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(tmp_path / "schema.json"),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(tmp_path / "config.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # Warnings mean parts of the schema the generator could not turn into code.
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout + generated.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    return importlib.import_module(PACKAGE)


def test_a_generated_client_runs_a_stock_flow(client_package, live_server, make_user):
    """Imported by name: the package is the one client_package generated and put on the path."""
    from seabridge_client.api.availability import availability_list
    from seabridge_client.api.bins import bins_create
    from seabridge_client.api.products import products_create
    from seabridge_client.api.reservations import reservations_list
    from seabridge_client.api.stock import (
        stock_pick_create,
        stock_receive_create,
        stock_release_create,
        stock_reserve_create,
        stock_ship_create,
    )
    from seabridge_client.api.warehouses import warehouses_create
    from seabridge_client.client import AuthenticatedClient
    from seabridge_client.models import (
        BinKindEnum,
        BinRequest,
        Error,
        PickRequest,
        ProductQuantityRequest,
        ProductRequest,
        ReceiveRequest,
        ReleaseRequest,
        Reservation,
        ReserveRequest,
        ShipRequest,
        StockMove,
        WarehouseRequest,
    )

    user = make_user("Warehouse manager", username="partner")
    _token, key = token_create(user=user, name="client", scopes=["*"], all_stores=True, all_warehouses=True)
    client = AuthenticatedClient(base_url=live_server.url, token=key, prefix="Token")

    warehouse = warehouses_create.sync(
        client=client, body=WarehouseRequest(code="SZ", name="Shenzhen", country="CN", bin_code_pattern="")
    )
    assert warehouse.code == "SZ"
    for code, kind in (("A-01-01-01", BinKindEnum.PICK), ("PACK-1", BinKindEnum.PACKING)):
        assert (
            bins_create.sync(client=client, body=BinRequest(warehouse=warehouse.id, code=code, kind=kind)).code == code
        )
    product = products_create.sync(client=client, body=ProductRequest(sku="case-1", name="Phone case"))
    assert product.sku == "CASE-1"

    move = stock_receive_create.sync(
        client=client, body=ReceiveRequest(product="CASE-1", warehouse="SZ", bin_="A-01-01-01", quantity=10)
    )
    assert isinstance(move, StockMove) and (move.quantity, move.to_bin_code) == (10, "A-01-01-01")

    lines = [ProductQuantityRequest(product="CASE-1", quantity=4)]
    reserved = stock_reserve_create.sync(
        client=client, body=ReserveRequest(warehouse="SZ", reference="o:1", lines=lines)
    )
    assert [(row.sku, row.quantity_reserved) for row in reserved] == [("CASE-1", 4)]
    assert all(isinstance(row, Reservation) for row in reserved)

    picked = stock_pick_create.sync(
        client=client,
        body=PickRequest(
            reference="o:1", product="CASE-1", warehouse="SZ", from_bin="A-01-01-01", to_bin="PACK-1", quantity=3
        ),
    )
    assert picked.reason.value == "pick"
    shipped = stock_ship_create.sync(
        client=client,
        body=ShipRequest(reference="o:1", product="CASE-1", warehouse="SZ", from_bin="PACK-1", quantity=3),
    )
    assert shipped.reason.value == "ship"
    released = stock_release_create.sync(client=client, body=ReleaseRequest(warehouse="SZ", reference="o:1"))
    assert [(row.quantity_reserved, row.quantity_shipped) for row in released] == [(0, 3)]

    # A refusal parses as the one error shape, with its code and figures.
    refused = stock_reserve_create.sync_detailed(
        client=client,
        body=ReserveRequest(
            warehouse="SZ", reference="o:2", lines=[ProductQuantityRequest(product="CASE-1", quantity=99)]
        ),
    )
    assert refused.status_code == 409
    assert isinstance(refused.parsed, Error) and refused.parsed.code == "insufficient_stock"

    history = reservations_list.sync(client=client, product="CASE-1")
    assert [(event.kind.value, event.quantity, event.username) for event in history.results[0].events] == [
        ("reserved", 4, "partner"),
        ("picked", 3, "partner"),
        ("shipped", 3, "partner"),
        ("released", 1, "partner"),
    ]
    (figures,) = availability_list.sync(client=client, product="CASE-1").results
    assert (figures.total.on_hand, figures.total.reserved, figures.total.available) == (7, 0, 7)
