"""Products API: create/update with nested bundle components, field-named errors, search, filters, ordering."""

from __future__ import annotations

import pytest

from inventory.models import BundleComponent, Product
from tests.inventory.factories import BundleComponentFactory, BundleFactory, ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


def fields_and_codes(response) -> list[tuple[str | None, str]]:
    return [(error.get("field"), error["code"]) for error in response.json()["errors"]]


def skus(response) -> list[str]:
    return [row["sku"] for row in response.json()["results"]]


def test_create_returns_the_normalized_product(admin_api):
    response = admin_api.post(
        URL,
        {
            "sku": "  ab-1 ",
            "name": "Phone case",
            "barcode": "4006381333931",
            "weight_g": 120,
            "hs_code": "392690",
            "declared_value": "3.50",
            "origin_country": "cn",
            "contains_battery": True,
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["sku"] == "AB-1"
    assert (body["barcode"], body["weight_g"], body["declared_value"], body["origin_country"]) == (
        "4006381333931",
        120,
        "3.50",
        "CN",
    )
    assert (body["declared_currency"], body["cost_currency"], body["is_active"], body["components"]) == (
        "USD",
        "CNY",
        True,
        [],
    )
    assert Product.objects.get(pk=body["id"]).sku == "AB-1"


def test_bad_sku_gives_the_error_shape_naming_the_field_and_characters(admin_api):
    response = admin_api.post(URL, {"sku": "ab 1#", "name": "x"})
    assert response.status_code == 400
    assert response.json() == {
        "message": "Product AB 1# is invalid: sku: "
        "SKU AB 1# may only hold letters, digits and - _ . / (found ' ' '#').",
        "code": "validation_failed",
        "errors": [
            {
                "message": "SKU AB 1# may only hold letters, digits and - _ . / (found ' ' '#').",
                "code": "sku_format",
                "field": "sku",
            }
        ],
    }


def test_barcode_check_digit_error_says_the_expected_digit(admin_api):
    response = admin_api.post(URL, {"sku": "A-1", "name": "x", "barcode": "036000291453"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "message": "Barcode 036000291453 has check digit 3; UPC-A check digit should be 2.",
            "code": "barcode_check_digit",
            "field": "barcode",
        }
    ]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("sku", "", "required"),
        ("sku", "X" * 65, "max_length"),
        ("name", "", "required"),
        ("barcode", "1234", "barcode_format"),
        ("weight_g", -1, "min_value"),
        ("weight_g", "heavy", "invalid"),
        ("length_mm", -5, "min_value"),
        ("width_mm", 1.5, "invalid"),
        ("height_mm", "x", "invalid"),
        ("declared_name_en", "x" * 129, "max_length"),
        ("hs_code", "6109.10", "hs_code"),
        ("hs_code", "12345678901", "hs_code"),
        ("declared_value", "-1.00", "min_value"),
        ("declared_value", "abc", "invalid"),
        ("declared_currency", "usx", "currency"),
        ("origin_country", "zz", "country"),
        ("contains_battery", "maybe", "invalid"),
        ("cost_price", "-0.0001", "min_value"),
        ("cost_price", "1.00001", "max_decimal_places"),
        ("cost_currency", "RMB", "currency"),
        ("is_bundle", "sometimes", "invalid"),
    ],
)
def test_every_bad_field_value_is_named(admin_api, field, value, code):
    response = admin_api.post(URL, {"sku": "GOOD-1", "name": "Good", field: value})
    assert response.status_code == 400, response.json()
    assert fields_and_codes(response) == [(field, code)]
    assert f": {field}: " in response.json()["message"]
    assert Product.objects.count() == 0


def test_bundle_is_created_with_components_and_reads_them_back(admin_api):
    ProductFactory(sku="CASE-1", name="Case")
    ProductFactory(sku="CABLE-1", name="Cable")
    response = admin_api.post(
        URL,
        {
            "sku": "kit-1",
            "name": "Kit",
            "is_bundle": True,
            "components": [{"sku": "case-1", "quantity": 1}, {"sku": "CABLE-1", "quantity": 2}],
        },
    )
    assert response.status_code == 201, response.json()
    components = response.json()["components"]
    assert [(line["sku"], line["name"], line["quantity"]) for line in components] == [
        ("CASE-1", "Case", 1),
        ("CABLE-1", "Cable", 2),
    ]
    detail = admin_api.get(f"{URL}{response.json()['id']}/")
    assert [(line["sku"], line["quantity"]) for line in detail.json()["components"]] == [("CASE-1", 1), ("CABLE-1", 2)]


