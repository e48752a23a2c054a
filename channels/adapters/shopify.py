"""Shopify, through the GraphQL Admin API 2026-04 (REST is legacy and not used).

Where: ``POST {api_base_url}/graphql.json``. Shopify has no single production host: each shop has its own address,
so a store must give its API base URL, ``https://{shop}.myshopify.com/admin/api/2026-04`` (the shop's address
alone is completed with ``/admin/api/2026-04``; a store option ``shop`` may name the shop instead). Without either
the adapter raises ``ChannelError`` (code ``store_not_configured``).

As whom: header ``X-Shopify-Access-Token`` (not Bearer). Credentials: ``access_token``, the Admin API token of a
custom app (it does not expire; refused, there is nothing to refresh and the store must be reconnected), or, for a
Dev Dashboard app installed on the seller's own store, ``client_id`` and ``client_secret``: the adapter then gets
24-hour tokens by the client credentials grant (``POST https://{shop}.myshopify.com/admin/oauth/access_token``),
ahead of their expiry and again when Shopify answers 401. A token refused right after a refresh is ``AuthFailed``.
Store options: ``location_id`` (the Shopify location whose stock is set, ``gid://shopify/Location/…`` or its
number) and ``notify_customer`` (default true: Shopify e-mails the buyer the tracking number).

Orders: the ``orders`` connection, ``query: "updated_at:>='since' updated_at:<='until'"`` (whole seconds: since
rounded down and until up, so nothing at the edges is lost), ``sortKey: UPDATED_AT``, paged by ``first``/``after``
until ``pageInfo.hasNextPage`` is false. The query has no ``status:`` term: unlike REST's ``status=open`` default,
the GraphQL connection filters nothing by status, so cancelled and closed orders come too. (Without the
``read_all_orders`` scope Shopify shows only the last 60 days of orders.) Cursors are keyset (last updated time and
id): an order changed during a scan moves behind the cursor and is read again later, newer, and the sync engine
keeps the latest; one changed past ``until`` is left to the next window. A cursor that comes back unchanged would
page for ever, so it is ``BadResponse``. An order with more line items than one page has the rest read by id; if
it changes between those pages it is read again whole.

Status mapping (``channel_status`` keeps Shopify's words: ``[CANCELLED/]financial/fulfilment``):

====================================================================  =====================
``cancelledAt`` set                                                   cancelled
``displayFulfillmentStatus`` FULFILLED                                shipped
financial REFUNDED or VOIDED: PARTIALLY_FULFILLED → shipped (the      shipped / cancelled
rest was refunded), otherwise cancelled
PARTIALLY_FULFILLED                                                   partially_shipped
RESTOCKED, or nothing left to ship (every ``currentQuantity`` 0)      cancelled
financial PENDING, PARTIALLY_PAID or EXPIRED; fulfilment SCHEDULED    pending
anything else (PAID, AUTHORIZED, PARTIALLY_REFUNDED, no financial     awaiting_shipment
status; UNFULFILLED, OPEN, IN_PROGRESS, ON_HOLD…)
====================================================================  =====================

Money is the shop currency (``shopMoney``) of the ``current*`` totals, after edits and refunds, as Decimal from
Shopify's decimal strings (the buyer's presentment currency is left aside). The buyer's name is the shipping
address's (``Order.customer`` would need the customers scope too); ``paid_at`` and ``ship_by`` stay empty, since
the order gives neither without reading its transactions and fulfilment orders. Lines carry ``currentQuantity``
(lines edited or refunded to zero are left out; the raw order keeps them), the variant gid as listing id and
``originalUnitPriceSet`` as unit price. The order's gid is its channel id; its name (``#1001``) is in ``raw``. The
state is the province code where it is a short postal one (CA, NSW, ON), else the province's name (Tokyo, not
JP-13).

Throttling is cost-based: a throttled query is HTTP 200 with ``errors[].extensions.code == "THROTTLED"`` and
``extensions.cost``; the ``throttle`` hook waits ``(requestedQueryCost − currentlyAvailable) / restoreRate``
seconds. HTTP 429 with ``Retry-After`` and 5xx are ChannelHttp's. Queries are reads, so they are retried after a
time-out; ``fulfillmentCreate`` is not.

Shipments: read the order's fulfilments (with tracking) and fulfilment orders; a fulfilment carrying the same
tracking number is the same parcel told before (``already_confirmed``). Otherwise the shipment's lines are taken
from the open fulfilment orders' remaining quantities, and ``fulfillmentCreate`` is sent once; userErrors are
``Rejected``. After a time-out the order is read again: the fulfilment is there (done) or the error stands, and the
next attempt starts by that same check. Shopify has no idempotency key for ``fulfillmentCreate``. Where the check
cannot see everything (30 fulfilments or more, more than 5 fulfilment orders or 50 lines in one), the shipment is
refused with a message rather than risked twice; so is one whose lines sit at two Shopify locations (a
fulfilment covers one location; a parcel leaves from one place).

Stock: ``inventorySetQuantities`` (``name: "available"``, ``reason: "correction"``, ``changeFromQuantity: null``:
Seabridge is the source of truth, so no compare-and-set) with ``@idempotent(key:)``, a fresh key per call, so
ChannelHttp may resend it after a time-out or a 5xx and Shopify applies it once. The mapping's
``listing_variant_id`` is the inventory item. Shopify refuses the whole call when one item is wrong (per-item
userErrors with their input path): those items fail with Shopify's message and the rest are sent again.
``stock_batch_size`` is 250, Shopify's limit for an input array: a mutation costs 10 points whatever its size, so a
store of 5,000 SKUs takes 20 calls.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.utils.translation import gettext as _

from channels.adapters.base import (
    AccessToken,
    AuthFailed,
    BadResponse,
    ChannelAdapter,
    ChannelError,
    ConfirmResult,
    OrderProblem,
    Rejected,
    ShipmentOut,
    StockOut,
    StockResult,
    TokenGrant,
    Transient,
)
from channels.adapters.http import response_json
from orders.inbound import AddressIn, LineIn, OrderIn

API_VERSION = "2026-04"
ORDERS_PAGE = 25  # orders per page: the query's requested cost stays under Shopify's 1,000-point ceiling
LINES_PAGE = 5  # line items read with each order; most orders have fewer, the rest are read by id
MORE_LINES_PAGE = 100
FULFILMENTS_SEEN = 30  # fulfilments read to find a repeat; an order with more is refused rather than guessed
TOKEN_MARGIN = timedelta(minutes=5)  # a token this close to its end is renewed before use
ORDER_READS = 3  # reads of an order that keeps changing while its line pages are read

# Seabridge carrier codes → the names Shopify recognises (it then links the tracking page itself).
TRACKING_COMPANIES = {
    "4px": "4PX",
    "australia_post": "Australia Post",
    "canada_post": "Canada Post",
    "china_post": "China Post",
    "dhl": "DHL Express",
    "dhl_ecommerce": "DHL eCommerce",
    "dpd": "DPD",
    "fedex": "FedEx",
    "gls": "GLS",
    "royal_mail": "Royal Mail",
    "ups": "UPS",
    "usps": "USPS",
    "yanwen": "Yanwen",
    "yunexpress": "YunExpress",
}

LINE_FIELDS = """
fragment SeabridgeLine on LineItem {
  id sku title quantity currentQuantity
  variant { id }
  originalUnitPriceSet { shopMoney { amount currencyCode } }
}
"""

ORDER_FIELDS = (
    """
