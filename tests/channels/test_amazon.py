"""The Amazon adapter against the Amazon simulator, over real HTTP on 127.0.0.1: tokens, order search and its paging
traps, throttling, failures, odd data, shipment confirmation and stock."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest

from channels.adapters.amazon import INCLUDED_DATA, AmazonAdapter
from channels.adapters.base import (
    AccessToken,
    AuthFailed,
    BadResponse,
    ConfirmResult,
    MemoryTokens,
    OrderProblem,
    RateLimited,
    Rejected,
    ShipmentLineOut,
    ShipmentOut,
    StockOut,
    StockResult,
    StoreConnection,
    Transient,
)
from channels.adapters.http import ChannelHttp
from channels.simulators.amazon import ALREADY_FULFILLED, ORDERS_PATH, TOKEN_PATH, AmazonSimulator, errors
from channels.simulators.base import SimulatorServer
from orders.inbound import AddressIn, LineIn, OrderIn
from tests.channels.timeouts import IMPATIENT, PATIENT, SLOW

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
UNTIL = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
SEARCH_RATE = 0.0056
US = "ATVPDKIKX0DER"


@pytest.fixture
def sim() -> AmazonSimulator:
    simulator = AmazonSimulator(limits={})
    simulator.now = NOW
    return simulator


class CurrentSimulator:
    """One server for the module, answering with each test's own simulator (a server takes half a second to stop)."""

    def __init__(self) -> None:
        self.sim: AmazonSimulator | None = None

    def __call__(self, environ, start_response):
        return self.sim(environ, start_response)


@pytest.fixture(scope="module")
def served():
    current = CurrentSimulator()
    with SimulatorServer(current) as running:
        yield running, current


@pytest.fixture
def server(sim, served):
    running, current = served
    current.sim = sim
    yield running
    current.sim = None


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def http(waits):
    client = ChannelHttp(backoff_base=0.001, timeout=PATIENT, sleep=waits.append)
    yield client
    client.close()


@pytest.fixture
def tokens(sim) -> MemoryTokens:
    return MemoryTokens(sim.credentials)


@pytest.fixture
def adapter(server, http, tokens) -> AmazonAdapter:
    return make_adapter(server, http, tokens)


def make_adapter(server, http, tokens, **connection) -> AmazonAdapter:
    settings = {"marketplace_id": US, **connection}
    return AmazonAdapter(
        StoreConnection(
            channel="amazon",
            api_base_url=server.url,
            auth_url=server.url + TOKEN_PATH,
            credentials=tokens.credentials,
            tokens=tokens,
            **settings,
        ),
        http,
    )


def add_orders(sim: AmazonSimulator, count: int, **kwargs) -> list[str]:
    """``count`` orders changed inside the window, one a minute, oldest first."""
    return [
        sim.order_add(
            created_at=SINCE + timedelta(hours=1),
            updated_at=UNTIL - timedelta(minutes=count - index),
            **kwargs,
        )
        for index in range(count)
    ]


def collect(adapter: AmazonAdapter, since: datetime = SINCE, until: datetime = UNTIL) -> list:
    return list(adapter.orders_changed(since=since, until=until))


def searches(sim: AmazonSimulator):
    return sim.requests_to(ORDERS_PATH, "GET")


def shipment(order_id: str, line_id: str, **overrides) -> ShipmentOut:
    values = {
        "channel_order_id": order_id,
        "reference": "1",
        "carrier": "UPS",
        "service": "UPS Ground",
        "tracking_number": "1Z999AA10123456784",
        "shipped_at": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        "lines": (ShipmentLineOut(line_id, 1),),
        "order_raw": {},
        **overrides,
    }
    return ShipmentOut(**values)


def first_item(sim: AmazonSimulator, order_id: str) -> str:
    return sim.order(order_id)["orderItems"][0]["orderItemId"]


# -- tokens ----------------------------------------------------------------------------------------------------------


def test_first_call_gets_a_token_by_the_refresh_token_grant_and_sends_it_in_x_amz_access_token(sim, adapter, tokens):
    add_orders(sim, 1)

    collect(adapter)

    (grant,) = sim.requests_to(TOKEN_PATH)
    assert grant.method == "POST"
    assert grant.headers["content-type"] == "application/x-www-form-urlencoded"
    assert grant.form() == {
        "grant_type": "refresh_token",
        "refresh_token": "Atzr|sim-refresh-token",
        "client_id": "amzn1.application-oa2-client.seabridgesim",
        "client_secret": "sim-client-secret",
    }
    (search,) = searches(sim)
    assert search.headers["x-amz-access-token"] == tokens.token.value
    assert tokens.token.value.startswith("Atza|")
    assert "authorization" not in search.headers
    # Amazon's hour, counted from the grant.
    assert timedelta(minutes=59) < tokens.token.expires_at - datetime.now(UTC) <= timedelta(hours=1)


def test_an_expired_token_is_refreshed_once_and_the_call_repeated(sim, adapter, tokens):
    add_orders(sim, 2)
    collect(adapter)
    first_token = tokens.token.value
    sim.tokens_expire()

    orders = collect(adapter)

    assert len(orders) == 2
    assert len(sim.requests_to(TOKEN_PATH)) == 2
    assert tokens.refreshes == 2
    refused, repeated = searches(sim)[1:]
    assert refused.headers["x-amz-access-token"] == first_token
    assert repeated.headers["x-amz-access-token"] == tokens.token.value != first_token


