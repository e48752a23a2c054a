"""A local eBay: Sell Fulfillment orders and shipping fulfillments, Sell Inventory stock, OAuth refresh and 429s.

It answers as eBay's OpenAPI documents say (``sell_fulfillment_v1_oas3.json`` v1.11.0, ``sell_inventory_v1_oas3.json``
v1.13.0, in /work/shared/reference/specs/ebay/), with the traps a real store sets:

- ``POST /identity/v1/oauth2/token``: the refresh-token grant (Basic client credentials, form ``grant_type``,
  ``refresh_token``, ``scope``), access tokens that last ``token_lifetime`` seconds of the simulated clock. An expired
  or unknown token gets eBay's 401 (errorId 1001); a token without the operation's scope a 403 (errorId 1100).
- ``GET /sell/fulfillment/v1/order``: ``filter`` (``lastmodifieddate``/``creationdate``/``orderfulfillmentstatus``,
  inclusive brackets, the 90-day reach, no dates in the future, with the spec's error ids), ``limit``/``offset``
  paging with ``total``, ``next`` and ``prev``. Rows are numbered afresh on every call, so an order changed during a
  scan moves the ones after it: with an end date it leaves the window (the next rows move up: one is never on any
  page), and an order entering the window pushes rows down (one shows on two pages). ``sort_by`` picks the order of
  the rows: creation date as the spec says by default, or last-modified date (then a changed order jumps to the end).
  ``cancelStatus.cancelRequests`` is always empty here, as the spec says; ``GET /order/{orderId}`` fills it.
- ``POST /order/{orderId}/shipping_fulfillment``: 201 with ``Location``; sent twice, it makes two fulfillments (eBay
  has no idempotency key). ``GET`` lists them.
- ``POST /sell/inventory/v1/bulk_update_price_quantity``: at most 25 requests, 200 when every item took, 207
  Multi-Status with one ``responses`` entry per item (and per offer) otherwise.
- Throttling: 429 with eBay's error 2001, with or without ``Retry-After``.

Tests and the demo drive it through small methods: ``add_order``/``update_order``/``cancel_order`` (each bumps
``lastModifiedDate`` to ``now``), ``throttle``, ``expire_tokens``, ``page_size``, ``before_page`` (change the store
between two pages of a scan), ``fulfillments``, ``quantities``, and ``seed_demo``.
"""

from __future__ import annotations

import base64
import copy
import itertools
import random
import re
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote, urlencode

from channels.simulators.base import Request, Response, Simulator

TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 (a path, not a secret)
FULFILLMENT = "/sell/fulfillment/v1"
INVENTORY = "/sell/inventory/v1"
SCOPE_FULFILLMENT = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
SCOPE_FULFILLMENT_READONLY = "https://api.ebay.com/oauth/api_scope/sell.fulfillment.readonly"
SCOPE_INVENTORY = "https://api.ebay.com/oauth/api_scope/sell.inventory"
FILTER_REACH = timedelta(days=90)
MAX_LIMIT = 1000  # the spec's maximum for getOrders
MAX_STOCK_REQUESTS = 25
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z")
_CENT = Decimal("0.01")


def ebay_time(moment: datetime) -> str:
    """eBay's timestamp: UTC, milliseconds, ``Z`` (``2015-08-04T19:09:02.768Z``)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_time(value: str) -> datetime | None:
    if not isinstance(value, str) or not _STAMP.fullmatch(value):
        return None
    return datetime.fromisoformat(value)


def ebay_error(status: int, error_id: int, message: str, *, domain: str = "API_FULFILLMENT", **extra: Any) -> Response:
    """eBay's error shape: ``{"errors": [{errorId, domain, category, message, ...}]}``."""
    category = "APPLICATION" if status >= 500 else "REQUEST"
    return Response(
        status, {"errors": [{"errorId": error_id, "domain": domain, "category": category, "message": message, **extra}]}
    )


def amount(value: Decimal | str, currency: str, converted: tuple[str, Decimal] | None = None) -> dict[str, str]:
    """An eBay Amount. ``converted`` = (the buyer's currency, units of it per unit of ``currency``): eBay then gives
    the pre-conversion amount in ``convertedFromValue``/``convertedFromCurrency``."""
    value = Decimal(value).quantize(_CENT)
    result = {"value": str(value), "currency": currency}
    if converted is not None:
        from_currency, rate = converted
        places = Decimal("1") if from_currency == "JPY" else _CENT
        result["convertedFromValue"] = str((value * rate).quantize(places, ROUND_HALF_UP))
        result["convertedFromCurrency"] = from_currency
    return result


