"""The AliExpress adapter against the IOP simulator, over real HTTP on 127.0.0.1 (no database)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest

from channels.adapters.aliexpress import AliExpressAdapter, local_text
from channels.adapters.base import (
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
from channels.simulators.aliexpress import AliExpressSimulator
from channels.simulators.base import SimulatorServer
from orders.inbound import OrderIn
from tests.channels.timeouts import IMPATIENT, PATIENT, SLOW

CREDENTIALS = {
    "app_key": "sim-app-key",
    "app_secret": "sim-app-secret",
    "access_token": "sim-access-0",
    "refresh_token": "sim-refresh-0",
}
PACIFIC = ZoneInfo("America/Los_Angeles")


class Switchboard:
    """One server for the module, answering with whichever simulator the running test made (starting and stopping
    a server per test costs half a second each: the stop waits for the serving loop's poll)."""

    def __init__(self) -> None:
        self.sim: AliExpressSimulator | None = None

    def __call__(self, environ, start_response):
        return self.sim(environ, start_response)


@pytest.fixture(scope="module")
def switchboard():
    board = Switchboard()
    with SimulatorServer(board) as running:
        board.server = running
        yield board


@pytest.fixture
def sim(switchboard):
    switchboard.sim = AliExpressSimulator()
    return switchboard.sim


@pytest.fixture
def server(switchboard, sim):
    return switchboard.server


class Store:
    """An adapter on the simulator, with what a test looks at: the sleeps asked for and the token store."""

    def __init__(self, server, *, credentials=None, options=None, timeout=PATIENT, max_attempts=5):
        self.waits: list[float] = []
        self.tokens = MemoryTokens(credentials or CREDENTIALS)
        self.http = ChannelHttp(backoff_base=0.001, timeout=timeout, max_attempts=max_attempts, sleep=self.waits.append)
        connection = StoreConnection(
            channel="aliexpress",
            api_base_url=server.url,
            auth_url=server.url + "/rest",
            credentials=dict(credentials or CREDENTIALS),
            tokens=self.tokens,
            options=options or {},
        )
        self.adapter = AliExpressAdapter(connection, self.http)

    def orders(self, sim, *, since=None, until=None):
        return list(
            self.adapter.orders_changed(
                since=since or sim.now - timedelta(days=2), until=until or sim.now + timedelta(hours=1)
            )
        )


@pytest.fixture
def store(server):
    made = Store(server)
    yield made
    made.http.close()


def independent_sign(secret: str, params: dict[str, str], api_path: str = "") -> str:
    text = api_path + "".join(k + params[k] for k in sorted(params) if k != "sign")
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest().upper()


def form_of(request) -> dict[str, str]:
    return request.form()


def calls(sim, method: str) -> list[dict[str, str]]:
    return [form_of(r) for r in sim.requests_to("/sync") if form_of(r).get("method") == method]


def one_line(sku="SKU-1", quantity=1, unit_price="10.00", product_id=1005001234567890, **extra):
    return {"sku_code": sku, "quantity": quantity, "unit_price": unit_price, "product_id": product_id, **extra}


def shipment_of(order: OrderIn, *, tracking="LX123456789CN", carrier="dhl", lines=None) -> ShipmentOut:
    return ShipmentOut(
        channel_order_id=order.channel_order_id,
        reference="1",
        carrier=carrier,
        service="Express",
        tracking_number=tracking,
        shipped_at=datetime(2026, 3, 10, 20, 0, tzinfo=UTC),
        lines=tuple(lines or (ShipmentLineOut(line.channel_line_id, line.quantity) for line in order.lines)),
        order_raw=order.raw,
    )


# --- The wire format ------------------------------------------------------------------------------------------------


def test_order_list_request_is_a_signed_form_post_with_the_window_in_pacific_time(sim, store):
    since, until = datetime(2026, 2, 1, 8, 0, tzinfo=UTC), datetime(2026, 2, 2, 8, 0, 30, 500, tzinfo=UTC)
    before = int(time.time() * 1000)

    assert store.orders(sim, since=since, until=until) == []

    first, finished = sim.requests_to("/sync")
    assert first.method == "POST" and first.query == {}
    assert first.headers["content-type"] == "application/x-www-form-urlencoded"
    form = form_of(first)
    assert set(form) == {
        "app_key",
        "timestamp",
        "sign_method",
        "method",
        "session",
        "simplify",
        "format",
        "param0",
        "sign",
    }
    assert form["app_key"] == "sim-app-key"
    assert form["sign_method"] == "sha256"
    assert form["method"] == "aliexpress.solution.order.get"
    assert form["session"] == "sim-access-0"
    assert (form["simplify"], form["format"]) == ("false", "json")
    assert before <= int(form["timestamp"]) <= int(time.time() * 1000)
    assert form["sign"] == independent_sign("sim-app-secret", form)
    assert json.loads(form["param0"]) == {
        "modified_date_start": "2026-02-01 00:00:00",
        "modified_date_end": "2026-02-02 00:00:31",  # a partial second rounds outwards
        "page_size": 50,
        "current_page": 1,
    }
    assert json.loads(form_of(finished)["param0"])["order_status_list"] == ["FINISH"]


def test_simulator_refuses_a_wrong_sign_in_each_gateway_dialect(sim, server):
    params = {"app_key": "sim-app-key", "timestamp": "1", "sign_method": "sha256", "method": "x", "sign": "00"}
    sync = httpx.post(server.url + "/sync", data=params).json()
    rest = httpx.post(server.url + "/rest/auth/token/refresh", data=params).json()

    assert sync["error_response"]["code"] == "IncompleteSignature"
    assert sync["error_response"]["type"] == "ISV"
    assert rest["code"] == "IncompleteSignature" and "message" in rest and "error_response" not in rest


def test_wrong_app_secret_is_auth_failed_without_a_refresh(sim, server):
    wrong = Store(server, credentials={**CREDENTIALS, "app_secret": "not-the-secret"})

    with pytest.raises(AuthFailed, match="IncompleteSignature"):
        wrong.orders(sim)
    assert sim.refreshes == 0
    assert "not-the-secret" not in str(wrong.tokens.credentials.get("access_token"))


# --- Orders ---------------------------------------------------------------------------------------------------------


def test_order_is_normalised_with_its_receipt_address(sim, store):
    order_id = sim.add_order(
        order_id=9_123_456_789_012_347,  # above 2**53: a float would change it
        lines=[
            one_line("SKU-1", 2, "12.34", child_id=9_123_456_789_012_348, name="Phone case", memo="Gift wrap"),
            one_line("SKU-2", 1, "5.00", product_id=1005009999999999, child_id=9_123_456_789_012_349),
        ],
        buyer_name="Oliver Wilson",
        address={
            "contact_person": "Oliver Wilson",
            "detail_address": "224 High Street",
            "address2": "Flat 3",
            "address": "Rear entrance",
            "city": "Leeds",
            "province": "West Yorkshire",
            "zip": "LS1 4DY",
            "country": "UK",
            "phone_country": "44",
            "mobile_no": "7700900123",
        },
    )

    [order] = store.orders(sim)

    assert order.channel_order_id == "9123456789012347" == order_id
    assert (order.status, order.channel_status) == ("awaiting_shipment", "WAIT_SELLER_SEND_GOODS")
    assert order.ordered_at == datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    assert order.paid_at == order.channel_updated_at == datetime(2026, 3, 10, 18, 2, tzinfo=UTC)
    assert [
        (line.channel_line_id, line.channel_sku, line.quantity, line.unit_price, line.title, line.channel_item_id)
        for line in order.lines
    ] == [
        ("9123456789012348", "SKU-1", 2, Decimal("12.34"), "Phone case", "1005001234567890"),
        ("9123456789012349", "SKU-2", 1, Decimal("5.00"), "Product SKU-2", "1005009999999999"),
    ]
    assert (order.currency, order.subtotal, order.total) == ("USD", Decimal("29.68"), Decimal("29.68"))
    assert order.buyer_name == "Oliver Wilson"
    assert order.buyer_note == "Gift wrap"
    assert order.requested_service == "AliExpress Standard Shipping"
    address = order.address
    assert (address.name, address.address1, address.address2, address.address3) == (
        "Oliver Wilson",
        "224 High Street",
        "Flat 3",
        "Rear entrance",
    )
    assert (address.city, address.state, address.postcode, address.country) == (
        "Leeds",
        "West Yorkshire",
        "LS1 4DY",
        "GB",
    )
    assert address.phone == "+44 7700900123"
    assert order.raw["order"]["order_id"] == 9123456789012347
    assert order.raw["receipt_info"]["country"] == "UK"
    [receipt_call] = calls(sim, "aliexpress.solution.order.receiptinfo.get")
    assert json.loads(receipt_call["param1"]) == {"order_id": 9123456789012347}


@pytest.mark.parametrize(
    ("status", "logistics_status", "expected"),
    [
        ("PLACE_ORDER_SUCCESS", "NO_LOGISTICS", "pending"),
        ("RISK_CONTROL", "WAIT_SELLER_SEND_GOODS", "pending"),
        ("WAIT_SELLER_EXAMINE_MONEY", "NO_LOGISTICS", "pending"),
        ("WAIT_SELLER_SEND_GOODS", "WAIT_SELLER_SEND_GOODS", "awaiting_shipment"),
        ("SELLER_PART_SEND_GOODS", "SELLER_SEND_PART_GOODS", "partially_shipped"),
        ("WAIT_BUYER_ACCEPT_GOODS", "SELLER_SEND_GOODS", "shipped"),
        ("FUND_PROCESSING", "BUYER_ACCEPT_GOODS", "shipped"),
        ("IN_CANCEL", "WAIT_SELLER_SEND_GOODS", "awaiting_shipment"),  # held until the seller answers
        ("IN_CANCEL", "SELLER_SEND_GOODS", "shipped"),
        ("IN_ISSUE", "SELLER_SEND_GOODS", "shipped"),
        ("IN_FROZEN", "WAIT_SELLER_SEND_GOODS", "pending"),
        ("PAYMENT_PROCESSING", "NO_LOGISTICS", "pending"),
        ("PAYMENT_PROCESSING", "BUYER_ACCEPT_GOODS", "shipped"),
        ("FINISH", "BUYER_ACCEPT_GOODS", "shipped"),
        ("FINISH", "NO_LOGISTICS", "cancelled"),
        ("ARCHIVE", "WAIT_SELLER_SEND_GOODS", "cancelled"),
    ],
)
def test_status_mapping(sim, store, status, logistics_status, expected):
    order_id = sim.add_order(lines=[one_line()])
    sim.update_order(order_id, status=status, logistics_status=logistics_status)

    [order] = store.orders(sim)

    assert (order.channel_order_id, order.status, order.channel_status) == (order_id, expected, status)
    assert order.cancel_requested == ("AliExpress IN_CANCEL" if status == "IN_CANCEL" else "")


def test_finished_orders_are_read_by_their_own_query(sim, store):
    open_order = sim.add_order(lines=[one_line()])
    closed = sim.add_order(lines=[one_line()])
    sim.cancel_order(closed)

    orders = store.orders(sim)

    assert [(o.channel_order_id, o.status) for o in orders] == [
        (open_order, "awaiting_shipment"),
        (closed, "cancelled"),
    ]
    lists = calls(sim, "aliexpress.solution.order.get")
    assert [json.loads(c["param0"]).get("order_status_list") for c in lists] == [None, ["FINISH"]]


def test_pages_are_read_last_first_and_every_order_once(sim, store):
    sim.page_size_max = 3
    made = [sim.add_order(lines=[one_line()], created=sim.now - timedelta(minutes=i)) for i in range(8)]

    orders = store.orders(sim)

    assert sorted(o.channel_order_id for o in orders) == sorted(made)
    pages = [json.loads(c["param0"])["current_page"] for c in calls(sim, "aliexpress.solution.order.get")]
    assert pages == [1, 3, 2, 1, 1]  # open orders: 1 (to learn the count), 3, 2, 1 again; then the FINISH query
    assert len(calls(sim, "aliexpress.solution.order.receiptinfo.get")) == 8


def test_an_order_changing_during_the_scan_does_not_hide_another(sim, store):
    """The order changed leaves the window and every row after it moves up a place: the row that was first on page 2
    slides onto page 1. Read forwards it would be missed; read last first, the final page 1 catches it."""
    sim.page_size_max = 2
    made = [sim.add_order(lines=[one_line()], created=sim.now - timedelta(minutes=i)) for i in range(5)]
    until = sim.now + timedelta(hours=1)

    def change(sim):
        sim.advance(hours=2)  # after the window's end
        sim.update_order(made[0], status="IN_CANCEL")

    sim.after_page(1, change)

    orders = store.orders(sim, until=until)

    assert sorted(o.channel_order_id for o in orders) == sorted(made)
    slid = [o for o in orders if o.channel_order_id == made[2]]
    assert len(slid) == 1  # it was on page 2 at first; it is found (once)
    [changed] = store.orders(sim, since=until, until=sim.now + timedelta(hours=1))
    assert (changed.channel_order_id, changed.status, changed.channel_status) == (
        made[0],
        "awaiting_shipment",
        "IN_CANCEL",
    )


def test_an_order_seen_on_two_pages_is_given_once(sim, store):
    sim.page_size_max = 2
    made = [sim.add_order(lines=[one_line()], created=sim.now - timedelta(minutes=i)) for i in range(5)]

    def change(sim):  # after page 3 is read, the newest order leaves: the first row of page 3 moves onto page 2
        sim.advance(hours=2)
        sim.update_order(made[0], status="IN_CANCEL")

    sim.after_page(3, change)

    orders = store.orders(sim, until=sim.now + timedelta(hours=1))

    assert sorted(o.channel_order_id for o in orders) == sorted(made)
    assert len(orders) == 5
    listed_twice = [c for c in calls(sim, "aliexpress.solution.order.receiptinfo.get") if made[4] in c["param1"]]
    assert len(listed_twice) == 1  # shown on page 3 and again on page 2, read once


def test_an_order_entering_the_window_mid_scan_restarts_it(sim, store):
    sim.page_size_max = 2
    made = [sim.add_order(lines=[one_line()], created=sim.now - timedelta(minutes=10 + i)) for i in range(4)]
    late = []
    sim.after_page(
        2, lambda sim: late.append(sim.add_order(lines=[one_line()], created=sim.now - timedelta(minutes=1)))
    )

    orders = store.orders(sim)

    assert sorted({o.channel_order_id for o in orders}) == sorted(made + late)
    pages = [json.loads(c["param0"])["current_page"] for c in calls(sim, "aliexpress.solution.order.get")]
    assert pages == [1, 2, 1, 1, 3, 2, 1, 1]  # page 1 again showed one more order: start again


def test_a_window_that_never_settles_is_transient(sim, store):
    sim.page_size_max = 2
    for i in range(4):
        sim.add_order(lines=[one_line()], created=sim.now - timedelta(minutes=10 + i))

    def grow(sim):
        sim.add_order(lines=[one_line()], created=sim.now - timedelta(minutes=1))
        sim.after_page(2, grow)

    sim.after_page(2, grow)

    with pytest.raises(Transient, match="kept adding orders"):
        store.orders(sim)


def test_window_bounds_widen_over_the_autumn_fold():
    # 2026-11-01 01:00-02:00 happens twice in Los Angeles.
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)  # 01:00 PST, the second time
    end = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # 01:30 PST
    assert local_text(start, PACIFIC, bound="start") == "2026-11-01 00:00:00"
    assert local_text(end, PACIFIC, bound="end") == "2026-11-01 02:30:00"
    assert local_text(datetime(2026, 7, 1, 12, 0, tzinfo=UTC), PACIFIC, bound="start") == "2026-07-01 05:00:00"