def test_a_token_about_to_expire_is_refreshed_before_the_call(sim, server, http):
    add_orders(sim, 1)
    tokens = MemoryTokens(
        sim.credentials, AccessToken("Atza|old", expires_at=datetime.now(UTC) + timedelta(seconds=30))
    )

    collect(make_adapter(server, http, tokens))

    assert [request.headers["x-amz-access-token"] for request in searches(sim)] == [tokens.token.value]
    assert tokens.token.value != "Atza|old"


def test_a_refused_refresh_token_is_auth_failed_without_credentials_in_the_message(sim, server, http):
    credentials = {**sim.credentials, "refresh_token": "Atzr|revoked"}
    adapter = make_adapter(server, http, MemoryTokens(credentials))

    with pytest.raises(AuthFailed) as refused:
        collect(adapter)

    assert "invalid_grant" in refused.value.message
    for secret in ("Atzr|revoked", "sim-client-secret"):
        assert secret not in str(refused.value)
    assert len(sim.requests_to(TOKEN_PATH)) == 1
    assert searches(sim) == []


def test_access_refused_again_after_the_refresh_is_auth_failed(sim, adapter):
    add_orders(sim, 1)
    denied = errors("Unauthorized", "Access to requested resource is denied.")
    sim.fault(ORDERS_PATH, status=403, body=denied, times=2)

    with pytest.raises(AuthFailed) as refused:
        collect(adapter)

    assert "Unauthorized: Access to requested resource is denied." in refused.value.message
    assert refused.value.status == 403
    assert len(sim.requests_to(TOKEN_PATH)) == 2  # the first grant and one refresh, no more
    assert len(searches(sim)) == 2


# -- the order search ------------------------------------------------------------------------------------------------


def test_the_search_asks_for_merchant_orders_updated_in_the_window_as_the_model_says(sim, adapter):
    add_orders(sim, 1)

    collect(adapter, since=datetime(2026, 3, 1, 8, 0, 0, 700000, tzinfo=UTC), until=UNTIL)

    (search,) = searches(sim)
    assert search.query == {
        "lastUpdatedAfter": ["2026-03-01T08:00:00Z"],
        "lastUpdatedBefore": ["2026-03-02T11:00:00Z"],
        "fulfilledBy": ["MERCHANT"],
        "includedData": ["BUYER,RECIPIENT,FULFILLMENT,PROCEEDS,PACKAGES,CANCELLATION"],
        "maxResultsPerPage": ["100"],
        "marketplaceIds": [US],
    }
    assert search.headers["accept"] == "application/json"
    assert {request.path for request in sim.requests} == {TOKEN_PATH, ORDERS_PATH}  # no deprecated v0 reads


def test_pages_are_followed_with_the_first_pages_filters_and_the_token(sim, adapter):
    order_ids = add_orders(sim, 5)
    sim.max_page_size = 2

    orders = collect(adapter)

    assert [order.channel_order_id for order in orders] == order_ids
    first, second, third = searches(sim)
    assert "paginationToken" not in first.query
    for later in (second, third):
        assert {k: v for k, v in later.query.items() if k != "paginationToken"} == first.query
    assert second.query["paginationToken"] != third.query["paginationToken"]


def test_the_simulator_refuses_a_page_token_whose_filters_changed(sim, server):
    add_orders(sim, 3)
    sim.max_page_size = 1
    client = httpx.Client(base_url=server.url)
    grant = client.post(TOKEN_PATH, data={"grant_type": "refresh_token", **sim.credentials}).json()
    headers = {"x-amz-access-token": grant["access_token"]}
    query = {"lastUpdatedAfter": "2026-03-01T00:00:00Z", "lastUpdatedBefore": "2026-03-02T11:00:00Z"}
    token = client.get(ORDERS_PATH, params=query, headers=headers).json()["pagination"]["nextToken"]

    moved = client.get(
        ORDERS_PATH,
        params={**query, "lastUpdatedAfter": "2026-03-01T01:00:00Z", "paginationToken": token},
        headers=headers,
    )
    alone = client.get(ORDERS_PATH, params={"paginationToken": token}, headers=headers)
    same = client.get(
        ORDERS_PATH, params={**query, "paginationToken": token, "maxResultsPerPage": "5"}, headers=headers
    )

    assert moved.status_code == 400
    assert moved.json()["errors"][0]["code"] == "InvalidInput"
    assert alone.status_code == 400
    assert same.status_code == 200
    assert len(same.json()["orders"]) == 1  # maxResultsPerPage may change; the simulator's page size still holds


def test_an_order_on_two_pages_is_yielded_each_time_and_the_paging_ends(sim, adapter):
    order_ids = add_orders(sim, 5)
    sim.max_page_size = 2
    sim.page_overlap = 1

    orders = collect(adapter)

    seen = Counter(order.channel_order_id for order in orders)
    assert set(seen) == set(order_ids)
    assert max(seen.values()) == 2
    assert len(searches(sim)) == 4


