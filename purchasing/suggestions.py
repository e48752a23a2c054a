"""Purchase suggestions (采购建议): what to buy, or to move from the domestic warehouse, for each product in each
warehouse, with every figure it was worked out from kept on the row (``purchasing.models.Suggestion``).

    ADS       = Σ weight × (units sold on the window's counted days ÷ its counted days)
    cover     = lead time (production + QC + transit) + safety days + review period
    quantity  = demand (ADS × cover) − position (available + incoming purchase orders + transfers in transit
                − backorders), rounded up to a whole unit, raised to the MOQ, then up to a multiple of the case pack;
                0 when the position covers the demand
    order by  = today + ⌊days of cover (position ÷ ADS) − lead time − safety days⌋

Three parts: ``policy_for``/``PolicyBook`` say which reorder policy applies (the most specific active one:
product and warehouse > product > warehouse > global > an unsaved default); ``suggestion_figures`` is the
arithmetic, a pure function of ``SuggestionInputs`` (the property tests call it without a database);
``suggestions_compute`` gathers the inputs of every (product, warehouse) in a few set-based queries and writes all
rows with one COPY and one upsert. ``stockout_days_record`` notes which products have nothing to sell today.

Choices made where the design is silent:

- The policy that applies is taken whole: a product's override in a warehouse replenished from another must name
  ``replenish_from`` itself (fields are not merged from less specific policies, so a row is explained by one policy).
- A day is a day of the seller's clock (``settings.TIME_ZONE``); a unit is sold on the day its parcel was handed over
  to the carrier (``OrderShipment.shipped_at``, handed over only), at the order's warehouse (``Order.warehouse``): a
  shipment of an order that no warehouse was ever set on counts nowhere. Windows end yesterday (today is not over).
- Backorders are counted at the warehouse a person set on the order, else the one allocation set, else (an order
  waiting for stock that was never routed, which is most of them: allocation sets no warehouse when none has the
  stock) at the warehouse allocation tries first (lowest priority number), once: at each it would count twice.
- A bundle's units count on its components (× their quantity), in sales and in backorders; a promotion of a bundle
  leaves its days out for its components too.
- A day both out of stock and in a promotion is left out once, as a stock-out day, so the two counts in
  ``days_left_out`` add up to the days left out.
- The day cap is ``day_cap_multiple × the average day of the longest window`` (uncapped, over its counted days,
  rounded to 4 decimals) and applies to every window's counted days.
- Each window's average and the ADS are rounded half up to 4 decimals, the ADS from the rounded averages, so the
  derivation a buyer reads adds up. ``days_of_cover`` is rounded down to 0.1 (the order-by date is then the same
  from the shown figure as from the exact one) and held within ±36,500 days: a hundred years is "no date" in
  practice, and dates and the column have limits.
- With something to order and no sales (the need is only backorders) there is no order-by date and the urgency is
  "overdue": customers are already waiting.
- The supplier product is chosen among active suppliers: the preferred one, else the lowest unit cost as written
  (currencies are not converted), then the lowest id. A product without one still gets a purchase suggestion (no
  supplier product, the policy's legs) so the buyer sees the need.
- A transfer suggestion (the policy has ``replenish_from``) takes MOQ and case pack from the policy, else 1. The
  source warehouse's own suggestion does not add what the warehouses it replenishes will ask of it (one level).
- Incoming purchase orders are those drafted, submitted or partially received: a draft counts, the buyer has decided.
- Which rows: active products that are not bundles × active warehouses that are not FBA (the marketplace stocks
  them). ``warehouses``/``products`` narrow that scope and never widen it; rows of the narrowed scope whose product or
  warehouse has left it (deactivated, made a bundle, FBA) are deleted.
- A recompute keeps "ordered" or "dismissed" while the quantity is unchanged, else the row is "open" again; its links
  to a purchase order line or a transfer stay.
- Two runs at once take turns (a transaction-level advisory lock), so they never write the same rows crosswise.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from inventory.models import BundleComponent, InventoryBalance, Product, Warehouse
from inventory.stock_selectors import AVAILABLE
from inventory.transfer_services import transfers_in_transit
from orders.models import Order
from purchasing.models import (
    Promotion,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderPolicy,
    StockoutDay,
    Suggestion,
    SupplierProduct,
)
from purchasing.orders import RECEIVABLE_STATUSES

# Plain strings (not the choices' enum members), so that they format as their values wherever they are written.
PURCHASE, TRANSFER = Suggestion.Kind.PURCHASE.value, Suggestion.Kind.TRANSFER.value
OVERDUE, NOW, SOON, LATER, NONE = (
    Suggestion.Urgency.OVERDUE.value,
    Suggestion.Urgency.NOW.value,
    Suggestion.Urgency.SOON.value,
    Suggestion.Urgency.LATER.value,
    Suggestion.Urgency.NONE.value,
)

DEFAULT_POLICY_NAME = "Default"
# Purchase orders whose open quantity is on its way: a draft counts too, the buyer has decided to buy it.
INCOMING_PURCHASE_STATUSES = (PurchaseOrder.Status.DRAFT, *RECEIVABLE_STATUSES)
# A status a person gave a suggestion, kept by a recompute while the quantity stays the same.
KEPT_STATUSES = (Suggestion.Status.ORDERED, Suggestion.Status.DISMISSED)
DAYS_OF_COVER_MAX = Decimal(36_500)
# Any constant will do: runs of suggestions_compute take this transaction-level lock and so take turns.
COMPUTE_LOCK_KEY = 0x5EAB_0001

COPY_BLOCK_ROWS = 5000

ZERO = Decimal(0)
FOUR_PLACES = Decimal("0.0001")
TENTH = Decimal("0.1")


def _q4(value: Decimal) -> Decimal:
    return value.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def _decimal_text(value: Decimal) -> str:
    """4 decimals at most, without trailing zeros: "3.8571", "27", "0". (Most figures have 4 places already; the
    string test is cheaper than rounding every one.)"""
    text = str(value)
    if "E" in text or ("." in text and len(text) - text.index(".") > 5):
        text = f"{_q4(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- Which policy applies ------------------------------------------------------------------------------------------


class PolicyBook:
    """Active reorder policies read once, answering which one applies to a (product, warehouse): the most specific
    wins, (product, warehouse) > (product, any) > (any, warehouse) > global; without a global row, an unsaved
    ``ReorderPolicy(name="Default")`` with the model's defaults."""

    def __init__(self, policies: Iterable[ReorderPolicy]) -> None:
        self._by_scope = {(policy.product_id, policy.warehouse_id): policy for policy in policies}
        self.default = self._by_scope.get((None, None)) or ReorderPolicy(name=DEFAULT_POLICY_NAME)

    @classmethod
    def load(cls) -> PolicyBook:
        return cls(ReorderPolicy.objects.filter(is_active=True))

    def policy_for(self, product_id: int, warehouse_id: int) -> ReorderPolicy:
        by_scope = self._by_scope
        return (
            by_scope.get((product_id, warehouse_id))
            or by_scope.get((product_id, None))
            or by_scope.get((None, warehouse_id))
            or self.default
        )

    def longest_window_days(self) -> int:
        """The longest sales window of any policy: how far back sales are read."""
        policies = [*self._by_scope.values(), self.default]
        return max((int(window["days"]) for policy in policies for window in policy.windows or ()), default=0)


