"""Wish Merchant API v3: orders read by keyset on ``updated_at``, tracking told per order, inventory set per variation.

Built to Wish's specifications v3.0.65 (``/work/shared/reference/specs/wish/``): the OAuth spec and collection
(refresh), the orders spec (``GET /api/v3/orders``, ``GET /api/v3/orders/{id}``, ``PUT /api/v3/orders/{id}/tracking``,
the ``Order`` schema), the products spec (``PUT /api/v3/products/{id}``, ``UpdateProductVariation``,
``WarehouseInventory``), and the general part of the specs (the ``{code, message, data}`` envelope, keyset paging
with inclusive bounds, ``Wish-Rate-Limit-Reset``, ``Wish-Request-Id``).

Tokens. ``Authorization: Bearer``; access tokens last 30 days; ``GET /oauth/refresh_token`` revokes every existing
access token, so two workers refreshing at once would leave one of them with a dead token: the refresh goes
through the store's ``TokenStore``, which refreshes one worker at a time and hands the others the new token. The
refresh answers a new refresh token too, saved with the credentials. Refresh happens when Wish refuses the token
(401, or codes 1006/1007/1008/1012), not ahead of time by our clock: Wish's clock is the one that counts.

Orders. A Wish order is one SKU (``transaction_id`` groups a checkout), and each becomes one ``OrderIn`` with one
line, whose line id is the order id. They are not merged by transaction: Wish states, refunds, ship-by times and
tracking are per order (one SKU of a checkout can be refunded while another ships), ``PUT .../tracking`` takes one
order, and the list pages by each order's own ``updated_at``, so a checkout's orders arrive in different pages
or runs; a merged order would have no one status and would need its siblings fetched every time. Orders
Fulfilled by Wish (``fulfillment_order_types`` holds FULFILLED_BY_WISH) leave Wish's warehouse, not ours: they are
skipped, as Amazon's FBA orders are.

Status mapping (Wish ``state`` → ``Order.Status``; the state itself is kept in ``channel_status``):

    APPROVED        awaiting_shipment  ready to ship; also when it comes back to APPROVED after SHIPPED or REFUNDED
                                       (tracking cancelled, order re-released): kept as Wish says, the engine
                                       decides what that means for an order it shipped
    SHIPPED         shipped
    REFUNDED        cancelled          refunded by the buyer, the merchant or Wish, including Wish's automatic
                                       refund of an order not shipped by ``expected_ship_time``
    REQUIRE_REVIEW  pending            Wish is reviewing it: not to be shipped yet
    DECLINED        cancelled          the payment failed; Wish will not release it

Money comes as JSON numbers and is read through ``str`` into ``Decimal``: the unit price is ``product_price``, the
shipping ``product_shipping_price`` (both per unit), and the total their sum times the quantity; what Wish pays
the merchant (``payment_total``) stays in ``raw``.

Paging. ``sort_by=updated_at.asc``, ``updated_at_min`` moved to the last row's ``updated_at``. The bounds are
inclusive, so rows at that instant come again (they are skipped by id and ``updated_at``). When a whole page
shares one instant, moving the bound cannot get past it: that millisecond is then read on its own, paged by
``released_at`` (the list's other sort key), and the scan goes on from the next millisecond. If a whole page shares
both one ``updated_at`` and one ``released_at`` millisecond, nothing in the list can tell those orders apart, and
the scan stops with ``BadResponse`` rather than miss any.

Shipping. ``PUT /orders/{id}/tracking`` has no idempotency key and, on a shipped order, *updates* the tracking
(Wish keeps two sets), so the adapter reads the order first and does not send a number Wish already holds as the
order's current tracking; after a time-out or a 5xx it reads the order again before answering. Options of the
store: ``origin_country`` (default CN), ``shipping_providers`` (Seabridge carrier → Wish provider name; otherwise
the carrier is sent as is), ``warehouse_id`` (Wish's warehouse whose inventory is set; a mapping's own
``options["warehouse_id"]`` wins), ``page_size`` (1–500, default 500).

Stock. ``PUT /products/{id}`` with the product's variations and their ``inventories`` (0–500,000; more is sent as
500,000). Wish refuses such an update as a whole, so items are grouped by product and, when a group is refused,
each item is sent alone to learn which one Wish refuses.

Throttling. A 429 carries ``Wish-Rate-Limit-Reset``, the time the window resets: the wait until then goes to
``ChannelHttp`` through its ``throttle`` hook. The spec gives the header no format; ISO 8601 (Wish's format for
every time), Unix seconds or milliseconds, a number of seconds and an HTTP date are all read.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
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
from orders.models import Order

STATUS_BY_STATE = {
    "APPROVED": Order.Status.AWAITING_SHIPMENT,
    "SHIPPED": Order.Status.SHIPPED,
    "REFUNDED": Order.Status.CANCELLED,
    "REQUIRE_REVIEW": Order.Status.PENDING,
    "DECLINED": Order.Status.CANCELLED,
}
# Wish's codes for a token it will not take: no token found, expired, revoked, missing from the header.
TOKEN_CODES = frozenset({1006, 1007, 1008, 1012})
ACCOUNT_DISABLED = 1002
# "There is no such product for the merchant." (the products spec's example), as Rejected's code.
NO_SUCH_OBJECT = "wish_90001"
MAX_PAGE_SIZE = 500
MAX_INVENTORY = 500_000
ONE_MS = timedelta(milliseconds=1)
# The list's two sort keys, in the order a stuck scan falls back on them.
KEYSET_FIELDS = ("updated_at", "released_at")
# Programs of fulfillment_order_types that say how the parcel must travel.
SHIPPING_PROGRAMS = (
    "WISH_EXPRESS",
    "CONFIRMED_DELIVERY_POLICY",
    "PREMIUM_SHIPPING_CARRIER_UPGRADE",
    "ADVANCED_LOGISTICS",
    "LESS_THAN_TRUCKLOAD",
    "MAX_DELIVERY_DAY_REQUIREMENT",
)
PAYMENT = "order_payment.general_payment_details"
ADDRESS = "full_address.shipping_detail"


_SECRET_IN_QUERY = re.compile(r"((?:client_secret|refresh_token|access_token)=)[^&\s\"']+")


class _QuerySecretsMasked(logging.Filter):
    """httpx logs every request's URL at INFO, and Wish's refresh is a GET with the client secret and the refresh
    token in its query (as the spec has it): mask them before any handler sees the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_IN_QUERY.sub(r"\1***", str(arg)) if isinstance(arg, str | httpx.URL) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_IN_QUERY.sub(r"\1***", record.msg)
        return True


