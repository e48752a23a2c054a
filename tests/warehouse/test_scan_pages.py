"""The pick, sort, pack and fast-lane scan pages through the test client: each page's flow with accepted and refused
scans and the scans recorded; the picker's quantity entry and short picks with a reason; the weight out of
tolerance and a supervisor's override; the label opened to print or asked for again; who may use which page."""

from __future__ import annotations

import pytest
from django.test import Client

from core.roles import ROLES
from inventory.count_services import stock_count_open
from inventory.models import StockCount
from logistics.models import LabelPrint, Shipment
from orders.fulfilment import order_cancel
from orders.models import Order
from tests.orders.factories import line_in
from tests.warehouse.floor import criteria, orders
from warehouse.models import PackCheck, PickTask, ScanEvent, Wave, WaveParcel
from warehouse.picking import pick_bin, pick_item, pick_next, pick_start
from warehouse.scan.pages import FLOOR_PAGES, floor_pages_for
from warehouse.waves import wave_assign, wave_create, wave_labels_make, wave_release

pytestmark = pytest.mark.django_db
PASSWORD = "test-pass-123"  # make_user's
JSON = {"HTTP_ACCEPT": "application/json"}


def released(world, *, labels: bool = True, **kwargs) -> Wave:
    wave = wave_release(wave=wave_create(criteria=criteria(world, **kwargs)))
    if labels:
        wave_labels_make(wave=wave)
    return wave


def pick_all(wave: Wave) -> None:
    pick_start(wave=wave)
    while (task := pick_next(wave)) is not None:
        pick_bin(wave=wave, task_id=task.pk, code=task.bin.code)
        pick_item(wave=wave, task_id=task.pk, code=task.product.sku, quantity=task.quantity)


