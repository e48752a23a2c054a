"""eBay: orders from the Sell Fulfillment API, shipping fulfillments back to it, stock through the Sell Inventory API.

Built to eBay's OpenAPI documents (``sell_fulfillment_v1_oas3.json`` v1.11.0, ``sell_inventory_v1_oas3.json``
v1.13.0; copies in /work/shared/reference/specs/ebay/):

- **Auth.** An OAuth user token, sent as ``Authorization: Bearer``. It lasts two hours (``expires_in`` 7200) and is
  renewed with the refresh-token grant: ``POST`` to the token URL (``https://api.ebay.com/identity/v1/oauth2/token``),
  ``Authorization: Basic base64(client_id:client_secret)``, form ``grant_type=refresh_token``, ``refresh_token``,
  ``scope`` (sell.fulfillment and sell.inventory). A token eBay no longer takes gets 401 (errorId 1001, domain
  OAuth): the adapter refreshes once and tries again; refused again, or the grant itself refused, is ``AuthFailed``.
  A 403 (errorId 1100, a missing scope) is ``AuthFailed`` at once: a new token would carry the same consent.
- **Orders.** ``GET /sell/fulfillment/v1/order`` with ``filter=lastmodifieddate:[from..to]`` (ISO 8601, milliseconds,
  ``Z``; the brackets percent-encoded as the spec asks), ``limit`` and ``offset``. The filter reaches only the last
  90 days (error 30830): an older start is moved up to the reach, and a warning says so. Dates may not lie in the
  future (error 30850): a window that ends about now is asked without an end (``[from..]``), which only adds orders
  changed since, harmless to the sync. ``cancelStatus.cancelRequests`` is always empty in that list, so an order
  whose ``cancelState`` is not ``NONE_REQUESTED`` is read again with ``GET /order/{orderId}``, and that fuller copy
  is the one kept in ``raw``.
- **Paging while the store changes.** Rows are numbered afresh on each call. When an order of a window with an end
  is changed during the scan it leaves the window and every row after it moves up one place, so the row that was
  first on the next page is now last on the page already read: plain offset paging never sees it. (The spec also
  says the row order "will vary according to any filter", so a changed order may jump to the end even without an
  end date.) So each page after the first starts on the last row already read, or a few rows before it, and is
  trusted only if it holds a row this scan read that has not changed since: rows that do not change keep their
  order among themselves, so nothing between them and what follows can have been skipped. A page without such a
  row means rows moved up further than it reached back: it is asked again from further back (4, 16, 64... rows),
  and later pages reach back twice as far as rows were last seen to move. Rows pushed down (an order entering the
  window) only repeat, and an order is yielded again only when its ``lastModifiedDate`` changed. The calls are
  bounded (three times the pages the first ``total`` implies, plus five): a store that changes faster than it can be
  read raises ``Transient``, so the run saves nothing and the window is read again later, rather than ending with
  an order missed. An order changed *during* the scan has a ``lastModifiedDate`` after the scan began, so with a
  window ending no later than that it belongs to the next window too, whether or not this scan saw it.
- **Shipping.** ``POST /order/{orderId}/shipping_fulfillment`` with ``lineItems[{lineItemId, quantity}]``,
  ``shippedDate``, ``shippingCarrierCode``, ``trackingNumber`` answers 201 and a ``Location`` ending in the
  fulfillment id. eBay has no idempotency key and happily makes a second fulfillment for the same parcel, so the
  adapter first reads ``GET /order/{orderId}/shipping_fulfillment`` and treats a fulfillment with the same tracking
  number as already confirmed; after an unclear answer (a time-out or a 5xx, which ChannelHttp does not retry for a
  POST) it reads the list again instead of posting again. Carrier codes are eBay's (GeteBayDetails); the store's
  ``options["carrier_codes"]`` maps Seabridge's carrier names onto them, otherwise the name is sent as it is.
- **Stock.** ``POST /sell/inventory/v1/bulk_update_price_quantity`` with ``requests[{sku,
  shipToLocationAvailability{quantity}, offers[{offerId, availableQuantity}]}]``, at most 25, answered 200 or 207
  Multi-Status with ``responses[{sku, offerId, statusCode, errors, warnings}]``. Offers are sent when the SKU
  mapping's ``options`` name them (``offer_id`` or ``offer_ids``). Setting a quantity is idempotent, so this POST is
  retried after a time-out like a read.
- **Throttling.** eBay's call limits are daily quotas per API (no per-second rate to pace by, so no ``Limit`` is
  declared); a spent quota answers 429 with errorId 2001, with or without ``Retry-After``, which ChannelHttp already
  honours and backs off from. Nothing else in eBay's answers says "slow down", so no ``throttle`` hook.
- ``marketplace_id`` is not sent: neither spec names ``X-EBAY-C-MARKETPLACE-ID`` for these calls, and getOrders
  returns the orders of every marketplace of the seller's account.

Money: each eBay Amount has ``value``/``currency`` and, when eBay converted it, ``convertedFromValue``/
``convertedFromCurrency``. The spec defines ``value`` as the post-conversion amount (always present) and the
convertedFrom pair as what it was before (the buyer's or listing site's currency). The order keeps ``value`` and its
``currency``: the currency eBay settles with the seller in, and the one every amount of the order shares, so the
totals add up; the buyer's figures stay in ``raw``. An amount in another currency makes the order an
``OrderProblem``. ``discount_total`` is positive (eBay's ``priceDiscountSubtotal`` and ``deliveryDiscount`` are
negative); ``shipping_total`` is ``deliveryCost`` before its discount.

Status mapping (``channel_status`` keeps eBay's ``orderFulfillmentStatus orderPaymentStatus``, and
``CANCEL_<cancelState>`` when a cancel was asked), first match wins:

=======================================================  ========================================
``cancelStatus.cancelState`` CANCELED                    cancelled
``orderFulfillmentStatus`` FULFILLED                     shipped
``orderFulfillmentStatus`` IN_PROGRESS                   partially_shipped
``orderPaymentStatus`` PENDING or FAILED                 pending (not paid: do not ship)
``orderPaymentStatus`` FULLY_REFUNDED (nothing shipped)  cancelled (the buyer has the money back)
NOT_STARTED and PAID or PARTIALLY_REFUNDED               awaiting_shipment
=======================================================  ========================================

A cancel that is only asked for (``cancelState`` IN_PROGRESS) leaves the order in its status, with
``CANCEL_IN_PROGRESS`` in ``channel_status`` and eBay's ``cancelRequests`` in ``raw``, and holds what is still to
ship (``OrderHold`` "the buyer asked to cancel") until the seller answers the request in eBay or releases the hold.
"""

