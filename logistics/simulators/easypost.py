"""EasyPost API v2, as its recorded traffic (``EasyPost/easypost-python`` cassettes) and documents describe it,
served on 127.0.0.1 under ``/v2``.

- Auth: HTTP Basic, the API key as the username and no password; anything else answers 401 with the error shape.
- Errors: ``{"error": {"code", "message", "errors": [...]}}`` where ``errors`` holds ``{field, message}`` objects
  or plain strings. ``PARAMETER.REQUIRED`` (``{"shipment": {}}`` answers ``field "shipment", "cannot be blank"``,
  as recorded) and ``ADDRESS.VERIFY.FAILURE`` are recorded shapes; ``SCAN_FORM.CREATE.FAILURE`` naming the
  shipments it would not take is from a reported answer (easypost-csharp issue 76). The codes the simulator answers
  where nothing was recorded (a second purchase, a refund of a refunded label, an unknown id, the API key's code)
  are marked so below.
- ``POST /shipments``: ``rates[{id rate_…, carrier, service, rate (a string), currency, delivery_days}]`` and,
  beside them, ``messages[{carrier, carrier_account_id, type "rate_error", message}]`` for a carrier that could
  not rate it (FedEx here, under 16 oz, the documents' example).
- ``POST /shipments/{id}/buy {rate: {id}}``: ``tracking_code``, ``selected_rate``, a ``tracker`` (trk_…) and
  ``postage_label{label_url (PNG), label_pdf_url, label_zpl_url, label_file_type "image/png", label_size "4x6",
  label_resolution 300}``; the PDF or ZPL URL is filled when ``options.label_format`` asked for it (or never,
  with ``honours_label_format`` off, as some carriers do), and ``GET /shipments/{id}/label?file_format=`` adds it
  later, as the convert cassette shows. The files are served without auth under ``/files/``, like EasyPost's S3.
- ``GET /shipments`` pages most recent first with ``page_size`` (default 20, at most 100), ``before_id``,
  ``after_id``, ``start_datetime``/``end_datetime`` and ``purchased``, answering ``{shipments, has_more}``;
  ``GET /shipments/{id}``.
- ``POST /shipments/{id}/refund``: ``refund_status`` "submitted".
- ``POST /trackers {tracker: {tracking_code, carrier}}``: an existing tracker of that code (and carrier) comes
  back with 200, as both tracker cassettes return the same trk_ id; a new one 201. ``GET /trackers/{id}``.
- ``POST /scan_forms {shipments: [{id}]}``: ``{id sf_…, status "created", tracking_codes, form_url, batch_id}``
  with a letter-size PDF at ``form_url``; ``GET /scan_forms`` pages like shipments.

For tests: ``invalid_cities`` (destinations refused with ``ADDRESS.VERIFY.FAILURE``), ``honours_label_format``,
``move(shipment_id, status, message, when, ...)`` (a tracking detail), ``purchased()``, and the base class's faults.
"""

from __future__ import annotations

import base64
import binascii
import struct
import uuid
import zlib
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.simulators import Request, Response, Simulator, pdf_document

PREFIX = "/v2/"
FILES = "/files/"
# Each carrier's services: (service, price for the first ounce, price per further ounce, days).
SERVICES: dict[str, list[tuple[str, str, str, int]]] = {
    "USPS": [("Express", "34.15", "0.30", 1), ("Priority", "7.42", "0.05", 2), ("GroundAdvantage", "6.07", "0.04", 3)],
    "UPS": [("Ground", "9.80", "0.06", 4), ("NextDayAir", "45.10", "0.35", 1)],
    "FedEx": [("FEDEX_GROUND", "11.20", "0.05", 3)],
}
FEDEX_LEAST_OZ = 16
TRACKER_STATUSES = frozenset(
    {
        "unknown",
        "pre_transit",
        "in_transit",
        "out_for_delivery",
        "delivered",
        "available_for_pickup",
        "return_to_sender",
        "failure",
        "cancelled",
        "error",
    }
)
PAGE_SIZE, PAGE_MOST = 20, 100


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _error(status: int, code: str, message: str, errors: list[Any] | None = None) -> Response:
    return Response(status, {"error": {"code": code, "message": message, "errors": errors or []}})