def test_an_order_in_the_repeated_hour_is_found(switchboard):
    # 09:08 UTC is 01:08 PST, the second 01:08 of the night; the order is modified at 01:10, shown "01:10:00".
    sim = switchboard.sim = AliExpressSimulator(now=datetime(2026, 11, 1, 9, 8, tzinfo=UTC))
    order_id = sim.add_order(lines=[one_line()])
    store = Store(switchboard.server)

    orders = store.orders(
        sim, since=datetime(2026, 11, 1, 9, 0, tzinfo=UTC), until=datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    )

    assert [o.channel_order_id for o in orders] == [order_id]
    # Asked without widening, "01:30:00" would be read as the first 01:30 (PDT, 08:30 UTC) and miss it.
    assert (
        json.loads(calls(sim, "aliexpress.solution.order.get")[0]["param0"])["modified_date_end"]
        == "2026-11-01 02:30:00"
    )


def test_the_time_zone_is_a_store_option(sim, server):
    sim.zone = ZoneInfo("Asia/Shanghai")
    sim.add_order(lines=[one_line()])
    shanghai = Store(server, options={"timezone": "Asia/Shanghai"})

    [order] = shanghai.orders(sim)

    assert order.ordered_at == sim.now
    assert (
        json.loads(calls(sim, "aliexpress.solution.order.get")[0]["param0"])["modified_date_end"]
        == "2026-03-11 03:00:00"
    )
    with pytest.raises(ChannelError, match="Mars/Olympus"):
        Store(server, options={"timezone": "Mars/Olympus"}).orders(sim)


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        (lambda dto: dto.update(order_id=1.6e15), "order_id"),
        (lambda dto: dto.update(gmt_create="yesterday"), "gmt_create"),
        (lambda dto: dto.pop("gmt_update"), "gmt_update"),
        (lambda dto: dto["pay_amount"].update(amount=12.5), "pay_amount.amount"),
        (lambda dto: dto.update(order_status="TELEPORTED"), "order_status"),
        (
            lambda dto: dto["product_list"]["order_product_dto"][0].update(product_count="two"),
            "product_list.order_product_dto[0].product_count",
        ),
        (
            lambda dto: dto["product_list"]["order_product_dto"][0].pop("sku_code"),
            "product_list.order_product_dto[0].sku_code",
        ),
        (
            lambda dto: dto["product_list"]["order_product_dto"][0]["product_unit_price"].update(amount="abc"),
            "product_list.order_product_dto[0].product_unit_price.amount",
        ),
        (lambda dto: dto.update(product_list={}), "product_list"),
    ],
)
def test_unreadable_order_is_a_problem_naming_the_field_and_the_run_goes_on(sim, store, tamper, field):
    good = sim.add_order(lines=[one_line()], created=sim.now - timedelta(minutes=5))
    bad = sim.add_order(lines=[one_line()])
    sim.tamper(bad, tamper)

    orders = store.orders(sim)

    [problem] = [o for o in orders if isinstance(o, OrderProblem)]
    assert problem.field == field
    assert problem.channel_order_id in {bad, "1600000000000000.0"}
    assert problem.raw
    assert [o.channel_order_id for o in orders if isinstance(o, OrderIn)] == [good]