def floor_client(username: str) -> Client:
    """A phone logged in as ``username``, working in Shenzhen."""
    client = Client()
    response = client.post("/scan/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    client.post("/scan/warehouse/", {"code": "CN1"})
    return client


class Page:
    """One scan page, scanned as the page's script does it: the code posted, the JSON answer read."""

    def __init__(self, client: Client, url: str):
        self.client, self.url = client, url

    def scan(self, code: str) -> dict:
        response = self.client.post(self.url, {"code": code}, **JSON)
        assert response.status_code == 200, response.content.decode()[:500]
        return response.json()

    def said(self, code: str) -> tuple[str, str, str]:
        answer = self.scan(code)
        return answer["level"], answer["message"], answer["code"]


def events(step: str) -> list[tuple]:
    return list(
        ScanEvent.objects.filter(step=step)
        .order_by("pk")
        .values_list("code", "ok", "error_code", "quantity", "reference", "wave__number")
    )


@pytest.fixture
def picker(make_user):
    return make_user("Picker/packer", username="ming")


@pytest.fixture
def supervisor(make_user):
    return make_user("Warehouse manager", username="boss")


# --- pick ----------------------------------------------------------------------------------------------------------


def test_picking_a_wave_bin_by_bin_with_quantities_entered_and_a_short_pick(world, floor, picker):
    # Stops: CABLE-B × 4 at A-01-01-02 (P-1 1, P-2 3), then CASE-A × 3 at A-01-01-01 (P-1 2, P-3 1).
    orders(
        world,
        ("P-1", [line_in("L1", "CASE-A", 2), line_in("L2", "CABLE-B", 1)]),
        ("P-2", [line_in("L1", "CABLE-B", 3)]),
        ("P-3", [line_in("L1", "CASE-A", 1)]),
    )
    wave = released(world, labels=False)
    n = wave.number
    page = Page(floor_client("ming"), "/scan/pick/")

    opened = page.client.get("/scan/pick/").content.decode()
    assert f'<span id="pick-offered">{n}</span>' in opened and 'data-key="F2"' in opened
    assert page.said("A-01-01-02") == ("error", "No wave A-01-01-02 in this warehouse.", "unknown_wave")

    taken = page.scan(n.lower())
    assert (taken["level"], taken["message"]) == ("ok", f"Wave {n} is yours: go to A-01-01-02.")
    state = taken["state"]
    assert '<span class="big" id="pick-bin">A-01-01-02</span>' in state
    assert '<span id="pick-sku">CABLE-B</span> × <span id="pick-quantity">4</span>' in state
    assert f'<div class="name" id="pick-name">{world["b"].name}</div>' in state
    assert '<span class="value" id="pick-stops">0/2</span>' in state
    assert '<span class="value" id="pick-units">0/7</span>' in state
    wave.refresh_from_db()
    assert (wave.status, wave.picker) == (Wave.Status.PICKING, picker)

    assert page.said("CABLE-B") == ("error", "Scan the bin A-01-01-02 first, then the items.", "bin_first")
    assert page.said("3") == ("error", "Scan the bin A-01-01-02 first, then the quantity.", "bin_first")
    assert page.said("A-01-01-01") == ("error", "Wrong bin A-01-01-01: go to A-01-01-02.", "wrong_bin")
    at_bin = page.scan("a-01-01-02")
    assert at_bin["message"] == "At A-01-01-02: take 4 × CABLE-B."
    assert "At the bin ✓" in at_bin["state"]

    # A number after the bin: the next item scan takes that many; a wrong item does not use it up.
    prefix = page.scan("2")
    assert (prefix["level"], prefix["message"]) == ("ok", "The next scan of CABLE-B takes 2.")
    assert '<p class="note" id="pick-taking">The next item scan takes 2.</p>' in prefix["state"]
    assert page.said("CASE-A") == ("error", "Wrong item CASE-A: this stop is CABLE-B.", "wrong_item")
    assert page.said("CABLE-B") == ("ok", "2 × CABLE-B picked. 2 to go here.", "")
    assert page.said("CABLE-B") == ("ok", "1 × CABLE-B picked. 1 to go here.", "")
    # A number right after an item scan: how many that scan was in all (2: one more).
    assert page.said("2") == ("ok", "1 × CABLE-B picked. Next: CASE-A at A-01-01-01.", "")
    assert page.said("0") == ("error", "Scan the bin A-01-01-01 first, then the quantity.", "bin_first")

    page.scan("A-01-01-01")
    assert page.said("CASE-A") == ("ok", "1 × CASE-A picked. 2 to go here.", "")
    assert page.said("5") == ("error", "Only 2 left to pick here, not 4.", "too_many")
    assert page.said("0") == ("error", "Enter a quantity of 1 or more.", "invalid_quantity")

    # SHORT asks why; the words typed are the reason; the wave is then picked.
    asked = page.scan("short")
    assert (asked["level"], asked["message"]) == (
        "warning",
        "Why is CASE-A at A-01-01-01 short? Scan or press a reason, or type it and Enter; Esc goes on picking.",
    )
    assert 'value="SHORT:EMPTY" data-key="F6"' in asked["state"] and 'data-key="Escape"' in asked["state"]
    short = page.scan("only one left in the bin")
    assert (short["level"], short["message"]) == (
        "warning",
        f"2 × CASE-A reported short. Wave {n} is picked: take the cart to packing.",
    )
    assert f"Wave {n} is picked: take the cart to packing." in short["state"]
    assert PickTask.objects.get(wave=wave, product=world["a"]).short_reason == "only one left in the bin"
    wave.refresh_from_db()
    assert wave.status == Wave.Status.PICKED
    statuses = dict(wave.parcels.values_list("parcel__lines__order__channel_order_id", "status"))
    assert statuses == {"P-1": "short", "P-2": "picked", "P-3": "short"}
    assert page.said("CASE-A") == ("error", f"Wave {n} is picked: scan the next wave, or NEXT.", "wave_picked")

    assert events("pick") == [
        ("A-01-01-02", False, "unknown_wave", None, "", None),
        (n.lower(), True, "", None, n, n),
        ("CABLE-B", False, "bin_first", None, n, n),
        ("3", False, "bin_first", None, n, n),
        ("A-01-01-01", False, "wrong_bin", None, n, n),
        ("a-01-01-02", True, "", None, n, n),
        ("2", True, "", None, n, n),
        ("CASE-A", False, "wrong_item", None, n, n),
        ("CABLE-B", True, "", 2, n, n),
        ("CABLE-B", True, "", 1, n, n),
        ("2", True, "", 1, n, n),
        ("0", False, "bin_first", None, n, n),
        ("A-01-01-01", True, "", None, n, n),
        ("CASE-A", True, "", 1, n, n),
        ("5", False, "too_many", None, n, n),
        ("0", False, "invalid_quantity", None, n, n),
        ("short", True, "", None, n, n),
        ("only one left in the bin", True, "", None, n, n),
        ("CASE-A", False, "wave_picked", None, n, n),
    ]
    assert set(ScanEvent.objects.values_list("user__username", "warehouse__code")) == {("ming", "CN1")}


def test_reason_cards_cancel_and_the_next_wave(world, floor, picker, make_user):
    orders(world, ("R-1", [line_in("L1", "CASE-A", 2)]), ("R-2", [line_in("L1", "CABLE-B", 1)]))
    first = released(world, labels=False, max_parcels=1)
    second = released(world, labels=False, max_parcels=1)
    page = Page(floor_client("ming"), "/scan/pick/")

    page.scan(first.number)
    page.scan("A-01-01-01")
    asked = page.scan("SHORT")
    assert asked["level"] == "warning"
    cancelled = page.scan("CANCEL")  # Esc: no, go on picking
    assert (cancelled["level"], cancelled["message"]) == ("ok", "Go on picking.")
    assert "SHORT:EMPTY" not in cancelled["state"]
    # The item, then 2 in all: the stop and the wave are picked; the next wave is offered.
    assert page.said("CASE-A")[1] == "1 × CASE-A picked. 1 to go here."
    done = page.scan("2")
    assert done["message"] == f"1 × CASE-A picked. Wave {first.number} is picked: take the cart to packing."
    assert f'<span id="pick-offered">{second.number}</span>' in done["state"]
    assert 'value="NEXT" data-key="F3"' in done["state"]

    following = page.scan("NEXT")
    assert following["message"] == f"Wave {second.number} is yours: go to A-01-01-02."
    # A reason card works without asking first.
    carded = page.scan("SHORT:DAMAGED")
    assert carded["message"] == f"1 × CABLE-B reported short. Wave {second.number} is picked: take the cart to packing."
    assert PickTask.objects.get(wave=second).short_reason == "Damaged"
    assert page.said("NEXT") == ("error", "No wave waits to be picked here.", "no_wave")

    # Someone else's wave is not taken.
    orders(world, ("R-3", [line_in("L1", "CASE-A", 1)]))
    theirs = released(world, labels=False)
    pick_start(wave=theirs, user=make_user("Picker/packer", username="lan"))
    level, message, code = page.said(theirs.number)
    assert (level, message, code) == ("error", f"Wave {theirs.number} is assigned to lan.", "wave_assigned")
    assert [(code, ok, quantity) for code, ok, _error, quantity, _reference, _wave in events("pick")] == [
        (first.number, True, None),
        ("A-01-01-01", True, None),
        ("SHORT", True, None),
        ("CANCEL", True, None),
        ("CASE-A", True, 1),
        ("2", True, 1),
        ("NEXT", True, None),
        ("SHORT:DAMAGED", True, None),
        ("NEXT", False, None),
        (theirs.number, False, None),
    ]


# --- sort ----------------------------------------------------------------------------------------------------------


def test_sorting_a_wave_slot_by_slot_with_complete_slots_announced(world, floor, picker):
    orders(
        world,
        ("W-1", [line_in("L1", "CASE-A", 1), line_in("L2", "CABLE-B", 1)]),
        ("W-2", [line_in("L1", "CASE-A", 1), line_in("L2", "CABLE-B", 1)]),
    )
    wave = released(world, shape="multi_item", labels=False)
    n = wave.number
    first, second = (entry.parcel.number for entry in wave.parcels.select_related("parcel").order_by("position"))
    page = Page(floor_client("ming"), "/scan/sort/")

    assert page.said("CASE-A") == ("error", "No wave CASE-A in this warehouse.", "unknown_wave")
    assert page.said(n) == ("error", f"Wave {n} is Released: nothing to sort.", "wave_not_sortable")
    pick_all(wave)
    assert page.said(n) == ("ok", f"Wave {n}: scan each item from the cart.", "")

    one = page.scan("CASE-A")
    assert (one["level"], one["message"]) == ("ok", "CASE-A → slot 1.")
    assert '<span class="huge" id="sort-slot">1</span>' in one["state"]
    assert '<span class="value" id="sort-units">1/4</span>' in one["state"]
    assert page.said("CASE-A") == ("ok", "CASE-A → slot 2.", "")
    complete = page.scan("CABLE-B")
    assert (complete["level"], complete["message"]) == ("warning", "Slot 1 is complete: ready to pack.")
    assert "Slot complete: ready to pack" in complete["state"]
    assert '<span id="sort-ready">1</span>' in complete["state"]
    assert page.said("CABLE-B") == ("warning", "Slot 2 is complete: ready to pack.", "")
    extra = page.scan("CABLE-B")
    assert (extra["level"], extra["code"]) == ("error", "not_needed")
    assert extra["message"] == f"No parcel of wave {n} needs another CABLE-B: put it aside for a supervisor."
    assert 'id="sort-slot"' not in extra["state"]  # no slot to put a refused item in
    assert '<span id="sort-ready">1, 2</span>' in extra["state"]

    assert events("sort") == [
        ("CASE-A", False, "unknown_wave", None, "", None),
        (n, False, "wave_not_sortable", None, "", None),
        (n, True, "", None, n, n),
        ("CASE-A", True, "", 1, first, n),
        ("CASE-A", True, "", 1, second, n),
        ("CABLE-B", True, "", 1, first, n),
        ("CABLE-B", True, "", 1, second, n),
        ("CABLE-B", False, "not_needed", None, n, n),
    ]


# --- pack ----------------------------------------------------------------------------------------------------------


def test_packing_checks_items_and_weight_and_a_supervisor_lets_one_go(world, floor, picker, supervisor, make_user):
    orders(
        world,
        ("K-1", [line_in("L1", "CASE-A", 2)]),
        ("K-2", [line_in("L1", "CABLE-B", 1)]),
        ("X-1", [line_in("L1", "CASE-A", 1)]),
    )
    wave = released(world)
    pick_all(wave)
    order_cancel(order=Order.objects.get(channel_order_id="X-1"), reason="buyer asked")
    parcel = {
        order_id: WaveParcel.objects.select_related("parcel").get(parcel__lines__order__channel_order_id=order_id)
        for order_id in ("K-1", "K-2", "X-1")
    }
    k1, k2, x1 = (parcel[name].parcel.number for name in ("K-1", "K-2", "X-1"))
    n = wave.number
    page = Page(floor_client("ming"), "/scan/pack/")

    assert page.said("X-1") == (
        "error",
        "Order X-1 was cancelled: do not pack it. Put its items in the put-back tray.",
        "order_cancelled",
    )
    opened = page.scan("K-1")
    assert (opened["level"], opened["message"]) == ("ok", f"Parcel {k1}: scan its 2 items.")
    assert f'<span class="big" id="pack-number">{k1}</span>' in opened["state"]
    assert '<td class="count">0/2</td>' in opened["state"]
    assert page.said("CABLE-B") == ("error", "CABLE-B is not in this parcel: take it out.", "wrong_item")
    assert page.said("NOT-A-THING") == ("error", "NOT-A-THING is not in this parcel: take it out.", "wrong_item")
    assert page.said("420") == ("error", "Scan every item before weighing.", "not_complete")
    assert page.said("CASE-A") == ("ok", "CASE-A in: 1 of 2.", "")
    complete = page.scan("case-a")
    assert complete["message"] == "CASE-A in. All 2 items are in: weigh the parcel."
    assert "Every item is in: weigh the parcel." in complete["state"]
    assert page.said("CASE-A") == ("error", "One CASE-A too many: the parcel takes 2.", "extra_item")

    # 2 × 200 g + 20 g of packaging = 420 g, ± 42 g; the scale's barcode W0445 is 445 g.
    shipment = Shipment.objects.get(parcel=parcel["K-1"].parcel)
    packed = page.scan("W0445")
    assert (packed["level"], packed["message"]) == (
        "ok",
        f"Packed at 445 g (expected 420 g). Label {shipment.tracking_number} printing.",
    )
    label = f"/api/v1/shipments/{shipment.pk}/label/"
    assert f'id="label-link" href="{label}" target="_blank" rel="noopener" data-label-open>' in packed["state"]
    assert Order.objects.get(channel_order_id="K-1").status == Order.Status.PACKED
    assert Shipment.objects.get(pk=shipment.pk).actual_weight_g == 445
    # The label opens with the packer's login: a PDF, its print logged.
    printed = page.client.get(label)
    assert (printed.status_code, printed["Content-Type"]) == (200, "application/pdf")
    assert list(LabelPrint.objects.values_list("shipment", "user__username")) == [(shipment.pk, "ming")]
    # Shown again (the next page load), it is a link, no longer opened by itself.
    assert 'rel="noopener" data-label-open' not in page.client.get("/scan/pack/").content.decode()

    page.scan(parcel["K-2"].parcel.number)
    page.scan("CABLE-B")
    heavy = page.scan("300g")  # 100 g + 20 g = 120 g, ± 30 g
    assert (heavy["level"], heavy["code"]) == ("error", "weight_out_of_tolerance")
    assert heavy["message"] == (
        "300 g is out of tolerance: expected 120 g ± 30 g. Check the parcel and weigh it again, or a supervisor lets "
        "it go (F4)."
    )
    assert 'id="override-form"' in heavy["state"] and "Weighed 300 g; expected 120 g ± 30 g." in heavy["state"]
    check = PackCheck.objects.get(wave_parcel=parcel["K-2"])
    assert (check.expected_g, check.weighed_g, check.tolerance_g, check.within) == (120, 300, 30, False)
    assert Order.objects.get(channel_order_id="K-2").status == Order.Status.PICKING

    shown = {}

    def override(username: str, password: str, reason: str = "padded box") -> dict:
        response = page.client.post(
            "/scan/pack/override/", {"username": username, "password": password, "reason": reason}
        )
        assert response["Location"] == "/scan/pack/"
        back = page.client.get("/scan/pack/")
        shown["page"] = back.content.decode()
        return back.context["answer"]

    refused = override("ming", PASSWORD)  # a packer is no supervisor
    assert (refused["code"], refused["message"]) == (
        "not_supervisor",
        "Only a supervisor can let a parcel go out of tolerance.",
    )
    assert override("boss", "not-the-password")["code"] == "supervisor_login_failed"
    assert override("boss", PASSWORD, reason="")["code"] == "override_incomplete"
    let_go = override("boss", PASSWORD)
    shipment = Shipment.objects.get(parcel=parcel["K-2"].parcel)
    assert (let_go["level"], let_go["message"]) == (
        "ok",
        f"boss let it go at 300 g (expected 120 g ± 30 g). Label {shipment.tracking_number} printing.",
    )
    check.refresh_from_db()
    assert (check.override_by, check.override_reason) == (supervisor, "padded box")
    assert Order.objects.get(channel_order_id="K-2").status == Order.Status.PACKED
    # The page the override leads back to opens the label; the one after shows its link.
    label = f'href="/api/v1/shipments/{shipment.pk}/label/" target="_blank" rel="noopener"'
    assert f"{label} data-label-open>" in shown["page"]
    assert f"{label}>" in page.client.get("/scan/pack/").content.decode()
    assert override("boss", PASSWORD)["code"] == "nothing_to_override"

    assert events("pack") == [
        ("X-1", False, "order_cancelled", None, "", None),
        ("K-1", True, "", None, k1, n),
        ("CABLE-B", False, "wrong_item", None, k1, n),
        ("NOT-A-THING", False, "wrong_item", None, k1, n),
        ("420", False, "not_complete", None, k1, n),
        ("CASE-A", True, "", 1, k1, n),
        ("case-a", True, "", 1, k1, n),
        ("CASE-A", False, "extra_item", None, k1, n),
        ("W0445", True, "", None, k1, n),
        (k2, True, "", None, k2, n),
        ("CABLE-B", True, "", 1, k2, n),
        ("300g", False, "weight_out_of_tolerance", None, k2, n),
        ("OVERRIDE", False, "not_supervisor", None, k2, n),
        ("OVERRIDE", False, "supervisor_login_failed", None, k2, n),
        ("OVERRIDE", False, "override_incomplete", None, k2, n),
        ("OVERRIDE", True, "", None, k2, n),
        ("OVERRIDE", False, "nothing_to_override", None, "", None),
    ]
    assert x1 not in {reference for *_rest, reference, _wave in events("pack")}
    assert not ScanEvent.objects.filter(code__icontains=PASSWORD).exists()
    assert not ScanEvent.objects.filter(message__icontains=PASSWORD).exists()


def test_a_label_not_ready_is_announced_and_asked_for_again(world, floor, picker):
    orders(world, ("L-1", [line_in("L1", "CABLE-B", 1)]))
    wave = released(world, labels=False)  # the carrier has not answered yet: no shipment
    pick_all(wave)
    page = Page(floor_client("ming"), "/scan/pack/")
    assert page.said("LABEL") == ("error", "Nothing was packed here yet: no label to print.", "nothing_packed")
    page.scan("L-1")
    page.scan("CABLE-B")
    entry = wave.parcels.select_related("parcel").get()
    waiting = page.scan("120")
    assert (waiting["level"], waiting["message"]) == (
        "warning",
        "Packed at 120 g (expected 120 g). Its label is not ready yet (the carrier is slow): put it aside; LABEL "
        "(F3) asks again.",
    )
    assert 'id="label-waiting"' in waiting["state"] and 'value="LABEL" data-key="F3"' in waiting["state"]
    asked = page.scan("label")
    shipment = Shipment.objects.get(parcel=entry.parcel)
    assert (asked["level"], asked["message"]) == (
        "ok",
        f"Parcel {entry.parcel.number}. Label {shipment.tracking_number} printing.",
    )
    assert (
        f'href="/api/v1/shipments/{shipment.pk}/label/" target="_blank" rel="noopener" data-label-open'
        in (asked["state"])
    )
    # Cancelled after packing: its label (voided once the cancel commits) neither prints nor is made again.
    order_cancel(order=Order.objects.get(channel_order_id="L-1"), reason="buyer asked")
    refused = page.scan("LABEL")
    assert (refused["level"], refused["code"], refused["message"]) == (
        "error",
        "order_cancelled",
        "Order L-1 was cancelled: its label must not print. Unpack the parcel into the put-back tray.",
    )
    assert 'id="label-link"' not in refused["state"]
    assert Shipment.objects.filter(parcel=entry.parcel).count() == 1
    assert [(code, ok, error) for code, ok, error, *_rest in events("pack")][-3:] == [
        ("120", True, ""),
        ("label", True, ""),
        ("LABEL", False, "order_cancelled"),
    ]


def test_an_order_cancelled_while_its_parcel_is_packed_is_caught_at_the_weighing(world, floor, picker):
    orders(world, ("C-1", [line_in("L1", "CABLE-B", 1)]))
    wave = released(world)
    pick_all(wave)
    page = Page(floor_client("ming"), "/scan/pack/")
    page.scan("C-1")
    page.scan("CABLE-B")
    order_cancel(order=Order.objects.get(channel_order_id="C-1"), reason="buyer asked")
    assert page.said("120") == (
        "error",
        "Order C-1 was cancelled: do not pack it. Put its items in the put-back tray.",
        "order_cancelled",
    )
    assert not PackCheck.objects.exists() and wave.parcels.get().status == WaveParcel.Status.PICKED
    assert 'id="pack-parcel"' not in page.client.get("/scan/pack/").content.decode()  # no parcel open any more


def test_a_wave_given_to_someone_else_is_no_longer_picked_here(world, floor, picker, make_user):
    orders(world, ("G-1", [line_in("L1", "CASE-A", 2)]))
    wave = released(world, labels=False)
    page = Page(floor_client("ming"), "/scan/pick/")
    page.scan(wave.number)
    page.scan("A-01-01-01")
    wave_assign(wave=wave, picker=make_user("Picker/packer", username="lan"))
    assert page.said("CASE-A") == ("error", f"Wave {wave.number} is assigned to lan.", "wave_assigned")
    assert PickTask.objects.get(wave=wave).picked == 0


# --- fast lane -----------------------------------------------------------------------------------------------------


def test_the_fast_lane_packs_the_oldest_single_item_parcel_and_opens_its_label(world, floor, picker):
    orders(world, *[(f"FL-{n}", [line_in("L1", "CASE-A", 1)]) for n in range(3)])
    wave = released(world, shape="single_item")
    page = Page(floor_client("ming"), "/scan/fast-lane/")
    n = wave.number
    assert page.said(n) == ("error", f"Wave {n} is Released: nothing to pack.", "wave_not_packable")
    pick_all(wave)
    order_cancel(order=Order.objects.get(channel_order_id="FL-0"), reason="buyer asked")
    taken = page.scan(n)
    assert (taken["level"], taken["message"]) == ("ok", f"Wave {n}: scan each item, its label prints.")
    assert '<span class="value" id="fast-waiting">2</span>' in taken["state"]  # FL-0's label was voided

    parcels = {
        entry.parcel.lines.get().order.channel_order_id: entry.parcel for entry in wave.parcels.select_related("parcel")
    }
    labels = {
        order_id: Shipment.objects.get(parcel=parcel, status="label_ready")
        for order_id, parcel in parcels.items()
        if order_id != "FL-0"
    }
    first = page.scan("CASE-A")
    assert (first["level"], first["message"]) == (
        "ok",
        f"CASE-A packed into {parcels['FL-1'].number} (order FL-1). Label {labels['FL-1'].tracking_number} printing.",
    )
    assert (
        f'href="/api/v1/shipments/{labels["FL-1"].pk}/label/" target="_blank" rel="noopener" data-label-open'
        in (first["state"])
    )
    second = page.scan("case-a")
    assert f'href="/api/v1/shipments/{labels["FL-2"].pk}/label/"' in second["state"]
    assert '<span class="value" id="fast-packed">2</span>' in second["state"]
    assert page.said("CASE-A") == (
        "error",
        f"No picked single-item parcel of CASE-A waits in wave {n}.",
        "nothing_waiting",
    )
    assert page.said("NOPE") == ("error", "No product has the code NOPE.", "unknown_product")
    again = page.scan("LABEL")
    assert again["message"] == f"Parcel {parcels['FL-2'].number}. Label {labels['FL-2'].tracking_number} printing."
    assert list(
        Order.objects.filter(channel_order_id__startswith="FL-")
        .order_by("channel_order_id")
        .values_list("status", flat=True)
    ) == ["cancelled", "packed", "packed"]

    fl1, fl2 = parcels["FL-1"].number, parcels["FL-2"].number
    assert events("fast_lane") == [
        (n, False, "wave_not_packable", None, "", None),
        (n, True, "", None, n, n),
        ("CASE-A", True, "", 1, fl1, n),
        ("case-a", True, "", 1, fl2, n),
        ("CASE-A", False, "nothing_waiting", None, n, n),
        ("NOPE", False, "unknown_product", None, n, n),
        ("LABEL", True, "", None, fl2, n),
    ]


# --- who may use which page ----------------------------------------------------------------------------------------


def test_the_picker_packer_role_has_what_the_pages_need_and_a_manager_overrides(roles):
    picker = {f"{p.content_type.app_label}.{p.codename}" for p in roles["Picker/packer"].permissions.all()}
    assert {
        "warehouse.add_scanevent",
        "warehouse.change_picktask",
        "warehouse.change_waveparcel",
        "warehouse.add_packcheck",
        "logistics.view_shipment",
    } <= picker
    assert "warehouse.change_packcheck" not in picker and "warehouse.change_packcheck" not in ROLES["Picker/packer"]
    # The scan log, everyone's productivity and the floor settings are the manager's.
    assert not {"warehouse.view_scanevent", "warehouse.change_floorsettings", "warehouse.view_floorsettings"} & picker
    assert roles["Warehouse manager"].permissions.filter(codename="change_packcheck").exists()
    assert roles["Warehouse manager"].permissions.filter(codename="view_scanevent").exists()


def test_the_picker_packer_role_has_what_the_pages_need(roles, make_user, api_client_for, world, floor):
    """Every floor page's permissions, through the scan pages and the API; not a manager's stock rights: adjusting
    stock, opening, approving or cancelling a count."""
    picker = {f"{p.content_type.app_label}.{p.codename}" for p in roles["Picker/packer"].permissions.all()}
    for page in FLOOR_PAGES:
        assert set(page.permissions) <= picker, page.step
    assert {
        "inventory.change_transfer",
        "inventory.add_stockmove",
        "inventory.change_stockcountline",
        "purchasing.add_receipt",
    } <= picker
    assert (
        not {
            # A purchase order's costs and its freight are the buyer's.
            "purchasing.view_purchaseorder",
            "purchasing.change_receipt",
            "inventory.change_stocklevel",
            "inventory.add_stockcount",
            "inventory.change_stockcount",
            "inventory.delete_stockcount",
        }
        & picker
    )
    ming = make_user("Picker/packer", username="ming")
    assert [page.step for page in floor_pages_for(ming)] == list(ScanEvent.Step.values)

    count = stock_count_open(warehouse=world["cn"], bins=[floor["p1"]])
    api = api_client_for("Picker/packer")
    recorded = api.post(
        f"/api/v1/stock-counts/{count.pk}/record/",
        {"bin": "A-01-01-01", "product": "CASE-A", "counted_quantity": 2},
        format="json",
    )
    assert recorded.status_code == 200, recorded.content
    assert api.post(f"/api/v1/stock-counts/{count.pk}/approve/", {}, format="json").status_code == 403
    assert api.post(f"/api/v1/stock-counts/{count.pk}/cancel/", {}, format="json").status_code == 403
    adjust = {"product": "CASE-A", "warehouse": "CN1", "bin": "A-01-01-01", "delta": 1, "note": "found"}
    assert api.post("/api/v1/stock/adjust/", adjust, format="json").status_code == 403
    assert StockCount.objects.get(pk=count.pk).status == StockCount.Status.OPEN


def test_the_menu_lists_the_floor_s_pages_and_each_needs_its_permissions(world, make_user, roles):
    make_user("Picker/packer", username="ming")
    menu = floor_client("ming").get("/scan/").content.decode()
    links = [
        "/scan/receive/",
        "/scan/put-away/",
        "/scan/pick/",
        "/scan/sort/",
        "/scan/pack/",
        "/scan/fast-lane/",
        "/scan/hand-over/",
        "/scan/count/",
        "/scan/move/",
    ]
    assert all(f'href="{link}"' in menu for link in links)
    assert [menu.index(f'href="{link}"') for link in links] == sorted(menu.index(f'href="{link}"') for link in links)

    counter = make_user(username="counter")
    counter.user_permissions.add(roles["Picker/packer"].permissions.get(codename="add_scanevent"))
    client = floor_client("counter")
    assert not any(link in client.get("/scan/").content.decode() for link in links)
    needs = {
        "/scan/pick/": "Warehouse floor | pick task | Can change pick task",
        "/scan/sort/": "Warehouse floor | pick task | Can change pick task",
        "/scan/pack/": "Warehouse floor | wave parcel | Can change wave parcel",
        "/scan/fast-lane/": "Warehouse floor | pack check | Can add pack check",
    }
    for url, permission in needs.items():
        response = client.get(url)
        assert response.status_code == 403, url
        assert "counter may not use this page." in response.content.decode() and permission in response.content.decode()
        assert client.post(url, {"code": "X"}, **JSON).status_code == 403
    assert client.post("/scan/pack/override/", {"username": "x"}).status_code == 403
    assert not ScanEvent.objects.exists()
