"""Amazon Selling Partner API: orders from the Orders API v2026-01-01, shipments through Orders v0
``confirmShipment``, stock through Listings Items 2021-08-01 ``patchListingsItem``.

What it is built to (Amazon's models in ``amzn/selling-partner-api-models``, and Amazon's guides where said):

- Login with Amazon: ``POST`` the store's token URL (``https://api.amazon.com/auth/o2/token``) with the form
  ``grant_type=refresh_token, refresh_token, client_id, client_secret``; the answer's ``access_token`` (an hour,
  ``expires_in``) goes in ``x-amz-access-token``. A 401 or 403 from the SP-API (``{"errors": [{"code":
  "Unauthorized"...}]}``: expired token, revoked grant or missing role) makes one refresh and one retry; refused
  again, the store must be authorised again (``AuthFailed``).
- Orders: ``searchOrders`` (``GET /orders/2026-01-01/orders``) with ``lastUpdatedAfter``/``lastUpdatedBefore``,
  ``marketplaceIds``, ``fulfilledBy=MERCHANT`` (Amazon ships its own FBA orders; one that comes anyway is skipped),
  ``includedData`` (BUYER, RECIPIENT, FULFILLMENT, PROCEEDS, PACKAGES, CANCELLATION), ``maxResultsPerPage=100``,
  then ``paginationToken`` with every other parameter unchanged, as the model requires. ``getOrder`` for one order.
  Buyer and address come in the same answer: this version needs no Restricted Data Token ("Access Orders PII"
  guide; the model mentions none), only the Direct-to-Consumer Delivery role. The v0 read operations are
  deprecated and not used.
- Shipments: ``POST /orders/v0/orders/{orderId}/shipmentConfirmation`` (204, no body) with ``marketplaceId`` and
  ``packageDetail`` (``packageReferenceId`` = the shipment's reference, a positive number as a string).
- Stock: ``PATCH /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=...`` with the mapping's
  ``options["product_type"]`` and a ``merge`` of ``/attributes/fulfillment_availability`` ``[{fulfillment_channel_code:
  "DEFAULT", quantity}]``: ``merge`` (in the model's PatchOperation since 2025) changes the quantity only, where
  ``replace`` would also wipe the seller's handling time (``lead_time_to_ship_max_days``) and restock date. The
  answer's ``status`` ACCEPTED or INVALID with ``issues`` is the item's result. One SKU a call (the operation
  takes one), so ``stock_batch_size`` is 1.
- Throttling: each operation's published rate and burst is declared on ``ChannelHttp`` (a run that declared its own
  limits first keeps them, which is how a benchmark against the simulator can go faster). Amazon answers 429
  ``QuotaExceeded`` with no ``Retry-After``; ``ChannelHttp`` empties the bucket and waits for the next token,
  which is the wait Amazon's rate implies, so no ``throttle`` hook is needed.

Status (``fulfillment.fulfillmentStatus``, kept in ``channel_status``) → ``Order.Status``:

    PENDING_AVAILABILITY, PENDING → pending            (not ready to ship; no address yet)
    UNSHIPPED                     → awaiting_shipment
    PARTIALLY_SHIPPED             → partially_shipped
    SHIPPED                       → shipped
    CANCELLED                     → cancelled
    UNFULFILLABLE                 → cancelled          (Amazon will not fulfil it)

Traps, and what this adapter does about them:

- Orders reach the search up to two minutes late, and ``lastUpdatedBefore`` must be two minutes old: a window
  that ends less than 2 min 10 s ago is waited for first, so nothing in it can still be invisible.
- The same order on two pages, or an order changed while the pages are read: every order is yielded as read;
  the sync engine keeps the latest ``lastUpdatedTime``. A change during the scan gives the order a time after the
  window's end, so the next window brings it. The upper bound is always sent, so the scan ends.
- A page token must come back with the same filters (400 otherwise): the first page's parameters are kept and
  only ``paginationToken`` is added. A token Amazon sends twice stops the scan with ``BadResponse``.
- Money is ``{"amount": "12.34", "currencyCode": ...}`` with the amount as a string: read with ``Decimal``, a number
  in its place is unreadable data. Totals come from ``proceeds`` (ITEM, SHIPPING, TAX, DISCOUNT; a discount is
  kept as a positive amount), or from the lines when Amazon gives no proceeds yet.
- A repeated ``confirmShipment`` with the same ``packageReferenceId`` edits that package (Amazon's "Confirm the
  shipment status" guide), so retrying after a time-out is safe and is left to ``ChannelHttp``. A package already
  in the order as the store sent it (same reference or tracking number) is not sent again; a 400 is checked
  against the order's packages before it counts as refused (the seller may have confirmed it by hand).
- An order to ship without its street (the app lacks the role) is an ``OrderProblem`` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import quote

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
    StoreConnection,
    TokenGrant,
)
from channels.adapters.http import ChannelHttp, Limit, response_json
from orders.inbound import AddressIn, LineIn, OrderIn

ORDERS_PATH = "/orders/2026-01-01/orders"
INCLUDED_DATA = ("BUYER", "RECIPIENT", "FULFILLMENT", "PROCEEDS", "PACKAGES", "CANCELLATION")
PAGE_SIZE = 100

# Each operation's "Usage Plan" in its model.
LIMITS = {
    "searchOrders": Limit(rate=0.0056, burst=20),
    "getOrder": Limit(rate=0.5, burst=30),
    "confirmShipment": Limit(rate=2.0, burst=10),
    "patchListingsItem": Limit(rate=5.0, burst=5),
}

# lastUpdatedBefore must be two minutes before the request; ten seconds more for the clocks' difference.
SETTLE = timedelta(minutes=2, seconds=10)
# Refresh a little before Amazon's hour is up rather than be refused mid-scan.
TOKEN_MARGIN = timedelta(minutes=1)
USER_AGENT = "Seabridge/1.0 (Language=Python)"

STATUSES = {
    "PENDING_AVAILABILITY": "pending",
    "PENDING": "pending",
    "UNSHIPPED": "awaiting_shipment",
    "PARTIALLY_SHIPPED": "partially_shipped",
    "SHIPPED": "shipped",
    "CANCELLED": "cancelled",
    "UNFULFILLABLE": "cancelled",
}
TO_SHIP = frozenset({"UNSHIPPED", "PARTIALLY_SHIPPED"})

# The SP-API endpoint of each marketplace's region, for stores that do not set their own API URL.
NORTH_AMERICA = "https://sellingpartnerapi-na.amazon.com"
EUROPE = "https://sellingpartnerapi-eu.amazon.com"
FAR_EAST = "https://sellingpartnerapi-fe.amazon.com"
REGION_ENDPOINTS = {
    **dict.fromkeys(("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"), NORTH_AMERICA),
    **dict.fromkeys(
        (
            "A1F83G8C2ARO7P",
            "A1PA6795UKMFR9",
            "A13V1IB3VIYZZH",
            "APJ6JRA9NG5V4",
            "A1RKKUPIHCS9HS",
            "A1805IZSGTT6HS",
            "A2NODRKZP88ZB9",
            "A1C3SOZRARQ6R3",
            "AMEN7PMS3EDWL",
            "A33AVAJ2PDY3EV",
            "A2VIGQ35RCS4UG",
            "A17E79C6D8DWNP",
            "ARBP9OOSHTCHU",
            "A21TJRUUN4KGV",
        ),
        EUROPE,
    ),
    **dict.fromkeys(("A1VC38T7YXB528", "A39IBJ37TRP1C6", "A19VAU5U5O7RUS"), FAR_EAST),
}

# Seabridge's carrier names (letters and digits, lower case) → Amazon's carrierCode. Others go as "Other" with the
# name in carrierName; a store can add its own in options["carrier_codes"].
CARRIER_CODES = {
    "usps": "USPS",
    "ups": "UPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "dhlexpress": "DHL",
    "royalmail": "Royal Mail",
    "dpd": "DPD",
    "deutschepost": "Deutsche Post",
    "chinapost": "China Post",
    "yunexpress": "Yun Express",
    "4px": "4PX",
    "yanwen": "Yanwen",
    "sfexpress": "SF Express",
    "japanpost": "Japan Post",
    "yamatotransport": "Yamato Transport",
    "australiapost": "Australia Post",
    "canadapost": "Canada Post",
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AmazonAdapter(ChannelAdapter):
    channel = "amazon"
    default_api_base_url = NORTH_AMERICA
    default_auth_url = "https://api.amazon.com/auth/o2/token"
    credential_names = ("client_id", "client_secret", "refresh_token", "seller_id")
    stock_batch_size = 1
    # How old a window's end must be before Amazon shows every change in it; a sync that asks for windows ending
    # this long ago never waits in ``orders_changed``.
    window_lag: ClassVar[timedelta] = SETTLE

    def __init__(self, connection: StoreConnection, http: ChannelHttp) -> None:
        super().__init__(connection, http)
        for operation, limit in LIMITS.items():
            http.limit(operation, limit)
        # Amazon's time as this process sees it; tests give the simulator's.
        self.clock: Callable[[], datetime] = _utc_now

    @property
    def base_url(self) -> str:
        """The store's own API URL, else its marketplace's region."""
        if self.connection.api_base_url:
            return self.connection.api_base_url.rstrip("/")
        return REGION_ENDPOINTS.get(self.connection.marketplace_id, self.default_api_base_url)

    # -- the four operations ------------------------------------------------------------------------------------

    def orders_changed(self, *, since: datetime, until: datetime) -> Iterator[OrderIn | OrderProblem]:
        """Every merchant-fulfilled order Amazon changed from ``since`` to ``until`` (both to the second, both
        included), page by page."""
        since, until = _utc(since), _utc(until)
        self._settle(until)
        params: dict[str, Any] = {
            "lastUpdatedAfter": _iso(since),
            "lastUpdatedBefore": _iso(until),
            "fulfilledBy": "MERCHANT",
            "includedData": ",".join(INCLUDED_DATA),
            "maxResultsPerPage": PAGE_SIZE,
        }
        if self.connection.marketplace_id:
            params["marketplaceIds"] = self.connection.marketplace_id
        tokens_seen: set[str] = set()
        while True:
            response = self._call("GET", ORDERS_PATH, operation="searchOrders", params=params)
            body = _json_object(self._ok(response, _("Amazon's order search")), _("Amazon's order search"))
            orders = body.get("orders")
            if not isinstance(orders, list):
                raise BadResponse(_("Amazon's order search answered without a list of orders."))
            for position, raw in enumerate(orders):
                if isinstance(raw, dict) and _fulfilled_by(raw) == "AMAZON":
                    continue  # Amazon ships it; there is nothing for the warehouse to do
                yield _read(raw, f"orders[{position}]")
            next_token = _next_token(body)
            if next_token is None:
                return
            if next_token in tokens_seen:
                raise BadResponse(_("Amazon sent the same page token twice; the order search would never end."))
            tokens_seen.add(next_token)
            params["paginationToken"] = next_token

    def order_get(self, channel_order_id: str) -> OrderIn:
        order = self._order_json(channel_order_id, INCLUDED_DATA)
        result = _read(order, "order")
        if isinstance(result, OrderProblem):
            raise BadResponse(
                _("Amazon's order %(order)s cannot be read: %(field)s: %(problem)s")
                % {"order": channel_order_id, "field": result.field, "problem": result.message}
            )
        return result

    def shipment_confirm(self, shipment: ShipmentOut) -> ConfirmResult:
        reference = shipment.reference
        if not re.fullmatch(r"[0-9]+", reference or "") or int(reference) == 0:
            raise Rejected(
                _("Amazon takes only a positive number as a package reference, not %(reference)s.")
                % {"reference": reference}
            )
        if _has_package(shipment.order_raw, shipment):
            return ConfirmResult(reference=reference, already_confirmed=True)
        order_id = shipment.channel_order_id
        response = self._call(
            "POST",
            f"/orders/v0/orders/{quote(order_id, safe='')}/shipmentConfirmation",
            operation="confirmShipment",
            json=self._confirmation(shipment),
            # The same packageReferenceId edits the package it made: sending it again never makes a second one.
            idempotent=True,
        )
        if response.status_code in (200, 204):
            return ConfirmResult(reference=reference)
        if response.status_code == 400 and _has_package(self._order_json(order_id, ("PACKAGES",)), shipment):
            return ConfirmResult(reference=reference, already_confirmed=True)
        raise self._refusal(response, _("Amazon's shipment confirmation for order %(order)s") % {"order": order_id})

    def stock_push(self, items: list[StockOut]) -> list[StockResult]:
        return [self._stock_one(item) for item in items]

    # -- orders -------------------------------------------------------------------------------------------------

    def _settle(self, until: datetime) -> None:
        """Wait until the window's end is old enough for Amazon to show every change in it."""
        wait = (until + SETTLE - self.clock()).total_seconds()
        if wait <= 0:
            return
        if wait > SETTLE.total_seconds() + 60:
            raise ValueError(f"The window ends in the future ({until.isoformat()}).")
        self.http.seconds_backing_off += wait
        self.http.sleep(wait)

    def _order_json(self, order_id: str, included: tuple[str, ...]) -> Any:
        response = self._call(
            "GET",
            f"{ORDERS_PATH}/{quote(order_id, safe='')}",
            operation="getOrder",
            params={"includedData": ",".join(included)},
        )
        what = _("Amazon's order %(order)s") % {"order": order_id}
        return _json_object(self._ok(response, what), what).get("order")

    # -- shipments ----------------------------------------------------------------------------------------------

    def _confirmation(self, shipment: ShipmentOut) -> dict[str, Any]:
        carrier_code = self._carrier_code(shipment.carrier)
        detail: dict[str, Any] = {
            "packageReferenceId": shipment.reference,
            "carrierCode": carrier_code,
            "carrierName": shipment.carrier,
            "trackingNumber": shipment.tracking_number,
            "shipDate": _iso(_utc(shipment.shipped_at)),
            "orderItems": [{"orderItemId": line.channel_line_id, "quantity": line.quantity} for line in shipment.lines],
        }
        if shipment.service:
            detail["shippingMethod"] = shipment.service
        sales_channel = shipment.order_raw.get("salesChannel") if isinstance(shipment.order_raw, Mapping) else None
        marketplace_id = sales_channel.get("marketplaceId") if isinstance(sales_channel, Mapping) else None
        return {"marketplaceId": marketplace_id or self._marketplace_id(), "packageDetail": detail}

    def _carrier_code(self, carrier: str) -> str:
        own = self.connection.options.get("carrier_codes") or {}
        codes = {**CARRIER_CODES, **{_carrier_key(name): code for name, code in own.items()}}
        return codes.get(_carrier_key(carrier), "Other")

    # -- stock --------------------------------------------------------------------------------------------------

    def _stock_one(self, item: StockOut) -> StockResult:
        product_type = str(item.options.get("product_type") or "").strip()
        if not product_type:
            return StockResult(
                item.channel_sku,
                ok=False,
                message=_("The SKU mapping has no Amazon product type (options product_type), which Amazon needs."),
            )
        seller_id = str(self.connection.credentials.get("seller_id") or "")
        if not seller_id:
            raise AuthFailed(_("The store has no Amazon seller ID (seller_id) among its credentials."))
        body = {
            "productType": product_type,
            "patches": [
                {
                    "op": "merge",
                    "path": "/attributes/fulfillment_availability",
                    # Amazon takes no negative stock: an oversold listing shows none.
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": max(0, item.quantity)}],
                }
            ],
        }
        response = self._call(
            "PATCH",
            f"/listings/2021-08-01/items/{quote(seller_id, safe='')}/{quote(item.channel_sku, safe='')}",
            operation="patchListingsItem",
            params={"marketplaceIds": self._marketplace_id(), "includedData": "issues"},
            json=body,
            idempotent=True,  # it sets a quantity, so sending it twice sets the same
        )
        if response.status_code in (400, 404, 422):
            return StockResult(item.channel_sku, ok=False, message=_error_text(response))
        what = _("Amazon's listing %(sku)s") % {"sku": item.channel_sku}
        submission = _json_object(self._ok(response, what), what)
        issues = submission.get("issues") or []
        if submission.get("status") == "ACCEPTED":
            return StockResult(item.channel_sku, ok=True, message=_issues_text(issues))
        if submission.get("status") == "INVALID":
            message = _issues_text(issues) or _("Amazon refused the quantity without saying why.")
            return StockResult(item.channel_sku, ok=False, message=message)
        raise BadResponse(
            _("%(what)s answered an unknown status %(status)r.") % {"what": what, "status": submission.get("status")}
        )

    # -- HTTP and tokens ----------------------------------------------------------------------------------------

    def _marketplace_id(self) -> str:
        if not self.connection.marketplace_id:
            raise ChannelError(_("The store has no Amazon marketplace ID."), code="not_configured")
        return self.connection.marketplace_id

    def _call(self, method: str, path: str, *, operation: str, **kwargs: Any) -> httpx.Response:
        """One SP-API call with the store's access token; refused for the token (401/403), one refresh and one
        retry, then ``AuthFailed``."""
        token = self._token()
        response = self._send(method, path, token, operation=operation, **kwargs)
        if response.status_code not in (401, 403):
            return response
        token = self.connection.tokens.refresh(stale=token, grant=self._grant)
        response = self._send(method, path, token, operation=operation, **kwargs)
        if response.status_code in (401, 403):
            raise AuthFailed(
                _("Amazon refused the store's access (%(error)s). Authorise the app again for this store.")
                % {"error": _error_text(response)},
                status=response.status_code,
            )
        return response

    def _send(self, method: str, path: str, token: AccessToken, *, operation: str, **kwargs: Any) -> httpx.Response:
        headers = {"x-amz-access-token": token.value, "accept": "application/json", "user-agent": USER_AGENT}
        return self.http.request(method, self.base_url + path, operation=operation, headers=headers, **kwargs)

    def _token(self) -> AccessToken:
        token = self.connection.tokens.current()
        if token is None or (token.expires_at is not None and token.expires_at - TOKEN_MARGIN <= self.clock()):
            token = self.connection.tokens.refresh(stale=token, grant=self._grant)
        return token

    def _grant(self, credentials: Mapping[str, Any]) -> TokenGrant:
        """Login with Amazon's refresh-token grant. Its answer is safe to ask twice (the refresh token does not
        change), so a lost answer is asked again."""
        missing = [name for name in ("client_id", "client_secret", "refresh_token") if not credentials.get(name)]
        if missing:
            raise AuthFailed(_("The store has no %(names)s for Amazon.") % {"names": ", ".join(missing)})
        response = self.http.request(
            "POST",
            self.auth_url,
            operation="lwaToken",
            idempotent=True,
            headers={"accept": "application/json", "user-agent": USER_AGENT},
            data={
                "grant_type": "refresh_token",
                "refresh_token": credentials["refresh_token"],
                "client_id": credentials["client_id"],
                "client_secret": credentials["client_secret"],
            },
        )
        if response.status_code in (400, 401, 403):
            raise AuthFailed(
                _("Login with Amazon refused the store's credentials (%(error)s). Authorise the app again.")
                % {"error": _oauth_error(response)},
                status=response.status_code,
            )
        what = _("Login with Amazon")
        body = _json_object(self._ok(response, what), what)
        value, lifetime = body.get("access_token"), body.get("expires_in")
        if not isinstance(value, str) or not value or not _is_int(lifetime) or lifetime <= 0:
            raise BadResponse(_("Login with Amazon answered without an access token and its lifetime."))
        return TokenGrant(AccessToken(value, expires_at=self.clock() + timedelta(seconds=lifetime)))

    def _ok(self, response: httpx.Response, what: str) -> httpx.Response:
        if response.status_code == 200:
            return response
        raise self._refusal(response, what)

    @staticmethod
    def _refusal(response: httpx.Response, what: str) -> ChannelError:
        status = response.status_code
        if 400 <= status < 500:
            return Rejected(
                _("%(what)s: Amazon refused (%(error)s).") % {"what": what, "error": _error_text(response)},
                status=status,
            )
        return BadResponse(
            _("%(what)s: Amazon answered HTTP %(status)s.") % {"what": what, "status": status}, status=status
        )


