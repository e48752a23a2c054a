"""Master data of stock: products (SKU master with customs data), bundles, warehouses and bins."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

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
        raise ValidationError(gettext("SKU is required."), code="required")
    if not SKU_RE.match(value):
        bad = sorted({char for char in value if not SKU_RE.match(char)})
        raise ValidationError(
            gettext("SKU %(value)s may only hold letters, digits and - _ . / (found %(bad)s)."),
            code="sku_format",
            params={"value": value, "bad": " ".join(repr(char) for char in bad)},
        )


class Product(TimeStampedModel):
    """One sellable SKU with what shipping and customs need to know about it."""

    sku = models.CharField(_("SKU"), max_length=64, unique=True, validators=[validate_sku])
    sku_sort = NaturalSortKeyField(_("sku sort"), source="sku", max_length=128)
    name = models.CharField(_("name"), max_length=255)
    barcode = models.CharField(
        _("barcode"),
        max_length=14,
        blank=True,
        default="",
        validators=[validate_gtin],
        help_text=_("EAN-8, UPC-A, EAN-13 or GTIN-14."),
    )
    weight_g = models.PositiveIntegerField(_("weight (g)"), null=True, blank=True)
    length_mm = models.PositiveIntegerField(_("length (mm)"), null=True, blank=True)
    width_mm = models.PositiveIntegerField(_("width (mm)"), null=True, blank=True)
    height_mm = models.PositiveIntegerField(_("height (mm)"), null=True, blank=True)
    declared_name_en = models.CharField(_("declared name (English)"), max_length=128, blank=True, default="")
    declared_name_zh = models.CharField(_("declared name (Chinese)"), max_length=128, blank=True, default="")
    hs_code = models.CharField(_("HS code"), max_length=10, blank=True, default="", validators=[validate_hs_code])
    declared_value = models.DecimalField(
        _("declared value"), max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    declared_currency = models.CharField(
        _("declared currency"), max_length=3, default="USD", validators=[validate_currency]
    )
    origin_country = models.CharField(_("origin country"), max_length=2, default="CN", validators=[validate_country])
    contains_battery = models.BooleanField(_("contains battery"), default=False)
    contains_liquid = models.BooleanField(_("contains liquid"), default=False)
    cost_price = models.DecimalField(
        _("cost price"), max_digits=12, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    cost_currency = models.CharField(_("cost currency"), max_length=3, default="CNY", validators=[validate_currency])
    is_bundle = models.BooleanField(
        _("is bundle"), default=False, help_text=_("Sold as one SKU, made of components; holds no stock of its own.")
    )
    is_active = models.BooleanField(_("is active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
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

    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="components", verbose_name=_("bundle"))
    component = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="used_in_bundles", verbose_name=_("component")
    )
    quantity = models.PositiveIntegerField(_("quantity"), default=1, validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("bundle component")
        verbose_name_plural = _("bundle components")
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
        OWN = "own", _("Own warehouse")
        OVERSEAS = "overseas", _("Overseas warehouse")
        THIRD_PARTY = "third_party", _("Third-party (3PL)")
        FBA = "fba", _("Fulfilled by Amazon (FBA)")

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=128)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.OWN)
    country = models.CharField(_("country"), max_length=2, validators=[validate_country])
    address_line1 = models.CharField(_("address line1"), max_length=255, blank=True, default="")
    address_line2 = models.CharField(_("address line2"), max_length=255, blank=True, default="")
    city = models.CharField(_("city"), max_length=128, blank=True, default="")
    state = models.CharField(_("state"), max_length=128, blank=True, default="")
    postal_code = models.CharField(_("postal code"), max_length=32, blank=True, default="")
    contact_name = models.CharField(_("contact name"), max_length=128, blank=True, default="")
    phone = models.CharField(_("phone"), max_length=64, blank=True, default="")
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("Lower numbers are tried first when allocating orders.")
    )
    bin_code_pattern = models.CharField(
        _("bin code pattern"),
        max_length=200,
        blank=True,
        default=r"^[A-Z]{1,3}-\d{2}-\d{2}-\d{2}$",
        help_text=_(
            "Pattern every bin code of this warehouse must match (RE2 syntax, matched in linear time), "
            "e.g. ^[A-Z]{1,3}-\\d{2}-\\d{2}-\\d{2}$ for zone-aisle-rack-level (A-01-02-03). Empty allows any code."
        ),
    )
    is_active = models.BooleanField(_("is active"), default=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
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
            raise ValidationError({"code": gettext("Warehouse code may only hold letters, digits, - and _.")})
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
        PICK = "pick", _("Pick face")
        BULK = "bulk", _("Bulk / overstock")
        RECEIVING = "receiving", _("Receiving")
        PACKING = "packing", _("Packing")
        QUARANTINE = "quarantine", _("Quarantine")
        SHIPPING = "shipping", _("Shipping / dispatch")

    # Stock in these kinds can be sold unless a person says otherwise.
    SELLABLE_BY_DEFAULT = frozenset({Kind.PICK, Kind.BULK})

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="bins", verbose_name=_("warehouse"))
    code = models.CharField(_("code"), max_length=32)
    code_sort = NaturalSortKeyField(_("code sort"), source="code", max_length=96)
    zone = models.CharField(_("zone"), max_length=16, blank=True, default="")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PICK)
    is_sellable = models.BooleanField(_("is sellable"), default=True)
    pick_sequence = models.PositiveIntegerField(
        _("pick sequence"),
        default=0,
        help_text=_("Order in which a picker walks the bins; pick lists are sorted by it."),
    )
    is_active = models.BooleanField(_("is active"), default=True)

    class Meta:
        verbose_name = _("bin")
        verbose_name_plural = _("bins")
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
                        gettext(
                            "Zone %(zone)s has %(length)s characters; at most %(max_length)s are allowed "
                            "(without a zone, the part of the code before the first dash is the zone)."
                        )
                        % {"zone": self.zone, "length": len(self.zone), "max_length": zone_length},
                        code="max_length",
                    )
                }
            )
        if self.code and not re.fullmatch(BIN_CODE_SQL_RE, self.code):
            raise ValidationError(
                {"code": gettext("Bin code %(code)s may only hold letters, digits, - _ and .") % {"code": self.code}}
            )
        warehouse = self.warehouse if self.warehouse_id else None
        if (
            warehouse
            and warehouse.bin_code_pattern
            and self.code
            and not _follows_scheme(warehouse.bin_code_pattern, self.code)
        ):
            raise ValidationError(
                {
                    "code": gettext("Bin code %(code)s does not follow warehouse %(warehouse)s's scheme %(pattern)s.")
                    % {"code": self.code, "warehouse": warehouse.code, "pattern": warehouse.bin_code_pattern}
                }
            )


# --- Stock -----------------------------------------------------------------------------------------------


class StockLevel(models.Model):
    """Units of one product in one bin. Changed only by the stock services, in SQL, under row locks."""

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="stock_levels", verbose_name=_("product")
    )
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="stock_levels", verbose_name=_("bin"))
    on_hand = models.IntegerField(_("on hand"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
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

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="balances", verbose_name=_("product"))
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="balances", verbose_name=_("warehouse")
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    sellable = models.IntegerField(_("sellable"), default=0, help_text=_("On hand in sellable bins."))
    reserved = models.IntegerField(_("reserved"), default=0, help_text=_("Reserved for orders and not picked yet."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("inventory balance")
        verbose_name_plural = _("inventory balances")
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="balance_product_warehouse_unique"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="balance_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=models.F("sellable")), name="balance_reserved_covered"),
            models.CheckConstraint(condition=Q(sellable__gte=0), name="balance_sellable_not_negative"),
            models.CheckConstraint(condition=Q(sellable__lte=models.F("on_hand")), name="balance_sellable_le_on_hand"),
        ]

    def __str__(self) -> str:
        return gettext("%(product)s@%(warehouse)s: %(on_hand)s on hand, %(reserved)s reserved") % {
            "product": self.product_id,
            "warehouse": self.warehouse_id,
            "on_hand": self.on_hand,
            "reserved": self.reserved,
        }


class StockMove(models.Model):
    """Append-only ledger: every unit that enters, leaves or moves inside a warehouse has a row here."""

    class Reason(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        PUT_AWAY = "put_away", _("Put-away")
        MOVE = "move", _("Bin to bin move")
        PICK = "pick", _("Pick")
        SHIP = "ship", _("Ship")
        ADJUSTMENT = "adjustment", _("Adjustment")
        COUNT = "count", _("Stock count")
        TRANSFER_OUT = "transfer_out", _("Transfer out")
        TRANSFER_IN = "transfer_in", _("Transfer in")
        RETURN = "return", _("Customer return")

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="stock_moves", verbose_name=_("product")
    )
    from_bin = models.ForeignKey(
        Bin, null=True, blank=True, on_delete=models.PROTECT, related_name="moves_out", verbose_name=_("from bin")
    )
    to_bin = models.ForeignKey(
        Bin, null=True, blank=True, on_delete=models.PROTECT, related_name="moves_in", verbose_name=_("to bin")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    reference = models.CharField(
        _("reference"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("The document that caused it, e.g. the transfer TR-000012 or the count CNT-000003."),
    )
    note = models.CharField(_("note"), max_length=255, blank=True, default="")
    # PROTECT: the ledger is never rewritten, so a user with moves is deactivated, not deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stock_moves",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("stock move")
        verbose_name_plural = _("stock moves")
        indexes = [
            models.Index(fields=["product", "-id"], name="stockmove_product_id_idx"),
            models.Index(fields=["from_bin", "-id"], name="stockmove_from_bin_id_idx"),
            models.Index(fields=["to_bin", "-id"], name="stockmove_to_bin_id_idx"),
            models.Index(fields=["reference"], name="stockmove_reference_idx"),
            # The admin's search "reference starts with" is UPPER(reference) LIKE 'X%': this index answers it.
            models.Index(OpClass(Upper("reference"), name="text_pattern_ops"), name="stockmove_ref_prefix_idx"),
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
        return f"#{self.pk} {self.get_reason_display()} {self.quantity} × {self.product_id}"


class Reservation(models.Model):
    """Units promised to one document line (an order line) in one warehouse, followed to shipment."""

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("product")
    )
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("warehouse")
    )
    reference = models.CharField(
        _("reference"), max_length=100, help_text=_("The line it is for, e.g. order-line:123.")
    )
    quantity_reserved = models.PositiveIntegerField(
        _("quantity reserved"), default=0, help_text=_("Reserved and not picked yet.")
    )
    quantity_picked = models.PositiveIntegerField(
        _("quantity picked"), default=0, help_text=_("Picked and not shipped yet.")
    )
    # Grows for as long as the reference ships, so it has the room of a bigint.
    quantity_shipped = models.PositiveBigIntegerField(_("quantity shipped"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        indexes = [
            models.Index(fields=["product", "warehouse"], name="reservation_product_wh_idx"),
            models.Index(OpClass(Upper("reference"), name="text_pattern_ops"), name="reservation_ref_prefix_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "product", "warehouse"], name="reservation_reference_product_wh_unique"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(reference)s: %(reserved)s reserved, %(picked)s picked") % {
            "reference": self.reference,
            "reserved": self.quantity_reserved,
            "picked": self.quantity_picked,
        }


class ReservationEvent(models.Model):
    """History of a reservation: units reserved, released, picked or shipped, by whom and when.

    Written by the stock services in the transaction of the change, so the quantities of a reservation are
    always the sum of its events (reserved − released − picked = reserved now; picked − shipped = picked now).
    """

    class Kind(models.TextChoices):
        # In context: "Shipped" here is a reservation's units leaving the warehouse, not a transfer sent off.
        RESERVED = "reserved", pgettext_lazy("reservation event", "Reserved")
        RELEASED = "released", pgettext_lazy("reservation event", "Released")
        PICKED = "picked", pgettext_lazy("reservation event", "Picked")
        SHIPPED = "shipped", pgettext_lazy("reservation event", "Shipped")

    # Written while the stock rows are locked, so every index is paid for on the hot path: the reservation's is the
    # (reservation, id) index below, and ledger rows (append-only) are never deleted, so stock_move needs none.
    reservation = models.ForeignKey(
        Reservation, on_delete=models.CASCADE, related_name="events", db_index=False, verbose_name=_("reservation")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    quantity = models.PositiveIntegerField(_("quantity"))
    # The ledger row a pick or a shipment wrote.
    stock_move = models.ForeignKey(
        "StockMove",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reservation_events",
        db_index=False,
        verbose_name=_("stock move"),
    )
    # PROTECT, as the ledger: history is never rewritten, so a user with history is deactivated, not deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reservation_events",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("reservation event")
        verbose_name_plural = _("reservation events")
        ordering = ["id"]
        indexes = [models.Index(fields=["reservation", "id"], name="reservation_event_res_id_idx")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_event_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity}"


class SellableChange(models.Model):
    """A bin made sellable or not: per product in it, the units that went on or off sale, by whom and when.

    A bin that held nothing leaves one row without a product, so every change of the flag is on record.
    """

    # Looked up by the (bin, -id) and (product, -id) indexes below.
    bin = models.ForeignKey(
        Bin, on_delete=models.PROTECT, related_name="sellable_changes", db_index=False, verbose_name=_("bin")
    )
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sellable_changes",
        db_index=False,
        verbose_name=_("product"),
    )
    is_sellable = models.BooleanField(_("is sellable"), help_text=_("What the bin became."))
    quantity = models.PositiveIntegerField(
        _("quantity"), default=0, help_text=_("Units of the product that went on or off sale.")
    )
    note = models.CharField(_("note"), max_length=255, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sellable_changes",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sellable change")
        verbose_name_plural = _("sellable changes")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["product", "-id"], name="sellable_change_product_idx"),
            models.Index(fields=["bin", "-id"], name="sellable_change_bin_idx"),
        ]

    def __str__(self) -> str:
        values = {"bin": self.bin_id, "quantity": self.quantity, "product": self.product_id}
        if self.is_sellable:
            return gettext("bin %(bin)s on sale: %(quantity)s × %(product)s") % values
        return gettext("bin %(bin)s off sale: %(quantity)s × %(product)s") % values


# --- Transfers between warehouses -------------------------------------------------------------------------


class Transfer(TimeStampedModel):
    """Stock sent from one warehouse to another: draft → shipped (in transit) → received, partly or fully."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SHIPPED = "shipped", _("Shipped (in transit)")
        PARTIALLY_RECEIVED = "partially_received", _("Partially received")
        RECEIVED = "received", _("Received")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("number"), max_length=32, unique=True, help_text=_("TR-000123, set when created."))
    source = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="transfers_out", verbose_name=_("source")
    )
    destination = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="transfers_in", verbose_name=_("destination")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    carrier_reference = models.CharField(
        _("carrier reference"), max_length=100, blank=True, default="", help_text=_("Tracking or B/L number.")
    )
    note = models.TextField(_("note"), blank=True, default="")
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=models.F("destination")), name="transfer_between_two_warehouses"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines", verbose_name=_("transfer"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="transfer_lines", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    from_bin = models.ForeignKey(
        Bin,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("from bin"),
        help_text=_("Empty: chosen when shipped."),
    )
    quantity_shipped = models.PositiveIntegerField(_("quantity shipped"), default=0)
    quantity_received = models.PositiveIntegerField(_("quantity received"), default=0)

    class Meta:
        verbose_name = _("transfer line")
        verbose_name_plural = _("transfer lines")
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

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="events", verbose_name=_("transfer"))

    class Meta(StatusEvent.Meta):
        verbose_name = _("transfer event")
        verbose_name_plural = _("transfer events")


