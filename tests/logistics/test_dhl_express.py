"""DHL Express against a local server that speaks the MyDHL API: the shipment request as the swagger names it (the
customs lines from the products' data, the IOSS number), the label kept as DHL sent it (PDF sized by the template,
or ZPL), refusals in DHL's words, time-outs (DHL's shipment looked up by our reference, never doubled; one left
created is sent again once), a label fetched later, rates, a pickup for the hand-over, tracking to delivered, cancel
asking nothing, and bad credentials."""

from __future__ import annotations

import base64
import io
import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime

import pytest
from pypdf import PdfReader

from core.simulators import SimulatorServer
from core.status import status_transition
from logistics.carriers import adapter_for
from logistics.carriers.base import CarrierRefused, CarrierUnavailable, RateIn
from logistics.models import CarrierAccount, Shipment
from logistics.services import carrier_account_save
from logistics.shipments import SHIPMENT_STATUS, shipment_cancel, shipment_label_refresh, shipments_track
from logistics.simulators.dhl_express import DhlExpressSimulator
from orders.fulfilment import orders_allocate
from orders.inbound import AddressIn
from orders.models import Parcel
from orders.shipping import parcel_ship, parcel_shipment_in
from tests.orders.factories import line_in
from tests.orders.test_fulfilment import imported, map_skus, receive, world_make

pytestmark = pytest.mark.django_db

SENDER = {
    "name": "Li Lei",
    "company": "Seabridge",
    "address1": "1 Bao'an Rd",
    "city": "Shenzhen",
    "postcode": "518000",
    "country": "CN",
    "phone": "+8675512345678",
}
US = AddressIn(
    name="Jane Roe", address1="1 Main St", city="Springfield", state="IL", postcode="62701", country="US",
    phone="+12175550100",
)  # fmt: skip
DE = AddressIn(
    name="Max Muster", address1="Hauptstr. 1", city="Berlin", postcode="10115", country="DE", phone="+4930123456"
)
PLANNED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:00:00 GMT\+08:00$")  # Shenzhen's time, a whole hour ahead


@pytest.fixture
def world():
    made = world_make()
    made["method"].carrier_product_code = "P"  # Express Worldwide, non-documents
    made["method"].save()
    return made


@pytest.fixture
def dhl():
    simulator = DhlExpressSimulator(username="seabridgeCN", password="s3cret", account_number="601234567")
    with SimulatorServer(simulator) as server:
        simulator.url = server.url
        yield simulator


def account_for(dhl, label_format: str = "pdf", **credentials) -> CarrierAccount:
    account = carrier_account_save(
        data={
            "carrier": "dhl_express",
            "name": "DHL Shenzhen",
            "api_base_url": dhl.url + "/mydhlapi",
            "sender": SENDER,
        },
        credentials=credentials or {"username": "seabridgeCN", "password": "s3cret", "account_number": "601234567"},
    )
    if label_format != "pdf":  # not among what carrier_account_save takes yet
        account.label_format = label_format
        account.save(update_fields=["label_format"])
    return account


def allocated_parcel(world, order_id: str, *lines, address: AddressIn = US) -> Parcel:
    receive(world, "CN1", world["a"], 5)
    order = imported(world, order_id, *lines, address=address)
    map_skus(world)
    orders_allocate()
    return Parcel.objects.filter(lines__order=order).distinct().get()


def to_germany_with_ioss(world) -> Parcel:
    """Two phone cases and a cable (made in Vietnam) to Berlin, from a store with an IOSS number."""
    cable = world["b"]
    cable.declared_name_en, cable.hs_code, cable.declared_value, cable.origin_country = (
        "USB cable", "854442", Decimal("3.50"), "VN"
    )  # fmt: skip
    cable.save()
    world["store"].options = {"ioss_number": "IM2760000001"}
    world["store"].save()
    receive(world, "CN1", world["b"], 5)
    return allocated_parcel(world, "D-1", line_in("L1", "CASE-A", 2), line_in("L2", "CABLE-B", 1), address=DE)


def only_shipment(dhl):
    [made] = dhl.shipments.values()
    return made


