"""DHL Express through the MyDHL API v3.1 (see ``logistics.simulators.dhl_express`` for the wire format).

- Auth: HTTP Basic with the account's API ``username`` and ``password``; every call carries ``Message-Reference`` (a
  UUID), ``Message-Reference-Date`` and ``x-version``. The account number goes in the bodies and queries.
- Create: ``POST /shipments`` with the customs declaration (``content.exportDeclaration.lineItems``) from the
  products' data, the seller's IOSS (``SDT``), VAT and EORI (``EOR``) numbers on the shipper, and the label asked for
  in the account's format (PDF, or ZPL for a thermal printer) and the shipment's size (``ECOM26_A6_002`` for A6 and
  4×6 in, DHL's default ``ECOM26_84_001`` otherwise). The label comes back base64 in ``documents`` and is stored as
  DHL sent it; the waybill number (``shipmentTrackingNumber``) is the tracking number.
- MyDHL has no idempotency key. Our reference goes with the shipment (``customerReferences`` typeCode ``CU``, on the
  shipment and its package); after a time-out, and before sending again a shipment whose first try got no answer,
  the adapter looks it up (``GET /tracking?shipmentReference=…&shipperAccountNumber=…``) and, when DHL made it,
  takes that shipment instead of making a second one. A look-up that fails leaves the shipment created (the carrier
  was not reached), to be looked up again, never blindly re-made.
- DHL sends the transport label once, in the answer to create; MyDHL has no call that sends it again. What it can
  send again is the shipment's waybill document (``GET /shipments/{n}/get-image?typeCode=waybill``, PDF only): that
  is what ``label`` and the time-out path store, in PDF whatever the account's format, with a message saying so.
- Cancel: MyDHL has no call to cancel or void a shipment. A DHL label is voided by not handing the parcel over: a
  shipment never picked up nor dropped off is not billed. ``cancel`` therefore asks DHL nothing (hand-over, the only
  step that commits a parcel, cannot be undone by cancelling: the status machine refuses it).
- Hand-over: one pickup booking (``POST /pickups``) for the manifest's parcels, each named by its waybill number;
  DHL's ``dispatchConfirmationNumbers[0]`` is the manifest's id. MyDHL gives no manifest document.
- Quote: ``POST /rates``; each product with a price in the billing currency (``BILLC``) is one rate.
- Track: ``GET /shipments/{n}/tracking`` per parcel, with ``requestGMTOffsetPerEvent`` (the multi-parcel
  ``GET /tracking`` has no such flag, and an event time without its offset cannot be placed).
- Errors: ``application/problem+json`` with DHL's code glued to ``detail`` and more in ``additionalDetails``. A 4xx
  is a refusal carrying DHL's words, a 401 names the credentials, a 5xx (or no answer) is "try again later".
"""

from __future__ import annotations

import base64
import binascii
import logging
import textwrap
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import clauses_join, words_join
from logistics.carriers.base import (
    CarrierAdapter,
    CarrierRefused,
    CarrierShipment,
    CarrierUnavailable,
    CustomsLineIn,
    HandoverResult,
    RateIn,
    ShipmentIn,
    TrackEventIn,
    TrackResult,
)
from logistics.models import Shipment, TrackingEvent
from logistics.services import carrier_account_credentials

logger = logging.getLogger(__name__)

