"""Stores, SKU mappings, sync runs and rejected orders in the back office, and the stores' health page.

Credentials are typed in once and never shown again: the form has a write-only field that replaces them when
filled. "Sync now" queues runs the way the API does.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from channels import services
from channels.models import Channel, RejectedOrder, SkuMapping, Store, SyncRun
from channels.resources import SkuMappingResource
from channels.selectors import store_health
from core.admin import ModelAdmin, ReadOnlyAdmin, ServiceErrorsAdminMixin, SpreadsheetAdmin, json_object_clean
from core.errors import DomainError
from core.models import adopt_saved
from core.resources import detail_line

STORE_FIELDS = [
    "channel",
    "name",
    "marketplace_id",
    "api_base_url",
    "auth_url",
    "options",
    "is_active",
    "sync_interval_minutes",
    "import_from",
    "warehouses",
    "split_orders",
    "tracking_to_store",
    "stock_buffer",
    "stock_percent",
    "push_stock",
]


class StoreForm(forms.ModelForm):
    # A URL typed without its scheme is read as https (what every platform's API is), as Django 6 will.
    api_base_url = forms.URLField(
        label=_("API base URL"),
        required=False,
        assume_scheme="https",
        help_text=_("Empty: the platform's production API."),
    )
    auth_url = forms.URLField(
        label=_("token URL"), required=False, assume_scheme="https", help_text=_("Empty: the platform's own.")
    )
    credentials = forms.CharField(
        label=_("credentials"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text=_(
            'A JSON object with the names the platform uses, e.g. {"access_token": "..."}. Never shown again; '
            "leave empty to keep the stored ones."
        ),
    )

    class Meta:
        model = Store
        fields = STORE_FIELDS

    def clean_credentials(self):
        return json_object_clean(self.cleaned_data.get("credentials", ""), '{"access_token": "..."}')


class OrdersImportForm(forms.Form):
    file = forms.FileField(
        label=_("file"),
        help_text=_("CSV or XLSX, one row per order line; the columns are described in docs/orders.md."),
    )


@admin.register(Store)
class StoreAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = StoreForm
    list_display = [
        "name",
        "channel",
        "import_link",
        "is_active",
        "orders_synced_to",
        "last_success_at",
        "failures_in_row",
        "credentials_names",
    ]
    list_filter = ["channel", "is_active"]
    search_fields = ["name"]
    filter_horizontal = ["warehouses"]
    readonly_fields = [
        "credentials_names",
        "orders_synced_to",
        "last_success_at",
        "last_failure_at",
        "failures_in_row",
        "last_error",
        "credentials_expire_at",
    ]
    actions = ["sync_orders", "push_stock_now"]
    fieldsets = [
        (None, {"fields": ["channel", "name", "marketplace_id", "is_active"]}),
        (_("Connection"), {"fields": ["api_base_url", "auth_url", "credentials", "credentials_names", "options"]}),
        (_("Orders"), {"fields": ["import_from", "sync_interval_minutes", "orders_synced_to", "tracking_to_store"]}),
        (_("Stock"), {"fields": ["warehouses", "split_orders", "stock_buffer", "stock_percent", "push_stock"]}),
        (
            _("Health"),
            {
                "fields": [
                    "last_success_at",
                    "last_failure_at",
                    "failures_in_row",
                    "last_error",
                    "credentials_expire_at",
                ]
            },
        ),
    ]

    @admin.display(description=_("spreadsheet"))
    def import_link(self, store: Store) -> str:
        url = reverse("admin:channels_store_import_orders", args=[store.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Import orders"))

    @admin.display(description=_("credentials"))
    def credentials_names(self, store: Store) -> str:
        names = services.store_credential_names_set(store) if store.pk else []
        return ", ".join(names) or "—"

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "channel"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in STORE_FIELDS if name in form.cleaned_data}
        warehouses = data.pop("warehouses", [])
        credentials = form.cleaned_data.get("credentials")
        if change:
            data.pop("channel", None)
            saved = services.store_update(store=obj, credentials=credentials, warehouses=warehouses, **data)
        else:
            saved = services.store_create(credentials=credentials or {}, warehouses=warehouses, **data)
        adopt_saved(obj, saved)

    def save_related(self, request, form, formsets, change):
        # The service set the warehouses; the form's own save of them would do it again.
        form.save_m2m = lambda: None
        super().save_related(request, form, formsets, change)

    def _queue(self, request, queryset, kind: str) -> None:
        queued = []
        for store in queryset.order_by("name"):
            try:
                run, _created = services.sync_request(store=store, kind=kind, user=request.user)
            except DomainError as error:
                self.message_user(request, f"{store.name}: {error.message}", level=messages.WARNING)
            else:
                queued.append(f"{store.name} (#{run.pk})")
        if queued:
            self.message_user(
                request, gettext("Queued: %(runs)s.") % {"runs": ", ".join(queued)}, level=messages.SUCCESS
            )

    @admin.action(description=_("Sync orders now"), permissions=["change"])
    def sync_orders(self, request, queryset):
        self._queue(request, queryset, SyncRun.Kind.ORDERS)

    @admin.action(description=_("Push stock now"), permissions=["change"])
    def push_stock_now(self, request, queryset):
        self._queue(request, queryset, SyncRun.Kind.STOCK)

    def get_urls(self):
        health = path("health/", self.admin_site.admin_view(self.health_view), name="channels_store_health")
        import_orders = path(
            "<int:store_id>/import-orders/",
            self.admin_site.admin_view(self.import_orders_view),
            name="channels_store_import_orders",
        )
        template = path(
            "import-orders/template.csv",
            self.admin_site.admin_view(self.import_orders_template_view),
            name="channels_store_import_orders_template",
        )
        return [health, import_orders, template, *super().get_urls()]

    def import_orders_template_view(self, request):
        """The order sheet's template, headers in the user's language (docs/orders.md)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        from orders.sheet_import import orders_template_csv

        response = HttpResponse(orders_template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="orders-template.csv"'
        return response

    def import_orders_view(self, request, store_id: int):
        """A spreadsheet of orders into one store (docs/orders.md): all or nothing, every problem listed."""
        if not request.user.has_perms(["channels.view_store", "orders.add_order", "orders.change_order"]):
            raise PermissionDenied
        store = self.get_object(request, str(store_id))
        if store is None:
            raise Http404
        form = OrdersImportForm(request.POST or None, request.FILES or None)
        problems: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                result = services.store_orders_import(store=store, source=form.cleaned_data["file"], user=request.user)
            except DomainError as error:
                problems = [error.message, *(detail_line(detail) for detail in error.errors)]
            else:
                counts = result.counts()
                self.message_user(
                    request,
                    gettext("%(created)s orders created, %(updated)s updated, %(unchanged)s unchanged, %(held)s held.")
                    % counts,
                    level=messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:orders_order_changelist") + f"?{urlencode({'store__id__exact': store.pk})}"
                )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import orders into %(store)s") % {"store": store.name},
            "opts": self.opts,
            "store": store,
            "form": form,
            "problems": problems,
        }
        return TemplateResponse(request, "admin/channels/store/import_orders.html", context)

    def health_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Store health"),
            "opts": self.model._meta,
            "health": store_health(),
            "manual": Channel.MANUAL,
        }
        return TemplateResponse(request, "admin/channels/store/health.html", context)


