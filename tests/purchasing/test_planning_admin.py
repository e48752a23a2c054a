"""Planning admin: suggestions read with their derivation, filtered, dismissed, recomputed and exported; policy and
promotion forms that show the services' refusals on their fields."""

from __future__ import annotations

import csv
import html
import io
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from purchasing import policies
from purchasing.derivation import SUGGESTION_EXPORT_COLUMNS
from purchasing.models import Promotion, ReorderPolicy, Suggestion
from tests.inventory.factories import ProductFactory, WarehouseFactory
from tests.purchasing.factories import SupplierFactory, SupplierProductFactory
from tests.purchasing.test_policies import DERIVATION, WINDOWS, make_suggestion

pytestmark = pytest.mark.django_db

SUGGESTION_LIST = "admin:purchasing_suggestion_changelist"
POLICY_LIST = "admin:purchasing_reorderpolicy_changelist"
CSV_FORMAT = "0"


@pytest.fixture
def admin_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(superuser=True))
    return client


@pytest.fixture
def purchaser_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user("Purchaser"))
    return client


@pytest.fixture
def rows():
    cn1, us1 = WarehouseFactory(code="CN1"), WarehouseFactory(code="US1")
    acme, bolt = SupplierFactory(name="Acme"), SupplierFactory(name="Bolt")
    case, lamp = ProductFactory(sku="CASE-1"), ProductFactory(sku="LAMP-3")
    return {
        "cn1": cn1,
        "us1": us1,
        "acme": acme,
        "case_cn": make_suggestion(
            product=case, warehouse=cn1, supplier_product=SupplierProductFactory(supplier=acme, product=case)
        ),
        "lamp_us": make_suggestion(
            product=lamp,
            warehouse=us1,
            supplier_product=SupplierProductFactory(supplier=bolt, product=lamp),
            urgency=Suggestion.Urgency.LATER,
            quantity=0,
            kind=Suggestion.Kind.TRANSFER,
        ),
    }


def listed(client: Client, **params) -> list[str]:
    response = client.get(reverse(SUGGESTION_LIST), params)
    assert response.status_code == 200
    return [f"{row.product.sku}@{row.warehouse.code}" for row in response.context["cl"].result_list]


def act(client: Client, action: str, suggestions: list[Suggestion]):
    return client.post(
        reverse(SUGGESTION_LIST),
        {"action": action, "_selected_action": [suggestion.pk for suggestion in suggestions]},
        follow=True,
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Suggestions ------------------------------------------------------------------------------------------


def test_the_suggestion_list_filters_by_supplier_warehouse_urgency_kind_and_status(admin_client, rows):
    assert listed(admin_client) == ["CASE-1@CN1", "LAMP-3@US1"]
    assert listed(admin_client, supplier_product__supplier__id__exact=rows["acme"].pk) == ["CASE-1@CN1"]
    assert listed(admin_client, warehouse__id__exact=rows["us1"].pk) == ["LAMP-3@US1"]
    assert listed(admin_client, urgency__exact="later") == ["LAMP-3@US1"]
    assert listed(admin_client, kind__exact="purchase") == ["CASE-1@CN1"]
    assert listed(admin_client, status__exact="dismissed") == []
    assert listed(admin_client, q="lamp") == ["LAMP-3@US1"]

    page = admin_client.get(reverse(SUGGESTION_LIST)).content.decode()
    assert "Acme" in page and "4.25" in page and "Overdue" in page
    assert reverse("admin:purchasing_suggestion_add") not in page


def test_the_suggestion_list_runs_the_same_queries_for_two_rows_and_for_ten(admin_client, rows):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse(SUGGESTION_LIST)).status_code == 200
        return len(captured.captured_queries)

    with_two = queries()
    for number in range(8):
        product = ProductFactory(sku=f"MORE-{number}")
        make_suggestion(
            product=product, warehouse=rows["cn1"], supplier_product=SupplierProductFactory(product=product)
        )
    assert queries() == with_two


def test_the_change_page_shows_the_derivation_as_an_ordered_list_and_every_figure(admin_client, rows):
    response = admin_client.get(reverse("admin:purchasing_suggestion_change", args=[rows["case_cn"].pk]))

    assert response.status_code == 200
    page = response.content.decode()
    start = page.index('<ol class="suggestion-derivation"')
    block = page[start : page.index("</ol>", start)]
    assert block.count("<li>") == len(DERIVATION)
    for line in DERIVATION:
        assert f"<li>{html.escape(line)}</li>" in block
    assert '<table class="suggestion-windows">' in page
    assert "<td>27</td><td>6</td><td>1</td><td>0</td><td>0</td><td>4.5</td>" in page  # the 7-day window
    for figure in ("191.2500", "71.2500", "28.2"):
        assert figure in page
    assert 'name="_save"' not in page  # read only

    assert admin_client.get(reverse("admin:purchasing_suggestion_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:purchasing_suggestion_delete", args=[rows["case_cn"].pk])).status_code == 403
    )


