"""Master data of stock: products (SKU master with customs data), bundles, warehouses and bins."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import NaturalSortKeyField, TimeStampedModel, with_sort_keys
from core.patterns import PatternError, pattern_compile, pattern_fullmatch
from core.status import StatusEvent
from core.validators import validate_country, validate_currency, validate_gtin, validate_hs_code

SKU_RE = re.compile(r"^[A-Z0-9._/-]+$")
SKU_SQL_RE = r"^[A-Z0-9._/-]+$"
WAREHOUSE_CODE_SQL_RE = r"^[A-Z0-9_-]+$"
BIN_CODE_SQL_RE = r"^[A-Z0-9._-]+$"


def normalize_code(value: str | None) -> str:
    """SKUs, warehouse and bin codes are compared trimmed and upper-cased."""
    return (value or "").strip().upper()


def validate_sku(value: str) -> None:
    if not value:
        raise ValidationError("SKU is required.", code="required")
    if not SKU_RE.match(value):
        bad = sorted({char for char in value if not SKU_RE.match(char)})
        raise ValidationError(
            "SKU %(value)s may only hold letters, digits and - _ . / (found %(bad)s).",
            code="sku_format",
            params={"value": value, "bad": " ".join(repr(char) for char in bad)},
        )


class Product(TimeStampedModel):
    """One sellable SKU with what shipping and customs need to know about it."""

    sku = models.CharField("SKU", max_length=64, unique=True, validators=[validate_sku])
    sku_sort = NaturalSortKeyField(source="sku", max_length=128)
    name = models.CharField(max_length=255)
    barcode = models.CharField(
        max_length=14, blank=True, default="", validators=[validate_gtin], help_text="EAN-8, UPC-A, EAN-13 or GTIN-14."
    )
    weight_g = models.PositiveIntegerField("weight (g)", null=True, blank=True)
    length_mm = models.PositiveIntegerField("length (mm)", null=True, blank=True)
    width_mm = models.PositiveIntegerField("width (mm)", null=True, blank=True)
    height_mm = models.PositiveIntegerField("height (mm)", null=True, blank=True)
    declared_name_en = models.CharField("declared name (English)", max_length=128, blank=True, default="")
    declared_name_zh = models.CharField("declared name (Chinese)", max_length=128, blank=True, default="")
    hs_code = models.CharField("HS code", max_length=10, blank=True, default="", validators=[validate_hs_code])
    declared_value = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    declared_currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    origin_country = models.CharField(max_length=2, default="CN", validators=[validate_country])
    contains_battery = models.BooleanField(default=False)
    contains_liquid = models.BooleanField(default=False)
    cost_price = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    cost_currency = models.CharField(max_length=3, default="CNY", validators=[validate_currency])
    is_bundle = models.BooleanField(
        default=False, help_text="Sold as one SKU, made of components; holds no stock of its own."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku_sort"]
        indexes = [models.Index(fields=["sku_sort"], name="product_sku_sort_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(sku__regex=SKU_SQL_RE), name="product_sku_format"),
            models.UniqueConstraint(fields=["barcode"], condition=~Q(barcode=""), name="product_barcode_unique"),
            models.CheckConstraint(
                condition=Q(barcode="") | Q(barcode__regex=r"^([0-9]{8}|[0-9]{12,14})$"),
                name="product_barcode_digits",
            ),
            models.CheckConstraint(
                condition=Q(hs_code="") | Q(hs_code__regex=r"^[0-9]{6,10}$"), name="product_hs_code_format"
            ),
            models.CheckConstraint(
                condition=Q(declared_value__isnull=True) | Q(declared_value__gte=0),
                name="product_declared_value_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(cost_price__isnull=True) | Q(cost_price__gte=0), name="product_cost_not_negative"
            ),
            models.CheckConstraint(condition=Q(origin_country__regex=r"^[A-Z]{2}$"), name="product_origin_iso2"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    def save(self, *args, **kwargs) -> None:
        if "update_fields" in kwargs:
            kwargs["update_fields"] = with_sort_keys(self, kwargs["update_fields"])
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.sku = normalize_code(self.sku)
        self.barcode = (self.barcode or "").strip()
        self.hs_code = (self.hs_code or "").strip()
        self.origin_country = normalize_code(self.origin_country)
        self.declared_currency = normalize_code(self.declared_currency)
        self.cost_currency = normalize_code(self.cost_currency)


# The fields a person or a system gives for a product, in the order of spreadsheets and API payloads.
PRODUCT_FIELDS = (
    "sku",
    "name",
    "barcode",
    "weight_g",
    "length_mm",
    "width_mm",
    "height_mm",
    "declared_name_en",
    "declared_name_zh",
    "hs_code",
    "declared_value",
    "declared_currency",
    "origin_country",
    "contains_battery",
    "contains_liquid",
    "cost_price",
    "cost_currency",
    "is_bundle",
    "is_active",
)


class BundleComponent(models.Model):
    """One line of a kit: the bundle SKU is made of ``quantity`` of ``component``."""

    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="components")
    component = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="used_in_bundles")
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["bundle_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "component"], name="bundle_component_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="bundle_component_quantity_positive"),
            models.CheckConstraint(condition=~Q(bundle=models.F("component")), name="bundle_not_own_component"),
        ]

    def __str__(self) -> str:
        return f"{self.bundle.sku} = {self.quantity} × {self.component.sku}"


class Warehouse(TimeStampedModel):
    class Kind(models.TextChoices):
        OWN = "own", "Own warehouse"
        OVERSEAS = "overseas", "Overseas warehouse"
        THIRD_PARTY = "third_party", "Third-party (3PL)"
        FBA = "fba", "Fulfilled by Amazon (FBA)"

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OWN)
    country = models.CharField(max_length=2, validators=[validate_country])
    address_line1 = models.CharField(max_length=255, blank=True, default="")
    address_line2 = models.CharField(max_length=255, blank=True, default="")
    city = models.CharField(max_length=128, blank=True, default="")
    state = models.CharField(max_length=128, blank=True, default="")
    postal_code = models.CharField(max_length=32, blank=True, default="")
    contact_name = models.CharField(max_length=128, blank=True, default="")
    phone = models.CharField(max_length=64, blank=True, default="")
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Lower numbers are tried first when allocating orders."
    )
    bin_code_pattern = models.CharField(
        max_length=200,
        blank=True,
        default=r"^[A-Z]{1,3}-\d{2}-\d{2}-\d{2}$",
        help_text=r"Pattern every bin code of this warehouse must match (RE2 syntax, matched in linear time), "
        r"e.g. ^[A-Z]{1,3}-\d{2}-\d{2}-\d{2}$ for zone-aisle-rack-level (A-01-02-03). Empty allows any code.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=WAREHOUSE_CODE_SQL_RE), name="warehouse_code_format"),
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="warehouse_country_iso2"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        self.code = normalize_code(self.code)
        self.country = normalize_code(self.country)
        if self.code and not re.fullmatch(WAREHOUSE_CODE_SQL_RE, self.code):
            raise ValidationError({"code": "Warehouse code may only hold letters, digits, - and _."})
        if self.bin_code_pattern:
            try:
                pattern_compile(self.bin_code_pattern)
            except PatternError as exc:
                raise ValidationError({"bin_code_pattern": ValidationError(str(exc), code="invalid_pattern")}) from exc


def _follows_scheme(pattern: str, code: str) -> bool:
    try:
        return pattern_fullmatch(pattern, code)
    except PatternError:
        return True  # a scheme that cannot be used is the warehouse's error, reported on the warehouse


class Bin(TimeStampedModel):
    """A storage location in a warehouse, addressed by a structured code such as A-01-02-03."""

    class Kind(models.TextChoices):
        PICK = "pick", "Pick face"
        BULK = "bulk", "Bulk / overstock"
        RECEIVING = "receiving", "Receiving"
        PACKING = "packing", "Packing"
        QUARANTINE = "quarantine", "Quarantine"
        SHIPPING = "shipping", "Shipping / dispatch"

    # Stock in these kinds can be sold unless a person says otherwise.
    SELLABLE_BY_DEFAULT = frozenset({Kind.PICK, Kind.BULK})

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="bins")
    code = models.CharField(max_length=32)
    code_sort = NaturalSortKeyField(source="code", max_length=96)
    zone = models.CharField(max_length=16, blank=True, default="")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PICK)
    is_sellable = models.BooleanField(default=True)
    pick_sequence = models.PositiveIntegerField(
        default=0, help_text="Order in which a picker walks the bins; pick lists are sorted by it."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["warehouse_id", "code_sort"]
        indexes = [
            models.Index(fields=["warehouse", "code_sort"], name="bin_warehouse_code_sort_idx"),
            models.Index(fields=["warehouse", "pick_sequence"], name="bin_warehouse_pick_seq_idx"),
            models.Index(fields=["warehouse", "zone"], name="bin_warehouse_zone_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "code"], name="bin_code_unique_per_warehouse"),
            models.CheckConstraint(condition=Q(code__regex=BIN_CODE_SQL_RE), name="bin_code_format"),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs) -> None:
        if "update_fields" in kwargs:
            kwargs["update_fields"] = with_sort_keys(self, kwargs["update_fields"])
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.code = normalize_code(self.code)
        self.zone = normalize_code(self.zone) or self.code.split("-", 1)[0]
        zone_length = self._meta.get_field("zone").max_length
        if len(self.zone) > zone_length:
            # Derived after the field checks ran, so it is checked here.
            raise ValidationError(
                {
                    "zone": ValidationError(
                        f"Zone {self.zone} has {len(self.zone)} characters; at most {zone_length} are allowed "
                        "(without a zone, the part of the code before the first dash is the zone).",
                        code="max_length",
                    )
                }
            )
        if self.code and not re.fullmatch(BIN_CODE_SQL_RE, self.code):
            raise ValidationError({"code": f"Bin code {self.code} may only hold letters, digits, - _ and ."})
        warehouse = self.warehouse if self.warehouse_id else None
        if (
            warehouse
            and warehouse.bin_code_pattern
            and self.code
            and not _follows_scheme(warehouse.bin_code_pattern, self.code)
        ):
            raise ValidationError(
                {
                    "code": f"Bin code {self.code} does not follow warehouse {warehouse.code}'s scheme "
                    f"{warehouse.bin_code_pattern}."
                }
            )


# --- Stock -----------------------------------------------------------------------------------------------


class StockLevel(models.Model):
    """Units of one product in one bin. Changed only by the stock services, in SQL, under row locks."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["bin", "product"], name="stocklevel_bin_product_idx")]
        constraints = [
            models.UniqueConstraint(fields=["product", "bin"], name="stocklevel_product_bin_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stocklevel_on_hand_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.bin_id}: {self.on_hand}"


class InventoryBalance(models.Model):
    """Per product and warehouse: what is on hand, what of it is sellable, and what is promised.

    ``reserved`` counts reserved units not picked yet; they must stay covered by sellable stock, so the
    database refuses any write that would oversell. Available = sellable − reserved (see selectors).
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="balances")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="balances")
    on_hand = models.IntegerField(default=0)
    sellable = models.IntegerField(default=0, help_text="On hand in sellable bins.")
    reserved = models.IntegerField(default=0, help_text="Reserved for orders and not picked yet.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="balance_product_warehouse_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="balance_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=models.F("sellable")), name="balance_reserved_covered"),
            models.CheckConstraint(condition=Q(sellable__gte=0), name="balance_sellable_not_negative"),
            models.CheckConstraint(condition=Q(sellable__lte=models.F("on_hand")), name="balance_sellable_le_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.warehouse_id}: {self.on_hand} on hand, {self.reserved} reserved"


class StockMove(models.Model):
    """Append-only ledger: every unit that enters, leaves or moves inside a warehouse has a row here."""

    class Reason(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        PUT_AWAY = "put_away", "Put-away"
        MOVE = "move", "Bin to bin move"
        PICK = "pick", "Pick"
        SHIP = "ship", "Ship"
        ADJUSTMENT = "adjustment", "Adjustment"
        COUNT = "count", "Stock count"
        TRANSFER_OUT = "transfer_out", "Transfer out"
        TRANSFER_IN = "transfer_in", "Transfer in"
        RETURN = "return", "Customer return"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_moves")
    from_bin = models.ForeignKey(Bin, null=True, blank=True, on_delete=models.PROTECT, related_name="moves_out")
    to_bin = models.ForeignKey(Bin, null=True, blank=True, on_delete=models.PROTECT, related_name="moves_in")
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    reference = models.CharField(
        max_length=100, blank=True, default="", help_text="The document that caused it, e.g. PO-12, COUNT-3."
    )
    note = models.CharField(max_length=255, blank=True, default="")
    # PROTECT: the ledger is never rewritten, so a user with moves is deactivated, not deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="stock_moves"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["product", "-id"], name="stockmove_product_id_idx"),
            models.Index(fields=["from_bin", "-id"], name="stockmove_from_bin_id_idx"),
            models.Index(fields=["to_bin", "-id"], name="stockmove_to_bin_id_idx"),
            models.Index(fields=["reference"], name="stockmove_reference_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="stockmove_quantity_positive"),
            models.CheckConstraint(
                condition=Q(from_bin__isnull=False) | Q(to_bin__isnull=False), name="stockmove_has_a_bin"
            ),
            models.CheckConstraint(
                condition=Q(from_bin__isnull=True) | Q(to_bin__isnull=True) | ~Q(from_bin=models.F("to_bin")),
                name="stockmove_bins_differ",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.reason} {self.quantity} × {self.product_id}"


class Reservation(models.Model):
    """Units promised to one document line (an order line) in one warehouse, followed to shipment."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="reservations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="reservations")
    reference = models.CharField(max_length=100, help_text="The line it is for, e.g. order-line:123.")
    quantity_reserved = models.PositiveIntegerField(default=0, help_text="Reserved and not picked yet.")
    quantity_picked = models.PositiveIntegerField(default=0, help_text="Picked and not shipped yet.")
    # Grows for as long as the reference ships, so it has the room of a bigint.
    quantity_shipped = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["product", "warehouse"], name="reservation_product_wh_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "product", "warehouse"], name="reservation_reference_product_wh_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.quantity_reserved} reserved, {self.quantity_picked} picked"


