"""A Wish Merchant API v3 store in memory, speaking Wish's wire format for the adapter's tests and the demo.

What it reproduces, from Wish's own specifications (``wish-oauth-api-openapi.yml``, ``wish-orders-api-openapi.yml``,
``wish-products-api-openapi.yml``, v3.0.65, and ``wish-problem-types.yml``):

- Every answer is the envelope ``{"code": 0, "message": "", "data": ...}`` (code 0 means success) with the headers
  ``Wish-Request-Id`` and ``Wish-Rate-Limit-Remaining``.
- OAuth: ``Authorization: Bearer <token>``. Access tokens live 30 days. ``GET /api/v3/oauth/refresh_token``
  (``client_id``, ``client_secret``, ``refresh_token``, ``grant_type=refresh_token``) issues new tokens and revokes
  every existing access token, so a second refresh breaks whoever holds the first one's token. A missing, unknown,
  expired or revoked token answers 401 with Wish's codes 1012, 1006, 1007 and 1008 (the live probe recorded in
  ``wish-problem-types.yml`` saw 401; the spec lists the same codes and messages).
- ``GET /api/v3/orders``: ``limit`` 1–500 (default 50), ``states``, ``updated_at_min/max``,
  ``released_at_min/max``, ``sort_by`` (``updated_at|released_at`` with ``.asc|.desc``, default
  ``updated_at.desc``), ``order_type``. Keyset paging with *inclusive* bounds and no cursor: an order whose
  timestamp equals the next page's ``*_min`` comes again, and when more orders than ``limit`` share a timestamp a
  client that only moves its bound never gets past them. With ``shuffle_ties`` orders sharing a timestamp come in
  a different order on each request, as a database without a tie-breaker returns them.
- One Wish order is one SKU; ``transaction_id`` groups the orders of one checkout. States APPROVED, SHIPPED,
  REFUNDED, REQUIRE_REVIEW, DECLINED; an order can go back to APPROVED after SHIPPED or REFUNDED
  (``order_release_again``: tracking cancelled, order re-released); orders not shipped by
  ``fulfillment_requirements.expected_ship_time`` are refunded by Wish when the clock passes it (``advance``).
  Money is ``{amount (JSON number), currency_code}``.
- ``PUT /api/v3/orders/{id}/tracking`` ``{shipping_provider, tracking_number, origin_country, ship_note}``: no
  idempotency key; processing is asynchronous (``processing_source`` UPDATE_TRACKING, ``processing_status``
  IN_PROGRESS then SUCCEEDED, the state SHIPPED once processed). On a shipped order it *updates* the tracking,
  and Wish keeps two sets of tracking information, so a repeated confirmation is taken silently and uses up the
  one update an order has; the next one is refused.
- ``PUT /api/v3/products/{id}`` with ``variations: [{id, inventories: [{warehouse_id, inventory}]}]``, synchronous
  and all or nothing: an unknown product (code 90001, as the spec's example), a variation removed by Wish, an
  unknown warehouse or an inventory outside 0–500,000 refuses the whole request.
- Throttling: 429 with ``Wish-Rate-Limit-Reset``, "the time the rate-limiter will reset". The spec gives no format
  for that header; like every other Wish time it is sent as ISO 8601 in UTC with milliseconds, on the wall clock
  (rate windows are real time, whatever the simulated clock says). The spec names no error code for it either:
  the body uses 429.

What it leaves out: the code grant (``token_issue`` stands for it), ``bulk_get`` download jobs, refunds and address
changes by the merchant, LTL orders, product creation, and the ``fields=`` partial responses.

Tests and the demo drive it through a small API: ``order_add``/``order_set``/``order_touch``/``order_ship``/
``order_refund``/``order_release_again``, ``advance`` (the simulated clock ``now``, which follows the wall clock
until it is set), ``throttle``, ``tokens_expire``, ``shuffle_ties``, ``default_limit``/``max_limit`` (the page
sizes), ``answer_lose`` (Wish acts but its answer is lost), ``product_add``/``variation_remove``, and what was
done: ``confirmations``, ``stock_updates``, ``inventory``, ``refresh_calls``; ``tracking_process`` finishes
tracking when ``auto_process_tracking`` is off; ``seed_demo`` fills the store. State is in memory, guarded by
``self.lock``.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import random
import re
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from channels.simulators.base import Request, Response, Simulator

STATES = ("APPROVED", "SHIPPED", "REFUNDED", "REQUIRE_REVIEW", "DECLINED")
ORDER_TYPE_FILTERS = (
    "WISH_EXPRESS",
    "FULFILLED_BY_WISH",
    "FULFILLED_BY_STORE",
    "LESS_THAN_TRUCKLOAD",
    "ADVANCED_LOGISTICS",
    "WISH_PLUS",
)
CARRIERS = (
    "4PX",
    "AustraliaPost",
    "Cainiao",
    "ChinaAirPost",
    "DHL",
    "DHLeCommerce",
    "FedEx",
    "LaPoste",
    "RoyalMail",
    "UPS",
    "USPS",
    "Yanwen",
    "YunExpress",
)
TOKEN_LIFETIME = timedelta(days=30)
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_INVENTORY = 500_000
TRACKING_SETS = 2  # "Currently, only two sets of tracking info are supported."
SORT_PATTERN = re.compile(r"^(updated_at|released_at)(\.(asc|desc))?$")
TRACKING_PATTERN = re.compile(r"^[A-Za-z0-9]+$")
DELETE = object()  # order_set(..., DELETE) removes the field


def wish_time(moment: datetime) -> str:
    """Wish's format: ``2020-01-01T07:00:00.000Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str | None) -> datetime | None:
    """A query's time; None when absent or unreadable (the caller refuses it)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_ms(moment: datetime) -> datetime:
    """Wish keeps milliseconds; so does the simulator, so that what it filters on is exactly what it sends."""
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def money(amount: Decimal | str, currency: str) -> dict[str, Any]:
    """A Money object as Wish sends it: the amount is a JSON number."""
    return {"amount": float(Decimal(str(amount))), "currency_code": currency}


def _object_id(kind: str, key: object) -> str:
    """A 24-hex-digit id like Wish's BSON ObjectIds, the same for the same (kind, key)."""
    return hashlib.md5(f"{kind}:{key}".encode()).hexdigest()[:24]  # noqa: S324 (an id, not security)


