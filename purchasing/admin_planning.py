"""Admin of reorder policies, promotions and purchase suggestions (with their derivation).

Policies and promotions are saved through purchasing.policies: its rules run in the forms' clean, so each problem
shows on its field in the service's words. Suggestions are written only by the engine (purchasing.suggestions):
here a buyer reads them, why each number is what it is, recomputes them, dismisses them and exports them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import F
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from core.admin import ModelAdmin, ServiceErrorsAdminMixin, SpreadsheetAdmin
from core.errors import Conflict, DomainError, ValidationFailed, labelled, words_join
from core.models import adopt_saved
from core.resources import SpreadsheetResource
from core.spreadsheet import escape_formula
from inventory.models import Warehouse
from purchasing import policies, selectors
from purchasing.derivation import (
    SUGGESTION_EXPORT_COLUMNS,
    number_text,
    suggestion_derivation,
    suggestion_export_row,
    suggestion_position,
)
from purchasing.models import Promotion, ReorderPolicy, Suggestion


def _field_root(path: str | None) -> str | None:
    """``windows`` for ``windows[1].weight``: the form field a service's error belongs to."""
    if not path:
        return None
    return path.split("[", 1)[0].split(".", 1)[0]


def form_errors_add(form: forms.Form, error: DomainError) -> None:
    """Each problem of a service's refusal on its form field (a part of a field, ``windows[1].weight``, is named in
    the message); problems of no field of the form go above the form."""
    for detail in error.errors:
        root = _field_root(detail.field)
        if root in form.fields:
            form.add_error(root, detail.message if detail.field == root else labelled(detail.field, detail.message))
        else:
            form.add_error(None, labelled(detail.field, detail.message))
    if not error.errors:
        form.add_error(None, error.message)


# --- Reorder policies -----------------------------------------------------------------------------------------


class ReorderPolicyForm(forms.ModelForm):
    """Checks the policy with purchasing.policies' rules; the model's own validation of those fields is left out,
    so a problem is said once, in the service's words. The admin supplies the model and the fields."""

    def _get_validation_exclusions(self):
        exclusions = super()._get_validation_exclusions()
        exclusions.update(policies.POLICY_FIELDS)
        return exclusions

    def clean(self):
        cleaned = super().clean()
        fields = {name: cleaned[name] for name in policies.POLICY_FIELDS if name in cleaned}
        try:
            cleaned.update(policies.reorder_policy_check(policy=self.instance, fields=fields))
        except ValidationFailed as error:
            form_errors_add(self, error)
            return cleaned
        if "product" in cleaned and "warehouse" in cleaned:
            try:
                policies.reorder_policy_scope_check(
                    product=cleaned["product"], warehouse=cleaned["warehouse"], policy=self.instance
                )
            except Conflict as error:
                form_errors_add(self, error)
        return cleaned


def windows_text(windows: Any) -> str:
    """The sales windows as a buyer reads them: "7d×0.5 · 14d×0.3 · 30d×0.2"."""
    parts = []
    for window in windows if isinstance(windows, list) else []:
        if isinstance(window, dict):
            # Translators: one sales window in a list: 7 days weighing 0.5, "7d×0.5".
            parts.append(
                gettext("%(days)sd×%(weight)s")
                % {"days": window.get("days", "?"), "weight": number_text(window.get("weight"))}
            )
    return " · ".join(parts) or "—"


