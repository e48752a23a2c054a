"""The Shopify adapter against the Shopify simulator over real HTTP: every query it sends is validated against
Shopify's 2026-04 schema by the simulator, so these tests also prove the queries are ones Shopify accepts."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest
from graphql import parse, validate

from channels.adapters.base import (
    AccessToken,
    AuthFailed,
    BadResponse,
    ChannelError,
    MemoryTokens,
    OrderProblem,
    RateLimited,
    Rejected,
    ShipmentLineOut,
    ShipmentOut,
    StockOut,
    StoreConnection,
    Transient,
)
from channels.adapters.http import ChannelHttp
from channels.adapters.shopify import (
    ORDERS_QUERY,
    QUERIES,
    STOCK_SET_MUTATION,
    ShopifyAdapter,
    order_status,
)
from channels.simulators.base import SimulatorServer
from channels.simulators.shopify import (
    INVALID_TOKEN,
    MAX_QUERY_COST,
    ShopifySimulator,
    admin_schema,
    gid,
    requested_cost,
    schema_fields_set_aside,
)
from orders.inbound import AddressIn, LineIn, OrderIn
from tests.channels.timeouts import IMPATIENT, PATIENT, SLOW

API = "/admin/api/2026-04/graphql.json"
TOKEN_PATH = "/admin/oauth/access_token"
NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 4, 1, tzinfo=UTC)
UNTIL = datetime(2026, 4, 30, tzinfo=UTC)
APP = {"client_id": "sim-client-id", "client_secret": "sim-client-secret"}


class Served:
    """One server for the module (stopping one takes half a second), answering with the simulator of the test."""

    def __init__(self) -> None:
        self.sim: ShopifySimulator | None = None
        self.url = ""

    def __call__(self, environ, start_response):
        return self.sim(environ, start_response)

    def serve(self, sim: ShopifySimulator) -> ShopifySimulator:
        self.sim = sim
        return sim


@pytest.fixture(scope="module")
def server():
    admin_schema()  # a second or so, once
    served = Served()
    with SimulatorServer(served) as running:
        served.url = running.url
        yield served


@pytest.fixture
def sim(server) -> ShopifySimulator:
    simulator = ShopifySimulator()
    simulator.now = NOW
    return server.serve(simulator)


class Store:
    """An adapter on the simulator, with the sleeps it asked for collected instead of slept."""

    def __init__(self, server, *, credentials=None, options=None, max_attempts=3, timeout=PATIENT, token=None):
        self.waits: list[float] = []
        self.http = ChannelHttp(backoff_base=0.001, timeout=timeout, max_attempts=max_attempts, sleep=self.waits.append)
        self.tokens = MemoryTokens(credentials or {"access_token": "shpat_simulated_token"}, token=token)
        self.adapter = ShopifyAdapter(
            StoreConnection(
                channel="shopify",
                api_base_url=f"{server.url}/admin/api/2026-04",
                credentials=self.tokens.credentials,
                tokens=self.tokens,
                options=dict(options or {}),
            ),
            self.http,
        )

    def orders(self, since=SINCE, until=UNTIL) -> list:
        return list(self.adapter.orders_changed(since=since, until=until))


@pytest.fixture
def store(server, sim) -> Store:
    return Store(server, options={"location_id": sim.default_location})


@pytest.fixture
def impatient(server, sim) -> Store:
    """A store whose calls give up after 0.3 s, for the simulator's slow answers (0.6 s and more)."""
    return Store(server, options={"location_id": sim.default_location}, timeout=IMPATIENT)


def add(sim, *lines, **kwargs) -> str:
    """An order with lines given as (sku, quantity, price)."""
    return sim.order_add(
        lines=[
            {"sku": sku, "quantity": quantity, "price": price, "title": f"Item {sku}"} for sku, quantity, price in lines
        ],
        **kwargs,
    )


def graphql_requests(sim, operation: str | None = None) -> list[dict]:
    bodies = [request.json() for request in sim.requests_to(API)]
    return [body for body in bodies if operation is None or body.get("operationName") == operation]


def operations(sim) -> list[str]:
    return [body["operationName"] for body in graphql_requests(sim)]


def shipment(order_gid, sim, lines, tracking="YT2604100001", carrier="yunexpress") -> ShipmentOut:
    """A parcel for ``lines`` given as {line index: quantity}."""
    order = sim.order(order_gid)
    return ShipmentOut(
        channel_order_id=order_gid,
        reference="1",
        carrier=carrier,
        service="",
        tracking_number=tracking,
        shipped_at=NOW,
        lines=tuple(ShipmentLineOut(gid("LineItem", order.lines[i].id), qty) for i, qty in lines.items()),
    )


# --- The schema and the queries -------------------------------------------------------------------------------------


