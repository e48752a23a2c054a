"""Warehouses and bins API: normalization, scheme errors, the bulk generator, filters, search, natural order."""

from __future__ import annotations

import pytest

from inventory.models import Bin, Warehouse
from tests.inventory.factories import BinFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

WAREHOUSES = "/api/v1/warehouses/"
BINS = "/api/v1/bins/"
GENERATE = "/api/v1/bins/generate/"


def codes(response) -> list[str]:
    return [row["code"] for row in response.json()["results"]]


def generate_body(warehouse: Warehouse, **overrides) -> dict:
    body = {
        "warehouse": warehouse.pk,
        "zones": ["a"],
        "aisles": {"first": 1, "last": 2},
        "racks": {"first": 1, "last": 2},
        "levels": {"first": 1, "last": 1},
    }
    body.update(overrides)
    return body


# --- warehouses -------------------------------------------------------------------------------------------------


def test_warehouse_create_normalizes_code_and_country(admin_api):
    response = admin_api.post(
        WAREHOUSES, {"code": " la-1 ", "name": "Los Angeles", "country": "us", "kind": "overseas"}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["code"], body["country"], body["kind"], body["priority"]) == ("LA-1", "US", "overseas", 100)
    assert body["bin_code_pattern"] == r"^[A-Z]{1,3}-\d{2}-\d{2}-\d{2}$"


def test_warehouse_errors_name_the_field(admin_api):
    response = admin_api.post(WAREHOUSES, {"code": "la.1", "name": "x", "country": "US"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "Warehouse code may only hold letters, digits, - and _.", "code": "invalid", "field": "code"}
    ]
    response = admin_api.post(WAREHOUSES, {"code": "LA", "name": "x", "country": "US", "kind": "barn"})
    assert response.json()["errors"] == [
        {"message": '"barn" is not a valid choice.', "code": "invalid_choice", "field": "kind"}
    ]
    assert Warehouse.objects.count() == 0


def test_warehouse_patch_and_list_order_and_filters(admin_api):
    first = WarehouseFactory(code="SZ", priority=10, country="CN")
    WarehouseFactory(code="LA", priority=20, country="US", kind="overseas")
    WarehouseFactory(code="FBA-US", priority=5, country="US", kind="fba", is_active=False)
    assert codes(admin_api.get(WAREHOUSES)) == ["FBA-US", "SZ", "LA"]
    assert codes(admin_api.get(WAREHOUSES, {"country": "us", "is_active": "true"})) == ["LA"]
    assert codes(admin_api.get(WAREHOUSES, {"kind": "fba"})) == ["FBA-US"]
    assert codes(admin_api.get(WAREHOUSES, {"ordering": "code"})) == ["FBA-US", "LA", "SZ"]
    response = admin_api.patch(f"{WAREHOUSES}{first.pk}/", {"priority": 30, "city": " Dongguan "})
    assert response.status_code == 200
    assert (response.json()["priority"], response.json()["city"]) == (30, "Dongguan")


def test_warehouse_with_bins_cannot_be_deleted(admin_api):
    bin_ = BinFactory(warehouse__code="SZ")
    response = admin_api.delete(f"{WAREHOUSES}{bin_.warehouse_id}/")
    assert response.status_code == 409
    assert response.json()["message"] == (
        "Warehouse SZ cannot be deleted: it is still referred to by 1 bin. Deactivate it instead (is_active = false)."
    )


# --- single bins ------------------------------------------------------------------------------------------------


def test_bin_create_normalizes_and_derives(admin_api):
    warehouse = WarehouseFactory(code="SZ")
    response = admin_api.post(BINS, {"warehouse": warehouse.pk, "code": " b-01-02-03 ", "kind": "receiving"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["code"], body["zone"], body["is_sellable"], body["warehouse_code"]) == (
        "B-01-02-03",
        "B",
        False,
        "SZ",
    )


def test_bin_code_must_follow_the_scheme(admin_api):
    warehouse = WarehouseFactory(code="SZ")
    response = admin_api.post(BINS, {"warehouse": warehouse.pk, "code": "B-1-2-3"})
    assert response.status_code == 400
    assert response.json() == {
        "message": r"Bin B-1-2-3 is invalid: code: Bin code B-1-2-3 does not follow warehouse SZ's scheme "
        r"^[A-Z]{1,3}-\d{2}-\d{2}-\d{2}$.",
        "code": "validation_failed",
        "errors": [
            {
                "message": r"Bin code B-1-2-3 does not follow warehouse SZ's scheme ^[A-Z]{1,3}-\d{2}-\d{2}-\d{2}$.",
                "code": "invalid",
                "field": "code",
            }
        ],
    }


def test_bin_cannot_move_to_another_warehouse(admin_api):
    bin_ = BinFactory(code="A-01-01-01")
    other = WarehouseFactory()
    response = admin_api.patch(f"{BINS}{bin_.pk}/", {"warehouse": other.pk})
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("warehouse", "read_only")]
    response = admin_api.patch(f"{BINS}{bin_.pk}/", {"is_active": False, "pick_sequence": 12})
    assert (response.json()["is_active"], response.json()["pick_sequence"]) == (False, 12)