from __future__ import annotations

import base64
import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from django.utils.translation import gettext as _

from channels.adapters.base import (
    AccessToken,
    AuthFailed,
    BadResponse,
    ChannelAdapter,
    ConfirmResult,
    OrderProblem,
    RateLimited,
    Rejected,
    ShipmentOut,
    StockOut,
    StockResult,
    TokenGrant,
    Transient,
)
from channels.adapters.http import response_json
from orders.inbound import AddressIn, LineIn, OrderIn

logger = logging.getLogger(__name__)

SCOPES = (
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
)
FILTER_REACH = timedelta(days=90)
# Kept inside the 90 days so a clock a little ahead of eBay's is not refused.
REACH_MARGIN = timedelta(hours=1)
# A window ending later than this before now is asked without an end: eBay refuses dates in its future.
OPEN_END_MARGIN = timedelta(minutes=5)
# Refresh a token this long before eBay would refuse it, rather than spend a call on the 401.
TOKEN_MARGIN = timedelta(minutes=2)
DEFAULT_PAGE_SIZE = 200  # eBay's current maximum (the spec's 1000 is no longer accepted everywhere)
NO_CANCEL = "NONE_REQUESTED"
FULFILLMENT_STATUSES = {"NOT_STARTED", "IN_PROGRESS", "FULFILLED"}
PAYMENT_STATUSES = {"PAID", "PENDING", "FAILED", "FULLY_REFUNDED", "PARTIALLY_REFUNDED"}
# CancelStateEnum. CANCEL_REQUESTED is not eBay's word but is read as IN_PROGRESS where a copy of the API uses it.
CANCEL_STATES = {NO_CANCEL, "IN_PROGRESS", "CANCELED", "CANCEL_REQUESTED"}
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
_UNIT = Decimal("0.0001")