fragment SeabridgeOrder on Order {
  id name createdAt updatedAt cancelledAt cancelReason closedAt
  displayFinancialStatus displayFulfillmentStatus currencyCode email phone note
  currentSubtotalPriceSet { shopMoney { amount currencyCode } }
  currentShippingPriceSet { shopMoney { amount currencyCode } }
  currentTotalTaxSet { shopMoney { amount currencyCode } }
  currentTotalDiscountsSet { shopMoney { amount currencyCode } }
  currentTotalPriceSet { shopMoney { amount currencyCode } }
  shippingAddress { name company address1 address2 city province provinceCode zip countryCodeV2 phone }
  shippingLine { title }
  lineItems(first: LINES_PAGE) { pageInfo { hasNextPage endCursor } nodes { ...SeabridgeLine } }
}
""".replace("LINES_PAGE", str(LINES_PAGE))
    + LINE_FIELDS
)

ORDERS_QUERY = (
    """
query SeabridgeOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ...SeabridgeOrder }
  }
}
"""
    + ORDER_FIELDS
)

ORDER_QUERY = (
    """
query SeabridgeOrder($id: ID!) {
  order(id: $id) { ...SeabridgeOrder }
}
"""
    + ORDER_FIELDS
)

ORDER_LINES_QUERY = (
    """
query SeabridgeOrderLines($id: ID!, $after: String) {
  order(id: $id) {
    id updatedAt
    lineItems(first: MORE_LINES_PAGE, after: $after) { pageInfo { hasNextPage endCursor } nodes { ...SeabridgeLine } }
  }
}
""".replace("MORE_LINES_PAGE", str(MORE_LINES_PAGE))
    + LINE_FIELDS
)

FULFILMENT_CONTEXT_QUERY = """
query SeabridgeFulfilmentContext($id: ID!) {
  order(id: $id) {
    id cancelledAt
    fulfillments(first: FULFILMENTS_SEEN) { id status trackingInfo(first: 3) { company number } }
    fulfillmentOrders(first: 5) {
      pageInfo { hasNextPage }
      nodes {
        id status
        assignedLocation { location { id } }
        lineItems(first: 50) { pageInfo { hasNextPage } nodes { id remainingQuantity lineItem { id } } }
      }
    }
  }
}
""".replace("FULFILMENTS_SEEN", str(FULFILMENTS_SEEN))

FULFILMENT_CREATE_MUTATION = """
mutation SeabridgeFulfilmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""

