"""A parcel's whole life with its orders: label → manifest → hand-over (the order ships, its stock leaves, the
store is told) → tracking → delivered; the hand-over's refusals; labels voided when the order goes away; the store
that hears at the label; labels printed as one file in the order given, reprints logged; the manifest PDF; and a
carrier that does not answer while the label is made."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation
from pypdf import PdfReader

from core.errors import Conflict, NotFound
from inventory.models import InventoryBalance, Reservation, StockMove
from logistics.manifests import (
    manifest_close,
    manifest_open,
    manifest_pdf,
    manifest_remove,
    manifest_scan,
    shipments_handed_over,
)
from logistics.models import LabelPrint, Manifest, Shipment
from logistics.printing import labels_print
from logistics.shipments import shipment_cancel, shipments_labels_refresh, shipments_track, shipments_void_pending
from orders.fulfilment import order_cancel, order_hold
from orders.inbound import AddressIn
from orders.models import Order, OrderShipment, Parcel, ParcelLine
from orders.shipping import parcel_ship, parcel_shipment_in
from tests.logistics.parcels import allocated
from tests.logistics.test_shipments import pdf_text
from tests.logistics.test_yunexpress import account_for
from tests.orders.test_fulfilment import imported, receive

pytestmark = pytest.mark.django_db


def test_a_parcel_from_label_to_delivered_ships_its_order_and_its_stock(world, yun, django_capture_on_commit_callbacks):
    [parcel] = allocated(world, "H-1")
    account = account_for(yun)
    shipment = parcel_ship(parcel=parcel, account=account)
    assert shipment.status == Shipment.Status.LABEL_READY
    order = Order.objects.get(channel_order_id="H-1")
    assert order.status == Order.Status.ALLOCATED and not order.shipments.exists()  # heard at hand-over (default)

    manifest = manifest_open(account=account, warehouse=world["cn"], pickup="afternoon van")
    assert manifest_open(account=account, warehouse=world["cn"], pickup="afternoon van") == manifest
    manifest_scan(manifest=manifest, code=shipment.tracking_number)
    manifest_scan(manifest=manifest, code=shipment.tracking_number)  # scanned twice: still one parcel
    with django_capture_on_commit_callbacks(execute=True):
        closed = manifest_close(manifest=manifest)

    assert closed.status == Manifest.Status.HANDED_OVER and closed.parcel_count == 1
    assert closed.total_weight_g == 200
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.HANDED_OVER
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    [recorded] = order.shipments.all()
    assert recorded.tracking_number == shipment.tracking_number and recorded.handed_over
    assert recorded.store_status == OrderShipment.StoreStatus.NOT_NEEDED  # a manual store: nothing to tell
    # The unit left Shenzhen: picked into the dispatch bin, then shipped; nothing stays reserved.
    balance = InventoryBalance.objects.get(product=world["a"], warehouse=world["cn"])
    assert (balance.on_hand, balance.reserved) == (9, 0)
    reservation = Reservation.objects.get(reference=parcel.number)
    assert (reservation.quantity_reserved, reservation.quantity_picked, reservation.quantity_shipped) == (0, 0, 1)
    assert list(StockMove.objects.filter(reference=parcel.number).values_list("reason", flat=True)) == [
        "pick",
        "ship",
    ]
    with pytest.raises(Conflict):
        shipment_cancel(shipment=shipment)  # handed over: too late to void

    yun.move(parcel.number, 3, "Delivered 已签收", "2026-11-27T15:30:00")
    with django_capture_on_commit_callbacks(execute=True):
        shipments_track()
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == Shipment.Status.DELIVERED and order.status == Order.Status.DELIVERED


def test_the_hand_over_refuses_what_must_not_go_and_names_it(world, yun, post):
    first, second, third = allocated(world, "R-1", "R-2", "R-3")
    yun_account = account_for(yun)
    yun_shipment = parcel_ship(parcel=first, account=yun_account)
    posted = parcel_ship(parcel=second, account=post)
    cancelled = parcel_ship(parcel=third, account=post)
    shipment_cancel(shipment=cancelled)
    manifest = manifest_open(account=post, warehouse=world["cn"])

    def refusal(code: str) -> Conflict | NotFound:
        with pytest.raises((Conflict, NotFound)) as refused:
            manifest_scan(manifest=manifest, code=code)
        return refused.value

    other = refusal(yun_shipment.tracking_number)
    assert other.code == "other_carrier" and "YunExpress Shenzhen" in str(other)
    assert refusal(cancelled.tracking_number).code == "parcel_cancelled"
    unknown = refusal("NO-SUCH-LABEL")
    assert unknown.code == "unknown_parcel" and "NO-SUCH-LABEL" in str(unknown)

    manifest_scan(manifest=manifest, code=posted.tracking_number)
    later = manifest_open(account=post, warehouse=world["cn"], pickup="evening")
    with pytest.raises(Conflict) as elsewhere:
        manifest_scan(manifest=later, code=posted.tracking_number)
    assert elsewhere.value.code == "in_other_manifest"
    manifest_close(manifest=manifest)
    with pytest.raises(Conflict) as again:
        manifest_scan(manifest=later, code=posted.tracking_number)
    assert again.value.code == "already_handed_over" and manifest.number in str(again.value)
    with pytest.raises(Conflict) as closed:
        manifest_scan(manifest=manifest, code=posted.tracking_number)
    assert closed.value.code == "manifest_closed"
    with pytest.raises(Conflict) as empty:
        manifest_close(manifest=later)
    assert empty.value.code == "manifest_empty"


def test_a_parcel_taken_out_of_the_manifest_stays_ready_for_another_pickup(world, post):
    [parcel] = allocated(world, "O-1")
    shipment = parcel_ship(parcel=parcel, account=post)
    manifest = manifest_open(account=post)
    manifest_scan(manifest=manifest, code=shipment.number)  # the shipment number is on the label too
    manifest_remove(manifest=manifest, shipment=shipment)
    shipment.refresh_from_db()
    assert shipment.manifest is None and shipment.status == Shipment.Status.LABEL_READY


def test_cancelling_the_order_voids_its_label_with_the_carrier(world, yun, django_capture_on_commit_callbacks):
    [parcel] = allocated(world, "V-1")
    shipment = parcel_ship(parcel=parcel, account=account_for(yun))
    order = Order.objects.get(channel_order_id="V-1")
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=order, reason="buyer asked")
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.CANCELLED and shipment.void_requested_at is None
    assert yun.orders[parcel.number].deleted
    assert yun.requests_to("/api/WayBill/Delete")


def test_a_void_the_carrier_cannot_do_now_is_kept_and_done_later(world, yun, django_capture_on_commit_callbacks):
    [parcel] = allocated(world, "V-2")
    account = account_for(yun)
    shipment = parcel_ship(parcel=parcel, account=account)
    yun.fault("/api/WayBill/Delete", status=503, times=1)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order=Order.objects.get(channel_order_id="V-2"), reason="buyer asked")
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.LABEL_READY and shipment.void_requested_at is not None
    assert "503" in shipment.carrier_message
    manifest = manifest_open(account=account)
    with pytest.raises(Conflict) as refused:
        manifest_scan(manifest=manifest, code=shipment.tracking_number)  # it must not go meanwhile
    assert refused.value.code == "order_cancelled"
    assert shipments_void_pending() == {"voided": 1, "failed": 0, "too_late": 0}
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.CANCELLED and yun.orders[parcel.number].deleted


def test_a_store_that_hears_at_the_label_is_told_once_and_the_order_ships_at_hand_over(
    world, post, django_capture_on_commit_callbacks
):
    world["store"].tracking_to_store = "label"
    world["store"].save()
    [parcel] = allocated(world, "L-1")
    with django_capture_on_commit_callbacks(execute=True):
        shipment = parcel_ship(parcel=parcel, account=post)
    order = Order.objects.get(channel_order_id="L-1")
    [told] = order.shipments.all()
    assert told.tracking_number == shipment.tracking_number and not told.handed_over
    assert order.status == Order.Status.ALLOCATED  # the parcel is still here

    manifest = manifest_open(account=post)
    manifest_scan(manifest=manifest, code=shipment.tracking_number)
    manifest_close(manifest=manifest)
    order.refresh_from_db()
    [shipped] = order.shipments.all()
    assert shipped.pk == told.pk and shipped.handed_over and order.status == Order.Status.SHIPPED


def test_labels_print_as_one_file_in_the_order_given_and_reprints_are_logged(world, post, admin_user):
    parcels = allocated(world, "P-1", "P-2", "P-3")
    shipments = [parcel_ship(parcel=parcel, account=post) for parcel in parcels]
    wave_order = [shipments[2], shipments[0], shipments[1]]
    data, label_format = labels_print(shipments=wave_order, user=admin_user, batch="WAVE-1")
    assert label_format == "pdf"
    reader = PdfReader(io.BytesIO(data))
    texts = [page.extract_text() for page in reader.pages]
    firsts = [next(i for i, text in enumerate(texts) if shipment.tracking_number in text) for shipment in wave_order]
    assert firsts == sorted(firsts)  # in the order given
    assert len(reader.pages) == 6  # each a label page and its CN22
    assert LabelPrint.objects.filter(batch="WAVE-1", reprint=False).count() == 3

    labels_print(shipments=[shipments[0]], user=admin_user, reason="label smudged")
    reprint = LabelPrint.objects.filter(shipment=shipments[0]).order_by("-pk").first()
    assert reprint.reprint and reprint.reason == "label smudged" and reprint.user == admin_user

    shipment_cancel(shipment=shipments[1])
    with pytest.raises(Exception) as refused:
        labels_print(shipments=[shipments[0], Shipment.objects.get(pk=shipments[1].pk)])
    assert "shipments[1]" in str(getattr(refused.value, "errors", [refused.value])[0].field)


def test_the_manifest_prints_its_parcels_weights_and_counts_in_chinese(world, post, tmp_path):
    parcels = allocated(world, "M-1", "M-2")
    shipments = [parcel_ship(parcel=parcel, account=post) for parcel in parcels]
    manifest = manifest_open(account=post, warehouse=world["cn"], pickup="下午车")
    for shipment in shipments:
        manifest_scan(manifest=manifest, code=shipment.tracking_number)
    manifest_close(manifest=manifest)
    with translation.override("zh-hans"):
        pdf = manifest_pdf(Manifest.objects.get(pk=manifest.pk))
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)  # A4
    text = pdf_text(pdf, tmp_path)
    for shipment in shipments:
        assert shipment.tracking_number in text
    assert manifest.number in text and "下午车" in text
    assert "交接清单" in text and "2 个包裹" in text and "0.400 kg" in text


def test_a_carrier_that_does_not_answer_leaves_the_shipment_created_and_it_is_sent_again_once(world, yun, settings):
    [parcel] = allocated(world, "T-1")
    account = account_for(yun)
    yun.fault("/api/WayBill/CreateOrder", status=503, times=1)
    shipment = parcel_ship(parcel=parcel, account=account)
    assert shipment.status == Shipment.Status.CREATED and "503" in shipment.carrier_message
    assert not yun.orders
    Shipment.objects.filter(pk=shipment.pk).update(updated_at=shipment.updated_at.replace(year=2025))
    assert shipments_labels_refresh() == 1
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.LABEL_READY and shipment.carrier_reference == parcel.number
    assert len(yun.orders) == 1


def test_while_a_manifest_is_being_handed_over_its_parcels_cannot_be_scanned_elsewhere_or_cancelled(world, post):
    first, second = allocated(world, "C-1", "C-2")
    shipment = parcel_ship(parcel=first, account=post)
    other = parcel_ship(parcel=second, account=post)
    manifest = manifest_open(account=post)
    manifest_scan(manifest=manifest, code=shipment.tracking_number)
    Manifest.objects.filter(pk=manifest.pk).update(status=Manifest.Status.CLOSING, closing_since=timezone.now())
    with pytest.raises(Conflict) as cancel:
        shipment_cancel(shipment=shipment)
    assert cancel.value.code == "being_handed_over" and manifest.number in str(cancel.value)
    with pytest.raises(Conflict) as scan:
        manifest_scan(manifest=manifest, code=other.tracking_number)
    assert scan.value.code == "manifest_closed"
    with pytest.raises(Conflict) as busy:
        manifest_close(manifest=manifest)
    assert busy.value.code == "manifest_busy"
    # A worker that died while the carrier answered: after a while the hand-over can be started again.
    Manifest.objects.filter(pk=manifest.pk).update(closing_since=timezone.now() - timedelta(minutes=11))
    assert manifest_close(manifest=manifest).status == Manifest.Status.HANDED_OVER


@pytest.mark.django_db(transaction=True)
def test_a_second_hand_over_while_the_first_holds_the_manifest_is_told_it_is_busy(world, post):
    """Two clicks of "Hand over" at once: the one that finds the manifest locked is answered manifest_busy (a
    conflict), not a server error from a transaction broken by the lock it could not take."""
    (parcel,) = allocated(world, "C-1")
    shipment = parcel_ship(parcel=parcel, account=post)
    manifest = manifest_open(account=post)
    manifest_scan(manifest=manifest, code=shipment.tracking_number)
    outcome = []

    def second_click():
        try:
            manifest_close(manifest=manifest)
        except Exception as error:
            outcome.append(error)
        finally:
            connection.close()

    with transaction.atomic():
        Manifest.objects.select_for_update().get(pk=manifest.pk)
        thread = threading.Thread(target=second_click)
        thread.start()
        thread.join()
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    assert outcome[0].code == "manifest_busy"
    assert manifest_close(manifest=manifest).status == Manifest.Status.HANDED_OVER


def test_holding_a_labelled_order_voids_its_label_and_the_scan_says_why(
    world, post, django_capture_on_commit_callbacks
):
    [parcel] = allocated(world, "HLD-1")
    shipment = parcel_ship(parcel=parcel, account=post)
    manifest = manifest_open(account=post)
    with django_capture_on_commit_callbacks(execute=True):
        order_hold(order=Order.objects.get(channel_order_id="HLD-1"), reason="address to check")
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.CANCELLED  # the post's label is voided here at once
    with translation.override("zh-hans"), pytest.raises(Conflict) as refused:
        manifest_scan(manifest=manifest, code=shipment.tracking_number)
    assert refused.value.code == "parcel_cancelled" and "不能发出" in str(refused.value)


def test_a_hand_over_that_cannot_be_recorded_reopens_the_manifest_with_the_carriers_answer(world, post):
    [parcel] = allocated(world, "F-1")
    shipment = parcel_ship(parcel=parcel, account=post)
    manifest = manifest_open(account=post)
    manifest_scan(manifest=manifest, code=shipment.tracking_number)

    def refuse(sender, **kwargs):
        raise Conflict("the order side refused", code="refused")

    shipments_handed_over.connect(refuse, weak=False, dispatch_uid="test-refuse")
    try:
        with pytest.raises(Conflict):
            manifest_close(manifest=manifest)
    finally:
        shipments_handed_over.disconnect(dispatch_uid="test-refuse")
    manifest.refresh_from_db()
    shipment.refresh_from_db()
    assert manifest.status == Manifest.Status.OPEN and "the order side refused" in manifest.carrier_message
    assert shipment.status == Shipment.Status.LABEL_READY and shipment.manifest_id == manifest.pk
    assert Order.objects.get(channel_order_id="F-1").status == Order.Status.ALLOCATED  # nothing half-done
    assert manifest_close(manifest=manifest).status == Manifest.Status.HANDED_OVER


def test_the_stores_tax_numbers_go_where_the_destination_asks_for_them(world):
    world["store"].options = {
        "ioss_number": "IM2760000001",
        "uk_vat_number": "GB123456789",
        "vat_numbers": {"NO": "VOEC2020001"},
        "eori_number": "DE123456789012345",
    }
    world["store"].save()
    receive(world, "CN1", world["a"], 10)
    wanted = {"DE": ("IM2760000001", "", "DE123456789012345"), "GB": ("", "GB123456789", "DE123456789012345"),
              "NO": ("", "VOEC2020001", ""), "US": ("", "", "")}  # fmt: skip
    for country, numbers in wanted.items():
        address = AddressIn(name="Jane Roe", address1="1 Main St", city="Town", postcode="1000", country=country)
        order = imported(world, f"TAX-{country}", address=address)
        parcel = Parcel(number=f"PCL-{country}")
        parcel.save()
        ParcelLine.objects.create(parcel=parcel, order=order, line=order.lines.get(), quantity=1)
        shipment_in = parcel_shipment_in(parcel)
        assert (shipment_in.ioss_number, shipment_in.vat_number, shipment_in.eori_number) == numbers, country