def test_schema_loads_with_only_the_four_fields_graphql_core_refuses_set_aside():
    assert schema_fields_set_aside() == (
        "Customer.hasTimelineComment",
        "DiscountAutomaticBxgy.id",
        "MediaImage.metafield",
        "MediaImage.metafields",
    )
    assert admin_schema().get_type("Order").fields["cancelledAt"] is not None


def test_every_query_of_the_adapter_is_valid_for_2026_04_and_under_the_cost_ceiling():
    for name, query in QUERIES.items():
        assert [error.message for error in validate(admin_schema(), parse(query))] == [], name
        assert requested_cost(query, {"first": 25}, name) <= MAX_QUERY_COST, name
    assert requested_cost(ORDERS_QUERY, {"first": 25}, "SeabridgeOrders") == 877


def test_the_simulator_refuses_an_invalid_query_the_way_shopify_does(sim, server):
    response = httpx.post(
        server.url + API,
        json={"query": "{ orders(first: 1) { nodes { idx } } }"},
        headers={"X-Shopify-Access-Token": "shpat_simulated_token"},
    )
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"] == "Cannot query field 'idx' on type 'Order'. Did you mean 'id'?"
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 30}]


# --- Orders ---------------------------------------------------------------------------------------------------------


def test_orders_are_read_page_by_page_with_the_exact_request(sim, store):
    sim.page_size = 2
    made = [add(sim, (f"SKU-{n}", 1, "9.99")) for n in range(5)]

    orders = store.orders()

    assert [order.channel_order_id for order in orders] == made
    sent = sim.requests_to(API)
    assert len(sent) == 3
    first = sent[0]
    assert first.method == "POST"
    assert first.headers["x-shopify-access-token"] == "shpat_simulated_token"
    assert "authorization" not in first.headers
    assert first.headers["content-type"] == "application/json"
    body = first.json()
    assert body["operationName"] == "SeabridgeOrders"
    assert body["query"] == ORDERS_QUERY
    assert "sortKey: UPDATED_AT" in body["query"]
    assert body["variables"] == {
        "first": 25,
        "after": None,
        "query": "updated_at:>='2026-04-01T00:00:00Z' updated_at:<='2026-04-30T00:00:00Z'",
    }
    cursors = [request.json()["variables"]["after"] for request in sent[1:]]
    assert all(cursors) and cursors[0] != cursors[1]


def test_the_window_is_rounded_outward_to_whole_seconds(sim, store):
    # Shopify shows whole seconds: a change at 12:00:01.9 reads 12:00:01, so since is rounded down, until up.
    inside = add(sim, ("A", 1, "1.00"))  # updated at 12:00:01

    orders = store.orders(since=NOW + timedelta(seconds=1.7), until=NOW + timedelta(seconds=2.2))

    assert graphql_requests(sim)[0]["variables"]["query"] == (
        "updated_at:>='2026-04-10T12:00:01Z' updated_at:<='2026-04-10T12:00:03Z'"
    )
    assert [order.channel_order_id for order in orders] == [inside]


def test_an_order_is_read_into_seabridge_shape(sim, store):
    address = {
        "name": "Lukas Müller",
        "company": "Studio Nord",
        "address1": "Hauptstraße 5",
        "address2": "Hinterhaus",
        "city": "München",
        "province": "Bayern",
        "provinceCode": "BY",
        "zip": "80331",
        "countryCodeV2": "DE",
        "phone": "+49891234567",
    }
    order_gid = sim.order_add(
        lines=[
            {"sku": "MUG-RED", "quantity": 2, "price": "12.50", "title": "Red mug"},
            {"sku": None, "quantity": 1, "price": "3.05", "title": "Gift wrap", "variant_id": None},
        ],
        address=address,
        email="lukas@example.com",
        note="Bitte klingeln",
        shipping_title="Express Shipping",
        shipping_price="9.90",
        tax="4.75",
        discount="2.00",
        currency="EUR",
    )
    sim_order = sim.order(order_gid)

    [order] = store.orders()

    assert isinstance(order, OrderIn)
    assert order.channel_order_id == order_gid
    assert order.status == "awaiting_shipment"
    assert order.channel_status == "PAID/UNFULFILLED"
    assert order.ordered_at == order.channel_updated_at == NOW + timedelta(seconds=1)
    assert order.ordered_at.tzinfo is not None
    assert order.address == AddressIn(
        name="Lukas Müller",
        company="Studio Nord",
        address1="Hauptstraße 5",
        address2="Hinterhaus",
        city="München",
        state="BY",
        postcode="80331",
        country="DE",
        phone="+49891234567",
    )
    assert (order.buyer_name, order.buyer_email, order.buyer_note) == (
        "Lukas Müller",
        "lukas@example.com",
        "Bitte klingeln",
    )
    assert order.currency == "EUR"
    assert (order.subtotal, order.shipping_total, order.tax_total, order.discount_total, order.total) == (
        Decimal("28.05"),
        Decimal("9.90"),
        Decimal("4.75"),
        Decimal("2.00"),
        Decimal("40.70"),
    )
    assert order.requested_service == "Express Shipping"
    assert order.lines == [
        LineIn(
            channel_line_id=gid("LineItem", sim_order.lines[0].id),
            channel_sku="MUG-RED",
            quantity=2,
            unit_price=Decimal("12.50"),
            title="Red mug",
            channel_item_id=gid("ProductVariant", sim_order.lines[0].variant_id),
        ),
        LineIn(
            channel_line_id=gid("LineItem", sim_order.lines[1].id),
            channel_sku="",
            quantity=1,
            unit_price=Decimal("3.05"),
            title="Gift wrap",
            channel_item_id="",
        ),
    ]
    assert order.raw["name"] == "#1001"
    assert order.raw["currentTotalPriceSet"]["shopMoney"] == {"amount": "40.70", "currencyCode": "EUR"}