def test_an_unknown_country_in_the_receipt_is_a_problem(sim, store):
    order_id = sim.add_order(lines=[one_line()], address={"contact_person": "X", "country": "Narnia"})

    [problem] = store.orders(sim)

    assert (problem.channel_order_id, problem.field) == (order_id, "receipt_info.country")
    assert problem.raw["receipt_info"]["country"] == "Narnia"


def test_a_refused_receipt_is_a_problem_for_that_order_only(sim, store):
    sim.add_order(lines=[one_line()], created=sim.now - timedelta(minutes=5))
    sim.add_order(lines=[one_line()])
    refused = {"error_response": {"type": "ISP", "code": "ORDER_NOT_FOUND", "msg": "The order does not exist"}}
    sim.fault("/sync", status=200, body=refused, after=1)  # the list passes, the first receipt is refused

    orders = store.orders(sim)

    assert [type(o).__name__ for o in orders] == ["OrderProblem", "OrderIn"]
    assert (orders[0].field, orders[0].channel_order_id) == (
        "receipt_info",
        orders[0].raw["order"]["order_id"].__str__(),
    )
    assert "The order does not exist" in orders[0].message


def test_order_get_reads_the_detail_like_the_list(sim, store):
    order_id = sim.add_order(lines=[one_line("SKU-1", 2, "12.34"), one_line("SKU-2", 1, "5.00")])
    [listed] = store.orders(sim)

    detailed = store.adapter.order_get(order_id)

    for name in (
        "channel_order_id",
        "status",
        "channel_status",
        "ordered_at",
        "channel_updated_at",
        "paid_at",
        "total",
    ):
        assert getattr(detailed, name) == getattr(listed, name), name
    assert detailed.lines == listed.lines
    assert detailed.address == listed.address
    assert set(detailed.raw) == {"order_detail"}
    with pytest.raises(Rejected, match="does not exist"):
        store.adapter.order_get("8100000000000001")


