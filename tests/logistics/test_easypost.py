"""EasyPost against a local server that speaks its API v2: the wire format sent (ounces, inches, line totals), the
method's rate bought, the label kept as EasyPost served it (PDF, or ZPL converted from the PNG), refusals with
EasyPost's words, a time-out after EasyPost acted (found again, never bought twice), refund, quotes, a SCAN form
that sets aside what EasyPost will not take, tracking to delivered, and a wrong API key."""

from __future__ import annotations

import base64
import io
from datetime import UTC, timedelta
from decimal import Decimal

import httpx
import pytest
from pypdf import PdfReader

from core.simulators import SimulatorServer
from core.status import status_transition
from logistics.carriers import adapter_for
from logistics.carriers.base import CarrierRefused, CarrierUnavailable, CustomsLineIn, RateIn, ShipmentIn
from logistics.models import CarrierAccount, Shipment
from logistics.services import carrier_account_save
from logistics.shipments import (
    SHIPMENT_STATUS,
    shipment_cancel,
    shipment_create,
    shipment_label_refresh,
    shipments_track,
)
from logistics.simulators.easypost import EasyPostSimulator
from orders.fulfilment import orders_allocate
from orders.models import Parcel
from orders.shipping import parcel_ship
from tests.orders.factories import line_in
from tests.orders.test_fulfilment import imported, map_skus, receive, world_make

pytestmark = pytest.mark.django_db

API_KEY = "EZTK_test_4f5381cd729d"
SENDER = {
    "name": "Li Lei",
    "company": "Seabridge LA",
    "address1": "1200 E Olympic Blvd",
    "city": "Los Angeles",
    "state": "CA",
    "postcode": "90021",
    "country": "US",
    "phone": "2135550100",
}


@pytest.fixture
def world():
    made = world_make()
    made["method"].carrier_product_code = "USPS:Priority"
    made["method"].save()
    return made


@pytest.fixture
def easypost():
    simulator = EasyPostSimulator(api_key=API_KEY)
    with SimulatorServer(simulator) as server:
        simulator.url = server.url
        yield simulator


def account_for(easypost, api_key: str = API_KEY, label_format: str = "pdf") -> CarrierAccount:
    account = carrier_account_save(
        data={"carrier": "easypost", "name": "EasyPost LA", "api_base_url": easypost.url + "/v2", "sender": SENDER},
        credentials={"api_key": api_key},
    )
    if label_format != account.label_format:
        account.label_format = label_format
        account.save(update_fields=["label_format"])
    return account


def allocated_parcel(world, order_id: str = "E-1", *lines) -> Parcel:
    receive(world, "CN1", world["a"], 5)
    order = imported(world, order_id, *lines)
    map_skus(world)
    orders_allocate()
    return Parcel.objects.filter(lines__order=order).distinct().get()


def creates(easypost) -> list:
    return [request for request in easypost.requests_to("/v2/shipments", "POST") if request.path == "/v2/shipments"]


def lists(easypost) -> list:
    return [request for request in easypost.requests_to("/v2/shipments", "GET") if request.path == "/v2/shipments"]