@admin.register(SkuMapping)
class SkuMappingAdmin(SpreadsheetAdmin):
    resource_classes = [SkuMappingResource]
    list_display = [
        "channel_sku",
        "store",
        "product",
        "quantity",
        "is_automatic",
        "push_status",
        "pushed_quantity",
        "pushed_at",
    ]
    list_select_related = ["store", "product"]
    list_filter = ["store", "is_automatic", "push_status"]
    search_fields = ["channel_sku", "product__sku"]
    search_help_text = _("Channel SKU or product SKU.")
    autocomplete_fields = ["product"]
    readonly_fields = ["is_automatic", "pushed_quantity", "pushed_at", "push_status", "push_error"]
    fields = [
        "store",
        "channel_sku",
        "product",
        "quantity",
        "listing_id",
        "listing_variant_id",
        "options",
        *readonly_fields,
    ]
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        mapping, _created = services.sku_mapping_save(
            store=obj.store,
            channel_sku=obj.channel_sku,
            product=obj.product,
            quantity=obj.quantity,
            user=request.user,
            listing_id=obj.listing_id,
            listing_variant_id=obj.listing_variant_id,
            options=obj.options,
        )
        adopt_saved(obj, mapping)

    def delete_model(self, request, obj):
        services.sku_mapping_delete(mapping=obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for mapping in queryset:
            services.sku_mapping_delete(mapping=mapping, user=request.user)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "store", "kind", "status", "trigger", "created_at", "finished_at", "summary", "requests"]
    list_select_related = ["store"]
    list_filter = ["kind", "status", "store"]
    ordering = ["-id"]
    show_full_result_count = False

    @admin.display(description=_("counts"))
    def summary(self, run: SyncRun) -> str:
        return ", ".join(f"{name} {value}" for name, value in run.counts.items() if value) or "—"


@admin.register(RejectedOrder)
class RejectedOrderAdmin(ReadOnlyAdmin):
    list_display = ["channel_order_id", "store", "field", "message", "last_seen_at", "resolved_at"]
    list_select_related = ["store"]
    list_filter = ["store", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["=channel_order_id"]
    ordering = ["-last_seen_at"]