class ReservationEvent(models.Model):
    """History of a reservation: units reserved, released, picked or shipped, by whom and when.

    Written by the stock services in the transaction of the change, so the quantities of a reservation are
    always the sum of its events (reserved − released − picked = reserved now; picked − shipped = picked now).
    """

    class Kind(models.TextChoices):
        RESERVED = "reserved", "Reserved"
        RELEASED = "released", "Released"
        PICKED = "picked", "Picked"
        SHIPPED = "shipped", "Shipped"

    # Written while the stock rows are locked, so every index is paid for on the hot path: the reservation's is the
    # (reservation, id) index below, and ledger rows (append-only) are never deleted, so stock_move needs none.
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    quantity = models.PositiveIntegerField()
    # The ledger row a pick or a shipment wrote.
    stock_move = models.ForeignKey(
        "StockMove",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reservation_events",
        db_index=False,
    )
    # PROTECT, as the ledger: history is never rewritten, so a user with history is deactivated, not deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="reservation_events"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["reservation", "id"], name="reservation_event_res_id_idx")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_event_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity}"


class SellableChange(models.Model):
    """A bin made sellable or not: per product in it, the units that went on or off sale, by whom and when.

    A bin that held nothing leaves one row without a product, so every change of the flag is on record.
    """

    # Looked up by the (bin, -id) and (product, -id) indexes below.
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="sellable_changes", db_index=False)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="sellable_changes", db_index=False
    )
    is_sellable = models.BooleanField(help_text="What the bin became.")
    quantity = models.PositiveIntegerField(default=0, help_text="Units of the product that went on or off sale.")
    note = models.CharField(max_length=255, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="sellable_changes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["product", "-id"], name="sellable_change_product_idx"),
            models.Index(fields=["bin", "-id"], name="sellable_change_bin_idx"),
        ]

    def __str__(self) -> str:
        return f"bin {self.bin_id} {'on' if self.is_sellable else 'off'} sale: {self.quantity} × {self.product_id}"


