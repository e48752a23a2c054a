"""YunExpress against a local server that speaks its OMS API: the wire format sent, a label fetched by URL, a
refusal kept with its message, a time-out after the carrier made the parcel (read back, never doubled), a tracking
number issued later, cancel, and bad credentials."""

from __future__ import annotations

import base64
import io

import pytest
from pypdf import PdfReader

from core.errors import Conflict, ValidationFailed
from core.status import status_transition
from logistics.models import CarrierAccount, Shipment, TrackingNumberRange
from logistics.services import carrier_account_save
from logistics.shipments import (
    SHIPMENT_STATUS,
    shipment_cancel,
    shipment_label_refresh,
    shipment_moved,
    shipments_track,
)
from orders.fulfilment import orders_allocate
from orders.models import Parcel
from orders.shipping import parcel_ship
from tests.orders.test_fulfilment import imported, map_skus, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def post_account():
    account = CarrierAccount.objects.create(carrier="self", name="China Post", sender={"name": "Li Lei"})
    TrackingNumberRange.objects.create(
        account=account, prefix="RR", suffix="CN", first_number=1, last_number=99, next_number=1
    )
    return account


def account_for(yun, **credentials) -> CarrierAccount:
    return carrier_account_save(
        data={
            "carrier": "yunexpress",
            "name": "YunExpress Shenzhen",
            "api_base_url": yun.url + "/api/",
            "sender": {
                "name": "Li Lei",
                "company": "Seabridge",
                "address1": "1 Bao'an Rd",
                "city": "Shenzhen",
                "postcode": "518000",
                "country": "CN",
            },
        },
        credentials=credentials or {"customer_code": "C12345", "api_secret": "s3cret"},
    )


def allocated_parcel(world, order_id: str = "Y-1", **kwargs) -> Parcel:
    receive(world, "CN1", world["a"], 5)
    order = imported(world, order_id, **kwargs)
    map_skus(world)
    orders_allocate()
    return Parcel.objects.filter(lines__order=order).distinct().get()


def test_an_account_keeps_its_credentials_encrypted_and_names_what_is_missing(yun):
    with pytest.raises(ValidationFailed) as refused:
        carrier_account_save(
            data={"carrier": "yunexpress", "name": "Y"}, credentials={"customer_code": "C1", "token": "x"}
        )
    assert [error.field for error in refused.value.errors] == ["credentials.api_secret", "credentials.token"]
    account = account_for(yun)
    assert "s3cret" not in account.credentials_encrypted and account.credentials_encrypted
    production = carrier_account_save(
        data={"carrier": "yunexpress", "name": "Prod"}, credentials={"customer_code": "C1", "api_secret": "x"}
    )
    assert production.api_base_url == "http://oms.api.yunexpress.com/api/"


def test_an_allocated_parcel_gets_its_tracking_number_and_the_carriers_label(world, yun):
    parcel = allocated_parcel(world)
    shipment = parcel_ship(parcel=parcel, account=account_for(yun))

    assert shipment.status == Shipment.Status.LABEL_READY
    assert shipment.tracking_number.startswith("YT") and shipment.carrier_order_id.startswith("YT")
    assert shipment.carrier_reference == parcel.number
    reader = PdfReader(io.BytesIO(bytes(shipment.label)))
    assert shipment.tracking_number in reader.pages[0].extract_text()  # the carrier's PDF, kept as it sent it

    [create] = yun.requests_to("/api/WayBill/CreateOrder")
    assert create.headers["authorization"] == "Basic " + base64.b64encode(b"C12345&s3cret").decode()
    [order] = create.json()
    assert order["CustomerOrderNumber"] == parcel.number
    assert order["ShippingMethodCode"] == "THPHR" and order["Weight"] == 0.2 and order["PackageCount"] == 1
    assert (
        order["Receiver"].items()
        >= {
            "CountryCode": "US",
            "FirstName": "Jane",
            "LastName": "Roe",
            "Street": "1 Main St",
            "City": "Springfield",
            "Zip": "62701",
        }.items()
    )
    assert order["Parcels"] == [
        {
            "EName": "Phone case",
            "CName": "手机壳",
            "HSCode": "392690",
            "Quantity": 1,
            "UnitPrice": 5.0,
            "UnitWeight": 0.2,
            "CurrencyCode": "USD",
            "SKU": "CASE-A",
        }
    ]
    assert yun.requests_to("/api/Label/Print")[0].json() == [parcel.number]


def test_a_refused_address_ends_failed_with_the_carriers_words_and_a_retry_is_a_new_parcel(world, yun):
    parcel = allocated_parcel(world)
    account = account_for(yun)
    yun.refused_cities.add("Springfield")
    failed = parcel_ship(parcel=parcel, account=account)
    assert failed.status == Shipment.Status.FAILED
    assert "address not deliverable" in failed.carrier_message
    yun.refused_cities.clear()
    again = parcel_ship(parcel=parcel, account=account)
    assert again.status == Shipment.Status.LABEL_READY and again.carrier_reference == f"{parcel.number}-1"


