"""Waves: which parcels a wave takes (shape, method, store, cut-off, limits, never a parcel twice), the pick path
built at release (bins in walking order, pick faces first, no bin's units promised twice), orders to picking, the
labels made after release, and the A4 pick list read back."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from pypdf import PdfReader

from core.errors import Conflict, ValidationFailed
from logistics.models import Shipment
from orders.models import Order
from tests.logistics.parcels import SENDER
from tests.logistics.test_shipments import pdf_text
from tests.orders.factories import line_in
from tests.warehouse.floor import criteria, orders
from warehouse.models import PickTask, Wave, WaveParcel
from warehouse.waves import pick_list_pdf, wave_candidates, wave_create, wave_labels_make, wave_release

pytestmark = pytest.mark.django_db


def test_a_wave_takes_parcels_of_one_shape_oldest_ship_by_first_and_never_twice(world, floor):
    now = timezone.now()
    orders(
        world,
        ("ONE-late", [line_in("L1", "CASE-A", 1)]),
        ("ONE-soon", [line_in("L1", "CASE-A", 1)]),
        ("SKU-many", [line_in("L1", "CASE-A", 2)]),
        ("MULTI", [line_in("L1", "CASE-A", 1), line_in("L2", "CABLE-B", 1)]),
    )
    Order.objects.filter(channel_order_id="ONE-late").update(ship_by=now + timedelta(days=2))
    Order.objects.filter(channel_order_id="ONE-soon").update(ship_by=now + timedelta(days=1))

    def taken(wave: Wave) -> list[str]:
        return [
            entry.parcel.lines.first().order.channel_order_id
            for entry in wave.parcels.select_related("parcel").order_by("position")
        ]

    singles = wave_create(criteria=criteria(world, shape="single_item"))
    assert taken(singles) == ["ONE-soon", "ONE-late"] and singles.number.startswith("WAV")
    assert (singles.parcel_count, singles.line_count, singles.unit_count) == (2, 2, 2)
    assert taken(wave_create(criteria=criteria(world, shape="single_sku"))) == ["SKU-many"]
    multi = wave_create(criteria=criteria(world, shape="multi_item"))
    assert taken(multi) == ["MULTI"] and multi.unit_count == 2
    with pytest.raises(Conflict) as empty:
        wave_create(criteria=criteria(world))  # every parcel is in a wave
    assert empty.value.code == "wave_empty"


def test_filters_cut_off_and_limits(world, floor):
    now = timezone.now()
    orders(world, *[(f"O-{n}", [line_in("L1", "CASE-A", 1)]) for n in range(4)])
    Order.objects.filter(channel_order_id="O-3").update(ship_by=now + timedelta(days=5))
    Order.objects.exclude(channel_order_id="O-3").update(ship_by=now + timedelta(hours=5))
    assert wave_candidates(criteria(world, ship_by_before=now + timedelta(days=1))).count() == 3
    assert wave_candidates(criteria(world, method_ids=(world["method"].pk + 999,))).count() == 0
    assert wave_candidates(criteria(world, store_ids=(world["store"].pk,))).count() == 4
    assert wave_create(criteria=criteria(world, max_parcels=2)).parcel_count == 2
    assert wave_create(criteria=criteria(world, max_lines=1)).parcel_count == 1
    with pytest.raises(ValidationFailed) as refused:
        wave_create(criteria=criteria(world, max_parcels=0, max_lines=0, shape="round"))
    assert [error.field for error in refused.value.errors] == ["shape", "max_parcels", "max_lines"]


def test_release_walks_the_bins_in_order_pick_faces_first_and_moves_orders_to_picking(world, floor):
    orders(
        world,
        ("R-1", [line_in("L1", "CASE-A", 2), line_in("L2", "CABLE-B", 1)]),
        ("R-2", [line_in("L1", "CASE-A", 2)]),
    )
    wave = wave_release(wave=wave_create(criteria=criteria(world)))
    assert wave.status == Wave.Status.RELEASED and wave.cart_bin.code == f"CART-{wave.number}"
    assert not wave.cart_bin.is_sellable
    tasks = [(task.bin.code, task.product.sku, task.quantity) for task in wave.tasks.select_related("bin", "product")]
    # Units come from pick faces first (the 3 CASE-A in A-01-01-01), the rest from bulk; the path walks the bins in
    # their pick sequence: bulk (0), A-01-01-02 (10), A-01-01-01 (20).
    assert tasks == [("B-01-01-01", "CASE-A", 1), ("A-01-01-02", "CABLE-B", 1), ("A-01-01-01", "CASE-A", 3)]
    face = wave.tasks.get(bin=floor["p1"])
    assert sorted(line.quantity for line in face.lines.all()) == [1, 2]
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.PICKING}
    with pytest.raises(Conflict):
        wave_release(wave=wave)


def test_a_second_wave_does_not_count_units_the_first_still_has_to_pick(world, floor):
    orders(world, ("F-1", [line_in("L1", "CASE-A", 3)]), ("F-2", [line_in("L1", "CASE-A", 2)]))
    first = wave_release(wave=wave_create(criteria=criteria(world, max_parcels=1)))
    second = wave_release(wave=wave_create(criteria=criteria(world)))
    assert [(t.bin.code, t.quantity) for t in first.tasks.select_related("bin")] == [("A-01-01-01", 3)]
    assert [(t.bin.code, t.quantity) for t in second.tasks.select_related("bin")] == [("B-01-01-01", 2)]


def test_labels_are_made_for_the_released_wave_and_the_pick_list_reads_back(world, floor, tmp_path):
    orders(world, ("W-1", [line_in("L1", "CASE-A", 1)]), ("W-2", [line_in("L1", "CABLE-B", 2)]))
    wave = wave_release(wave=wave_create(criteria=criteria(world)))
    assert wave_labels_make(wave=wave) == {"ready": 2, "waiting": 0, "refused": 0}
    assert Shipment.objects.filter(status=Shipment.Status.LABEL_READY).count() == 2
    assert wave_labels_make(wave=wave) == {"ready": 2, "waiting": 0, "refused": 0}  # again: the same two
    assert Shipment.objects.count() == 2

    pdf = pick_list_pdf(wave)
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = pdf_text(pdf, tmp_path)
    assert wave.number in text and text.index("A-01-01-02") < text.index("A-01-01-01")
    assert "CASE-A" in text and "CABLE-B" in text and SENDER["city"] not in text


@pytest.mark.django_db(transaction=True)
def test_two_waves_made_at_once_never_take_the_same_parcel(world, floor):
    orders(world, *[(f"C-{n}", [line_in("L1", "CASE-A", 1)]) for n in range(6)])
    made, errors = [], []
    start = threading.Barrier(2)

    def make():
        try:
            start.wait()
            made.append(wave_create(criteria=criteria(world, max_parcels=4)))
        except Conflict as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=make) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = list(WaveParcel.objects.values_list("parcel_id", flat=True))
    assert len(taken) == len(set(taken)) == 6
    assert sorted(wave.parcel_count for wave in made) == [2, 4]  # the second waited, then took what was left
    assert not errors
    assert PickTask.objects.count() == 0
