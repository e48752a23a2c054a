"""The faster reads (core/api/fast.py) answer exactly what DRF's own serializers answer.

Every GET route of the schema, lists and details, is read twice over a world with orders in parcels, shipments in a
manifest, holds, transfers, counts and purchase orders: once the fast way, once DRF's; the two answers must be the
same JSON. Then the corners a world may not have: a chain through nothing, a callable source, a dict row, a missing
attribute, a foreign key left empty, a time zone other than UTC, a date-time without one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers

from core.api import fast
from orders.models import OrderHold
from tests.access.partners import two_partners
from tests.access.test_isolation import is_global, operations, resource, undeclared, view_class

pytestmark = pytest.mark.django_db

# The serializers of the busiest reads: the walk must have rendered each of them the fast way.
HOT = {
    "OrderSerializer",
    "OrderLineSerializer",
    "OrderParcelSerializer",
    "ProductSerializer",
    "StockLevelSerializer",
    "StockMoveSerializer",
    "ShipmentSerializer",
    "ShipmentDetailSerializer",
}


def both_ways(client, path: str) -> tuple[int, object, object]:
    fast.ENABLED = True
    try:
        quick = client.get(path)
    finally:
        fast.ENABLED = False
    try:
        plain = client.get(path)
    finally:
        fast.ENABLED = True
    assert quick.status_code == plain.status_code, path
    if quick["Content-Type"].startswith("application/json"):
        return quick.status_code, quick.json(), plain.json()
    return quick.status_code, quick.content, plain.content


def test_every_read_route_answers_the_same_json_as_drf(make_user, api_client_for):
    admin = make_user(superuser=True)
    _shared, alpha, _bravo = two_partners(admin)
    client = api_client_for(superuser=True)
    fast._FIELDS_BUILT.clear()
    compared, differing = 0, []
    for path, method, _operation, _components in operations():
        if method != "get" or path.endswith(("/export/", "/file/", "/pdf/", "/label/")):
            continue
        cls = view_class(path)
        if "{id}" in path:
            name = resource(path)
            if name not in alpha.objects:
                continue  # the catalogue's details (products, carriers...): their lists are read whole
            path = path.replace("{id}", str(alpha.objects[name]))
        elif undeclared(cls()) and not is_global(cls):
            continue
        status, quick, plain = both_ways(client, path)
        if status != 200:
            continue
        compared += 1
        if quick != plain:
            differing.append(f"{path}: {json.dumps(quick)[:300]} != {json.dumps(plain)[:300]}")
    assert not differing, "\n".join(differing)
    assert compared >= 50  # 55 routes answered 200 when this was written
    rendered = {cls.__name__ for cls in fast._FIELDS_BUILT}
    assert rendered >= HOT, f"not rendered the fast way: {sorted(HOT - rendered)}"


class HoldRow(fast.FastReadMixin, serializers.ModelSerializer):
    reason = serializers.CharField(source="get_code_display")
    store_name = serializers.CharField(source="order.store.name", allow_null=True, default=None)
    released_by_name = serializers.CharField(source="released_by.username", allow_null=True, default=None)
    missing = serializers.CharField(required=False)
    shown_at = serializers.DateTimeField(source="created_at", format="%Y-%m-%d %H:%M")
    count = serializers.IntegerField(source="detail_length")
    flag = serializers.BooleanField(source="flag_value")
    raw = serializers.ReadOnlyField(source="detail")

    class Meta:
        model = OrderHold
        fields = [
            "id",
            "order",
            "code",
            "reason",
            "detail",
            "store_name",
            "released_by",
            "released_by_name",
            "missing",
            "created_at",
            "released_at",
            "shown_at",
            "count",
            "flag",
            "raw",
        ]


class Row(fast.FastReadMixin, serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=8, decimal_places=2)
    seen_at = serializers.DateTimeField(allow_null=True)


def render_both(serializer_class, rows) -> tuple[list, list]:
    fast.ENABLED = True
    try:
        quick = serializer_class(rows, many=True).data
    finally:
        fast.ENABLED = False
    try:
        plain = serializer_class(rows, many=True).data
    finally:
        fast.ENABLED = True
    return json.loads(json.dumps(quick)), json.loads(json.dumps(plain))


def hold(**values) -> OrderHold:
    row = OrderHold(
        pk=values.pop("pk", 7),
        order_id=values.pop("order_id", None),
        code=values.pop("code", OrderHold.Code.UNMAPPED_SKU),
        detail=values.pop("detail", "SKU-X 未映射"),
        created_at=values.pop("created_at", datetime(2026, 11, 1, 8, 30, 15, 123456, tzinfo=UTC)),
        released_at=values.pop("released_at", None),
    )
    row.detail_length = values.pop("detail_length", Decimal("3"))
    row.flag_value = values.pop("flag_value", True)
    return row


def test_the_corners_answer_as_drf_does():
    # Order 999,999 does not exist: the chain order.store.name meets DoesNotExist, and DRF gives None.
    rows = [
        hold(),
        hold(pk=8, order_id=999_999, code=OrderHold.Code.MANUAL, flag_value=1, detail_length=5.9),
        hold(pk=9, created_at=datetime(2026, 11, 1, 8, 30), flag_value=0, detail=""),  # a naive date-time
        hold(pk=10, released_at=datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), flag_value=None),
    ]
    for zone in ("UTC", "Asia/Shanghai", "America/Los_Angeles"):
        with timezone.override(zone):
            quick, plain = render_both(HoldRow, rows)
        assert quick == plain, zone
    assert plain[1]["order"] == 999_999 and plain[0]["order"] is None
    assert "missing" not in plain[0]

    dict_rows = [
        {"sku": "CASE-A", "quantity": Decimal("2"), "price": Decimal("9.9"), "seen_at": None},
        {"sku": 12, "quantity": "3", "price": "1.005", "seen_at": datetime(2026, 1, 1, tzinfo=UTC)},
    ]
    quick, plain = render_both(Row, dict_rows)
    assert quick == plain


def test_a_date_time_too_far_for_the_zone_fails_as_drf_does():
    row = hold(created_at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    with timezone.override("Asia/Shanghai"):
        fast.ENABLED = True
        with pytest.raises(serializers.ValidationError) as quick:
            HoldRow(row).data  # noqa: B018 - rendering is the point
        fast.ENABLED = False
        try:
            with pytest.raises(serializers.ValidationError) as plain:
                HoldRow(row).data  # noqa: B018
        finally:
            fast.ENABLED = True
    assert quick.value.detail == plain.value.detail
