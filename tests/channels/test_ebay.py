"""The eBay adapter against the eBay simulator over real HTTP: paging and its traps, tokens, throttling, fulfillments
and stock, as eBay's Sell Fulfillment and Sell Inventory specs describe them."""

from __future__ import annotations

import base64
import itertools
import logging
import math
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest

from channels.adapters.base import (
    AuthFailed,
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
from channels.adapters.ebay import EbayAdapter
from channels.adapters.http import ChannelHttp
from channels.simulators.base import SimulatorServer
from channels.simulators.ebay import TOKEN_PATH, EbaySimulator, ebay_time
from orders.inbound import AddressIn, LineIn, OrderIn
from tests.channels.timeouts import IMPATIENT, PATIENT, SLOW

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
ORDERS_PATH = "/sell/fulfillment/v1/order"
SCOPES = "https://api.ebay.com/oauth/api_scope/sell.fulfillment https://api.ebay.com/oauth/api_scope/sell.inventory"


@pytest.fixture
def sim() -> EbaySimulator:
    return EbaySimulator(now=NOW)


class _CurrentSimulator:
    """One server for the module, answering with the current test's simulator: a server takes half a second to
    stop, which forty tests would otherwise pay each."""

    sim: EbaySimulator | None = None

    def __call__(self, environ, start_response):
        return self.sim(environ, start_response)


@pytest.fixture(scope="module")
def served():
    app = _CurrentSimulator()
    with SimulatorServer(app) as running:
        yield app, running


@pytest.fixture
def server(served, sim):
    app, running = served
    app.sim = sim
    yield running
    app.sim = None


class Rig:
    """An adapter wired to a served simulator, with the sleeps ChannelHttp asked for collected, not slept."""

    def __init__(self, server, sim, *, options=None, credentials=None, max_attempts=4, timeout=PATIENT):
        self.sim = sim
        self.waits: list[float] = []
        self.credentials = credentials or {
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "refresh_token": sim.refresh_token,
        }
        self.tokens = MemoryTokens(self.credentials)
        self.http = ChannelHttp(backoff_base=0.001, timeout=timeout, max_attempts=max_attempts, sleep=self.waits.append)
        connection = StoreConnection(
            channel="ebay",
            api_base_url=server.url,
            auth_url=server.url + TOKEN_PATH,
            credentials=self.credentials,
            tokens=self.tokens,
            marketplace_id="EBAY_US",
            options=options or {},
        )
        self.adapter = EbayAdapter(connection, self.http, clock=lambda: sim.now)

    def read(self, since: datetime, until: datetime) -> list[OrderIn | OrderProblem]:
        return list(self.adapter.orders_changed(since=since, until=until))


def ids(results) -> list[str]:
    return [result.channel_order_id for result in results]


def page_offsets(sim: EbaySimulator) -> list[int]:
    return [
        int(request.arg("offset")) for request in sim.requests_to(ORDERS_PATH, "GET") if request.path == ORDERS_PATH
    ]


def add_orders(sim: EbaySimulator, count: int, *, first_created: datetime, modified: datetime) -> list[str]:
    """``count`` orders created an hour apart from ``first_created``, all last changed at ``modified``."""
    made = []
    sim.now, clock = modified, sim.now
    for number in range(count):
        order = sim.add_order(
            order_id=f"{number + 1:02d}-{12340 + number:05d}-{56780 + number:05d}",
            created=first_created + timedelta(hours=number),
            lines=[{"sku": f"SB-{number:03d}", "quantity": 1, "price": "10.00"}],
        )
        made.append(order["orderId"])
    sim.now = clock
    return made


# --- Tokens ---------------------------------------------------------------------------------------------------------


def test_the_first_call_gets_a_token_by_the_refresh_grant_and_sends_it_as_bearer(server, sim):
    rig = Rig(server, sim)
    add_orders(sim, 1, first_created=NOW - timedelta(hours=3), modified=NOW - timedelta(hours=2))

    rig.read(NOW - timedelta(days=1), NOW)

    grant = sim.requests_to(TOKEN_PATH)[0]
    assert grant.method == "POST"
    expected_basic = base64.b64encode(f"{sim.client_id}:{sim.client_secret}".encode()).decode()
    assert grant.headers["authorization"] == f"Basic {expected_basic}"
    assert grant.headers["content-type"] == "application/x-www-form-urlencoded"
    assert grant.form() == {"grant_type": "refresh_token", "refresh_token": sim.refresh_token, "scope": SCOPES}
    token = rig.tokens.token
    assert token.expires_at == NOW + timedelta(seconds=7200)
    listing = sim.requests_to(ORDERS_PATH)[0]
    assert listing.headers["authorization"] == f"Bearer {token.value}"
    assert listing.headers["accept"] == "application/json"
    assert "x-ebay-c-marketplace-id" not in listing.headers  # neither spec asks for it on these calls
    assert rig.tokens.refreshes == 1


def test_an_expired_token_is_refreshed_once_and_the_call_sent_again(server, sim):
    rig = Rig(server, sim)
    add_orders(sim, 2, first_created=NOW - timedelta(hours=3), modified=NOW - timedelta(hours=2))
    rig.read(NOW - timedelta(days=1), NOW)
    first_token = rig.tokens.token
    sim.expire_tokens()  # eBay's clock says it is over; ours does not know yet

    results = rig.read(NOW - timedelta(days=1), NOW)

    assert ids(results) == ["01-12340-56780", "02-12341-56781"]
    statuses = [request.headers["authorization"] for request in sim.requests_to(ORDERS_PATH)]
    assert statuses == [f"Bearer {first_token.value}"] * 2 + [f"Bearer {rig.tokens.token.value}"]
    assert rig.tokens.token != first_token
    assert rig.tokens.refreshes == 2
    assert len(sim.requests_to(TOKEN_PATH)) == 2


def test_a_token_about_to_expire_is_renewed_before_the_call_not_after_a_401(server, sim):
    rig = Rig(server, sim)
    rig.read(NOW - timedelta(days=1), NOW)
    sim.advance(seconds=7200 - 60)  # one minute left: inside the adapter's margin

    rig.read(NOW - timedelta(days=1), sim.now)

    assert rig.tokens.refreshes == 2
    assert len(sim.requests_to(ORDERS_PATH)) == 2  # no call was wasted on a 401


def test_refused_refresh_credentials_are_auth_failed_without_the_secrets_in_the_message(server, sim):
    rig = Rig(server, sim)
    sim.refresh_token = "v^1.1#another-consent"  # the seller revoked the old one

    with pytest.raises(AuthFailed) as refused:
        rig.read(NOW - timedelta(days=1), NOW)

    assert "the provided authorization refresh token is invalid" in refused.value.message
    assert "HTTP 400" in refused.value.message
    for secret in rig.credentials.values():
        assert secret not in refused.value.message
    assert sim.requests_to(ORDERS_PATH) == []


def test_a_renewed_token_refused_again_is_auth_failed(server, sim):
    rig = Rig(server, sim)
    body = {"errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST", "message": "Invalid access token"}]}
    sim.fault(ORDERS_PATH, status=401, body=body, times=2)

    with pytest.raises(AuthFailed) as refused:
        rig.read(NOW - timedelta(days=1), NOW)

    assert refused.value.status == 401
    assert "Invalid access token (errorId 1001)" in refused.value.message
    assert rig.tokens.refreshes == 2  # the first token, and one renewal: no more
    assert len(sim.requests_to(ORDERS_PATH)) == 2