# --- Transfers between warehouses -------------------------------------------------------------------------


class Transfer(TimeStampedModel):
    """Stock sent from one warehouse to another: draft → shipped (in transit) → received, partly or fully."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SHIPPED = "shipped", "Shipped (in transit)"
        PARTIALLY_RECEIVED = "partially_received", "Partially received"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=32, unique=True, help_text="TR-000123, set when created.")
    source = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    carrier_reference = models.CharField(max_length=100, blank=True, default="", help_text="Tracking or B/L number.")
    note = models.TextField(blank=True, default="")
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=models.F("destination")), name="transfer_between_two_warehouses"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="transfer_lines")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    from_bin = models.ForeignKey(
        Bin, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Empty: chosen when shipped."
    )
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "product"], name="transfer_line_product_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="transfer_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=models.F("quantity_shipped")),
                name="transfer_line_received_le_shipped",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.transfer_id}: {self.quantity} × {self.product_id}"

    @property
    def quantity_in_transit(self) -> int:
        return self.quantity_shipped - self.quantity_received


class TransferEvent(StatusEvent):
    """Audit of a transfer's status changes (inventory.transfer_services.TRANSFER_STATUS)."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="events")


# --- Stock counts (盘点) ------------------------------------------------------------------------------------


class StockCount(TimeStampedModel):
    """A count of some bins of one warehouse; approval posts the variances to the ledger."""

    class Status(models.TextChoices):
        OPEN = "open", "Open (counting)"
        APPROVED = "approved", "Approved"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=32, unique=True, help_text="CNT-000123, set when created.")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_counts")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    is_blind = models.BooleanField(default=False, help_text="Counters do not see the expected quantities.")
    scope = models.CharField(max_length=255, blank=True, default="", help_text="What was counted, for people.")
    note = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