def policy_for(*, product: Product | int, warehouse: Warehouse | int) -> ReorderPolicy:
    """The reorder policy that applies to one product in one warehouse (one query of at most four rows)."""
    product_id, warehouse_id = _pk(product), _pk(warehouse)
    candidates = ReorderPolicy.objects.filter(
        Q(product_id=product_id) | Q(product__isnull=True),
        Q(warehouse_id=warehouse_id) | Q(warehouse__isnull=True),
        is_active=True,
    )
    return PolicyBook(candidates).policy_for(product_id, warehouse_id)


# --- The arithmetic, without a database ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    days: int
    weight: Decimal


@dataclass(frozen=True, slots=True)
class PolicyTerms:
    """What the arithmetic needs of a reorder policy."""

    windows: tuple[Window, ...]
    leave_out_stockout_days: bool = True
    leave_out_promotion_days: bool = True
    day_cap_multiple: Decimal | None = None
    safety_days: int = 7
    review_period_days: int = 7
    production_days: int = 7
    qc_days: int = 1
    transit_days: int = 2
    minimum_order_quantity: int | None = None
    case_pack: int | None = None
    replenish_from_id: int | None = None
    policy_id: int | None = None

    @classmethod
    def of(cls, policy: ReorderPolicy) -> PolicyTerms:
        return cls(
            windows=tuple(Window(int(item["days"]), Decimal(str(item["weight"]))) for item in policy.windows or ()),
            leave_out_stockout_days=policy.leave_out_stockout_days,
            leave_out_promotion_days=policy.leave_out_promotion_days,
            day_cap_multiple=policy.day_cap_multiple,
            safety_days=policy.safety_days,
            review_period_days=policy.review_period_days,
            production_days=policy.production_days,
            qc_days=policy.qc_days,
            transit_days=policy.transit_days,
            minimum_order_quantity=policy.minimum_order_quantity,
            case_pack=policy.case_pack,
            replenish_from_id=policy.replenish_from_id,
            policy_id=policy.pk,
        )