def test_a_picker_cannot_open_suggestions_and_a_purchaser_can(make_user, purchaser_client, rows):
    picker = Client()
    picker.force_login(make_user("Picker/packer"))
    assert picker.get(reverse(SUGGESTION_LIST)).status_code == 403

    response = purchaser_client.get(reverse(SUGGESTION_LIST))
    assert response.status_code == 200
    assert set(response.context["action_form"].fields["action"].choices) >= {
        ("recompute", "Recompute suggestions (of the selected rows' warehouses)"),
        ("dismiss", "Dismiss"),
    }


def test_the_dismiss_action_dismisses_open_suggestions_and_names_an_ordered_one(purchaser_client, rows):
    Suggestion.objects.filter(pk=rows["lamp_us"].pk).update(status=Suggestion.Status.ORDERED)

    response = act(purchaser_client, "dismiss", [rows["case_cn"], rows["lamp_us"]])

    assert messages_of(response) == [
        "The suggestion for LAMP-3 in US1 is already ordered; cancel its order instead.",
        "1 suggestion dismissed.",
    ]
    assert dict(Suggestion.objects.values_list("product__sku", "status")) == {
        "CASE-1": "dismissed",
        "LAMP-3": "ordered",
    }


def test_the_buyer_turns_selected_suggestions_into_draft_purchase_orders_and_hears_what_was_skipped(
    purchaser_client, rows
):
    from purchasing.models import PurchaseOrder

    nothing = rows["lamp_us"]  # suggests 0: nothing to order
    response = act(purchaser_client, "order", [rows["case_cn"], nothing])
    (order,) = PurchaseOrder.objects.all()
    said = messages_of(response)
    assert said[0] == f"Drafts made: {order.number}. Check and submit them under Purchase orders (and Transfers)."
    assert said[1].startswith("LAMP-3 in US1 not ordered: "), said
    assert (order.status, order.supplier.name, order.warehouse.code) == ("draft", "Acme", "CN1")
    assert list(order.lines.values_list("product__sku", "quantity")) == [("CASE-1", rows["case_cn"].quantity)]
    rows["case_cn"].refresh_from_db()
    assert rows["case_cn"].status == Suggestion.Status.ORDERED
    assert rows["case_cn"].purchase_order_line.purchase_order == order


def test_the_recompute_action_rewrites_the_rows_of_the_selected_warehouses(purchaser_client, rows):
    before = Suggestion.objects.get(pk=rows["lamp_us"].pk).computed_at

    response = act(purchaser_client, "recompute", [rows["case_cn"]])

    # Every product in CN1 (the selected row's warehouse): CASE-1's row rewritten, LAMP-3's made.
    assert messages_of(response) == ["2 suggestions recomputed for CN1."]
    assert sorted(Suggestion.objects.filter(warehouse=rows["cn1"]).values_list("product__sku", flat=True)) == [
        "CASE-1",
        "LAMP-3",
    ]
    # No sales, no stock, no policy row: the engine's figures replace the ones made by hand; US1 is left alone.
    recomputed = Suggestion.objects.get(product__sku="CASE-1", warehouse=rows["cn1"])
    assert (recomputed.ads, recomputed.quantity, recomputed.available, recomputed.urgency) == (
        Decimal(0),
        0,
        0,
        Suggestion.Urgency.NONE,
    )
    assert Suggestion.objects.get(pk=rows["lamp_us"].pk).computed_at == before
    page = purchaser_client.get(reverse("admin:purchasing_suggestion_change", args=[recomputed.pk])).content
    assert html.escape("ADS 0 = 0.5×0 + 0.3×0 + 0.2×0") in page.decode()