def test_an_order_changed_during_the_scan_is_caught_by_the_next_window(sim, adapter):
    order_ids = add_orders(sim, 6)
    sim.max_page_size = 2
    seen_early, unseen = order_ids[0], order_ids[5]

    def change_during_scan(page: int) -> None:
        if page == 2:
            sim.order_cancel(seen_early)
            sim.order_update(unseen, status="PARTIALLY_SHIPPED")

    sim.on_search_page = change_during_scan
    first_window = collect(adapter)
    sim.on_search_page = None
    sim.now = NOW + timedelta(minutes=15)
    second_window = collect(adapter, since=UNTIL, until=NOW + timedelta(minutes=10))

    assert [order.channel_order_id for order in first_window] == order_ids[:5]
    assert first_window[0].channel_status == "UNSHIPPED"
    assert {order.channel_order_id: order.channel_status for order in second_window} == {
        seen_early: "CANCELLED",
        unseen: "PARTIALLY_SHIPPED",
    }
    latest = {}
    for order in first_window + second_window:
        if (
            order.channel_order_id not in latest
            or order.channel_updated_at > latest[order.channel_order_id].channel_updated_at
        ):
            latest[order.channel_order_id] = order
    assert set(latest) == set(order_ids)
    assert latest[seen_early].status == "cancelled"


def test_a_page_token_sent_twice_stops_the_scan(sim, adapter):
    looping = {"orders": [], "pagination": {"nextToken": "same-token"}}
    sim.fault(ORDERS_PATH, status=200, body=looping, times=2)

    with pytest.raises(BadResponse):
        collect(adapter)

    assert len(searches(sim)) == 2


def test_a_window_ending_less_than_two_minutes_ago_is_waited_for(sim, server, tokens):
    sim.index_delay = timedelta(minutes=2)  # Amazon shows a change up to two minutes late
    sim.now = NOW - timedelta(seconds=30)
    (order_id,) = add_orders(sim, 1, note="")
    sim.order_update(order_id, status="CANCELLED", updated_at=NOW - timedelta(seconds=30))
    sim.now = NOW
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        sim.advance(seconds)

    with ChannelHttp(backoff_base=0.001, timeout=PATIENT, sleep=sleep) as http:
        adapter = make_adapter(server, http, tokens)
        adapter.clock = lambda: sim.now
        orders = collect(adapter, since=NOW - timedelta(hours=1), until=NOW - timedelta(seconds=20))

        assert waits == [110.0]  # until the window's end is 2 min 10 s old
        assert http.seconds_backing_off == 110.0
    assert [(order.channel_order_id, order.status) for order in orders] == [(order_id, "cancelled")]


def test_orders_amazon_fulfils_are_left_out(sim, adapter):
    (merchant,) = add_orders(sim, 1)
    add_orders(sim, 1, fulfilled_by="AMAZON")

    orders = collect(adapter)

    assert [order.channel_order_id for order in orders] == [merchant]
    fba = {**sim.order(merchant), "orderId": "111-0000000-0000001"}
    fba["fulfillment"] = {**fba["fulfillment"], "fulfilledBy": "AMAZON"}
    sim.fault(ORDERS_PATH, status=200, body={"orders": [fba, sim.order(merchant)]})
    assert [order.channel_order_id for order in collect(adapter)] == [merchant]


def test_a_buyers_request_to_cancel_is_read_from_the_items_and_goes_when_withdrawn(sim, adapter):
    (order_id,) = add_orders(sim, 1)
    sim.order_cancel_request(order_id, reason="Ordered by mistake", updated_at=UNTIL - timedelta(seconds=30))

    [order] = collect(adapter)

    item_id = sim.order(order_id)["orderItems"][0]["orderItemId"]
    assert (order.status, order.cancel_requested) == (
        "awaiting_shipment",
        f"Amazon cancellationRequest {item_id}: Ordered by mistake",
    )
    sim.order_cancel_request(order_id, withdraw=True, updated_at=UNTIL - timedelta(seconds=20))
    [order] = collect(adapter)
    assert order.cancel_requested == ""


# -- reading orders --------------------------------------------------------------------------------------------------