def test_a_missing_scope_403_is_auth_failed_at_once(server, sim):
    rig = Rig(server, sim)
    body = {
        "errors": [
            {
                "errorId": 1100,
                "domain": "OAuth",
                "category": "REQUEST",
                "message": "Access denied",
                "longMessage": "Insufficient permissions to fulfill the request.",
            }
        ]
    }
    sim.fault(ORDERS_PATH, status=403, body=body)

    with pytest.raises(AuthFailed, match="Insufficient permissions to fulfill the request"):
        rig.read(NOW - timedelta(days=1), NOW)

    assert rig.tokens.refreshes == 1


# --- Reading orders -----------------------------------------------------------------------------------------------


def test_orders_are_read_page_by_page_with_the_spec_filter_and_one_row_of_overlap(server, sim):
    rig = Rig(server, sim, options={"page_size": 2})
    made = add_orders(sim, 5, first_created=NOW - timedelta(days=2), modified=NOW - timedelta(hours=5))

    results = rig.read(datetime(2025, 6, 1, 8, 25, 43, 511000, tzinfo=UTC), NOW)

    assert ids(results) == made
    assert page_offsets(sim) == [0, 1, 2, 3]  # each page starts on the last row already read
    first = sim.requests_to(ORDERS_PATH)[0]
    assert first.query == {"filter": ["lastmodifieddate:[2025-06-01T08:25:43.511Z..]"], "limit": ["2"], "offset": ["0"]}
    raw_query = rig.http.client.build_request(
        "GET", server.url + ORDERS_PATH, params={"filter": first.query["filter"][0]}
    ).url.query
    assert raw_query == b"filter=lastmodifieddate%3A%5B2025-06-01T08%3A25%3A43.511Z..%5D"  # [ and ] percent-encoded


def test_a_window_that_ended_a_while_ago_is_asked_with_its_end(server, sim):
    rig = Rig(server, sim)
    add_orders(sim, 3, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(days=2))
    add_orders_later = sim.add_order(order_id="09-99999-99999", created=NOW - timedelta(hours=1))

    results = rig.read(NOW - timedelta(days=2, hours=1), NOW - timedelta(days=1))

    assert ids(results) == ["01-12340-56780", "02-12341-56781", "03-12342-56782"]
    assert add_orders_later["orderId"] not in ids(results)
    assert sim.requests_to(ORDERS_PATH)[0].arg("filter") == (
        "lastmodifieddate:[2025-05-31T11:00:00.000Z..2025-06-01T12:00:00.000Z]"
    )


def test_a_window_ending_now_is_asked_without_an_end_since_ebay_refuses_future_dates(server, sim):
    rig = Rig(server, sim)
    # Our clock a little ahead of eBay's: an end date of "now" would be in eBay's future (error 30850).
    rig.adapter.clock = lambda: sim.now + timedelta(seconds=30)

    rig.read(NOW - timedelta(hours=1), NOW + timedelta(seconds=30))

    assert sim.requests_to(ORDERS_PATH)[0].arg("filter") == "lastmodifieddate:[2025-06-02T11:00:00.000Z..]"


def test_a_window_older_than_90_days_is_clamped_to_the_reach_and_says_so(server, sim, caplog):
    rig = Rig(server, sim)
    sim.add_order(order_id="04-44444-44444", created=NOW - timedelta(days=30))

    with caplog.at_level(logging.WARNING, logger="channels.adapters.ebay"):
        results = rig.read(NOW - timedelta(days=120), NOW)

    assert ids(results) == ["04-44444-44444"]
    assert sim.requests_to(ORDERS_PATH)[0].arg("filter") == "lastmodifieddate:[2025-03-04T13:00:00.000Z..]"
    assert "beyond the 90 days eBay's filter reaches; read from 2025-03-04T13:00:00.000Z" in caplog.text


def test_a_window_wholly_beyond_90_days_asks_nothing(server, sim, caplog):
    rig = Rig(server, sim)

    with caplog.at_level(logging.WARNING, logger="channels.adapters.ebay"):
        assert rig.read(NOW - timedelta(days=200), NOW - timedelta(days=100)) == []

    assert sim.requests_to(ORDERS_PATH) == []
    assert "none read" in caplog.text


def test_the_simulator_refuses_what_ebay_refuses(server, sim):
    rig = Rig(server, sim)
    rig.read(NOW - timedelta(hours=1), NOW)
    headers = {"Authorization": f"Bearer {rig.tokens.token.value}"}

    def listing(filter_: str) -> httpx.Response:
        return httpx.get(server.url + ORDERS_PATH, params={"filter": filter_}, headers=headers)

    too_old = listing(f"lastmodifieddate:[{ebay_time(NOW - timedelta(days=91))}..]")
    future = listing(f"lastmodifieddate:[{ebay_time(NOW - timedelta(days=1))}..{ebay_time(NOW + timedelta(1))}]")
    bad_date = listing("lastmodifieddate:[2025-06-01..]")
    assert (too_old.status_code, too_old.json()["errors"][0]["errorId"]) == (400, 30830)
    assert (future.status_code, future.json()["errors"][0]["errorId"]) == (400, 30850)
    assert (bad_date.status_code, bad_date.json()["errors"][0]["errorId"]) == (400, 30810)


