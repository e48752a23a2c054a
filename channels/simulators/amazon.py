"""A local Amazon Selling Partner API: the calls the Amazon adapter makes, in Amazon's wire format, with its traps.

Built from Amazon's models (``amzn/selling-partner-api-models``, copied in /work/shared/reference/specs/amazon-sp-api/):

- Login with Amazon: ``POST /auth/o2/token`` (form ``grant_type=refresh_token``, ``refresh_token``, ``client_id``,
  ``client_secret``) → ``access_token``, ``expires_in`` 3600. OAuth errors: 401 ``invalid_client``, 400
  ``invalid_grant``. An expired or unknown ``x-amz-access-token`` gets 403 with ``{"errors": [{"code":
  "Unauthorized", ...}]}`` (every model's 403: "Access Denied, Unauthorized, Expired Token").
- Orders API v2026-01-01 (``orders_2026-01-01.json``): ``searchOrders`` ``GET /orders/2026-01-01/orders`` and
  ``getOrder`` ``GET /orders/2026-01-01/orders/{orderId}``, with ``includedData`` sections, camelCase filters,
  ``maxResultsPerPage`` 1–100, ``pagination.nextToken`` passed back as ``paginationToken`` together with *the same*
  other parameters (anything else is refused with 400), ``lastUpdatedBefore`` at least two minutes before the
  request. Buyer and recipient personal data come without a Restricted Data Token in this version (Amazon's
  "Access Orders PII" guide: role-based), only for UNSHIPPED/PARTIALLY_SHIPPED/SHIPPED orders and only while the
  app holds the roles (``pii_access``); otherwise those fields are left out, as Amazon does.
- Orders API v0 ``confirmShipment`` (``ordersV0.json``): ``POST /orders/v0/orders/{orderId}/shipmentConfirmation``
  → 204 without a body. The same ``packageReferenceId`` again *edits* that package (Amazon's "Confirm the
  shipment status" guide), so a repeat never makes a second package; a new reference for items already shipped is
  refused with 400 "Failed to create package due to not finding a matching package or order already fulfilled."
  (the message Amazon sends, amzn/selling-partner-api-models#5037).
- Listings Items 2021-08-01 ``patchListingsItem`` (``listingsItems_2021-08-01.json``):
  ``PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=...`` → 200 with ``status`` ACCEPTED or
  INVALID and ``issues``. ``replace`` of ``/attributes/fulfillment_availability`` replaces the whole attribute
  (the seller's handling time goes); ``merge`` changes only the fields sent.
- Throttling: a token bucket per operation at the models' published rates (``AMAZON_LIMITS``; configurable),
  429 ``{"errors": [{"code": "QuotaExceeded", ...}]}`` with no ``Retry-After``; successful answers carry
  ``x-amzn-RateLimit-Limit`` and every answer ``x-amzn-RequestId``.

Paging is a keyset over (lastUpdatedTime, orderId), carried in an opaque token that also fixes the filters and the
upper bound, and expires after 24 hours. Two traps can be switched on: ``page_overlap`` repeats the last orders of
a page at the start of the next (the same order on two pages), and ``on_search_page`` runs a callback before each
page is served (an order changing during the scan). ``index_delay`` makes a change invisible to ``searchOrders``
for a while, as Amazon's two-minute delay does.

For the demo and benchmarks: ``sim = AmazonSimulator(limits={})`` (no throttling; the default is Amazon's rates),
``sim.seed_demo(10_000, skus, seed=1)``, serve it, and give the store ``api_base_url=<url>``,
``auth_url=<url>/auth/o2/token``, ``marketplace_id=sim.marketplace_id`` and ``sim.credentials``.

Issue codes and messages the models do not give (an unknown SKU, a product type that does not match) are this
simulator's own wording.
"""

from __future__ import annotations

import base64
import bisect
import functools
import hashlib
import json
import random
import re
import time
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from channels.simulators.base import Request, Response, Simulator

TOKEN_PATH = "/auth/o2/token"  # noqa: S105 (a path, not a secret)
ORDERS_PATH = "/orders/2026-01-01/orders"
CONFIRM_PATH = re.compile(r"^/orders/v0/orders/(?P<order_id>[^/]+)/shipmentConfirmation$")
LISTINGS_PREFIX = "/listings/2021-08-01/items/"

# (rate per second, burst), from each operation's "Usage Plan" in the models.
AMAZON_LIMITS: dict[str, tuple[float, int]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "patchListingsItem": (5.0, 5),
}

ACCESS_TOKEN_SECONDS = 3600
PAGINATION_TOKEN_LIFETIME = timedelta(hours=24)
# searchOrders: "lastUpdatedBefore ... must be ... at least two minutes before the time of the request".
SETTLE = timedelta(minutes=2)

FULFILLMENT_STATUSES = (
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
)
INCLUDED_DATA = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
)
FULFILLED_BY = ("MERCHANT", "AMAZON")
# Order sections and the includedData value that brings each.
ORDER_SECTIONS = {
    "buyer": "BUYER",
    "recipient": "RECIPIENT",
    "proceeds": "PROCEEDS",
    "payment": "PAYMENT",
    "tax": "TAX",
    "fulfillment": "FULFILLMENT",
    "packages": "PACKAGES",
    "fulfillmentOrders": "FULFILLMENT_ORDERS",
}
ITEM_SECTIONS = {
    "proceeds": "PROCEEDS",
    "expense": "EXPENSE",
    "promotion": "PROMOTION",
    "cancellation": "CANCELLATION",
    "fulfillment": "FULFILLMENT",
    "tax": "TAX",
}
# Personal data ("Access Orders PII"): only for orders in these states, and only with the restricted roles.
PII_STATUSES = frozenset({"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"})
PII_BUYER_FIELDS = ("buyerName", "buyerEmail")
PII_ADDRESS_FIELDS = ("name", "addressLine1", "addressLine2", "addressLine3", "postalCode", "phone", "extendedFields")

ALREADY_FULFILLED = "Failed to create package due to not finding a matching package or order already fulfilled."
QUOTA_EXCEEDED = "You exceeded your quota for the requested resource."


def iso(moment: datetime) -> str:
    """Amazon's ISO 8601 in UTC to the second: 2026-03-02T10:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time with its offset, or None if absent or unreadable (naive times are unreadable)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def errors(code: str, message: str, details: str = "") -> dict[str, Any]:
    """The SP-API error shape (``ErrorList``)."""
    return {"errors": [{"code": code, "message": message, "details": details}]}


class _Bucket:
    """Amazon's per-operation token bucket, on the real clock (the client paces on the real clock too)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.updated = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class _Record:
    """One order: its complete JSON (personal data included) and what searchOrders filters and sorts on, kept
    apart from the JSON so that a test can make the JSON as odd as it likes."""

    order_id: str
    data: dict[str, Any]
    marketplace_id: str
    fulfilled_by: str
    status: str
    created_at: datetime
    updated_at: datetime
    visible_at: datetime
    packages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Listing:
    product_type: str
    fulfillment_availability: list[dict[str, Any]]
    refusal: dict[str, Any] | None = None  # an issue every patch gets (a listing Amazon will not update)