class EbaySimulator(Simulator):
    name = "ebay"

    def __init__(
        self,
        *,
        now: datetime | None = None,
        client_id: str = "SeabridgeSim-PRD-8a1f2c3d4-5e6f7a8b",
        client_secret: str = "PRD-a1b2c3d4e5f6-7a8b-9c0d-1e2f-3a4b",  # noqa: S107 (the simulator's own)
        refresh_token: str = "v^1.1#i^1#r^1#f^0#p^3#I^3#t^SimRefreshToken",  # noqa: S107
        seller: str = "seabridge_outlet",
        token_lifetime: int = 7200,
    ) -> None:
        super().__init__()
        self._now = now
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.granted_scopes = {SCOPE_FULFILLMENT, SCOPE_FULFILLMENT_READONLY, SCOPE_INVENTORY}
        self.seller = seller
        self.token_lifetime = token_lifetime
        self.tokens: dict[str, tuple[datetime, frozenset[str]]] = {}
        self.tokens_granted = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self._fulfillments: dict[str, list[dict[str, Any]]] = {}
        self.listings: dict[str, dict[str, Any]] = {}
        self.refused_skus: dict[str, tuple[int, str]] = {}
        self.page_size: int | None = None  # a cap below what the client asks, as a server may impose
        self.sort_by = "creationDate"
        self.pages_served: list[tuple[int, list[str]]] = []
        self._before_page: dict[int, list[Callable[[EbaySimulator], None]]] = {}
        self._answers_after_create: list[int] = []
        self._sequence = itertools.count(1)

    # -- the clock ------------------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The simulated time: fixed once set (tests), else the real time (the demo)."""
        if self._now is not None:
            return self._now
        moment = datetime.now(UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    @now.setter
    def now(self, value: datetime) -> None:
        self._now = value.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now

    # -- for tests and the demo -----------------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every access token issued so far is now past its expiry (eBay answers 401, errorId 1001)."""
        with self.lock:
            expired = self.now - timedelta(seconds=1)
            self.tokens = {token: (expired, scopes) for token, (_, scopes) in self.tokens.items()}

    def throttle(self, times: int = 1, *, retry_after: float | None = None, path: str = "/sell/") -> None:
        """The next ``times`` API calls get eBay's 429 (errorId 2001); ``Retry-After`` only when given, since eBay
        does not always send it."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        body = {
            "errors": [
                {
                    "errorId": 2001,
                    "domain": "ACCESS",
                    "category": "REQUEST",
                    "message": "Too many requests",
                    "longMessage": "The request limit has been reached for the resource.",
                }
            ]
        }
        self.fault(path, status=429, body=body, headers=headers, times=times)

    def before_page(self, number: int, action: Callable[[EbaySimulator], None]) -> None:
        """Run ``action(sim)`` just before the ``number``-th getOrders page from now (1 = the next) is read."""
        with self.lock:
            self._before_page.setdefault(len(self.pages_served) + number, []).append(action)

    def answer_after_create(self, status: int = 502, times: int = 1) -> None:
        """The next ``times`` shipping fulfillments are created, and the answer is ``status`` all the same (the
        unclear outcome a client must check before trying again)."""
        with self.lock:
            self._answers_after_create.extend([status] * times)

    def fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self._fulfillments.get(order_id, []))

    def order(self, order_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.orders[order_id])

    def put_order(self, order: dict[str, Any]) -> dict[str, Any]:
        """Store an order exactly as given (odd data included)."""
        with self.lock:
            self.orders[order["orderId"]] = order
        return order

    def update_order(self, order_id: str, change: Callable[[dict[str, Any]], None] | None = None, **fields: Any):
        """Change an order (``change(order)`` and/or top-level fields) and bump its ``lastModifiedDate``."""
        with self.lock:
            order = self.orders[order_id]
            if change is not None:
                change(order)
            order.update(fields)
            order["lastModifiedDate"] = ebay_time(self.now)
            return copy.deepcopy(order)

    def cancel_order(
        self, order_id: str, *, completed: bool = True, reason: str = "BUYER_ASKED_CANCEL", initiator: str = "Buyer"
    ) -> dict[str, Any]:
        """A buyer's cancel request: pending (cancelState IN_PROGRESS) or done (CANCELED, refunded)."""
        stamp = ebay_time(self.now)
        request = {
            "cancelInitiator": initiator,
            "cancelReason": reason,
            "cancelRequestedDate": stamp,
            "cancelRequestId": str(5000000000 + next(self._sequence)),
            "cancelRequestState": "COMPLETED" if completed else "REQUESTED",
        }

        def change(order: dict[str, Any]) -> None:
            status = order.setdefault("cancelStatus", {})
            status["cancelRequests"] = [*status.get("cancelRequests", []), request]
            if completed:
                request["cancelCompletedDate"] = stamp
                status.update(cancelState="CANCELED", cancelledDate=stamp)
                order["orderPaymentStatus"] = "FULLY_REFUNDED"
            else:
                status["cancelState"] = "IN_PROGRESS"

        return self.update_order(order_id, change)

    def add_listing(self, sku: str, quantity: int = 0, offer_ids: Iterable[str] = ()) -> None:
        with self.lock:
            self.listings[sku] = {"quantity": quantity, "offers": dict.fromkeys(offer_ids, quantity)}

    def refuse_stock(self, sku: str, message: str, error_id: int = 25002) -> None:
        """Updates of this SKU fail inside an otherwise good 207 answer."""
        with self.lock:
            self.refused_skus[sku] = (error_id, message)

    @property
    def quantities(self) -> dict[str, int]:
        with self.lock:
            return {sku: listing["quantity"] for sku, listing in self.listings.items()}

    def add_order(
        self,
        *,
        order_id: str | None = None,
        created: datetime | None = None,
        lines: list[dict[str, Any]] | None = None,
        ship_to: dict[str, Any] | None = None,
        buyer: str = "mapleleaf_deals",
        currency: str = "USD",
        converted: tuple[str, Decimal] | None = None,
        delivery_cost: str = "4.99",
        tax: str = "0.00",
        payment_status: str = "PAID",
        fulfillment_status: str = "NOT_STARTED",
        shipping_service: str = "USPSPriority",
        shipping_carrier: str = "USPS",
        marketplace: str = "EBAY_US",
        note: str | None = None,
        country_field: str = "countryCode",
    ) -> dict[str, Any]:
        """A paid order as eBay returns it. ``lines``: dicts with ``sku``, ``quantity``, ``price`` (unit, string),
        optional ``title``/``item_id``/``line_id``. ``created`` defaults to ``now``; ``lastModifiedDate`` is ``now``."""
        created = created or self.now
        sequence = next(self._sequence)
        order_id = order_id or f"{10 + sequence % 90:02d}-{10000 + sequence * 7919 % 90000:05d}-{sequence:05d}"
        lines = lines or [{"sku": "SB-MUG-BLU", "quantity": 1, "price": "12.50"}]
        ship_to = ship_to or _DEFAULT_SHIP_TO
        line_items, subtotal = [], Decimal("0")
        for index, line in enumerate(lines):
            cost = Decimal(line["price"]) * line["quantity"]
            subtotal += cost
            shipping = Decimal(delivery_cost) if index == 0 else Decimal("0")
            line_tax = Decimal(tax) if index == 0 else Decimal("0")
            item_id = line.get("item_id") or str(110500000000 + sequence * 31 + index)
            line_items.append(
                {
                    "lineItemId": line.get("line_id") or str(10060000000000 + sequence * 10 + index),
                    "legacyItemId": item_id,
                    "sku": line["sku"],
                    "title": line.get("title") or f"{line['sku']} - Seabridge listing",
                    "quantity": line["quantity"],
                    "lineItemCost": amount(cost, currency, converted),
                    "total": amount(cost + shipping + line_tax, currency, converted),
                    "deliveryCost": {"shippingCost": amount(shipping, currency, converted)},
                    "appliedPromotions": [],
                    "taxes": [{"amount": amount(line_tax, currency, converted)}] if line_tax else [],
                    "refunds": [],
                    "soldFormat": "FIXED_PRICE",
                    "listingMarketplaceId": marketplace,
                    "purchaseMarketplaceId": marketplace,
                    "lineItemFulfillmentStatus": "FULFILLED" if fulfillment_status == "FULFILLED" else "NOT_STARTED",
                    "lineItemFulfillmentInstructions": {
                        "guaranteedDelivery": False,
                        "shipByDate": ebay_time(created + timedelta(days=3)),
                        "minEstimatedDeliveryDate": ebay_time(created + timedelta(days=6)),
                        "maxEstimatedDeliveryDate": ebay_time(created + timedelta(days=14)),
                    },
                    "properties": {"buyerProtection": True},
                }
            )
        total = subtotal + Decimal(delivery_cost) + Decimal(tax)
        address = {key: value for key, value in ship_to.items() if key not in {"fullName", "phone", "email", "company"}}
        if country_field != "countryCode":
            address[country_field] = address.pop("countryCode")
        contact: dict[str, Any] = {"fullName": ship_to["fullName"], "contactAddress": address}
        if ship_to.get("company"):
            contact["companyName"] = ship_to["company"]
        if ship_to.get("phone"):
            contact["primaryPhone"] = {"phoneNumber": ship_to["phone"]}
        contact["email"] = ship_to.get("email") or f"{buyer.replace('.', '')}@members.ebay.com"
        payment: dict[str, Any] = {
            "paymentMethod": "EBAY",
            "amount": amount(total, currency, converted),
            "paymentStatus": "PAID" if payment_status != "PENDING" else "PENDING",
        }
        if payment_status != "PENDING":
            payment["paymentDate"] = ebay_time(created + timedelta(minutes=1))
            payment["paymentReferenceId"] = f"{(sequence * 48271) % 10**12:012d}"
        order: dict[str, Any] = {
            "orderId": order_id,
            "legacyOrderId": f"{line_items[0]['legacyItemId']}-{2800000000000 + sequence}",
            "creationDate": ebay_time(created),
            "lastModifiedDate": ebay_time(self.now),
            "orderFulfillmentStatus": fulfillment_status,
            "orderPaymentStatus": payment_status,
            "sellerId": self.seller,
            "buyer": {"username": buyer},
            "pricingSummary": {
                "priceSubtotal": amount(subtotal, currency, converted),
                "deliveryCost": amount(delivery_cost, currency, converted),
                "total": amount(total, currency, converted),
            },
            "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
            "paymentSummary": {
                "payments": [payment],
                "refunds": [],
                "totalDueSeller": amount(total, currency, converted),
            },
            "fulfillmentStartInstructions": [
                {
                    "fulfillmentInstructionsType": "SHIP_TO",
                    "minEstimatedDeliveryDate": ebay_time(created + timedelta(days=6)),
                    "maxEstimatedDeliveryDate": ebay_time(created + timedelta(days=14)),
                    "ebaySupportedFulfillment": False,
                    "shippingStep": {
                        "shippingCarrierCode": shipping_carrier,
                        "shippingServiceCode": shipping_service,
                        "shipTo": contact,
                    },
                }
            ],
            "fulfillmentHrefs": [],
            "lineItems": line_items,
            "salesRecordReference": str(1000 + sequence),
        }
        if Decimal(tax):
            order["pricingSummary"]["tax"] = amount(tax, currency, converted)
        if note:
            order["buyerCheckoutNotes"] = note
        return self.put_order(order)

    # -- WSGI -----------------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._token(request)
        if request.path.startswith(FULFILLMENT + "/order"):
            return self._fulfillment(request)
        if request.path == INVENTORY + "/bulk_update_price_quantity" and request.method == "POST":
            return self._authorised(request, {SCOPE_INVENTORY}, self._bulk_update)
        return ebay_error(404, 2002, "Resource not resolved", domain="ACCESS")

    # -- OAuth ----------------------------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client = base64.b64decode(encoded, validate=True).decode() if scheme == "Basic" else ""
        except (ValueError, UnicodeDecodeError):
            client = ""
        if client != f"{self.client_id}:{self.client_secret}":
            return Response(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        form = request.form()
        if form.get("grant_type") != "refresh_token":
            return Response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type in request is not supported by the authorization server",
                },
            )
        if form.get("refresh_token") != self.refresh_token:
            return Response(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": (
                        "the provided authorization refresh token is invalid or was issued to another client"
                    ),
                },
            )
        asked = set(form.get("scope", "").split()) or set(self.granted_scopes)
        if not asked <= self.granted_scopes:
            return Response(
                400,
                {
                    "error": "invalid_scope",
                    "error_description": (
                        "the requested scope is invalid, unknown, malformed, or exceeds the scope granted to the client"
                    ),
                },
            )
        with self.lock:
            self.tokens_granted += 1
            token = f"v^1.1#i^1#f^0#p^3#r^0#I^3#t^Sim{self.tokens_granted:04d}{secrets.token_urlsafe(12)}"
            self.tokens[token] = (self.now + timedelta(seconds=self.token_lifetime), frozenset(asked))
        return Response(
            200, {"access_token": token, "expires_in": self.token_lifetime, "token_type": "User Access Token"}
        )

    def _authorised(self, request: Request, scopes: set[str], handler: Callable[[Request], Response]) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if not token:
            return ebay_error(
                400,
                1002,
                "Missing access token",
                domain="OAuth",
                longMessage="Access token is missing in the Authorization HTTP request header.",
            )
        if scheme != "Bearer":
            return ebay_error(400, 1003, f"Token type in the Authorization header is invalid:{scheme}", domain="OAuth")
        with self.lock:
            known = self.tokens.get(token)
        if known is None or known[0] <= self.now:
            return ebay_error(
                401,
                1001,
                "Invalid access token",
                domain="OAuth",
                longMessage="Invalid access token. Check the value of the Authorization HTTP request header.",
            )
        if not scopes & known[1]:
            return ebay_error(
                403,
                1100,
                "Access denied",
                domain="OAuth",
                longMessage="Insufficient permissions to fulfill the request.",
            )
        return handler(request)

    # -- Fulfillment ----------------------------------------------------------------------------------------------

    def _fulfillment(self, request: Request) -> Response:
        parts = request.path[len(FULFILLMENT + "/order") :].strip("/").split("/")
        parts = [part for part in parts if part]
        read = {SCOPE_FULFILLMENT, SCOPE_FULFILLMENT_READONLY}
        if not parts and request.method == "GET":
            return self._authorised(request, read, self._get_orders)
        if len(parts) == 1 and request.method == "GET":
            return self._authorised(request, read, lambda r: self._get_order(parts[0]))
        if len(parts) == 2 and parts[1] == "shipping_fulfillment":
            if request.method == "GET":
                return self._authorised(request, read, lambda r: self._list_fulfillments(parts[0]))
            if request.method == "POST":
                return self._authorised(request, {SCOPE_FULFILLMENT}, lambda r: self._create_fulfillment(r, parts[0]))
        if len(parts) == 3 and parts[1] == "shipping_fulfillment" and request.method == "GET":
            return self._authorised(request, read, lambda r: self._get_fulfillment(parts[0], parts[2]))
        return ebay_error(404, 2002, "Resource not resolved", domain="ACCESS")

    def _find(self, order_id: str) -> dict[str, Any] | None:
        order = self.orders.get(order_id)
        if order is None:  # eBay accepts the legacy id too
            order = next((o for o in self.orders.values() if o.get("legacyOrderId") == order_id), None)
        return order

    def _window(self, name: str, value: str) -> tuple[datetime, datetime | None] | Response:
        if not (value.startswith("[") and value.endswith("]")) or ".." not in value:
            return ebay_error(400, 30800, f"Invalid filter value {value} for filter {name}")
        start_text, _, end_text = value[1:-1].partition("..")
        if not start_text:
            return ebay_error(400, 30820, "Start date is missing")
        start, end = _parse_time(start_text), _parse_time(end_text) if end_text else None
        if start is None or (end_text and end is None):
            return ebay_error(400, 30810, "Invalid date format")
        if start > self.now or (end is not None and end > self.now):
            return ebay_error(400, 30850, "Start and end dates can't be in the future")
        if start < self.now - FILTER_REACH:
            return ebay_error(400, 30830, "Start date must be within 90 days of end date and current date.")
        if end is not None and start > end:
            return ebay_error(400, 30840, "Start date should be before end date")
        return start, end

    def _selection(self, request: Request) -> list[dict[str, Any]] | Response:
        """The orders the query names, in the list's order (before paging)."""
        if request.arg("orderIds"):
            ids = request.args("orderIds")
            if len(ids) > 50:
                return ebay_error(400, 30900, "Exceeded maximum number of order IDs (the current limit is 50)")
            return [order for order_id in ids if (order := self._find(order_id)) is not None]
        criteria: dict[str, str] = {}
        for criterion in request.args("filter"):
            name, _, value = criterion.partition(":")
            if name not in {"creationdate", "lastmodifieddate", "orderfulfillmentstatus"}:
                return ebay_error(400, 30700, f"Invalid filter name: {name}")
            criteria[name] = value
        field, window = "creationDate", (self.now - FILTER_REACH, None)
        date_filter = "creationdate" if "creationdate" in criteria else "lastmodifieddate"  # creationdate wins
        if date_filter in criteria:
            window = self._window(date_filter, criteria[date_filter])
            if isinstance(window, Response):
                return window
            field = "creationDate" if date_filter == "creationdate" else "lastModifiedDate"
        statuses = None
        if "orderfulfillmentstatus" in criteria:
            value = criteria["orderfulfillmentstatus"]
            if value not in {"{NOT_STARTED|IN_PROGRESS}", "{FULFILLED|IN_PROGRESS}"}:
                return ebay_error(400, 30800, f"Invalid filter value {value} for filter orderfulfillmentstatus")
            statuses = set(value[1:-1].split("|"))
        start, end = window
        chosen = []
        for order in self.orders.values():
            moment = _parse_time(order.get(field, ""))
            if moment is None or moment < start or (end is not None and moment > end):
                continue
            if statuses is not None and order.get("orderFulfillmentStatus") not in statuses:
                continue
            chosen.append(order)
        chosen.sort(key=lambda order: (order.get(self.sort_by, ""), order["orderId"]))
        return chosen

    def _get_orders(self, request: Request) -> Response:
        with self.lock:
            for action in self._before_page.pop(len(self.pages_served) + 1, []):
                action(self)
            try:
                limit = int(request.arg("limit", "50"))
                if not 1 <= limit <= MAX_LIMIT:
                    raise ValueError
            except ValueError:
                return ebay_error(400, 31100, f"Invalid limit: {request.arg('limit')}")
            try:
                offset = int(request.arg("offset", "0"))
                if offset < 0:
                    raise ValueError
            except ValueError:
                return ebay_error(400, 31000, f"Invalid offset: {request.arg('offset')}")
            selection = self._selection(request)
            if isinstance(selection, Response):
                return selection
            if self.page_size is not None:
                limit = min(limit, self.page_size)
            rows = selection[offset : offset + limit]
            self.pages_served.append((offset, [order["orderId"] for order in rows]))
            orders = [copy.deepcopy(order) for order in rows]
        for order in orders:
            order.setdefault("cancelStatus", {})["cancelRequests"] = []  # getOrders never fills it
        total = len(selection)
        base = f"http://{request.headers.get('host', 'api.ebay.com')}{FULFILLMENT}/order?"
        page_query = {key: request.arg(key) for key in ("filter", "orderIds") if request.arg(key)}
        body: dict[str, Any] = {
            "href": base + urlencode({**page_query, "limit": limit, "offset": offset}, quote_via=quote),
            "limit": limit,
            "offset": offset,
            "total": total,
            "orders": orders,
        }
        if offset + len(rows) < total:
            body["next"] = base + urlencode({**page_query, "limit": limit, "offset": offset + limit}, quote_via=quote)
        if offset > 0:
            body["prev"] = base + urlencode(
                {**page_query, "limit": limit, "offset": max(0, offset - limit)}, quote_via=quote
            )
        return Response(200, body)

    def _get_order(self, order_id: str) -> Response:
        with self.lock:
            order = self._find(order_id)
            if order is None:
                return ebay_error(404, 32100, f"Invalid order ID: {order_id}")
            return Response(200, copy.deepcopy(order))

    def _list_fulfillments(self, order_id: str) -> Response:
        with self.lock:
            order = self._find(order_id)
            if order is None:
                return ebay_error(400, 32100, f"Invalid order ID: {order_id}")
            fulfillments = copy.deepcopy(self._fulfillments.get(order["orderId"], []))
        return Response(200, {"fulfillments": fulfillments, "total": len(fulfillments)})

    def _get_fulfillment(self, order_id: str, fulfillment_id: str) -> Response:
        with self.lock:
            for fulfillment in self._fulfillments.get(order_id, []):
                if fulfillment["fulfillmentId"] == fulfillment_id:
                    return Response(200, copy.deepcopy(fulfillment))
        return ebay_error(404, 2002, "Resource not resolved", domain="ACCESS")

    def _create_fulfillment(self, request: Request, order_id: str) -> Response:
        try:
            body = request.json()
        except ValueError:
            return ebay_error(400, 32600, "Invalid input data")
        if not isinstance(body, dict) or not isinstance(body.get("lineItems"), list) or not body["lineItems"]:
            return ebay_error(400, 32600, "Invalid input data")
        carrier, tracking = body.get("shippingCarrierCode"), body.get("trackingNumber")
        if bool(carrier) != bool(tracking):
            return ebay_error(400, 32300, "Invalid shipment tracking number or carrier")
        shipped = body.get("shippedDate")
        if shipped is not None and _parse_time(shipped) is None:
            return ebay_error(400, 32500, "Invalid shipped date")
        with self.lock:
            order = self._find(order_id)
            if order is None:
                return ebay_error(400, 32100, "Invalid order Id")
            lines = {line.get("lineItemId"): line for line in order.get("lineItems", [])}
            for reference in body["lineItems"]:
                if not isinstance(reference, dict) or reference.get("lineItemId") not in lines:
                    return ebay_error(400, 32200, "Invalid line item id")
            fulfillment_id = f"{9400100000000000000000 + next(self._sequence) * 7919}"
            fulfillment = {
                "fulfillmentId": fulfillment_id,
                "lineItems": [
                    {"lineItemId": ref["lineItemId"], "quantity": ref.get("quantity", 0)} for ref in body["lineItems"]
                ],
                "shippedDate": shipped or ebay_time(self.now),
            }
            if tracking:
                fulfillment.update(shipmentTrackingNumber=tracking, shippingCarrierCode=carrier)
            self._fulfillments.setdefault(order["orderId"], []).append(fulfillment)
            for reference in body["lineItems"]:
                lines[reference["lineItemId"]]["lineItemFulfillmentStatus"] = "FULFILLED"
            shipped_all = all(line.get("lineItemFulfillmentStatus") == "FULFILLED" for line in lines.values())
            location = f"http://{request.headers.get('host', 'api.ebay.com')}{FULFILLMENT}/order/{order['orderId']}"
            order["orderFulfillmentStatus"] = "FULFILLED" if shipped_all else "IN_PROGRESS"
            order.setdefault("fulfillmentHrefs", []).append(f"{location}/shipping_fulfillment/{fulfillment_id}")
            order["lastModifiedDate"] = ebay_time(self.now)
            unclear = self._answers_after_create.pop(0) if self._answers_after_create else None
        if unclear is not None:
            return ebay_error(unclear, 30500, "System error")
        return Response(201, {}, {"Location": f"{location}/shipping_fulfillment/{fulfillment_id}"})

    # -- Inventory ------------------------------------------------------------------------------------------------

    def _bulk_update(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return ebay_error(400, 25709, "Invalid value for requests.", domain="API_INVENTORY")
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return ebay_error(400, 25709, "Invalid value for requests.", domain="API_INVENTORY")
        if len(requests) > MAX_STOCK_REQUESTS:
            return ebay_error(
                400,
                25727,
                f"The number of InventoryItems in the request cannot exceed {MAX_STOCK_REQUESTS}.",
                domain="API_INVENTORY",
            )
        skus = [item.get("sku") for item in requests if isinstance(item, dict)]
        if len(set(skus)) != len(skus):
            return ebay_error(400, 25734, "SKU should be unique in the request.", domain="API_INVENTORY")
        responses = []
        with self.lock:
            for item in requests:
                responses.extend(self._update_one(item))
        status = 200 if all(entry["statusCode"] == 200 for entry in responses) else 207
        return Response(status, {"responses": responses})

    def _update_one(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        sku = item.get("sku")

        def failed(status: int, error_id: int, message: str, offer_id: str | None = None) -> dict[str, Any]:
            entry = {
                "sku": sku,
                "statusCode": status,
                "errors": [{"errorId": error_id, "domain": "API_INVENTORY", "category": "REQUEST", "message": message}],
            }
            if offer_id:
                entry["offerId"] = offer_id
            return entry

        listing = self.listings.get(sku)
        if listing is None:
            return [failed(404, 25702, f"{sku} could not be found or is not available in the system.")]
        if sku in self.refused_skus:
            error_id, message = self.refused_skus[sku]
            return [failed(400, error_id, message)]
        results = []
        availability = item.get("shipToLocationAvailability")
        if availability is not None:
            quantity = availability.get("quantity") if isinstance(availability, dict) else None
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
                return [failed(400, 25004, "Invalid quantity. The quantity must be a whole number, 0 or more.")]
            listing["quantity"] = quantity
            results.append({"sku": sku, "statusCode": 200})
        for offer in item.get("offers") or []:
            offer_id = offer.get("offerId")
            if offer_id not in listing["offers"]:
                results.append(failed(400, 25713, f"This Offer is not available : {offer_id}.", offer_id))
                continue
            listing["offers"][offer_id] = offer.get("availableQuantity", listing["offers"][offer_id])
            results.append({"sku": sku, "offerId": offer_id, "statusCode": 200})
        return results or [failed(400, 25709, "Invalid value for shipToLocationAvailability.")]

    # -- demo data ------------------------------------------------------------------------------------------------

    def seed_demo(self, count: int, skus: list[str], seed: int = 8) -> list[str]:
        """``count`` realistic orders over the last two weeks, the same for the same seed and ``now``: buyers in the
        US, UK, Germany, France, Australia, Japan and Canada (paying in their own currency, converted to the seller's
        US dollars), 1-4 lines, mostly paid and waiting for shipment, a few shipped, cancelled, asked to be cancelled
        or not paid yet. Every SKU gets a listing. Returns the order ids."""
        rng = random.Random(seed)  # noqa: S311 (demo data, not security)
        for sku in skus:
            if sku not in self.listings:
                self.add_listing(sku, quantity=rng.randint(0, 60))
        now, ids = self.now, []
        for _ in range(count):
            country = rng.choice(_DEMO_COUNTRIES)
            first, last = rng.choice(_NAMES[country])
            city, state, postcode = rng.choice(_PLACES[country])
            street, line2 = rng.choice(_STREETS[country])
            ship_to = {
                "fullName": f"{first} {last}",
                "addressLine1": street.format(number=rng.randint(1, 240)),
                "city": city,
                "stateOrProvince": state,
                "postalCode": postcode,
                "countryCode": country,
                "phone": _PHONES[country].format(rng.randint(1000000, 9999999)),
            }
            if line2 and rng.random() < 0.35:
                ship_to["addressLine2"] = line2.format(number=rng.randint(1, 40))
            if rng.random() < 0.06:
                ship_to["company"] = rng.choice(["Northwind Traders", "Blue Harbour Ltd", "Atelier Mercier"])
            picked = rng.sample(skus, k=min(len(skus), rng.choices([1, 2, 3, 4], weights=[60, 25, 10, 5])[0]))
            lines = [
                {
                    "sku": sku,
                    "quantity": rng.choices([1, 2, 3], weights=[80, 15, 5])[0],
                    "price": str(Decimal(rng.randint(399, 8999)) / 100),
                    "title": f"{rng.choice(_ADJECTIVES)} {rng.choice(_PRODUCTS)} ({sku})",
                }
                for sku in picked
            ]
            created = now - timedelta(minutes=rng.randint(30, 14 * 24 * 60))
            roll = rng.random()
            status = {"fulfillment_status": "NOT_STARTED", "payment_status": "PAID"}
            if roll < 0.04:
                status["payment_status"] = "PENDING"
            order_id = ""
            while not order_id or order_id in self.orders:
                order_id = f"{rng.randint(1, 27):02d}-{rng.randint(10000, 99999):05d}-{rng.randint(10000, 99999):05d}"
            previous, self._now = self._now, min(now, created + timedelta(minutes=rng.randint(2, 600)))
            try:
                order = self.add_order(
                    order_id=order_id,
                    created=created,
                    lines=lines,
                    ship_to=ship_to,
                    buyer=_username(rng, first, last),
                    converted=_CONVERSIONS.get(country),
                    delivery_cost=rng.choice(["0.00", "3.99", "6.50", "12.00"]),
                    tax=str(Decimal(rng.randint(0, 900)) / 100) if country in {"US", "AU"} else "0.00",
                    shipping_service=_SERVICES[country][1],
                    shipping_carrier=_SERVICES[country][0],
                    marketplace=_MARKETPLACES[country],
                    note=rng.choice([None] * 12 + ["Please ship in plain packaging.", "Gift - no invoice please."]),
                    **status,
                )
                if 0.04 <= roll < 0.12:
                    self.cancel_order(
                        order_id,
                        completed=rng.random() < 0.7,
                        reason=rng.choice(["BUYER_ASKED_CANCEL", "ADDRESS_ISSUES", "OUT_OF_STOCK"]),
                    )
                elif 0.12 <= roll < 0.24:
                    self._now = min(now, created + timedelta(hours=rng.randint(12, 72)))
                    self._ship_demo(order, rng)
            finally:
                self._now = previous
            ids.append(order_id)
        return ids

    def _ship_demo(self, order: dict[str, Any], rng: random.Random) -> None:
        carrier = rng.choice(["USPS", "UPS", "FedEx", "YunExpress"])
        tracking = f"9400{rng.randint(10**17, 10**18 - 1)}" if carrier == "USPS" else f"YT{rng.randint(10**15, 10**16)}"
        with self.lock:
            lines = [{"lineItemId": line["lineItemId"], "quantity": line["quantity"]} for line in order["lineItems"]]
            fulfillment = {
                "fulfillmentId": tracking,
                "lineItems": lines,
                "shippedDate": ebay_time(self.now),
                "shipmentTrackingNumber": tracking,
                "shippingCarrierCode": carrier,
            }
            self._fulfillments.setdefault(order["orderId"], []).append(fulfillment)
        href = f"https://api.ebay.com{FULFILLMENT}/order/{order['orderId']}/shipping_fulfillment/{tracking}"

        def change(stored: dict[str, Any]) -> None:
            for line in stored["lineItems"]:
                line["lineItemFulfillmentStatus"] = "FULFILLED"
            stored["orderFulfillmentStatus"] = "FULFILLED"
            stored["fulfillmentHrefs"] = [*stored.get("fulfillmentHrefs", []), href]

        self.update_order(order["orderId"], change)


def _username(rng: random.Random, first: str, last: str) -> str:
    style = rng.randint(0, 3)
    if style == 0:
        return f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}"
    if style == 1:
        return f"{first[0].lower()}{last.lower()}_{rng.randint(1970, 2005)}"
    if style == 2:
        return f"{rng.choice(['vintage', 'bargain', 'retro', 'happy', 'quick'])}_{last.lower()}{rng.randint(1, 999)}"
    return f"{last.lower()}-{first.lower()}"


_DEFAULT_SHIP_TO = {
    "fullName": "Emily Johnson",
    "addressLine1": "1284 Maple Avenue",
    "addressLine2": "Apt 3B",
    "city": "Austin",
    "stateOrProvince": "TX",
    "postalCode": "78701",
    "countryCode": "US",
    "phone": "+1 512-555-0143",
    "email": "emily.j@example.com",
}
_DEMO_COUNTRIES = ["US"] * 9 + ["GB"] * 3 + ["DE"] * 2 + ["FR", "AU", "JP", "CA"]
_MARKETPLACES = {
    "US": "EBAY_US",
    "GB": "EBAY_GB",
    "DE": "EBAY_DE",
    "FR": "EBAY_FR",
    "AU": "EBAY_AU",
    "JP": "EBAY_US",
    "CA": "EBAY_CA",
}
_CONVERSIONS = {
    "GB": ("GBP", Decimal("0.7921")),
    "DE": ("EUR", Decimal("0.9234")),
    "FR": ("EUR", Decimal("0.9234")),
    "AU": ("AUD", Decimal("1.5186")),
    "JP": ("JPY", Decimal("151.37")),
    "CA": ("CAD", Decimal("1.3642")),
}
_SERVICES = {
    "US": ("USPS", "USPSPriority"),
    "GB": ("RoyalMail", "UK_RoyalMailAirmailInternational"),
    "DE": ("DHL", "DE_DHLPaket"),
    "FR": ("Colissimo", "FR_ColiposteColissimo"),
    "AU": ("AustraliaPost", "AU_StandardDelivery"),
    "JP": ("USPS", "StandardInternational"),
    "CA": ("CanadaPost", "CA_StandardInternational"),
}
_NAMES = {
    "US": [("Emily", "Johnson"), ("Michael", "Brown"), ("Sarah", "Miller"), ("David", "Garcia"), ("Ashley", "Wilson")],
    "GB": [("Oliver", "Smith"), ("Amelia", "Taylor"), ("George", "Davies"), ("Isla", "Evans")],
    "DE": [("Lukas", "Müller"), ("Anna", "Schmidt"), ("Jonas", "Schneider"), ("Lea", "Fischer")],
    "FR": [("Louis", "Martin"), ("Chloé", "Bernard"), ("Hugo", "Dubois"), ("Léa", "Moreau")],
    "AU": [("Jack", "Williams"), ("Charlotte", "Jones"), ("Noah", "Nguyen")],
    "JP": [("Yuki", "Tanaka"), ("Haruto", "Sato"), ("Aoi", "Suzuki")],
    "CA": [("Liam", "Tremblay"), ("Emma", "Roy"), ("Ethan", "Gagnon")],
}
_PLACES = {
    "US": [
        ("Austin", "TX", "78701"),
        ("Portland", "OR", "97205"),
        ("Columbus", "OH", "43215"),
        ("Tampa", "FL", "33602"),
        ("Denver", "CO", "80202"),
        ("Brooklyn", "NY", "11201"),
    ],
    "GB": [
        ("London", "Greater London", "SW1A 2AA"),
        ("Manchester", "Greater Manchester", "M1 1AE"),
        ("Leeds", "West Yorkshire", "LS1 4DY"),
        ("Bristol", "", "BS1 5TR"),
    ],
    "DE": [("Berlin", "", "10115"), ("München", "Bayern", "80331"), ("Hamburg", "", "20095"), ("Köln", "", "50667")],
    "FR": [("Paris", "", "75003"), ("Lyon", "", "69002"), ("Marseille", "", "13001")],
    "AU": [("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000"), ("Brisbane", "QLD", "4000")],
    "JP": [
        ("Shibuya-ku", "Tokyo", "150-0002"),
        ("Osaka-shi Kita-ku", "Osaka", "530-0001"),
        ("Sapporo-shi", "Hokkaido", "060-0001"),
    ],
    "CA": [("Toronto", "ON", "M5V 2T6"), ("Montréal", "QC", "H2Y 1C6"), ("Vancouver", "BC", "V6B 1A1")],
}
_STREETS = {
    "US": [
        ("{number} Maple Avenue", "Apt {number}"),
        ("{number} W 5th Street", "Suite {number}"),
        ("{number} Oak Lane", ""),
    ],
    "GB": [
        ("{number} Kingsley Road", "Flat {number}"),
        ("{number} High Street", ""),
        ("{number} Victoria Terrace", ""),
    ],
    "DE": [("Hauptstraße {number}", "Hinterhaus"), ("Lindenallee {number}", ""), ("Bahnhofstraße {number}", "")],
    "FR": [
        ("{number} rue des Lilas", "Bâtiment B"),
        ("{number} avenue Jean Jaurès", ""),
        ("{number} boulevard Voltaire", ""),
    ],
    "AU": [("{number} George Street", "Unit {number}"), ("{number} Collins Street", "")],
    "JP": [("2-{number}-1 Jingumae", "Room {number}"), ("1-{number}-3 Umeda", "")],
    "CA": [("{number} King Street West", "Unit {number}"), ("{number} rue Saint-Paul", "")],
}
_PHONES = {
    "US": "+1 512-55{}",
    "GB": "+44 20 7{}",
    "DE": "+49 30 {}",
    "FR": "+33 1 4{}",
    "AU": "+61 2 9{}",
    "JP": "+81 3-5{}",
    "CA": "+1 416-55{}",
}
_ADJECTIVES = ["Ceramic", "Bamboo", "Stainless", "Vintage-style", "Portable", "Handmade", "Waterproof", "Compact"]
_PRODUCTS = [
    "Coffee Mug",
    "Phone Stand",
    "Desk Lamp",
    "Tote Bag",
    "Bluetooth Speaker",
    "Notebook Set",
    "Wall Clock",
    "Travel Adapter",
    "Kitchen Scale",
    "Plant Pot",
]