def test_the_shipment_sent_in_ounces_and_inches_with_line_totals_and_the_methods_rate_bought(world, easypost):
    account = account_for(easypost)
    parcel = ShipmentIn(
        reference="AMZ-111",
        method_code=world["method"].code,
        recipient={
            "name": "Jane Roe",
            "address1": "1 Main St",
            "city": "Springfield",
            "state": "IL",
            "postcode": "62701",
            "country": "US",
            "phone": "2175550199",
        },
        weight_g=1000,
        length_mm=300,
        width_mm=200,
        height_mm=100,
        lines=(
            CustomsLineIn(
                sku="CASE-A",
                name_en="Phone case",
                name_zh="手机壳",
                hs_code="392690",
                quantity=3,
                unit_value=Decimal("5.00"),
                currency="USD",
                unit_weight_g=200,
                origin_country="CN",
            ),
        ),
        eori_number="GB123456789000",
        idempotency_key="PCL-0001",
    )
    shipment = shipment_create(account=account, method=world["method"], parcel=parcel)

    assert shipment.status == Shipment.Status.LABEL_READY
    [create] = creates(easypost)
    assert create.headers["authorization"] == "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
    sent = create.json()["shipment"]
    assert sent["reference"] == "PCL-0001"
    # 1000 g = 35.27 oz and 300 × 200 × 100 mm = 11.81 × 7.87 × 3.94 in, each rounded up to a tenth
    assert sent["parcel"] == {"length": 11.9, "width": 7.9, "height": 4.0, "weight": 35.3}
    assert sent["to_address"] == {"name": "Jane Roe", "street1": "1 Main St", "city": "Springfield", "state": "IL",
                                  "zip": "62701", "country": "US", "phone": "2175550199"}  # fmt: skip
    assert sent["from_address"]["street1"] == "1200 E Olympic Blvd" and sent["from_address"]["zip"] == "90021"
    assert sent["options"] == {"label_format": "PDF", "label_size": "4x6", "invoice_number": "AMZ-111"}
    customs = sent["customs_info"]
    assert {key: customs[key] for key in ("contents_type", "customs_certify", "customs_signer", "eel_pfc",
                                          "non_delivery_option", "restriction_type")} == {
        "contents_type": "merchandise", "customs_certify": True, "customs_signer": "Li Lei",
        "eel_pfc": "NOEEI 30.37(a)", "non_delivery_option": "return", "restriction_type": "none",
    }  # fmt: skip
    # EasyPost's value and weight are the line's total, not the unit's: 3 × 5.00 USD and 3 × 200 g = 21.2 oz
    assert customs["customs_items"] == [
        {"description": "Phone case", "quantity": 3, "value": 15.0, "weight": 21.2, "hs_tariff_number": "392690",
         "origin_country": "CN", "currency": "USD", "code": "CASE-A"}
    ]  # fmt: skip
    assert sent["tax_identifiers"] == [{"entity": "SENDER", "tax_id_type": "EORI", "tax_id": "GB123456789000"}]

    made = easypost.shipments[shipment.carrier_order_id]
    priority = next(rate for rate in made["rates"] if (rate["carrier"], rate["service"]) == ("USPS", "Priority"))
    [buy] = easypost.requests_to(f"/v2/shipments/{made['id']}/buy")
    assert buy.json() == {"rate": {"id": priority["id"]}}
    assert shipment.carrier_order_id.startswith("shp_") and shipment.tracking_number == made["tracking_code"]
    assert (shipment.quoted_cost, shipment.cost_currency) == (Decimal(priority["rate"]), "USD")
    assert f"USPS:Priority for {priority['rate']} USD" in shipment.carrier_message


def test_an_allocated_parcel_gets_the_pdf_label_as_easypost_served_it(world, easypost):
    parcel = allocated_parcel(world, "E-1", line_in("L1", "CASE-A", 2))
    shipment = parcel_ship(parcel=parcel, account=account_for(easypost))

    assert shipment.status == Shipment.Status.LABEL_READY and shipment.label_format == "pdf"
    served = easypost.shipments[shipment.carrier_order_id]["postage_label"]
    label_file = served["label_pdf_url"].split("/files/", 1)[1]
    assert bytes(shipment.label) == easypost.files[label_file][0]  # kept byte for byte
    page = PdfReader(io.BytesIO(bytes(shipment.label))).pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (288, 432)  # 4 × 6 in
    assert shipment.tracking_number in page.extract_text()
    assert not easypost.requests_to(f"/v2/shipments/{shipment.carrier_order_id}/label")  # no conversion needed
    [create] = creates(easypost)
    sent = create.json()["shipment"]
    assert sent["reference"] == parcel.number
    assert sent["parcel"] == {"weight": 14.2}  # the products' 2 × 200 g, no size known
    assert sent["customs_info"]["customs_items"][0] == {
        "description": "Phone case", "quantity": 2, "value": 10.0, "weight": 14.2, "hs_tariff_number": "392690",
        "origin_country": "CN", "currency": "USD", "code": "CASE-A",
    }  # fmt: skip