class AmazonSimulator(Simulator):
    """One seller's Amazon account. Construct, serve with ``SimulatorServer``, point the adapter at it."""

    name = "amazon"

    def __init__(
        self,
        *,
        seller_id: str = "A2SEABRIDGE7SIM",
        marketplace_id: str = "ATVPDKIKX0DER",
        client_id: str = "amzn1.application-oa2-client.seabridgesim",
        client_secret: str = "sim-client-secret",  # noqa: S107 (the simulator's own, public)
        refresh_token: str = "Atzr|sim-refresh-token",  # noqa: S107 (the simulator's own, public)
        limits: Mapping[str, tuple[float, int]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.seller_id = seller_id
        self.marketplace_id = marketplace_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.limits = dict(AMAZON_LIMITS if limits is None else limits)
        self._buckets = {op: _Bucket(rate, burst, clock) for op, (rate, burst) in self.limits.items()}
        self._now: datetime | None = None
        self._tokens: dict[str, datetime] = {}
        self._forced_throttles: list[list[Any]] = []  # [operation or None, count]
        self._records: dict[str, _Record] = {}
        self._by_update: list[tuple[datetime, str]] = []
        self.listings: dict[str, _Listing] = {}
        self.confirmations: list[tuple[str, dict[str, Any]]] = []
        self._counter = 0
        # Traps and switches, for tests and the demo.
        self.max_page_size = 100
        self.page_overlap = 0
        self.pii_access = True
        self.index_delay = timedelta(0)
        self.on_search_page: Callable[[int], None] | None = None

    # -- the clock --------------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """Amazon's time: the real time unless a test set one (then it moves only when set or advanced)."""
        return self._now if self._now is not None else datetime.now(UTC).replace(microsecond=0)

    @now.setter
    def now(self, moment: datetime | None) -> None:
        self._now = None if moment is None else moment.astimezone(UTC).replace(microsecond=0)

    def advance(self, seconds: float) -> None:
        self.now = self.now + timedelta(seconds=seconds)

    # -- for tests and the demo ---------------------------------------------------------------------------------

    @property
    def credentials(self) -> dict[str, str]:
        """The store credentials that work here, under the names the adapter expects."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "seller_id": self.seller_id,
        }

    def throttle_next(self, count: int, operation: str | None = None) -> None:
        """The next ``count`` calls (of ``operation``, or of any SP-API operation) answer 429 QuotaExceeded."""
        with self.lock:
            self._forced_throttles.append([operation, count])

    def tokens_expire(self) -> None:
        """Every access token issued so far has expired (the next call with one gets 403)."""
        with self.lock:
            expired = self.now - timedelta(seconds=1)
            self._tokens = dict.fromkeys(self._tokens, expired)

    def order_add(
        self,
        *,
        order_id: str | None = None,
        status: str = "UNSHIPPED",
        items: Sequence[Mapping[str, Any]] = ({"sku": "SKU-1", "quantity": 1, "price": "10.00"},),
        address: Mapping[str, Any] | None = None,
        buyer: Mapping[str, Any] | None = None,
        fulfilled_by: str = "MERCHANT",
        marketplace_id: str | None = None,
        currency: str | None = None,
        shipping: str = "0.00",
        tax: str = "0.00",
        service_level: str = "STANDARD",
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
        ship_by: datetime | None = None,
        note: str = "",
    ) -> str:
        """Add an order in Amazon's shape. ``items``: ``sku``, ``quantity``, ``price`` (a decimal string) and
        optionally ``title``, ``asin``, ``item_id``. Returns the order id."""
        with self.lock:
            marketplace_id = marketplace_id or self.marketplace_id
            country, default_currency, marketplace_name, prefixes = MARKETPLACES.get(
                marketplace_id, ("US", "USD", "Amazon", ("111",))
            )
            created_at = (created_at or self.now).astimezone(UTC).replace(microsecond=0)
            updated_at = (updated_at or created_at).astimezone(UTC).replace(microsecond=0)
            order_id = order_id or self._new_order_id(prefixes)
            data = _order_json(
                order_id=order_id,
                status=status,
                items=[self._item_json(item, currency or default_currency) for item in items],
                address=dict(address) if address is not None else _default_address(country),
                buyer=dict(buyer) if buyer is not None else None,
                fulfilled_by=fulfilled_by,
                marketplace=(marketplace_id, marketplace_name),
                currency=currency or default_currency,
                shipping=shipping,
                tax=tax,
                service_level=service_level,
                created_at=created_at,
                updated_at=updated_at,
                ship_by=ship_by or created_at + timedelta(days=2),
                note=note,
            )
            self._store(
                _Record(
                    order_id=order_id,
                    data=data,
                    marketplace_id=marketplace_id,
                    fulfilled_by=fulfilled_by,
                    status=status,
                    created_at=created_at,
                    updated_at=updated_at,
                    visible_at=self.now + self.index_delay,
                )
            )
            return order_id

    def order_update(
        self,
        order_id: str,
        *,
        status: str | None = None,
        address: Mapping[str, Any] | None = None,
        changes: Callable[[dict[str, Any]], None] | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        """Change an order as Amazon or the buyer would; its lastUpdatedTime moves to ``updated_at`` (now by
        default) and the change shows in searchOrders after ``index_delay``. ``changes(data)`` may edit the
        order's JSON in any way, odd data included."""
        with self.lock:
            record = self._records[order_id]
            if status is not None:
                record.status = status
                fulfillment = record.data.get("fulfillment")
                if isinstance(fulfillment, dict):
                    fulfillment["fulfillmentStatus"] = status
            if address is not None:
                record.data.setdefault("recipient", {})["deliveryAddress"] = dict(address)
            self._touch(record, updated_at or self.now)
            if changes is not None:
                changes(record.data)

    def order_cancel(self, order_id: str, *, by: str = "BUYER", reason: str = "Order no longer needed") -> None:
        def cancel_items(data: dict[str, Any]) -> None:
            for item in data.get("orderItems") or []:
                item["cancellation"] = {"cancellationExecution": {"cancelledBy": by, "cancelReason": reason}}

        self.order_update(order_id, status="CANCELLED", changes=cancel_items)

    def order_cancel_request(
        self, order_id: str, *, reason: str = "Ordered by mistake", withdraw: bool = False, updated_at=None
    ) -> None:
        """The buyer asks to cancel (each item's ``cancellation.cancellationRequest``), or the request is gone."""

        def request_items(data: dict[str, Any]) -> None:
            for item in data.get("orderItems") or []:
                if withdraw:
                    item.pop("cancellation", None)
                else:
                    item["cancellation"] = {"cancellationRequest": {"requester": "BUYER", "cancelReason": reason}}

        self.order_update(order_id, changes=request_items, updated_at=updated_at)

    def order(self, order_id: str) -> dict[str, Any]:
        """The order's complete JSON as it stands (a copy)."""
        with self.lock:
            return json.loads(json.dumps(self._records[order_id].data))

    def packages(self, order_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return json.loads(json.dumps(self._records[order_id].packages))

    def package_add(
        self,
        order_id: str,
        *,
        tracking_number: str,
        carrier: str = "UPS",
        reference: str | None = None,
        items: Mapping[str, int] | None = None,
    ) -> None:
        """The seller confirms a parcel elsewhere (Seller Central): every unshipped unit, unless ``items``
        (order item id → quantity) says which."""
        with self.lock:
            record = self._records[order_id]
            reference = reference or str(900000 + len(record.packages) + 1)
            if items is None:
                items = {
                    item["orderItemId"]: item["quantityOrdered"] - self._shipped(record, item["orderItemId"])
                    for item in record.data["orderItems"]
                }
            package = self._package_json(
                reference=reference,
                carrier=carrier,
                service="",
                tracking_number=tracking_number,
                ship_time=self.now,
                items=[{"orderItemId": k, "quantity": v} for k, v in items.items() if v > 0],
            )
            record.packages.append(package)
            self._after_packages(record)

    def listing_add(
        self, sku: str, *, product_type: str = "PRODUCT", quantity: int = 0, lead_time_days: int | None = None
    ) -> None:
        availability: dict[str, Any] = {"fulfillment_channel_code": "DEFAULT", "quantity": quantity}
        if lead_time_days is not None:
            availability["lead_time_to_ship_max_days"] = lead_time_days
        with self.lock:
            self.listings[sku] = _Listing(product_type=product_type, fulfillment_availability=[availability])

    def listing_refuse(self, sku: str, message: str, *, code: str = "90000900") -> None:
        """Every patch of this listing comes back INVALID with this issue."""
        with self.lock:
            self.listings[sku].refusal = {
                "code": code,
                "message": message,
                "severity": "ERROR",
                "attributeNames": ["fulfillment_availability"],
                "categories": ["INVALID_ATTRIBUTE"],
            }

    @property
    def stock(self) -> dict[str, int | None]:
        """Each listing's merchant-fulfilled (DEFAULT channel) quantity."""
        with self.lock:
            return {sku: _default_quantity(listing) for sku, listing in self.listings.items()}

    # -- routing ------------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self.lock:
            path = _utf8_path(request.path)
            if request.method == "POST" and path == TOKEN_PATH:
                return self._lwa_token(request)
            operation, call = self._route(request.method, path)
            if call is None:
                return self._answer(Response(404, errors("NotFound", "Resource not found.")), None)
            refusal = self._authorise(request)
            if refusal is not None:
                return self._answer(refusal, None)
            if self._throttled(operation):
                return self._answer(Response(429, errors("QuotaExceeded", QUOTA_EXCEEDED)), None)
            return self._answer(call(request), operation)

    def _route(self, method: str, path: str) -> tuple[str, Callable[[Request], Response] | None]:
        if method == "GET" and path == ORDERS_PATH:
            return "searchOrders", self._search_orders
        if method == "GET" and path.startswith(ORDERS_PATH + "/") and path.count("/") == 4:
            order_id = path.rsplit("/", 1)[1]
            return "getOrder", lambda request: self._get_order(request, order_id)
        match = CONFIRM_PATH.match(path)
        if method == "POST" and match:
            order_id = match["order_id"]
            return "confirmShipment", lambda request: self._confirm_shipment(request, order_id)
        if method == "PATCH" and path.startswith(LISTINGS_PREFIX):
            seller_id, _, sku = path[len(LISTINGS_PREFIX) :].partition("/")
            return "patchListingsItem", lambda request: self._patch_listing(request, seller_id, sku)
        return "", None

    def _answer(self, response: Response, operation: str | None) -> Response:
        response.headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
        limit = self.limits.get(operation or "", AMAZON_LIMITS.get(operation or ""))
        if limit is not None and response.status < 400:
            response.headers["x-amzn-RateLimit-Limit"] = str(limit[0])
        return response

    # -- Login with Amazon --------------------------------------------------------------------------------------

    def _lwa_token(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return Response(400, {"error": "invalid_request", "error_description": "The request is malformed."})
        form = request.form()
        if form.get("grant_type") != "refresh_token":
            return Response(400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"})
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Response(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if form.get("refresh_token") != self.refresh_token:
            return Response(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : refresh_token",
                },
            )
        self._counter += 1
        token = f"Atza|sim{self._counter}-{uuid.uuid4().hex}"
        self._tokens[token] = self.now + timedelta(seconds=ACCESS_TOKEN_SECONDS)
        return Response(
            200,
            {
                "access_token": token,
                "refresh_token": self.refresh_token,
                "token_type": "bearer",
                "expires_in": ACCESS_TOKEN_SECONDS,
            },
        )

    def _authorise(self, request: Request) -> Response | None:
        token = request.headers.get("x-amz-access-token")
        denied = "Access to requested resource is denied."
        if not token:
            return Response(403, errors("Unauthorized", denied, "The request has no access token."))
        expires_at = self._tokens.get(token)
        if expires_at is None:
            return Response(
                403, errors("Unauthorized", denied, "The access token you provided is revoked, malformed or invalid.")
            )
        if expires_at <= self.now:
            return Response(403, errors("Unauthorized", denied, "The access token you provided has expired."))
        return None

    def _throttled(self, operation: str) -> bool:
        for forced in self._forced_throttles:
            if forced[0] in (None, operation):
                forced[1] -= 1
                if forced[1] <= 0:
                    self._forced_throttles.remove(forced)
                return True
        bucket = self._buckets.get(operation)
        return bucket is not None and not bucket.take()

    # -- Orders v2026-01-01 -------------------------------------------------------------------------------------

    def _search_orders(self, request: Request) -> Response:
        try:
            query = self._search_query(request)
        except _BadInput as exc:
            return Response(400, errors("InvalidInput", exc.message, exc.details))
        if self.on_search_page is not None:
            self.on_search_page(query.page)
        page, more = self._search_page(query)
        body: dict[str, Any] = {"orders": [self._project(record, query.included) for record in page]}
        if more:
            cursor = page[max(0, len(page) - 1 - self.page_overlap)]
            body["pagination"] = {"nextToken": self._pagination_token(query, cursor)}
        body["lastUpdatedBefore" if query.by_update else "createdBefore"] = iso(query.before)
        return Response(200, body)

    def _search_query(self, request: Request) -> _Query:
        created_after, updated_after = request.arg("createdAfter"), request.arg("lastUpdatedAfter")
        created_before, updated_before = request.arg("createdBefore"), request.arg("lastUpdatedBefore")
        if (created_after is None) == (updated_after is None):
            raise _BadInput("Exactly one of createdAfter and lastUpdatedAfter must be provided.")
        by_update = updated_after is not None
        if (by_update and created_before is not None) or (not by_update and updated_before is not None):
            raise _BadInput("createdBefore and lastUpdatedBefore cannot be combined with the other group.")
        after = _parse_time(updated_after if by_update else created_after)
        given_before = updated_before if by_update else created_before
        before = _parse_time(given_before) if given_before is not None else self.now - SETTLE
        if after is None or before is None:
            raise _BadInput("Invalid Input", "Dates must be ISO 8601 date-times with an offset.")
        if before > self.now - SETTLE:
            raise _BadInput(
                "Invalid Input", "The Before date must be at least two minutes before the time of the request."
            )
        if before < after:
            raise _BadInput("Invalid Input", "The Before date must not be earlier than the After date.")
        included = request.args("includedData")
        fulfilled_by = request.args("fulfilledBy")
        statuses = request.args("fulfillmentStatuses")
        for name, values, allowed in (
            ("includedData", included, INCLUDED_DATA),
            ("fulfilledBy", fulfilled_by, FULFILLED_BY),
            ("fulfillmentStatuses", statuses, FULFILLMENT_STATUSES),
        ):
            unknown = sorted(set(values) - set(allowed))
            if unknown:
                raise _BadInput("Invalid Input", f"{name} has unknown values: {', '.join(unknown)}")
        size_text = request.arg("maxResultsPerPage", "100") or ""
        if not size_text.isdigit() or not 1 <= int(size_text) <= 100:
            raise _BadInput("Invalid Input", "maxResultsPerPage must be between 1 and 100.")
        query = _Query(
            by_update=by_update,
            after=after,
            before=before,
            marketplaces=frozenset(request.args("marketplaceIds")),
            fulfilled_by=frozenset(fulfilled_by),
            statuses=frozenset(statuses),
            included=frozenset(included),
            size=min(int(size_text), self.max_page_size),
            given_before=given_before,
        )
        token = request.arg("paginationToken")
        if token is not None:
            self._continue(query, token)
        return query

    def _continue(self, query: _Query, token: str) -> None:
        """Read a pagination token: it holds where the last page ended, the filters it was made for (which
        must come again unchanged) and the upper bound fixed by the first page."""
        try:
            state = json.loads(base64.urlsafe_b64decode(token.encode()))
            issued = datetime.fromisoformat(state["issued"])
            cursor = (datetime.fromisoformat(state["cursor"][0]), str(state["cursor"][1]))
            digest, page, bound = state["filters"], int(state["page"]), datetime.fromisoformat(state["before"])
        except (ValueError, KeyError, TypeError, IndexError):
            raise _BadInput("Invalid Input", "The paginationToken is not valid.") from None
        if digest != query.digest():
            raise _BadInput(
                "Invalid Input",
                "All parameters other than maxResultsPerPage and includedData must be the same as in the request "
                "that generated the paginationToken.",
            )
        if self.now - issued > PAGINATION_TOKEN_LIFETIME:
            raise _BadInput("Invalid Input", "The paginationToken has expired.")
        query.cursor, query.page, query.before, query.issued = cursor, page + 1, bound, issued

    def _pagination_token(self, query: _Query, cursor: _Record) -> str:
        key = self._sort_key(cursor, query.by_update)
        state = {
            "issued": (query.issued or self.now).isoformat(),
            "cursor": [key[0].isoformat(), key[1]],
            "filters": query.digest(),
            "page": query.page,
            "before": query.before.isoformat(),
        }
        return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()

    @staticmethod
    def _sort_key(record: _Record, by_update: bool) -> tuple[datetime, str]:
        return (record.updated_at if by_update else record.created_at, record.order_id)

    def _search_page(self, query: _Query) -> tuple[list[_Record], bool]:
        """The page after the cursor, and whether anything matches after it. Updated-time queries walk the sorted
        index from the cursor, so a page costs about its size, whatever the number of orders."""
        if query.by_update:
            keys = self._by_update
        else:
            keys = sorted((record.created_at, record.order_id) for record in self._records.values())
        start = bisect.bisect_right(keys, query.cursor) if query.cursor else bisect.bisect_left(keys, (query.after, ""))
        page: list[_Record] = []
        for index in range(start, len(keys)):
            moment, order_id = keys[index]
            if moment > query.before:
                break
            if moment < query.after:
                continue
            record = self._records[order_id]
            if not self._matches(record, query):
                continue
            if len(page) == query.size:
                return page, True
            page.append(record)
        return page, False

    def _matches(self, record: _Record, query: _Query) -> bool:
        return (
            record.visible_at <= self.now
            and (not query.marketplaces or record.marketplace_id in query.marketplaces)
            and (not query.fulfilled_by or record.fulfilled_by in query.fulfilled_by)
            and (not query.statuses or record.status in query.statuses)
        )

    def _get_order(self, request: Request, order_id: str) -> Response:
        record = self._records.get(order_id)
        if record is None:
            return Response(404, errors("NotFound", f"Order {order_id} was not found."))
        included = request.args("includedData")
        unknown = sorted(set(included) - set(INCLUDED_DATA))
        if unknown:
            return Response(400, errors("InvalidInput", "Invalid Input", f"includedData: {', '.join(unknown)}"))
        return Response(200, {"order": self._project(record, frozenset(included))})

    def _project(self, record: _Record, included: frozenset[str]) -> dict[str, Any]:
        """The order as Amazon answers it: only the sections asked for, personal data only where allowed."""
        data = record.data
        order = {key: value for key, value in data.items() if key not in ORDER_SECTIONS}
        for key, section in ORDER_SECTIONS.items():
            if section in included and key in data:
                order[key] = data[key]
        if "PACKAGES" in included and record.fulfilled_by == "MERCHANT":
            order["packages"] = record.packages
        items = data.get("orderItems")
        if isinstance(items, list):
            order["orderItems"] = [
                {k: v for k, v in item.items() if ITEM_SECTIONS.get(k, "") in included or k not in ITEM_SECTIONS}
                if isinstance(item, dict)
                else item
                for item in items
            ]
        if not (self.pii_access and record.status in PII_STATUSES):
            _drop_pii(order)
        return order

    # -- Orders v0 confirmShipment ------------------------------------------------------------------------------

    def _confirm_shipment(self, request: Request, order_id: str) -> Response:
        record = self._records.get(order_id)
        if record is None:
            return Response(404, errors("NotFound", f"Order {order_id} was not found."))
        try:
            body = request.json()
            detail = self._package_detail(body, record)
        except (ValueError, _BadInput) as exc:
            message = exc.message if isinstance(exc, _BadInput) else "Invalid Input"
            return Response(400, errors("InvalidInput", message))
        if record.fulfilled_by != "MERCHANT":
            return Response(400, errors("InvalidInput", "Orders fulfilled by Amazon cannot be confirmed."))
        if record.status not in {"UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"}:
            return Response(400, errors("InvalidInput", f"The order cannot be confirmed in status {record.status}."))
        package = self._package_json(**detail)
        existing = next((p for p in record.packages if p["packageReferenceId"] == detail["reference"]), None)
        kept = [p for p in record.packages if p is not existing]
        if not self._fits(record, [*kept, package]):
            return Response(400, errors("InvalidInput", ALREADY_FULFILLED))
        if existing is not None:
            package["createdTime"] = existing["createdTime"]
            record.packages[record.packages.index(existing)] = package  # the same reference edits the package
        else:
            record.packages.append(package)
        self.confirmations.append((order_id, body))
        self._after_packages(record)
        return Response(204)

    def _package_detail(self, body: Any, record: _Record) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("packageDetail"), dict):
            raise _BadInput("Invalid Input")
        if body.get("marketplaceId") != record.marketplace_id:
            raise _BadInput("Invalid marketplaceId.")
        detail = body["packageDetail"]
        missing = [
            name
            for name in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")
            if detail.get(name) in (None, "")
        ]
        if missing:
            raise _BadInput(f"Missing required fields: {', '.join(missing)}.")
        reference = detail["packageReferenceId"]
        if not isinstance(reference, str):
            raise _BadInput(
                "The input you have submitted is not valid. Please check the fields with invalid type "
                "[packageDetail.packageReferenceId]."
            )
        if not re.fullmatch(r"[0-9]+", reference) or int(reference) <= 0:
            raise _BadInput("PackageReferenceId: is invalid, must be a positive numeric value.")
        if detail["carrierCode"] == "Other" and not detail.get("carrierName"):
            raise _BadInput("carrierName is required when carrierCode is Other.")
        ship_time = _parse_time(detail["shipDate"]) if isinstance(detail["shipDate"], str) else None
        if ship_time is None:
            raise _BadInput("Invalid Input")
        lines = detail["orderItems"]
        item_ids = {item.get("orderItemId") for item in record.data.get("orderItems") or []}
        if not isinstance(lines, list) or not all(
            isinstance(line, dict)
            and line.get("orderItemId") in item_ids
            and isinstance(line.get("quantity"), int)
            and line["quantity"] > 0
            for line in lines
        ):
            raise _BadInput(
                "OrderItemId is invalid, please obtain the value through the getOrderItems API or Manage Orders page"
            )
        carrier = detail.get("carrierName") if detail["carrierCode"] == "Other" else detail["carrierCode"]
        return {
            "reference": reference,
            "carrier": carrier,
            "service": detail.get("shippingMethod") or "",
            "tracking_number": detail["trackingNumber"],
            "ship_time": ship_time,
            "items": [{"orderItemId": line["orderItemId"], "quantity": line["quantity"]} for line in lines],
        }

    def _package_json(
        self,
        *,
        reference: str,
        carrier: str,
        service: str,
        tracking_number: str,
        ship_time: datetime,
        items: list[dict[str, Any]],
    ) -> dict[str, Any]:
        return {
            "packageReferenceId": reference,
            "createdTime": iso(self.now),
            "packageStatus": {"status": "SHIPPED"},
            "carrier": carrier,
            "shipTime": iso(ship_time),
            "shippingService": service,
            "trackingNumber": tracking_number,
            "packageItems": items,
        }

    @staticmethod
    def _shipped(record: _Record, item_id: str, packages: list[dict[str, Any]] | None = None) -> int:
        return sum(
            line["quantity"]
            for package in (record.packages if packages is None else packages)
            for line in package["packageItems"]
            if line["orderItemId"] == item_id
        )

    def _fits(self, record: _Record, packages: list[dict[str, Any]]) -> bool:
        return all(
            self._shipped(record, item["orderItemId"], packages) <= item["quantityOrdered"]
            for item in record.data["orderItems"]
        )

    def _after_packages(self, record: _Record) -> None:
        """Item fulfilment counts and the order's status follow its packages; the order counts as updated."""
        remaining = 0
        for item in record.data["orderItems"]:
            shipped = self._shipped(record, item["orderItemId"])
            left = item["quantityOrdered"] - shipped
            item["fulfillment"] = {"quantityFulfilled": shipped, "quantityUnfulfilled": left}
            remaining += left
        status = "SHIPPED" if remaining == 0 else "PARTIALLY_SHIPPED"
        record.status = status
        record.data["fulfillment"]["fulfillmentStatus"] = status
        self._touch(record, self.now)

    # -- Listings Items 2021-08-01 ------------------------------------------------------------------------------

    def _patch_listing(self, request: Request, seller_id: str, sku: str) -> Response:
        if seller_id != self.seller_id:
            return Response(403, errors("Unauthorized", "Access to requested resource is denied."))
        if not request.args("marketplaceIds"):
            return Response(400, errors("InvalidInput", "Missing required parameter: marketplaceIds."))
        try:
            body = request.json()
        except ValueError:
            return Response(
                400, errors("InvalidInput", "Request has missing or invalid parameters and cannot be parsed.")
            )
        patches = body.get("patches") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not isinstance(body.get("productType"), str) or not patches:
            return Response(
                400, errors("InvalidInput", "Request has missing or invalid parameters and cannot be parsed.")
            )
        for index, patch in enumerate(patches):
            if not isinstance(patch, dict) or patch.get("op") not in {"add", "replace", "merge", "delete"}:
                return Response(400, errors("InvalidInput", f"Invalid patch operation at index of {index}."))
            if patch["op"] != "delete" and not isinstance(patch.get("value"), list):
                return Response(400, errors("InvalidInput", f"Value is missing for patch at index of {index}."))
        self._counter += 1
        submission = {"sku": sku, "submissionId": f"{self._counter:08x}-sim0-4000-8000-{zlib.crc32(sku.encode()):012x}"}
        listing = self.listings.get(sku)
        issues = self._listing_issues(listing, sku, body["productType"], patches)
        if issues:
            return Response(200, {**submission, "status": "INVALID", "issues": issues})
        for patch in patches:
            if patch.get("path") == "/attributes/fulfillment_availability":
                _apply_availability(listing, patch)
        return Response(200, {**submission, "status": "ACCEPTED", "issues": []})

    @staticmethod
    def _listing_issues(
        listing: _Listing | None, sku: str, product_type: str, patches: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        def issue(code: str, message: str, attribute: str = "") -> dict[str, Any]:
            found = {"code": code, "message": message, "severity": "ERROR", "categories": ["INVALID_ATTRIBUTE"]}
            return {**found, "attributeNames": [attribute]} if attribute else found

        if listing is None:
            return [issue("SIM-NOT-FOUND", f"The SKU {sku} is not in the selling partner's catalogue.")]
        if listing.refusal is not None:
            return [dict(listing.refusal)]
        if product_type != listing.product_type:
            return [issue("SIM-PRODUCT-TYPE", f"The product type {product_type} does not match the listing.")]
        for patch in patches:
            if patch.get("path") != "/attributes/fulfillment_availability" or patch["op"] == "delete":
                continue
            for value in patch["value"]:
                quantity = value.get("quantity") if isinstance(value, dict) else None
                if (
                    not isinstance(value, dict)
                    or not value.get("fulfillment_channel_code")
                    or not isinstance(quantity, int)
                    or isinstance(quantity, bool)
                    or quantity < 0
                ):
                    return [issue("90000900", "The attributes are invalid.", "fulfillment_availability")]
        return []

    # -- the demo's orders --------------------------------------------------------------------------------------

    def seed_demo(
        self,
        count: int,
        skus: Sequence[str] | Mapping[str, str],
        seed: int,
        *,
        marketplace_ids: Sequence[str] | None = None,
        fba_share: float = 0.0,
    ) -> list[str]:
        """Fill the account with ``count`` realistic orders, the same ones for the same arguments: one to four
        lines (three on average), prices from the SKU, buyers and addresses in the US, UK, DE, FR, AU and JP
        (mostly in the marketplace's own country), mostly UNSHIPPED with some PENDING, SHIPPED, PARTIALLY_SHIPPED
        and CANCELLED, over the last fourteen days. ``skus`` may map each SKU to its title. Every SKU gets a
        listing, so stock pushes work. ``fba_share`` of the orders are fulfilled by Amazon (the adapter must skip
        them). Returns the order ids. 10,000 orders (30,000 lines) take a second or two."""
        rng = random.Random(seed)  # noqa: S311 (demo data, not security)
        titles = dict(skus) if isinstance(skus, Mapping) else {sku: f"{sku} (demo product)" for sku in skus}
        sku_list = sorted(titles)
        marketplace_ids = list(marketplace_ids or [self.marketplace_id])
        now = self.now
        order_ids: list[str] = []
        with self.lock:
            for sku in sku_list:
                if sku not in self.listings:
                    self.listing_add(sku, lead_time_days=3)
            for _ in range(count):
                order_ids.append(self._seed_one(rng, sku_list, titles, marketplace_ids, fba_share, now))
        return order_ids

    def _seed_one(
        self,
        rng: random.Random,
        sku_list: list[str],
        titles: dict[str, str],
        marketplace_ids: list[str],
        fba_share: float,
        now: datetime,
    ) -> str:
        marketplace_id = rng.choice(marketplace_ids)
        home, currency, _name, _prefixes = MARKETPLACES.get(marketplace_id, MARKETPLACES["ATVPDKIKX0DER"])
        country = home if rng.random() < 0.8 else rng.choice([c for c in PEOPLE if c != home])
        line_count = rng.choices((1, 2, 3, 4), weights=(1, 2, 3, 4))[0]
        items = [
            {
                "sku": sku,
                "quantity": rng.choices((1, 2, 3), weights=(75, 18, 7))[0],
                "price": _demo_price(sku, currency),
                "title": titles[sku],
            }
            for sku in rng.sample(sku_list, min(line_count, len(sku_list)))
        ]
        status = rng.choices(
            ("PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED"), weights=(6, 72, 2, 14, 6)
        )[0]
        if status == "PARTIALLY_SHIPPED" and len(items) < 2:
            status = "UNSHIPPED"
        created_at = now - timedelta(seconds=rng.randint(600, 14 * 86400))
        latest_update = (now - timedelta(minutes=3) - created_at).total_seconds()
        updated_at = created_at + timedelta(seconds=rng.randint(0, int(min(latest_update, 2 * 86400))))
        address, buyer = _demo_person(rng, country)
        order_id = self.order_add(
            status="UNSHIPPED" if status in {"PARTIALLY_SHIPPED", "SHIPPED"} else status,
            items=items,
            address=address,
            buyer=buyer,
            fulfilled_by="AMAZON" if rng.random() < fba_share else "MERCHANT",
            marketplace_id=marketplace_id,
            shipping=rng.choice(("0.00", "0.00", "4.99")) if currency != "JPY" else rng.choice(("0", "350")),
            tax=_demo_tax(items, home),
            service_level=rng.choices(("STANDARD", "EXPEDITED", "SECOND_DAY"), weights=(85, 10, 5))[0],
            created_at=created_at,
            updated_at=updated_at,
        )
        record = self._records[order_id]
        if status in {"SHIPPED", "PARTIALLY_SHIPPED"} and record.fulfilled_by == "MERCHANT":
            shipped = record.data["orderItems"] if status == "SHIPPED" else record.data["orderItems"][:1]
            record.packages.append(
                self._package_json(
                    reference="1",
                    carrier=rng.choice(("Yun Express", "4PX", "UPS", "DHL")),
                    service="Standard",
                    tracking_number=f"YT{rng.randrange(10**15, 10**16)}",
                    ship_time=updated_at,
                    items=[{"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]} for i in shipped],
                )
            )
            self._after_packages(record)
            self._touch(record, updated_at)
        return order_id

    # -- bookkeeping --------------------------------------------------------------------------------------------

    def _store(self, record: _Record) -> None:
        order_id = record.order_id
        if order_id in self._records:
            self._unindex(self._records[order_id])
        self._records[order_id] = record
        bisect.insort(self._by_update, (record.updated_at, order_id))

    def _unindex(self, record: _Record) -> None:
        key = (record.updated_at, record.order_id)
        index = bisect.bisect_left(self._by_update, key)
        if index < len(self._by_update) and self._by_update[index] == key:
            del self._by_update[index]

    def _touch(self, record: _Record, moment: datetime) -> None:
        self._unindex(record)
        record.updated_at = moment.astimezone(UTC).replace(microsecond=0)
        record.visible_at = self.now + self.index_delay
        record.data["lastUpdatedTime"] = iso(record.updated_at)
        bisect.insort(self._by_update, (record.updated_at, record.order_id))

    def _new_order_id(self, prefixes: Sequence[str]) -> str:
        """Amazon's 3-7-7 digits, the same sequence in every simulator (seed_demo's orders repeat)."""
        while True:
            self._counter += 1
            number = str(self._counter).encode()
            middle, last = zlib.crc32(b"m" + number) % 10**7, zlib.crc32(b"l" + number) % 10**7
            order_id = f"{prefixes[self._counter % len(prefixes)]}-{middle:07d}-{last:07d}"
            if order_id not in self._records:
                return order_id

    def _item_json(self, item: Mapping[str, Any], currency: str) -> dict[str, Any]:
        self._counter += 1
        sku = str(item["sku"])
        quantity = item.get("quantity", 1)
        price = str(item.get("price", "10.00"))
        line_total = str(Decimal(price) * quantity) if isinstance(quantity, int) else price
        return {
            "orderItemId": str(item.get("item_id") or f"{40000000000000 + self._counter}"),
            "quantityOrdered": quantity,
            "product": {
                "asin": item.get("asin") or _asin(sku),
                "title": item.get("title") or f"{sku} product",
                "sellerSku": sku,
                "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                "price": {"unitPrice": {"amount": price, "currencyCode": currency}},
            },
            "proceeds": {
                "proceedsTotal": {"amount": line_total, "currencyCode": currency},
                "breakdowns": [{"type": "ITEM", "subtotal": {"amount": line_total, "currencyCode": currency}}],
            },
            "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": quantity},
        }


# -- small pieces -------------------------------------------------------------------------------------------------


class _BadInput(Exception):
    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message, self.details = message, details


@dataclass
class _Query:
    by_update: bool
    after: datetime
    before: datetime
    marketplaces: frozenset[str]
    fulfilled_by: frozenset[str]
    statuses: frozenset[str]
    included: frozenset[str]
    size: int
    cursor: tuple[datetime, str] | None = None
    page: int = 1
    given_before: str | None = None
    issued: datetime | None = None  # when the first page was served

    def digest(self) -> str:
        """What must stay the same from page to page (everything but maxResultsPerPage and includedData)."""
        fixed = [
            self.by_update,
            self.after.isoformat(),
            self.given_before,
            sorted(self.marketplaces),
            sorted(self.fulfilled_by),
            sorted(self.statuses),
        ]
        return hashlib.sha256(json.dumps(fixed).encode()).hexdigest()[:16]


def _utf8_path(path: str) -> str:
    """wsgiref decodes the path as Latin-1; SKUs may hold UTF-8."""
    try:
        return path.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return path


def _drop_pii(order: dict[str, Any]) -> None:
    buyer = order.get("buyer")
    if isinstance(buyer, dict):
        order["buyer"] = {k: v for k, v in buyer.items() if k not in PII_BUYER_FIELDS}
    recipient = order.get("recipient")
    if isinstance(recipient, dict) and isinstance(recipient.get("deliveryAddress"), dict):
        address = {k: v for k, v in recipient["deliveryAddress"].items() if k not in PII_ADDRESS_FIELDS}
        order["recipient"] = {**recipient, "deliveryAddress": address}


def _default_quantity(listing: _Listing) -> int | None:
    for entry in listing.fulfillment_availability:
        if entry.get("fulfillment_channel_code") == "DEFAULT":
            return entry.get("quantity")
    return None


def _apply_availability(listing: _Listing, patch: dict[str, Any]) -> None:
    """``replace``/``add`` set the whole attribute; ``merge`` changes the fields sent in the entry with the same
    ``fulfillment_channel_code`` (Amazon's "Merge a listing" guide); ``delete`` removes the entries named."""
    values = [dict(value) for value in patch.get("value") or []]
    if patch["op"] in {"replace", "add"}:
        listing.fulfillment_availability = values
        return
    codes = {value.get("fulfillment_channel_code") for value in values}
    if patch["op"] == "delete":
        listing.fulfillment_availability = [
            entry for entry in listing.fulfillment_availability if entry.get("fulfillment_channel_code") not in codes
        ]
        return
    for value in values:
        entry = next(
            (
                e
                for e in listing.fulfillment_availability
                if e.get("fulfillment_channel_code") == value.get("fulfillment_channel_code")
            ),
            None,
        )
        if entry is None:
            listing.fulfillment_availability.append(value)
        else:
            entry.update(value)


def _order_json(
    *,
    order_id: str,
    status: str,
    items: list[dict[str, Any]],
    address: dict[str, Any],
    buyer: dict[str, Any] | None,
    fulfilled_by: str,
    marketplace: tuple[str, str],
    currency: str,
    shipping: str,
    tax: str,
    service_level: str,
    created_at: datetime,
    updated_at: datetime,
    ship_by: datetime,
    note: str,
) -> dict[str, Any]:
    """A complete order in the Orders API v2026-01-01 shape (``Order`` in orders_2026-01-01.json)."""
    item_total = sum(
        (
            Decimal(item["proceeds"]["proceedsTotal"]["amount"])
            for item in items
            if isinstance(item["quantityOrdered"], int)
        ),
        Decimal("0"),
    )

    def money(amount: Decimal | str) -> dict[str, str]:
        return {"amount": str(amount), "currencyCode": currency}

    breakdowns = [{"type": "ITEM", "subtotal": money(item_total)}]
    if Decimal(shipping):
        breakdowns.append({"type": "SHIPPING", "subtotal": money(shipping)})
    if Decimal(tax):
        breakdowns.append({"type": "TAX", "subtotal": money(tax)})
    buyer = buyer if buyer is not None else {"buyerName": address.get("name", ""), "buyerEmail": _email(order_id)}
    recipient: dict[str, Any] = {"deliveryAddress": address}
    if note:
        recipient["deliveryPreference"] = {"addressInstruction": note}
    order = {
        "orderId": order_id,
        "createdTime": iso(created_at),
        "lastUpdatedTime": iso(updated_at),
        "programs": [],
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": marketplace[0], "marketplaceName": marketplace[1]},
        "buyer": buyer,
        "recipient": recipient,
        "proceeds": {
            "grandTotal": money(item_total + Decimal(shipping) + Decimal(tax)),
            "breakdowns": breakdowns,
        },
        "fulfillment": {
            "fulfillmentStatus": status,
            "fulfilledBy": fulfilled_by,
            "fulfillmentServiceLevel": service_level,
            "shipByWindow": {"earliestDateTime": iso(created_at), "latestDateTime": iso(ship_by)},
        },
        "orderItems": items,
    }
    if status == "CANCELLED":
        for item in items:
            item["cancellation"] = {
                "cancellationExecution": {"cancelledBy": "BUYER", "cancelReason": "Order no longer needed"}
            }
    return order


# marketplace id → (country, currency, name, order id prefixes)
MARKETPLACES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "ATVPDKIKX0DER": ("US", "USD", "Amazon.com", ("111", "113", "114")),
    "A1F83G8C2ARO7P": ("GB", "GBP", "Amazon.co.uk", ("202", "203", "204")),
    "A1PA6795UKMFR9": ("DE", "EUR", "Amazon.de", ("302", "303", "304")),
    "A13V1IB3VIYZZH": ("FR", "EUR", "Amazon.fr", ("402", "403", "404")),
    "A39IBJ37TRP1C6": ("AU", "AUD", "Amazon.com.au", ("249", "250")),
    "A1VC38T7YXB528": ("JP", "JPY", "Amazon.co.jp", ("503", "250")),
}

# Per country: given names, family names, (street template, city, state or region, district or county, postcode),
# phone prefix. Street templates take a number.
PEOPLE: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, str, str, str, str], ...], str]] = {
    "US": (
        ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez"),
        (
            ("{n} Pine St", "Seattle", "WA", "", "98101"),
            ("{n} Congress Ave", "Austin", "TX", "", "78701"),
            ("{n} High St", "Columbus", "OH", "", "43215"),
            ("{n} Larimer St", "Denver", "CO", "", "80202"),
            ("{n} Court St", "Brooklyn", "NY", "", "11201"),
            ("{n} Santa Clara St", "San Jose", "CA", "", "95113"),
            ("{n} Brickell Ave", "Miami", "FL", "", "33131"),
        ),
        "+1 206-555-",
    ),
    "GB": (
        ("Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jack", "Emily"),
        ("Taylor", "Davies", "Evans", "Wilson", "Thomas", "Roberts", "Walker", "Wright"),
        (
            ("{n} Brick Lane", "London", "England", "Greater London", "E1 6RF"),
            ("{n} Deansgate", "Manchester", "England", "Greater Manchester", "M3 4LQ"),
            ("{n} Corporation Street", "Birmingham", "England", "West Midlands", "B4 6QB"),
            ("{n} Briggate", "Leeds", "England", "West Yorkshire", "LS1 6HD"),
            ("{n} Rose Street", "Edinburgh", "Scotland", "", "EH2 2PR"),
        ),
        "+44 20 7946 ",
    ),
    "DE": (
        ("Lukas", "Anna", "Leon", "Marie", "Felix", "Sophie", "Jonas", "Lena"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"),
        (
            ("Torstraße {n}", "Berlin", "Berlin", "", "10119"),
            ("Sendlinger Straße {n}", "München", "Bayern", "", "80331"),
            ("Mönckebergstraße {n}", "Hamburg", "Hamburg", "", "20095"),
            ("Ehrenstraße {n}", "Köln", "Nordrhein-Westfalen", "", "50672"),
            ("Berger Straße {n}", "Frankfurt am Main", "Hessen", "", "60316"),
        ),
        "+49 30 901820",
    ),
    "FR": (
        ("Louis", "Emma", "Gabriel", "Jade", "Hugo", "Louise", "Arthur", "Alice"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"),
        (
            ("{n} rue Oberkampf", "Paris", "Île-de-France", "", "75011"),
            ("{n} rue de la République", "Lyon", "Auvergne-Rhône-Alpes", "", "69002"),
            ("{n} La Canebière", "Marseille", "Provence-Alpes-Côte d'Azur", "", "13001"),
            ("{n} rue d'Alsace-Lorraine", "Toulouse", "Occitanie", "", "31000"),
            ("{n} rue Crébillon", "Nantes", "Pays de la Loire", "", "44000"),
        ),
        "+33 1 70 18 ",
    ),
    "AU": (
        ("Jack", "Charlotte", "Noah", "Olivia", "William", "Mia"),
        ("Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor"),
        (
            ("{n} George St", "Sydney", "NSW", "", "2000"),
            ("{n} Collins St", "Melbourne", "VIC", "", "3000"),
            ("{n} Queen St", "Brisbane", "QLD", "", "4000"),
            ("{n} Hay St", "Perth", "WA", "", "6000"),
            ("{n} Rundle Mall", "Adelaide", "SA", "", "5000"),
        ),
        "+61 2 5550 ",
    ),
    "JP": (
        ("陽翔", "結菜", "蓮", "陽葵", "湊", "凛"),
        ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺"),
        (
            ("神南1-{n}-3", "渋谷区", "東京都", "", "150-0041"),
            ("梅田2-{n}-8", "大阪市北区", "大阪府", "", "530-0001"),
            ("みなとみらい3-{n}-1", "横浜市西区", "神奈川県", "", "220-0012"),
            ("名駅4-{n}-7", "名古屋市中村区", "愛知県", "", "450-0002"),
            ("博多駅前2-{n}-1", "福岡市博多区", "福岡県", "", "812-0011"),
        ),
        "+81 3-5555-",
    ),
}

SECOND_LINES = {
    "US": ("Apt 4B", "Suite 210"),
    "GB": ("Flat 2", "Unit 5"),
    "DE": ("2. OG", "Hinterhaus"),
    "FR": ("Bâtiment B", "Escalier C"),
    "AU": ("Unit 7", "Level 3"),
    "JP": ("301号室", "メゾン青山502"),
}
PRICE_FACTORS = {"USD": Decimal("1"), "GBP": Decimal("0.8"), "EUR": Decimal("0.92"), "AUD": Decimal("1.5")}


def _demo_person(rng: random.Random, country: str) -> tuple[dict[str, Any], dict[str, Any]]:
    given, family, places, phone = PEOPLE[country]
    street, city, region, county, postcode = rng.choice(places)
    first, last = rng.choice(given), rng.choice(family)
    name = f"{last} {first}" if country == "JP" else f"{first} {last}"
    address: dict[str, Any] = {
        "name": name,
        "addressLine1": street.format(n=rng.randint(1, 240)),
        "city": city,
        "stateOrRegion": region,
        "postalCode": postcode,
        "countryCode": country,
        "phone": f"{phone}{rng.randint(100, 999)}",
        "addressType": "RESIDENTIAL",
    }
    if county:
        address["districtOrCounty"] = county
    if rng.random() < 0.25:
        address["addressLine2"] = rng.choice(SECOND_LINES[country])
    if rng.random() < 0.1:
        address["companyName"] = f"{last} Trading"
        address["addressType"] = "COMMERCIAL"
    mailbox = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=14))
    return address, {"buyerName": name, "buyerEmail": f"{mailbox}@marketplace.amazon.com"}


@functools.lru_cache(maxsize=4096)
def _demo_price(sku: str, currency: str) -> str:
    """A stable price per SKU: 4.99 to 79.99 dollars, in the marketplace's currency (yen without decimals)."""
    dollars = Decimal(4 + zlib.crc32(sku.encode()) % 76)
    if currency == "JPY":
        return str(int(dollars * 150) // 10 * 10 + 80)
    return str((dollars * PRICE_FACTORS.get(currency, Decimal("1"))).quantize(Decimal("1")) + Decimal("0.99"))


def _demo_tax(items: list[dict[str, Any]], country: str) -> str:
    """US sales tax collected by Amazon (about 8 %); elsewhere prices include VAT."""
    if country != "US":
        return "0" if items and "." not in items[0]["price"] else "0.00"
    subtotal = sum((Decimal(item["price"]) * item["quantity"] for item in items), Decimal("0"))
    return str((subtotal * Decimal("0.08")).quantize(Decimal("0.01")))


def _default_address(country: str) -> dict[str, Any]:
    given, family, places, phone = PEOPLE.get(country, PEOPLE["US"])
    street, city, region, county, postcode = places[0]
    address = {
        "name": f"{given[0]} {family[0]}",
        "addressLine1": street.format(n=1),
        "city": city,
        "stateOrRegion": region,
        "postalCode": postcode,
        "countryCode": country,
        "phone": f"{phone}100",
        "addressType": "RESIDENTIAL",
    }
    if county:
        address["districtOrCounty"] = county
    return address


@functools.lru_cache(maxsize=4096)
def _asin(sku: str) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    number = zlib.crc32(sku.encode()) * 7919
    return "B0" + "".join(alphabet[(number // 36**i) % 36] for i in range(8))


def _email(order_id: str) -> str:
    return f"{hashlib.sha1(order_id.encode()).hexdigest()[:14]}@marketplace.amazon.com"  # noqa: S324 (not security)