# --- Failures on the way ------------------------------------------------------------------------------------------


def test_throttling_inside_a_200_is_waited_out(sim, store):
    sim.add_order(lines=[one_line()])
    sim.throttle_next(2)

    [order] = store.orders(sim)

    assert order.status == "awaiting_shipment"
    assert len(store.waits) == 2 and all(wait >= 1.0 for wait in store.waits)  # no Retry-After: a second at least


def test_the_top_dialect_ban_length_is_honoured(sim, store):
    sim.throttle_next(1, dialect="top", ban_seconds=7)

    store.orders(sim)

    assert store.waits == [7.0]


def test_throttling_that_never_ends_is_rate_limited(sim, server):
    sim.throttle_next(10)
    impatient = Store(server, max_attempts=3)

    with pytest.raises(RateLimited) as raised:
        impatient.orders(sim)
    assert raised.value.retry_after == 1.0
    assert len(sim.requests_to("/sync")) == 3


def test_an_expired_token_is_refreshed_once(sim, store):
    sim.add_order(lines=[one_line()])
    sim.expire_access_tokens()

    [order] = store.orders(sim)

    assert order.status == "awaiting_shipment"
    assert (sim.refreshes, store.tokens.refreshes) == (1, 1)
    [refresh] = sim.requests_to("/rest")
    form = form_of(refresh)
    assert refresh.path == "/rest/auth/token/refresh" and refresh.method == "POST"
    assert set(form) == {"app_key", "timestamp", "sign_method", "refresh_token", "sign"}
    assert form["refresh_token"] == "sim-refresh-0"
    assert form["sign"] == independent_sign("sim-app-secret", form, "/auth/token/refresh")
    assert store.tokens.token.value == "sim-access-1"
    assert store.tokens.token.expires_at == sim.now + timedelta(days=30)
    assert store.tokens.credentials["refresh_token"] == "sim-refresh-1"  # the new pair is kept
    assert {form_of(r)["session"] for r in sim.requests_to("/sync")} == {"sim-access-0", "sim-access-1"}


