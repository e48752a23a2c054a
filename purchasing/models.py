"""Suppliers and what each supplies (cost, MOQ, case pack, lead time)."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel
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
        help_text=_("Overrides the supplier's default lead time when set."),
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
