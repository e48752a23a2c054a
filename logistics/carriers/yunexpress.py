"""YunExpress (云途) through its legacy OMS API (see ``logistics.simulators.yunexpress`` for the wire format).

- Create: one order per call to ``WayBill/CreateOrder`` (the API takes arrays of up to ten; a batch of labels calls
  it per parcel so one refusal names its own parcel). ``CustomerOrderNumber`` is the shipment's idempotency key:
  after a time-out, or an answer that the number exists, the adapter reads the order back (``WayBill/GetOrder``)
  instead of making a second parcel.
- The tracking number may come later (``TrackType`` 2): the shipment stays created with the carrier's waybill
  number, and ``label`` (polled) asks ``Waybill/GetTrackingNumber`` and then prints.
- Label: ``Label/Print`` gives a URL to a PDF, fetched and stored as the carrier sent it.
- Errors come as HTTP 200 with ``Code`` other than "0000", or per order as ``Success`` 0 with ``Remark``.
"""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

from logistics.carriers.base import (
    CarrierAdapter,
    CarrierRefused,
    CarrierShipment,
    CarrierUnavailable,
    ShipmentIn,
    TrackEventIn,
    TrackResult,
)
from logistics.models import Shipment, TrackingEvent
from logistics.services import carrier_account_credentials

OK = "0000"
# PackageState: 0 unknown, 1 submitted, 2 in transit, 3 delivered, 4 received by the carrier, 5 cancelled,
# 6 delivery failed, 7 returned.
PACKAGE_STATES = {
    1: TrackingEvent.Kind.INFO,
    2: TrackingEvent.Kind.IN_TRANSIT,
    3: TrackingEvent.Kind.DELIVERED,
    4: TrackingEvent.Kind.IN_TRANSIT,
    6: TrackingEvent.Kind.EXCEPTION,
    7: TrackingEvent.Kind.RETURNED,
}
CHINA = ZoneInfo("Asia/Shanghai")  # YunExpress gives its times without an offset, in China's time


def _kg(grams: int | float) -> float:
    return round(grams / 1000, 3)


def _name(full: str) -> tuple[str, str]:
    first, _space, last = (full or "").strip().partition(" ")
    return first, last