@admin.register(ReorderPolicy)
class ReorderPolicyAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = ReorderPolicyForm
    list_display = ["name", "scope", "windows_list", "cover_legs", "day_cap_multiple", "quantities", "is_active"]
    list_select_related = ["product", "warehouse", "replenish_from"]
    list_filter = ["is_active", "warehouse", "transit_mode"]
    search_fields = ["name", "^product__sku"]
    search_help_text = _("Policy name, or the start of a product SKU.")
    # The global policy first, then the overrides by SKU and warehouse (as purchasing.selectors lists them).
    ordering = [F("product__sku_sort").asc(nulls_first=True), F("warehouse__code").asc(nulls_first=True), "id"]
    autocomplete_fields = ["product"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "product", "warehouse", "replenish_from", "is_active"]}),
        (
            _("Sales windows"),
            {"fields": ["windows", "leave_out_stockout_days", "leave_out_promotion_days", "day_cap_multiple"]},
        ),
        (
            _("Cover"),
            {
                "fields": [
                    "production_days",
                    "qc_days",
                    "transit_mode",
                    "transit_days",
                    "safety_days",
                    "review_period_days",
                ]
            },
        ),
        (_("Quantities"), {"fields": ["minimum_order_quantity", "case_pack"]}),
        (_("Times"), {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return selectors.reorder_policy_list()

    @admin.display(description=_("scope"))
    def scope(self, policy: ReorderPolicy) -> str:
        text = policies.policy_scope_text(product=policy.product, warehouse=policy.warehouse)
        if policy.replenish_from_id is not None:
            # Translators: a policy's scope, then the warehouse it is replenished from: "every product in US1 ← CN1".
            text = gettext("%(scope)s ← %(source)s") % {"scope": text, "source": policy.replenish_from.code}
        return text

    @admin.display(description=_("sales windows"))
    def windows_list(self, policy: ReorderPolicy) -> str:
        return windows_text(policy.windows)

    @admin.display(description=_("lead time and cover (days)"))
    def cover_legs(self, policy: ReorderPolicy) -> str:
        return gettext(
            "production %(production)s + QC %(qc)s + transit %(transit)s (%(mode)s) · safety %(safety)s · review "
            "%(review)s"
        ) % {
            "production": policy.production_days,
            "qc": policy.qc_days,
            "transit": policy.transit_days,
            "mode": policy.get_transit_mode_display(),
            "safety": policy.safety_days,
            "review": policy.review_period_days,
        }

    @admin.display(description=_("MOQ / case pack"))
    def quantities(self, policy: ReorderPolicy) -> str:
        supplier = gettext("the supplier's")
        moq = policy.minimum_order_quantity or supplier
        case_pack = policy.case_pack or supplier
        return f"{moq} / {case_pack}"

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.product_id is None and obj.warehouse_id is None:
            return False  # the global policy: what every product falls back to
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in policies.POLICY_FIELDS if name in form.cleaned_data}
        if change:
            policies.reorder_policy_update(policy=obj, **data)
        else:
            adopt_saved(obj, policies.reorder_policy_create(**data))

    def delete_model(self, request, obj):
        policies.reorder_policy_delete(policy=obj)

    def delete_queryset(self, request, queryset):
        for policy in queryset.order_by("pk"):
            try:
                policies.reorder_policy_delete(policy=policy)
            except DomainError as error:
                self.message_user(request, error.message, level=messages.ERROR)


# --- Promotions ---------------------------------------------------------------------------------------------------


class PromotionForm(forms.ModelForm):
    """Checks the dates with purchasing.policies' rule (the end on its field, in its words)."""

    def _get_validation_exclusions(self):
        exclusions = super()._get_validation_exclusions()
        exclusions.update({"starts_on", "ends_on"})
        return exclusions

    def clean(self):
        cleaned = super().clean()
        fields = {name: cleaned[name] for name in policies.PROMOTION_FIELDS if name in cleaned}
        try:
            cleaned.update(policies.promotion_check(promotion=self.instance, fields=fields))
        except ValidationFailed as error:
            form_errors_add(self, error)
        return cleaned


@admin.register(Promotion)
class PromotionAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = PromotionForm
    list_display = ["name", "product_sku", "starts_on", "ends_on"]
    list_select_related = ["product"]
    search_fields = ["name", "^product__sku"]
    search_help_text = _("Promotion name, or the start of a product SKU.")
    autocomplete_fields = ["product"]
    date_hierarchy = "starts_on"
    readonly_fields = ["created_at", "updated_at"]
    fields = ["name", "product", "starts_on", "ends_on", "created_at", "updated_at"]

    @admin.display(description=_("SKU"), ordering="product__sku_sort")
    def product_sku(self, promotion: Promotion) -> str:
        return promotion.product.sku if promotion.product_id else gettext("every product")

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in policies.PROMOTION_FIELDS if name in form.cleaned_data}
        if change:
            policies.promotion_update(promotion=obj, **data)
        else:
            adopt_saved(obj, policies.promotion_create(**data))

    def delete_model(self, request, obj):
        policies.promotion_delete(promotion=obj)

    def delete_queryset(self, request, queryset):
        for promotion in queryset:
            policies.promotion_delete(promotion=promotion)


# --- Suggestions --------------------------------------------------------------------------------------------------


class _SuggestionResourceBase(SpreadsheetResource):
    """The suggestions as the API's export writes them: purchasing.derivation's columns and values, derivation
    included, so both exports say the same. Export only."""

    def get_queryset(self):
        return selectors.suggestion_list()

    def export_field(self, field, instance, **kwargs):
        # One row's values are worked out once (the derivation is most of the work), then read column by column.
        cached = getattr(self, "_row", None)
        if cached is None or cached[0] is not instance:
            cached = (instance, dict(zip(SUGGESTION_EXPORT_COLUMNS, suggestion_export_row(instance), strict=True)))
            self._row = cached
        return escape_formula(cached[1][field.column_name])


