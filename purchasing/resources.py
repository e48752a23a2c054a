"""Spreadsheet import/export of suppliers and supplier products (used by the admin); saves go through services."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.fields import Field

from core.models import adopt_saved
from core.resources import NaturalKeyWidget, SpreadsheetResource
from inventory.models import Product
from purchasing import services
from purchasing.models import Supplier, SupplierProduct

SUPPLIER_COLUMNS = [
    "name",
    "contact_name",
    "email",
    "phone",
    "address",
    "currency",
    "default_lead_time_days",
    "notes",
    "is_active",
]
SUPPLIER_PRODUCT_COLUMNS = [
    "supplier",
    "product",
    "supplier_sku",
    "unit_cost",
    "minimum_order_quantity",
    "case_pack",
    "lead_time_days",
    "is_preferred",
]


class SupplierResource(SpreadsheetResource):
    """Suppliers by name."""

    code_fields = ("currency",)
    check_unique_constraints = False  # the service does, naming the other row

    class Meta:
        model = Supplier
        name = gettext_lazy("Suppliers")
        import_id_fields = ["name"]
        fields = SUPPLIER_COLUMNS
        export_order = SUPPLIER_COLUMNS

    def do_instance_save(self, instance, is_create):
        data = {name: getattr(instance, name) for name in SUPPLIER_COLUMNS}
        if is_create:
            adopt_saved(instance, services.supplier_create(**data))
        else:
            services.supplier_update(supplier=instance, data=data)


class SupplierProductResource(SpreadsheetResource):
    """Supplier products by supplier name + product SKU.

    ``is_preferred`` = yes moves the product's preferred flag to this row (the service unsets the other
    row under a lock); two rows of one file marking one product preferred is an error.
    """

    supplier = Field(
        attribute="supplier", column_name="supplier", widget=NaturalKeyWidget(Supplier, "name", upper=False)
    )
    product = Field(attribute="product", column_name="product", widget=NaturalKeyWidget(Product, "sku"))

    select_related = ("supplier", "product")
    validation_exclusions = ("is_preferred",)
    check_unique_constraints = False  # the service does, naming the other row
    constraint_messages = {
        "supplier_sku_unique_per_supplier": (
            "supplier_sku",
            gettext_lazy("This supplier SKU is already used for another product of the same supplier."),
        ),
    }

    class Meta:
        model = SupplierProduct
        name = gettext_lazy("Supplier products")
        import_id_fields = ["supplier", "product"]
        fields = SUPPLIER_PRODUCT_COLUMNS
        export_order = SUPPLIER_PRODUCT_COLUMNS

    def check_rows(self, rows):
        widget = self.fields["is_preferred"].widget
        preferred_at: dict[str, int] = {}
        for number, row in enumerate(rows, 1):
            try:
                is_preferred = widget.clean(row.get("is_preferred"))
            except ValueError:
                continue  # reported on its own cell
            sku = str(row.get("product") or "").strip().upper()
            if not is_preferred or not sku:
                continue
            if sku in preferred_at:
                self.add_row_error(
                    number,
                    "is_preferred",
                    _(
                        "Product %(sku)s is already marked preferred at row %(row)s; a product has one preferred "
                        "supplier."
                    )
                    % {"sku": sku, "row": self.sheet_row(preferred_at[sku])},
                    code="preferred_twice",
                )
            else:
                preferred_at[sku] = number

    def do_instance_save(self, instance, is_create):
        data = {name: getattr(instance, name) for name in SUPPLIER_PRODUCT_COLUMNS}
        if is_create:
            adopt_saved(instance, services.supplier_product_create(**data))
        else:
            services.supplier_product_update(supplier_product=instance, data=data)
