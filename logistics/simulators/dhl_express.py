"""DHL Express's MyDHL API (v3.1), as its published swagger (``dpdhl-express-api-3.1.1``) describes it, served on
127.0.0.1. Paths are taken with or without the ``/mydhlapi`` (or ``/mydhlapi/test``) prefix of the real hosts.

- Auth: HTTP Basic (API key and secret, ``username``/``password`` in Seabridge); anything else is a 401
  ``problem+json``. The ``x-version`` header the swagger marks required is required here too.
- Errors are ``application/problem+json`` ``{instance, detail, title, message, status, additionalDetails?}`` with
  ``status`` a *string*. Schema problems answer 422 in the JSON-schema validator's words (``#/content/packages/0:
  required key [weight] not found``, ``expected maxLength: 45, actual: 49``, ``extraneous key [x] is not
  permitted``); several at once are ``"Multiple problems found, see Additional Details"`` with each in
  ``additionalDetails``. Business problems answer 400 with DHL's code glued to the front of ``detail``
  (``998: ShipTimeStamp is not well formatted...``, ``1001: ...product(s) (X) not available...``).
- ``POST /shipments``: checked against the request schema (required keys, lengths, enums, no unknown keys), then
  ``plannedShippingDateAndTime`` (``2026-11-30T09:00:00 GMT+08:00``, not in the past nor more than 10 days
  ahead), the shipper account, the product, the receiver's address (:attr:`refused_postcodes`,
  :attr:`refused_cities`). Answers 201 with a 10-digit ``shipmentTrackingNumber`` (DHL's mod-7 check digit),
  ``packages[{referenceNumber, trackingNumber JD01…}]`` and ``documents[{typeCode "label", imageFormat "PDF"|"ZPL",
  content base64}]``: a real PDF sized by the label template (``ECOM26_84_001`` 4×8 in, ``ECOM26_A6_002`` A6, A4
  templates) or ZPL text (``^XA … ^XZ``) sized by ``printerDPI``. MyDHL has no idempotency key: the same request
  twice makes two shipments (:attr:`shipments` counts them).
- ``GET /shipments/{n}/get-image?shipperAccountNumber&typeCode&pickupYearAndMonth``: the stored ``waybill``
  document (an 8×4 in PDF); a month other than the shipment's is ``1504: No document images found...`` (404).
- ``GET /tracking``: by ``shipmentTrackingNumber`` (repeated), or by ``shipmentReference`` (and
  ``shipmentReferenceType``), which needs ``shipperAccountNumber`` and may be narrowed by ``dateRangeFrom`` and
  ``dateRangeTo``; nothing found is 404 ``No Shipments Found for ReferenceID | …``.
- ``GET /shipments/{n}/tracking``: ``shipments[{…, events[{date, time, GMTOffset, typeCode, description,
  serviceArea}]}]``; ``GMTOffset`` only with ``requestGMTOffsetPerEvent=true`` (as the swagger has it); an unknown
  number is 404 ``No data found``. :meth:`move` adds a checkpoint (``PU``, ``DF``, ``WC``, ``OK``, ``RT``…).
- ``POST /rates``: ``products[{productCode, productName, totalPrice[{currencyType BILLC|BASEC, priceCurrency,
  price}], deliveryCapabilities{totalTransitDays}}]`` from a small price table (:data:`PRODUCTS`).
- ``POST /pickups``: 201 ``{dispatchConfirmationNumbers: ["PRG…"]}``; the booking is kept in :attr:`pickups`.
- There is no call to cancel or void a shipment in MyDHL; none here either.

The 401 body and the wording of an address refusal (code ``410301``) are this simulator's own: the swagger documents
neither.
"""

from __future__ import annotations

import base64
import itertools
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.simulators import Request, Response, Simulator, pdf_document

PROBLEM = {"Content-Type": "application/problem+json"}
MULTIPLE = "Multiple problems found, see Additional Details"
PLANNED = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}) ?GMT([+-]\d{2}:\d{2})$")
# productCode → (productName, first 0.5 kg, each further 0.5 kg, transit days), billed in the account's currency.
PRODUCTS = {
    "P": ("EXPRESS WORLDWIDE", Decimal("180.00"), Decimal("45.00"), 3),
    "K": ("EXPRESS 9:00", Decimal("260.00"), Decimal("60.00"), 2),
}
EUR_RATE = Decimal("7.80")  # the BASEC price, in euros, beside the billed one
# Label templates → page size in points (width, height); each is three digits (see ``_pdf``).
TEMPLATES = {
    "ECOM26_84_001": (288, 576),
    "ECOM26_84CI_001": (288, 576),
    "ECOM26_A6_002": (298, 420),
    "ECOM26_84_A4_001": (595, 842),
    "ECOM_TC_A4": (595, 842),
}
DEFAULT_TEMPLATE = "ECOM26_84_001"
WAYBILL_SIZE = (576, 288)  # ARCH_8X4, the waybill document get-image serves