class WishSimulator(Simulator):
    """One Wish merchant: its app credentials and tokens, orders, products, and the faults tests ask for."""

    name = "wish"

    def __init__(
        self,
        *,
        client_id: str = "5f0c1d2e3a4b5c6d7e8f9a0b",
        client_secret: str = "sim-client-secret",  # noqa: S107 (a simulator's, known to its tests)
        merchant_id: str = "5e1f2a3b4c5d6e7f8a9b0c1d",
        warehouse_id: str = "5d6e7f8091a2b3c4d5e6f708",
        now: datetime | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.merchant_id = merchant_id
        self.warehouse_id = warehouse_id
        self.warehouse_ids = {warehouse_id}
        self.carriers = list(CARRIERS)
        self._now = to_ms(now) if now else None
        self.wall_clock = time.time
        self.orders: dict[str, dict[str, Any]] = {}
        # What the server filters and sorts on, apart from the payload a test may spoil on purpose.
        self._times: dict[str, dict[str, datetime]] = {}
        self._tracking_updates: dict[str, int] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self._sku_index: dict[str, tuple[str, str]] = {}
        self._access_tokens: dict[str, datetime] = {}
        self._revoked: set[str] = set()
        self._refresh_tokens: set[str] = set()
        self.refresh_calls = 0
        self.confirmations: list[tuple[str, dict[str, Any]]] = []
        self.stock_updates: list[tuple[str, dict[str, Any]]] = []
        self.shuffle_ties = False
        self.default_limit = DEFAULT_LIMIT
        self.max_limit = MAX_LIMIT
        self.auto_process_tracking = True
        self.rate_limit_remaining = 1000
        self._throttle_left = 0
        self._lost_answers: list[dict[str, Any]] = []
        self._throttle_seconds = 0.0
        self._random = random.Random(seed)  # noqa: S311 (tie order, not security)
        self._order_numbers = itertools.count(1)
        self.access_token, self.refresh_token = self.token_issue()

    # -- the clock ----------------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The simulated time: the wall clock (in milliseconds) until a test sets it."""
        with self.lock:
            return self._now or to_ms(datetime.now(UTC))

    @now.setter
    def now(self, moment: datetime) -> None:
        with self.lock:
            self._now = to_ms(moment)

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        """Move the simulated clock on (``advance(60)``, ``advance(days=6)``); Wish then refunds what is overdue."""
        with self.lock:
            self._now = to_ms(self.now + timedelta(seconds=seconds, **delta))
            self.orders_refund_overdue()
            return self._now

    # -- tokens -------------------------------------------------------------------------------------------------

    def token_issue(self) -> tuple[str, str]:
        """What the code grant gives a newly connected app: an access token for 30 days and a refresh token."""
        with self.lock:
            access, refresh = secrets.token_hex(16), secrets.token_hex(16)
            self._access_tokens[access] = self.now + TOKEN_LIFETIME
            self._refresh_tokens.add(refresh)
            return access, refresh

    def tokens_expire(self) -> None:
        """Every access token issued so far has expired (as 30 days passing would do)."""
        with self.lock:
            for token in self._access_tokens:
                self._access_tokens[token] = self.now - timedelta(seconds=1)

    def throttle(self, times: int, *, reset_after: float = 2.0) -> None:
        """The next ``times`` calls answer 429, saying the window resets ``reset_after`` seconds after each."""
        with self.lock:
            self._throttle_left = times
            self._throttle_seconds = reset_after

    # -- orders -------------------------------------------------------------------------------------------------

    def order_add(
        self,
        *,
        sku: str = "SKU-1",
        quantity: int = 1,
        price: Decimal | str = "9.99",
        shipping: Decimal | str = "2.50",
        currency: str = "USD",
        state: str = "APPROVED",
        name: str = "Jane Doe",
        address: dict[str, Any] | None = None,
        country: str = "US",
        title: str = "Sample product",
        color: str = "",
        size: str = "",
        released_at: datetime | None = None,
        updated_at: datetime | None = None,
        transaction_id: str | None = None,
        order_types: Iterable[str] = (),
        ship_within: timedelta = timedelta(days=5),
    ) -> str:
        """Add an order as Wish would release it to the merchant; returns its id."""
        with self.lock:
            number = next(self._order_numbers)
            order_id = f"64b0{number:020x}"
            released = to_ms(released_at or self.now)
            updated = to_ms(updated_at or released)
            product_id, variation_id = self._sku_index.get(sku) or (_object_id("product", sku), _object_id("var", sku))
            price_amount, shipping_amount = Decimal(str(price)), Decimal(str(shipping))
            # Wish keeps its commission; what it pays the merchant per unit is a share of the price.
            product_payment = (price_amount * Decimal("0.85")).quantize(Decimal("0.01"))
            detail = {"name": name, **self._address(country), **(address or {})}
            order: dict[str, Any] = {
                "id": order_id,
                "transaction_id": transaction_id or f"64a0{number:020x}",
                "state": state,
                "released_at": wish_time(released),
                "updated_at": wish_time(updated),
                "product_information": {
                    "id": product_id,
                    "variation_id": variation_id,
                    "sku": sku,
                    "name": title,
                    "color": color,
                    "size": size,
                    "variation_image_url": f"https://canary.contestimg.wish.com/api/webimage/{variation_id}.jpg",
                },
                "order_payment": {
                    "general_payment_details": {
                        "product_quantity": quantity,
                        "product_price": money(price_amount, currency),
                        "original_product_price": money(price_amount, currency),
                        "product_shipping_price": money(shipping_amount, currency),
                        "product_merchant_payment": money(product_payment, currency),
                        "shipping_merchant_payment": money(shipping_amount, currency),
                        "payment_total": money((product_payment + shipping_amount) * quantity, currency),
                    }
                },
                "full_address": {"shipping_detail": detail},
                "fulfillment_requirements": {
                    "expected_ship_time": wish_time(released + ship_within),
                    "expected_delivery_time": wish_time(released + timedelta(days=30)),
                },
                "tracking_information": [],
                "fulfillment_records": [{"event_type": "ORDER_RELEASED", "event_time": wish_time(released)}],
                "refunds": [],
                "penalties": [],
                "fulfillment_order_types": list(order_types),
                "warehouse_information": {
                    "warehouse_id": self.warehouse_id,
                    "warehouse_name": "Shenzhen",
                    "warehouse_type": "PRIMARY",
                },
                "tax_information": {},
                "processing_source": None,
                "processing_status": None,
            }
            self.orders[order_id] = order
            self._times[order_id] = {"released_at": released, "updated_at": updated}
            self._tracking_updates[order_id] = 0
            return order_id

    def _address(self, country: str) -> dict[str, Any]:
        """A plausible address in ``country`` (the demo's pool, else a generic one)."""
        pool = ADDRESSES.get(country)
        if pool:
            return copy.deepcopy(pool[0])
        return {
            "street_address1": "1 Main Street",
            "city": "Springfield",
            "state": "State",
            "zipcode": "12345",
            "country": country,
            "country_code": country,
            "phone_number": {"number": "5550100", "country_code": "1"},
        }

    def _touch(self, order_id: str, moment: datetime | None = None) -> datetime:
        """Every change bumps ``updated_at`` to the simulated now (or the time given)."""
        moment = to_ms(moment or self.now)
        self.orders[order_id]["updated_at"] = wish_time(moment)
        self._times[order_id]["updated_at"] = moment
        return moment

    def order(self, order_id: str) -> dict[str, Any]:
        """A copy of an order as Wish holds it."""
        with self.lock:
            return copy.deepcopy(self.orders[order_id])

    def order_set(self, order_id: str, path: str, value: Any, *, touch: bool = True) -> None:
        """Set a field by dotted path (``full_address.shipping_detail.city``; ``DELETE`` removes it), as a change
        in Wish would; ``touch=False`` changes the payload without moving ``updated_at`` (odd data)."""
        with self.lock:
            *parents, leaf = path.split(".")
            node = self.orders[order_id]
            for key in parents:
                node = node.setdefault(key, {})
            if value is DELETE:
                node.pop(leaf, None)
            else:
                node[leaf] = value
            if touch:
                self._touch(order_id)

    def order_touch(self, order_id: str, moment: datetime | None = None) -> None:
        """Wish changed something of the order (its ``updated_at`` moves to ``moment``, default now)."""
        with self.lock:
            self._touch(order_id, moment)

    def order_ship(self, order_id: str, *, tracking_number: str = "LX123456789CN", provider: str = "ChinaAirPost"):
        """The order was shipped outside Seabridge (in Wish's own pages)."""
        with self.lock:
            order = self.orders[order_id]
            order["tracking_information"].insert(
                0,
                {
                    "tracking_number": tracking_number,
                    "shipping_provider": {"name": provider},
                    "origin_country": "CN",
                },
            )
            self._tracking_complete(order_id)

    def order_refund(
        self,
        order_id: str,
        *,
        source: str = "CUSTOMER",
        reason: str = "Customer cancelled the order",
        at: datetime | None = None,
    ) -> None:
        """The order was refunded (cancelled): by the buyer, the merchant or Wish (at ``at``, default now)."""
        with self.lock:
            order = self.orders[order_id]
            moment = self._touch(order_id, at)
            details = order["order_payment"]["general_payment_details"]
            order["state"] = "REFUNDED"
            order["refunds"].append(
                {
                    "refund_time": wish_time(moment),
                    "refund_reason": reason,
                    "refund_reason_note": reason,
                    "refund_source": source,
                    "refund_amount": details["payment_total"],
                    "merchant_responsible_amount": money("0", details["payment_total"]["currency_code"]),
                }
            )

    def order_release_again(self, order_id: str) -> None:
        """Wish cancelled the tracking of a shipped order and released it again: it is APPROVED once more."""
        with self.lock:
            order = self.orders[order_id]
            moment = self._touch(order_id)
            order["state"] = "APPROVED"
            order["processing_source"] = None
            order["processing_status"] = None
            order["fulfillment_records"] += [
                {"event_type": "TRACKING_CANCELLED", "event_time": wish_time(moment)},
                {"event_type": "ORDER_RE_RELEASED", "event_time": wish_time(moment)},
            ]
            self._tracking_updates[order_id] = 0

    def orders_refund_overdue(self) -> list[str]:
        """Wish refunds every approved order not shipped by its ``expected_ship_time``."""
        refunded = []
        with self.lock:
            for order_id, order in self.orders.items():
                due = parse_time(order.get("fulfillment_requirements", {}).get("expected_ship_time"))
                unshipped = order.get("state") == "APPROVED" and order.get("processing_status") != "IN_PROGRESS"
                if unshipped and due is not None and due < self.now:
                    self.order_refund(order_id, source="WISH", reason="Order was not fulfilled on time")
                    refunded.append(order_id)
        return refunded

    def tracking_process(self) -> list[str]:
        """Finish the asynchronous processing of tracking sent (when ``auto_process_tracking`` is off)."""
        with self.lock:
            pending = [
                order_id
                for order_id, order in self.orders.items()
                if order.get("processing_source") == "UPDATE_TRACKING"
                and order.get("processing_status") == "IN_PROGRESS"
            ]
            for order_id in pending:
                self._tracking_complete(order_id)
            return pending

    def _tracking_complete(self, order_id: str, at: datetime | None = None) -> None:
        order = self.orders[order_id]
        moment = self._touch(order_id, at)
        order["state"] = "SHIPPED"
        order["processing_source"] = "UPDATE_TRACKING"
        order["processing_status"] = "SUCCEEDED"
        order["fulfillment_records"].append({"event_type": "MARK_SHIPPED", "event_time": wish_time(moment)})

    # -- products -----------------------------------------------------------------------------------------------

    def product_add(
        self, sku: str, *, product_id: str | None = None, inventory: int = 0, warehouse_id: str | None = None
    ) -> tuple[str, str]:
        """A listing variation for ``sku`` (in an existing product when ``product_id`` is given); returns
        (product id, variation id)."""
        with self.lock:
            product_id = product_id or _object_id("product", sku)
            variation_id = _object_id("var", sku)
            product = self.products.setdefault(
                product_id,
                {"id": product_id, "parent_sku": sku, "name": f"Product {sku}", "status": "ENABLED", "variations": []},
            )
            product["variations"].append(
                {
                    "id": variation_id,
                    "product_id": product_id,
                    "sku": sku,
                    "status": "ENABLED",
                    "inventories": [{"warehouse_id": warehouse_id or self.warehouse_id, "inventory": inventory}],
                }
            )
            self._sku_index[sku] = (product_id, variation_id)
            return product_id, variation_id

    def variation_remove(self, sku: str) -> None:
        """Wish removed the variation (it can no longer be updated)."""
        with self.lock:
            self._variation(sku)["status"] = "REMOVED_BY_WISH"

    def inventory(self, sku: str, warehouse_id: str | None = None) -> int | None:
        """The inventory Wish shows for ``sku`` in a warehouse (the default one unless given)."""
        with self.lock:
            for entry in self._variation(sku)["inventories"]:
                if entry["warehouse_id"] == (warehouse_id or self.warehouse_id):
                    return entry["inventory"]
            return None

    def _variation(self, sku: str) -> dict[str, Any]:
        product_id, variation_id = self._sku_index[sku]
        return next(v for v in self.products[product_id]["variations"] if v["id"] == variation_id)

    # -- the demo -----------------------------------------------------------------------------------------------

    def seed_demo(self, count: int, skus: list[str], seed: int = 0) -> list[str]:
        """``count`` realistic orders, the same for the same seed and clock: checkouts of 1–4 SKUs (one Wish order
        each, sharing a transaction id), buyers in the US, UK, DE, FR, AU, JP, CA and ES, mostly approved and
        waiting to be shipped, some shipped, a few refunded or under review. Every SKU gets a listing."""
        rng = random.Random(seed)  # noqa: S311 (demo data, not security)
        with self.lock:
            for sku in skus:
                if sku not in self._sku_index:
                    self.product_add(sku, inventory=rng.randint(0, 300))
            made: list[str] = []
            while len(made) < count:
                made += self._checkout_seed(rng, skus, count - len(made))
            return made

    def _checkout_seed(self, rng: random.Random, skus: list[str], room: int) -> list[str]:
        country = rng.choice(list(ADDRESSES))
        address = copy.deepcopy(rng.choice(ADDRESSES[country]))
        name = f"{rng.choice(FIRST_NAMES[country])} {rng.choice(LAST_NAMES[country])}"
        currency = "USD"
        roll = rng.random()
        state = (
            "APPROVED" if roll < 0.78 else "SHIPPED" if roll < 0.9 else "REFUNDED" if roll < 0.97 else "REQUIRE_REVIEW"
        )
        # Waiting orders are recent (Wish refunds what is not shipped in time); the others a little older.
        age = timedelta(seconds=rng.randint(600, 3 * 86400 if state == "APPROVED" else 12 * 86400))
        released = self.now - age
        transaction_id = _object_id("transaction", f"{released.isoformat()}:{rng.random()}")
        made = []
        for sku in rng.sample(skus, k=min(rng.randint(1, 4), room, len(skus))):
            order_id = self.order_add(
                sku=sku,
                quantity=rng.choice((1, 1, 1, 2, 3)),
                price=f"{rng.randint(299, 4999) / 100:.2f}",
                shipping=f"{rng.randint(0, 800) / 100:.2f}",
                currency=currency,
                name=name,
                address=address,
                country=country,
                title=f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
                color=rng.choice(("", "Black", "White", "Red", "Blue")),
                size=rng.choice(("", "S", "M", "L", "XL")),
                released_at=released,
                transaction_id=transaction_id,
                order_types=("WISH_EXPRESS",) if rng.random() < 0.1 else (),
            )
            if state == "SHIPPED":
                self.orders[order_id]["tracking_information"].insert(
                    0,
                    {
                        "tracking_number": f"YT{rng.randint(10**15, 10**16 - 1)}",
                        "shipping_provider": {"name": "YunExpress"},
                        "origin_country": "CN",
                    },
                )
                self._tracking_complete(order_id, released + timedelta(hours=rng.randint(2, 48)))
            elif state == "REFUNDED":
                self.order_refund(order_id, at=released + timedelta(hours=rng.randint(1, 24)))
            elif state != "APPROVED":
                self.orders[order_id]["state"] = state
            made.append(order_id)
        return made

    # -- HTTP ---------------------------------------------------------------------------------------------------

    def answer_lose(self, path: str, *, method: str = "PUT", times: int = 1, delay: float = 0.0) -> None:
        """The next ``times`` matching requests are carried out, but their answer is lost: a 502 from the gateway,
        or with ``delay`` the real answer, too late for the client. (The base's faults answer *instead of* acting.)"""
        with self.lock:
            self._lost_answers.append({"path": path, "method": method, "times": times, "delay": delay})

    def _lost_answer(self, request: Request) -> dict[str, Any] | None:
        for lost in self._lost_answers:
            if request.path.startswith(lost["path"]) and request.method == lost["method"]:
                lost["times"] -= 1
                if lost["times"] <= 0:
                    self._lost_answers.remove(lost)
                return lost
        return None

    def handle(self, request: Request) -> Response:
        with self.lock:
            response = self._answer(request)
            lost = self._lost_answer(request)
        if lost is None:
            return response
        if lost["delay"]:
            time.sleep(lost["delay"])
            return response
        return Response(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", {"Content-Type": "text/html"})

    def _answer(self, request: Request) -> Response:
        throttled = self._throttled()
        if throttled is not None:
            return throttled
        if request.method == "GET" and request.path == "/api/v3/oauth/refresh_token":
            return self._refresh(request)
        refused = self._token_refused(request)
        if refused is not None:
            return refused
        return self._route(request)

    def _route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if parts[:2] != ["api", "v3"]:
            return self._error(404, 1000, "Resource not found")
        route = parts[2:]
        if request.method == "GET" and route == ["oauth", "test"]:
            return self._ok({"merchant_id": self.merchant_id})
        if request.method == "GET" and route == ["orders"]:
            return self._orders_list(request)
        if request.method == "GET" and len(route) == 2 and route[0] == "orders":
            return self._order_get(route[1])
        if request.method == "PUT" and len(route) == 3 and route[0] == "orders" and route[2] == "tracking":
            return self._tracking_put(route[1], request)
        if request.method == "GET" and len(route) == 2 and route[0] == "products":
            product = self.products.get(route[1])
            return self._ok(copy.deepcopy(product)) if product else self._no_product()
        if request.method == "PUT" and len(route) == 2 and route[0] == "products":
            return self._product_put(route[1], request)
        return self._error(404, 1000, "Resource not found")

    def _headers(self) -> dict[str, str]:
        self.rate_limit_remaining = max(0, self.rate_limit_remaining - 1)
        return {"Wish-Request-Id": secrets.token_hex(12), "Wish-Rate-Limit-Remaining": str(self.rate_limit_remaining)}

    def _ok(self, data: Any) -> Response:
        return Response(200, {"code": 0, "message": "", "data": data}, self._headers())

    def _error(self, status: int, code: int, message: str) -> Response:
        return Response(status, {"code": code, "message": message, "data": {}}, self._headers())

    def _throttled(self) -> Response | None:
        if self._throttle_left <= 0:
            return None
        self._throttle_left -= 1
        reset = datetime.fromtimestamp(self.wall_clock() + self._throttle_seconds, UTC)
        response = self._error(429, 429, "Too many requests. Please try again after the rate limit resets.")
        response.headers["Wish-Rate-Limit-Remaining"] = "0"
        response.headers["Wish-Rate-Limit-Reset"] = wish_time(reset)
        return response

    def _token_refused(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            return self._error(401, 1012, "Missing access token in authorization header")
        token = header[7:].strip()
        if token in self._revoked:
            return self._error(401, 1008, "This access token has been revoked")
        expires_at = self._access_tokens.get(token)
        if expires_at is None:
            return self._error(401, 1006, "No access token found or the app does not exist")
        if expires_at <= self.now:
            return self._error(401, 1007, "This access token has expired")
        return None

    def _refresh(self, request: Request) -> Response:
        self.refresh_calls += 1
        if request.arg("grant_type") != "refresh_token":
            return self._error(400, 1001, "grant_type must be set to 'refresh_token'")
        if request.arg("client_id") != self.client_id or request.arg("client_secret") != self.client_secret:
            return self._error(
                400, 10001, "Incorrect credentials. client_id or client_secret does not match our records"
            )
        if request.arg("refresh_token") not in self._refresh_tokens:
            return self._error(400, 1006, "Unauthorized access on this API")
        # "Existing access tokens will be revoked after calling this API."
        self._revoked.update(self._access_tokens)
        self._access_tokens.clear()
        self.access_token, self.refresh_token = self.token_issue()
        return self._ok(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expiry_time": wish_time(self._access_tokens[self.access_token]),
                "merchant_id": self.merchant_id,
                "scopes": ["orders:read", "orders:write", "products:read", "products:write"],
            }
        )

    def _orders_list(self, request: Request) -> Response:
        try:
            limit = int(request.arg("limit", str(self.default_limit)))
        except ValueError:
            limit = 0
        if not 1 <= limit <= self.max_limit:
            return self._error(400, 1001, f"limit must be between 1 and {self.max_limit}")
        sort_by = request.arg("sort_by", "updated_at.desc")
        match = SORT_PATTERN.match(sort_by)
        if not match:
            return self._error(400, 1001, f"Invalid sort_by: {sort_by}")
        states = request.args("states") + request.args("states[]")
        if any(state not in STATES for state in states):
            return self._error(400, 1001, "Invalid states")
        order_type = request.arg("order_type")
        if order_type and order_type not in ORDER_TYPE_FILTERS:
            return self._error(400, 1001, f"Invalid order_type: {order_type}")
        bounds = {}
        for name in ("updated_at_min", "updated_at_max", "released_at_min", "released_at_max"):
            text = request.arg(name)
            if text is not None:
                bounds[name] = parse_time(text)
                if bounds[name] is None:
                    return self._error(400, 1001, f"Invalid date-time for {name}: {text}")
        rows = [
            order_id
            for order_id, order in self.orders.items()
            if self._in_bounds(order_id, bounds)
            and (not states or order.get("state") in states)
            and (not order_type or order_type in (order.get("fulfillment_order_types") or []))
        ]
        field, descending = match.group(1), match.group(3) == "desc"
        ties = {order_id: self._random.random() if self.shuffle_ties else order_id for order_id in rows}
        rows.sort(key=lambda order_id: (self._times[order_id][field], ties[order_id]), reverse=descending)
        return self._ok([copy.deepcopy(self.orders[order_id]) for order_id in rows[:limit]])

    def _in_bounds(self, order_id: str, bounds: dict[str, datetime]) -> bool:
        """Both bounds are inclusive, as Wish's are."""
        times = self._times[order_id]
        for name, bound in bounds.items():
            field, side = name.rsplit("_", 1)
            if (side == "min" and times[field] < bound) or (side == "max" and times[field] > bound):
                return False
        return True

    def _order_get(self, order_id: str) -> Response:
        order = self.orders.get(order_id)
        if order is None:
            return self._error(400, 90001, "There is no such order for the merchant.")
        return self._ok(copy.deepcopy(order))

    def _tracking_put(self, order_id: str, request: Request) -> Response:
        order = self.orders.get(order_id)
        if order is None:
            return self._error(400, 90001, "There is no such order for the merchant.")
        try:
            body = request.json()
        except ValueError:
            return self._error(400, 1001, "The request body is not valid JSON")
        problem = self._tracking_problem(body)
        if problem:
            return self._error(400, 1001, problem)
        state = order.get("state")
        if state == "REFUNDED":
            return self._error(400, 1001, f"Order {order_id} has been refunded and cannot be shipped")
        if state in ("REQUIRE_REVIEW", "DECLINED"):
            return self._error(400, 1001, f"Order {order_id} cannot be shipped while it is {state}")
        if self._tracking_updates[order_id] >= TRACKING_SETS:
            return self._error(400, 1001, f"The tracking of order {order_id} can no longer be updated")
        self._tracking_updates[order_id] += 1
        tracking = {
            "tracking_number": body["tracking_number"],
            "shipping_provider": {"name": body["shipping_provider"]},
            "origin_country": body["origin_country"],
        }
        if body.get("ship_note"):
            tracking["ship_note"] = body["ship_note"]
        order["tracking_information"] = [tracking, *order["tracking_information"]][:TRACKING_SETS]
        order["processing_source"] = "UPDATE_TRACKING"
        order["processing_status"] = "IN_PROGRESS"
        self._touch(order_id)
        self.confirmations.append((order_id, body))
        if self.auto_process_tracking:
            self._tracking_complete(order_id)
        return self._ok(copy.deepcopy(order))

    def _tracking_problem(self, body: Any) -> str:
        if not isinstance(body, dict):
            return "The request body must be an object"
        for name in ("shipping_provider", "tracking_number", "origin_country"):
            if not isinstance(body.get(name), str) or not body[name]:
                return f"{name} is required"
        if not TRACKING_PATTERN.match(body["tracking_number"]):
            return "Tracking number should only contain alphanumeric characters with no space between them"
        if body["shipping_provider"] not in self.carriers:
            return f"{body['shipping_provider']} is not an accepted shipping provider"
        if not re.fullmatch(r"[A-Z]{2}", body["origin_country"]):
            return f"Invalid origin_country: {body['origin_country']}"
        note = body.get("ship_note")
        if note is not None and (not isinstance(note, str) or not 1 <= len(note) <= 500):
            return "ship_note must be between 1 and 500 characters"
        return ""

    def _no_product(self) -> Response:
        return self._error(400, 90001, "There is no such product for the merchant.")

    def _product_put(self, product_id: str, request: Request) -> Response:
        product = self.products.get(product_id)
        if product is None:
            return self._no_product()
        try:
            body = request.json()
        except ValueError:
            return self._error(400, 1001, "The request body is not valid JSON")
        if not isinstance(body, dict) or not isinstance(body.get("variations", []), list):
            return self._error(400, 1001, "variations must be a list")
        by_id = {variation["id"]: variation for variation in product["variations"]}
        changes = []
        for entry in body.get("variations", []):
            problem, change = self._variation_change(product_id, by_id, entry)
            if problem:
                return self._error(400, 1001, problem)
            changes.append(change)
        for variation, inventories in changes:
            for warehouse_id, inventory in inventories:
                current = next((i for i in variation["inventories"] if i["warehouse_id"] == warehouse_id), None)
                if current is None:
                    variation["inventories"].append({"warehouse_id": warehouse_id, "inventory": inventory})
                else:
                    current["inventory"] = inventory
        self.stock_updates.append((product_id, body))
        return self._ok(copy.deepcopy(product))

    def _variation_change(self, product_id: str, by_id: dict[str, Any], entry: Any) -> tuple[str, Any]:
        """What one variation of an update asks, or why the whole update is refused."""
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            return "Each variation needs its id", None
        variation = by_id.get(entry["id"])
        if variation is None:
            return f"Variation {entry['id']} does not belong to product {product_id}", None
        if variation["status"] == "REMOVED_BY_WISH":
            return f"Variation {entry['id']} has been removed by Wish and cannot be updated", None
        inventories = []
        for item in entry.get("inventories", []):
            warehouse_id, inventory = (
                (item.get("warehouse_id"), item.get("inventory")) if isinstance(item, dict) else (None, None)
            )
            if warehouse_id not in self.warehouse_ids:
                return f"Warehouse {warehouse_id} does not exist for the merchant", None
            if isinstance(inventory, bool) or not isinstance(inventory, int) or not 0 <= inventory <= MAX_INVENTORY:
                return f"inventory must be an integer between 0 and {MAX_INVENTORY}", None
            inventories.append((warehouse_id, inventory))
        return "", (variation, inventories)


# --- The demo's buyers ------------------------------------------------------------------------------------------

ADDRESSES: dict[str, list[dict[str, Any]]] = {
    "US": [
        {
            "street_address1": "1600 Amphitheatre Pkwy",
            "street_address2": "Apt 4B",
            "city": "Mountain View",
            "state": "CA",
            "zipcode": "94043",
            "country": "United States",
            "country_code": "US",
            "phone_number": {"number": "6505550143", "country_code": "1"},
        },
        {
            "street_address1": "350 Fifth Avenue",
            "city": "New York",
            "state": "NY",
            "zipcode": "10118",
            "country": "United States",
            "country_code": "US",
            "phone_number": {"number": "2125550198", "country_code": "1"},
        },
    ],
    "GB": [
        {
            "street_address1": "221B Baker Street",
            "city": "London",
            "state": "Greater London",
            "zipcode": "NW1 6XE",
            "country": "United Kingdom",
            "country_code": "GB",
            "phone_number": {"number": "7700900123", "country_code": "44"},
        }
    ],
    "DE": [
        {
            "street_address1": "Unter den Linden 77",
            "street_address2": "3. OG",
            "city": "Berlin",
            "state": "Berlin",
            "zipcode": "10117",
            "country": "Germany",
            "country_code": "DE",
            "phone_number": {"number": "30901820", "country_code": "49"},
        }
    ],
    "FR": [
        {
            "street_address1": "8 Rue de Rivoli",
            "city": "Paris",
            "state": "Île-de-France",
            "zipcode": "75004",
            "country": "France",
            "country_code": "FR",
            "phone_number": {"number": "612345678", "country_code": "33"},
        }
    ],
    "AU": [
        {
            "street_address1": "Unit 5",
            "street_address2": "42 George Street",
            "city": "Sydney",
            "state": "NSW",
            "zipcode": "2000",
            "country": "Australia",
            "country_code": "AU",
            "phone_number": {"number": "412345678", "country_code": "61"},
        }
    ],
    "JP": [
        {
            "street_address1": "千代田区丸の内1-9-1",
            "street_address2": "グラントウキョウノースタワー 12F",
            "city": "東京都",
            "state": "Tokyo",
            "zipcode": "100-0005",
            "country": "Japan",
            "country_code": "JP",
            "phone_number": {"number": "9012345678", "country_code": "81"},
        }
    ],
    "CA": [
        {
            "street_address1": "290 Bremner Blvd",
            "city": "Toronto",
            "state": "ON",
            "zipcode": "M5V 3L9",
            "country": "Canada",
            "country_code": "CA",
            "phone_number": {"number": "4165550123", "country_code": "1"},
        }
    ],
    "ES": [
        {
            "street_address1": "Calle de Alcalá 42",
            "street_address2": "2º izquierda",
            "neighborhood": "Centro",
            "city": "Madrid",
            "state": "Madrid",
            "zipcode": "28014",
            "country": "Spain",
            "country_code": "ES",
            "phone_number": {"number": "612345678", "country_code": "34"},
        }
    ],
}
FIRST_NAMES = {
    "US": ["Emily", "Michael", "Jessica", "David", "Ashley"],
    "GB": ["Oliver", "Amelia", "Harry", "Isla"],
    "DE": ["Lukas", "Anna", "Jonas", "Lea"],
    "FR": ["Camille", "Louis", "Chloé", "Hugo"],
    "AU": ["Jack", "Charlotte", "William", "Mia"],
    "JP": ["Yuki", "Haruto", "Sakura", "Ren"],
    "CA": ["Liam", "Olivia", "Noah", "Emma"],
    "ES": ["Lucía", "Hugo", "Martina", "Pablo"],
}
LAST_NAMES = {
    "US": ["Smith", "Johnson", "Williams", "Brown"],
    "GB": ["Taylor", "Davies", "Evans", "Wilson"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer"],
    "FR": ["Martin", "Bernard", "Dubois", "Lefèvre"],
    "AU": ["Smith", "Jones", "Nguyen", "Wilson"],
    "JP": ["Sato", "Suzuki", "Takahashi", "Tanaka"],
    "CA": ["Tremblay", "Roy", "Gagnon", "MacDonald"],
    "ES": ["García", "Fernández", "López", "Martínez"],
}
ADJECTIVES = ["Wireless", "Waterproof", "Portable", "Vintage", "Magnetic", "Foldable", "LED", "Silicone"]
NOUNS = ["Phone Case", "Earbuds", "Desk Lamp", "Backpack", "Watch Strap", "Yoga Mat", "Cable Organiser", "Mug"]