# -- reading Amazon's orders --------------------------------------------------------------------------------------


class _Unreadable(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _read(raw: Any, where: str) -> OrderIn | OrderProblem:
    """The order, or the problem that stops it being read (naming the field, keeping what Amazon sent)."""
    order_id = raw.get("orderId") if isinstance(raw, dict) else None
    try:
        if not isinstance(raw, dict):
            raise _Unreadable(where, _("Amazon sent something other than an order object."))
        return _order_in(raw)
    except _Unreadable as problem:
        return OrderProblem(
            channel_order_id=order_id if isinstance(order_id, str) else "",
            field=problem.field,
            message=problem.message,
            raw=raw,
        )


def _order_in(raw: dict[str, Any]) -> OrderIn:
    order_id = _text(raw, "orderId", "orderId", required=True)
    fulfillment = _object(raw, "fulfillment", "fulfillment", required=True)
    channel_status = _text(fulfillment, "fulfillmentStatus", "fulfillment.fulfillmentStatus", required=True)
    status = STATUSES.get(channel_status)
    if status is None:
        raise _Unreadable(
            "fulfillment.fulfillmentStatus", _("Amazon sent an unknown status %(value)s.") % {"value": channel_status}
        )
    lines, line_currency = _lines(raw)
    totals, currency = _totals(raw, lines, line_currency)
    recipient = _object(raw, "recipient", "recipient")
    buyer = _object(raw, "buyer", "buyer")
    preference = _object(recipient, "deliveryPreference", "recipient.deliveryPreference")
    ship_by_window = _object(fulfillment, "shipByWindow", "fulfillment.shipByWindow")
    return OrderIn(
        channel_order_id=order_id,
        status=status,
        channel_status=channel_status,
        ordered_at=_time(raw, "createdTime", "createdTime", required=True),
        channel_updated_at=_time(raw, "lastUpdatedTime", "lastUpdatedTime", required=True),
        lines=lines,
        address=_address(recipient, channel_status),
        buyer_name=_text(buyer, "buyerName", "buyer.buyerName"),
        buyer_email=_text(buyer, "buyerEmail", "buyer.buyerEmail"),
        currency=currency,
        **totals,
        ship_by=_time(ship_by_window, "latestDateTime", "fulfillment.shipByWindow.latestDateTime"),
        requested_service=_text(fulfillment, "fulfillmentServiceLevel", "fulfillment.fulfillmentServiceLevel"),
        buyer_note=_text(preference, "addressInstruction", "recipient.deliveryPreference.addressInstruction"),
        raw=raw,
        cancel_requested=_cancel_request(raw) if status != "cancelled" else "",
    )


def _cancel_request(raw: dict[str, Any]) -> str:
    """The buyer's request to cancel, from the items' ``cancellation.cancellationRequest`` (the old API's
    BuyerRequestedCancel): Amazon asks the seller to cancel rather than ship, or to ship and say why."""
    requests = []
    for item in raw.get("orderItems") or []:
        cancellation = item.get("cancellation") if isinstance(item, dict) else None
        request = cancellation.get("cancellationRequest") if isinstance(cancellation, dict) else None
        if isinstance(request, dict) and (request.get("requester") or request.get("cancelReason")):
            requests.append(f"{item.get('orderItemId', '')}: {request.get('cancelReason') or request.get('requester')}")
    return "Amazon cancellationRequest " + "; ".join(requests) if requests else ""


def _lines(raw: dict[str, Any]) -> tuple[list[LineIn], str]:
    items = raw.get("orderItems")
    if not isinstance(items, list) or not items:
        raise _Unreadable("orderItems", _("Amazon sent the order without its items."))
    lines: list[LineIn] = []
    currency = ""
    for index, item in enumerate(items):
        path = f"orderItems[{index}]"
        if not isinstance(item, dict):
            raise _Unreadable(path, _("Amazon sent an item that is not an object."))
        quantity = item.get("quantityOrdered")
        if not _is_int(quantity) or quantity < 0:
            raise _Unreadable(
                f"{path}.quantityOrdered",
                _("The quantity should be a whole number, Amazon sent %(value)r.") % {"value": quantity},
            )
        product = _object(item, "product", f"{path}.product", required=True)
        price = _object(product, "price", f"{path}.product.price")
        unit_price = _money(price, "unitPrice", f"{path}.product.price.unitPrice")
        if unit_price is not None:
            currency = _same_currency(currency, unit_price[1], f"{path}.product.price.unitPrice.currencyCode")
        lines.append(
            LineIn(
                channel_line_id=_text(item, "orderItemId", f"{path}.orderItemId", required=True),
                channel_sku=_text(product, "sellerSku", f"{path}.product.sellerSku", required=True),
                quantity=quantity,
                unit_price=unit_price[0] if unit_price else Decimal("0"),
                title=_text(product, "title", f"{path}.product.title"),
                channel_item_id=_text(product, "asin", f"{path}.product.asin"),
            )
        )
    return lines, currency


def _totals(raw: dict[str, Any], lines: list[LineIn], currency: str) -> tuple[dict[str, Decimal], str]:
    """The order's money from its proceeds (what Amazon gives for the order), else from its lines."""
    proceeds = _object(raw, "proceeds", "proceeds")
    grand_total = _money(proceeds, "grandTotal", "proceeds.grandTotal")
    if grand_total is not None:
        currency = _same_currency(currency, grand_total[1], "proceeds.grandTotal.currencyCode")
    by_type: dict[str, Decimal] = {}
    breakdowns = proceeds.get("breakdowns") or []
    if not isinstance(breakdowns, list):
        raise _Unreadable(
            "proceeds.breakdowns", _("Amazon sent the proceeds' breakdown as something else than a list.")
        )
    for index, breakdown in enumerate(breakdowns):
        path = f"proceeds.breakdowns[{index}]"
        if not isinstance(breakdown, dict):
            raise _Unreadable(path, _("Amazon sent a breakdown that is not an object."))
        kind = _text(breakdown, "type", f"{path}.type", required=True)
        amount = _money(breakdown, "subtotal", f"{path}.subtotal", required=True)
        currency = _same_currency(currency, amount[1], f"{path}.subtotal.currencyCode")
        by_type[kind] = by_type.get(kind, Decimal("0")) + amount[0]
    lines_total = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    subtotal = by_type.get("ITEM", lines_total)
    shipping, tax = by_type.get("SHIPPING", Decimal("0")), by_type.get("TAX", Decimal("0"))
    discount = abs(by_type.get("DISCOUNT", Decimal("0")))
    total = grand_total[0] if grand_total else subtotal + shipping + tax - discount
    return {
        "subtotal": subtotal,
        "shipping_total": shipping,
        "tax_total": tax,
        "discount_total": discount,
        "total": total,
    }, currency


def _address(recipient: dict[str, Any], channel_status: str) -> AddressIn:
    path = "recipient.deliveryAddress"
    data = _object(recipient, "deliveryAddress", path)
    country = _text(data, "countryCode", f"{path}.countryCode").upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        raise _Unreadable(
            f"{path}.countryCode",
            _("The country should be a two-letter ISO code, Amazon sent %(value)s.") % {"value": country},
        )
    address = AddressIn(
        name=_text(data, "name", f"{path}.name"),
        company=_text(data, "companyName", f"{path}.companyName"),
        address1=_text(data, "addressLine1", f"{path}.addressLine1"),
        address2=_text(data, "addressLine2", f"{path}.addressLine2"),
        address3=_text(data, "addressLine3", f"{path}.addressLine3"),
        district=_text(data, "municipality", f"{path}.municipality"),
        city=_text(data, "city", f"{path}.city"),
        county=_text(data, "districtOrCounty", f"{path}.districtOrCounty"),
        state=_text(data, "stateOrRegion", f"{path}.stateOrRegion"),
        postcode=_text(data, "postalCode", f"{path}.postalCode"),
        country=country,
        phone=_text(data, "phone", f"{path}.phone"),
    )
    if channel_status in TO_SHIP:
        if not address.address1:
            raise _Unreadable(
                f"{path}.addressLine1",
                _(
                    "Amazon sent no street for an order to ship: the app needs Amazon's Direct-to-Consumer Delivery "
                    "(Restricted) role to read delivery addresses."
                ),
            )
        if not address.country:
            raise _Unreadable(f"{path}.countryCode", _("Amazon sent no country for an order to ship."))
    return address


def _text(data: Mapping[str, Any], key: str, field: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise _Unreadable(field, _("Amazon sent no %(field)s.") % {"field": field})
        return ""
    if not isinstance(value, str):
        raise _Unreadable(
            field, _("%(field)s should be text, Amazon sent %(value)r.") % {"field": field, "value": value}
        )
    return value.strip()


def _object(data: Mapping[str, Any], key: str, field: str, *, required: bool = False) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise _Unreadable(field, _("Amazon sent no %(field)s.") % {"field": field})
        return {}
    if not isinstance(value, dict):
        raise _Unreadable(
            field, _("%(field)s should be an object, Amazon sent %(value)r.") % {"field": field, "value": value}
        )
    return value


def _time(data: Mapping[str, Any], key: str, field: str, *, required: bool = False) -> datetime | None:
    text = _text(data, key, field, required=required)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _Unreadable(
            field, _("%(field)s should be an ISO 8601 time, Amazon sent %(value)s.") % {"field": field, "value": text}
        )
    return moment.astimezone(UTC)


def _money(data: Mapping[str, Any], key: str, field: str, *, required: bool = False) -> tuple[Decimal, str] | None:
    """Amazon's ``Money``: the amount is a decimal number in a string; a JSON number there is not Amazon's."""
    money = _object(data, key, field, required=required)
    if not money:
        return None
    amount = money.get("amount")
    value: Decimal | None = None
    if isinstance(amount, str):
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            value = None
    if value is None or not value.is_finite():
        raise _Unreadable(
            f"{field}.amount",
            _("The amount should be a decimal number in a string, Amazon sent %(value)r.") % {"value": amount},
        )
    currency = _text(money, "currencyCode", f"{field}.currencyCode", required=True).upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise _Unreadable(
            f"{field}.currencyCode",
            _("The currency should be a three-letter ISO code, Amazon sent %(value)s.") % {"value": currency},
        )
    return value, currency


def _same_currency(current: str, found: str, field: str) -> str:
    if current and found != current:
        raise _Unreadable(
            field, _("The order mixes currencies: %(found)s after %(current)s.") % {"found": found, "current": current}
        )
    return found


def _fulfilled_by(raw: dict[str, Any]) -> str | None:
    fulfillment = raw.get("fulfillment")
    return fulfillment.get("fulfilledBy") if isinstance(fulfillment, dict) else None


def _next_token(body: dict[str, Any]) -> str | None:
    pagination = body.get("pagination")
    if pagination is None:
        return None
    token = pagination.get("nextToken") if isinstance(pagination, dict) else None
    if token is None:
        return None
    if not isinstance(token, str) or not token:
        raise BadResponse(_("Amazon's order search answered an unreadable page token."))
    return token


def _has_package(order: Any, shipment: ShipmentOut) -> bool:
    """Whether the order, as Amazon sent it, already has this parcel: the same package reference, or the same
    tracking number (the seller confirmed it another way)."""
    packages = order.get("packages") if isinstance(order, Mapping) else None
    if not isinstance(packages, list):
        return False
    return any(
        isinstance(package, Mapping)
        and (
            package.get("packageReferenceId") == shipment.reference
            or (shipment.tracking_number and package.get("trackingNumber") == shipment.tracking_number)
        )
        for package in packages
    )


# -- small pieces -------------------------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    """To the second, rounded down: a window's end rounded down is the next window's start rounded down, so the
    second between them is in one of the two."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _carrier_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response_json(response)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BadResponse(_("%(what)s answered something that is not a JSON object.") % {"what": what})
    return body


def _error_text(response: httpx.Response) -> str:
    """Amazon's ``{"errors": [{"code", "message", "details"}]}`` as one line, with its request id for support."""
    try:
        body = response_json(response)
    except ValueError:
        body = None
    found = body.get("errors") if isinstance(body, dict) else None
    parts = []
    for error in found if isinstance(found, list) else []:
        if isinstance(error, dict):
            text = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
            if error.get("details"):
                text += f" ({error['details']})"
            parts.append(text)
    text = "; ".join(parts) or f"HTTP {response.status_code}"
    request_id = response.headers.get("x-amzn-RequestId")
    return f"{text} [request {request_id}]" if request_id else text


def _oauth_error(response: httpx.Response) -> str:
    """Login with Amazon's OAuth error (``error``, ``error_description``); never echoes what was sent."""
    try:
        body = response_json(response)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        description = body.get("error_description")
        return f"{body['error']}: {description}" if description else str(body["error"])
    return f"HTTP {response.status_code}"


def _issues_text(issues: Any) -> str:
    """The listing issues' messages, errors first."""
    if not isinstance(issues, list):
        return ""
    ranked = sorted(
        (issue for issue in issues if isinstance(issue, dict)),
        key=lambda issue: {"ERROR": 0, "WARNING": 1}.get(issue.get("severity"), 2),
    )
    return "; ".join(
        f"{issue.get('code', '')}: {issue.get('message', '')}".strip(": ") for issue in ranked if issue.get("message")
    )