def _required(*fields: str) -> Response:
    return _error(
        422,
        "PARAMETER.REQUIRED",
        "Missing required parameter.",
        [{"field": field, "message": "cannot be blank"} for field in fields],
    )


def png_image(width: int, height: int, dpi: int = 300) -> bytes:
    """A real, blank (white) one-bit PNG of ``width`` × ``height`` pixels at ``dpi``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", binascii.crc32(kind + data))

    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter byte, then white pixels
    per_metre = round(dpi / 0.0254)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


def zpl_label(carrier: str, service: str, tracking_code: str, reference: str) -> bytes:
    """A 4×6 in ZPL II label at 300 dpi (1200 × 1800 dots)."""
    return (
        "^XA\n^PW1200\n^LL1800\n"
        f"^CF0,60\n^FO60,60^FD{carrier} {service}^FS\n"
        f"^CF0,40\n^FO60,160^FDREF {reference}^FS\n"
        f"^FO60,300^BY4\n^BCN,300,Y,N,N\n^FD{tracking_code}^FS\n"
        "^XZ\n"
    ).encode()


class EasyPostSimulator(Simulator):
    name = "easypost"

    def __init__(self, api_key: str = "EZTK_simulator") -> None:
        super().__init__()
        self.api_key = api_key
        self.shipments: dict[str, dict[str, Any]] = {}  # in creation order
        self.trackers: dict[str, dict[str, Any]] = {}
        self.scan_forms: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.invalid_cities: set[str] = set()  # destinations EasyPost cannot verify (a test sets them)
        self.honours_label_format = True  # off: the buy gives the PNG only, the label is converted afterwards
        self._serial = 0

    # -- for tests ----------------------------------------------------------------------------------------------

    def purchased(self) -> list[dict[str, Any]]:
        with self.lock:
            return [shipment for shipment in self.shipments.values() if shipment["postage_label"]]

    def move(
        self,
        shipment_id: str,
        status: str,
        message: str,
        when: str,
        *,
        city: str | None = None,
        state: str | None = None,
        country: str | None = None,
        status_detail: str = "status_update",
    ) -> None:
        """The carrier scanned the parcel: a tracking detail added and the tracker's status set."""
        if status not in TRACKER_STATUSES:
            raise ValueError(f"EasyPost has no tracker status {status!r}")
        with self.lock:
            tracker = self.trackers[self.shipments[shipment_id]["tracker"]["id"]]
            tracker["tracking_details"].append(
                {
                    "object": "TrackingDetail",
                    "message": message,
                    "description": "",
                    "status": status,
                    "status_detail": status_detail,
                    "datetime": when,
                    "source": tracker["carrier"],
                    "carrier_code": "",
                    "tracking_location": {
                        "object": "TrackingLocation",
                        "city": city,
                        "state": state,
                        "country": country,
                        "zip": None,
                    },
                }
            )
            tracker.update(status=status, status_detail=status_detail, updated_at=_now())
            self.shipments[shipment_id]["tracker"] = dict(tracker)

    # -- the API --------------------------------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            username, _colon, _password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return username == self.api_key

    def handle(self, request: Request) -> Response:
        if request.path.startswith(FILES):
            stored = self.files.get(request.path.removeprefix(FILES))
            return Response(200, stored[0], {"Content-Type": stored[1]}) if stored else Response(404, b"")
        if not request.path.startswith(PREFIX):
            return _error(404, "NOT_FOUND", "The requested resource could not be found.")
        if not self._authorised(request):
            # The code is the simulator's: no recording of a wrong key was at hand.
            return _error(401, "APIKEY.REQUIRED", "Missing or invalid API key.")
        parts = request.path.removeprefix(PREFIX).strip("/").split("/")
        with self.lock:
            return self._route(request, parts)

    def _route(self, request: Request, parts: list[str]) -> Response:
        method = request.method
        match parts:
            case ["shipments"] if method == "POST":
                return self._create(request)
            case ["shipments"] if method == "GET":
                return self._list(request, self.shipments, "shipments")
            case ["shipments", shipment_id] if method == "GET":
                return self._found(shipment_id, lambda shipment: Response(200, shipment))
            case ["shipments", shipment_id, "buy"] if method == "POST":
                return self._found(shipment_id, lambda shipment: self._buy(request, shipment))
            case ["shipments", shipment_id, "label"] if method == "GET":
                return self._found(shipment_id, lambda shipment: self._convert(request, shipment))
            case ["shipments", shipment_id, "refund"] if method == "POST":
                return self._found(shipment_id, self._refund)
            case ["trackers"] if method == "POST":
                return self._track(request)
            case ["trackers", tracker_id] if method == "GET":
                tracker = self.trackers.get(tracker_id)
                return Response(200, tracker) if tracker else self._not_found()
            case ["scan_forms"] if method == "POST":
                return self._scan_form(request)
            case ["scan_forms"] if method == "GET":
                return self._list(request, self.scan_forms, "scan_forms")
            case ["scan_forms", form_id] if method == "GET":
                form = self.scan_forms.get(form_id)
                return Response(200, form) if form else self._not_found()
        return self._not_found()

    def _not_found(self) -> Response:
        return _error(404, "NOT_FOUND", "The requested resource could not be found.")

    def _found(self, shipment_id: str, then) -> Response:
        shipment = self.shipments.get(shipment_id)
        return then(shipment) if shipment is not None else self._not_found()

    def _file(self, request: Request, folder: str, suffix: str, content: bytes, content_type: str) -> str:
        key = f"{folder}/{datetime.now(UTC):%Y%m%d}/{uuid.uuid4().hex}.{suffix}"
        self.files[key] = (content, content_type)
        return request.url(f"{FILES}{key}")

    # -- shipments ------------------------------------------------------------------------------------------------

    def _create(self, request: Request) -> Response:
        body = request.json()
        given = body.get("shipment") if isinstance(body, dict) else None
        if not isinstance(given, dict) or not given:
            return _required("shipment")
        missing = [name for name in ("to_address", "from_address", "parcel") if not given.get(name)]
        for name in ("to_address", "from_address"):
            address = given.get(name) or {}
            missing += [
                f"{name}.{field}" for field in ("street1", "city", "country") if address and not address.get(field)
            ]
        parcel = given.get("parcel") or {}
        if parcel and not parcel.get("weight"):
            missing.append("parcel.weight")
        customs = given.get("customs_info") or {}
        for index, item in enumerate(customs.get("customs_items") or []):
            missing += [
                f"customs_info.customs_items.{index}.{field}"
                for field in ("description", "quantity", "value", "weight", "origin_country")
                if item.get(field) in (None, "", 0)
            ]
        if missing:
            return _required(*missing)
        if given["to_address"].get("city") in self.invalid_cities:
            return _error(
                422,
                "ADDRESS.VERIFY.FAILURE",
                "Unable to verify address.",
                [
                    {"code": "E.ADDRESS.NOT_FOUND", "field": "address", "message": "Address not found",
                     "suggestion": None},
                    {"code": "E.HOUSE_NUMBER.MISSING", "field": "street1", "message": "House number is missing",
                     "suggestion": None},
                ],
            )  # fmt: skip
        shipment_id, now = _id("shp"), _now()
        ounces = Decimal(str(parcel["weight"]))
        rates, messages = [], []
        for carrier, services in SERVICES.items():
            if carrier == "FedEx" and ounces < FEDEX_LEAST_OZ:
                messages.append(
                    {"carrier": carrier, "carrier_account_id": "ca_fedex000000000000000000000000001",
                     "type": "rate_error", "message": "Shipment cannot weigh less than 16oz"}
                )  # fmt: skip
                continue
            for service, first, per_ounce, days in services:
                price = (Decimal(first) + Decimal(per_ounce) * max(ounces - 1, Decimal(0))).quantize(
                    Decimal("0.01"), ROUND_HALF_UP
                )
                rates.append(
                    {"id": _id("rate"), "object": "Rate", "created_at": now, "updated_at": now, "mode": "test",
                     "service": service, "carrier": carrier, "rate": str(price), "currency": "USD",
                     "retail_rate": str(price + Decimal("2.48")), "retail_currency": "USD", "list_rate": str(price),
                     "list_currency": "USD", "billing_type": "easypost", "delivery_days": days,
                     "delivery_date": None, "delivery_date_guaranteed": False, "est_delivery_days": days,
                     "shipment_id": shipment_id, "carrier_account_id": f"ca_{carrier.lower():0<32}"}
                )  # fmt: skip
        options = {**(given.get("options") or {}), "currency": "USD", "payment": {"type": "SENDER"}, "date_advance": 0}
        from_address = self._address(given["from_address"], now)
        shipment = {
            "id": shipment_id,
            "object": "Shipment",
            "created_at": now,
            "updated_at": now,
            "is_return": False,
            "messages": messages,
            "mode": "test",
            "options": options,
            "reference": given.get("reference"),
            "status": "unknown",
            "tracking_code": None,
            "batch_id": None,
            "batch_status": None,
            "batch_message": None,
            "customs_info": self._customs(customs, now) if customs else None,
            "from_address": from_address,
            "insurance": None,
            "order_id": None,
            "parcel": {
                "id": _id("prcl"),
                "object": "Parcel",
                "created_at": now,
                "updated_at": now,
                "length": parcel.get("length"),
                "width": parcel.get("width"),
                "height": parcel.get("height"),
                "predefined_package": None,
                "weight": float(ounces),
                "mode": "test",
            },
            "postage_label": None,
            "rates": rates,
            "refund_status": None,
            "scan_form": None,
            "selected_rate": None,
            "tracker": None,
            "to_address": self._address(given["to_address"], now),
            "usps_zone": 4,
            "return_address": from_address,
            "forms": [],
            "fees": [],
            "tax_identifiers": given.get("tax_identifiers") or None,
        }
        self.shipments[shipment_id] = shipment
        return Response(201, shipment, {"Location": f"/api/v2/shipments/{shipment_id}"})

    def _address(self, given: dict[str, Any], now: str) -> dict[str, Any]:
        fields = ("name", "company", "street1", "street2", "city", "state", "zip", "country", "phone", "email")
        return {
            "id": _id("adr"),
            "object": "Address",
            "created_at": now,
            "updated_at": now,
            **{field: given.get(field) for field in fields},
            "mode": "test",
            "residential": None,
            "verifications": {},
        }

    def _customs(self, given: dict[str, Any], now: str) -> dict[str, Any]:
        items = [
            {"id": _id("cstitem"), "object": "CustomsItem", "created_at": now, "updated_at": now,
             "description": item.get("description"), "hs_tariff_number": item.get("hs_tariff_number"),
             "origin_country": item.get("origin_country"), "quantity": item.get("quantity"),
             "value": str(item.get("value")), "weight": float(item.get("weight") or 0), "code": item.get("code"),
             "mode": "test", "manufacturer": None, "currency": item.get("currency"), "eccn": None,
             "printed_commodity_identifier": None}
            for item in given.get("customs_items") or []
        ]  # fmt: skip
        fields = ("contents_explanation", "contents_type", "customs_certify", "customs_signer", "eel_pfc",
                  "non_delivery_option", "restriction_type")  # fmt: skip
        return {
            "id": _id("cstinfo"),
            "object": "CustomsInfo",
            "created_at": now,
            "updated_at": now,
            **{field: given.get(field) for field in fields},
            "restriction_comments": None,
            "mode": "test",
            "declaration": None,
            "customs_items": items,
        }

    def _buy(self, request: Request, shipment: dict[str, Any]) -> Response:
        body = request.json()
        rate_id = ((body or {}).get("rate") or {}).get("id") if isinstance(body, dict) else None
        if not rate_id:
            return _required("rate")
        if shipment["postage_label"]:
            # Code and wording are the simulator's: a shipment has one label, a second purchase is refused.
            return _error(422, "SHIPMENT.POSTAGE.EXISTS", "This shipment already has postage.")
        rate = next((rate for rate in shipment["rates"] if rate["id"] == rate_id), None)
        if rate is None:
            return _error(422, "SHIPMENT.RATE.INVALID", f"Rate {rate_id} is not a rate of this shipment.")
        now = _now()
        self._serial += 1
        tracking_code = {
            "USPS": f"9400100{208303100000000 + self._serial:015d}",
            "UPS": f"1Z999AA1{self._serial:010d}",
            "FedEx": f"{794600000000 + self._serial}",
        }[rate["carrier"]]
        label_format = str(shipment["options"].get("label_format") or "PNG").upper()
        label = {
            "object": "PostageLabel",
            "id": _id("pl"),
            "created_at": now,
            "updated_at": now,
            "date_advance": 0,
            "integrated_form": "none",
            "label_date": now,
            "label_resolution": 300,
            "label_size": "4x6",
            "label_type": "default",
            "label_file_type": "image/png",
            "label_url": self._file(request, "postage_label", "png", png_image(1200, 1800), "image/png"),
            "label_pdf_url": None,
            "label_zpl_url": None,
            "label_epl2_url": None,
            "label_file": None,
        }
        tracker_id = _id("trk")
        tracker = {
            "id": tracker_id,
            "object": "Tracker",
            "mode": "test",
            "tracking_code": tracking_code,
            "status": "unknown",
            "status_detail": "unknown",
            "created_at": now,
            "updated_at": now,
            "signed_by": None,
            "weight": None,
            "est_delivery_date": None,
            "shipment_id": shipment["id"],
            "carrier": rate["carrier"],
            "tracking_details": [],
            "fees": [],
            "carrier_detail": None,
            "public_url": f"https://track.easypost.com/{tracker_id}",
        }
        self.trackers[tracker_id] = tracker
        shipment.update(
            tracking_code=tracking_code,
            postage_label=label,
            selected_rate=rate,
            tracker=dict(tracker),
            updated_at=now,
            fees=[
                {"object": "Fee", "type": "LabelFee", "amount": "0.00000", "charged": True, "refunded": False},
                {
                    "object": "Fee",
                    "type": "PostageFee",
                    "amount": f"{Decimal(rate['rate']):.5f}",
                    "charged": True,
                    "refunded": False,
                },
            ],
        )
        if self.honours_label_format and label_format in {"PDF", "ZPL"}:
            self._render(request, shipment, label_format)
        return Response(200, shipment)

    def _render(self, request: Request, shipment: dict[str, Any], file_format: str) -> None:
        label, rate = shipment["postage_label"], shipment["selected_rate"]
        if file_format == "PDF":
            content = pdf_document(
                288,
                432,
                [f"{rate['carrier']} {rate['service']}", shipment["tracking_code"], f"REF {shipment['reference']}"],
            )
            label["label_pdf_url"] = self._file(request, "postage_label", "pdf", content, "application/pdf")
        else:
            content = zpl_label(rate["carrier"], rate["service"], shipment["tracking_code"], shipment["reference"])
            label["label_zpl_url"] = self._file(request, "postage_label", "zpl", content, "text/plain")
        label["updated_at"] = _now()

    def _convert(self, request: Request, shipment: dict[str, Any]) -> Response:
        file_format = (request.arg("file_format") or "").upper()
        if not file_format:
            return _required("file_format")
        if file_format not in {"PDF", "ZPL", "PNG", "EPL2"}:
            return _error(422, "PARAMETER.INVALID", f"Invalid file_format {file_format}.")
        if not shipment["postage_label"]:
            return _error(422, "SHIPMENT.POSTAGE.MISSING", "This shipment has no postage label yet.")
        key = {"PDF": "label_pdf_url", "ZPL": "label_zpl_url"}.get(file_format)
        if key and not shipment["postage_label"][key]:
            self._render(request, shipment, file_format)
        return Response(200, shipment)

    def _refund(self, shipment: dict[str, Any]) -> Response:
        # Codes and wording are the simulator's: no recording of a refused refund was at hand.
        if not shipment["postage_label"]:
            return _error(422, "SHIPMENT.REFUND.UNAVAILABLE", "This shipment has not been purchased.")
        if shipment["refund_status"]:
            return _error(422, "SHIPMENT.REFUND.UNAVAILABLE", "This shipment has already been refunded.")
        shipment.update(refund_status="submitted", updated_at=_now())
        return Response(200, shipment)

    def _list(self, request: Request, store: dict[str, dict[str, Any]], key: str) -> Response:
        try:
            size = min(int(request.arg("page_size") or PAGE_SIZE), PAGE_MOST)
        except ValueError:
            return _error(422, "PARAMETER.INVALID", "page_size must be a number.")
        rows = list(reversed(store.values()))  # most recent first
        ids = [row["id"] for row in rows]
        before, after = request.arg("before_id"), request.arg("after_id")
        if before:
            rows = rows[ids.index(before) + 1 :] if before in ids else []
        elif after:
            rows = rows[: ids.index(after)] if after in ids else rows
        try:
            start, end = (_moment(request.arg(name)) for name in ("start_datetime", "end_datetime"))
        except ValueError:
            return _error(422, "PARAMETER.INVALID", "start_datetime and end_datetime must be ISO 8601 datetimes.")
        rows = [
            row
            for row in rows
            if (start is None or _moment(row["created_at"]) >= start)
            and (end is None or _moment(row["created_at"]) <= end)
        ]
        purchased = request.arg("purchased")
        if key == "shipments" and purchased in {"true", "false"}:
            rows = [row for row in rows if bool(row["postage_label"]) == (purchased == "true")]
        return Response(200, {key: rows[:size], "has_more": len(rows) > size})

    # -- trackers -------------------------------------------------------------------------------------------------

    def _track(self, request: Request) -> Response:
        body = request.json()
        given = (body or {}).get("tracker") if isinstance(body, dict) else None
        code = (given or {}).get("tracking_code")
        if not code:
            return _required("tracker.tracking_code")
        carrier = given.get("carrier")
        for tracker in self.trackers.values():
            if tracker["tracking_code"] == code and carrier in (None, "", tracker["carrier"]):
                return Response(200, tracker, {"Location": f"/api/v2/trackers/{tracker['id']}"})
        carrier = carrier or ("USPS" if code.startswith("94") else "UPS" if code.startswith("1Z") else "")
        if not carrier:
            return _error(422, "TRACKER.CARRIER.UNKNOWN", f"Unable to detect the carrier of {code}.")
        now, tracker_id = _now(), _id("trk")
        tracker = {"id": tracker_id, "object": "Tracker", "mode": "test", "tracking_code": code, "status": "unknown",
                   "status_detail": "unknown", "created_at": now, "updated_at": now, "signed_by": None,
                   "weight": None, "est_delivery_date": None, "shipment_id": None, "carrier": carrier,
                   "tracking_details": [], "fees": [], "carrier_detail": None,
                   "public_url": f"https://track.easypost.com/{tracker_id}"}  # fmt: skip
        self.trackers[tracker_id] = tracker
        return Response(201, tracker, {"Location": f"/api/v2/trackers/{tracker_id}"})

    # -- scan forms -----------------------------------------------------------------------------------------------

    def _scan_form(self, request: Request) -> Response:
        body = request.json()
        if isinstance(body, dict) and isinstance(body.get("scan_form"), dict):
            body = body["scan_form"]  # the API takes either nesting
        given = (body or {}).get("shipments") if isinstance(body, dict) else None
        if not isinstance(given, list) or not given:
            return _required("shipments")
        ids = [str((item or {}).get("id") or "") for item in given if isinstance(item, dict)]
        known = [self.shipments[i] for i in ids if i in self.shipments]
        problems = [
            ("were not found", [i for i in ids if i not in self.shipments]),
            ("have not been purchased", [row["id"] for row in known if not row["postage_label"]]),
            ("have been refunded", [row["id"] for row in known if row["refund_status"]]),
            ("are already on a ScanForm", [row["id"] for row in known if row["scan_form"]]),
        ]
        for problem, named in problems:
            if named:
                # "were not found" is EasyPost's reported wording; the other three follow it.
                return _error(
                    422,
                    "SCAN_FORM.CREATE.FAILURE",
                    f"Unable to create manifest. {len(named)} of the specified shipments {problem}: {', '.join(named)}",
                )
        origins = {self.shipments[i]["from_address"]["street1"] for i in ids}
        if len(origins) > 1:
            return _error(422, "SCAN_FORM.CREATE.FAILURE", "All shipments must have the same origin address.")
        now, form_id = _now(), _id("sf")
        codes = [self.shipments[i]["tracking_code"] for i in ids]
        document = pdf_document(612, 792, ["USPS SCAN FORM", form_id, *codes])
        form = {
            "id": form_id,
            "object": "ScanForm",
            "created_at": now,
            "updated_at": now,
            "status": "created",
            "message": None,
            "address": self.shipments[ids[0]]["from_address"],
            "tracking_codes": codes,
            "form_url": self._file(request, "scan_form", "pdf", document, "application/pdf"),
            "form_file_type": None,
            "batch_id": _id("batch"),
            "confirmation": None,
        }
        self.scan_forms[form_id] = form
        for shipment_id in ids:
            self.shipments[shipment_id]["scan_form"] = form
        return Response(200, form)