API_VERSION = "3.1.0"  # the swagger's x-version: "do not change this field value"
DEFAULT_TEMPLATE = "ECOM26_84_001"  # 4×8 in, DHL's default transport label
TEMPLATES = {"a6": "ECOM26_A6_002", "100x150": "ECOM26_A6_002"}
MULTIPLE = "Multiple problems found, see Additional Details"
LINE_MOST = 45  # characters in one address line
FIRST_TRY = timedelta(seconds=30)  # a shipment saved longer ago than this was sent before (see _sent_before)
# DHL Express checkpoint codes (typeCode of a tracking event) and what they mean for the parcel; the rest (SA shipment
# accepted, CS closed shipment, unknown codes) are information.
KINDS = {
    **dict.fromkeys(("OK", "DD"), TrackingEvent.Kind.DELIVERED),
    "RT": TrackingEvent.Kind.RETURNED,
    **dict.fromkeys(
        ("BA", "CA", "CD", "CM", "DS", "HP", "MC", "MD", "MS", "ND", "NH", "OH", "RD", "SS", "UD"),
        TrackingEvent.Kind.EXCEPTION,
    ),
    **dict.fromkeys(
        ("PU", "PL", "DF", "AF", "AR", "WC", "CR", "IC", "RR", "BN", "BR", "FD", "TR", "TP", "SC", "AD", "CC", "PD"),
        TrackingEvent.Kind.IN_TRANSIT,
    ),
}
# The member state of an IOSS number ("IM" + its ISO 3166 numeric code + serial), which DHL wants as the issuer.
IOSS_STATES = {
    "040": "AT", "056": "BE", "100": "BG", "191": "HR", "196": "CY", "203": "CZ", "208": "DK", "233": "EE",
    "246": "FI", "250": "FR", "276": "DE", "300": "GR", "348": "HU", "372": "IE", "380": "IT", "428": "LV",
    "440": "LT", "442": "LU", "470": "MT", "528": "NL", "616": "PL", "620": "PT", "642": "RO", "703": "SK",
    "705": "SI", "724": "ES", "752": "SE",
}  # fmt: skip
# DHL wants the planned time in the origin's local time; where the sender's country is not here, Seabridge's own.
ORIGIN_ZONES = {"CN": "Asia/Shanghai", "HK": "Asia/Hong_Kong", "MO": "Asia/Macau", "TW": "Asia/Taipei"}