@dataclass(frozen=True, slots=True)
class SupplierTerms:
    """What the arithmetic needs of the supplier product a purchase would go to."""

    supplier_product_id: int | None
    lead_time_days: int | None  # the supplier product's own production or purchase days
    supplier_lead_time_days: int  # the supplier's default
    qc_days: int | None = None
    transit_days: int | None = None
    minimum_order_quantity: int = 1
    case_pack: int = 1


@dataclass(frozen=True, slots=True)
class SuggestionInputs:
    """Everything one suggestion is made from. ``sales`` maps a day to the units handed over that day (days with
    none left out); stock-out and promotion days are left out of the windows when the policy says so."""

    policy: PolicyTerms
    supplier: SupplierTerms | None = None
    sales: Mapping[date, Decimal] = field(default_factory=dict)
    stockout_days: frozenset[date] = frozenset()
    promotion_days: frozenset[date] = frozenset()
    available: int = 0
    incoming_purchase: int = 0
    incoming_transfer: int = 0
    backorders: int = 0


@dataclass(frozen=True, slots=True)
class WindowFigures:
    days: int
    weight: Decimal
    units: Decimal
    days_counted: int
    stockout_days: int
    promotion_days: int
    days_capped: int
    day_cap: Decimal | None
    average: Decimal

    def as_json(self) -> dict[str, Any]:
        """The item kept in ``Suggestion.windows``: decimals as text, so nothing is lost to floats."""
        return {
            "days": self.days,
            "weight": _decimal_text(self.weight),
            "units": _decimal_text(self.units),
            "days_counted": self.days_counted,
            "days_left_out": {"stockout": self.stockout_days, "promotion": self.promotion_days},
            "days_capped": self.days_capped,
            "day_cap": None if self.day_cap is None else _decimal_text(self.day_cap),
            "average": _decimal_text(self.average),
        }


@dataclass(frozen=True, slots=True)
class SuggestionFigures:
    kind: str
    policy_id: int | None
    supplier_product_id: int | None
    source_warehouse_id: int | None
    windows: tuple[WindowFigures, ...]
    ads: Decimal
    production_days: int
    qc_days: int
    transit_days: int
    lead_time_days: int
    safety_days: int
    review_period_days: int
    cover_days: int
    demand: Decimal
    available: int
    incoming_purchase: int
    incoming_transfer: int
    backorders: int
    position: int
    net_need: Decimal
    minimum_order_quantity: int
    case_pack: int
    quantity: int
    days_of_cover: Decimal | None
    order_by: date | None
    urgency: str

    def windows_json(self) -> list[dict[str, Any]]:
        return [window.as_json() for window in self.windows]


@functools.lru_cache(maxsize=1024)
def _window_starts(windows: tuple[Window, ...], today: date) -> tuple[date, tuple[date, ...]]:
    """The first day of the longest window and of each window (they all end yesterday)."""
    starts = tuple(today - timedelta(days=window.days) for window in windows)
    return min(starts), starts


@functools.lru_cache(maxsize=1024)
def _windows_without_sales(windows: tuple[Window, ...], capped: bool) -> tuple[WindowFigures, ...]:
    """The figures of a row that sold nothing and left no day out: most rows of a large catalogue, made once."""
    cap = ZERO if capped else None
    return tuple(WindowFigures(window.days, window.weight, ZERO, window.days, 0, 0, 0, cap, ZERO) for window in windows)


