"""Who may do what on the inventory API: permissions come from the roles' model permissions."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from inventory.models import Bin, BundleComponent, Product
from tests.inventory.factories import BinFactory, BundleFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


def forbidden(response) -> bool:
    return response.status_code == 403 and response.json() == {
        "message": "You do not have permission to perform this action.",
        "code": "permission_denied",
        "errors": [],
    }


@pytest.mark.parametrize("url", [PRODUCTS, "/api/v1/warehouses/", "/api/v1/bins/"])
def test_anonymous_gets_401_in_the_error_shape(anonymous_api, url):
    response = anonymous_api.get(url)
    assert response.status_code == 401
    assert response.json() == {
        "message": "Authentication credentials were not provided.",
        "code": "not_authenticated",
        "errors": [],
    }
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_is_refused(anonymous_api, db):
    anonymous_api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anonymous_api.get(PRODUCTS)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"  # codes of access.authentication: invalid, revoked, expired


def test_picker_reads_products_but_cannot_write_them(api_client_for):
    picker = api_client_for("Picker/packer")
    product = ProductFactory(sku="A-1", name="Before")
    listed = picker.get(PRODUCTS)
    assert listed.status_code == 200
    assert [row["sku"] for row in listed.json()["results"]] == ["A-1"]
    assert picker.get(f"{PRODUCTS}{product.pk}/").status_code == 200
    assert forbidden(picker.post(PRODUCTS, {"sku": "B-1", "name": "x"}))
    assert forbidden(picker.patch(f"{PRODUCTS}{product.pk}/", {"name": "After"}))
    assert forbidden(picker.delete(f"{PRODUCTS}{product.pk}/"))
    assert forbidden(picker.post(f"{PRODUCTS}bulk-upsert/", [{"sku": "B-1", "name": "x"}]))
    assert list(Product.objects.values_list("sku", "name")) == [("A-1", "Before")]


def test_picker_reads_bins_but_cannot_generate_them(api_client_for):
    picker = api_client_for("Picker/packer")
    warehouse = WarehouseFactory()
    assert picker.get("/api/v1/bins/").status_code == 200
    body = {
        "warehouse": warehouse.pk,
        "zones": ["A"],
        "aisles": {"first": 1, "last": 1},
        "racks": {"first": 1, "last": 1},
        "levels": {"first": 1, "last": 1},
    }
    assert forbidden(picker.post("/api/v1/bins/generate/", body))
    assert Bin.objects.count() == 0


def test_warehouse_manager_edits_products_warehouses_and_bins(api_client_for):
    manager = api_client_for("Warehouse manager")
    product = ProductFactory(sku="A-1")
    created = manager.post(PRODUCTS, {"sku": "b-1", "name": "New"})
    assert created.status_code == 201
    assert manager.patch(f"{PRODUCTS}{product.pk}/", {"name": "Renamed"}).json()["name"] == "Renamed"
    assert manager.delete(f"{PRODUCTS}{created.json()['id']}/").status_code == 204
    warehouse = manager.post("/api/v1/warehouses/", {"code": "SZ", "name": "Shenzhen", "country": "CN"})
    assert warehouse.status_code == 201
    generated = manager.post(
        "/api/v1/bins/generate/",
        {
            "warehouse": warehouse.json()["id"],
            "zones": ["A"],
            "aisles": {"first": 1, "last": 1},
            "racks": {"first": 1, "last": 2},
            "levels": {"first": 1, "last": 1},
        },
    )
    assert generated.status_code == 201
    assert generated.json()["count"] == 2
    bulk = manager.post(f"{PRODUCTS}bulk-upsert/", [{"sku": "A-1", "name": "Bulk renamed"}])
    assert bulk.json() == {"created": 0, "updated": 1, "unchanged": 0, "total": 1}


def test_api_partner_reads_products_and_warehouses_but_not_bins(api_client_for):
    partner = api_client_for("API partner")
    ProductFactory(sku="A-1")
    BinFactory()
    assert partner.get(PRODUCTS).status_code == 200
    assert partner.get("/api/v1/warehouses/").status_code == 200
    assert forbidden(partner.get("/api/v1/bins/"))
    assert forbidden(partner.post(PRODUCTS, {"sku": "B-1", "name": "x"}))


def test_bulk_upsert_needs_both_add_and_change(api_client_for):
    purchaser = api_client_for("Purchaser")  # may change products, may not add them
    product = ProductFactory(sku="A-1")
    assert purchaser.patch(f"{PRODUCTS}{product.pk}/", {"cost_price": "2.5000"}).status_code == 200
    assert forbidden(purchaser.post(f"{PRODUCTS}bulk-upsert/", [{"sku": "A-1", "name": "x"}]))
    assert forbidden(purchaser.post(PRODUCTS, {"sku": "B-1", "name": "x"}))


def test_a_user_without_any_role_sees_nothing(api_client_for):
    nobody = api_client_for()
    assert forbidden(nobody.get(PRODUCTS))
    assert forbidden(nobody.get("/api/v1/warehouses/"))


def test_session_login_works_too_and_unsafe_requests_need_the_csrf_token(make_user):
    make_user("Warehouse manager", username="manager")
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="manager", password="test-pass-123")
    assert client.get(PRODUCTS).status_code == 200
    refused = client.post(PRODUCTS, {"sku": "A-1", "name": "x"})
    assert refused.status_code == 403
    assert refused.json()["message"] == "CSRF Failed: CSRF cookie not set."
    assert Product.objects.count() == 0


def test_setting_components_needs_the_bundle_component_permissions(api_client_for):
    purchaser = api_client_for("Purchaser")  # may change products, not bundle components
    bundle = BundleFactory(sku="KIT-1")
    ProductFactory(sku="A-1")
    refused = purchaser.patch(f"{PRODUCTS}{bundle.pk}/", {"components": [{"sku": "A-1", "quantity": 2}]})
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert refused.json()["message"].startswith("Setting a bundle's components needs the permissions to add, change")
    assert not BundleComponent.objects.exists()
    assert purchaser.patch(f"{PRODUCTS}{bundle.pk}/", {"name": "Kit"}).status_code == 200
    manager = api_client_for("Warehouse manager")
    allowed = manager.patch(f"{PRODUCTS}{bundle.pk}/", {"components": [{"sku": "A-1", "quantity": 2}]})
    assert allowed.status_code == 200
    assert allowed.json()["components"][0]["sku"] == "A-1"