def test_the_shipment_request_speaks_mydhl_and_the_label_is_kept_as_dhl_sent_it(world, dhl):
    parcel = to_germany_with_ioss(world)
    shipment = parcel_ship(parcel=parcel, account=account_for(dhl))

    assert shipment.status == Shipment.Status.LABEL_READY, shipment.carrier_message
    made = only_shipment(dhl)
    number = made.tracking_number
    assert re.fullmatch(r"\d{10}", number) and int(number[:9]) % 7 == int(number[9])
    assert (shipment.tracking_number, shipment.carrier_order_id) == (number, number)
    assert bytes(shipment.label) == made.label and shipment.label_format == "pdf"
    page = PdfReader(io.BytesIO(bytes(shipment.label))).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (298, 420)  # A6, for 100×150
    assert number in page.extract_text()

    [create] = dhl.requests_to("/mydhlapi/shipments", method="POST")
    assert create.headers["authorization"] == "Basic " + base64.b64encode(b"seabridgeCN:s3cret").decode()
    assert create.headers["x-version"] == "3.1.0"
    assert str(uuid.UUID(create.headers["message-reference"])) == create.headers["message-reference"]
    assert parsedate_to_datetime(create.headers["message-reference-date"]).tzinfo is not None
    body = create.json()
    assert PLANNED.match(body["plannedShippingDateAndTime"]), body["plannedShippingDateAndTime"]
    assert (body["pickup"], body["productCode"]) == ({"isRequested": False}, "P")
    assert body["accounts"] == [{"typeCode": "shipper", "number": "601234567"}]
    assert body["customerReferences"] == [{"value": parcel.number, "typeCode": "CU"}]
    assert body["outputImageProperties"] == {
        "printerDPI": 300,
        "encodingFormat": "pdf",
        "imageOptions": [{"typeCode": "label", "templateName": "ECOM26_A6_002"}],
    }
    assert body["customerDetails"] == {
        "shipperDetails": {
            "postalAddress": {
                "postalCode": "518000",
                "cityName": "Shenzhen",
                "countryCode": "CN",
                "addressLine1": "1 Bao'an Rd",
            },
            "contactInformation": {"fullName": "Li Lei", "companyName": "Seabridge", "phone": "+8675512345678"},
            "typeCode": "business",
            # IM + 276 (Germany) + serial: the member state that issued it.
            "registrationNumbers": [{"typeCode": "SDT", "number": "IM2760000001", "issuerCountryCode": "DE"}],
        },
        "receiverDetails": {
            "postalAddress": {
                "postalCode": "10115",
                "cityName": "Berlin",
                "countryCode": "DE",
                "addressLine1": "Hauptstr. 1",
            },
            "contactInformation": {"fullName": "Max Muster", "companyName": "Max Muster", "phone": "+4930123456"},
            "typeCode": "private",
        },
    }
    content = body["content"]
    assert content["packages"] == [{"weight": 0.5, "customerReferences": [{"value": parcel.number, "typeCode": "CU"}]}]
    assert (content["isCustomsDeclarable"], content["declaredValue"], content["declaredValueCurrency"]) == (
        True,
        13.5,  # 2 × 5.00 + 3.50
        "USD",
    )
    assert (content["description"], content["incoterm"], content["unitOfMeasurement"]) == (
        "Phone case, USB cable",
        "DAP",
        "metric",
    )
    declaration = content["exportDeclaration"]
    assert declaration["lineItems"] == [
        {
            "number": 1,
            "description": "Phone case",
            "price": 5.0,
            "quantity": {"value": 2, "unitOfMeasurement": "PCS"},
            "commodityCodes": [{"typeCode": "outbound", "value": "392690"}],
            "exportReasonType": "permanent",
            "manufacturerCountry": "CN",
            "weight": {"netValue": 0.4, "grossValue": 0.4},
        },
        {
            "number": 2,
            "description": "USB cable",
            "price": 3.5,
            "quantity": {"value": 1, "unitOfMeasurement": "PCS"},
            "commodityCodes": [{"typeCode": "outbound", "value": "854442"}],
            "exportReasonType": "permanent",
            "manufacturerCountry": "VN",
            "weight": {"netValue": 0.1, "grossValue": 0.1},
        },
    ]
    assert declaration["invoice"] == {"number": parcel.number, "date": body["plannedShippingDateAndTime"][:10]}


