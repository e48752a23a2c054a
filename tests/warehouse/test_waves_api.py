"""Waves in the API: made from criteria (refused naming each bad field), previewed without a write, released (the
pick path in walking order, the orders in picking, the labels queued after commit), labelled, printed as a PDF,
assigned to a picker; who may do what; and the scan log."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from core.errors import Conflict
from orders.models import Order
from tests.logistics.test_shipments import pdf_text
from tests.orders.factories import line_in
from tests.warehouse.floor import criteria, orders
from warehouse.models import ScanEvent, Wave, WaveParcel
from warehouse.picking import pick_item, pick_next, pick_start
from warehouse.scans import ScanDone, scan_record
from warehouse.waves import wave_create, wave_release

pytestmark = pytest.mark.django_db

WAVES = "/api/v1/waves/"


@pytest.fixture
def manager(api_client_for):
    return api_client_for("Warehouse manager")


def two_orders(world) -> None:
    """R-1 (2 CASE-A and 1 CABLE-B, several SKUs) and R-2 (2 CASE-A, one SKU)."""
    orders(
        world,
        ("R-1", [line_in("L1", "CASE-A", 2), line_in("L2", "CABLE-B", 1)]),
        ("R-2", [line_in("L1", "CASE-A", 2)]),
    )


def test_a_wave_is_made_from_criteria_and_answers_201_with_its_parcels(manager, world, floor):
    two_orders(world)

    made = manager.post(WAVES, {"warehouse": "cn1", "shape": "single_sku", "method_ids": [world["method"].pk]})

    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["number"].startswith("WAV") and body["status"] == "draft" and body["shape"] == "single_sku"
    assert (body["warehouse_code"], body["parcel_count"], body["line_count"], body["unit_count"]) == ("CN1", 1, 1, 2)
    assert [(row["position"], row["orders"], row["units"], row["status"]) for row in body["parcels"]] == [
        (1, ["R-2"], 2, "waiting")
    ]
    assert body["tasks"] == [] and body["progress"] == {"stops": 0, "stops_done": 0, "units": 0, "units_picked": 0}
    wave = Wave.objects.get(pk=body["id"])
    assert (
        wave.criteria["method_ids"] == [world["method"].pk]
        and wave.parcels.get().parcel.number == (body["parcels"][0]["parcel_number"])
    )

    again = manager.post(WAVES, {"warehouse": world["cn"].pk, "shape": "single_sku"})
    assert again.status_code == 409 and again.json()["code"] == "wave_empty"  # R-2 is in the first wave


def test_bad_criteria_are_refused_naming_each_field_and_nothing_is_made(manager, world, floor):
    two_orders(world)

    refused = manager.post(
        WAVES,
        {
            "warehouse": "NOWHERE",
            "shape": "round",
            "method_ids": [world["method"].pk, 999_999],
            "store_ids": "all",
            "max_parcels": 0,
            "max_lines": 0,
            "ship_by_before": "soon",
        },
    )

    assert refused.status_code == 400
    fields = sorted(error["field"] for error in refused.json()["errors"])
    assert fields == [
        "max_lines",
        "max_parcels",
        "method_ids[1]",
        "shape",
        "ship_by_before",
        "store_ids",
        "warehouse",
    ]
    messages = {error["field"]: error["message"] for error in refused.json()["errors"]}
    assert messages["method_ids[1]"] == "No shipping method has id 999999."
    assert messages["warehouse"] == "No warehouse has code NOWHERE."
    assert Wave.objects.count() == 0


def test_candidates_preview_what_a_wave_would_take_without_making_one(manager, world, floor):
    two_orders(world)
    orders(world, ("R-3", [line_in("L1", "CABLE-B", 1)]))

    preview = manager.get(f"{WAVES}candidates/", {"warehouse": "CN1", "limit": 2})

    assert preview.status_code == 200, preview.json()
    body = preview.json()
    assert body["count"] == 3 and len(body["parcels"]) == 2
    assert body["parcels"][0]["shipping_method_code"] == world["method"].code
    singles = manager.get(f"{WAVES}candidates/", {"warehouse": world["cn"].pk, "shape": "single_item"}).json()
    assert singles["count"] == 1 and [(p["orders"], p["skus"], p["units"]) for p in singles["parcels"]] == [
        (["R-3"], 1, 1)
    ]
    by_method = {"warehouse": "CN1", "method_ids": [world["method"].pk, world["method"].pk]}
    assert manager.get(f"{WAVES}candidates/", by_method).json()["count"] == 3
    unknown = manager.get(f"{WAVES}candidates/", {"warehouse": "CN1", "carrier_ids": 999_999})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "carrier_ids[0]"
    assert manager.get(f"{WAVES}candidates/").json()["errors"][0]["field"] == "warehouse"
    assert Wave.objects.count() == 0


def test_release_builds_the_path_in_walking_order_moves_orders_to_picking_and_queues_labels(
    manager, world, floor, django_capture_on_commit_callbacks
):
    two_orders(world)
    wave = wave_create(criteria=criteria(world))

    with django_capture_on_commit_callbacks(execute=False) as queued:
        released = manager.post(f"{WAVES}{wave.pk}/release/", {})

    assert released.status_code == 200, released.json()
    body = released.json()
    assert body["status"] == "released" and body["cart_bin_code"] == f"CART-{wave.number}"
    assert [(task["sequence"], task["bin_code"], task["sku"], task["quantity"]) for task in body["tasks"]] == [
        (1, "B-01-01-01", "CASE-A", 1),
        (2, "A-01-01-02", "CABLE-B", 1),
        (3, "A-01-01-01", "CASE-A", 3),
    ]
    assert body["progress"] == {"stops": 3, "stops_done": 0, "units": 5, "units_picked": 0}
    assert [row["orders"] for row in body["parcels"]] == [["R-1"], ["R-2"]]
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.PICKING}
    assert len(queued) == 1  # the labels, made by a Celery task once the release is committed

    again = manager.post(f"{WAVES}{wave.pk}/release/", {})
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"

    made = manager.post(f"{WAVES}{wave.pk}/labels/")
    assert made.status_code == 200 and made.json() == {"ready": 2, "waiting": 0, "refused": 0}

    listed = manager.get(WAVES, {"warehouse": "CN1", "status": "released"}).json()["results"]
    assert [(row["number"], row["units_to_pick"], row["units_picked"]) for row in listed] == [(wave.number, 5, 0)]
    assert manager.get(WAVES, {"status": "draft"}).json()["results"] == []


def test_the_pick_list_is_a_pdf_with_the_wave_and_its_bins(api_client_for, world, floor, tmp_path):
    two_orders(world)
    wave = wave_release(wave=wave_create(criteria=criteria(world)))
    picker = api_client_for("Picker/packer")

    pdf = picker.get(f"{WAVES}{wave.pk}/pick-list/")

    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(PdfReader(io.BytesIO(pdf.content)).pages) == 1
    text = pdf_text(pdf.content, tmp_path)
    assert wave.number in text and text.index("B-01-01-01") < text.index("A-01-01-02") < text.index("A-01-01-01")
    as_bytes = picker.get(f"{WAVES}{wave.pk}/pick-list/", HTTP_ACCEPT="application/octet-stream")
    assert as_bytes["Content-Type"] == "application/octet-stream" and as_bytes.content.startswith(b"%PDF")


def test_a_wave_is_assigned_to_a_picker_who_may_pick_and_only_they_start_it(manager, make_user, world, floor):
    two_orders(world)
    wave = wave_release(wave=wave_create(criteria=criteria(world)))
    picker, other = make_user("Picker/packer"), make_user("Picker/packer")
    buyer = make_user("Purchaser")

    assigned = manager.post(f"{WAVES}{wave.pk}/assign/", {"picker": picker.username})

    assert assigned.status_code == 200 and assigned.json()["picker_username"] == picker.username
    assert manager.get(WAVES, {"picker": picker.username}).json()["results"][0]["id"] == wave.pk
    assert manager.get(WAVES, {"picker": str(other.pk)}).json()["results"] == []
    refused = manager.post(f"{WAVES}{wave.pk}/assign/", {"picker": buyer.pk})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "picker"
    assert "may not pick" in refused.json()["errors"][0]["message"]
    unknown = manager.post(f"{WAVES}{wave.pk}/assign/", {"picker": "nobody"})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["message"] == "No user has username nobody."
    with pytest.raises(Conflict) as taken:
        pick_start(wave=wave, user=other)
    assert taken.value.code == "wave_assigned"
    unassigned = manager.post(f"{WAVES}{wave.pk}/assign/", {"picker": None})
    assert unassigned.status_code == 200 and unassigned.json()["picker"] is None
    Wave.objects.filter(pk=wave.pk).update(status=Wave.Status.DONE)
    done = manager.post(f"{WAVES}{wave.pk}/assign/", {"picker": picker.pk})
    assert done.status_code == 409 and done.json()["code"] == "wave_not_assignable"


def test_pickers_see_waves_but_only_managers_make_release_and_assign_them(api_client_for, world, floor):
    two_orders(world)
    wave = wave_create(criteria=criteria(world, shape="single_sku"))
    picker, buyer = api_client_for("Picker/packer"), api_client_for("Purchaser")

    assert picker.get(WAVES).status_code == 200 and picker.get(f"{WAVES}{wave.pk}/").status_code == 200
    assert picker.post(WAVES, {"warehouse": "CN1"}).status_code == 403
    assert picker.post(f"{WAVES}{wave.pk}/release/", {}).status_code == 403
    assert picker.post(f"{WAVES}{wave.pk}/assign/", {"picker": None}).status_code == 403
    assert picker.post(f"{WAVES}{wave.pk}/labels/").status_code == 403
    assert buyer.get(WAVES).status_code == 403 and buyer.get("/api/v1/productivity/").status_code == 403
    assert WaveParcel.objects.get().status == WaveParcel.Status.WAITING


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_wave_list_and_a_wave_run_the_same_queries_however_many_rows(manager, world, floor):
    orders(world, *[(f"Q-{n}", [line_in("L1", "CASE-A", 1)]) for n in range(8)])
    small = wave_release(wave=wave_create(criteria=criteria(world, max_parcels=1)))
    one_wave = queries(manager, WAVES)
    small_wave = queries(manager, f"{WAVES}{small.pk}/")

    big = wave_release(wave=wave_create(criteria=criteria(world, max_parcels=5)))
    wave_create(criteria=criteria(world, max_parcels=1))
    wave_create(criteria=criteria(world, max_parcels=1))
    assert big.parcel_count == 5 and Wave.objects.count() == 4
    assert queries(manager, WAVES) == one_wave
    assert queries(manager, f"{WAVES}{big.pk}/") == small_wave


def test_the_scan_log_filters_by_person_step_result_and_day(manager, make_user, world, floor):
    orders(world, ("S-1", [line_in("L1", "CABLE-B", 2)]))
    wave = wave_release(wave=wave_create(criteria=criteria(world)))
    picker = make_user("Picker/packer", username="li.na")
    pick_start(wave=wave, user=picker)
    task = pick_next(wave)

    def pick(code: str, quantity: int):
        return scan_record(
            user=picker,
            warehouse=world["cn"],
            step=ScanEvent.Step.PICK,
            code=code,
            wave=wave,
            do=lambda: ScanDone(
                message=pick_item(wave=wave, task_id=task.pk, code=code, quantity=quantity, user=picker).message,
                quantity=quantity,
                wave=wave,
            ),
        )

    assert not pick("CASE-A", 1).ok and pick("CABLE-B", 2).ok

    listed = manager.get("/api/v1/scans/", {"user": "li.na", "step": "pick", "ok": "false"})
    assert listed.status_code == 200
    assert [(row["code"], row["ok"], row["error_code"], row["wave_number"]) for row in listed.json()["results"]] == [
        ("CASE-A", False, "wrong_item", wave.number)
    ]
    today = timezone.localdate(ScanEvent.objects.first().created_at).isoformat()
    everything = manager.get("/api/v1/scans/", {"warehouse": "CN1", "date_from": today, "date_to": today}).json()
    assert [row["code"] for row in everything["results"]] == ["CABLE-B", "CASE-A"]  # newest first
    assert manager.get("/api/v1/scans/", {"date_from": "2000-01-01", "date_to": "2000-01-02"}).json()["results"] == []
    assert manager.get("/api/v1/scans/", {"search": "CABLE-B"}).json()["results"][0]["quantity"] == 2
    two_scans = queries(manager, "/api/v1/scans/")
    for _ in range(5):
        pick("CASE-A", 1)
    assert queries(manager, "/api/v1/scans/") == two_scans
