"""AliExpress Open Platform (IOP, the seller "solution" APIs): orders, shipment confirmation and stock.

AliExpress publishes no machine-readable specification. What this module is built to, and where it was read:

- Gateway and signing: the official IOP SDKs (``iop-sdk-python-20220609`` ``base.py``; the Java IOP SDK's
  ``TopExecutor``/``GopExecutor``/``IopUtils``). Dotted methods go to ``/sync`` with the system parameters
  ``app_key, timestamp`` (epoch milliseconds), ``sign_method=sha256``, ``method``, ``session`` (the access token),
  ``simplify=false`` and ``format=json``, as a form POST (the Python SDK's default, and it keeps the session token
  out of URLs, which get logged); path-style APIs (``/auth/token/refresh``) go to ``/rest<path>``. The sign
  is HMAC-SHA256 with the app secret over every parameter but ``sign`` sorted by name and written ``name+value``,
  with the API path in front for path-style APIs, in upper-case hex. Empty parameters are not sent (the Java SDK
  leaves them out of the sign, the Python one would sign them: not sending them keeps both readings equal).
- Answers: HTTP 200 whatever happened. ``/sync`` wraps a refusal as ``error_response{type, code, msg, sub_code,
  request_id}``, ``/rest`` answers ``{code != "0", type, message, request_id}`` at the top level (the IOP SDKs'
  ``RSP_ERR_RSP`` and ``IopResponse`` fields). An expired or revoked session is ``IllegalAccessToken``; a refused
  refresh token ``IllegalRefreshToken``; a wrong secret ``IncompleteSignature``; throttling ``ApiCallLimit`` with
  no Retry-After (or, from the older TOP layer still behind ``/sync``, ``code 7 "App Call Limited"`` whose
  ``sub_msg`` says "This ban will last for N more seconds"), read by :func:`throttle_wait`.
- Shapes and names: ``retailcrm/aliexpress-top-client`` (DTOs under ``src/Model``, recorded answers in its
  ``ClientTest``) and ``bububa/opentaobao`` ``model/aesolution`` (the TOP documentation's field comments).

Orders. ``aliexpress.solution.order.get`` with ``param0`` = ``{modified_date_start, modified_date_end, page_size,
current_page[, order_status_list]}``; 1-based pages, ``total_count``/``total_page``, ``target_list.order_dto[]``.
The documentation says finished orders "need to be queried separately", so a window is read twice: every open
status, then ``order_status_list=["FINISH"]`` (where cancellations before shipment end up). The list has no
address: ``aliexpress.solution.order.receiptinfo.get`` (``param1={order_id}``) is called per order.

Times are naive ``yyyy-MM-dd HH:mm:ss``. The TOP documentation of these fields says "it's US pacific time" and
retailcrm's client pins the query bounds to PST; nothing pins it for every account, so the zone is the store option
``options["timezone"]`` (default ``America/Los_Angeles``). Bounds are widened by the DST fold where a local time
names two instants, so an order in the repeated hour is never outside the asked window.

Status mapping (``order_status`` kept as ``channel_status``; ``logistics_status`` decides for the statuses that can
come before or after the parcel left):

=============================================================  =======================================================
PLACE_ORDER_SUCCESS (awaiting payment),                         pending
WAIT_SELLER_EXAMINE_MONEY, RISK_CONTROL, RISK_CONTROL_HOLD
(the 24-hour check after payment: not to be shipped yet)
WAIT_SELLER_SEND_GOODS                                          awaiting_shipment
SELLER_PART_SEND_GOODS                                          partially_shipped
WAIT_BUYER_ACCEPT_GOODS, FUND_PROCESSING                        shipped
IN_CANCEL (the buyer asked to cancel: held for the seller,      awaiting_shipment (or what the logistics status says
who accepts it, FINISH with no parcel, or refuses it, back to   left), with a hold "the buyer asked to cancel"
WAIT_SELLER_SEND_GOODS)
IN_ISSUE, IN_FROZEN, PAYMENT_PROCESSING                         shipped / partially_shipped if the logistics status
                                                                says a parcel left, otherwise pending (held)
FINISH, ARCHIVE                                                 shipped if a parcel left, otherwise cancelled
=============================================================  =======================================================

``FUND_PROCESSING`` (the buyer confirmed receipt) is the documented name. ``PAYMENT_PROCESSING`` appears in
secondary sources in its place; since it could also be read as "payment not cleared", the logistics status decides.
Any other status is an ``OrderProblem`` on ``order_status``.

Paging traps. Rows are filtered on the modified time, so an order that changes during a scan leaves the window and
every row after it moves up one place: read forwards, the first row of the next page would slide onto a page
already read and be missed. Pages are therefore read last to first (page 1 once first, to learn how many there are,
and once more at the end): rows only ever move towards page 1, so each is seen on the page being read or on one
read later, and a row moving across a boundary shows up twice (kept once). An order changed during the scan has a
modified time after the window and is read by the next one. A growing ``total_count`` would mean rows moved the
other way; the scan then starts again (three times at most, then ``Transient``).

Shipment: ``aliexpress.solution.order.fulfill`` (``service_name, out_ref, send_type all|part, logistics_no,
tracking_website``) answers ``result.result_success``; it has no idempotency key and no public error code for
"already declared". So the order's declared parcels (``aliexpress.solution.order.info.get``,
``logistic_info_list``) are read first, and again after a refusal: a tracking number already there is
``already_confirmed``, whatever the refusal said.

Stock: ``aliexpress.solution.batch.product.inventory.update`` takes at most 20 products (200 SKUs each); failures are
reported per product, so a product's failure is every one of its SKUs' failure. ``stock_batch_size`` is 20 so that a
batch always fits one call however its SKUs are spread over products.

No per-operation rates are published (AliExpress counts calls per app and day), so no pacing is declared: throttling
is read from the answers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

DEFAULT_TIMEZONE = "America/Los_Angeles"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SYNC_PATH = "/sync"
REFRESH_API = "/auth/token/refresh"
PAGE_SIZE = 50
MAX_PAGES = 10_000
MAX_SCAN_RESTARTS = 3
FINISHED_STATUSES = ("FINISH",)
LOGISTICS_INFO_FLAG = 4  # ext_info_bit_flag: the third bit asks aliexpress.solution.order.info.get for logistics
# No wait is given with ApiCallLimit: a second is the floor, ChannelHttp's exponential backoff adds the rest.
THROTTLE_FLOOR_SECONDS = 1.0

TOKEN_CODES = frozenset({"IllegalAccessToken", "27"})  # IOP, and the TOP layer's "Invalid session"
CREDENTIAL_CODES = frozenset({"IncompleteSignature", "InvalidAppKey", "IllegalRefreshToken", "25", "29"})
THROTTLE_CODES = frozenset({"ApiCallLimit", "7"})
BAN_SECONDS = re.compile(r"ban will last for (\d+) more second", re.IGNORECASE)

SHIPPED_LOGISTICS = frozenset({"SELLER_SEND_GOODS", "BUYER_ACCEPT_GOODS"})
PART_SHIPPED_LOGISTICS = frozenset({"SELLER_SEND_PART_GOODS"})
LINE_SHIPPED_STATUSES = frozenset({"WAIT_BUYER_ACCEPT_GOODS", "FUND_PROCESSING", "FINISH"})
STATUS_MAP = {
    "PLACE_ORDER_SUCCESS": "pending",
    "WAIT_SELLER_EXAMINE_MONEY": "pending",
    "RISK_CONTROL": "pending",
    "RISK_CONTROL_HOLD": "pending",
    "WAIT_SELLER_SEND_GOODS": "awaiting_shipment",
    "SELLER_PART_SEND_GOODS": "partially_shipped",
    "WAIT_BUYER_ACCEPT_GOODS": "shipped",
    "FUND_PROCESSING": "shipped",
}
# The buyer asked to cancel: the order keeps the status its parcels give it and is held until the seller answers
# (accepted: FINISH without a parcel, cancelled; refused: back to WAIT_SELLER_SEND_GOODS).
CANCEL_REQUESTED_STATUS = "IN_CANCEL"
HELD_STATUSES = frozenset({"IN_ISSUE", "IN_FROZEN", "PAYMENT_PROCESSING"})
CLOSED_STATUSES = frozenset({"FINISH", "ARCHIVE"})
# AliExpress's own country codes where they differ from ISO 3166 alpha-2 [verify the list on live orders].
COUNTRY_ALIASES = {"UK": "GB", "SRB": "RS", "MNE": "ME"}
# Logistics service keys for carriers whose key is the carrier's own name; other carriers go as "OTHER" with a
# tracking website. A store maps its carriers in options["service_names"] / options["tracking_websites"].
SERVICE_NAMES = {"dhl": "DHL", "ups": "UPS", "ems": "EMS"}
DEFAULT_TRACKING_WEBSITE = "https://global.cainiao.com/"


def iop_sign(secret: str, params: Mapping[str, str], api_path: str = "") -> str:
    """IOP's sign: HMAC-SHA256 over the API path (path-style APIs only) and ``name+value`` of every parameter but
    ``sign``, sorted by name; upper-case hex."""
    text = api_path + "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign")
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest().upper()


@dataclass(frozen=True)
class IopError:
    """A refusal in either envelope: ``error_response{code, msg, sub_code, sub_msg}`` or ``{code, message}``."""

    code: str
    message: str
    sub_code: str = ""

    @property
    def text(self) -> str:
        return " ".join(part for part in (self.code, self.sub_code, self.message) if part)


def iop_error(body: Any) -> IopError | None:
    """The refusal an answer carries, or None when it is a success."""
    if not isinstance(body, dict):
        return None
    envelope = body.get("error_response") if isinstance(body.get("error_response"), dict) else body
    code = envelope.get("code")
    if code is None or str(code) in {"", "0"}:
        return None
    message = envelope.get("sub_msg") or envelope.get("msg") or envelope.get("message") or ""
    return IopError(code=str(code), message=str(message), sub_code=str(envelope.get("sub_code") or ""))


def throttle_wait(response: httpx.Response) -> float | None:
    """ChannelHttp's ``throttle`` hook: AliExpress says "slow down" inside an HTTP 200 (``ApiCallLimit``, or TOP's
    ``7 App Call Limited`` with the ban's length in ``sub_msg``). Seconds to wait, or None."""
    if response.status_code != 200 or not any(
        marker in response.content for marker in (b"ApiCallLimit", b"Call Limit", b"limited-by")
    ):
        return None
    try:
        error = iop_error(response_json(response))
    except ValueError:
        return None
    if error is None or (error.code not in THROTTLE_CODES and not error.sub_code.startswith("accesscontrol.limited")):
        return None
    ban = BAN_SECONDS.search(error.message)
    return max(THROTTLE_FLOOR_SECONDS, float(ban.group(1))) if ban else THROTTLE_FLOOR_SECONDS


