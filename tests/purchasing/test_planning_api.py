"""Planning API: reorder policies and promotions (bad input refused by field), suggestions listed, filtered, read
with their derivation, exported, dismissed and recomputed; who may do what; the list's query budget."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from core.outbox_models import TaskOutbox
from purchasing import policies
from purchasing.derivation import SUGGESTION_EXPORT_COLUMNS
from purchasing.models import Promotion, ReorderPolicy, Suggestion
from tests.inventory.factories import ProductFactory, WarehouseFactory
from tests.purchasing.factories import SupplierFactory, SupplierProductFactory
from tests.purchasing.test_policies import DERIVATION, WINDOWS, make_suggestion

pytestmark = pytest.mark.django_db

POLICIES = "/api/v1/reorder-policies/"
PROMOTIONS = "/api/v1/promotions/"
SUGGESTIONS = "/api/v1/suggestions/"


@pytest.fixture
def purchaser(api_client_for):
    return api_client_for("Purchaser")


@pytest.fixture
def planning():
    """Two warehouses, two suppliers and four suggestions of every urgency, kind and status the filters read."""
    cn1 = WarehouseFactory(code="CN1")
    us1 = WarehouseFactory(code="US1", kind="overseas", country="US")
    acme, bolt = SupplierFactory(name="Acme"), SupplierFactory(name="Bolt")
    case, cable, lamp = ProductFactory(sku="CASE-1"), ProductFactory(sku="CABLE-2"), ProductFactory(sku="LAMP-3")
    suggestions = {
        "case_cn": make_suggestion(
            product=case, warehouse=cn1, supplier_product=SupplierProductFactory(supplier=acme, product=case)
        ),
        "cable_cn": make_suggestion(
            product=cable,
            warehouse=cn1,
            supplier_product=SupplierProductFactory(supplier=bolt, product=cable),
            urgency=Suggestion.Urgency.LATER,
            quantity=20,
            order_by=dt.date(2027, 1, 10),
        ),
        "case_us": make_suggestion(
            product=case,
            warehouse=us1,
            kind=Suggestion.Kind.TRANSFER,
            source_warehouse=cn1,
            urgency=Suggestion.Urgency.NONE,
            quantity=0,
            order_by=None,
        ),
        "lamp_us": make_suggestion(
            product=lamp,
            warehouse=us1,
            supplier_product=SupplierProductFactory(supplier=acme, product=lamp),
            urgency=Suggestion.Urgency.NOW,
            quantity=40,
            status=Suggestion.Status.DISMISSED,
        ),
    }
    return {"cn1": cn1, "us1": us1, "acme": acme, "bolt": bolt, **suggestions}


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- Who may ------------------------------------------------------------------------------------------------


def test_a_picker_cannot_read_suggestions_and_a_purchaser_can(api_client_for, purchaser, planning):
    picker = api_client_for("Picker/packer")
    one = f"{SUGGESTIONS}{planning['case_cn'].pk}/"
    assert picker.get(SUGGESTIONS).status_code == 403
    assert picker.get(one).status_code == 403
    assert picker.get(f"{SUGGESTIONS}export/").status_code == 403
    assert picker.post(f"{SUGGESTIONS}compute/").status_code == 403
    assert picker.post(f"{one}dismiss/").status_code == 403
    assert picker.get(POLICIES).status_code == 403

    assert purchaser.get(SUGGESTIONS).status_code == 200
    assert purchaser.get(one).status_code == 200


def test_a_warehouse_manager_reads_suggestions_but_cannot_dismiss_or_recompute(api_client_for, planning):
    manager = api_client_for("Warehouse manager")
    assert manager.get(SUGGESTIONS).status_code == 200
    assert manager.post(f"{SUGGESTIONS}{planning['case_cn'].pk}/dismiss/").status_code == 403
    assert manager.post(f"{SUGGESTIONS}compute/").status_code == 403
    assert manager.post(POLICIES, {"name": "Mine"}).status_code == 403
    assert Suggestion.objects.get(pk=planning["case_cn"].pk).status == Suggestion.Status.OPEN


# --- Reorder policies ---------------------------------------------------------------------------------------


def test_a_policy_is_created_naming_product_and_warehouse_by_code(purchaser):
    product, warehouse = ProductFactory(sku="CASE-1"), WarehouseFactory(code="CN1")

    response = purchaser.post(
        POLICIES,
        {
            "name": "Cases in Shenzhen",
            "product": "case-1",
            "warehouse": "cn1",
            "windows": [{"days": 30, "weight": 0.4}, {"days": 7, "weight": "0.6"}],
            "transit_mode": "sea",
            "transit_days": 30,
            "day_cap_multiple": "3",
            "case_pack": 12,
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert {key: body[key] for key in ("product", "product_sku", "warehouse", "warehouse_code", "is_global")} == {
        "product": product.pk,
        "product_sku": "CASE-1",
        "warehouse": warehouse.pk,
        "warehouse_code": "CN1",
        "is_global": False,
    }
    assert body["windows"] == [{"days": 7, "weight": "0.6"}, {"days": 30, "weight": "0.4"}]
    assert (body["transit_mode"], body["transit_days"], body["day_cap_multiple"], body["case_pack"]) == (
        "sea",
        30,
        "3.00",
        12,
    )
    assert (body["safety_days"], body["minimum_order_quantity"], body["replenish_from"]) == (7, None, None)


def test_bad_policies_are_refused_with_every_problem_named(purchaser):
    response = purchaser.post(
        POLICIES,
        {
            "name": "Bad",
            "windows": [{"days": 7, "weight": "0.5"}, {"days": 14, "weight": "0.3"}, {"days": 30, "weight": "0.1"}],
            "transit_days": -2,
            "qc_days": 1.5,
        },
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed"
    assert {(error["field"], error["message"]) for error in body["errors"]} == {
        ("qc_days", "A valid integer is required.")
    }

    response = purchaser.post(
        POLICIES,
        {
            "name": "Bad",
            "windows": [{"days": 7, "weight": "0.5"}, {"days": 14, "weight": "0.3"}, {"days": 30, "weight": "0.1"}],
            "transit_days": -2,
        },
    )
    assert response.status_code == 400
    assert [(error["field"], error["message"]) for error in response.json()["errors"]] == [
        ("windows", "The weights sum to 0.9, not 1."),
        ("transit_days", "Must be at least 0 (got -2)."),
    ]
    assert ReorderPolicy.objects.count() == 0

    unknown = purchaser.post(POLICIES, {"name": "Bad", "warehouse": "NOPE"})
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == [
        {"field": "warehouse", "message": "No warehouse has code NOPE.", "code": "no_code"}
    ]


def test_a_second_global_policy_is_a_409_naming_the_first(purchaser):
    default = policies.reorder_policy_global()

    response = purchaser.post(POLICIES, {"name": "Another"})

    assert response.status_code == 409
    assert response.json()["message"] == (
        f"Reorder policy Default (id {default.pk}) already covers every product in every warehouse; "
        "change that one instead."
    )
    assert response.json()["code"] == "policy_scope_taken"


def test_a_policy_is_changed_with_patch_and_only_overrides_are_deleted(purchaser):
    default = policies.reorder_policy_global()
    cn1, us1 = WarehouseFactory(code="CN1"), WarehouseFactory(code="US1")
    override = policies.reorder_policy_create(name="US", warehouse=us1)

    changed = purchaser.patch(f"{POLICIES}{override.pk}/", {"replenish_from": "CN1", "safety_days": 14})
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["replenish_from"], changed.json()["replenish_from_code"]) == (cn1.pk, "CN1")
    assert changed.json()["safety_days"] == 14

    itself = purchaser.patch(f"{POLICIES}{override.pk}/", {"replenish_from": "US1"})
    assert itself.status_code == 400
    assert itself.json()["errors"][0]["field"] == "replenish_from"

    listed = purchaser.get(POLICIES).json()["results"]
    assert [(row["name"], row["is_global"], row["windows"]) for row in listed] == [
        ("Default", True, WINDOWS),
        ("US", False, WINDOWS),
    ]
    assert [row["name"] for row in purchaser.get(POLICIES, {"is_global": "false"}).json()["results"]] == ["US"]
    assert [row["name"] for row in purchaser.get(POLICIES, {"warehouse": "us1"}).json()["results"]] == ["US"]

    refused = purchaser.delete(f"{POLICIES}{default.pk}/")
    assert refused.status_code == 409 and refused.json()["code"] == "global_policy"
    assert purchaser.delete(f"{POLICIES}{override.pk}/").status_code == 204
    assert list(ReorderPolicy.objects.values_list("name", flat=True)) == ["Default"]


# --- Promotions ---------------------------------------------------------------------------------------------


def test_promotions_are_recorded_checked_filtered_and_deleted(purchaser):
    ProductFactory(sku="CASE-1")

    bad = purchaser.post(
        PROMOTIONS, {"name": "Prime Day", "product": "CASE-1", "starts_on": "2026-07-15", "ends_on": "2026-07-14"}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {
            "field": "ends_on",
            "message": "Ends on 2026-07-14, before it starts (2026-07-15).",
            "code": "ends_before_start",
        }
    ]

    made = purchaser.post(
        PROMOTIONS, {"name": "Prime Day", "product": "CASE-1", "starts_on": "2026-07-15", "ends_on": "2026-07-16"}
    )
    assert made.status_code == 201, made.json()
    assert made.json()["product_sku"] == "CASE-1"
    everything = purchaser.post(PROMOTIONS, {"name": "11.11", "starts_on": "2026-11-11", "ends_on": "2026-11-11"})
    assert everything.status_code == 201 and everything.json()["product"] is None

    on_prime_day = purchaser.get(PROMOTIONS, {"active_on": "2026-07-16"}).json()["results"]
    assert [row["name"] for row in on_prime_day] == ["Prime Day"]
    of_the_case = purchaser.get(PROMOTIONS, {"product": "CASE-1"}).json()["results"]
    assert sorted(row["name"] for row in of_the_case) == ["11.11", "Prime Day"]

    moved = purchaser.patch(f"{PROMOTIONS}{made.json()['id']}/", {"ends_on": "2026-07-20"})
    assert moved.status_code == 200 and moved.json()["ends_on"] == "2026-07-20"
    assert purchaser.delete(f"{PROMOTIONS}{everything.json()['id']}/").status_code == 204
    assert list(Promotion.objects.values_list("name", flat=True)) == ["Prime Day"]


# --- Suggestions: list, filters, detail ---------------------------------------------------------------------


def test_suggestions_are_listed_most_urgent_first_and_filtered(purchaser, planning):
    case_cn, cable_cn, case_us, lamp_us = (planning[key].pk for key in ("case_cn", "cable_cn", "case_us", "lamp_us"))

    assert ids_of(purchaser.get(SUGGESTIONS)) == [case_cn, lamp_us, cable_cn, case_us]
    assert ids_of(purchaser.get(SUGGESTIONS, {"warehouse": "cn1"})) == [case_cn, cable_cn]
    assert ids_of(purchaser.get(SUGGESTIONS, {"warehouse": planning["us1"].pk})) == [lamp_us, case_us]
    assert ids_of(purchaser.get(SUGGESTIONS, {"supplier": planning["acme"].pk})) == [case_cn, lamp_us]
    assert ids_of(purchaser.get(SUGGESTIONS, {"supplier": "bolt"})) == [cable_cn]
    assert ids_of(purchaser.get(SUGGESTIONS, {"urgency": ["overdue", "now"]})) == [case_cn, lamp_us]
    assert ids_of(purchaser.get(SUGGESTIONS, {"kind": "transfer"})) == [case_us]
    assert ids_of(purchaser.get(SUGGESTIONS, {"status": "dismissed"})) == [lamp_us]
    assert ids_of(purchaser.get(SUGGESTIONS, {"needs_order": "true"})) == [case_cn, lamp_us, cable_cn]
    assert ids_of(purchaser.get(SUGGESTIONS, {"needs_order": "false"})) == [case_us]
    assert ids_of(purchaser.get(SUGGESTIONS, {"sku": "case-1"})) == [case_cn, case_us]
    assert ids_of(purchaser.get(SUGGESTIONS, {"product": "CABLE-2"})) == [cable_cn]
    assert ids_of(purchaser.get(SUGGESTIONS, {"ordering": "-quantity"})) == [case_cn, lamp_us, cable_cn, case_us]
    assert ids_of(purchaser.get(SUGGESTIONS, {"ordering": "-urgency"})) == [case_us, cable_cn, lamp_us, case_cn]
    assert ids_of(purchaser.get(SUGGESTIONS, {"ordering": "order_by"})) == [case_cn, lamp_us, cable_cn, case_us]
    assert ids_of(purchaser.get(SUGGESTIONS, {"warehouse": "NOWHERE"})) == []
    assert ids_of(purchaser.get(SUGGESTIONS, {"supplier": "99999999999999999999999"})) == []

    bad = purchaser.get(SUGGESTIONS, {"urgency": "yesterday"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "urgency"


def test_a_suggestion_shows_every_figure_and_its_derivation(purchaser, planning):
    response = purchaser.get(f"{SUGGESTIONS}{planning['case_cn'].pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["derivation"] == DERIVATION
    assert {
        key: body[key]
        for key in (
            "product_sku",
            "warehouse_code",
            "kind",
            "supplier_name",
            "supplier",
            "ads",
            "lead_time_days",
            "cover_days",
            "demand",
            "position",
            "net_need",
            "quantity",
            "days_of_cover",
            "order_by",
            "urgency",
            "status",
        )
    } == {
        "product_sku": "CASE-1",
        "warehouse_code": "CN1",
        "kind": "purchase",
        "supplier_name": "Acme",
        "supplier": planning["acme"].pk,
        "ads": "4.2500",
        "lead_time_days": 31,
        "cover_days": 45,
        "demand": "191.2500",
        "position": 120,
        "net_need": "71.2500",
        "quantity": 80,
        "days_of_cover": "28.2",
        "order_by": "2026-12-04",
        "urgency": "overdue",
        "status": "open",
    }
    assert body["windows"][0]["days_left_out"] == {"stockout": 1, "promotion": 0}

    transfer = purchaser.get(f"{SUGGESTIONS}{planning['case_us'].pk}/").json()
    assert (transfer["source_warehouse_code"], transfer["supplier_name"], transfer["supplier"]) == ("CN1", None, None)
    assert "Transferred from CN1, which replenishes this warehouse, not bought" in transfer["derivation"]


def test_the_list_runs_the_same_queries_for_four_rows_and_for_twelve(purchaser, planning):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = purchaser.get(SUGGESTIONS)
        assert response.status_code == 200
        return len(captured.captured_queries)

    with_four = queries()
    for number in range(8):
        product = ProductFactory(sku=f"MORE-{number}")
        make_suggestion(
            product=product,
            warehouse=planning["us1"],
            supplier_product=SupplierProductFactory(product=product),
            kind=Suggestion.Kind.TRANSFER if number % 2 else Suggestion.Kind.PURCHASE,
            source_warehouse=planning["cn1"] if number % 2 else None,
        )
    assert queries() == with_four
    assert with_four <= 8


# --- Export -------------------------------------------------------------------------------------------------


def test_the_export_writes_every_figure_and_the_derivation_in_csv_and_xlsx(purchaser, planning):
    response = purchaser.get(f"{SUGGESTIONS}export/", {"warehouse": "CN1", "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(content[1:])))
    assert rows[0] == SUGGESTION_EXPORT_COLUMNS
    assert [row[2] for row in rows[1:]] == ["CASE-1", "CABLE-2"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert {key: first[key] for key in ("warehouse", "supplier", "ads", "position", "quantity", "order_by")} == {
        "warehouse": "CN1",
        "supplier": "Acme",
        "ads": "4.2500",
        "position": "120",
        "quantity": "80",
        "order_by": "2026-12-04",
    }
    assert first["derivation"] == "; ".join(DERIVATION)

    workbook = purchaser.get(f"{SUGGESTIONS}export/", {"format": "xlsx", "urgency": "none"})
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    values = [[cell.value for cell in row] for row in sheet.rows]
    assert values[0] == SUGGESTION_EXPORT_COLUMNS
    assert [(row[1], row[2], row[4], row[7], row[25]) for row in values[1:]] == [
        ("US1", "CASE-1", "transfer", "CN1", 0)
    ]

    unknown = purchaser.get(f"{SUGGESTIONS}export/", {"format": "pdf"})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "format"


# --- Dismiss and recompute ----------------------------------------------------------------------------------


def test_dismissing_answers_the_suggestion_and_an_ordered_one_is_a_409(purchaser, planning):
    response = purchaser.post(f"{SUGGESTIONS}{planning['case_cn'].pk}/dismiss/")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["derivation"]) == ("dismissed", DERIVATION)

    Suggestion.objects.filter(pk=planning["cable_cn"].pk).update(status=Suggestion.Status.ORDERED)
    refused = purchaser.post(f"{SUGGESTIONS}{planning['cable_cn'].pk}/dismiss/")
    assert refused.status_code == 409
    assert refused.json()["message"] == (
        "The suggestion for CABLE-2 in CN1 is already ordered; cancel its order instead."
    )
    assert purchaser.post(f"{SUGGESTIONS}999999/dismiss/").status_code == 404


def test_a_recompute_is_queued_and_answered_with_202_and_the_task_id(
    purchaser, planning, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        one = purchaser.post(f"{SUGGESTIONS}compute/", {"warehouse": "cn1"})
        every = purchaser.post(f"{SUGGESTIONS}compute/")

    assert one.status_code == 202, one.json()
    assert every.status_code == 202, every.json()
    assert one.json()["warehouse"] == planning["cn1"].pk and every.json()["warehouse"] is None
    assert one.json()["task_id"] != every.json()["task_id"]
    assert len(queued) == 2  # each outbox row's send
    assert [(str(row.task_id), row.task_name, row.kwargs) for row in TaskOutbox.objects.order_by("pk")] == [
        (one.json()["task_id"], "purchasing.tasks.suggestions_compute_task", {"warehouse_ids": [planning["cn1"].pk]}),
        (every.json()["task_id"], "purchasing.tasks.suggestions_compute_task", {"warehouse_ids": None}),
    ]

    with django_capture_on_commit_callbacks(execute=False) as refused_queue:
        refused = purchaser.post(f"{SUGGESTIONS}compute/", {"warehouse": 999_999})
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"field": "warehouse", "message": "No warehouse has id 999999.", "code": "no_id"}
    ]
    assert refused_queue == []
    # Nothing was computed here: the rows are as they were made.
    assert Suggestion.objects.get(pk=planning["case_cn"].pk).ads == Decimal("4.2500")
