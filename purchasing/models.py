"""Suppliers and what each supplies (cost, MOQ, case pack, lead time)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.status import StatusEvent
from core.validators import validate_currency


class Supplier(TimeStampedModel):
    name = models.CharField(_("name"), max_length=200, unique=True)
    contact_name = models.CharField(_("contact name"), max_length=128, blank=True, default="")
    email = models.EmailField(_("email"), blank=True, default="")
    phone = models.CharField(_("phone"), max_length=64, blank=True, default="")
    address = models.TextField(_("address"), blank=True, default="")
    currency = models.CharField(_("currency"), max_length=3, default="CNY", validators=[validate_currency])
    default_lead_time_days = models.PositiveSmallIntegerField(
        _("default lead time days"),
        default=7,
        help_text=_("Days from order to receipt, unless the supplier product says otherwise."),
    )
    notes = models.TextField(_("notes"), blank=True, default="")
    is_active = models.BooleanField(_("is active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.name = (self.name or "").strip()
        self.currency = (self.currency or "").strip().upper()


class SupplierProduct(TimeStampedModel):
    """What one supplier charges for one product, and the quantities it sells in."""

    supplier = models.ForeignKey(
        Supplier, on_delete=models.CASCADE, related_name="supplier_products", verbose_name=_("supplier")
    )
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="supplier_products", verbose_name=_("product")
    )
    supplier_sku = models.CharField(_("supplier SKU"), max_length=64, blank=True, default="")
    unit_cost = models.DecimalField(_("unit cost"), max_digits=12, decimal_places=4, validators=[MinValueValidator(0)])
    minimum_order_quantity = models.PositiveIntegerField(_("MOQ"), default=1, validators=[MinValueValidator(1)])
    case_pack = models.PositiveIntegerField(
        _("case pack"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Units per carton; orders are rounded up to it."),
    )
    lead_time_days = models.PositiveSmallIntegerField(
        _("lead time days"),
        null=True,
        blank=True,
        help_text=_("Production or purchase days; overrides the supplier's default lead time when set."),
    )
    qc_days = models.PositiveSmallIntegerField(
        _("QC days"), null=True, blank=True, help_text=_("Overrides the reorder policy's QC leg when set.")
    )
    transit_days = models.PositiveSmallIntegerField(
        _("transit days"), null=True, blank=True, help_text=_("Overrides the reorder policy's transit leg when set.")
    )
    is_preferred = models.BooleanField(
        _("is preferred"), default=False, help_text=_("At most one preferred supplier per product.")
    )

    class Meta:
        ordering = ["supplier__name", "product__sku_sort"]
        verbose_name = _("supplier product")
        verbose_name_plural = _("supplier products")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "product"], name="supplier_product_unique"),
            models.UniqueConstraint(
                fields=["supplier", "supplier_sku"],
                condition=~Q(supplier_sku=""),
                name="supplier_sku_unique_per_supplier",
            ),
            models.UniqueConstraint(
                fields=["product"], condition=Q(is_preferred=True), name="one_preferred_supplier_per_product"
            ),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="supplier_product_cost_not_negative"),
            models.CheckConstraint(condition=Q(minimum_order_quantity__gte=1), name="supplier_product_moq_positive"),
            models.CheckConstraint(condition=Q(case_pack__gte=1), name="supplier_product_case_pack_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.supplier} · {self.product.sku}"

    @property
    def effective_lead_time_days(self) -> int:
        if self.lead_time_days is not None:
            return self.lead_time_days
        return self.supplier.default_lead_time_days


# --- Reorder policy and suggestions (采购建议) ------------------------------------------------------------------------


def default_windows() -> list[dict]:
    """7, 14 and 30 days, the recent ones weighing more."""
    return [{"days": 7, "weight": "0.5"}, {"days": 14, "weight": "0.3"}, {"days": 30, "weight": "0.2"}]


class ReorderPolicy(TimeStampedModel):
    """How much stock to keep and how to read past sales: one global policy (no product, no warehouse), and
    overrides for a warehouse, a product, or a product in a warehouse; the most specific one applies.

    ``windows`` are the sales windows and their weights, ``[{"days": 7, "weight": "0.5"}, ...]``; the weights sum
    to 1. The lead time is made of legs (production or purchase, QC, transit); a supplier product's own legs win
    over the policy's."""

    class TransitMode(models.TextChoices):
        LOCAL = "local", _("Local delivery")
        EXPRESS = "express", _("Express")
        AIR = "air", _("Air freight")
        SEA = "sea", _("Sea freight")
        RAIL = "rail", _("Rail freight")
        ROAD = "road", _("Road freight")

    name = models.CharField(_("name"), max_length=128)
    product = models.ForeignKey(
        "inventory.Product",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reorder_policies",
        verbose_name=_("product"),
        help_text=_("Empty: every product (of the warehouse, if one is set)."),
    )
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reorder_policies",
        verbose_name=_("warehouse"),
        help_text=_("Empty: every warehouse."),
    )
    windows = models.JSONField(
        _("sales windows"),
        default=default_windows,
        help_text=_('Days of sales and their weights, summing to 1, e.g. [{"days": 7, "weight": "0.5"}, ...].'),
    )
    leave_out_stockout_days = models.BooleanField(
        _("leave out stock-out days"),
        default=True,
        help_text=_("Days the product was out of stock do not count in a window (it could not sell)."),
    )
    leave_out_promotion_days = models.BooleanField(
        _("leave out promotion days"), default=True, help_text=_("Days of a promotion do not count in a window.")
    )
    day_cap_multiple = models.DecimalField(
        _("cap on one day's sales"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("A day counts at most this many times the average day of the longest window. Empty: no cap."),
    )
    safety_days = models.PositiveSmallIntegerField(_("safety days"), default=7)
    review_period_days = models.PositiveSmallIntegerField(
        _("review period days"), default=7, help_text=_("How often the buyer orders.")
    )
    production_days = models.PositiveSmallIntegerField(
        _("production days"),
        default=7,
        help_text=_("Purchase or production leg, unless the supplier product or supplier says otherwise."),
    )
    qc_days = models.PositiveSmallIntegerField(_("QC days"), default=1)
    transit_mode = models.CharField(
        _("transit mode"), max_length=16, choices=TransitMode.choices, default=TransitMode.LOCAL
    )
    transit_days = models.PositiveSmallIntegerField(_("transit days"), default=2)
    minimum_order_quantity = models.PositiveIntegerField(
        _("MOQ"), null=True, blank=True, validators=[MinValueValidator(1)], help_text=_("Empty: the supplier's.")
    )
    case_pack = models.PositiveIntegerField(
        _("case pack"), null=True, blank=True, validators=[MinValueValidator(1)], help_text=_("Empty: the supplier's.")
    )
    replenish_from = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("replenish from"),
        help_text=_("An overseas warehouse filled from this one: its suggestions are transfers, not purchases."),
    )
    is_active = models.BooleanField(_("is active"), default=True)

    class Meta:
        ordering = ["product_id", "warehouse_id", "id"]
        verbose_name = _("reorder policy")
        verbose_name_plural = _("reorder policies")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "warehouse"], nulls_distinct=False, name="reorder_policy_one_per_scope"
            ),
            models.CheckConstraint(
                condition=Q(day_cap_multiple__isnull=True) | Q(day_cap_multiple__gte=1),
                name="reorder_policy_day_cap_at_least_1",
            ),
            models.CheckConstraint(
                condition=Q(replenish_from__isnull=True) | ~Q(replenish_from=models.F("warehouse")),
                name="reorder_policy_not_from_itself",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Promotion(TimeStampedModel):
    """Days of a promotion (a deal, a campaign): their sales are left out of the windows when the policy says so."""

    name = models.CharField(_("name"), max_length=128)
    product = models.ForeignKey(
        "inventory.Product",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="promotions",
        verbose_name=_("product"),
        help_text=_("Empty: every product."),
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="promotion_ends_after_start")
        ]

    def __str__(self) -> str:
        return self.name


