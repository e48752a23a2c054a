"""Master data of stock: products (SKU master with customs data), bundles, warehouses and bins."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import TimeStampedModel, natural_sort_expression
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
    sku_sort = models.GeneratedField(
        expression=natural_sort_expression("sku"), output_field=models.TextField(), db_persist=True
    )
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

    def clean(self) -> None:
        self.sku = normalize_code(self.sku)
        self.barcode = (self.barcode or "").strip()
        self.hs_code = (self.hs_code or "").strip()
        self.origin_country = normalize_code(self.origin_country)
        self.declared_currency = normalize_code(self.declared_currency)
        self.cost_currency = normalize_code(self.cost_currency)


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
        help_text=r"Regular expression every bin code of this warehouse must match, "
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
        if self.code and not re.match(WAREHOUSE_CODE_SQL_RE, self.code):
            raise ValidationError({"code": "Warehouse code may only hold letters, digits, - and _."})
        if self.bin_code_pattern:
            try:
                re.compile(self.bin_code_pattern)
            except re.error as exc:
                raise ValidationError({"bin_code_pattern": f"Not a valid regular expression: {exc}."}) from exc


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
    code_sort = models.GeneratedField(
        expression=natural_sort_expression("code"), output_field=models.TextField(), db_persist=True
    )
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

    def clean(self) -> None:
        self.code = normalize_code(self.code)
        self.zone = normalize_code(self.zone) or self.code.split("-", 1)[0]
        if self.code and not re.match(BIN_CODE_SQL_RE, self.code):
            raise ValidationError({"code": f"Bin code {self.code} may only hold letters, digits, - _ and ."})
        warehouse = self.warehouse if self.warehouse_id else None
        if (
            warehouse
            and warehouse.bin_code_pattern
            and self.code
            and not re.fullmatch(warehouse.bin_code_pattern, self.code)
        ):
            raise ValidationError(
                {
                    "code": f"Bin code {self.code} does not follow warehouse {warehouse.code}'s scheme "
                    f"{warehouse.bin_code_pattern}."
                }
            )
