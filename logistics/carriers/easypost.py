"""EasyPost (API v2, see ``logistics.simulators.easypost`` for the wire format): one account, many carriers' rates.

- Create: ``POST /shipments`` (addresses, the parcel in inches and ounces, customs, ``reference`` = the shipment's
  idempotency key), then the rate of the method's ``carrier_product_code`` ("USPS:Priority", or only a service) is
  bought with ``POST /shipments/{id}/buy``. Rating errors come beside good rates in ``messages[]``: with no rate for
  the method, the refusal lists them.
- EasyPost documents no idempotency key, so the adapter looks for its shipment by ``reference`` itself
  (``GET /shipments`` since the Seabridge shipment was saved, newest first, a few pages): before creating (a create
  sent again after a worker died or EasyPost did not answer finishes what EasyPost made the first time) and after a
  time-out on create. After a time-out on buy it reads the shipment (``GET /shipments/{id}``) and buys that same
  one again only if it has no label: one EasyPost shipment holds one label, so a parcel is never paid twice. Once
  bought, nothing raises any more: a label that cannot be fetched is left for ``label`` (the shipment keeps its
  EasyPost id and tracking number). The quoted cost is the bought rate's.
- Label: fetched from ``postage_label.label_pdf_url`` / ``label_zpl_url`` as EasyPost serves it, after
  ``GET /shipments/{id}/label?file_format=`` when the buy answered only the PNG. Files are fetched without the
  API key: they live on EasyPost's file host, not the API.
- Errors ``{error: {code, message, errors[]}}`` are refusals, 401 names the API key; 429, 5xx and no connection
  are "try later".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

import httpx
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from logistics.carriers.base import (
    CarrierAdapter,
    CarrierRefused,
    CarrierShipment,
    CarrierUnavailable,
    HandoverResult,
    RateIn,
    ShipmentIn,
    TrackEventIn,
    TrackResult,
)
from logistics.models import Shipment, ShippingMethod, TrackingEvent
from logistics.services import carrier_account_credentials

GRAMS_PER_OUNCE = Decimal("28.349523125")
MM_PER_INCH = Decimal("25.4")
TENTH = Decimal("0.1")
# A shipment of ours at EasyPost is looked for among those made since the Seabridge shipment was saved (less a
# margin for the two clocks), newest first, a few pages at most.
FIND_PAGE_SIZE, FIND_PAGES = 50, 4
CLOCK_MARGIN = timedelta(minutes=2)
FILE_FORMATS = {"pdf": ("PDF", "label_pdf_url"), "zpl": ("ZPL", "label_zpl_url")}
LABEL_SIGNATURES = {"pdf": b"%PDF", "zpl": b"^XA"}
REFUND_ACCEPTED = frozenset({"submitted", "refunded"})
# A tracker's status in Seabridge's words; "unknown" is nothing yet, unless EasyPost says more (status_detail).
TRACKER_KINDS = {
    "pre_transit": TrackingEvent.Kind.INFO,
    "in_transit": TrackingEvent.Kind.IN_TRANSIT,
    "out_for_delivery": TrackingEvent.Kind.IN_TRANSIT,
    "available_for_pickup": TrackingEvent.Kind.IN_TRANSIT,
    "delivered": TrackingEvent.Kind.DELIVERED,
    "return_to_sender": TrackingEvent.Kind.RETURNED,
    "failure": TrackingEvent.Kind.EXCEPTION,
    "error": TrackingEvent.Kind.EXCEPTION,
    "cancelled": TrackingEvent.Kind.EXCEPTION,
}
SHIPMENT_ID = re.compile(r"\bshp_[0-9a-f]+\b")


class EasyPostRefused(CarrierRefused):
    """EasyPost's error answer, kept whole so a caller can read which shipments it named."""

    def __init__(self, message: str, *, status: int, error: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


def _ounces(grams: int | float | Decimal) -> float:
    """Rounded up to a tenth: a parcel declared lighter than it is gets surcharged, or refused at the counter."""
    return float((Decimal(grams) / GRAMS_PER_OUNCE).quantize(TENTH, ROUND_CEILING))


def _inches(millimetres: int) -> float:
    return float((Decimal(millimetres) / MM_PER_INCH).quantize(TENTH, ROUND_CEILING))


def _address(address: Mapping[str, Any]) -> dict[str, Any]:
    fields = {
        "name": address.get("name"),
        "company": address.get("company"),
        "street1": address.get("address1"),
        "street2": address.get("address2"),
        "city": address.get("city"),
        "state": address.get("state"),
        "zip": address.get("postcode"),
        "country": str(address.get("country") or "").upper() or None,
        "phone": address.get("phone"),
        "email": address.get("email"),
    }
    return {name: value for name, value in fields.items() if value not in (None, "")}


def _method(method: ShippingMethod) -> tuple[str, str]:
    """("USPS", "Priority") from "USPS:Priority"; ("", "Priority") when the method names a service only."""
    code = method.carrier_product_code or method.code
    carrier, _colon, service = code.rpartition(":")
    return carrier.strip(), service.strip()


def _rate_name(rate: Mapping[str, Any]) -> str:
    return f"{rate.get('carrier')}:{rate.get('service')}"


def _error_text(error: Mapping[str, Any]) -> str:
    """``CODE: message (field: message; ...)`` from EasyPost's error; its ``errors`` are objects or plain strings."""
    details = []
    for detail in error.get("errors") or []:
        if isinstance(detail, Mapping):
            text = str(detail.get("message") or "")
            details.append(f"{detail['field']}: {text}" if detail.get("field") else text)
        else:
            details.append(str(detail))
    text = ": ".join(part for part in (str(error.get("code") or ""), str(error.get("message") or "")) if part)
    return f"{text} ({'; '.join(details)})" if details else text


def _messages_text(shipment: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{message.get('carrier')}: {message.get('message')}"
        for message in shipment.get("messages") or []
        if isinstance(message, Mapping)
    )


def _moment(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    # EasyPost gives the place's offset when it knows the place, UTC otherwise (its Tracker documents say so).
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _kind(status: str, status_detail: str = "") -> str:
    if status == "unknown" and status_detail not in ("", "unknown", "status_update"):
        return TrackingEvent.Kind.EXCEPTION
    return TRACKER_KINDS.get(status, "")


class EasyPost(CarrierAdapter):
    tracks = True
    hands_over = True
    label_formats = ("pdf", "zpl")

    # -- HTTP -----------------------------------------------------------------------------------------------------

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(settings.CARRIER_HTTP_TIMEOUT, connect=5.0)

    def _client(self) -> httpx.Client:
        api_key = carrier_account_credentials(self.account).get("api_key", "")
        return httpx.Client(
            base_url=self.account.api_base_url.rstrip("/") + "/",
            auth=httpx.BasicAuth(api_key, ""),
            headers={"Accept": "application/json"},
            timeout=self._timeout(),
        )

    def _call(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise  # not "unavailable": the caller reads back what EasyPost may have done meanwhile
        except httpx.HTTPError as error:
            raise CarrierUnavailable(
                _("EasyPost cannot be reached (%(error)s).") % {"error": type(error).__name__}
            ) from error
        if response.status_code == 429 or response.status_code >= 500:
            raise CarrierUnavailable(
                _("EasyPost answered HTTP %(status)s: try again later.") % {"status": response.status_code}
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code < 400:
            if not isinstance(body, dict):
                raise CarrierUnavailable(_("EasyPost answered something that is not a JSON object."))
            return body
        error = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
        text = _error_text(error) or f"HTTP {response.status_code}"
        if response.status_code == 401:
            message = _("EasyPost refused the API key: check the account's api_key (%(error)s).") % {"error": text}
        else:
            message = _("EasyPost refused it: %(error)s") % {"error": text}
        raise EasyPostRefused(message, status=response.status_code, error=error)

    def _download(self, url: str, signature: bytes) -> bytes | None:
        """A file EasyPost serves (label, scan form) as it serves it, or None when it cannot be had now."""
        try:
            response = httpx.get(url, timeout=self._timeout(), follow_redirects=True)
        except httpx.HTTPError:
            return None
        if response.status_code != 200 or signature not in response.content[:64]:
            return None
        return response.content

    # -- create ---------------------------------------------------------------------------------------------------

    def _shipment_body(self, shipment: Shipment, parcel: ShipmentIn, reference: str) -> dict[str, Any]:
        sender = shipment.sender or {}
        dimensions = {
            name: _inches(value)
            for name, value in (("length", parcel.length_mm), ("width", parcel.width_mm), ("height", parcel.height_mm))
            if value
        }
        body: dict[str, Any] = {
            "to_address": _address(parcel.recipient),
            "from_address": _address(sender),
            "parcel": {**dimensions, "weight": _ounces(parcel.weight_g)},
            "options": {
                "label_format": FILE_FORMATS[self._label_format()][0],
                "label_size": "4x6",
                "invoice_number": parcel.reference,
            },
        }
        if reference:
            body["reference"] = reference
        if parcel.lines:
            body["customs_info"] = {
                "contents_type": "merchandise",
                "contents_explanation": "",
                "customs_certify": True,
                "customs_signer": sender.get("name") or sender.get("company") or "",
                "eel_pfc": "NOEEI 30.37(a)",
                "non_delivery_option": "return",
                "restriction_type": "none",
                # EasyPost's value and weight are the line's: unit × quantity (its CustomsItem documents say so).
                "customs_items": [
                    {
                        "description": line.name_en,
                        "quantity": line.quantity,
                        "value": float((Decimal(line.unit_value) * line.quantity).quantize(Decimal("0.01"))),
                        "weight": _ounces(line.unit_weight_g * line.quantity),
                        "hs_tariff_number": line.hs_code,
                        "origin_country": line.origin_country,
                        "currency": line.currency,
                        "code": line.sku,
                    }
                    for line in parcel.lines
                ],
            }
        identifiers = [
            {"entity": "SENDER", "tax_id_type": kind, "tax_id": number}
            for kind, number in (("IOSS", parcel.ioss_number), ("VAT", parcel.vat_number), ("EORI", parcel.eori_number))
            if number
        ]
        if identifiers:
            body["tax_identifiers"] = identifiers
        return {"shipment": body}

    def _label_format(self) -> str:
        return self.account.label_format if self.account.label_format in FILE_FORMATS else "pdf"

    def create(self, shipment: Shipment, parcel: ShipmentIn) -> CarrierShipment:
        """Sent again under the same reference after a worker died or EasyPost did not answer, it finds what EasyPost
        made the first time and finishes that: it never makes (or pays for) a second shipment of the parcel."""
        reference = parcel.idempotency_key or shipment.carrier_reference or shipment.number
        with self._client() as client:
            made = self._find(client, reference, shipment.created_at)
            if made is None:
                try:
                    made = self._call(
                        client, "POST", "shipments", json=self._shipment_body(shipment, parcel, reference)
                    )
                except httpx.TimeoutException:
                    # It may have made the shipment before the answer was lost: find it, never make a second one.
                    made = self._find(client, reference, shipment.created_at)
                    if made is None:
                        raise CarrierUnavailable(
                            _("EasyPost did not answer in time and has no shipment %(reference)s yet: try again.")
                            % {"reference": reference}
                        ) from None
            return self._completed(client, shipment, made)

    def _completed(self, client: httpx.Client, shipment: Shipment, made: dict[str, Any]) -> CarrierShipment:
        """Buy the method's rate of ``made`` (unless it is bought already) and fetch its label."""
        bought = made if made.get("postage_label") else self._bought(client, made, self._rate(shipment, made))
        answer = CarrierShipment(
            carrier_order_id=str(bought["id"]), tracking_number=str(bought.get("tracking_code") or "")
        )
        rate = bought.get("selected_rate") or {}
        try:
            answer.quoted_cost = Decimal(str(rate.get("rate")))
            answer.cost_currency = str(rate.get("currency") or "")
        except InvalidOperation:
            pass
        bought_message = _("EasyPost bought %(service)s for %(amount)s %(currency)s.") % {
            "service": _rate_name(rate),
            "amount": rate.get("rate"),
            "currency": rate.get("currency"),
        }
        answer.label, answer.label_format = self._label(client, bought)
        if answer.label is None:
            answer.message = " ".join((bought_message, _("EasyPost has not given the label yet; ask for it again.")))
        else:
            answer.message = bought_message
        return answer

    def _rate(self, shipment: Shipment, made: Mapping[str, Any]) -> dict[str, Any]:
        carrier, service = _method(shipment.method)
        for rate in made.get("rates") or []:
            same_service = str(rate.get("service") or "").lower() == service.lower()
            if same_service and (not carrier or str(rate.get("carrier") or "").lower() == carrier.lower()):
                return rate
        raise CarrierRefused(
            _("EasyPost has no %(method)s rate for this parcel. %(messages)s")
            % {
                "method": f"{carrier}:{service}" if carrier else service,
                "messages": _messages_text(made) or _("No carrier said why."),
            }
        )

    def _bought(self, client: httpx.Client, made: Mapping[str, Any], rate: Mapping[str, Any]) -> dict[str, Any]:
        path, buy = f"shipments/{made['id']}", {"rate": {"id": rate["id"]}}
        try:
            return self._call(client, "POST", f"{path}/buy", json=buy)
        except httpx.TimeoutException:
            pass
        # The purchase may have gone through before the answer was lost. One EasyPost shipment holds one label, so
        # buying this same shipment again (never a new one) cannot pay twice: if the first purchase won, the second
        # is refused and the shipment read again shows the label.
        try:
            again = self._call(client, "GET", path)
            if not again.get("postage_label"):
                try:
                    again = self._call(client, "POST", f"{path}/buy", json=buy)
                except CarrierRefused:
                    again = self._call(client, "GET", path)
                    if not again.get("postage_label"):
                        raise
            return again
        except (httpx.TimeoutException, CarrierUnavailable):
            raise CarrierUnavailable(
                _("EasyPost did not answer while buying %(id)s: look at it in EasyPost before trying again.")
                % {"id": made["id"]}
            ) from None

    def _find(self, client: httpx.Client, reference: str, since: datetime | None) -> dict[str, Any] | None:
        """The newest shipment made with ``reference`` (a bought one first) since ``since``."""
        found: dict[str, Any] | None = None
        params: dict[str, Any] = {"page_size": FIND_PAGE_SIZE}
        if since is not None:
            params["start_datetime"] = (since - CLOCK_MARGIN).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            for _page in range(FIND_PAGES):
                page = self._call(client, "GET", "shipments", params=params)
                rows = [row for row in page.get("shipments") or [] if isinstance(row, dict)]
                for row in rows:
                    if row.get("reference") == reference:
                        if row.get("postage_label"):
                            return row
                        found = found or row
                if not page.get("has_more") or not rows:
                    break
                params["before_id"] = rows[-1]["id"]
        except httpx.TimeoutException:
            raise CarrierUnavailable(
                _("EasyPost did not answer in time; shipment %(reference)s may exist there: try again.")
                % {"reference": reference}
            ) from None
        return found

    def _label(self, client: httpx.Client, bought: Mapping[str, Any]) -> tuple[bytes | None, str]:
        """The label in the account's format, as EasyPost serves it; converted from the PNG when only that exists."""
        label_format = self._label_format()
        file_format, key = FILE_FORMATS[label_format]
        url = (bought.get("postage_label") or {}).get(key)
        if not url:
            try:
                converted = self._call(
                    client, "GET", f"shipments/{bought['id']}/label", params={"file_format": file_format}
                )
            except (CarrierRefused, CarrierUnavailable, httpx.TimeoutException):
                return None, ""
            url = (converted.get("postage_label") or {}).get(key)
        content = self._download(url, LABEL_SIGNATURES[label_format]) if url else None
        return (content, label_format) if content else (None, "")

    # -- label, cancel, quote -------------------------------------------------------------------------------------

    def label(self, shipment: Shipment) -> CarrierShipment:
        """The label of a shipment again; one whose create was cut off (no EasyPost id kept) is found by its
        reference, and bought if the purchase never happened."""
        with self._client() as client:
            try:
                if shipment.carrier_order_id:
                    found: dict[str, Any] | None = self._call(client, "GET", f"shipments/{shipment.carrier_order_id}")
                else:
                    found = self._find(client, shipment.carrier_reference or shipment.number, shipment.created_at)
            except httpx.TimeoutException:
                raise CarrierUnavailable(_("EasyPost did not answer in time: try again.")) from None
            if found is None:
                return CarrierShipment(message=_("EasyPost has no such shipment."))
            return self._completed(client, shipment, found)

    def cancel(self, shipment: Shipment) -> None:
        """Ask EasyPost to refund the label (``refund_status`` "submitted"); nothing to refund if none was bought."""
        with self._client() as client:
            shipment_id = shipment.carrier_order_id
            if not shipment_id:
                found = self._find(client, shipment.carrier_reference or shipment.number, shipment.created_at)
                if found is None or not found.get("postage_label"):
                    return  # nothing was bought, nothing was paid
                shipment_id = found["id"]
            try:
                answer = self._call(client, "POST", f"shipments/{shipment_id}/refund")
            except httpx.TimeoutException:
                try:
                    answer = self._call(client, "GET", f"shipments/{shipment_id}")
                except httpx.TimeoutException:
                    answer = {}
                if not answer.get("refund_status"):
                    raise CarrierUnavailable(_("EasyPost did not answer in time: try again.")) from None
        status = str(answer.get("refund_status") or "")
        if status not in REFUND_ACCEPTED:
            raise CarrierRefused(
                _("EasyPost would not refund the label (refund status %(status)s).") % {"status": status or "-"}
            )

    def quote(self, shipment: Shipment, parcel: ShipmentIn) -> list[RateIn]:
        # No reference: a quote's shipment must never be taken for the real one found again after a time-out.
        with self._client() as client:
            try:
                made = self._call(client, "POST", "shipments", json=self._shipment_body(shipment, parcel, ""))
            except httpx.TimeoutException:
                raise CarrierUnavailable(_("EasyPost did not answer in time: try again.")) from None
        rates = []
        for rate in made.get("rates") or []:
            try:
                amount = Decimal(str(rate.get("rate")))
            except InvalidOperation:
                continue
            days = rate.get("delivery_days")
            rates.append(
                RateIn(
                    service=_rate_name(rate),
                    amount=amount,
                    currency=str(rate.get("currency") or ""),
                    delivery_days=days if isinstance(days, int) else None,
                    carrier_rate_id=str(rate.get("id") or ""),
                    description=f"{rate.get('carrier')} {rate.get('service')}",
                )
            )
        if not rates and made.get("messages"):
            raise CarrierRefused(
                _("EasyPost has no rate for this parcel. %(messages)s") % {"messages": _messages_text(made)}
            )
        return rates

    # -- hand-over --------------------------------------------------------------------------------------------

    def handover(self, shipments: list[Shipment], reference: str) -> HandoverResult:
        """One SCAN form for the shipments. EasyPost refuses the whole form when one shipment cannot be on it
        (not found, refunded, already on a form), naming those: they are set aside and the form made without them."""
        result = HandoverResult()
        waiting: dict[str, int] = {}
        for shipment in shipments:
            if shipment.carrier_order_id:
                waiting[shipment.carrier_order_id] = shipment.pk
            else:
                result.refused[shipment.pk] = _("EasyPost has no shipment for it.")
        form: dict[str, Any] | None = None
        with self._client() as client:
            while waiting and form is None:
                try:
                    form = self._call(
                        client, "POST", "scan_forms", json={"shipments": [{"id": key} for key in waiting]}
                    )
                except EasyPostRefused as refusal:
                    named = [key for key in SHIPMENT_ID.findall(_error_text(refusal.error)) if key in waiting]
                    if not named:
                        raise
                    for key in named:
                        result.refused[waiting.pop(key)] = str(refusal)
                except httpx.TimeoutException:
                    form = self._form_found(client, shipments, waiting)
        if form is None:
            result.message = _("EasyPost took none of the parcels on a SCAN form.")
            return result
        if form.get("status") == "failed":
            raise CarrierRefused(
                _("EasyPost could not make the SCAN form: %(message)s") % {"message": form.get("message")}
            )
        result.carrier_manifest_id = str(form.get("id") or "")
        document = self._download(form["form_url"], b"%PDF") if form.get("form_url") else None
        if document:
            result.document, result.document_format = document, "pdf"
        count = len(form.get("tracking_codes") or [])
        result.message = ngettext(
            "EasyPost SCAN form %(id)s for %(reference)s: %(count)s parcel.",
            "EasyPost SCAN form %(id)s for %(reference)s: %(count)s parcels.",
            count,
        ) % {"id": result.carrier_manifest_id, "reference": reference, "count": count}
        if not document:
            result.message += " " + _("Its document is not ready yet.")
        return result

    def _form_found(
        self, client: httpx.Client, shipments: list[Shipment], waiting: Mapping[str, int]
    ) -> dict[str, Any]:
        """After a time-out: the newest SCAN form holding exactly these parcels, if EasyPost made it."""
        codes = {shipment.tracking_number for shipment in shipments if shipment.carrier_order_id in waiting}
        try:
            page = self._call(client, "GET", "scan_forms", params={"page_size": FIND_PAGE_SIZE})
        except httpx.TimeoutException:
            page = {}
        for form in page.get("scan_forms") or []:
            if isinstance(form, dict) and set(form.get("tracking_codes") or []) == codes:
                return form
        raise CarrierUnavailable(_("EasyPost did not answer in time and made no SCAN form: try again."))

    # -- tracking -------------------------------------------------------------------------------------------------

    def track(self, shipments: list[Shipment]) -> dict[int, TrackResult]:
        """Each parcel's tracker: ``POST /trackers`` answers the existing one for a code and carrier (the one
        EasyPost made when the label was bought) instead of making another."""
        found: dict[int, TrackResult] = {}
        methods = ShippingMethod.objects.in_bulk({shipment.method_id for shipment in shipments})
        with self._client() as client:
            for shipment in shipments:
                if not shipment.tracking_number:
                    continue
                carrier, _service = _method(methods[shipment.method_id])
                tracker_in = {"tracking_code": shipment.tracking_number}
                if carrier:
                    tracker_in["carrier"] = carrier
                try:
                    tracker = self._call(client, "POST", "trackers", json={"tracker": tracker_in})
                except EasyPostRefused as refusal:
                    if refusal.status == 401:
                        break  # every other parcel would be refused the same
                    continue
                except (CarrierUnavailable, httpx.TimeoutException):
                    continue  # not now: the next run asks again
                found[shipment.pk] = self._track_result(tracker)
        return found

    def _track_result(self, tracker: Mapping[str, Any]) -> TrackResult:
        events = []
        for detail in tracker.get("tracking_details") or []:
            if not isinstance(detail, Mapping):
                continue
            when = _moment(detail.get("datetime"))
            if when is None:
                continue
            where = detail.get("tracking_location") or {}
            location = ", ".join(
                str(where[part])
                for part in ("city", "state", "country")
                if isinstance(where, Mapping) and where.get(part)
            )
            status = str(detail.get("status") or "")
            events.append(
                TrackEventIn(
                    occurred_at=when,
                    kind=_kind(status, str(detail.get("status_detail") or "")) or TrackingEvent.Kind.INFO,
                    code=status[:32],
                    description=str(detail.get("message") or detail.get("description") or "")[:500],
                    location=location[:200],
                )
            )
        events.sort(key=lambda event: event.occurred_at)
        return TrackResult(
            kind=_kind(str(tracker.get("status") or ""), str(tracker.get("status_detail") or "")), events=events
        )