def test_an_order_is_normalised_from_ebays_shape(server, sim):
    rig = Rig(server, sim)
    ship_to = {
        "fullName": "Oliver Smith",
        "company": "Blue Harbour Ltd",
        "addressLine1": "17 Kingsley Road",
        "addressLine2": "Flat 4",
        "city": "Leeds",
        "county": "West Yorkshire",
        "stateOrProvince": "",
        "postalCode": "LS1 4DY",
        "countryCode": "gb",
        "phone": "+44 20 71234567",
        "email": "oliver.smith@example.co.uk",
    }
    sim.now = NOW - timedelta(hours=2)
    sim.add_order(
        order_id="12-34567-89012",
        created=NOW - timedelta(hours=3),
        lines=[
            {
                "sku": "SB-MUG-BLU",
                "quantity": 3,
                "price": "3.3333",
                "title": "Ceramic Mug, blue",
                "item_id": "110551",
                "line_id": "10061",
            },
            {"sku": "SB-LAMP", "quantity": 1, "price": "24.00", "item_id": "110552", "line_id": "10062"},
        ],
        ship_to=ship_to,
        buyer="oliver.smith42",
        converted=("GBP", Decimal("0.7921")),
        delivery_cost="6.50",
        tax="2.40",
        shipping_service="UK_RoyalMailAirmailInternational",
        note="Gift - no invoice please.",
    )
    sim.now = NOW

    [order] = rig.read(NOW - timedelta(days=1), NOW)

    assert order == OrderIn(
        channel_order_id="12-34567-89012",
        status="awaiting_shipment",
        channel_status="NOT_STARTED PAID",
        ordered_at=NOW - timedelta(hours=3),
        channel_updated_at=NOW - timedelta(hours=2),
        lines=[
            LineIn("10061", "SB-MUG-BLU", 3, Decimal("3.3333"), "Ceramic Mug, blue", "110551"),
            LineIn("10062", "SB-LAMP", 1, Decimal("24.0000"), "SB-LAMP - Seabridge listing", "110552"),
        ],
        address=AddressIn(
            name="Oliver Smith",
            company="Blue Harbour Ltd",
            address1="17 Kingsley Road",
            address2="Flat 4",
            city="Leeds",
            county="West Yorkshire",
            postcode="LS1 4DY",
            country="GB",
            phone="+44 20 71234567",
        ),
        buyer_name="oliver.smith42",
        buyer_email="oliver.smith@example.co.uk",
        currency="USD",
        subtotal=Decimal("34.00"),
        shipping_total=Decimal("6.50"),
        tax_total=Decimal("2.40"),
        discount_total=Decimal("0"),
        total=Decimal("42.90"),
        paid_at=NOW - timedelta(hours=3) + timedelta(minutes=1),
        ship_by=NOW - timedelta(hours=3) + timedelta(days=3),
        requested_service="UK_RoyalMailAirmailInternational",
        buyer_note="Gift - no invoice please.",
        raw=sim.order("12-34567-89012"),
    )
    # The buyer's own currency stays in raw: the order keeps what eBay settles in.
    assert order.raw["pricingSummary"]["total"] == {
        "value": "42.90",
        "currency": "USD",
        "convertedFromValue": "33.98",
        "convertedFromCurrency": "GBP",
    }
    assert all(isinstance(value, Decimal) for value in (order.total, order.subtotal, order.lines[0].unit_price))


def test_the_country_is_read_whether_ebay_names_it_country_or_country_code(server, sim):
    rig = Rig(server, sim)
    ship_to = {
        "fullName": "Lea Fischer",
        "addressLine1": "Hauptstraße 12",
        "city": "Berlin",
        "postalCode": "10115",
        "countryCode": "de",
    }
    sim.add_order(order_id="05-55555-55555", ship_to=ship_to, country_field="country")

    [order] = rig.read(NOW - timedelta(hours=1), NOW)

    assert "country" in order.raw["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"]["contactAddress"]
    assert order.address.country == "DE"
    assert order.address.address1 == "Hauptstraße 12"


def test_statuses_map_from_fulfillment_payment_and_cancel_state(server, sim):
    rig = Rig(server, sim)
    sim.add_order(order_id="01-00000-00001")
    sim.add_order(order_id="01-00000-00002", payment_status="PENDING")
    sim.add_order(order_id="01-00000-00003", fulfillment_status="IN_PROGRESS")
    sim.add_order(order_id="01-00000-00004", fulfillment_status="FULFILLED")
    sim.add_order(order_id="01-00000-00005")
    sim.cancel_order("01-00000-00005", completed=True)
    sim.add_order(order_id="01-00000-00006")
    sim.cancel_order("01-00000-00006", completed=False)
    sim.add_order(order_id="01-00000-00007", payment_status="FULLY_REFUNDED")

    results = {order.channel_order_id: order for order in rig.read(NOW - timedelta(hours=1), NOW)}

    assert {key: (order.status, order.channel_status) for key, order in results.items()} == {
        "01-00000-00001": ("awaiting_shipment", "NOT_STARTED PAID"),
        "01-00000-00002": ("pending", "NOT_STARTED PENDING"),
        "01-00000-00003": ("partially_shipped", "IN_PROGRESS PAID"),
        "01-00000-00004": ("shipped", "FULFILLED PAID"),
        "01-00000-00005": ("cancelled", "NOT_STARTED FULLY_REFUNDED CANCEL_CANCELED"),
        "01-00000-00006": ("awaiting_shipment", "NOT_STARTED PAID CANCEL_IN_PROGRESS"),
        "01-00000-00007": ("cancelled", "NOT_STARTED FULLY_REFUNDED"),
    }
    # Only the request the seller has not answered holds the order.
    assert {key: order.cancel_requested for key, order in results.items() if order.cancel_requested} == {
        "01-00000-00006": "eBay cancelState IN_PROGRESS BUYER_ASKED_CANCEL"
    }


