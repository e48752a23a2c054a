"""Bad input at the door: oversized bodies, deep JSON and control characters are refused in the API's shape."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from core.limits import JSON_MAX_DEPTH

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


def _post_json(client, url: str, body: str):
    return client.generic("POST", url, body, content_type="application/json")


def test_nul_in_a_json_string_names_the_field_and_saves_nothing(admin_api):
    response = admin_api.post(PRODUCTS, {"sku": "AB\x00C", "name": "Cable"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed"
    assert body["errors"] == [
        {
            "message": "Contains U+0000 (NUL) at position 3; control characters are not allowed in text.",
            "code": "forbidden_character",
            "field": "sku",
        }
    ]
    assert admin_api.get(PRODUCTS).json()["count"] == 0


def test_control_characters_deep_in_a_payload_are_named_by_their_path(admin_api):
    payload = {
        "warehouse": "SZ",
        "reference": "order-line:1",
        "lines": [{"product": "A", "quantity": 1}, {"product": "B\x1b", "quantity": 1}],
    }
    response = admin_api.post("/api/v1/stock/reserve/", payload, format="json")
    assert response.status_code == 400
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [
        ("lines[1].product", "forbidden_character")
    ]


def test_a_key_with_a_control_character_is_refused(admin_api):
    response = _post_json(admin_api, PRODUCTS, json.dumps({"sk\u0007u": "A", "name": "x"}))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "forbidden_character"


def test_json_nested_a_thousand_deep_is_a_400_not_a_crash(admin_api):
    response = _post_json(admin_api, PRODUCTS, "[" * 1000 + "]" * 1000)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "too_deep"


def test_json_just_past_the_depth_limit_names_where(admin_api):
    body = {"a": 1}
    for _ in range(JSON_MAX_DEPTH):
        body = {"x": body}
    response = admin_api.post(PRODUCTS, body, format="json")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "too_deep"
    assert error["field"] == ".".join(["x"] * JSON_MAX_DEPTH)


def test_a_lone_surrogate_escaped_in_json_is_refused(admin_api):
    response = _post_json(admin_api, PRODUCTS, '{"sku": "A\\ud800", "name": "x"}')
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("Contains U+D800")


def test_query_parameters_with_nul_are_refused_before_any_query(admin_api, django_assert_num_queries):
    # Authentication itself is not reached: the middleware answers first.
    with django_assert_num_queries(0):
        response = admin_api.get(PRODUCTS, {"search": "A\x00"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "message": "Query parameter search: Contains U+0000 (NUL) at position 2; control characters are not "
            "allowed in text.",
            "code": "forbidden_character",
            "field": "search",
        }
    ]


def test_admin_pages_refuse_nul_in_query_parameters_with_a_plain_400(admin_client):
    response = admin_client.get("/admin/inventory/product/", {"q": "\x00"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "U+0000 (NUL)" in response.content.decode()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_json_body_over_the_limit_is_413_in_the_api_shape(admin_api):
    response = _post_json(admin_api, PRODUCTS, json.dumps({"sku": "A", "name": "x" * 2000}))
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "payload_too_large"
    assert body["context"] == {"limit_bytes": 1000}


@override_settings(UPLOAD_MAX_SIZE=2048)
def test_an_upload_over_the_limit_is_refused_before_it_is_read(admin_api):
    upload = SimpleUploadedFile("stock.csv", b"sku,bin,quantity\n" + b"A,A-01-01-01,1\n" * 400, "text/csv")
    response = admin_api.post("/api/v1/stock/import/", {"file": upload, "warehouse": "SZ"}, format="multipart")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_multipart_form_fields_with_control_characters_are_refused(admin_api):
    upload = SimpleUploadedFile("stock.csv", b"sku,bin,quantity\n", "text/csv")
    response = admin_api.post(
        "/api/v1/stock/import/", {"file": upload, "warehouse": "SZ", "note": "a\x00b"}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "note"


def test_json_endpoints_do_not_take_multipart(admin_api):
    response = admin_api.post(PRODUCTS, {"sku": "A", "name": "x"}, format="multipart")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_anonymous_clients_get_the_same_refusal():
    response = Client().get(PRODUCTS, {"ordering": "\x07"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "ordering"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/stock-counts/?warehouse=%C2%B955",  # "¹55": str.isdigit() says yes, int() says no
        "/api/v1/stock-moves/?product=%C2%B9&bin=%D9%A3",
        "/api/v1/bins/?warehouse=%C2%B9",
        "/api/v1/stock-moves/99999999999999999999999/",
        "/api/v1/stock-moves/?product=99999999999999999999999",
    ],
)
def test_digits_of_other_scripts_and_huge_ids_are_names_that_match_nothing(admin_api, url):
    response = admin_api.get(url)
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert response.json()["results"] == []


def test_admin_ledger_filters_take_only_ascii_ids(admin_client):
    assert admin_client.get("/admin/inventory/stockmove/", {"product": "¹", "bin": "٣"}).status_code == 200


def test_an_unknown_api_address_answers_in_the_error_shape_for_every_method(admin_api):
    for method in ("get", "post", "delete"):
        response = getattr(admin_api, method)("/api/v1/stock-moves/1.5e-20/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
