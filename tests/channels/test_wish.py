"""The Wish adapter against the Wish simulator, over real HTTP on 127.0.0.1: keyset paging and its traps, tokens
that a refresh revokes, 429 with Wish-Rate-Limit-Reset, odd orders, tracking without an idempotency key, and
inventory refused product by product."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from channels.adapters.base import (
    AccessToken,
    AuthFailed,
    BadResponse,
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
from channels.adapters.wish import WishAdapter, reset_seconds, wish_time
from channels.simulators.base import SimulatorServer
from channels.simulators.wish import DELETE, WishSimulator
from orders.inbound import OrderIn
from tests.channels.timeouts import IMPATIENT, PATIENT, SLOW

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
PAYMENT = "order_payment.general_payment_details"
SHIPPING = f"{PAYMENT}.product_shipping_price"
WINDOW = {"since": NOW - timedelta(days=1), "until": NOW + timedelta(hours=1)}


class Store:
    """A simulator served on 127.0.0.1 and adapters connected to it, each with its own ChannelHttp."""

    def __init__(self, sim: WishSimulator, server: SimulatorServer) -> None:
        self.sim = sim
        self.server = server
        self.https: list[ChannelHttp] = []

    def credentials(self, **changes: str) -> dict[str, str]:
        return {
            "client_id": self.sim.client_id,
            "client_secret": self.sim.client_secret,
            "access_token": self.sim.access_token,
            "refresh_token": self.sim.refresh_token,
            **changes,
        }

    def adapter(
        self,
        *,
        tokens: MemoryTokens | None = None,
        credentials: dict[str, str] | None = None,
        options: dict | None = None,
        max_attempts: int = 3,
        timeout: float = PATIENT,
    ) -> tuple[WishAdapter, list[float]]:
        waits: list[float] = []
        http = ChannelHttp(backoff_base=0.001, timeout=timeout, sleep=waits.append, max_attempts=max_attempts)
        self.https.append(http)
        credentials = credentials or self.credentials()
        connection = StoreConnection(
            channel="wish",
            api_base_url=f"{self.server.url}/api/v3",
            credentials=credentials,
            tokens=tokens or MemoryTokens(credentials),
            options={"page_size": 3, "warehouse_id": self.sim.warehouse_id, **(options or {})},
        )
        return WishAdapter(connection, http), waits

    def list_requests(self) -> list[dict[str, str]]:
        return [
            {name: values[0] for name, values in request.query.items()}
            for request in self.sim.requests_to("/api/v3/orders", "GET")
            if request.path == "/api/v3/orders"
        ]


@pytest.fixture(scope="module")
def server():
    """One server for the module (stopping one takes half a second); each test gives it its own simulator."""
    with SimulatorServer(WishSimulator(now=NOW)) as served:
        yield served


@pytest.fixture
def store(server):
    sim = WishSimulator(now=NOW)
    server.server.set_app(sim)
    connected = Store(sim, server)
    yield connected
    for http in connected.https:
        http.close()


def orders_at(sim: WishSimulator, *seconds: float, released: list[float] | None = None) -> list[str]:
    """One order updated at NOW + each of ``seconds`` (released then too, unless ``released`` says otherwise)."""
    ids = []
    for index, offset in enumerate(seconds):
        released_at = NOW + timedelta(seconds=released[index] if released else offset)
        ids.append(
            sim.order_add(sku=f"SKU-{index}", released_at=released_at, updated_at=NOW + timedelta(seconds=offset))
        )
    return ids


def ids_of(results) -> list[str]:
    return [result.channel_order_id for result in results]


def shipment(order_id: str, tracking: str = "YT2412345678901", reference: str = "41") -> ShipmentOut:
    return ShipmentOut(
        channel_order_id=order_id,
        reference=reference,
        carrier="yunexpress",
        service="YunExpress Global Direct",
        tracking_number=tracking,
        shipped_at=NOW,
        lines=(ShipmentLineOut(channel_line_id=order_id, quantity=1),),
    )


# --- Paging ----------------------------------------------------------------------------------------------------


def test_pages_follow_updated_at_with_the_requests_wish_documents(store):
    ids = orders_at(store.sim, 1, 2, 3, 4, 5, 6, 7)
    adapter, _waits = store.adapter()

    results = list(adapter.orders_changed(**WINDOW))

    assert ids_of(results) == ids
    requests = store.list_requests()
    assert requests[0] == {
        "limit": "3",
        "sort_by": "updated_at.asc",
        "updated_at_min": "2025-03-02T08:00:00.000Z",
        "updated_at_max": "2025-03-03T09:00:00.000Z",
    }
    # Each page starts at the last row's updated_at, which is inclusive: that row comes again and is skipped.
    assert [request["updated_at_min"] for request in requests[1:]] == [
        "2025-03-03T08:00:03.000Z",
        "2025-03-03T08:00:05.000Z",
        "2025-03-03T08:00:07.000Z",
    ]
    assert len(requests) == 4
    headers = store.sim.requests_to("/api/v3/orders")[0].headers
    assert headers["authorization"] == f"Bearer {store.sim.access_token}"
    assert headers["accept"] == "application/json"


def test_orders_fulfilled_by_wish_are_left_out(store):
    ours = store.sim.order_add(sku="SKU-OURS", updated_at=NOW + timedelta(seconds=1), order_types=("WISH_EXPRESS",))
    store.sim.order_add(
        sku="SKU-FBW", updated_at=NOW + timedelta(seconds=2), order_types=("WISH_EXPRESS", "FULFILLED_BY_WISH")
    )
    adapter, _waits = store.adapter()

    assert ids_of(adapter.orders_changed(**WINDOW)) == [ours]


def test_window_bounds_keep_their_sub_millisecond_edges():
    since = datetime(2025, 3, 3, 8, 0, 0, 123456, tzinfo=UTC)
    assert wish_time(since) == "2025-03-03T08:00:00.123Z"
    assert wish_time(since, round_up=True) == "2025-03-03T08:00:00.124Z"
    assert wish_time(datetime(2025, 3, 3, 8, 0, 0, 123000, tzinfo=UTC), round_up=True) == "2025-03-03T08:00:00.123Z"


def test_rows_repeated_on_the_next_page_are_read_once(store):
    store.sim.shuffle_ties = True
    ids = orders_at(store.sim, 1, 2, 2, 3, 4)
    adapter, _waits = store.adapter()

    results = list(adapter.orders_changed(**WINDOW))

    assert sorted(ids_of(results)) == sorted(ids)
    assert len(results) == 5


def test_more_orders_than_a_page_at_one_instant_are_all_read_and_paging_ends(store):
    store.sim.shuffle_ties = True
    before = orders_at(store.sim, 1)
    crowd = [
        store.sim.order_add(
            sku=f"CROWD-{n}", released_at=NOW - timedelta(minutes=10 - n), updated_at=NOW + timedelta(seconds=2)
        )
        for n in range(7)
    ]
    after = [store.sim.order_add(sku=f"AFTER-{n}", updated_at=NOW + timedelta(seconds=3 + n)) for n in range(2)]
    adapter, _waits = store.adapter()

    results = list(adapter.orders_changed(**WINDOW))

    assert sorted(ids_of(results)) == sorted(before + crowd + after)
    assert len(results) == 10
    # The crowded millisecond was read on its own, paged by released_at.
    by_release = [request for request in store.list_requests() if request["sort_by"] == "released_at.asc"]
    assert by_release[0] == {
        "limit": "3",
        "sort_by": "released_at.asc",
        "updated_at_min": "2025-03-03T08:00:02.000Z",
        "updated_at_max": "2025-03-03T08:00:02.001Z",
    }
    assert by_release[1]["released_at_min"] == "2025-03-03T07:52:00.000Z"
    assert len(store.list_requests()) < 12


def test_orders_sharing_both_sort_keys_beyond_a_page_stop_the_scan_instead_of_being_missed(store):
    for n in range(4):
        store.sim.order_add(sku=f"TWIN-{n}", released_at=NOW, updated_at=NOW + timedelta(seconds=1))
    adapter, _waits = store.adapter()

    with pytest.raises(BadResponse) as raised:
        list(adapter.orders_changed(**WINDOW))

    assert "2025-03-03T08:00:00.000Z" in raised.value.message
    assert "released_at" in raised.value.message


def test_an_order_changing_during_the_scan_is_read_again_and_none_is_missed(store):
    ids = orders_at(store.sim, 1, 2, 3, 4, 5, 6)
    adapter, _waits = store.adapter()
    scan = adapter.orders_changed(**WINDOW)
    first_page = [next(scan) for _ in range(3)]

    store.sim.now = NOW + timedelta(minutes=10)
    store.sim.order_set(ids[0], "full_address.shipping_detail.city", "Boston")  # read already
    store.sim.order_refund(ids[4])  # not read yet: it moves behind the others
    rest = list(scan)

    results = first_page + rest
    assert sorted(set(ids_of(results))) == sorted(ids)
    again = [result for result in rest if result.channel_order_id == ids[0]]
    assert [order.address.city for order in again] == ["Boston"]
    assert again[0].channel_updated_at == NOW + timedelta(minutes=10)
    refunded = [result for result in results if result.channel_order_id == ids[4]]
    assert [(order.channel_status, order.status) for order in refunded] == [("REFUNDED", "cancelled")]


def test_a_server_error_in_the_middle_of_paging_raises(store):
    orders_at(store.sim, 1, 2, 3, 4, 5)
    store.sim.fault("/api/v3/orders", status=500, times=3, after=1)
    adapter, waits = store.adapter(max_attempts=3)
    seen = []

    with pytest.raises(Transient) as raised:
        for result in adapter.orders_changed(**WINDOW):
            seen.append(result)

    assert len(seen) == 3
    assert raised.value.status == 500
    assert len(waits) == 2


def test_a_time_out_is_retried_and_a_lasting_one_raises(store):
    ids = orders_at(store.sim, 1)
    store.sim.fault("/api/v3/orders", delay=SLOW, times=1)
    adapter, waits = store.adapter(timeout=IMPATIENT)

    assert ids_of(adapter.orders_changed(**WINDOW)) == ids
    assert len(waits) == 1

    store.sim.fault("/api/v3/orders", delay=SLOW, times=2)
    adapter, _waits = store.adapter(timeout=IMPATIENT, max_attempts=2)
    with pytest.raises(Transient) as raised:
        list(adapter.orders_changed(**WINDOW))
    assert "no complete answer" in raised.value.message


# --- Throttling ------------------------------------------------------------------------------------------------


def test_429_waits_until_wish_rate_limit_reset(store):
    ids = orders_at(store.sim, 1)
    store.sim.throttle(2, reset_after=3.0)
    adapter, waits = store.adapter()

    assert ids_of(adapter.orders_changed(**WINDOW)) == ids

    assert len(waits) == 2
    assert all(2.0 < wait <= 3.0 for wait in waits), waits
    assert len(store.sim.requests_to("/api/v3/orders")) == 3


def test_throttling_that_does_not_end_raises_rate_limited(store):
    store.sim.throttle(10, reset_after=4.0)
    adapter, waits = store.adapter(max_attempts=3)

    with pytest.raises(RateLimited) as raised:
        list(adapter.orders_changed(**WINDOW))

    assert 3.0 < raised.value.retry_after <= 4.0
    assert raised.value.status == 429
    assert len(waits) == 2


def test_reset_header_is_read_in_each_format_wish_might_use():
    now = datetime(2025, 3, 3, 8, 0, tzinfo=UTC).timestamp()
    assert reset_seconds("2025-03-03T08:00:05.500Z", now=now) == 5.5
    assert reset_seconds("2025-03-03T16:00:07+08:00", now=now) == 7
    assert reset_seconds(str(int(now) + 9), now=now) == 9
    assert reset_seconds(str(int(now * 1000) + 1500), now=now) == 1.5
    assert reset_seconds("12", now=now) == 12
    assert reset_seconds("Mon, 03 Mar 2025 08:00:30 GMT", now=now) == 30
    assert reset_seconds("2025-03-03T07:00:00.000Z", now=now) == 0
    assert reset_seconds("soon", now=now) is None
    assert reset_seconds(None, now=now) is None


# --- Tokens ----------------------------------------------------------------------------------------------------


def test_an_expired_token_is_refreshed_once_and_the_new_tokens_kept(store):
    order_id = orders_at(store.sim, 1)[0]
    old_access, old_refresh = store.sim.access_token, store.sim.refresh_token
    store.sim.tokens_expire()
    tokens = MemoryTokens(store.credentials())
    adapter, _waits = store.adapter(tokens=tokens)

    assert adapter.order_get(order_id).channel_order_id == order_id
    assert adapter.order_get(order_id).channel_order_id == order_id

    assert store.sim.refresh_calls == 1
    (refresh,) = store.sim.requests_to("/api/v3/oauth/refresh_token")
    assert {name: values[0] for name, values in refresh.query.items()} == {
        "client_id": store.sim.client_id,
        "client_secret": store.sim.client_secret,
        "refresh_token": old_refresh,
        "grant_type": "refresh_token",
    }
    assert tokens.token == AccessToken(value=store.sim.access_token, expires_at=NOW + timedelta(days=30))
    assert tokens.credentials["refresh_token"] == store.sim.refresh_token != old_refresh
    assert tokens.credentials["access_token"] == store.sim.access_token != old_access
    sent = [request.headers["authorization"] for request in store.sim.requests_to(f"/api/v3/orders/{order_id}")]
    assert sent == [f"Bearer {old_access}"] + [f"Bearer {store.sim.access_token}"] * 2


def test_a_refresh_revokes_the_token_before_it(store):
    order_id = orders_at(store.sim, 1)[0]
    first, _waits = store.adapter()
    first.order_get(order_id)
    store.sim.tokens_expire()
    second, _waits = store.adapter(tokens=MemoryTokens(store.credentials()))
    second.order_get(order_id)  # refreshes: the first adapter's token is revoked, not only expired

    response = first.http.request(
        "GET",
        f"{store.server.url}/api/v3/orders/{order_id}",
        operation="probe",
        headers={"Authorization": f"Bearer {first.connection.credentials['access_token']}"},
    )
    assert response.status_code == 401
    assert response.json() == {"code": 1008, "message": "This access token has been revoked", "data": {}}


class RefreshAfterBothRefused(WishSimulator):
    """Answers the refresh only once two requests have been refused their token: both workers have met the expired
    token before either refresh could land (a timing that sleeps would only make likely)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.both_refused = threading.Event()
        self.refused = 0

    def handle(self, request):
        if request.path == "/api/v3/oauth/refresh_token":
            self.both_refused.wait(timeout=5)
        response = super().handle(request)
        if response.status == 401:
            with self.lock:
                self.refused += 1
                if self.refused == 2:
                    self.both_refused.set()
        return response