class _SuggestionResourceMeta:
    model = Suggestion
    name = _("Purchase suggestions")
    fields = SUGGESTION_EXPORT_COLUMNS
    export_order = SUGGESTION_EXPORT_COLUMNS


# A class with one declared column per export column (django-import-export collects declared Field attributes).
SuggestionResource = type(
    "SuggestionResource",
    (_SuggestionResourceBase,),
    {
        "__module__": __name__,
        "__doc__": _SuggestionResourceBase.__doc__,
        "Meta": _SuggestionResourceMeta,
        **{column: Field(column_name=column, readonly=True) for column in SUGGESTION_EXPORT_COLUMNS},
    },
)


def derivation_html(suggestion: Suggestion) -> str:
    """The derivation as an ordered list, one step per item."""
    return format_html(
        '<ol class="suggestion-derivation" style="list-style: decimal; padding-left: 1.5em">{}</ol>',
        format_html_join("", "<li>{}</li>", ((line,) for line in suggestion_derivation(suggestion))),
    )


def windows_html(windows: Any) -> str:
    """The stored sales windows as a table: days, weight, units, days counted, days left out, average."""
    rows = []
    for window in windows if isinstance(windows, list) else []:
        if not isinstance(window, dict):
            continue
        left_out = window.get("days_left_out")
        if isinstance(left_out, dict):
            stockout, promotion = left_out.get("stockout", 0), left_out.get("promotion", 0)
        else:
            stockout, promotion = left_out or 0, 0
        rows.append(
            (
                window.get("days", ""),
                number_text(window.get("weight")),
                number_text(window.get("units")),
                window.get("days_counted", ""),
                stockout,
                promotion,
                window.get("days_capped", 0),
                number_text(window.get("average")),
            )
        )
    if not rows:
        return "—"
    headers = [
        gettext("days"),
        gettext("weight"),
        gettext("units"),
        gettext("days counted"),
        gettext("stock-out days"),
        gettext("promotion days"),
        gettext("days capped"),
        gettext("average"),
    ]
    return format_html(
        '<table class="suggestion-windows"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        format_html_join("", "<th>{}</th>", ((header,) for header in headers)),
        format_html_join("", "<tr>" + "<td>{}</td>" * len(headers) + "</tr>", rows),
    )


