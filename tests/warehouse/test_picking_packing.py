"""Picking and packing a wave: the bin and the item checked at each stop, units moved into the cart under each
parcel's reservation, a short pick that leaves the rest of the wave going; the pack check (wrong and extra items,
the weight within tolerance, a supervisor's override), a cancelled order caught at packing, the single-item fast
lane; and the hand-over shipping the picked units out of the cart."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from core.errors import Conflict, ValidationFailed
from inventory.models import InventoryBalance, Reservation, StockLevel
from logistics.manifests import manifest_close, manifest_open, manifest_scan
from logistics.models import Shipment
from orders.fulfilment import order_cancel
from orders.models import Order
from tests.orders.factories import line_in
from tests.warehouse.floor import criteria, orders
from warehouse.models import PackCheck, PickTask, PutBackTask, Wave, WaveParcel
from warehouse.packing import fast_lane, pack_item, pack_open, pack_override, pack_weigh
from warehouse.picking import pick_bin, pick_item, pick_next, pick_progress, pick_short, pick_start
from warehouse.sorting import slot_code, sort_item
from warehouse.waves import wave_create, wave_labels_make, wave_release

pytestmark = pytest.mark.django_db


def released(world, shape: str = "any") -> Wave:
    wave = wave_release(wave=wave_create(criteria=criteria(world, shape=shape)))
    wave_labels_make(wave=wave)
    return wave


def pick_all(wave: Wave, user=None) -> None:
    pick_start(wave=wave, user=user)
    while (task := pick_next(wave)) is not None:
        pick_bin(wave=wave, task_id=task.pk, code=task.bin.code)
        pick_item(wave=wave, task_id=task.pk, code=task.product.sku, quantity=task.quantity, user=user)


def test_each_stop_checks_the_bin_and_the_item_and_moves_units_into_the_cart(world, floor, make_user):
    orders(world, ("P-1", [line_in("L1", "CASE-A", 2), line_in("L2", "CABLE-B", 1)]))
    wave = released(world)
    picker = make_user("Picker/packer")
    pick_start(wave=wave, user=picker)
    first = pick_next(wave)
    assert (first.bin.code, first.product.sku, first.quantity) == ("A-01-01-02", "CABLE-B", 1)
    with pytest.raises(Conflict) as wrong_bin:
        pick_bin(wave=wave, task_id=first.pk, code="A-01-01-01")
    assert wrong_bin.value.code == "wrong_bin" and "A-01-01-02" in str(wrong_bin.value)
    pick_bin(wave=wave, task_id=first.pk, code="a-01-01-02")  # a scanner in lower case is the same bin
    with pytest.raises(Conflict) as wrong_item:
        pick_item(wave=wave, task_id=first.pk, code="CASE-A")
    assert wrong_item.value.code == "wrong_item"
    with pytest.raises(Conflict) as too_many:
        pick_item(wave=wave, task_id=first.pk, code="CABLE-B", quantity=2)
    assert too_many.value.code == "too_many"
    answer = pick_item(wave=wave, task_id=first.pk, code="CABLE-B", user=picker)
    assert answer.task.product.sku == "CASE-A" and answer.task.bin.code == "A-01-01-01"
    pick_item(wave=wave, task_id=answer.task.pk, code="CASE-A", user=picker)
    assert pick_progress(wave) == {"stops": 2, "stops_done": 1, "units": 3, "units_picked": 2}
    done = pick_item(wave=wave, task_id=answer.task.pk, code="CASE-A", user=picker)
    assert done.task is None
    wave.refresh_from_db()
    assert wave.status == Wave.Status.PICKED and wave.picker == picker
    cart = StockLevel.objects.filter(bin=wave.cart_bin)
    assert sorted(cart.values_list("product__sku", "on_hand")) == [("CABLE-B", 1), ("CASE-A", 2)]
    entry = wave.parcels.get()
    assert entry.status == WaveParcel.Status.PICKED
    reservation = Reservation.objects.get(reference=entry.parcel.number, product=world["a"])
    assert (reservation.quantity_reserved, reservation.quantity_picked) == (0, 2)


def test_a_short_pick_marks_its_parcels_and_the_wave_goes_on(world, floor):
    orders(world, ("S-1", [line_in("L1", "CABLE-B", 1)]), ("S-2", [line_in("L1", "CASE-A", 1)]))
    wave = released(world)
    pick_start(wave=wave)
    task = pick_next(wave)
    with pytest.raises(ValidationFailed):
        pick_short(wave=wave, task_id=task.pk, reason=" ")
    answer = pick_short(wave=wave, task_id=task.pk, reason="bin empty")
    assert answer.task is not None and answer.task.product.sku == "CASE-A"  # the wave goes on
    pick_item(wave=wave, task_id=answer.task.pk, code="CASE-A")
    statuses = dict(wave.parcels.values_list("parcel__lines__order__channel_order_id", "status"))
    assert statuses == {"S-1": WaveParcel.Status.SHORT, "S-2": WaveParcel.Status.PICKED}
    assert PickTask.objects.get(pk=task.pk).short_reason == "bin empty"
    with pytest.raises(Conflict) as short:
        pack_open(code="S-1", warehouse_id=world["cn"].pk)
    assert short.value.code == "parcel_short" and "bin empty" in str(short.value)


def test_packing_checks_every_item_and_the_weight_and_a_supervisor_can_let_one_go(world, floor, make_user):
    orders(world, ("K-1", [line_in("L1", "CASE-A", 2)]), ("K-2", [line_in("L1", "CABLE-B", 1)]))
    wave = released(world)
    pick_all(wave)
    packer = make_user()
    state = pack_open(code="K-1", warehouse_id=world["cn"].pk)
    entry = state.entry
    with pytest.raises(Conflict) as wrong:
        pack_item(entry=entry, code="CABLE-B")
    assert wrong.value.code == "wrong_item"
    with pytest.raises(Conflict) as early:
        pack_weigh(entry=entry, grams=420, user=packer)
    assert early.value.code == "not_complete"
    pack_item(entry=entry, code="CASE-A")
    assert pack_item(entry=entry, code="CASE-A").complete
    with pytest.raises(Conflict) as extra:
        pack_item(entry=entry, code="CASE-A")
    assert extra.value.code == "extra_item"
    check = pack_weigh(entry=entry, grams=445, user=packer)  # 2 × 200 g + 20 g packaging = 420 g, ± 42 g
    assert (check.expected_g, check.tolerance_g, check.within) == (420, 42, True)
    assert Order.objects.get(channel_order_id="K-1").status == Order.Status.PACKED
    assert Shipment.objects.get(parcel=entry.parcel).actual_weight_g == 445

    other = pack_open(code="K-2", warehouse_id=world["cn"].pk).entry
    pack_item(entry=other, code="CABLE-B")
    heavy = pack_weigh(entry=other, grams=300, user=packer)  # 100 + 20 = 120 g, ± 30 g
    assert not heavy.within and Order.objects.get(channel_order_id="K-2").status == Order.Status.PICKING
    with pytest.raises(Conflict) as not_allowed:
        pack_override(check=heavy, reason="padded box", user=packer)
    assert not_allowed.value.code == "not_supervisor"
    supervisor = make_user()
    supervisor.user_permissions.add(Permission.objects.get(codename="change_packcheck"))
    supervisor = type(supervisor).objects.get(pk=supervisor.pk)  # permissions read afresh
    pack_override(check=heavy, reason="padded box", user=supervisor)
    assert PackCheck.objects.get(pk=heavy.pk).override_reason == "padded box"
    assert Order.objects.get(channel_order_id="K-2").status == Order.Status.PACKED
    wave.refresh_from_db()
    assert wave.status == Wave.Status.DONE


def test_a_cancelled_order_is_caught_at_packing_and_its_units_go_back(world, floor):
    orders(world, ("X-1", [line_in("L1", "CASE-A", 1)]))
    wave = released(world)
    pick_all(wave)
    order_cancel(order=Order.objects.get(channel_order_id="X-1"), reason="buyer asked")
    with pytest.raises(Conflict) as caught:
        pack_open(code="X-1", warehouse_id=world["cn"].pk)
    assert caught.value.code == "order_cancelled" and "X-1" in str(caught.value)
    task = PutBackTask.objects.get()
    assert (task.quantity, task.from_bin) == (1, wave.cart_bin)


def test_the_fast_lane_packs_the_oldest_single_item_parcel_of_the_sku(world, floor):
    orders(world, *[(f"FL-{n}", [line_in("L1", "CASE-A", 1)]) for n in range(3)])
    wave = released(world, shape="single_item")
    pick_all(wave)
    order_cancel(order=Order.objects.get(channel_order_id="FL-0"), reason="buyer asked")
    first = fast_lane(wave=wave, code="CASE-A")
    assert first.parcel.lines.get().order.channel_order_id == "FL-1"  # FL-0 was cancelled: the next one
    assert fast_lane(wave=wave, code="CASE-A").parcel.lines.get().order.channel_order_id == "FL-2"
    with pytest.raises(Conflict) as none:
        fast_lane(wave=wave, code="CASE-A")
    assert none.value.code == "nothing_waiting"


def test_hand_over_ships_the_picked_units_out_of_the_cart(world, floor, post):
    orders(world, ("H-1", [line_in("L1", "CASE-A", 2)]))
    wave = released(world)
    pick_all(wave)
    entry = pack_open(code="H-1", warehouse_id=world["cn"].pk).entry
    pack_item(entry=entry, code="CASE-A")
    pack_item(entry=entry, code="CASE-A")
    pack_weigh(entry=entry, grams=420)
    shipment = Shipment.objects.get(parcel=entry.parcel)
    manifest = manifest_open(account=post, warehouse=world["cn"])
    manifest_scan(manifest=manifest, code=shipment.tracking_number)
    manifest_close(manifest=manifest)
    assert Order.objects.get(channel_order_id="H-1").status == Order.Status.SHIPPED
    assert not StockLevel.objects.filter(bin=wave.cart_bin, on_hand__gt=0).exists()
    balance = InventoryBalance.objects.get(product=world["a"], warehouse=world["cn"])
    assert (balance.on_hand, balance.reserved) == (51, 0)  # 53 received, 2 shipped


def test_the_sorting_wall_sends_each_item_to_its_slot_and_announces_a_complete_one(world, floor):
    orders(
        world,
        ("W-1", [line_in("L1", "CASE-A", 1), line_in("L2", "CABLE-B", 1)]),
        ("W-2", [line_in("L1", "CASE-A", 1), line_in("L2", "CABLE-B", 1)]),
    )
    wave = released(world, shape="multi_item")
    with pytest.raises(Conflict) as early:
        sort_item(wave=wave, code="CASE-A")
    assert early.value.code == "wave_not_sortable"
    pick_all(wave)
    answers = [sort_item(wave=wave, code=code) for code in ("CASE-A", "CASE-A", "CABLE-B", "CABLE-B")]
    assert [(answer.slot, answer.complete) for answer in answers] == [(1, False), (2, False), (1, True), (2, True)]
    assert "1" in answers[2].message
    with pytest.raises(Conflict) as extra:
        sort_item(wave=wave, code="CABLE-B")
    assert extra.value.code == "not_needed"
    state = pack_open(code=slot_code(wave, 2), warehouse_id=world["cn"].pk)
    assert state.entry.parcel.lines.first().order.channel_order_id == "W-2"
