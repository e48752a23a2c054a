"""Reads of suppliers and supplier products, with the joins their lists need."""

from __future__ import annotations

from django.apps import apps
from django.db.models import Case, Count, DecimalField, F, IntegerField, Prefetch, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from purchasing.models import (
    Promotion,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Receipt,
    ReceiptLine,
    ReorderPolicy,
    Suggestion,
    Supplier,
    SupplierProduct,
)


def supplier_list() -> QuerySet[Supplier]:
    return Supplier.objects.all()


def supplier_product_list() -> QuerySet[SupplierProduct]:
    """Supplier products with their supplier and product, so a page of them is one query."""
    return SupplierProduct.objects.select_related("supplier", "product")


# --- Purchase planning ------------------------------------------------------------------------------------------

# Most urgent first: what should have been ordered already, then what to order today, ..., then nothing to order.
SUGGESTION_URGENCY_ORDER = [
    Suggestion.Urgency.OVERDUE,
    Suggestion.Urgency.NOW,
    Suggestion.Urgency.SOON,
    Suggestion.Urgency.LATER,
    Suggestion.Urgency.NONE,
]


def reorder_policy_list() -> QuerySet[ReorderPolicy]:
    """Policies with what their scope names, the global one first, then by product and warehouse."""
    return ReorderPolicy.objects.select_related("product", "warehouse", "replenish_from").order_by(
        F("product__sku_sort").asc(nulls_first=True), F("warehouse__code").asc(nulls_first=True), "id"
    )


def promotion_list() -> QuerySet[Promotion]:
    return Promotion.objects.select_related("product")


def suggestion_list() -> QuerySet[Suggestion]:
    """Suggestions with every row their list, detail, derivation and export show (one query for a page), each
    with ``urgency_rank`` (0 = overdue ... 4 = nothing to order), most urgent first."""
    return (
        Suggestion.objects.select_related(
            "product", "warehouse", "source_warehouse", "supplier_product__supplier", "policy"
        )
        .annotate(
            urgency_rank=Case(
                *(When(urgency=urgency, then=Value(rank)) for rank, urgency in enumerate(SUGGESTION_URGENCY_ORDER)),
                default=Value(len(SUGGESTION_URGENCY_ORDER)),
                output_field=IntegerField(),
            )
        )
        .order_by("urgency_rank", F("order_by").asc(nulls_last=True), "product__sku_sort", "warehouse__code", "id")
    )


# --- Purchase orders ---------------------------------------------------------------------------------------------


def purchase_order_list() -> QuerySet[PurchaseOrder]:
    """Orders newest first with their supplier, warehouse and creator, and how many lines, units and what value
    (in the order's currency) they hold: one query for a page."""
    return (
        PurchaseOrder.objects.select_related("supplier", "warehouse", "created_by")
        .annotate(
            line_count=Count("lines"),
            units=Coalesce(Sum("lines__quantity"), 0),
            total_value=Coalesce(
                Sum(
                    F("lines__quantity") * F("lines__unit_cost"),
                    output_field=DecimalField(max_digits=24, decimal_places=4),
                ),
                Value(0, output_field=DecimalField(max_digits=24, decimal_places=4)),
            ),
        )
        .order_by("-id")
    )


def purchase_order_detail() -> QuerySet[PurchaseOrder]:
    """purchase_order_list() with each order's lines (and products) and status history."""
    return purchase_order_list().prefetch_related(
        Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("product").order_by("id")),
        Prefetch("events", queryset=PurchaseOrderEvent.objects.select_related("user").order_by("id")),
    )


def purchase_order_line_list(orders: QuerySet[PurchaseOrder] | None = None) -> QuerySet[PurchaseOrderLine]:
    """Lines of ``orders`` (all orders when None) with their order, its supplier and warehouse, and the product,
    newest order first and each order's lines in their order: what the export writes."""
    lines = PurchaseOrderLine.objects.all()
    if orders is not None:
        lines = lines.filter(purchase_order__in=orders.order_by().values("pk"))
    return lines.select_related("purchase_order__supplier", "purchase_order__warehouse", "product").order_by(
        "-purchase_order_id", "id"
    )


# --- Receipts -----------------------------------------------------------------------------------------------------


def receipt_list() -> QuerySet[Receipt]:
    """Receipts with their order, supplier, warehouse and lines (each with its product and bin): a page of them is
    a fixed number of queries, newest first."""
    return (
        Receipt.objects.select_related("purchase_order__supplier", "purchase_order__warehouse", "received_by")
        .prefetch_related(
            Prefetch("lines", queryset=ReceiptLine.objects.select_related("product", "bin").order_by("id"))
        )
        .order_by("-id")
    )


def over_receipt_percent(*, warehouse_id: int) -> int:
    """How much more than ordered (in per cent) a receipt into this warehouse may take: the floor's setting.

    ``warehouse`` sits above ``purchasing``, so its model is looked up by name when asked, not imported; a
    warehouse without floor settings allows nothing over what was ordered (the setting's default)."""
    floor_settings = apps.get_model("warehouse", "FloorSettings")
    percent = (
        floor_settings.objects.filter(warehouse_id=warehouse_id).values_list("over_receipt_percent", flat=True).first()
    )
    return percent or 0