def test_statuses_follow_payment_fulfilment_and_cancellation_and_no_status_is_filtered_out(sim, store, server):
    paid = add(sim, ("A", 1, "5.00"))
    pending = add(sim, ("A", 1, "5.00"), financial_status="PENDING")
    authorized = add(sim, ("A", 1, "5.00"), financial_status="AUTHORIZED")
    cancelled = add(sim, ("A", 1, "5.00"))
    sim.order_cancel(cancelled)
    shipped_closed = add(sim, ("A", 1, "5.00"))
    sim.order_fulfil(shipped_closed, tracking_number="1Z999")
    sim.order_close(shipped_closed)
    partly = add(sim, ("A", 1, "5.00"), ("B", 1, "5.00"))
    sim.order_fulfil(partly, tracking_number="1Z998", lines={0: 1})
    refunded = add(sim, ("A", 2, "5.00"))
    sim.order_line_quantity(refunded, 0, 0)
    sim.order_update(refunded, financial_status="REFUNDED")

    by_id = {order.channel_order_id: order for order in store.orders()}

    assert {key: (by_id[key].status, by_id[key].channel_status) for key in by_id} == {
        paid: ("awaiting_shipment", "PAID/UNFULFILLED"),
        pending: ("pending", "PENDING/UNFULFILLED"),
        authorized: ("awaiting_shipment", "AUTHORIZED/UNFULFILLED"),
        cancelled: ("cancelled", "CANCELLED/REFUNDED/UNFULFILLED"),
        shipped_closed: ("shipped", "PAID/FULFILLED"),
        partly: ("partially_shipped", "PAID/PARTIALLY_FULFILLED"),
        refunded: ("cancelled", "REFUNDED/UNFULFILLED"),
    }
    assert by_id[refunded].lines == []
    assert by_id[refunded].raw["lineItems"]["nodes"][0]["currentQuantity"] == 0
    assert "status:" not in graphql_requests(sim)[0]["variables"]["query"]
    # The simulator does honour a status term, so leaving it out is what brings cancelled and closed orders.
    only_open = httpx.post(
        server.url + API,
        json={"query": '{ orders(first: 50, query: "status:open") { nodes { id } } }'},
        headers={"X-Shopify-Access-Token": "shpat_simulated_token"},
    ).json()["data"]["orders"]["nodes"]
    assert {node["id"] for node in only_open} == {paid, pending, authorized, partly, refunded}


@pytest.mark.parametrize(
    ("cancelled", "financial", "fulfilment", "anything_to_ship", "expected"),
    [
        (True, "PAID", "FULFILLED", True, "cancelled"),
        (False, "REFUNDED", "FULFILLED", True, "shipped"),
        (False, "REFUNDED", "PARTIALLY_FULFILLED", True, "shipped"),
        (False, "VOIDED", "UNFULFILLED", True, "cancelled"),
        (False, "PAID", "RESTOCKED", True, "cancelled"),
        (False, "PARTIALLY_PAID", "UNFULFILLED", True, "pending"),
        (False, "EXPIRED", "UNFULFILLED", True, "pending"),
        (False, "PAID", "SCHEDULED", True, "pending"),
        (False, "PARTIALLY_REFUNDED", "ON_HOLD", True, "awaiting_shipment"),
        (False, None, "UNFULFILLED", True, "awaiting_shipment"),
        (False, "PAID", "UNFULFILLED", False, "cancelled"),
    ],
)
def test_status_mapping_edges(cancelled, financial, fulfilment, anything_to_ship, expected):
    assert (
        order_status(cancelled=cancelled, financial=financial, fulfilment=fulfilment, anything_to_ship=anything_to_ship)
        == expected
    )


def test_an_order_with_more_lines_than_a_page_is_read_whole(sim, store):
    order_gid = add(sim, *[(f"SKU-{n:02}", 1, "1.00") for n in range(12)])

    [order] = store.orders()

    assert [line.channel_sku for line in order.lines] == [f"SKU-{n:02}" for n in range(12)]
    assert len(order.raw["lineItems"]["nodes"]) == 12
    assert operations(sim) == ["SeabridgeOrders", "SeabridgeOrderLines"]
    assert graphql_requests(sim, "SeabridgeOrderLines")[0]["variables"]["id"] == order_gid