_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(existing, _QuerySecretsMasked) for existing in _httpx_logger.filters):
    _httpx_logger.addFilter(_QuerySecretsMasked())


def wish_time(moment: datetime, *, round_up: bool = False) -> str:
    """A query time in Wish's format (milliseconds, UTC). A lower bound is rounded down and an upper one up, so
    a window never loses the sub-millisecond edge of what it was asked for."""
    moment = moment.astimezone(UTC)
    kept = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    if round_up and kept < moment:
        kept += ONE_MS
    return kept.strftime("%Y-%m-%dT%H:%M:%S.") + f"{kept.microsecond // 1000:03d}Z"


def wish_time_parse(value: Any) -> datetime | None:
    """A Wish time (``2020-01-01T07:00:00.000Z`` or with an offset), aware, in UTC; None if it is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def reset_seconds(value: str | None, *, now: float) -> float | None:
    """Seconds until ``Wish-Rate-Limit-Reset`` (``now`` is the wall clock, Unix seconds); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        moment = wish_time_parse(value)
        if moment is None:
            try:
                moment = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
        return max(0.0, moment.timestamp() - now)
    if number > 1e12:  # Unix milliseconds
        return max(0.0, number / 1000 - now)
    if number > 1e9:  # Unix seconds
        return max(0.0, number - now)
    return max(0.0, number)  # seconds to wait


