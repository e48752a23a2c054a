"""Properties of the suggestion arithmetic (``suggestion_figures``, no database) over generated policies, sales
and stock: never negative, whole cases, at least the MOQ, more sales never ask for less, no sales ask for nothing
but what is owed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from purchasing.suggestions import PolicyTerms, SuggestionInputs, SupplierTerms, Window, suggestion_figures

TODAY = date(2026, 12, 1)
DAYS_BACK = 45  # sales, stock-outs and promotions fall on the 45 days before today (and a few after the windows)

days_ago = st.integers(min_value=0, max_value=DAYS_BACK)
units = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)
small_days = st.integers(min_value=0, max_value=60)
optional_count = st.none() | st.integers(min_value=1, max_value=120)


@st.composite
def policies(draw) -> PolicyTerms:
    window_days = draw(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=4, unique=True))
    weights = [draw(st.integers(min_value=1, max_value=100)) for _days in window_days]
    return PolicyTerms(
        windows=tuple(Window(days, Decimal(weight) / 100) for days, weight in zip(window_days, weights, strict=True)),
        leave_out_stockout_days=draw(st.booleans()),
        leave_out_promotion_days=draw(st.booleans()),
        day_cap_multiple=draw(st.none() | st.decimals(min_value=1, max_value=10, places=2)),
        safety_days=draw(small_days),
        review_period_days=draw(small_days),
        production_days=draw(small_days),
        qc_days=draw(small_days),
        transit_days=draw(small_days),
        minimum_order_quantity=draw(optional_count),
        case_pack=draw(optional_count),
        replenish_from_id=draw(st.none() | st.just(7)),
    )


suppliers = st.none() | st.builds(
    SupplierTerms,
    supplier_product_id=st.just(1),
    lead_time_days=st.none() | small_days,
    supplier_lead_time_days=small_days,
    qc_days=st.none() | small_days,
    transit_days=st.none() | small_days,
    minimum_order_quantity=st.integers(min_value=1, max_value=120),
    case_pack=st.integers(min_value=1, max_value=120),
)


def day_set():
    return st.frozensets(days_ago.map(lambda back: TODAY - timedelta(days=back)), max_size=10)


@st.composite
def inputs(draw, *, with_sales: bool = True) -> SuggestionInputs:
    sales = {}
    if with_sales:
        sales = {TODAY - timedelta(days=back): sold for back, sold in draw(st.dictionaries(days_ago, units)).items()}
    return SuggestionInputs(
        policy=draw(policies()),
        supplier=draw(suppliers),
        sales=sales,
        stockout_days=draw(day_set()),
        promotion_days=draw(day_set()),
        available=draw(st.integers(min_value=-50, max_value=5_000)),
        incoming_purchase=draw(st.integers(min_value=0, max_value=2_000)),
        incoming_transfer=draw(st.integers(min_value=0, max_value=2_000)),
        backorders=draw(st.integers(min_value=0, max_value=2_000)),
    )


@given(inputs())
def test_whole_cases_never_negative_at_least_the_moq_and_no_case_too_many(given_inputs):
    figures = suggestion_figures(given_inputs, TODAY)
    assert figures.quantity >= 0
    assert figures.quantity % figures.case_pack == 0
    if figures.net_need <= 0:
        assert figures.quantity == 0
    else:
        assert figures.quantity >= figures.minimum_order_quantity
        assert figures.quantity >= figures.net_need
        # Rounding up never adds a whole case beyond what the need or the MOQ asks for.
        assert figures.quantity - figures.case_pack < max(figures.net_need, figures.minimum_order_quantity)
    assert figures.cover_days == figures.lead_time_days + figures.safety_days + figures.review_period_days
    assert figures.ads >= 0


@given(inputs())
def test_something_to_order_is_due_within_the_review_period(given_inputs):
    """With these definitions an order-by date after the review period means stock covers the demand, so a row with
    a quantity is never "later"."""
    figures = suggestion_figures(given_inputs, TODAY)
    if figures.quantity > 0:
        assert figures.urgency in {"overdue", "now", "soon"}
    else:
        assert figures.urgency == "none"


@given(inputs(), days_ago, st.decimals(min_value=Decimal("0.01"), max_value=300, places=2))
def test_more_sales_never_ask_for_less(given_inputs, back, more):
    day = TODAY - timedelta(days=back)
    busier = replace(given_inputs, sales={**given_inputs.sales, day: given_inputs.sales.get(day, Decimal(0)) + more})
    before, after = suggestion_figures(given_inputs, TODAY), suggestion_figures(busier, TODAY)
    assert after.ads >= before.ads
    assert after.quantity >= before.quantity


@given(inputs(with_sales=False))
def test_no_sales_ask_for_nothing_unless_backorders_exceed_the_stock(given_inputs):
    figures = suggestion_figures(given_inputs, TODAY)
    assert (figures.ads, figures.demand, figures.days_of_cover, figures.order_by) == (0, 0, None, None)
    stock = given_inputs.available + given_inputs.incoming_purchase + given_inputs.incoming_transfer
    if given_inputs.backorders > stock:
        assert figures.quantity >= given_inputs.backorders - stock
        assert figures.urgency == "overdue"
    else:
        assert (figures.quantity, figures.urgency) == (0, "none")