def test_an_order_changing_between_its_line_pages_is_read_again_whole(sim, store):
    order_gid = add(sim, *[(f"SKU-{n}", 1, "1.00") for n in range(7)])
    sim.on_operation("SeabridgeOrderLines", lambda s: s.order_update(order_gid, note="address corrected"))

    [order] = store.orders()

    assert order.buyer_note == "address corrected"
    assert len(order.lines) == 7
    assert operations(sim) == ["SeabridgeOrders", "SeabridgeOrderLines", "SeabridgeOrder", "SeabridgeOrderLines"]


def test_an_order_changed_during_the_scan_is_read_again_and_none_is_missed(sim, store):
    sim.page_size = 2
    a, b, c, d, e = (add(sim, (sku, 1, "2.00")) for sku in "ABCDE")

    scan = store.adapter.orders_changed(since=SINCE, until=UNTIL)
    first_page = [next(scan), next(scan)]
    sim.order_update(a, note="changed after it was read")
    sim.order_update(c, note="changed before it was read")
    rest = list(scan)

    seen = [order.channel_order_id for order in first_page + rest]
    assert seen == [a, b, d, e, a, c]
    latest = {}
    for order in first_page + rest:  # what the sync engine keeps: the latest version of each
        if (
            order.channel_order_id not in latest
            or order.channel_updated_at > latest[order.channel_order_id].channel_updated_at
        ):
            latest[order.channel_order_id] = order
    assert latest[a].buyer_note == "changed after it was read"
    assert latest[c].buyer_note == "changed before it was read"


def test_the_same_order_on_two_pages_is_passed_on_and_paging_ends(sim, store):
    sim.page_size = 2
    sim.repeat_page_boundary = True
    made = [add(sim, (sku, 1, "2.00")) for sku in "ABCDE"]

    seen = [order.channel_order_id for order in store.orders()]

    assert seen == [made[0], made[1], made[1], made[2], made[2], made[3], made[3], made[4]]
    assert len(sim.requests_to(API)) == 4


def test_pages_that_do_not_move_on_raise_instead_of_looping(sim, store):
    sim.page_size = 1
    sim.repeat_page_boundary = True
    add(sim, ("A", 1, "2.00"))
    add(sim, ("B", 1, "2.00"))

    with pytest.raises(BadResponse, match="do not move on"):
        store.orders()
    assert len(sim.requests_to(API)) == 2  # the second page came back with the first page's cursor


def test_odd_data_becomes_a_problem_naming_the_field_and_the_rest_goes_on(sim, store):
    good = add(sim, ("A", 1, "2.00"))
    bad_time = add(sim, ("B", 1, "2.00"))
    bad_price = add(sim, ("C", 1, "2.00"))
    sim.order_tamper(bad_time, createdAt="yesterday")
    sim.order_tamper(
        gid("LineItem", sim.order(bad_price).lines[0].id),
        originalUnitPriceSet={"shopMoney": {"amount": "2,00", "currencyCode": "USD"}},
    )

    orders = store.orders()

    assert isinstance(orders[0], OrderIn) and orders[0].channel_order_id == good
    assert orders[1] == OrderProblem(
        channel_order_id=bad_time, field="createdAt", message="Not a time with a zone: 'yesterday'.", raw=orders[1].raw
    )
    assert orders[1].raw["createdAt"] == "yesterday"
    assert isinstance(orders[2], OrderProblem)
    assert (orders[2].channel_order_id, orders[2].field) == (
        bad_price,
        "lineItems[0].originalUnitPriceSet.shopMoney.amount",
    )


def test_order_get_reads_one_order_by_gid_or_number_and_refuses_an_unknown_one(sim, store):
    order_gid = add(sim, ("A", 3, "2.00"))

    assert store.adapter.order_get(order_gid).lines[0].quantity == 3
    assert store.adapter.order_get(order_gid.rsplit("/", 1)[1]).channel_order_id == order_gid
    with pytest.raises(Rejected, match="no order gid://shopify/Order/1"):
        store.adapter.order_get("gid://shopify/Order/1")


# --- Throttling, failures, time-outs --------------------------------------------------------------------------------


def test_a_throttled_query_waits_what_its_cost_asks_and_goes_on(sim, store):
    add(sim, ("A", 1, "2.00"))
    sim.throttle_next(2, available=277.0)

    orders = store.orders()

    assert len(orders) == 1
    assert store.waits == [6.0, 6.0]  # (877 requested − 277 available) / 100 a second
    assert len(sim.requests_to(API)) == 3