class DhlRefused(CarrierRefused):
    """DHL answered a 4xx problem: its words, and the HTTP status (404 is "not known", which some calls expect)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _kg(grams: int | float) -> float:
    return round(grams / 1000, 3)


def _cm(millimetres: int) -> float:
    return round(millimetres / 10, 1)


def _money(value: Decimal | int | float) -> float:
    return float(Decimal(value).quantize(Decimal("0.01")))


def _origin_now(sender: Mapping[str, Any]) -> datetime:
    zone = ORIGIN_ZONES.get(str(sender.get("country") or "").upper())
    return timezone.now().astimezone(ZoneInfo(zone) if zone else timezone.get_current_timezone())


def _planned(sender: Mapping[str, Any]) -> datetime:
    """When the parcel will be ready: the whole hour 30 to 90 minutes ahead, in the origin's time (DHL takes a time
    in the past as a refusal, and "now" reaches it too late)."""
    return (_origin_now(sender) + timedelta(minutes=90)).replace(minute=0, second=0, microsecond=0)


def _dhl_time(moment: datetime) -> str:
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%dT%H:%M:%S} GMT{offset[:3]}:{offset[3:]}"


def _without_empty(values: Mapping[str, Any]) -> dict[str, Any]:
    """Empty values left out: DHL refuses an empty text where it wants one, and names the missing field."""
    return {key: value for key, value in values.items() if value not in (None, "", [], {})}


def _address_lines(*parts: str) -> list[str]:
    """Up to three lines of 45 characters: the lines as given when they fit, else the text wrapped; text that does
    not fit in three is sent whole, for DHL to refuse with its reason rather than lose part of an address."""
    lines = [part.strip() for part in parts if part and part.strip()]
    if all(len(line) <= LINE_MOST for line in lines):
        return lines
    wrapped = textwrap.wrap(" ".join(lines), LINE_MOST)
    return wrapped if len(wrapped) <= 3 else lines


def _postal_address(address: Mapping[str, Any]) -> dict[str, Any]:
    lines = _address_lines(str(address.get("address1") or ""), str(address.get("address2") or ""))
    state = str(address.get("state") or "").strip()
    # The postcode is required but may be empty (places without postcodes); the rest is left out when empty.
    return {"postalCode": str(address.get("postcode") or "").strip()} | _without_empty(
        {
            "cityName": str(address.get("city") or "").strip(),
            "countryCode": str(address.get("country") or "").strip().upper(),
            "provinceCode": state if 2 <= len(state) <= 35 else None,
            "addressLine1": lines[0] if lines else None,
            "addressLine2": lines[1] if len(lines) > 1 else None,
            "addressLine3": lines[2] if len(lines) > 2 else None,
        }
    )


def _contact(address: Mapping[str, Any]) -> dict[str, Any]:
    name = str(address.get("name") or "").strip()
    return _without_empty(
        {
            "fullName": name,
            # Required: a private person's own name stands for the company, as DHL's samples do.
            "companyName": str(address.get("company") or "").strip() or name,
            "phone": str(address.get("phone") or "").strip(),
            "email": str(address.get("email") or "").strip(),
        }
    )


def _party(address: Mapping[str, Any], type_code: str | None = None) -> dict[str, Any]:
    party: dict[str, Any] = {"postalAddress": _postal_address(address), "contactInformation": _contact(address)}
    if type_code:
        party["typeCode"] = type_code
    return party


def _issuer(number: str, fallback: str) -> str:
    """The country that issued a VAT or EORI number: its first two letters (Greece writes EL)."""
    prefix = number[:2].upper()
    if prefix.isalpha():
        return "GR" if prefix == "EL" else prefix
    return fallback


def _registrations(parcel: ShipmentIn, origin: str) -> list[dict[str, str]]:
    numbers = []
    if parcel.ioss_number:
        ioss = parcel.ioss_number.strip().upper()
        state = IOSS_STATES.get(ioss[2:5], "") if ioss.startswith("IM") else ""
        numbers.append(
            {
                "typeCode": "SDT",  # "Import One-Stop-Shop" among SDT's meanings in the swagger
                "number": ioss,
                "issuerCountryCode": state or str(parcel.recipient.get("country") or "").upper(),
            }
        )
    if parcel.vat_number:
        vat = parcel.vat_number.strip().upper()
        numbers.append({"typeCode": "VAT", "number": vat, "issuerCountryCode": _issuer(vat, origin)})
    if parcel.eori_number:
        eori = parcel.eori_number.strip().upper()
        numbers.append({"typeCode": "EOR", "number": eori, "issuerCountryCode": _issuer(eori, origin)})
    return numbers


def _declared(lines: Iterable[CustomsLineIn] | Iterable[Any]) -> tuple[Decimal, str]:
    """The declared value and its currency (of ``CustomsLineIn`` or saved customs lines): DHL takes one currency
    per shipment."""
    lines = list(lines)
    currencies = sorted({line.currency for line in lines if line.currency})
    if len(currencies) > 1:
        raise CarrierRefused(
            _("DHL Express takes one currency per shipment; the customs lines are in %(currencies)s.")
            % {"currencies": words_join(currencies)}
        )
    total = sum((Decimal(line.unit_value) * line.quantity for line in lines), Decimal(0))
    return total, (currencies[0] if currencies else "")


def _package(weight_g: int, length_mm: int | None, width_mm: int | None, height_mm: int | None) -> dict[str, Any]:
    package: dict[str, Any] = {"weight": max(_kg(weight_g), 0.001)}
    if length_mm and width_mm and height_mm:
        package["dimensions"] = {"length": _cm(length_mm), "width": _cm(width_mm), "height": _cm(height_mm)}
    return package


def _problem_text(body: Any) -> str:
    """DHL's words from a problem answer: ``detail`` (its code in front) and each of ``additionalDetails``."""
    if not isinstance(body, dict):
        return ""
    more = [str(item) for item in body.get("additionalDetails") or [] if item]
    detail = str(body.get("detail") or body.get("message") or body.get("title") or "").strip()
    return clauses_join([part for part in ([] if (detail == MULTIPLE and more) else [detail]) + more if part])


