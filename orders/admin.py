"""Orders in the back office: what each store sent, the lines and their products, holds, shipments and history.

Orders change through the import and the services, so the admin shows them; what a person does here is release
a hold they have dealt with (the action), or, for an unmapped SKU, map the SKU (channels' SKU mappings).
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ModelAdmin, ReadOnlyAdmin, ReadOnlyInline, ServiceErrorsAdminMixin
from core.errors import DomainError, ValidationFailed, labelled
from core.models import adopt_saved
from orders import services
from orders.models import AllocationRule, Blacklist, Order, OrderEvent, OrderHold, OrderLine, OrderShipment
from orders.rules import rule_checked
from orders.selectors import open_holds


def money_text(amount: Decimal | None) -> str:
    """An amount as a person reads it: thousands grouped, whole amounts (yen, won) without decimals, the rest
    with two or as many as the marketplace sent. Never in exponent form (``Decimal("3980").normalize()`` is
    ``3.98E+3``)."""
    if amount is None:
        return "0"
    if amount == amount.to_integral_value():
        return f"{amount:,.0f}"
    places = max(2, -amount.normalize().as_tuple().exponent)
    return f"{amount:,.{places}f}"


class HeldFilter(admin.SimpleListFilter):
    title = _("held")
    parameter_name = "held"

    def lookups(self, request, model_admin):
        return [("yes", _("Held")), ("no", _("Not held"))]

    def queryset(self, request, queryset):
        held = Exists(open_holds().filter(order=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(held)
        if self.value() == "no":
            return queryset.exclude(held)
        return queryset


class HoldReasonFilter(admin.SimpleListFilter):
    title = _("hold reason")
    parameter_name = "hold"

    def lookups(self, request, model_admin):
        return OrderHold.Code.choices

    def queryset(self, request, queryset):
        if self.value() in OrderHold.Code.values:
            return queryset.filter(Exists(open_holds().filter(order=OuterRef("pk"), code=self.value())))
        return queryset


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    select_related = ("product",)
    fields = ["channel_line_id", "channel_sku", "title", "quantity", "unit_price", "product", "product_quantity"]
    readonly_fields = fields


class OrderHoldInline(ReadOnlyInline):
    model = OrderHold
    verbose_name_plural = _("holds")
    select_related = ("released_by",)
    fields = ["code", "detail", "created_at", "released_at", "released_by"]
    readonly_fields = fields


class OrderShipmentInline(ReadOnlyInline):
    model = OrderShipment
    fields = ["carrier", "tracking_number", "shipped_at", "store_status", "store_message", "store_attempts"]
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    verbose_name_plural = _("history")
    select_related = ("user",)
    fields = ["created_at", "kind", "from_status", "to_status", "details", "user"]
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "channel_order_id",
        "store",
        "status",
        "held",
        "ship_name",
        "ship_country",
        "total_with_currency",
        "ordered_at",
        "ship_by",
    ]
    list_select_related = ["store"]
    list_filter = ["status", HeldFilter, HoldReasonFilter, "store", "store__channel"]
    search_fields = ["=channel_order_id", "buyer_name", "ship_name", "=lines__channel_sku"]
    search_help_text = _("Order ID, buyer or recipient name, or a line's exact SKU.")
    ordering = ["-ordered_at", "-id"]
    date_hierarchy = "ordered_at"
    show_full_result_count = False
    inlines = [OrderLineInline, OrderHoldInline, OrderShipmentInline, OrderEventInline]
    actions = ["release_holds", "try_rules"]
    fieldsets = [
        (None, {"fields": ["store", "channel_order_id", "status", "channel_status", "requested_service"]}),
        (_("Buyer"), {"fields": ["buyer_name", "buyer_email", "buyer_note"]}),
        (
            _("Ship to"),
            {
                "fields": [
                    "ship_name",
                    "ship_company",
                    "ship_address1",
                    "ship_address2",
                    "ship_address3",
                    "ship_district",
                    "ship_city",
                    "ship_county",
                    "ship_state",
                    "ship_postcode",
                    "ship_country",
                    "ship_phone",
                ]
            },
        ),
        (_("Money"), {"fields": ["currency", "subtotal", "shipping_total", "tax_total", "discount_total", "total"]}),
        (
            _("Times"),
            {"fields": ["ordered_at", "paid_at", "ship_by", "channel_updated_at", "created_at", "updated_at"]},
        ),
        (_("As received"), {"classes": ["collapse"], "fields": ["raw"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(is_held=Exists(open_holds().filter(order=OuterRef("pk"))))

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("orders.change_orderhold")

    @admin.display(description=_("held"), boolean=True, ordering="is_held")
    def held(self, order: Order) -> bool:
        return order.is_held

    @admin.display(description=_("total"), ordering="total")
    def total_with_currency(self, order: Order) -> str:
        return format_html("{} {}", money_text(order.total), order.currency)

    def has_try_rules_permission(self, request) -> bool:
        return request.user.has_perm("orders.view_allocationrule")

    @admin.action(description=_("Show what the allocation rules would decide"), permissions=["try_rules"])
    def try_rules(self, request, queryset):
        from orders.allocation import PREVIEW_MOST, rules_preview

        orders = list(queryset.order_by("-ordered_at", "-id")[:PREVIEW_MOST])
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("What the allocation rules would decide"),
            "opts": self.opts,
            "rows": [
                {**row, "why": [f"{name}: {step}" for name, step in zip(row["rules"], row["trail"], strict=True)]}
                for row in rules_preview(orders)
            ],
            "shown": len(orders),
        }
        return TemplateResponse(request, "admin/orders/order/rules_preview.html", context)

    @admin.action(
        description=_("Release the holds a person has dealt with (cancelled or changed after shipment)"),
        permissions=["release"],
    )
    def release_holds(self, request, queryset):
        released = 0
        holds = OrderHold.objects.filter(order__in=queryset, released_at__isnull=True).exclude(
            code=OrderHold.Code.UNMAPPED_SKU
        )
        for hold in holds.select_related("order"):
            try:
                services.order_hold_release(hold=hold, user=request.user)
            except DomainError as error:
                self.message_user(request, error.message, level=messages.ERROR)
            else:
                released += 1
        self.message_user(request, gettext("%(count)s holds released.") % {"count": released}, level=messages.SUCCESS)


@admin.register(OrderHold)
class OrderHoldAdmin(ReadOnlyAdmin):
    """Every open hold, by reason: the work list of orders that wait for a person."""

    list_display = ["order", "code", "detail", "created_at", "released_at"]
    list_select_related = ["order"]
    list_filter = ["code", ("released_at", admin.EmptyFieldListFilter)]
    search_fields = ["=order__channel_order_id", "detail"]
    ordering = ["-id"]


class AllocationRuleForm(forms.ModelForm):
    """Conditions and actions are checked as the API checks them; each problem is shown with its place."""

    class Meta:
        model = AllocationRule
        fields = ("name", "priority", "is_active", "match", "conditions", "actions", "stop", "note")

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["conditions"], cleaned["actions"] = rule_checked(
                cleaned.get("conditions") or [], cleaned.get("actions"), cleaned.get("match", "all")
            )
        except ValidationFailed as failed:
            raise forms.ValidationError([labelled(detail.field, detail.message) for detail in failed.errors]) from None
        return cleaned


@admin.register(AllocationRule)
class AllocationRuleAdmin(ModelAdmin):
    form = AllocationRuleForm
    list_display = ("priority", "name", "match", "rule_summary", "stop", "is_active")
    list_display_links = ("name",)
    list_filter = ("is_active",)
    search_fields = ("name",)
    ordering = ("priority", "pk")

    @admin.display(description=_("actions"))
    def rule_summary(self, rule: AllocationRule) -> str:
        return ", ".join(str(ACTION_LABELS.get(action.get("type"), action.get("type"))) for action in rule.actions)


ACTION_LABELS = {
    "set_warehouse": _("set warehouse"),
    "set_method": _("set shipping method"),
    "cheapest_method": _("cheapest method"),
    "fastest_method": _("fastest method"),
    "hold": _("hold"),
    "add_tag": _("add tag"),
}


@admin.register(Blacklist)
class BlacklistAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    list_display = ("kind", "value", "reason", "is_active", "created_at")
    list_filter = ("kind", "is_active")
    search_fields = ("value", "reason")
    fields = ("kind", "value", "reason", "is_active")

    def save_model(self, request, obj, form, change):
        saved = services.blacklist_save(entry=obj if change else None, data=form.cleaned_data)
        adopt_saved(obj, saved)