def test_a_drained_bucket_refills_in_exactly_the_wait_the_adapter_takes(server):
    clock = [0.0]
    sim = server.serve(ShopifySimulator(bucket_size=900.0, restore_rate=100.0, clock=lambda: clock[0]))
    sim.now = NOW
    store = Store(server)
    store.http.sleep = lambda seconds: (store.waits.append(seconds), clock.__setitem__(0, clock[0] + seconds))
    for n in range(30):
        add(sim, (f"SKU-{n}", 1, "2.00"))

    orders = store.orders()

    assert len(orders) == 30
    # Page 1 asks 877 points and costs 477 (25 orders of one line): 423 are left, so page 2 is throttled once and
    # waits (877 − 423) / 100 seconds, after which the bucket holds just enough.
    assert store.waits == [pytest.approx(4.54)]
    assert len(sim.requests_to(API)) == 3


def test_throttling_that_never_ends_is_rate_limited(sim, store):
    sim.throttle_next(10)

    with pytest.raises(RateLimited) as raised:
        store.orders()
    assert raised.value.retry_after == pytest.approx(8.77)
    assert len(sim.requests_to(API)) == 3


def test_a_429_with_retry_after_is_honoured(sim, store):
    add(sim, ("A", 1, "2.00"))
    sim.fault(
        API,
        status=429,
        headers={"Retry-After": "2.0"},
        body={"errors": "Exceeded 2 calls per second for api client. Reduce request rates."},
    )

    assert len(store.orders()) == 1
    assert store.waits == [2.0]


def test_a_server_error_in_the_middle_of_paging_stops_the_scan(sim, store):
    sim.page_size = 2
    for sku in "ABCDE":
        add(sim, (sku, 1, "2.00"))
    sim.fault(API, status=500, after=1, times=10)

    seen = []
    with pytest.raises(Transient) as raised:
        for order in store.adapter.orders_changed(since=SINCE, until=UNTIL):
            seen.append(order)
    assert len(seen) == 2
    assert raised.value.status == 500


def test_a_query_that_times_out_is_asked_again(sim, impatient):
    add(sim, ("A", 1, "2.00"))
    sim.fault(API, delay=SLOW, times=1)

    assert len(impatient.orders()) == 1
    assert len(sim.requests_to(API)) == 2


def test_shopify_failing_inside_is_transient(sim, store):
    sim.fault(
        API,
        status=200,
        body={
            "errors": [
                {
                    "message": "Internal error. Looks like something went wrong on our end.",
                    "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                }
            ]
        },
    )

    with pytest.raises(Transient, match="Looks like something went wrong"):
        store.orders()


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (
            403,
            {"errors": "[API] This action requires merchant approval for read_orders scope."},
            AuthFailed,
            "approval",
        ),
        (402, {"errors": "Unavailable Shop"}, Rejected, "frozen or locked"),
        (404, {"errors": "Not Found"}, Rejected, "Not Found"),
        (
            200,
            {"errors": [{"message": "Query cost is 1200", "extensions": {"code": "MAX_COST_EXCEEDED"}}]},
            Rejected,
            "1200",
        ),
        (200, "not json", BadResponse, "not a JSON object"),
    ],
)
def test_shopifys_refusals_map_to_the_errors_people_act_on(sim, store, status, body, error, words):
    sim.fault(API, status=status, body=body)

    with pytest.raises(error, match=words):
        store.orders()
    assert len(sim.requests_to(API)) == 1


# --- Tokens ---------------------------------------------------------------------------------------------------------