STOCK_SET_MUTATION = """
mutation SeabridgeStockSet($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}
"""

QUERIES = {
    "SeabridgeOrders": ORDERS_QUERY,
    "SeabridgeOrder": ORDER_QUERY,
    "SeabridgeOrderLines": ORDER_LINES_QUERY,
    "SeabridgeFulfilmentContext": FULFILMENT_CONTEXT_QUERY,
    "SeabridgeFulfilmentCreate": FULFILMENT_CREATE_MUTATION,
    "SeabridgeStockSet": STOCK_SET_MUTATION,
}

FULFILLABLE = frozenset({"OPEN", "IN_PROGRESS"})


class _Unreadable(Exception):
    """A field of an order that cannot be read: becomes an OrderProblem naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def throttle_wait(response: httpx.Response) -> float | None:
    """Seconds to wait when Shopify answered HTTP 200 "Throttled": what the query costs beyond what the bucket
    holds, at the rate it refills. None for any other answer."""
    if response.status_code != 200 or b"THROTTLED" not in response.content:
        return None
    try:
        body = response_json(response)
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not any(
        isinstance(error, dict) and (error.get("extensions") or {}).get("code") == "THROTTLED" for error in errors
    ):
        return None
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    try:
        missing = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return 1.0
    if rate <= 0 or not math.isfinite(missing / rate) or missing <= 0:
        return 1.0
    return missing / rate


def order_status(*, cancelled: bool, financial: str | None, fulfilment: str, anything_to_ship: bool) -> str:
    """Seabridge's status for a Shopify order (the table in the module docstring)."""
    if cancelled:
        return "cancelled"
    if fulfilment == "FULFILLED":
        return "shipped"
    if financial in ("REFUNDED", "VOIDED"):
        return "shipped" if fulfilment == "PARTIALLY_FULFILLED" else "cancelled"
    if fulfilment == "PARTIALLY_FULFILLED":
        return "partially_shipped"
    if fulfilment == "RESTOCKED" or not anything_to_ship:
        return "cancelled"
    if financial in ("PENDING", "PARTIALLY_PAID", "EXPIRED") or fulfilment == "SCHEDULED":
        return "pending"
    return "awaiting_shipment"


def shopify_gid(value: str, kind: str) -> str:
    """``gid://shopify/<kind>/<n>`` from a gid or a bare number (what a person may type); else the value as is."""
    text = str(value).strip()
    return f"gid://shopify/{kind}/{text}" if text.isdigit() else text