def test_a_zpl_account_gets_the_label_converted_from_the_png_and_can_fetch_it_again(world, easypost):
    easypost.honours_label_format = False  # the buy answers the PNG only, as in the convert cassette
    parcel = allocated_parcel(world)
    account = account_for(easypost, label_format="zpl")
    shipment = parcel_ship(parcel=parcel, account=account)

    assert shipment.status == Shipment.Status.LABEL_READY and shipment.label_format == "zpl"
    label = bytes(shipment.label)
    assert label.startswith(b"^XA") and label.rstrip().endswith(b"^XZ")
    assert shipment.tracking_number.encode() in label
    [convert] = easypost.requests_to(f"/v2/shipments/{shipment.carrier_order_id}/label")
    assert convert.query == {"file_format": ["ZPL"]}
    assert creates(easypost)[0].json()["shipment"]["options"]["label_format"] == "ZPL"

    again = adapter_for(account).label(shipment)
    assert (again.label, again.label_format, again.tracking_number) == (label, "zpl", shipment.tracking_number)
    assert len(easypost.purchased()) == 1 and len(easypost.requests_to("/v2/shipments/", "POST")) == 1  # one buy


def test_an_address_easypost_cannot_verify_ends_failed_with_its_words(world, easypost):
    parcel = allocated_parcel(world)
    easypost.invalid_cities.add("Springfield")
    failed = parcel_ship(parcel=parcel, account=account_for(easypost))
    assert failed.status == Shipment.Status.FAILED
    assert "ADDRESS.VERIFY.FAILURE: Unable to verify address. (address: Address not found" in failed.carrier_message
    assert not easypost.shipments


def test_no_rate_for_the_method_ends_failed_naming_the_carriers_rating_messages(world, easypost):
    world["method"].carrier_product_code = "FedEx:FEDEX_GROUND"
    world["method"].save()
    parcel = allocated_parcel(world)
    failed = parcel_ship(parcel=parcel, account=account_for(easypost))
    assert failed.status == Shipment.Status.FAILED
    assert "no FedEx:FEDEX_GROUND rate" in failed.carrier_message
    assert "FedEx: Shipment cannot weigh less than 16oz" in failed.carrier_message
    assert not easypost.purchased() and not easypost.requests_to("/v2/shipments/", "POST")  # nothing bought


def test_a_time_out_on_buy_after_easypost_bought_it_keeps_that_one_purchase(world, easypost, settings):
    settings.CARRIER_HTTP_TIMEOUT = 0.5
    parcel = allocated_parcel(world)
    easypost.fault("/v2/shipments/", method="POST", passthrough=True, acts_first=True, delay=1.5)
    shipment = parcel_ship(parcel=parcel, account=account_for(easypost))

    assert shipment.status == Shipment.Status.LABEL_READY
    [bought] = easypost.purchased()
    assert len(easypost.shipments) == 1
    assert (shipment.carrier_order_id, shipment.tracking_number) == (bought["id"], bought["tracking_code"])
    assert len(easypost.requests_to(f"/v2/shipments/{bought['id']}/buy")) == 1  # read back, not bought again
    assert easypost.requests_to(f"/v2/shipments/{bought['id']}", "GET")
    assert (
        bytes(shipment.label).startswith(b"%PDF")
        and shipment.tracking_number in PdfReader(io.BytesIO(bytes(shipment.label))).pages[0].extract_text()
    )


