"""The hand-over scan page in a real Chromium the size of a phone, used as a keyboard-wedge scanner uses it: the
code typed and Enter pressed, nothing clicked once the carrier is chosen. What the page shows (the banner's colour
and words, the manifest's count, the focus) and what the database holds (the manifest's parcels, the scans, the
orders shipped)."""

from __future__ import annotations

import pytest

from logistics.models import Manifest, Shipment
from orders.models import Order
from tests.browser.conftest import PASSWORD
from tests.browser.scanner import Scanner
from tests.logistics.parcels import post_account, world_with_product_code
from tests.warehouse.scanning import hand_over_parcels
from warehouse.models import ScanEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def parcels():
    world = world_with_product_code()
    post = post_account()
    return {"world": world, "post": post, **hand_over_parcels(world, post)}


def test_a_day_s_hand_over_on_a_phone_with_a_scanner(phone, parcels, make_user):
    post, world = parcels["post"], parcels["world"]
    first, second, third = (parcels[name].tracking_number for name in ("first", "second", "third"))
    other, cancelled = parcels["other"].tracking_number, parcels["cancelled"].tracking_number
    make_user("Picker/packer", username="ming")
    page = phone

    # Log in; the warehouse is asked once: its code scanned (or typed) and Enter.
    page.goto("/scan/")
    assert page.url.endswith("/scan/login/?next=/scan/")
    page.fill("#id_username", "ming")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/scan/warehouse/?next=/scan/")
    scanner = Scanner(page)
    assert scanner.focused() == "scan-input"
    with page.expect_navigation():
        scanner.page.keyboard.type("CN1")
        scanner.page.keyboard.press("Enter")
    assert page.url.endswith("/scan/") and page.inner_text(".bar .where") == "CN1"

    # The menu answers to its numbers; Hand over asks for the carrier first.
    assert [" ".join(text.split()) for text in page.locator("nav a").all_inner_texts()] == [
        "1 Receive",
        "2 Put away",
        "3 Pick",
        "4 Sort",
        "5 Pack",
        "6 Single-item fast lane",
        "7 Hand over",
        "8 Count",
        "9 Move",
    ]
    with page.expect_navigation():
        page.keyboard.press("7")
    assert page.url.endswith("/scan/hand-over/carrier/")
    page.select_option("#id_account", label=post.name)
    page.fill("#id_pickup", "afternoon van")
    with page.expect_navigation():
        page.click("button[type=submit] >> text=Start scanning")
    assert page.url.endswith("/scan/hand-over/")
    manifest = Manifest.objects.get(status="open")
    assert page.inner_text("#manifest-number") == manifest.number and scanner.count() == "0"
    assert scanner.focused() == "scan-input"
    assert scanner.banner() == ("idle", "Scan a parcel's label.")

    # From here on, only the scanner: a code and Enter.
    assert scanner.scan(first) == ("ok", f"{first} into {manifest.number}: 1 parcel.")
    assert scanner.count() == "1" and page.get_attribute("body", "data-sound") == "ok"
    assert Shipment.objects.get(tracking_number=first).manifest == manifest

    level, text = scanner.scan(other)
    assert level == "error" and text.startswith(f"{other} goes with Shenzhen Courier")
    assert page.get_attribute("body", "data-sound") == "error"
    assert (
        page.evaluate("getComputedStyle(document.querySelector('#scan-answer')).backgroundColor") == "rgb(185, 28, 28)"
    )
    assert scanner.focused() == "scan-input" and page.input_value("#scan-input") == ""
    assert scanner.count() == "1" and Shipment.objects.get(tracking_number=other).manifest is None

    assert scanner.scan("NO-SUCH-LABEL") == ("error", "No parcel has the label NO-SUCH-LABEL.")
    assert scanner.focused() == "scan-input"
    # A control character (a GS1 separator) is refused at the door, before any page: the page says why.
    before = scanner.answers()
    page.keyboard.insert_text("0104\x1d21")
    page.keyboard.press("Enter")
    page.wait_for_function(f"Number(document.body.dataset.answers) > {before}")
    assert scanner.banner() == (
        "error",
        "Invalid input: code: Form field code: Contains U+001D (control character) at position 5; control "
        "characters are not allowed in text.",
    )
    assert scanner.focused() == "scan-input"
    assert scanner.scan(cancelled) == (
        "error",
        f"{cancelled} is cancelled: this label must not go. Take the parcel out.",
    )

    # A tap on the page (not on a control) leaves the focus in the input.
    page.click("h1")
    assert scanner.focused() == "scan-input"

    # Two parcels scanned in a row, faster than the answers come: both go in, in order; the one scanned twice is
    # a warning, not an error.
    assert scanner.scan(second, first) == ("warning", f"{first} is in {manifest.number} already: 2 parcels.")
    assert page.get_attribute("body", "data-sound") == "warning"
    assert scanner.count() == "2"
    last_scans = page.locator(".scans li .scanned").all_inner_texts()
    assert last_scans[:3] == [first, second, cancelled]

    # CLOSE hands the manifest over: the parcels go, their orders ship.
    assert scanner.scan("CLOSE") == ("ok", f"Manifest {manifest.number} handed over: 2 parcels.")
    assert scanner.focused() == "scan-input"
    assert page.get_attribute("#manifest-pdf", "href") == f"/api/v1/manifests/{manifest.pk}/pdf/"
    manifest.refresh_from_db()
    assert (manifest.status, manifest.parcel_count) == ("handed_over", 2)
    assert sorted(manifest.shipments.values_list("tracking_number", "status")) == sorted(
        [(first, "handed_over"), (second, "handed_over")]
    )
    shipped = Order.objects.filter(status=Order.Status.SHIPPED).values_list("channel_order_id", flat=True)
    assert sorted(shipped) == ["H-1", "H-2"]

    # The next parcel opens a new manifest; F2 (the button's key) hands it over too.
    level, text = scanner.scan(third)
    newer = Manifest.objects.get(status="open")
    assert (level, text) == ("ok", f"{third} into {newer.number}: 1 parcel.")
    assert scanner.press("F2") == ("ok", f"Manifest {newer.number} handed over: 1 parcel.")
    assert Order.objects.get(channel_order_id="H-3").status == Order.Status.SHIPPED

    recorded = list(ScanEvent.objects.order_by("pk").values_list("code", "ok", "error_code", "reference"))
    assert recorded == [
        (first, True, "", manifest.number),
        (other, False, "other_carrier", manifest.number),
        ("NO-SUCH-LABEL", False, "unknown_parcel", manifest.number),
        (cancelled, False, "parcel_cancelled", manifest.number),
        (second, True, "", manifest.number),
        (first, True, "", manifest.number),
        ("CLOSE", True, "", manifest.number),
        (third, True, "", newer.number),
        ("CLOSE", True, "", newer.number),
    ]
    assert set(ScanEvent.objects.values_list("user__username", "warehouse", "step")) == {
        ("ming", world["cn"].pk, "hand_over")
    }


def test_the_warehouse_is_remembered_at_the_next_login(phone, parcels, make_user):
    make_user("Picker/packer", username="ming")
    page = phone
    for attempt in range(2):
        page.goto("/scan/login/")
        page.fill("#id_username", "ming")
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        if attempt == 0:
            with page.expect_navigation():
                page.click("button >> text=CN1")
            with page.expect_navigation():
                page.click("button >> text=Log out")
            assert page.url.endswith("/scan/login/")
    assert page.url.endswith("/scan/") and page.inner_text(".bar .where") == "CN1"