class ShopifyAdapter(ChannelAdapter):
    channel = "shopify"
    # A template: each shop has its own host, so a store gives its address (see the module docstring).
    default_api_base_url = f"https://{{shop}}.myshopify.com/admin/api/{API_VERSION}"
    default_auth_url = ""  # the shop's own /admin/oauth/access_token
    credential_names = ("access_token",)
    stock_batch_size = 250

    # -- where -------------------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        url = (self.connection.api_base_url or "").strip().rstrip("/")
        if not url:
            shop = str(self.connection.options.get("shop") or "").strip().lower().removeprefix("https://").rstrip("/")
            shop = shop.removesuffix(".myshopify.com")
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", shop):
                raise ChannelError(
                    _(
                        "The Shopify store has no address: set its API base URL to "
                        "https://your-shop.myshopify.com/admin/api/%(version)s."
                    )
                    % {"version": API_VERSION},
                    code="store_not_configured",
                )
            url = self.default_api_base_url.replace("{shop}", shop)
        if "/admin/api/" not in url:
            url = f"{url}/admin/api/{API_VERSION}"
        return url

    @property
    def auth_url(self) -> str:
        if self.connection.auth_url:
            return self.connection.auth_url
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}/admin/oauth/access_token"

    # -- tokens ------------------------------------------------------------------------------------------------------

    def _token(self) -> AccessToken:
        token = self.connection.tokens.current()
        expiring = token is not None and token.expires_at is not None and token.expires_at - TOKEN_MARGIN <= _now()
        if token is None or expiring:
            token = self.connection.tokens.refresh(
                stale=token, grant=lambda credentials: self._grant(credentials, token)
            )
        return token

    def _grant(self, credentials: Mapping[str, Any], stale: AccessToken | None) -> TokenGrant:
        """A new token: the client credentials grant where the store has an app's client id and secret; else the
        custom app's token, unless that is the very token Shopify just refused."""
        client_id, client_secret = credentials.get("client_id"), credentials.get("client_secret")
        if client_id and client_secret:
            return self._client_credentials_grant(str(client_id), str(client_secret))
        static = credentials.get("access_token")
        if not static:
            raise AuthFailed(_("The Shopify store has neither an access token nor an app's client credentials."))
        if stale is not None and stale.value == static:
            raise AuthFailed(_("Shopify refused the store's access token: connect the store again."))
        return TokenGrant(access_token=AccessToken(value=str(static)))

    def _client_credentials_grant(self, client_id: str, client_secret: str) -> TokenGrant:
        response = self.http.request(
            "POST",
            self.auth_url,
            operation="token",
            idempotent=True,  # a token grant changes nothing: sending it twice is harmless
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            headers={"Accept": "application/json"},
        )
        body = _json(response)
        if response.status_code != 200:
            code = body.get("error") if isinstance(body, dict) else None
            raise AuthFailed(
                _("Shopify refused the app's client credentials (%(code)s): connect the store again.")
                % {"code": code or response.status_code},
                status=response.status_code,
            )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise BadResponse(_("Shopify's token answer has no access_token."))
        expires_in = body.get("expires_in")
        expires_at = _now() + timedelta(seconds=expires_in) if isinstance(expires_in, int | float) else None
        return TokenGrant(access_token=AccessToken(value=token, expires_at=expires_at))

    # -- GraphQL -----------------------------------------------------------------------------------------------------

    def _graphql(self, name: str, variables: Mapping[str, Any], *, operation: str, idempotent: bool = True) -> dict:
        """Send one named document; the ``data`` of the answer, or the error Shopify's answer means."""
        body = {"query": QUERIES[name], "variables": dict(variables), "operationName": name}
        token = self._token()
        response = self._send(body, token, operation=operation, idempotent=idempotent)
        if response.status_code == 401:
            token = self.connection.tokens.refresh(
                stale=token, grant=lambda credentials: self._grant(credentials, token)
            )
            response = self._send(body, token, operation=operation, idempotent=idempotent)
            if response.status_code == 401:
                raise AuthFailed(_("Shopify refused a fresh access token: connect the store again."), status=401)
        return self._data(response)

    def _send(self, body: dict, token: AccessToken, *, operation: str, idempotent: bool) -> httpx.Response:
        return self.http.request(
            "POST",
            f"{self.base_url}/graphql.json",
            operation=operation,
            throttle=throttle_wait,
            idempotent=idempotent,
            json=body,
            headers={"X-Shopify-Access-Token": token.value, "Accept": "application/json"},
        )

    def _data(self, response: httpx.Response) -> dict:
        status = response.status_code
        body = _json(response)
        if status == 403:
            raise AuthFailed(
                _("Shopify refused access: %(message)s") % {"message": _errors_text(body, status)}, status=status
            )
        if status in (402, 423):
            raise Rejected(
                _("The Shopify store is unavailable (frozen or locked): %(message)s")
                % {"message": _errors_text(body, status)},
                status=status,
            )
        if status != 200:
            raise Rejected(
                _("Shopify refused the request: %(message)s") % {"message": _errors_text(body, status)}, status=status
            )
        if not isinstance(body, dict):
            raise BadResponse(_("Shopify answered something that is not a JSON object."), status=status)
        errors = body.get("errors")
        if errors:
            codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
            message = _errors_text(body, status)
            if "ACCESS_DENIED" in codes:
                raise AuthFailed(_("Shopify refused access: %(message)s") % {"message": message}, status=status)
            if "INTERNAL_SERVER_ERROR" in codes:
                raise Transient(_("Shopify failed inside: %(message)s") % {"message": message}, status=status)
            raise Rejected(_("Shopify refused the query: %(message)s") % {"message": message}, status=status)
        data = body.get("data")
        if not isinstance(data, dict):
            raise BadResponse(_("Shopify's answer has no data."), status=status)
        return data

    # -- orders --------------------------------------------------------------------------------------------------------

    def orders_changed(self, *, since: datetime, until: datetime) -> Iterator[OrderIn | OrderProblem]:
        search = f"updated_at:>='{_iso(_floor(since))}' updated_at:<='{_iso(_ceil(until))}'"
        after: str | None = None
        cursors_seen: set[str] = set()
        while True:
            data = self._graphql(
                "SeabridgeOrders", {"first": ORDERS_PAGE, "after": after, "query": search}, operation="orders"
            )
            connection = data.get("orders")
            nodes = connection.get("nodes") if isinstance(connection, dict) else None
            page = connection.get("pageInfo") if isinstance(connection, dict) else None
            if not isinstance(nodes, list) or not isinstance(page, dict):
                raise BadResponse(_("Shopify's order page has no nodes or pageInfo."))
            for node in nodes:
                result = self._order_read(node)
                yield self._order_fresh(node["id"]) if result is None else result
            if page.get("hasNextPage") is not True:
                return
            after = page.get("endCursor")
            if not isinstance(after, str) or not after or after in cursors_seen:
                raise BadResponse(
                    _("Shopify's order pages do not move on (the next-page cursor repeats or is missing).")
                )
            cursors_seen.add(after)

    def order_get(self, channel_order_id: str) -> OrderIn:
        result = self._order_fresh(shopify_gid(channel_order_id, "Order"))
        if isinstance(result, OrderProblem):
            raise BadResponse(
                _("Shopify order %(order)s cannot be read: %(field)s: %(message)s")
                % {"order": channel_order_id, "field": result.field, "message": result.message}
            )
        return result

    def _order_fresh(self, order_gid: str) -> OrderIn | OrderProblem:
        """The order read by id with all its lines, read again while it changes between its line pages."""
        for _attempt in range(ORDER_READS):
            data = self._graphql("SeabridgeOrder", {"id": order_gid}, operation="order")
            node = data.get("order")
            if node is None:
                raise Rejected(_("Shopify has no order %(order)s.") % {"order": order_gid})
            result = self._order_read(node)
            if result is not None:
                return result
        return OrderProblem(
            channel_order_id=order_gid,
            field="updatedAt",
            message=_("The order kept changing while its line items were read; the next sync reads it again."),
            raw=node,
        )

    def _order_read(self, node: Any) -> OrderIn | OrderProblem | None:
        """An order as OrderIn with every line page, an OrderProblem naming what cannot be read, or None when it
        changed between its line pages (lines of two versions must not be mixed: read it again)."""
        order_id = ""
        if isinstance(node, dict):
            order_id = next((v for v in (node.get("id"), node.get("name")) if isinstance(v, str) and v), "")
        try:
            if not isinstance(node, dict):
                raise _Unreadable("order", _("The order is not an object."))
            complete = self._lines_completed(node)
            return None if complete is None else _order_in(complete)
        except _Unreadable as problem:
            return OrderProblem(channel_order_id=order_id, field=problem.field, message=problem.message, raw=node)

    def _lines_completed(self, node: dict) -> dict | None:
        """The order with every line item (``lineItems.nodes`` complete), reading further pages by id; None when
        the order changed meanwhile (its ``updatedAt`` moved), since lines of two versions must not mix."""
        line_items = node.get("lineItems")
        if not isinstance(line_items, dict) or not isinstance(line_items.get("nodes"), list):
            raise _Unreadable("lineItems", _("The order has no line items list."))
        page = line_items.get("pageInfo") or {}
        if page.get("hasNextPage") is not True:
            return node
        lines = list(line_items["nodes"])
        after = page.get("endCursor")
        while True:
            data = self._graphql("SeabridgeOrderLines", {"id": node.get("id"), "after": after}, operation="order_lines")
            more = data.get("order")
            if not isinstance(more, dict) or more.get("updatedAt") != node.get("updatedAt"):
                return None
            more_lines = more.get("lineItems") or {}
            if not isinstance(more_lines.get("nodes"), list):
                raise _Unreadable("lineItems", _("A page of the order's line items has no nodes."))
            lines += more_lines["nodes"]
            page = more_lines.get("pageInfo") or {}
            if page.get("hasNextPage") is not True:
                break
            next_after = page.get("endCursor")
            if not isinstance(next_after, str) or next_after == after:
                raise _Unreadable("lineItems", _("The order's line item pages do not move on."))
            after = next_after
        return {**node, "lineItems": {"pageInfo": {"hasNextPage": False}, "nodes": lines}}

    # -- shipments -------------------------------------------------------------------------------------------------

    def shipment_confirm(self, shipment: ShipmentOut) -> ConfirmResult:
        order_gid = shopify_gid(shipment.channel_order_id, "Order")
        context = self._fulfilment_context(order_gid)
        done = _fulfilment_with_tracking(context, shipment.tracking_number)
        if done:
            return ConfirmResult(reference=done, already_confirmed=True)
        request = self._fulfilment_request(context, shipment)
        try:
            data = self._graphql(
                "SeabridgeFulfilmentCreate", {"fulfillment": request}, operation="fulfilment_create", idempotent=False
            )
        except Transient:
            # No complete answer: Shopify may have made it. Look, and never send it again in this call.
            done = _fulfilment_with_tracking(self._fulfilment_context(order_gid), shipment.tracking_number)
            if done:
                return ConfirmResult(reference=done)
            raise
        payload = data.get("fulfillmentCreate")
        if not isinstance(payload, dict):
            raise BadResponse(_("Shopify's fulfillmentCreate answer is empty."))
        user_errors = payload.get("userErrors") or []
        if user_errors:
            raise Rejected(
                _("Shopify refused the shipment of order %(order)s: %(message)s")
                % {"order": shipment.channel_order_id, "message": _user_errors_text(user_errors)}
            )
        fulfillment = payload.get("fulfillment")
        if not isinstance(fulfillment, dict) or not isinstance(fulfillment.get("id"), str):
            raise BadResponse(_("Shopify's fulfillmentCreate answer has no fulfillment id."))
        return ConfirmResult(reference=fulfillment["id"])

    def _fulfilment_context(self, order_gid: str) -> dict:
        data = self._graphql("SeabridgeFulfilmentContext", {"id": order_gid}, operation="fulfilment_context")
        order = data.get("order")
        if order is None:
            raise Rejected(_("Shopify has no order %(order)s.") % {"order": order_gid})
        if not isinstance(order, dict):
            raise BadResponse(_("Shopify's order %(order)s is not an object.") % {"order": order_gid})
        fulfillments = order.get("fulfillments")
        connection = order.get("fulfillmentOrders")
        if not isinstance(fulfillments, list) or not isinstance(connection, dict):
            raise BadResponse(_("Shopify's order %(order)s lacks its fulfilments.") % {"order": order_gid})
        if len(fulfillments) >= FULFILMENTS_SEEN:
            raise Rejected(
                _(
                    "Order %(order)s has %(count)s or more fulfilments in Shopify, too many to be sure this parcel is "
                    "not among them: confirm it in Shopify's admin."
                )
                % {"order": order_gid, "count": FULFILMENTS_SEEN}
            )
        return order

    def _fulfilment_request(self, context: dict, shipment: ShipmentOut) -> dict:
        """``FulfillmentInput``: the shipment's lines taken from the open fulfilment orders' remaining quantities,
        all at one location (a fulfilment covers one)."""
        if context.get("cancelledAt"):
            raise Rejected(_("Order %(order)s was cancelled in Shopify.") % {"order": shipment.channel_order_id})
        connection = context["fulfillmentOrders"]
        fulfillment_orders = connection.get("nodes") or []
        too_many = (connection.get("pageInfo") or {}).get("hasNextPage") or any(
            ((fo.get("lineItems") or {}).get("pageInfo") or {}).get("hasNextPage") for fo in fulfillment_orders
        )
        if too_many:
            raise Rejected(
                _("Order %(order)s has too many fulfilment orders or lines to fulfil from here: use Shopify's admin.")
                % {"order": shipment.channel_order_id}
            )
        wanted: dict[str, int] = {}
        for line in shipment.lines:
            wanted[shopify_gid(line.channel_line_id, "LineItem")] = (
                wanted.get(shopify_gid(line.channel_line_id, "LineItem"), 0) + line.quantity
            )
        groups: dict[str, list[dict]] = {}
        locations = set()
        for fulfillment_order in fulfillment_orders:
            if fulfillment_order.get("status") not in FULFILLABLE:
                continue
            chosen = []
            for item in (fulfillment_order.get("lineItems") or {}).get("nodes") or []:
                line_id = (item.get("lineItem") or {}).get("id")
                take = min(wanted.get(line_id, 0), int(item.get("remainingQuantity") or 0))
                if take > 0:
                    chosen.append({"id": item["id"], "quantity": take})
                    wanted[line_id] -= take
            if chosen:
                groups[fulfillment_order["id"]] = chosen
                locations.add(((fulfillment_order.get("assignedLocation") or {}).get("location") or {}).get("id"))
        short = {line_id: quantity for line_id, quantity in wanted.items() if quantity > 0}
        if short:
            raise Rejected(
                _(
                    "Shopify has nothing left to fulfil for %(lines)s of order %(order)s "
                    "(fulfilled elsewhere or on hold)."
                )
                % {
                    "lines": ", ".join(f"{line_id} × {qty}" for line_id, qty in short.items()),
                    "order": shipment.channel_order_id,
                }
            )
        if len(locations) > 1:
            raise Rejected(
                _(
                    "The lines of order %(order)s are assigned to several Shopify locations, and one parcel leaves "
                    "from one: move them to one location in Shopify first."
                )
                % {"order": shipment.channel_order_id}
            )
        request: dict[str, Any] = {
            "lineItemsByFulfillmentOrder": [
                {"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": items} for fo_id, items in groups.items()
            ],
            "notifyCustomer": bool(self.connection.options.get("notify_customer", True)),
        }
        if shipment.tracking_number:
            company = TRACKING_COMPANIES.get(shipment.carrier.strip().lower(), shipment.carrier.strip())
            request["trackingInfo"] = {"number": shipment.tracking_number, **({"company": company} if company else {})}
        return request

    # -- stock -------------------------------------------------------------------------------------------------------

    def stock_push(self, items: list[StockOut]) -> list[StockResult]:
        location = self.connection.options.get("location_id")
        if not location:
            raise ChannelError(
                _("The Shopify store has no location_id option: say which Shopify location's stock to set."),
                code="store_not_configured",
            )
        location_gid = shopify_gid(str(location), "Location")
        results: dict[int, StockResult] = {}
        sending: list[int] = []
        first_of_item: dict[str, str] = {}
        for index, item in enumerate(items):
            item_gid = shopify_gid(item.listing_variant_id, "InventoryItem") if item.listing_variant_id else ""
            if not item_gid.startswith("gid://shopify/InventoryItem/"):
                results[index] = StockResult(
                    item.channel_sku,
                    ok=False,
                    message=_("The SKU mapping has no Shopify inventory item ID (variant ID field)."),
                )
            elif item_gid in first_of_item:
                results[index] = StockResult(
                    item.channel_sku,
                    ok=False,
                    message=_("Same Shopify inventory item as SKU %(sku)s, which was set instead.")
                    % {"sku": first_of_item[item_gid]},
                )
            else:
                first_of_item[item_gid] = item.channel_sku
                sending.append(index)
        # Shopify applies all or nothing: each pass drops the items it refused, so this ends within len(items).
        while sending:
            refused = self._stock_set([items[i] for i in sending], location_gid)
            if not refused:
                results.update({i: StockResult(items[i].channel_sku, ok=True) for i in sending})
                break
            if None in refused:  # refused as a whole, not item by item
                results.update({i: StockResult(items[i].channel_sku, ok=False, message=refused[None]) for i in sending})
                break
            results.update(
                {
                    sending[pos]: StockResult(items[sending[pos]].channel_sku, ok=False, message=msg)
                    for pos, msg in refused.items()
                }
            )
            sending = [i for pos, i in enumerate(sending) if pos not in refused]
        return [results[index] for index in range(len(items))]

    def _stock_set(self, items: list[StockOut], location_gid: str) -> dict[int | None, str]:
        """One ``inventorySetQuantities``; the refusals by position in ``items`` (None: the whole call)."""
        variables = {
            "key": str(uuid.uuid4()),
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [
                    {
                        "inventoryItemId": shopify_gid(item.listing_variant_id, "InventoryItem"),
                        "locationId": location_gid,
                        "quantity": item.quantity,
                        "changeFromQuantity": None,
                    }
                    for item in items
                ],
            },
        }
        data = self._graphql("SeabridgeStockSet", variables, operation="stock_set", idempotent=True)
        payload = data.get("inventorySetQuantities")
        if not isinstance(payload, dict):
            raise BadResponse(_("Shopify's inventorySetQuantities answer is empty."))
        refused: dict[int | None, list[str]] = {}
        for error in payload.get("userErrors") or []:
            if (error or {}).get("code") == "IDEMPOTENCY_CONCURRENT_REQUEST":
                raise Transient(_("Shopify is still applying the same stock update; try again shortly."))
            path = error.get("field") or []
            position = (
                int(path[2])
                if len(path) > 2 and path[:2] == ["input", "quantities"] and str(path[2]).isdigit()
                else None
            )
            if position is not None and position >= len(items):
                position = None
            refused.setdefault(position, []).append(str(error.get("message") or error.get("code") or ""))
        return {position: "; ".join(messages) for position, messages in refused.items()}


