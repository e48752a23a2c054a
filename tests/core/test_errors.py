"""The API's one error shape, for service errors, serializer errors and auth errors."""

from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, Throttled

from core.api.exceptions import exception_handler, flatten_errors
from core.errors import ErrorDetail, ValidationFailed


def test_nested_serializer_errors_flatten_to_field_paths_and_rows():
    class Item(serializers.Serializer):
        sku = serializers.CharField()
        quantity = serializers.IntegerField(min_value=1)

    class Payload(serializers.Serializer):
        items = Item(many=True)

    payload = Payload(data={"items": [{"sku": "A", "quantity": 1}, {"sku": "", "quantity": 0}]})
    assert not payload.is_valid()
    errors = flatten_errors(payload.errors)
    assert [(e.field, e.code) for e in errors] == [("items[1].sku", "blank"), ("items[1].quantity", "min_value")]


def test_domain_error_renders_message_code_and_rows():
    exc = ValidationFailed(
        "2 rows are invalid.", errors=[ErrorDetail("bad SKU", field="sku", row=3, code="sku_format")]
    )
    response = exception_handler(exc, {})
    assert response.status_code == 400
    assert response.data == {
        "message": "2 rows are invalid.",
        "code": "validation_failed",
        "errors": [{"message": "bad SKU", "code": "sku_format", "field": "sku", "row": 3}],
    }


def test_auth_and_throttle_errors_share_the_shape():
    response = exception_handler(NotAuthenticated(), {})
    assert response.status_code == 401
    assert response.data["code"] == "not_authenticated"
    assert response.data["errors"] == []
    throttled = exception_handler(Throttled(wait=12), {})
    assert throttled.status_code == 429
    assert throttled.data["retry_after"] == 12
