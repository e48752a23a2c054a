"""The suggestion engine against real rows: the weighted ADS, days left out, the day cap, lead legs, MOQ and case
pack, what is on its way or owed, bundles, transfers, which policy applies, urgency, and what a recompute keeps."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from inventory.models import Bin, Warehouse
from inventory.stock_services import stock_receive, stock_reserve
from inventory.transfer_services import transfer_create, transfer_receive, transfer_ship
from orders.fulfilment import order_set_by_hand, orders_allocate
from orders.imports import orders_upsert
from orders.models import Order, OrderLine, OrderShipment, OrderShipmentLine
from orders.services import order_lines_map, order_shipment_record
from purchasing.models import (
    Promotion,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderPolicy,
    StockoutDay,
    Suggestion,
)
from purchasing.schedules import STOCKOUT_DAYS_TASK, SUGGESTIONS_TASK, periodic_tasks_ensure
from purchasing.suggestions import (
    PolicyTerms,
    SuggestionInputs,
    Window,
    policy_for,
    stockout_days_record,
    suggestion_figures,
    suggestions_compute,
)
from purchasing.tasks import stockout_days_record_task, suggestions_compute_task
from tests.inventory.factories import BinFactory, BundleComponentFactory, ProductFactory, WarehouseFactory
from tests.logistics.test_quotes import method_with_card
from tests.orders.factories import T0, StoreFactory, line_in, order_in
from tests.purchasing.factories import SupplierFactory, SupplierProductFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 1)
NUMBERS = count(1)


@pytest.fixture
def site():
    """Shenzhen (own) and Los Angeles (overseas) with a pick bin each, a store, and a product."""
    cn = WarehouseFactory(code="CN1", country="CN", priority=10)
    us = WarehouseFactory(code="US1", country="US", kind=Warehouse.Kind.OVERSEAS, priority=50)
    return {
        "cn": cn,
        "us": us,
        "bins": {"CN1": BinFactory(warehouse=cn), "US1": BinFactory(warehouse=us)},
        "store": StoreFactory(),
        "a": ProductFactory(sku="CASE-A"),
    }


def shipped_on(days_ago: int) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(12), tzinfo=timezone.get_default_timezone())


def sold(
    site,
    product,
    days_ago: int,
    units: int,
    *,
    warehouse=None,
    handed_over: bool = True,
    packs: tuple[int, int, int] | None = None,
) -> Order:
    """An order of ``units`` of ``product`` shipped from ``warehouse`` (CN1) ``days_ago`` days before TODAY: the
    sales history, written as the order import and hand-over leave it. ``packs`` = (packs ordered, units per pack,
    packs shipped) for a store listing sold in packs."""
    number = next(NUMBERS)
    order = Order.objects.create(
        store=site["store"],
        channel_order_id=f"S-{number}",
        status=Order.Status.SHIPPED,
        ordered_at=shipped_on(days_ago + 1),
        channel_updated_at=shipped_on(days_ago),
        warehouse=warehouse or site["cn"],
    )
    ordered, per_pack, shipped = packs or (units, 1, units)
    line = OrderLine.objects.create(
        order=order,
        channel_line_id="L1",
        channel_sku=product.sku,
        quantity=ordered,
        product=product,
        product_quantity=ordered * per_pack,
    )
    shipment = OrderShipment.objects.create(
        order=order,
        carrier="YunExpress",
        tracking_number=f"YT{number}",
        shipped_at=shipped_on(days_ago),
        handed_over=handed_over,
    )
    OrderShipmentLine.objects.create(shipment=shipment, line=line, quantity=shipped)
    return order


def sold_daily(site, product, days: range, units: int = 1, **kwargs) -> None:
    for days_ago in days:
        sold(site, product, days_ago, units, **kwargs)


def waiting(site, product, units: int, **order_fields) -> Order:
    """An order waiting for stock (a backorder)."""
    number = next(NUMBERS)
    order = Order.objects.create(
        store=site["store"],
        channel_order_id=f"W-{number}",
        status=order_fields.pop("status", Order.Status.AWAITING_STOCK),
        ordered_at=shipped_on(1),
        channel_updated_at=shipped_on(1),
        **order_fields,
    )
    OrderLine.objects.create(
        order=order,
        channel_line_id="L1",
        channel_sku=product.sku,
        quantity=units,
        product=product,
        product_quantity=units,
    )
    return order


def receive(site, code: str, product, quantity: int) -> None:
    stock_receive(product=product, bin=site["bins"][code], quantity=quantity, reference="OPENING")


def global_policy(**fields) -> ReorderPolicy:
    return ReorderPolicy.objects.create(name="Global", **fields)


def computed(product, warehouse, **kwargs) -> Suggestion:
    suggestions_compute(today=TODAY, **kwargs)
    return Suggestion.objects.get(product=product, warehouse=warehouse)


def windows(suggestion: Suggestion) -> list[tuple]:
    """(days, units, days counted, stock-out days, promotion days, average) of each window."""
    return [
        (
            item["days"],
            item["units"],
            item["days_counted"],
            item["days_left_out"]["stockout"],
            item["days_left_out"]["promotion"],
            item["average"],
        )
        for item in suggestion.windows
    ]


def test_weighted_ads_over_three_windows_keeps_every_figure(site):
    a = site["a"]
    sold_daily(site, a, range(1, 8), 2)  # 14 units in the last 7 days
    sold_daily(site, a, range(8, 15), 1)  # 7 more in the 7 before
    sold(site, a, 20, 6, packs=(3, 3, 2))  # 2 of 3 packs of 3 shipped: 6 units
    sold(site, a, 0, 5)  # today is not over: not counted
    sold(site, a, 31, 5)  # before the longest window
    sold(site, a, 5, 5, handed_over=False)  # a label, not handed over
    sold(site, a, 5, 4, warehouse=site["us"])  # sold from the other warehouse
    receive(site, "CN1", a, 10)

    written = suggestions_compute(today=TODAY)

    assert written == 2  # one product × two warehouses
    suggestion = Suggestion.objects.get(product=a, warehouse=site["cn"])
    assert suggestion.windows == [
        {
            "days": 7,
            "weight": "0.5",
            "units": "14",
            "days_counted": 7,
            "days_left_out": {"stockout": 0, "promotion": 0},
            "days_capped": 0,
            "day_cap": None,
            "average": "2",
        },
        {
            "days": 14,
            "weight": "0.3",
            "units": "21",
            "days_counted": 14,
            "days_left_out": {"stockout": 0, "promotion": 0},
            "days_capped": 0,
            "day_cap": None,
            "average": "1.5",
        },
        {
            "days": 30,
            "weight": "0.2",
            "units": "27",
            "days_counted": 30,
            "days_left_out": {"stockout": 0, "promotion": 0},
            "days_capped": 0,
            "day_cap": None,
            "average": "0.9",
        },
    ]
    # ADS 1.63 = 0.5×2 + 0.3×1.5 + 0.2×0.9; cover 24 = lead 10 (7 + 1 + 2, the default policy) + 7 + 7.
    assert (suggestion.kind, suggestion.policy_id, suggestion.supplier_product_id, suggestion.ads) == (
        "purchase",
        None,
        None,
        Decimal("1.6300"),
    )
    assert (
        suggestion.production_days,
        suggestion.qc_days,
        suggestion.transit_days,
        suggestion.lead_time_days,
        suggestion.safety_days,
        suggestion.review_period_days,
        suggestion.cover_days,
    ) == (7, 1, 2, 10, 7, 7, 24)
    assert (suggestion.demand, suggestion.available, suggestion.net_need) == (
        Decimal("39.1200"),
        10,
        Decimal("29.1200"),
    )
    assert (suggestion.minimum_order_quantity, suggestion.case_pack, suggestion.quantity) == (1, 1, 30)
    # 10 ÷ 1.63 = 6.13 days, shown rounded down; order by today + ⌊6.1 − 10 − 7⌋ = 11 days ago.
    assert (suggestion.days_of_cover, suggestion.order_by, suggestion.urgency) == (
        Decimal("6.1"),
        date(2026, 11, 20),
        "overdue",
    )
    assert (suggestion.status, suggestion.computed_at is not None) == ("open", True)

    other = Suggestion.objects.get(product=a, warehouse=site["us"])
    # 4 units: 0.5×0.5714 + 0.3×0.2857 + 0.2×0.1333 = 0.39807, kept to 4 decimals.
    assert [item["average"] for item in other.windows] == ["0.5714", "0.2857", "0.1333"]
    assert (other.ads, other.demand, other.quantity, other.days_of_cover) == (
        Decimal("0.3981"),
        Decimal("9.5544"),
        10,
        Decimal("0.0"),
    )


def test_stockout_and_promotion_days_are_left_out_unless_the_policy_counts_them(site):
    a = site["a"]
    policy = global_policy(windows=[{"days": 7, "weight": "0.5"}, {"days": 14, "weight": "0.5"}])
    sold_daily(site, a, range(1, 15), 1)
    sold(site, a, 4, 9)  # the promotion's extra sales
    StockoutDay.objects.create(product=a, warehouse=site["cn"], day=TODAY - timedelta(days=2))
    StockoutDay.objects.create(product=a, warehouse=site["cn"], day=TODAY - timedelta(days=9))
    StockoutDay.objects.create(product=a, warehouse=site["us"], day=TODAY - timedelta(days=3))  # another warehouse
    day_4 = TODAY - timedelta(days=4)
    Promotion.objects.create(name="Double 12 warm-up", product=a, starts_on=day_4, ends_on=day_4)
    # A sale of every product on day 9, which was also a stock-out day: left out once, as a stock-out day.
    day_9 = TODAY - timedelta(days=9)
    Promotion.objects.create(name="Store-wide", product=None, starts_on=day_9, ends_on=day_9)
    Promotion.objects.create(name="Last year", product=None, starts_on=date(2025, 11, 1), ends_on=date(2025, 11, 30))

    suggestion = computed(a, site["cn"])

    # 7 days: days 2 (out of stock) and 4 (promotion) left out, 5 units over 5 days; 14 days: days 2, 9 and 4 left
    # out, 11 units over 11 days.
    assert windows(suggestion) == [(7, "5", 5, 1, 1, "1"), (14, "11", 11, 2, 1, "1")]
    assert suggestion.ads == Decimal("1.0000")

    policy.leave_out_stockout_days = False
    policy.leave_out_promotion_days = False
    policy.save()
    suggestion = computed(a, site["cn"])
    assert windows(suggestion) == [(7, "16", 7, 0, 0, "2.2857"), (14, "23", 14, 0, 0, "1.6429")]
    assert suggestion.ads == Decimal("1.9643")  # 0.5×2.2857 + 0.5×1.6429 = 1.9643

    policy.leave_out_stockout_days = True
    policy.save()
    suggestion = computed(a, site["cn"])
    assert windows(suggestion) == [(7, "15", 6, 1, 0, "2.5"), (14, "21", 12, 2, 0, "1.75")]


def test_a_spike_is_capped_at_a_multiple_of_the_longest_windows_average_day(site):
    a = site["a"]
    global_policy(windows=[{"days": 7, "weight": "0.5"}, {"days": 14, "weight": "0.5"}], day_cap_multiple=Decimal(2))
    sold_daily(site, a, range(1, 15), 1)
    sold(site, a, 3, 19)  # day 3: 20 units

    suggestion = computed(a, site["cn"])

    # The longest window's average day, uncapped: 33 ÷ 14 = 2.3571; the cap is twice that, 4.7142.
    assert [(item["day_cap"], item["days_capped"]) for item in suggestion.windows] == [("4.7142", 1), ("4.7142", 1)]
    # 7 days: 6 + 4.7142 = 10.7142 ÷ 7 = 1.5306; 14 days: 13 + 4.7142 = 17.7142 ÷ 14 = 1.2653.
    assert windows(suggestion) == [(7, "10.7142", 7, 0, 0, "1.5306"), (14, "17.7142", 14, 0, 0, "1.2653")]
    assert suggestion.ads == Decimal("1.3980")  # 0.5×1.5306 + 0.5×1.2653 = 1.39795, rounded half up


def test_lead_legs_come_from_the_chosen_supplier_product_else_the_supplier_else_the_policy(site):
    preferred_product, cheapest_product, inactive_product, unsupplied = (
        site["a"],
        ProductFactory(sku="CASE-B"),
        ProductFactory(sku="CASE-C"),
        ProductFactory(sku="CASE-D"),
    )
    SupplierProductFactory(product=preferred_product, unit_cost=Decimal("1.00"), lead_time_days=3)
    preferred = SupplierProductFactory(
        product=preferred_product, is_preferred=True, unit_cost=Decimal("9.00"), lead_time_days=20, transit_days=10
    )
    slow = SupplierFactory(name="Slow Co.", default_lead_time_days=15)
    SupplierProductFactory(product=cheapest_product, unit_cost=Decimal("5.00"), lead_time_days=1)
    cheapest = SupplierProductFactory(supplier=slow, product=cheapest_product, unit_cost=Decimal("4.00"), qc_days=3)
    SupplierProductFactory(product=cheapest_product, unit_cost=Decimal("4.00"), lead_time_days=2)  # same cost, later
    closed = SupplierFactory(name="Closed Co.", is_active=False)
    SupplierProductFactory(supplier=closed, product=inactive_product, is_preferred=True, lead_time_days=30)

    suggestions_compute(today=TODAY, warehouses=[site["cn"]])

    def legs(product):
        suggestion = Suggestion.objects.get(product=product, warehouse=site["cn"])
        return (
            suggestion.supplier_product_id,
            suggestion.production_days,
            suggestion.qc_days,
            suggestion.transit_days,
            suggestion.lead_time_days,
            suggestion.cover_days,
        )

    # Preferred: its own production 20 and transit 10, the policy's QC 1.
    assert legs(preferred_product) == (preferred.pk, 20, 1, 10, 31, 45)
    # Cheapest (then lowest id): no production days of its own, so the supplier's 15; its QC 3; the policy's transit.
    assert legs(cheapest_product) == (cheapest.pk, 15, 3, 2, 20, 34)
    # Only an inactive supplier, or none: the policy's legs, and still a purchase suggestion.
    assert legs(inactive_product) == (None, 7, 1, 2, 10, 24)
    assert legs(unsupplied) == (None, 7, 1, 2, 10, 24)
    assert Suggestion.objects.get(product=unsupplied, warehouse=site["cn"]).kind == "purchase"
    assert not Suggestion.objects.filter(warehouse=site["us"]).exists()  # only the warehouse asked for


def test_quantity_is_raised_to_the_moq_then_rounded_up_to_the_case_pack(site):
    a = site["a"]
    sold_daily(site, a, range(1, 31), 1)  # ADS 1
    SupplierProductFactory(
        product=a, lead_time_days=16, qc_days=0, transit_days=0, minimum_order_quantity=50, case_pack=20
    )

    suggestion = computed(a, site["cn"], warehouses=[site["cn"]])
    # Cover 30 = 16 + 0 + 0 + 7 + 7: demand 30, need 30, raised to the MOQ 50, then to 60 (3 cases of 20).
    assert (suggestion.ads, suggestion.net_need, suggestion.minimum_order_quantity, suggestion.case_pack) == (
        Decimal("1.0000"),
        Decimal("30.0000"),
        50,
        20,
    )
    assert suggestion.quantity == 60

    ReorderPolicy.objects.create(
        name="Case A", product=a, windows=[{"days": 30, "weight": "1"}], minimum_order_quantity=10, case_pack=12
    )
    suggestion = computed(a, site["cn"], warehouses=[site["cn"]])
    assert (suggestion.minimum_order_quantity, suggestion.case_pack, suggestion.quantity) == (10, 12, 36)

    receive(site, "CN1", a, 25)  # need 5: the MOQ 10, then a case of 12
    assert computed(a, site["cn"], warehouses=[site["cn"]]).quantity == 12

    receive(site, "CN1", a, 5)  # 30 cover the demand
    suggestion = computed(a, site["cn"], warehouses=[site["cn"]])
    assert (suggestion.net_need, suggestion.quantity, suggestion.urgency) == (Decimal("0.0000"), 0, "none")


def test_open_purchase_orders_transfers_in_transit_and_backorders_count_in_the_position(site):
    a = site["a"]
    cn, us = site["cn"], site["us"]
    sold_daily(site, a, range(1, 31), 1)  # ADS 1, demand 24 over the default cover
    receive(site, "CN1", a, 20)
    stock_reserve(warehouse=cn, lines=[(a, 3)], reference="ORDER-1")
    supplier = SupplierFactory()
    for number, (status, quantity, received) in enumerate(
        [
            ("draft", 5, 0),  # the buyer has decided: 5
            ("submitted", 10, 4),  # 6 still to come
            ("partially_received", 8, 8),  # all in
            ("received", 100, 90),
            ("cancelled", 100, 0),
        ]
    ):
        order = PurchaseOrder.objects.create(number=f"PO-{number}", supplier=supplier, warehouse=cn, status=status)
        PurchaseOrderLine.objects.create(
            purchase_order=order, product=a, quantity=quantity, quantity_received=received, unit_cost=Decimal("1")
        )
    to_us = PurchaseOrder.objects.create(number="PO-US", supplier=supplier, warehouse=us, status="submitted")
    PurchaseOrderLine.objects.create(purchase_order=to_us, product=a, quantity=7, unit_cost=Decimal("1"))
    receive(site, "US1", a, 10)
    transfer = transfer_create(source=us, destination=cn, lines=[(a, 6, None)])
    transfer_ship(transfer=transfer)
    transfer_receive(transfer=transfer, lines=[(a, 2)], bin=site["bins"]["CN1"])  # 4 still on the way
    kit = ProductFactory(sku="KIT-A3", is_bundle=True)
    BundleComponentFactory(bundle=kit, component=a, quantity=3)
    waiting(site, a, 9, warehouse_by_hand=cn)  # a person chose CN1
    waiting(site, kit, 2, warehouse=cn)  # allocation chose CN1: 2 kits of 3
    waiting(site, a, 50)  # not routed yet: counted at CN1, the warehouse allocation tries first
    waiting(site, a, 40, warehouse=cn, status=Order.Status.ALLOCATED)  # reserved, not a backorder

    suggestion = computed(a, cn)

    # available 20 − 3 + 2 = 19; backorders 9 + 6 + 50 = 65; position 19 + 11 + 4 − 65 = −31; need 24 + 31 = 55.
    assert (
        suggestion.available,
        suggestion.incoming_purchase,
        suggestion.incoming_transfer,
        suggestion.backorders,
    ) == (19, 11, 4, 65)
    assert (suggestion.net_need, suggestion.quantity) == (Decimal("55.0000"), 55)
    us_row = Suggestion.objects.get(product=a, warehouse=us)
    assert (us_row.available, us_row.incoming_purchase, us_row.incoming_transfer, us_row.backorders) == (4, 7, 0, 0)


def test_a_bundles_sales_count_on_its_components_and_a_bundle_gets_no_suggestion(site):
    a, b = site["a"], ProductFactory(sku="CABLE-B")
    kit = ProductFactory(sku="KIT-1", is_bundle=True)
    BundleComponentFactory(bundle=kit, component=a, quantity=2)
    BundleComponentFactory(bundle=kit, component=b, quantity=1)
    sold(site, kit, 1, 3)
    sold(site, a, 2, 1)
    global_policy(windows=[{"days": 7, "weight": "1"}])

    suggestions_compute(today=TODAY, warehouses=[site["cn"]])

    rows = {row.product.sku: row for row in Suggestion.objects.select_related("product")}
    assert sorted(rows) == ["CABLE-B", "CASE-A"]
    assert (windows(rows["CASE-A"]), rows["CASE-A"].ads) == ([(7, "7", 7, 0, 0, "1")], Decimal("1.0000"))
    assert (windows(rows["CABLE-B"]), rows["CABLE-B"].ads) == ([(7, "3", 7, 0, 0, "0.4286")], Decimal("0.4286"))


def test_an_overseas_warehouse_replenished_from_shenzhen_gets_a_transfer_suggestion(site):
    a, cn, us = site["a"], site["cn"], site["us"]
    supplier_product = SupplierProductFactory(product=a, lead_time_days=20, minimum_order_quantity=50, case_pack=20)
    ReorderPolicy.objects.create(
        name="Los Angeles from Shenzhen",
        warehouse=us,
        replenish_from=cn,
        transit_mode=ReorderPolicy.TransitMode.SEA,
        qc_days=2,
        transit_days=30,
        safety_days=10,
    )
    sold_daily(site, a, range(1, 31), 1, warehouse=us)

    suggestions_compute(today=TODAY)

    transfer = Suggestion.objects.get(product=a, warehouse=us)
    # No production leg, the policy's QC and sea transit: lead 32, cover 32 + 10 + 7 = 49; no supplier MOQ or case.
    assert (transfer.kind, transfer.source_warehouse, transfer.supplier_product) == ("transfer", cn, None)
    assert (transfer.production_days, transfer.qc_days, transfer.transit_days, transfer.cover_days) == (0, 2, 30, 49)
    assert (transfer.minimum_order_quantity, transfer.case_pack, transfer.quantity) == (1, 1, 49)
    purchase = Suggestion.objects.get(product=a, warehouse=cn)
    assert (purchase.kind, purchase.source_warehouse, purchase.supplier_product) == ("purchase", None, supplier_product)


def test_the_most_specific_active_policy_applies(site):
    p, q = site["a"], ProductFactory(sku="CASE-Q")
    cn, us = site["cn"], site["us"]
    global_policy(safety_days=1)
    by_warehouse = ReorderPolicy.objects.create(name="US", warehouse=us, safety_days=2)
    by_product = ReorderPolicy.objects.create(name="P", product=p, safety_days=3)
    exact = ReorderPolicy.objects.create(name="P in US", product=p, warehouse=us, safety_days=4)
    ReorderPolicy.objects.create(name="Q in CN, off", product=q, warehouse=cn, safety_days=9, is_active=False)

    with CaptureQueriesContext(connection) as queries:
        assert policy_for(product=p, warehouse=cn) == by_product
    assert len(queries) == 1
    assert policy_for(product=p, warehouse=us) == exact
    assert policy_for(product=q.pk, warehouse=cn.pk).name == "Global"
    assert policy_for(product=q, warehouse=us) == by_warehouse

    suggestions_compute(today=TODAY)
    safety = {(row.product.sku, row.warehouse.code): row.safety_days for row in Suggestion.objects.all()}
    assert safety == {("CASE-A", "CN1"): 3, ("CASE-A", "US1"): 4, ("CASE-Q", "CN1"): 1, ("CASE-Q", "US1"): 2}

    ReorderPolicy.objects.filter(product=None, warehouse=None).delete()
    default = policy_for(product=q, warehouse=cn)
    assert (default.pk, default.name, default.safety_days, default.windows) == (
        None,
        "Default",
        7,
        [{"days": 7, "weight": "0.5"}, {"days": 14, "weight": "0.3"}, {"days": 30, "weight": "0.2"}],
    )


def urgency_case(available: int, backorders: int = 0, sold_yesterday: int = 2) -> tuple:
    """ADS 2 (one 1-day window), lead 3, safety 2, review 5: demand 20."""
    policy = PolicyTerms(
        windows=(Window(1, Decimal(1)),),
        production_days=3,
        qc_days=0,
        transit_days=0,
        safety_days=2,
        review_period_days=5,
    )
    sales = {TODAY - timedelta(days=1): Decimal(sold_yesterday)} if sold_yesterday else {}
    figures = suggestion_figures(
        SuggestionInputs(policy=policy, sales=sales, available=available, backorders=backorders), TODAY
    )
    return figures.quantity, figures.days_of_cover, figures.order_by, figures.urgency


def test_order_by_is_when_stock_runs_down_to_lead_time_and_safety_and_urgency_follows():
    assert urgency_case(0) == (20, Decimal("0.0"), TODAY - timedelta(days=5), "overdue")
    assert urgency_case(9) == (11, Decimal("4.5"), TODAY - timedelta(days=1), "overdue")
    assert urgency_case(10) == (10, Decimal("5.0"), TODAY, "now")
    assert urgency_case(11) == (9, Decimal("5.5"), TODAY, "now")
    assert urgency_case(12) == (8, Decimal("6.0"), TODAY + timedelta(days=1), "soon")
    assert urgency_case(19) == (1, Decimal("9.5"), TODAY + timedelta(days=4), "soon")
    assert urgency_case(20) == (0, Decimal("10.0"), TODAY + timedelta(days=5), "none")
    # Stock for four hundred years: days of cover are held at a hundred years, so the date stays a date.
    assert urgency_case(300_000) == (0, Decimal("36500.0"), TODAY + timedelta(days=36_495), "none")
    # No sales: no date; a need made only of backorders is overdue, customers are waiting.
    assert urgency_case(5, sold_yesterday=0) == (0, None, None, "none")
    assert urgency_case(5, backorders=8, sold_yesterday=0) == (3, None, None, "overdue")


def test_a_recompute_keeps_ordered_or_dismissed_while_the_quantity_stays(site):
    a, b = site["a"], ProductFactory(sku="CABLE-B")
    cn, us = site["cn"], site["us"]
    sold_daily(site, a, range(1, 31), 1)
    sold_daily(site, b, range(1, 31), 1, warehouse=us)
    suggestions_compute(today=TODAY)
    ordered = Suggestion.objects.get(product=a, warehouse=cn)
    supplier = SupplierFactory()
    # Cancelled, so that it does not count as incoming: only the link is kept.
    purchase_order = PurchaseOrder.objects.create(number="PO-1", supplier=supplier, warehouse=cn, status="cancelled")
    line = PurchaseOrderLine.objects.create(
        purchase_order=purchase_order, product=a, quantity=24, unit_cost=Decimal("1")
    )
    Suggestion.objects.filter(pk=ordered.pk).update(status="ordered", purchase_order_line=line)
    Suggestion.objects.filter(product=b, warehouse=us).update(status="dismissed")
    first_computed_at = ordered.computed_at

    suggestions_compute(today=TODAY)

    ordered.refresh_from_db()
    assert (ordered.quantity, ordered.status, ordered.purchase_order_line) == (24, "ordered", line)
    assert ordered.computed_at > first_computed_at
    assert Suggestion.objects.get(product=b, warehouse=us).status == "dismissed"

    receive(site, "CN1", a, 4)  # the need changes: open again, still linked to what was ordered
    receive(site, "US1", b, 4)
    suggestions_compute(today=TODAY)
    ordered.refresh_from_db()
    assert (ordered.quantity, ordered.status, ordered.purchase_order_line) == (20, "open", line)
    assert Suggestion.objects.get(product=b, warehouse=us).status == "open"


def test_the_scope_is_active_products_and_warehouses_and_rows_leaving_it_go(site):
    a, b = site["a"], ProductFactory(sku="CABLE-B")
    WarehouseFactory(code="FBA-US", kind=Warehouse.Kind.FBA, country="US")
    WarehouseFactory(code="OLD", is_active=False)
    ProductFactory(sku="RETIRED", is_active=False)
    assert suggestions_compute(today=TODAY) == 4
    assert sorted(Suggestion.objects.values_list("product__sku", "warehouse__code")) == [
        ("CABLE-B", "CN1"),
        ("CABLE-B", "US1"),
        ("CASE-A", "CN1"),
        ("CASE-A", "US1"),
    ]
    before = dict(Suggestion.objects.values_list("pk", "computed_at"))

    # Only one product: the other's rows are left as they were.
    assert suggestions_compute(today=TODAY, products=[b]) == 2
    after = dict(Suggestion.objects.values_list("pk", "computed_at"))
    changed = {Suggestion.objects.get(pk=pk).product.sku for pk in after if after[pk] != before[pk]}
    assert changed == {"CABLE-B"}

    a.is_active = False
    a.save()
    site["us"].is_active = False
    site["us"].save()
    assert suggestions_compute(today=TODAY, warehouses=[site["us"]]) == 0  # narrowed to nothing: its rows go
    assert sorted(Suggestion.objects.values_list("product__sku", "warehouse__code")) == [
        ("CABLE-B", "CN1"),
        ("CASE-A", "CN1"),
    ]
    assert suggestions_compute(today=TODAY) == 1
    assert list(Suggestion.objects.values_list("product__sku", "warehouse__code")) == [("CABLE-B", "CN1")]


def test_the_number_of_queries_does_not_grow_with_the_products(site):
    def queries_for_a_run() -> int:
        with CaptureQueriesContext(connection) as queries:
            suggestions_compute(today=TODAY)
        return len(queries)

    SupplierProductFactory(product=site["a"])
    sold(site, site["a"], 1, 1)
    few = queries_for_a_run()
    for number in range(20):
        product = ProductFactory(sku=f"MORE-{number}")
        SupplierProductFactory(product=product)
        sold(site, product, 1 + number % 7, 2)
        StockoutDay.objects.create(product=product, warehouse=site["cn"], day=TODAY - timedelta(days=3))
    assert queries_for_a_run() == few
    assert Suggestion.objects.count() == 42


def test_orders_imported_allocated_and_shipped_through_the_services_are_the_sales(site):
    a, cn = site["a"], site["cn"]
    method_with_card("YT-STD")
    receive(site, "CN1", a, 3)
    result = orders_upsert(
        store_id=site["store"].pk,
        orders=[
            order_in("A-1", lines=[line_in("L1", "CASE-A", 3)]),
            order_in("A-2", lines=[line_in("L1", "CASE-A", 4)], ordered_at=T0 + timedelta(hours=1)),
        ],
    )
    assert not result.problems
    order_lines_map(store_id=site["store"].pk, channel_sku="CASE-A", product_id=a.pk)
    orders_allocate()
    first = Order.objects.get(channel_order_id="A-1")
    second = Order.objects.get(channel_order_id="A-2")
    assert (first.status, second.status) == (Order.Status.ALLOCATED, Order.Status.AWAITING_STOCK)
    order_shipment_record(order=first, carrier="YunExpress", tracking_number="YT-A1", shipped_at=shipped_on(1))
    second = order_set_by_hand(order=second, warehouse=cn)  # still short: it waits, now at CN1
    assert second.status == Order.Status.AWAITING_STOCK

    suggestion = computed(a, cn)

    assert [item["units"] for item in suggestion.windows] == ["3", "3", "3"]
    # The shipment gave its reservation back (stock leaves at the hand-over in logistics); the second order's 4 are
    # owed.
    assert (suggestion.available, suggestion.backorders) == (3, 4)
    # ADS 0.5×3/7 + 0.3×3/14 + 0.2×3/30 = 0.2143 + 0.0643 + 0.02 = 0.2986 (of the rounded averages 0.4286, 0.2143, 0.1).
    assert suggestion.ads == Decimal("0.2986")


def test_stockout_days_are_noted_once_a_day_for_balances_with_nothing_available(site):
    a, b, c = site["a"], ProductFactory(sku="CABLE-B"), ProductFactory(sku="LED-C")
    receive(site, "CN1", a, 2)
    stock_reserve(warehouse=site["cn"], lines=[(a, 2)], reference="ORDER-1")  # all promised: nothing available
    receive(site, "CN1", b, 1)
    receive(site, "US1", c, 1)
    stock_receive(product=c, bin=BinFactory(warehouse=site["cn"], kind=Bin.Kind.QUARANTINE), quantity=3)

    assert stockout_days_record(today=TODAY) == 2  # a (reserved) and c (only in quarantine) at CN1
    assert sorted(StockoutDay.objects.values_list("product__sku", "warehouse__code", "day")) == [
        ("CASE-A", "CN1", TODAY),
        ("LED-C", "CN1", TODAY),
    ]
    assert stockout_days_record(today=TODAY) == 0
    assert stockout_days_record(today=TODAY + timedelta(days=1)) == 2


def test_the_tasks_run_the_services_and_are_scheduled_hourly(site):
    sold(site, site["a"], 1, 1)
    assert suggestions_compute_task.apply(kwargs={"warehouse_ids": [site["us"].pk]}).get() == 1
    assert list(Suggestion.objects.values_list("warehouse__code", flat=True)) == ["US1"]
    assert suggestions_compute_task.apply().get() == 2
    assert stockout_days_record_task.apply().get() == 0

    assert periodic_tasks_ensure() == {SUGGESTIONS_TASK: "created", STOCKOUT_DAYS_TASK: "created"}
    assert periodic_tasks_ensure() == {SUGGESTIONS_TASK: "unchanged", STOCKOUT_DAYS_TASK: "unchanged"}
    tasks = {task.name: (task.task, task.interval.every, task.interval.period) for task in PeriodicTask.objects.all()}
    assert tasks == {
        SUGGESTIONS_TASK: ("purchasing.tasks.suggestions_compute_task", 60, "minutes"),
        STOCKOUT_DAYS_TASK: ("purchasing.tasks.stockout_days_record_task", 60, "minutes"),
    }