def test_two_workers_sharing_a_token_store_refresh_once(server):
    sim = RefreshAfterBothRefused(now=NOW)
    server.server.set_app(sim)
    store = Store(sim, server)
    order_id = orders_at(sim, 1)[0]
    old_access = sim.access_token
    sim.tokens_expire()
    tokens = MemoryTokens(store.credentials())
    workers = [store.adapter(tokens=tokens, timeout=5)[0] for _ in range(2)]
    barrier = threading.Barrier(2)
    results: dict[int, object] = {}

    def work(number: int) -> None:
        barrier.wait()
        try:
            results[number] = workers[number].order_get(order_id)
        except Exception as exc:  # the assertion below shows it
            results[number] = exc

    threads = [threading.Thread(target=work, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    for http in store.https:
        http.close()

    assert sim.both_refused.is_set()
    assert [type(results[number]) for number in range(2)] == [OrderIn, OrderIn]
    assert sim.refresh_calls == 1
    assert tokens.refreshes == 1
    sent = [request.headers["authorization"] for request in sim.requests_to(f"/api/v3/orders/{order_id}")]
    assert sorted(sent) == sorted([f"Bearer {old_access}"] * 2 + [f"Bearer {sim.access_token}"] * 2)


def test_refused_credentials_raise_auth_failed_without_the_secret(store, caplog):
    orders_at(store.sim, 1)
    store.sim.tokens_expire()
    adapter, _waits = store.adapter(credentials=store.credentials(client_secret="wrong-secret-value"))

    with caplog.at_level(logging.INFO, logger="httpx"), pytest.raises(AuthFailed) as raised:
        list(adapter.orders_changed(**WINDOW))

    assert "Incorrect credentials" in raised.value.message
    assert "wrong-secret-value" not in raised.value.message
    assert store.sim.refresh_calls == 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "oauth/refresh_token" in logged
    assert "wrong-secret-value" not in logged
    assert store.sim.refresh_token not in logged


def test_a_token_refused_after_the_refresh_raises_auth_failed(store):
    orders_at(store.sim, 1)
    refused = {"code": 1007, "message": "This access token has expired", "data": {}}
    store.sim.fault("/api/v3/orders", status=401, body=refused, times=2)
    adapter, _waits = store.adapter()

    with pytest.raises(AuthFailed) as raised:
        list(adapter.orders_changed(**WINDOW))

    assert "even after a refresh" in raised.value.message
    assert store.sim.refresh_calls == 1


def test_a_disabled_account_is_auth_failed_without_a_refresh(store):
    body = {"code": 1002, "message": "Cannot access API due to account is disabled", "data": {}}
    store.sim.fault("/api/v3/orders", status=400, body=body)
    adapter, _waits = store.adapter()

    with pytest.raises(AuthFailed) as raised:
        list(adapter.orders_changed(**WINDOW))

    assert "account is disabled" in raised.value.message
    assert store.sim.refresh_calls == 0


# --- Reading orders --------------------------------------------------------------------------------------------


def test_an_order_is_one_line_with_decimal_money_and_every_address_line(store):
    order_id = store.sim.order_add(
        sku="MUG-RED",
        quantity=3,
        price="19.99",
        shipping="2.55",
        title="Ceramic Mug",
        color="Red",
        size="350 ml",
        released_at=NOW - timedelta(hours=2),
        updated_at=NOW,
        address={
            "name": "Ana Souza",
            "street_address1": "Rua Augusta 1500",
            "street_address2": "Apto 12",
            "street_address3": "Bloco B",
            "neighborhood": "Consolação",
            "city": "São Paulo",
            "state": "SP",
            "zipcode": "01304-001",
            "country": "Brazil",
            "country_code": "br",
            "phone_number": {"number": "11987654321", "country_code": "55"},
        },
        order_types=("WISH_EXPRESS", "VAT"),
    )
    adapter, _waits = store.adapter()

    order = adapter.order_get(order_id)

    assert order.channel_order_id == order_id
    assert (order.status, order.channel_status) == ("awaiting_shipment", "APPROVED")
    assert order.ordered_at == order.paid_at == NOW - timedelta(hours=2)
    assert order.channel_updated_at == NOW
    assert order.ship_by == NOW - timedelta(hours=2) + timedelta(days=5)
    assert order.currency == "USD"
    assert (order.subtotal, order.shipping_total, order.total) == (
        Decimal("59.97"),
        Decimal("7.65"),
        Decimal("67.62"),
    )
    assert order.requested_service == "WISH_EXPRESS"
    (line,) = order.lines
    assert line.channel_line_id == order_id
    assert (line.channel_sku, line.quantity, line.unit_price) == ("MUG-RED", 3, Decimal("19.99"))
    assert line.title == "Ceramic Mug (Red, 350 ml)"
    assert line.channel_item_id == store.sim.orders[order_id]["product_information"]["id"]
    address = order.address
    assert (address.name, address.address1, address.address2, address.address3) == (
        "Ana Souza",
        "Rua Augusta 1500",
        "Apto 12",
        "Bloco B",
    )
    assert (address.district, address.city, address.state, address.postcode, address.country, address.phone) == (
        "Consolação",
        "São Paulo",
        "SP",
        "01304-001",
        "BR",
        "11987654321",
    )
    assert order.buyer_name == "Ana Souza"
    assert order.raw == store.sim.order(order_id)
    assert order.raw["order_payment"]["general_payment_details"]["payment_total"]["amount"] == 58.62


def test_states_are_mapped_and_kept_as_wish_says_them(store):
    sim = store.sim
    approved, shipped, refunded, review, declined, overdue, reapproved = (
        sim.order_add(sku=f"S-{n}", released_at=NOW) for n in range(7)
    )
    sim.order_ship(shipped)
    sim.order_refund(refunded)
    sim.order_set(review, "state", "REQUIRE_REVIEW")
    sim.order_set(declined, "state", "DECLINED")
    sim.order_ship(reapproved)
    sim.order_release_again(reapproved)
    sim.order_set(overdue, "fulfillment_requirements.expected_ship_time", wish_time(NOW + timedelta(days=1)))
    sim.advance(days=2)  # Wish refunds what was not shipped in time, including the re-released one
    adapter, _waits = store.adapter(options={"page_size": 50})

    found = {
        order.channel_order_id: (order.channel_status, order.status)
        for order in adapter.orders_changed(since=NOW - timedelta(days=1), until=NOW + timedelta(days=3))
    }

    assert found == {
        approved: ("APPROVED", "awaiting_shipment"),
        shipped: ("SHIPPED", "shipped"),
        refunded: ("REFUNDED", "cancelled"),
        review: ("REQUIRE_REVIEW", "pending"),
        declined: ("DECLINED", "cancelled"),
        overdue: ("REFUNDED", "cancelled"),
        reapproved: ("APPROVED", "awaiting_shipment"),
    }
    assert store.sim.order(overdue)["refunds"][0]["refund_source"] == "WISH"


def test_an_order_back_to_approved_after_shipping_comes_as_approved(store):
    order_id = store.sim.order_add(sku="BACK", released_at=NOW)
    store.sim.order_ship(order_id)
    store.sim.now = NOW + timedelta(hours=1)
    store.sim.order_release_again(order_id)
    adapter, _waits = store.adapter()

    (order,) = adapter.orders_changed(**WINDOW)

    assert (order.channel_status, order.status) == ("APPROVED", "awaiting_shipment")
    assert order.channel_updated_at == NOW + timedelta(hours=1)
    events = [record["event_type"] for record in order.raw["fulfillment_records"]]
    assert events[-2:] == ["TRACKING_CANCELLED", "ORDER_RE_RELEASED"]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (f"{PAYMENT}.product_quantity", "two", f"{PAYMENT}.product_quantity"),
        (f"{PAYMENT}.product_quantity", 0, f"{PAYMENT}.product_quantity"),
        (f"{PAYMENT}.product_price.amount", "12.50", f"{PAYMENT}.product_price.amount"),
        (f"{PAYMENT}.product_price.currency_code", 840, f"{PAYMENT}.product_price.currency_code"),
        (f"{PAYMENT}.product_shipping_price", {"amount": 1, "currency_code": "EUR"}, f"{SHIPPING}.currency_code"),
        ("state", "ON_HOLD", "state"),
        ("updated_at", "yesterday", "updated_at"),
        ("released_at", DELETE, "released_at"),
        ("product_information.sku", DELETE, "product_information.sku"),
        ("full_address.shipping_detail.country_code", "USA", "full_address.shipping_detail.country_code"),
        ("full_address.shipping_detail.city", ["Paris"], "full_address.shipping_detail.city"),
        ("full_address", DELETE, "full_address.shipping_detail"),
    ],
)  # fmt: skip
def test_an_order_that_cannot_be_read_is_a_problem_naming_the_field_and_the_run_goes_on(store, path, value, field):
    good_before, odd, good_after = orders_at(store.sim, 1, 2, 3)
    store.sim.order_set(odd, path, value, touch=False)
    adapter, _waits = store.adapter()

    results = list(adapter.orders_changed(**WINDOW))

    assert [type(result) for result in results] == [OrderIn, OrderProblem, OrderIn]
    assert ids_of(results) == [good_before, odd, good_after]
    problem = results[1]
    assert problem.field == field
    assert problem.message
    assert problem.raw == store.sim.order(odd)