class _Unreadable(Exception):
    """A field of an order this adapter cannot read; becomes an ``OrderProblem`` naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _OrderReader:
    """Reads one Wish order's fields by dotted path, raising ``_Unreadable`` with the path for what is wrong."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.row = row

    def value(self, path: str) -> Any:
        node: Any = self.row
        for key in path.split("."):
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
        return node

    def mapping(self, path: str) -> Mapping[str, Any]:
        node = self.value(path)
        if not isinstance(node, Mapping):
            raise _Unreadable(path, _("is missing") if node is None else _("must be an object"))
        return node

    def text(self, path: str, *, required: bool = False) -> str:
        node = self.value(path)
        if node is None or node == "":
            if required:
                raise _Unreadable(path, _("is missing"))
            return ""
        if not isinstance(node, str):
            raise _Unreadable(path, _("must be text (got %(value)s)") % {"value": repr(node)[:40]})
        return node.strip()

    def time(self, path: str, *, required: bool = True) -> datetime | None:
        node = self.value(path)
        if node is None and not required:
            return None
        moment = wish_time_parse(node)
        if moment is None:
            if node is None:
                raise _Unreadable(path, _("is missing"))
            raise _Unreadable(path, _("is not a time with its offset (got %(value)s)") % {"value": repr(node)[:40]})
        return moment

    def quantity(self, path: str) -> int:
        node = self.value(path)
        if isinstance(node, bool) or not isinstance(node, int) or node < 1:
            raise _Unreadable(path, _("must be a whole number above zero (got %(value)s)") % {"value": repr(node)[:40]})
        return node

    def money(self, path: str, *, required: bool = True) -> tuple[Decimal, str]:
        """``{amount, currency_code}``: the amount (a JSON number, read through ``str``) and the currency."""
        node = self.value(path)
        if node is None and not required:
            return Decimal("0"), ""
        money = self.mapping(path)
        amount = money.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise _Unreadable(f"{path}.amount", _("must be a number (got %(value)s)") % {"value": repr(amount)[:40]})
        decimal = Decimal(str(amount))  # str() of a JSON number is its shortest exact text: 19.99, not 19.989999…
        if not decimal.is_finite():
            raise _Unreadable(f"{path}.amount", _("must be a finite number (got %(value)s)") % {"value": amount})
        currency = money.get("currency_code")
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
            raise _Unreadable(
                f"{path}.currency_code", _("must be a 3-letter currency code (got %(value)s)") % {"value": currency}
            )
        return decimal, currency.upper()