def test_a_token_refused_again_after_the_refresh_is_auth_failed(sim, store):
    refused = {
        "error_response": {
            "type": "ISV",
            "code": "IllegalAccessToken",
            "msg": "The specified access token is invalid or expired",
        }
    }
    sim.fault("/sync", status=200, body=refused, times=2)

    with pytest.raises(AuthFailed, match="IllegalAccessToken") as raised:
        store.orders(sim)
    assert sim.refreshes == 1
    assert "sim-access" not in raised.value.message


def test_a_revoked_refresh_token_is_auth_failed(sim, store):
    sim.expire_access_tokens()
    sim.revoke_refresh_tokens()

    with pytest.raises(AuthFailed, match="IllegalRefreshToken") as raised:
        store.orders(sim)
    assert "sim-refresh-0" not in raised.value.message


def test_a_500_in_the_middle_of_paging_stops_the_iteration(sim, server):
    sim.page_size_max = 2
    for i in range(4):
        sim.add_order(lines=[one_line()], created=sim.now - timedelta(minutes=i))
    sim.fault("/sync", status=500, body={"error": "boom"}, after=3, times=10)  # page 1 and its two receipts pass
    failing = Store(server, max_attempts=2)

    seen = []
    with pytest.raises(Transient, match="HTTP 500"):
        for order in failing.adapter.orders_changed(
            since=sim.now - timedelta(days=1), until=sim.now + timedelta(hours=1)
        ):
            seen.append(order)
    assert len(seen) == 2