def test_order_get_of_an_unknown_order_is_rejected_with_wishs_message(store):
    adapter, _waits = store.adapter()

    with pytest.raises(Rejected) as raised:
        adapter.order_get("5f00000000000000000000ff")

    assert "There is no such order for the merchant." in raised.value.message
    assert raised.value.code == "wish_90001"


def test_an_answer_that_is_not_wishs_envelope_is_a_bad_response(store):
    store.sim.fault("/api/v3/orders", status=200, body="<html>maintenance</html>")
    adapter, _waits = store.adapter()

    with pytest.raises(BadResponse):
        list(adapter.orders_changed(**WINDOW))


# --- Shipping --------------------------------------------------------------------------------------------------


def test_a_shipment_is_told_once_with_the_body_wish_documents(store):
    order_id = store.sim.order_add(sku="SHIP")
    adapter, _waits = store.adapter(options={"shipping_providers": {"yunexpress": "YunExpress"}})

    first = adapter.shipment_confirm(shipment(order_id))
    again = adapter.shipment_confirm(shipment(order_id))

    assert (first.already_confirmed, again.already_confirmed) == (False, True)
    (put,) = store.sim.requests_to(f"/api/v3/orders/{order_id}/tracking", "PUT")
    assert put.json() == {
        "shipping_provider": "YunExpress",
        "tracking_number": "YT2412345678901",
        "origin_country": "CN",
        "ship_note": "Seabridge shipment 41",
    }
    assert put.headers["authorization"] == f"Bearer {store.sim.access_token}"
    assert put.headers["content-type"] == "application/json"
    assert store.sim.order(order_id)["state"] == "SHIPPED"