def test_suggestions_export_to_csv_with_the_derivation(admin_client, rows):
    fields = {f"suggestionresource_{column}": "on" for column in SUGGESTION_EXPORT_COLUMNS}

    response = admin_client.post(
        reverse("admin:purchasing_suggestion_export") + f"?warehouse__id__exact={rows['cn1'].pk}",
        {"format": CSV_FORMAT, "resource": "0", **fields},
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    exported = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert exported[0] == SUGGESTION_EXPORT_COLUMNS
    assert len(exported) == 2
    row = dict(zip(exported[0], exported[1], strict=True))
    assert (row["sku"], row["supplier"], row["quantity"], row["derivation"]) == (
        "CASE-1",
        "Acme",
        "80",
        "; ".join(DERIVATION),
    )


# --- Reorder policies and promotions ------------------------------------------------------------------------


def policy_form(**changes) -> dict:
    data = {
        "name": "Cases",
        "product": "",
        "warehouse": "",
        "replenish_from": "",
        "is_active": "on",
        "windows": json.dumps(WINDOWS),
        "leave_out_stockout_days": "on",
        "leave_out_promotion_days": "on",
        "day_cap_multiple": "",
        "production_days": "7",
        "qc_days": "1",
        "transit_mode": "local",
        "transit_days": "2",
        "safety_days": "7",
        "review_period_days": "7",
        "minimum_order_quantity": "",
        "case_pack": "",
    }
    data.update(changes)
    return data


def test_the_policy_form_shows_each_refusal_on_its_field(admin_client):
    warehouse = WarehouseFactory(code="CN1")
    windows = [{"days": 7, "weight": "0.5"}, {"days": 14, "weight": "0.3"}, {"days": 30, "weight": "0.1"}]

    response = admin_client.post(
        reverse("admin:purchasing_reorderpolicy_add"),
        policy_form(
            windows=json.dumps([*windows, {"days": 60, "weight": "x"}]),
            replenish_from=str(warehouse.pk),
            day_cap_multiple="0.5",
        ),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["windows"] == ["windows[3].weight: Must be a decimal number such as \"0.5\" (got 'x')."]
    assert errors["day_cap_multiple"] == ["Must be at least 1: a day counts at most this many average days (got 0.5)."]
    assert errors["replenish_from"] == [
        "Only a warehouse's policy can say where the warehouse is replenished from: choose the warehouse too."
    ]

    summed = admin_client.post(reverse("admin:purchasing_reorderpolicy_add"), policy_form(windows=json.dumps(windows)))
    assert summed.context["adminform"].form.errors["windows"] == ["The weights sum to 0.9, not 1."]
    assert ReorderPolicy.objects.count() == 0


def test_a_policy_added_in_the_admin_is_saved_by_the_service_and_listed_readably(admin_client):
    windows = [{"days": 30, "weight": 0.2}, {"days": 7, "weight": "0.50"}, {"days": 14, "weight": 0.3}]

    response = admin_client.post(
        reverse("admin:purchasing_reorderpolicy_add"), policy_form(name=" Default ", windows=json.dumps(windows))
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    policy = ReorderPolicy.objects.get()
    assert (policy.name, policy.windows) == ("Default", WINDOWS)
    page = admin_client.get(reverse(POLICY_LIST)).content.decode()
    assert "7d×0.5 · 14d×0.3 · 30d×0.2" in page
    assert "production 7 + QC 1 + transit 2 (Local delivery) · safety 7 · review 7" in page
    assert "every product in every warehouse" in page

    second = admin_client.post(reverse("admin:purchasing_reorderpolicy_add"), policy_form(name="Another"))
    assert second.status_code == 200
    assert second.context["adminform"].form.non_field_errors() == [
        f"Reorder policy Default (id {policy.pk}) already covers every product in every warehouse; "
        "change that one instead."
    ]

    change = reverse("admin:purchasing_reorderpolicy_change", args=[policy.pk])
    assert (
        reverse("admin:purchasing_reorderpolicy_delete", args=[policy.pk])
        not in admin_client.get(change).content.decode()
    )
    assert admin_client.post(reverse("admin:purchasing_reorderpolicy_delete", args=[policy.pk])).status_code == 403
    assert ReorderPolicy.objects.count() == 1


def test_a_policy_changed_in_the_admin_keeps_the_rules(admin_client):
    policy = policies.reorder_policy_create(name="CN", warehouse=WarehouseFactory(code="CN1"))
    change = reverse("admin:purchasing_reorderpolicy_change", args=[policy.pk])

    refused = admin_client.post(change, policy_form(name="CN", warehouse=str(policy.warehouse_id), transit_days="-4"))
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["transit_days"]

    saved = admin_client.post(change, policy_form(name="CN", warehouse=str(policy.warehouse_id), safety_days="10"))
    assert saved.status_code == 302
    policy.refresh_from_db()
    assert (policy.safety_days, policy.transit_days) == (10, 2)


def test_the_promotion_form_refuses_an_end_before_the_start_on_ends_on(admin_client):
    data = {"name": "Prime Day", "product": "", "starts_on": "2026-07-15", "ends_on": "2026-07-14"}

    response = admin_client.post(reverse("admin:purchasing_promotion_add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "ends_on": ["Ends on 2026-07-14, before it starts (2026-07-15)."]
    }
    saved = admin_client.post(reverse("admin:purchasing_promotion_add"), {**data, "ends_on": "2026-07-16"})
    assert saved.status_code == 302
    assert list(Promotion.objects.values_list("name", "product")) == [("Prime Day", None)]
    assert "every product" in admin_client.get(reverse("admin:purchasing_promotion_changelist")).content.decode()
