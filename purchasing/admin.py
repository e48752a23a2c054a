"""Admin of suppliers and supplier products, edited through purchasing.services, with spreadsheet import/export."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.admin import CodesAdminForm, SpreadsheetAdmin, TabularInline
from core.models import adopt_saved
from purchasing import services
from purchasing.models import Supplier, SupplierProduct
from purchasing.resources import SupplierProductResource, SupplierResource


class SupplierForm(CodesAdminForm):
    code_fields = ("currency",)


class SupplierProductForm(forms.ModelForm):
    """Lets a person tick "preferred" while another supplier of the product is preferred: the service moves
    the flag (unsetting the other row under a lock), so the form must not refuse it first. The admin supplies
    the model and the fields."""

    def _get_validation_exclusions(self):
        # Django's ModelForm hook for what model validation skips; with is_preferred left out, the
        # one-preferred-per-product constraint (whose condition reads it) is not checked here.
        exclusions = super()._get_validation_exclusions()
        exclusions.add("is_preferred")
        return exclusions


def _supplier_product_write(supplier_product: SupplierProduct, *, change: bool) -> None:
    data = {name: getattr(supplier_product, name) for name in services.SUPPLIER_PRODUCT_FIELDS}
    if change:
        services.supplier_product_update(supplier_product=supplier_product, data=data)
    else:
        adopt_saved(supplier_product, services.supplier_product_create(**data))


class SupplierProductInline(TabularInline):
    model = SupplierProduct
    form = SupplierProductForm
    fields = [
        "product",
        "supplier_sku",
        "unit_cost",
        "minimum_order_quantity",
        "case_pack",
        "lead_time_days",
        "is_preferred",
    ]
    autocomplete_fields = ["product"]
    extra = 0


@admin.register(Supplier)
class SupplierAdmin(SpreadsheetAdmin):
    resource_classes = [SupplierResource]
    form = SupplierForm
    list_display = [
        "name",
        "contact_name",
        "email",
        "phone",
        "currency",
        "default_lead_time_days",
        "product_count",
        "is_active",
    ]
    list_filter = ["is_active", "currency"]
    search_fields = ["name", "contact_name", "email", "phone"]
    ordering = ["name"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [SupplierProductInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("supplier_products"))

    @admin.display(description=pgettext_lazy("a column: how many", "products"), ordering="product_count")
    def product_count(self, supplier: Supplier) -> int:
        return supplier.product_count

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in services.SUPPLIER_FIELDS if name in form.cleaned_data}
        if change:
            services.supplier_update(supplier=obj, data=data)
        else:
            adopt_saved(obj, services.supplier_create(**data))

    def save_formset(self, request, form, formset, change):
        if formset.model is not SupplierProduct:
            return super().save_formset(request, form, formset, change)
        for supplier_product in formset.save(commit=False):
            _supplier_product_write(supplier_product, change=supplier_product.pk is not None)
        for supplier_product in formset.deleted_objects:
            services.supplier_product_delete(supplier_product=supplier_product)
        return None


@admin.register(SupplierProduct)
class SupplierProductAdmin(SpreadsheetAdmin):
    resource_classes = [SupplierProductResource]
    form = SupplierProductForm
    list_display = [
        "supplier",
        "product_sku",
        "product_name",
        "supplier_sku",
        "unit_cost",
        "minimum_order_quantity",
        "case_pack",
        "lead_time",
        "is_preferred",
    ]
    list_select_related = ["supplier", "product"]
    list_filter = ["is_preferred", ("supplier", admin.RelatedOnlyFieldListFilter), "supplier__currency"]
    search_fields = ["supplier__name", "product__sku", "product__name", "supplier_sku"]
    search_help_text = _("Supplier name, product SKU or name, or supplier SKU.")
    autocomplete_fields = ["supplier", "product"]
    ordering = ["supplier__name", "product__sku_sort"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description=_("SKU"), ordering="product__sku_sort")
    def product_sku(self, supplier_product: SupplierProduct) -> str:
        return supplier_product.product.sku

    @admin.display(description=_("product"), ordering="product__name")
    def product_name(self, supplier_product: SupplierProduct) -> str:
        return supplier_product.product.name

    @admin.display(description=_("lead time (days)"))
    def lead_time(self, supplier_product: SupplierProduct) -> int:
        return supplier_product.effective_lead_time_days

    def save_model(self, request, obj, form, change):
        _supplier_product_write(obj, change=change)

    def delete_model(self, request, obj):
        services.supplier_product_delete(supplier_product=obj)

    def delete_queryset(self, request, queryset):
        for supplier_product in queryset:
            services.supplier_product_delete(supplier_product=supplier_product)


# The planning, purchase order and receipt admins live in their own modules; importing them registers them.
from purchasing import admin_orders, admin_planning, admin_receipts  # noqa: E402, F401