# --- Reading an order -----------------------------------------------------------------------------------------------


def _order_in(node: dict) -> OrderIn:
    order_id = _text(node, "id", required=True)
    currency = _text(node, "currencyCode", required=True)
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise _Unreadable("currencyCode", _("%(value)r is not a currency code.") % {"value": currency})
    lines_all = [_line_in(line, index, currency) for index, line in enumerate(node["lineItems"]["nodes"])]
    lines = [line for line in lines_all if line.quantity > 0]
    financial = node.get("displayFinancialStatus")
    fulfilment = _text(node, "displayFulfillmentStatus", required=True)
    if financial is not None and not isinstance(financial, str):
        raise _Unreadable("displayFinancialStatus", _("Not a text."))
    cancelled_at = _time(node, "cancelledAt")
    channel_status = "/".join(
        part for part in ("CANCELLED" if cancelled_at else "", financial or "-", fulfilment) if part
    )
    address = node.get("shippingAddress")
    if address is not None and not isinstance(address, dict):
        raise _Unreadable("shippingAddress", _("Not an object."))
    shipping_line = node.get("shippingLine")
    return OrderIn(
        channel_order_id=order_id,
        status=order_status(
            cancelled=cancelled_at is not None, financial=financial, fulfilment=fulfilment, anything_to_ship=bool(lines)
        ),
        channel_status=channel_status[:64],
        ordered_at=_time(node, "createdAt", required=True),
        channel_updated_at=_time(node, "updatedAt", required=True),
        lines=lines,
        address=_address_in(address or {}),
        buyer_name=_text(address or {}, "name", path="shippingAddress.name"),
        buyer_email=_text(node, "email"),
        currency=currency,
        subtotal=_money(node, "currentSubtotalPriceSet", currency),
        shipping_total=_money(node, "currentShippingPriceSet", currency),
        tax_total=_money(node, "currentTotalTaxSet", currency),
        discount_total=_money(node, "currentTotalDiscountsSet", currency),
        total=_money(node, "currentTotalPriceSet", currency),
        requested_service=_text(shipping_line, "title", path="shippingLine.title")
        if isinstance(shipping_line, dict)
        else "",
        buyer_note=_text(node, "note"),
        raw=node,
    )


