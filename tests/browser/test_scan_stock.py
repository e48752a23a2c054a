"""Stock on the floor in a real Chromium the size of a phone, with a keyboard-wedge scanner only (the code typed and
Enter, a key for a command): a transfer received (a wrong item, one rejected at QC as damaged), everything put away
(into the suggested bin, into another, a wrong kind of bin refused), a bin counted (a tally corrected, another bin
refused while the tally is open), items moved bin to bin (not enough in the bin refused). What the pages show and
say, and what the database holds: stock per bin, the transfer's status, the count's lines and the scans."""

from __future__ import annotations

import pytest

from inventory.count_services import stock_count_open
from inventory.models import Bin, StockCountLine, StockLevel, Transfer
from tests.browser.conftest import PASSWORD
from tests.browser.scanner import Scanner
from tests.inventory.factories import ProductFactory
from tests.logistics.parcels import post_account, world_with_product_code
from tests.warehouse.floor import floor_make, transfer_shipped
from warehouse.models import ScanEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stock():
    """Shenzhen's floor (50 CASE-A in bulk B-01-01-01, 3 CASE-A in pick face A-01-01-01, 5 CABLE-B in A-01-01-02),
    a transfer of ten CASE-A and two CABLE-B on its way from Los Angeles, and a product not on it (LAMP-C)."""
    world = world_with_product_code()
    floor = floor_make(world, post_account())
    ProductFactory(sku="LAMP-C")
    return {"world": world, "transfer": transfer_shipped(world), **floor}


def held(warehouse) -> dict[tuple[str, str], int]:
    rows = StockLevel.objects.filter(bin__warehouse=warehouse, on_hand__gt=0)
    return {
        (bin_code, sku): on_hand for bin_code, sku, on_hand in rows.values_list("bin__code", "product__sku", "on_hand")
    }