def test_an_expired_token_is_refreshed_once_by_the_client_credentials_grant(sim, server):
    store = Store(server, credentials=dict(APP))
    add(sim, ("A", 1, "2.00"))
    assert len(store.orders()) == 1
    first_token = sim.requests_to(API)[0].headers["x-shopify-access-token"]

    sim.expire_tokens()
    assert len(store.orders()) == 1

    assert sim.token_grants == 2 and store.tokens.refreshes == 2
    grants = sim.requests_to(TOKEN_PATH)
    assert [request.method for request in grants] == ["POST", "POST"]
    assert grants[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(grants[0].body.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": ["sim-client-id"],
        "client_secret": ["sim-client-secret"],
    }
    used = [request.headers["x-shopify-access-token"] for request in sim.requests_to(API)]
    assert used == [first_token, first_token, store.tokens.token.value]
    assert used[2] != first_token
    assert store.tokens.token.expires_at > datetime.now(UTC) + timedelta(hours=23)


def test_a_token_about_to_expire_is_renewed_before_it_is_used(sim, server):
    old = AccessToken("shpat_old", expires_at=datetime.now(UTC) + timedelta(minutes=1))
    store = Store(server, credentials=dict(APP), token=old)

    store.orders()

    assert sim.token_grants == 1
    assert [r.headers["x-shopify-access-token"] for r in sim.requests_to(API)] == [store.tokens.token.value]


def test_refused_client_credentials_are_auth_failed_and_the_secret_is_not_told(sim, server):
    store = Store(server, credentials={"client_id": "sim-client-id", "client_secret": "wrong-secret-123"})

    with pytest.raises(AuthFailed) as raised:
        store.orders()
    assert "invalid_client" in raised.value.message
    assert "wrong-secret-123" not in raised.value.message
    assert sim.requests_to(API) == []


def test_a_refused_custom_app_token_is_auth_failed_without_a_refresh_loop(sim, server):
    store = Store(server, credentials={"access_token": "shpat_revoked"})

    with pytest.raises(AuthFailed, match="connect the store again"):
        store.orders()
    assert len(sim.requests_to(API)) == 1
    assert sim.requests_to(TOKEN_PATH) == []


def test_a_token_refused_again_after_its_refresh_is_auth_failed(sim, server):
    store = Store(server, credentials=dict(APP))
    sim.fault(API, status=401, body={"errors": INVALID_TOKEN}, times=2)

    with pytest.raises(AuthFailed, match="fresh access token"):
        store.orders()
    assert sim.token_grants == 2
    assert len(sim.requests_to(API)) == 2


def test_access_denied_for_a_scope_is_auth_failed_with_shopifys_message(sim, store):
    message = "Access denied for orders field. Required access: `read_orders` access scope."
    sim.fault(API, status=200, body={"errors": [{"message": message, "extensions": {"code": "ACCESS_DENIED"}}]})

    with pytest.raises(AuthFailed, match="read_orders"):
        store.orders()


# --- Shipments ------------------------------------------------------------------------------------------------------


def test_a_shipment_is_confirmed_with_the_exact_fulfilment(sim, store):
    order_gid = add(sim, ("MUG", 2, "12.50"), ("CUP", 1, "3.00"))
    fulfillment_order = sim.order(order_gid).fulfillment_orders[0]

    result = store.adapter.shipment_confirm(shipment(order_gid, sim, {0: 2, 1: 1}))

    [created] = sim.fulfillments_created
    assert result.reference == gid("Fulfillment", created.id) and not result.already_confirmed
    [request] = graphql_requests(sim, "SeabridgeFulfilmentCreate")
    assert request["variables"] == {
        "fulfillment": {
            "lineItemsByFulfillmentOrder": [
                {
                    "fulfillmentOrderId": gid("FulfillmentOrder", fulfillment_order.id),
                    "fulfillmentOrderLineItems": [
                        {"id": gid("FulfillmentOrderLineItem", fulfillment_order.lines[0].id), "quantity": 2},
                        {"id": gid("FulfillmentOrderLineItem", fulfillment_order.lines[1].id), "quantity": 1},
                    ],
                }
            ],
            "notifyCustomer": True,
            "trackingInfo": {"number": "YT2604100001", "company": "YunExpress"},
        }
    }
    assert (created.tracking_company, created.tracking_number, created.notify_customer) == (
        "YunExpress",
        "YT2604100001",
        True,
    )
    assert operations(sim) == ["SeabridgeFulfilmentContext", "SeabridgeFulfilmentCreate"]
    assert store.adapter.order_get(order_gid).status == "shipped"


def test_a_repeated_confirmation_is_recognised_and_not_sent_again(sim, store):
    order_gid = add(sim, ("MUG", 1, "12.50"))
    first = store.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1}, tracking="YT2604100001"))

    again = store.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1}, tracking="yt 2604100001"))

    assert again.already_confirmed and again.reference == first.reference
    assert len(graphql_requests(sim, "SeabridgeFulfilmentCreate")) == 1
    assert len(sim.fulfillments_created) == 1


def test_two_parcels_of_one_order_are_two_fulfilments(sim, store):
    order_gid = add(sim, ("MUG", 2, "12.50"), ("CUP", 1, "3.00"))

    store.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1}, tracking="PARCEL-1"))
    assert store.adapter.order_get(order_gid).status == "partially_shipped"
    store.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1, 1: 1}, tracking="PARCEL-2"))

    lines = sim.order(order_gid).lines
    assert [(f.tracking_number, f.lines) for f in sim.fulfillments_created] == [
        ("PARCEL-1", [(lines[0].id, 1)]),
        ("PARCEL-2", [(lines[0].id, 1), (lines[1].id, 1)]),
    ]
    assert store.adapter.order_get(order_gid).status == "shipped"
    assert store.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1}, tracking="PARCEL-1")).already_confirmed


def test_lines_fulfilled_elsewhere_are_refused_without_sending(sim, store):
    order_gid = add(sim, ("MUG", 1, "12.50"))
    sim.order_fulfil(order_gid, tracking_number="MERCHANT-7")

    with pytest.raises(Rejected, match="nothing left to fulfil"):
        store.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1}))
    assert graphql_requests(sim, "SeabridgeFulfilmentCreate") == []