# --- Local times ------------------------------------------------------------------------------------------------


def local_text(moment: datetime, zone: ZoneInfo, *, bound: str) -> str:
    """A window bound as AliExpress reads it: naive wall time in ``zone``, whole seconds, widened outwards (the start
    down, the end up) so the window the platform applies always contains the one asked for, even where the wall
    time is ambiguous (the DST fold) and the platform could read the other instant."""
    local = moment.astimezone(zone)
    if bound == "end" and local.microsecond:
        local += timedelta(seconds=1)
    naive = local.replace(microsecond=0, tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0).utcoffset()
    second = naive.replace(tzinfo=zone, fold=1).utcoffset()
    fold_width = abs(first - second) if first is not None and second is not None else timedelta(0)
    naive = naive - fold_width if bound == "start" else naive + fold_width
    return naive.strftime(TIME_FORMAT)


def parse_local(text: str, zone: ZoneInfo) -> datetime:
    """A naive AliExpress time as aware UTC (the earlier instant where the wall time is ambiguous)."""
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=zone).astimezone(UTC)


# --- Reading the platform's data ----------------------------------------------------------------------------------


class _Unreadable(Exception):
    """A field that cannot be read: becomes an OrderProblem naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _bad(path: str, message: str, value: Any = None) -> _Unreadable:
    """``message`` (translated, with ``%(field)s`` and ``%(value)r``) about the field at ``path``."""
    return _Unreadable(path, message % {"field": path, "value": value})


def _text(data: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise _bad(path, _("%(field)s is missing."))
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _bad(path, _("%(field)s is not text: %(value)r."), value)
    return str(value).strip()


def _whole(data: Mapping[str, Any], key: str, path: str) -> int:
    """A whole number sent as a JSON integer or a string of digits (never through float: ids have 16 digits)."""
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if value is None or value == "":
        raise _bad(path, _("%(field)s is missing."))
    raise _bad(path, _("%(field)s is not a whole number: %(value)r."), value)


def _identifier(data: Mapping[str, Any], key: str, path: str) -> str:
    number = _whole(data, key, path)
    if number <= 0:
        raise _bad(path, _("%(field)s is not a valid ID: %(value)r."), number)
    return str(number)


def _money(data: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> tuple[Decimal, str]:
    """``{amount: "12.34", currency_code}`` as (Decimal, currency). The amount must be a string: a JSON number has
    already been through a float."""
    money = data.get(key)
    if money is None and not required:
        return Decimal("0"), ""
    if not isinstance(money, Mapping):
        raise _bad(path, _("%(field)s is missing."))
    amount = money.get("amount")
    if not isinstance(amount, str):
        raise _bad(f"{path}.amount", _("%(field)s is not a decimal string: %(value)r."), amount)
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise _bad(f"{path}.amount", _("%(field)s is not an amount: %(value)r."), amount)
    currency = _text(money, "currency_code", f"{path}.currency_code").upper()
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        raise _bad(f"{path}.currency_code", _("%(field)s is not a currency: %(value)r."), currency)
    return value, currency


def _moment(data: Mapping[str, Any], key: str, path: str, zone: ZoneInfo, *, required: bool) -> datetime | None:
    text = _text(data, key, path, required=required)
    if not text:
        return None
    try:
        return parse_local(text, zone)
    except ValueError:
        raise _bad(path, _("%(field)s is not a time: %(value)r."), text) from None


def _listed(container: Any, key: str) -> list[Any]:
    """A list as ``simplify=false`` nests it: ``{"order_dto": [...]}`` (absent or empty when there is none)."""
    if container is None or container == "":
        return []
    if isinstance(container, list):
        return container
    if isinstance(container, Mapping):
        items = container.get(key, [])
        return items if isinstance(items, list) else [items]
    return [container]


def _country(text: str, path: str) -> str:
    code = text.strip().upper()
    code = COUNTRY_ALIASES.get(code, code)
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise _bad(path, _("%(field)s is not a country code: %(value)r."), text)
    return code


def _status(order_status: str, logistics_status: str) -> str:
    if order_status in STATUS_MAP:
        return STATUS_MAP[order_status]
    left = "shipped" if logistics_status in SHIPPED_LOGISTICS else ""
    left = "partially_shipped" if logistics_status in PART_SHIPPED_LOGISTICS else left
    if order_status in HELD_STATUSES:
        return left or "pending"
    if order_status == CANCEL_REQUESTED_STATUS:
        return left or "awaiting_shipment"
    if order_status in CLOSED_STATUSES:
        return "shipped" if left else "cancelled"
    raise _Unreadable("order_status", _("Unknown order status %(status)r.") % {"status": order_status})


def _address(data: Mapping[str, Any], path: str) -> AddressIn:
    """Every line AliExpress sends: ``detail_address`` (the street), ``address2``, and ``address`` (its "address 1",
    kept as a third line where it says something the other two do not)."""
    street = _text(data, "detail_address", f"{path}.detail_address")
    line = _text(data, "address", f"{path}.address")
    second = _text(data, "address2", f"{path}.address2")
    lines = [part for part in (street or line, second) if part]
    if street and line and line not in lines:
        lines.append(line)
    lines += [""] * (3 - len(lines))
    number = _text(data, "mobile_no", f"{path}.mobile_no") or (
        _text(data, "phone_area", f"{path}.phone_area") + _text(data, "phone_number", f"{path}.phone_number")
    )
    calling_code = _text(data, "phone_country", f"{path}.phone_country").lstrip("+")
    phone = f"+{calling_code} {number}" if number and calling_code else number
    return AddressIn(
        name=_text(data, "contact_person", f"{path}.contact_person"),
        address1=lines[0],
        address2=lines[1],
        address3=lines[2],
        city=_text(data, "city", f"{path}.city"),
        state=_text(data, "province", f"{path}.province"),
        postcode=_text(data, "zip", f"{path}.zip"),
        country=_country(_text(data, "country", f"{path}.country", required=True), f"{path}.country"),
        phone=phone,
    )


def _line(item: Any, path: str, *, id_key: str, price_key: str) -> LineIn:
    if not isinstance(item, Mapping):
        raise _bad(path, _("%(field)s is not an object."))
    quantity = _whole(item, "product_count", f"{path}.product_count")
    if quantity <= 0:
        raise _bad(f"{path}.product_count", _("%(field)s is not a positive quantity: %(value)r."), quantity)
    unit_price, _currency = _money(item, price_key, f"{path}.{price_key}")
    return LineIn(
        channel_line_id=_identifier(item, id_key, f"{path}.{id_key}"),
        channel_sku=_text(item, "sku_code", f"{path}.sku_code", required=True),
        quantity=quantity,
        unit_price=unit_price,
        title=_text(item, "product_name", f"{path}.product_name"),
        channel_item_id=_identifier(item, "product_id", f"{path}.product_id"),
    )


def _raw_lines(order_raw: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The lines of an order's raw data as this adapter saved it (list or detail shape)."""
    if isinstance(order_raw.get("order"), Mapping):
        return [
            x for x in _listed(order_raw["order"].get("product_list"), "order_product_dto") if isinstance(x, Mapping)
        ]
    if isinstance(order_raw.get("order_detail"), Mapping):
        children = _listed(order_raw["order_detail"].get("child_order_list"), "global_aeop_tp_child_order_dto")
        return [x for x in children if isinstance(x, Mapping)]
    return []