def test_an_order_reads_into_order_in_with_decimal_money_utc_times_and_every_address_line(sim, server, http, tokens):
    adapter = make_adapter(server, http, tokens, marketplace_id="A1F83G8C2ARO7P")
    address = {
        "name": "Sarah Thompson",
        "companyName": "Thompson Ltd",
        "addressLine1": "45 Oak Avenue",
        "addressLine2": "Flat 2A",
        "addressLine3": "Rear entrance",
        "city": "London",
        "districtOrCounty": "Greater London",
        "stateOrRegion": "England",
        "municipality": "Camden",
        "postalCode": "NW1 8AB",
        "countryCode": "gb",
        "phone": "+44 20 7946 0958",
        "addressType": "RESIDENTIAL",
    }
    order_id = sim.order_add(
        order_id="202-7654321-1098765",
        marketplace_id="A1F83G8C2ARO7P",
        items=[
            {
                "sku": "LAMP-01",
                "quantity": 2,
                "price": "12.50",
                "title": "Desk lamp",
                "asin": "B0LAMP0001",
                "item_id": "11",
            },
            {
                "sku": "CABLE-3",
                "quantity": 1,
                "price": "3.99",
                "title": "USB cable",
                "asin": "B0CABLE003",
                "item_id": "12",
            },
        ],
        address=address,
        buyer={"buyerName": "Sarah Thompson", "buyerEmail": "x7k2@marketplace.amazon.co.uk"},
        shipping="4.99",
        tax="5.80",
        service_level="EXPEDITED",
        created_at=datetime(2026, 3, 1, 14, 20, tzinfo=UTC),
        updated_at=datetime(2026, 3, 1, 18, 45, tzinfo=UTC),
        ship_by=datetime(2026, 3, 3, 23, 59, 59, tzinfo=UTC),
        note="Leave with the porter",
    )

    (order,) = collect(adapter, since=SINCE)

    assert order == OrderIn(
        channel_order_id=order_id,
        status="awaiting_shipment",
        channel_status="UNSHIPPED",
        ordered_at=datetime(2026, 3, 1, 14, 20, tzinfo=UTC),
        channel_updated_at=datetime(2026, 3, 1, 18, 45, tzinfo=UTC),
        lines=[
            LineIn("11", "LAMP-01", 2, Decimal("12.50"), "Desk lamp", "B0LAMP0001"),
            LineIn("12", "CABLE-3", 1, Decimal("3.99"), "USB cable", "B0CABLE003"),
        ],
        address=AddressIn(
            name="Sarah Thompson",
            company="Thompson Ltd",
            address1="45 Oak Avenue",
            address2="Flat 2A",
            address3="Rear entrance",
            district="Camden",
            city="London",
            county="Greater London",
            state="England",
            postcode="NW1 8AB",
            country="GB",
            phone="+44 20 7946 0958",
        ),
        buyer_name="Sarah Thompson",
        buyer_email="x7k2@marketplace.amazon.co.uk",
        currency="GBP",
        subtotal=Decimal("28.99"),
        shipping_total=Decimal("4.99"),
        tax_total=Decimal("5.80"),
        total=Decimal("39.78"),
        ship_by=datetime(2026, 3, 3, 23, 59, 59, tzinfo=UTC),
        requested_service="EXPEDITED",
        buyer_note="Leave with the porter",
        raw={**sim.order(order_id), "packages": []},
    )
    assert order.ordered_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("amazon_status", "status"),
    [
        ("PENDING_AVAILABILITY", "pending"),
        ("PENDING", "pending"),
        ("UNSHIPPED", "awaiting_shipment"),
        ("PARTIALLY_SHIPPED", "partially_shipped"),
        ("SHIPPED", "shipped"),
        ("CANCELLED", "cancelled"),
        ("UNFULFILLABLE", "cancelled"),
    ],
)
def test_amazons_statuses_map_to_seabridges(sim, adapter, amazon_status, status):
    add_orders(sim, 1, status=amazon_status)

    (order,) = collect(adapter)

    assert (order.channel_status, order.status) == (amazon_status, status)


def test_a_pending_order_comes_without_personal_data_and_still_reads(sim, adapter):
    add_orders(sim, 1, status="PENDING")

    (order,) = collect(adapter)

    assert isinstance(order, OrderIn)
    assert (order.buyer_name, order.address.name, order.address.address1, order.address.postcode) == ("", "", "", "")
    assert (order.address.city, order.address.state, order.address.country) == ("Seattle", "WA", "US")


def test_an_order_to_ship_without_its_street_is_a_problem_naming_the_field(sim, adapter):
    sim.pii_access = False  # the app lacks the Direct-to-Consumer Delivery role
    (order_id,) = add_orders(sim, 1)

    (problem,) = collect(adapter)

    assert isinstance(problem, OrderProblem)
    assert (problem.channel_order_id, problem.field) == (order_id, "recipient.deliveryAddress.addressLine1")
    assert "Direct-to-Consumer Delivery" in problem.message
    assert "name" not in problem.raw["recipient"]["deliveryAddress"]


def _set_item_amount(data):
    data["orderItems"][0]["product"]["price"]["unitPrice"]["amount"] = 12.5


def _drop_updated(data):
    del data["lastUpdatedTime"]


def _word_quantity(data):
    data["orderItems"][0]["quantityOrdered"] = "two"


def _long_country(data):
    data["recipient"]["deliveryAddress"]["countryCode"] = "USA"


def _unknown_status(data):
    data["fulfillment"]["fulfillmentStatus"] = "ON_HOLD"


def _word_time(data):
    data["createdTime"] = "yesterday"


def _no_sku(data):
    del data["orderItems"][0]["product"]["sellerSku"]


def _other_currency(data):
    data["proceeds"]["grandTotal"]["currencyCode"] = "EUR"


