"""Shipments, labels, tracking events, manifests and live rates through the API: a parcel shipped with the
self-printed carrier, the list's filters, labels downloaded (reprints logged) and printed as one file in the order
given, cancel before and after hand-over, a manifest opened, scanned, handed over and printed, and the carriers'
refusals in the one error shape."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from core.simulators import SimulatorServer
from logistics.models import CarrierAccount, LabelPrint, Manifest, Shipment
from logistics.shipments import shipment_cancel, shipments_track
from logistics.simulators.easypost import EasyPostSimulator
from orders.models import Order
from tests.logistics.parcels import allocated, shipped
from tests.logistics.test_easypost import API_KEY as EASYPOST_KEY
from tests.logistics.test_easypost import account_for as easypost_account
from tests.logistics.test_shipments import pdf_text
from tests.logistics.test_yunexpress import account_for

pytestmark = pytest.mark.django_db

RECIPIENT = {"name": "Jane Roe", "address1": "1 Main St", "city": "Springfield", "postcode": "62701", "country": "US"}


def error_fields(response) -> list[str]:
    return [error.get("field") for error in response.json()["errors"]]


def test_a_parcel_is_shipped_through_the_api_once(admin_api, world, post):
    [parcel] = allocated(world, "S-1")
    listed = admin_api.get("/api/v1/parcels/", {"search": parcel.number})
    assert listed.status_code == 200, listed.json()
    [row] = listed.json()["results"]
    assert (row["id"], row["number"], row["shipping_method"]) == (parcel.pk, parcel.number, "YT-STD")
    assert row["shipments"] == []

    without = admin_api.post(f"/api/v1/parcels/{parcel.pk}/ship/", {}, format="json")
    assert without.status_code == 409 and without.json()["code"] == "method_without_account"

    made = admin_api.post(f"/api/v1/parcels/{parcel.pk}/ship/", {"account": post.pk}, format="json")

    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["status"], body["carrier"], body["account"], body["parcel_number"]) == (
        "label_ready",
        "self",
        post.pk,
        parcel.number,
    )
    assert body["tracking_number"] == "RR000000014CN"  # the range's first number with its S10 check digit
    assert (body["has_label"], body["label_format"], body["print_count"]) == (True, "pdf", 0)
    assert [line["sku"] for line in body["customs_lines"]] == ["CASE-A"]
    assert [event["to_status"] for event in body["events"]] == ["created", "label_ready"]
    assert "label" not in body

    again = admin_api.post(f"/api/v1/parcels/{parcel.pk}/ship/", {"account": "China Post 中国邮政"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert Shipment.objects.filter(parcel=parcel).count() == 1
    assert admin_api.get(f"/api/v1/parcels/{parcel.pk}/").json()["shipments"][0]["id"] == body["id"]

    unknown = admin_api.post(f"/api/v1/parcels/{parcel.pk}/ship/", {"account": "Nobody Post"}, format="json")
    assert unknown.status_code == 400 and error_fields(unknown) == ["account"]


def test_a_parcel_ships_with_its_methods_account_when_none_is_given(admin_api, world, post):
    world["method"].account = post  # what the method's page sets (the API's methods do not take it yet)
    world["method"].save()
    [parcel] = allocated(world, "S-2")

    made = admin_api.post(f"/api/v1/parcels/{parcel.pk}/ship/", {}, format="json")

    assert made.status_code == 201, made.json()
    assert (made.json()["account"], made.json()["account_name"]) == (post.pk, "China Post 中国邮政")


def test_the_list_filters_by_carrier_status_date_tracking_number_and_more(admin_api, world, post, yun):
    first, second = shipped(world, post, "F-1", "F-2")
    [by_yun] = shipped(world, account_for(yun), "F-3")
    shipment_cancel(shipment=second)
    Shipment.objects.filter(pk=first.pk).update(created_at=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))

    def numbers(**query) -> list[str]:
        response = admin_api.get("/api/v1/shipments/", query)
        assert response.status_code == 200, response.json()
        return [row["number"] for row in response.json()["results"]]

    assert numbers() == [by_yun.number, second.number, first.number]  # newest first
    assert numbers(carrier="self") == [second.number, first.number]
    assert numbers(carrier="yunexpress") == [by_yun.number]
    assert numbers(account=post.pk) == [second.number, first.number]
    assert numbers(status="cancelled") == [second.number]
    assert numbers(status=["cancelled", "label_ready"]) == [by_yun.number, second.number, first.number]
    assert numbers(created_before="2026-03-02") == [first.number]
    assert numbers(created_after="2026-03-02") == [by_yun.number, second.number]
    assert numbers(tracking_number=first.tracking_number) == [first.number]
    assert numbers(tracking_number=first.tracking_number[:-2]) == []  # exact, not a prefix
    assert numbers(parcel=first.parcel.number) == [first.number]
    assert numbers(reference="F-3") == [by_yun.number]
    assert numbers(search="F-2") == [second.number]

    refused = admin_api.get("/api/v1/shipments/", {"created_after": "yesterday", "status": "lost"})
    assert refused.status_code == 400
    assert sorted(error_fields(refused)) == ["created_after", "status"]
    assert admin_api.get("/api/v1/shipments/", {"account": 2**70}).status_code == 400

    rows = admin_api.get("/api/v1/shipments/").json()["results"]
    assert all("label" not in row and "customs_lines" not in row for row in rows)
    assert [row["has_label"] for row in rows] == [True, True, True]


def test_the_list_reads_as_many_queries_for_one_shipment_as_for_many(admin_api, world, post):
    shipped(world, post, "Q-1")
    with CaptureQueriesContext(connection) as one:
        assert admin_api.get("/api/v1/shipments/").status_code == 200
    shipped(world, post, "Q-2", "Q-3", "Q-4")
    with CaptureQueriesContext(connection) as four:
        assert len(admin_api.get("/api/v1/shipments/").json()["results"]) == 4
    assert len(four) == len(one)


def test_a_label_downloads_as_its_pdf_and_the_second_download_is_a_reprint(admin_api, world, post, tmp_path):
    [shipment] = shipped(world, post, "D-1")

    first = admin_api.get(f"/api/v1/shipments/{shipment.pk}/label/")

    assert first.status_code == 200
    assert first["Content-Type"] == "application/pdf"
    assert first["Content-Disposition"] == f'attachment; filename="{shipment.tracking_number}.pdf"'
    assert shipment.tracking_number in pdf_text(first.content, tmp_path)
    second = admin_api.get(f"/api/v1/shipments/{shipment.pk}/label/", {"reason": "label smudged"})
    assert second.status_code == 200 and second.content == first.content
    prints = list(LabelPrint.objects.filter(shipment=shipment).order_by("pk").values_list("reprint", "reason"))
    assert prints == [(False, ""), (True, "label smudged")]
    as_bytes = admin_api.get(f"/api/v1/shipments/{shipment.pk}/label/", HTTP_ACCEPT="application/octet-stream")
    assert as_bytes["Content-Type"] == "application/octet-stream" and as_bytes.content == first.content
    detail = admin_api.get(f"/api/v1/shipments/{shipment.pk}/").json()
    assert detail["print_count"] == 3 and detail["last_printed_at"] is not None

    shipment_cancel(shipment=shipment)
    cancelled = admin_api.get(f"/api/v1/shipments/{shipment.pk}/label/")
    assert cancelled.status_code == 409 and cancelled.json()["code"] == "not_printable"
    assert shipment.tracking_number in cancelled.json()["message"]


def test_a_shipment_without_a_label_answers_404_in_the_error_shape(admin_api, world, yun):
    account = account_for(yun)
    yun.fault("/api/WayBill/CreateOrder", status=503, times=1)
    [waiting] = shipped(world, account, "N-1")
    assert waiting.status == Shipment.Status.CREATED

    response = admin_api.get(f"/api/v1/shipments/{waiting.pk}/label/")

    assert response.status_code == 404
    assert response.json()["code"] == "no_label" and waiting.number in response.json()["message"]
    assert not LabelPrint.objects.exists()

    refreshed = admin_api.post(f"/api/v1/shipments/{waiting.pk}/refresh-label/")
    assert refreshed.status_code == 200, refreshed.json()
    assert refreshed.json()["status"] == "label_ready" and refreshed.json()["has_label"]


def test_many_labels_print_as_one_file_in_the_order_given(admin_api, world, post, tmp_path):
    shipments = shipped(world, post, "W-1", "W-2", "W-3")
    wave = [shipments[2], shipments[0], shipments[1]]

    response = admin_api.post(
        "/api/v1/shipments/labels/",
        {"shipments": [shipment.pk for shipment in wave], "batch": "WAVE-7"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    texts = [page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages]
    firsts = [next(i for i, text in enumerate(texts) if shipment.tracking_number in text) for shipment in wave]
    assert firsts == sorted(firsts) and len(texts) == 6  # each a label page and its CN22, in the order given
    assert LabelPrint.objects.filter(batch="WAVE-7", reprint=False).count() == 3

    shipment_cancel(shipment=shipments[1])
    refused = admin_api.post(
        "/api/v1/shipments/labels/", {"shipments": [shipments[0].pk, shipments[1].pk]}, format="json"
    )
    assert refused.status_code == 400 and error_fields(refused) == ["shipments[1]"]
    assert shipments[1].tracking_number in refused.json()["message"]
    unknown = admin_api.post(
        "/api/v1/shipments/labels/",
        {"shipments": [shipments[0].pk, 2**62, shipments[0].number, "SHP-NONE"]},
        format="json",
    )
    assert unknown.status_code == 400
    assert error_fields(unknown) == ["shipments[1]", "shipments[2]", "shipments[3]"]  # twice, and two unknown
    assert LabelPrint.objects.count() == 3  # nothing printed by the refusals


def test_a_shipment_is_cancelled_before_hand_over_and_refused_after(admin_api, world, post):
    before, after = shipped(world, post, "C-1", "C-2")

    cancelled = admin_api.post(f"/api/v1/shipments/{before.pk}/cancel/", {"note": "buyer asked"}, format="json")

    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["events"][-1]["note"] == "buyer asked"

    manifest = admin_api.post("/api/v1/manifests/", {"account": post.pk}, format="json").json()
    admin_api.post(f"/api/v1/manifests/{manifest['id']}/scan/", {"code": after.tracking_number}, format="json")
    assert admin_api.post(f"/api/v1/manifests/{manifest['id']}/close/").status_code == 200
    refused = admin_api.post(f"/api/v1/shipments/{after.pk}/cancel/", {}, format="json")
    assert refused.status_code == 409
    assert set(refused.json()) >= {"message", "code", "errors"}
    assert refused.json()["code"] == "invalid_transition"
    assert Shipment.objects.get(pk=after.pk).status == Shipment.Status.HANDED_OVER


def test_a_carrier_that_cannot_be_reached_when_voiding_answers_502(admin_api, world, yun):
    [shipment] = shipped(world, account_for(yun), "U-1")
    yun.fault("/api/WayBill/Delete", status=503, times=1)

    response = admin_api.post(f"/api/v1/shipments/{shipment.pk}/cancel/", {}, format="json")

    assert response.status_code == 502
    assert response.json()["code"] == "carrier_unavailable"
    assert Shipment.objects.get(pk=shipment.pk).status == Shipment.Status.LABEL_READY


def test_a_manifest_is_opened_scanned_handed_over_and_printed(admin_api, world, post, tmp_path):
    kept, taken_out, cancelled = shipped(world, post, "M-1", "M-2", "M-3")
    shipment_cancel(shipment=cancelled)
    body = {"account": post.pk, "warehouse": "cn1", "pickup": "afternoon van"}

    opened = admin_api.post("/api/v1/manifests/", body, format="json")

    assert opened.status_code == 201, opened.json()
    manifest = opened.json()
    assert (manifest["status"], manifest["warehouse_code"], manifest["shipment_count"]) == ("open", "CN1", 0)
    again = admin_api.post("/api/v1/manifests/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == manifest["id"]

    url = f"/api/v1/manifests/{manifest['id']}"
    for shipment in (kept, taken_out):
        scanned = admin_api.post(f"{url}/scan/", {"code": shipment.tracking_number}, format="json")
        assert scanned.status_code == 200, scanned.json()
        assert scanned.json()["manifest_number"] == manifest["number"]
    refused = admin_api.post(f"{url}/scan/", {"code": cancelled.tracking_number}, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "parcel_cancelled"
    assert cancelled.tracking_number in refused.json()["message"]
    assert refused.json()["context"]["scan"] == cancelled.tracking_number
    unknown = admin_api.post(f"{url}/scan/", {"code": "NO-SUCH-LABEL"}, format="json")
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_parcel"
    assert unknown.json()["context"] == {"scan": "NO-SUCH-LABEL"}
    assert error_fields(admin_api.post(f"{url}/scan/", {"code": ""}, format="json")) == ["code"]

    removed = admin_api.post(f"{url}/remove/", {"shipment": taken_out.number}, format="json")
    assert [row["number"] for row in removed.json()["shipments"]] == [kept.number]
    assert admin_api.get("/api/v1/manifests/", {"status": "open", "warehouse": "CN1"}).json()["count"] == 1

    closed = admin_api.post(f"{url}/close/")

    assert closed.status_code == 200, closed.json()
    assert (closed.json()["status"], closed.json()["parcel_count"], closed.json()["total_weight_g"]) == (
        "handed_over",
        1,
        200,
    )
    assert Order.objects.get(channel_order_id="M-1").status == Order.Status.SHIPPED
    assert Shipment.objects.get(pk=taken_out.pk).status == Shipment.Status.LABEL_READY
    listed = admin_api.get("/api/v1/manifests/", {"carrier": "self", "status": "handed_over"}).json()["results"]
    assert [row["number"] for row in listed] == [manifest["number"]]
    late = admin_api.post(f"{url}/scan/", {"code": taken_out.tracking_number}, format="json")
    assert late.status_code == 409 and late.json()["code"] == "manifest_closed"

    pdf = admin_api.get(f"{url}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content, tmp_path)
    assert manifest["number"] in text and kept.tracking_number in text
    document = admin_api.get(f"{url}/carrier-document/")
    assert document.status_code == 404 and document.json()["code"] == "no_document"
    assert Manifest.objects.get(pk=manifest["id"]).handed_over_by is not None


def test_tracking_events_are_listed_and_shown_with_their_shipment(admin_api, world, yun):
    account = account_for(yun)
    [shipment] = shipped(world, account, "T-1")
    manifest = admin_api.post("/api/v1/manifests/", {"account": account.pk}, format="json").json()
    admin_api.post(f"/api/v1/manifests/{manifest['id']}/scan/", {"code": shipment.number}, format="json")
    admin_api.post(f"/api/v1/manifests/{manifest['id']}/close/")
    yun.move(shipment.parcel.number, 3, "Delivered 已签收", "2026-11-27T15:30:00")
    shipments_track()

    events = admin_api.get("/api/v1/tracking-events/", {"shipment": shipment.pk})

    assert events.status_code == 200, events.json()
    assert [(row["kind"], row["description"]) for row in events.json()["results"]][:1] == [
        ("delivered", "Delivered 已签收")
    ]
    detail = admin_api.get(f"/api/v1/shipments/{shipment.pk}/").json()
    assert detail["status"] == "delivered"
    assert [row["id"] for row in detail["tracking_events"]] == sorted(row["id"] for row in events.json()["results"])
    assert admin_api.get("/api/v1/tracking-events/", {"shipment": shipment.pk + 1}).json()["count"] == 0


def test_live_rates_of_the_self_printed_carrier_are_none_and_a_bad_body_names_its_fields(admin_api, world, post):
    url = f"/api/v1/carrier-accounts/{post.pk}/rates/"

    response = admin_api.post(
        url,
        {"recipient": RECIPIENT, "weight_g": 250, "length_mm": 200, "height_mm": 40, "method": "YT-STD"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json() == []

    bad = admin_api.post(
        url, {"recipient": {**RECIPIENT, "country": "XX"}, "weight_g": 0, "method": "NOPE"}, format="json"
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_failed"
    assert sorted(error_fields(bad)) == ["method", "recipient.country", "weight_g"]
    missing = admin_api.post(url, {"recipient": {"name": "Jane"}}, format="json")
    assert sorted(error_fields(missing)) == ["recipient.country", "weight_g"]


def test_live_rates_come_from_the_carrier_as_decimal_strings_and_its_silence_is_a_502(admin_api, world):
    simulator = EasyPostSimulator(api_key=EASYPOST_KEY)
    with SimulatorServer(simulator) as server:
        simulator.url = server.url
        account = easypost_account(simulator)
        url = f"/api/v1/carrier-accounts/{account.pk}/rates/"

        response = admin_api.post(url, {"recipient": RECIPIENT, "weight_g": 1000}, format="json")

        assert response.status_code == 200, response.json()
        [asked] = simulator.shipments.values()
        assert asked["to_address"]["zip"] == "62701" and not simulator.purchased()  # asked, nothing bought
        priority = next(rate for rate in asked["rates"] if rate["service"] == "Priority")
        assert {
            "service": "USPS:Priority",
            "amount": str(Decimal(priority["rate"])),
            "currency": "USD",
            "delivery_days": 2,
            "carrier_rate_id": priority["id"],
            "description": "USPS Priority",
        } in response.json()

        simulator.fault("/v2/shipments", status=429, body={"error": {"code": "RATE_LIMITED", "message": "Slow down"}})
        unavailable = admin_api.post(url, {"recipient": RECIPIENT, "weight_g": 1000}, format="json")

    assert unavailable.status_code == 502
    assert unavailable.json()["code"] == "carrier_unavailable"


def test_rates_for_a_carrier_seabridge_cannot_speak_to_are_refused_clearly(admin_api):
    yanwen = CarrierAccount.objects.create(carrier="yanwen", name="Yanwen")

    response = admin_api.post(
        f"/api/v1/carrier-accounts/{yanwen.pk}/rates/", {"recipient": RECIPIENT, "weight_g": 100}, format="json"
    )

    assert response.status_code == 409 and response.json()["code"] == "carrier_not_supported"


def test_a_packer_prints_labels_but_may_not_cancel(api_client_for, world, post):
    [shipment] = shipped(world, post, "R-1")
    packer = api_client_for("Picker/packer")

    assert packer.get("/api/v1/shipments/").status_code == 200
    assert packer.get(f"/api/v1/shipments/{shipment.pk}/label/").status_code == 200
    refused = packer.post(f"/api/v1/shipments/{shipment.pk}/cancel/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert packer.post("/api/v1/manifests/", {"account": post.pk}, format="json").status_code == 403