def test_stock_on_the_floor_received_put_away_counted_and_moved(phone, stock, make_user):
    make_user("Picker/packer", username="ming")
    world, transfer = stock["world"], stock["transfer"]
    tr = transfer.number
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

    def line(table: str, sku: str) -> str:
        return scanner.text(f"{table} tr[data-sku='{sku}'] td.count")

    # --- Receive the transfer: a wrong item, 9 accepted, 1 rejected as damaged, the cables -----------------------
    open_page("1", "/scan/receive/")
    assert scanner.scan(tr) == ("ok", f"Transfer {tr} from US1: scan each item, 12 to receive.")
    assert line("#receive-lines", "CASE-A") == "0/10"
    assert scanner.scan("LAMP-C") == ("error", f"LAMP-C is not on transfer {tr}: set it aside.")
    assert scanner.sound() == "error"
    assert scanner.scan("CASE-A") == ("ok", "1 × CASE-A received into RECEIVING: 1 of 10.")
    assert scanner.scan("9") == ("ok", "8 × CASE-A received into RECEIVING: 9 of 10.")
    assert scanner.sound() == "ok" and line("#receive-lines", "CASE-A") == "9/10"
    level, said = scanner.press("F2")  # REJECT: the page asks why
    assert level == "warning" and said.startswith("Why is the next item rejected?")
    assert scanner.press("F6") == ("warning", "The next item scanned is rejected (Damaged): scan it.")
    assert scanner.focused() == "scan-input"
    assert scanner.scan("CASE-A") == ("warning", "1 × CASE-A rejected (Damaged): put it in QUARANTINE. 10 of 10.")
    assert scanner.sound() == "warning"
    assert scanner.scan("CABLE-B", "2") == (
        "ok",
        f"1 × CABLE-B received into RECEIVING: 2 of 2. Transfer {tr} is received in full.",
    )
    assert scanner.text("#receive-status") == "Received"
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.RECEIVED

    # --- Put it all away: CASE-A into its pick face (suggested) and bulk (another), the cables ----------------------
    open_page("2", "/scan/put-away/")
    assert scanner.scan("CASE-A") == ("ok", "CASE-A: 9 waiting in RECEIVING. Put it in A-01-01-01.")
    assert (scanner.text("#put-away-bin"), scanner.text("#put-away-waiting")) == ("A-01-01-01", "9")
    assert scanner.scan("QUARANTINE") == (
        "error",
        "QUARANTINE is a Quarantine bin: put stock away into a pick face or bulk bin.",
    )
    assert scanner.scan("A-01-01-01") == ("ok", "1 × CASE-A into A-01-01-01. 8 to go.")
    assert scanner.scan("5") == ("ok", "4 × CASE-A into A-01-01-01. 4 to go.")
    assert scanner.text("#put-away-waiting") == "4"
    assert scanner.scan("4", "B-01-01-01") == (
        "ok",
        "4 × CASE-A into B-01-01-01 (not the suggested A-01-01-01). Every CASE-A is put away.",
    )
    assert scanner.scan("CABLE-B") == ("ok", "CABLE-B: 2 waiting in RECEIVING. Put it in A-01-01-02.")
    assert scanner.scan("A-01-01-02", "CABLE-B") == ("ok", "1 × CABLE-B into A-01-01-02. Every CABLE-B is put away.")

    # --- Count A-01-01-01 (8 CASE-A): 12 typed by mistake, then corrected to 8 -----------------------------------
    count = stock_count_open(warehouse=world["cn"], bins=[stock["p1"], stock["p2"]])  # a manager opens it
    open_page("8", "/scan/count/")
    assert scanner.scan("A-01-01-01") == (
        "ok",
        f"Count {count.number}, bin A-01-01-01: scan each item in it, then DONE (or EMPTY).",
    )
    assert scanner.text("#count-bin") == "A-01-01-01"
    assert scanner.scan("CASE-A", "12") == ("ok", "CASE-A: 12 in all.")
    assert scanner.scan("CASE-A") == ("ok", "CASE-A: 13 counted.")
    assert scanner.scan("8") == ("ok", "CASE-A: 8 in all.")
    assert scanner.text("#count-units") == "8"
    level, said = scanner.scan("A-01-01-02")
    assert level == "error" and said.startswith("A-01-01-01 is not submitted yet (8 counted)")
    assert scanner.press("F2") == ("ok", f"A-01-01-01 recorded in {count.number} (8 counted). Scan the next bin.")
    assert page.locator("#count-bin").count() == 0

    # --- Move 3 CASE-A from bulk to A-01-01-02; then more than a bin holds, refused --------------------------------
    open_page("9", "/scan/move/")
    assert scanner.scan("B-01-01-01") == ("ok", "From B-01-01-01: scan each item you take, then the bin they go to.")
    assert scanner.scan("CASE-A", "3") == ("ok", "CASE-A from B-01-01-01: 3 in hand. Scan more, or the bin they go to.")
    assert line("#move-carried", "CASE-A") == "3"
    assert scanner.scan("A-01-01-02") == (
        "ok",
        "Moved 3 × CASE-A from B-01-01-01 to A-01-01-02. Scan the next bin to take from.",
    )
    scanner.scan("A-01-01-02", "9", "CASE-A")
    level, said = scanner.scan("B-01-01-01")
    assert level == "error" and said.startswith("Not enough CASE-A in ")
    assert scanner.sound() == "error" and line("#move-carried", "CASE-A") == "9"
    assert scanner.press("F4") == ("ok", "Nothing in hand: scan the bin you take from.")

    # --- What the database holds -----------------------------------------------------------------------------------
    assert held(world["cn"]) == {
        ("A-01-01-01", "CASE-A"): 8,
        ("B-01-01-01", "CASE-A"): 51,
        ("A-01-01-02", "CASE-A"): 3,
        ("A-01-01-02", "CABLE-B"): 7,
        ("QUARANTINE", "CASE-A"): 1,
    }
    assert not Bin.objects.get(code="QUARANTINE", warehouse=world["cn"]).is_sellable
    lines = StockCountLine.objects.filter(count=count).order_by("bin__code", "product__sku")
    assert [(row.bin.code, row.product.sku, row.expected_quantity, row.counted_quantity) for row in lines] == [
        ("A-01-01-01", "CASE-A", 8, 8),
        ("A-01-01-02", "CABLE-B", 7, None),
    ]
    recorded = {
        step: list(ScanEvent.objects.filter(step=step).order_by("pk").values_list("code", "ok", "error_code"))
        for step in ("receive", "put_away", "count", "move")
    }
    assert recorded["receive"] == [
        (tr, True, ""),
        ("LAMP-C", False, "not_on_document"),
        ("CASE-A", True, ""),
        ("9", True, ""),
        ("REJECT", True, ""),
        ("REJECT:DAMAGED", True, ""),
        ("CASE-A", True, ""),
        ("CABLE-B", True, ""),
        ("2", True, ""),
    ]
    assert recorded["put_away"] == [
        ("CASE-A", True, ""),
        ("QUARANTINE", False, "not_storage"),
        ("A-01-01-01", True, ""),
        ("5", True, ""),
        ("4", True, ""),
        ("B-01-01-01", True, ""),
        ("CABLE-B", True, ""),
        ("A-01-01-02", True, ""),
        ("CABLE-B", True, ""),
    ]
    assert recorded["count"] == [
        ("A-01-01-01", True, ""),
        ("CASE-A", True, ""),
        ("12", True, ""),
        ("CASE-A", True, ""),
        ("8", True, ""),
        ("A-01-01-02", False, "tally_open"),
        ("DONE", True, ""),
    ]
    assert recorded["move"] == [
        ("B-01-01-01", True, ""),
        ("CASE-A", True, ""),
        ("3", True, ""),
        ("A-01-01-02", True, ""),
        ("A-01-01-02", True, ""),
        ("9", True, ""),
        ("CASE-A", True, ""),
        ("B-01-01-01", False, "insufficient_stock"),
        ("CLEAR", True, ""),
    ]
    assert set(ScanEvent.objects.values_list("user__username", flat=True)) == {"ming"}
