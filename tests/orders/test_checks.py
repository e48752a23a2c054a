"""Address checks, the blacklist, and the rule conditions that read them (first orders of a buyer too)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orders.checks import address_problems, phone_normalised
from orders.imports import orders_upsert
from orders.inbound import AddressIn
from orders.models import Blacklist, Order
from tests.orders.factories import T0, StoreFactory, order_in

pytestmark = pytest.mark.django_db


def address(**fields) -> Order:
    base = {
        "ship_name": "Jane Roe",
        "ship_address1": "1 Main St",
        "ship_city": "Springfield",
        "ship_state": "IL",
        "ship_postcode": "62701",
        "ship_country": "US",
    }
    return Order(**{**base, **fields})


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        ({}, []),
        ({"ship_postcode": "62701-1234"}, []),
        ({"ship_state": ""}, ["Addresses in US need a state or province."]),
        ({"ship_postcode": "6270"}, ["6270 is not a postcode of US."]),
        ({"ship_country": "GB", "ship_state": "", "ship_postcode": "SW1A 1AA"}, []),
        ({"ship_country": "GB", "ship_state": "", "ship_postcode": "12345"}, ["12345 is not a postcode of GB."]),
        ({"ship_country": "JP", "ship_state": "東京都", "ship_postcode": "150-0002"}, []),
        ({"ship_country": "DE", "ship_state": "", "ship_postcode": ""}, ["The address has no postcode."]),
        ({"ship_country": "HK", "ship_state": "", "ship_postcode": ""}, []),
        (
            {"ship_address1": " ", "ship_name": ""},
            ["The address has no recipient's name.", "The address has no street."],
        ),
        ({"ship_phone": "12-34"}, ["The phone number 12-34 is too short to dial."]),
    ],
)
def test_address_problems(fields, problems):
    assert address_problems(address(**fields)) == problems


def test_phones_keep_their_digits_and_plus():
    assert phone_normalised(" +1 (555) 010-0100 ") == "+15550100100"
    assert phone_normalised("0755-8888 6666") == "075588886666"


def test_the_blacklist_keeps_values_normalised_and_refuses_a_second_of_the_same(admin_api):
    email = admin_api.post("/api/v1/blacklist/", {"kind": "email", "value": " Fraud@Example.COM "}, format="json")
    assert email.status_code == 201, email.json()
    assert email.json()["value"] == "fraud@example.com"
    again = admin_api.post("/api/v1/blacklist/", {"kind": "email", "value": "fraud@example.com"}, format="json")
    assert again.status_code == 409
    street = admin_api.post("/api/v1/blacklist/", {"kind": "address", "value": "us: 13 Elm St., 62701"}, format="json")
    assert street.json()["value"] == "US:13 elm st 62701"
    nothing = admin_api.post("/api/v1/blacklist/", {"kind": "address", "value": "13 Elm St"}, format="json")
    assert nothing.status_code == 400 and nothing.json()["errors"][0]["field"] == "value"


def test_rules_hold_blacklisted_orders_bad_addresses_and_big_first_orders(admin_api):
    Blacklist.objects.create(kind="address", value="US:13 elm st 62701", reason="chargebacks")
    store = StoreFactory()
    bad_street = AddressIn(
        name="Al", address1="13 ELM ST", city="Springfield", state="IL", postcode="62701", country="US"
    )
    no_state = AddressIn(name="Bo", address1="2 Oak St", city="Austin", postcode="73301", country="US")
    orders_upsert(
        store_id=store.pk,
        orders=[
            order_in("B-1", address=bad_street),
            order_in("B-2", address=no_state),
            order_in("B-3", buyer_email="new@example.com", total=900),
            order_in("B-0", buyer_email="NEW@example.com", ordered_at=T0 - timedelta(days=40)),
            order_in("B-4", buyer_email="new@example.com", ordered_at=T0 + timedelta(days=1), total=900),
        ],
    )
    ids = list(Order.objects.order_by("channel_order_id").values_list("pk", flat=True))

    def held(conditions) -> list[str]:
        response = admin_api.post(
            "/api/v1/allocation-rules/preview/",
            {"conditions": conditions, "actions": [{"type": "hold", "reason": "look"}], "orders": ids},
            format="json",
        )
        assert response.status_code == 200, response.json()
        return sorted(row["channel_order_id"] for row in response.json() if row["matched"])

    assert held([{"field": "blacklisted", "op": "is", "value": True}]) == ["B-1"]
    assert held([{"field": "address_ok", "op": "is", "value": False}]) == ["B-2"]
    # B-0 is the buyer's first order; B-3 the second (B-0 came 40 days before), B-4 the third.
    assert held(
        [{"field": "buyer_orders", "op": "eq", "value": 1}, {"field": "order_total", "op": "gt", "value": "500"}]
    ) == ["B-3"]
    assert held([{"field": "buyer_orders", "op": "eq", "value": 0}]) == ["B-0", "B-1", "B-2"]
