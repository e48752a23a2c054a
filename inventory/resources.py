"""Spreadsheet import/export of products, bundle components and bins (used by the admin).

Products and bins are saved through inventory.services and judged by inventory.product_rules, so an import
keeps the same rules, codes and messages as the API and the bulk import. Bundle lines are upserted one by one
(the service replaces a bundle's whole list), after the same component rules.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from core.models import adopt_saved
from core.resources import NaturalKeyWidget, SpreadsheetResource, YesNoWidget
from inventory import product_rules, services
from inventory.models import PRODUCT_FIELDS, Bin, BundleComponent, Product, Warehouse

PRODUCT_COLUMNS = list(PRODUCT_FIELDS)


class ProductResource(SpreadsheetResource):
    """Products by SKU: a row with a known SKU updates that product, any other adds one.

    Every value is judged by ``inventory.product_rules``, the rules of every door, so a bad cell gets the code
    and message the API and the bulk import give it; an empty cell leaves the product's value as it is (a new
    product takes the default), as in the bulk import.
    """

    code_fields = ("sku", "declared_currency", "origin_country", "cost_currency")
    check_unique_constraints = False  # the service does, naming the other row

    class Meta:
        model = Product
        name = _("Products")
        import_id_fields = ["sku"]
        fields = PRODUCT_COLUMNS
        export_order = PRODUCT_COLUMNS

    def import_instance(self, instance, row, **kwargs):
        data = {name: _as_typed(row[name]) for name in PRODUCT_COLUMNS if name in row and row[name] not in (None, "")}
        values, problems = product_rules.product_values(data)
        for name, value in values.items():
            setattr(instance, name, value)
        instance._given_values = data  # for do_instance_save: only what the sheet gives is changed
        errors: dict[str, list] = {}
        for problem in problems:
            errors.setdefault(problem.field, []).append(ValidationError(problem.message, code=problem.code))
        self.file_errors_add(errors, row=row, number=kwargs.get("row_number"))
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # The product rules judged every value in import_instance, and the service judges the row as a whole;
        # the model's own validators would say the same things again in other words.
        if import_validation_errors:
            raise ValidationError(import_validation_errors)

    def duplicate_error(self, row, *, first_row):
        detail = product_rules.SKU_REPEATED.detail(sku=self.natural_key_label(row), first_row=first_row)
        return "sku", ValidationError(detail.message, code=detail.code)

    def check_rows(self, rows):
        first_row_of: dict[str, int] = {}
        for number, row in enumerate(rows, 1):
            barcode = str(_as_typed(row.get("barcode")) or "").strip()
            if not barcode:
                continue
            if barcode in first_row_of:
                detail = product_rules.BARCODE_REPEATED.detail(
                    barcode=barcode, first_row=self.sheet_row(first_row_of[barcode])
                )
                self.add_row_error(number, "barcode", detail.message, code=detail.code)
            else:
                first_row_of[barcode] = number

    def do_instance_save(self, instance, is_create):
        data = instance._given_values
        if is_create:
            adopt_saved(instance, services.product_create(data=data))
        else:
            services.product_update(product=instance, data=data)


def _as_typed(value):
    """A cell as typed: XLSX stores 4006381333931 or 392690 typed in a cell as a float."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class BundleComponentResource(SpreadsheetResource):
    """Bundle lines by bundle SKU + component SKU: ``quantity`` units of ``component`` in each ``bundle``.

    Each line is judged by the component rules of ``inventory.product_rules``, as a bundle's whole list is by
    ``inventory.services.bundle_components_set``.
    """

    bundle = Field(attribute="bundle", column_name="bundle", widget=NaturalKeyWidget(Product, "sku"))
    component = Field(attribute="component", column_name="component", widget=NaturalKeyWidget(Product, "sku"))

    select_related = ("bundle", "component")
    constraint_messages = {
        "bundle_not_own_component": ("component", _("A bundle cannot contain itself.")),
    }

    class Meta:
        model = BundleComponent
        name = _("Bundle components")
        import_id_fields = ["bundle", "component"]
        fields = ["bundle", "component", "quantity"]
        export_order = ["bundle", "component", "quantity"]

    def duplicate_error(self, row, *, first_row):
        detail = product_rules.COMPONENT_REPEATED.detail(
            sku=str(row.get("component") or "").strip().upper(),
            first=gettext("row %(row)s") % {"row": first_row},
        )
        return "component", ValidationError(detail.message, code=detail.code)

    def import_instance(self, instance, row, **kwargs):
        errors: dict[str, list] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        bundle = instance.bundle if instance.bundle_id else None
        component = instance.component if instance.component_id else None
        if bundle is not None and component is not None and "quantity" not in errors:
            problems = product_rules.component_problems(
                bundle=bundle,
                components=[(component, instance.quantity)],
                field_of=lambda index, part: part,
                position_of=lambda index: gettext("this row"),
                bundle_field="bundle",
            )
            for problem in problems:
                if problem.field not in errors:
                    errors.setdefault(problem.field, []).append(ValidationError(problem.message, code=problem.code))
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
        name = _("Bins")
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
            services.bin_update(bin=instance, data=data, user=self.import_user)
