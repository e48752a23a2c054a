"""YunExpress (云途) legacy OMS API, as its documents and SDKs describe it, served on 127.0.0.1.

- Auth: ``Authorization: Basic base64("{CustomerCode}&{ApiSecret}")`` (an ``&``, not a ``:``).
- Every answer is HTTP 200 with ``Code`` ("0000" = ok) and ``Message``; results in ``Item`` or ``Items``.
- ``POST /api/WayBill/CreateOrder``: a JSON array of at most 10 orders; each succeeds or fails on its own
  (``Success`` 1/0 with ``Remark``); ``CustomerOrderNumber`` is unique; some shipping methods issue the tracking
  number later (``TrackType`` "2", then ``GET /api/Waybill/GetTrackingNumber`` answers ``Status`` 2 until it is
  issued, then 1).
- ``GET /api/WayBill/GetOrder?OrderNumber=``; ``POST /api/WayBill/Delete`` ``{OrderNumber, OrderType}``.
- ``POST /api/Label/Print`` with the order numbers (a JSON array; ``{"OrderNumbers": "a,b"}`` is taken too):
  ``Item[{Url, OrderInfos[{CustomerOrderNumber, Code 100|200, Error}]}]``; the URL serves a 10×10 cm PDF.
- ``GET /api/Tracking/GetTrackInfo?OrderNumber=``: ``PackageState`` (0 unknown, 1 submitted, 2 in transit,
  3 delivered, 5 cancelled, 6 delivery failed, 7 returned) and ``OrderTrackingDetails``.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from typing import Any

from core.simulators import Request, Response, Simulator, mm_pt, pdf_document

OK = "0000"
LATE_TRACKING_METHODS = frozenset({"THZXR"})  # numbers issued after the order, as some lines do
METHODS = frozenset({"THPHR", "THZXR", "ZXDDP"})
BATCH_MOST = 10


def tiny_pdf(text: str) -> bytes:
    """A real one-page PDF of 100×100 mm holding ``text``."""
    return pdf_document(mm_pt(100), mm_pt(100), [text])


@dataclass
class YunOrder:
    customer_order_number: str
    waybill_number: str
    method: str
    body: dict[str, Any]
    tracking_number: str = ""
    tracking_polls: int = 0
    deleted: bool = False
    package_state: int = 1
    events: list[dict[str, Any]] = field(default_factory=list)


class YunExpressSimulator(Simulator):
    name = "yunexpress"

    def __init__(self, customer_code: str = "C88888", api_secret: str = "sim-secret") -> None:  # noqa: S107 - a simulator's
        super().__init__()
        self.customer_code, self.api_secret = customer_code, api_secret
        self.orders: dict[str, YunOrder] = {}
        self.labels: dict[str, bytes] = {}
        self._serial = itertools.count(1)
        self.refused_cities: set[str] = set()  # addresses the carrier refuses (a test sets them)

    # -- for tests ----------------------------------------------------------------------------------------------

    def issue_tracking(self, customer_order_number: str) -> None:
        order = self.orders[customer_order_number]
        order.tracking_number = order.tracking_number or f"YT{next(self._serial):010d}"

    def move(self, customer_order_number: str, state: int, content: str, when: str) -> None:
        order = self.orders[customer_order_number]
        order.package_state = state
        order.events.append(
            {"ProcessDate": when, "ProcessContent": content, "ProcessLocation": "", "TrackNodeCode": str(state)}
        )

    # -- the API --------------------------------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.customer_code}&{self.api_secret}".encode()).decode()
        return request.headers.get("authorization", "") == f"Basic {expected}"

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/labels/"):
            label = self.labels.get(request.path.removeprefix("/labels/"))
            return Response(200, label, {"Content-Type": "application/pdf"}) if label else Response(404, b"")
        if not self._authorised(request):
            return Response(200, {"Code": "1001", "Message": "Unauthorized: check the customer code and API secret"})
        route = request.path.removeprefix("/api/").lower()
        handlers = {
            "waybill/createorder": self._create,
            "waybill/gettrackingnumber": self._tracking_numbers,
            "waybill/getorder": self._get_order,
            "waybill/delete": self._delete,
            "label/print": self._label,
            "tracking/gettrackinfo": self._track,
        }
        handler = handlers.get(route)
        if handler is None:
            return Response(404, {"Code": "404", "Message": f"No such API: {request.path}"})
        return handler(request)

    def _create(self, request: Request) -> Response:
        orders = request.json()
        if not isinstance(orders, list) or not orders:
            return Response(200, {"Code": "1002", "Message": "The body must be a JSON array of orders"})
        if len(orders) > BATCH_MOST:
            return Response(200, {"Code": "1003", "Message": f"At most {BATCH_MOST} orders at a time"})
        items = []
        for order in orders:
            number = str(order.get("CustomerOrderNumber") or "")
            problem = self._problem(order)
            if number in self.orders and not self.orders[number].deleted:
                problem = f"客户订单号[{number}]已存在 (order number already exists)"
            if problem:
                items.append({"CustomerOrderNumber": number, "Success": 0, "Remark": problem, "TrackType": "",
                              "WayBillNumber": "", "TrackingNumber": None, "AgentNumber": None,
                              "RequireSenderAddress": 0})  # fmt: skip
                continue
            method = order["ShippingMethodCode"]
            saved = YunOrder(number, f"YT{next(self._serial):016d}", method, order)
            late = method in LATE_TRACKING_METHODS
            if not late:
                saved.tracking_number = f"YT{next(self._serial):010d}"
            self.orders[number] = saved
            items.append(
                {
                    "CustomerOrderNumber": number,
                    "Success": 1,
                    "Remark": "",
                    "TrackType": "2" if late else "1",
                    "WayBillNumber": saved.waybill_number,
                    "TrackingNumber": saved.tracking_number or None,
                    "AgentNumber": None,
                    "RequireSenderAddress": 0,
                }
            )
        return Response(200, {"Code": OK, "Message": "提交成功", "Item": items})

    def _problem(self, order: Any) -> str:
        if not isinstance(order, dict):
            return "Invalid order"
        if not order.get("CustomerOrderNumber"):
            return "CustomerOrderNumber is required"
        if order.get("ShippingMethodCode") not in METHODS:
            return f"运输方式[{order.get('ShippingMethodCode')}]不存在 (unknown shipping method)"
        receiver = order.get("Receiver") or {}
        for name in ("CountryCode", "FirstName", "Street", "City"):
            if not receiver.get(name):
                return f"Receiver.{name} is required"
        if receiver.get("City") in self.refused_cities:
            return f"收件人地址无法派送 (address not deliverable): {receiver.get('City')}"
        if not isinstance(order.get("Weight"), int | float) or order["Weight"] <= 0:
            return "Weight must be greater than 0 (kg)"
        parcels = order.get("Parcels") or []
        if not parcels:
            return "Parcels is required"
        for parcel in parcels:
            for name in ("EName", "Quantity", "UnitPrice", "UnitWeight", "CurrencyCode"):
                if parcel.get(name) in (None, ""):
                    return f"Parcels.{name} is required"
        return ""

    def _tracking_numbers(self, request: Request) -> Response:
        items = []
        for number in request.args("CustomerOrderNumber"):
            order = self.orders.get(number)
            if order is None:
                items.append({"CustomerOrderNumber": number, "Status": 4, "Remark": "订单不存在", "TrackingNumber": "",
                              "WayBillNumber": ""})  # fmt: skip
                continue
            order.tracking_polls += 1
            status = 1 if order.tracking_number else 2
            items.append({"CustomerOrderNumber": number, "TrackingNumber": order.tracking_number,
                          "WayBillNumber": order.waybill_number, "Status": status, "Remark": ""})  # fmt: skip
        return Response(200, {"Code": OK, "Message": "", "Items": items})

    def _find(self, number: str) -> YunOrder | None:
        for order in self.orders.values():
            if number in (order.customer_order_number, order.waybill_number, order.tracking_number) and number:
                return order
        return None

    def _get_order(self, request: Request) -> Response:
        order = self._find(request.arg("OrderNumber") or "")
        if order is None or order.deleted:
            return Response(200, {"Code": "1011", "Message": "订单不存在 (order not found)", "Item": None})
        return Response(
            200,
            {
                "Code": OK,
                "Message": "",
                "Item": {
                    "WayBillNumber": order.waybill_number,
                    "OrderNumber": order.customer_order_number,
                    "ShippingMethodCode": order.method,
                    "TrackingNumber": order.tracking_number,
                    "Status": 3 if not order.deleted else 0,
                    "Weight": order.body.get("Weight"),
                },
            },
        )

    def _delete(self, request: Request) -> Response:
        body = request.json() or {}
        order = self._find(str(body.get("OrderNumber") or ""))
        if order is None or order.deleted:
            item = {"Status": "Failure", "Type": body.get("OrderType"), "OrderNumber": body.get("OrderNumber"),
                    "Remark": "订单不存在"}  # fmt: skip
        elif order.package_state >= 2:
            item = {"Status": "Failure", "Type": body.get("OrderType"), "OrderNumber": body.get("OrderNumber"),
                    "Remark": "已交运的订单不能删除 (handed over)"}  # fmt: skip
        else:
            order.deleted = True
            item = {"Status": "Success", "Type": body.get("OrderType"), "OrderNumber": body.get("OrderNumber"),
                    "Remark": ""}  # fmt: skip
        return Response(200, {"Code": OK, "Message": "", "Item": item})

    def _label(self, request: Request) -> Response:
        body = request.json()
        numbers = body if isinstance(body, list) else str((body or {}).get("OrderNumbers") or "").split(",")
        infos, printable = [], []
        for number in (str(n).strip() for n in numbers if str(n).strip()):
            order = self._find(number)
            if order is None or not order.tracking_number:
                infos.append({"CustomerOrderNumber": number, "Code": 200, "Error": "不存在打印模板或跟踪号未生成"})
                continue
            infos.append({"CustomerOrderNumber": order.customer_order_number, "Code": 100, "Error": ""})
            printable.append(order)
        url = ""
        if printable:
            key = f"{next(self._serial)}.pdf"
            self.labels[key] = tiny_pdf(" ".join(order.tracking_number for order in printable))
            url = request.url(f"/labels/{key}")
        return Response(200, {"Code": OK, "Message": "", "Item": [{"Url": url, "OrderInfos": infos}]})

    def _track(self, request: Request) -> Response:
        order = self._find(request.arg("OrderNumber") or "")
        if order is None:
            return Response(200, {"Code": "1011", "Message": "订单不存在", "Item": None})
        return Response(
            200,
            {
                "Code": OK,
                "Message": "",
                "Item": {
                    "CountryCode": (order.body.get("Receiver") or {}).get("CountryCode", ""),
                    "WaybillNumber": order.waybill_number,
                    "TrackingNumber": order.tracking_number,
                    "PackageState": order.package_state,
                    "OrderTrackingDetails": list(order.events),
                },
            },
        )