def test_a_tracking_still_being_processed_counts_as_told(store):
    store.sim.auto_process_tracking = False
    order_id = store.sim.order_add(sku="SLOW")
    adapter, _waits = store.adapter(options={"shipping_providers": {"yunexpress": "YunExpress"}})

    adapter.shipment_confirm(shipment(order_id))
    assert store.sim.order(order_id)["processing_status"] == "IN_PROGRESS"
    assert adapter.shipment_confirm(shipment(order_id)).already_confirmed is True

    assert len(store.sim.confirmations) == 1


def test_a_repeated_tracking_is_taken_silently_by_wish_and_uses_up_the_update(store):
    """Why the adapter reads the order first: Wish takes the same tracking again as an update, and refuses the
    update after that."""
    order_id = store.sim.order_add(sku="TWICE")
    adapter, _waits = store.adapter()
    body = {"shipping_provider": "YunExpress", "tracking_number": "YT1", "origin_country": "CN"}
    url = f"{store.server.url}/api/v3/orders/{order_id}/tracking"
    headers = {"Authorization": f"Bearer {store.sim.access_token}"}

    answers = [adapter.http.request("PUT", url, operation="probe", json=body, headers=headers) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 400]
    assert "can no longer be updated" in answers[2].json()["message"]


def test_a_re_released_order_is_told_again(store):
    order_id = store.sim.order_add(sku="AGAIN")
    adapter, _waits = store.adapter(options={"shipping_providers": {"yunexpress": "YunExpress"}})
    adapter.shipment_confirm(shipment(order_id))
    store.sim.order_release_again(order_id)

    result = adapter.shipment_confirm(shipment(order_id))

    assert result.already_confirmed is False
    assert len(store.sim.confirmations) == 2
    assert store.sim.order(order_id)["state"] == "SHIPPED"


