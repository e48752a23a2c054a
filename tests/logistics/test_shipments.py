"""Shipments with the self-printed carrier: S10 tracking numbers from a range, labels as PDFs opened and read back
(page size, text with Chinese, the barcode decoded from the rendered page), the life of a shipment, bad parcels."""

from __future__ import annotations

import io
import subprocess
import threading
from decimal import Decimal

import pytest
from django.db import connection
from pypdf import PdfReader

from core.errors import Conflict, ValidationFailed
from core.status import status_transition
from logistics.carriers.base import CustomsLineIn, ShipmentIn
from logistics.carriers.self_printed import s10_check_digit, tracking_number_take
from logistics.labels import LabelIn, LabelLine, labels_pdf
from logistics.models import CarrierAccount, Shipment, TrackingNumberRange
from logistics.shipments import SHIPMENT_STATUS, shipment_cancel, shipment_create
from orders.fulfilment import orders_allocate
from orders.models import Parcel
from orders.shipping import parcel_ship
from tests.logistics.code128 import barcodes_on, page_image
from tests.logistics.parcels import SENDER
from tests.orders.test_fulfilment import imported, map_skus, receive, world_make

pytestmark = pytest.mark.django_db


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def world():
    return world_make()


@pytest.fixture
def post_account():
    account = CarrierAccount.objects.create(carrier="self", name="China Post 中国邮政", sender=SENDER)
    TrackingNumberRange.objects.create(
        account=account, prefix="RR", suffix="CN", first_number=12345678, last_number=12345680, next_number=12345678
    )
    return account


def test_s10_numbers_carry_their_check_digit_and_a_range_runs_out_clearly(post_account):
    assert s10_check_digit("12345678") == 5  # the UPU's own example: RR 12345678 5 CN
    assert s10_check_digit("00000000") == 5  # 11 - 0 → 5
    assert s10_check_digit("00000001") == 4
    taken = [tracking_number_take(post_account.pk) for _ in range(3)]
    assert taken == ["RR123456785CN", "RR123456799CN", "RR123456808CN"]
    with pytest.raises(Conflict) as used_up:
        tracking_number_take(post_account.pk)
    assert used_up.value.code == "tracking_numbers_used_up"


@pytest.mark.django_db(transaction=True)
def test_two_printers_never_get_the_same_number():
    account = CarrierAccount.objects.create(carrier="self", name="Post")
    TrackingNumberRange.objects.create(
        account=account, scheme="plain", prefix="LP", width=6, first_number=1, last_number=1000, next_number=1
    )
    numbers, errors = [], []

    def take():
        try:
            for _ in range(15):
                numbers.append(tracking_number_take(account.pk))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(numbers) == 30 and len(set(numbers)) == 30
    assert sorted(numbers) == [f"LP{n:06d}" for n in range(1, 31)]


@pytest.mark.parametrize(("size", "points"), [("100x100", (283.46, 283.46)), ("100x150", (288.0, 432.0))])
def test_a_label_is_a_page_of_its_size_with_chinese_text_and_a_barcode_a_scanner_reads(tmp_path, size, points):
    label = LabelIn(
        tracking_number="RR123456785CN",
        reference="114-3941689-8772232",
        carrier="China Post 中国邮政",
        service="Registered 挂号",
        sender=SENDER,
        recipient={
            "name": "Jane Roe",
            "address1": "1 Main St",
            "city": "Springfield",
            "state": "IL",
            "postcode": "62701",
            "country": "US",
        },
        weight_g=280,
        lines=[LabelLine("Phone case", "手机壳", "392690", 2, Decimal("5.00"), "USD", 120, "CN")],
        size=size,
    )
    pdf = labels_pdf([label])
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2  # the label, then the CN22
    for page in reader.pages:
        assert (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2)) == points
    text = pdf_text(pdf, tmp_path)
    for expected in ("Jane Roe", "Springfield, IL 62701", "114-3941689-8772232", "中国邮政", "寄件人", "深圳仓",
                     "CN22", "海关申报单", "Phone case", "手机壳", "392690", "10.00 USD", "240"):  # fmt: skip
        assert expected in text, expected
    assert barcodes_on(page_image(pdf, tmp_path)) == {"RR123456785CN"}