def test_orders_with_a_cancel_are_read_again_for_their_cancel_requests(server, sim):
    rig = Rig(server, sim)
    sim.add_order(order_id="02-00000-00001")
    sim.add_order(order_id="02-00000-00002")
    sim.cancel_order("02-00000-00002", completed=False, reason="ORDER_MISTAKE")

    results = {order.channel_order_id: order for order in rig.read(NOW - timedelta(hours=1), NOW)}

    listed = httpx.get(
        server.url + ORDERS_PATH,
        params={"orderIds": "02-00000-00002"},
        headers={"Authorization": f"Bearer {rig.tokens.token.value}"},
    ).json()["orders"][0]
    assert listed["cancelStatus"]["cancelRequests"] == []  # getOrders never fills it
    details = [request.path for request in sim.requests_to(ORDERS_PATH + "/")]
    assert details == [ORDERS_PATH + "/02-00000-00002"]  # only the order with a cancel
    [cancel_request] = results["02-00000-00002"].raw["cancelStatus"]["cancelRequests"]
    assert (cancel_request["cancelReason"], cancel_request["cancelRequestState"]) == ("ORDER_MISTAKE", "REQUESTED")
    assert results["02-00000-00001"].raw["cancelStatus"] == {"cancelState": "NONE_REQUESTED", "cancelRequests": []}


def test_an_order_whose_details_are_refused_is_kept_as_the_list_gave_it(server, sim):
    rig = Rig(server, sim)
    sim.add_order(order_id="02-00000-00003")
    sim.cancel_order("02-00000-00003", completed=True)
    sim.fault(ORDERS_PATH + "/02-00000-00003", status=404, body={"errors": [{"errorId": 32100, "message": "Gone"}]})

    [order] = rig.read(NOW - timedelta(hours=1), NOW)

    assert (order.status, order.raw["cancelStatus"]["cancelRequests"]) == ("cancelled", [])


def test_pages_shorter_than_asked_are_followed_to_the_end(server, sim):
    made = add_orders(sim, 7, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(hours=2))
    sim.page_size = 3  # eBay giving fewer rows than the adapter's limit of 200

    results = Rig(server, sim).read(NOW - timedelta(days=1), NOW)

    assert ids(results) == made
    assert page_offsets(sim) == [0, 2, 4]  # rows 0-2, 2-4, 4-6
    assert {request.arg("limit") for request in sim.requests_to(ORDERS_PATH)} == {"200"}


def test_an_order_that_cannot_be_read_is_a_problem_naming_the_field_and_the_run_goes_on(server, sim):
    rig = Rig(server, sim)
    good = sim.add_order(order_id="03-00000-00001")

    def odd(order_id: str, change) -> None:
        order = sim.add_order(order_id=order_id)
        change(order)

    odd("03-00000-00002", lambda o: o["lineItems"][0].update(quantity="two"))
    odd(
        "03-00000-00003",
        lambda o: o["fulfillmentStartInstructions"][0]["shippingStep"]["shipTo"]["contactAddress"].update(
            countryCode="USA"
        ),
    )
    odd("03-00000-00004", lambda o: o["pricingSummary"]["total"].update(value=42.9))
    odd("03-00000-00005", lambda o: o.update(orderFulfillmentStatus="SHIPPED_SOMEHOW"))
    odd("03-00000-00006", lambda o: o["lineItems"][0]["lineItemCost"].update(currency="EUR"))
    odd("03-00000-00007", lambda o: o.update(lineItems=[]))
    odd("03-00000-00008", lambda o: o.update(creationDate="yesterday"))

    results = rig.read(NOW - timedelta(hours=1), NOW)

    problems = {
        result.channel_order_id: (result.field, result.message)
        for result in results
        if isinstance(result, OrderProblem)
    }
    assert problems == {
        "03-00000-00002": ("lineItems[0].quantity", "not a whole number of 1 or more: 'two'"),
        "03-00000-00003": (
            "fulfillmentStartInstructions[0].shippingStep.shipTo.contactAddress.countryCode",
            "not an ISO 3166 alpha-2 country code: 'USA'",
        ),
        "03-00000-00004": ("pricingSummary.total.value", "not a decimal string: 42.9"),
        "03-00000-00005": ("orderFulfillmentStatus", "unknown value 'SHIPPED_SOMEHOW'"),
        "03-00000-00006": ("lineItems[0].lineItemCost.currency", "EUR where the order's total is in USD"),
        "03-00000-00007": ("lineItems", "no line items"),
        "03-00000-00008": ("creationDate", "not an ISO 8601 time: 'yesterday'"),
    }
    [ok] = [result for result in results if isinstance(result, OrderIn)]
    assert ok.channel_order_id == good["orderId"]
    assert next(r for r in results if r.channel_order_id == "03-00000-00002").raw["orderId"] == "03-00000-00002"


def test_order_get_reads_one_order_and_an_unknown_one_is_rejected(server, sim):
    rig = Rig(server, sim)
    sim.add_order(order_id="06-66666-66666")

    order = rig.adapter.order_get("06-66666-66666")
    with pytest.raises(Rejected, match=r"Invalid order ID: 06-00000-00000 \(errorId 32100\)"):
        rig.adapter.order_get("06-00000-00000")

    assert order.channel_order_id == "06-66666-66666"
    assert order.raw == sim.order("06-66666-66666")


# --- Paging traps ---------------------------------------------------------------------------------------------------