def test_a_time_out_after_the_carrier_made_the_parcel_reads_it_back_and_makes_no_second(world, yun, settings):
    settings.CARRIER_HTTP_TIMEOUT = 0.5
    parcel = allocated_parcel(world)
    yun.fault("/api/WayBill/CreateOrder", passthrough=True, acts_first=True, delay=1.5)
    shipment = parcel_ship(parcel=parcel, account=account_for(yun))
    assert shipment.status == Shipment.Status.LABEL_READY
    assert len(yun.orders) == 1 and shipment.tracking_number == next(iter(yun.orders.values())).tracking_number
    assert yun.requests_to("/api/WayBill/GetOrder")


def test_a_tracking_number_issued_later_then_the_label(world, yun):
    world["method"].carrier_product_code = "THZXR"
    world["method"].save()
    parcel = allocated_parcel(world)
    shipment = parcel_ship(parcel=parcel, account=account_for(yun))
    assert shipment.status == Shipment.Status.CREATED and not shipment.tracking_number
    assert shipment.carrier_order_id and "later" in shipment.carrier_message
    assert shipment_label_refresh(shipment=shipment).status == Shipment.Status.CREATED  # still generating
    yun.issue_tracking(parcel.number)
    ready = shipment_label_refresh(shipment=shipment)
    assert ready.status == Shipment.Status.LABEL_READY and ready.tracking_number.startswith("YT")
    assert bytes(ready.label).startswith(b"%PDF")


def test_cancel_deletes_the_order_with_the_carrier_only_before_hand_over(world, yun):
    parcel = allocated_parcel(world)
    account = account_for(yun)
    shipment = parcel_ship(parcel=parcel, account=account)
    assert shipment_cancel(shipment=shipment).status == Shipment.Status.CANCELLED
    assert yun.orders[parcel.number].deleted
    again = parcel_ship(parcel=parcel, account=account)
    status_transition(machine=SHIPMENT_STATUS, document=again, to_status=Shipment.Status.HANDED_OVER)
    with pytest.raises(Conflict):
        shipment_cancel(shipment=again)
    assert not yun.orders[again.carrier_reference].deleted


def test_wrong_credentials_end_failed_with_the_carriers_message(world, yun):
    parcel = allocated_parcel(world)
    shipment = parcel_ship(parcel=parcel, account=account_for(yun, customer_code="C12345", api_secret="wrong"))
    assert shipment.status == Shipment.Status.FAILED
    assert "Unauthorized" in shipment.carrier_message


def test_the_api_connects_an_account_with_write_only_credentials(admin_api, yun):
    created = admin_api.post(
        "/api/v1/carrier-accounts/",
        {"carrier": "yunexpress", "name": "YT", "credentials": {"customer_code": "C1", "api_secret": "x"}},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert "credentials" not in body and body["has_credentials"] is True
    assert body["api_base_url"] == "http://oms.api.yunexpress.com/api/"
    refused = admin_api.post(
        "/api/v1/carrier-accounts/",
        {"carrier": "yunexpress", "name": "YT2", "credentials": {"customer_code": "C1"}},
        format="json",
    )
    assert refused.status_code == 400
    assert [error["field"] for error in refused.json()["errors"]] == ["credentials.api_secret"]


def test_tracking_follows_a_handed_over_parcel_to_delivered_and_keeps_each_event_once(
    world, yun, post_account, django_capture_on_commit_callbacks
):
    parcel = allocated_parcel(world)
    shipment = parcel_ship(parcel=parcel, account=account_for(yun))
    # A self-printed parcel handed over too: its carrier has no tracking, it is left as it is.
    other = allocated_parcel(world, "Y-2")
    posted = parcel_ship(parcel=other, account=post_account)
    for handed in (shipment, posted):
        status_transition(machine=SHIPMENT_STATUS, document=handed, to_status=Shipment.Status.HANDED_OVER)
    moved = []
    shipment_moved.connect(lambda sender, **kwargs: moved.append(kwargs["status"]), weak=False, dispatch_uid="t")
    try:
        yun.move(parcel.number, 2, "Departed from Shenzhen 离开深圳分拣中心", "2026-11-20T10:00:00")
        with django_capture_on_commit_callbacks(execute=True):
            counts = shipments_track()
        shipment.refresh_from_db()
        assert shipment.status == Shipment.Status.IN_TRANSIT
        [event] = shipment.tracking_events.all()
        assert (event.kind, event.code) == ("in_transit", "2")
        assert event.occurred_at.isoformat() == "2026-11-20T02:00:00+00:00"  # China's time, kept as UTC
        assert counts == {"asked": 1, "events": 1, "moved": 1}

        assert shipments_track()["events"] == 0  # the carrier repeats its history: nothing doubled
        yun.move(parcel.number, 3, "Delivered 已签收", "2026-11-27T15:30:00")
        with django_capture_on_commit_callbacks(execute=True):
            shipments_track()
        shipment.refresh_from_db()
        assert shipment.status == Shipment.Status.DELIVERED
        assert shipment.tracking_events.count() == 2
        assert shipments_track()["asked"] == 0  # delivered is final: no longer asked
        posted.refresh_from_db()
        assert posted.status == Shipment.Status.HANDED_OVER
    finally:
        shipment_moved.disconnect(dispatch_uid="t")
    assert moved == ["in_transit", "delivered"]
