"""4PX against a local server that speaks its open platform: the signed wire format, the label fetched by URL in
the shipment's size, a refusal kept with 4PX's code and words, a time-out or a "ref_no exists" read back (never a
second order), an HTTP error (left created, sent again under the same number), cancel before hand-over and refused
after, the hand-over as a bag booked for pickup (its label the document, the parcels 4PX would not take named),
tracking to delivered, bad credentials, a quote."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from decimal import Decimal

import pytest
from django.utils import translation
from pypdf import PdfReader

from core.errors import Conflict
from core.simulators import Request, SimulatorServer
from core.status import status_transition
from logistics.carriers import adapter_for
from logistics.carriers.base import CarrierRefused, RateIn, ShipmentIn
from logistics.models import CarrierAccount, Shipment
from logistics.services import carrier_account_save
from logistics.shipments import SHIPMENT_STATUS, shipment_cancel, shipment_label_refresh, shipments_track
from logistics.simulators.fourpx import FourPXSimulator
from orders.shipping import parcel_ship, parcel_shipment_in
from tests.logistics.test_yunexpress import allocated_parcel
from tests.orders.test_fulfilment import world_make

pytestmark = pytest.mark.django_db

APP_KEY, APP_SECRET = "16081f05-e8fc-4250-b9c4-0660d1ecbb28", "7eebf328-8e5a-4030-904d-ec6e89174fbc"
SENDER = {
    "name": "Li Lei",
    "company": "Seabridge",
    "phone": "13800000000",
    "address1": "1 Bao'an Rd",
    "district": "Bao'an",
    "city": "Shenzhen",
    "state": "Guangdong",
    "postcode": "518000",
    "country": "CN",
}


@pytest.fixture
def world():
    made = world_make()
    made["method"].carrier_product_code = "PY"
    made["method"].save()
    return made


@pytest.fixture
def fpx():
    simulator = FourPXSimulator(app_key=APP_KEY, app_secret=APP_SECRET)
    with SimulatorServer(simulator) as server:
        simulator.url = server.url
        yield simulator


def account_for(fpx, **credentials) -> CarrierAccount:
    return carrier_account_save(
        data={
            "carrier": "4px",
            "name": "4PX Shenzhen",
            "api_base_url": fpx.url + "/router/api/service",
            "sender": SENDER,
        },
        credentials=credentials or {"app_key": APP_KEY, "app_secret": APP_SECRET},
    )


def calls(fpx, method: str) -> list[Request]:
    return [request for request in fpx.requests_to("/router/api/service") if request.arg("method") == method]


def pdf_text(document: bytes) -> tuple[str, tuple[float, float]]:
    page = PdfReader(io.BytesIO(bytes(document))).pages[0]
    return page.extract_text(), (float(page.mediabox.width), float(page.mediabox.height))


def test_an_allocated_parcel_gets_its_4px_number_and_label_over_the_signed_gateway(world, fpx):
    parcel = allocated_parcel(world)
    shipment = parcel_ship(parcel=parcel, account=account_for(fpx))

    assert shipment.status == Shipment.Status.LABEL_READY
    [made] = fpx.orders
    assert shipment.carrier_order_id == shipment.tracking_number == made.tracking_no
    assert shipment.tracking_number.startswith("3009") and made.ref_no == parcel.number == shipment.carrier_reference
    text, size = pdf_text(shipment.label)  # 4PX's PDF, kept as it was served
    assert shipment.tracking_number in text and size == (283, 425)  # 100 × 150 mm, the method's size

    [create] = calls(fpx, "ds.xms.order.create")
    assert (create.arg("app_key"), create.arg("format"), create.arg("v"), create.arg("language")) == (
        APP_KEY,
        "json",
        "1.1.0",
        "en",
    )
    signed = f"app_key{APP_KEY}formatjsonmethodds.xms.order.createtimestamp{create.arg('timestamp')}v1.1.0"
    expected = hashlib.md5(signed.encode() + create.body + APP_SECRET.encode(), usedforsecurity=False).hexdigest()
    assert create.arg("sign") == expected and create.headers["content-type"].startswith("application/json")
    order = create.json()
    assert (order["ref_no"], order["business_type"], order["duty_type"]) == (parcel.number, "BDS", "U")
    assert order["logistics_service_info"] == {"logistics_product_code": "PY"}
    assert order["deliver_type_info"] == {"deliver_type": "1"} and "ioss_no" not in order
    assert order["parcel_list"] == [
        {
            "weight": 200,
            "parcel_value": 5.0,
            "currency": "USD",
            "include_battery": "N",
            "declare_product_info": [
                {
                    "declare_product_name_cn": "手机壳",
                    "declare_product_name_en": "Phone case",
                    "declare_product_code_qty": 1,
                    "declare_unit_price_export": 5.0,
                    "currency_export": "USD",
                    "declare_unit_price_import": 5.0,
                    "currency_import": "USD",
                    "hscode_export": "392690",
                    "hscode_import": "392690",
                    "unit_net_weight": 200,
                    "origin_country": "CN",
                    "package_remarks": "CASE-A",
                }
            ],
        }
    ]
    assert order["sender"] == {
        "first_name": "Li Lei",
        "company": "Seabridge",
        "phone": "13800000000",
        "post_code": "518000",
        "country": "CN",
        "state": "Guangdong",
        "city": "Shenzhen",
        "district": "Bao'an",
        "street": "1 Bao'an Rd",
    }
    assert (
        order["recipient_info"].items()
        >= {
            "first_name": "Jane Roe",
            "street": "1 Main St",
            "city": "Springfield",
            "state": "IL",
            "post_code": "62701",
            "country": "US",
        }.items()
    )
    [label] = calls(fpx, "ds.xms.label.get")
    assert label.json() == {
        "request_no": shipment.carrier_order_id,
        "label_size": "label_100x150",
        "response_label_format": "PDF",
    }


def test_a_refused_address_ends_failed_with_4pxs_code_and_words_and_a_retry_is_a_new_order(world, fpx):
    parcel = allocated_parcel(world)
    account = account_for(fpx)
    fpx.refused_cities.add("Springfield")
    failed = parcel_ship(parcel=parcel, account=account)
    assert failed.status == Shipment.Status.FAILED
    assert "DS000000 The recipient's address is not deliverable: Springfield" in failed.carrier_message
    assert fpx.orders == []
    fpx.refused_cities.clear()
    again = parcel_ship(parcel=parcel, account=account)
    assert again.status == Shipment.Status.LABEL_READY and again.carrier_reference == f"{parcel.number}-1"
    assert [order.ref_no for order in fpx.orders] == [f"{parcel.number}-1"]


def test_a_time_out_after_4px_made_the_order_reads_it_back_and_makes_no_second(world, fpx, settings):
    settings.CARRIER_HTTP_TIMEOUT = 0.5
    parcel = allocated_parcel(world)
    fpx.fault("/router/api/service", passthrough=True, acts_first=True, delay=1.5)  # the first call: the create
    shipment = parcel_ship(parcel=parcel, account=account_for(fpx))
    assert shipment.status == Shipment.Status.LABEL_READY
    [made] = fpx.orders
    assert shipment.tracking_number == made.tracking_no and bytes(shipment.label).startswith(b"%PDF")
    assert len(calls(fpx, "ds.xms.order.create")) == 1
    assert [request.json() for request in calls(fpx, "ds.xms.order.get")] == [{"request_no": parcel.number}]


def test_an_answer_that_the_ref_no_exists_reads_the_order_back(world, fpx):
    parcel = allocated_parcel(world)
    account = account_for(fpx)
    shipment = parcel_ship(parcel=parcel, account=account)
    # Asked again with the same number (a retry after a crash): 4PX says it exists, the adapter reads it back.
    again = adapter_for(account).create(shipment, replace(parcel_shipment_in(parcel), idempotency_key=parcel.number))
    assert (again.carrier_order_id, again.tracking_number) == (shipment.carrier_order_id, shipment.tracking_number)
    assert again.label.startswith(b"%PDF") and len(fpx.orders) == 1
    assert len(calls(fpx, "ds.xms.order.create")) == 2 and len(calls(fpx, "ds.xms.order.get")) == 1


def test_an_http_error_leaves_it_created_and_the_retry_sends_the_same_ref_no(world, fpx):
    parcel = allocated_parcel(world)
    fpx.fault("/router/api/service", status=502, body="<html>502 Bad Gateway</html>")
    shipment = parcel_ship(parcel=parcel, account=account_for(fpx))
    assert shipment.status == Shipment.Status.CREATED and "4PX answered HTTP 502" in shipment.carrier_message
    assert fpx.orders == []
    ready = shipment_label_refresh(shipment=shipment)  # sent again under the same number
    assert ready.status == Shipment.Status.LABEL_READY and [order.ref_no for order in fpx.orders] == [parcel.number]


def test_a_label_4px_could_not_give_follows_later_for_the_same_order(world, fpx):
    parcel = allocated_parcel(world)
    fpx.fault("/router/api/service", status=503, after=1)  # the create goes through, the label call fails
    shipment = parcel_ship(parcel=parcel, account=account_for(fpx))
    assert shipment.status == Shipment.Status.CREATED and shipment.carrier_order_id == fpx.orders[0].tracking_no
    assert "HTTP 503" in shipment.carrier_message
    ready = shipment_label_refresh(shipment=shipment)
    assert ready.status == Shipment.Status.LABEL_READY and bytes(ready.label).startswith(b"%PDF")
    assert len(fpx.orders) == 1 and len(calls(fpx, "ds.xms.order.create")) == 1


def test_cancel_closes_the_order_before_hand_over_and_4px_refuses_after(world, fpx):
    parcel = allocated_parcel(world)
    account = account_for(fpx)
    shipment = parcel_ship(parcel=parcel, account=account)
    assert shipment_cancel(shipment=shipment).status == Shipment.Status.CANCELLED
    assert fpx.order(parcel.number).status == "X"
    [cancel] = calls(fpx, "ds.xms.order.cancel")
    assert cancel.arg("v") == "1.0.0" and cancel.json()["request_no"] == shipment.carrier_order_id
    assert cancel.json()["cancel_reason"]

    again = parcel_ship(parcel=parcel, account=account)
    adapter_for(account).handover([again], "MAN1")
    with pytest.raises(CarrierRefused, match="DS000014 This order number cannot be cancelled"):
        adapter_for(account).cancel(again)
    assert fpx.order(again.carrier_reference).status == "V"
    status_transition(machine=SHIPMENT_STATUS, document=again, to_status=Shipment.Status.HANDED_OVER)
    with pytest.raises(Conflict):
        shipment_cancel(shipment=again)  # Seabridge refuses first: 4PX is not asked
    assert len(calls(fpx, "ds.xms.order.cancel")) == 2


def test_hand_over_books_one_bag_and_names_the_parcels_4px_would_not_take(world, fpx):
    account = account_for(fpx)
    first, second, cancelled = (
        parcel_ship(parcel=allocated_parcel(world, number), account=account) for number in ("Y-1", "Y-2", "Y-3")
    )
    shipment_cancel(shipment=cancelled)

    result = adapter_for(account).handover([first, second, cancelled], "MAN1")

    assert result.carrier_manifest_id.startswith("BIG") and result.refused == {
        cancelled.pk: "DS000018 The order is cancelled"
    }
    text, size = pdf_text(result.document)
    assert result.document_format == "pdf" and size == (283, 425)
    assert "MAN1" in text and first.tracking_number in text and second.tracking_number in text
    assert [fpx.order(s.carrier_reference).status for s in (first, second)] == ["V", "V"]
    [booked] = calls(fpx, "ds.xms.api.collect.create.big")
    assert booked.json() == {
        "pickup_info": {
            "name": "Li Lei",
            "phone": "13800000000",
            "country": "CN",
            "province": "Guangdong",
            "city": "Shenzhen",
            "district": "Bao'an",
            "detail_address": "1 Bao'an Rd",
            "zip_code": "518000",
        },
        "bag_list": [
            {
                "bag_no": "MAN1",
                "order_list": [{"ref_no": s.tracking_number} for s in (first, second, cancelled)],
            }
        ],
    }
    assert calls(fpx, "ds.xms.api.collect.print.big")[0].json() == {"bag_collect_no": [result.carrier_manifest_id]}

    twice = adapter_for(account).handover([first], "MAN2")  # handed over already: 4PX takes nothing
    assert twice.carrier_manifest_id == "" and twice.refused == {first.pk: "DS000018 The order is handed over already"}

    account.sender = {key: value for key, value in SENDER.items() if key != "district"}
    account.save()
    with pytest.raises(CarrierRefused, match=r"pickup_info\.district is required"):
        adapter_for(account).handover([second], "MAN3")


def test_tracking_follows_a_handed_over_parcel_to_delivered_in_4pxs_times(
    world, fpx, django_capture_on_commit_callbacks
):
    parcel = allocated_parcel(world)
    shipment = parcel_ship(parcel=parcel, account=account_for(fpx))
    status_transition(machine=SHIPMENT_STATUS, document=shipment, to_status=Shipment.Status.HANDED_OVER)
    # Only "information received" so far: recorded, but the parcel has not moved.
    assert shipments_track() == {"asked": 1, "events": 1, "moved": 0}

    fpx.move(shipment.tracking_number, "FPX_C_SPLS", "4PX picked up shipment", "2026-11-20 10:00:00", "Shenzhen")
    with django_capture_on_commit_callbacks(execute=True):
        assert shipments_track() == {"asked": 1, "events": 1, "moved": 1}
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.IN_TRANSIT
    picked = shipment.tracking_events.get(code="FPX_C_SPLS")
    assert (picked.kind, picked.location) == ("in_transit", "Shenzhen")
    assert picked.occurred_at.isoformat() == "2026-11-20T02:00:00+00:00"  # China's time, kept as UTC
    assert shipments_track()["events"] == 0  # 4PX repeats its whole list: nothing doubled

    fpx.move(shipment.tracking_number, "FPX_S_OK", "Delivered", "2026-11-27 15:30:00", "Berlin", "UTC+01:00")
    with django_capture_on_commit_callbacks(execute=True):
        shipments_track()
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.DELIVERED
    delivered = shipment.tracking_events.get(code="FPX_S_OK")
    assert (delivered.kind, delivered.occurred_at.isoformat()) == ("delivered", "2026-11-27T14:30:00+00:00")
    assert shipments_track()["asked"] == 0  # delivered is final
    asked = calls(fpx, "tr.order.tracking.get")
    assert {request.json()["deliveryOrderNo"] for request in asked} == {shipment.carrier_order_id}
    assert {request.arg("v") for request in asked} == {"1.0.0"}


def test_bad_credentials_end_failed_with_4pxs_code_in_the_users_language(world, fpx):
    parcel = allocated_parcel(world)
    wrong_secret = parcel_ship(parcel=parcel, account=account_for(fpx, app_key=APP_KEY, app_secret="wrong"))
    assert wrong_secret.status == Shipment.Status.FAILED
    assert "000012 Signature verification error" in wrong_secret.carrier_message
    account = CarrierAccount.objects.get(name="4PX Shenzhen")
    carrier_account_save(account=account, data={}, credentials={"app_key": "nobody", "app_secret": APP_SECRET})
    with translation.override("zh-hans"):
        wrong_key = parcel_ship(parcel=parcel, account=account)
    assert wrong_key.status == Shipment.Status.FAILED and "000013 app_key校验失败" in wrong_key.carrier_message
    assert calls(fpx, "ds.xms.order.create")[-1].arg("language") == "cn"
    assert fpx.orders == []


def test_a_quote_is_4pxs_estimate_in_yuan(world, fpx):
    account = account_for(fpx)
    parcel = ShipmentIn(
        reference="Q-1", method_code="YT-STD", recipient={"country": "US", "postcode": "62701"}, weight_g=250
    )
    rates = adapter_for(account).quote(Shipment(account=account, method=world["method"], sender=SENDER), parcel)
    assert rates == [RateIn(service="PY", amount=Decimal("38.00"), currency="CNY", delivery_days=15)]
    [asked] = calls(fpx, "ds.xms.estimated_cost.get")
    assert asked.json() == {
        "country_code": "US",
        "recipient_post_code": "62701",
        "weight": "250",
        "cargocode": "P",
        "logistics_product_code": ["PY"],
    }