# --- A small JSON-schema checker in the words of MyDHL's validator -------------------------------------------------


def _o(required: str = "", optional: str = "", **schemas: Any) -> dict[str, Any]:
    """An object that takes only the named properties (the swagger's ``additionalProperties: false``)."""
    names = required.split() + optional.split()
    return {"type": "object", "required": required.split(), "properties": {name: schemas.get(name) for name in names}}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _a(items: dict[str, Any], least: int = 0, most: int | None = None) -> dict[str, Any]:
    return {"type": "array", "items": items, "minItems": least, "maxItems": most}


def _s(most: int | None = None, least: int = 1, enum: tuple[str, ...] | None = None) -> dict[str, Any]:
    return {"type": "string", "minLength": least, "maxLength": most, "enum": enum}


def _n(minimum: float = 0, kind: str = "number") -> dict[str, Any]:
    return {"type": kind, "minimum": minimum}


BOOLEAN = {"type": "boolean"}
ACCOUNT = _o("typeCode number", typeCode=_s(15, enum=("shipper", "payer", "duties-taxes")), number=_s(12))
REFERENCE_TYPES = ("AAO", "CU", "FF", "FN", "IBC", "LLR", "OBC", "PRN", "ACP", "ACS", "ACR", "CDN", "STD", "CO")
REFERENCE = _o("value", "typeCode", value=_s(35), typeCode=_s(3, 2, REFERENCE_TYPES))
REGISTRATION_TYPES = _words(
    "VAT EIN GST SSN EOR DUN FED STA CNP IE INN KPP OGR OKP MRN SDT FTZ DAN TAN DTF RGP DLI NID PAS MID IMS EIC FTN "
    "CIC PEP"
)
ADDRESS = _o(
    "postalCode cityName countryCode addressLine1",
    "provinceCode addressLine2 addressLine3 countyName provinceName countryName",
    postalCode=_s(12, 0),
    cityName=_s(45),
    countryCode=_s(2, 2),
    provinceCode=_s(35, 2),
    addressLine1=_s(45),
    addressLine2=_s(45),
    addressLine3=_s(45),
)
CONTACT = _o(
    "phone companyName fullName",
    "email mobilePhone",
    email=_s(70),
    phone=_s(70),
    mobilePhone=_s(70),
    companyName=_s(100),
    fullName=_s(255),
)
PARTY = _o(
    "postalAddress contactInformation",
    "registrationNumbers bankDetails typeCode",
    postalAddress=ADDRESS,
    contactInformation=CONTACT,
    registrationNumbers=_a(
        _o(
            "typeCode number issuerCountryCode",
            typeCode=_s(3, enum=REGISTRATION_TYPES),
            number=_s(35),
            issuerCountryCode=_s(2, 2),
        ),
        most=50,
    ),
    typeCode=_s(enum=("business", "direct_consumer", "government", "other", "private", "reseller")),
)
DIMENSIONS = _o("length width height", length=_n(0.001), width=_n(0.001), height=_n(0.001))
PACKAGE = _o(
    "weight",
    "typeCode dimensions customerReferences identifiers description labelBarcodes labelText labelDescription "
    "referenceNumber",
    weight=_n(0.001),
    dimensions=DIMENSIONS,
    customerReferences=_a(REFERENCE, 1, 99),
)
EXPORT_REASONS = _words(
    "permanent temporary return used_exhibition_goods_to_origin intercompany_use commercial_purpose_or_sale "
    "personal_belongings_or_personal_use sample gift return_to_origin warranty_replacement diplomatic_goods "
    "defence_material"
)
LINE_ITEM = _o(
    "number description price quantity manufacturerCountry weight",
    "commodityCodes exportReasonType isTaxesPaid additionalInformation customerReferences customsDocuments "
    "preCalculatedLineItemTotalValue exportControlClassificationNumber",
    number=_n(1, "integer"),
    description=_s(512),
    price=_n(0),
    quantity=_o("value unitOfMeasurement", value=_n(1, "integer"), unitOfMeasurement=_s()),
    commodityCodes=_a(_o("typeCode value", typeCode=_s(enum=("outbound", "inbound")), value=_s(18, 2)), most=2),
    exportReasonType=_s(enum=EXPORT_REASONS),
    manufacturerCountry=_s(2, 2),
    weight=_o("", "netValue grossValue", netValue=_n(0), grossValue=_n(0)),
)
EXPORT_DECLARATION = _o(
    "lineItems",
    "invoice remarks additionalCharges destinationPortName placeOfIncoterm payerVATNumber recipientReference "
    "exporter packageMarks declarationNotes exportReference exportReason exportReasonType licenses shipmentType "
    "customsDocuments",
    lineItems=_a(LINE_ITEM, 1, 999),
    invoice=_o(
        "number date",
        "signatureName signatureTitle signatureImage instructions customerDataTextEntries totalNetWeight "
        "totalGrossWeight customerReferences termsOfPayment indicativeCustomsValues preCalculatedTotalValues",
        number=_s(35),
        date=_s(35),
    ),
    exportReasonType=_s(enum=EXPORT_REASONS),
    shipmentType=_s(enum=("personal", "commercial")),
)
INCOTERMS = _words("EXW FCA CPT CIP DPU DAP DDP FAS FOB CFR CIF DAF DAT DDU DEQ DES")
IMAGE_OPTION = _o(
    "typeCode",
    "templateName isRequested hideAccountNumber numberOfCopies invoiceType languageCode languageCountryCode "
    "languageScriptCode encodingFormat renderDHLLogo fitLabelsToA4 labelFreeText labelCustomerDataText "
    "shipmentReceiptCustomerDataText",
    typeCode=_s(enum=("label", "waybillDoc", "invoice", "qr-code", "shipmentReceipt")),
    templateName=_s(25),
    isRequested=BOOLEAN,
)
SHIPMENT_REQUEST = _o(
    "plannedShippingDateAndTime pickup productCode accounts customerDetails content",
    "localProductCode getRateEstimates valueAddedServices outputImageProperties customerReferences identifiers "
    "documentImages onDemandDelivery requestOndemandDeliveryURL shipmentNotification prepaidCharges "
    "getTransliteratedResponse estimatedDeliveryDate getAdditionalInformation parentShipment",
    plannedShippingDateAndTime=_s(29),
    pickup=_o(
        "isRequested",
        "closeTime location specialInstructions pickupDetails pickupRequestorDetails",
        isRequested=BOOLEAN,
    ),
    productCode=_s(6),
    accounts=_a(ACCOUNT, 1, 3),
    outputImageProperties=_o(
        "",
        "printerDPI customerBarcodes customerLogos encodingFormat imageOptions splitTransportAndWaybillDocLabels "
        "allDocumentsInOneImage splitDocumentsByPages splitInvoiceAndReceipt receiptAndLabelsInOneImage",
        printerDPI={"type": "number", "enum": (200, 300)},
        encodingFormat=_s(enum=("pdf", "zpl", "lp2", "epl")),
        imageOptions=_a(IMAGE_OPTION, most=20),
    ),
    customerReferences=_a(REFERENCE, most=999),
    customerDetails=_o(
        "shipperDetails receiverDetails",
        "buyerDetails importerDetails exporterDetails sellerDetails payerDetails manufacturerDetails "
        "ultimateConsigneeDetails brokerDetails",
        shipperDetails=PARTY,
        receiverDetails=PARTY,
    ),
    content=_o(
        "packages isCustomsDeclarable description incoterm unitOfMeasurement",
        "areMorePackagesToBeAddedLater declaredValue declaredValueCurrency exportDeclaration USFilingTypeValue",
        packages=_a(PACKAGE, 1, 999),
        isCustomsDeclarable=BOOLEAN,
        declaredValue=_n(0),
        declaredValueCurrency=_s(3, 3),
        exportDeclaration=EXPORT_DECLARATION,
        description=_s(70),
        incoterm=_s(enum=INCOTERMS),
        unitOfMeasurement=_s(enum=("metric", "imperial")),
    ),
)
RATE_ADDRESS = _o(
    "postalCode cityName countryCode",
    "provinceCode addressLine1 addressLine2 addressLine3 countyName",
    postalCode=_s(12, 0),
    cityName=_s(45),
    countryCode=_s(2, 2),
    addressLine1=_s(45),
    addressLine2=_s(45),
    addressLine3=_s(45),
)
RATE_REQUEST = _o(
    "customerDetails plannedShippingDateAndTime unitOfMeasurement isCustomsDeclarable packages",
    "accounts productCode localProductCode valueAddedServices productsAndServices payerCountryCode monetaryAmount "
    "requestAllValueAddedServices estimatedDeliveryDate getAdditionalInformation returnStandardProductsOnly "
    "nextBusinessDay productTypeCode",
    customerDetails=_o("shipperDetails receiverDetails", shipperDetails=RATE_ADDRESS, receiverDetails=RATE_ADDRESS),
    accounts=_a(ACCOUNT, most=2),
    productCode=_s(6),
    plannedShippingDateAndTime=_s(29),
    unitOfMeasurement=_s(enum=("metric", "imperial")),
    isCustomsDeclarable=BOOLEAN,
    monetaryAmount=_a(
        _o(
            "typeCode value currency",
            typeCode=_s(enum=("declaredValue", "insuredValue")),
            value=_n(0),
            currency=_s(3, 3),
        )
    ),
    packages=_a(_o("weight", "typeCode dimensions", weight=_n(0.001), dimensions=DIMENSIONS), 1, 999),
)
PICKUP_REQUEST = _o(
    "plannedPickupDateAndTime accounts customerDetails shipmentDetails",
    "closeTime location locationType specialInstructions remark",
    plannedPickupDateAndTime=_s(29),
    location=_s(80, 0),
    accounts=_a(ACCOUNT, 1, 5),
    customerDetails=_o(
        "shipperDetails",
        "receiverDetails bookingRequestorDetails pickupDetails",
        shipperDetails=_o("postalAddress contactInformation", postalAddress=ADDRESS, contactInformation=CONTACT),
    ),
    shipmentDetails=_a(
        _o(
            "productCode isCustomsDeclarable unitOfMeasurement packages",
            "localProductCode accounts valueAddedServices declaredValue declaredValueCurrency shipmentTrackingNumber",
            productCode=_s(6),
            accounts=_a(ACCOUNT, most=5),
            isCustomsDeclarable=BOOLEAN,
            declaredValue=_n(0),
            declaredValueCurrency=_s(3, 3),
            unitOfMeasurement=_s(enum=("metric", "imperial")),
            shipmentTrackingNumber=_s(),
            packages=_a(_o("weight", "typeCode dimensions", weight=_n(0.001), dimensions=DIMENSIONS), 1, 999),
        ),
        1,
        999,
    ),
)
JSON_TYPES = {dict: "JSONObject", list: "JSONArray", str: "String", bool: "Boolean", int: "Integer", float: "Number"}


