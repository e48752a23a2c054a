"""What people do to orders before picking, through the API, on real stock: allocate, hold, release, cancel,
split, merge (and its suggestions), undo, set the warehouse or method by hand; the filters that find them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import InventoryBalance, Reservation
from inventory.stock_services import stock_receive
from logistics.models import Carrier, RateBracket, RateCard, RateZone, ShippingMethod
from orders.allocation import rule_save
from orders.imports import orders_upsert
from orders.inbound import AddressIn
from orders.models import Order, OrderHold, Parcel
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory
from tests.orders.factories import T0, StoreFactory, line_in, order_in

pytestmark = pytest.mark.django_db

JANE = AddressIn(name="Jane Roe", address1="1 Main St", city="Springfield", state="IL", postcode="62701", country="US")
JOHN = AddressIn(name="John Doe", address1="9 Elm St", city="Springfield", state="IL", postcode="62704", country="US")


class World:
    """A warehouse with stock of one product, a store, and a shipping method that can take its parcels to the US."""

    def __init__(self, user):
        self.user = user
        self.warehouse = WarehouseFactory(code="SZ", country="CN", priority=10)
        self.bin = BinFactory(warehouse=self.warehouse)
        self.product = ProductFactory(sku="CASE-RED", weight_g=250)
        stock_receive(product=self.product, bin=self.bin, quantity=10, reference="PO-1", user=user)
        self.store = StoreFactory()
        carrier = Carrier.objects.create(code="YUNEXPRESS", name="YunExpress")
        self.method = ShippingMethod.objects.create(carrier=carrier, code="YT-STD", name="YunExpress standard")
        card = RateCard.objects.create(
            method=self.method, name="YT-STD 2026", currency="CNY", weight_step_g=10, registration_fee=Decimal("18")
        )
        zone = RateZone.objects.create(card=card, code="US", countries=["US"])
        RateBracket.objects.create(zone=zone, max_weight_g=5000, pricing="per_kg", price_per_kg=Decimal("80"))

    def order(self, number: str, quantity: int = 2, *, address: AddressIn = JANE, lines=None, **fields) -> Order:
        """A new order of ``quantity`` × CASE-RED (or ``lines``), mapped to the product, as the store sends it."""
        lines = lines or [self.line("L1", quantity)]
        orders_upsert(
            store_id=self.store.pk,
            orders=[order_in(number, lines=lines, address=address, **fields)],
            user=self.user,
        )
        return Order.objects.get(store=self.store, channel_order_id=number)

    def line(self, line_id: str, quantity: int):
        return line_in(line_id, "CASE-RED", quantity=quantity, product_id=self.product.pk, product_quantity=quantity)

    def reserved(self, warehouse=None) -> int:
        warehouse = warehouse or self.warehouse
        return InventoryBalance.objects.get(product=self.product, warehouse=warehouse).reserved


@pytest.fixture
def world(admin_api) -> World:
    return World(admin_api.user)


def post(api, order: Order | None, path: str, body: dict | None = None):
    url = f"/api/v1/orders/{order.pk}/{path}/" if order is not None else f"/api/v1/orders/{path}/"
    return api.post(url, body or {}, format="json")


def errors(response) -> list[tuple[str, str]]:
    return [(error.get("field"), error["code"]) for error in response.json()["errors"]]


def reservations(number: str) -> list[tuple[str, str, int]]:
    return list(
        Reservation.objects.filter(reference=number)
        .order_by("pk")
        .values_list("product__sku", "warehouse__code", "quantity_reserved")
    )


def test_allocate_reserves_the_stock_in_a_parcel_and_says_why(admin_api, world):
    order = world.order("A-1", quantity=2)

    response = post(admin_api, order, "allocate")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["warehouse"], body["shipping_method"]) == ("allocated", "SZ", "YT-STD")
    assert (body["warehouse_by_hand"], body["method_by_hand"], body["tags"]) == (None, None, [])
    [parcel] = body["parcels"]
    line_id = order.lines.get().pk
    assert parcel["number"] == Parcel.objects.get().number
    assert (parcel["warehouse"], parcel["shipping_method"], parcel["made_by"]) == ("SZ", "YT-STD", "allocation")
    assert parcel["reserved_at"] is not None
    assert parcel["lines"] == [{"order": order.pk, "line": line_id, "channel_line_id": "L1", "quantity": 2}]
    assert reservations(parcel["number"]) == [("CASE-RED", "SZ", 2)]
    assert world.reserved() == 2
    decision = body["decision"]
    assert (decision["warehouse"], decision["method"], decision["parcels"]) == ("SZ", "YT-STD", [parcel["number"]])
    assert decision["rules"] == []
    assert decision["routing"][-1] == "SZ can fill it all."
    # The same order as the list and the detail show it.
    assert admin_api.get(f"/api/v1/orders/{order.pk}/").json() == body

    again = post(admin_api, order, "allocate")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert again.json()["message"] == (
        "Order A-1 is allocated; only new orders and those awaiting stock can be allocated."
    )
    assert world.reserved() == 2


def test_an_order_without_stock_waits_and_says_what_is_short(admin_api, world):
    order = world.order("A-1", quantity=11)

    body = post(admin_api, order, "allocate").json()

    assert (body["status"], body["parcels"]) == ("awaiting_stock", [])
    assert (
        body["decision"]["routing"][-1] == "No warehouse can fill it (CASE-RED needs 11 (SZ 10)): it waits for stock."
    )
    # Awaiting stock is allocated again, when asked.
    assert post(admin_api, order, "allocate").json()["status"] == "awaiting_stock"
    assert world.reserved() == 0


def test_hold_gives_the_stock_back_and_release_allocates_again(admin_api, world):
    order = world.order("A-1", quantity=3)
    number = post(admin_api, order, "allocate").json()["parcels"][0]["number"]
    assert world.reserved() == 3

    empty = post(admin_api, order, "hold", {"reason": "  "})
    assert empty.status_code == 400
    assert errors(empty) == [("reason", "blank")]
    missing = post(admin_api, order, "hold")
    assert errors(missing) == [("reason", "required")]
    assert Order.objects.get(pk=order.pk).status == "allocated"

    held = post(admin_api, order, "hold", {"reason": "Buyer asked to change the address"})
    assert held.status_code == 200, held.json()
    body = held.json()
    assert (body["status"], body["is_held"], body["parcels"]) == ("on_hold", True, [])
    assert [(hold["code"], hold["detail"]) for hold in body["holds"]] == [
        ("manual", "Buyer asked to change the address")
    ]
    assert reservations(number) == [("CASE-RED", "SZ", 0)]
    assert world.reserved() == 0
    assert post(admin_api, order, "allocate").status_code == 409

    released = post(admin_api, order, "release", {"note": "Address confirmed"})
    assert released.status_code == 200, released.json()
    body = released.json()
    assert (body["status"], body["is_held"], body["holds"]) == ("allocated", False, [])
    [parcel] = body["parcels"]
    assert parcel["number"] != number
    assert reservations(parcel["number"]) == [("CASE-RED", "SZ", 3)]
    assert world.reserved() == 3
    assert OrderHold.objects.get().released_by == admin_api.user

    nothing = post(admin_api, order, "release")
    assert nothing.status_code == 409 and nothing.json()["code"] == "nothing_to_release"


def test_cancel_gives_the_reserved_stock_back(admin_api, world):
    order = world.order("A-1", quantity=2)
    number = post(admin_api, order, "allocate").json()["parcels"][0]["number"]

    response = post(admin_api, order, "cancel", {"reason": "Buyer cancelled by e-mail"})

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["parcels"]) == ("cancelled", [])
    assert reservations(number) == [("CASE-RED", "SZ", 0)]
    assert world.reserved() == 0
    event = Order.objects.get(pk=order.pk).events.order_by("pk").last()
    assert (event.to_status, event.note, event.user) == ("cancelled", "Buyer cancelled by e-mail", admin_api.user)
    # Again: nothing changes. A cancelled order cannot be held.
    assert post(admin_api, order, "cancel").json()["status"] == "cancelled"
    refused = post(admin_api, order, "hold", {"reason": "late"})
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"


def test_split_by_quantities_makes_two_parcels_each_reserved(admin_api, world):
    order = world.order("A-1", lines=[world.line("L1", 3), world.line("L2", 1)])
    first, second = order.lines.order_by("pk")
    post(admin_api, order, "allocate")

    response = post(admin_api, order, "split", {"parcels": [[{"line": first.pk, "quantity": 1}]]})

    assert response.status_code == 201, response.json()
    parcels = response.json()
    assert [(p["made_by"], p["warehouse"], p["shipping_method"]) for p in parcels] == [
        ("split", "SZ", "YT-STD"),
        ("split", "SZ", "YT-STD"),
    ]
    assert [[(row["line"], row["quantity"]) for row in p["lines"]] for p in parcels] == [
        [(first.pk, 1)],
        [(first.pk, 2), (second.pk, 1)],
    ]
    assert [reservations(p["number"]) for p in parcels] == [[("CASE-RED", "SZ", 1)], [("CASE-RED", "SZ", 3)]]
    assert world.reserved() == 4
    body = admin_api.get(f"/api/v1/orders/{order.pk}/").json()
    assert body["status"] == "allocated"
    assert [p["number"] for p in body["parcels"]] == [p["number"] for p in parcels]

    # Undone: one parcel again, allocated afresh.
    undone = post(admin_api, order, "undo-parcels")
    assert undone.status_code == 200, undone.json()
    [parcel] = undone.json()["parcels"]
    assert (parcel["made_by"], [(row["line"], row["quantity"]) for row in parcel["lines"]]) == (
        "allocation",
        [(first.pk, 3), (second.pk, 1)],
    )
    assert undone.json()["status"] == "allocated"
    assert world.reserved() == 4
    again = post(admin_api, order, "undo-parcels")
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_undo"


def test_a_split_names_the_bad_line_and_the_bad_quantity(admin_api, world):
    order = world.order("A-1", quantity=2)
    other = world.order("B-1", quantity=1, address=JOHN)
    line = order.lines.get()

    foreign = post(admin_api, order, "split", {"parcels": [[{"line": other.lines.get().pk, "quantity": 1}]]})
    assert foreign.status_code == 400
    assert errors(foreign) == [("parcels[0][0].line", "invalid")]
    too_many = post(
        admin_api, order, "split", {"parcels": [[{"line": line.pk, "quantity": 1}, {"line": line.pk, "quantity": 2}]]}
    )
    assert errors(too_many) == [("parcels[0][1].quantity", "invalid")]
    whole = post(admin_api, order, "split", {"parcels": [[{"line": line.pk, "quantity": 2}]]})
    assert errors(whole) == [("parcels", "min_length")]
    shape = post(admin_api, order, "split", {"parcels": [[{"line": "x", "quantity": 0}]]})
    assert sorted(errors(shape)) == [("parcels[0][0].line", "invalid"), ("parcels[0][0].quantity", "min_value")]
    assert not Parcel.objects.exists()
    assert Order.objects.get(pk=order.pk).status == "awaiting_shipment"


def test_merge_puts_two_orders_of_one_buyer_in_one_parcel(admin_api, world):
    first = world.order("A-1", quantity=2, buyer_email="jane@example.com")
    second = world.order("A-2", quantity=1, buyer_email="Jane@Example.com ", ordered_at=T0 + timedelta(hours=1))
    other = world.order("B-1", quantity=1, address=JOHN, buyer_email="john@example.com")
    post(admin_api, first, "allocate")
    assert world.reserved() == 2

    suggestions = admin_api.get("/api/v1/orders/merge-suggestions/")
    assert suggestions.status_code == 200
    assert suggestions.json() == [{"orders": [first.pk, second.pk], "channel_order_ids": ["A-1", "A-2"]}]

    different = post(admin_api, None, "merge", {"orders": [first.pk, other.pk]})
    assert different.status_code == 400
    assert errors(different) == [("orders", "invalid")]
    alone = post(admin_api, None, "merge", {"orders": [first.pk]})
    assert errors(alone) == [("orders", "min_length")]
    unknown = post(admin_api, None, "merge", {"orders": [first.pk, 2**40]})
    assert errors(unknown) == [("orders", "invalid")]

    response = post(admin_api, None, "merge", {"orders": [second.pk, first.pk]})

    assert response.status_code == 201, response.json()
    parcel = response.json()
    assert (parcel["made_by"], parcel["warehouse"], parcel["shipping_method"]) == ("merge", "SZ", "YT-STD")
    assert [(row["order"], row["channel_line_id"], row["quantity"]) for row in parcel["lines"]] == [
        (first.pk, "L1", 2),
        (second.pk, "L1", 1),
    ]
    assert reservations(parcel["number"]) == [("CASE-RED", "SZ", 3)]
    assert world.reserved() == 3  # the first order's own parcel was given back
    for order in (first, second):
        body = admin_api.get(f"/api/v1/orders/{order.pk}/").json()
        assert (body["status"], [p["number"] for p in body["parcels"]]) == ("allocated", [parcel["number"]])
    assert admin_api.get("/api/v1/orders/merge-suggestions/").json() == []

    # Undone from either order: one parcel per order again.
    undone = post(admin_api, second, "undo-parcels")
    assert undone.status_code == 200, undone.json()
    numbers = {}
    for order, quantity in ((first, 2), (second, 1)):
        body = admin_api.get(f"/api/v1/orders/{order.pk}/").json()
        [own] = body["parcels"]
        assert (body["status"], own["made_by"], [row["order"] for row in own["lines"]]) == (
            "allocated",
            "allocation",
            [order.pk],
        )
        assert reservations(own["number"]) == [("CASE-RED", "SZ", quantity)]
        numbers[order.pk] = own["number"]
    assert len(set(numbers.values())) == 2
    assert reservations(parcel["number"]) == [("CASE-RED", "SZ", 0)]
    assert world.reserved() == 3


def test_set_by_hand_names_an_unknown_code_and_allocates_from_the_chosen_warehouse(admin_api, world):
    hong_kong = WarehouseFactory(code="HK", country="HK", priority=50)
    stock_receive(product=world.product, bin=BinFactory(warehouse=hong_kong), quantity=5, user=world.user)
    order = world.order("A-1", quantity=2)
    post(admin_api, order, "allocate")
    assert (world.reserved(), world.reserved(hong_kong)) == (2, 0)

    unknown = post(admin_api, order, "set-by-hand", {"warehouse": "nope"})
    assert unknown.status_code == 400
    assert errors(unknown) == [("warehouse", "no_code")]
    assert unknown.json()["errors"][0]["message"] == "No warehouse has code NOPE."
    no_method = post(admin_api, order, "set-by-hand", {"shipping_method": "DHL-X"})
    assert errors(no_method) == [("shipping_method", "no_code")]
    assert no_method.json()["errors"][0]["message"] == "No shipping method has code DHL-X."
    neither = post(admin_api, order, "set-by-hand", {})
    assert errors(neither) == [("warehouse", "required")]

    response = post(admin_api, order, "set-by-hand", {"warehouse": "hk", "shipping_method": "yt-std"})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["warehouse"], body["warehouse_by_hand"], body["method_by_hand"]) == (
        "allocated",
        "HK",
        "HK",
        "YT-STD",
    )
    [parcel] = body["parcels"]
    assert reservations(parcel["number"]) == [("CASE-RED", "HK", 2)]
    assert (world.reserved(), world.reserved(hong_kong)) == (0, 2)
    assert body["decision"]["routing"][0] == "Warehouse HK, set by hand."


def test_allocate_all_runs_the_allocation_and_counts(admin_api, world):
    world.order("A-1", quantity=4)
    world.order("A-2", quantity=4, address=JOHN)
    waiting = world.order("A-3", quantity=4, address=JOHN, buyer_email="x@example.com")
    held = world.order("A-4", quantity=1)
    post(admin_api, held, "hold", {"reason": "Check the address"})

    response = post(admin_api, None, "allocate", {"orders": [waiting.pk]})
    assert response.status_code == 200, response.json()
    assert response.json() == {"allocated": 1, "awaiting_stock": 0, "held": 0, "skipped": 0, "parcels": 1}

    response = post(admin_api, None, "allocate")
    # A-1 first (oldest of those left), then A-2 finds 2 left of the 10.
    assert response.json() == {"allocated": 1, "awaiting_stock": 1, "held": 0, "skipped": 0, "parcels": 1}
    statuses = dict(Order.objects.values_list("channel_order_id", "status"))
    assert statuses == {"A-1": "allocated", "A-2": "awaiting_stock", "A-3": "allocated", "A-4": "on_hold"}
    assert world.reserved() == 8

    bad = post(admin_api, None, "allocate", {"orders": [0]})
    assert errors(bad) == [("orders[0]", "min_value")]


def test_filters_by_warehouse_method_tag_hold_parcel_merged_and_ship_by(admin_api, world):
    rule_save(
        data={
            "name": "VIP buyers",
            "priority": 10,
            "match": "all",
            "conditions": [{"field": "buyer", "op": "in", "value": ["vip@example.com"]}],
            "actions": [{"type": "add_tag", "tag": "vip"}],
        }
    )
    vip = world.order("A-1", quantity=1, buyer_email="vip@example.com", ship_by=T0 + timedelta(days=1))
    plain = world.order("A-2", quantity=1, address=JOHN, ship_by=T0 + timedelta(days=3))
    held = world.order("A-3", quantity=1, address=JOHN, buyer_email="held@example.com")
    for order in (vip, plain):
        post(admin_api, order, "allocate")
    post(admin_api, held, "hold", {"reason": "Fraud check"})
    parcel = Parcel.objects.filter(lines__order=plain).get().number

    def ids(**query) -> list[str]:
        response = admin_api.get("/api/v1/orders/", query)
        assert response.status_code == 200, response.json()
        return sorted(order["channel_order_id"] for order in response.json()["results"])

    assert admin_api.get(f"/api/v1/orders/{vip.pk}/").json()["tags"] == ["vip"]
    assert ids(warehouse="sz") == ["A-1", "A-2"]
    assert ids(warehouse="HK") == []
    assert ids(shipping_method="YT-STD") == ["A-1", "A-2"]
    assert ids(tag="vip") == ["A-1"]
    assert ids(tag="nobody") == []
    assert ids(hold_code="manual") == ["A-3"]
    assert ids(hold_code="rule") == []
    assert ids(parcel=parcel.lower()) == ["A-2"]
    assert ids(merged="false") == ["A-1", "A-2", "A-3"]
    assert ids(merged="true") == []
    assert ids(ship_by_before=(T0 + timedelta(days=2)).isoformat()) == ["A-1"]
    assert ids(status="allocated") == ["A-1", "A-2"]
    bad = admin_api.get("/api/v1/orders/", {"hold_code": "whatever"})
    assert bad.status_code == 400 and errors(bad)[0][0] == "hold_code"


def test_merged_orders_are_found_by_the_merged_and_parcel_filters(admin_api, world):
    first = world.order("A-1", quantity=1)
    second = world.order("A-2", quantity=1, ordered_at=T0 + timedelta(hours=1))
    world.order("B-1", quantity=1, address=JOHN)
    number = post(admin_api, None, "merge", {"orders": [first.pk, second.pk]}).json()["number"]

    def ids(**query) -> list[str]:
        return sorted(order["channel_order_id"] for order in admin_api.get("/api/v1/orders/", query).json()["results"])

    assert ids(merged="true") == ["A-1", "A-2"]
    assert ids(merged="false") == ["B-1"]
    assert ids(parcel=number) == ["A-1", "A-2"]


def test_the_list_reads_a_fixed_number_of_queries_however_many_parcels(admin_api, world):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = admin_api.get("/api/v1/orders/")
        assert response.status_code == 200
        return len(queries)

    order = world.order("A-1", quantity=1)
    post(admin_api, order, "allocate")
    one = count()
    first = world.order("B-1", quantity=1, address=JOHN)
    second = world.order("B-2", quantity=1, address=JOHN, ordered_at=T0 + timedelta(hours=1))
    post(admin_api, None, "merge", {"orders": [first.pk, second.pk]})
    split = world.order("C-1", lines=[world.line("L1", 2)], address=AddressIn(name="Ann Lee", country="US"))
    post(admin_api, split, "split", {"parcels": [[{"line": split.lines.get().pk, "quantity": 1}]]})
    assert Parcel.objects.count() == 4

    assert count() == one


def test_each_action_needs_its_permission(api_client_for, world):
    order = world.order("A-1", quantity=1)
    partner = api_client_for("API partner")  # may add orders, not change them
    assert post(partner, order, "allocate").status_code == 403
    assert post(partner, order, "hold", {"reason": "x"}).status_code == 403
    assert post(partner, None, "allocate").status_code == 403
    assert post(partner, None, "merge", {"orders": [order.pk, order.pk]}).status_code == 403
    assert partner.get("/api/v1/orders/merge-suggestions/").status_code == 200
    service = api_client_for("Customer service")
    assert post(service, order, "allocate").json()["status"] == "allocated"
    assert Order.objects.get(pk=order.pk).status == "allocated"
