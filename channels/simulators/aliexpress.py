"""A local AliExpress Open Platform (IOP) gateway: the seller "solution" order, shipment and stock APIs.

It speaks what ``channels.adapters.aliexpress`` documents (the sources are named there): ``/sync`` for dotted
methods (GET query or POST form), ``/rest/auth/token/refresh`` for the path-style refresh, each checked against its
HMAC-SHA256 sign (this module signs on its own, so a mistake in the adapter's signing fails the tests); HTTP 200 for
everything, refusals as ``error_response{type, code, msg, request_id}`` on ``/sync`` and ``{type, code, message,
request_id}`` on ``/rest``; simulated time rendered as naive wall time in the store's zone (US Pacific by default).

What it reproduces, and how a test drives it:

- Tokens: access tokens that expire (30 days, or :meth:`expire_access_tokens`) and answer ``IllegalAccessToken``;
  refresh tokens that can be revoked (``IllegalRefreshToken``); the refresh returns a new pair with ``expire_time``
  (epoch ms) and ``expires_in``, as the documented answer of ``/auth/token/refresh`` does.
- The order list, filtered on the modified time, sorted newest first (``gmt_create``, then ``order_id``), 1-based
  pages capped at ``page_size_max``, ``target_list`` left out when a page is empty, and FINISH orders only when asked
  for by status. :meth:`after_page` runs a change between two page requests (an order changing or appearing
  mid-scan, so rows shift and one shows on two pages). :meth:`tamper` edits an order's rendered ``order_dto`` (odd
  data).
- ``receiptinfo.get`` per order, and ``info.get`` with the declared parcels (``logistic_info_list``).
- ``order.fulfill``: ``all`` moves the order to WAIT_BUYER_ACCEPT_GOODS, ``part`` to SELLER_PART_SEND_GOODS. A
  tracking number the order already has, or an order that cannot ship, is refused with ``result_success: false``
  and an error code. The real codes are not published; ``DUPLICATE_LOGISTICS_NO`` and ``ORDER_STATUS_NOT_ALLOWED``
  are this simulator's own, which is why the adapter reads the order's parcels instead of relying on them.
- The batch inventory update: at most 20 products and 200 SKUs each; a product is updated whole or not at all, and
  failures come back per product in ``update_failed_list`` (unknown product, unknown SKU, bad quantity, or what
  :meth:`fail_product` set).
- Throttling: :meth:`throttle_next` makes the next calls answer ``ApiCallLimit`` (no Retry-After), or in the TOP
  dialect ``code 7 App Call Limited`` with "This ban will last for N more seconds".

``seed_demo(count, skus, seed)`` fills it with realistic orders, always the same for the same seed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from channels.simulators.base import Request, Response, Simulator

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ACCESS_TOKEN_SECONDS = 30 * 24 * 3600
REFRESH_TOKEN_SECONDS = 60 * 24 * 3600
OPEN_FULFIL_STATUSES = frozenset({"WAIT_SELLER_SEND_GOODS", "SELLER_PART_SEND_GOODS"})
MAX_PRODUCTS_PER_UPDATE = 20
MAX_SKUS_PER_PRODUCT = 200


@dataclass
class SimLine:
    child_id: int
    product_id: int
    sku_code: str
    name: str
    quantity: int
    unit_price: Decimal
    logistics_service_name: str = "AliExpress Standard Shipping"
    memo: str = ""


@dataclass
class SimOrder:
    order_id: int
    status: str
    created: datetime
    updated: datetime
    lines: list[SimLine]
    address: dict[str, str]
    buyer_name: str
    buyer_login_id: str
    currency: str = "USD"
    paid: datetime | None = None
    shipped: datetime | None = None
    logistics_status: str = "WAIT_SELLER_SEND_GOODS"
    end_reason: str = ""
    parcels: list[dict[str, Any]] = field(default_factory=list)
    tamper: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0"))


def sign(secret: str, params: dict[str, str], api_path: str = "") -> str:
    """The IOP sign, written here independently of the adapter's."""
    joined = "".join(key + params[key] for key in sorted(params) if key != "sign")
    return hmac.new(secret.encode("utf-8"), (api_path + joined).encode("utf-8"), hashlib.sha256).hexdigest().upper()


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"currency_code": currency, "amount": f"{amount:.2f}"}


