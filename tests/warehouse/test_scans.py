"""Scans on the floor: ``scan_record`` answers and records every scan, accepted or refused; the scan pages' login,
warehouse (remembered across logins) and permissions; and the hand-over page through the test client."""

from __future__ import annotations

import pytest
from django.test import Client

from core.errors import Conflict
from core.roles import ROLES
from logistics.models import Manifest, Shipment
from orders.models import Order
from tests.warehouse.scanning import hand_over_parcels
from warehouse.models import ScanEvent, ScanPreference
from warehouse.scans import ERROR, OK, WARNING, ScanDone, scan_record

pytestmark = pytest.mark.django_db
PASSWORD = "test-pass-123"  # make_user's
JSON = {"HTTP_ACCEPT": "application/json"}


def events() -> list[tuple]:
    return list(
        ScanEvent.objects.order_by("pk").values_list("step", "code", "ok", "error_code", "quantity", "reference")
    )


# --- scan_record ---------------------------------------------------------------------------------------------------


def test_an_accepted_scan_is_answered_and_recorded_with_what_the_service_said(world, make_user):
    user = make_user("Picker/packer")

    answer = scan_record(
        user=user,
        warehouse=world["cn"],
        step=ScanEvent.Step.PICK,
        code=" A-01-01-01 ",
        do=lambda: ScanDone("Take 2 CASE-A.", reference="P-1", quantity=2),
        reference="ignored when the service names it",
    )

    assert (answer.level, answer.ok, answer.message, answer.error_code) == (OK, True, "Take 2 CASE-A.", "")
    assert answer.as_dict() == {"ok": True, "level": "ok", "message": "Take 2 CASE-A.", "code": ""}
    event = ScanEvent.objects.get()
    assert event == answer.event
    assert (event.user, event.warehouse, event.step, event.code, event.ok) == (
        user,
        world["cn"],
        "pick",
        "A-01-01-01",
        True,
    )
    assert (event.message, event.error_code, event.quantity, event.reference, event.wave) == (
        "Take 2 CASE-A.",
        "",
        2,
        "P-1",
        None,
    )


def test_a_warning_is_accepted_and_marked_as_one(world, make_user):
    answer = scan_record(
        user=make_user(),
        warehouse=world["cn"],
        step=ScanEvent.Step.SORT,
        code="CASE-A",
        do=lambda: ScanDone("Slot 3: order complete.", is_warning=True),
        reference="W-1",
    )
    assert (answer.level, answer.ok) == (WARNING, True)
    assert events() == [("sort", "CASE-A", True, "", None, "W-1")]


def test_a_refused_scan_is_recorded_with_the_error_s_message_and_code(world, make_user):
    def refuse() -> ScanDone:
        raise Conflict("CASE-B is not in this bin.", code="wrong_product", scan="CASE-B")

    answer = scan_record(
        user=make_user(), warehouse=world["cn"], step=ScanEvent.Step.PICK, code="CASE-B", do=refuse, reference="P-1"
    )

    assert answer.as_dict() == {
        "ok": False,
        "level": ERROR,
        "message": "CASE-B is not in this bin.",
        "code": "wrong_product",
    }
    event = ScanEvent.objects.get()
    assert (event.ok, event.message, event.error_code, event.reference, event.quantity) == (
        False,
        "CASE-B is not in this bin.",
        "wrong_product",
        "P-1",
        None,
    )


def test_a_text_too_long_for_a_barcode_is_refused_without_running_the_service(world, make_user):
    ran = []
    answer = scan_record(
        user=make_user(),
        warehouse=world["cn"],
        step=ScanEvent.Step.PACK,
        code="X" * 201,
        do=lambda: ran.append(1) or ScanDone("done"),
    )
    assert not ran
    assert (answer.level, answer.error_code) == (ERROR, "scan_too_long")
    assert answer.message == "That is not a barcode: 201 characters, at most 200."
    assert ScanEvent.objects.get().code == "X" * 200


def test_a_fault_that_is_no_refusal_is_not_taken_for_an_answer(world, make_user):
    def broken() -> ScanDone:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        scan_record(user=make_user(), warehouse=world["cn"], step=ScanEvent.Step.PACK, code="X", do=broken)
    assert not ScanEvent.objects.exists()


# --- login, warehouse, permissions -------------------------------------------------------------------------------


