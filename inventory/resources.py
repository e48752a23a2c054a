"""Spreadsheet import/export of products, bundle components and bins (used by the admin).

Products and bins are saved through inventory.services, so an import keeps the same rules as the API. Bundle
lines are upserted one by one (the service replaces a bundle's whole list), after the same role checks.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from import_export.fields import Field

from core.models import adopt_saved
from core.resources import NaturalKeyWidget, SpreadsheetResource, YesNoWidget
from inventory import services
from inventory.models import PRODUCT_FIELDS, Bin, BundleComponent, Product, Warehouse

PRODUCT_COLUMNS = list(PRODUCT_FIELDS)


class ProductResource(SpreadsheetResource):
    """Products by SKU: a row with a known SKU updates that product, any other adds one."""

    code_fields = ("sku", "declared_currency", "origin_country", "cost_currency")
    check_unique_constraints = False  # the service does, naming the other row
    constraint_messages = {
        "product_barcode_unique": ("barcode", "This barcode is already used by another product."),
    }

    class Meta:
        model = Product
        name = "Products"
        import_id_fields = ["sku"]
        fields = PRODUCT_COLUMNS
        export_order = PRODUCT_COLUMNS

    def do_instance_save(self, instance, is_create):
        data = {name: getattr(instance, name) for name in PRODUCT_COLUMNS}
        if is_create:
            adopt_saved(instance, services.product_create(data=data))
        else:
            services.product_update(product=instance, data=data)


class BundleComponentResource(SpreadsheetResource):
    """Bundle lines by bundle SKU + component SKU: ``quantity`` units of ``component`` in each ``bundle``."""

    bundle = Field(attribute="bundle", column_name="bundle", widget=NaturalKeyWidget(Product, "sku"))
    component = Field(attribute="component", column_name="component", widget=NaturalKeyWidget(Product, "sku"))

    select_related = ("bundle", "component")
    constraint_messages = {
        "bundle_not_own_component": ("component", "A bundle cannot contain itself."),
    }

    class Meta:
        model = BundleComponent
        name = "Bundle components"
        import_id_fields = ["bundle", "component"]
        fields = ["bundle", "component", "quantity"]
        export_order = ["bundle", "component", "quantity"]

    def import_instance(self, instance, row, **kwargs):
        errors: dict[str, list] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        # The roles inventory.services.bundle_components_set enforces for a whole list, checked per line.
        bundle = instance.bundle if instance.bundle_id else None
        component = instance.component if instance.component_id else None
        if bundle is not None and "bundle" not in errors and not bundle.is_bundle:
            errors["bundle"] = [
                ValidationError(
                    f"SKU {bundle.sku} is not a bundle, so it cannot have components; set is_bundle first.",
                    code="not_a_bundle",
                )
            ]
        if component is not None and "component" not in errors:
            if bundle is not None and component.pk == bundle.pk:
                errors["component"] = [
                    ValidationError(f"Bundle {bundle.sku} cannot be a component of itself.", code="component_is_self")
                ]
            elif component.is_bundle:
                errors["component"] = [
                    ValidationError(
                        f"SKU {component.sku} is a bundle; a component cannot itself be a bundle.",
                        code="component_is_bundle",
                    )
                ]
        if errors:
            raise ValidationError(errors)


class BinResource(SpreadsheetResource):
    """Bins by warehouse code + bin code."""

    warehouse = Field(attribute="warehouse", column_name="warehouse", widget=NaturalKeyWidget(Warehouse, "code"))
    # No default: a blank cell keeps an existing bin's flag, and a new bin takes its kind's default.
    is_sellable = Field(
        attribute="is_sellable", column_name="is_sellable", widget=YesNoWidget(), saves_null_values=False
    )

    code_fields = ("code", "zone")
    check_unique_constraints = False  # the service does, naming the other row
    select_related = ("warehouse",)

    class Meta:
        model = Bin
        name = "Bins"
        import_id_fields = ["warehouse", "code"]
        fields = ["warehouse", "code", "zone", "kind", "is_sellable", "pick_sequence", "is_active"]
        export_order = ["warehouse", "code", "zone", "kind", "is_sellable", "pick_sequence", "is_active"]

    def import_instance(self, instance, row, **kwargs):
        try:
            super().import_instance(instance, row, **kwargs)
        finally:
            if instance._state.adding and row.get("is_sellable") in (None, ""):
                instance.is_sellable = instance.kind in Bin.SELLABLE_BY_DEFAULT

    def do_instance_save(self, instance, is_create):
        data = {name: getattr(instance, name) for name in services.BIN_FIELDS}
        if is_create:
            adopt_saved(instance, services.bin_create(data=data))
        else:
            services.bin_update(bin=instance, data=data)