@pytest.mark.parametrize("lost", [{}, {"delay": SLOW}], ids=["502-after-acting", "time-out-after-acting"])
def test_an_unclear_answer_is_checked_on_the_order_not_sent_again(store, lost):
    order_id = store.sim.order_add(sku="LOST")
    store.sim.answer_lose(f"/api/v3/orders/{order_id}/tracking", **lost)
    adapter, _waits = store.adapter(options={"shipping_providers": {"yunexpress": "YunExpress"}}, timeout=IMPATIENT)

    result = adapter.shipment_confirm(shipment(order_id))

    assert result.already_confirmed is True
    assert len(store.sim.requests_to(f"/api/v3/orders/{order_id}/tracking", "PUT")) == 1
    assert len(store.sim.confirmations) == 1


def test_a_failure_before_wish_acted_raises_and_the_next_try_tells_once(store):
    order_id = store.sim.order_add(sku="RETRY")
    store.sim.fault(f"/api/v3/orders/{order_id}/tracking", status=503, method="PUT")
    adapter, _waits = store.adapter(options={"shipping_providers": {"yunexpress": "YunExpress"}})

    with pytest.raises(Transient):
        adapter.shipment_confirm(shipment(order_id))
    assert store.sim.confirmations == []
    # A PUT without an idempotency key is not resent by ChannelHttp after a 5xx.
    assert len(store.sim.requests_to(f"/api/v3/orders/{order_id}/tracking", "PUT")) == 1

    assert adapter.shipment_confirm(shipment(order_id)).already_confirmed is False
    assert adapter.shipment_confirm(shipment(order_id)).already_confirmed is True
    assert len(store.sim.confirmations) == 1


