"""Purchase order API: who may do what, create and change drafts, submit and cancel, the PDF, export and import of
lines (a bad row named, nothing saved), drafts from suggestions, filters and the list's query budget."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook, load_workbook

from core.status import status_transition
from inventory.models import Transfer
from purchasing.models import PurchaseOrder, PurchaseOrderLine, Suggestion
from purchasing.orders import PO_STATUS, purchase_order_create, purchase_order_submit
from purchasing.po_resources import EXPORT_COLUMNS
from tests.inventory.factories import ProductFactory
from tests.purchasing.factories import SupplierFactory, SupplierProductFactory
from tests.purchasing.test_purchase_orders import suggestion_make, world_make

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/purchase-orders/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def world():
    world = world_make()
    world.case = ProductFactory(sku="CASE-1", name="Phone case")
    world.cable = ProductFactory(sku="CABLE-2", name="USB cable")
    world.case_at_acme = SupplierProductFactory(
        supplier=world.acme, product=world.case, supplier_sku="AC-1", unit_cost=Decimal("12.5")
    )
    return world


@pytest.fixture
def purchaser(api_client_for):
    return api_client_for("Purchaser")


def draft(world, **fields):
    return purchase_order_create(
        supplier=world.acme, warehouse=world.shenzhen, lines=[(world.case, 10, None)], **fields
    )


def errors_of(response) -> list[tuple[str | None, str]]:
    return [(error.get("field"), error["code"]) for error in response.json()["errors"]]


# --- Who may do what ----------------------------------------------------------------------------------------------


def test_a_purchaser_creates_orders_and_a_picker_packer_may_not(api_client_for, world):
    picker = api_client_for("Picker/packer")
    body = {"supplier": "Acme Plastics", "warehouse": "sz", "lines": [{"product": "case-1", "quantity": 5}]}
    assert picker.post(ORDERS, body).status_code == 403
    assert picker.get(ORDERS).status_code == 403
    assert PurchaseOrder.objects.count() == 0

    purchaser = api_client_for("Purchaser")
    response = purchaser.post(ORDERS, body)
    assert response.status_code == 201, response.json()
    created = response.json()
    order = PurchaseOrder.objects.get()
    assert (created["id"], created["number"], created["status"]) == (order.pk, order.number, "draft")
    assert (created["supplier_name"], created["warehouse_code"], created["currency"]) == ("Acme Plastics", "SZ", "CNY")
    assert [(line["sku"], line["supplier_sku"], line["quantity"], line["unit_cost"]) for line in created["lines"]] == [
        ("CASE-1", "AC-1", 5, "12.5000")
    ]
    assert created["events"][0]["to_status"] == "draft" and created["events"][0]["user"] == purchaser.user.pk
    assert order.created_by == purchaser.user

    order_url = f"{ORDERS}{order.pk}/"
    assert picker.post(f"{order_url}submit/").status_code == 403
    assert picker.get(f"{order_url}pdf/").status_code == 403
    manager = api_client_for("Warehouse manager")
    assert manager.get(order_url).status_code == 200
    assert manager.post(f"{order_url}submit/").status_code == 403
    assert manager.post(ORDERS, body).status_code == 403


def test_anonymous_is_told_to_authenticate(anonymous_api):
    response = anonymous_api.get(ORDERS)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- Create, read, change -----------------------------------------------------------------------------------------


def test_create_reports_every_problem_with_its_field(purchaser, world):
    response = purchaser.post(
        ORDERS,
        {
            "supplier": "Acme Plastics",
            "warehouse": "SZ",
            "lines": [
                {"product": "CASE-1", "quantity": 2},
                {"product": "CABLE-2", "quantity": 3},
                {"product": "NOPE-9", "quantity": 1},
                {"product": "CASE-1", "quantity": 0},
            ],
        },
    )
    assert response.status_code == 400
    assert errors_of(response) == [("lines[2].product", "no_code"), ("lines[3].quantity", "min_value")]
    response = purchaser.post(
        ORDERS,
        {"supplier": "Acme Plastics", "warehouse": "SZ", "lines": [{"product": "CABLE-2", "quantity": 3}]},
    )
    assert response.status_code == 400
    assert errors_of(response) == [("lines[0].unit_cost", "required")]
    assert response.json()["errors"][0]["message"] == (
        "Acme Plastics has no supplier product for CABLE-2; give the unit cost."
    )
    assert purchaser.post(ORDERS, {"supplier": 10**30, "warehouse": "SZ"}).status_code == 400
    assert PurchaseOrder.objects.count() == 0


def test_retrieve_shows_lines_with_open_quantities_and_the_history(purchaser, world):
    order = draft(world)
    purchase_order_submit(purchase_order=order)
    PurchaseOrderLine.objects.filter(purchase_order=order).update(quantity_received=4, quantity_rejected=1)
    status_transition(machine=PO_STATUS, document=order, to_status="partially_received", note="First carton")
    body = purchaser.get(f"{ORDERS}{order.pk}/").json()
    (line,) = body["lines"]
    assert {
        key: line[key] for key in ("sku", "quantity", "quantity_received", "quantity_rejected", "quantity_open")
    } == {
        "sku": "CASE-1",
        "quantity": 10,
        "quantity_received": 4,
        "quantity_rejected": 1,
        "quantity_open": 6,
    }
    assert line["line_total"] == "125.0000"
    assert (body["units"], body["line_count"], body["total_value"]) == (10, 1, "125.0000")
    assert [(step["from_status"], step["to_status"], step["note"]) for step in body["events"]] == [
        ("", "draft", ""),
        ("draft", "submitted", ""),
        ("submitted", "partially_received", "First carton"),
    ]


def test_a_draft_changes_its_lines_and_a_submitted_order_only_its_references(purchaser, world):
    order = draft(world)
    url = f"{ORDERS}{order.pk}/"
    response = purchaser.patch(
        url,
        {
            "note": "Rush",
            "expected_on": "2031-02-03",
            "lines": [{"product": "CABLE-2", "quantity": 7, "unit_cost": "3.5"}, {"product": "CASE-1", "quantity": 2}],
        },
    )
    assert response.status_code == 200, response.json()
    assert [(line["sku"], line["quantity"], line["unit_cost"]) for line in response.json()["lines"]] == [
        ("CASE-1", 2, "12.5000"),
        ("CABLE-2", 7, "3.5000"),
    ]
    assert (response.json()["note"], response.json()["expected_on"]) == ("Rush", "2031-02-03")

    assert purchaser.post(f"{url}submit/").status_code == 200
    refused = purchaser.patch(url, {"lines": [{"product": "CASE-1", "quantity": 9}]})
    assert refused.status_code == 409
    assert refused.json()["code"] == "not_draft"
    refused = purchaser.patch(url, {"warehouse": "ONT"})
    assert (refused.status_code, refused.json()["code"]) == (409, "not_draft")
    changed = purchaser.patch(url, {"supplier_reference": "SO-1", "expected_on": "2031-03-01"})
    assert changed.status_code == 200
    assert (changed.json()["supplier_reference"], changed.json()["expected_on"]) == ("SO-1", "2031-03-01")
    assert sorted(PurchaseOrderLine.objects.values_list("product__sku", "quantity")) == [("CABLE-2", 7), ("CASE-1", 2)]
    assert purchaser.put(url, {"note": "x"}).status_code == 405
    assert purchaser.delete(url).status_code == 405


def test_submit_and_cancel_answer_the_order_or_a_conflict(purchaser, world):
    empty = purchase_order_create(supplier=world.acme, warehouse=world.shenzhen)
    refused = purchaser.post(f"{ORDERS}{empty.pk}/submit/")
    assert (refused.status_code, refused.json()["code"]) == (409, "empty")

    order = draft(world)
    submitted = purchaser.post(f"{ORDERS}{order.pk}/submit/", {"expected_on": "2031-04-05", "note": "Emailed"})
    assert submitted.status_code == 200
    assert (submitted.json()["status"], submitted.json()["expected_on"]) == ("submitted", "2031-04-05")
    assert submitted.json()["submitted_at"] is not None
    again = purchaser.post(f"{ORDERS}{order.pk}/submit/")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")

    PurchaseOrderLine.objects.filter(purchase_order=order).update(quantity_received=2)
    refused = purchaser.post(f"{ORDERS}{order.pk}/cancel/", {"note": "Too late"})
    assert (refused.status_code, refused.json()["code"]) == (409, "already_received")
    PurchaseOrderLine.objects.filter(purchase_order=order).update(quantity_received=0)
    cancelled = purchaser.post(f"{ORDERS}{order.pk}/cancel/", {"note": "Too late"})
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["events"][-1]["note"] == "Too late"
    assert purchaser.post(f"{ORDERS}999999999/cancel/").status_code == 404


# --- List, filters and the query budget -------------------------------------------------------------------------


def test_the_list_filters_by_status_supplier_warehouse_sku_and_dates(purchaser, world):
    first = draft(world, expected_on=dt.date(2031, 1, 10))
    second = purchase_order_create(
        supplier=world.bolt,
        warehouse=world.ontario,
        lines=[(world.cable, 4, Decimal("2"))],
        expected_on=dt.date(2031, 3, 1),
    )
    purchase_order_submit(purchase_order=second)
    PurchaseOrder.objects.filter(pk=first.pk).update(created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))

    def numbers(**params) -> list[str]:
        response = purchaser.get(ORDERS, params)
        assert response.status_code == 200, response.json()
        return [row["number"] for row in response.json()["results"]]

    assert numbers() == [second.number, first.number]
    assert numbers(status="draft") == [first.number]
    assert numbers(status=["draft", "submitted"]) == [second.number, first.number]
    assert numbers(supplier="Bolt Cables") == [second.number]
    assert numbers(supplier=str(world.acme.pk)) == [first.number]
    assert numbers(warehouse="ont") == [second.number]
    assert numbers(sku="case-1") == [first.number]
    assert numbers(created_before="2025-06-30") == [first.number]
    assert numbers(created_after="2025-07-01") == [second.number]
    assert numbers(expected_after="2031-02-01") == [second.number]
    assert numbers(expected_before="2031-02-01") == [first.number]
    assert numbers(search=first.number) == [first.number]
    assert numbers(supplier="99999999999999999999999") == []
    row = purchaser.get(ORDERS, {"status": "submitted"}).json()["results"][0]
    assert (row["line_count"], row["units"], row["total_value"], row["supplier_name"]) == (
        1,
        4,
        "8.0000",
        "Bolt Cables",
    )
    assert "lines" not in row


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_list_and_detail_run_the_same_queries_for_one_order_or_many(purchaser, world):
    order = draft(world)
    one_in_list = queries_of(purchaser, ORDERS)
    one_detail = queries_of(purchaser, f"{ORDERS}{order.pk}/")
    for index in range(6):
        product = ProductFactory(sku=f"MORE-{index}")
        purchase_order_create(
            supplier=world.bolt, warehouse=world.ontario, lines=[(product, 1, Decimal(1)), (world.case, 2, Decimal(3))]
        )
        purchase_order_create(supplier=world.acme, warehouse=world.shenzhen, lines=[(world.case, 1, None)])
    big = purchase_order_create(
        supplier=world.bolt, warehouse=world.ontario, lines=[(ProductFactory(), 1, Decimal(1)) for _ in range(8)]
    )
    assert queries_of(purchaser, ORDERS) == one_in_list
    assert queries_of(purchaser, f"{ORDERS}{big.pk}/") == one_detail
    assert one_in_list <= 6 and one_detail <= 7


# --- PDF and export ------------------------------------------------------------------------------------------------


def test_the_pdf_is_a_download_or_plain_bytes(purchaser, world):
    order = draft(world)
    response = purchaser.get(f"{ORDERS}{order.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{order.number}.pdf"'
    assert response.content.startswith(b"%PDF")
    as_bytes = purchaser.get(f"{ORDERS}{order.pk}/pdf/", HTTP_ACCEPT="application/octet-stream")
    assert as_bytes["Content-Type"] == "application/octet-stream"
    assert purchaser.get(f"{ORDERS}99999999/pdf/").status_code == 404


def test_the_export_writes_one_row_per_line_in_csv_and_xlsx_formula_safe(purchaser, world):
    order = draft(world, expected_on=dt.date(2031, 5, 6))
    tricky = SupplierFactory(name="=HYPERLINK(1)")
    other = purchase_order_create(supplier=tricky, warehouse=world.ontario, lines=[(world.cable, 3, Decimal("1.25"))])
    PurchaseOrderLine.objects.filter(purchase_order=order).update(quantity_received=4, quantity_rejected=1)

    response = purchaser.get(f"{ORDERS}export/", {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    assert rows == [
        EXPORT_COLUMNS,
        [other.number, "draft", "'=HYPERLINK(1)", "ONT", "CABLE-2", "", "3", "1.2500", "CNY", "0", "0", ""],
        [
            order.number,
            "draft",
            "Acme Plastics",
            "SZ",
            "CASE-1",
            "AC-1",
            "10",
            "12.5000",
            "CNY",
            "4",
            "1",
            "2031-05-06",
        ],
    ]

    filtered = purchaser.get(f"{ORDERS}export/", {"format": "xlsx", "supplier": "Acme Plastics"})
    assert filtered["Content-Type"] == XLSX
    sheet = load_workbook(io.BytesIO(filtered.content)).active
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        EXPORT_COLUMNS,
        [order.number, "draft", "Acme Plastics", "SZ", "CASE-1", "AC-1", 10, 12.5, "CNY", 4, 1, "2031-05-06"],
    ]
    bad = purchaser.get(f"{ORDERS}export/", {"format": "pdf"})
    assert (bad.status_code, errors_of(bad)) == (400, [("format", "invalid_choice")])


# --- Import --------------------------------------------------------------------------------------------------------


def csv_upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("orders.csv", text.encode("utf-8"), content_type="text/csv")


def upload(client, file):
    return client.post(f"{ORDERS}import/", {"file": file}, format="multipart")


def test_an_import_makes_drafts_by_key_and_by_supplier(purchaser, world):
    SupplierProductFactory(supplier=world.bolt, product=world.cable, unit_cost=Decimal("4"), supplier_sku="B-2")
    text = (
        "number,supplier,warehouse,sku,quantity,unit_cost,currency,expected_on\n"
        "A,Acme Plastics,SZ,CASE-1,10,,,2031-06-01\n"
        "A,Acme Plastics,SZ,cable-2,5,3.3,,2031-06-01\n"
        ",Bolt Cables,ONT,CABLE-2,8,,,\n"
        "\n"
        ",Bolt Cables,ONT,CABLE-2,2,,,\n"
        "B,Acme Plastics,SZ,CASE-1,1,11,usd,\n"
    )
    response = upload(purchaser, csv_upload(text))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["rows"], body["updated"]) == (5, [])
    created = {row["number"]: row for row in body["created"]}
    orders = {order.number: order for order in PurchaseOrder.objects.all()}
    assert set(created) == set(orders) and len(orders) == 3
    summary = sorted(
        (
            order.supplier.name,
            order.warehouse.code,
            order.currency,
            order.expected_on,
            sorted(order.lines.values_list("product__sku", "quantity", "unit_cost")),
        )
        for order in orders.values()
    )
    assert summary == [
        (
            "Acme Plastics",
            "SZ",
            "CNY",
            dt.date(2031, 6, 1),
            [("CABLE-2", 5, Decimal("3.3")), ("CASE-1", 10, Decimal("12.5"))],
        ),
        ("Acme Plastics", "SZ", "USD", None, [("CASE-1", 1, Decimal("11"))]),
        ("Bolt Cables", "ONT", "CNY", None, [("CABLE-2", 10, Decimal("4"))]),
    ]
    assert {order.created_by for order in orders.values()} == {purchaser.user}


def test_an_import_with_a_bad_row_names_it_and_saves_nothing(purchaser, world):
    text = (
        "number,supplier,warehouse,sku,quantity,unit_cost\n"
        "A,Acme Plastics,SZ,CASE-1,10,\n"
        "A,Acme Plastics,SZ,CABLE-2,5,\n"  # no supplier product and no cost
        "B,Nobody Ltd,SZ,CASE-1,1,\n"
        "C,Acme Plastics,SZ,CASE-1,two,\n"
        "D,Acme Plastics,SZ,CASE-1,1,\n"
        "D,Acme Plastics,ONT,CASE-1,1,\n"
        "PO-999999,Acme Plastics,SZ,CASE-1,1,\n"
    )
    response = upload(purchaser, csv_upload(text))
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Nothing was imported: 5 of 7 rows have errors."
    assert [(error["row"], error["field"], error["code"]) for error in body["errors"]] == [
        (3, "unit_cost", "required"),
        (4, "supplier", "unknown_supplier"),
        (5, "quantity", "invalid"),
        (7, "warehouse", "group_differs"),
        (8, "number", "unknown_order"),
    ]
    messages = {error["row"]: error["message"] for error in body["errors"]}
    assert messages[7] == "Order D has warehouse SZ (row 6); this row has ONT."
    assert messages[3] == "Acme Plastics has no supplier product for CABLE-2; give the unit cost."
    assert PurchaseOrder.objects.count() == 0 and PurchaseOrderLine.objects.count() == 0


def test_an_exported_draft_imports_back_replacing_its_lines(purchaser, world):
    order = draft(world)
    submitted = draft(world)
    purchase_order_submit(purchase_order=submitted)
    exported = purchaser.get(f"{ORDERS}export/", {"format": "xlsx", "status": "draft"})
    sheet = load_workbook(io.BytesIO(exported.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    rows[1][EXPORT_COLUMNS.index("quantity")] = 25
    rows.append([order.number, "draft", "Acme Plastics", "SZ", "CABLE-2", None, 3, 2.5, "CNY", 0, 0, None])
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    content = io.BytesIO()
    workbook.save(content)
    response = upload(purchaser, SimpleUploadedFile("orders.xlsx", content.getvalue(), content_type=XLSX))
    assert response.status_code == 201, response.json()
    assert [row["number"] for row in response.json()["updated"]] == [order.number]
    assert sorted(order.lines.values_list("product__sku", "quantity", "unit_cost")) == [
        ("CABLE-2", 3, Decimal("2.5")),
        ("CASE-1", 25, Decimal("12.5")),
    ]

    text = f"number,supplier,warehouse,sku,quantity\n{submitted.number},Acme Plastics,SZ,CASE-1,3\n"
    refused = upload(purchaser, csv_upload(text))
    assert [(error["row"], error["field"], error["code"]) for error in refused.json()["errors"]] == [
        (2, "number", "not_draft")
    ]


def test_an_import_file_without_a_needed_column_is_refused_before_any_row(purchaser, world):
    response = upload(purchaser, csv_upload("number,supplier,sku,quantity,colour\nA,Acme Plastics,CASE-1,1,red\n"))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_header"
    assert sorted(errors_of(response)) == [("colour", "unknown_column"), ("warehouse", "missing_column")]


# --- From suggestions ----------------------------------------------------------------------------------------------


def test_suggestions_become_drafts_and_transfers_with_the_skipped_ones_explained(admin_api, purchaser, world):
    ordered = suggestion_make(world.case, world.shenzhen, 40, supplier_product=world.case_at_acme)
    moved = suggestion_make(world.case, world.ontario, 12, kind="transfer", source_warehouse=world.shenzhen)
    nothing = suggestion_make(world.cable, world.shenzhen, 0)

    # One who may order but not make transfers: the whole request is refused, nothing ordered.
    purchaser.user.groups.clear()
    purchaser.user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="purchasing").exclude(codename="add_transfer")
    )
    refused = purchaser.post(f"{ORDERS}from-suggestions/", {"suggestions": [ordered.pk, moved.pk]})
    assert refused.status_code == 403
    assert PurchaseOrder.objects.count() == 0 and Suggestion.objects.filter(status="ordered").count() == 0

    response = admin_api.post(f"{ORDERS}from-suggestions/", {"suggestions": [ordered.pk, moved.pk, nothing.pk]})
    assert response.status_code == 201, response.json()
    body = response.json()
    (order,) = body["purchase_orders"]
    assert (order["supplier_name"], order["warehouse_code"], order["status"]) == ("Acme Plastics", "SZ", "draft")
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [("CASE-1", 40)]
    (transfer,) = body["transfers"]
    assert (transfer["source_code"], transfer["destination_code"]) == ("SZ", "ONT")
    assert [(line["sku"], line["quantity"]) for line in transfer["lines"]] == [("CASE-1", 12)]
    assert body["skipped"] == [
        {
            "suggestion": nothing.pk,
            "code": "nothing_to_order",
            "reason": "CABLE-2 for SZ: nothing to order (the suggested quantity is 0).",
            "sku": "CABLE-2",
            "warehouse": "SZ",
        }
    ]
    assert Transfer.objects.count() == 1

    # Asked again: everything is ordered already, nothing is made.
    again = purchaser.post(f"{ORDERS}from-suggestions/", {"suggestions": [ordered.pk]})
    assert again.status_code == 200
    assert (again.json()["purchase_orders"], [item["code"] for item in again.json()["skipped"]]) == ([], ["ordered"])
    bad = purchaser.post(f"{ORDERS}from-suggestions/", {"suggestions": []})
    assert (bad.status_code, errors_of(bad)) == (400, [("suggestions", "empty")])