def schema_problems(value: Any, schema: dict[str, Any] | None, path: str = "#") -> list[str]:
    """What MyDHL's validator says about ``value``: one line per problem, each starting with its JSON pointer."""
    if schema is None:
        return []
    kind = schema["type"]
    found = JSON_TYPES.get(type(value), "Null")
    fits = {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
    }[kind]
    if not fits:
        expected = {"object": "JSONObject", "array": "JSONArray"}.get(kind, kind.capitalize())
        return [f"{path}: expected type: {expected}, found: {found}"]
    problems: list[str] = []
    if kind == "object":
        for name in schema["required"]:
            if name not in value:
                problems.append(f"{path}: required key [{name}] not found")
        for name, item in value.items():
            if name not in schema["properties"]:
                problems.append(f"{path}: extraneous key [{name}] is not permitted")
            else:
                problems += schema_problems(item, schema["properties"][name], f"{path}/{name}")
    elif kind == "array":
        if len(value) < schema["minItems"]:
            problems.append(f"{path}: expected minimum item count: {schema['minItems']}, found: {len(value)}")
        if schema["maxItems"] is not None and len(value) > schema["maxItems"]:
            problems.append(f"{path}: expected maximum item count: {schema['maxItems']}, found: {len(value)}")
        for index, item in enumerate(value):
            problems += schema_problems(item, schema["items"], f"{path}/{index}")
    elif kind == "string":
        if len(value) < schema["minLength"]:
            problems.append(f"{path}: expected minLength: {schema['minLength']}, actual: {len(value)}")
        if schema["maxLength"] is not None and len(value) > schema["maxLength"]:
            problems.append(f"{path}: expected maxLength: {schema['maxLength']}, actual: {len(value)}")
        if schema["enum"] and value not in schema["enum"]:
            problems.append(f"{path}: {value} is not a valid enum value")
    elif kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: {value} is not greater or equal to {schema['minimum']}")
        if schema.get("enum") and value not in schema["enum"]:
            problems.append(f"{path}: {value} is not a valid enum value")
    return problems