def test_a_zpl_account_gets_dhls_zpl_and_the_default_template_for_other_sizes(world, dhl):
    world["method"].label_size = "100x100"
    world["method"].save()
    parcel = allocated_parcel(world, "D-1", address=US)
    shipment = parcel_ship(parcel=parcel, account=account_for(dhl, label_format="zpl"))

    assert shipment.status == Shipment.Status.LABEL_READY, shipment.carrier_message
    assert shipment.label_format == "zpl" and bytes(shipment.label) == only_shipment(dhl).label
    zpl = bytes(shipment.label).decode()
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert f"^FD{shipment.tracking_number}^FS" in zpl and "^PW800" in zpl and "^LL1600" in zpl  # 4×8 in at 200 dpi
    output = dhl.requests_to("/mydhlapi/shipments", method="POST")[0].json()["outputImageProperties"]
    assert output == {
        "printerDPI": 200,
        "encodingFormat": "zpl",
        "imageOptions": [{"typeCode": "label", "templateName": "ECOM26_84_001"}],
    }


def test_a_refused_address_ends_failed_with_dhls_words_and_a_retry_is_a_new_shipment(world, dhl):
    parcel = allocated_parcel(world, "D-1", address=US)
    account = account_for(dhl)
    dhl.refused_postcodes.add("62701")
    failed = parcel_ship(parcel=parcel, account=account)
    assert failed.status == Shipment.Status.FAILED
    assert "410301: Receiver postalCode invalid: '62701'" in failed.carrier_message
    assert not failed.tracking_number and not dhl.shipments

    dhl.refused_postcodes.clear()
    again = parcel_ship(parcel=parcel, account=account)
    assert again.status == Shipment.Status.LABEL_READY and again.carrier_reference == f"{parcel.number}-1"
    assert only_shipment(dhl).references == [{"value": f"{parcel.number}-1", "typeCode": "CU"}]


def test_a_missing_phone_is_refused_by_dhl_naming_the_field(world, dhl):
    parcel = allocated_parcel(world, "D-1", address=replace(US, phone=""))
    failed = parcel_ship(parcel=parcel, account=account_for(dhl))
    assert failed.status == Shipment.Status.FAILED
    assert "#/customerDetails/receiverDetails/contactInformation: required key [phone] not found" in (
        failed.carrier_message
    )


def test_a_time_out_after_dhl_made_the_shipment_looks_it_up_and_makes_no_second(world, dhl, settings):
    settings.CARRIER_HTTP_TIMEOUT = 0.5
    parcel = allocated_parcel(world, "D-1", address=US)
    dhl.fault("/mydhlapi/shipments", method="POST", passthrough=True, acts_first=True, delay=1.5)
    shipment = parcel_ship(parcel=parcel, account=account_for(dhl))

    made = only_shipment(dhl)  # exactly one shipment at DHL
    assert shipment.status == Shipment.Status.LABEL_READY and shipment.tracking_number == made.tracking_number
    assert bytes(shipment.label) == made.waybill and shipment.label_format == "pdf"
    assert "waybill document" in shipment.carrier_message
    [lookup] = dhl.requests_to("/mydhlapi/tracking")
    assert lookup.query["shipmentReference"] == [parcel.number]
    assert (lookup.query["shipmentReferenceType"], lookup.query["shipperAccountNumber"]) == (["CU"], ["601234567"])
    [image] = dhl.requests_to(f"/mydhlapi/shipments/{made.tracking_number}/get-image")
    assert image.query["typeCode"] == ["waybill"] and image.query["pickupYearAndMonth"] == [f"{made.planned:%Y-%m}"]


def test_a_time_out_before_dhl_made_anything_leaves_it_created_and_it_is_sent_again_once(world, dhl, settings):
    settings.CARRIER_HTTP_TIMEOUT = 0.5
    parcel = allocated_parcel(world, "D-1", address=US)
    dhl.fault("/mydhlapi/shipments", method="POST", delay=1.5)  # held, then an error: nothing made
    shipment = parcel_ship(parcel=parcel, account=account_for(dhl))
    assert shipment.status == Shipment.Status.CREATED and not dhl.shipments
    assert f"has no shipment with reference {parcel.number}" in shipment.carrier_message

    ready = shipment_label_refresh(shipment=shipment)
    assert ready.status == Shipment.Status.LABEL_READY and ready.tracking_number == only_shipment(dhl).tracking_number
    assert bytes(ready.label) == only_shipment(dhl).label  # made now: the label itself, not the waybill
    # Sent before, so looked up first (nothing), then made once.
    assert [(request.method, request.path) for request in dhl.requests] == [
        ("POST", "/mydhlapi/shipments"),
        ("GET", "/mydhlapi/tracking"),
        ("GET", "/mydhlapi/tracking"),
        ("POST", "/mydhlapi/shipments"),
    ]