def _line_in(node: Any, index: int, currency: str) -> LineIn:
    path = f"lineItems[{index}]"
    if not isinstance(node, dict):
        raise _Unreadable(path, _("Not an object."))
    quantity = _count(node, "quantity", path)
    current = _count(node, "currentQuantity", path)
    if current > quantity:
        raise _Unreadable(
            f"{path}.currentQuantity", _("More than the quantity ordered (%(quantity)s).") % {"quantity": quantity}
        )
    variant = node.get("variant")
    variant_id = variant.get("id") if isinstance(variant, dict) else None
    return LineIn(
        channel_line_id=_text(node, "id", path=f"{path}.id", required=True),
        channel_sku=_text(node, "sku", path=f"{path}.sku"),
        quantity=current,
        unit_price=_money(node, "originalUnitPriceSet", currency, path=f"{path}.originalUnitPriceSet"),
        title=_text(node, "title", path=f"{path}.title"),
        channel_item_id=variant_id if isinstance(variant_id, str) else "",
    )


def _address_in(node: dict) -> AddressIn:
    def text(key: str) -> str:
        return _text(node, key, path=f"shippingAddress.{key}")

    country = text("countryCodeV2").upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        raise _Unreadable("shippingAddress.countryCodeV2", _("%(value)r is not a country code.") % {"value": country})
    province_code = text("provinceCode")
    # The short postal code of a state (CA, NSW, ON) where Shopify has one; the name elsewhere (JP-13 → Tokyo).
    state = province_code if 0 < len(province_code) <= 3 else text("province")
    return AddressIn(
        name=text("name"),
        company=text("company"),
        address1=text("address1"),
        address2=text("address2"),
        city=text("city"),
        state=state,
        postcode=text("zip"),
        country=country,
        phone=text("phone"),
    )