class WishAdapter(ChannelAdapter):
    channel = "wish"
    default_api_base_url = "https://merchant.wish.com/api/v3"
    default_auth_url = "https://merchant.wish.com/api/v3/oauth/refresh_token"
    credential_names = ("client_id", "client_secret", "access_token", "refresh_token")
    # Items of a push; Wish takes a whole product per request, so this bounds the requests of one push.
    stock_batch_size = 50
    # The wall clock, to turn Wish-Rate-Limit-Reset (a time) into seconds to wait.
    wall_clock = staticmethod(time.time)

    @property
    def auth_url(self) -> str:
        """The refresh endpoint: the store's own if set, else beside the API base (the sandbox's for the sandbox)."""
        return self.connection.auth_url or f"{self.base_url}/oauth/refresh_token"

    @property
    def page_size(self) -> int:
        try:
            size = int(self.connection.options.get("page_size", MAX_PAGE_SIZE))
        except (TypeError, ValueError):
            size = MAX_PAGE_SIZE
        return min(MAX_PAGE_SIZE, max(1, size))

    # --- HTTP, tokens and Wish's envelope ----------------------------------------------------------------------

    def throttle_seconds(self, response: httpx.Response) -> float | None:
        """ChannelHttp's ``throttle`` hook: on a 429, the seconds until ``Wish-Rate-Limit-Reset``."""
        if response.status_code != 429:
            return None
        return reset_seconds(response.headers.get("Wish-Rate-Limit-Reset"), now=self.wall_clock())

    def _token(self) -> AccessToken:
        token = self.connection.tokens.current()
        if token is not None:
            return token
        value = self.connection.credentials.get("access_token")
        if value:
            return AccessToken(value=str(value))
        return self.connection.tokens.refresh(stale=None, grant=self._grant)

    def _send(
        self,
        method: str,
        path: str,
        token: AccessToken,
        *,
        operation: str,
        params: Mapping[str, Any] | None,
        body: Any,
        idempotent: bool | None,
    ) -> httpx.Response:
        return self.http.request(
            method,
            f"{self.base_url}{path}",
            operation=operation,
            throttle=self.throttle_seconds,
            idempotent=idempotent,
            params=params,
            json=body,
            headers={"Authorization": f"Bearer {token.value}", "Accept": "application/json"},
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """One call with the store's token, refreshed once if Wish refuses it; returns the envelope's ``data``."""
        token = self._token()
        response = self._send(method, path, token, operation=operation, params=params, body=body, idempotent=idempotent)
        if _token_refused(response):
            token = self.connection.tokens.refresh(stale=token, grant=self._grant)
            response = self._send(
                method, path, token, operation=operation, params=params, body=body, idempotent=idempotent
            )
            if _token_refused(response):
                code, message = _error_of(response)
                raise AuthFailed(
                    _("Wish refused the store's access token even after a refresh: %(message)s (code %(code)s).")
                    % {"message": message, "code": code},
                    status=response.status_code,
                )
        return _data(response, operation)

    def _grant(self, credentials: Mapping[str, Any]) -> TokenGrant:
        """The refresh call (run by the TokenStore under its lock): new access and refresh tokens."""
        missing = [name for name in ("client_id", "client_secret", "refresh_token") if not credentials.get(name)]
        if missing:
            raise AuthFailed(
                _("The Wish store's credentials lack %(names)s: connect the store again.")
                % {"names": ", ".join(missing)}
            )
        response = self.http.request(
            "GET",
            self.auth_url,
            operation="oauth_refresh",
            throttle=self.throttle_seconds,
            params={
                "client_id": credentials["client_id"],
                "client_secret": credentials["client_secret"],
                "refresh_token": credentials["refresh_token"],
                "grant_type": "refresh_token",
            },
            headers={"Accept": "application/json"},
        )
        envelope = _envelope(response, "oauth_refresh")
        if response.status_code != 200 or envelope.get("code") != 0:
            code, message = _error_of(response)
            raise AuthFailed(
                _("Wish refused to refresh the access token: %(message)s (code %(code)s). Connect the store again.")
                % {"message": message, "code": code},
                status=response.status_code,
            )
        data = envelope.get("data")
        access = data.get("access_token") if isinstance(data, Mapping) else None
        refresh = data.get("refresh_token") if isinstance(data, Mapping) else None
        if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
            raise BadResponse(_("Wish's token refresh answered without an access and a refresh token."))
        expires_at = wish_time_parse(data.get("expiry_time"))
        return TokenGrant(
            access_token=AccessToken(value=access, expires_at=expires_at),
            credentials={"access_token": access, "refresh_token": refresh},
        )

    # --- Orders ------------------------------------------------------------------------------------------------

    def orders_changed(self, *, since: datetime, until: datetime) -> Iterator[OrderIn | OrderProblem]:
        """Every order Wish changed in [since, until], each version once, whatever the pages repeat."""
        seen: set[tuple[str, str]] = set()
        yield from self._orders_walk(depth=0, low=since, high=until, fixed={}, seen=seen)

    def _orders_walk(
        self,
        *,
        depth: int,
        low: datetime | None,
        high: datetime | None,
        fixed: Mapping[str, str],
        seen: set[tuple[str, str]],
    ) -> Iterator[OrderIn | OrderProblem]:
        """Page through the orders matching ``fixed`` whose ``KEYSET_FIELDS[depth]`` lies in [low, high], ascending.

        Each page starts at the last row's time (inclusive, so that instant's rows come again and are skipped).
        A full page all at the starting instant would come back the same for ever: that millisecond is read on its
        own by the next sort key, and the walk resumes one millisecond on. Every turn moves the bound forward, so
        the walk ends."""
        field = KEYSET_FIELDS[depth]
        cursor = low
        while True:
            params: dict[str, Any] = {**fixed, "limit": self.page_size, "sort_by": f"{field}.asc"}
            if cursor is not None:
                params[f"{field}_min"] = wish_time(cursor)
            if high is not None:
                params[f"{field}_max"] = wish_time(high, round_up=True)
            rows = self._call("GET", "/orders", operation="orders_list", params=params)
            if not isinstance(rows, list):
                raise BadResponse(_("Wish's order list answered something other than a list of orders."))
            for row in rows:
                key = (str(row.get("id")), str(row.get("updated_at"))) if isinstance(row, Mapping) else ("", repr(row))
                if key not in seen:
                    seen.add(key)
                    if _wish_ships(row):
                        continue  # Wish ships it from its own warehouse (FBW): nothing for ours to do
                    yield self._order_or_problem(row)
            if len(rows) < self.page_size:
                return
            last = _last_time(rows, field)
            if last is None:
                raise BadResponse(
                    _("A full page of Wish orders has no readable %(field)s to continue from.") % {"field": field}
                )
            if cursor is None or last > cursor:
                cursor = last
                continue
            yield from self._instant_read(depth=depth, instant=cursor, high=high, fixed=fixed, seen=seen)
            cursor += ONE_MS
            if high is not None and cursor > high:
                return

    def _instant_read(
        self,
        *,
        depth: int,
        instant: datetime,
        high: datetime | None,
        fixed: Mapping[str, str],
        seen: set[tuple[str, str]],
    ) -> Iterator[OrderIn | OrderProblem]:
        """Every order from one millisecond of ``KEYSET_FIELDS[depth]`` to the next, paged by the next sort key."""
        field = KEYSET_FIELDS[depth]
        if depth + 1 >= len(KEYSET_FIELDS):
            raise BadResponse(
                _(
                    "More than %(count)s Wish orders share %(field)s %(instant)s and the other sort key too: the list "
                    "cannot page through them, so this window cannot be read completely."
                )
                % {"count": self.page_size, "field": field, "instant": wish_time(instant)}
            )
        # Up to the next millisecond inclusive: should Wish keep finer times than it shows, nothing between the
        # two falls out (rows at the next millisecond itself are read again by the walk and skipped).
        upper = instant + ONE_MS if high is None else min(instant + ONE_MS, high)
        slice_bounds = {f"{field}_min": wish_time(instant), f"{field}_max": wish_time(upper, round_up=True)}
        yield from self._orders_walk(depth=depth + 1, low=None, high=None, fixed={**fixed, **slice_bounds}, seen=seen)

    def order_get(self, channel_order_id: str) -> OrderIn:
        row = self._order_raw(channel_order_id)
        try:
            return self._order_read(row)
        except _Unreadable as problem:
            raise BadResponse(
                _("Wish order %(order)s cannot be read: %(field)s %(message)s")
                % {"order": channel_order_id, "field": problem.field, "message": problem.message}
            ) from None

    def _order_raw(self, channel_order_id: str) -> Mapping[str, Any]:
        row = self._call("GET", f"/orders/{quote(channel_order_id, safe='')}", operation="order_get")
        if not isinstance(row, Mapping):
            raise BadResponse(
                _("Wish answered order %(order)s with something other than an order.") % {"order": channel_order_id}
            )
        return row

    def _order_or_problem(self, row: Any) -> OrderIn | OrderProblem:
        if not isinstance(row, Mapping):
            return OrderProblem(channel_order_id="", field="", message=_("is not an order object"), raw=row)
        try:
            return self._order_read(row)
        except _Unreadable as problem:
            order_id = row.get("id")
            return OrderProblem(
                channel_order_id=order_id if isinstance(order_id, str) else "",
                field=problem.field,
                message=problem.message,
                raw=dict(row),
            )

    def _order_read(self, row: Mapping[str, Any]) -> OrderIn:
        """One Wish order (one SKU) as an ``OrderIn`` with one line; ``_Unreadable`` names a field it cannot read."""
        reader = _OrderReader(row)
        order_id = reader.text("id", required=True)
        state = reader.text("state", required=True)
        if state not in STATUS_BY_STATE:
            raise _Unreadable("state", _("is not a state Wish documents (got %(value)s)") % {"value": state})
        released_at = reader.time("released_at")
        updated_at = reader.time("updated_at")
        reader.mapping(PAYMENT)
        quantity = reader.quantity(f"{PAYMENT}.product_quantity")
        unit_price, currency = reader.money(f"{PAYMENT}.product_price")
        unit_shipping, shipping_currency = reader.money(f"{PAYMENT}.product_shipping_price", required=False)
        if shipping_currency and shipping_currency != currency:
            raise _Unreadable(
                f"{PAYMENT}.product_shipping_price.currency_code",
                _("is %(other)s while the price is in %(currency)s")
                % {"other": shipping_currency, "currency": currency},
            )
        subtotal, shipping_total = unit_price * quantity, unit_shipping * quantity
        line = LineIn(
            channel_line_id=order_id,
            channel_sku=reader.text("product_information.sku", required=True),
            quantity=quantity,
            unit_price=unit_price,
            title=_title(reader),
            channel_item_id=reader.text("product_information.id"),
        )
        address = _address_read(reader)
        return OrderIn(
            channel_order_id=order_id,
            status=STATUS_BY_STATE[state],
            channel_status=state,
            ordered_at=released_at,
            channel_updated_at=updated_at,
            lines=[line],
            address=address,
            buyer_name=address.name,
            currency=currency,
            subtotal=subtotal,
            shipping_total=shipping_total,
            total=subtotal + shipping_total,
            # Wish releases an order to the merchant once the payment has cleared its checks.
            paid_at=released_at,
            ship_by=reader.time("fulfillment_requirements.expected_ship_time", required=False),
            requested_service=_shipping_programs(reader),
            raw=dict(row),
        )

    # --- Shipping ----------------------------------------------------------------------------------------------

    def shipment_confirm(self, shipment: ShipmentOut) -> ConfirmResult:
        """Give Wish the order's tracking, once: a number Wish already holds as the order's tracking is not sent
        again (a repeat would use up the order's one tracking update)."""
        order_id = shipment.channel_order_id
        tracking_number = shipment.tracking_number.strip()
        if _tracking_held(self._order_raw(order_id), tracking_number):
            return ConfirmResult(already_confirmed=True)
        body = {
            "shipping_provider": self._provider(shipment.carrier),
            "tracking_number": tracking_number,
            "origin_country": str(self.connection.options.get("origin_country") or "CN").upper(),
            "ship_note": f"Seabridge shipment {shipment.reference}",
        }
        path = f"/orders/{quote(order_id, safe='')}/tracking"
        try:
            self._call("PUT", path, operation="order_tracking", body=body, idempotent=False)
        except RateLimited:
            raise  # throttled: Wish did not act on it
        except Transient:
            # A time-out or a 5xx: Wish may have taken it. Ask before anyone sends it again.
            if _tracking_held(self._order_raw(order_id), tracking_number):
                return ConfirmResult(already_confirmed=True)
            raise
        return ConfirmResult()

    def _provider(self, carrier: str) -> str:
        providers = self.connection.options.get("shipping_providers") or {}
        return str(providers.get(carrier) or providers.get(carrier.lower()) or carrier)

    # --- Stock -------------------------------------------------------------------------------------------------

    def stock_push(self, items: list[StockOut]) -> list[StockResult]:
        """Set each variation's inventory in its Wish warehouse: one request per product, one result per item."""
        results: dict[int, StockResult] = {}
        groups: dict[str, list[tuple[int, StockOut, str]]] = {}
        for index, item in enumerate(items):
            warehouse_id = str(item.options.get("warehouse_id") or self.connection.options.get("warehouse_id") or "")
            problem = _stock_item_problem(item, warehouse_id)
            if problem:
                results[index] = StockResult(channel_sku=item.channel_sku, ok=False, message=problem)
            else:
                groups.setdefault(item.listing_id, []).append((index, item, warehouse_id))
        for product_id, members in groups.items():
            refusal = self._inventory_put(product_id, members)
            if refusal is not None and len(members) > 1 and refusal.code != NO_SUCH_OBJECT:
                # Wish refused the product's update as a whole: send each item alone to learn which it refuses.
                for member in members:
                    results[member[0]] = _stock_result(member[1], self._inventory_put(product_id, [member]))
            else:
                for index, item, _warehouse in members:
                    results[index] = _stock_result(item, refusal)
        return [results[index] for index in range(len(items))]

    def _inventory_put(self, product_id: str, members: list[tuple[int, StockOut, str]]) -> Rejected | None:
        """One product's variations set; None when Wish took it, else its refusal."""
        variations: dict[str, list[dict[str, Any]]] = {}
        for _index, item, warehouse_id in members:
            inventory = min(MAX_INVENTORY, max(0, item.quantity))
            variations.setdefault(item.listing_variant_id, []).append(
                {"warehouse_id": warehouse_id, "inventory": inventory}
            )
        body = {"variations": [{"id": vid, "inventories": entries} for vid, entries in variations.items()]}
        try:
            self._call("PUT", f"/products/{quote(product_id, safe='')}", operation="product_update", body=body)
        except Rejected as refusal:
            return refusal
        return None


# --- Reading Wish's answers -------------------------------------------------------------------------------------


def _envelope(response: httpx.Response, operation: str) -> Mapping[str, Any]:
    """The ``{code, message, data}`` envelope every Wish answer has."""
    try:
        envelope = response_json(response)
    except ValueError:
        raise BadResponse(
            _("Wish answered %(operation)s with something that is not JSON (HTTP %(status)s).")
            % {"operation": operation, "status": response.status_code},
            status=response.status_code,
        ) from None
    if not isinstance(envelope, Mapping) or "code" not in envelope:
        raise BadResponse(
            _("Wish answered %(operation)s without its code and message (HTTP %(status)s).")
            % {"operation": operation, "status": response.status_code},
            status=response.status_code,
        )
    return envelope


def _error_of(response: httpx.Response) -> tuple[Any, str]:
    """Wish's error code and message, as well as they can be read."""
    try:
        envelope = response_json(response)
    except ValueError:
        return None, response.reason_phrase
    if not isinstance(envelope, Mapping):
        return None, response.reason_phrase
    return envelope.get("code"), str(envelope.get("message") or response.reason_phrase)


def _code(response: httpx.Response) -> int | None:
    code, _message = _error_of(response)
    try:
        return int(code)
    except (TypeError, ValueError):
        return None


def _token_refused(response: httpx.Response) -> bool:
    """Wish does not take the token: 401 (as observed live), or one of its token codes with another status."""
    if response.status_code == 401:
        return _code(response) != ACCOUNT_DISABLED
    return response.status_code == 400 and _code(response) in TOKEN_CODES


def _data(response: httpx.Response, operation: str) -> Any:
    """The answer's ``data``; Wish's refusals as ``AuthFailed`` (a disabled account) or ``Rejected``."""
    envelope = _envelope(response, operation)
    if response.status_code == 200 and envelope.get("code") == 0:
        return envelope.get("data")
    code, message = envelope.get("code"), str(envelope.get("message") or response.reason_phrase)
    request_id = response.headers.get("Wish-Request-Id", "")
    if _code(response) == ACCOUNT_DISABLED:
        raise AuthFailed(
            _("Wish refused the store: %(message)s (code %(code)s).") % {"message": message, "code": code},
            status=response.status_code,
        )
    raise Rejected(
        _("Wish refused %(operation)s: %(message)s (code %(code)s, request %(request)s).")
        % {"operation": operation, "message": message, "code": code, "request": request_id},
        code=f"wish_{code}",
        status=response.status_code,
    )


def _last_time(rows: list[Any], field: str) -> datetime | None:
    """The last readable ``field`` of a page sorted by it (a broken row at the end does not stop the scan)."""
    for row in reversed(rows):
        moment = wish_time_parse(row.get(field)) if isinstance(row, Mapping) else None
        if moment is not None:
            return moment
    return None


def _title(reader: _OrderReader) -> str:
    """The product's name, with the variation's colour and size when Wish gives them."""
    name = reader.text("product_information.name")
    variant = ", ".join(
        part for part in (reader.text("product_information.color"), reader.text("product_information.size")) if part
    )
    return f"{name} ({variant})" if variant else name


def _wish_ships(row: Any) -> bool:
    """A Fulfilled by Wish order (``fulfillment_order_types`` holds FULFILLED_BY_WISH), like Amazon's FBA ones."""
    types = row.get("fulfillment_order_types") if isinstance(row, Mapping) else None
    return isinstance(types, list) and "FULFILLED_BY_WISH" in types


def _shipping_programs(reader: _OrderReader) -> str:
    types = reader.value("fulfillment_order_types")
    if not isinstance(types, list):
        return ""
    return ", ".join(program for program in SHIPPING_PROGRAMS if program in types)


def _address_read(reader: _OrderReader) -> AddressIn:
    """``full_address.shipping_detail``: every line Wish sends (street 1–3, neighbourhood, Chile's region)."""
    reader.mapping(ADDRESS)
    country = reader.text(f"{ADDRESS}.country_code", required=True).upper()
    if len(country) != 2 or not country.isalpha():
        raise _Unreadable(
            f"{ADDRESS}.country_code", _("must be a 2-letter country code (got %(value)s)") % {"value": country}
        )
    phone = reader.value(f"{ADDRESS}.phone_number")
    number = reader.text(f"{ADDRESS}.phone_number.number") if isinstance(phone, Mapping) else ""
    return AddressIn(
        name=reader.text(f"{ADDRESS}.name"),
        address1=reader.text(f"{ADDRESS}.street_address1"),
        address2=reader.text(f"{ADDRESS}.street_address2"),
        address3=reader.text(f"{ADDRESS}.street_address3"),
        district=reader.text(f"{ADDRESS}.neighborhood"),
        city=reader.text(f"{ADDRESS}.city"),
        county=reader.text(f"{ADDRESS}.region"),
        state=reader.text(f"{ADDRESS}.state"),
        postcode=reader.text(f"{ADDRESS}.zipcode"),
        country=country,
        phone=number,
    )


def _tracking_held(order: Mapping[str, Any], tracking_number: str) -> bool:
    """Wish holds this number as the order's tracking: shipped with it, or its update still being processed.
    A re-released order (APPROVED again, tracking cancelled) does not count, whatever its old tracking was."""
    infos = order.get("tracking_information")
    if not isinstance(infos, list) or not infos or not isinstance(infos[0], Mapping):
        return False
    if _tracking_key(infos[0].get("tracking_number")) != _tracking_key(tracking_number):
        return False
    if order.get("state") == "SHIPPED":
        return True
    return order.get("processing_source") == "UPDATE_TRACKING" and order.get("processing_status") == "IN_PROGRESS"


def _tracking_key(value: Any) -> str:
    return "".join(str(value or "").split()).upper()


def _stock_item_problem(item: StockOut, warehouse_id: str) -> str:
    if not item.listing_id or not item.listing_variant_id:
        return _("The mapping of %(sku)s lacks Wish's product ID or variation ID.") % {"sku": item.channel_sku}
    if not warehouse_id:
        return _("No Wish warehouse ID is set for %(sku)s (the store's warehouse_id option).") % {
            "sku": item.channel_sku
        }
    return ""


def _stock_result(item: StockOut, refusal: Rejected | None) -> StockResult:
    if refusal is None:
        return StockResult(channel_sku=item.channel_sku, ok=True)
    return StockResult(channel_sku=item.channel_sku, ok=False, message=refusal.message)