def _no_items(data):
    data["orderItems"] = []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set_item_amount, "orderItems[0].product.price.unitPrice.amount"),
        (_drop_updated, "lastUpdatedTime"),
        (_word_quantity, "orderItems[0].quantityOrdered"),
        (_long_country, "recipient.deliveryAddress.countryCode"),
        (_unknown_status, "fulfillment.fulfillmentStatus"),
        (_word_time, "createdTime"),
        (_no_sku, "orderItems[0].product.sellerSku"),
        (_other_currency, "proceeds.grandTotal.currencyCode"),
        (_no_items, "orderItems"),
    ],
)
def test_odd_data_is_a_problem_naming_the_field_and_the_run_goes_on(sim, adapter, change, field):
    odd, fine = add_orders(sim, 2)
    sim.order_update(odd, changes=change, updated_at=UNTIL - timedelta(minutes=5))

    problem, order = collect(adapter)

    assert isinstance(problem, OrderProblem)
    assert (problem.channel_order_id, problem.field) == (odd, field)
    assert problem.raw["orderId"] == odd
    assert problem.message
    assert isinstance(order, OrderIn)
    assert order.channel_order_id == fine


def test_yen_amounts_read_as_whole_decimals(sim, server, http, tokens):
    adapter = make_adapter(server, http, tokens, marketplace_id="A1VC38T7YXB528")
    sim.order_add(
        marketplace_id="A1VC38T7YXB528",
        items=[{"sku": "ECHO-JP", "quantity": 1, "price": "5980"}],
        shipping="350",
        created_at=SINCE,
        updated_at=UNTIL - timedelta(minutes=1),
    )

    (order,) = collect(adapter)

    assert (order.currency, order.lines[0].unit_price, order.shipping_total, order.total) == (
        "JPY",
        Decimal("5980"),
        Decimal("350"),
        Decimal("6330"),
    )
    assert order.address.country == "JP"


def test_order_get_reads_one_order_with_the_same_data(sim, adapter):
    (order_id,) = add_orders(sim, 1)
    (listed,) = collect(adapter)

    fetched = adapter.order_get(order_id)

    assert fetched == listed
    (request,) = sim.requests_to(f"{ORDERS_PATH}/{order_id}")
    assert request.query == {"includedData": [",".join(INCLUDED_DATA)]}


def test_order_get_of_an_unknown_order_is_rejected(sim, adapter):
    with pytest.raises(Rejected) as refused:
        adapter.order_get("111-0000000-0000000")

    assert refused.value.status == 404
    assert "NotFound" in refused.value.message


# -- throttling ------------------------------------------------------------------------------------------------------


def test_quota_exceeded_is_retried_after_the_wait_amazons_rate_implies(sim, adapter, waits):
    order_ids = add_orders(sim, 2)
    sim.throttle_next(2, "searchOrders")

    orders = collect(adapter)

    assert [order.channel_order_id for order in orders] == order_ids
    assert len(searches(sim)) == 3
    # No Retry-After: after a 429 the bucket is empty, and the next token comes after 1/rate seconds.
    assert [wait for wait in waits if wait > 1] == pytest.approx([1 / SEARCH_RATE] * 2, rel=0.01)


def test_quota_exceeded_that_never_ends_is_rate_limited(sim, adapter):
    add_orders(sim, 1)
    sim.throttle_next(50, "searchOrders")

    with pytest.raises(RateLimited) as throttled:
        collect(adapter)

    assert throttled.value.retry_after is None
    assert throttled.value.status == 429
    assert len(searches(sim)) == 5


def test_the_simulator_throttles_in_amazons_shape(sim, server):
    client = httpx.Client(base_url=server.url)
    grant = client.post(TOKEN_PATH, data={"grant_type": "refresh_token", **sim.credentials}).json()
    query = {"lastUpdatedAfter": "2026-03-01T00:00:00Z", "lastUpdatedBefore": "2026-03-02T11:00:00Z"}
    headers = {"x-amz-access-token": grant["access_token"]}

    answers = [client.get(ORDERS_PATH, params=query, headers=headers) for _ in range(3)]
    sim.throttle_next(1)
    forced = client.get(ORDERS_PATH, params=query, headers=headers)

    assert [answer.status_code for answer in answers] == [200, 200, 200]  # limits={}: no bucket
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == "0.0056"
    assert forced.status_code == 429
    assert forced.json() == errors("QuotaExceeded", "You exceeded your quota for the requested resource.")
    assert "retry-after" not in forced.headers
    assert "x-amzn-RequestId" in forced.headers


def test_the_simulator_bucket_refuses_after_the_burst():
    sim = AmazonSimulator(limits={"searchOrders": (SEARCH_RATE, 2)})
    sim.now = NOW
    with SimulatorServer(sim) as server:
        client = httpx.Client(base_url=server.url)
        grant = client.post(TOKEN_PATH, data={"grant_type": "refresh_token", **sim.credentials}).json()
        query = {"lastUpdatedAfter": "2026-03-01T00:00:00Z", "lastUpdatedBefore": "2026-03-02T11:00:00Z"}
        statuses = [
            client.get(ORDERS_PATH, params=query, headers={"x-amz-access-token": grant["access_token"]}).status_code
            for _ in range(3)
        ]

    assert statuses == [200, 200, 429]


