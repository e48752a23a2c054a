"""Orders as the stores send them: the order, its lines, every change as an event, holds, and shipments made.

An order belongs to a store (``channels.Store``, referred to by name: ``orders`` imports no app above it) and
is unique by (store, channel order id). Its status moves through ``orders.status.ORDER_STATUS``; every other
change (imported, changed by the store, held, released, shipped, told to the store) is an ``OrderEvent`` too.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Trim
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
from core.status import StatusEvent

MONEY = {"max_digits": 18, "decimal_places": 4}


class Order(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending payment")
        # "New": paid, to be allocated. The value keeps the marketplaces' word (what the store says of it).
        AWAITING_SHIPMENT = "awaiting_shipment", _("New, to allocate")
        ON_HOLD = "on_hold", _("On hold")
        AWAITING_STOCK = "awaiting_stock", _("Awaiting stock")
        ALLOCATED = "allocated", _("Allocated")
        PICKING = "picking", _("Picking")
        PACKED = "packed", _("Packed")
        PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        RETURNED = "returned", _("Returned")
        CANCELLED = "cancelled", _("Cancelled")

    store = models.ForeignKey(
        "channels.Store", on_delete=models.PROTECT, related_name="orders", verbose_name=_("store")
    )
    channel_order_id = models.CharField(
        _("channel order ID"), max_length=100, help_text=_("The order's ID in its store, e.g. 112-1234567-1234567.")
    )
    status = models.CharField(_("status"), max_length=32, choices=Status.choices, default=Status.AWAITING_SHIPMENT)
    channel_status = models.CharField(
        _("channel status"), max_length=64, blank=True, default="", help_text=_("The status as the store names it.")
    )
    buyer_name = models.CharField(_("buyer name"), max_length=255, blank=True, default="")
    buyer_email = models.CharField(_("buyer email"), max_length=254, blank=True, default="")
    ship_name = models.CharField(_("recipient"), max_length=255, blank=True, default="")
    ship_company = models.CharField(_("company"), max_length=255, blank=True, default="")
    ship_address1 = models.CharField(_("address line 1"), max_length=255, blank=True, default="")
    ship_address2 = models.CharField(_("address line 2"), max_length=255, blank=True, default="")
    ship_address3 = models.CharField(_("address line 3"), max_length=255, blank=True, default="")
    ship_district = models.CharField(_("district"), max_length=128, blank=True, default="")
    ship_city = models.CharField(_("city"), max_length=128, blank=True, default="")
    ship_county = models.CharField(_("county"), max_length=128, blank=True, default="")
    ship_state = models.CharField(_("state or region"), max_length=128, blank=True, default="")
    ship_postcode = models.CharField(_("postal code"), max_length=32, blank=True, default="")
    ship_country = models.CharField(_("country"), max_length=2, blank=True, default="", db_index=True)
    ship_phone = models.CharField(_("phone"), max_length=64, blank=True, default="")
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="")
    subtotal = models.DecimalField(_("subtotal"), **MONEY, default=0)
    shipping_total = models.DecimalField(_("shipping"), **MONEY, default=0)
    tax_total = models.DecimalField(_("tax"), **MONEY, default=0)
    discount_total = models.DecimalField(_("discount"), **MONEY, default=0)
    total = models.DecimalField(_("total"), **MONEY, default=0)
    ordered_at = models.DateTimeField(_("ordered at"), db_index=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    ship_by = models.DateTimeField(_("ship by"), null=True, blank=True, help_text=_("The store's latest ship date."))
    channel_updated_at = models.DateTimeField(
        _("changed in the store at"), help_text=_("When the store last changed the order; older data is ignored.")
    )
    requested_service = models.CharField(
        _("requested shipping service"), max_length=128, blank=True, default="", help_text=_("As the buyer chose it.")
    )
    buyer_note = models.TextField(_("buyer note"), blank=True, default="")
    raw = models.JSONField(_("as received"), default=dict, blank=True, help_text=_("The order as the store sent it."))
    # What allocation decided (orders.fulfilment), and what a person fixed by hand, which rules do not override.
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("warehouse"),
        help_text=_("Where it ships from (the first parcel's when split across warehouses)."),
    )
    shipping_method = models.ForeignKey(
        "logistics.ShippingMethod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("shipping method"),
    )
    warehouse_by_hand = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("warehouse set by hand"),
        help_text=_("A person's choice: rules and routing keep to it."),
    )
    method_by_hand = models.ForeignKey(
        "logistics.ShippingMethod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shipping method set by hand"),
        help_text=_("A person's choice: rules keep to it."),
    )
    tags = models.JSONField(_("tags"), default=list, blank=True)
    decision = models.JSONField(
        _("why"),
        default=dict,
        blank=True,
        help_text=_("What the allocation rules and routing decided, step by step, the last time it ran."),
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["store", "channel_order_id"], name="order_store_channel_id_unique"),
            models.CheckConstraint(condition=~Q(channel_order_id=""), name="order_channel_id_not_empty"),
        ]
        indexes = [
            models.Index(fields=["store", "-ordered_at"], name="order_store_ordered_idx"),
            models.Index(fields=["status", "-ordered_at"], name="order_status_ordered_idx"),
            # A buyer's earlier orders, by e-mail as rules compare it (orders.allocation).
            models.Index(Lower(Trim("buyer_email")), "ordered_at", name="order_buyer_email_idx"),
        ]

    def __str__(self) -> str:
        return self.channel_order_id


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    channel_line_id = models.CharField(_("channel line ID"), max_length=100)
    channel_sku = models.CharField(_("channel SKU"), max_length=100, blank=True, default="", db_index=True)
    channel_item_id = models.CharField(
        _("listing ID"), max_length=100, blank=True, default="", help_text=_("ASIN, item or product ID in the store.")
    )
    title = models.CharField(_("title"), max_length=500, blank=True, default="")
    quantity = models.PositiveIntegerField(_("quantity"), help_text=_("As ordered in the store."))
    unit_price = models.DecimalField(_("unit price"), **MONEY, default=0)
    product = models.ForeignKey(
        "inventory.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="order_lines",
        verbose_name=_("product"),
        help_text=_("From the store's SKU mapping; empty while the SKU is not mapped."),
    )
    product_quantity = models.PositiveIntegerField(
        _("product quantity"), null=True, blank=True, help_text=_("Units of the product: quantity × the mapping's.")
    )

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "channel_line_id"], name="orderline_order_channel_id_unique"),
            models.CheckConstraint(
                condition=Q(product__isnull=True, product_quantity__isnull=True)
                | Q(product__isnull=False, product_quantity__isnull=False),
                name="orderline_product_with_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_sku} × {self.quantity}"


class OrderEvent(StatusEvent):
    """Every change of an order: its status (from → to), and with the status unchanged, what else happened."""

    class Kind(models.TextChoices):
        STATUS = "status", _("Status changed")
        IMPORTED = "imported", _("Imported")
        CHANGED = "changed", _("Changed in the store")
        HELD = "held", _("Held")
        RELEASED = "released", _("Hold released")
        MAPPED = "mapped", _("SKU mapped")
        SHIPPED = "shipped", _("Shipment recorded")
        STORE_TOLD = "store_told", _("Store told of a shipment")
        MERGED = "merged", _("Merged with other orders")
        SPLIT = "split", _("Split into parcels")
        PARCELS_UNDONE = "parcels_undone", _("Merge or split undone")
        SET_BY_HAND = "set_by_hand", _("Warehouse or method set by hand")
        TAGGED = "tagged", _("Tagged")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.STATUS)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta(StatusEvent.Meta):
        verbose_name = _("order event")
        verbose_name_plural = _("order events")


class OrderHold(models.Model):
    """Why an order must wait for a person. Open while ``released_at`` is empty; one open hold per reason."""

    class Code(models.TextChoices):
        UNMAPPED_SKU = "unmapped_sku", _("SKU not mapped to a product")
        # "After shipment" names the codes; they apply from the moment picking begins.
        CANCELLED_AFTER_SHIPMENT = "cancelled_after_shipment", _("Cancelled by the store after picking began")
        CHANGED_AFTER_SHIPMENT = "changed_after_shipment", _("Changed by the store after picking began")
        CANCEL_REQUESTED = "cancel_requested", _("The buyer asked to cancel")
        RULE = "rule", _("Held by an allocation rule")
        MANUAL = "manual", _("Held by a person")
        NO_METHOD = "no_method", _("No shipping method can take it")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="holds", verbose_name=_("order"))
    code = models.CharField(_("reason"), max_length=32, choices=Code.choices)
    detail = models.CharField(
        _("detail"),
        max_length=255,
        blank=True,
        default="",
        help_text=_("The SKU, what the store changed, the buyer's request, or the reason given by a rule or a person."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("released by"),
        help_text=_(
            "The person who released it; empty when the store's own data did (a SKU mapped, a request withdrawn)."
        ),
    )

    class Meta:
        verbose_name = _("order hold")
        verbose_name_plural = _("order holds")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "code", "detail"],
                condition=Q(released_at__isnull=True),
                name="orderhold_one_open_per_reason",
            )
        ]
        indexes = [
            models.Index(fields=["order"], condition=Q(released_at__isnull=True), name="orderhold_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()}: {self.detail}" if self.detail else str(self.get_code_display())


class OrderShipment(models.Model):
    """A parcel of the order handed to a carrier (recorded here, or by logistics), and whether its store knows."""

    class StoreStatus(models.TextChoices):
        PENDING = "pending", _("To tell the store")
        CONFIRMED = "confirmed", _("Store told")
        FAILED = "failed", _("Store refused")
        NOT_NEEDED = "not_needed", _("Nothing to tell")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments", verbose_name=_("order"))
    carrier = models.CharField(_("carrier"), max_length=64, help_text=_("e.g. UPS, USPS, YunExpress, 4PX."))
    service = models.CharField(_("service"), max_length=128, blank=True, default="")
    tracking_number = models.CharField(_("tracking number"), max_length=100)
    shipped_at = models.DateTimeField(_("shipped at"))
    handed_over = models.BooleanField(
        _("handed over"),
        default=True,
        help_text=_(
            "Off while only the label exists and the store was told early (a store setting); the order ships when "
            "the parcel is handed over."
        ),
    )
    store_status = models.CharField(
        _("store status"), max_length=16, choices=StoreStatus.choices, default=StoreStatus.PENDING
    )
    store_message = models.TextField(_("store's answer"), blank=True, default="")
    store_reference = models.CharField(
        _("store reference"), max_length=100, blank=True, default="", help_text=_("The store's ID of the shipment.")
    )
    store_attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    store_next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    store_confirmed_at = models.DateTimeField(_("store told at"), null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order shipment")
        verbose_name_plural = _("order shipments")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "tracking_number"], name="ordershipment_tracking_unique"),
            models.CheckConstraint(condition=~Q(tracking_number=""), name="ordershipment_tracking_not_empty"),
        ]
        indexes = [
            models.Index(
                fields=["store_next_attempt_at"],
                condition=Q(store_status="pending"),
                name="ordershipment_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class OrderShipmentLine(models.Model):
    shipment = models.ForeignKey(
        OrderShipment, on_delete=models.CASCADE, related_name="lines", verbose_name=_("shipment")
    )
    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, related_name="shipment_lines", verbose_name=_("order line")
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")
        constraints = [
            models.UniqueConstraint(fields=["shipment", "line"], name="shipmentline_shipment_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipmentline_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} × {self.quantity}"


class AllocationRule(TimeStampedModel):
    """A seller's rule for choosing an order's warehouse and shipping method, holding it or tagging it.
    Conditions and actions are data in a fixed vocabulary (``orders.rules``), checked when saved."""

    class Match(models.TextChoices):
        ALL = "all", _("All conditions")
        ANY = "any", _("Any condition")

    name = models.CharField(_("name"), max_length=100, unique=True)
    priority = models.PositiveIntegerField(
        _("priority"),
        default=100,
        help_text=_("Rules run from the lowest number; the first to choose a warehouse or a method wins."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    match = models.CharField(_("match"), max_length=3, choices=Match.choices, default=Match.ALL)
    conditions = models.JSONField(
        _("conditions"), default=list, blank=True, help_text=_("Each {field, op, value}; none: every order.")
    )
    actions = models.JSONField(_("actions"), default=list, help_text=_("Each {type, ...}, applied in order."))
    stop = models.BooleanField(_("stop here"), default=False, help_text=_("When it matches, no later rule runs."))
    note = models.TextField(_("note"), blank=True, default="")

    class Meta:
        ordering = ["priority", "pk"]
        verbose_name = _("allocation rule")
        verbose_name_plural = _("allocation rules")

    def __str__(self) -> str:
        return self.name


class Blacklist(TimeStampedModel):
    """A buyer, e-mail, phone or address whose orders a person must look at first (allocation rules hold them
    with the condition ``blacklisted``). Values are kept normalised, as ``orders.checks`` compares them."""

    class Kind(models.TextChoices):
        BUYER = "buyer", _("Buyer or recipient name")
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")
        ADDRESS = "address", _("Address (street, postcode, country)")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    value = models.CharField(
        _("value"),
        max_length=300,
        help_text=_("For an address: the country code, a colon, then street and postcode (US:1 main st 62701)."),
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist")
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="blacklist_kind_value_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class Parcel(TimeStampedModel):
    """What leaves the warehouse as one package: lines of one order, of several orders merged (same buyer, same
    address), or part of an order split by lines, quantities or warehouses. Stock is reserved under its number
    in its warehouse; each order in it keeps its own store, so each store is told the tracking of its order."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="parcels",
        verbose_name=_("warehouse"),
        help_text=_("Empty until it is allocated."),
    )
    shipping_method = models.ForeignKey(
        "logistics.ShippingMethod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="parcels",
        verbose_name=_("shipping method"),
    )
    reserved_at = models.DateTimeField(
        _("stock reserved at"), null=True, blank=True, help_text=_("Empty while its stock is not reserved.")
    )

    class MadeBy(models.TextChoices):
        ALLOCATION = "allocation", _("Allocation")
        MERGE = "merge", _("Merge")
        SPLIT = "split", _("Split")

    made_by = models.CharField(_("made by"), max_length=16, choices=MadeBy.choices, default=MadeBy.ALLOCATION)

    class Meta:
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reserved_at__isnull=True) | Q(warehouse__isnull=False),
                name="parcel_reserved_has_warehouse",
            )
        ]

    def __str__(self) -> str:
        return self.number


class ParcelLine(models.Model):
    """``quantity`` of an order line (in the store's units) goes in a parcel."""

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="lines", verbose_name=_("parcel"))
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="parcel_lines", verbose_name=_("order"))
    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, related_name="parcel_lines", verbose_name=_("order line")
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("parcel line")
        verbose_name_plural = _("parcel lines")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["parcel", "line"], name="parcelline_parcel_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="parcelline_quantity_positive"),
        ]
        indexes = [models.Index(fields=["order"], name="parcelline_order_idx")]

    def __str__(self) -> str:
        return f"{self.parcel_id}: {self.line_id} × {self.quantity}"