class StockoutDay(models.Model):
    """A day a product had nothing to sell in a warehouse (recorded each night), left out of its sales windows."""

    product = models.ForeignKey("inventory.Product", on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("stock-out day")
        verbose_name_plural = _("stock-out days")
        constraints = [models.UniqueConstraint(fields=["product", "warehouse", "day"], name="stockout_day_unique")]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.warehouse_id} {self.day}"


class Suggestion(models.Model):
    """What to buy (or transfer) for one product in one warehouse, with every figure it was worked out from.

    quantity = round_up(max(0, ADS × cover_days − (available + incoming_purchase + incoming_transfer −
    backorders)), to MOQ and case pack); cover_days = lead time + safety days + review period; ADS = Σ weight ×
    the window's units ÷ its counted days."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        TRANSFER = "transfer", _("Transfer")

    class Urgency(models.TextChoices):
        OVERDUE = "overdue", _("Overdue")
        NOW = "now", _("Order now")
        SOON = "soon", _("Within the review period")
        LATER = "later", _("Later")
        NONE = "none", _("Nothing to order")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ORDERED = "ordered", _("Ordered")
        DISMISSED = "dismissed", _("Dismissed")

    product = models.ForeignKey(
        "inventory.Product", on_delete=models.CASCADE, related_name="suggestions", verbose_name=_("product")
    )
    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.CASCADE, related_name="suggestions", verbose_name=_("warehouse")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PURCHASE)
    policy = models.ForeignKey(
        ReorderPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("policy")
    )
    supplier_product = models.ForeignKey(
        SupplierProduct,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="suggestions",
        verbose_name=_("supplier product"),
    )
    source_warehouse = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from warehouse"),
    )
    windows = models.JSONField(
        _("sales windows"),
        default=list,
        help_text=_("Per window: days, weight, units sold, days counted, days left out, average."),
    )
    ads = models.DecimalField(_("average daily sales"), max_digits=14, decimal_places=4, default=0)
    production_days = models.PositiveSmallIntegerField(_("production days"), default=0)
    qc_days = models.PositiveSmallIntegerField(_("QC days"), default=0)
    transit_days = models.PositiveSmallIntegerField(_("transit days"), default=0)
    lead_time_days = models.PositiveSmallIntegerField(_("lead time days"), default=0)
    safety_days = models.PositiveSmallIntegerField(_("safety days"), default=0)
    review_period_days = models.PositiveSmallIntegerField(_("review period days"), default=0)
    cover_days = models.PositiveIntegerField(_("cover days"), default=0)
    demand = models.DecimalField(_("demand over cover"), max_digits=16, decimal_places=4, default=0)
    available = models.IntegerField(_("available"), default=0)
    incoming_purchase = models.IntegerField(_("incoming purchase orders"), default=0)
    incoming_transfer = models.IntegerField(_("transfers in transit"), default=0)
    backorders = models.IntegerField(_("backorders"), default=0)
    net_need = models.DecimalField(_("net need"), max_digits=16, decimal_places=4, default=0)
    minimum_order_quantity = models.PositiveIntegerField(_("MOQ"), default=1)
    case_pack = models.PositiveIntegerField(_("case pack"), default=1)
    quantity = models.PositiveIntegerField(_("suggested quantity"), default=0)
    days_of_cover = models.DecimalField(
        _("days of cover"),
        max_digits=10,
        decimal_places=1,
        null=True,
        blank=True,
        help_text=_("How long available and incoming stock lasts at the average daily sales."),
    )
    order_by = models.DateField(_("order by"), null=True, blank=True)
    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NONE)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    computed_at = models.DateTimeField(_("computed at"))
    purchase_order_line = models.ForeignKey(
        "purchasing.PurchaseOrderLine",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("purchase order line"),
    )
    transfer = models.ForeignKey(
        "inventory.Transfer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("transfer"),
    )

    class Meta:
        ordering = ["order_by", "product__sku_sort"]
        verbose_name = _("purchase suggestion")
        verbose_name_plural = _("purchase suggestions")
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="suggestion_one_per_product_warehouse"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="suggestion_quantity_not_negative"),
        ]
        indexes = [models.Index(fields=["urgency", "order_by"], name="suggestion_urgency_idx")]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.warehouse_id} × {self.quantity}"


# --- Purchase orders, receipts and landed cost -----------------------------------------------------------------------


class PurchaseOrder(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        PARTIALLY_RECEIVED = "partially_received", _("Partially received")
        RECEIVED = "received", _("Received")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("number"), max_length=32, unique=True, help_text=_("PO-000123, set when created."))
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, related_name="purchase_orders", verbose_name=_("supplier")
    )
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        related_name="purchase_orders",
        verbose_name=_("warehouse"),
        help_text=_("Where the goods are delivered."),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(_("currency"), max_length=3, default="CNY", validators=[validate_currency])
    expected_on = models.DateField(_("expected on"), null=True, blank=True)
    supplier_reference = models.CharField(
        _("supplier reference"), max_length=100, blank=True, default="", help_text=_("The supplier's order number.")
    )
    note = models.TextField(_("note"), blank=True, default="")
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        indexes = [models.Index(fields=["status", "warehouse"], name="po_status_warehouse_idx")]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines", verbose_name=_("purchase order")
    )
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="purchase_order_lines", verbose_name=_("product")
    )
    supplier_sku = models.CharField(_("supplier SKU"), max_length=64, blank=True, default="")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_cost = models.DecimalField(_("unit cost"), max_digits=12, decimal_places=4, validators=[MinValueValidator(0)])
    quantity_received = models.PositiveIntegerField(_("quantity received"), default=0)
    quantity_rejected = models.PositiveIntegerField(_("quantity rejected"), default=0)

    class Meta:
        ordering = ["id"]
        verbose_name = _("purchase order line")
        verbose_name_plural = _("purchase order lines")
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "product"], name="po_line_product_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="po_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="po_line_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order_id}: {self.product_id} × {self.quantity}"

    @property
    def quantity_open(self) -> int:
        """Still to come: ordered less accepted. (A rejected unit is sent back and does not count as received.)"""
        return max(0, self.quantity - self.quantity_received)


class PurchaseOrderEvent(StatusEvent):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="events", verbose_name=_("purchase order")
    )

    class Meta(StatusEvent.Meta):
        verbose_name = _("purchase order event")
        verbose_name_plural = _("purchase order events")


class Receipt(TimeStampedModel):
    """Goods received against a purchase order at one time, with the freight and duties they carried, spread over
    the lines to give each unit its landed cost."""

    class SpreadBy(models.TextChoices):
        VALUE = "value", _("By value")
        WEIGHT = "weight", _("By weight")

    number = models.CharField(_("number"), max_length=32, unique=True, help_text=_("RCV-000123, set when created."))
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.PROTECT, related_name="receipts", verbose_name=_("purchase order")
    )
    freight = models.DecimalField(
        _("freight"), max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    duties = models.DecimalField(
        _("duties"), max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    spread_by = models.CharField(_("spread by"), max_length=8, choices=SpreadBy.choices, default=SpreadBy.VALUE)
    note = models.TextField(_("note"), blank=True, default="")
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("received by"),
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        constraints = [
            models.CheckConstraint(condition=Q(freight__gte=0) & Q(duties__gte=0), name="receipt_costs_not_negative")
        ]

    def __str__(self) -> str:
        return self.number


class ReceiptLine(models.Model):
    """One product of a receipt: accepted into a bin, rejected at QC into quarantine, and what each unit cost
    landed (the purchase price plus its share of freight and duties), as the ledger of the product's cost."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines", verbose_name=_("receipt"))
    purchase_order_line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipt_lines", verbose_name=_("order line")
    )
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    quantity_accepted = models.PositiveIntegerField(_("accepted"), default=0)
    quantity_rejected = models.PositiveIntegerField(_("rejected"), default=0)
    reject_reason = models.CharField(_("reject reason"), max_length=255, blank=True, default="")
    bin = models.ForeignKey(
        "inventory.Bin", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("bin")
    )
    unit_cost = models.DecimalField(_("unit cost"), max_digits=12, decimal_places=4)
    freight_share = models.DecimalField(_("freight share"), max_digits=12, decimal_places=4, default=0)
    duty_share = models.DecimalField(_("duty share"), max_digits=12, decimal_places=4, default=0)
    landed_unit_cost = models.DecimalField(_("landed unit cost"), max_digits=12, decimal_places=4)
    cost_before = models.DecimalField(_("product cost before"), max_digits=12, decimal_places=4, null=True, blank=True)
    cost_after = models.DecimalField(
        _("product cost after"),
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=_("The product's moving average cost once this line was received."),
    )
    on_hand_before = models.IntegerField(_("on hand before"), default=0)

    class Meta:
        ordering = ["id"]
        verbose_name = _("receipt line")
        verbose_name_plural = _("receipt lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_accepted__gt=0) | Q(quantity_rejected__gt=0), name="receipt_line_not_empty"
            )
        ]

    def __str__(self) -> str:
        return f"{self.receipt_id}: {self.product_id} +{self.quantity_accepted}/-{self.quantity_rejected}"