def test_a_time_out_is_retried_then_transient(sim, server):
    sim.fault("/sync", delay=SLOW, times=2)
    slow = Store(server, timeout=IMPATIENT, max_attempts=2)

    with pytest.raises(Transient, match="no complete answer"):
        slow.orders(sim)
    assert len(slow.waits) == 1  # one retry, then the error


def test_an_answer_that_is_not_json_is_a_bad_response(sim, store):
    sim.fault("/sync", status=200, body="<html>gateway</html>")

    with pytest.raises(BadResponse, match="not JSON"):
        store.orders(sim)


# --- Shipments ----------------------------------------------------------------------------------------------------


def test_a_shipment_is_confirmed_once_and_a_repeat_is_recognised(sim, store):
    order_id = sim.add_order(lines=[one_line("SKU-1", 2)])
    [order] = store.orders(sim)

    first = store.adapter.shipment_confirm(shipment_of(order))
    again = store.adapter.shipment_confirm(shipment_of(order))

    assert (first.already_confirmed, again.already_confirmed) == (False, True)
    assert again.reference == str(sim.orders[int(order_id)].parcels[0]["ship_order_id"])
    [fulfil] = calls(sim, "aliexpress.solution.order.fulfill")
    assert {k: fulfil[k] for k in ("out_ref", "service_name", "send_type", "logistics_no")} == {
        "out_ref": order_id,
        "service_name": "DHL",
        "send_type": "all",
        "logistics_no": "LX123456789CN",
    }
    assert "tracking_website" not in fulfil
    assert fulfil["sign"] == independent_sign("sim-app-secret", fulfil)
    assert [c["param1"] for c in calls(sim, "aliexpress.solution.order.info.get")] == [
        json.dumps({"order_id": int(order_id), "ext_info_bit_flag": 4}, separators=(",", ":"))
    ] * 2
    assert len(sim.confirmed(order_id)) == 1
    [shipped] = store.orders(sim, since=sim.now - timedelta(minutes=1))
    assert shipped.status == "shipped"