def _naive_scan(server_url: str, token: str, date_filter: str, limit: int) -> list[str]:
    """Plain offset paging, as the spec's example does it: the way that misses orders."""
    seen, offset = [], 0
    while True:
        page = httpx.get(
            server_url + ORDERS_PATH,
            params={"filter": date_filter, "limit": limit, "offset": offset},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        seen += [order["orderId"] for order in page["orders"]]
        if "next" not in page:
            return seen
        offset += limit


def _window_with_nine_orders(sim: EbaySimulator, sort_by: str) -> list[str]:
    sim.sort_by = sort_by
    return add_orders(sim, 9, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(days=2))


def _first_order_changes_before_page_two(sim: EbaySimulator, order_id: str) -> None:
    def change(store: EbaySimulator) -> None:
        store.advance(minutes=1)
        store.update_order(order_id, buyerCheckoutNotes="Please use the new door code")

    sim.before_page(2, change)


@pytest.mark.parametrize("sort_by", ["creationDate", "lastModifiedDate"])
def test_an_order_leaving_the_window_mid_scan_makes_no_other_order_missed(served, server, sim, sort_by):
    since, until = NOW - timedelta(days=2, hours=1), NOW - timedelta(days=1)
    # The trap is real: with plain offsets, the order that moved up into the page already read is never seen.
    app, _ = served
    app.sim = other = EbaySimulator(now=NOW)
    made = _window_with_nine_orders(other, sort_by)
    rig = Rig(server, other)
    rig.read(NOW - timedelta(hours=1), NOW)  # a token
    _first_order_changes_before_page_two(other, made[0])
    naive = _naive_scan(
        server.url, rig.tokens.token.value, f"lastmodifieddate:[{ebay_time(since)}..{ebay_time(until)}]", 3
    )
    assert made[3] not in naive
    app.sim = sim

    made = _window_with_nine_orders(sim, sort_by)
    _first_order_changes_before_page_two(sim, made[0])
    rig = Rig(server, sim, options={"page_size": 3})

    results = rig.read(since, until)

    assert sorted(ids(results)) == made  # the changed one as read before it changed, and every other one
    assert len(ids(results)) == len(set(ids(results)))
    assert page_offsets(sim)[:3] == [0, 2, 0]  # page two did not start on a row already read: step back


def test_an_order_jumping_to_the_end_of_an_open_window_is_read_again_and_none_is_missed(server, sim):
    made = _window_with_nine_orders(sim, "lastModifiedDate")
    _first_order_changes_before_page_two(sim, made[0])
    rig = Rig(server, sim, options={"page_size": 3})

    results = rig.read(NOW - timedelta(days=2, hours=1), NOW)

    assert ids(results) == [*made, made[0]]  # the changed order again, as it now is, last
    assert results[-1].buyer_note == "Please use the new door code"
    assert results[-1].channel_updated_at > results[0].channel_updated_at


def test_an_order_read_and_changed_since_is_no_proof_that_the_rows_follow_on(server, sim):
    # Sorted by last change: A and B, read on page one, change and jump to the end. Page two (offset 2) then starts
    # on A, an order already read; trusting it would end the scan without ever reading D.
    made = add_orders(sim, 4, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(hours=6))
    sim.sort_by = "lastModifiedDate"

    def a_and_b_change(store: EbaySimulator) -> None:
        store.advance(seconds=1)
        store.update_order(made[0])
        store.update_order(made[1])

    sim.before_page(2, a_and_b_change)
    rig = Rig(server, sim, options={"page_size": 3})

    results = rig.read(NOW - timedelta(days=1), NOW)

    assert sim.pages_served[1] == (2, [made[0], made[1]])
    assert set(ids(results)) == set(made)
    assert ids(results).count(made[0]) == 2  # as first read, then as changed


def test_an_order_entering_the_window_mid_scan_repeats_a_row_which_is_yielded_once(server, sim):
    sim.now = NOW - timedelta(days=5)
    entering = sim.add_order(order_id="07-77777-77777", created=NOW - timedelta(days=10))
    sim.now = NOW
    made = add_orders(sim, 6, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(hours=6))

    def change(store: EbaySimulator) -> None:
        store.advance(seconds=30)
        store.update_order(entering["orderId"], buyerCheckoutNotes="Changed my mind about the colour")

    sim.before_page(2, change)
    rig = Rig(server, sim, options={"page_size": 3})
    until = NOW

    results = rig.read(NOW - timedelta(days=1), until)

    served = [order_ids for _, order_ids in sim.pages_served]
    assert served[0][-1] == made[2] and made[2] in served[1][1:]  # the same order on two pages
    assert ids(results) == made  # each once
    # The entering order changed after the window's end: the next window, read with the sync's overlap, has it.
    following = rig.read(until - timedelta(minutes=5), sim.now)
    assert ids(following) == [entering["orderId"]]


def test_a_store_changing_before_every_page_still_ends(server, sim):
    made = add_orders(sim, 30, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(days=2))
    left = []

    def move_one_out(store: EbaySimulator) -> None:
        if len(left) < 12:
            store.advance(seconds=1)
            left.append(made[len(left) * 2])
            store.update_order(left[-1])

    for page in range(1, 200):
        sim.before_page(page, move_one_out)
    rig = Rig(server, sim, options={"page_size": 4})

    results = rig.read(NOW - timedelta(days=2, hours=1), NOW - timedelta(days=1))

    unchanged = [order_id for order_id in made if order_id not in left]
    assert set(unchanged) <= set(ids(results))
    assert len(page_offsets(sim)) < 3 * (math.ceil(30 / 3) + 1) + 5


def test_an_order_jumping_to_the_end_before_every_page_makes_none_missed(server, sim):
    # eBay ordering by last change, and a busy store: before every page, the order changed longest ago changes
    # again and jumps to the end, so every page finds the rows moved up by one.
    made = add_orders(sim, 20, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(hours=6))
    sim.sort_by = "lastModifiedDate"

    def oldest_jumps_to_the_end(store: EbaySimulator) -> None:
        store.advance(seconds=1)
        oldest = min(store.orders.values(), key=lambda order: (order["lastModifiedDate"], order["orderId"]))
        store.update_order(oldest["orderId"])

    for page in range(2, 500):
        sim.before_page(page, oldest_jumps_to_the_end)
    rig = Rig(server, sim, options={"page_size": 5})

    results = rig.read(NOW - timedelta(days=1), NOW)

    assert set(ids(results)) == set(made)
    offsets = page_offsets(sim)
    assert any(later < earlier for earlier, later in itertools.pairwise(offsets))  # the rows did move: it stepped back
    assert len(offsets) < 3 * (math.ceil(20 / 4) + 1) + 5


def test_paging_that_never_catches_up_raises_transient_instead_of_ending_early(server, sim):
    # Orders arriving faster than pages are read: the list never ends, so the scan must stop on its budget.
    add_orders(sim, 9, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(hours=2))
    arrivals = iter(range(10_000))

    def three_new_orders(store: EbaySimulator) -> None:
        for _ in range(3):
            number = next(arrivals)
            store.add_order(
                order_id=f"20-{number:05d}-00000", created=NOW - timedelta(hours=1) + timedelta(seconds=number)
            )

    for page in range(2, 500):
        sim.before_page(page, three_new_orders)
    rig = Rig(server, sim, options={"page_size": 3})

    with pytest.raises(Transient, match="kept changing while it was read"):
        rig.read(NOW - timedelta(days=1), NOW)

    assert len(page_offsets(sim)) == 3 * (math.ceil(9 / 2) + 1) + 5  # the budget, from the first page's total


# --- Failures while reading ---------------------------------------------------------------------------------------


def test_a_server_error_in_the_middle_of_paging_makes_the_iteration_raise(server, sim):
    add_orders(sim, 6, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(hours=2))
    sim.fault(
        ORDERS_PATH, status=500, body={"errors": [{"errorId": 30500, "message": "System error"}]}, after=1, times=10
    )
    rig = Rig(server, sim, options={"page_size": 3}, max_attempts=3)
    read: list[str] = []

    with pytest.raises(Transient) as failed:
        for result in rig.adapter.orders_changed(since=NOW - timedelta(days=1), until=NOW):
            read.append(result.channel_order_id)

    assert failed.value.status == 500
    assert read == ["01-12340-56780", "02-12341-56781", "03-12342-56782"]
    assert len(rig.waits) == 2  # three attempts at page two


def test_a_page_that_times_out_is_asked_again(server, sim):
    made = add_orders(sim, 5, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(hours=2))
    sim.fault(ORDERS_PATH, delay=SLOW, passthrough=True, after=1)
    rig = Rig(server, sim, options={"page_size": 3}, timeout=IMPATIENT)

    results = rig.read(NOW - timedelta(days=1), NOW)

    assert ids(results) == made
    assert page_offsets(sim) == [0, 2, 2]
    assert len(rig.waits) == 1


def test_throttling_with_retry_after_is_waited_out(server, sim):
    made = add_orders(sim, 2, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(hours=2))
    rig = Rig(server, sim)
    sim.throttle(2, retry_after=3)

    results = rig.read(NOW - timedelta(days=1), NOW)

    assert ids(results) == made
    assert rig.waits == [3.0, 3.0]


def test_the_simulator_throttles_in_ebays_shape(server, sim):
    sim.throttle(1)
    sim.throttle(1, retry_after=2)

    without, with_header = httpx.get(server.url + ORDERS_PATH), httpx.get(server.url + ORDERS_PATH)

    assert (without.status_code, with_header.status_code) == (429, 429)
    assert without.json()["errors"] == [
        {
            "errorId": 2001,
            "domain": "ACCESS",
            "category": "REQUEST",
            "message": "Too many requests",
            "longMessage": "The request limit has been reached for the resource.",
        }
    ]
    assert "retry-after" not in without.headers
    assert with_header.headers["retry-after"] == "2"


def test_throttling_without_retry_after_backs_off_by_itself(server, sim):
    add_orders(sim, 1, first_created=NOW - timedelta(days=3), modified=NOW - timedelta(hours=2))
    rig = Rig(server, sim)
    sim.throttle(2)

    assert len(rig.read(NOW - timedelta(days=1), NOW)) == 1
    assert len(rig.waits) == 2
    assert all(0 < wait <= 0.002 for wait in rig.waits)  # exponential from backoff_base, nothing asked


def test_throttling_that_never_ends_is_rate_limited(server, sim):
    rig = Rig(server, sim, max_attempts=3)
    sim.throttle(10, retry_after=7)

    with pytest.raises(RateLimited) as limited:
        rig.read(NOW - timedelta(days=1), NOW)

    assert limited.value.retry_after == 7
    assert limited.value.status == 429
    assert rig.waits == [7.0, 7.0]


# --- Shipping -----------------------------------------------------------------------------------------------------


def _shipment(order: dict, *, tracking: str = "9400111899223197428490", lines=None) -> ShipmentOut:
    return ShipmentOut(
        channel_order_id=order["orderId"],
        reference="41",
        carrier="USPS",
        service="USPS Priority Mail",
        tracking_number=tracking,
        shipped_at=datetime(2025, 6, 2, 9, 30, 15, 250000, tzinfo=UTC),
        lines=tuple(lines or [ShipmentLineOut(line["lineItemId"], line["quantity"]) for line in order["lineItems"]]),
        order_raw=order,
    )


def test_a_shipment_is_confirmed_once_with_the_spec_body(server, sim):
    rig = Rig(server, sim)
    order = sim.add_order(
        order_id="10-10101-10101",
        lines=[
            {"sku": "A", "quantity": 2, "price": "5.00", "line_id": "10071"},
            {"sku": "B", "quantity": 1, "price": "7.00", "line_id": "10072"},
        ],
    )

    result = rig.adapter.shipment_confirm(_shipment(order))

    [fulfillment] = sim.fulfillments("10-10101-10101")
    assert result == ConfirmResult(reference=fulfillment["fulfillmentId"], already_confirmed=False)
    assert len(sim.requests_to(ORDERS_PATH + "/10-10101-10101/shipping_fulfillment", "GET")) == 1  # looked first
    [post] = sim.requests_to(ORDERS_PATH + "/10-10101-10101/shipping_fulfillment", "POST")
    assert post.headers["content-type"] == "application/json"
    assert post.json() == {
        "lineItems": [{"lineItemId": "10071", "quantity": 2}, {"lineItemId": "10072", "quantity": 1}],
        "shippedDate": "2025-06-02T09:30:15.250Z",
        "shippingCarrierCode": "USPS",
        "trackingNumber": "9400111899223197428490",
    }
    assert sim.order("10-10101-10101")["orderFulfillmentStatus"] == "FULFILLED"


def test_ebay_makes_a_second_fulfillment_when_told_twice_so_the_adapter_looks_first(server, sim):
    rig = Rig(server, sim)
    order = sim.add_order(order_id="10-20202-20202")
    shipment = _shipment(order)
    first = rig.adapter.shipment_confirm(shipment)
    url = f"{server.url}{ORDERS_PATH}/10-20202-20202/shipping_fulfillment"
    headers = {"Authorization": f"Bearer {rig.tokens.token.value}"}
    body = {
        "lineItems": [{"lineItemId": order["lineItems"][0]["lineItemId"], "quantity": 1}],
        "shippingCarrierCode": "USPS",
        "trackingNumber": "LX123456789CN",
    }

    # The trap: eBay itself has no idempotency key.
    answers = [httpx.post(url, json=body, headers=headers).status_code for _ in range(2)]
    assert answers == [201, 201]
    assert len(sim.fulfillments("10-20202-20202")) == 3

    again = rig.adapter.shipment_confirm(shipment)

    assert again == ConfirmResult(reference=first.reference, already_confirmed=True)
    assert len(sim.fulfillments("10-20202-20202")) == 3
    assert len(sim.requests_to(ORDERS_PATH + "/10-20202-20202/shipping_fulfillment", "POST")) == 3


def test_a_tracking_number_written_differently_is_the_same_parcel(server, sim):
    rig = Rig(server, sim)
    order = sim.add_order(order_id="10-30303-30303")
    rig.adapter.shipment_confirm(_shipment(order, tracking="yt2412345678901234"))

    again = rig.adapter.shipment_confirm(_shipment(order, tracking="YT 2412 3456 7890 1234"))

    assert again.already_confirmed is True
    assert len(sim.fulfillments("10-30303-30303")) == 1


def test_an_unclear_answer_is_checked_before_anything_is_sent_again(server, sim):
    rig = Rig(server, sim)
    order = sim.add_order(order_id="10-40404-40404")
    sim.answer_after_create(502)  # eBay made it, and answered 502

    result = rig.adapter.shipment_confirm(_shipment(order))

    [fulfillment] = sim.fulfillments("10-40404-40404")
    assert result == ConfirmResult(reference=fulfillment["fulfillmentId"], already_confirmed=False)
    assert len(sim.requests_to(ORDERS_PATH + "/10-40404-40404/shipping_fulfillment", "POST")) == 1
    assert len(sim.requests_to(ORDERS_PATH + "/10-40404-40404/shipping_fulfillment", "GET")) == 2


def test_a_confirmation_that_timed_out_is_never_sent_twice(server, sim):
    rig = Rig(server, sim, timeout=IMPATIENT)
    order = sim.add_order(order_id="10-50505-50505")
    # eBay makes the fulfillment only after the adapter gave up (and looked for it in vain).
    sim.fault(ORDERS_PATH + "/10-50505-50505/shipping_fulfillment", method="POST", delay=SLOW, passthrough=True)

    with pytest.raises(Transient, match="no complete answer"):
        rig.adapter.shipment_confirm(_shipment(order))
    deadline = time.monotonic() + SLOW + 5
    while not sim.fulfillments("10-50505-50505") and time.monotonic() < deadline:
        time.sleep(0.02)  # polling what the simulator shows, until eBay has made it
    again = rig.adapter.shipment_confirm(_shipment(order))

    assert again.already_confirmed is True
    assert len(sim.fulfillments("10-50505-50505")) == 1
    assert len(sim.requests_to(ORDERS_PATH + "/10-50505-50505/shipping_fulfillment", "POST")) == 1


def test_a_refused_shipment_is_rejected_with_ebays_message(server, sim):
    rig = Rig(server, sim)
    order = sim.add_order(order_id="10-60606-60606")

    with pytest.raises(Rejected, match=r"Invalid line item id \(errorId 32200\)"):
        rig.adapter.shipment_confirm(_shipment(order, lines=[ShipmentLineOut("999", 1)]))

    assert sim.fulfillments("10-60606-60606") == []


def test_a_throttled_confirmation_is_retried_since_ebay_did_not_act(server, sim):
    rig = Rig(server, sim)
    order = sim.add_order(order_id="10-70707-70707")
    sim.throttle(1, path=ORDERS_PATH + "/10-70707-70707/shipping_fulfillment")
    sim.throttle(1, path=ORDERS_PATH + "/10-70707-70707/shipping_fulfillment")  # the lookup, then the POST

    result = rig.adapter.shipment_confirm(_shipment(order))

    assert result.already_confirmed is False
    assert len(sim.fulfillments("10-70707-70707")) == 1
    assert len(rig.waits) == 2


def test_carrier_names_map_to_ebay_codes_from_the_store_options(server, sim):
    rig = Rig(server, sim, options={"carrier_codes": {"USPS": "USPS", "Yun Express": "YunExpress"}})
    order = sim.add_order(order_id="10-80808-80808")
    shipment = _shipment(order)
    shipment = ShipmentOut(**{**shipment.__dict__, "carrier": "Yun Express", "tracking_number": "YT2412345678901"})

    rig.adapter.shipment_confirm(shipment)

    [post] = sim.requests_to(ORDERS_PATH + "/10-80808-80808/shipping_fulfillment", "POST")
    assert post.json()["shippingCarrierCode"] == "YunExpress"


# --- Stock --------------------------------------------------------------------------------------------------------


def test_stock_is_set_in_one_call_with_one_result_per_item(server, sim):
    rig = Rig(server, sim)
    sim.add_listing("SB-MUG-BLU", quantity=3)
    sim.add_listing("SB-LAMP", quantity=9, offer_ids=["5005317010"])
    sim.add_listing("SB-TOTE", quantity=1)
    sim.refuse_stock(
        "SB-TOTE",
        "shipToLocationAvailability quantity value should be greater than or equal to auction allocation.",
        error_id=25759,
    )
    items = [
        StockOut("SB-MUG-BLU", 12),
        StockOut("SB-LAMP", 4, listing_id="110552", options={"offer_id": "5005317010"}),
        StockOut("SB-TOTE", 0),
        StockOut("SB-GONE", 5),
        StockOut("SB-BROKEN", -2),
    ]

    results = rig.adapter.stock_push(items)

    assert results == [
        StockResult("SB-MUG-BLU", ok=True),
        StockResult("SB-LAMP", ok=True),
        StockResult(
            "SB-TOTE",
            ok=False,
            message="shipToLocationAvailability quantity value should be greater than or "
            "equal to auction allocation. (errorId 25759)",
        ),
        StockResult(
            "SB-GONE", ok=False, message="SB-GONE could not be found or is not available in the system. (errorId 25702)"
        ),
        StockResult("SB-BROKEN", ok=False, message="A quantity below zero cannot be shown on eBay (-2)."),
    ]
    [call] = sim.requests_to("/sell/inventory/v1/bulk_update_price_quantity")
    assert call.method == "POST"
    assert call.headers["authorization"] == f"Bearer {rig.tokens.token.value}"
    assert call.json() == {
        "requests": [
            {"sku": "SB-MUG-BLU", "shipToLocationAvailability": {"quantity": 12}},
            {
                "sku": "SB-LAMP",
                "shipToLocationAvailability": {"quantity": 4},
                "offers": [{"offerId": "5005317010", "availableQuantity": 4}],
            },
            {"sku": "SB-TOTE", "shipToLocationAvailability": {"quantity": 0}},
            {"sku": "SB-GONE", "shipToLocationAvailability": {"quantity": 5}},
        ]
    }
    assert sim.quantities == {"SB-MUG-BLU": 12, "SB-LAMP": 4, "SB-TOTE": 1}
    assert sim.listings["SB-LAMP"]["offers"] == {"5005317010": 4}


def test_a_batch_of_25_is_one_call_and_answered_200(server, sim):
    rig = Rig(server, sim)
    items = [StockOut(f"SKU-{number:02d}", number) for number in range(25)]
    for item in items:
        sim.add_listing(item.channel_sku)

    results = rig.adapter.stock_push(items)

    assert results == [StockResult(item.channel_sku, ok=True) for item in items]
    assert sim.quantities == {item.channel_sku: item.quantity for item in items}
    assert len(sim.requests_to("/sell/inventory/v1/")) == 1
    with pytest.raises(ValueError, match="at most 25"):
        rig.adapter.stock_push([*items, StockOut("SKU-25", 1)])


def test_a_stock_update_that_timed_out_is_sent_again_since_it_sets_rather_than_adds(server, sim):
    rig = Rig(server, sim, timeout=IMPATIENT)
    sim.add_listing("SB-MUG-BLU", quantity=3)
    sim.fault("/sell/inventory/v1/", delay=SLOW, passthrough=True)

    assert rig.adapter.stock_push([StockOut("SB-MUG-BLU", 8)]) == [StockResult("SB-MUG-BLU", ok=True)]
    assert sim.quantities == {"SB-MUG-BLU": 8}
    assert len(sim.requests_to("/sell/inventory/v1/")) == 2


def test_a_whole_stock_call_refused_fails_every_item_with_ebays_message(server, sim):
    rig = Rig(server, sim)
    body = {
        "errors": [
            {
                "errorId": 25002,
                "domain": "API_INVENTORY",
                "category": "REQUEST",
                "message": "Any User error. The seller account is restricted.",
            }
        ]
    }
    sim.fault("/sell/inventory/v1/", status=400, body=body)

    results = rig.adapter.stock_push([StockOut("A", 1), StockOut("B", 2)])

    message = "eBay refused the whole stock update: Any User error. The seller account is restricted. (errorId 25002)"
    assert results == [StockResult("A", ok=False, message=message), StockResult("B", ok=False, message=message)]


# --- Demo data ----------------------------------------------------------------------------------------------------


def test_seed_demo_is_deterministic_realistic_and_readable(server, sim):
    skus = [f"SB-{number:03d}" for number in range(12)]
    twin = EbaySimulator(now=NOW)
    assert twin.seed_demo(60, skus, seed=3) == sim.seed_demo(60, skus, seed=3)
    assert twin.orders == sim.orders
    rig = Rig(server, sim)

    results = rig.read(NOW - timedelta(days=20), NOW)

    assert len(results) == 60
    assert all(isinstance(result, OrderIn) for result in results), [r for r in results if isinstance(r, OrderProblem)]
    statuses = [order.status for order in results]
    assert statuses.count("awaiting_shipment") > 30
    assert {"shipped", "cancelled"} <= set(statuses)
    assert len({order.address.country for order in results}) >= 4
    assert all(order.currency == "USD" for order in results)
    assert all(1 <= len(order.lines) <= 4 for order in results)
    assert all(
        "-" in order.raw["legacyOrderId"] and order.channel_order_id.count("-") == 2 and order.buyer_name
        for order in results
    )
    abroad = [order for order in results if order.address.country not in {"US"}]
    assert all("convertedFromCurrency" in order.raw["pricingSummary"]["total"] for order in abroad)
    shipped = [order for order in results if order.status == "shipped"]
    assert all(sim.fulfillments(order.channel_order_id) for order in shipped)


def test_seed_demo_on_the_live_clock_makes_no_order_from_the_future():
    sim = EbaySimulator()
    before = datetime.now(UTC)

    sim.seed_demo(25, ["SB-001", "SB-002"], seed=5)

    moments = [datetime.fromisoformat(order["lastModifiedDate"]) for order in sim.orders.values()]
    assert len(moments) == 25
    assert all(before - timedelta(days=15) < moment <= datetime.now(UTC) for moment in moments)


def test_token_answers_follow_ebays_oauth_shape(server, sim):
    basic = base64.b64encode(f"{sim.client_id}:{sim.client_secret}".encode()).decode()
    form = {"grant_type": "refresh_token", "refresh_token": sim.refresh_token, "scope": SCOPES}

    granted = httpx.post(server.url + TOKEN_PATH, data=form, headers={"Authorization": f"Basic {basic}"})
    wrong_client = httpx.post(server.url + TOKEN_PATH, data=form, headers={"Authorization": "Basic eDp5"})
    too_wide = httpx.post(
        server.url + TOKEN_PATH,
        data={**form, "scope": SCOPES + " https://api.ebay.com/oauth/api_scope/sell.finances"},
        headers={"Authorization": f"Basic {basic}"},
    )

    assert granted.status_code == 200
    assert granted.json()["expires_in"] == 7200 and granted.json()["token_type"] == "User Access Token"
    assert (wrong_client.status_code, wrong_client.json()["error"]) == (401, "invalid_client")
    assert (too_wide.status_code, too_wide.json()["error"]) == (400, "invalid_scope")
    assert parse_qs(sim.requests_to(TOKEN_PATH)[0].body.decode())["grant_type"] == ["refresh_token"]
