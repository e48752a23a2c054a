"""Every stock write says who made it: reservations keep their history, and bins put off sale are on record."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import Bin, ReservationEvent, SellableChange, StockMove
from inventory.stock_services import bin_sellable_set, stock_receive, stock_reserve
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    warehouse = WarehouseFactory(code="SZ", bin_code_pattern="")
    site = {
        "warehouse": warehouse,
        "pick": BinFactory(warehouse=warehouse, code="A-01-01-01", kind=Bin.Kind.PICK, is_sellable=True),
        "bulk": BinFactory(warehouse=warehouse, code="B-01-01-01", kind=Bin.Kind.BULK, is_sellable=True),
        "packing": BinFactory(warehouse=warehouse, code="PACK-1", kind=Bin.Kind.PACKING, is_sellable=False),
        "case": ProductFactory(sku="CASE-1"),
        "cable": ProductFactory(sku="CABLE-1"),
    }
    stock_receive(product=site["case"], bin=site["pick"], quantity=50)
    stock_receive(product=site["case"], bin=site["bulk"], quantity=40)
    stock_receive(product=site["cable"], bin=site["bulk"], quantity=5)
    return site


def test_a_reservation_keeps_who_reserved_released_picked_and_shipped(site, api_client_for):
    seller = api_client_for("Warehouse manager")
    picker = api_client_for("Warehouse manager")
    lines = [{"product": "CASE-1", "quantity": 30}]
    assert (
        seller.post(
            "/api/v1/stock/reserve/", {"warehouse": "SZ", "reference": "order-line:7", "lines": lines}
        ).status_code
        == 201
    )
    release = {"warehouse": "SZ", "reference": "order-line:7", "lines": [{"product": "CASE-1", "quantity": 10}]}
    assert seller.post("/api/v1/stock/release/", release).status_code == 200
    pick = {
        "reference": "order-line:7",
        "product": "CASE-1",
        "warehouse": "SZ",
        "from_bin": "A-01-01-01",
        "to_bin": "PACK-1",
    }
    assert picker.post("/api/v1/stock/pick/", {**pick, "quantity": 20}).status_code == 201
    ship = {"reference": "order-line:7", "product": "CASE-1", "warehouse": "SZ", "from_bin": "PACK-1", "quantity": 20}
    assert picker.post("/api/v1/stock/ship/", ship).status_code == 201

    response = seller.get("/api/v1/reservations/", {"product": "CASE-1"})
    assert response.status_code == 200
    (reservation,) = response.json()["results"]
    assert (reservation["quantity_reserved"], reservation["quantity_picked"], reservation["quantity_shipped"]) == (
        0,
        0,
        20,
    )
    assert [(event["kind"], event["quantity"], event["username"]) for event in reservation["events"]] == [
        ("reserved", 30, seller.user.username),
        ("released", 10, seller.user.username),
        ("picked", 20, picker.user.username),
        ("shipped", 20, picker.user.username),
    ]
    # Picks and shipments point at the ledger rows they wrote.
    picked, shipped = ReservationEvent.objects.filter(kind__in=["picked", "shipped"]).order_by("id")
    assert (picked.stock_move.reason, shipped.stock_move.reason) == (StockMove.Reason.PICK, StockMove.Reason.SHIP)
    assert picked.stock_move.user == picker.user


def test_reservations_made_by_an_integration_carry_its_user(site, django_user_model):
    integration = django_user_model.objects.create_user(username="integration-amazon-us")
    stock_reserve(warehouse=site["warehouse"], lines=[(site["case"], 4)], reference="amazon:114-1", user=integration)
    assert list(ReservationEvent.objects.values_list("kind", "quantity", "user__username")) == [
        ("reserved", 4, "integration-amazon-us")
    ]


def test_who_took_these_40_units_off_sale(site, api_client_for):
    """A seller sees CASE-1 drop by 40 and asks who did it: a bin was made not sellable, and the API says by whom."""
    manager = api_client_for("Warehouse manager")
    bulk = site["bulk"]
    before = manager.get("/api/v1/availability/", {"product": "CASE-1"}).json()["results"][0]["total"]["available"]
    assert manager.patch(f"/api/v1/bins/{bulk.pk}/", {"is_sellable": False}).status_code == 200
    after = manager.get("/api/v1/availability/", {"product": "CASE-1"}).json()["results"][0]["total"]["available"]
    assert before - after == 40

    changes = manager.get("/api/v1/sellable-changes/", {"product": "CASE-1"}).json()["results"]
    assert [
        (change["bin_code"], change["sku"], change["is_sellable"], change["quantity"], change["username"])
        for change in changes
    ] == [("B-01-01-01", "CASE-1", False, 40, manager.user.username)]
    by_bin = manager.get("/api/v1/sellable-changes/", {"bin": "B-01-01-01", "warehouse": "SZ"}).json()["results"]
    assert sorted((change["sku"], change["quantity"]) for change in by_bin) == [("CABLE-1", 5), ("CASE-1", 40)]


def test_an_empty_bin_made_sellable_is_on_record_too(site, make_user):
    user = make_user("Warehouse manager")
    empty = BinFactory(warehouse=site["warehouse"], code="C-01-01-01", kind=Bin.Kind.BULK, is_sellable=False)
    bin_sellable_set(bin=empty, is_sellable=True, user=user, note="QC done")
    assert list(
        SellableChange.objects.filter(bin=empty).values_list("product", "quantity", "is_sellable", "note", "user")
    ) == [(None, 0, True, "QC done", user.pk)]


def test_the_admin_changes_a_bin_in_the_users_name_and_lists_the_history(site, admin_client, admin_user):
    bulk = site["bulk"]
    response = admin_client.post(
        reverse("admin:inventory_bin_change", args=[bulk.pk]),
        {"code": bulk.code, "zone": bulk.zone, "kind": bulk.kind, "pick_sequence": 1, "is_active": "on"},
    )
    assert response.status_code == 302
    assert set(SellableChange.objects.values_list("user", flat=True)) == {admin_user.pk}
    stock_reserve(warehouse=site["warehouse"], lines=[(site["case"], 1)], reference="o:1", user=admin_user)
    for name in ("sellablechange", "reservationevent", "reservation"):
        assert admin_client.get(reverse(f"admin:inventory_{name}_changelist")).status_code == 200
    assert "CASE-1" in admin_client.get(reverse("admin:inventory_sellablechange_changelist")).content.decode()


def test_reading_the_history_needs_its_view_permission(site, api_client_for):
    picker = api_client_for("Picker/packer")
    assert picker.get("/api/v1/reservations/").status_code == 403
    assert picker.get("/api/v1/sellable-changes/").status_code == 403
