"""4PX (递四方) open platform (开放平台, "FOP"), as its documents and SDKs describe it, served on 127.0.0.1.

- One gateway, ``POST /router/api/service`` (production ``https://open.4px.com/router/api/service``, sandbox
  ``https://open-test.4px.com/router/api/service``). Public parameters in the query: ``app_key``, ``format``
  (json), ``method``, ``timestamp`` (ms), ``v`` (the method's version), ``sign``, optional ``language`` (cn, en)
  and ``access_token`` (only for software vendors). The business parameters are a JSON body.
- ``sign`` = MD5, hex, of ``app_key{..}format{..}method{..}timestamp{..}v{..}`` (the public parameters but sign,
  access_token and language, in name order, name then value, no ``=``/``&``) + the body as sent + the app secret.
- Checked in that order: the method (and version) exists — else HTTP 500 and an ApiException text, as integrators
  saw; the app_key — else 000013; the sign — else 000012; the body is JSON — else 000004.
- Every answer: ``{"result": "1" | "2" | "0", "msg", "errors": [{error_code, error_msg, error_data,
  reference_code}], "data"}`` — 1 done, 2 partly done, 0 refused; ``msg``/``error_msg`` in the request's language.
- ``ds.xms.order.create`` 1.1.0 (``ref_no`` unique among orders not closed; required fields named in the error),
  ``ds.xms.order.get`` 1.1.0 (by ref_no, 4PX number or channel number → a list of ``consignment_info``),
  ``ds.xms.label.get`` 1.1.0 (``label_size`` label_80x90 … label_100x200 → ``label_url_info.logistics_label``, a
  PDF of that size), ``ds.xms.order.cancel`` 1.0.0 (only in status P, forecast; DS000014 after),
  ``tr.order.tracking.get`` 1.0.0 (``deliveryOrderNo``: a 4PX or channel number → ``trackingList``, newest first,
  ``occurDatetime`` in China time), ``ds.xms.estimated_cost.get`` 1.0.0 (``data`` is the JSON of the list, as a
  text; ``lump_sum_fee`` in CNY), ``ds.xms.api.collect.create.big`` 1.0.0 (a bag booked for pickup: its parcels
  move from P to V, handed over; parcels it cannot take are named in ``errors`` by ``reference_code``, result 2)
  and ``ds.xms.api.collect.print.big`` 1.0.0 (``data``: a URL to the bag label PDF).
- Consignment status: P forecast, V handed over, H in the warehouse, C gone out, X closed (cancelled).

Shapes no source shows are the simulator's choice: the "ref_no exists" error (DS000000, "已存在"), the tracking
"not found" error, and which products carry a last-mile number (A1 here).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from core.simulators import Request, Response, Simulator, mm_pt, pdf_document

GATEWAY = "/router/api/service"
FILES = "/fss/"
CHINA = ZoneInfo("Asia/Shanghai")
VERSIONS = {
    "ds.xms.order.create": "1.1.0",
    "ds.xms.order.get": "1.1.0",
    "ds.xms.label.get": "1.1.0",
    "ds.xms.order.cancel": "1.0.0",
    "ds.xms.estimated_cost.get": "1.0.0",
    "ds.xms.api.collect.create.big": "1.0.0",
    "ds.xms.api.collect.print.big": "1.0.0",
    "tr.order.tracking.get": "1.0.0",
}
# Product code → (name, issues the last-mile number at once, CNY registration fee, CNY per kg, days).
PRODUCTS = {
    "PY": ("4PX联邮通标准挂号", False, Decimal("18"), Decimal("80"), "7-15"),
    "F3": ("4PX联邮通优先挂号", False, Decimal("21"), Decimal("95"), "5-10"),
    "A1": ("DHL出口", True, Decimal("120"), Decimal("260"), "3-5"),
}
LABEL_SIZES_MM = {
    "label_80x90": (80, 90),
    "label_90x100": (90, 100),
    "label_100x100": (100, 100),
    "label_100x150": (100, 150),
    "label_100x200": (100, 200),
}
PICKUP_REQUIRED = ("name", "phone", "country", "province", "city", "district", "detail_address")
HAN = re.compile(r"[\u4e00-\u9fff]")


def label_pdf(lines: list[str], width_mm: int = 100, height_mm: int = 100) -> bytes:
    """A real one-page PDF of ``width_mm`` × ``height_mm`` holding ``lines``."""
    return pdf_document(mm_pt(width_mm), mm_pt(height_mm), lines)


@dataclass
class FpxOrder:
    ref_no: str
    tracking_no: str  # 4px_tracking_no
    consignment_no: str  # ds_consignment_no
    channel_no: str  # logistics_channel_no, "" until the last mile gives one
    product: str
    body: dict[str, Any]
    created_ms: int
    status: str = "P"
    bag_collect_no: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)  # oldest first; served newest first

    @property
    def numbers(self) -> set[str]:
        return {number for number in (self.ref_no, self.tracking_no, self.consignment_no, self.channel_no) if number}


@dataclass
class FpxBag:
    bag_collect_no: str
    bag_no: str
    pickup: dict[str, Any]
    orders: list[FpxOrder]


class _Refusal(Exception):
    def __init__(self, code: str, message: str, reference: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.reference = code, message, reference


class FourPXSimulator(Simulator):
    name = "4px"

    def __init__(self, app_key: str = "sim-app-key", app_secret: str = "sim-app-secret") -> None:  # noqa: S107 - a simulator's
        super().__init__()
        self.app_key, self.app_secret = app_key, app_secret
        self.orders: list[FpxOrder] = []  # every order made, cancelled ones too (a ref_no may be used again then)
        self.bags: dict[str, FpxBag] = {}
        self.files: dict[str, bytes] = {}
        self.refused_cities: set[str] = set()  # addresses 4PX will not deliver to (a test sets them)
        self._serial = itertools.count(1)

    # -- for tests ----------------------------------------------------------------------------------------------

    def order(self, number: str) -> FpxOrder:
        """The order known by ``number`` (ref_no, 4PX number, channel number), the live one first."""
        found = self._find(number)
        if found is None:
            raise KeyError(number)
        return found

    def move(
        self, number: str, code: str, content: str, when: str, location: str = "", time_zone: str | None = None
    ) -> None:
        """A tracking step: ``when`` as 4PX writes it ("2026-11-20 10:00:00", China time unless ``time_zone``)."""
        event = {"businessLinkCode": code, "occurDatetime": when, "occurLocation": location, "trackingContent": content}
        if time_zone:
            event["timeZone"] = time_zone
        self.order(number).events.append(event)

    # -- the gateway --------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and request.path.startswith(FILES):
            document = self.files.get(request.path.removeprefix(FILES))
            return Response(200, document, {"Content-Type": "application/pdf"}) if document else Response(404, b"")
        if request.path.rstrip("/") != GATEWAY or request.method != "POST":
            return Response(404, "Not Found")
        method, version = request.arg("method") or "", request.arg("v") or ""
        handler = getattr(self, "_" + method.replace(".", "_"), None) if method in VERSIONS else None
        if handler is None or VERSIONS[method] != version:
            return Response(500, f"com.fpx.open.exception.ApiException: API接口不存在 (method={method}, v={version})")
        language = "en" if request.arg("language") == "en" else "cn"
        if request.arg("app_key") != self.app_key:
            return self._refused(
                language, _Refusal("000013", self._say(language, "app_key校验失败", "app_key validation failed"))
            )
        if (request.arg("sign") or "").lower() != self._sign(request):
            return self._refused(
                language, _Refusal("000012", self._say(language, "签名验证错误", "Signature verification error"))
            )
        if request.arg("format") != "json" or not (request.arg("timestamp") or "").isdigit():
            return self._refused(
                language, _Refusal("000014", self._say(language, "认证参数无效", "Invalid authentication parameters"))
            )
        try:
            body = json.loads(request.body.decode() or "{}")
        except ValueError:
            return self._refused(
                language, _Refusal("000004", self._say(language, "JSON解析失败", "JSON parsing failed"))
            )
        if not isinstance(body, dict):
            return self._refused(
                language, _Refusal("000004", self._say(language, "JSON解析失败", "JSON parsing failed"))
            )
        with self.lock:
            try:
                return handler(body, language, request)
            except _Refusal as refusal:
                return self._refused(language, refusal)

    def _sign(self, request: Request) -> str:
        params = {name: values[0] for name, values in request.query.items() if values}
        signed = "".join(
            f"{name}{params[name]}" for name in sorted(params) if name not in {"sign", "access_token", "language"}
        )
        return hashlib.md5(signed.encode() + request.body + self.app_secret.encode(), usedforsecurity=False).hexdigest()

    @staticmethod
    def _say(language: str, cn: str, en: str) -> str:
        return en if language == "en" else cn

    def _ok(self, language: str, data: Any, errors: list[_Refusal] | None = None) -> Response:
        return Response(
            200,
            {
                "result": "2" if errors else "1",
                "msg": self._say(language, "系统处理成功", "System processing succeeded"),
                "errors": [self._error(error) for error in errors] if errors else None,
                "data": data,
            },
        )

    def _refused(self, language: str, *refusals: _Refusal) -> Response:
        return Response(
            200,
            {
                "result": "0",
                "msg": self._say(language, "系统处理失败", "System processing failed"),
                "errors": [self._error(refusal) for refusal in refusals],
                "data": None,
            },
        )

    @staticmethod
    def _error(refusal: _Refusal) -> dict[str, Any]:
        return {
            "error_code": refusal.code,
            "error_msg": refusal.message,
            "error_data": None,
            "reference_code": refusal.reference or None,
        }

    def _find(self, number: str, *, by: tuple[str, ...] | None = None) -> FpxOrder | None:
        matches = [
            order
            for order in self.orders
            if number
            and (
                number in order.numbers
                if by is None
                else number in {getattr(order, name) for name in by if getattr(order, name)}
            )
        ]
        live = [order for order in matches if order.status != "X"]
        return (live or matches or [None])[-1]

    def _file(self, request: Request, document: bytes) -> str:
        key = f"{next(self._serial)}.pdf"
        self.files[key] = document
        return request.url(f"{FILES}{key}")

    @staticmethod
    def _required(language: str, name: str, reference: str = "", code: str = "DS000004") -> _Refusal:
        return _Refusal(code, FourPXSimulator._say(language, f"{name}不能为空", f"{name} is required"), reference)

    # -- direct shipping (直发) -------------------------------------------------------------------------------

    def _ds_xms_order_create(self, body: dict[str, Any], language: str, request: Request) -> Response:
        ref_no = str(body.get("ref_no") or "")
        if not ref_no:
            raise _Refusal("DS000005", self._say(language, "订单号不能为空", "Order number cannot be empty"))
        self._check_order(body, language, ref_no)
        existing = self._find(ref_no, by=("ref_no",))
        if existing is not None and existing.status != "X":
            raise _Refusal(
                "DS000000",
                self._say(language, f"参考号[{ref_no}]已存在", f"Ref_no: {ref_no} already exists"),
                ref_no,
            )
        product = body["logistics_service_info"]["logistics_product_code"]
        serial = next(self._serial)
        order = FpxOrder(
            ref_no=ref_no,
            tracking_no=f"3009{serial:08d}",
            consignment_no=f"DS3009{serial:08d}",
            channel_no=f"JD{serial:08d}DE" if PRODUCTS[product][1] else "",
            product=product,
            body=body,
            created_ms=int(datetime.now(CHINA).timestamp() * 1000),
        )
        order.events.append(
            {
                "businessLinkCode": "FPX_L_RPIF",
                "occurDatetime": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                "occurLocation": "",
                "trackingContent": self._say(language, "已收到包裹信息", "Parcel information received"),
            }
        )
        self.orders.append(order)
        return self._ok(
            language,
            {
                "ds_consignment_no": order.consignment_no,
                "4px_tracking_no": order.tracking_no,
                "label_barcode": "",
                "ref_no": ref_no,
                "logistics_channel_no": order.channel_no,
                "logistics_channel_name": PRODUCTS[product][0] if order.channel_no else "",
                "oda_result_sign": "N",
            },
        )

    def _check_order(self, body: dict[str, Any], language: str, ref_no: str) -> None:
        def need(value: Any, name: str) -> None:
            if value in (None, "", [], {}):
                raise self._required(language, name, ref_no)

        need(body.get("business_type"), "business_type")
        if body["business_type"] != "BDS":
            raise _Refusal("DS000044", self._say(language, "业务类型无效", "Invalid business type"), ref_no)
        if body.get("duty_type") not in ("U", "P"):
            raise _Refusal("DS000004", self._say(language, "duty_type只能为U或P", "duty_type must be U or P"), ref_no)
        product = (body.get("logistics_service_info") or {}).get("logistics_product_code")
        need(product, "logistics_service_info.logistics_product_code")
        if product not in PRODUCTS:
            raise _Refusal(
                "DS000004",
                self._say(language, f"物流产品[{product}]不存在", f"Logistics product {product} does not exist"),
                ref_no,
            )
        required = {
            "sender": ("first_name", "country", "city"),
            "recipient_info": ("first_name", "country", "city", "street"),
        }
        for side, names in required.items():
            address = body.get(side) or {}
            for name in names:
                need(address.get(name), f"{side}.{name}")
        recipient = body["recipient_info"]
        if recipient["city"] in self.refused_cities:
            raise _Refusal(
                "DS000000",
                self._say(
                    language,
                    f"收件人地址无法派送: {recipient['city']}",
                    f"The recipient's address is not deliverable: {recipient['city']}",
                ),
                ref_no,
            )
        if str((body.get("deliver_type_info") or {}).get("deliver_type")) not in ("1", "2", "3", "5"):
            raise _Refusal("DS000042", self._say(language, "到仓方式无效", "Invalid delivery type"), ref_no)
        parcels = body.get("parcel_list")
        need(parcels, "parcel_list")
        for index, parcel in enumerate(parcels):
            where = f"parcel_list[{index}]"
            if not isinstance(parcel.get("weight"), int) or parcel["weight"] <= 0:
                raise _Refusal(
                    "DS000004",
                    self._say(
                        language, f"{where}.weight须为大于0的整数(克)", f"{where}.weight must be whole grams over 0"
                    ),
                    ref_no,
                )
            need(parcel.get("currency"), f"{where}.currency")
            declared = parcel.get("declare_product_info")
            need(declared, f"{where}.declare_product_info")
            for number, line in enumerate(declared):
                item = f"{where}.declare_product_info[{number}]"
                for name in ("declare_product_name_en", "declare_product_name_cn", "declare_product_code_qty",
                             "declare_unit_price_export", "currency_export"):  # fmt: skip
                    need(line.get(name), f"{item}.{name}")
                if not HAN.search(str(line["declare_product_name_cn"])):
                    raise _Refusal(
                        "DS000004",
                        self._say(
                            language,
                            f"{item}.declare_product_name_cn必须至少包含一个中文",
                            f"{item}.declare_product_name_cn must hold Chinese",
                        ),
                        ref_no,
                    )
                if line["currency_export"] != parcel["currency"]:
                    raise _Refusal(
                        "DS000004",
                        self._say(
                            language,
                            f"{item}.currency_export与包裹币种不一致",
                            f"{item}.currency_export differs from the parcel's currency",
                        ),
                        ref_no,
                    )

    def _ds_xms_order_get(self, body: dict[str, Any], language: str, request: Request) -> Response:
        number = str(body.get("request_no") or "")
        if not number:
            raise _Refusal("DS000015", self._say(language, "请求单号不能为空", "Request ID cannot be empty"))
        found = [order for order in self.orders if number in order.numbers]
        if not found:
            raise _Refusal("DS000017", self._say(language, "订单不存在", "Order not found"), number)
        return self._ok(
            language,
            [
                {
                    "consignment_info": {
                        "4px_tracking_no": order.tracking_no,
                        "ds_consignment_no": order.consignment_no,
                        "ref_no": order.ref_no,
                        "logistics_channel_no": order.channel_no,
                        "logistics_product_code": order.product,
                        "logistics_product_name": PRODUCTS[order.product][0],
                        "consignment_status": order.status,
                        "consignment_create_date": order.created_ms,
                        "is_hold_sign": "N",
                        "oda_result_sign": "N",
                    },
                    "parcel_confirm_info": {"confirm_parcel_qty": "1", "parcel_list_confirm_info": []},
                }
                for order in found
            ],
        )

    def _ds_xms_label_get(self, body: dict[str, Any], language: str, request: Request) -> Response:
        number = str(body.get("request_no") or "")
        if not number:
            raise _Refusal("DS000015", self._say(language, "请求单号不能为空", "Request ID cannot be empty"))
        size = body.get("label_size") or "label_80x90"
        if size not in LABEL_SIZES_MM:
            raise _Refusal("DS000004", self._say(language, f"label_size[{size}]无效", f"label_size {size} is invalid"))
        if (body.get("response_label_format") or "PDF") != "PDF":
            raise _Refusal("DS000019", self._say(language, "返回面单格式无效", "Returned label format is invalid"))
        order = self._find(number)
        if order is None:
            raise _Refusal("DS000017", self._say(language, "订单不存在", "Order not found"), number)
        if order.status == "X":
            raise _Refusal(
                "DS000046", self._say(language, "此票标签不存在", "Label for this ticket does not exist"), number
            )
        recipient = order.body.get("recipient_info") or {}
        lines = [
            f"4PX {PRODUCTS[order.product][0].encode('ascii', 'ignore').decode() or order.product} {order.product}",
            order.tracking_no,
            *([order.channel_no] if order.channel_no else []),
            f"Ref: {order.ref_no}",
            f"To: {recipient.get('first_name', '')}, {recipient.get('city', '')} {recipient.get('country', '')}",
        ]
        url = self._file(request, label_pdf(lines, *LABEL_SIZES_MM[size]))
        return self._ok(
            language,
            {
                "label_barcode": order.channel_no or order.tracking_no,
                "child_label_barcode": [],
                "label_url_info": {"logistics_label": url, "custom_label": None, "package_label": None},
            },
        )

    def _ds_xms_order_cancel(self, body: dict[str, Any], language: str, request: Request) -> Response:
        number = str(body.get("request_no") or "")
        if not number:
            raise _Refusal("DS000015", self._say(language, "请求单号不能为空", "Request ID cannot be empty"))
        if not body.get("cancel_reason"):
            raise _Refusal(
                "DS000016", self._say(language, "取消原因不能为空", "Cancellation reason cannot be empty"), number
            )
        order = self._find(number)
        if order is None or order.status == "X":
            raise _Refusal("0", self._say(language, "找不到此订单", "Can not find this order"), number)
        if order.status != "P":
            raise _Refusal(
                "DS000014", self._say(language, "此单号不能取消", "This order number cannot be cancelled"), number
            )
        order.status = "X"
        return self._ok(language, None)

    def _ds_xms_estimated_cost_get(self, body: dict[str, Any], language: str, request: Request) -> Response:
        number = str(body.get("request_no") or "")
        order = self._find(number) if number else None
        if number and order is None:
            raise _Refusal("DS000017", self._say(language, "订单不存在", "Order not found"), number)
        if order is None:
            if not body.get("country_code"):
                raise self._required(language, "country_code")
            if not str(body.get("weight") or "").isdigit() or not 0 < int(body["weight"]) < 1_000_000:
                raise _Refusal(
                    "DS000004", self._say(language, "weight须为小于1000000的克数", "weight must be grams under 1000000")
                )
        weight = int(order.body["parcel_list"][0]["weight"]) if order else int(body["weight"])
        codes = [order.product] if order else (body.get("logistics_product_code") or list(PRODUCTS))
        rates = []
        for code in codes:
            if code not in PRODUCTS:
                continue
            _name, _channel, registration, per_kg, days = PRODUCTS[code]
            fee = (registration + per_kg * Decimal(weight) / 1000).quantize(Decimal("0.01"))
            rates.append(
                {
                    "logistics_product_code": code,
                    "lump_sum_fee": str(fee),
                    "charge_weight": str(weight),
                    "estimated_time": days,
                    "is_show_track": "Y",
                    "is_volume_cargo": "N",
                    "remarks": "",
                }
            )
        return self._ok(language, json.dumps(rates, ensure_ascii=False))  # a text holding the list, as 4PX sends it

    # -- hand-over: a bag booked for pickup (预约组包) ------------------------------------------------------------

    def _ds_xms_api_collect_create_big(self, body: dict[str, Any], language: str, request: Request) -> Response:
        pickup = body.get("pickup_info") or {}
        for name in PICKUP_REQUIRED:
            if not pickup.get(name):
                raise self._required(language, f"pickup_info.{name}")
        bags = body.get("bag_list")
        if not bags:
            raise self._required(language, "bag_list")
        answered, problems = [], []
        for index, bag in enumerate(bags):
            if not bag.get("bag_no"):
                raise self._required(language, f"bag_list[{index}].bag_no")
            if not bag.get("order_list"):
                raise self._required(language, f"bag_list[{index}].order_list")
            taken = []
            for item in bag["order_list"]:
                number = str((item or {}).get("ref_no") or "")
                order = self._find(number)
                if order is None:
                    problems.append(_Refusal("DS000017", self._say(language, "订单不存在", "Order not found"), number))
                elif order.status == "X":
                    problems.append(
                        _Refusal("DS000018", self._say(language, "订单已取消", "The order is cancelled"), number)
                    )
                elif order.status != "P":
                    problems.append(
                        _Refusal(
                            "DS000018",
                            self._say(language, "订单已交货，不能重复组包", "The order is handed over already"),
                            number,
                        )
                    )
                else:
                    taken.append(order)
            if taken:
                collect_no = f"BIG{datetime.now(CHINA):%Y%m%d}{next(self._serial):06d}"
                for order in taken:
                    order.status, order.bag_collect_no = "V", collect_no
                self.bags[collect_no] = FpxBag(collect_no, str(bag["bag_no"]), dict(pickup), taken)
                answered.append({"bag_collect_no": collect_no, "bag_no": bag["bag_no"]})
        if not answered:
            return self._refused(language, *problems)
        return self._ok(language, {"bag_list": answered}, problems)

    def _ds_xms_api_collect_print_big(self, body: dict[str, Any], language: str, request: Request) -> Response:
        numbers = body.get("bag_collect_no")
        if not numbers:
            raise self._required(language, "bag_collect_no")
        bags = [self.bags.get(str(number)) for number in numbers]
        if None in bags:
            missing = next(str(n) for n, bag in zip(numbers, bags, strict=True) if bag is None)
            raise _Refusal("DS000017", self._say(language, "揽收大包不存在", "No such bag"), missing)
        lines = []
        for bag in bags:
            lines += [f"4PX BAG {bag.bag_collect_no}", f"Bag no: {bag.bag_no}", f"Pieces: {len(bag.orders)}"]
            lines += [order.tracking_no for order in bag.orders]
        return self._ok(language, self._file(request, label_pdf(lines, 100, 150)))

    # -- tracking (轨迹) -----------------------------------------------------------------------------------------

    def _tr_order_tracking_get(self, body: dict[str, Any], language: str, request: Request) -> Response:
        number = str(body.get("deliveryOrderNo") or "")
        if not number:
            raise self._required(language, "deliveryOrderNo")
        order = self._find(number, by=("tracking_no", "channel_no"))  # 4PX or channel numbers only
        if order is None:
            raise _Refusal("0", self._say(language, "未查询到轨迹信息", "No tracking information found"), number)
        return self._ok(
            language,
            {
                "deliveryOrderNo": number,
                "destinationCountry": (order.body.get("recipient_info") or {}).get("country", ""),
                "trackingList": list(reversed(order.events)),
            },
        )
