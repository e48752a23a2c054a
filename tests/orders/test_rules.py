"""Allocation rules: every condition, the actions, priority and the trail, bad rules refused, the preview."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace

import pytest

from orders.imports import orders_upsert
from orders.inbound import AddressIn
from orders.models import AllocationRule, Order
from orders.rules import OrderFacts, condition_holds, decide
from tests.inventory.factories import ProductFactory, WarehouseFactory
from tests.logistics.test_quotes import method_with_card
from tests.orders.factories import StoreFactory, line_in, order_in

FACTS = OrderFacts(
    order_id=1,
    store_id=7,
    channel="amazon",
    country="US",
    region="California",
    postcode="94105",
    total=Decimal("150.00"),
    line_count=3,
    total_weight_g=1200,
    skus=frozenset({"CASE-1", "CABLE-2"}),
    has_battery=True,
    has_liquid=False,
    requested_service="Expedited",
    buyer=("Jane Roe", "jane@example.com", "Jane Roe"),
)


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("store", "in", [7, 8], True),
        ("store", "not_in", [7], False),
        ("channel", "in", ["ebay"], False),
        ("channel", "not_in", ["ebay"], True),
        ("country", "in", ["US", "CA"], True),
        ("region", "in", ["california"], True),
        ("postcode", "starts_with", ["9", "83"], True),
        ("postcode", "not_starts_with", ["9"], False),
        ("order_total", "gt", "149.99", True),
        ("order_total", "lte", "149.99", False),
        ("order_total", "eq", "150", True),
        ("line_count", "gte", 3, True),
        ("line_count", "lt", 3, False),
        ("total_weight_g", "gt", 2000, False),
        ("sku", "any_of", ["CASE-1", "X"], True),
        ("sku", "all_of", ["CASE-1", "X"], False),
        ("sku", "none_of", ["X"], True),
        ("has_battery", "is", True, True),
        ("has_liquid", "is", True, False),
        ("requested_service", "in", ["expedited"], True),
        ("requested_service", "contains", ["exp"], True),
        ("buyer", "in", ["JANE@EXAMPLE.COM"], True),
        ("buyer", "contains", ["roe"], True),
        ("buyer", "not_in", ["someone else"], True),
        ("tag", "any_of", ["vip"], False),
        ("tag", "none_of", ["vip"], True),
    ],
)
def test_each_condition(field, op, value, expected):
    assert condition_holds(replace(FACTS), {"field": field, "op": op, "value": value}) is expected


def rule(pk, name, actions, conditions=(), match="all", stop=False):
    return SimpleNamespace(pk=pk, name=name, actions=actions, conditions=list(conditions), match=match, stop=stop)


def test_rules_run_by_priority_first_choice_wins_holds_and_tags_add_up_and_stop_ends():
    rules = [
        rule(1, "batteries by YT", [{"type": "set_method", "method": "YT-STD"}, {"type": "add_tag", "tag": "battery"}],
             [{"field": "has_battery", "op": "is", "value": True}]),
        rule(2, "west coast from LA", [{"type": "set_warehouse", "warehouse": "LA"}],
             [{"field": "postcode", "op": "starts_with", "value": ["9"]}]),
        rule(3, "everything from SZ by DHL", [{"type": "set_warehouse", "warehouse": "SZ"},
                                               {"type": "set_method", "method": "DHL-EXP"}]),
        rule(4, "check tagged big orders", [{"type": "hold", "reason": "Check the battery paperwork"}],
             [{"field": "tag", "op": "any_of", "value": ["battery"]},
              {"field": "order_total", "op": "gt", "value": "100"}],
             stop=True),
        rule(5, "never reached", [{"type": "hold", "reason": "no"}]),
    ]  # fmt: skip

    decision = decide(replace(FACTS), rules)

    assert (decision.warehouse, decision.method, decision.holds, decision.tags) == (
        "LA",
        "YT-STD",
        ["Check the battery paperwork"],
        ["battery"],
    )
    assert [(step["name"], step["result"]) for step in decision.trail] == [
        ("batteries by YT", "Shipping method YT-STD."),
        ("batteries by YT", "Tagged battery."),
        ("west coast from LA", "Warehouse LA."),
        ("everything from SZ by DHL", "Warehouse already chosen (LA)."),
        ("everything from SZ by DHL", "Shipping method already chosen (YT-STD)."),
        ("check tagged big orders", "Held: Check the battery paperwork"),
    ]


def test_any_matches_one_condition_and_no_conditions_match_every_order():
    anything = rule(1, "any", [{"type": "add_tag", "tag": "x"}], [
        {"field": "country", "op": "in", "value": ["GB"]}, {"field": "line_count", "op": "eq", "value": 3}
    ], match="any")  # fmt: skip
    always = rule(2, "always", [{"type": "add_tag", "tag": "y"}])
    assert decide(replace(FACTS), [anything, always]).tags == ["x", "y"]


@pytest.mark.django_db
def test_bad_rules_are_refused_with_the_place_of_each_problem(admin_api):
    WarehouseFactory(code="SZ")
    bad = {
        "name": "bad",
        "conditions": [
            {"field": "colour", "op": "in", "value": ["red"]},
            {"field": "order_total", "op": "gt", "value": "lots"},
            {"field": "country", "op": "between", "value": ["US"]},
            {"field": "country", "op": "in", "value": ["ZZ"]},
            {"field": "has_battery", "op": "is", "value": "yes"},
        ],
        "actions": [
            {"type": "set_warehouse", "warehouse": "NOWHERE"},
            {"type": "launch", "target": "moon"},
            {"type": "hold", "reason": ""},
        ],
    }

    response = admin_api.post("/api/v1/allocation-rules/", bad, format="json")

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [
        "conditions[0].field",
        "conditions[1].value",
        "conditions[2].op",
        "conditions[3].value",
        "conditions[4].value",
        "actions[1].type",
        "actions[2].reason",
        "actions[0].warehouse",
    ]
    empty = admin_api.post("/api/v1/allocation-rules/", {"name": "empty", "actions": []}, format="json")
    assert empty.status_code == 400 and empty.json()["errors"][0]["field"] == "actions"
    assert not AllocationRule.objects.exists()


@pytest.mark.django_db
def test_a_rule_is_saved_normalised_and_the_preview_shows_what_it_would_do_with_real_quotes(admin_api):
    method_with_card("CHEAP")
    method_with_card("DEAR")
    from logistics.models import RateBracket, ShippingMethod

    RateBracket.objects.filter(zone__card__method__code="DEAR").update(price_per_kg=Decimal("500"))
    ShippingMethod.objects.filter(code="DEAR").update(transit_days_max=3)
    ShippingMethod.objects.filter(code="CHEAP").update(transit_days_max=15)
    WarehouseFactory(code="LA")
    store = StoreFactory()
    product = ProductFactory(sku="CASE-1", weight_g=300)
    mapped = line_in("L1", "CASE-1", product_id=product.pk, product_quantity=1)
    orders_upsert(
        store_id=store.pk,
        orders=[
            order_in("R-1", lines=[mapped]),
            order_in("R-2", lines=[mapped], address=AddressIn(country="GB", city="Leeds")),
        ],
    )
    us, gb = Order.objects.get(channel_order_id="R-1"), Order.objects.get(channel_order_id="R-2")

    saved = admin_api.post(
        "/api/v1/allocation-rules/",
        {
            "name": "US from LA, cheapest",
            "priority": 10,
            "conditions": [{"field": "country", "op": "in", "value": ["us"]}],
            "actions": [
                {"type": "set_warehouse", "warehouse": "la"},
                {"type": "cheapest_method", "methods": ["dear", "cheap"]},
            ],
        },
        format="json",
    )
    assert saved.status_code == 201, saved.json()
    assert saved.json()["conditions"] == [{"field": "country", "op": "in", "value": ["US"]}]
    assert saved.json()["actions"][0] == {"type": "set_warehouse", "warehouse": "LA"}

    preview = admin_api.post(
        "/api/v1/allocation-rules/preview/",
        {
            **saved.json(),
            "actions": [{"type": "fastest_method", "methods": ["CHEAP", "DEAR"]}],
            "orders": [us.pk, gb.pk],
        },
        format="json",
    )
    assert preview.status_code == 200, preview.json()
    by_order = {row["channel_order_id"]: row for row in preview.json()}
    assert (by_order["R-1"]["matched"], by_order["R-1"]["method"]) == (True, "DEAR")
    assert by_order["R-1"]["trail"] == ["Fastest of CHEAP, DEAR: DEAR (3 days at most)."]
    assert (by_order["R-2"]["matched"], by_order["R-2"]["trail"]) == (False, [])

    cheapest = admin_api.post(
        "/api/v1/allocation-rules/preview/",
        {"actions": [{"type": "cheapest_method", "methods": ["CHEAP", "DEAR"]}], "orders": [us.pk]},
        format="json",
    )
    # 300 g: CHEAP 0.3 kg × 80 = 24 + 2.40 fuel + 18 = 44.40; DEAR 150 + 15 + 18 = 183.
    assert cheapest.json()[0]["trail"] == ["Cheapest of CHEAP, DEAR: CHEAP at 44.40 CNY."]
    assert AllocationRule.objects.count() == 1


@pytest.mark.django_db
def test_a_second_rule_of_the_same_name_is_refused_and_a_change_is_checked_too(admin_api):
    rule = {"name": "tag all", "actions": [{"type": "add_tag", "tag": "x"}]}
    first = admin_api.post("/api/v1/allocation-rules/", rule, format="json")
    assert first.status_code == 201
    second = admin_api.post("/api/v1/allocation-rules/", rule, format="json")
    assert second.status_code == 400 and second.json()["errors"][0]["field"] == "name"
    changed = admin_api.patch(
        f"/api/v1/allocation-rules/{first.json()['id']}/", {"actions": [{"type": "add_tag"}]}, format="json"
    )
    assert changed.status_code == 400 and changed.json()["errors"][0]["field"] == "actions[0].tag"
    assert AllocationRule.objects.get().actions == [{"type": "add_tag", "tag": "x"}]