def test_searches_are_paced_at_the_published_rate_after_the_burst(sim, server, tokens):
    add_orders(sim, 22)
    sim.max_page_size = 1
    waits: list[float] = []
    elapsed = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        elapsed[0] += seconds

    with ChannelHttp(backoff_base=0.001, timeout=PATIENT, sleep=sleep, clock=lambda: elapsed[0]) as http:
        assert len(collect(make_adapter(server, http, tokens))) == 22

    # A burst of 20, then one search every 1/0.0056 s (179 s), as the model's usage plan says.
    assert [wait for wait in waits if wait > 0] == pytest.approx([1 / SEARCH_RATE] * 2, rel=0.01)


# -- failures --------------------------------------------------------------------------------------------------------


def test_a_server_error_in_the_middle_of_the_pages_makes_the_iteration_raise(sim, adapter):
    add_orders(sim, 5)
    sim.max_page_size = 2
    sim.fault(
        ORDERS_PATH, status=500, body=errors("InternalFailure", "We encountered an internal error."), times=9, after=1
    )
    read = []

    with pytest.raises(Transient) as failed:
        for order in adapter.orders_changed(since=SINCE, until=UNTIL):
            read.append(order)

    assert len(read) == 2
    assert failed.value.status == 500
    assert len(searches(sim)) == 6  # the first page, then five attempts at the second


def test_a_time_out_is_retried_and_one_that_lasts_is_transient(sim, server, tokens):
    add_orders(sim, 1)
    with ChannelHttp(backoff_base=0.001, timeout=IMPATIENT, max_attempts=2, sleep=lambda seconds: None) as http:
        adapter = make_adapter(server, http, tokens)
        sim.fault(ORDERS_PATH, delay=SLOW, times=1)
        assert len(collect(adapter)) == 1

        sim.fault(ORDERS_PATH, delay=SLOW, times=2)
        with pytest.raises(Transient):
            collect(adapter)


# -- shipments -------------------------------------------------------------------------------------------------------


