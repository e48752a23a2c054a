"""The OpenAPI schema tells the truth: bodies, answers and errors as the views give them, texts for partners."""

from __future__ import annotations

import pytest

from tests.api.openapi import operations

pytestmark = pytest.mark.django_db


def test_only_the_upload_endpoints_take_multipart(schema):
    multipart = [
        (method, path)
        for path, method, operation in operations(schema)
        if "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
    ]
    uploads = [
        ("post", "/api/v1/stock/import/"),
        ("post", "/api/v1/stores/{id}/import-orders/"),
        ("post", "/api/v1/rate-cards/{id}/import/"),
        ("post", "/api/v1/purchase-orders/import/"),
    ]
    assert sorted(multipart) == sorted(uploads)
    bodies = {
        media
        for path, method, operation in operations(schema)
        for media in operation.get("requestBody", {}).get("content", {})
        if (method, path) not in uploads
    }
    assert bodies == {"application/json"}


@pytest.mark.parametrize(("path", "status"), [("/api/v1/stock/reserve/", "201"), ("/api/v1/stock/release/", "200")])
def test_reserve_and_release_answer_a_plain_list(schema, path, status):
    body = schema["paths"][path]["post"]["responses"][status]["content"]["application/json"]["schema"]
    assert body == {"type": "array", "items": {"$ref": "#/components/schemas/Reservation"}}
    parameters = [parameter["name"] for parameter in schema["paths"][path]["post"].get("parameters", [])]
    assert parameters == ["Idempotency-Key"]  # the header every write takes; no pagination or filters


def test_every_operation_documents_its_error_answers_in_the_error_shape(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        expected = {"400", "401", "403", "405", "406", "429"}
        if "{" in path:
            expected.add("404")
        if method != "get":
            expected |= {"409"}
        if method in ("post", "put", "patch"):
            expected |= {"413", "415"}
        assert expected <= set(responses), f"{method.upper()} {path} lacks {sorted(expected - set(responses))}"
        for status in expected:
            body = responses[status]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            assert responses[status]["description"], (method, path, status)


def test_descriptions_are_written_for_partners_not_copied_from_docstrings(schema):
    described = {name: component.get("description") for name, component in schema["components"]["schemas"].items()}
    # Enums describe their values; the error shape says what it is; nothing else carries a developer's note.
    texts = {name: text for name, text in described.items() if text and not name.endswith("Enum")}
    assert list(texts) == ["Error"]
    assert "validators" not in str(schema)


@pytest.mark.parametrize(
    "action", ["receive", "move", "adjust", "return", "pick", "ship", "reserve", "release", "import"]
)
def test_options_on_every_stock_action_describes_its_input(admin_api, action):
    response = admin_api.options(f"/api/v1/stock/{action}/")
    assert response.status_code == 200
    fields = response.json()["actions"]["POST"]
    assert {"product", "quantity"} <= set(fields) or {"warehouse", "reference"} <= set(fields) or "file" in fields