def test_when_even_the_look_up_fails_the_retry_finds_dhls_shipment_instead_of_making_another(world, dhl, settings):
    settings.CARRIER_HTTP_TIMEOUT = 0.5
    parcel = allocated_parcel(world, "D-1", address=US)
    dhl.fault("/mydhlapi/shipments", method="POST", passthrough=True, acts_first=True, delay=1.5)
    dhl.fault(
        "/mydhlapi/tracking",
        status=503,
        body={"detail": "Service unavailable", "status": "503"},
        headers={"Content-Type": "application/problem+json"},
    )
    shipment = parcel_ship(parcel=parcel, account=account_for(dhl))
    assert shipment.status == Shipment.Status.CREATED and "HTTP 503" in shipment.carrier_message

    ready = shipment_label_refresh(shipment=shipment)
    made = only_shipment(dhl)  # still exactly one
    assert ready.status == Shipment.Status.LABEL_READY and ready.tracking_number == made.tracking_number
    assert bytes(ready.label) == made.waybill
    assert len(dhl.requests_to("/mydhlapi/shipments", method="POST")) == 1


def test_a_shipment_without_its_label_gets_it_later_from_dhl(world, dhl, settings):
    settings.CARRIER_HTTP_TIMEOUT = 0.5
    parcel = allocated_parcel(world, "D-1", address=US)
    dhl.fault("/mydhlapi/shipments", method="POST", passthrough=True, acts_first=True, delay=1.5)
    dhl.fault(
        "/mydhlapi/shipments/",
        method="GET",
        status=404,
        body={"detail": "1504: No document images found for the provided search criteria.", "status": "404"},
        headers={"Content-Type": "application/problem+json"},
    )
    shipment = parcel_ship(parcel=parcel, account=account_for(dhl))
    assert shipment.status == Shipment.Status.CREATED and shipment.tracking_number == only_shipment(dhl).tracking_number
    assert "no image of it yet" in shipment.carrier_message and shipment.label is None

    ready = shipment_label_refresh(shipment=shipment)
    assert ready.status == Shipment.Status.LABEL_READY and bytes(ready.label) == only_shipment(dhl).waybill
    assert len(dhl.shipments) == 1


def test_rates_are_dhls_billed_prices_per_product_and_an_outage_is_unavailable(world, dhl):
    parcel = allocated_parcel(world, "D-1", line_in("L1", "CASE-A", 3), address=DE)
    account = account_for(dhl)
    draft = Shipment(account=account, method=world["method"], sender=SENDER)

    rates = adapter_for(account).quote(draft, parcel_shipment_in(parcel))

    # 0.6 kg is two half kilos: 180 + 45, and 260 + 60; BILLC, not the euro BASEC price beside it.
    assert rates == [
        RateIn(service="P", amount=Decimal("225.00"), currency="CNY", delivery_days=3, description="EXPRESS WORLDWIDE"),
        RateIn(service="K", amount=Decimal("320.00"), currency="CNY", delivery_days=2, description="EXPRESS 9:00"),
    ]
    [request] = dhl.requests_to("/mydhlapi/rates")
    body = request.json()
    assert body["customerDetails"] == {  # the addresses themselves, not wrapped as in a shipment
        "shipperDetails": {
            "postalCode": "518000",
            "cityName": "Shenzhen",
            "countryCode": "CN",
            "addressLine1": "1 Bao'an Rd",
        },
        "receiverDetails": {
            "postalCode": "10115",
            "cityName": "Berlin",
            "countryCode": "DE",
            "addressLine1": "Hauptstr. 1",
        },
    }
    assert body["packages"] == [{"weight": 0.6}] and body["isCustomsDeclarable"] is True
    assert body["monetaryAmount"] == [{"typeCode": "declaredValue", "value": 15.0, "currency": "USD"}]

    dhl.fault(
        "/mydhlapi/rates",
        status=500,
        body={"detail": "999: Process failure occurred. Process ID associated for that transaction (1234567890)"},
        headers={"Content-Type": "application/problem+json"},
    )
    with pytest.raises(CarrierUnavailable, match="999: Process failure"):
        adapter_for(account).quote(draft, parcel_shipment_in(parcel))