# --- The adapter ----------------------------------------------------------------------------------------------------


@dataclass
class _Page:
    orders: list[Any]
    total_count: int
    total_page: int


class AliExpressAdapter(ChannelAdapter):
    """One AliExpress store, through the IOP gateway."""

    channel = "aliexpress"
    default_api_base_url = "https://api-sg.aliexpress.com"
    default_auth_url = "https://api-sg.aliexpress.com/rest"
    credential_names = ("app_key", "app_secret", "access_token", "refresh_token")
    stock_batch_size = 20

    # -- the four operations ------------------------------------------------------------------------------------

    def orders_changed(self, *, since: datetime, until: datetime) -> Iterator[OrderIn | OrderProblem]:
        zone = self._zone()
        window = {
            "modified_date_start": local_text(since, zone, bound="start"),
            "modified_date_end": local_text(until, zone, bound="end"),
        }
        seen: dict[str, str] = {}
        for statuses in (None, FINISHED_STATUSES):
            yield from self._scan(window, statuses, seen, zone)

    def order_get(self, channel_order_id: str) -> OrderIn:
        data = self._order_detail(channel_order_id, flag=None)
        zone = self._zone()
        try:
            return self._order_from_detail(data, zone)
        except _Unreadable as problem:
            raise BadResponse(
                _("Order %(order)s cannot be read: %(problem)s") % {"order": channel_order_id, "problem": problem}
            ) from None

    def shipment_confirm(self, shipment: ShipmentOut) -> ConfirmResult:
        declared = self._declared_parcels(shipment.channel_order_id)
        if shipment.tracking_number in declared:
            return ConfirmResult(reference=declared[shipment.tracking_number], already_confirmed=True)
        service_name = self._service_name(shipment.carrier)
        params = {
            "service_name": service_name,
            "out_ref": shipment.channel_order_id,
            "send_type": self._send_type(shipment),
            "logistics_no": shipment.tracking_number,
            "tracking_website": self._tracking_website(shipment.carrier) if service_name.startswith("OTHER") else "",
        }
        try:
            body = self._call("aliexpress.solution.order.fulfill", params, operation="order_fulfill", idempotent=False)
            result = body.get("result") if isinstance(body.get("result"), Mapping) else {}
            if result.get("result_success") is True:
                return ConfirmResult()
            refusal = str(result.get("error_message") or result.get("error_code") or "result_success is false")
        except Rejected as exc:
            refusal = exc.message
        declared = self._declared_parcels(shipment.channel_order_id)
        if shipment.tracking_number in declared:
            return ConfirmResult(reference=declared[shipment.tracking_number], already_confirmed=True)
        raise Rejected(
            _("AliExpress refused the shipment of order %(order)s: %(message)s")
            % {"order": shipment.channel_order_id, "message": refusal}
        )

    def stock_push(self, items: list[StockOut]) -> list[StockResult]:
        results: dict[int, StockResult] = {}
        products: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            product_id = item.listing_id.strip()
            if not product_id.isdigit():
                results[index] = StockResult(
                    item.channel_sku, False, _("No AliExpress product ID (listing ID) is mapped to this SKU.")
                )
            else:
                products.setdefault(product_id, []).append(index)
        if products:
            outcome = self._inventory_update(items, products)
            for product_id, indexes in products.items():
                ok, message = outcome[product_id]
                for index in indexes:
                    results[index] = StockResult(items[index].channel_sku, ok, message)
        return [results[index] for index in range(len(items))]

    # -- orders ---------------------------------------------------------------------------------------------------

    def _scan(self, window: dict[str, str], statuses, seen: dict[str, str], zone: ZoneInfo):
        """One status group of the window, pages read last to first (see the module docstring)."""
        for _attempt in range(MAX_SCAN_RESTARTS + 1):
            first = self._page(window, statuses, 1)
            fewest = first.total_count
            yield from self._orders_of(first, seen, zone)
            grew = False
            for number in range(first.total_page, 1, -1):
                page = self._page(window, statuses, number)
                grew = page.total_count > fewest
                if grew:
                    break
                fewest = page.total_count
                yield from self._orders_of(page, seen, zone)
            if not grew and first.total_page > 1:
                last = self._page(window, statuses, 1)
                grew = last.total_count > fewest
                yield from self._orders_of(last, seen, zone)
            if not grew:
                return
        raise Transient(
            _("AliExpress kept adding orders to the window %(start)s to %(end)s while it was being read.")
            % {"start": window["modified_date_start"], "end": window["modified_date_end"]}
        )

    def _page(self, window: dict[str, str], statuses, number: int) -> _Page:
        query: dict[str, Any] = {**window, "page_size": PAGE_SIZE, "current_page": number}
        if statuses:
            query["order_status_list"] = list(statuses)
        body = self._call(
            "aliexpress.solution.order.get",
            {"param0": json.dumps(query, separators=(",", ":"))},
            operation="order_list",
        )
        result = body.get("result")
        if not isinstance(result, Mapping):
            raise BadResponse(_("AliExpress's order list has no result."))
        if result.get("success") is not True:
            raise Rejected(
                _("AliExpress refused the order list: %(message)s")
                % {"message": result.get("error_message") or result.get("error_code") or "success is false"}
            )
        try:
            total_count = _whole(result, "total_count", "total_count") if result.get("total_count") else 0
            page_size = _whole(result, "page_size", "page_size") if result.get("page_size") else PAGE_SIZE
            total_page = (
                _whole(result, "total_page", "total_page")
                if result.get("total_page") is not None
                else math.ceil(total_count / max(page_size, 1))
            )
        except _Unreadable as problem:
            raise BadResponse(_("AliExpress's order list cannot be read: %(problem)s") % {"problem": problem}) from None
        if total_page > MAX_PAGES:
            raise BadResponse(_("AliExpress's order list claims %(pages)s pages.") % {"pages": total_page})
        return _Page(_listed(result.get("target_list"), "order_dto"), total_count, total_page)

    def _orders_of(self, page: _Page, seen: dict[str, str], zone: ZoneInfo) -> Iterator[OrderIn | OrderProblem]:
        for dto in page.orders:
            if not isinstance(dto, Mapping):
                yield OrderProblem("", "target_list.order_dto", _("An order is not an object."), dto)
                continue
            try:
                order_id = _identifier(dto, "order_id", "order_id")
            except _Unreadable as problem:
                yield OrderProblem(str(dto.get("order_id") or ""), problem.field, problem.message, dict(dto))
                continue
            version = str(dto.get("gmt_update"))
            if seen.get(order_id) == version:
                continue  # the same order seen again on the next page: rows moved up while reading
            seen[order_id] = version
            yield self._order_from_list(order_id, dto, zone)

    def _order_from_list(self, order_id: str, dto: Mapping[str, Any], zone: ZoneInfo) -> OrderIn | OrderProblem:
        raw: dict[str, Any] = {"order": dict(dto)}

        def address() -> AddressIn:
            receipt = self._receipt(order_id)
            raw["receipt_info"] = dict(receipt)
            return _address(receipt, "receipt_info")

        items = _listed(dto.get("product_list"), "order_product_dto")
        try:
            return self._order(
                order_id=order_id,
                data=dto,
                keys={"updated": "gmt_update", "paid": "gmt_pay_time", "total": "pay_amount"},
                lines=[
                    _line(
                        item, f"product_list.order_product_dto[{i}]", id_key="child_id", price_key="product_unit_price"
                    )
                    for i, item in enumerate(items)
                ],
                address=address,
                notes=[item.get("memo") for item in items if isinstance(item, Mapping)],
                services=[item.get("logistics_service_name") for item in items if isinstance(item, Mapping)],
                raw=raw,
                zone=zone,
            )
        except _Unreadable as problem:
            return OrderProblem(order_id, problem.field, problem.message, raw)

    def _order_from_detail(self, data: Mapping[str, Any], zone: ZoneInfo) -> OrderIn:
        """The detail shape (``aliexpress.solution.order.info.get``), which carries its receipt address."""
        order_id = _identifier(data, "id", "id")
        children = _listed(data.get("child_order_list"), "global_aeop_tp_child_order_dto")
        with_child_ids = all(isinstance(child, Mapping) and child.get("child_order_id") for child in children)

        def address() -> AddressIn:
            receipt = data.get("receipt_address")
            if not isinstance(receipt, Mapping):
                raise _bad("receipt_address", _("%(field)s is missing."))
            return _address(receipt, "receipt_address")

        return self._order(
            order_id=order_id,
            data=data,
            keys={"updated": "gmt_modified", "paid": "gmt_pay_success", "total": "order_amount"},
            lines=[
                _line(
                    item,
                    f"child_order_list[{i}]",
                    id_key="child_order_id" if with_child_ids else "id",
                    price_key="product_price",
                )
                for i, item in enumerate(children)
            ],
            address=address,
            notes=[child.get("buyer_memo") for child in children if isinstance(child, Mapping)],
            services=[child.get("logistics_service_name") for child in children if isinstance(child, Mapping)],
            raw={"order_detail": dict(data)},
            zone=zone,
        )

    def _order(self, *, order_id, data, keys, lines, address, notes, services, raw, zone) -> OrderIn:
        """The order's own fields are read first, the address last: an order already known to be unreadable costs
        no address call."""
        if not lines:
            raise _Unreadable("product_list", _("The order has no lines."))
        channel_status = _text(data, "order_status", "order_status", required=True)
        status = _status(channel_status, _text(data, "logistics_status", "logistics_status"))
        total, currency = _money(data, keys["total"], keys["total"])
        ordered_at = _moment(data, "gmt_create", "gmt_create", zone, required=True)
        updated_at = _moment(data, keys["updated"], keys["updated"], zone, required=True)
        paid_at = _moment(data, keys["paid"], keys["paid"], zone, required=False)
        return OrderIn(
            channel_order_id=order_id,
            status=status,
            channel_status=channel_status,
            ordered_at=ordered_at,
            channel_updated_at=updated_at,
            paid_at=paid_at,
            lines=lines,
            address=address(),
            buyer_name=_text(data, "buyer_signer_fullname", "buyer_signer_fullname"),
            currency=currency,
            subtotal=sum((line.unit_price * line.quantity for line in lines), Decimal("0")),
            total=total,
            requested_service=next((str(service) for service in services if service), ""),
            buyer_note=" / ".join(dict.fromkeys(str(note) for note in notes if note)),
            raw=raw,
            cancel_requested=f"AliExpress {channel_status}" if channel_status == CANCEL_REQUESTED_STATUS else "",
        )

    def _receipt(self, order_id: str) -> Mapping[str, Any]:
        try:
            body = self._call(
                "aliexpress.solution.order.receiptinfo.get",
                {"param1": json.dumps({"order_id": int(order_id)}, separators=(",", ":"))},
                operation="order_receipt",
            )
        except Rejected as exc:
            raise _Unreadable("receipt_info", exc.message) from None
        result = body.get("result")
        if not isinstance(result, Mapping):
            raise _Unreadable("receipt_info", _("AliExpress sent no receipt address for the order."))
        return result

    def _order_detail(self, order_id: str, *, flag: int | None) -> Mapping[str, Any]:
        if not order_id.isdigit():
            raise Rejected(_("%(order)s is not an AliExpress order ID.") % {"order": order_id})
        query: dict[str, int] = {"order_id": int(order_id)}
        if flag is not None:
            query["ext_info_bit_flag"] = flag
        body = self._call(
            "aliexpress.solution.order.info.get",
            {"param1": json.dumps(query, separators=(",", ":"))},
            operation="order_info",
        )
        result = body.get("result")
        if not isinstance(result, Mapping):
            raise BadResponse(_("AliExpress's order detail has no result."))
        data = result.get("data")
        if result.get("result_success") is False or not isinstance(data, Mapping):
            raise Rejected(
                _("AliExpress refused the detail of order %(order)s: %(message)s")
                % {"order": order_id, "message": result.get("error_message") or result.get("error_code") or ""}
            )
        return data

    # -- shipments --------------------------------------------------------------------------------------------------

    def _declared_parcels(self, order_id: str) -> dict[str, str]:
        """Tracking numbers already declared on the order → AliExpress's id of that parcel."""
        data = self._order_detail(order_id, flag=LOGISTICS_INFO_FLAG)
        parcels = _listed(data.get("logistic_info_list"), "global_aeop_tp_logistic_info_dto")
        return {
            str(parcel["logistics_no"]): str(parcel.get("ship_order_id") or "")
            for parcel in parcels
            if isinstance(parcel, Mapping) and parcel.get("logistics_no")
        }

    def _service_name(self, carrier: str) -> str:
        mapped = (self.connection.options.get("service_names") or {}).get(carrier)
        return str(mapped or SERVICE_NAMES.get(carrier.lower(), "OTHER"))

    def _tracking_website(self, carrier: str) -> str:
        mapped = (self.connection.options.get("tracking_websites") or {}).get(carrier)
        return str(mapped or self.connection.options.get("tracking_website") or DEFAULT_TRACKING_WEBSITE)

    @staticmethod
    def _send_type(shipment: ShipmentOut) -> str:
        """ "all" when this parcel, with the lines the order already shows as sent, covers every line in full;
        "part" otherwise, so AliExpress keeps the order open for the rest. Without the order's lines: "all"."""
        order_lines = _raw_lines(shipment.order_raw)
        if not order_lines:
            return "all"
        in_parcel = {line.channel_line_id: line.quantity for line in shipment.lines}
        for item in order_lines:
            line_id = str(item.get("child_id") or item.get("child_order_id") or item.get("id") or "")
            sent_before = str(item.get("son_order_status") or item.get("order_status") or "") in LINE_SHIPPED_STATUSES
            wanted = str(item.get("product_count") or "")
            if not sent_before and (not wanted.isdigit() or in_parcel.get(line_id, 0) < int(wanted)):
                return "part"
        return "all"

    # -- stock --------------------------------------------------------------------------------------------------------

    def _inventory_update(self, items: list[StockOut], products: dict[str, list[int]]) -> dict[str, tuple[bool, str]]:
        """product id → (ok, message), from one batch call."""
        update_list = [
            {
                "product_id": int(product_id),
                "multiple_sku_update_list": [
                    {"sku_code": items[index].channel_sku, "inventory": max(0, items[index].quantity)}
                    for index in indexes
                ],
            }
            for product_id, indexes in products.items()
        ]
        params = {"mutiple_product_update_list": json.dumps(update_list, separators=(",", ":"))}
        try:
            body = self._call(
                "aliexpress.solution.batch.product.inventory.update",
                params,
                operation="stock_update",
                idempotent=True,  # it sets absolute quantities: sending it twice changes nothing
            )
        except Rejected as exc:
            return dict.fromkeys(products, (False, exc.message))
        failed = self._product_outcomes(body.get("update_failed_list"))
        succeeded = self._product_outcomes(body.get("update_successful_list"))
        whole_ok = body.get("update_success") is True
        whole_message = str(body.get("update_error_message") or body.get("update_error_code") or "")
        outcome = {}
        for product_id in products:
            if product_id in failed:
                outcome[product_id] = (False, failed[product_id])
            elif product_id in succeeded or whole_ok:
                outcome[product_id] = (True, "")
            else:
                outcome[product_id] = (
                    False,
                    whole_message or _("AliExpress did not say whether this product's stock was updated."),
                )
        return outcome

    @staticmethod
    def _product_outcomes(container: Any) -> dict[str, str]:
        outcomes = {}
        for entry in _listed(container, "synchronize_product_response_dto"):
            if isinstance(entry, Mapping) and entry.get("product_id") is not None:
                message = " ".join(str(entry[key]) for key in ("error_code", "error_message") if entry.get(key))
                outcomes[str(entry["product_id"])] = message
        return outcomes

    # -- the gateway ----------------------------------------------------------------------------------------------

    def _zone(self) -> ZoneInfo:
        name = str(self.connection.options.get("timezone") or DEFAULT_TIMEZONE)
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ChannelError(
                _("The store's time zone %(zone)s is not a known time zone.") % {"zone": name}, code="bad_option"
            ) from None

    def _current_token(self) -> AccessToken | None:
        token = self.connection.tokens.current()
        if token is None and self.connection.credentials.get("access_token"):
            token = AccessToken(str(self.connection.credentials["access_token"]))
        return token

    def _call(
        self,
        api: str,
        params: Mapping[str, Any],
        *,
        operation: str,
        idempotent: bool = True,
    ) -> Mapping[str, Any]:
        """One dotted API through ``/sync``: the ``<api>_response`` object of the answer. A refused session is
        refreshed once; refused again, or refused credentials, is AuthFailed; another refusal is Rejected.

        Every call is a form POST, as the Python SDK sends it: in a GET the session token would sit in the URL, and
        URLs end up in logs (httpx logs each one). Reads say ``idempotent`` so a time-out is retried; writes that
        must not happen twice say otherwise."""
        token = self._current_token()
        if token is None:
            token = self.connection.tokens.refresh(stale=None, grant=self._grant)
        body = self._send(api, params, token, operation=operation, idempotent=idempotent)
        error = iop_error(body)
        if error is not None and error.code in TOKEN_CODES:
            token = self.connection.tokens.refresh(stale=token, grant=self._grant)
            body = self._send(api, params, token, operation=operation, idempotent=idempotent)
            error = iop_error(body)
            if error is not None and error.code in TOKEN_CODES:
                raise AuthFailed(
                    _("AliExpress refused the store's access token even after a refresh: %(message)s")
                    % {"message": error.text}
                )
        if error is not None and error.code in CREDENTIAL_CODES:
            raise AuthFailed(_("AliExpress refused the store's app credentials: %(message)s") % {"message": error.text})
        if error is not None:
            raise Rejected(_("AliExpress refused %(api)s: %(message)s") % {"api": api, "message": error.text})
        key = api.replace(".", "_") + "_response"
        answer = body.get(key)
        if not isinstance(answer, Mapping):
            raise BadResponse(_("AliExpress's answer to %(api)s has no %(key)s.") % {"api": api, "key": key})
        return answer

    def _send(self, api, params, token, *, operation, idempotent) -> Mapping[str, Any]:
        signed = {
            "app_key": str(self.connection.credentials["app_key"]),
            "timestamp": str(int(time.time() * 1000)),
            "sign_method": "sha256",
            "method": api,
            "session": token.value,
            "simplify": "false",
            "format": "json",
            **{key: str(value) for key, value in params.items() if value is not None and value != ""},
        }
        signed["sign"] = iop_sign(str(self.connection.credentials["app_secret"]), signed)
        response = self.http.request(
            "POST",
            self.base_url + SYNC_PATH,
            operation=operation,
            throttle=throttle_wait,
            idempotent=idempotent,
            data=signed,
        )
        return self._body(response, api)

    def _grant(self, credentials: Mapping[str, Any]) -> TokenGrant:
        """``/auth/token/refresh``: a new access token, and the refresh token AliExpress sends back with it."""
        refresh_token = str(credentials.get("refresh_token") or "")
        if not refresh_token:
            raise AuthFailed(_("The store has no AliExpress refresh token: it must be authorised again."))
        signed = {
            "app_key": str(credentials["app_key"]),
            "timestamp": str(int(time.time() * 1000)),
            "sign_method": "sha256",
            "refresh_token": refresh_token,
        }
        signed["sign"] = iop_sign(str(credentials["app_secret"]), signed, REFRESH_API)
        url = (self.auth_url or self.default_auth_url).rstrip("/") + REFRESH_API
        response = self.http.request("POST", url, operation="token_refresh", throttle=throttle_wait, data=signed)
        body = self._body(response, REFRESH_API)
        error = iop_error(body)
        if error is not None:
            raise AuthFailed(
                _("AliExpress refused to refresh the store's access token: %(message)s") % {"message": error.text}
            )
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise BadResponse(_("AliExpress's token refresh answer has no access token."))
        rotated = {"access_token": access_token}
        if isinstance(body.get("refresh_token"), str) and body["refresh_token"]:
            rotated["refresh_token"] = body["refresh_token"]
        return TokenGrant(AccessToken(access_token, self._expiry(body)), rotated)

    @staticmethod
    def _expiry(body: Mapping[str, Any]) -> datetime | None:
        """``expire_time`` (epoch milliseconds), else ``expires_in`` (seconds from now), else unknown."""
        for key, to_moment in (
            ("expire_time", lambda n: datetime.fromtimestamp(n / 1000, UTC)),
            ("expires_in", lambda n: datetime.now(UTC) + timedelta(seconds=n)),
        ):
            value = body.get(key)
            if isinstance(value, str) and value.isdigit():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return to_moment(value)
        return None

    @staticmethod
    def _body(response: httpx.Response, api: str) -> Mapping[str, Any]:
        if response.status_code in (401, 403):
            raise AuthFailed(
                _("AliExpress refused %(api)s with HTTP %(status)s.") % {"api": api, "status": response.status_code},
                status=response.status_code,
            )
        if response.status_code != 200:
            raise BadResponse(
                _("AliExpress answered %(api)s with HTTP %(status)s.") % {"api": api, "status": response.status_code},
                status=response.status_code,
            )
        try:
            body = response_json(response)
        except ValueError:
            raise BadResponse(_("AliExpress's answer to %(api)s is not JSON.") % {"api": api}) from None
        if not isinstance(body, dict):
            raise BadResponse(_("AliExpress's answer to %(api)s is not an object.") % {"api": api})
        return body
