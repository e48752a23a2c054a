"""Reorder policies and promotions (every bad input refused by its field), the buyer's steps on suggestions, and
the readable derivation of a suggestion's figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from core.errors import Conflict, ErrorDetail, ValidationFailed
from core.outbox_models import TaskOutbox
from purchasing import policies
from purchasing.derivation import number_text, suggestion_derivation, suggestion_derivation_text
from purchasing.models import Promotion, ReorderPolicy, Suggestion
from tests.inventory.factories import BundleFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

WINDOWS = [{"days": 7, "weight": "0.5"}, {"days": 14, "weight": "0.3"}, {"days": 30, "weight": "0.2"}]


def refusal(call) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        call()
    return caught.value


# --- Policy rules -----------------------------------------------------------------------------------------


def test_weights_that_do_not_sum_to_1_are_refused_saying_what_they_sum_to():
    windows = [{"days": 7, "weight": "0.5"}, {"days": 14, "weight": "0.3"}, {"days": 30, "weight": "0.1"}]

    error = refusal(lambda: policies.reorder_policy_create(name="Fast", windows=windows))

    assert error.errors == [ErrorDetail("The weights sum to 0.9, not 1.", code="weights_sum", field="windows")]
    assert error.message == "The reorder policy is invalid: windows: The weights sum to 0.9, not 1."
    assert ReorderPolicy.objects.count() == 0


def test_negative_transit_days_are_refused_naming_the_field():
    error = refusal(lambda: policies.reorder_policy_create(name="Sea", transit_days=-3))

    assert error.errors == [ErrorDetail("Must be at least 0 (got -3).", code="min_value", field="transit_days")]
    assert ReorderPolicy.objects.count() == 0


def test_two_windows_of_the_same_length_are_refused_on_the_second():
    windows = [{"days": 7, "weight": "0.5"}, {"days": 7, "weight": "0.5"}]

    error = refusal(lambda: policies.reorder_policy_create(name="Twice", windows=windows))

    assert error.errors == [
        ErrorDetail(
            "windows[0] is 7 days too; each window needs a length of its own.",
            code="duplicate",
            field="windows[1].days",
        )
    ]


def test_every_problem_comes_back_together_each_on_its_field():
    warehouse = WarehouseFactory()
    windows = [{"days": 0, "weight": "abc"}, {"days": 14, "weight": 0, "colour": "red"}, "30"]

    error = refusal(
        lambda: policies.reorder_policy_create(
            name="  ",
            windows=windows,
            production_days=7.5,
            safety_days=-1,
            review_period_days=731,
            day_cap_multiple=Decimal("0.5"),
            minimum_order_quantity=0,
            transit_mode="teleport",
            replenish_from=warehouse,
        )
    )

    assert [(detail.field, detail.code) for detail in error.errors] == [
        ("name", "required"),
        ("windows[0].days", "min_value"),
        ("windows[0].weight", "invalid"),
        ("windows[1]", "unknown_field"),
        ("windows[1].weight", "min_value"),
        ("windows[2]", "invalid"),
        ("day_cap_multiple", "min_value"),
        ("safety_days", "min_value"),
        ("review_period_days", "max_value"),
        ("production_days", "invalid"),
        ("transit_mode", "invalid_choice"),
        ("minimum_order_quantity", "min_value"),
        ("replenish_from", "needs_warehouse"),
    ]
    by_field = {detail.field: detail.message for detail in error.errors}
    assert by_field["production_days"] == "Must be a whole number (got 7.5)."
    assert by_field["windows[1]"] == "Unknown key(s) colour: a window has days and weight."
    assert by_field["day_cap_multiple"] == (
        "Must be at least 1: a day counts at most this many average days (got 0.5)."
    )
    assert error.message.endswith("(and 12 more)")


def test_more_than_six_windows_or_none_are_refused():
    seven = [{"days": days, "weight": "0.1"} for days in range(1, 8)]
    assert refusal(lambda: policies.reorder_policy_create(name="x", windows=seven)).errors == [
        ErrorDetail("Give from 1 to 6 windows (got 7).", code="count", field="windows")
    ]
    assert refusal(lambda: policies.reorder_policy_create(name="x", windows=[])).errors[0].code == "count"
    assert refusal(lambda: policies.reorder_policy_create(name="x", windows={"days": 7})).errors[0].code == "invalid"


def test_a_weight_with_more_than_four_decimals_or_above_1_is_refused():
    windows = [{"days": 7, "weight": "0.33333"}, {"days": 14, "weight": "1.5"}]

    error = refusal(lambda: policies.reorder_policy_create(name="x", windows=windows))

    assert error.errors == [
        ErrorDetail("At most 4 decimal places (got 0.33333).", code="max_decimal_places", field="windows[0].weight"),
        ErrorDetail("Must be at most 1 (got 1.5).", code="max_value", field="windows[1].weight"),
    ]


def test_a_warehouse_is_not_replenished_from_itself():
    warehouse = WarehouseFactory(code="US1")

    error = refusal(lambda: policies.reorder_policy_create(name="x", warehouse=warehouse, replenish_from=warehouse))

    assert error.errors == [
        ErrorDetail("A warehouse cannot be replenished from itself.", code="from_itself", field="replenish_from")
    ]


def test_a_bundle_gets_no_policy_of_its_own():
    bundle = BundleFactory(sku="KIT-1")

    error = refusal(lambda: policies.reorder_policy_create(name="x", product=bundle))

    assert error.errors == [
        ErrorDetail(
            "KIT-1 is a bundle; bundles are not bought: set the policy on its components.",
            code="bundle",
            field="product",
        )
    ]


def test_a_valid_policy_keeps_its_windows_sorted_with_weights_as_decimal_text():
    overseas, domestic = WarehouseFactory(code="US1"), WarehouseFactory(code="CN1")
    windows = [{"days": 30, "weight": 0.2}, {"days": 7, "weight": "0.50"}, {"days": 14, "weight": Decimal("0.3")}]

    policy = policies.reorder_policy_create(
        name="  US from CN  ",
        warehouse=overseas,
        replenish_from=domestic,
        windows=windows,
        day_cap_multiple=Decimal("3.5"),
        transit_mode=ReorderPolicy.TransitMode.SEA,
        transit_days=35,
    )

    policy.refresh_from_db()
    assert policy.name == "US from CN"
    assert policy.windows == WINDOWS
    assert (policy.day_cap_multiple, policy.transit_mode, policy.transit_days) == (Decimal("3.50"), "sea", 35)
    assert (policy.warehouse, policy.replenish_from, policy.product) == (overseas, domestic, None)


def test_floats_are_read_as_typed_so_point_one_plus_point_two_plus_point_seven_is_1():
    windows = [{"days": 7, "weight": 0.1}, {"days": 14, "weight": 0.2}, {"days": 30, "weight": 0.7}]

    policy = policies.reorder_policy_create(name="Floats", windows=windows)

    assert [window["weight"] for window in policy.windows] == ["0.1", "0.2", "0.7"]


def test_a_second_global_policy_is_a_conflict_naming_the_existing_one():
    default = policies.reorder_policy_global()

    with pytest.raises(Conflict) as caught:
        policies.reorder_policy_create(name="Another default")

    assert caught.value.message == (
        f"Reorder policy Default (id {default.pk}) already covers every product in every warehouse; "
        "change that one instead."
    )
    assert (caught.value.code, caught.value.context) == ("policy_scope_taken", {"policy": default.pk})
    assert ReorderPolicy.objects.count() == 1


def test_a_second_policy_for_a_product_in_a_warehouse_is_a_conflict_on_the_product():
    product, warehouse = ProductFactory(sku="CASE-1"), WarehouseFactory(code="CN1")
    first = policies.reorder_policy_create(name="Case in CN", product=product, warehouse=warehouse)
    other = policies.reorder_policy_create(name="Case everywhere", product=product)

    with pytest.raises(Conflict) as caught:
        policies.reorder_policy_update(policy=other, warehouse=warehouse)

    assert caught.value.errors == [
        ErrorDetail(
            f"Reorder policy Case in CN (id {first.pk}) already covers CASE-1 in CN1; change that one instead.",
            code="unique",
            field="product",
        )
    ]
    other.refresh_from_db()
    assert other.warehouse is None


def test_the_global_policy_is_made_once_with_the_model_defaults():
    default = policies.reorder_policy_global()

    assert policies.reorder_policy_global() == default
    assert (default.name, default.product, default.warehouse, default.windows) == ("Default", None, None, WINDOWS)
    assert (default.safety_days, default.review_period_days, default.production_days, default.qc_days) == (7, 7, 7, 1)
    assert (default.transit_mode, default.transit_days, default.day_cap_multiple) == ("local", 2, None)


def test_an_update_checks_only_the_fields_given_and_saves_nothing_when_refused():
    policy = policies.reorder_policy_create(name="Fast", safety_days=5)

    error = refusal(lambda: policies.reorder_policy_update(policy=policy, safety_days=-1, qc_days=2))
    assert [detail.field for detail in error.errors] == ["safety_days"]
    policy.refresh_from_db()
    assert (policy.safety_days, policy.qc_days) == (5, 1)

    policies.reorder_policy_update(policy=policy, qc_days=2, windows=[{"days": 28, "weight": 1}])
    policy.refresh_from_db()
    assert (policy.safety_days, policy.qc_days, policy.windows) == (5, 2, [{"days": 28, "weight": "1"}])

    unknown = refusal(lambda: policies.reorder_policy_update(policy=policy, colour="red"))
    assert unknown.errors == [ErrorDetail("Not a field that can be changed.", code="unknown_field", field="colour")]


def test_setting_a_source_on_a_warehouse_policy_reads_its_warehouse_from_the_row():
    overseas = WarehouseFactory(code="US1")
    policy = policies.reorder_policy_create(name="US", warehouse=overseas)

    error = refusal(lambda: policies.reorder_policy_update(policy=policy, replenish_from=overseas))
    assert error.errors[0].code == "from_itself"

    domestic = WarehouseFactory(code="CN1")
    policies.reorder_policy_update(policy=policy, replenish_from=domestic)
    policy.refresh_from_db()
    assert policy.replenish_from == domestic


def test_the_global_policy_cannot_be_deleted_but_an_override_can():
    default = policies.reorder_policy_global()
    override = policies.reorder_policy_create(name="CN", warehouse=WarehouseFactory(code="CN1"))

    with pytest.raises(Conflict) as caught:
        policies.reorder_policy_delete(policy=default)
    assert caught.value.code == "global_policy"

    policies.reorder_policy_delete(policy=override)
    assert list(ReorderPolicy.objects.all()) == [default]


# --- Promotions ---------------------------------------------------------------------------------------------


def test_a_promotion_that_ends_before_it_starts_is_refused_on_ends_on():
    error = refusal(
        lambda: policies.promotion_create(
            name="Prime Day", starts_on=dt.date(2026, 7, 15), ends_on=dt.date(2026, 7, 14)
        )
    )

    assert error.errors == [
        ErrorDetail("Ends on 2026-07-14, before it starts (2026-07-15).", code="ends_before_start", field="ends_on")
    ]
    assert Promotion.objects.count() == 0


def test_a_promotion_is_recorded_and_its_dates_checked_against_the_stored_ones_on_update():
    product = ProductFactory()
    promotion = policies.promotion_create(
        name=" Prime Day ", product=product, starts_on=dt.date(2026, 7, 15), ends_on=dt.date(2026, 7, 16)
    )
    assert (promotion.name, promotion.product) == ("Prime Day", product)

    error = refusal(lambda: policies.promotion_update(promotion=promotion, starts_on=dt.date(2026, 7, 17)))
    assert [(detail.field, detail.code) for detail in error.errors] == [("ends_on", "ends_before_start")]

    policies.promotion_update(promotion=promotion, starts_on=dt.date(2026, 7, 10), product=None)
    promotion.refresh_from_db()
    assert (promotion.starts_on, promotion.ends_on, promotion.product) == (
        dt.date(2026, 7, 10),
        dt.date(2026, 7, 16),
        None,
    )


# --- Suggestions: dismiss -----------------------------------------------------------------------------------


def make_suggestion(**figures) -> Suggestion:
    """A suggestion with every figure set by hand (the engine is tested on its own)."""
    values = {
        "product": figures.pop("product", None) or ProductFactory(sku="CASE-1"),
        "warehouse": figures.pop("warehouse", None) or WarehouseFactory(code="CN1"),
        "computed_at": timezone.now(),
        "windows": [
            {
                "days": 7,
                "weight": "0.5",
                "units": "27",
                "days_counted": 6,
                "days_left_out": {"stockout": 1, "promotion": 0},
                "days_capped": 0,
                "day_cap": None,
                "average": "4.5",
            },
            {
                "days": 14,
                "weight": "0.3",
                "units": "56",
                "days_counted": 14,
                "days_left_out": {"stockout": 0, "promotion": 0},
                "days_capped": 2,
                "day_cap": "9",
                "average": "4",
            },
            {
                "days": 30,
                "weight": "0.2",
                "units": "96",
                "days_counted": 24,
                "days_left_out": {"stockout": 2, "promotion": 4},
                "days_capped": 0,
                "day_cap": None,
                "average": "4",
            },
        ],
        "ads": Decimal("4.2500"),
        "production_days": 20,
        "qc_days": 1,
        "transit_days": 10,
        "lead_time_days": 31,
        "safety_days": 7,
        "review_period_days": 7,
        "cover_days": 45,
        "demand": Decimal("191.2500"),
        "available": 80,
        "incoming_purchase": 40,
        "incoming_transfer": 10,
        "backorders": 10,
        "net_need": Decimal("71.2500"),
        "minimum_order_quantity": 50,
        "case_pack": 20,
        "quantity": 80,
        "days_of_cover": Decimal("28.2"),
        "order_by": dt.date(2026, 12, 4),
        "urgency": Suggestion.Urgency.OVERDUE,
    }
    values.update(figures)
    return Suggestion.objects.create(**values)


def test_dismissing_sets_an_open_suggestion_aside_and_twice_changes_nothing():
    suggestion = make_suggestion()

    assert policies.suggestion_dismiss(suggestion=suggestion).status == Suggestion.Status.DISMISSED
    assert policies.suggestion_dismiss(suggestion=suggestion).status == Suggestion.Status.DISMISSED
    suggestion.refresh_from_db()
    assert suggestion.status == Suggestion.Status.DISMISSED


def test_an_ordered_suggestion_cannot_be_dismissed():
    suggestion = make_suggestion(status=Suggestion.Status.ORDERED)

    with pytest.raises(Conflict) as caught:
        policies.suggestion_dismiss(suggestion=suggestion)

    assert caught.value.message == "The suggestion for CASE-1 in CN1 is already ordered; cancel its order instead."
    suggestion.refresh_from_db()
    assert suggestion.status == Suggestion.Status.ORDERED


def test_a_recompute_is_queued_after_commit_with_the_task_id_it_answers(django_capture_on_commit_callbacks):
    warehouse = WarehouseFactory()

    with django_capture_on_commit_callbacks(execute=False) as queued:
        task_id = policies.suggestions_compute_queue(warehouse=warehouse)

    assert len(queued) == 1  # the outbox row's send
    row = TaskOutbox.objects.get(task_id=task_id)
    assert (row.task_name, row.args, row.kwargs, row.sent_at) == (
        "purchasing.tasks.suggestions_compute_task",
        [],
        {"warehouse_ids": [warehouse.pk]},
        None,
    )


# --- The derivation ------------------------------------------------------------------------------------------

DERIVATION = [
    "ADS 4.25 = 0.5×4.5 + 0.3×4 + 0.2×4",
    "7 days: 27 units ÷ 6 days counted = 4.5 (1 stock-out day left out)",
    "14 days: 56 units ÷ 14 days counted = 4 (2 days capped at 9 units)",
    "30 days: 96 units ÷ 24 days counted = 4 (2 stock-out days, 4 promotion days left out)",
    "Cover 45 days = lead time 31 (production 20 + QC 1 + transit 10) + safety 7 + review period 7",
    "Demand 191.25 = 4.25 × 45",
    "Stock position 120 = available 80 + incoming purchase orders 40 + transfers in transit 10 − backorders 10",
    "Need 71.25 = 191.25 − 120",
    "Quantity 80 = 71.25 rounded up to MOQ 50 and case pack 20",
    "Order by 2026-12-04: stock lasts 28.2 days, less lead time 31 and safety 7",
]


def test_the_derivation_reads_every_step_from_the_stored_figures():
    suggestion = make_suggestion()

    assert suggestion_derivation(suggestion) == DERIVATION
    assert suggestion_derivation_text(suggestion) == "; ".join(DERIVATION)


def test_the_derivation_is_made_in_chinese_without_error():
    suggestion = make_suggestion()

    with translation.override("zh-hans"):
        lines = suggestion_derivation(suggestion)
        text = suggestion_derivation_text(suggestion)

    assert len(lines) == len(DERIVATION)
    assert "4.25" in lines[0] and "191.25" in lines[5]
    assert text.count("4.25") >= 2


def test_nothing_to_order_and_no_sales_say_so():
    suggestion = make_suggestion(
        windows=[{"days": 30, "weight": "1", "units": "0", "days_counted": 0, "days_left_out": {"stockout": 30}}],
        ads=Decimal(0),
        demand=Decimal(0),
        net_need=Decimal("-120"),
        quantity=0,
        days_of_cover=None,
        order_by=None,
        urgency=Suggestion.Urgency.NONE,
    )

    assert suggestion_derivation(suggestion)[:2] == [
        "ADS 0 = 1×0",
        "30 days: no day counted, average 0 (30 stock-out days left out)",
    ]
    assert suggestion_derivation(suggestion)[-3:] == [
        "Need −120 = 0 − 120",
        "Nothing to order: stock covers the demand",
        "No order-by date: nothing sold in the windows, so the stock does not run down",
    ]


def test_a_transfer_names_its_source_and_has_no_production_leg():
    source = WarehouseFactory(code="CN1")
    suggestion = make_suggestion(
        warehouse=WarehouseFactory(code="US1"),
        kind=Suggestion.Kind.TRANSFER,
        source_warehouse=source,
        production_days=0,
        lead_time_days=11,
        cover_days=25,
        minimum_order_quantity=1,
        case_pack=1,
        demand=Decimal("106.2500"),
        net_need=Decimal("-13.7500"),
        quantity=0,
    )
    lines = suggestion_derivation(suggestion)

    assert lines[4] == "Cover 25 days = lead time 11 (QC 1 + transit 10) + safety 7 + review period 7"
    assert lines[8:10] == [
        "Nothing to order: stock covers the demand",
        "Transferred from CN1, which replenishes this warehouse, not bought",
    ]

    suggestion.net_need, suggestion.quantity = Decimal("13.2"), 14
    assert suggestion_derivation(suggestion)[8] == "Quantity 14 = 13.2 rounded up to whole units"


def test_windows_missing_keys_are_read_leniently():
    suggestion = make_suggestion(
        windows=[{"days": 7, "weight": "0.5", "units": 14}, {"days": 14, "days_left_out": 2}, "junk"], ads=Decimal(1)
    )

    assert suggestion_derivation(suggestion)[:4] == [
        "ADS 1 = 0.5×2 + 0×0 + 0×0",
        "7 days: 14 units ÷ 7 days counted = 2",
        "14 days: 0 units ÷ 12 days counted = 0 (2 days left out)",
        "0 days: no day counted, average 0",
    ]
    suggestion.windows = {"not": "a list"}
    assert suggestion_derivation(suggestion)[0] == "ADS 1 (no sales windows recorded)"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("4.2000"), "4.2"),
        (Decimal("189.0000"), "189"),
        (Decimal("3.857142"), "3.86"),
        (Decimal("0.0357"), "0.0357"),
        (Decimal("-20"), "−20"),
        ("12.50", "12.5"),
        (None, "0"),
        ("junk", "0"),
        (Decimal("1E+40"), "1E+40"),
        (Decimal("0E-30"), "0"),
        (Decimal("0.8571"), "0.86"),
    ],
)
def test_numbers_are_written_without_trailing_zeros(value, text):
    assert number_text(value) == text