def test_unknown_warehouse_is_named(admin_api):
    response = admin_api.post(BINS, {"warehouse": 999999, "code": "A-01-01-01"})
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("warehouse", "does_not_exist")]


# --- generator --------------------------------------------------------------------------------------------------


def test_generate_returns_the_count_and_first_and_last_codes(admin_api):
    warehouse = WarehouseFactory()
    response = admin_api.post(GENERATE, generate_body(warehouse, kind="bulk"))
    assert response.status_code == 201, response.json()
    assert response.json() == {
        "count": 4,
        "skipped": 0,
        "first_code": "A-01-01-01",
        "last_code": "A-02-01-01",
        "first_pick_sequence": 1,
        "last_pick_sequence": 4,
    }
    assert list(
        Bin.objects.filter(warehouse=warehouse).order_by("pick_sequence").values_list("code", "kind", "is_sellable")
    ) == [
        ("A-01-01-01", "bulk", True),
        ("A-01-02-01", "bulk", True),
        ("A-02-02-01", "bulk", True),
        ("A-02-01-01", "bulk", True),
    ]


def test_generate_conflicts_save_nothing_unless_skipped(admin_api):
    warehouse = WarehouseFactory(code="SZ")
    BinFactory(warehouse=warehouse, code="A-02-02-01", pick_sequence=3)
    conflict = admin_api.post(GENERATE, generate_body(warehouse))
    assert conflict.status_code == 400
    assert conflict.json()["errors"] == [
        {"message": "Bin A-02-02-01 already exists in warehouse SZ.", "code": "bin_exists", "field": "code"}
    ]
    assert Bin.objects.filter(warehouse=warehouse).count() == 1
    skipped = admin_api.post(GENERATE, generate_body(warehouse, skip_existing=True, is_sellable=False))
    assert skipped.status_code == 201
    assert skipped.json() == {
        "count": 3,
        "skipped": 1,
        "first_code": "A-01-01-01",
        "last_code": "A-02-01-01",
        "first_pick_sequence": 4,
        "last_pick_sequence": 6,
    }
    assert Bin.objects.filter(warehouse=warehouse, is_sellable=False).count() == 3


def test_generate_pattern_mismatch_and_shape_errors(admin_api):
    warehouse = WarehouseFactory(code="SZ")
    response = admin_api.post(GENERATE, generate_body(warehouse, width=3))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "bin_code_pattern"
    shape = admin_api.post(GENERATE, {"warehouse": warehouse.pk, "zones": [], "aisles": {"first": 1}, "width": 9})
    assert shape.status_code == 400
    assert sorted((e["field"], e["code"]) for e in shape.json()["errors"]) == [
        ("aisles.last", "required"),
        ("levels", "required"),
        ("racks", "required"),
        ("width", "max_value"),
        ("zones", "min_length"),
    ]
    assert Bin.objects.count() == 0


def test_generate_over_the_cap_is_refused(admin_api):
    warehouse = WarehouseFactory()
    body = generate_body(
        warehouse,
        aisles={"first": 1, "last": 21},
        racks={"first": 1, "last": 40},
        levels={"first": 1, "last": 24},
    )
    response = admin_api.post(GENERATE, body)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "This would make 20160 bins; at most 20000 can be generated at once.", "code": "too_many_bins"}
    ]


# --- lists ------------------------------------------------------------------------------------------------------


def test_bins_list_in_natural_order_and_ordering_by_code(admin_api):
    warehouse = WarehouseFactory(bin_code_pattern="")
    for code in ["A-10", "A-2", "A-1", "B-1"]:
        BinFactory(warehouse=warehouse, code=code)
    assert codes(admin_api.get(BINS)) == ["A-1", "A-2", "A-10", "B-1"]
    assert codes(admin_api.get(BINS, {"ordering": "-code"})) == ["B-1", "A-10", "A-2", "A-1"]


def test_bin_filters_and_search(admin_api):
    shenzhen = WarehouseFactory(code="SZ")
    los_angeles = WarehouseFactory(code="LA")
    BinFactory(warehouse=shenzhen, code="A-01-01-01", kind="pick")
    BinFactory(warehouse=shenzhen, code="B-01-01-01", kind="quarantine", is_sellable=False)
    BinFactory(warehouse=los_angeles, code="A-01-01-02", kind="bulk", is_active=False)
    assert codes(admin_api.get(BINS, {"warehouse": "sz"})) == ["A-01-01-01", "B-01-01-01"]
    assert codes(admin_api.get(BINS, {"warehouse": str(los_angeles.pk)})) == ["A-01-01-02"]
    assert codes(admin_api.get(BINS, {"zone": "b"})) == ["B-01-01-01"]
    assert codes(admin_api.get(BINS, {"kind": "bulk"})) == ["A-01-01-02"]
    assert codes(admin_api.get(BINS, {"is_sellable": "false"})) == ["B-01-01-01"]
    assert codes(admin_api.get(BINS, {"is_active": "false"})) == ["A-01-01-02"]
    assert codes(admin_api.get(BINS, {"search": "01-01-02"})) == ["A-01-01-02"]
    assert codes(admin_api.get(BINS, {"search": "b", "warehouse": "SZ"})) == ["B-01-01-01"]
    assert codes(admin_api.get(BINS, {"warehouse": "NOWHERE"})) == []