# --- Labels --------------------------------------------------------------------------------------------------------


def _pdf(text: str, size: tuple[int, int]) -> bytes:
    """A real one-page PDF of ``size`` points holding ``text``."""
    return pdf_document(size[0], size[1], [text])


def _zpl(tracking_number: str, receiver: dict[str, Any], size: tuple[int, int], dpi: int) -> bytes:
    """A ZPL II label the size of the template at the printer's resolution, with the waybill number as Code 128."""
    width, height = (round(points / 72 * dpi) for points in size)
    address = receiver.get("postalAddress") or {}
    contact = receiver.get("contactInformation") or {}
    place = " ".join(str(address.get(key) or "") for key in ("postalCode", "cityName", "countryCode")).strip()
    return (
        "^XA\n^CI28\n"
        f"^PW{width}\n^LL{height}\n"
        "^FO30,30^A0N,40,40^FDDHL EXPRESS WORLDWIDE^FS\n"
        f"^FO30,100^A0N,28,28^FD{contact.get('fullName', '')}^FS\n"
        f"^FO30,140^A0N,28,28^FD{address.get('addressLine1', '')}^FS\n"
        f"^FO30,180^A0N,28,28^FD{place}^FS\n"
        f"^FO30,260^BY3^BCN,160,Y,N,N^FD{tracking_number}^FS\n"
        f"^FO30,480^A0N,30,30^FDWAYBILL {tracking_number}^FS\n"
        "^XZ\n"
    ).encode()