def test_patch_replaces_components_and_leaving_them_out_keeps_them(admin_api):
    line = BundleComponentFactory(bundle__sku="KIT-1", component__sku="CASE-1", quantity=1)
    ProductFactory(sku="CABLE-1")
    url = f"{URL}{line.bundle_id}/"
    response = admin_api.patch(url, {"name": "Renamed kit"})
    assert response.status_code == 200
    assert [(c["sku"], c["quantity"]) for c in response.json()["components"]] == [("CASE-1", 1)]
    response = admin_api.patch(url, {"components": [{"sku": "CABLE-1", "quantity": 3}]})
    assert response.status_code == 200, response.json()
    assert [(c["sku"], c["quantity"]) for c in response.json()["components"]] == [("CABLE-1", 3)]
    assert list(BundleComponent.objects.values_list("component__sku", "quantity")) == [("CABLE-1", 3)]


def test_component_errors_point_at_the_list_position(admin_api):
    bundle = BundleFactory(sku="KIT-1")
    BundleFactory(sku="KIT-2")
    ProductFactory(sku="CASE-1")
    url = f"{URL}{bundle.pk}/"
    unknown = admin_api.patch(url, {"components": [{"sku": "CASE-1", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]})
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == [
        {"message": "No product has SKU NOPE.", "code": "does_not_exist", "field": "components[1].sku"}
    ]
    zero = admin_api.patch(url, {"components": [{"sku": "CASE-1", "quantity": 0}]})
    assert fields_and_codes(zero) == [("components[0].quantity", "min_value")]
    nested_bundle = admin_api.patch(url, {"components": [{"sku": "KIT-2", "quantity": 1}]})
    assert nested_bundle.json()["errors"] == [
        {
            "message": "SKU KIT-2 is a bundle; a component cannot itself be a bundle.",
            "code": "component_is_bundle",
            "field": "components[0].sku",
        }
    ]
    itself = admin_api.patch(url, {"components": [{"sku": "KIT-1", "quantity": 1}]})
    assert fields_and_codes(itself) == [("components[0].sku", "component_is_self")]
    assert BundleComponent.objects.count() == 0


def test_a_plain_product_cannot_get_components(admin_api):
    ProductFactory(sku="CASE-1")
    response = admin_api.post(URL, {"sku": "P-1", "name": "x", "components": [{"sku": "CASE-1", "quantity": 1}]})
    assert response.status_code == 400
    assert fields_and_codes(response) == [("components", "not_a_bundle")]
    assert not Product.objects.filter(sku="P-1").exists()


def test_put_needs_the_required_fields(admin_api):
    product = ProductFactory(sku="A-1")
    response = admin_api.put(f"{URL}{product.pk}/", {"name": "only a name"})
    assert response.status_code == 400
    assert fields_and_codes(response) == [("sku", "required")]


def test_delete_is_refused_for_a_component_and_allowed_otherwise(admin_api):
    line = BundleComponentFactory(component__sku="PART-1")
    refused = admin_api.delete(f"{URL}{line.component_id}/")
    assert refused.status_code == 409
    assert refused.json()["code"] == "protected"
    free = ProductFactory()
    assert admin_api.delete(f"{URL}{free.pk}/").status_code == 204
    assert not Product.objects.filter(pk=free.pk).exists()


def test_unknown_product_is_a_404_in_the_error_shape(admin_api):
    response = admin_api.get(f"{URL}999999/")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found.", "code": "not_found", "errors": []}


def test_list_is_paginated_in_natural_sku_order(admin_api):
    for sku in ["A-10", "A-2", "B-1", "A-1"]:
        ProductFactory(sku=sku)
    response = admin_api.get(URL, {"page_size": 3})
    body = response.json()
    assert (body["count"], skus(response)) == (4, ["A-1", "A-2", "A-10"])
    assert body["next"].endswith("page=2&page_size=3")
    assert skus(admin_api.get(URL, {"page_size": 3, "page": 2})) == ["B-1"]


def test_ordering_by_sku_is_natural_both_ways(admin_api):
    for sku in ["A-10", "A-2", "A-1"]:
        ProductFactory(sku=sku)
    assert skus(admin_api.get(URL, {"ordering": "sku"})) == ["A-1", "A-2", "A-10"]
    assert skus(admin_api.get(URL, {"ordering": "-sku"})) == ["A-10", "A-2", "A-1"]
    ProductFactory(sku="C-1", name="Alpha")
    assert skus(admin_api.get(URL, {"ordering": "name"}))[0] == "C-1"


def test_search_covers_sku_name_barcode_and_declared_names(admin_api):
    ProductFactory(sku="CASE-1", name="Phone case", barcode="4006381333931", declared_name_en="Plastic case")
    ProductFactory(sku="CABLE-1", name="USB cable", declared_name_en="Data cable", declared_name_zh="数据线")
    ProductFactory(sku="LAMP-1", name="Desk lamp", declared_name_en="Lamp", declared_name_zh="台灯")
    assert skus(admin_api.get(URL, {"search": "case-"})) == ["CASE-1"]
    assert skus(admin_api.get(URL, {"search": "usb"})) == ["CABLE-1"]
    assert skus(admin_api.get(URL, {"search": "4006381333931"})) == ["CASE-1"]
    assert skus(admin_api.get(URL, {"search": "plastic"})) == ["CASE-1"]
    assert skus(admin_api.get(URL, {"search": "台灯"})) == ["LAMP-1"]


def test_filters(admin_api):
    ProductFactory(sku="A-1", is_active=True, contains_battery=True, origin_country="CN")
    ProductFactory(sku="A-2", is_active=False, origin_country="VN")
    BundleFactory(sku="KIT-1", origin_country="CN")
    assert skus(admin_api.get(URL, {"is_active": "false"})) == ["A-2"]
    assert skus(admin_api.get(URL, {"is_bundle": "true"})) == ["KIT-1"]
    assert skus(admin_api.get(URL, {"contains_battery": "true"})) == ["A-1"]
    assert skus(admin_api.get(URL, {"origin_country": "cn"})) == ["A-1", "KIT-1"]
    assert skus(admin_api.get(URL, {"origin_country": "VN", "is_active": "true"})) == []


BULK_URL = "/api/v1/products/bulk-upsert/"


def test_bulk_upsert_creates_and_updates_by_sku(admin_api):
    ProductFactory(sku="OLD-1", name="Old", weight_g=100)
    ProductFactory(sku="SAME-1", name="Same", weight_g=100)
    response = admin_api.post(
        BULK_URL,
        [
            {"sku": " new-1 ", "name": "New", "weight_g": "250", "origin_country": "vn", "contains_battery": True},
            {"sku": "old-1", "weight_g": 300},
            {"sku": "SAME-1", "weight_g": 100},
        ],
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 1, "updated": 1, "unchanged": 1, "total": 3}
    created = Product.objects.get(sku="NEW-1")
    assert (created.name, created.weight_g, created.origin_country, created.contains_battery) == (
        "New",
        250,
        "VN",
        True,
    )
    assert Product.objects.get(sku="OLD-1").weight_g == 300
    assert Product.objects.get(sku="OLD-1").name == "Old"


def test_bulk_upsert_errors_give_the_1_based_position_and_field_and_save_nothing(admin_api):
    response = admin_api.post(
        BULK_URL,
        [
            {"sku": "A-1", "name": "fine"},
            {"sku": "a 2", "name": "bad sku", "_row": 99},
            {"sku": "A-3", "name": "bad barcode", "barcode": "4006381333932"},
        ],
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "2 of 3 rows are invalid; nothing was saved."
    assert [(error["row"], error["field"], error["code"]) for error in body["errors"]] == [
        (2, "sku", "sku_format"),
        (3, "barcode", "barcode_check_digit"),
    ]
    assert body["errors"][1]["message"] == "Barcode 4006381333932 has check digit 2; EAN-13 check digit should be 1."
    assert Product.objects.count() == 0


def test_bulk_upsert_body_must_be_a_list_of_objects(admin_api):
    not_a_list = admin_api.post(BULK_URL, {"sku": "A-1", "name": "x"})
    assert not_a_list.status_code == 400
    assert not_a_list.json() == {
        "message": "The body must be a JSON list of product objects.",
        "code": "not_a_list",
        "errors": [],
    }
    mixed = admin_api.post(BULK_URL, [{"sku": "A-1", "name": "x"}, "B-1", 7])
    assert mixed.status_code == 400
    assert mixed.json()["errors"] == [
        {"message": "Each item must be a JSON object of product fields.", "code": "not_an_object", "row": 2},
        {"message": "Each item must be a JSON object of product fields.", "code": "not_an_object", "row": 3},
    ]
    assert Product.objects.count() == 0


def test_bulk_upsert_takes_at_most_1000_products(admin_api):
    rows = [{"sku": f"S-{number}", "name": "x"} for number in range(1001)]
    too_many = admin_api.post(BULK_URL, rows)
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "too_many_rows"
    assert too_many.json()["message"] == "At most 1000 products per request; this one has 1001. Split the list."
    assert Product.objects.count() == 0
    exactly = admin_api.post(BULK_URL, rows[:1000])
    assert exactly.status_code == 200
    assert exactly.json() == {"created": 1000, "updated": 0, "unchanged": 0, "total": 1000}


def test_a_patch_whose_component_has_no_sku_names_the_field(admin_api):
    bundle = BundleFactory(sku="KIT-1")
    ProductFactory(sku="A-1")
    response = admin_api.patch(f"{URL}{bundle.pk}/", {"components": [{"sku": "A-1", "quantity": 1}, {"quantity": 2}]})
    assert response.status_code == 400
    assert fields_and_codes(response) == [("components[1].sku", "required")]
    response = admin_api.patch(f"{URL}{bundle.pk}/", {"components": "A-1"})
    assert response.status_code == 400
    assert fields_and_codes(response) == [("components", "not_a_list")]