def test_shopify_user_errors_are_rejected_with_its_message(sim, store):
    order_gid = add(sim, ("MUG", 1, "12.50"))
    # The merchant fulfils it in Shopify's admin between the adapter's read and its fulfilment.
    sim.on_operation("SeabridgeFulfilmentCreate", lambda s: s.order_fulfil(order_gid, tracking_number="MERCHANT-8"))

    with pytest.raises(Rejected, match="has an unfulfillable status= closed"):
        store.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1}))
    assert sim.fulfillments_created == []


def test_a_cancelled_order_is_not_fulfilled(sim, store):
    order_gid = add(sim, ("MUG", 1, "12.50"))
    sim.order_cancel(order_gid)

    with pytest.raises(Rejected, match="cancelled in Shopify"):
        store.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1}))
    assert graphql_requests(sim, "SeabridgeFulfilmentCreate") == []


def test_one_parcel_for_lines_at_two_shopify_locations_is_refused(sim, store):
    order_gid = add(sim, ("MUG", 1, "12.50"), ("CUP", 1, "3.00"))
    sim.fulfillment_order_move(order_gid, 1, sim.location_add("Los Angeles 3PL"))

    with pytest.raises(Rejected, match="several Shopify locations"):
        store.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1, 1: 1}))
    assert store.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1})).reference


def test_a_confirmation_that_times_out_is_looked_up_not_sent_again(sim, impatient):
    order_gid = add(sim, ("MUG", 1, "12.50"))
    # The fulfilment is made only after the client gave up (and looked for it in vain).
    sim.fault(API, delay=SLOW, passthrough=True, after=1, times=1)

    with pytest.raises(Transient):
        impatient.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1}))
    deadline = time.monotonic() + SLOW + 3
    while not sim.fulfillments_created and time.monotonic() < deadline:
        time.sleep(0.02)  # polling what the simulator shows, until Shopify has made it

    again = impatient.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1}))

    assert again.already_confirmed
    assert len(sim.fulfillments_created) == 1
    assert len(graphql_requests(sim, "SeabridgeFulfilmentCreate")) == 1


def test_a_confirmation_whose_answer_is_lost_is_found_by_looking(sim, impatient):
    order_gid = add(sim, ("MUG", 1, "12.50"))
    # Shopify makes the fulfilment at once; its answer comes after the client gave up.
    sim.fault(API, delay=SLOW, passthrough=True, acts_first=True, after=1, times=1)

    result = impatient.adapter.shipment_confirm(shipment(order_gid, sim, {0: 1}))

    [created] = sim.fulfillments_created
    assert result.reference == gid("Fulfillment", created.id) and not result.already_confirmed
    assert operations(sim) == ["SeabridgeFulfilmentContext", "SeabridgeFulfilmentCreate", "SeabridgeFulfilmentContext"]


# --- Stock ----------------------------------------------------------------------------------------------------------


def test_stock_is_set_with_the_exact_mutation_and_refusals_per_item(sim, store):
    mug = sim.inventory_item_add("MUG", available=3)
    cup = sim.inventory_item_add("CUP", available=0)
    elsewhere = sim.inventory_item_add("HAT", location=sim.location_add("Los Angeles 3PL"))
    items = [
        StockOut("MUG", 12, listing_variant_id=mug),
        StockOut("GHOST", 5, listing_variant_id="gid://shopify/InventoryItem/1"),
        StockOut("UNMAPPED", 5),
        StockOut("CUP", 7, listing_variant_id=cup.rsplit("/", 1)[1]),
        StockOut("HAT", 2, listing_variant_id=elsewhere),
    ]

    results = store.adapter.stock_push(items)

    assert [(r.channel_sku, r.ok, r.message) for r in results] == [
        ("MUG", True, ""),
        ("GHOST", False, "The specified inventory item could not be found."),
        ("UNMAPPED", False, "The SKU mapping has no Shopify inventory item ID (variant ID field)."),
        ("CUP", True, ""),
        ("HAT", False, "The specified inventory item is not stocked at the location."),
    ]
    assert (sim.available(mug), sim.available(cup)) == (12, 7)
    first, second = graphql_requests(sim, "SeabridgeStockSet")
    assert first["query"] == STOCK_SET_MUTATION and "@idempotent(key: $key)" in first["query"]
    assert first["variables"]["input"] == {
        "name": "available",
        "reason": "correction",
        "quantities": [
            {
                "inventoryItemId": item,
                "locationId": sim.default_location,
                "quantity": quantity,
                "changeFromQuantity": None,
            }
            for item, quantity in [(mug, 12), ("gid://shopify/InventoryItem/1", 5), (cup, 7), (elsewhere, 2)]
        ],
    }
    assert [q["inventoryItemId"] for q in second["variables"]["input"]["quantities"]] == [mug, cup]
    assert uuid.UUID(first["variables"]["key"]) != uuid.UUID(second["variables"]["key"])
    assert [(s["inventory_item_id"], s["quantity"]) for s in sim.stock_sets] == [(mug, 12), (cup, 7)]