@dataclass
class DhlShipment:
    tracking_number: str
    piece_number: str
    body: dict[str, Any]
    planned: datetime
    label: bytes
    label_format: str  # "PDF" or "ZPL", as DHL names it
    waybill: bytes
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def references(self) -> list[dict[str, str]]:
        return list(self.body.get("customerReferences") or [])


class DhlExpressSimulator(Simulator):
    name = "dhl_express"

    def __init__(
        self,
        username: str = "apiS1mulator",
        password: str = "sim-secret",  # noqa: S107 - a simulator's
        account_number: str = "601234567",
        billing_currency: str = "CNY",
    ) -> None:
        super().__init__()
        self.username, self.password, self.account_number = username, password, account_number
        self.billing_currency = billing_currency
        self.shipments: dict[str, DhlShipment] = {}
        self.pickups: dict[str, dict[str, Any]] = {}
        self.refused_postcodes: set[str] = set()  # receiver addresses DHL cannot serve (a test sets them)
        self.refused_cities: set[str] = set()
        self._serial = itertools.count(123_456_780)
        self._pickup_serial = itertools.count(1)

    # -- for tests ----------------------------------------------------------------------------------------------

    def move(self, tracking_number: str, type_code: str, description: str, when: str, location: str = "") -> None:
        """A checkpoint: ``when`` an ISO time with its offset (the local time where it happened)."""
        moment = datetime.fromisoformat(when)
        offset = moment.strftime("%z")
        self.shipments[tracking_number].events.append(
            {
                "date": moment.date().isoformat(),
                "time": moment.strftime("%H:%M:%S"),
                "GMTOffset": f"{offset[:3]}:{offset[3:]}",
                "typeCode": type_code,
                "description": description,
                "serviceArea": [{"code": location[:3].upper(), "description": location}] if location else [],
            }
        )

    # -- the API --------------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = re.sub(r"^/mydhlapi(/test)?", "", request.path).rstrip("/") or "/"
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if request.headers.get("authorization", "") != f"Basic {expected}":
            return Response(
                401,
                {
                    "instance": f"/expressapi{path}",
                    "detail": "Invalid credentials: check the API key and secret",
                    "title": "Unauthorized",
                    "message": "Unauthorized",
                    "status": "401",
                },
                {**PROBLEM, "WWW-Authenticate": 'Basic realm="MyDHL API"'},
            )
        if not request.headers.get("x-version"):
            return self._problem(path, 400, "Missing mandatory parameters: x-version", "Missing parameters")
        parts = path.strip("/").split("/")
        route = (request.method, parts[0], parts[2] if len(parts) == 3 else "")
        handlers = {
            ("POST", "shipments", ""): self._create,
            ("GET", "shipments", "tracking"): self._track_one,
            ("GET", "shipments", "get-image"): self._image,
            ("GET", "tracking", ""): self._track_many,
            ("POST", "rates", ""): self._rates,
            ("POST", "pickups", ""): self._pickup,
        }
        handler = handlers.get(route) if len(parts) in (1, 3) else None
        if handler is None:
            return self._problem(path, 404, f"No such resource: {request.method} {path}", "Not Found")
        return handler(request, path, parts)

    # -- answers ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _problem(path: str, status: int, detail: str, title: str, more: list[str] | None = None) -> Response:
        body: dict[str, Any] = {
            "instance": f"/expressapi{path}",
            "detail": detail,
            "title": title,
            "message": {400: "Bad request", 404: "Not found", 422: "Unprocessable Entity"}.get(status, title),
        }
        if more:
            body["additionalDetails"] = more
        body["status"] = str(status)  # a string, as MyDHL sends it
        return Response(status, body, dict(PROBLEM))

    def _invalid(self, path: str, problems: list[str]) -> Response:
        if len(problems) == 1:
            return self._problem(path, 422, problems[0], "Validation error")
        return self._problem(path, 422, MULTIPLE, "Validation error", problems)

    def _refused(self, path: str, problems: list[str]) -> Response:
        if len(problems) == 1:
            return self._problem(path, 400, problems[0], "Bad request")
        return self._problem(path, 400, MULTIPLE, "Bad request", problems)

    @staticmethod
    def _json(request: Request) -> Any:
        try:
            return request.json()
        except ValueError:
            return None

    # -- shipments -------------------------------------------------------------------------------------------------

    def _planned(self, text: str, field_name: str) -> tuple[datetime | None, str]:
        match = PLANNED.match(text)
        if not match:
            return None, (
                f"998: {field_name} is not well formatted.(Expected Sample Format : '2010-02-11T17:10:09 GMT+01:00')"
            )
        moment = datetime.fromisoformat(f"{match[1]}T{match[2]}{match[3]}")
        now = datetime.now(UTC)
        if moment < now - timedelta(minutes=5) or moment > now + timedelta(days=10):
            return None, f"998: {field_name} must not be in the past or more than 10 days in the future."
        return moment, ""

    def _account_problem(self, accounts: list[dict[str, Any]]) -> str:
        shipper = next((account for account in accounts if account.get("typeCode") == "shipper"), None)
        if shipper is None or shipper.get("number") != self.account_number:
            return "The account number is not found or invalid. Please check the account number and retry."
        return ""

    def _address_problem(self, address: dict[str, Any]) -> str:
        postcode, city = str(address.get("postalCode") or ""), str(address.get("cityName") or "")
        if postcode in self.refused_postcodes or city in self.refused_cities:
            return (
                f"410301: Receiver postalCode invalid: '{postcode}' is not a valid postal code for cityName '{city}' "
                f"({address.get('countryCode')}). Please check the postal code and city and retry."
            )
        return ""

    def _create(self, request: Request, path: str, parts: list[str]) -> Response:
        body = self._json(request)
        problems = schema_problems(body, SHIPMENT_REQUEST)
        if problems:
            return self._invalid(path, problems)
        planned, planned_problem = self._planned(body["plannedShippingDateAndTime"], "ShipTimeStamp")
        refusals = [
            problem
            for problem in (
                planned_problem,
                self._account_problem(body["accounts"]),
                "" if body["productCode"] in PRODUCTS else (
                    f"1001: The requested product(s) ({body['productCode']}) not available based on your search "
                    "criteria."
                ),
                self._address_problem(body["customerDetails"]["receiverDetails"]["postalAddress"]),
                "" if not body["content"]["isCustomsDeclarable"] or body["content"].get("exportDeclaration") else (
                    "998: #/content/exportDeclaration is required for a dutiable (isCustomsDeclarable) shipment."
                ),
                "" if not body["content"]["isCustomsDeclarable"] or body["content"].get("declaredValueCurrency")
                else "998: #/content/declaredValueCurrency is required for a dutiable shipment.",
            )
            if problem
        ]  # fmt: skip
        if refusals:
            return self._refused(path, refusals)
        assert planned is not None
        serial = next(self._serial)
        number = f"{serial:09d}{serial % 7}"  # the waybill's check digit: modulo 7
        piece = f"JD01460000{serial:010d}"
        output = body.get("outputImageProperties") or {}
        image = next((option for option in output.get("imageOptions") or [] if option.get("typeCode") == "label"), {})
        size = TEMPLATES.get(image.get("templateName") or DEFAULT_TEMPLATE, TEMPLATES[DEFAULT_TEMPLATE])
        receiver = body["customerDetails"]["receiverDetails"]
        if output.get("encodingFormat") == "zpl":
            label, image_format = _zpl(number, receiver, size, int(output.get("printerDPI") or 200)), "ZPL"
        else:
            label, image_format = _pdf(f"DHL EXPRESS WAYBILL {number}", size), "PDF"
        with self.lock:
            self.shipments[number] = DhlShipment(
                tracking_number=number,
                piece_number=piece,
                body=body,
                planned=planned,
                label=label,
                label_format=image_format,
                waybill=_pdf(f"WAYBILL {number}", WAYBILL_SIZE),
            )
        host = request.headers.get("host", "127.0.0.1")
        return Response(
            201,
            {
                "url": f"http://{host}/mydhlapi/shipments",
                "shipmentTrackingNumber": number,
                "trackingUrl": f"http://{host}/mydhlapi/shipments/{number}/tracking",
                "packages": [
                    {
                        "referenceNumber": 1,
                        "trackingNumber": piece,
                        "trackingUrl": f"http://{host}/mydhlapi/shipments/{number}/tracking?pieceTrackingNumber={piece}",
                    }
                ],
                "documents": [
                    {"imageFormat": image_format, "content": base64.b64encode(label).decode(), "typeCode": "label"}
                ],
            },
            {"Location": f"/shipments/{number}"},
        )

    def _image(self, request: Request, path: str, parts: list[str]) -> Response:
        missing = [name for name in ("shipperAccountNumber", "typeCode", "pickupYearAndMonth") if not request.arg(name)]
        if missing:
            return self._problem(path, 400, f"Missing mandatory parameters: {', '.join(missing)}", "Missing parameters")
        if request.arg("encodingFormat") not in (None, "pdf"):
            return self._refused(path, ["1506: Only encodingFormat pdf is served by this simulator."])
        shipment = self.shipments.get(parts[1])
        if (
            shipment is None
            or request.arg("shipperAccountNumber") != self.account_number
            or request.arg("pickupYearAndMonth") != shipment.planned.strftime("%Y-%m")
            or "waybill" not in request.args("typeCode")
        ):
            return self._problem(
                path, 404, "1504: No document images found for the provided search criteria.", "Not found"
            )
        document = {
            "shipmentTrackingNumber": shipment.tracking_number,
            "typeCode": "waybill",
            "function": "export",
            "encodingFormat": "PDF",
            "content": base64.b64encode(shipment.waybill).decode(),
        }
        return Response(200, {"documents": [document]})

    # -- tracking --------------------------------------------------------------------------------------------------

    def _shipment_view(self, shipment: DhlShipment, view: str, offsets: bool) -> dict[str, Any]:
        shipper = shipment.body["customerDetails"]["shipperDetails"]["postalAddress"]
        receiver = shipment.body["customerDetails"]["receiverDetails"]["postalAddress"]
        events = [] if view == "shipment-details-only" else [dict(event) for event in shipment.events]
        if view == "last-checkpoint":
            events = events[-1:]
        if not offsets:
            for event in events:
                event.pop("GMTOffset", None)
        return {
            "shipmentTrackingNumber": shipment.tracking_number,
            "status": "Success",
            "shipmentTimestamp": shipment.planned.strftime("%Y-%m-%dT%H:%M:%S"),
            "productCode": shipment.body["productCode"],
            "description": shipment.body["content"]["description"],
            "shipperDetails": {"name": "", "postalAddress": {"countryCode": shipper.get("countryCode", "")}},
            "receiverDetails": {"name": "", "postalAddress": {"countryCode": receiver.get("countryCode", "")}},
            "totalWeight": sum(package["weight"] for package in shipment.body["content"]["packages"]),
            "unitOfMeasurements": "metric",
            "shipperReferences": shipment.references,
            "events": events,
            "numberOfPieces": len(shipment.body["content"]["packages"]),
        }

    def _track_one(self, request: Request, path: str, parts: list[str]) -> Response:
        shipment = self.shipments.get(parts[1])
        if shipment is None:
            return self._problem(path, 404, "No data found", "Not data found")
        view = request.arg("trackingView") or "all-checkpoints"
        offsets = request.arg("requestGMTOffsetPerEvent") == "true"
        return Response(200, {"shipments": [self._shipment_view(shipment, view, offsets)]})

    def _track_many(self, request: Request, path: str, parts: list[str]) -> Response:
        view = request.arg("trackingView") or "all-checkpoints"
        reference = request.arg("shipmentReference")
        if reference:
            account = request.arg("shipperAccountNumber")
            if not account:
                return self._problem(
                    path, 400, "Missing mandatory parameters: shipperAccountNumber", "Missing parameters"
                )
            kind = request.arg("shipmentReferenceType")
            since, until = request.arg("dateRangeFrom"), request.arg("dateRangeTo")
            found = [
                shipment
                for shipment in self.shipments.values()
                if account == self.account_number
                and any(
                    item.get("value") == reference and (not kind or item.get("typeCode", "CU") == kind)
                    for item in shipment.references
                )
                and (not since or shipment.planned.date().isoformat() >= since)
                and (not until or shipment.planned.date().isoformat() <= until)
            ]
            if not found:
                return self._problem(path, 404, f"No Shipments Found for ReferenceID | {reference}", "Not data found")
        else:
            found = [
                self.shipments[number] for number in request.args("shipmentTrackingNumber") if number in self.shipments
            ]
            if not found:
                return self._problem(path, 404, "No data found", "Not data found")
        return Response(200, {"shipments": [self._shipment_view(shipment, view, False) for shipment in found]})

    # -- rates and pickups ---------------------------------------------------------------------------------------

    def _rates(self, request: Request, path: str, parts: list[str]) -> Response:
        body = self._json(request)
        problems = schema_problems(body, RATE_REQUEST)
        if problems:
            return self._invalid(path, problems)
        _moment, planned_problem = self._planned(body["plannedShippingDateAndTime"], "plannedShippingDateAndTime")
        refusals = [
            problem
            for problem in (
                planned_problem,
                self._account_problem(body.get("accounts") or [{"typeCode": "shipper", "number": self.account_number}]),
                self._address_problem(body["customerDetails"]["receiverDetails"]),
            )
            if problem
        ]
        if refusals:
            return self._refused(path, refusals)
        weight = 0.0
        for package in body["packages"]:
            dimensions = package.get("dimensions") or {}
            volumetric = dimensions["length"] * dimensions["width"] * dimensions["height"] / 5000 if dimensions else 0.0
            weight += max(package["weight"], volumetric)
        halves = max(1, math.ceil(round(weight * 2, 6)))
        codes = [body["productCode"]] if body.get("productCode") else list(PRODUCTS)
        products = []
        for code in codes:
            if code not in PRODUCTS:
                return self._refused(
                    path, [f"1001: The requested product(s) ({code}) not available based on your search criteria."]
                )
            name, first, further, days = PRODUCTS[code]
            price = first + further * (halves - 1)
            base = (price / EUR_RATE).quantize(Decimal("0.01"), ROUND_HALF_UP)
            products.append(
                {
                    "productName": name,
                    "productCode": code,
                    "localProductCode": code,
                    "networkTypeCode": "TD",
                    "isCustomerAgreement": False,
                    "weight": {"volumetric": 0, "provided": round(weight, 3), "unitOfMeasurement": "metric"},
                    "totalPrice": [
                        {"currencyType": "BASEC", "priceCurrency": "EUR", "price": float(base)},
                        {"currencyType": "BILLC", "priceCurrency": self.billing_currency, "price": float(price)},
                    ],
                    "deliveryCapabilities": {"deliveryTypeCode": "QDDC", "totalTransitDays": days},
                }
            )
        return Response(200, {"products": products, "exchangeRates": []})

    def _pickup(self, request: Request, path: str, parts: list[str]) -> Response:
        body = self._json(request)
        problems = schema_problems(body, PICKUP_REQUEST)
        if problems:
            return self._invalid(path, problems)
        planned, planned_problem = self._planned(body["plannedPickupDateAndTime"], "plannedPickupDateAndTime")
        refusals = [problem for problem in (planned_problem, self._account_problem(body["accounts"])) if problem]
        if refusals:
            return self._refused(path, refusals)
        assert planned is not None
        with self.lock:
            number = f"PRG{planned:%y%m%d}{next(self._pickup_serial):06d}"
            self.pickups[number] = body
        return Response(201, {"dispatchConfirmationNumbers": [number]})