class StockCountBin(models.Model):
    """A bin in a count's scope: stock found in it is counted, including products nobody expected."""

    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="count_bins")
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["count", "bin"], name="stock_count_bin_unique")]

    def __str__(self) -> str:
        return f"{self.count_id}: bin {self.bin_id}"


class StockCountLine(models.Model):
    """One product in one bin of a count.

    ``expected_quantity`` is the book quantity when the count was opened. When the counter records a
    quantity, ``system_quantity`` is the book quantity at that very moment (read under the stock row's
    lock), so the variance (counted − system) is not confused by picks or receipts that happen while the
    count is open; approval applies that variance to whatever is on hand then.
    """

    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    expected_quantity = models.IntegerField(default=0)
    counted_quantity = models.IntegerField(null=True, blank=True)
    system_quantity = models.IntegerField(null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    adjustment = models.IntegerField(null=True, blank=True, help_text="Posted to the ledger on approval.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["count", "bin", "product"], name="stock_count_line_unique"),
            models.CheckConstraint(
                condition=Q(counted_quantity__isnull=True) | Q(counted_quantity__gte=0),
                name="stock_count_line_counted_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.count_id}: {self.product_id}@{self.bin_id}"

    @property
    def variance(self) -> int | None:
        if self.counted_quantity is None or self.system_quantity is None:
            return None
        return self.counted_quantity - self.system_quantity


class StockCountEvent(StatusEvent):
    """Audit of a stock count's status changes: opened, approved, cancelled (inventory.count_services.COUNT_STATUS)."""

    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="events")