class AliExpressSimulator(Simulator):
    """One AliExpress seller account behind a local IOP gateway."""

    name = "aliexpress"

    def __init__(
        self,
        *,
        app_key: str = "sim-app-key",
        app_secret: str = "sim-app-secret",  # noqa: S107 (made-up credentials)
        access_token: str = "sim-access-0",  # noqa: S107 (made-up credentials)
        refresh_token: str = "sim-refresh-0",  # noqa: S107 (made-up credentials)
        timezone: str = "America/Los_Angeles",
        now: datetime | None = None,
        page_size_max: int = 50,
    ) -> None:
        super().__init__()
        self.app_key = app_key
        self.app_secret = app_secret
        self.zone = ZoneInfo(timezone)
        self.now = now or datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
        self.page_size_max = page_size_max
        self.orders: dict[int, SimOrder] = {}
        self.products: dict[int, dict[str, int]] = {}
        self.failing_products: dict[int, tuple[str, str]] = {}
        self.fulfilments: list[dict[str, Any]] = []
        self.stock_updates: list[dict[str, Any]] = []
        self.refreshes = 0
        self._access_tokens = {access_token: self.now + timedelta(seconds=ACCESS_TOKEN_SECONDS)}
        self._refresh_tokens = {refresh_token: self.now + timedelta(seconds=REFRESH_TOKEN_SECONDS)}
        self._throttle: list[tuple[str, int | None]] = []
        self._after_page: dict[int, list[Callable[[AliExpressSimulator], None]]] = {}
        self._ids = count(1)

    # -- the Python API for tests and the demo --------------------------------------------------------------------

    def advance(self, **delta: float) -> datetime:
        with self.lock:
            self.now += timedelta(**delta)
            return self.now

    def add_product(self, product_id: int, skus: dict[str, int]) -> int:
        with self.lock:
            self.products[int(product_id)] = dict(skus)
            return int(product_id)

    def add_order(
        self,
        *,
        lines: list[dict[str, Any]],
        order_id: int | None = None,
        status: str = "WAIT_SELLER_SEND_GOODS",
        created: datetime | None = None,
        address: dict[str, str] | None = None,
        buyer_name: str = "Jane Doe",
        currency: str = "USD",
    ) -> str:
        """An order made now (or at ``created``); ``lines`` as ``{sku_code, quantity, unit_price, product_id?,
        name?}``. Returns its id as a string."""
        with self.lock:
            created = created or self.now
            order_id = order_id or 8_100_000_000_000_000 + next(self._ids) * 1_000_003
            sim_lines = []
            for line in lines:
                product_id = int(
                    line.get("product_id") or 1_005_000_000_000_000 + zlib.crc32(line["sku_code"].encode())
                )
                self.products.setdefault(product_id, {}).setdefault(line["sku_code"], 0)
                sim_lines.append(
                    SimLine(
                        child_id=int(line.get("child_id") or order_id + len(sim_lines) + 1),
                        product_id=product_id,
                        sku_code=line["sku_code"],
                        name=line.get("name", f"Product {line['sku_code']}"),
                        quantity=int(line.get("quantity", 1)),
                        unit_price=Decimal(str(line.get("unit_price", "10.00"))),
                        memo=line.get("memo", ""),
                    )
                )
            paid = None if status == "PLACE_ORDER_SUCCESS" else created + timedelta(minutes=2)
            order = SimOrder(
                order_id=order_id,
                status=status,
                created=created,
                updated=max(created, paid or created),
                paid=paid,
                lines=sim_lines,
                address=address or dict(DEFAULT_ADDRESS),
                buyer_name=buyer_name,
                buyer_login_id=f"buyer{order_id % 100000}",
                currency=currency,
                logistics_status="NO_LOGISTICS" if status == "PLACE_ORDER_SUCCESS" else "WAIT_SELLER_SEND_GOODS",
            )
            self.orders[order_id] = order
            return str(order_id)

    def update_order(self, order_id: str | int, **changes: Any) -> None:
        """Change an order's fields (status, address, lines...); its modified time becomes ``now``."""
        with self.lock:
            order = self.orders[int(order_id)]
            for name, value in changes.items():
                setattr(order, name, value)
            order.updated = self.now

    def cancel_order(self, order_id: str | int, *, requested: bool = False) -> None:
        """The buyer asks to cancel (IN_CANCEL), or the order is closed unshipped (FINISH)."""
        with self.lock:
            self.update_order(order_id, status="IN_CANCEL" if requested else "FINISH")
            if not requested:
                self.orders[int(order_id)].end_reason = "buyer_cancel_order"

    def tamper(self, order_id: str | int, change: Callable[[dict[str, Any]], None]) -> None:
        """Edit the order's ``order_dto`` as the list renders it (a field missing, of the wrong type...)."""
        with self.lock:
            self.orders[int(order_id)].tamper.append(change)

    def after_page(self, page: int, change: Callable[[AliExpressSimulator], None]) -> None:
        """Run ``change(sim)`` once, right after the next order list answer for ``page`` is made."""
        with self.lock:
            self._after_page.setdefault(page, []).append(change)

    def throttle_next(self, calls: int, *, dialect: str = "iop", ban_seconds: int | None = None) -> None:
        """The next ``calls`` requests are refused as throttled: ``iop`` (ApiCallLimit) or ``top`` (code 7)."""
        with self.lock:
            self._throttle.extend([(dialect, ban_seconds)] * calls)

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self._access_tokens:
                self._access_tokens[token] = self.now - timedelta(seconds=1)

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self._refresh_tokens.clear()

    def fail_product(self, product_id: int, code: str, message: str) -> None:
        with self.lock:
            self.failing_products[int(product_id)] = (code, message)

    def confirmed(self, order_id: str | int) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(f) for f in self.fulfilments if f["order_id"] == int(order_id)]

    def inventory(self, product_id: int, sku_code: str) -> int | None:
        with self.lock:
            return self.products.get(int(product_id), {}).get(sku_code)

    @property
    def access_tokens(self) -> list[str]:
        with self.lock:
            return list(self._access_tokens)

    # -- the demo data ----------------------------------------------------------------------------------------------

    def seed_demo(self, count: int, skus: list[str], seed: int = 1) -> list[str]:
        """``count`` orders over the week before ``now``, deterministic for a seed: buyers in the US, UK, DE, FR, AU,
        JP, ES and CA, one to four lines of ``skus`` (one product per SKU), statuses mostly awaiting shipment."""
        rng = random.Random(seed)  # noqa: S311 (demo data, not security)
        with self.lock:
            product_of = {}
            for index, sku in enumerate(skus):
                product_of[sku] = self.add_product(1_005_006_000_000_000 + rng.randrange(10**9) * 10 + index % 10, {})
                self.products[product_of[sku]][sku] = rng.randint(0, 200)
            made = []
            for number in range(count):
                country = rng.choice(DEMO_PEOPLE)
                first, last = rng.choice(country["first"]), rng.choice(country["last"])
                city, province, postcode = rng.choice(country["places"])
                lines = [
                    {
                        "sku_code": sku,
                        "product_id": product_of[sku],
                        "quantity": rng.choices((1, 2, 3, 5), weights=(70, 20, 7, 3))[0],
                        "unit_price": Decimal(rng.randrange(199, 8999)) / 100,
                        "name": f"{rng.choice(DEMO_ADJECTIVES)} {sku}",
                    }
                    for sku in rng.sample(skus, k=min(len(skus), rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0]))
                ]
                created = self.now - timedelta(minutes=rng.randrange(10, 7 * 24 * 60))
                status = rng.choices(
                    ("WAIT_SELLER_SEND_GOODS", "PLACE_ORDER_SUCCESS", "IN_CANCEL", "FINISH", "WAIT_BUYER_ACCEPT_GOODS"),
                    weights=(80, 5, 3, 4, 8),
                )[0]
                order_id = self.add_order(
                    order_id=8_100_000_000_000_000 + seed * 10**9 + number * 7919 + rng.randrange(1000),
                    lines=lines,
                    status="WAIT_SELLER_SEND_GOODS" if status == "WAIT_BUYER_ACCEPT_GOODS" else status,
                    created=created,
                    buyer_name=f"{first} {last}",
                    address={
                        "contact_person": f"{first} {last}",
                        "detail_address": f"{rng.randint(1, 250)} {rng.choice(country['streets'])}",
                        "address2": rng.choice(("", "", f"Apt {rng.randint(1, 40)}")),
                        "address": "",
                        "city": city,
                        "province": province,
                        "zip": postcode,
                        "country": country["code"],
                        "country_name": country["name"],
                        "phone_country": country["calling"],
                        "mobile_no": str(rng.randint(10**8, 10**9 - 1)),
                    },
                )
                order = self.orders[int(order_id)]
                if status == "FINISH":
                    order.end_reason = "buyer_cancel_order"
                if status == "WAIT_BUYER_ACCEPT_GOODS":
                    order.status, order.logistics_status = status, "SELLER_SEND_GOODS"
                    order.shipped = created + (self.now - created) * rng.uniform(0.3, 0.9)  # never in the future
                    tracking = f"LP{rng.randrange(10**11):011d}CN"
                    order.parcels.append(self._parcel(order, tracking, "CAINIAO_STANDARD", sent=order.shipped))
                order.updated = max(order.updated, order.shipped or order.created)
                made.append(order_id)
            return made

    # -- WSGI -------------------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        params = {key: values[0] for key, values in request.query.items()}
        if request.method == "POST":
            params.update(request.form())
        if request.path == "/sync":
            return self._sync(params)
        if request.path.startswith("/rest"):
            return self._rest(request.path[len("/rest") :] or params.get("method", ""), params)
        return Response(404, {"type": "ISV", "code": "InvalidApiPath", "message": "The specified API path is invalid"})

    def _sync(self, params: dict[str, str]) -> Response:
        with self.lock:
            refusal = self._gate(params, api_path="")
            if refusal:
                return Response(200, {"error_response": refusal})
            expires = self._access_tokens.get(params.get("session", ""))
            if expires is None or expires <= self.now:
                return self._sync_error("ISV", "IllegalAccessToken", "The specified access token is invalid or expired")
            handler = {
                "aliexpress.solution.order.get": self._order_list,
                "aliexpress.solution.order.receiptinfo.get": self._receipt,
                "aliexpress.solution.order.info.get": self._order_info,
                "aliexpress.solution.order.fulfill": self._fulfill,
                "aliexpress.solution.batch.product.inventory.update": self._inventory_update,
            }.get(params.get("method", ""))
            if handler is None:
                return self._sync_error("ISV", "InvalidApiPath", "The specified API path is invalid")
            try:
                answer = handler(params)
            except _Refused as refused:
                return self._sync_error(refused.kind, refused.code, refused.message)
            if isinstance(answer, Response):
                return answer
            answer["request_id"] = self._request_id()
            return Response(200, {params["method"].replace(".", "_") + "_response": answer})

    def _rest(self, api_path: str, params: dict[str, str]) -> Response:
        with self.lock:
            refusal = self._gate(params, api_path=api_path)
            if refusal:
                refusal["message"] = refusal.pop("msg")
                return Response(200, refusal)
            if api_path != "/auth/token/refresh":
                return Response(200, self._rest_error("ISV", "InvalidApiPath", "The specified API path is invalid"))
            expires = self._refresh_tokens.get(params.get("refresh_token", ""))
            if expires is None or expires <= self.now:
                return Response(
                    200,
                    self._rest_error("ISV", "IllegalRefreshToken", "The specified refresh token is invalid or expired"),
                )
            self.refreshes += 1
            access, refresh = f"sim-access-{self.refreshes}", f"sim-refresh-{self.refreshes}"
            access_expires = self.now + timedelta(seconds=ACCESS_TOKEN_SECONDS)
            refresh_expires = self.now + timedelta(seconds=REFRESH_TOKEN_SECONDS)
            self._access_tokens[access] = access_expires
            self._refresh_tokens[refresh] = refresh_expires
            return Response(
                200,
                {
                    "access_token": access,
                    "refresh_token": refresh,
                    "expire_time": int(access_expires.timestamp() * 1000),
                    "expires_in": ACCESS_TOKEN_SECONDS,
                    "refresh_token_valid_time": int(refresh_expires.timestamp() * 1000),
                    "refresh_expires_in": REFRESH_TOKEN_SECONDS,
                    "seller_id": "2000000001",
                    "user_nick": "sim_seller",
                    "account_platform": "seller_center",
                    "sp": "ae",
                    "locale": "en_US",
                    "code": "0",
                    "request_id": self._request_id(),
                },
            )

    def _gate(self, params: dict[str, str], *, api_path: str) -> dict[str, str] | None:
        """What every call passes first: app key, sign, throttling. A refusal in the ``error_response`` shape."""
        if params.get("app_key") != self.app_key:
            return self._error_body("ISV", "InvalidAppKey", "The specified App Key is invalid")
        if not params.get("timestamp", "").isdigit():
            return self._error_body("ISV", "MissingTimestamp", "The timestamp parameter is missing or invalid")
        if params.get("sign_method") != "sha256" or params.get("sign") != sign(self.app_secret, params, api_path):
            return self._error_body(
                "ISV", "IncompleteSignature", "The request signature does not conform to platform standards"
            )
        if self._throttle:
            dialect, ban = self._throttle.pop(0)
            if dialect == "top":
                body = self._error_body("ISP", 7, "App Call Limited")
                body["sub_code"] = "accesscontrol.limited-by-api-access-count"
                body["sub_msg"] = f"This ban will last for {ban or 1} more seconds"
                return body
            return self._error_body("ISP", "ApiCallLimit", "The request has exceeded the API call limit")
        return None

    # -- the APIs -----------------------------------------------------------------------------------------------------

    def _order_list(self, params: dict[str, str]) -> dict[str, Any]:
        query = self._json_param(params, "param0")
        page_size = query.get("page_size")
        current_page = query.get("current_page")
        if not isinstance(page_size, int) or not isinstance(current_page, int) or page_size < 1 or current_page < 1:
            raise _Refused("ISV", "InvalidParameter", "page_size and current_page must be positive numbers")
        page_size = min(page_size, self.page_size_max)
        statuses = set(query.get("order_status_list") or ([query["order_status"]] if query.get("order_status") else []))
        bounds = {key: self._local(query[key]) for key in _DATE_KEYS if query.get(key)}
        rows = [
            order
            for order in self.orders.values()
            if (order.status in statuses if statuses else order.status != "FINISH")
            and bounds.get("modified_date_start", order.updated)
            <= order.updated
            <= bounds.get("modified_date_end", order.updated)
            and bounds.get("create_date_start", order.created)
            <= order.created
            <= bounds.get("create_date_end", order.created)
        ]
        rows.sort(key=lambda order: (order.created, order.order_id), reverse=True)
        page = rows[(current_page - 1) * page_size : current_page * page_size]
        result: dict[str, Any] = {
            "success": True,
            "total_count": len(rows),
            "page_size": page_size,
            "current_page": current_page,
            "total_page": math.ceil(len(rows) / page_size),
            "time_stamp": self._text(self.now),
        }
        if page:
            result["target_list"] = {"order_dto": [self._order_dto(order) for order in page]}
        for change in self._after_page.pop(current_page, []):
            change(self)
        return {"result": result}

    def _receipt(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._order_of(self._json_param(params, "param1"))
        address = {"country_name": "", "phone_country": "", "phone_area": "", "phone_number": "", "mobile_no": ""}
        address.update(order.address)
        return {"result": {key: value for key, value in address.items() if value != ""}}

    def _order_info(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._order_of(self._json_param(params, "param1"))
        data = {
            "id": order.order_id,
            "order_status": order.status,
            "logistics_status": order.logistics_status,
            "gmt_create": self._text(order.created),
            "gmt_modified": self._text(order.updated),
            "order_amount": money(order.total, order.currency),
            "buyer_signer_fullname": order.buyer_name,
            "buyerloginid": order.buyer_login_id,
            "receipt_address": dict(order.address),
            "child_order_list": {
                "global_aeop_tp_child_order_dto": [
                    {
                        "id": line.child_id,
                        "child_order_id": str(line.child_id),
                        "product_id": line.product_id,
                        "sku_code": line.sku_code,
                        "product_name": line.name,
                        "product_count": line.quantity,
                        "product_price": money(line.unit_price, order.currency),
                        "order_status": order.status,
                        "logistics_service_name": line.logistics_service_name,
                    }
                    for line in order.lines
                ]
            },
            "logistic_info_list": {"global_aeop_tp_logistic_info_dto": [dict(p) for p in order.parcels]},
        }
        if order.paid:
            data["gmt_pay_success"] = self._text(order.paid)
        return {"result": {"result_success": True, "data": data}}

    def _fulfill(self, params: dict[str, str]) -> dict[str, Any]:
        for name in ("service_name", "out_ref", "send_type", "logistics_no"):
            if not params.get(name):
                raise _Refused("ISV", "MissingParameter", f"The input parameter “{name}” that is mandatory is missing")
        if params["send_type"] not in {"all", "part"}:
            raise _Refused("ISV", "InvalidParameter", "send_type must be all or part")
        if params["service_name"].upper().startswith("OTHER") and not params.get("tracking_website"):
            return self._business_refusal("TRACKING_WEBSITE_REQUIRED", "tracking_website is required for OTHER")
        order = self.orders.get(int(params["out_ref"])) if params["out_ref"].isdigit() else None
        if order is None:
            return self._business_refusal("ORDER_NOT_FOUND", "The order does not exist")
        if any(parcel["logistics_no"] == params["logistics_no"] for parcel in order.parcels):
            return self._business_refusal("DUPLICATE_LOGISTICS_NO", "The logistics number was already declared")
        if order.status not in OPEN_FULFIL_STATUSES:
            return self._business_refusal("ORDER_STATUS_NOT_ALLOWED", f"Order status {order.status} cannot be shipped")
        parcel = self._parcel(order, params["logistics_no"], params["service_name"])
        order.parcels.append(parcel)
        order.shipped = self.now
        if params["send_type"] == "all":
            order.status, order.logistics_status = "WAIT_BUYER_ACCEPT_GOODS", "SELLER_SEND_GOODS"
        else:
            order.status, order.logistics_status = "SELLER_PART_SEND_GOODS", "SELLER_SEND_PART_GOODS"
        order.updated = self.now
        self.fulfilments.append(
            {
                "order_id": order.order_id,
                "logistics_no": params["logistics_no"],
                "service_name": params["service_name"],
                "send_type": params["send_type"],
                "tracking_website": params.get("tracking_website", ""),
                "description": params.get("description", ""),
                "at": self.now,
            }
        )
        return {"result": {"result_success": True}}

    def _inventory_update(self, params: dict[str, str]) -> dict[str, Any]:
        products = self._json_param(params, "mutiple_product_update_list")
        if not isinstance(products, list) or not products:
            raise _Refused("ISV", "InvalidParameter", "mutiple_product_update_list must be a non-empty list")
        if len(products) > MAX_PRODUCTS_PER_UPDATE:
            return {
                "update_success": False,
                "update_error_code": "PRODUCT_COUNT_EXCEED",
                "update_error_message": f"At most {MAX_PRODUCTS_PER_UPDATE} products can be updated at once",
            }
        succeeded, failed = [], []
        for product in products:
            product_id = product.get("product_id") if isinstance(product, dict) else None
            problem = self._inventory_problem(
                product_id, product.get("multiple_sku_update_list") if product_id else None
            )
            if problem:
                failed.append({"product_id": product_id, "error_code": problem[0], "error_message": problem[1]})
                continue
            for sku in product["multiple_sku_update_list"]:
                self.products[product_id][sku["sku_code"]] = sku["inventory"]
                self.stock_updates.append(
                    {"product_id": product_id, "sku_code": sku["sku_code"], "inventory": sku["inventory"]}
                )
            succeeded.append({"product_id": product_id})
        answer: dict[str, Any] = {"update_success": not failed}
        if succeeded:
            answer["update_successful_list"] = {"synchronize_product_response_dto": succeeded}
        if failed:
            answer["update_failed_list"] = {"synchronize_product_response_dto": failed}
        return answer

    def _inventory_problem(self, product_id: Any, skus: Any) -> tuple[str, str] | None:
        if not isinstance(product_id, int) or product_id not in self.products:
            return "PRODUCT_NOT_FOUND", f"The product {product_id} does not exist or is not yours"
        if product_id in self.failing_products:
            return self.failing_products[product_id]
        if not isinstance(skus, list) or not skus or len(skus) > MAX_SKUS_PER_PRODUCT:
            return "SKU_LIST_INVALID", f"multiple_sku_update_list must hold 1 to {MAX_SKUS_PER_PRODUCT} SKUs"
        for sku in skus:
            if not isinstance(sku, dict) or sku.get("sku_code") not in self.products[product_id]:
                return (
                    "SKU_NOT_FOUND",
                    f"The SKU {sku.get('sku_code') if isinstance(sku, dict) else sku} is not in the product",
                )
            inventory = sku.get("inventory")
            if not isinstance(inventory, int) or isinstance(inventory, bool) or not 0 <= inventory <= 999_999:
                return "INVENTORY_INVALID", f"The inventory {inventory!r} must be between 0 and 999999"
        return None

    # -- rendering ----------------------------------------------------------------------------------------------------

    def _order_dto(self, order: SimOrder) -> dict[str, Any]:
        dto: dict[str, Any] = {
            "order_id": order.order_id,
            "order_status": order.status,
            "logistics_status": order.logistics_status,
            "fund_status": "NOT_PAY" if order.paid is None else "PAY_SUCCESS",
            "frozen_status": "NO_FROZEN",
            "issue_status": "NO_ISSUE",
            "biz_type": "AE_COMMON",
            "gmt_create": self._text(order.created),
            "gmt_update": self._text(order.updated),
            "pay_amount": money(order.total, order.currency),
            "buyer_login_id": order.buyer_login_id,
            "buyer_signer_fullname": order.buyer_name,
            "seller_login_id": "cn1500000000abcd",
            "seller_signer_fullname": "Seabridge Sim Store",
            "payment_type": "MIXEDCARD",
            "end_reason": order.end_reason,
            "has_request_loan": False,
            "phone": False,
            "timeout_left_time": 5 * 24 * 3600 * 1000,
            "product_list": {
                "order_product_dto": [
                    {
                        "child_id": line.child_id,
                        "order_id": order.order_id,
                        "product_id": line.product_id,
                        "sku_code": line.sku_code,
                        "product_name": line.name,
                        "product_count": line.quantity,
                        "product_unit": "piece",
                        "product_unit_price": money(line.unit_price, order.currency),
                        "total_product_amount": money(line.unit_price * line.quantity, order.currency),
                        "son_order_status": order.status,
                        "show_status": order.status,
                        "logistics_type": "CAINIAO_STANDARD",
                        "logistics_service_name": line.logistics_service_name,
                        "memo": line.memo,
                        "money_back3x": False,
                    }
                    for line in order.lines
                ]
            },
        }
        if order.paid:
            dto["gmt_pay_time"] = self._text(order.paid)
        if order.shipped:
            dto["gmt_send_goods_time"] = self._text(order.shipped)
        for change in order.tamper:
            change(dto)
        return dto

    def _parcel(
        self, order: SimOrder, logistics_no: str, service_name: str, *, sent: datetime | None = None
    ) -> dict[str, Any]:
        return {
            "logistics_no": logistics_no,
            "logistics_type_code": service_name,
            "logistics_service_name": service_name,
            "ship_order_id": 9_000_000_000 + len(self.fulfilments) * 17 + len(order.parcels),
            "gmt_send": self._text(sent or self.now),
            "receive_status": "default",
            "have_tracking_info": False,
        }

    def _text(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime(TIME_FORMAT)

    def _local(self, text: Any) -> datetime:
        try:
            return datetime.strptime(str(text), TIME_FORMAT).replace(tzinfo=self.zone).astimezone(UTC)
        except ValueError:
            raise _Refused("ISV", "InvalidParameter", f"{text!r} is not a yyyy-MM-dd HH:mm:ss time") from None

    def _json_param(self, params: dict[str, str], name: str) -> Any:
        if not params.get(name):
            raise _Refused("ISV", "MissingParameter", f"The input parameter “{name}” that is mandatory is missing")
        try:
            return json.loads(params[name])
        except ValueError:
            raise _Refused("ISV", "InvalidParameter", f"The input parameter “{name}” is not valid JSON") from None

    def _order_of(self, query: Any) -> SimOrder:
        order_id = query.get("order_id") if isinstance(query, dict) else None
        order = self.orders.get(order_id) if isinstance(order_id, int) else None
        if order is None:
            raise _Refused("ISP", "ORDER_NOT_FOUND", f"The order {order_id} does not exist")
        return order

    def _business_refusal(self, code: str, message: str) -> dict[str, Any]:
        return {"result": {"result_success": False, "error_code": code, "error_message": message}}

    def _request_id(self) -> str:
        return f"sim{next(self._ids):020d}"

    def _error_body(self, kind: str, code: str | int, message: str) -> dict[str, Any]:
        return {"type": kind, "code": code, "msg": message, "request_id": self._request_id()}

    def _sync_error(self, kind: str, code: str, message: str) -> Response:
        return Response(200, {"error_response": self._error_body(kind, code, message)})

    def _rest_error(self, kind: str, code: str, message: str) -> dict[str, Any]:
        return {"type": kind, "code": code, "message": message, "request_id": self._request_id()}


class _Refused(Exception):
    def __init__(self, kind: str, code: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.code, self.message = kind, code, message


_DATE_KEYS = ("modified_date_start", "modified_date_end", "create_date_start", "create_date_end")

DEFAULT_ADDRESS = {
    "contact_person": "Jane Doe",
    "detail_address": "1600 Amphitheatre Parkway",
    "address2": "Building 4",
    "city": "Mountain View",
    "province": "California",
    "zip": "94043",
    "country": "US",
    "country_name": "United States",
    "phone_country": "1",
    "mobile_no": "6505550100",
}

DEMO_ADJECTIVES = ("Wireless", "Compact", "Foldable", "Waterproof", "Portable", "Magnetic", "Silicone", "LED")

DEMO_PEOPLE = [
    {
        "code": "US",
        "name": "United States",
        "calling": "1",
        "first": ("James", "Mary", "Robert", "Linda", "Michael", "Sarah"),
        "last": ("Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller"),
        "streets": ("Main Street", "Oak Avenue", "Maple Drive", "Sunset Boulevard"),
        "places": (("Austin", "Texas", "73301"), ("Denver", "Colorado", "80202"), ("Seattle", "Washington", "98101")),
    },
    {
        "code": "UK",  # AliExpress's code for the United Kingdom
        "name": "United Kingdom",
        "calling": "44",
        "first": ("Oliver", "Amelia", "Harry", "Isla", "George", "Emily"),
        "last": ("Taylor", "Davies", "Evans", "Wilson", "Thomas", "Roberts"),
        "streets": ("High Street", "Station Road", "Church Lane", "Victoria Road"),
        "places": (("Manchester", "Greater Manchester", "M1 1AE"), ("Leeds", "West Yorkshire", "LS1 4DY")),
    },
    {
        "code": "DE",
        "name": "Germany",
        "calling": "49",
        "first": ("Lukas", "Anna", "Leon", "Mia", "Felix", "Lea"),
        "last": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker"),
        "streets": ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schulstraße"),
        "places": (
            ("Berlin", "Berlin", "10115"),
            ("München", "Bayern", "80331"),
            ("Köln", "Nordrhein-Westfalen", "50667"),
        ),
    },
    {
        "code": "FR",
        "name": "France",
        "calling": "33",
        "first": ("Lucas", "Emma", "Hugo", "Jade", "Louis", "Chloé"),
        "last": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit"),
        "streets": ("rue de la Paix", "avenue Victor Hugo", "rue Pasteur", "boulevard Voltaire"),
        "places": (("Lyon", "Auvergne-Rhône-Alpes", "69001"), ("Nantes", "Pays de la Loire", "44000")),
    },
    {
        "code": "AU",
        "name": "Australia",
        "calling": "61",
        "first": ("Jack", "Charlotte", "William", "Olivia", "Noah", "Ava"),
        "last": ("Jones", "Wilson", "Anderson", "White", "Thompson", "Martin"),
        "streets": ("George Street", "Collins Street", "Queen Street", "King William Street"),
        "places": (("Sydney", "New South Wales", "2000"), ("Melbourne", "Victoria", "3000")),
    },
    {
        "code": "JP",
        "name": "Japan",
        "calling": "81",
        "first": ("Haruto", "Yui", "Sota", "Hina", "Yuto", "Sakura"),
        "last": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito"),
        "streets": ("Chuo-dori", "Meiji-dori", "Omotesando", "Aoyama-dori"),
        "places": (("Shibuya-ku", "Tokyo", "150-0002"), ("Kita-ku", "Osaka", "530-0001")),
    },
    {
        "code": "ES",
        "name": "Spain",
        "calling": "34",
        "first": ("Hugo", "Lucía", "Martín", "Sofía", "Pablo", "Martina"),
        "last": ("García", "Fernández", "González", "Rodríguez", "López", "Martínez"),
        "streets": ("Calle Mayor", "Gran Vía", "Calle de Alcalá", "Paseo de Gracia"),
        "places": (("Madrid", "Madrid", "28013"), ("Barcelona", "Barcelona", "08007")),
    },
    {
        "code": "CA",
        "name": "Canada",
        "calling": "1",
        "first": ("Liam", "Emma", "Benjamin", "Chloe", "Ethan", "Zoe"),
        "last": ("Tremblay", "Roy", "Gagnon", "Lee", "Wong", "MacDonald"),
        "streets": ("Yonge Street", "Rue Sainte-Catherine", "Granville Street", "Bank Street"),
        "places": (("Toronto", "Ontario", "M5V 2T6"), ("Vancouver", "British Columbia", "V6B 1A1")),
    },
]