def test_a_carrier_without_an_aliexpress_key_goes_as_other_with_its_website(sim, server):
    sim.add_order(lines=[one_line()])
    mapped = Store(
        server,
        options={
            "service_names": {"yunexpress": "OTHER"},
            "tracking_websites": {"yunexpress": "https://www.yuntrack.com/"},
        },
    )
    [order] = mapped.orders(sim)

    mapped.adapter.shipment_confirm(shipment_of(order, carrier="yunexpress", tracking="YT2412345678"))

    [fulfil] = calls(sim, "aliexpress.solution.order.fulfill")
    assert (fulfil["service_name"], fulfil["tracking_website"]) == ("OTHER", "https://www.yuntrack.com/")


def test_a_parcel_with_some_lines_is_a_part_shipment(sim, store):
    sim.add_order(lines=[one_line("SKU-1", 2), one_line("SKU-2", 1, product_id=1005002222222222)])
    [order] = store.orders(sim)
    first_line = order.lines[0]

    store.adapter.shipment_confirm(shipment_of(order, lines=[ShipmentLineOut(first_line.channel_line_id, 2)]))

    [fulfil] = calls(sim, "aliexpress.solution.order.fulfill")
    assert fulfil["send_type"] == "part"
    [after] = store.orders(sim, since=sim.now - timedelta(minutes=1))
    assert after.status == "partially_shipped"


def test_a_refused_shipment_is_rejected_with_the_platform_message(sim, store):
    order_id = sim.add_order(lines=[one_line()])
    [order] = store.orders(sim)
    sim.cancel_order(order_id)

    with pytest.raises(Rejected, match="cannot be shipped") as raised:
        store.adapter.shipment_confirm(shipment_of(order))
    assert order_id in raised.value.message
    assert sim.confirmed(order_id) == []


def test_a_duplicate_refusal_after_a_stale_check_is_already_confirmed(sim, store):
    """Another worker declared the parcel between the check and the fulfil: the platform refuses the repeat, and
    the order's parcels, read again, show the tracking number."""
    order_id = sim.add_order(lines=[one_line()])
    [order] = store.orders(sim)
    store.adapter.shipment_confirm(shipment_of(order))
    stale = {
        "aliexpress_solution_order_info_get_response": {
            "result": {"result_success": True, "data": {"id": int(order_id)}}
        }
    }
    sim.fault("/sync", status=200, body=stale, times=1)

    result = store.adapter.shipment_confirm(shipment_of(order))

    assert result.already_confirmed is True
    assert len(calls(sim, "aliexpress.solution.order.fulfill")) == 2  # the second was refused as a duplicate
    assert len(sim.confirmed(order_id)) == 1


def test_a_fulfil_that_timed_out_is_not_sent_again(sim, server):
    order_id = sim.add_order(lines=[one_line()])
    slow = Store(server, timeout=IMPATIENT)
    [order] = slow.orders(sim)
    # The check passes; AliExpress acts on the fulfil at once, and its answer comes after the client gave up.
    sim.fault("/sync", method="POST", delay=SLOW, passthrough=True, acts_first=True, after=1)

    with pytest.raises(Transient, match="no complete answer"):
        slow.adapter.shipment_confirm(shipment_of(order))
    retried = slow.adapter.shipment_confirm(shipment_of(order))

    assert retried.already_confirmed is True
    assert len(sim.confirmed(order_id)) == 1
    assert len(calls(sim, "aliexpress.solution.order.fulfill")) == 1


# --- Stock --------------------------------------------------------------------------------------------------------