def test_a_confirmation_is_posted_as_the_model_says_and_amazon_records_the_package(sim, adapter, tokens):
    order_id = sim.order_add(
        items=[{"sku": "A", "quantity": 1, "price": "5.00"}, {"sku": "B", "quantity": 2, "price": "7.00"}]
    )
    line_id = first_item(sim, order_id)

    result = adapter.shipment_confirm(shipment(order_id, line_id, reference="10023"))

    assert result == ConfirmResult(reference="10023", already_confirmed=False)
    (post,) = sim.requests_to(f"/orders/v0/orders/{order_id}/shipmentConfirmation", "POST")
    assert post.headers["x-amz-access-token"] == tokens.token.value
    assert post.headers["content-type"] == "application/json"
    assert json.loads(post.body) == {
        "marketplaceId": US,
        "packageDetail": {
            "packageReferenceId": "10023",
            "carrierCode": "UPS",
            "carrierName": "UPS",
            "shippingMethod": "UPS Ground",
            "trackingNumber": "1Z999AA10123456784",
            "shipDate": "2026-03-02T09:30:00Z",
            "orderItems": [{"orderItemId": line_id, "quantity": 1}],
        },
    }
    (package,) = sim.packages(order_id)
    assert (package["packageReferenceId"], package["trackingNumber"]) == ("10023", "1Z999AA10123456784")
    assert sim.order(order_id)["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"


def test_a_package_already_in_the_order_is_not_sent_again(sim, adapter):
    order_id = sim.order_add()
    line_id = first_item(sim, order_id)
    adapter.shipment_confirm(shipment(order_id, line_id))
    order_raw = adapter.order_get(order_id).raw

    result = adapter.shipment_confirm(shipment(order_id, line_id, order_raw=order_raw))

    assert result == ConfirmResult(reference="1", already_confirmed=True)
    assert len(sim.requests_to("/orders/v0/")) == 1


def test_the_same_reference_again_edits_the_package_and_never_makes_a_second(sim, adapter):
    order_id = sim.order_add()
    line_id = first_item(sim, order_id)

    adapter.shipment_confirm(shipment(order_id, line_id))
    again = adapter.shipment_confirm(shipment(order_id, line_id, tracking_number="1Z999AA10123456799"))

    assert again == ConfirmResult(reference="1", already_confirmed=False)
    assert len(sim.requests_to("/orders/v0/")) == 2
    (package,) = sim.packages(order_id)
    assert package["trackingNumber"] == "1Z999AA10123456799"


def test_a_confirmation_whose_answer_is_lost_is_sent_again_safely(sim, adapter):
    order_id = sim.order_add()
    line_id = first_item(sim, order_id)
    # Amazon acts on the first request, but its answer comes after the client gave up.
    sim.fault("/orders/v0/", delay=SLOW, passthrough=True, times=1)
    adapter.http.client.timeout = httpx.Timeout(IMPATIENT)  # give up before the slow answer comes

    result = adapter.shipment_confirm(shipment(order_id, line_id))

    assert result == ConfirmResult(reference="1", already_confirmed=False)
    assert len(sim.requests_to("/orders/v0/")) == 2
    assert len(sim.packages(order_id)) == 1
    assert sim.order(order_id)["fulfillment"]["fulfillmentStatus"] == "SHIPPED"


def test_a_parcel_the_seller_confirmed_by_hand_counts_as_already_confirmed(sim, adapter):
    order_id = sim.order_add()
    line_id = first_item(sim, order_id)
    sim.package_add(order_id, tracking_number="1Z999AA10123456784", reference="555")

    result = adapter.shipment_confirm(shipment(order_id, line_id))

    assert result == ConfirmResult(reference="1", already_confirmed=True)
    assert len(sim.requests_to("/orders/v0/")) == 1  # Amazon refused the new package; the order showed it was there
    assert len(sim.requests_to(f"{ORDERS_PATH}/{order_id}")) == 1
    assert len(sim.packages(order_id)) == 1


def test_a_refused_confirmation_is_rejected_with_amazons_message(sim, adapter):
    cancelled = sim.order_add(status="CANCELLED")
    shipped = sim.order_add()
    sim.package_add(shipped, tracking_number="OTHER-PARCEL")

    with pytest.raises(Rejected) as refused:
        adapter.shipment_confirm(shipment(cancelled, first_item(sim, cancelled)))
    with pytest.raises(Rejected) as fulfilled:
        adapter.shipment_confirm(shipment(shipped, first_item(sim, shipped)))

    assert "cannot be confirmed in status CANCELLED" in refused.value.message
    assert ALREADY_FULFILLED in fulfilled.value.message
    assert refused.value.status == fulfilled.value.status == 400
    assert sim.packages(cancelled) == []


def test_a_package_reference_that_is_not_a_positive_number_is_refused_before_asking(sim, adapter):
    order_id = sim.order_add()

    for reference in ("PKG-1", "0", ""):
        with pytest.raises(Rejected):
            adapter.shipment_confirm(shipment(order_id, first_item(sim, order_id), reference=reference))

    assert sim.requests_to("/orders/v0/") == []


@pytest.mark.parametrize(
    ("carrier", "code"),
    [
        ("YunExpress", "Yun Express"),
        ("4PX", "4PX"),
        ("royal-mail", "Royal Mail"),
        ("Cainiao", "Other"),
        ("Wanb", "WANB"),
    ],
)
def test_carriers_go_by_amazons_codes_and_others_as_other_with_their_name(sim, server, http, tokens, carrier, code):
    adapter = make_adapter(server, http, tokens, options={"carrier_codes": {"WanB Express": "WANB", "wanb": "WANB"}})
    order_id = sim.order_add()

    adapter.shipment_confirm(shipment(order_id, first_item(sim, order_id), carrier=carrier))

    (post,) = sim.requests_to("/orders/v0/")
    detail = json.loads(post.body)["packageDetail"]
    assert (detail["carrierCode"], detail["carrierName"]) == (code, carrier)
    assert sim.packages(order_id)[0]["carrier"] == (carrier if code == "Other" else code)


# -- stock -----------------------------------------------------------------------------------------------------------


class RecordingTransport(httpx.HTTPTransport):
    """A real transport that remembers the raw request targets (to see how the SKU was encoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.targets.append(request.url.raw_path)
        return super().handle_request(request)


def test_stock_is_merged_into_fulfillment_availability_as_the_model_says(sim, server, tokens):
    sku = "LAMP/01 #3"
    sim.listing_add(sku, product_type="LAMP", quantity=2)
    transport = RecordingTransport()
    with ChannelHttp(backoff_base=0.001, timeout=PATIENT, transport=transport) as http:
        adapter = make_adapter(server, http, tokens)

        results = adapter.stock_push([StockOut(sku, 7, options={"product_type": "LAMP"})])

    assert results == [StockResult(sku, ok=True, message="")]
    target = transport.targets[-1].decode()
    path, _, query = target.partition("?")
    assert path == "/listings/2021-08-01/items/A2SEABRIDGE7SIM/LAMP%2F01%20%233"
    assert parse_qs(query) == {"marketplaceIds": [US], "includedData": ["issues"]}
    (patch,) = sim.requests_to("/listings/", "PATCH")
    assert patch.headers["x-amz-access-token"] == tokens.token.value
    assert json.loads(patch.body) == {
        "productType": "LAMP",
        "patches": [
            {
                "op": "merge",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
            }
        ],
    }
    assert sim.stock[sku] == 7


def test_merging_the_quantity_keeps_the_sellers_handling_time_where_replace_would_drop_it(sim, server, adapter, tokens):
    sim.listing_add("MUG", quantity=1, lead_time_days=5)
    sim.listing_add("CUP", quantity=1, lead_time_days=5)

    adapter.stock_push([StockOut("MUG", 9, options={"product_type": "PRODUCT"})])
    replaced = httpx.patch(
        f"{server.url}/listings/2021-08-01/items/{sim.seller_id}/CUP",
        params={"marketplaceIds": US},
        headers={"x-amz-access-token": tokens.token.value},
        json={
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 9}],
                }
            ],
        },
    )

    assert replaced.json()["status"] == "ACCEPTED"
    assert sim.listings["MUG"].fulfillment_availability == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 9, "lead_time_to_ship_max_days": 5}
    ]
    assert sim.listings["CUP"].fulfillment_availability == [{"fulfillment_channel_code": "DEFAULT", "quantity": 9}]


def test_stock_failures_come_back_item_by_item_with_amazons_message(sim, adapter):
    sim.listing_add("OK-1", product_type="PRODUCT", quantity=0)
    sim.listing_add("LOCKED", product_type="PRODUCT", quantity=4)
    sim.listing_refuse("LOCKED", "The listing is suppressed.", code="18027")
    sim.listing_add("LAMP", product_type="LAMP", quantity=4)
    items = [
        StockOut("OK-1", 3, options={"product_type": "PRODUCT"}),
        StockOut("LOCKED", 3, options={"product_type": "PRODUCT"}),
        StockOut("GHOST", 3, options={"product_type": "PRODUCT"}),
        StockOut("LAMP", 3, options={"product_type": "PRODUCT"}),
        StockOut("LAMP", 3, options={}),
        StockOut("OK-1", -2, options={"product_type": "PRODUCT"}),
    ]

    results = [adapter.stock_push([item])[0] for item in items]

    assert [(result.channel_sku, result.ok) for result in results] == [
        ("OK-1", True),
        ("LOCKED", False),
        ("GHOST", False),
        ("LAMP", False),
        ("LAMP", False),
        ("OK-1", True),
    ]
    assert results[1].message == "18027: The listing is suppressed."
    assert "GHOST is not in the selling partner's catalogue" in results[2].message
    assert "does not match" in results[3].message
    assert "product type" in results[4].message
    assert sim.stock == {"OK-1": 0, "LOCKED": 4, "LAMP": 4}  # an oversold listing shows none, never a negative
    assert len(sim.requests_to("/listings/", "PATCH")) == 5  # no call without a product type


def test_a_listing_patch_refused_as_a_bad_request_is_that_items_failure(sim, adapter):
    sim.listing_add("OK-1")
    sim.fault("/listings/", status=400, body=errors("InvalidInput", "Invalid input"), times=1)

    (result,) = adapter.stock_push([StockOut("OK-1", 3, options={"product_type": "PRODUCT"})])

    assert not result.ok
    assert result.message.startswith("InvalidInput: Invalid input")


# -- the store's region and the demo data ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marketplace_id", "endpoint"),
    [
        ("ATVPDKIKX0DER", "https://sellingpartnerapi-na.amazon.com"),
        ("A1PA6795UKMFR9", "https://sellingpartnerapi-eu.amazon.com"),
        ("A1VC38T7YXB528", "https://sellingpartnerapi-fe.amazon.com"),
    ],
)
def test_a_store_without_its_own_api_url_uses_its_marketplaces_region(http, marketplace_id, endpoint):
    connection = StoreConnection(
        channel="amazon", api_base_url="", credentials={}, tokens=MemoryTokens({}), marketplace_id=marketplace_id
    )

    assert AmazonAdapter(connection, http).base_url == endpoint


def test_seed_demo_is_the_same_for_the_same_seed_and_looks_like_a_sellers_orders():
    markets = [
        "ATVPDKIKX0DER",
        "A1F83G8C2ARO7P",
        "A1PA6795UKMFR9",
        "A13V1IB3VIYZZH",
        "A39IBJ37TRP1C6",
        "A1VC38T7YXB528",
    ]
    first, second = AmazonSimulator(limits={}), AmazonSimulator(limits={})
    seeded = []
    for simulator in (first, second):
        simulator.now = NOW
        seeded.append(simulator.seed_demo(600, [f"SKU-{n:02d}" for n in range(40)], seed=11, marketplace_ids=markets))

    assert seeded[0] == seeded[1]
    orders = [first.order(order_id) for order_id in seeded[0]]
    assert orders == [second.order(order_id) for order_id in seeded[1]]
    assert len(orders) == 600
    assert 2.7 < sum(len(order["orderItems"]) for order in orders) / 600 < 3.3
    statuses = Counter(order["fulfillment"]["fulfillmentStatus"] for order in orders)
    assert statuses.most_common(1)[0][0] == "UNSHIPPED"
    assert statuses["UNSHIPPED"] > 300
    assert {"PENDING", "SHIPPED", "CANCELLED"} <= set(statuses)
    countries = {order["recipient"]["deliveryAddress"]["countryCode"] for order in orders}
    assert countries == {"US", "GB", "DE", "FR", "AU", "JP"}
    assert all(order["lastUpdatedTime"] <= "2026-03-02T11:57:00Z" for order in orders)
    assert set(first.stock) == {f"SKU-{n:02d}" for n in range(40)}


def test_every_seeded_order_reads_without_a_problem_and_amazons_own_are_left_out(sim, adapter):
    order_ids = sim.seed_demo(250, [f"SKU-{n:02d}" for n in range(30)], seed=3, fba_share=0.1)

    orders = collect(adapter, since=NOW - timedelta(days=15), until=NOW - timedelta(minutes=3))

    merchant = {order_id for order_id in order_ids if sim.order(order_id)["fulfillment"]["fulfilledBy"] == "MERCHANT"}
    assert len(merchant) < 250
    assert all(isinstance(order, OrderIn) for order in orders)
    assert {order.channel_order_id for order in orders} == merchant
    assert len(searches(sim)) == 3