def test_many_labels_print_as_one_pdf_in_the_order_given(tmp_path):
    labels = [
        LabelIn(
            tracking_number=f"LP{n:06d}",
            reference=f"ORDER-{n}",
            carrier="Post",
            service="Standard",
            sender=SENDER,
            recipient={"name": f"Buyer {n}", "address1": "1 Rd", "city": "Town", "country": "GB"},
            weight_g=100,
        )
        for n in (3, 1, 2)
    ]
    pdf = labels_pdf(labels)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3  # no customs lines: no CN22 page
    assert [page.extract_text().split("REF")[1].split()[2] for page in reader.pages] == [
        "ORDER-3",
        "ORDER-1",
        "ORDER-2",
    ]


def test_an_allocated_parcel_gets_a_tracking_number_and_a_label_once_and_cancels_only_before_hand_over(
    world, post_account, tmp_path
):
    receive(world, "CN1", world["a"], 5)
    order = imported(world, "S-1")
    map_skus(world)
    orders_allocate()
    parcel = Parcel.objects.filter(lines__order=order).distinct().get()

    shipment = parcel_ship(parcel=parcel, account=post_account)
    assert shipment.status == Shipment.Status.LABEL_READY
    assert shipment.tracking_number == "RR123456785CN"
    assert shipment.reference == "S-1" and shipment.recipient["country"] == "US"
    assert shipment.expected_weight_g == 200 and shipment.label_format == "pdf"
    [line] = shipment.customs_lines.all()
    assert (line.sku, line.hs_code, line.quantity, line.name_zh) == ("CASE-A", "392690", 1, "手机壳")
    assert barcodes_on(page_image(bytes(shipment.label), tmp_path)) == {"RR123456785CN"}
    assert parcel_ship(parcel=parcel, account=post_account).pk == shipment.pk  # a retry makes no second one
    assert list(shipment.events.values_list("to_status", flat=True)) == ["created", "label_ready"]

    cancelled = shipment_cancel(shipment=shipment)
    assert cancelled.status == Shipment.Status.CANCELLED
    again = parcel_ship(parcel=parcel, account=post_account)  # a new label, with the next number
    assert again.pk != shipment.pk and again.tracking_number == "RR123456799CN"
    status_transition(machine=SHIPMENT_STATUS, document=again, to_status=Shipment.Status.HANDED_OVER)
    with pytest.raises(Conflict) as refused:
        shipment_cancel(shipment=again)
    assert refused.value.code == "invalid_transition"


def test_a_parcel_the_method_or_customs_would_refuse_is_named_by_field_and_nothing_is_saved(world, post_account):
    method = world["method"]
    method.max_weight_g = 1000
    method.countries = ["US"]
    method.save()
    parcel = ShipmentIn(
        reference="BAD-1",
        method_code=method.code,
        recipient={"name": "X", "address1": "", "city": "Paris", "country": "FR"},
        weight_g=1500,
        lines=[CustomsLineIn("CASE-A", "Phone case", "", "", 1, Decimal("0"), "USD", 200, "CN")],
    )
    with pytest.raises(ValidationFailed) as refused:
        shipment_create(account=post_account, method=method, parcel=parcel)
    fields = [error.field for error in refused.value.errors]
    assert fields == ["recipient.address1", "recipient.country", "weight_g", "lines[0].hs_code", "lines[0].unit_value"]
    assert not Shipment.objects.exists()
    assert TrackingNumberRange.objects.get().next_number == 12345678  # no number spent


def test_a_carrier_seabridge_cannot_speak_to_yet_is_refused_before_anything_is_made(world):
    receive(world, "CN1", world["a"], 5)
    order = imported(world, "D-1")
    map_skus(world)
    orders_allocate()
    parcel = Parcel.objects.filter(lines__order=order).distinct().get()
    dhl = CarrierAccount.objects.create(carrier="yanwen", name="Yanwen")
    with pytest.raises(Conflict) as refused:
        parcel_ship(parcel=parcel, account=dhl)
    assert refused.value.code == "carrier_not_supported"
    assert not Shipment.objects.exists()