def test_a_time_out_on_create_finds_the_shipment_by_its_reference_and_buys_it_once(world, easypost, settings):
    settings.CARRIER_HTTP_TIMEOUT = 0.5
    parcel = allocated_parcel(world)
    easypost.fault("/v2/shipments", method="POST", passthrough=True, acts_first=True, delay=1.5)
    shipment = parcel_ship(parcel=parcel, account=account_for(easypost))

    assert shipment.status == Shipment.Status.LABEL_READY
    [made] = easypost.shipments.values()  # made once, then found, not made again
    assert made["reference"] == parcel.number and easypost.purchased() == [made]
    assert shipment.carrier_order_id == made["id"] and len(creates(easypost)) == 1
    since = (shipment.created_at - timedelta(minutes=2)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # looked for before making it (none yet), and found after the time-out
    assert [request.query for request in lists(easypost)] == [{"page_size": ["50"], "start_datetime": [since]}] * 2


def test_a_create_cut_off_after_easypost_bought_stays_created_and_is_finished_once_when_sent_again(
    world, easypost, settings
):
    settings.CARRIER_HTTP_TIMEOUT = 0.5
    parcel = allocated_parcel(world)
    account = account_for(easypost)
    easypost.fault("/v2/shipments/", method="POST", passthrough=True, acts_first=True, delay=1.5)  # the buy
    easypost.fault("/v2/shipments/", method="GET", status=503)  # and reading it back
    shipment = parcel_ship(parcel=parcel, account=account)

    assert shipment.status == Shipment.Status.CREATED and not shipment.carrier_order_id
    [bought] = easypost.purchased()
    assert bought["id"] in shipment.carrier_message  # where to look, should a person need to

    shipment = shipment_label_refresh(shipment=shipment)  # what the periodic task does

    assert shipment.status == Shipment.Status.LABEL_READY
    assert easypost.purchased() == [bought] and len(easypost.shipments) == 1 and len(creates(easypost)) == 1
    assert len(easypost.requests_to(f"/v2/shipments/{bought['id']}/buy")) == 1
    assert (shipment.carrier_order_id, shipment.tracking_number) == (bought["id"], bought["tracking_code"])
    assert (shipment.quoted_cost, shipment.cost_currency) == (Decimal(bought["selected_rate"]["rate"]), "USD")
    assert shipment.tracking_number in PdfReader(io.BytesIO(bytes(shipment.label))).pages[0].extract_text()


def test_a_shipment_whose_easypost_id_was_lost_is_found_by_reference_through_the_pages(world, easypost):
    account = account_for(easypost)
    shipment = parcel_ship(parcel=allocated_parcel(world), account=account)
    label = bytes(shipment.label)
    with httpx.Client(base_url=easypost.url + "/v2/", auth=(API_KEY, "")) as client:
        for number in range(60):  # newer shipments since (other parcels): it is on the second page now
            other = {"to_address": {"street1": "2 Elm St", "city": "Pasadena", "country": "US"},
                     "from_address": {"street1": "1200 E Olympic Blvd", "city": "Los Angeles", "country": "US"},
                     "parcel": {"weight": 8.0}, "reference": f"OTHER-{number}"}  # fmt: skip
            assert client.post("shipments", json={"shipment": other}).status_code == 201
    Shipment.objects.filter(pk=shipment.pk).update(carrier_order_id="")  # as if the answer was never saved
    shipment.refresh_from_db()
    asked_before = len(lists(easypost))

    again = adapter_for(account).label(shipment)

    assert (again.carrier_order_id, again.label, again.label_format) == (easypost.purchased()[0]["id"], label, "pdf")
    [first, second] = lists(easypost)[asked_before:]
    assert "before_id" not in first.query
    assert second.query["before_id"] == [list(reversed(easypost.shipments))[49]]  # the 50th newest
    assert len(easypost.purchased()) == 1


def test_cancel_refunds_the_label_and_a_second_refund_is_refused(world, easypost):
    parcel = allocated_parcel(world)
    account = account_for(easypost)
    shipment = parcel_ship(parcel=parcel, account=account)
    assert shipment_cancel(shipment=shipment).status == Shipment.Status.CANCELLED
    assert easypost.shipments[shipment.carrier_order_id]["refund_status"] == "submitted"
    with pytest.raises(CarrierRefused) as refused:
        adapter_for(account).cancel(shipment)
    assert "already been refunded" in str(refused.value)


def test_a_quote_is_easyposts_rates_without_buying_or_a_reference(world, easypost):
    account = account_for(easypost)
    parcel = ShipmentIn(
        reference="AMZ-9", method_code="", recipient={"name": "Jane Roe", "address1": "1 Main St",
        "city": "Springfield", "state": "IL", "postcode": "62701", "country": "US"}, weight_g=1000,
    )  # fmt: skip
    rates = adapter_for(account).quote(Shipment(method=world["method"], sender=SENDER), parcel)

    [made] = easypost.shipments.values()
    assert made["reference"] is None and not easypost.purchased()
    priority = next(rate for rate in made["rates"] if rate["service"] == "Priority")
    assert (
        RateIn(
            service="USPS:Priority",
            amount=Decimal(priority["rate"]),
            currency="USD",
            delivery_days=2,
            carrier_rate_id=priority["id"],
            description="USPS Priority",
        )
        in rates
    )
    assert {rate.service for rate in rates} >= {"USPS:Express", "UPS:Ground", "FedEx:FEDEX_GROUND"}  # 35.3 oz
    easypost.fault("/v2/shipments", status=429, body={"error": {"code": "RATE_LIMITED", "message": "Slow down"}})
    with pytest.raises(CarrierUnavailable):
        adapter_for(account).quote(Shipment(method=world["method"], sender=SENDER), parcel)


def test_a_scan_form_hands_over_the_parcels_and_sets_aside_those_easypost_will_not_take(world, easypost):
    account = account_for(easypost)
    shipments = [parcel_ship(parcel=allocated_parcel(world, f"E-{n}"), account=account) for n in (1, 2, 3)]
    shipment_cancel(shipment=shipments[2])  # refunded: EasyPost keeps it off any SCAN form
    never_made = Shipment(pk=999999, number="SHP-X")

    result = adapter_for(account).handover([*shipments, never_made], "MAN1")

    [form] = easypost.scan_forms.values()
    assert result.carrier_manifest_id == form["id"] and form["id"].startswith("sf_")
    assert form["tracking_codes"] == [shipments[0].tracking_number, shipments[1].tracking_number]
    assert set(result.refused) == {shipments[2].pk, never_made.pk}
    assert "have been refunded" in result.refused[shipments[2].pk]
    assert shipments[2].carrier_order_id in result.refused[shipments[2].pk]
    [first, second] = easypost.requests_to("/v2/scan_forms", "POST")
    assert len(first.json()["shipments"]) == 3 and second.json() == {
        "shipments": [{"id": shipments[0].carrier_order_id}, {"id": shipments[1].carrier_order_id}]
    }
    assert result.document_format == "pdf" and f"{form['id']} for MAN1: 2 parcels" in result.message
    text = PdfReader(io.BytesIO(result.document)).pages[0].extract_text()
    assert shipments[0].tracking_number in text and shipments[1].tracking_number in text


def test_tracking_follows_a_handed_over_parcel_to_delivered_with_easyposts_events(
    world, easypost, django_capture_on_commit_callbacks
):
    shipment = parcel_ship(parcel=allocated_parcel(world), account=account_for(easypost))
    status_transition(machine=SHIPMENT_STATUS, document=shipment, to_status=Shipment.Status.HANDED_OVER)
    easypost.move(shipment.carrier_order_id, "pre_transit", "Shipping Label Created", "2026-11-19T08:25:26Z")
    assert shipments_track() == {"asked": 1, "events": 1, "moved": 0}  # pre-transit is information only

    easypost.move(
        shipment.carrier_order_id,
        "in_transit",
        "Arrived at USPS Regional Facility",
        "2026-11-20T10:00:00-08:00",
        city="LOS ANGELES",
        state="CA",
        country="US",
        status_detail="arrived_at_facility",
    )
    with django_capture_on_commit_callbacks(execute=True):
        shipments_track()
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.IN_TRANSIT
    event = shipment.tracking_events.get(code="in_transit")
    assert (event.kind, event.description, event.location) == (
        "in_transit",
        "Arrived at USPS Regional Facility",
        "LOS ANGELES, CA, US",
    )
    assert event.occurred_at.isoformat() == "2026-11-20T18:00:00+00:00"

    easypost.move(shipment.carrier_order_id, "delivered", "Delivered, In/At Mailbox", "2026-11-22T15:30:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        shipments_track()
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.DELIVERED
    assert shipment.tracking_events.count() == 3
    [tracker] = easypost.trackers.values()  # the one made at purchase, asked for again, never a second
    trackers = easypost.requests_to("/v2/trackers", "POST")
    assert len(trackers) == 3
    assert trackers[0].json() == {"tracker": {"tracking_code": shipment.tracking_number, "carrier": "USPS"}}
    assert tracker["tracking_code"] == shipment.tracking_number
    assert shipments_track()["asked"] == 0  # delivered is final


def test_a_wrong_api_key_ends_failed_naming_the_api_key(world, easypost):
    parcel = allocated_parcel(world)
    shipment = parcel_ship(parcel=parcel, account=account_for(easypost, api_key="EZTK_wrong"))
    assert shipment.status == Shipment.Status.FAILED
    assert "API key" in shipment.carrier_message and "APIKEY" in shipment.carrier_message
    assert not easypost.shipments