def test_a_refunded_order_is_rejected_with_wishs_message(store):
    order_id = store.sim.order_add(sku="GONE")
    store.sim.order_refund(order_id)
    adapter, _waits = store.adapter(options={"shipping_providers": {"yunexpress": "YunExpress"}})

    with pytest.raises(Rejected) as raised:
        adapter.shipment_confirm(shipment(order_id))

    assert f"Order {order_id} has been refunded and cannot be shipped" in raised.value.message


def test_a_carrier_wish_does_not_know_is_rejected(store):
    order_id = store.sim.order_add(sku="CARRIER")
    adapter, _waits = store.adapter()

    with pytest.raises(Rejected) as raised:
        adapter.shipment_confirm(shipment(order_id))

    assert "yunexpress is not an accepted shipping provider" in raised.value.message


# --- Stock -----------------------------------------------------------------------------------------------------


def stock_item(sim: WishSimulator, sku: str, quantity: int, **changes) -> StockOut:
    """The item of a mapping to ``sku``'s listing (an unknown product for a SKU Wish does not list)."""
    product_id, variation_id = sim._sku_index.get(sku, ("5f00000000000000000000aa", "5f00000000000000000000bb"))
    fields = {"listing_id": product_id, "listing_variant_id": variation_id, **changes}
    return StockOut(channel_sku=sku, quantity=quantity, **fields)