def _windows_figures(inputs: SuggestionInputs, today: date) -> tuple[WindowFigures, ...]:
    """Each window is the ``days`` days ending yesterday, less the days left out; the cap (if any) is worked out on
    the longest window, uncapped. (Written for speed: it runs for every product in every warehouse.)"""
    policy = inputs.policy
    windows = policy.windows
    if not windows:
        return ()
    first, starts = _window_starts(windows, today)
    stockout: set[date] = set()
    if policy.leave_out_stockout_days and inputs.stockout_days:
        stockout = {day for day in inputs.stockout_days if first <= day < today}
    promotion: set[date] = set()
    if policy.leave_out_promotion_days and inputs.promotion_days:
        promotion = {day for day in inputs.promotion_days if first <= day < today and day not in stockout}
    left_out = stockout | promotion if promotion else stockout
    counted_sales = [
        (day, units) for day, units in inputs.sales.items() if first <= day < today and day not in left_out
    ]
    if not counted_sales and not left_out:
        return _windows_without_sales(windows, policy.day_cap_multiple is not None)
    cap = None
    if policy.day_cap_multiple is not None:
        longest_counted = (today - first).days - len(left_out)
        base = _q4(sum((units for _day, units in counted_sales), ZERO) / longest_counted) if longest_counted else ZERO
        cap = _q4(policy.day_cap_multiple * base)
    figures = []
    for window, start in zip(windows, starts, strict=True):
        stockout_count = sum(1 for day in stockout if day >= start) if stockout else 0
        promotion_count = sum(1 for day in promotion if day >= start) if promotion else 0
        counted = window.days - stockout_count - promotion_count
        units = ZERO
        capped = 0
        for day, sold in counted_sales:
            if day >= start:
                if cap is not None and sold > cap:
                    units += cap
                    capped += 1
                else:
                    units += sold
        figures.append(
            WindowFigures(
                days=window.days,
                weight=window.weight,
                units=units,
                days_counted=counted,
                stockout_days=stockout_count,
                promotion_days=promotion_count,
                days_capped=capped,
                day_cap=cap,
                average=_q4(units / counted) if counted > 0 else ZERO,
            )
        )
    return tuple(figures)