def log_in(client: Client, username: str) -> None:
    response = client.post("/scan/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/scan/", response.content.decode()[:500]


def test_the_warehouse_is_chosen_once_and_remembered_across_logins(world, make_user):
    make_user("Picker/packer", username="ming")
    client = Client()

    assert client.get("/scan/")["Location"] == "/scan/login/?next=/scan/"
    log_in(client, "ming")
    assert client.get("/scan/")["Location"] == "/scan/warehouse/?next=/scan/"
    page = client.get("/scan/warehouse/?next=/scan/").content.decode()
    assert "CN1" in page and "US1" in page

    refused = client.post("/scan/warehouse/?next=/scan/", {"code": "XX9"})
    assert refused.status_code == 200 and "No active warehouse has the code XX9." in refused.content.decode()
    chosen = client.post("/scan/warehouse/?next=/scan/", {"code": "cn1"})  # scanned or typed, in any case
    assert chosen["Location"] == "/scan/"
    assert ScanPreference.objects.get(user__username="ming").warehouse == world["cn"]

    menu = client.get("/scan/").content.decode()
    assert "CN1" in menu and 'href="/scan/hand-over/"' in menu
    assert client.post("/scan/logout/")["Location"] == "/scan/login/"
    assert client.get("/scan/")["Location"] == "/scan/login/?next=/scan/"

    again = Client()  # another phone: a new session
    log_in(again, "ming")
    menu = again.get("/scan/")
    assert menu.status_code == 200 and menu.context["warehouse"] == world["cn"]

    tapped = again.post("/scan/warehouse/", {"warehouse": world["us"].pk})  # or tapped in the list
    assert tapped["Location"] == "/scan/"
    assert ScanPreference.objects.get(user__username="ming").warehouse == world["us"]


def test_the_picker_packer_role_may_hand_over_and_print_but_not_open_manifests_by_hand(roles):
    picker = set(ROLES["Picker/packer"])
    assert {"warehouse.add_scanevent", "logistics.change_manifest", "logistics.view_manifest"} <= picker
    assert "logistics.add_manifest" not in picker
    assert {permission.codename for permission in roles["Picker/packer"].permissions.all()} >= {
        "add_scanevent",
        "change_manifest",
        "view_manifest",
    }


def test_a_person_without_the_floor_s_permission_gets_a_page_that_says_so(world, make_user):
    make_user("Customer service", username="lan")
    client = Client()
    log_in(client, "lan")

    for url in ("/scan/", "/scan/warehouse/", "/scan/hand-over/"):
        response = client.get(url)
        assert response.status_code == 403, url
        page = response.content.decode()
        assert "lan may not use this page." in page
        assert "Warehouse floor | scan | Can add scan" in page


def test_the_hand_over_needs_the_manifest_permission_and_the_menu_shows_only_what_a_person_may_do(
    world, make_user, roles
):
    counter = make_user(username="counter")
    counter.user_permissions.add(roles["Picker/packer"].permissions.get(codename="add_scanevent"))
    client = Client()
    log_in(client, "counter")
    client.post("/scan/warehouse/", {"code": "CN1"})

    menu = client.get("/scan/").content.decode()
    assert "/scan/hand-over/" not in menu
    refused = client.get("/scan/hand-over/")
    assert refused.status_code == 403
    assert "Logistics | manifest | Can change manifest" in refused.content.decode()


# --- hand over ---------------------------------------------------------------------------------------------------


@pytest.fixture
def parcels(world, post):
    return hand_over_parcels(world, post)


@pytest.fixture
def floor_client(world, make_user) -> Client:
    make_user("Picker/packer", username="ming")
    client = Client()
    log_in(client, "ming")
    client.post("/scan/warehouse/", {"code": "CN1"})
    return client


def test_hand_over_scans_parcels_into_the_open_manifest_refuses_what_must_not_go_and_closes_it(
    floor_client, parcels, post, world
):
    first, second = parcels["first"].tracking_number, parcels["second"].tracking_number

    assert floor_client.get("/scan/hand-over/")["Location"] == "/scan/hand-over/carrier/"
    started = floor_client.post("/scan/hand-over/carrier/", {"account": post.pk, "pickup": " afternoon van "})
    assert started["Location"] == "/scan/hand-over/"
    manifest = Manifest.objects.get()
    assert (manifest.account, manifest.warehouse, manifest.pickup, manifest.status) == (
        post,
        world["cn"],
        "afternoon van",
        "open",
    )
    page = floor_client.get("/scan/hand-over/").content.decode()
    assert manifest.number in page and "China Post 中国邮政 · afternoon van" in page

    def scan(code: str) -> dict:
        response = floor_client.post("/scan/hand-over/", {"code": code}, **JSON)
        assert response.status_code == 200
        return response.json()

    ok = scan(first)
    assert (ok["level"], ok["ok"], ok["scanned"]) == ("ok", True, first)
    assert ok["message"] == f"{first} into {manifest.number}: 1 parcel."
    assert '<span class="value" id="manifest-count">1</span>' in ok["state"]
    assert scan(second)["message"] == f"{second} into {manifest.number}: 2 parcels."
    again = scan(first)
    assert (again["level"], again["message"]) == ("warning", f"{first} is in {manifest.number} already: 2 parcels.")

    other = scan(parcels["other"].tracking_number)
    assert (other["level"], other["ok"], other["code"]) == ("error", False, "other_carrier")
    assert other["message"] == (
        f"{parcels['other'].tracking_number} goes with Shenzhen Courier 顺丰同城, not China Post 中国邮政: put it "
        "with its own carrier's parcels."
    )
    cancelled = scan(parcels["cancelled"].tracking_number)
    assert (cancelled["level"], cancelled["code"]) == ("error", "parcel_cancelled")
    unknown = scan("NO-SUCH-LABEL")
    assert (unknown["code"], unknown["message"]) == ("unknown_parcel", "No parcel has the label NO-SUCH-LABEL.")
    assert '<span class="value" id="manifest-count">2</span>' in unknown["state"]

    closed = scan("close")  # the command card, or typed in any case
    assert (closed["level"], closed["message"]) == ("ok", f"Manifest {manifest.number} handed over: 2 parcels.")
    assert f'href="/api/v1/manifests/{manifest.pk}/pdf/"' in closed["state"]
    manifest.refresh_from_db()
    assert (manifest.status, manifest.parcel_count, manifest.handed_over_by.username) == ("handed_over", 2, "ming")
    assert set(Shipment.objects.filter(manifest=manifest).values_list("status", flat=True)) == {"handed_over"}
    assert list(
        Order.objects.filter(channel_order_id__in=["H-1", "H-2", "H-3"])
        .order_by("channel_order_id")
        .values_list("status", flat=True)
    ) == ["shipped", "shipped", "allocated"]

    # The next scan opens a new manifest for the same carrier and pickup.
    third = scan(parcels["third"].tracking_number)
    newer = Manifest.objects.get(status="open")
    assert third["message"] == f"{parcels['third'].tracking_number} into {newer.number}: 1 parcel."

    n = manifest.number
    assert events() == [
        ("hand_over", first, True, "", 1, n),
        ("hand_over", second, True, "", 1, n),
        ("hand_over", first, True, "", None, n),
        ("hand_over", parcels["other"].tracking_number, False, "other_carrier", None, n),
        ("hand_over", parcels["cancelled"].tracking_number, False, "parcel_cancelled", None, n),
        ("hand_over", "NO-SUCH-LABEL", False, "unknown_parcel", None, n),
        ("hand_over", "close", True, "", 2, n),
        ("hand_over", parcels["third"].tracking_number, True, "", 1, newer.number),
    ]
    assert set(ScanEvent.objects.values_list("user__username", "warehouse__code")) == {("ming", "CN1")}


def test_closing_an_empty_manifest_is_refused_and_the_page_works_without_script(floor_client, parcels, post):
    floor_client.post("/scan/hand-over/carrier/", {"account": post.pk})

    # Without script the form posts, and the page it comes back to shows the answer.
    refused = floor_client.post("/scan/hand-over/", {"code": "", "command": "CLOSE"})
    assert refused["Location"] == "/scan/hand-over/"
    page = floor_client.get("/scan/hand-over/")
    assert page.context["answer"]["code"] == "manifest_empty"
    assert "answer answer-error" in page.content.decode()
    assert "has no parcels: scan them first." in page.content.decode()
    assert floor_client.get("/scan/hand-over/").context["answer"] is None  # shown once

    floor_client.post("/scan/hand-over/", {"code": parcels["first"].tracking_number})
    assert "answer answer-ok" in floor_client.get("/scan/hand-over/").content.decode()


def test_the_carrier_must_be_an_active_account(floor_client, post):
    post.is_active = False
    post.save()
    response = floor_client.post("/scan/hand-over/carrier/", {"account": post.pk})
    assert response.status_code == 200 and response.context["form"].errors["account"]
    assert not Manifest.objects.exists()


def test_a_hand_over_scan_runs_a_fixed_number_of_queries_however_many_came_before(
    floor_client, parcels, post, django_assert_max_num_queries
):
    floor_client.post("/scan/hand-over/carrier/", {"account": post.pk})
    for code in ("NO-SUCH-1", "NO-SUCH-2", parcels["first"].tracking_number, parcels["first"].tracking_number):
        floor_client.post("/scan/hand-over/", {"code": code}, **JSON)

    # Session, user, permissions (2), warehouse, account, manifest, the parcel, its move into the manifest (6), the
    # count, the scan's row, and the page's state (manifest, count, last scans); a refusal no more.
    with django_assert_max_num_queries(19):
        accepted = floor_client.post("/scan/hand-over/", {"code": parcels["second"].tracking_number}, **JSON)
    assert accepted.json()["level"] == "ok"
    with django_assert_max_num_queries(19):
        refused = floor_client.post("/scan/hand-over/", {"code": parcels["other"].tracking_number}, **JSON)
    assert refused.json()["code"] == "other_carrier"