def test_stock_sent_again_after_a_time_out_is_applied_once(sim, impatient):
    mug = sim.inventory_item_add("MUG", available=3)
    # Shopify applies the first request at once and answers it after the client gave up; the second, with the
    # same idempotency key, must not apply it again.
    sim.fault(API, delay=SLOW, passthrough=True, acts_first=True, times=1)

    [result] = impatient.adapter.stock_push([StockOut("MUG", 9, listing_variant_id=mug)])

    assert result.ok
    first, second = graphql_requests(sim, "SeabridgeStockSet")
    assert first == second  # the same idempotency key
    assert len(sim.stock_sets) == 1 and sim.available(mug) == 9


def test_a_stock_call_refused_as_a_whole_fails_every_item_and_a_concurrent_one_is_transient(sim, store):
    mug, cup = sim.inventory_item_add("MUG"), sim.inventory_item_add("CUP")
    refused = {"code": "INVALID_REASON", "field": ["input", "reason"], "message": "The specified reason is invalid."}
    answer = {"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": [refused]}}}
    sim.fault(API, status=200, body=answer)
    items = [StockOut("MUG", 1, listing_variant_id=mug), StockOut("CUP", 2, listing_variant_id=cup)]

    assert [(r.ok, r.message) for r in store.adapter.stock_push(items)] == [
        (False, "The specified reason is invalid."),
        (False, "The specified reason is invalid."),
    ]
    busy = {"code": "IDEMPOTENCY_CONCURRENT_REQUEST", "field": None, "message": "A request with this key is running."}
    sim.fault(API, status=200, body={"data": {"inventorySetQuantities": {"userErrors": [busy]}}})
    with pytest.raises(Transient):
        store.adapter.stock_push(items)
    assert sim.stock_sets == []


def test_the_same_inventory_item_twice_in_a_batch_is_set_once(sim, store):
    mug = sim.inventory_item_add("MUG")

    results = store.adapter.stock_push(
        [StockOut("MUG", 4, listing_variant_id=mug), StockOut("MUG-2", 9, listing_variant_id=mug)]
    )

    assert [(r.ok, r.message) for r in results] == [
        (True, ""),
        (False, "Same Shopify inventory item as SKU MUG, which was set instead."),
    ]
    assert sim.available(mug) == 4


def test_stock_needs_the_stores_location_and_batches_are_shopifys_input_limit(sim, server):
    store = Store(server)
    with pytest.raises(ChannelError) as raised:
        store.adapter.stock_push([StockOut("MUG", 1, listing_variant_id="1")])
    assert raised.value.code == "store_not_configured"
    assert ShopifyAdapter.stock_batch_size == 250


# --- Where ----------------------------------------------------------------------------------------------------------


def test_the_shop_address_is_required_and_completed():
    def adapter(url="", options=None):
        connection = StoreConnection("shopify", url, {}, MemoryTokens({}), options=options or {})
        return ShopifyAdapter(connection, http=None)

    with pytest.raises(ChannelError) as raised:
        adapter().base_url  # noqa: B018 (the property is what is tested)
    assert raised.value.code == "store_not_configured"
    assert (
        adapter(options={"shop": "tea-house.myshopify.com"}).base_url
        == "https://tea-house.myshopify.com/admin/api/2026-04"
    )
    assert adapter("https://tea-house.myshopify.com/").base_url == "https://tea-house.myshopify.com/admin/api/2026-04"
    assert (
        adapter("https://tea-house.myshopify.com/").auth_url
        == "https://tea-house.myshopify.com/admin/oauth/access_token"
    )


# --- Demo data ------------------------------------------------------------------------------------------------------


def test_demo_orders_are_deterministic_varied_and_readable(server):
    skus = ["MUG-RED", "MUG-BLUE", "TEA-100G", "POT-1L", "CUP-SET"]
    # A bucket this size is never short: the test is about the orders, not Shopify's limits.
    sim, twin = server.serve(ShopifySimulator(bucket_size=1e9)), ShopifySimulator()
    sim.now = twin.now = NOW

    made = sim.seed_demo(60, skus, seed=7)
    twin.seed_demo(60, skus, seed=7)

    def shape(simulator):
        return [
            (o.name, o.created_at, o.shipping_address["name"], [(line.sku, line.quantity) for line in o.lines])
            for o in simulator.orders.values()
        ]

    assert shape(sim) == shape(twin)
    orders = Store(server).orders(since=NOW - timedelta(days=8), until=NOW)
    assert len(orders) == len(made) == 60
    assert all(isinstance(order, OrderIn) for order in orders)
    statuses = [order.status for order in orders]
    assert statuses.count("awaiting_shipment") > 30
    assert {"pending", "cancelled", "shipped"} <= set(statuses)
    assert len({order.address.country for order in orders}) >= 5
    assert all(1 <= len(order.lines) <= 4 for order in orders)