def test_stock_is_set_per_product_with_a_result_per_item(store):
    sim = store.sim
    shirt, shirt_blue = sim.product_add("SHIRT-BLUE")
    sim.product_add("SHIRT-RED", product_id=shirt)
    sim.product_add("CAP")
    sim.variation_remove("CAP")
    lamp, lamp_white = sim.product_add("LAMP-WHITE")
    sim.product_add("LAMP-BLACK", product_id=lamp)
    sim.variation_remove("LAMP-BLACK")
    items = [
        stock_item(sim, "SHIRT-BLUE", 5),
        stock_item(sim, "SHIRT-RED", 600_000),
        stock_item(sim, "CAP", 3),
        stock_item(sim, "GHOST", 1),
        stock_item(sim, "GHOST-TOO", 1, listing_variant_id="5f00000000000000000000cc"),
        stock_item(sim, "LAMP-WHITE", 7),
        stock_item(sim, "LAMP-BLACK", 8),
        StockOut(channel_sku="UNMAPPED", quantity=2),
    ]
    adapter, _waits = store.adapter()

    results = adapter.stock_push(items)

    assert [(result.channel_sku, result.ok) for result in results] == [
        ("SHIRT-BLUE", True),
        ("SHIRT-RED", True),
        ("CAP", False),
        ("GHOST", False),
        ("GHOST-TOO", False),
        ("LAMP-WHITE", True),
        ("LAMP-BLACK", False),
        ("UNMAPPED", False),
    ]
    assert "has been removed by Wish" in results[2].message
    assert "There is no such product for the merchant." in results[3].message
    assert "There is no such product for the merchant." in results[4].message
    assert "has been removed by Wish" in results[6].message
    assert "product ID or variation ID" in results[7].message
    assert (sim.inventory("SHIRT-BLUE"), sim.inventory("SHIRT-RED"), sim.inventory("LAMP-WHITE")) == (5, 500_000, 7)
    first = sim.requests_to(f"/api/v3/products/{shirt}", "PUT")[0]
    assert first.json() == {
        "variations": [
            {"id": shirt_blue, "inventories": [{"warehouse_id": sim.warehouse_id, "inventory": 5}]},
            {
                "id": sim._sku_index["SHIRT-RED"][1],
                "inventories": [{"warehouse_id": sim.warehouse_id, "inventory": 500_000}],
            },
        ]
    }
    # The lamp's update was refused as a whole, then each of its items was sent alone.
    lamp_bodies = [request.json() for request in sim.requests_to(f"/api/v3/products/{lamp}", "PUT")]
    assert [[variation["id"] for variation in body["variations"]] for body in lamp_bodies] == [
        [lamp_white, sim._sku_index["LAMP-BLACK"][1]],
        [lamp_white],
        [sim._sku_index["LAMP-BLACK"][1]],
    ]
    # An unknown product is not split: Wish refuses it whatever the variation.
    assert len(sim.requests_to("/api/v3/products/5f00000000000000000000aa", "PUT")) == 1