def ebay_time(moment: datetime) -> str:
    """A time as eBay's filters want it: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Unreadable(Exception):
    """A field of an order this adapter cannot read; becomes an OrderProblem naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class EbayAdapter(ChannelAdapter):
    channel = "ebay"
    default_api_base_url = "https://api.ebay.com"
    default_auth_url = "https://api.ebay.com/identity/v1/oauth2/token"
    credential_names = ("client_id", "client_secret", "refresh_token")
    stock_batch_size = 25

    # How many calls one scan may make, as a multiple of the pages ``total`` says it has.
    scan_budget_factor: ClassVar[int] = 3

    def __init__(self, connection, http, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(connection, http)
        self.clock = clock or (lambda: datetime.now(UTC))

    # -- settings -------------------------------------------------------------------------------------------------

    @property
    def page_size(self) -> int:
        """Orders per page: ``options["page_size"]`` (2-1000), else 200. At least 2, since pages overlap by one."""
        size = self.connection.options.get("page_size", DEFAULT_PAGE_SIZE)
        return size if isinstance(size, int) and 2 <= size <= 1000 else DEFAULT_PAGE_SIZE

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    # -- auth -----------------------------------------------------------------------------------------------------

    def _grant(self, credentials: Mapping[str, Any]) -> TokenGrant:
        """The refresh-token grant. The platform's refusal is reported without any credential in it."""
        missing = [name for name in self.credential_names if not credentials.get(name)]
        if missing:
            raise AuthFailed(_("The eBay store lacks credentials: %(names)s.") % {"names": ", ".join(missing)})
        basic = base64.b64encode(f"{credentials['client_id']}:{credentials['client_secret']}".encode()).decode()
        response = self.http.request(
            "POST",
            self.auth_url,
            operation="oauthRefreshToken",
            idempotent=True,  # a second grant only mints another token
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            data={
                "grant_type": "refresh_token",
                "refresh_token": credentials["refresh_token"],
                "scope": " ".join(SCOPES),
            },
        )
        body = _json_or_none(response)
        if response.status_code != 200:
            raise AuthFailed(
                _("eBay refused to renew the store's access (HTTP %(status)s): %(message)s")
                % {"status": response.status_code, "message": _said(response)},
                status=response.status_code,
            )
        token, lifetime = (body or {}).get("access_token"), (body or {}).get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(lifetime, int) or isinstance(lifetime, bool):
            raise BadResponse(_("eBay's token answer has no access_token or expires_in."))
        return TokenGrant(access_token=AccessToken(token, self.clock() + timedelta(seconds=lifetime)))

    def _token(self) -> AccessToken:
        token = self.connection.tokens.current()
        if token is None or (token.expires_at is not None and token.expires_at <= self.clock() + TOKEN_MARGIN):
            token = self.connection.tokens.refresh(stale=token, grant=self._grant)
        return token

    def _call(self, method: str, url: str, *, operation: str, **kwargs: Any) -> httpx.Response:
        """One API call with the store's token; a 401 renews the token once and sends the call again (eBay did not
        act on a call it refused to authenticate, so this is safe for a POST too)."""
        token = self._token()
        response = self._send(method, url, token, operation=operation, **kwargs)
        if response.status_code == 401:
            token = self.connection.tokens.refresh(stale=token, grant=self._grant)
            response = self._send(method, url, token, operation=operation, **kwargs)
            if response.status_code == 401:
                raise AuthFailed(
                    _("eBay refused the store's renewed access token: %(message)s") % {"message": _said(response)},
                    status=401,
                )
        if response.status_code == 403:
            raise AuthFailed(
                _("eBay refused %(operation)s for lack of permission: %(message)s")
                % {"operation": operation, "message": _said(response)},
                status=403,
            )
        return response

    def _send(self, method: str, url: str, token: AccessToken, *, operation: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token.value}", "Accept": "application/json"}
        return self.http.request(method, url, operation=operation, headers=headers, **kwargs)

    def _read(self, response: httpx.Response, *, operation: str, expected: tuple[int, ...] = (200,)) -> Any:
        """The JSON of an expected answer; eBay's own refusal as ``Rejected``; anything else ``BadResponse``."""
        if response.status_code not in expected:
            if 400 <= response.status_code < 500:
                raise Rejected(
                    _("eBay refused %(operation)s: %(message)s") % {"operation": operation, "message": _said(response)},
                    status=response.status_code,
                )
            raise BadResponse(
                _("eBay answered %(operation)s with HTTP %(status)s.")
                % {"operation": operation, "status": response.status_code},
                status=response.status_code,
            )
        body = _json_or_none(response)
        if body is None:
            raise BadResponse(
                _("eBay's answer to %(operation)s is not JSON.") % {"operation": operation}, status=response.status_code
            )
        return body

    # -- orders ---------------------------------------------------------------------------------------------------

    def orders_changed(self, *, since: datetime, until: datetime) -> Iterator[OrderIn | OrderProblem]:
        date_filter = self._date_filter(since, until)
        if date_filter is None:
            return
        for order in self._scan(date_filter):
            yield self._order_or_problem(order)

    def _date_filter(self, since: datetime, until: datetime) -> str | None:
        """``lastmodifieddate:[from..to]`` within what eBay answers; None when nothing of the window is reachable."""
        now = self.clock()
        reach = now - FILTER_REACH + REACH_MARGIN
        if until <= reach:
            logger.warning(
                "eBay store %s: orders changed before %s are beyond the 90 days eBay's filter reaches; none read",
                self.connection.store_id,
                ebay_time(until),
            )
            return None
        start = since
        if since < reach:
            logger.warning(
                "eBay store %s: the window starts at %s, beyond the 90 days eBay's filter reaches; read from %s",
                self.connection.store_id,
                ebay_time(since),
                ebay_time(reach),
            )
            start = reach
        start = min(start, now - OPEN_END_MARGIN)  # never a start in eBay's future
        if until >= now - OPEN_END_MARGIN:
            return f"lastmodifieddate:[{ebay_time(start)}..]"
        if start >= until:
            return None
        return f"lastmodifieddate:[{ebay_time(start)}..{ebay_time(until)}]"

    def _orders_page(self, date_filter: str, offset: int) -> dict[str, Any]:
        response = self._call(
            "GET",
            self._url("/sell/fulfillment/v1/order"),
            operation="getOrders",
            params={"filter": date_filter, "limit": str(self.page_size), "offset": str(offset)},
        )
        page = self._read(response, operation="getOrders")
        total = _get(page, "total")
        if not isinstance(_get(page, "orders") or [], list) or not isinstance(total, int) or isinstance(total, bool):
            raise BadResponse(_("eBay's order list has no orders array or total."))
        page.setdefault("orders", [])
        return page

    def _scan(self, date_filter: str) -> Iterator[dict[str, Any]]:
        """Every order of the filter, each once (again only if it changed), whatever moves between pages.

        Each page after the first starts on, or a few rows before, the last row read. It follows on from what was
        read when it holds a row this scan has read that has not changed since (same ``lastModifiedDate``): rows
        that do not change keep their order among themselves, so every one before that row has been read and what
        follows it in the page is what comes next. A changed order proves nothing, since it may have moved (to the
        end, when eBay sorts by last change). A page without such a row means rows moved up (orders left the
        window, or jumped to the end) by more than it reached back: ask again from 4, 16, 64... rows further back.
        How far back pages start adapts to how far rows were seen to move, so a busy store costs a few rows a page,
        not a call.
        """
        seen: dict[str, Any] = {}
        last: tuple[Any, int] | None = None  # the last row read: its order id and position
        back, calls, budget = 0, 0, 0
        while True:
            if budget and calls >= budget:
                raise Transient(
                    _("eBay's order list kept changing while it was read (%(calls)s calls); read it again later.")
                    % {"calls": calls}
                )
            offset = 0 if last is None else max(0, last[1] - back)
            page = self._orders_page(date_filter, offset)
            calls += 1
            rows = page["orders"]
            if not budget:  # from the first page's total: a list growing faster than it is read must not feed it
                budget = self.scan_budget_factor * (math.ceil(page["total"] / (self.page_size - 1)) + 1) + 5
            if offset > 0 and not any(_read_unchanged(row, seen) for row in rows):
                back = back * 4 + 3
                continue
            if last is not None:
                back = self._back_next_time(rows, offset, last, back, seen)
            for row in rows:
                order_id, modified = _get(row, "orderId"), _get(row, "lastModifiedDate")
                if isinstance(order_id, str) and order_id:
                    if order_id in seen and seen[order_id] == modified:
                        continue
                    seen[order_id] = modified
                yield self._with_cancel_details(row)
            if not page.get("next") or not rows:
                return
            last = (_get(rows[-1], "orderId"), offset + len(rows) - 1)

    def _back_next_time(
        self, rows: list[Any], offset: int, last: tuple[Any, int], back: int, seen: dict[str, Any]
    ) -> int:
        """How many rows before the last one read the next page starts: twice as many as the last row was seen to
        move up, and never so many that a page brings less than half a page of new rows."""
        most = (self.page_size - 1) // 2
        last_id, last_position = last
        for index, row in enumerate(rows):
            if _get(row, "orderId") == last_id and _read_unchanged(row, seen):
                return min(max(2 * (last_position - (offset + index)), 0), most)
        return min(back, most)

    def _with_cancel_details(self, order: Any) -> Any:
        """getOrders leaves ``cancelRequests`` empty: an order with a cancel is read again with getOrder."""
        state = _get(_get(order, "cancelStatus"), "cancelState")
        order_id = _get(order, "orderId")
        if state in (None, NO_CANCEL) or not isinstance(order_id, str) or not order_id:
            return order
        try:
            return self._order_json(order_id)
        except Rejected as refused:
            # The list's copy still says whether the order is cancelled; only the requests' details are missing.
            logger.warning(
                "eBay store %s: order %s read without its cancel requests: %s",
                self.connection.store_id,
                order_id,
                refused.message,
            )
            return order

    def _order_json(self, channel_order_id: str) -> dict[str, Any]:
        response = self._call(
            "GET",
            self._url(f"/sell/fulfillment/v1/order/{quote(channel_order_id, safe='')}"),
            operation="getOrder",
        )
        order = self._read(response, operation="getOrder")
        if not isinstance(order, dict):
            raise BadResponse(_("eBay's order %(order)s is not an object.") % {"order": channel_order_id})
        return order

    def order_get(self, channel_order_id: str) -> OrderIn:
        order = self._order_json(channel_order_id)
        try:
            return order_from_ebay(order)
        except _Unreadable as problem:
            raise BadResponse(
                _("eBay's order %(order)s cannot be read: %(field)s: %(message)s")
                % {"order": channel_order_id, "field": problem.field, "message": problem.message}
            ) from problem

    def _order_or_problem(self, order: Any) -> OrderIn | OrderProblem:
        try:
            return order_from_ebay(order)
        except _Unreadable as problem:
            order_id = _get(order, "orderId")
            return OrderProblem(
                channel_order_id=order_id if isinstance(order_id, str) else "",
                field=problem.field,
                message=problem.message,
                raw=order,
            )

    # -- shipping -------------------------------------------------------------------------------------------------

    def shipment_confirm(self, shipment: ShipmentOut) -> ConfirmResult:
        if not shipment.lines:
            raise Rejected(_("A shipment told to eBay needs at least one line."))
        known = self._fulfillment_with(shipment.channel_order_id, shipment.tracking_number)
        if known is not None:
            return ConfirmResult(reference=known, already_confirmed=True)
        carrier_codes = self.connection.options.get("carrier_codes") or {}
        body = {
            "lineItems": [{"lineItemId": line.channel_line_id, "quantity": line.quantity} for line in shipment.lines],
            "shippedDate": ebay_time(shipment.shipped_at),
            "shippingCarrierCode": carrier_codes.get(shipment.carrier, shipment.carrier),
            "trackingNumber": shipment.tracking_number,
        }
        url = self._url(f"/sell/fulfillment/v1/order/{quote(shipment.channel_order_id, safe='')}/shipping_fulfillment")
        try:
            response = self._call("POST", url, operation="createShippingFulfillment", json=body)
            if response.status_code >= 500:
                raise Transient(
                    _("eBay answered the shipment of order %(order)s with HTTP %(status)s.")
                    % {"order": shipment.channel_order_id, "status": response.status_code},
                    status=response.status_code,
                )
        except RateLimited:
            raise  # refused before it was read: nothing was created
        except Transient:
            # A time-out or a 5xx: eBay may have made the fulfillment. Look before anyone sends it again.
            known = self._fulfillment_with(shipment.channel_order_id, shipment.tracking_number)
            if known is not None:
                return ConfirmResult(reference=known)
            raise
        if response.status_code != 201:
            self._read(response, operation="createShippingFulfillment", expected=(201,))
        reference = response.headers.get("Location", "").rstrip("/").rpartition("/")[2]
        if not reference:  # the spec promises a Location; without one, the list names the fulfillment
            reference = self._fulfillment_with(shipment.channel_order_id, shipment.tracking_number) or ""
        return ConfirmResult(reference=reference)

    def _fulfillment_with(self, channel_order_id: str, tracking_number: str) -> str | None:
        """The id of the order's fulfillment with this tracking number, if eBay has one."""
        response = self._call(
            "GET",
            self._url(f"/sell/fulfillment/v1/order/{quote(channel_order_id, safe='')}/shipping_fulfillment"),
            operation="getShippingFulfillments",
        )
        listing = self._read(response, operation="getShippingFulfillments")
        fulfillments = _get(listing, "fulfillments") or []
        if not isinstance(fulfillments, list):
            raise BadResponse(_("eBay's fulfillment list is not a list."))
        wanted = _tracking_key(tracking_number)
        for fulfillment in fulfillments:
            number = _get(fulfillment, "shipmentTrackingNumber")
            if isinstance(number, str) and _tracking_key(number) == wanted:
                return str(_get(fulfillment, "fulfillmentId") or "")
        return None

    # -- stock ----------------------------------------------------------------------------------------------------

    def stock_push(self, items: list[StockOut]) -> list[StockResult]:
        if len(items) > self.stock_batch_size:
            raise ValueError(f"eBay takes at most {self.stock_batch_size} SKUs per call, not {len(items)}")
        refused = {
            item.channel_sku: _("A quantity below zero cannot be shown on eBay (%(quantity)s).")
            % {"quantity": item.quantity}
            for item in items
            if item.quantity < 0
        }
        sendable = [item for item in items if item.channel_sku not in refused]
        answers: dict[str, list[dict[str, Any]]] = {}
        whole_call_refusal = ""
        if sendable:
            response = self._call(
                "POST",
                self._url("/sell/inventory/v1/bulk_update_price_quantity"),
                operation="bulkUpdatePriceQuantity",
                idempotent=True,  # it sets quantities: sending it twice leaves the same stock
                json={"requests": [_stock_request(item) for item in sendable]},
            )
            if response.status_code == 400:
                whole_call_refusal = _said(response)
            else:
                body = self._read(response, operation="bulkUpdatePriceQuantity", expected=(200, 207))
                entries = _get(body, "responses")
                if not isinstance(entries, list):
                    raise BadResponse(_("eBay's stock answer has no responses array."))
                for entry in entries:
                    answers.setdefault(str(_get(entry, "sku")), []).append(entry if isinstance(entry, dict) else {})
        return [self._stock_result(item, refused, answers, whole_call_refusal) for item in items]

    def _stock_result(
        self, item: StockOut, refused: dict[str, str], answers: dict[str, list[dict[str, Any]]], whole_call: str
    ) -> StockResult:
        if item.channel_sku in refused:
            return StockResult(item.channel_sku, ok=False, message=refused[item.channel_sku])
        if whole_call:
            return StockResult(
                item.channel_sku,
                ok=False,
                message=_("eBay refused the whole stock update: %(message)s") % {"message": whole_call},
            )
        entries = answers.get(item.channel_sku)
        if not entries:
            return StockResult(item.channel_sku, ok=False, message=_("eBay did not answer for this SKU."))
        failures = [entry for entry in entries if entry.get("statusCode") != 200]
        if not failures:
            return StockResult(item.channel_sku, ok=True)
        messages = [_error_text(error) for entry in failures for error in entry.get("errors") or []]
        return StockResult(
            item.channel_sku,
            ok=False,
            message="; ".join(messages) or _("eBay answered %(status)s.") % {"status": failures[0].get("statusCode")},
        )


# --- Reading an eBay order --------------------------------------------------------------------------------------


def order_from_ebay(order: Any) -> OrderIn:
    """An eBay Order (getOrders/getOrder JSON) as an ``OrderIn``; ``_Unreadable`` names the first field it cannot
    read."""
    if not isinstance(order, dict):
        raise _Unreadable("order", "not an object")
    order_id = _text(order, "orderId", "orderId", required=True)
    fulfillment = _choice(order, "orderFulfillmentStatus", FULFILLMENT_STATUSES)
    payment = _choice(order, "orderPaymentStatus", PAYMENT_STATUSES)
    cancel = _choice(_object(order, "cancelStatus", "cancelStatus"), "cancelState", CANCEL_STATES, "cancelStatus.")
    pricing = _object(order, "pricingSummary", "pricingSummary")
    total_json = _object(pricing, "total", "pricingSummary.total")
    currency = _currency(total_json, "pricingSummary.total")
    total = _amount(pricing, "total", "pricingSummary.total", currency)
    subtotal = _amount(pricing, "priceSubtotal", "pricingSummary.priceSubtotal", currency)
    shipping = _amount(pricing, "deliveryCost", "pricingSummary.deliveryCost", currency)
    tax = _amount(pricing, "tax", "pricingSummary.tax", currency)
    discount = _amount(pricing, "priceDiscountSubtotal", "pricingSummary.priceDiscountSubtotal", currency)
    delivery_discount = _amount(pricing, "deliveryDiscount", "pricingSummary.deliveryDiscount", currency)
    lines_json = order.get("lineItems")
    if not isinstance(lines_json, list) or not lines_json:
        raise _Unreadable("lineItems", "no line items")
    lines = [_line(line, f"lineItems[{index}]", currency) for index, line in enumerate(lines_json)]
    address, service = _ship_to(order)
    return OrderIn(
        channel_order_id=order_id,
        status=_status(fulfillment, payment, cancel),
        channel_status=f"{fulfillment} {payment}" + (f" CANCEL_{cancel}" if cancel != NO_CANCEL else ""),
        ordered_at=_time(order.get("creationDate"), "creationDate"),
        channel_updated_at=_time(order.get("lastModifiedDate"), "lastModifiedDate"),
        lines=lines,
        address=address,
        buyer_name=_text(_object(order, "buyer", "buyer", required=False), "username", "buyer.username"),
        buyer_email=address_email(order),
        currency=currency,
        subtotal=subtotal,
        shipping_total=shipping,
        tax_total=tax,
        discount_total=-(discount + delivery_discount),
        total=total,
        paid_at=_paid_at(order),
        ship_by=_ship_by(lines_json),
        requested_service=service,
        buyer_note=_text(order, "buyerCheckoutNotes", "buyerCheckoutNotes"),
        raw=order,
        cancel_requested=_cancel_request(order, cancel),
    )


def _cancel_request(order: dict, cancel: str) -> str:
    """What eBay says of a cancel the buyer asked for and the seller has not answered: the state and the reasons of
    its requests (``cancelRequests``, read with getOrder), for the hold a person sees."""
    if cancel in (NO_CANCEL, "CANCELED"):
        return ""
    requests = _get(order.get("cancelStatus"), "cancelRequests")
    reasons = [
        str(request["cancelReason"])
        for request in (requests if isinstance(requests, list) else [])
        if isinstance(request, dict) and request.get("cancelReason")
    ]
    return " ".join([f"eBay cancelState {cancel}", *reasons])


def _status(fulfillment: str, payment: str, cancel: str) -> str:
    if cancel == "CANCELED":
        return "cancelled"
    if fulfillment == "FULFILLED":
        return "shipped"
    if fulfillment == "IN_PROGRESS":
        return "partially_shipped"
    if payment in {"PENDING", "FAILED"}:
        return "pending"
    if payment == "FULLY_REFUNDED":
        return "cancelled"
    return "awaiting_shipment"


def _line(line: Any, path: str, currency: str) -> LineIn:
    if not isinstance(line, dict):
        raise _Unreadable(path, "not an object")
    quantity = line.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise _Unreadable(f"{path}.quantity", f"not a whole number of 1 or more: {quantity!r}")
    cost = _amount(line, "lineItemCost", f"{path}.lineItemCost", currency, required=True)
    return LineIn(
        channel_line_id=_text(line, "lineItemId", f"{path}.lineItemId", required=True),
        channel_sku=_text(line, "sku", f"{path}.sku"),
        quantity=quantity,
        # lineItemCost is the unit price times the quantity (the spec), before discounts.
        unit_price=(cost / quantity).quantize(_UNIT, ROUND_HALF_EVEN),
        title=_text(line, "title", f"{path}.title"),
        channel_item_id=_text(line, "legacyItemId", f"{path}.legacyItemId"),
    )


def _ship_to(order: dict[str, Any]) -> tuple[AddressIn, str]:
    """The first shipping step's recipient, and the shipping service the buyer chose (digital and pickup orders
    have no shipping step: an empty address)."""
    instructions = order.get("fulfillmentStartInstructions") or []
    if not isinstance(instructions, list):
        raise _Unreadable("fulfillmentStartInstructions", "not a list")
    for index, instruction in enumerate(instructions):
        step = _get(instruction, "shippingStep")
        if step is None:
            continue
        path = f"fulfillmentStartInstructions[{index}].shippingStep"
        if not isinstance(step, dict):
            raise _Unreadable(path, "not an object")
        ship_to = _object(step, "shipTo", f"{path}.shipTo")
        contact = _object(ship_to, "contactAddress", f"{path}.shipTo.contactAddress")
        address_path = f"{path}.shipTo.contactAddress"
        # eBay's documents say countryCode; this spec's copy says country. Either is read.
        country_key = "countryCode" if "countryCode" in contact else "country"
        country = _text(contact, country_key, f"{address_path}.{country_key}", required=True).strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise _Unreadable(f"{address_path}.{country_key}", f"not an ISO 3166 alpha-2 country code: {country!r}")
        phone_json = _object(ship_to, "primaryPhone", f"{path}.shipTo.primaryPhone", required=False)
        phone = _text(phone_json, "phoneNumber", f"{path}.shipTo.primaryPhone.phoneNumber")
        address = AddressIn(
            name=_text(ship_to, "fullName", f"{path}.shipTo.fullName"),
            company=_text(ship_to, "companyName", f"{path}.shipTo.companyName"),
            address1=_text(contact, "addressLine1", f"{address_path}.addressLine1"),
            address2=_text(contact, "addressLine2", f"{address_path}.addressLine2"),
            city=_text(contact, "city", f"{address_path}.city"),
            county=_text(contact, "county", f"{address_path}.county"),
            state=_text(contact, "stateOrProvince", f"{address_path}.stateOrProvince"),
            postcode=_text(contact, "postalCode", f"{address_path}.postalCode"),
            country=country,
            phone=phone,
        )
        return address, _text(step, "shippingServiceCode", f"{path}.shippingServiceCode")
    return AddressIn(), ""


def address_email(order: dict[str, Any]) -> str:
    """The buyer's email from the ship-to contact. eBay masks it 14 days after the order ("Invalid Request"), so
    anything without an @ is no address."""
    for instruction in order.get("fulfillmentStartInstructions") or []:
        email = _get(_get(_get(instruction, "shippingStep"), "shipTo"), "email")
        if isinstance(email, str) and "@" in email:
            return email.strip()
    return ""


def _paid_at(order: dict[str, Any]) -> datetime | None:
    payments = _get(order.get("paymentSummary"), "payments") or []
    times = [
        _time(_get(payment, "paymentDate"), f"paymentSummary.payments[{index}].paymentDate")
        for index, payment in enumerate(payments if isinstance(payments, list) else [])
        if _get(payment, "paymentStatus") == "PAID" and _get(payment, "paymentDate")
    ]
    return max(times) if times else None


def _ship_by(lines: list[Any]) -> datetime | None:
    times = [
        _time(date, f"lineItems[{index}].lineItemFulfillmentInstructions.shipByDate")
        for index, line in enumerate(lines)
        if (date := _get(_get(line, "lineItemFulfillmentInstructions"), "shipByDate"))
    ]
    return min(times) if times else None


# --- Small readers ----------------------------------------------------------------------------------------------


def _read_unchanged(row: Any, seen: dict[str, Any]) -> bool:
    """Whether the row is an order this scan has read, as it was when read."""
    order_id = _get(row, "orderId")
    return isinstance(order_id, str) and order_id in seen and seen[order_id] == _get(row, "lastModifiedDate")


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _object(parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> dict[str, Any]:
    value = parent.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise _Unreadable(path, "missing" if value is None else "not an object")
    return value


def _text(parent: dict[str, Any], key: str, path: str, *, required: bool = False) -> str:
    value = parent.get(key)
    if value is None or value == "":
        if required:
            raise _Unreadable(path, "missing")
        return ""
    if not isinstance(value, str):
        raise _Unreadable(path, f"not text: {value!r}")
    return value


def _choice(parent: dict[str, Any], key: str, allowed: set[str], prefix: str = "") -> str:
    value = parent.get(key)
    if value not in allowed:
        raise _Unreadable(f"{prefix}{key}", f"unknown value {value!r}")
    return value


def _time(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise _Unreadable(path, "missing" if value is None else f"not a time: {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Unreadable(path, f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise _Unreadable(path, f"a time without its zone: {value!r}")
    return moment.astimezone(UTC)


def _currency(value: dict[str, Any], path: str) -> str:
    code = value.get("currency")
    if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{3}", code):
        raise _Unreadable(f"{path}.currency", f"not an ISO 4217 code: {code!r}")
    return code


def _amount(parent: dict[str, Any], key: str, path: str, currency: str, *, required: bool = False) -> Decimal:
    """An Amount's ``value`` as Decimal, from eBay's string (never a float), in the order's currency."""
    value = parent.get(key)
    if value is None:
        if required:
            raise _Unreadable(path, "missing")
        return Decimal("0")
    if not isinstance(value, dict):
        raise _Unreadable(path, "not an Amount")
    text = value.get("value")
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text.strip()):
        raise _Unreadable(f"{path}.value", f"not a decimal string: {text!r}")
    code = _currency(value, path)
    if code != currency:
        raise _Unreadable(f"{path}.currency", f"{code} where the order's total is in {currency}")
    return Decimal(text.strip())


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response_json(response)
    except ValueError:
        return None


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    message = error.get("longMessage") or error.get("message") or ""
    return f"{message} (errorId {error['errorId']})" if error.get("errorId") is not None else str(message)


def _said(response: httpx.Response) -> str:
    """What eBay said in its error shape, for people: the messages and their error ids."""
    body = _json_or_none(response)
    errors = _get(body, "errors")
    if isinstance(errors, list) and errors:
        return "; ".join(_error_text(error) for error in errors)
    if isinstance(body, dict) and (body.get("error_description") or body.get("error")):
        return str(body.get("error_description") or body.get("error"))
    return f"HTTP {response.status_code}"


def _tracking_key(number: str) -> str:
    return re.sub(r"\s+", "", number).upper()


def _stock_request(item: StockOut) -> dict[str, Any]:
    request: dict[str, Any] = {"sku": item.channel_sku, "shipToLocationAvailability": {"quantity": item.quantity}}
    offer_ids = list(item.options.get("offer_ids") or [])
    if item.options.get("offer_id"):
        offer_ids.insert(0, item.options["offer_id"])
    if offer_ids:
        request["offers"] = [{"offerId": str(offer_id), "availableQuantity": item.quantity} for offer_id in offer_ids]
    return request