def _sent_before(shipment: Shipment) -> bool:
    """Whether this shipment was sent to DHL before: a carrier message left by a try that got no answer, or a
    shipment saved well before this call (a worker that died while DHL answered). One saved just now for this
    call is a first try."""
    made = shipment.created_at
    return bool(shipment.carrier_message) or (made is not None and made < timezone.now() - FIRST_TRY)


def _moment(date: Any, time: Any, offset: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(f"{date}T{time}{offset or ''}")
    except ValueError:
        return None
    # Asked with its offset; one missing (an older event) is read as UTC rather than dropped.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class DhlExpress(CarrierAdapter):
    tracks = True
    hands_over = True
    label_formats = ("pdf", "zpl")

    # -- HTTP ----------------------------------------------------------------------------------------------------

    @cached_property
    def _credentials(self) -> dict[str, str]:
        return carrier_account_credentials(self.account)

    @property
    def _account_number(self) -> str:
        return self._credentials.get("account_number", "")

    def _client(self) -> httpx.Client:
        credentials = self._credentials
        return httpx.Client(
            base_url=self.account.api_base_url.rstrip("/") + "/",
            auth=httpx.BasicAuth(credentials.get("username", ""), credentials.get("password", "")),
            headers={"Accept": "application/json", "x-version": API_VERSION},
            timeout=httpx.Timeout(settings.CARRIER_HTTP_TIMEOUT, connect=5.0),
        )

    def _call(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
        headers = {
            "Message-Reference": str(uuid.uuid4()),
            "Message-Reference-Date": format_datetime(datetime.now(UTC), usegmt=True),
        }
        try:
            response = client.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise  # not "unavailable": after a create, DHL may have made the shipment; the caller looks
        except httpx.HTTPError as error:
            raise CarrierUnavailable(
                _("DHL Express cannot be reached (%(error)s).") % {"error": type(error).__name__}
            ) from error
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if status == 401:
            refusal = _(
                "DHL Express did not accept the API username and password of %(account)s (HTTP 401): check the "
                "account's credentials."
            ) % {"account": self.account.name}
            raise CarrierRefused(clauses_join([part for part in (refusal, _problem_text(body)) if part]))
        if status >= 500 or status == 429 or (status >= 400 and not _problem_text(body)):
            raise CarrierUnavailable(
                _("DHL Express answered HTTP %(status)s: %(message)s")
                % {"status": status, "message": _problem_text(body) or response.reason_phrase}
            )
        if status >= 400:
            raise DhlRefused(_("DHL Express refused it: %(message)s") % {"message": _problem_text(body)}, status)
        if not isinstance(body, dict):
            raise CarrierUnavailable(_("DHL Express answered something that is not JSON."))
        return body

    @staticmethod
    def _months(*moments: datetime) -> list[str]:
        """The months, in the origin's time, a shipment may be filed under: its planned time is up to 90 minutes
        after it was made (the next month, at the turn of one)."""
        months = [f"{moment:%Y-%m}" for moment in moments]
        months += [f"{moment + timedelta(minutes=90):%Y-%m}" for moment in moments]
        return list(dict.fromkeys(months))

    # -- create --------------------------------------------------------------------------------------------------

    def _shipment_request(
        self, shipment: Shipment, parcel: ShipmentIn, reference: str, planned: datetime
    ) -> dict[str, Any]:
        sender = shipment.sender or self.account.sender or {}
        origin = str(sender.get("country") or "").upper()
        destination = str(parcel.recipient.get("country") or "").upper()
        value, currency = _declared(parcel.lines)
        declarable = destination != origin
        shipper = _party(sender, "business")
        registrations = _registrations(parcel, origin)
        if registrations:
            shipper["registrationNumbers"] = registrations
        names = list(dict.fromkeys(line.name_en.strip() for line in parcel.lines if line.name_en.strip()))
        package = _package(parcel.weight_g, parcel.length_mm, parcel.width_mm, parcel.height_mm)
        package["customerReferences"] = [{"value": reference, "typeCode": "CU"}]
        content: dict[str, Any] = {
            "packages": [package],
            "isCustomsDeclarable": declarable,
            "description": (", ".join(names)[:70].strip() or "Goods"),
            "incoterm": "DAP",
            "unitOfMeasurement": "metric",
        }
        if declarable and parcel.lines:
            content["declaredValue"] = _money(value)
            content["declaredValueCurrency"] = currency
            content["exportDeclaration"] = {
                "lineItems": [
                    {
                        "number": number,
                        "description": line.name_en[:512],
                        "price": _money(line.unit_value),
                        "quantity": {"value": line.quantity, "unitOfMeasurement": "PCS"},
                        "commodityCodes": [{"typeCode": "outbound", "value": line.hs_code.replace(".", "")}],
                        "exportReasonType": "permanent",
                        "manufacturerCountry": line.origin_country,
                        "weight": {
                            "netValue": _kg(line.unit_weight_g * line.quantity),
                            "grossValue": _kg(line.unit_weight_g * line.quantity),
                        },
                    }
                    for number, line in enumerate(parcel.lines, start=1)
                ],
                "invoice": {"number": reference, "date": planned.date().isoformat()},
                "exportReasonType": "permanent",
                "shipmentType": "commercial",
            }
        zpl = self.account.label_format == "zpl"
        return {
            "plannedShippingDateAndTime": _dhl_time(planned),
            "pickup": {"isRequested": False},
            "productCode": shipment.method.carrier_product_code or parcel.method_code,
            "accounts": [{"typeCode": "shipper", "number": self._account_number}],
            "outputImageProperties": {
                "printerDPI": 200 if zpl else 300,  # a thermal printer prints 203 dpi
                "encodingFormat": "zpl" if zpl else "pdf",
                "imageOptions": [
                    {"typeCode": "label", "templateName": TEMPLATES.get(shipment.label_size, DEFAULT_TEMPLATE)}
                ],
            },
            "customerReferences": [{"value": reference, "typeCode": "CU"}],
            "customerDetails": {
                "shipperDetails": shipper,
                "receiverDetails": _party(
                    parcel.recipient, "business" if str(parcel.recipient.get("company") or "").strip() else "private"
                ),
            },
            "content": content,
        }

    def create(self, shipment: Shipment, parcel: ShipmentIn) -> CarrierShipment:
        reference = (parcel.idempotency_key or shipment.carrier_reference or shipment.number)[:35]
        sender = shipment.sender or self.account.sender or {}
        planned = _planned(sender)
        made = (shipment.created_at or timezone.now()).astimezone(planned.tzinfo)
        request = self._shipment_request(shipment, parcel, reference, planned)
        with self._client() as client:
            if _sent_before(shipment):
                # Its answer was lost (or its worker died): DHL may have made it, so look before making another.
                number = self._find(client, reference, made, planned)
                if number is not None:
                    return self._refetched(client, number, self._months(made, planned))
            try:
                body = self._call(client, "POST", "shipments", json=request)
            except httpx.TimeoutException:
                # DHL may have made it before the answer was lost: look for our reference, never make a second.
                number = self._find(client, reference, made, planned)
                if number is None:
                    raise CarrierUnavailable(
                        _(
                            "DHL Express did not answer in time and has no shipment with reference %(reference)s: "
                            "it will be sent again."
                        )
                        % {"reference": reference}
                    ) from None
                answer = self._refetched(client, number, self._months(planned))
                answer.message = clauses_join(
                    [_("DHL Express did not answer in time but had made the shipment."), answer.message]
                )
                return answer
        return self._created(body)

    def _created(self, body: Mapping[str, Any]) -> CarrierShipment:
        number = str(body.get("shipmentTrackingNumber") or "")
        if not number:
            raise CarrierUnavailable(_("DHL Express answered without a waybill number."))
        answer = CarrierShipment(
            carrier_order_id=str(body.get("dispatchConfirmationNumber") or number), tracking_number=number
        )
        document = next(
            (doc for doc in body.get("documents") or [] if doc.get("typeCode") == "label" and doc.get("content")), None
        )
        warnings = [str(warning) for warning in body.get("warnings") or [] if warning]
        if document is None:
            warnings.append(_("DHL Express sent no label: it will be asked for again."))
        else:
            try:
                answer.label = base64.b64decode(document["content"], validate=True)
            except (binascii.Error, ValueError) as error:
                raise CarrierUnavailable(_("DHL Express sent a label that is not base64.")) from error
            answer.label_format = str(document.get("imageFormat") or "pdf").lower()
        answer.message = clauses_join(warnings)
        return answer

    def _find(self, client: httpx.Client, reference: str, since: datetime, until: datetime) -> str | None:
        """The waybill number of the shipment DHL made with our reference between ``since`` and ``until``, if any."""
        params = {
            "shipmentReference": reference,
            "shipmentReferenceType": "CU",
            "shipperAccountNumber": self._account_number,
            "trackingView": "shipment-details-only",
            "levelOfDetail": "shipment",
            "dateRangeFrom": (since - timedelta(days=1)).date().isoformat(),
            "dateRangeTo": (until + timedelta(days=1)).date().isoformat(),
        }
        try:
            body = self._call(client, "GET", "tracking", params=params)
        except DhlRefused as refused:
            if refused.status == 404:
                return None  # "No Shipments Found for ReferenceID"
            # Not a refusal of the shipment: whether DHL has it is still unknown, so it must not end failed.
            raise CarrierUnavailable(
                _("DHL Express could not be asked for shipment %(reference)s: %(message)s")
                % {"reference": reference, "message": str(refused)}
            ) from None
        except httpx.TimeoutException:
            raise CarrierUnavailable(
                _("DHL Express did not answer in time: whether it made shipment %(reference)s is not known yet.")
                % {"reference": reference}
            ) from None
        for found in body.get("shipments") or []:
            references = found.get("shipperReferences")
            if references is None or any(item.get("value") == reference for item in references):
                return str(found.get("shipmentTrackingNumber") or "") or None
        return None

    def _refetched(self, client: httpx.Client, number: str, months: list[str]) -> CarrierShipment:
        """A shipment DHL made, with its waybill document as the label when DHL serves it; without it the waybill
        number is kept all the same, so the shipment is never sent again, only its image asked for."""
        answer = CarrierShipment(carrier_order_id=number, tracking_number=number)
        try:
            image = self._image(client, number, months)
        except (CarrierUnavailable, httpx.TimeoutException) as problem:
            image, reason = None, str(problem) if isinstance(problem, CarrierUnavailable) else type(problem).__name__
        else:
            reason = ""
        if image is None and reason:
            answer.message = _(
                "DHL Express made shipment %(number)s but could not send its image now (%(reason)s)."
            ) % {
                "number": number,
                "reason": reason,
            }
        elif image is None:
            answer.message = _("DHL Express made shipment %(number)s but has no image of it yet.") % {"number": number}
        else:
            answer.label, answer.label_format = image, "pdf"
            answer.message = _("DHL Express sends a label only once: this is its waybill document, in PDF.")
        return answer

    def _image(self, client: httpx.Client, number: str, months: list[str]) -> bytes | None:
        for month in months:
            params = {
                "shipperAccountNumber": self._account_number,
                "typeCode": "waybill",
                "pickupYearAndMonth": month,
                "encodingFormat": "pdf",
            }
            try:
                body = self._call(client, "GET", f"shipments/{number}/get-image", params=params)
            except DhlRefused as refused:
                if refused.status == 404:
                    continue  # "1504: No document images found" for this month
                raise
            for document in body.get("documents") or []:
                if document.get("typeCode") == "waybill" and document.get("content"):
                    try:
                        return base64.b64decode(document["content"], validate=True)
                    except (binascii.Error, ValueError) as error:
                        raise CarrierUnavailable(_("DHL Express sent an image that is not base64.")) from error
        return None

    def label(self, shipment: Shipment) -> CarrierShipment:
        """The label of a shipment that has none: its waybill document from DHL (found by our reference first when
        even the waybill number is missing)."""
        sender = shipment.sender or self.account.sender or {}
        now = _origin_now(sender)
        made = (shipment.created_at or now).astimezone(now.tzinfo)
        reference = shipment.carrier_reference or shipment.number
        with self._client() as client:
            number = shipment.tracking_number or self._find(client, reference, made, now)
            if not number:
                return CarrierShipment(
                    message=_("DHL Express has no shipment with reference %(reference)s.") % {"reference": reference}
                )
            return self._refetched(client, number, self._months(made))

    def cancel(self, shipment: Shipment) -> None:
        """Nothing to ask: MyDHL has no cancel call, and a label never handed over is not billed (see the module)."""
        return None

    # -- quote ----------------------------------------------------------------------------------------------------

    def quote(self, shipment: Shipment, parcel: ShipmentIn) -> list[RateIn]:
        sender = shipment.sender or self.account.sender or {}
        origin = str(sender.get("country") or "").upper()
        destination = str(parcel.recipient.get("country") or "").upper()

        def address(values: Mapping[str, Any]) -> dict[str, Any]:
            postal = _postal_address(values)
            return {
                key: postal[key] for key in ("postalCode", "cityName", "countryCode", "addressLine1") if key in postal
            }

        request: dict[str, Any] = {
            "customerDetails": {"shipperDetails": address(sender), "receiverDetails": address(parcel.recipient)},
            "accounts": [{"typeCode": "shipper", "number": self._account_number}],
            "plannedShippingDateAndTime": _dhl_time(_planned(sender)),
            "unitOfMeasurement": "metric",
            "isCustomsDeclarable": destination != origin,
            "packages": [_package(parcel.weight_g, parcel.length_mm, parcel.width_mm, parcel.height_mm)],
        }
        value, currency = _declared(parcel.lines)
        if currency:
            request["monetaryAmount"] = [{"typeCode": "declaredValue", "value": _money(value), "currency": currency}]
        with self._client() as client:
            try:
                body = self._call(client, "POST", "rates", json=request)
            except httpx.TimeoutException:
                raise CarrierUnavailable(_("DHL Express did not answer in time.")) from None
        rates = []
        for product in body.get("products") or []:
            prices = [price for price in product.get("totalPrice") or [] if price.get("price")]
            billed = next((price for price in prices if price.get("currencyType") == "BILLC"), None)
            if billed is None or not product.get("productCode"):
                continue  # no price for this account: DHL lists the product without one
            days = (product.get("deliveryCapabilities") or {}).get("totalTransitDays")
            rates.append(
                RateIn(
                    service=str(product["productCode"]),
                    amount=Decimal(str(billed["price"])).quantize(Decimal("0.01")),
                    currency=str(billed.get("priceCurrency") or ""),
                    delivery_days=int(days) if str(days or "").isdigit() else None,
                    description=str(product.get("productName") or ""),
                )
            )
        return rates

    # -- hand-over -----------------------------------------------------------------------------------------------

    def handover(self, shipments: list[Shipment], reference: str) -> HandoverResult:
        """Book one DHL pickup for the parcels of manifest ``reference``; a parcel without a waybill number is left
        out, with why."""
        result = HandoverResult()
        booked = [shipment for shipment in shipments if shipment.tracking_number]
        for shipment in shipments:
            if not shipment.tracking_number:
                result.refused[shipment.pk] = _("It has no DHL waybill number.")
        if not booked:
            return result
        account_number = self._account_number
        sender = booked[0].sender or self.account.sender or {}
        details = []
        for shipment in booked:
            lines = list(shipment.customs_lines.all())
            value, currency = _declared(lines)
            origin = str((shipment.sender or sender).get("country") or "").upper()
            declarable = str(shipment.recipient.get("country") or "").upper() != origin
            weight = shipment.actual_weight_g or shipment.expected_weight_g or shipment.declared_weight_g or 1
            detail: dict[str, Any] = {
                "productCode": shipment.method.carrier_product_code,
                "accounts": [{"typeCode": "shipper", "number": account_number}],
                "isCustomsDeclarable": declarable,
                "unitOfMeasurement": "metric",
                "shipmentTrackingNumber": shipment.tracking_number,
                "packages": [_package(weight, shipment.length_mm, shipment.width_mm, shipment.height_mm)],
            }
            if declarable and currency:
                detail["declaredValue"], detail["declaredValueCurrency"] = _money(value), currency
            details.append(detail)
        request = {
            "plannedPickupDateAndTime": _dhl_time(_planned(sender)),
            "accounts": [{"typeCode": "shipper", "number": account_number}],
            "remark": reference[:80],
            "customerDetails": {"shipperDetails": _party(sender)},
            "shipmentDetails": details,
        }
        with self._client() as client:
            try:
                body = self._call(client, "POST", "pickups", json=request)
            except httpx.TimeoutException:
                raise CarrierUnavailable(
                    _("DHL Express did not answer in time: check MyDHL for a pickup booked for %(reference)s.")
                    % {"reference": reference}
                ) from None
        numbers = [str(number) for number in body.get("dispatchConfirmationNumbers") or [] if number]
        if not numbers:
            raise CarrierUnavailable(_("DHL Express booked no pickup and gave no reason."))
        result.carrier_manifest_id = numbers[0]
        result.message = clauses_join(str(warning) for warning in body.get("warnings") or [] if warning)
        return result

    # -- tracking -------------------------------------------------------------------------------------------------

    def track(self, shipments: list[Shipment]) -> dict[int, TrackResult]:
        found: dict[int, TrackResult] = {}
        params = {"trackingView": "all-checkpoints", "levelOfDetail": "shipment", "requestGMTOffsetPerEvent": "true"}
        with self._client() as client:
            for shipment in shipments:
                if not shipment.tracking_number:
                    continue
                try:
                    body = self._call(client, "GET", f"shipments/{shipment.tracking_number}/tracking", params=params)
                except (DhlRefused, CarrierUnavailable, httpx.TimeoutException):
                    continue  # not known to DHL (404), or not now: the next run asks again
                except CarrierRefused as refused:
                    logger.warning("DHL Express tracking stopped for account %s: %s", self.account.pk, refused)
                    break  # the credentials: every other parcel would be refused the same way
                events = []
                for item in body.get("shipments") or []:
                    if item.get("shipmentTrackingNumber") not in (None, shipment.tracking_number):
                        continue
                    for event in item.get("events") or []:
                        when = _moment(event.get("date"), event.get("time"), event.get("GMTOffset"))
                        if when is None:
                            continue
                        code = str(event.get("typeCode") or "")
                        areas = event.get("serviceArea") or [{}]
                        events.append(
                            TrackEventIn(
                                occurred_at=when,
                                kind=KINDS.get(code, TrackingEvent.Kind.INFO),
                                code=code[:32],
                                description=str(event.get("description") or "").strip()[:500],
                                location=str(areas[0].get("description") or "")[:200],
                            )
                        )
                events.sort(key=lambda event: event.occurred_at)
                kind = next((event.kind for event in reversed(events) if event.kind != TrackingEvent.Kind.INFO), "")
                found[shipment.pk] = TrackResult(kind=kind, events=events)
        return found