def test_handover_books_one_pickup_for_the_parcels_and_leaves_out_one_without_a_waybill(world, dhl):
    account = account_for(dhl)
    shipped = [
        parcel_ship(parcel=allocated_parcel(world, order, address=US), account=account) for order in ("D-1", "D-2")
    ]
    dhl.refused_cities.add("Berlin")
    refused = parcel_ship(parcel=allocated_parcel(world, "D-3", address=DE), account=account)
    assert refused.status == Shipment.Status.FAILED

    result = adapter_for(account).handover([*shipped, refused], "MAN1")

    [(number, booking)] = dhl.pickups.items()
    assert result.carrier_manifest_id == number and number.startswith("PRG") and result.document is None
    assert result.refused == {refused.pk: "It has no DHL waybill number."}
    assert booking["remark"] == "MAN1" and booking["accounts"] == [{"typeCode": "shipper", "number": "601234567"}]
    assert PLANNED.match(booking["plannedPickupDateAndTime"])
    assert booking["customerDetails"]["shipperDetails"]["postalAddress"]["cityName"] == "Shenzhen"
    assert [detail["shipmentTrackingNumber"] for detail in booking["shipmentDetails"]] == [
        shipment.tracking_number for shipment in shipped
    ]
    assert booking["shipmentDetails"][0] | {"shipmentTrackingNumber": ""} == {
        "productCode": "P",
        "accounts": [{"typeCode": "shipper", "number": "601234567"}],
        "isCustomsDeclarable": True,
        "unitOfMeasurement": "metric",
        "shipmentTrackingNumber": "",
        "packages": [{"weight": 0.2}],
        "declaredValue": 5.0,
        "declaredValueCurrency": "USD",
    }


def test_cancel_asks_dhl_nothing_since_an_unused_label_is_not_billed(world, dhl):
    shipment = parcel_ship(parcel=allocated_parcel(world, "D-1", address=US), account=account_for(dhl))
    before = len(dhl.requests)
    assert shipment_cancel(shipment=shipment).status == Shipment.Status.CANCELLED
    assert len(dhl.requests) == before


def test_tracking_follows_a_handed_over_parcel_to_delivered_and_skips_one_dhl_does_not_know(world, dhl):
    account = account_for(dhl)
    shipment = parcel_ship(parcel=allocated_parcel(world, "D-1", address=US), account=account)
    unknown = parcel_ship(parcel=allocated_parcel(world, "D-2", address=US), account=account)
    for handed in (shipment, unknown):
        status_transition(machine=SHIPMENT_STATUS, document=handed, to_status=Shipment.Status.HANDED_OVER)
    del dhl.shipments[unknown.tracking_number]  # DHL answers 404 for it

    dhl.move(shipment.tracking_number, "PU", "Shipment picked up", "2026-11-20T18:05:00+08:00", "SHENZHEN-CN")
    assert shipments_track() == {"asked": 2, "events": 1, "moved": 1}
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.IN_TRANSIT
    [event] = shipment.tracking_events.all()
    assert (event.kind, event.code, event.location) == ("in_transit", "PU", "SHENZHEN-CN")
    assert event.occurred_at == datetime(2026, 11, 20, 10, 5, tzinfo=UTC)  # 18:05 at GMT+08:00
    asked = dhl.requests_to(f"/mydhlapi/shipments/{shipment.tracking_number}/tracking")[-1]
    assert asked.query["requestGMTOffsetPerEvent"] == ["true"] and asked.query["trackingView"] == ["all-checkpoints"]

    assert shipments_track()["events"] == 0  # DHL repeats its history: nothing doubled
    dhl.move(shipment.tracking_number, "OK", "Delivered : ROE", "2026-11-23T11:59:23-06:00", "SPRINGFIELD-US")
    shipments_track()
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.DELIVERED and shipment.tracking_events.count() == 2
    unknown.refresh_from_db()
    assert unknown.status == Shipment.Status.HANDED_OVER and not unknown.tracking_events.exists()


def test_wrong_credentials_end_failed_naming_them(world, dhl):
    parcel = allocated_parcel(world, "D-1", address=US)
    account = account_for(dhl, username="seabridgeCN", password="wrong", account_number="601234567")
    shipment = parcel_ship(parcel=parcel, account=account)
    assert shipment.status == Shipment.Status.FAILED and not dhl.shipments
    assert "username and password" in shipment.carrier_message and "HTTP 401" in shipment.carrier_message
    with pytest.raises(CarrierRefused, match="HTTP 401"):
        adapter_for(account).quote(
            Shipment(account=account, method=world["method"], sender=SENDER), parcel_shipment_in(parcel)
        )
