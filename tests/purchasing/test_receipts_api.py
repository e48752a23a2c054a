"""Receipts through the API (receive, list with filters, detail, costs added later, refusals, who may) and the
admin (read-only list and detail with every cost figure, and the "Add freight and duties" action)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import Bin, StockLevel
from purchasing.models import PurchaseOrder, Receipt
from purchasing.receiving import ReceiveLine, receipt_create
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory
from tests.purchasing.factories import SupplierFactory
from tests.purchasing.test_receiving import purchase_order_make

pytestmark = pytest.mark.django_db

RECEIPTS = "/api/v1/receipts/"


@pytest.fixture
def world():
    warehouse = WarehouseFactory(code="SZ")
    case = ProductFactory(sku="CASE-1", weight_g=100, cost_price=None)
    cable = ProductFactory(sku="CABLE-2", weight_g=300, cost_price=None)
    supplier = SupplierFactory(name="Dongguan Cables")
    order = purchase_order_make(warehouse=warehouse, supplier=supplier, lines=[(case, 10, "3.00"), (cable, 20, "1.50")])
    shelf = BinFactory(warehouse=warehouse, code="A-01-01-01")
    return {"warehouse": warehouse, "case": case, "cable": cable, "order": order, "shelf": shelf}


def receive_body(world, **changes) -> dict:
    body = {
        "purchase_order": world["order"].number,
        "lines": [
            {"product": "case-1", "accepted": 8, "rejected": 2, "reason": "cracked", "bin": "A-01-01-01"},
            {"product": world["cable"].pk, "accepted": 20},
        ],
        "freight": "60.00",
        "duties": "15.00",
        "spread_by": "value",
        "note": "Truck 粤B 12345",
    }
    body.update(changes)
    return body


# --- receive -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["Warehouse manager", "Purchaser"])
def test_receiving_through_the_api_answers_the_receipt_with_every_cost_figure(api_client_for, world, role):
    client = api_client_for(role)
    response = client.post(RECEIPTS, receive_body(world), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    receipt = Receipt.objects.get()
    assert body["id"] == receipt.pk
    assert body["number"] == receipt.number
    assert {key: body[key] for key in ("purchase_order_number", "supplier_name", "warehouse_code", "currency")} == {
        "purchase_order_number": world["order"].number,
        "supplier_name": "Dongguan Cables",
        "warehouse_code": "SZ",
        "currency": "CNY",
    }
    assert (body["freight"], body["duties"], body["spread_by"], body["note"]) == (
        "60.00",
        "15.00",
        "value",
        "Truck 粤B 12345",
    )
    assert body["received_by_username"] == client.user.username
    # Values 8 × 3 = 24 and 20 × 1.5 = 30 of 54: freight 26.6666 + 33.3334, duties 6.6666 + 8.3334.
    columns = ("sku", "quantity_accepted", "quantity_rejected", "reject_reason", "bin_code")
    assert [tuple(line[key] for key in columns) for line in body["lines"]] == [
        ("CASE-1", 8, 2, "cracked", "A-01-01-01"),
        ("CABLE-2", 20, 0, "", "RECEIVING"),
    ]
    figures = (
        "unit_cost",
        "freight_share",
        "duty_share",
        "landed_unit_cost",
        "on_hand_before",
        "cost_before",
        "cost_after",
    )
    assert [[line[key] for key in figures] for line in body["lines"]] == [
        ["3.0000", "26.6666", "6.6666", "7.1667", 0, None, "7.1667"],
        ["1.5000", "33.3334", "8.3334", "3.5833", 0, None, "3.5833"],
    ]
    assert StockLevel.objects.get(bin__code="QUARANTINE", product=world["case"]).on_hand == 2
    world["order"].refresh_from_db()
    assert world["order"].status == PurchaseOrder.Status.PARTIALLY_RECEIVED


def test_receiving_many_lines_runs_as_many_queries_as_receiving_two(admin_api):
    warehouse = WarehouseFactory(code="SZ")
    BinFactory(warehouse=warehouse, code="A-01-01-01")
    products = [ProductFactory(sku=f"SKU-{number:02d}", cost_price=Decimal("1.0000")) for number in range(12)]
    order = purchase_order_make(warehouse=warehouse, lines=[(product, 10, "2.00") for product in products])

    def receive(skus) -> int:
        body = {
            "purchase_order": order.number,
            "lines": [
                {"product": sku, "accepted": 2, "rejected": 1, "reason": "torn", "bin": "A-01-01-01"} for sku in skus
            ],
            "freight": "9.00",
        }
        with CaptureQueriesContext(connection) as captured:
            response = admin_api.post(RECEIPTS, body, format="json")
        assert response.status_code == 201, response.json()
        return len(captured.captured_queries)

    receive(["SKU-00"])  # the first receipt also makes the quarantine area
    assert receive(["SKU-01", "SKU-02"]) == receive([product.sku for product in products[2:]])


def test_customer_service_may_not_receive_nor_read_receipts(api_client_for, world):
    client = api_client_for("Customer service")
    assert client.post(RECEIPTS, receive_body(world), format="json").status_code == 403
    assert client.get(RECEIPTS).status_code == 403
    assert not Receipt.objects.exists()


def test_the_floor_may_receive_but_only_managers_and_buyers_add_costs(api_client_for, world):
    picker = api_client_for("Picker/packer")  # receives purchase orders on the floor (purchasing.add_receipt)
    body = {"purchase_order": world["order"].pk, "lines": [{"product": "CASE-1", "accepted": 5}]}
    received = picker.post(RECEIPTS, body, format="json")
    assert received.status_code == 201, received.json()
    receipt_id = received.json()["id"]
    assert picker.post(f"{RECEIPTS}{receipt_id}/costs/", {"freight": "5"}, format="json").status_code == 403
    assert picker.get(RECEIPTS).status_code == 403
    manager = api_client_for("Warehouse manager")
    response = manager.post(f"{RECEIPTS}{receipt_id}/costs/", {"freight": "5"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["lines"][0]["landed_unit_cost"] == "4.0000"


def test_bad_input_is_a_400_naming_every_field(admin_api, world):
    body = receive_body(
        world,
        lines=[
            {"product": "NOPE-9", "accepted": 1},
            {"product": "CASE-1", "accepted": 11},
            {"product": "CASE-1", "accepted": 1, "bin": "Z-99-99-99"},
            {"product": "CASE-1", "accepted": -1},
        ],
        freight="1.234",
        spread_by="volume",
    )
    response = admin_api.post(RECEIPTS, body, format="json")
    assert response.status_code == 400
    assert sorted((error["field"], error["code"]) for error in response.json()["errors"]) == [
        ("freight", "max_decimal_places"),
        ("lines[0].product", "no_code"),
        ("lines[2].bin", "does_not_exist"),
        ("lines[3].accepted", "min_value"),
        ("spread_by", "invalid_choice"),
    ]
    # What the door lets through, the service checks against the order: nothing is received.
    over = admin_api.post(RECEIPTS, receive_body(world, lines=[{"product": "CASE-1", "accepted": 11}]), format="json")
    assert over.status_code == 400
    assert [(error["field"], error["code"]) for error in over.json()["errors"]] == [
        ("lines[0].accepted", "over_receipt")
    ]
    unknown = admin_api.post(RECEIPTS, receive_body(world, purchase_order="PO-999999"), format="json")
    assert [(error["field"], error["code"]) for error in unknown.json()["errors"]] == [
        ("purchase_order", "no_code"),
        ("lines[0].bin", "scope_required"),
    ]
    assert not Receipt.objects.exists()


def test_a_bin_of_another_warehouse_is_refused_at_the_door(admin_api, world):
    elsewhere = BinFactory(warehouse=WarehouseFactory(code="LA"), code="A-09-09-09")
    response = admin_api.post(RECEIPTS, receive_body(world, bin=elsewhere.pk), format="json")
    assert response.status_code == 400
    assert [(error["field"], error["code"]) for error in response.json()["errors"]] == [("bin", "warehouse")]


def test_a_cancelled_order_is_a_409(admin_api):
    warehouse = WarehouseFactory(code="SZ")
    case = ProductFactory(sku="CASE-1")
    order = purchase_order_make(warehouse=warehouse, lines=[(case, 1, "1")], status=PurchaseOrder.Status.CANCELLED)
    response = admin_api.post(
        RECEIPTS, {"purchase_order": order.pk, "lines": [{"product": "CASE-1", "accepted": 1}]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "not_receivable"
    assert response.json()["message"] == (
        f"Purchase order {order.number} is cancelled: goods are received only against a submitted or partially "
        "received order."
    )


# --- list, filters, detail ----------------------------------------------------------------------------------------


def test_the_list_filters_and_keeps_its_query_count(admin_api, world, django_assert_max_num_queries):
    receipt_create(purchase_order=world["order"], lines=[ReceiveLine(world["case"], 1)])
    with CaptureQueriesContext(connection) as one:
        assert admin_api.get(RECEIPTS).json()["count"] == 1
    other_warehouse = WarehouseFactory(code="LA")
    other_supplier = SupplierFactory(name="Ningbo Lamps")
    lamp = ProductFactory(sku="LAMP-3")
    other = purchase_order_make(warehouse=other_warehouse, supplier=other_supplier, lines=[(lamp, 50, "9")])
    for _ in range(5):
        receipt_create(purchase_order=other, lines=[ReceiveLine(lamp, 2, rejected=1, reason="bent")])
        receipt_create(
            purchase_order=world["order"], lines=[ReceiveLine(world["case"], 1), ReceiveLine(world["cable"], 1)]
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert admin_api.get(RECEIPTS).json()["count"] == 11

    def numbers(**params) -> list[str]:
        return [row["purchase_order_number"] for row in admin_api.get(RECEIPTS, params).json()["results"]]

    assert numbers(purchase_order=other.number.lower()) == [other.number] * 5
    assert numbers(purchase_order=str(other.pk)) == [other.number] * 5
    assert numbers(warehouse="la") == [other.number] * 5
    assert numbers(warehouse=str(world["warehouse"].pk)) == [world["order"].number] * 6
    assert numbers(supplier="Ningbo Lamps") == [other.number] * 5
    assert numbers(supplier=str(other_supplier.pk)) == [other.number] * 5
    assert len(numbers(date=Receipt.objects.first().created_at.date().isoformat())) == 11
    assert numbers(date_to="2000-01-01") == []
    assert numbers(purchase_order="99999999999999999999999") == []
    assert admin_api.get(RECEIPTS, {"date": "yesterday"}).status_code == 400


def test_the_detail_reads_one_receipt_and_an_unknown_id_is_a_404(admin_api, world):
    receipt = receipt_create(
        purchase_order=world["order"], lines=[ReceiveLine(world["case"], 4)], freight=Decimal("2"), user=None
    )
    body = admin_api.get(f"{RECEIPTS}{receipt.pk}/").json()
    assert (body["number"], body["lines"][0]["landed_unit_cost"], body["received_by"]) == (
        receipt.number,
        "3.5000",
        None,
    )
    assert admin_api.get(f"{RECEIPTS}999999/").status_code == 404


def test_costs_added_through_the_api_are_set_once(admin_api, world):
    receipt = receipt_create(purchase_order=world["order"], lines=[ReceiveLine(world["case"], 10)])
    url = f"{RECEIPTS}{receipt.pk}/costs/"
    first = admin_api.post(url, {"freight": "20.00", "spread_by": "weight"}, format="json")
    assert first.status_code == 200, first.json()
    assert (first.json()["freight"], first.json()["spread_by"]) == ("20.00", "weight")
    assert first.json()["lines"][0]["freight_share"] == "20.0000"
    again = admin_api.post(url, {"freight": "20.00", "spread_by": "weight"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "costs_already_set"
    assert [(error["field"], error["code"]) for error in again.json()["errors"]] == [("freight", "costs_already_set")]
    nothing = admin_api.post(url, {}, format="json")
    assert nothing.status_code == 400
    assert [(error["field"], error["code"]) for error in nothing.json()["errors"]] == [("freight", "required")]


def test_the_schema_documents_the_receipt_operations(admin_api):
    schema = admin_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    create = schema["paths"]["/api/v1/receipts/"]["post"]
    assert {"201", "400", "401", "403", "409"} <= set(create["responses"])
    # A client (and Schemathesis's stateful phase) goes from the receipt made to its costs.
    assert set(create["responses"]["201"]["links"]) == {"ReceiptsRetrieve", "ReceiptsCostsCreate"}
    costs = schema["paths"]["/api/v1/receipts/{id}/costs/"]["post"]
    assert {"200", "400", "404", "409"} <= set(costs["responses"])


# --- admin --------------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(superuser=True))
    return client


def test_the_admin_lists_receipts_and_shows_every_cost_figure_read_only(admin_client, world):
    receipt = receipt_create(
        purchase_order=world["order"],
        lines=[ReceiveLine(world["case"], 6, rejected=1, reason="cracked"), ReceiveLine(world["cable"], 4)],
        freight=Decimal("12.00"),
    )
    listed = admin_client.get(reverse("admin:purchasing_receipt_changelist"))
    assert listed.status_code == 200
    (row,) = listed.context["cl"].result_list
    assert (row.number, row.accepted_units, row.rejected_units) == (receipt.number, 10, 1)
    assert admin_client.get(reverse("admin:purchasing_receipt_add")).status_code == 403
    page = admin_client.get(reverse("admin:purchasing_receipt_change", args=[receipt.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    # Values 18 and 6 of 24: freight 9 and 3; landed 3 + 9/6 = 4.5 and 1.5 + 3/4 = 2.25.
    for figure in ("9.0000", "3.0000", "4.5000", "2.2500", "cracked", "RECEIVING"):
        assert figure in html, figure
    assert 'name="freight"' not in html  # read only


def test_the_admin_list_runs_as_many_queries_for_one_receipt_as_for_many(admin_client, world):
    url = reverse("admin:purchasing_receipt_changelist")
    receipt_create(purchase_order=world["order"], lines=[ReceiveLine(world["case"], 1)])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured.captured_queries)

    with_one = queries()
    for _ in range(6):
        receipt_create(
            purchase_order=world["order"], lines=[ReceiveLine(world["case"], 1), ReceiveLine(world["cable"], 1)]
        )
    assert queries() == with_one


def test_the_admin_adds_freight_and_duties_through_its_question_page(admin_client, world):
    receipt = receipt_create(purchase_order=world["order"], lines=[ReceiveLine(world["case"], 10)])
    url = reverse("admin:purchasing_receipt_changelist")
    asked = admin_client.post(url, {"action": "add_costs", ACTION_CHECKBOX_NAME: [receipt.pk]})
    assert asked.status_code == 200
    assert asked.templates[0].name == "admin/action_form.html"
    assert receipt.number in asked.content.decode()

    answer = {"action": "add_costs", ACTION_CHECKBOX_NAME: [receipt.pk], "apply": "1", "spread_by": "value"}
    wrong = admin_client.post(url, {**answer, "freight": "-3", "duties": "0"})
    assert wrong.status_code == 200 and wrong.context["form"].errors["freight"]
    done = admin_client.post(url, {**answer, "freight": "20.00", "duties": "5.00"}, follow=True)
    assert [str(message) for message in done.context["messages"]] == [
        f"Receipt {receipt.number}: freight 20.00 and duties 5.00 CNY, spread by value over its lines; the products' "
        "costs are updated."
    ]
    line = receipt.lines.get()
    assert (line.freight_share, line.duty_share, line.landed_unit_cost) == (
        Decimal("20.0000"),
        Decimal("5.0000"),
        Decimal("5.5000"),
    )
    twice = admin_client.post(url, {**answer, "freight": "20.00", "duties": "0"}, follow=True)
    assert [str(message) for message in twice.context["messages"]] == [
        f"Receipt {receipt.number} already has its freight (20.00 CNY); it is set once per receipt, so a form sent "
        "twice cannot charge it twice. freight: Already set."
    ]


def test_the_admin_action_takes_one_receipt_and_only_for_who_may_change_receipts(admin_client, make_user, world):
    receipts = [receipt_create(purchase_order=world["order"], lines=[ReceiveLine(world["case"], 1)]) for _ in range(2)]
    url = reverse("admin:purchasing_receipt_changelist")
    both = admin_client.post(url, {"action": "add_costs", ACTION_CHECKBOX_NAME: [r.pk for r in receipts]}, follow=True)
    assert [str(message) for message in both.context["messages"]] == [
        "Choose one receipt: freight and duties are each receipt's own."
    ]
    viewer = Client()
    viewer.force_login(make_user("Warehouse manager"))
    assert "add_costs" in str(viewer.get(url).context["action_form"].fields["action"].choices)
    reader = make_user()
    reader.user_permissions.add(*_permissions("view_receipt"))
    reading = Client()
    reading.force_login(reader)
    page = reading.get(url)
    assert page.status_code == 200
    assert page.context["action_form"] is None  # no action it may take
    assert Bin.objects.filter(code="RECEIVING").count() == 1


def _permissions(*codenames):
    return Permission.objects.filter(content_type__app_label="purchasing", codename__in=codenames)
