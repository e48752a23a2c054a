"""Purchase order admin: add and change through the services (errors on the fields), lines editable only in draft,
the actions (submit, cancel, PDF), import with preview and export, the changelist's query budget, who may enter."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from purchasing.models import PurchaseOrder, PurchaseOrderEvent
from purchasing.orders import purchase_order_create, purchase_order_submit
from tests.inventory.factories import ProductFactory
from tests.purchasing.factories import SupplierProductFactory
from tests.purchasing.test_purchase_orders import world_make

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:purchasing_purchaseorder_changelist"


@pytest.fixture
def world():
    world = world_make()
    world.case = ProductFactory(sku="CASE-1")
    world.cable = ProductFactory(sku="CABLE-2")
    SupplierProductFactory(supplier=world.acme, product=world.case, supplier_sku="AC-1", unit_cost=Decimal("12.5"))
    return world


@pytest.fixture
def buyer(make_user):
    return make_user("Purchaser", username="buyer")


@pytest.fixture
def buyer_client(buyer) -> Client:
    client = Client()
    client.force_login(buyer)
    return client


def change_url(order: PurchaseOrder) -> str:
    return reverse("admin:purchasing_purchaseorder_change", args=[order.pk])


def order_form(world, lines=(), *, initial_lines: int = 0, **header) -> dict:
    """The add or change form as the browser posts it: the header, the lines formset and the read-only steps."""
    data = {
        "supplier": world.acme.pk,
        "warehouse": world.shenzhen.pk,
        "currency": "",
        "expected_on": "",
        "supplier_reference": "",
        "note": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(initial_lines),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "events-TOTAL_FORMS": "0",
        "events-INITIAL_FORMS": "0",
        "events-MIN_NUM_FORMS": "0",
        "events-MAX_NUM_FORMS": "1000",
    }
    data.update(header)
    for index, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{index}-{name}"] = value
    return data


def line_errors(response) -> list[dict]:
    (formset,) = [item.formset for item in response.context["inline_admin_formsets"] if item.formset.prefix == "lines"]
    return [dict(form.errors) for form in formset.forms]


# --- Add and change through the services ---------------------------------------------------------------------


def test_a_buyer_adds_an_order_with_its_lines(buyer_client, buyer, world):
    response = buyer_client.post(
        reverse("admin:purchasing_purchaseorder_add"),
        order_form(
            world,
            [
                {"product": world.case.pk, "quantity": "10", "unit_cost": ""},
                {"product": world.cable.pk, "quantity": "4", "unit_cost": "3.2"},
            ],
            note="Rush",
        ),
    )
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    order = PurchaseOrder.objects.get()
    assert (order.status, order.currency, order.note, order.created_by) == ("draft", "CNY", "Rush", buyer)
    assert sorted(order.lines.values_list("product__sku", "quantity", "unit_cost", "supplier_sku")) == [
        ("CABLE-2", 4, Decimal("3.2"), ""),
        ("CASE-1", 10, Decimal("12.5"), "AC-1"),
    ]
    assert list(PurchaseOrderEvent.objects.values_list("to_status", "user")) == [("draft", buyer.pk)]
    assert response["Location"] == reverse(CHANGELIST)
    assert buyer_client.get(change_url(order)).status_code == 200


def test_a_line_the_rules_refuse_shows_its_error_on_its_field_and_nothing_is_saved(buyer_client, world):
    world.acme.is_active = False
    world.acme.save()
    response = buyer_client.post(
        reverse("admin:purchasing_purchaseorder_add"),
        order_form(world, [{"product": world.cable.pk, "quantity": "4", "unit_cost": ""}]),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "supplier": ["Supplier Acme Plastics is not active; activate it or order from another supplier."]
    }
    world.acme.is_active = True
    world.acme.save()
    response = buyer_client.post(
        reverse("admin:purchasing_purchaseorder_add"),
        order_form(world, [{"product": world.cable.pk, "quantity": "4", "unit_cost": ""}]),
    )
    assert response.status_code == 200
    assert line_errors(response) == [
        {"unit_cost": ["Acme Plastics has no supplier product for CABLE-2; give the unit cost."]}
    ]
    assert PurchaseOrder.objects.count() == 0


def test_lines_are_editable_in_draft_and_read_only_once_submitted(buyer_client, world):
    order = purchase_order_create(supplier=world.acme, warehouse=world.shenzhen, lines=[(world.case, 10, None)])
    line = order.lines.get()
    response = buyer_client.post(
        change_url(order),
        order_form(
            world,
            [
                {
                    "id": line.pk,
                    "purchase_order": order.pk,
                    "product": world.case.pk,
                    "quantity": "12",
                    "unit_cost": "",
                },
                {"product": world.cable.pk, "quantity": "3", "unit_cost": "2"},
            ],
            initial_lines=1,
            supplier_reference="SO-1",
        ),
    )
    assert response.status_code == 302, response.context and line_errors(response)
    assert sorted(order.lines.values_list("product__sku", "quantity")) == [("CABLE-2", 3), ("CASE-1", 12)]
    assert order.lines.get(product=world.case).pk == line.pk
    order.refresh_from_db()
    assert order.supplier_reference == "SO-1"

    purchase_order_submit(purchase_order=order)
    page = buyer_client.get(change_url(order))
    (lines,) = [item for item in page.context["inline_admin_formsets"] if item.formset.prefix == "lines"]
    assert not lines.has_add_permission and not lines.has_change_permission and not lines.has_delete_permission
    assert "warehouse" in page.context["adminform"].readonly_fields
    # The header's references still change; the lines posted anyway are not read.
    response = buyer_client.post(
        change_url(order),
        {
            "expected_on": "2031-02-03",
            "supplier_reference": "SO-2",
            "note": "Confirmed",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.supplier_reference, str(order.expected_on), order.note) == ("SO-2", "2031-02-03", "Confirmed")
    assert sorted(order.lines.values_list("product__sku", "quantity")) == [("CABLE-2", 3), ("CASE-1", 12)]


# --- Actions -----------------------------------------------------------------------------------------------------


def act(client, action: str, orders, **extra):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [order.pk for order in orders], **extra},
        follow=True,
    )


def test_submit_and_cancel_actions_say_what_was_done_and_what_was_refused(buyer_client, world):
    full = purchase_order_create(supplier=world.acme, warehouse=world.shenzhen, lines=[(world.case, 10, None)])
    empty = purchase_order_create(supplier=world.acme, warehouse=world.shenzhen)
    response = act(buyer_client, "submit_orders", [full, empty])
    assert [str(message) for message in response.context["messages"]] == [
        f"{empty.number}: {empty.number} has no lines; add what to order before submitting it.",
        f"Submitted: {full.number}.",
    ]
    full.refresh_from_db()
    assert full.status == "submitted"

    asked = buyer_client.post(reverse(CHANGELIST), {"action": "cancel_orders", "_selected_action": [full.pk, empty.pk]})
    assert asked.status_code == 200 and "note" in asked.context["form"].fields
    assert PurchaseOrder.objects.filter(status="cancelled").count() == 0
    response = act(buyer_client, "cancel_orders", [full, empty], apply="1", note="Supplier closed")
    assert [str(message) for message in response.context["messages"]] == [f"Cancelled: {full.number}, {empty.number}."]
    assert list(
        PurchaseOrderEvent.objects.filter(purchase_order=full).values_list("to_status", "note").order_by("id")
    ) == [("draft", ""), ("submitted", ""), ("cancelled", "Supplier closed")]
    assert buyer_client.get(change_url(full)).context["has_change_permission"] is False


def test_download_pdf_gives_one_order_or_one_pdf_of_several(buyer_client, world):
    first = purchase_order_create(supplier=world.acme, warehouse=world.shenzhen, lines=[(world.case, 10, None)])
    second = purchase_order_create(supplier=world.bolt, warehouse=world.ontario)
    one = act(buyer_client, "download_pdf", [first])
    assert one["Content-Type"] == "application/pdf"
    assert one["Content-Disposition"] == f'attachment; filename="{first.number}.pdf"'
    assert first.number in PdfReader(io.BytesIO(one.content)).pages[0].extract_text()
    both = act(buyer_client, "download_pdf", [second, first])
    pages = PdfReader(io.BytesIO(both.content)).pages
    assert [first.number in page.extract_text() for page in pages] == [True, False]
    assert second.number in pages[1].extract_text()


# --- Import and export ----------------------------------------------------------------------------------------


def test_an_import_is_previewed_then_confirmed(buyer_client, buyer, world):
    content = (
        b"number,supplier,warehouse,sku,quantity,unit_cost\n"
        b"A,Acme Plastics,SZ,CASE-1,10,\n"
        b"A,Acme Plastics,SZ,CABLE-2,3,2.5\n"
    )
    preview = buyer_client.post(
        reverse("admin:purchasing_purchaseorder_import"),
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("orders.csv", content)},
    )
    assert preview.status_code == 200
    assert "confirm_form" in preview.context, preview.content.decode()[:2000]
    assert [row.import_type for row in preview.context["result"].rows] == ["new", "new"]
    assert PurchaseOrder.objects.count() == 0  # the preview was rolled back

    done = buyer_client.post(
        reverse("admin:purchasing_purchaseorder_process_import"), preview.context["confirm_form"].initial, follow=True
    )
    order = PurchaseOrder.objects.get()
    assert [str(message) for message in done.context["messages"]] == [f"Imported 2 lines into {order.number}."]
    assert sorted(order.lines.values_list("product__sku", "quantity", "unit_cost")) == [
        ("CABLE-2", 3, Decimal("2.5")),
        ("CASE-1", 10, Decimal("12.5")),
    ]
    assert order.created_by == buyer


def test_an_import_with_a_bad_row_is_refused_in_the_preview_naming_row_and_column(buyer_client, world):
    content = b"number,supplier,warehouse,sku,quantity\nA,Acme Plastics,SZ,CASE-1,10\nA,Acme Plastics,SZ,NOPE-1,2\n"
    preview = buyer_client.post(
        reverse("admin:purchasing_purchaseorder_import"),
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("orders.csv", content)},
    )
    assert "confirm_form" not in preview.context
    assert [(row.number, row.field_specific_errors) for row in preview.context["result"].invalid_rows] == [
        (3, {"sku": ["Unknown SKU NOPE-1."]})
    ]
    assert PurchaseOrder.objects.count() == 0
    bad_header = buyer_client.post(
        reverse("admin:purchasing_purchaseorder_import"),
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("orders.csv", b"sku,quantity\nCASE-1,1\n")},
    )
    assert "confirm_form" not in bad_header.context
    assert "The header (row 1) is not valid" in bad_header.content.decode()


def test_the_export_writes_the_lines_of_the_chosen_orders(buyer_client, world):
    order = purchase_order_create(
        supplier=world.acme, warehouse=world.shenzhen, lines=[(world.case, 10, None), (world.cable, 2, Decimal(1))]
    )
    purchase_order_create(supplier=world.bolt, warehouse=world.ontario, lines=[(world.cable, 5, Decimal(2))])
    prefix = "purchaseorderlineexportresource"
    response = buyer_client.post(
        reverse("admin:purchasing_purchaseorder_export") + "?supplier__id__exact=" + str(world.acme.pk),
        {
            "format": "0",
            "resource": "0",
            **{f"{prefix}_{name}": "on" for name in ("number", "sku", "quantity", "unit_cost")},
        },
    )
    assert response.status_code == 200
    assert response.content.decode().splitlines() == [
        "number,sku,quantity,unit_cost",
        f"{order.number},CASE-1,10,12.5000",
        f"{order.number},CABLE-2,2,1.0000",
    ]


# --- Lists and who may enter ---------------------------------------------------------------------------------------


def queries_of(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_changelist_runs_the_same_queries_for_one_order_or_many(buyer_client, world):
    url = reverse(CHANGELIST)
    purchase_order_create(supplier=world.acme, warehouse=world.shenzhen, lines=[(world.case, 10, None)])
    with_one = queries_of(buyer_client, url)
    for _ in range(6):
        purchase_order_create(supplier=world.bolt, warehouse=world.ontario, lines=[(world.cable, 1, Decimal(1))])
    assert queries_of(buyer_client, url) == with_one
    rows = buyer_client.get(url, {"status__exact": "draft", "q": "Bolt"}).context["cl"].result_list
    assert [(order.supplier.name, order.line_count, order.units) for order in rows] == [("Bolt Cables", 1, 1)] * 6


def test_a_picker_packer_cannot_open_purchase_orders(make_user, world):
    client = Client()
    client.force_login(make_user("Picker/packer"))
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse("admin:purchasing_purchaseorder_add")).status_code == 403