def _text(node: Any, key: str, *, path: str | None = None, required: bool = False) -> str:
    value = node.get(key) if isinstance(node, dict) else None
    if value is None:
        if required:
            raise _Unreadable(path or key, _("Missing."))
        return ""
    if not isinstance(value, str):
        raise _Unreadable(path or key, _("Not a text: %(value)r.") % {"value": value})
    if required and not value.strip():
        raise _Unreadable(path or key, _("Empty."))
    return value.strip()


def _count(node: dict, key: str, path: str) -> int:
    value = node.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _Unreadable(f"{path}.{key}", _("Not a whole number of units: %(value)r.") % {"value": value})
    return value


def _time(node: dict, key: str, *, required: bool = False) -> datetime | None:
    value = node.get(key)
    if value is None:
        if required:
            raise _Unreadable(key, _("Missing."))
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _Unreadable(key, _("Not a time with a zone: %(value)r.") % {"value": value})
    return moment.astimezone(UTC)


def _money(node: dict, key: str, currency: str, *, path: str | None = None) -> Decimal:
    """``<key>.shopMoney.amount`` as Decimal, in the shop's currency (zero where Shopify gives no bag)."""
    path = path or key
    bag = node.get(key)
    if bag is None:
        return Decimal("0")
    money = bag.get("shopMoney") if isinstance(bag, dict) else None
    if not isinstance(money, dict):
        raise _Unreadable(f"{path}.shopMoney", _("Missing."))
    amount = money.get("amount")
    try:
        value = Decimal(amount) if isinstance(amount, str) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise _Unreadable(f"{path}.shopMoney.amount", _("Not a decimal amount: %(value)r.") % {"value": amount})
    if money.get("currencyCode") not in (None, currency):
        raise _Unreadable(
            f"{path}.shopMoney.currencyCode",
            _("%(value)r, not the shop's currency %(currency)s.")
            % {"value": money.get("currencyCode"), "currency": currency},
        )
    return value