def test_stock_goes_to_the_mappings_warehouse_or_fails_without_one(store):
    sim = store.sim
    sim.warehouse_ids.add("5d6e7f8091a2b3c4d5e6f799")
    sim.product_add("MAT")
    sim.product_add("BAG")
    adapter, _waits = store.adapter(options={"warehouse_id": ""})

    results = adapter.stock_push(
        [
            stock_item(sim, "MAT", 4, options={"warehouse_id": "5d6e7f8091a2b3c4d5e6f799"}),
            stock_item(sim, "BAG", 4),
        ]
    )

    assert [result.ok for result in results] == [True, False]
    assert sim.inventory("MAT", "5d6e7f8091a2b3c4d5e6f799") == 4
    assert "warehouse" in results[1].message
    assert adapter.stock_batch_size == 50


# --- The demo --------------------------------------------------------------------------------------------------


def test_seed_demo_is_deterministic_and_reads_without_problems(store):
    skus = [f"DEMO-{n}" for n in range(12)]
    twin = WishSimulator(now=NOW)
    made = store.sim.seed_demo(60, skus, seed=7)
    assert twin.seed_demo(60, skus, seed=7) == made
    assert [twin.order(order_id) for order_id in made] == [store.sim.order(order_id) for order_id in made]
    adapter, _waits = store.adapter(options={"page_size": 500})

    orders = list(adapter.orders_changed(since=NOW - timedelta(days=30), until=NOW))

    assert len(orders) == 60
    assert all(isinstance(order, OrderIn) for order in orders)
    statuses = [order.status for order in orders]
    assert statuses.count("awaiting_shipment") > len(orders) / 2
    assert {"shipped", "cancelled"} & set(statuses)
    assert len({order.address.country for order in orders}) >= 5
    checkouts: dict[str, int] = {}
    for order in orders:
        checkouts[order.raw["transaction_id"]] = checkouts.get(order.raw["transaction_id"], 0) + 1
    assert max(checkouts.values()) <= 4
    assert max(checkouts.values()) > 1
