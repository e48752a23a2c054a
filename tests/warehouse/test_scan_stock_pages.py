"""The receive, put-away, count and move scan pages through the test client: each page's accepted and refused scans
and the scans recorded; numbers typed for many units at once; a rejection at QC with a reason; put away into the
suggested bin, another one and a wrong kind of bin; a bin's tally corrected, recorded (DONE) or recorded empty
(EMPTY); items moved bin to bin, all SKUs in hand or none; who may use which page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from inventory.count_services import stock_count_open
from inventory.models import Bin, StockCountLine, StockLevel, Transfer
from inventory.stock_services import stock_receive
from tests.inventory.factories import ProductFactory
from tests.warehouse.test_scan_pages import JSON, Page, floor_client
from warehouse.floor_stock import receive_item, receive_open
from warehouse.models import ScanEvent

pytestmark = pytest.mark.django_db


def events(step: str) -> list[tuple]:
    return list(
        ScanEvent.objects.filter(step=step)
        .order_by("pk")
        .values_list("code", "ok", "error_code", "quantity", "reference")
    )


def levels(*bins: Bin) -> dict[tuple[str, str], int]:
    """What the bins hold, by (bin, SKU), empty levels left out."""
    rows = StockLevel.objects.filter(bin__in=bins, on_hand__gt=0).values_list("bin__code", "product__sku", "on_hand")
    return {(bin_code, sku): on_hand for bin_code, sku, on_hand in rows}


def area(world, kind: str) -> Bin:
    return Bin.objects.get(warehouse=world["cn"], kind=kind)


@pytest.fixture
def picker(make_user):
    return make_user("Picker/packer", username="ming")


# --- receive -------------------------------------------------------------------------------------------------------


def test_receiving_a_transfer_with_numbers_typed_and_items_rejected_at_qc(world, floor, transfer, picker):
    ProductFactory(sku="LAMP-C")
    tr = transfer.number
    page = Page(floor_client("ming"), "/scan/receive/")

    assert page.said("CASE-A") == ("error", "No transfer CASE-A.", "unknown_document")
    opened = page.scan(tr.lower())
    assert (opened["level"], opened["message"]) == ("ok", f"Transfer {tr} from US1: scan each item, 12 to receive.")
    assert f'<span class="big" id="receive-number">{tr}</span>' in opened["state"]
    assert '<tr data-sku="CASE-A" class="">' in opened["state"] and '<td class="count">0/10</td>' in opened["state"]

    assert page.said("CASE-A") == ("ok", "1 × CASE-A received into RECEIVING: 1 of 10.", "")
    # Right after an item scan, a number is how many that scan was in all.
    assert page.said("3") == ("ok", "2 × CASE-A received into RECEIVING: 3 of 10.", "")
    # Before one, how many the next takes; a wrong item does not use it up.
    ahead = page.scan("4")
    assert (ahead["level"], ahead["message"]) == ("ok", "The next scan takes 4.")
    assert '<p class="note" id="receive-taking">The next item scan takes 4.</p>' in ahead["state"]
    assert page.said("LAMP-C") == ("error", f"LAMP-C is not on transfer {tr}: set it aside.", "not_on_document")
    assert page.said("CASE-A") == ("ok", "4 × CASE-A received into RECEIVING: 7 of 10.", "")
    assert page.said("4") == ("ok", "4 × CASE-A, as scanned.", "")
    assert page.said("0") == ("error", "Enter a quantity of 1 or more.", "invalid_quantity")

    # REJECT asks why; the words typed are the reason; the next item goes into quarantine with it.
    asked = page.scan("reject")
    assert (asked["level"], asked["message"]) == (
        "warning",
        "Why is the next item rejected? Scan or press a reason, or type it and Enter; Esc goes on receiving.",
    )
    assert 'value="REJECT:DAMAGED" data-key="F6"' in asked["state"] and 'data-key="Escape"' in asked["state"]
    assert page.said("CASE-A") == (
        "error",
        "Say why first: scan or press a reason, or type it and Enter; Esc goes on receiving.",
        "reason_first",
    )
    assert page.said("crushed box") == (
        "warning",
        "The next item scanned is rejected (crushed box): scan it.",
        "",
    )
    assert page.said("CASE-A") == (
        "warning",
        "1 × CASE-A rejected (crushed box): put it in QUARANTINE. 8 of 10.",
        "",
    )
    # A reason card works without asking; CANCEL (Esc) drops it.
    carded = page.scan("REJECT:WRONG")
    assert carded["message"] == "The next item scanned is rejected (Wrong item): scan it."
    assert "<strong>The next item scanned is rejected: Wrong item.</strong>" in carded["state"]
    assert page.said("CANCEL") == ("ok", "Go on receiving.", "")

    # More than is in transit is refused, and the number entered is dropped.
    page.scan("5")
    level, message, code = page.said("CASE-A")
    assert (level, code) == ("error", "validation_failed")
    assert message == "Nothing was received: CASE-A: receiving 5 but only 2 in transit (shipped 10, received 8)."
    page.scan("REJECT:DAMAGED")
    assert page.said("CASE-A") == ("warning", "1 × CASE-A rejected (Damaged): put it in QUARANTINE. 9 of 10.", "")
    assert page.said("CASE-A") == ("ok", "1 × CASE-A received into RECEIVING: 10 of 10.", "")
    page.scan("CABLE-B")
    done = page.scan("2")
    assert (done["level"], done["message"]) == (
        "ok",
        f"1 × CABLE-B received into RECEIVING: 2 of 2. Transfer {tr} is received in full.",
    )
    assert '<span id="receive-status">Received</span>' in done["state"]
    assert page.said(tr) == ("error", f"Transfer {tr} is Received: nothing to receive.", "nothing_to_receive")

    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.RECEIVED
    receiving, quarantine = area(world, Bin.Kind.RECEIVING), area(world, Bin.Kind.QUARANTINE)
    assert levels(receiving, quarantine) == {
        ("RECEIVING", "CASE-A"): 8,
        ("RECEIVING", "CABLE-B"): 2,
        ("QUARANTINE", "CASE-A"): 2,
    }
    assert events("receive") == [
        ("CASE-A", False, "unknown_document", None, ""),
        (tr.lower(), True, "", None, tr),
        ("CASE-A", True, "", 1, tr),
        ("3", True, "", 2, tr),
        ("4", True, "", None, tr),
        ("LAMP-C", False, "not_on_document", None, tr),
        ("CASE-A", True, "", 4, tr),
        ("4", True, "", None, tr),
        ("0", False, "invalid_quantity", None, tr),
        ("reject", True, "", None, tr),
        ("CASE-A", False, "reason_first", None, tr),
        ("crushed box", True, "", None, tr),
        ("CASE-A", True, "", 1, tr),
        ("REJECT:WRONG", True, "", None, tr),
        ("CANCEL", True, "", None, tr),
        ("5", True, "", None, tr),
        ("CASE-A", False, "validation_failed", None, tr),
        ("REJECT:DAMAGED", True, "", None, tr),
        ("CASE-A", True, "", 1, tr),
        ("CASE-A", True, "", 1, tr),
        ("CABLE-B", True, "", 1, tr),
        ("2", True, "", 1, tr),
        (tr, False, "nothing_to_receive", None, tr),
    ]
    # The reason is kept with the scan that rejected.
    rejected = ScanEvent.objects.filter(step="receive", quantity__isnull=False, message__contains="rejected").order_by(
        "pk"
    )
    assert list(rejected.values_list("message", flat=True)) == [
        "1 × CASE-A rejected (crushed box): put it in QUARANTINE. 8 of 10.",
        "1 × CASE-A rejected (Damaged): put it in QUARANTINE. 9 of 10.",
    ]


@pytest.fixture
def purchase_order(world, floor):
    """Twenty CASE-A and four CABLE-B ordered from a supplier for Shenzhen, submitted; the warehouse takes up to 10%
    more than ordered."""
    from purchasing.orders import purchase_order_create, purchase_order_submit
    from tests.purchasing.factories import SupplierFactory
    from warehouse.models import FloorSettings

    FloorSettings.objects.update_or_create(warehouse=world["cn"], defaults={"over_receipt_percent": 10})
    supplier = SupplierFactory(name="Dongguan Cases 东莞壳厂")
    order = purchase_order_create(
        supplier=supplier,
        warehouse=world["cn"],
        lines=[(world["a"], 20, Decimal("3.50")), (world["b"], 4, Decimal("8.00"))],
    )
    return purchase_order_submit(purchase_order=order)


def test_receiving_a_purchase_order_with_qc_rejects_and_the_over_receipt_tolerance(
    world, floor, purchase_order, picker
):
    from purchasing.models import PurchaseOrder, Receipt

    po = purchase_order.number
    page = Page(floor_client("ming"), "/scan/receive/")
    assert page.said("PO-999999") == ("error", "No purchase order PO-999999.", "unknown_document")
    opened = page.scan(po.lower())
    assert (opened["level"], opened["message"]) == (
        "ok",
        f"Purchase order {po} from Dongguan Cases 东莞壳厂: scan each item, 24 to receive.",
    )
    assert "Purchase order from Dongguan Cases 东莞壳厂" in opened["state"]
    assert '<tr data-sku="CASE-A" class="">' in opened["state"] and '<td class="count">0/20</td>' in opened["state"]
    ProductFactory(sku="LAMP-C")
    assert page.said("LAMP-C") == ("error", f"LAMP-C is not on purchase order {po}: set it aside.", "not_on_document")
    assert page.said("CASE-A") == ("ok", "1 × CASE-A received into RECEIVING: 1 of 20.", "")
    assert page.said("18") == ("ok", "17 × CASE-A received into RECEIVING: 18 of 20.", "")
    # 10% over 20 is 22 at most: 5 more would be 23, refused, naming the line; the number entered is dropped.
    page.scan("REJECT:WRONG")
    page.scan("CANCEL")
    page.scan("5")
    level, message, _code = page.said("CASE-A")
    assert (level, message) == (
        "error",
        f"CASE-A: accepting 5 is more than purchase order {po} allows: ordered 20, received 18, at most 4 more may "
        "come (over-receipt tolerance 10%).",
    )
    assert page.said("CASE-A") == ("ok", "1 × CASE-A received into RECEIVING: 19 of 20.", "")
    page.scan("REJECT:DAMAGED")
    rejected = page.scan("CASE-A")
    assert (rejected["level"], rejected["message"]) == (
        "warning",
        "1 × CASE-A rejected (Damaged): put it in QUARANTINE. 19 of 20.",
    )
    assert "(1 rejected)" in rejected["state"]
    page.scan("CASE-A")
    assert page.said("2") == ("ok", "1 × CASE-A received into RECEIVING: 21 of 20.", "")  # within the tolerance
    page.scan("CABLE-B")
    done = page.scan("4")
    assert (done["level"], done["message"]) == (
        "ok",
        f"3 × CABLE-B received into RECEIVING: 4 of 4. Purchase order {po} is received in full.",
    )
    order = PurchaseOrder.objects.get(pk=purchase_order.pk)
    assert order.status == PurchaseOrder.Status.RECEIVED
    assert {line.product.sku: (line.quantity_received, line.quantity_rejected) for line in order.lines.all()} == {
        "CASE-A": (21, 1),
        "CABLE-B": (4, 0),
    }
    receiving, quarantine = area(world, Bin.Kind.RECEIVING), area(world, Bin.Kind.QUARANTINE)
    assert levels(receiving, quarantine) == {
        ("RECEIVING", "CASE-A"): 21,
        ("RECEIVING", "CABLE-B"): 4,
        ("QUARANTINE", "CASE-A"): 1,
    }
    # The scans of the day went onto one receipt of this user, its lines costed at the order's prices.
    (receipt,) = Receipt.objects.filter(purchase_order=order)
    assert receipt.received_by.username == "ming"
    accepted = {(line.product.sku, line.quantity_accepted, line.landed_unit_cost) for line in receipt.lines.all()}
    assert ("CASE-A", 21, Decimal("3.5000")) in accepted and ("CABLE-B", 4, Decimal("8.0000")) in accepted
    assert page.said(po) == ("error", f"Purchase order {po} is Received: nothing to receive.", "nothing_to_receive")


# --- put away ------------------------------------------------------------------------------------------------------


def test_put_away_into_the_suggested_bin_another_one_and_never_a_wrong_kind(world, floor, transfer, picker):
    opened = receive_open(warehouse=world["cn"], code=transfer.number)
    receive_item(document=opened, code="CASE-A", quantity=5)
    receive_item(document=opened, code="CABLE-B", quantity=2)
    page = Page(floor_client("ming"), "/scan/put-away/")

    assert page.said("A-01-01-01") == ("error", "Scan the item first, then the bin it goes to.", "item_first")
    assert page.said("NOPE") == ("error", "No product has the code NOPE.", "unknown_product")
    started = page.scan("CASE-A")
    assert (started["level"], started["message"]) == ("ok", "CASE-A: 5 waiting in RECEIVING. Put it in A-01-01-01.")
    assert '<span class="big" id="put-away-bin">A-01-01-01</span>' in started["state"]
    assert '<span class="value" id="put-away-waiting">5</span>' in started["state"]
    assert page.said("RECEIVING") == (
        "error",
        "RECEIVING is a Receiving bin: put stock away into a pick face or bulk bin.",
        "not_storage",
    )
    assert page.said("Z-99") == ("error", "No bin Z-99 in CN1.", "unknown_bin")
    assert page.said("a-01-01-01") == ("ok", "1 × CASE-A into A-01-01-01. 4 to go.", "")
    # At the bin, each item scanned goes in; a number right after is how many that scan was in all.
    at_bin = page.scan("CASE-A")
    assert at_bin["message"] == "1 × CASE-A into A-01-01-01. 3 to go."
    assert "Putting into ✓" in at_bin["state"]
    assert page.said("2") == ("ok", "1 × CASE-A into A-01-01-01. 2 to go.", "")
    # A number before the scan; more than waits is refused, and the number dropped.
    page.scan("9")
    assert page.said("B-01-01-01") == ("error", "Only 2 CASE-A to put away here.", "too_many")
    assert page.said("B-01-01-01") == (
        "ok",
        "1 × CASE-A into B-01-01-01 (not the suggested A-01-01-01). 1 to go.",
        "",
    )
    assert page.said("CASE-A") == (
        "ok",
        "1 × CASE-A into B-01-01-01 (not the suggested A-01-01-01). Every CASE-A is put away.",
        "",
    )
    assert page.said("CASE-A") == ("error", "No CASE-A waits in the receiving area.", "nothing_to_put_away")

    page.scan("CABLE-B")
    page.scan("2")
    assert page.said("A-01-01-02") == ("ok", "2 × CABLE-B into A-01-01-02. Every CABLE-B is put away.", "")

    # A SKU that lives nowhere, and no empty pick face: any storage bin.
    Bin.objects.filter(pk=world["bins"]["CN1"].pk).update(is_active=False)
    lamp = ProductFactory(sku="LAMP-C")
    stock_receive(product=lamp, bin=area(world, Bin.Kind.RECEIVING), quantity=1, reference="PO-10")
    lone = page.scan("LAMP-C")
    assert lone["message"] == "LAMP-C: 1 waiting in RECEIVING. No suggestion: scan any storage bin."
    assert 'id="put-away-no-suggestion"' in lone["state"]
    assert page.said("B-01-01-01") == ("ok", "1 × LAMP-C into B-01-01-01. Every LAMP-C is put away.", "")

    assert levels(floor["p1"], floor["bulk"], floor["p2"], area(world, Bin.Kind.RECEIVING)) == {
        ("A-01-01-01", "CASE-A"): 6,
        ("B-01-01-01", "CASE-A"): 52,
        ("B-01-01-01", "LAMP-C"): 1,
        ("A-01-01-02", "CABLE-B"): 7,
    }
    assert events("put_away") == [
        ("A-01-01-01", False, "item_first", None, ""),
        ("NOPE", False, "unknown_product", None, ""),
        ("CASE-A", True, "", None, "CASE-A"),
        ("RECEIVING", False, "not_storage", None, "CASE-A"),
        ("Z-99", False, "unknown_bin", None, "CASE-A"),
        ("a-01-01-01", True, "", 1, "CASE-A"),
        ("CASE-A", True, "", 1, "CASE-A"),
        ("2", True, "", 1, "CASE-A"),
        ("9", True, "", None, "CASE-A"),
        ("B-01-01-01", False, "too_many", None, "CASE-A"),
        ("B-01-01-01", True, "", 1, "CASE-A"),
        ("CASE-A", True, "", 1, "CASE-A"),
        ("CASE-A", False, "nothing_to_put_away", None, ""),
        ("CABLE-B", True, "", None, "CABLE-B"),
        ("2", True, "", None, "CABLE-B"),
        ("A-01-01-02", True, "", 2, "CABLE-B"),
        ("LAMP-C", True, "", None, "LAMP-C"),
        ("B-01-01-01", True, "", 1, "LAMP-C"),
    ]


# --- count ---------------------------------------------------------------------------------------------------------


def test_counting_bins_a_tally_corrected_done_and_empty(world, floor, picker):
    empty_face = world["bins"]["CN1"]
    count = stock_count_open(warehouse=world["cn"], bins=[floor["p1"], floor["p2"], empty_face])
    cnt = count.number
    page = Page(floor_client("ming"), "/scan/count/")

    assert page.said("DONE") == ("error", "Scan the bin you count first.", "bin_first")
    assert page.said("B-01-01-01") == (
        "error",
        "No open count covers bin B-01-01-01: a manager opens one.",
        "no_open_count",
    )
    opened = page.scan("A-01-01-01")
    assert (opened["level"], opened["message"]) == (
        "ok",
        f"Count {cnt}, bin A-01-01-01: scan each item in it, then DONE (or EMPTY).",
    )
    assert '<span class="big" id="count-bin">A-01-01-01</span>' in opened["state"]
    assert '<td class="count counted">0</td>' in opened["state"] and '<td class="count">3</td>' in opened["state"]
    assert page.said("DONE") == (
        "error",
        "Scan what is in the bin first (or submit it empty with EMPTY).",
        "empty",
    )
    assert page.said("CASE-A") == ("ok", "CASE-A: 1 counted.", "")
    assert page.said("CASE-A") == ("ok", "CASE-A: 2 counted.", "")
    assert page.said("5") == ("ok", "CASE-A: 5 in all.", "")
    # A tally corrected: the item again, then the right number.
    assert page.said("CASE-A") == ("ok", "CASE-A: 6 counted.", "")
    assert page.said("3") == ("ok", "CASE-A: 3 in all.", "")
    assert page.said("2") == ("ok", "The next scan takes 2.", "")
    tallied = page.scan("CABLE-B")  # found where nobody expected it
    assert tallied["message"] == "CABLE-B: 2 counted."
    assert '<strong id="count-units">5</strong>' in tallied["state"]
    assert page.said("NOPE") == ("error", "No product or bin has the code NOPE.", "unknown_code")
    assert page.said("A-01-01-02") == (
        "error",
        "A-01-01-01 is not submitted yet (5 counted): DONE records it, CLEAR drops it. Then scan the next bin.",
        "tally_open",
    )
    assert page.said("EMPTY") == (
        "error",
        "A-01-01-01 has items counted: CLEAR drops them before EMPTY, or DONE records them.",
        "tally_open",
    )
    assert page.said("done") == (
        "ok",
        f"A-01-01-01 recorded in {cnt} (5 counted). Scan the next bin.",
        "",
    )

    # CLEAR drops a tally; EMPTY records 0 for what the count expects in the bin, or nothing when it expects nothing.
    page.scan("A-01-01-02")
    page.scan("CABLE-B")
    assert page.said("CLEAR") == ("ok", "Tally of A-01-01-02 dropped: count it again.", "")
    assert page.said("EMPTY") == ("ok", f"A-01-01-02 recorded empty in {cnt}. Scan the next bin.", "")
    page.scan(empty_face.code)
    assert page.said("EMPTY") == ("ok", f"{empty_face.code} recorded empty in {cnt}. Scan the next bin.", "")

    lines = StockCountLine.objects.filter(count=count).order_by("bin__code", "product__sku")
    assert [
        (line.bin.code, line.product.sku, line.expected_quantity, line.counted_quantity, line.counted_by)
        for line in lines
    ] == [
        ("A-01-01-01", "CABLE-B", 0, 2, picker),
        ("A-01-01-01", "CASE-A", 3, 3, picker),
        ("A-01-01-02", "CABLE-B", 5, 0, picker),
    ]
    # Nothing moves until a manager approves.
    assert levels(floor["p1"], floor["p2"]) == {("A-01-01-01", "CASE-A"): 3, ("A-01-01-02", "CABLE-B"): 5}
    assert events("count") == [
        ("DONE", False, "bin_first", None, ""),
        ("B-01-01-01", False, "no_open_count", None, ""),
        ("A-01-01-01", True, "", None, cnt),
        ("DONE", False, "empty", None, cnt),
        ("CASE-A", True, "", 1, cnt),
        ("CASE-A", True, "", 1, cnt),
        ("5", True, "", 3, cnt),
        ("CASE-A", True, "", 1, cnt),
        ("3", True, "", -3, cnt),
        ("2", True, "", None, cnt),
        ("CABLE-B", True, "", 2, cnt),
        ("NOPE", False, "unknown_code", None, cnt),
        ("A-01-01-02", False, "tally_open", None, cnt),
        ("EMPTY", False, "tally_open", None, cnt),
        ("done", True, "", 5, cnt),
        ("A-01-01-02", True, "", None, cnt),
        ("CABLE-B", True, "", 1, cnt),
        ("CLEAR", True, "", None, cnt),
        ("EMPTY", True, "", 0, cnt),
        (empty_face.code, True, "", None, cnt),
        ("EMPTY", True, "", 0, cnt),
    ]


def test_a_blind_count_shows_the_counter_no_expected_quantities(world, floor, picker):
    stock_count_open(warehouse=world["cn"], bins=[floor["bulk"]], is_blind=True)
    page = Page(floor_client("ming"), "/scan/count/")
    state = page.scan("B-01-01-01")["state"]
    # The bin holds 50: no figure of it may show. The scan log's clock (21:40:50) is not a figure of the bin.
    figures = re.sub(r"\b\d{2}:\d{2}:\d{2}\b", "", state)
    assert "blind" in state and "Expected" not in state and "50" not in figures


# --- move ----------------------------------------------------------------------------------------------------------


def test_moving_items_bin_to_bin_and_refused_moves(world, floor, picker):
    page = Page(floor_client("ming"), "/scan/move/")

    assert page.said("CASE-A") == (
        "error",
        "Scan the bin you take CASE-A from first, then the items.",
        "bin_first",
    )
    assert page.said("Z-99") == ("error", "No bin Z-99 in CN1.", "unknown_bin")
    opened = page.scan("b-01-01-01")
    assert opened["message"] == "From B-01-01-01: scan each item you take, then the bin they go to."
    assert '<span class="big" id="move-from">B-01-01-01</span>' in opened["state"]
    assert page.said("CASE-A") == ("ok", "CASE-A from B-01-01-01: 1 in hand. Scan more, or the bin they go to.", "")
    taken = page.scan("4")
    assert taken["message"] == "CASE-A from B-01-01-01: 4 in hand. Scan more, or the bin they go to."
    assert '<th class="count" id="move-units">4</th>' in taken["state"]
    assert page.said("B-01-01-01") == ("error", "Scan another bin to move to.", "same_bin")
    assert page.said("Z-99") == ("error", "No bin Z-99 in CN1.", "unknown_bin")
    assert page.said("A-01-01-01") == (
        "ok",
        "Moved 4 × CASE-A from B-01-01-01 to A-01-01-01. Scan the next bin to take from.",
        "",
    )

    # Not enough in the bin: refused, every SKU in hand stays where it is.
    page.scan("A-01-01-01")
    page.scan("2")
    page.scan("CASE-A")
    page.scan("CABLE-B")
    level, message, code = page.said("A-01-01-02")
    assert (level, code) == ("error", "insufficient_stock")
    assert message.startswith("Not enough CABLE-B in ")
    assert page.said("CLEAR") == ("ok", "Nothing in hand: scan the bin you take from.", "")

    assert levels(floor["bulk"], floor["p1"], floor["p2"]) == {
        ("B-01-01-01", "CASE-A"): 46,
        ("A-01-01-01", "CASE-A"): 7,
        ("A-01-01-02", "CABLE-B"): 5,
    }
    assert events("move") == [
        ("CASE-A", False, "bin_first", None, ""),
        ("Z-99", False, "unknown_bin", None, ""),
        ("b-01-01-01", True, "", None, "B-01-01-01"),
        ("CASE-A", True, "", 1, "B-01-01-01"),
        ("4", True, "", 3, "B-01-01-01"),
        ("B-01-01-01", False, "same_bin", None, "B-01-01-01"),
        ("Z-99", False, "unknown_bin", None, "B-01-01-01"),
        ("A-01-01-01", True, "", 4, "B-01-01-01"),
        ("A-01-01-01", True, "", None, "A-01-01-01"),
        ("2", True, "", None, "A-01-01-01"),
        ("CASE-A", True, "", 2, "A-01-01-01"),
        ("CABLE-B", True, "", 1, "A-01-01-01"),
        ("A-01-01-02", False, "insufficient_stock", None, "A-01-01-01"),
        ("CLEAR", True, "", None, "A-01-01-01"),
    ]


# --- who may use which page ----------------------------------------------------------------------------------------


def test_each_stock_page_needs_its_permissions(world, make_user, roles):
    counter = make_user(username="counter")
    counter.user_permissions.add(roles["Picker/packer"].permissions.get(codename="add_scanevent"))
    client = floor_client("counter")
    needs = {
        "/scan/receive/": "Inventory | transfer | Can change transfer",
        "/scan/put-away/": "Inventory | stock move | Can add stock move",
        "/scan/count/": "Inventory | stock count line | Can change stock count line",
        "/scan/move/": "Inventory | stock move | Can add stock move",
    }
    menu = client.get("/scan/").content.decode()
    for url, permission in needs.items():
        assert f'href="{url}"' not in menu
        response = client.get(url)
        assert response.status_code == 403, url
        assert "counter may not use this page." in response.content.decode()
        assert permission in response.content.decode(), url
        assert client.post(url, {"code": "A-01-01-01"}, **JSON).status_code == 403
    assert not ScanEvent.objects.exists()