class YunExpress(CarrierAdapter):
    tracks = True

    def _client(self) -> httpx.Client:
        credentials = carrier_account_credentials(self.account)
        token = base64.b64encode(f"{credentials['customer_code']}&{credentials['api_secret']}".encode()).decode()
        return httpx.Client(
            base_url=self.account.api_base_url.rstrip("/") + "/",
            headers={"Authorization": f"Basic {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(settings.CARRIER_HTTP_TIMEOUT, connect=5.0),
        )

    def _call(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise  # not "unavailable": the caller reads back what the carrier may have made meanwhile
        except httpx.HTTPError as error:
            raise CarrierUnavailable(
                _("YunExpress cannot be reached (%(error)s).") % {"error": type(error).__name__}
            ) from error
        if response.status_code >= 400:
            raise CarrierUnavailable(_("YunExpress answered HTTP %(status)s.") % {"status": response.status_code})
        try:
            body = response.json()
        except ValueError as error:
            raise CarrierUnavailable(_("YunExpress answered something that is not JSON.")) from error
        if str(body.get("Code")) != OK:
            raise CarrierRefused(
                _("YunExpress refused it: %(message)s") % {"message": body.get("Message") or body.get("Code")}
            )
        return body

    def _order(self, shipment: Shipment, parcel: ShipmentIn) -> dict[str, Any]:
        first, last = _name(parcel.recipient.get("name", ""))
        sender_first, sender_last = _name(shipment.sender.get("name", ""))
        return {
            "CustomerOrderNumber": parcel.idempotency_key or shipment.number,
            "ShippingMethodCode": shipment.method.carrier_product_code or shipment.method.code,
            "PackageCount": 1,
            "Weight": _kg(parcel.weight_g),
            "ApplicationType": 4,
            "IossCode": parcel.ioss_number or None,
            "TaxNumber": parcel.vat_number or None,
            "EoriNumber": parcel.eori_number or None,
            "Length": round(parcel.length_mm / 10) if parcel.length_mm else None,
            "Width": round(parcel.width_mm / 10) if parcel.width_mm else None,
            "Height": round(parcel.height_mm / 10) if parcel.height_mm else None,
            "Receiver": {
                "CountryCode": parcel.recipient.get("country", ""),
                "FirstName": first,
                "LastName": last,
                "Company": parcel.recipient.get("company") or None,
                "Street": parcel.recipient.get("address1", ""),
                "StreetAddress1": parcel.recipient.get("address2") or None,
                "City": parcel.recipient.get("city", ""),
                "State": parcel.recipient.get("state") or None,
                "Zip": parcel.recipient.get("postcode") or None,
                "Phone": parcel.recipient.get("phone") or None,
                "Email": parcel.recipient.get("email") or None,
            },
            "Sender": {
                "CountryCode": shipment.sender.get("country") or None,
                "FirstName": sender_first or None,
                "LastName": sender_last or None,
                "Company": shipment.sender.get("company") or None,
                "Street": shipment.sender.get("address1") or None,
                "City": shipment.sender.get("city") or None,
                "Zip": shipment.sender.get("postcode") or None,
                "Phone": shipment.sender.get("phone") or None,
            },
            "Parcels": [
                {
                    "EName": line.name_en,
                    "CName": line.name_zh or None,
                    "HSCode": line.hs_code,
                    "Quantity": line.quantity,
                    "UnitPrice": float(Decimal(line.unit_value).quantize(Decimal("0.01"))),
                    "UnitWeight": _kg(line.unit_weight_g),
                    "CurrencyCode": line.currency,
                    "SKU": line.sku,
                }
                for line in parcel.lines
            ],
        }

    def create(self, shipment: Shipment, parcel: ShipmentIn) -> CarrierShipment:
        order = self._order(shipment, parcel)
        number = order["CustomerOrderNumber"]
        with self._client() as client:
            try:
                body = self._call(client, "POST", "WayBill/CreateOrder", json=[order])
            except httpx.TimeoutException:
                # It may have made the parcel before the answer was lost: read it back, never make a second one.
                existing = self._existing(client, number)
                if existing is None:
                    raise CarrierUnavailable(
                        _("YunExpress did not answer in time and has no such order: try again.")
                    ) from None
                return existing
            [item] = body.get("Item") or [{}]
            if not item.get("Success"):
                remark = str(item.get("Remark") or "")
                existing = self._existing(client, number) if "已存在" in remark or "exist" in remark else None
                if existing is not None:
                    return existing
                raise CarrierRefused(_("YunExpress refused it: %(message)s") % {"message": remark})
            answer = CarrierShipment(
                carrier_order_id=str(item.get("WayBillNumber") or ""),
                tracking_number=str(item.get("TrackingNumber") or ""),
            )
            if answer.tracking_number:
                self._print(client, number, answer)
            else:
                answer.message = _("YunExpress issues the tracking number later; the label follows it.")
            return answer

    def _existing(self, client: httpx.Client, number: str) -> CarrierShipment | None:
        try:
            body = self._call(client, "GET", "WayBill/GetOrder", params={"OrderNumber": number})
        except (CarrierRefused, httpx.TimeoutException):
            return None
        item = body.get("Item") or {}
        answer = CarrierShipment(
            carrier_order_id=str(item.get("WayBillNumber") or ""),
            tracking_number=str(item.get("TrackingNumber") or ""),
        )
        if answer.tracking_number:
            self._print(client, number, answer)
        return answer

    def _print(self, client: httpx.Client, number: str, answer: CarrierShipment) -> None:
        body = self._call(client, "POST", "Label/Print", json=[number])
        for item in body.get("Item") or []:
            infos = item.get("OrderInfos") or []
            if item.get("Url") and any(info.get("Code") == 100 for info in infos):
                response = client.get(item["Url"])
                if response.status_code == 200 and response.content.startswith(b"%PDF"):
                    answer.label, answer.label_format = response.content, "pdf"
                    return
        answer.message = _("YunExpress has no label for it yet.")

    def label(self, shipment: Shipment) -> CarrierShipment:
        """Ask again for a tracking number issued later, and print the label once there is one."""
        number = shipment.carrier_reference or shipment.number
        with self._client() as client:
            answer = CarrierShipment(
                carrier_order_id=shipment.carrier_order_id, tracking_number=shipment.tracking_number
            )
            if not answer.tracking_number:
                body = self._call(client, "GET", "Waybill/GetTrackingNumber", params={"CustomerOrderNumber": number})
                for item in body.get("Items") or []:
                    if item.get("CustomerOrderNumber") == number and item.get("Status") == 1:
                        answer.tracking_number = str(item.get("TrackingNumber") or "")
            if answer.tracking_number:
                self._print(client, number, answer)
            return answer

    def cancel(self, shipment: Shipment) -> None:
        with self._client() as client:
            body = self._call(
                client,
                "POST",
                "WayBill/Delete",
                json={"OrderNumber": shipment.carrier_order_id or shipment.number, "OrderType": "1"},
            )
            item = body.get("Item") or {}
            if item.get("Status") != "Success":
                raise CarrierRefused(
                    _("YunExpress would not cancel it: %(message)s") % {"message": item.get("Remark") or ""}
                )

    def track(self, shipments: list[Shipment]) -> dict[int, TrackResult]:
        found: dict[int, TrackResult] = {}
        with self._client() as client:
            for shipment in shipments:
                number = shipment.tracking_number or shipment.carrier_order_id
                try:
                    body = self._call(client, "GET", "Tracking/GetTrackInfo", params={"OrderNumber": number})
                except (CarrierRefused, CarrierUnavailable, httpx.TimeoutException):
                    continue  # not known yet, or not now: the next run asks again
                item = body.get("Item") or {}
                state = PACKAGE_STATES.get(item.get("PackageState"), "")
                events = []
                for detail in item.get("OrderTrackingDetails") or []:
                    when = _moment(detail.get("ProcessDate"))
                    if when is None:
                        continue
                    code = str(detail.get("TrackNodeCode") or "")
                    events.append(
                        TrackEventIn(
                            occurred_at=when,
                            kind=PACKAGE_STATES.get(int(code), TrackingEvent.Kind.INFO)
                            if code.isdigit()
                            else TrackingEvent.Kind.INFO,
                            code=code[:32],
                            description=str(detail.get("ProcessContent") or "")[:500],
                            location=str(detail.get("ProcessLocation") or "")[:200],
                        )
                    )
                found[shipment.pk] = TrackResult(kind=state, events=events)
        return found


def _moment(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)