@admin.register(Suggestion)
class SuggestionAdmin(SpreadsheetAdmin):
    """Read only: the engine writes suggestions; the buyer reads, recomputes, dismisses and exports them."""

    resource_classes = [SuggestionResource]
    list_display = [
        "product_sku",
        "warehouse_code",
        "kind",
        "supplier_name",
        "ads_text",
        "cover_days",
        "position",
        "quantity",
        "order_by",
        "urgency_label",
        "status",
    ]
    list_select_related = ["product", "warehouse", "supplier_product__supplier"]
    list_filter = [
        ("supplier_product__supplier", admin.RelatedOnlyFieldListFilter),
        "warehouse",
        "urgency",
        "kind",
        "status",
    ]
    search_fields = ["^product__sku"]
    search_help_text = _("The start of a product SKU.")
    show_full_result_count = False
    actions = ["order", "recompute", "dismiss"]
    readonly_fields = ["derivation", "windows_table", "position"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "product",
                    "warehouse",
                    "kind",
                    "supplier_product",
                    "source_warehouse",
                    "policy",
                    "quantity",
                    "order_by",
                    "urgency",
                    "status",
                    "computed_at",
                ]
            },
        ),
        (_("Why"), {"fields": ["derivation"]}),
        (_("Sales"), {"fields": ["windows_table", "ads"]}),
        (
            _("Cover"),
            {
                "fields": [
                    "production_days",
                    "qc_days",
                    "transit_days",
                    "lead_time_days",
                    "safety_days",
                    "review_period_days",
                    "cover_days",
                    "demand",
                ]
            },
        ),
        (
            _("Stock position"),
            {
                "fields": [
                    "available",
                    "incoming_purchase",
                    "incoming_transfer",
                    "backorders",
                    "position",
                    "days_of_cover",
                ]
            },
        ),
        (_("Quantity"), {"fields": ["net_need", "minimum_order_quantity", "case_pack"]}),
        (_("Ordered as"), {"fields": ["purchase_order_line", "transfer"]}),
    ]

    def get_queryset(self, request):
        return selectors.suggestion_list()

    def get_ordering(self, request):
        # Most urgent first, as the API lists them; urgency_rank is the selector's annotation (which the admin's
        # check of ``ordering`` would not know, hence here).
        return [F("urgency_rank").asc(), F("order_by").asc(nulls_last=True), "product__sku_sort", "warehouse__code"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_recompute_permission(self, request) -> bool:
        return request.user.has_perms(["purchasing.add_suggestion", "purchasing.change_suggestion"])

    def has_dismiss_permission(self, request) -> bool:
        return request.user.has_perm("purchasing.change_suggestion")

    def has_order_permission(self, request) -> bool:
        return request.user.has_perms(["purchasing.add_purchaseorder", "purchasing.change_suggestion"])

    @admin.display(description=_("SKU"), ordering="product__sku_sort")
    def product_sku(self, suggestion: Suggestion) -> str:
        return suggestion.product.sku

    @admin.display(description=_("warehouse"), ordering="warehouse__code")
    def warehouse_code(self, suggestion: Suggestion) -> str:
        return suggestion.warehouse.code

    @admin.display(description=_("supplier"), ordering="supplier_product__supplier__name")
    def supplier_name(self, suggestion: Suggestion) -> str:
        supplier_product = suggestion.supplier_product
        return supplier_product.supplier.name if supplier_product else "—"

    @admin.display(description=_("ADS"), ordering="ads")
    def ads_text(self, suggestion: Suggestion) -> str:
        return number_text(suggestion.ads)

    @admin.display(description=_("stock position"))
    def position(self, suggestion: Suggestion) -> int:
        return suggestion_position(suggestion)

    @admin.display(description=_("urgency"), ordering="urgency_rank")
    def urgency_label(self, suggestion: Suggestion) -> str:
        return suggestion.get_urgency_display()

    @admin.display(description=_("how it was worked out"))
    def derivation(self, suggestion: Suggestion) -> str:
        return derivation_html(suggestion)

    @admin.display(description=_("sales windows"))
    def windows_table(self, suggestion: Suggestion) -> str:
        return windows_html(suggestion.windows)

    @admin.action(description=_("Create purchase orders (and transfers)"), permissions=["order"])
    def order(self, request, queryset):
        """Draft purchase orders, one per supplier and warehouse, and draft transfers for the suggestions that are
        transfers; what could not be ordered is listed with why."""
        from purchasing.orders import purchase_orders_from_suggestions

        try:
            made = purchase_orders_from_suggestions(suggestions=list(queryset.order_by("pk")), user=request.user)
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return
        documents = [order.number for order in made.purchase_orders] + [t.number for t in made.transfers]
        if documents:
            self.message_user(
                request,
                _("Drafts made: %(documents)s. Check and submit them under Purchase orders (and Transfers).")
                % {"documents": words_join(documents)},
                level=messages.SUCCESS,
            )
        for skipped in made.skipped:
            self.message_user(
                request,
                _("%(sku)s in %(warehouse)s not ordered: %(reason)s")
                % {"sku": skipped.sku, "warehouse": skipped.warehouse, "reason": skipped.reason},
                level=messages.WARNING,
            )

    @admin.action(description=_("Recompute suggestions (of the selected rows' warehouses)"), permissions=["recompute"])
    def recompute(self, request, queryset):
        from purchasing.suggestions import suggestions_compute

        warehouse_ids = sorted(set(queryset.order_by().values_list("warehouse_id", flat=True)))
        codes = list(Warehouse.objects.filter(pk__in=warehouse_ids).order_by("code").values_list("code", flat=True))
        written = suggestions_compute(warehouses=warehouse_ids)
        self.message_user(
            request,
            ngettext(
                "%(count)s suggestion recomputed for %(warehouses)s.",
                "%(count)s suggestions recomputed for %(warehouses)s.",
                written,
            )
            % {"count": written, "warehouses": words_join(codes)},
            level=messages.SUCCESS,
        )

    @admin.action(description=_("Dismiss"), permissions=["dismiss"])
    def dismiss(self, request, queryset):
        dismissed = 0
        for suggestion in queryset.order_by("pk"):
            try:
                policies.suggestion_dismiss(suggestion=suggestion)
            except DomainError as error:
                self.message_user(request, error.message, level=messages.ERROR)
            else:
                dismissed += 1
        if dismissed:
            self.message_user(
                request,
                ngettext("%(count)s suggestion dismissed.", "%(count)s suggestions dismissed.", dismissed)
                % {"count": dismissed},
                level=messages.SUCCESS,
            )
