"""A day on the floor in a real Chromium the size of a phone, with a keyboard-wedge scanner only (the code typed and
Enter, a key for a command): a supplier's purchase order received (a wrong item, one rejected at QC, more than the
tolerance refused) and put away; a wave released from allocated orders is picked (a wrong bin, a wrong SKU, a quantity
typed, a short pick), sorted on the wall, packed (a wrong item, a weight out of tolerance let go by a supervisor, a
cancelled order caught); a single-item wave goes through the fast lane; the parcels are handed over. What the pages
show and say (colour, words, sound, the next stop, the slot, the label opened) and what the database holds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import Bin, StockLevel
from logistics.models import LabelPrint, Manifest, Shipment
from orders.fulfilment import order_cancel
from orders.models import Order
from purchasing.models import PurchaseOrder
from purchasing.orders import purchase_order_create, purchase_order_submit
from tests.browser.conftest import PASSWORD
from tests.browser.scanner import Scanner
from tests.inventory.factories import ProductFactory
from tests.logistics.parcels import post_account, world_with_product_code
from tests.orders.factories import line_in
from tests.purchasing.factories import SupplierFactory
from tests.warehouse.floor import criteria, floor_make, orders
from warehouse.models import PickTask, ScanEvent, Wave, WaveParcel
from warehouse.picking import pick_bin, pick_item, pick_next, pick_start
from warehouse.sorting import slot_code
from warehouse.waves import wave_create, wave_labels_make, wave_release

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def day():
    """Shenzhen's floor with two waves released and labelled: a multi-item wave (M-1 and M-2: one CASE-A and one
    CABLE-B each; M-3: one CASE-A and two CABLE-B) and a single-item wave (F-1 and F-3: one CASE-A, F-2: one
    CABLE-B); and a product in none of them (LAMP-C)."""
    world = world_with_product_code()
    post = post_account()
    floor_make(world, post)
    ProductFactory(sku="LAMP-C", weight_g=300)
    orders(
        world,
        ("M-1", [line_in("L1", "CASE-A", 1), line_in("L2", "CABLE-B", 1)]),
        ("M-2", [line_in("L1", "CASE-A", 1), line_in("L2", "CABLE-B", 1)]),
        ("M-3", [line_in("L1", "CASE-A", 1), line_in("L2", "CABLE-B", 2)]),
        ("F-1", [line_in("L1", "CASE-A", 1)]),
        ("F-2", [line_in("L1", "CABLE-B", 1)]),
        ("F-3", [line_in("L1", "CASE-A", 1)]),
    )
    waves = {}
    for shape in ("multi_item", "single_item"):
        waves[shape] = wave_release(wave=wave_create(criteria=criteria(world, shape=shape)))
        wave_labels_make(wave=waves[shape])
    # The morning's delivery: a buyer's order of six CASE-A, submitted to the supplier.
    supplier = SupplierFactory(name="Dongguan Cases 东莞壳厂")
    ordered = purchase_order_create(supplier=supplier, warehouse=world["cn"], lines=[(world["a"], 6, Decimal("3.50"))])
    purchase_order = purchase_order_submit(purchase_order=ordered)
    return {
        "world": world,
        "post": post,
        "multi": waves["multi_item"],
        "single": waves["single_item"],
        "purchase_order": purchase_order,
    }


def entry_of(order_id: str) -> WaveParcel:
    return (
        WaveParcel.objects.select_related("parcel")
        .filter(parcel__lines__order__channel_order_id=order_id)
        .distinct()
        .get()
    )


def label_of(order_id: str) -> Shipment:
    return (
        Shipment.objects.filter(parcel__lines__order__channel_order_id=order_id, status="label_ready").distinct().get()
    )


def test_a_day_on_the_floor_from_pick_list_to_hand_over(phone, day, make_user):
    make_user("Picker/packer", username="ming")
    make_user("Warehouse manager", username="boss")
    multi, single = day["multi"], day["single"]
    page = phone
    scanner = Scanner(page)

    page.goto("/scan/")
    page.fill("#id_username", "ming")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # From here on, keys only: the warehouse's code, the menu's numbers, scans, commands' keys.
    with page.expect_navigation():
        page.keyboard.type("CN1")
        page.keyboard.press("Enter")

    def open_page(key: str, path: str) -> None:
        page.goto("/scan/")
        with page.expect_navigation():
            page.keyboard.press(key)
        assert page.url.endswith(path) and scanner.focused() == "scan-input"

    # --- Receive the supplier's delivery: a wrong item, one damaged, more than ordered refused, then put away ----
    po = day["purchase_order"].number
    open_page("1", "/scan/receive/")
    assert scanner.scan(po) == (
        "ok",
        f"Purchase order {po} from Dongguan Cases 东莞壳厂: scan each item, 6 to receive.",
    )
    assert scanner.text("#receive-lines tr[data-sku='CASE-A'] td.count") == "0/6"
    assert scanner.scan("LAMP-C") == ("error", f"LAMP-C is not on purchase order {po}: set it aside.")
    assert scanner.sound() == "error"
    assert scanner.scan("CASE-A", "5") == ("ok", "4 × CASE-A received into RECEIVING: 5 of 6.")
    level, said = scanner.press("F2")  # REJECT: the page asks why
    assert level == "warning" and said.startswith("Why is the next item rejected?")
    assert scanner.press("F6") == ("warning", "The next item scanned is rejected (Damaged): scan it.")
    assert scanner.scan("CASE-A") == ("warning", "1 × CASE-A rejected (Damaged): put it in QUARANTINE. 5 of 6.")
    scanner.press("F2")
    assert scanner.press("Escape") == ("ok", "Go on receiving.")
    assert scanner.scan("2", "CASE-A") == (
        "error",
        f"CASE-A: accepting 2 is more than purchase order {po} allows: ordered 6, received 5, at most 1 more may come "
        "(over-receipt tolerance 0%).",
    )
    assert scanner.sound() == "error"
    assert scanner.scan("CASE-A") == (
        "ok",
        f"1 × CASE-A received into RECEIVING: 6 of 6. Purchase order {po} is received in full.",
    )
    assert scanner.text("#receive-status") == "Received"
    assert PurchaseOrder.objects.get(number=po).status == PurchaseOrder.Status.RECEIVED
    open_page("2", "/scan/put-away/")
    assert scanner.scan("CASE-A") == ("ok", "CASE-A: 6 waiting in RECEIVING. Put it in A-01-01-01.")
    assert scanner.scan("6", "B-01-01-01") == (
        "ok",
        "6 × CASE-A into B-01-01-01 (not the suggested A-01-01-01). Every CASE-A is put away.",
    )
    bulk = Bin.objects.get(warehouse=day["world"]["cn"], code="B-01-01-01")
    assert StockLevel.objects.get(bin=bulk, product=day["world"]["a"]).on_hand == 50 + 6

    # --- Pick the multi-item wave: CABLE-B × 4 at A-01-01-02, then CASE-A × 3 at A-01-01-01 --------------------
    open_page("3", "/scan/pick/")
    assert scanner.text("#pick-offered") == f"{multi.number}, {single.number}"
    assert scanner.scan(multi.number) == ("ok", f"Wave {multi.number} is yours: go to A-01-01-02.")
    assert (scanner.text("#pick-bin"), scanner.text("#pick-sku"), scanner.text("#pick-quantity")) == (
        "A-01-01-02",
        "CABLE-B",
        "4",
    )
    assert (scanner.text("#pick-stops"), scanner.text("#pick-units")) == ("0/2", "0/7")
    assert scanner.scan("A-01-01-01") == ("error", "Wrong bin A-01-01-01: go to A-01-01-02.")
    assert scanner.sound() == "error"
    assert scanner.scan("A-01-01-02") == ("ok", "At A-01-01-02: take 4 × CABLE-B.")
    assert scanner.scan("3") == ("ok", "The next scan of CABLE-B takes 3.")
    assert scanner.scan("CASE-A") == ("error", "Wrong item CASE-A: this stop is CABLE-B.")
    assert scanner.scan("CABLE-B") == ("ok", "3 × CABLE-B picked. 1 to go here.")
    assert scanner.sound() == "ok" and scanner.text("#pick-quantity") == "1"
    assert scanner.scan("CABLE-B") == ("ok", "1 × CABLE-B picked. Next: CASE-A at A-01-01-01.")
    assert scanner.text("#pick-bin") == "A-01-01-01"
    # The item scanned once, then how many in all.
    assert scanner.scan("A-01-01-01", "CASE-A", "2") == ("ok", "1 × CASE-A picked. 1 to go here.")
    assert scanner.text("#pick-units") == "6/7"
    level, said = scanner.press("F2")  # SHORT: the page asks why
    assert level == "warning" and said.startswith("Why is CASE-A at A-01-01-01 short?")
    assert scanner.focused() == "scan-input"
    assert scanner.press("F6") == (
        "warning",
        f"1 × CASE-A reported short. Wave {multi.number} is picked: take the cart to packing.",
    )
    assert scanner.text("#pick-done") == f"Wave {multi.number} is picked: take the cart to packing."
    assert scanner.text("#pick-offered") == single.number
    assert PickTask.objects.get(wave=multi, product=day["world"]["a"]).short_reason == "Bin empty"
    assert Wave.objects.get(pk=multi.pk).status == Wave.Status.PICKED
    assert entry_of("M-3").status == WaveParcel.Status.SHORT

    # The buyer of M-2 cancels after picking: its parcel is picked, its label voided.
    order_cancel(order=Order.objects.get(channel_order_id="M-2"), reason="buyer asked")

    # --- Sort the wave: M-1 in slot 1, M-2 in slot 2; M-3 is short, so its CABLE-B are not needed --------------
    open_page("4", "/scan/sort/")
    assert scanner.scan(multi.number) == ("ok", f"Wave {multi.number}: scan each item from the cart.")
    assert scanner.scan("CASE-A") == ("ok", "CASE-A → slot 1.")
    assert scanner.text("#sort-slot") == "1"
    assert scanner.scan("CASE-A") == ("ok", "CASE-A → slot 2.")
    assert scanner.scan("CABLE-B") == ("warning", "Slot 1 is complete: ready to pack.")
    assert scanner.sound() == "warning" and scanner.text("#sort-slot") == "1"
    assert scanner.scan("CABLE-B") == ("warning", "Slot 2 is complete: ready to pack.")
    assert scanner.scan("CABLE-B") == (
        "error",
        f"No parcel of wave {multi.number} needs another CABLE-B: put it aside for a supervisor.",
    )
    assert scanner.sound() == "error" and page.locator("#sort-slot").count() == 0
    assert scanner.text("#sort-ready") == "1, 2"

    # --- Pack slot 1 (M-1): a wrong item, then a weight out of tolerance let go by a supervisor ----------------
    open_page("5", "/scan/pack/")
    m1 = entry_of("M-1").parcel.number
    assert scanner.scan(slot_code(multi, 1)) == ("ok", f"Parcel {m1}: scan its 2 items.")
    assert scanner.scan("LAMP-C") == ("error", "LAMP-C is not in this parcel: take it out.")
    assert scanner.scan("CASE-A") == ("ok", "CASE-A in: 1 of 2.")
    assert scanner.scan("CABLE-B") == ("ok", "CABLE-B in. All 2 items are in: weigh the parcel.")
    # 200 g + 100 g + 20 g of packaging = 320 g, ± 32 g.
    assert scanner.scan("500") == (
        "error",
        "500 g is out of tolerance: expected 320 g ± 32 g. Check the parcel and weigh it again, or a supervisor lets "
        "it go (F4).",
    )
    assert Order.objects.get(channel_order_id="M-1").status == Order.Status.PICKING
    page.keyboard.press("F4")
    assert scanner.focused() == "override-username"
    page.keyboard.type("boss")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    page.keyboard.type("padded box for the cable")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    m1_label = label_of("M-1")
    assert scanner.banner() == (
        "ok",
        f"boss let it go at 500 g (expected 320 g ± 32 g). Label {m1_label.tracking_number} printing.",
    )
    assert scanner.focused() == "scan-input"
    label_url = f"/api/v1/shipments/{m1_label.pk}/label/"
    assert page.get_attribute("#label-link", "href") == label_url
    assert page.get_attribute("body", "data-label") == label_url  # opened to print
    assert Order.objects.get(channel_order_id="M-1").status == Order.Status.PACKED

    # The cancelled order is caught; the short parcel is not packed.
    assert scanner.scan("M-2") == (
        "error",
        "Order M-2 was cancelled: do not pack it. Put its items in the put-back tray.",
    )
    assert scanner.sound() == "error"
    level, said = scanner.scan(slot_code(multi, 3))
    assert level == "error" and said.startswith(f"Parcel {entry_of('M-3').parcel.number} is short")

    # --- The single-item wave through the fast lane (picked by the services meanwhile) ------------------------
    pick_start(wave=single)
    while (task := pick_next(single)) is not None:
        pick_bin(wave=single, task_id=task.pk, code=task.bin.code)
        pick_item(wave=single, task_id=task.pk, code=task.product.sku, quantity=task.quantity)
    open_page("6", "/scan/fast-lane/")
    assert scanner.scan(single.number) == ("ok", f"Wave {single.number}: scan each item, its label prints.")
    assert scanner.text("#fast-waiting") == "3"
    for sku, order_id in (("CASE-A", "F-1"), ("CABLE-B", "F-2"), ("CASE-A", "F-3")):
        label = label_of(order_id)
        assert scanner.scan(sku) == (
            "ok",
            f"{sku} packed into {entry_of(order_id).parcel.number} (order {order_id}). Label "
            f"{label.tracking_number} printing.",
        )
        assert page.get_attribute("#label-link", "href") == f"/api/v1/shipments/{label.pk}/label/"
        page.wait_for_function(f"document.body.dataset.label === '/api/v1/shipments/{label.pk}/label/'")
    assert scanner.scan("CASE-A") == ("error", f"No picked single-item parcel of CASE-A waits in wave {single.number}.")
    assert scanner.text("#fast-packed") == "3"

    # --- Hand the parcels over ---------------------------------------------------------------------------------
    page.goto("/scan/")
    with page.expect_navigation():
        page.keyboard.press("7")
    assert page.url.endswith("/scan/hand-over/carrier/")
    # The page focuses the carrier (one account: chosen) when it has loaded; a scanner's keys wait for that.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'id_account'")
    page.keyboard.press("Tab")  # from the carrier to the pickup
    page.keyboard.type("afternoon van")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/scan/hand-over/"), page.url
    manifest = Manifest.objects.get(status="open")
    shipped = ["M-1", "F-1", "F-2", "F-3"]
    for count, order_id in enumerate(shipped, start=1):
        tracking = label_of(order_id).tracking_number
        assert scanner.scan(tracking) == (
            "ok",
            f"{tracking} into {manifest.number}: {count} parcel{'s' * (count > 1)}.",
        )
    voided = Shipment.objects.filter(parcel__lines__order__channel_order_id="M-2").distinct().get().tracking_number
    assert scanner.scan(voided)[0] == "error"
    assert scanner.press("F2") == ("ok", f"Manifest {manifest.number} handed over: 4 parcels.")

    # --- What the database holds ---------------------------------------------------------------------------------
    statuses = dict(Order.objects.values_list("channel_order_id", "status"))
    assert statuses == {
        "M-1": "shipped",
        "M-2": "cancelled",
        "M-3": "picking",
        "F-1": "shipped",
        "F-2": "shipped",
        "F-3": "shipped",
    }
    # The multi-item cart keeps M-2's units (to put back) and M-3's two CABLE-B (short: a supervisor's); the
    # single-item cart is empty.
    cart = StockLevel.objects.filter(bin=Wave.objects.get(pk=multi.pk).cart_bin, on_hand__gt=0)
    assert sorted(cart.values_list("product__sku", "on_hand")) == [("CABLE-B", 3), ("CASE-A", 1)]
    assert not StockLevel.objects.filter(bin=Wave.objects.get(pk=single.pk).cart_bin, on_hand__gt=0).exists()
    assert LabelPrint.objects.filter(user__username="ming").count() >= 4  # each label opened as it was made
    recorded = {
        step: list(ScanEvent.objects.filter(step=step).order_by("pk").values_list("code", "ok", "error_code"))
        for step in ("pick", "sort", "pack", "fast_lane")
    }
    assert recorded["pick"] == [
        (multi.number, True, ""),
        ("A-01-01-01", False, "wrong_bin"),
        ("A-01-01-02", True, ""),
        ("3", True, ""),
        ("CASE-A", False, "wrong_item"),
        ("CABLE-B", True, ""),
        ("CABLE-B", True, ""),
        ("A-01-01-01", True, ""),
        ("CASE-A", True, ""),
        ("2", True, ""),
        ("SHORT", True, ""),
        ("SHORT:EMPTY", True, ""),
    ]
    assert (
        sum(ScanEvent.objects.filter(step="pick", ok=True).values_list("quantity", flat=True).exclude(quantity=None))
        == 6
    )
    assert recorded["sort"] == [
        (multi.number, True, ""),
        ("CASE-A", True, ""),
        ("CASE-A", True, ""),
        ("CABLE-B", True, ""),
        ("CABLE-B", True, ""),
        ("CABLE-B", False, "not_needed"),
    ]
    assert recorded["pack"] == [
        (slot_code(multi, 1), True, ""),
        ("LAMP-C", False, "wrong_item"),
        ("CASE-A", True, ""),
        ("CABLE-B", True, ""),
        ("500", False, "weight_out_of_tolerance"),
        ("OVERRIDE", True, ""),
        ("M-2", False, "order_cancelled"),
        (slot_code(multi, 3), False, "parcel_short"),
    ]
    assert recorded["fast_lane"] == [
        (single.number, True, ""),
        ("CASE-A", True, ""),
        ("CABLE-B", True, ""),
        ("CASE-A", True, ""),
        ("CASE-A", False, "nothing_waiting"),
    ]
    assert set(ScanEvent.objects.values_list("user__username", flat=True)) == {"ming"}