def test_stock_is_pushed_per_product_and_failures_map_back_to_each_sku(sim, store):
    sim.add_product(1005000000000001, {"A-RED": 0, "A-BLUE": 0})
    sim.add_product(1005000000000002, {"B": 0})
    sim.add_product(1005000000000003, {"C": 0})
    sim.fail_product(1005000000000003, "PRODUCT_LOCKED", "The product is in a campaign and cannot be edited")
    items = [
        StockOut("A-RED", 4, listing_id="1005000000000001"),
        StockOut("B", 7, listing_id="1005000000000002"),
        StockOut("A-BLUE", 0, listing_id="1005000000000001"),
        StockOut("C", 1, listing_id="1005000000000003"),
        StockOut("GHOST", 1, listing_id="1005000000000009"),
        StockOut("UNMAPPED", 1),
    ]

    results = store.adapter.stock_push(items)

    assert [(r.channel_sku, r.ok) for r in results] == [
        ("A-RED", True),
        ("B", True),
        ("A-BLUE", True),
        ("C", False),
        ("GHOST", False),
        ("UNMAPPED", False),
    ]
    assert results[3].message == "PRODUCT_LOCKED The product is in a campaign and cannot be edited"
    assert "PRODUCT_NOT_FOUND" in results[4].message
    assert "listing ID" in results[5].message
    assert (sim.inventory(1005000000000001, "A-RED"), sim.inventory(1005000000000001, "A-BLUE")) == (4, 0)
    assert sim.inventory(1005000000000002, "B") == 7
    [update] = calls(sim, "aliexpress.solution.batch.product.inventory.update")
    assert json.loads(update["mutiple_product_update_list"]) == [
        {
            "product_id": 1005000000000001,
            "multiple_sku_update_list": [{"sku_code": "A-RED", "inventory": 4}, {"sku_code": "A-BLUE", "inventory": 0}],
        },
        {"product_id": 1005000000000002, "multiple_sku_update_list": [{"sku_code": "B", "inventory": 7}]},
        {"product_id": 1005000000000003, "multiple_sku_update_list": [{"sku_code": "C", "inventory": 1}]},
        {"product_id": 1005000000000009, "multiple_sku_update_list": [{"sku_code": "GHOST", "inventory": 1}]},
    ]
    assert update["sign"] == independent_sign("sim-app-secret", update)


def test_one_bad_sku_fails_its_whole_product(sim, store):
    sim.add_product(1005000000000001, {"A-RED": 3, "A-BLUE": 3})

    results = store.adapter.stock_push(
        [StockOut("A-RED", 9, listing_id="1005000000000001"), StockOut("A-PINK", 1, listing_id="1005000000000001")]
    )

    assert [(r.ok, r.message.split()[0]) for r in results] == [(False, "SKU_NOT_FOUND")] * 2
    assert sim.inventory(1005000000000001, "A-RED") == 3


def test_a_full_batch_fits_one_call(sim, store):
    items = []
    for n in range(AliExpressAdapter.stock_batch_size):
        product_id = sim.add_product(1005000000000100 + n, {f"SKU-{n}": 0})
        items.append(StockOut(f"SKU-{n}", n, listing_id=str(product_id)))

    results = store.adapter.stock_push(items)

    assert all(r.ok for r in results) and len(results) == 20
    assert len(calls(sim, "aliexpress.solution.batch.product.inventory.update")) == 1
    one_more = [*items, StockOut("SKU-X", 1, listing_id=str(sim.add_product(1005000000000999, {"SKU-X": 0})))]
    refused = store.adapter.stock_push(one_more)  # the platform takes 20 products at most
    assert {(r.ok, r.message) for r in refused} == {(False, "At most 20 products can be updated at once")}


def test_stock_push_retries_a_throttled_batch(sim, store):
    sim.add_product(1005000000000001, {"A": 0})
    sim.throttle_next(1)

    [result] = store.adapter.stock_push([StockOut("A", 5, listing_id="1005000000000001")])

    assert result.ok and sim.inventory(1005000000000001, "A") == 5
    assert store.waits and store.waits[0] >= 1.0


# --- Demo data ----------------------------------------------------------------------------------------------------


def test_seed_demo_is_deterministic_and_readable(switchboard):
    first, second = AliExpressSimulator(), AliExpressSimulator()
    skus = ["MUG-01", "TEE-02", "CAP-03", "BAG-04", "PEN-05"]
    ids = first.seed_demo(60, skus, seed=7)
    assert second.seed_demo(60, skus, seed=7) == ids
    assert [first.orders[int(i)].address for i in ids] == [second.orders[int(i)].address for i in ids]
    assert len(set(ids)) == 60 and all(len(i) == 16 for i in ids)
    switchboard.sim = first

    orders = Store(switchboard.server).orders(first, since=first.now - timedelta(days=8))

    assert len(orders) == 60 and not [o for o in orders if isinstance(o, OrderProblem)]
    statuses = [o.status for o in orders]
    assert statuses.count("awaiting_shipment") > 40
    assert {"cancelled", "shipped", "pending"} <= set(statuses)
    assert {o.address.country for o in orders} <= {"US", "GB", "DE", "FR", "AU", "JP", "ES", "CA"}
    assert "GB" in {o.address.country for o in orders}
    assert all(1 <= len(o.lines) <= 4 for o in orders)
