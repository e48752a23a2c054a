"""Admin of inventory master data, edited through inventory.services, with spreadsheet import/export.

The stock models' admin is in inventory/admin_stock.py, imported at the end of this module.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import CodesAdminForm, ModelAdmin, ServiceErrorsAdminMixin, SpreadsheetAdmin, TabularInline
from core.errors import DomainError
from core.models import adopt_saved
from inventory import services
from inventory.models import PRODUCT_FIELDS, Bin, BundleComponent, Product, Warehouse
from inventory.resources import BinResource, BundleComponentResource, ProductResource


def _form_data(form, names) -> dict:
    return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}


class ProductForm(CodesAdminForm):
    code_fields = services.PRODUCT_CODE_FIELDS


class WarehouseForm(CodesAdminForm):
    code_fields = services.WAREHOUSE_CODE_FIELDS


class BinForm(CodesAdminForm):
    code_fields = services.BIN_CODE_FIELDS


# --- Products and bundles ----------------------------------------------------------------------------------


class BundleComponentInline(TabularInline):
    model = BundleComponent
    fk_name = "bundle"
    fields = ["component", "quantity"]
    autocomplete_fields = ["component"]
    extra = 0
    verbose_name = _("component")
    verbose_name_plural = _("components (for bundles)")


@admin.register(Product)
class ProductAdmin(SpreadsheetAdmin):
    resource_classes = [ProductResource]
    form = ProductForm
    list_display = [
        "sku_in_natural_order",
        "name",
        "barcode",
        "hs_code",
        "weight_g",
        "cost_price",
        "cost_currency",
        "is_bundle",
        "is_active",
    ]
    list_display_links = ["sku_in_natural_order", "name"]
    list_filter = ["is_active", "is_bundle", "contains_battery", "contains_liquid", "origin_country"]
    search_fields = ["sku", "name", "barcode", "declared_name_en", "declared_name_zh"]
    search_help_text = _("SKU, name, barcode or declared name.")
    # sku_sort pads digit runs, so SKU-2 comes before SKU-10 (natural order).
    ordering = ["sku_sort"]
    inlines = [BundleComponentInline]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["sku", "name", "barcode", "is_bundle", "is_active"]}),
        (_("Weight and size"), {"fields": ["weight_g", ("length_mm", "width_mm", "height_mm")]}),
        (
            _("Customs"),
            {
                "fields": [
                    "declared_name_en",
                    "declared_name_zh",
                    "hs_code",
                    ("declared_value", "declared_currency"),
                    "origin_country",
                    ("contains_battery", "contains_liquid"),
                ]
            },
        ),
        (_("Cost"), {"fields": [("cost_price", "cost_currency")]}),
        (_("History"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description=_("SKU"), ordering="sku_sort")
    def sku_in_natural_order(self, product: Product) -> str:
        return product.sku

    def save_model(self, request, obj, form, change):
        # The product and its components are written together in save_related, by one service call, so a
        # product can stop being a bundle in the same save that removes its components.
        pass

    def save_related(self, request, form, formsets, change):
        product = form.instance
        components = None
        for formset in formsets:
            if formset.model is BundleComponent and formset.has_changed():
                components = [
                    (item.cleaned_data["component"], item.cleaned_data["quantity"])
                    for item in formset.forms
                    if item.cleaned_data and not item.cleaned_data.get("DELETE")
                ]
        for formset in formsets:
            # Read by the admin's change message; the service, not formset.save(), wrote the lines.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        data = _form_data(form, PRODUCT_FIELDS)
        if change:
            services.product_update(product=product, data=data, components=components)
        else:
            adopt_saved(product, services.product_create(data=data, components=components))

    def delete_model(self, request, obj):
        services.product_delete(product=obj)

    def delete_queryset(self, request, queryset):
        for product in queryset:
            services.product_delete(product=product)


@admin.register(BundleComponent)
class BundleComponentAdmin(SpreadsheetAdmin):
    resource_classes = [BundleComponentResource]
    list_display = ["bundle", "component", "quantity"]
    list_select_related = ["bundle", "component"]
    list_filter = ["bundle__is_active"]
    search_fields = ["bundle__sku", "bundle__name", "component__sku", "component__name"]
    search_help_text = _("Bundle or component SKU or name.")
    autocomplete_fields = ["bundle", "component"]
    ordering = ["bundle__sku_sort", "id"]

    def get_readonly_fields(self, request, obj=None):
        # A line is its bundle and component; to change them, delete the line and add another.
        return ["bundle", "component"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        # The service sets a bundle's whole list (and its rules: no self, no nested bundles, no repeats), so
        # one line is written as the bundle's list with that line added or changed.
        lines = list(BundleComponent.objects.filter(bundle=obj.bundle).select_related("component").order_by("id"))
        components = [(line.component, obj.quantity if line.pk == obj.pk else line.quantity) for line in lines]
        if not change:
            components.append((obj.component, obj.quantity))
        saved = services.bundle_components_set(bundle=obj.bundle, components=components)
        adopt_saved(obj, next(line for line in saved if line.component_id == obj.component_id))

    def delete_model(self, request, obj):
        self.delete_queryset(request, BundleComponent.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        doomed = set(queryset.values_list("pk", flat=True))
        bundles = Product.objects.filter(components__pk__in=doomed).distinct()
        for bundle in bundles:
            kept = [
                (line.component, line.quantity)
                for line in bundle.components.select_related("component").order_by("id")
                if line.pk not in doomed
            ]
            services.bundle_components_set(bundle=bundle, components=kept)


# --- Warehouses and bins -----------------------------------------------------------------------------------


@admin.register(Warehouse)
class WarehouseAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = WarehouseForm
    list_display = ["code", "name", "kind", "country", "city", "priority", "is_active"]
    list_filter = ["kind", "country", "is_active"]
    search_fields = ["code", "name", "city"]
    ordering = ["priority", "code"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        data = _form_data(form, services.WAREHOUSE_FIELDS)
        if change:
            services.warehouse_update(warehouse=obj, data=data)
        else:
            adopt_saved(obj, services.warehouse_create(data=data))

    def delete_model(self, request, obj):
        services.warehouse_delete(warehouse=obj)

    def delete_queryset(self, request, queryset):
        for warehouse in queryset:
            services.warehouse_delete(warehouse=warehouse)


class BinGenerateForm(forms.Form):
    """A block of bins: zones × aisles × racks × levels, all ranges inclusive."""

    warehouse = forms.ModelChoiceField(
        label=_("Warehouse"), queryset=Warehouse.objects.filter(is_active=True).order_by("priority", "code")
    )
    zones = forms.CharField(
        label=_("Zones"), help_text=_("One or more zones, separated by commas or spaces, e.g. A, B.")
    )
    aisle_from = forms.IntegerField(label=_("Aisle from"), min_value=0, initial=1)
    aisle_to = forms.IntegerField(label=_("Aisle to"), min_value=0, initial=1)
    rack_from = forms.IntegerField(label=_("Rack from"), min_value=0, initial=1)
    rack_to = forms.IntegerField(label=_("Rack to"), min_value=0, initial=1)
    level_from = forms.IntegerField(label=_("Level from"), min_value=0, initial=1)
    level_to = forms.IntegerField(label=_("Level to"), min_value=0, initial=1)
    kind = forms.ChoiceField(label=_("Kind"), choices=Bin.Kind.choices, initial=Bin.Kind.PICK)
    width = forms.IntegerField(
        label=_("Width"), min_value=1, max_value=4, initial=2, help_text=_("Digits of each number: 2 → A-01-02-03.")
    )
    is_sellable = forms.TypedChoiceField(
        label=_("Is sellable"),
        choices=[
            ("", _("As the kind says (pick and bulk are sellable)")),
            ("yes", _("Sellable")),
            ("no", _("Not sellable")),
        ],
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )
    skip_existing = forms.BooleanField(
        label=_("Skip existing"),
        required=False,
        help_text=_("Leave codes that exist already as they are, instead of refusing the block."),
    )

    # Where each service error field is shown on this form.
    SERVICE_FIELDS = {"aisles": "aisle_from", "racks": "rack_from", "levels": "level_from", "code": None}

    def clean_zones(self) -> list[str]:
        return [zone for zone in self.cleaned_data["zones"].replace(",", " ").split() if zone]

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "warehouse": data["warehouse"],
            "zones": data["zones"],
            "aisles": (data["aisle_from"], data["aisle_to"]),
            "racks": (data["rack_from"], data["rack_to"]),
            "levels": (data["level_from"], data["level_to"]),
            "kind": data["kind"],
            "width": data["width"],
            "is_sellable": data["is_sellable"],
            "skip_existing": data["skip_existing"],
        }

    def add_service_errors(self, error: DomainError) -> None:
        self.add_error(None, error.message)
        for detail in error.errors[:10]:
            field = (detail.field or "").split("[", 1)[0]
            field = self.SERVICE_FIELDS.get(field, field)
            if field in self.fields:
                self.add_error(field, detail.message)


@admin.register(Bin)
class BinAdmin(SpreadsheetAdmin):
    resource_classes = [BinResource]
    form = BinForm
    change_list_template = "admin/inventory/bin/change_list.html"
    list_display = ["code_in_natural_order", "warehouse", "zone", "kind", "is_sellable", "pick_sequence", "is_active"]
    list_display_links = ["code_in_natural_order"]
    list_select_related = ["warehouse"]
    list_filter = ["warehouse", "kind", "is_sellable", "is_active"]
    search_fields = ["code", "zone", "warehouse__code"]
    search_help_text = _("Bin code, zone or warehouse code.")
    autocomplete_fields = ["warehouse"]
    ordering = ["warehouse__priority", "warehouse__code", "code_sort"]
    readonly_fields = ["created_at", "updated_at"]

    @admin.display(description=_("code"), ordering="code_sort")
    def code_in_natural_order(self, bin: Bin) -> str:
        return bin.code

    def get_readonly_fields(self, request, obj=None):
        # Stock in a bin does not follow it to another warehouse (inventory.services.bin_update refuses it).
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "warehouse"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        data = _form_data(form, services.BIN_FIELDS)
        if change:
            services.bin_update(bin=obj, data=data, user=request.user)
        else:
            adopt_saved(obj, services.bin_create(data=data))

    def delete_model(self, request, obj):
        services.bin_delete(bin=obj)

    def delete_queryset(self, request, queryset):
        for bin in queryset:
            services.bin_delete(bin=bin)

    def get_urls(self):
        generate = path(
            "generate/",
            self.admin_site.admin_view(self.generate_view),
            name="inventory_bin_generate",
        )
        return [generate, *super().get_urls()]

    def generate_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BinGenerateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                bins = services.bin_generate(**form.service_arguments())
            except DomainError as error:
                form.add_service_errors(error)
            else:
                warehouse = form.cleaned_data["warehouse"]
                if bins:
                    message = ngettext(
                        "Created %(count)s bin in %(warehouse)s: %(first)s … %(last)s.",
                        "Created %(count)s bins in %(warehouse)s: %(first)s … %(last)s.",
                        len(bins),
                    ) % {"count": len(bins), "warehouse": warehouse.code, "first": bins[0].code, "last": bins[-1].code}
                else:
                    message = gettext("No new bins: every code of that block exists in %(warehouse)s already.") % {
                        "warehouse": warehouse.code
                    }
                self.message_user(request, message, level=messages.SUCCESS)
                changelist = reverse("admin:inventory_bin_changelist", current_app=self.admin_site.name)
                return HttpResponseRedirect(f"{changelist}?{urlencode({'warehouse__id__exact': warehouse.pk})}")
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Generate bins"),
            "opts": self.opts,
            "form": form,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/inventory/bin/generate.html", context)


# --- Stock ---------------------------------------------------------------------------------------------------

# Stock levels, balances, the ledger, reservations, transfers and counts are registered by admin_stock
# (read-only lists and status actions that call the stock services); importing it here is what registers them.
from inventory import admin_stock  # noqa: E402, F401
