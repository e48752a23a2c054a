"""Stock API: actions as their own endpoints, errors with the figures, permissions, the ledger's cursor pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from access.services import token_create
from inventory.models import Bin, InventoryBalance, Reservation, StockCount, StockLevel, StockMove, Transfer
from inventory.stock_services import stock_receive, stock_reserve
from tests.inventory.factories import (
    BinFactory,
    BundleComponentFactory,
    BundleFactory,
    ProductFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    warehouse = WarehouseFactory(code="SZ", priority=1)
    return {
        "warehouse": warehouse,
        "pick": BinFactory(warehouse=warehouse, code="A-01-01-01", kind=Bin.Kind.PICK, pick_sequence=1),
        "bulk": BinFactory(warehouse=warehouse, code="B-01-01-01", kind=Bin.Kind.BULK, pick_sequence=2),
        "receiving": BinFactory(warehouse=warehouse, code="R-01-01-01", kind=Bin.Kind.RECEIVING, is_sellable=False),
        "packing": BinFactory(warehouse=warehouse, code="P-01-01-01", kind=Bin.Kind.PACKING, is_sellable=False),
        "product": ProductFactory(sku="CASE-1", name="Phone case"),
    }


@pytest.fixture
def manager(api_client_for) -> APIClient:
    return api_client_for("Warehouse manager")


def balance(product, warehouse) -> tuple[int, int, int]:
    row = InventoryBalance.objects.get(product=product, warehouse=warehouse)
    return row.on_hand, row.sellable, row.reserved


def level(product, bin_) -> int:
    row = StockLevel.objects.filter(product=product, bin=bin_).first()
    return row.on_hand if row else 0


def client_with_permissions(make_user, *names: str) -> APIClient:
    user = make_user()
    for name in names:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    _token, key = token_create(user=user, name="tests", scopes=["*"], all_stores=True, all_warehouses=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.user = user
    return client


# --- Actions ------------------------------------------------------------------------------------------------


def test_receive_by_sku_and_bin_code_answers_201_with_the_ledger_row(manager, site):
    response = manager.post(
        "/api/v1/stock/receive/",
        {"product": "case-1", "warehouse": "sz", "bin": "r-01-01-01", "quantity": 10, "reference": "PO-1"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    move = StockMove.objects.get()
    assert body == {
        "id": move.pk,
        "product": site["product"].pk,
        "sku": "CASE-1",
        "from_bin": None,
        "from_bin_code": None,
        "to_bin": site["receiving"].pk,
        "to_bin_code": "R-01-01-01",
        "warehouse_code": "SZ",
        "quantity": 10,
        "reason": "receipt",
        "reference": "PO-1",
        "note": "",
        "user": manager.user.pk,
        "username": manager.user.username,
        "created_at": body["created_at"],
    }
    assert balance(site["product"], site["warehouse"]) == (10, 0, 0)


def test_receive_by_ids_needs_no_warehouse(manager, site):
    response = manager.post(
        "/api/v1/stock/receive/", {"product": site["product"].pk, "bin": site["pick"].pk, "quantity": 4}
    )
    assert response.status_code == 201
    assert balance(site["product"], site["warehouse"]) == (4, 4, 0)


def test_unknown_names_are_400_naming_each_field(manager, site):
    response = manager.post(
        "/api/v1/stock/receive/", {"product": "NOPE-9", "warehouse": "SZ", "bin": "Z-09-09-09", "quantity": 0}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed"
    # Every name is looked up before the fields are read, so every problem comes back at once.
    assert {(error["field"], error["message"]) for error in body["errors"]} == {
        ("product", "No product has SKU NOPE-9."),
        ("bin", "Warehouse SZ has no bin Z-09-09-09."),
        ("quantity", "Ensure this value is greater than or equal to 1."),
    }
    response = manager.post(
        "/api/v1/stock/receive/", {"product": "CASE-1", "warehouse": "SZ", "bin": "Z-09-09-09", "quantity": 1}
    )
    assert response.json()["errors"] == [
        {"field": "bin", "message": "Warehouse SZ has no bin Z-09-09-09.", "code": "does_not_exist"}
    ]
    assert StockMove.objects.count() == 0


def test_a_bin_code_needs_a_warehouse_and_a_bin_id_must_be_in_it(manager, site):
    response = manager.post("/api/v1/stock/receive/", {"product": "CASE-1", "bin": "A-01-01-01", "quantity": 1})
    assert response.json()["errors"] == [
        {
            "field": "bin",
            "message": "Bin code A-01-01-01 needs a warehouse: give `warehouse`, or the bin's id instead.",
            "code": "scope_required",
        }
    ]
    other = WarehouseFactory(code="LA", country="US")
    response = manager.post(
        "/api/v1/stock/receive/", {"product": "CASE-1", "warehouse": "LA", "bin": site["pick"].pk, "quantity": 1}
    )
    assert response.json()["errors"] == [
        {
            "field": "bin",
            "message": f"Bin A-01-01-01 (id {site['pick'].pk}) is in warehouse SZ, not {other.code}.",
            "code": "warehouse",
        }
    ]


def test_move_more_than_the_bin_holds_is_409_with_what_was_asked_what_is_there_and_where(manager, site):
    stock_receive(product=site["product"], bin=site["pick"], quantity=2)
    response = manager.post(
        "/api/v1/stock/move/",
        {"product": "CASE-1", "warehouse": "SZ", "from_bin": "A-01-01-01", "to_bin": "B-01-01-01", "quantity": 3},
    )
    assert response.status_code == 409
    assert response.json() == {
        "message": "Not enough CASE-1 in bin A-01-01-01: asked for 3, 2 available.",
        "code": "insufficient_stock",
        "errors": [
            {
                "message": "CASE-1: asked for 3, 2 available in bin A-01-01-01.",
                "code": "insufficient_stock",
                "field": "quantity",
            }
        ],
        "context": {"sku": "CASE-1", "requested": 3, "available": 2, "where": "bin A-01-01-01"},
    }
    assert level(site["product"], site["pick"]) == 2


def test_put_away_moves_receiving_stock_into_a_sellable_bin(manager, site):
    stock_receive(product=site["product"], bin=site["receiving"], quantity=10)
    response = manager.post(
        "/api/v1/stock/move/",
        {
            "product": "CASE-1",
            "warehouse": "SZ",
            "from_bin": "R-01-01-01",
            "to_bin": "A-01-01-01",
            "quantity": 7,
            "reason": "put_away",
        },
    )
    assert response.status_code == 201
    assert (response.json()["reason"], response.json()["from_bin_code"], response.json()["to_bin_code"]) == (
        "put_away",
        "R-01-01-01",
        "A-01-01-01",
    )
    assert balance(site["product"], site["warehouse"]) == (10, 7, 0)


def test_adjust_up_and_down_with_a_reason(manager, site):
    stock_receive(product=site["product"], bin=site["pick"], quantity=5)
    response = manager.post(
        "/api/v1/stock/adjust/",
        {"product": "CASE-1", "warehouse": "SZ", "bin": "A-01-01-01", "delta": -2, "note": "damaged"},
    )
    assert response.status_code == 201
    assert (response.json()["reason"], response.json()["quantity"], response.json()["from_bin_code"]) == (
        "adjustment",
        2,
        "A-01-01-01",
    )
    response = manager.post(
        "/api/v1/stock/adjust/", {"product": "CASE-1", "warehouse": "SZ", "bin": "A-01-01-01", "delta": -4, "note": "x"}
    )
    assert response.status_code == 409
    assert response.json()["message"] == "Not enough CASE-1 in bin A-01-01-01: asked for 4, 3 available."
    response = manager.post(
        "/api/v1/stock/adjust/", {"product": "CASE-1", "warehouse": "SZ", "bin": "A-01-01-01", "delta": 1, "note": " "}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "A reason is required for an adjustment.", "code": "required", "field": "note"}
    ]
    assert balance(site["product"], site["warehouse"]) == (3, 3, 0)


def test_reserve_release_pick_ship_and_return(manager, site):
    product = site["product"]
    stock_receive(product=product, bin=site["pick"], quantity=5)
    response = manager.post(
        "/api/v1/stock/reserve/",
        {"warehouse": "SZ", "reference": "order-line:7", "lines": [{"product": "CASE-1", "quantity": 3}]},
    )
    assert response.status_code == 201
    reservation = Reservation.objects.get()
    assert response.json() == [
        {
            "id": reservation.pk,
            "product": product.pk,
            "sku": "CASE-1",
            "warehouse": site["warehouse"].pk,
            "warehouse_code": "SZ",
            "reference": "order-line:7",
            "quantity_reserved": 3,
            "quantity_picked": 0,
            "quantity_shipped": 0,
            "created_at": response.json()[0]["created_at"],
            "updated_at": response.json()[0]["updated_at"],
        }
    ]
    response = manager.post(
        "/api/v1/stock/release/",
        {"warehouse": "SZ", "reference": "order-line:7", "lines": [{"product": "CASE-1", "quantity": 1}]},
    )
    assert response.status_code == 200
    assert response.json()[0]["quantity_reserved"] == 2
    response = manager.post(
        "/api/v1/stock/pick/",
        {
            "reference": "order-line:7",
            "product": "CASE-1",
            "warehouse": "SZ",
            "from_bin": "A-01-01-01",
            "to_bin": "P-01-01-01",
            "quantity": 2,
        },
    )
    assert response.status_code == 201
    assert response.json()["reason"] == "pick"
    response = manager.post(
        "/api/v1/stock/ship/",
        {"reference": "order-line:7", "product": "CASE-1", "warehouse": "SZ", "from_bin": "P-01-01-01", "quantity": 3},
    )
    assert response.status_code == 409
    assert response.json()["message"] == "order-line:7 has 2 picked CASE-1 waiting to ship; cannot ship 3."
    response = manager.post(
        "/api/v1/stock/ship/",
        {"reference": "order-line:7", "product": "CASE-1", "warehouse": "SZ", "from_bin": "P-01-01-01", "quantity": 2},
    )
    assert response.status_code == 201
    response = manager.post(
        "/api/v1/stock/return/",
        {"product": "CASE-1", "warehouse": "SZ", "bin": "R-01-01-01", "quantity": 1, "reference": "RMA-1"},
    )
    assert response.status_code == 201
    assert response.json()["reason"] == "return"
    reservation.refresh_from_db()
    assert (reservation.quantity_reserved, reservation.quantity_picked, reservation.quantity_shipped) == (0, 0, 2)
    assert balance(product, site["warehouse"]) == (4, 3, 0)


def test_reserving_more_than_available_names_every_short_sku(manager, site):
    other = ProductFactory(sku="CABLE-2")
    stock_receive(product=site["product"], bin=site["pick"], quantity=2)
    stock_receive(product=site["product"], bin=site["receiving"], quantity=9)
    response = manager.post(
        "/api/v1/stock/reserve/",
        {
            "warehouse": "SZ",
            "reference": "order-line:8",
            "lines": [{"product": "CASE-1", "quantity": 3}, {"product": other.pk, "quantity": 1}],
        },
    )
    assert response.status_code == 409
    body = response.json()
    assert body["message"] == "Not enough stock for 2 products: CASE-1 (2 of 3), CABLE-2 (0 of 1)"
    assert [error["message"] for error in body["errors"]] == [
        "CASE-1: asked for 3, 2 available in warehouse SZ.",
        "CABLE-2: asked for 1, 0 available in warehouse SZ.",
    ]
    assert Reservation.objects.count() == 0


# --- Permissions --------------------------------------------------------------------------------------------


def test_anonymous_is_401_and_picker_may_read_levels_but_not_adjust(anonymous_api, api_client_for, site):
    adjust = {"product": "CASE-1", "warehouse": "SZ", "bin": "A-01-01-01", "delta": 1, "note": "found"}
    assert anonymous_api.post("/api/v1/stock/adjust/", adjust).status_code == 401
    assert anonymous_api.get("/api/v1/stock-levels/").status_code == 401
    assert anonymous_api.get("/api/v1/stock-moves/").status_code == 401

    picker = api_client_for("Picker/packer")
    assert picker.get("/api/v1/stock-levels/").status_code == 200
    response = picker.post("/api/v1/stock/adjust/", adjust)
    assert response.status_code == 403
    assert response.json() == {
        "message": "You do not have permission to perform this action.",
        "code": "permission_denied",
        "errors": [],
    }
    assert picker.get("/api/v1/stock-moves/").status_code == 403
    assert picker.get("/api/v1/availability/").status_code == 403

    partner = api_client_for("API partner")
    assert partner.get("/api/v1/availability/").status_code == 200
    assert partner.post("/api/v1/stock/adjust/", adjust).status_code == 403

    manager = api_client_for("Warehouse manager")
    assert manager.post("/api/v1/stock/adjust/", adjust).status_code == 201
    assert manager.get("/api/v1/availability/").status_code == 200
    assert StockMove.objects.count() == 1


def test_moving_stock_without_adjusting_rights_cannot_adjust(make_user, site):
    client = client_with_permissions(make_user, "inventory.add_stockmove")
    stock_receive(product=site["product"], bin=site["pick"], quantity=1)
    adjust = {"product": "CASE-1", "warehouse": "SZ", "bin": "A-01-01-01", "delta": 1, "note": "found"}
    assert client.post("/api/v1/stock/adjust/", adjust).status_code == 403
    move = {"product": "CASE-1", "warehouse": "SZ", "from_bin": "A-01-01-01", "to_bin": "B-01-01-01", "quantity": 1}
    assert client.post("/api/v1/stock/move/", move).status_code == 201


# --- Stock levels -------------------------------------------------------------------------------------------


def test_stock_levels_filters_and_zero_rows(manager, site):
    other_product = ProductFactory(sku="CABLE-2")
    stock_receive(product=site["product"], bin=site["pick"], quantity=5)
    stock_receive(product=other_product, bin=site["bulk"], quantity=2)
    stock_receive(product=site["product"], bin=site["receiving"], quantity=1)
    manager.post(
        "/api/v1/stock/adjust/",
        {"product": "CASE-1", "warehouse": "SZ", "bin": "R-01-01-01", "delta": -1, "note": "miscounted"},
    )
    la = WarehouseFactory(code="LA", country="US", priority=2)
    stock_receive(product=site["product"], bin=BinFactory(warehouse=la, code="A-01-01-01"), quantity=9)

    def rows(query: str = "") -> list[tuple]:
        body = manager.get(f"/api/v1/stock-levels/{query}").json()
        return [(row["warehouse_code"], row["bin_code"], row["sku"], row["on_hand"]) for row in body["results"]]

    assert rows() == [
        ("SZ", "A-01-01-01", "CASE-1", 5),
        ("SZ", "B-01-01-01", "CABLE-2", 2),
        ("LA", "A-01-01-01", "CASE-1", 9),
    ]
    assert rows("?warehouse=la") == [("LA", "A-01-01-01", "CASE-1", 9)]
    assert rows(f"?warehouse={la.pk}") == [("LA", "A-01-01-01", "CASE-1", 9)]
    assert rows("?product=cable-2") == [("SZ", "B-01-01-01", "CABLE-2", 2)]
    assert rows(f"?product={site['product'].pk}&warehouse=SZ") == [("SZ", "A-01-01-01", "CASE-1", 5)]
    assert rows("?zone=b") == [("SZ", "B-01-01-01", "CABLE-2", 2)]
    assert rows("?bin=A-01-01-01&warehouse=SZ") == [("SZ", "A-01-01-01", "CASE-1", 5)]
    assert rows("?include_zero=true&warehouse=SZ") == [
        ("SZ", "A-01-01-01", "CASE-1", 5),
        ("SZ", "B-01-01-01", "CABLE-2", 2),
        ("SZ", "R-01-01-01", "CASE-1", 0),
    ]
    first = manager.get("/api/v1/stock-levels/?product=CASE-1&warehouse=SZ").json()["results"][0]
    assert first == {
        "id": first["id"],
        "product": site["product"].pk,
        "sku": "CASE-1",
        "product_name": "Phone case",
        "warehouse": site["warehouse"].pk,
        "warehouse_code": "SZ",
        "bin": site["pick"].pk,
        "bin_code": "A-01-01-01",
        "zone": "A",
        "bin_kind": "pick",
        "is_sellable": True,
        "on_hand": 5,
        "updated_at": first["updated_at"],
    }


# --- Availability -------------------------------------------------------------------------------------------


def test_availability_per_warehouse_and_in_total_with_bundles(manager, site):
    cable = ProductFactory(sku="CABLE-2")
    kit = BundleFactory(sku="KIT-1")
    BundleComponentFactory(bundle=kit, component=site["product"], quantity=2)
    BundleComponentFactory(bundle=kit, component=cable, quantity=1)
    la = WarehouseFactory(code="LA", country="US", priority=2)
    la_pick = BinFactory(warehouse=la, code="A-01-01-01")
    stock_receive(product=site["product"], bin=site["pick"], quantity=9)
    stock_receive(product=site["product"], bin=site["receiving"], quantity=4)
    stock_receive(product=cable, bin=site["pick"], quantity=10)
    stock_receive(product=site["product"], bin=la_pick, quantity=6)
    stock_receive(product=cable, bin=la_pick, quantity=1)
    stock_reserve(warehouse=site["warehouse"], lines=[(site["product"], 3)], reference="order-line:1")

    body = manager.get("/api/v1/availability/?sku=KIT").json()
    assert body["count"] == 1
    assert body["results"] == [
        {
            "product": kit.pk,
            "sku": "KIT-1",
            "name": kit.name,
            "is_bundle": True,
            # SZ: CASE sellable 9 // 2 = 4, available 6 // 2 = 3, on hand 13 // 2 = 6; CABLE 10 → 4 / 3 / 6.
            # LA: CASE 6 // 2 = 3 but only 1 CABLE → 1.
            "total": {"on_hand": 7, "sellable": 5, "reserved": 1, "available": 4, "incoming": 0},
            "warehouses": [
                {
                    "warehouse": site["warehouse"].pk,
                    "warehouse_code": "SZ",
                    "on_hand": 6,
                    "sellable": 4,
                    "reserved": 1,
                    "available": 3,
                    "incoming": 0,
                },
                {
                    "warehouse": la.pk,
                    "warehouse_code": "LA",
                    "on_hand": 1,
                    "sellable": 1,
                    "reserved": 0,
                    "available": 1,
                    "incoming": 0,
                },
            ],
        }
    ]
    case = manager.get("/api/v1/availability/?product=CASE-1&warehouse=SZ").json()["results"][0]
    assert case["total"] == {"on_hand": 13, "sellable": 9, "reserved": 3, "available": 6, "incoming": 0}
    assert [row["warehouse_code"] for row in case["warehouses"]] == ["SZ"]
    response = manager.get("/api/v1/availability/?warehouse=SZ,NOWHERE")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "No warehouse NOWHERE.", "code": "not_found", "field": "warehouse"}
    ]


# --- The ledger ---------------------------------------------------------------------------------------------


def test_ledger_cursor_pages_walk_every_row_exactly_once_newest_first(manager, site):
    for quantity in range(1, 24):
        stock_receive(product=site["product"], bin=site["pick"], quantity=quantity)
    ProductFactory(sku="OTHER-1")
    stock_receive(product=ProductFactory(sku="OTHER-2"), bin=site["pick"], quantity=1)
    seen: list[int] = []
    url = "/api/v1/stock-moves/?product=CASE-1&page_size=5"
    pages = 0
    while url:
        body = manager.get(url).json()
        seen.extend(row["id"] for row in body["results"])
        url = body["next"]
        pages += 1
    expected = list(StockMove.objects.filter(product=site["product"]).order_by("-id").values_list("id", flat=True))
    assert seen == expected
    assert (len(seen), len(set(seen)), pages) == (23, 23, 5)
    # Walking back from the last page gives the same rows.
    assert body["previous"] is not None
    previous = manager.get(body["previous"]).json()
    assert [row["id"] for row in previous["results"]] == expected[15:20]


def test_ledger_filters(manager, site):
    stock_receive(product=site["product"], bin=site["receiving"], quantity=5, reference="PO-1")
    manager.post(
        "/api/v1/stock/move/",
        {"product": "CASE-1", "warehouse": "SZ", "from_bin": "R-01-01-01", "to_bin": "A-01-01-01", "quantity": 5},
    )
    la = WarehouseFactory(code="LA", country="US")
    stock_receive(product=site["product"], bin=BinFactory(warehouse=la, code="A-01-01-01"), quantity=1)

    def reasons(query: str) -> list[str]:
        return [row["reason"] for row in manager.get(f"/api/v1/stock-moves/{query}").json()["results"]]

    assert reasons("") == ["receipt", "move", "receipt"]
    assert reasons("?warehouse=SZ") == ["move", "receipt"]
    assert reasons("?bin=R-01-01-01&warehouse=SZ") == ["move", "receipt"]
    assert reasons("?bin=A-01-01-01") == ["receipt", "move"]
    assert reasons("?reference=PO-1") == ["receipt"]
    assert reasons("?reason=move&reason=adjustment") == ["move"]
    assert reasons(f"?product={site['product'].pk}&warehouse=LA") == ["receipt"]


# --- Query counts -------------------------------------------------------------------------------------------


def _queries(client, url: str, django_assert_num_queries, expected: int):
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
    return response.json()


def test_lists_run_the_same_queries_for_one_row_and_fifty(manager, site, django_assert_num_queries):
    products = [site["product"]]
    stock_receive(product=site["product"], bin=site["pick"], quantity=1)
    transfer_body = {"source": "SZ", "destination": "LA", "lines": [{"product": "CASE-1", "quantity": 1}]}
    WarehouseFactory(code="LA", country="US")
    manager.post("/api/v1/transfers/", transfer_body, format="json")
    manager.post("/api/v1/stock-counts/", {"warehouse": "SZ", "bins": ["A-01-01-01"]}, format="json")

    # The token with its user and their permissions (1), then: the count and the rows for page-numbered lists, the
    # rows alone for the ledger's cursor pages.
    expected = {
        "/api/v1/stock-levels/": 3,
        "/api/v1/stock-moves/": 2,
        # Count, products; availability: products, balances, transfers in transit; warehouse codes.
        "/api/v1/availability/": 7,
        "/api/v1/transfers/": 5,  # count, transfers, lines, events
        "/api/v1/stock-counts/": 3,
    }
    for url, queries in expected.items():
        assert len(_queries(manager, url, django_assert_num_queries, queries)["results"]) == 1, url

    kit = BundleFactory(sku="KIT-1")
    BundleComponentFactory(bundle=kit, component=site["product"], quantity=1)
    for number in range(49):
        product = ProductFactory()
        products.append(product)
        stock_receive(product=product, bin=site["bulk"], quantity=number + 1)
    for number in range(49):
        manager.post("/api/v1/transfers/", transfer_body, format="json")
        count_bin = BinFactory(warehouse=site["warehouse"], code=f"C-01-01-{number:02d}")
        manager.post("/api/v1/stock-counts/", {"warehouse": "SZ", "bins": [count_bin.pk]}, format="json")
    expected["/api/v1/availability/"] += 1  # a page with a bundle also reads the bundle's components
    for url, queries in expected.items():
        body = _queries(manager, url, django_assert_num_queries, queries)
        assert len(body["results"]) == 50, url


# --- Transfers ----------------------------------------------------------------------------------------------


@pytest.fixture
def two_warehouses(site):
    los_angeles = WarehouseFactory(code="LA", country="US", priority=2)
    site["los_angeles"] = los_angeles
    site["la_receiving"] = BinFactory(
        warehouse=los_angeles, code="R-01-01-01", kind=Bin.Kind.RECEIVING, is_sellable=False
    )
    return site


def test_transfer_create_ship_receive_with_incoming_in_between(manager, two_warehouses):
    site = two_warehouses
    stock_receive(product=site["product"], bin=site["pick"], quantity=10)
    response = manager.post(
        "/api/v1/transfers/",
        {
            "source": "SZ",
            "destination": "LA",
            "lines": [{"product": "CASE-1", "quantity": 4, "from_bin": "A-01-01-01"}],
            "note": "restock LA",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    transfer = Transfer.objects.get()
    body = response.json()
    assert (body["number"], body["status"], body["source_code"], body["destination_code"]) == (
        transfer.number,
        "draft",
        "SZ",
        "LA",
    )
    assert body["lines"] == [
        {
            "id": transfer.lines.get().pk,
            "product": site["product"].pk,
            "sku": "CASE-1",
            "quantity": 4,
            "from_bin": site["pick"].pk,
            "from_bin_code": "A-01-01-01",
            "quantity_shipped": 0,
            "quantity_received": 0,
            "quantity_in_transit": 0,
        }
    ]

    response = manager.post(f"/api/v1/transfers/{transfer.pk}/ship/", {"carrier_reference": "BL-77"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["carrier_reference"]) == ("shipped", "BL-77")
    case = manager.get("/api/v1/availability/?product=CASE-1").json()["results"][0]
    assert [(row["warehouse_code"], row["available"], row["incoming"]) for row in case["warehouses"]] == [
        ("SZ", 6, 0),
        ("LA", 0, 4),
    ]

    response = manager.post(
        f"/api/v1/transfers/{transfer.pk}/receive/",
        {"bin": "R-01-01-01", "lines": [{"product": "CASE-1", "quantity": 5}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "message": "CASE-1: receiving 5 but only 4 in transit (shipped 4, received 0).",
            "code": "exceeds_in_transit",
            "field": "lines[0].quantity",
        }
    ]
    response = manager.post(
        f"/api/v1/transfers/{transfer.pk}/receive/",
        {"bin": "R-01-01-01", "lines": [{"product": "CASE-1", "quantity": 4}]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "received"
    assert [event["to_status"] for event in response.json()["events"]] == ["draft", "shipped", "received"]
    assert level(site["product"], site["la_receiving"]) == 4
    assert manager.get("/api/v1/transfers/?status=received&product=CASE-1&destination=LA").json()["count"] == 1


def test_transfer_ship_short_is_409_and_a_shipped_transfer_cannot_be_cancelled(manager, two_warehouses):
    site = two_warehouses
    stock_receive(product=site["product"], bin=site["pick"], quantity=2)
    body = {"source": "SZ", "destination": "LA", "lines": [{"product": "CASE-1", "quantity": 3}]}
    first = manager.post("/api/v1/transfers/", body, format="json").json()
    response = manager.post(f"/api/v1/transfers/{first['id']}/ship/", {})
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {
            "message": "CASE-1: asked for 3, 2 available in warehouse SZ (sellable bins, 0 reserved for orders).",
            "code": "insufficient_stock",
            "field": "lines[0].quantity",
        }
    ]
    response = manager.post(f"/api/v1/transfers/{first['id']}/cancel/", {"note": "not enough stock"})
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")

    body["lines"][0]["quantity"] = 2
    second = manager.post("/api/v1/transfers/", body, format="json").json()
    manager.post(f"/api/v1/transfers/{second['id']}/ship/", {})
    response = manager.post(f"/api/v1/transfers/{second['id']}/cancel/", {})
    assert response.status_code == 409
    assert response.json()["message"] == (
        f"Transfer {second['number']} is shipped (in transit); it cannot become cancelled "
        "(from here it can become: partially received, received)."
    )


def test_transfer_line_bin_must_be_in_the_source(manager, two_warehouses):
    response = manager.post(
        "/api/v1/transfers/",
        {
            "source": "SZ",
            "destination": "LA",
            "lines": [{"product": "CASE-1", "quantity": 1, "from_bin": "X-09-09-09"}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "Warehouse SZ has no bin X-09-09-09.", "code": "does_not_exist", "field": "lines[0].from_bin"}
    ]


# --- Counts -------------------------------------------------------------------------------------------------


def test_count_open_record_variance_approve(manager, site):
    stock_receive(product=site["product"], bin=site["pick"], quantity=10)
    response = manager.post(
        "/api/v1/stock-counts/", {"warehouse": "SZ", "bins": ["A-01-01-01", site["bulk"].pk]}, format="json"
    )
    assert response.status_code == 201, response.json()
    count = StockCount.objects.get()
    body = response.json()
    assert (body["number"], body["status"], body["scope"], body["lines_total"], body["lines_counted"]) == (
        count.number,
        "open",
        "bins A-01-01-01, B-01-01-01",
        1,
        0,
    )
    assert [(line["bin_code"], line["sku"], line["expected_quantity"]) for line in body["lines"]] == [
        ("A-01-01-01", "CASE-1", 10)
    ]

    response = manager.post(
        f"/api/v1/stock-counts/{count.pk}/record/", {"bin": "A-01-01-01", "product": "CASE-1", "counted_quantity": 8}
    )
    assert response.status_code == 200
    assert (response.json()["counted_quantity"], response.json()["system_quantity"], response.json()["variance"]) == (
        8,
        10,
        -2,
    )
    response = manager.post(
        f"/api/v1/stock-counts/{count.pk}/record/", {"bin": "R-01-01-01", "product": "CASE-1", "counted_quantity": 1}
    )
    assert response.status_code == 400
    assert (
        response.json()["message"]
        == f"Bin R-01-01-01 is not part of count {count.number} (bins A-01-01-01, B-01-01-01)."
    )

    variance = manager.get(f"/api/v1/stock-counts/{count.pk}/variance/").json()
    assert [
        (row["bin_code"], row["sku"], row["expected_quantity"], row["system_quantity"], row["counted_quantity"])
        for row in variance
    ] == [("A-01-01-01", "CASE-1", 10, 10, 8)]
    assert variance[0]["variance"] == -2

    response = manager.post(f"/api/v1/stock-counts/{count.pk}/approve/", {})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["lines"][0]["adjustment"]) == ("approved", -2)
    assert [(event["from_status"], event["to_status"]) for event in response.json()["events"]] == [
        ("", "open"),
        ("open", "approved"),
    ]
    move = StockMove.objects.get(reason="count")
    assert (move.quantity, move.from_bin_id, move.reference) == (2, site["pick"].pk, count.number)
    assert level(site["product"], site["pick"]) == 8
    response = manager.post(f"/api/v1/stock-counts/{count.pk}/cancel/", {})
    assert response.status_code == 409


def test_a_blind_open_count_hides_book_figures_from_counters(manager, make_user, site):
    stock_receive(product=site["product"], bin=site["pick"], quantity=10)
    count_id = manager.post(
        "/api/v1/stock-counts/", {"warehouse": "SZ", "zone": "A", "is_blind": True}, format="json"
    ).json()["id"]
    counter = client_with_permissions(make_user, "inventory.view_stockcount", "inventory.change_stockcountline")
    detail = counter.get(f"/api/v1/stock-counts/{count_id}/").json()
    assert detail["expected_hidden"] is True
    assert [(line["sku"], line["expected_quantity"], line["variance"]) for line in detail["lines"]] == [
        ("CASE-1", None, None)
    ]
    line = counter.post(
        f"/api/v1/stock-counts/{count_id}/record/", {"bin": "A-01-01-01", "product": "CASE-1", "counted_quantity": 9}
    ).json()
    assert (line["counted_quantity"], line["system_quantity"], line["variance"]) == (9, None, None)
    assert counter.get(f"/api/v1/stock-counts/{count_id}/variance/").json()[0]["expected_quantity"] is None
    assert counter.post(f"/api/v1/stock-counts/{count_id}/approve/", {}).status_code == 403

    # The manager, who may approve, sees the book figures.
    detail = manager.get(f"/api/v1/stock-counts/{count_id}/").json()
    assert detail["expected_hidden"] is False
    assert (detail["lines"][0]["expected_quantity"], detail["lines"][0]["variance"]) == (10, -1)