# --- Fulfilments ----------------------------------------------------------------------------------------------------


def _fulfilment_with_tracking(context: dict, tracking_number: str) -> str:
    """The id of a live fulfilment of the order carrying this tracking number, or "" (also for no number: a
    parcel without one cannot be recognised, and is refused later if its lines no longer remain)."""
    wanted = _tracking_key(tracking_number)
    if not wanted:
        return ""
    for fulfillment in context.get("fulfillments") or []:
        if not isinstance(fulfillment, dict) or fulfillment.get("status") in ("CANCELLED", "ERROR", "FAILURE"):
            continue
        for info in fulfillment.get("trackingInfo") or []:
            if isinstance(info, dict) and _tracking_key(info.get("number")) == wanted:
                return str(fulfillment.get("id") or "")
    return ""


def _tracking_key(number: Any) -> str:
    return re.sub(r"\s+", "", number).upper() if isinstance(number, str) else ""


# --- Small helpers --------------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _ceil(moment: datetime) -> datetime:
    floor = _floor(moment)
    return floor if floor == moment else floor + timedelta(seconds=1)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(response: httpx.Response) -> Any:
    try:
        return response_json(response)
    except ValueError:
        return None


def _errors_text(body: Any, status: int) -> str:
    """Shopify's own words: ``errors`` is a string (REST-style answers), a list of GraphQL errors, or an object."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return "; ".join(str(e.get("message") if isinstance(e, dict) else e) for e in errors)
    if isinstance(errors, dict):
        return "; ".join(f"{key}: {value}" for key, value in errors.items())
    return f"HTTP {status}"


def _user_errors_text(user_errors: list) -> str:
    return "; ".join(str(error.get("message")) for error in user_errors if isinstance(error, dict))