# --- Stock counts (盘点) ------------------------------------------------------------------------------------


class StockCount(TimeStampedModel):
    """A count of some bins of one warehouse; approval posts the variances to the ledger."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open (counting)")
        APPROVED = "approved", _("Approved")
        CANCELLED = "cancelled", _("Cancelled")

    number = models.CharField(_("number"), max_length=32, unique=True, help_text=_("CNT-000123, set when created."))
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="stock_counts", verbose_name=_("warehouse")
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    is_blind = models.BooleanField(
        _("is blind"), default=False, help_text=_("Counters do not see the expected quantities.")
    )
    scope = models.CharField(
        _("scope"), max_length=255, blank=True, default="", help_text=_("What was counted, for people.")
    )
    note = models.TextField(_("note"), blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stock count")
        verbose_name_plural = _("stock counts")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


class StockCountBin(models.Model):
    """A bin in a count's scope: stock found in it is counted, including products nobody expected."""

    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="count_bins", verbose_name=_("count"))
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="+", verbose_name=_("bin"))

    class Meta:
        verbose_name = _("stock count bin")
        verbose_name_plural = _("stock count bins")
        constraints = [models.UniqueConstraint(fields=["count", "bin"], name="stock_count_bin_unique")]

    def __str__(self) -> str:
        return gettext("%(count)s: bin %(bin)s") % {"count": self.count_id, "bin": self.bin_id}


class StockCountLine(models.Model):
    """One product in one bin of a count.

    ``expected_quantity`` is the book quantity when the count was opened. When the counter records a
    quantity, ``system_quantity`` is the book quantity at that very moment (read under the stock row's
    lock), so the variance (counted − system) is not confused by picks or receipts that happen while the
    count is open; approval applies that variance to whatever is on hand then.
    """

    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines", verbose_name=_("count"))
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="+", verbose_name=_("bin"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    expected_quantity = models.IntegerField(_("expected quantity"), default=0)
    counted_quantity = models.IntegerField(_("counted quantity"), null=True, blank=True)
    system_quantity = models.IntegerField(_("system quantity"), null=True, blank=True)
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True)
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("counted by"),
    )
    adjustment = models.IntegerField(
        _("adjustment"), null=True, blank=True, help_text=_("Posted to the ledger on approval.")
    )

    class Meta:
        verbose_name = _("stock count line")
        verbose_name_plural = _("stock count lines")
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

    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="events", verbose_name=_("count"))

    class Meta(StatusEvent.Meta):
        verbose_name = _("stock count event")
        verbose_name_plural = _("stock count events")