def _rounded_up(net_need: Decimal, minimum_order_quantity: int, case_pack: int) -> int:
    if net_need <= 0:
        return 0
    quantity = max(int(net_need.to_integral_value(rounding=ROUND_CEILING)), minimum_order_quantity)
    return -(-quantity // case_pack) * case_pack


def suggestion_figures(inputs: SuggestionInputs, today: date) -> SuggestionFigures:
    """Every figure of one suggestion, from its inputs alone (see the module's docstring for the formula)."""
    policy = inputs.policy
    windows = _windows_figures(inputs, today)
    ads = _q4(sum((window.weight * window.average for window in windows), ZERO))

    supplier = inputs.supplier
    if policy.replenish_from_id is not None:
        kind, supplier = TRANSFER, None
        production, qc, transit = 0, policy.qc_days, policy.transit_days
    elif supplier is not None:
        kind = PURCHASE
        production = (
            supplier.lead_time_days if supplier.lead_time_days is not None else supplier.supplier_lead_time_days
        )
        qc = supplier.qc_days if supplier.qc_days is not None else policy.qc_days
        transit = supplier.transit_days if supplier.transit_days is not None else policy.transit_days
    else:
        kind = PURCHASE
        production, qc, transit = policy.production_days, policy.qc_days, policy.transit_days
    lead = production + qc + transit
    cover = lead + policy.safety_days + policy.review_period_days
    demand = ads * cover

    position = inputs.available + inputs.incoming_purchase + inputs.incoming_transfer - inputs.backorders
    net_need = demand - position
    minimum_order_quantity = max(
        policy.minimum_order_quantity or (supplier.minimum_order_quantity if supplier else None) or 1, 1
    )
    case_pack = max(policy.case_pack or (supplier.case_pack if supplier else None) or 1, 1)
    quantity = _rounded_up(net_need, minimum_order_quantity, case_pack)

    days_of_cover = order_by = None
    if ads > 0:
        days_of_cover = (Decimal(position) / ads).quantize(TENTH, rounding=ROUND_FLOOR)
        days_of_cover = max(-DAYS_OF_COVER_MAX, min(DAYS_OF_COVER_MAX, days_of_cover))
        order_by = today + timedelta(days=math.floor(days_of_cover - lead - policy.safety_days))
    if quantity == 0:
        urgency = NONE
    elif order_by is None or order_by < today:
        urgency = OVERDUE
    elif order_by == today:
        urgency = NOW
    elif order_by <= today + timedelta(days=policy.review_period_days):
        urgency = SOON
    else:
        urgency = LATER

    return SuggestionFigures(
        kind=kind,
        policy_id=policy.policy_id,
        supplier_product_id=supplier.supplier_product_id if supplier else None,
        source_warehouse_id=policy.replenish_from_id,
        windows=windows,
        ads=ads,
        production_days=production,
        qc_days=qc,
        transit_days=transit,
        lead_time_days=lead,
        safety_days=policy.safety_days,
        review_period_days=policy.review_period_days,
        cover_days=cover,
        demand=demand,
        available=inputs.available,
        incoming_purchase=inputs.incoming_purchase,
        incoming_transfer=inputs.incoming_transfer,
        backorders=inputs.backorders,
        position=position,
        net_need=net_need,
        minimum_order_quantity=minimum_order_quantity,
        case_pack=case_pack,
        quantity=quantity,
        days_of_cover=days_of_cover,
        order_by=order_by,
        urgency=urgency,
    )


# --- Gathering the inputs -----------------------------------------------------------------------------------------


def _pk(value: Any) -> int:
    return value.pk if hasattr(value, "pk") else int(value)


def _ids(values: Iterable[Any] | None) -> list[int] | None:
    return None if values is None else sorted({_pk(value) for value in values})


def _fetch(sql: str, params: Mapping[str, Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Raw SQL: the bundle explosion is a LEFT JOIN with COALESCE, and the day is the local day of shipped_at; as ORM
# expressions both would be harder to read and the GROUP BY over a month of lines no faster.
SALES_SQL = """
SELECT sold.product_id, sold.warehouse_id, sold.day, ROUND(SUM(sold.units), 4)
FROM (
    SELECT COALESCE(component.component_id, line.product_id) AS product_id,
           sale.warehouse_id,
           (shipment.shipped_at AT TIME ZONE %(zone)s)::date AS day,
           shipment_line.quantity::numeric * line.product_quantity / NULLIF(line.quantity, 0)
               * COALESCE(component.quantity, 1) AS units
    FROM orders_ordershipment AS shipment
    JOIN orders_ordershipmentline AS shipment_line ON shipment_line.shipment_id = shipment.id
    JOIN orders_orderline AS line ON line.id = shipment_line.line_id
    JOIN orders_order AS sale ON sale.id = line.order_id
    LEFT JOIN inventory_bundlecomponent AS component ON component.bundle_id = line.product_id
    WHERE shipment.handed_over
      AND shipment.shipped_at >= %(start)s AND shipment.shipped_at < %(end)s
      AND line.product_id IS NOT NULL
      AND sale.warehouse_id = ANY(%(warehouses)s)
) AS sold
WHERE sold.units > 0 {products}
GROUP BY 1, 2, 3
"""
BACKORDERS_SQL = """
SELECT waiting.product_id, waiting.warehouse_id, SUM(waiting.units)
FROM (
    SELECT COALESCE(component.component_id, line.product_id) AS product_id,
           COALESCE(sale.warehouse_by_hand_id, sale.warehouse_id, %(first_warehouse)s) AS warehouse_id,
           line.product_quantity * COALESCE(component.quantity, 1) AS units
    FROM orders_order AS sale
    JOIN orders_orderline AS line ON line.order_id = sale.id
    LEFT JOIN inventory_bundlecomponent AS component ON component.bundle_id = line.product_id
    WHERE sale.status = %(status)s AND line.product_id IS NOT NULL
) AS waiting
WHERE waiting.warehouse_id = ANY(%(warehouses)s) {products}
GROUP BY 1, 2
"""


def _first_warehouse_id() -> int | None:
    """The warehouse allocation tries first (the lowest priority number, then code, among active warehouses that
    are not FBA): where an order waiting for stock that no warehouse was set on yet is counted as a backorder."""
    return (
        Warehouse.objects.filter(is_active=True)
        .exclude(kind=Warehouse.Kind.FBA)
        .order_by("priority", "code")
        .values_list("pk", flat=True)
        .first()
    )


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


# The columns of a supplier product read into SupplierTerms, in the order of its fields.
SUPPLIER_TERMS_FIELDS = (
    "pk",
    "lead_time_days",
    "supplier__default_lead_time_days",
    "qc_days",
    "transit_days",
    "minimum_order_quantity",
    "case_pack",
)


@dataclass
class _Gathered:
    """The inputs of every row of one run, keyed by (product_id, warehouse_id) unless said otherwise."""

    sales: dict[tuple[int, int], dict[date, Decimal]]
    stockout_days: dict[tuple[int, int], frozenset[date]]
    promotion_days_all: frozenset[date]  # promotions of every product
    promotion_days: dict[int, frozenset[date]]  # by product_id, already joined with promotion_days_all
    available: dict[tuple[int, int], int]
    incoming_purchase: dict[tuple[int, int], int]
    incoming_transfer: dict[tuple[int, int], int]
    backorders: dict[tuple[int, int], int]
    suppliers: dict[int, SupplierTerms]  # by product_id


def _gather(*, product_ids: list[int] | None, warehouse_ids: list[int], today: date, longest: int) -> _Gathered:
    """A fixed number of set-based queries, whatever the number of products."""
    first = today - timedelta(days=longest)
    product_filter = "" if product_ids is None else "AND {alias}.product_id = ANY(%(products)s)"
    params = {"warehouses": warehouse_ids, "products": product_ids}

    sales: dict[tuple[int, int], dict[date, Decimal]] = defaultdict(dict)
    if longest > 0:
        rows = _fetch(
            SALES_SQL.format(products=product_filter.format(alias="sold")),
            {
                **params,
                "zone": settings.TIME_ZONE,
                "start": _local_midnight(first),
                "end": _local_midnight(today),
            },
        )
        for product_id, warehouse_id, day, units in rows:
            sales[(product_id, warehouse_id)][day] = units

    stockout_rows = StockoutDay.objects.filter(day__gte=first, day__lt=today, warehouse_id__in=warehouse_ids)
    if product_ids is not None:
        stockout_rows = stockout_rows.filter(product_id__in=product_ids)
    stockout: dict[tuple[int, int], set[date]] = defaultdict(set)
    for product_id, warehouse_id, day in stockout_rows.values_list("product_id", "warehouse_id", "day"):
        stockout[(product_id, warehouse_id)].add(day)

    promotion_all: set[date] = set()
    promotion_of: dict[int, set[date]] = defaultdict(set)
    promotions = list(
        Promotion.objects.filter(starts_on__lt=today, ends_on__gte=first).values_list(
            "product_id", "starts_on", "ends_on"
        )
    )
    components: dict[int, list[int]] = defaultdict(list)
    promoted = {product_id for product_id, _starts, _ends in promotions if product_id is not None}
    if promoted:
        for bundle_id, component_id in BundleComponent.objects.filter(bundle_id__in=promoted).values_list(
            "bundle_id", "component_id"
        ):
            components[bundle_id].append(component_id)
    for product_id, starts_on, ends_on in promotions:
        day, last = max(starts_on, first), min(ends_on, today - timedelta(days=1))
        days = {day + timedelta(days=offset) for offset in range((last - day).days + 1)}
        if product_id is None:
            promotion_all |= days
        else:
            for promoted_id in components.get(product_id) or [product_id]:
                promotion_of[promoted_id] |= days

    balances = InventoryBalance.objects.filter(warehouse_id__in=warehouse_ids)
    if product_ids is not None:
        balances = balances.filter(product_id__in=product_ids)
    available = {
        (product_id, warehouse_id): figure
        for product_id, warehouse_id, figure in balances.annotate(available_now=AVAILABLE).values_list(
            "product_id", "warehouse_id", "available_now"
        )
    }

    open_lines = PurchaseOrderLine.objects.filter(
        purchase_order__status__in=INCOMING_PURCHASE_STATUSES,
        purchase_order__warehouse_id__in=warehouse_ids,
        quantity__gt=F("quantity_received"),
    )
    if product_ids is not None:
        open_lines = open_lines.filter(product_id__in=product_ids)
    incoming_purchase = {
        (row["product_id"], row["purchase_order__warehouse_id"]): row["open"]
        for row in open_lines.values("product_id", "purchase_order__warehouse_id")
        .annotate(open=Sum(F("quantity") - F("quantity_received")))
        .order_by()
    }

    backorders = {
        (product_id, warehouse_id): units
        for product_id, warehouse_id, units in _fetch(
            BACKORDERS_SQL.format(products=product_filter.format(alias="waiting")),
            {**params, "status": Order.Status.AWAITING_STOCK, "first_warehouse": _first_warehouse_id()},
        )
    }

    supplier_products = SupplierProduct.objects.filter(supplier__is_active=True)
    if product_ids is not None:
        supplier_products = supplier_products.filter(product_id__in=product_ids)
    chosen = supplier_products.order_by("product_id", "-is_preferred", "unit_cost", "id").distinct("product_id")
    suppliers = {row[0]: SupplierTerms(*row[1:]) for row in chosen.values_list("product_id", *SUPPLIER_TERMS_FIELDS)}

    return _Gathered(
        sales=sales,
        stockout_days={key: frozenset(days) for key, days in stockout.items()},
        promotion_days_all=frozenset(promotion_all),
        promotion_days={product_id: frozenset(days | promotion_all) for product_id, days in promotion_of.items()},
        available=available,
        incoming_purchase=incoming_purchase,
        incoming_transfer=transfers_in_transit(product_ids=product_ids),
        backorders=backorders,
        suppliers=suppliers,
    )


# --- Writing the rows ---------------------------------------------------------------------------------------------

# Every column a run writes; status and the links to what was ordered are the upsert's business.
COLUMNS = (
    "product_id", "warehouse_id", "kind", "policy_id", "supplier_product_id", "source_warehouse_id", "windows", "ads",
    "production_days", "qc_days", "transit_days", "lead_time_days", "safety_days", "review_period_days", "cover_days",
    "demand", "available", "incoming_purchase", "incoming_transfer", "backorders", "net_need",
    "minimum_order_quantity", "case_pack", "quantity", "days_of_cover", "order_by", "urgency", "computed_at",
)  # fmt: skip
STAGING_CREATE_SQL = (
    "CREATE TEMPORARY TABLE suggestion_staging ON COMMIT DROP AS "  # noqa: S608 - the column names are constants
    f"SELECT {', '.join(COLUMNS)} FROM purchasing_suggestion WITH NO DATA"
)
_UPDATES = ", ".join(f"{column} = EXCLUDED.{column}" for column in COLUMNS[2:])
UPSERT_SQL = f"""
INSERT INTO purchasing_suggestion ({", ".join(COLUMNS)}, status)
SELECT {", ".join(COLUMNS)}, %(open)s FROM suggestion_staging ORDER BY product_id, warehouse_id
ON CONFLICT (product_id, warehouse_id) DO UPDATE SET {_UPDATES},
    status = CASE
        WHEN purchasing_suggestion.status = ANY(%(kept)s) AND purchasing_suggestion.quantity = EXCLUDED.quantity
        THEN purchasing_suggestion.status
        ELSE %(open)s
    END
"""  # noqa: S608 - the column names are this module's constants
STALE_DELETE_SQL = """
DELETE FROM purchasing_suggestion AS suggestion
WHERE {scope} NOT EXISTS (
    SELECT 1 FROM suggestion_staging AS staging
    WHERE staging.product_id = suggestion.product_id AND staging.warehouse_id = suggestion.warehouse_id
)
"""


@functools.lru_cache(maxsize=4096)
def _windows_text(windows: tuple[WindowFigures, ...]) -> str:
    """``Suggestion.windows`` as JSON in COPY's text format (backslashes doubled); rows that sold alike share it."""
    return orjson.dumps([window.as_json() for window in windows]).decode().replace("\\", "\\\\")


def _null_or(value: Any) -> Any:
    return "\\N" if value is None else value


def _copy_lines(
    *,
    book: PolicyBook,
    product_ids: list[int],
    warehouse_ids: list[int],
    gathered: _Gathered,
    today: date,
    now: datetime,
) -> Iterable[str]:
    """One line of COPY's text format per (product, warehouse), in the order of ``COLUMNS``. Formatted here rather
    than by psycopg's write_row: every value is a number, a date or a plain word, and this is several times faster
    for 100,000 rows."""
    terms_of: dict[int, PolicyTerms] = {}  # by id() of the policy object: the default one has no pk
    no_sales: dict[date, Decimal] = {}
    no_days: frozenset[date] = frozenset()
    suppliers, sales, stockout_days = gathered.suppliers, gathered.sales, gathered.stockout_days
    promotion_days, promotion_days_all = gathered.promotion_days, gathered.promotion_days_all
    available, incoming_purchase = gathered.available, gathered.incoming_purchase
    incoming_transfer, backorders = gathered.incoming_transfer, gathered.backorders
    for warehouse_id in warehouse_ids:
        for product_id in product_ids:
            key = (product_id, warehouse_id)
            policy = book.policy_for(product_id, warehouse_id)
            terms = terms_of.get(id(policy))
            if terms is None:
                terms = terms_of[id(policy)] = PolicyTerms.of(policy)
            figures = suggestion_figures(
                SuggestionInputs(
                    policy=terms,
                    supplier=suppliers.get(product_id),
                    sales=sales.get(key, no_sales),
                    stockout_days=stockout_days.get(key, no_days),
                    promotion_days=promotion_days.get(product_id, promotion_days_all),
                    available=available.get(key, 0),
                    incoming_purchase=incoming_purchase.get(key, 0),
                    incoming_transfer=incoming_transfer.get(key, 0),
                    backorders=backorders.get(key, 0),
                ),
                today,
            )
            yield (
                f"{product_id}\t{warehouse_id}\t{figures.kind}\t{_null_or(figures.policy_id)}\t"
                f"{_null_or(figures.supplier_product_id)}\t{_null_or(figures.source_warehouse_id)}\t"
                f"{_windows_text(figures.windows)}\t{figures.ads}\t{figures.production_days}\t{figures.qc_days}\t"
                f"{figures.transit_days}\t{figures.lead_time_days}\t{figures.safety_days}\t"
                f"{figures.review_period_days}\t{figures.cover_days}\t{figures.demand}\t{figures.available}\t"
                f"{figures.incoming_purchase}\t{figures.incoming_transfer}\t{figures.backorders}\t"
                f"{figures.net_need}\t{figures.minimum_order_quantity}\t{figures.case_pack}\t{figures.quantity}\t"
                f"{_null_or(figures.days_of_cover)}\t{_null_or(figures.order_by)}\t{figures.urgency}\t{now}\n"
            )


def _warehouses_in_scope(warehouses: Iterable[Warehouse | int] | None) -> list[int]:
    queryset = Warehouse.objects.filter(is_active=True).exclude(kind=Warehouse.Kind.FBA)
    if warehouses is not None:
        queryset = queryset.filter(pk__in=_ids(warehouses))
    return list(queryset.order_by("pk").values_list("pk", flat=True))


def _products_in_scope(products: Iterable[Product | int] | None) -> list[int]:
    queryset = Product.objects.filter(is_active=True, is_bundle=False)
    if products is not None:
        queryset = queryset.filter(pk__in=_ids(products))
    return list(queryset.order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def suggestions_compute(
    *,
    warehouses: Iterable[Warehouse | int] | None = None,
    products: Iterable[Product | int] | None = None,
    today: date | None = None,
) -> int:
    """Recompute the suggestion of every active product (not a bundle) in every active warehouse that is not FBA,
    or of those among ``warehouses``/``products`` (instances or ids); returns how many rows were written.

    One transaction: the inputs are read in a few set-based queries, the figures worked out in Python (the pure
    ``suggestion_figures``), every row copied into a temporary table and upserted in one statement. Rows in the
    scope whose product or warehouse left it are deleted. A status a person gave ("ordered", "dismissed") stays
    while the quantity is unchanged."""
    today = today or timezone.localdate()
    given_warehouse_ids, given_product_ids = _ids(warehouses), _ids(products)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COMPUTE_LOCK_KEY])
        # The month of sales is grouped by a sort that spills to disk at the default 4 MB; this transaction only.
        cursor.execute("SET LOCAL work_mem = '64MB'")
    warehouse_ids = _warehouses_in_scope(given_warehouse_ids)
    product_ids = _products_in_scope(given_product_ids)
    book = PolicyBook.load()
    gathered = _gather(
        product_ids=None if products is None else product_ids,
        warehouse_ids=warehouse_ids,
        today=today,
        longest=book.longest_window_days(),
    )
    now = timezone.now()
    written = 0
    with connection.cursor() as cursor:
        cursor.execute(STAGING_CREATE_SQL)
        with cursor.cursor.copy(f"COPY suggestion_staging ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            block: list[str] = []
            for line in _copy_lines(
                book=book, product_ids=product_ids, warehouse_ids=warehouse_ids, gathered=gathered, today=today, now=now
            ):
                block.append(line)
                if len(block) == COPY_BLOCK_ROWS:
                    copy.write("".join(block))
                    written += len(block)
                    block = []
            copy.write("".join(block))
            written += len(block)
        cursor.execute("ANALYZE suggestion_staging (product_id, warehouse_id)")  # for the anti-join of the delete
        cursor.execute(UPSERT_SQL, {"open": Suggestion.Status.OPEN, "kept": list(KEPT_STATUSES)})
        scope, params = [], {}
        if given_warehouse_ids is not None:
            scope.append("suggestion.warehouse_id = ANY(%(warehouses)s) AND")
            params["warehouses"] = given_warehouse_ids
        if given_product_ids is not None:
            scope.append("suggestion.product_id = ANY(%(products)s) AND")
            params["products"] = given_product_ids
        cursor.execute(STALE_DELETE_SQL.format(scope=" ".join(scope)), params)
        cursor.execute("DROP TABLE suggestion_staging")
    return written


@transaction.atomic
def stockout_days_record(*, today: date | None = None) -> int:
    """Note today as a stock-out day of every product and warehouse whose balance has nothing available (sellable
    − reserved ≤ 0), so its sales windows leave the day out; returns how many were new. Run every hour: a day on
    which the product was out at any check counts as out, and running twice in a day adds nothing."""
    today = today or timezone.localdate()
    # The ORM states "nothing available" with the one definition of available; SQL wraps it to skip days known.
    sold_out = (
        InventoryBalance.objects.annotate(available_now=AVAILABLE)
        .filter(available_now__lte=0)
        .values_list("product_id", "warehouse_id")
    )
    select, params = sold_out.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO purchasing_stockoutday (product_id, warehouse_id, day) "  # noqa: S608 - SQL made by the ORM
            f"SELECT sold_out.product_id, sold_out.warehouse_id, %s FROM ({select}) AS sold_out "
            "ON CONFLICT (product_id, warehouse_id, day) DO NOTHING",
            [today, *params],
        )
        return cursor.rowcount
