"""Orders in the back office: what each store sent, the lines and their products, holds, parcels, shipments and
history, and why allocation chose the warehouse and the method it did.

Orders change through the import and the services (``orders.fulfilment``), so the admin shows them; what a person
does here goes through those services as actions on the order list: allocate, hold, release, cancel, merge, undo
a merge or split, set the warehouse or the method by hand, and merge what the merge suggestions page proposes. For
an unmapped SKU, map the SKU (channels' SKU mappings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import ModelAdmin, ReadOnlyAdmin, ReadOnlyInline, ServiceErrorsAdminMixin, action_form_page
from core.errors import DomainError, ValidationFailed, clauses_join, labelled, words_join
from core.models import adopt_saved
from core.phrases import phrase_text
from inventory.models import Warehouse
from logistics.models import ShippingMethod
from orders import fulfilment, services
from orders.models import (
    AllocationRule,
    Blacklist,
    Order,
    OrderEvent,
    OrderHold,
    OrderLine,
    OrderShipment,
    Parcel,
    ParcelLine,
)
from orders.rules import rule_checked
from orders.selectors import open_holds
from orders.shipping import parcel_ship

# The most orders one action works on, one service call each: a request that answers in seconds.
ACTION_MOST = 500


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


class TagFilter(admin.SimpleListFilter):
    """Orders by a tag the allocation rules give (the tags their ``add_tag`` actions name)."""

    title = _("tag")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        tags = sorted(
            {
                str(action.get("tag"))
                for actions in AllocationRule.objects.values_list("actions", flat=True)
                for action in actions or []
                if isinstance(action, dict) and action.get("type") == "add_tag" and action.get("tag")
            }
        )
        return [(tag, tag) for tag in tags]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(tags__contains=[self.value()])
        return queryset


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    select_related = ("product",)
    fields = ["channel_line_id", "channel_sku", "title", "quantity", "unit_price", "product", "product_quantity"]
    readonly_fields = fields


class OrderParcelInline(ReadOnlyInline):
    """The order's parcels, line by line: which parcel, from where, by which method, how many of the line."""

    model = ParcelLine
    verbose_name = _("parcel line")
    verbose_name_plural = _("parcels")
    select_related = ("parcel__warehouse", "parcel__shipping_method", "line")
    line_order = ("parcel_id", "id")
    fields = ["parcel", "parcel_warehouse", "parcel_method", "parcel_reserved_at", "line_sku", "quantity"]
    readonly_fields = fields

    @admin.display(description=_("warehouse"))
    def parcel_warehouse(self, row: ParcelLine) -> str:
        return row.parcel.warehouse.code if row.parcel.warehouse else "—"

    @admin.display(description=_("shipping method"))
    def parcel_method(self, row: ParcelLine) -> str:
        return str(row.parcel.shipping_method) if row.parcel.shipping_method else "—"

    @admin.display(description=_("stock reserved at"))
    def parcel_reserved_at(self, row: ParcelLine) -> str:
        return formats.localize(timezone.localtime(row.parcel.reserved_at)) if row.parcel.reserved_at else "—"

    @admin.display(description=_("channel SKU"))
    def line_sku(self, row: ParcelLine) -> str:
        return row.line.channel_sku or row.line.channel_line_id


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
    fields = ["created_at", "kind", "from_status", "to_status", "why", "details", "user"]
    readonly_fields = fields

    @admin.display(description=_("note"))
    def why(self, event: OrderEvent) -> str:
        # Notes the system writes are message ids (gettext_noop), shown in the reader's language.
        return gettext(event.note) if event.note else ""


def decision_html(decision: dict[str, Any] | None) -> str:
    """What allocation decided, as a person reads it: each rule step ("rule → what it did"), the routing steps,
    then the warehouse, the method and the parcels chosen, each step in the reader's language (``core.phrases``)."""
    if not decision:
        return format_html("<p>{}</p>", gettext("Not allocated yet."))
    parts = []
    decided_at = decision.get("decided_at")
    if decided_at:
        try:
            when = formats.localize(timezone.localtime(datetime.fromisoformat(decided_at)))
        except (TypeError, ValueError):
            when = str(decided_at)
        parts.append(format_html('<p class="why-decided-at">{}</p>', labelled(gettext("Decided at"), when)))
    steps = [step for step in decision.get("rules") or [] if isinstance(step, dict)]
    parts.append(format_html("<h4>{}</h4>", gettext("Rules")))
    if steps:
        parts.append(
            format_html(
                '<ol class="why-rules">{}</ol>',
                format_html_join(
                    "", "<li>{} → {}</li>", ((step.get("name", ""), phrase_text(step.get("result"))) for step in steps)
                ),
            )
        )
    else:
        parts.append(format_html('<p class="why-rules">{}</p>', gettext("No rule matched.")))
    routing = [phrase_text(step) for step in decision.get("routing") or []]
    if routing:
        parts.append(format_html("<h4>{}</h4>", gettext("Routing")))
        parts.append(
            format_html(
                '<ol class="why-routing">{}</ol>', format_html_join("", "<li>{}</li>", ((step,) for step in routing))
            )
        )
    chosen = [
        (gettext("Warehouse"), decision.get("warehouse")),
        (gettext("Shipping method"), decision.get("method")),
        (gettext("Parcels"), words_join(decision.get("parcels") or [])),
    ]
    chosen = [(label, value) for label, value in chosen if value]
    if chosen:
        parts.append(
            format_html(
                '<dl class="why-chosen">{}</dl>',
                format_html_join("", "<dt>{}</dt><dd>{}</dd>", chosen),
            )
        )
    return format_html('<div class="order-why">{}</div>', format_html_join("", "{}", ((part,) for part in parts)))


class HoldForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        max_length=255,
        help_text=_("Why the orders wait; the people who release them read it."),
    )


class SetByHandForm(forms.Form):
    warehouse = forms.ModelChoiceField(
        label=_("warehouse"),
        queryset=Warehouse.objects.filter(is_active=True).order_by("priority", "code"),
        required=False,
        help_text=_("Empty: as it is. Rules and routing keep to the warehouse a person chose."),
    )
    shipping_method = forms.ModelChoiceField(
        label=_("shipping method"),
        queryset=ShippingMethod.objects.filter(is_active=True).order_by("code"),
        required=False,
        help_text=_("Empty: as it is. Rules keep to the method a person chose."),
    )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("warehouse") and not cleaned.get("shipping_method"):
            raise forms.ValidationError(gettext("Choose a warehouse, a shipping method or both."))
        return cleaned


def refusal_text(error: DomainError, order: Order | None = None) -> str:
    """A service's refusal, with the problems it lists, naming the order (once) when it is about one."""
    message = error.message
    details = clauses_join(
        labelled(detail.field, detail.message) for detail in error.errors if detail.message != message
    )
    if details:
        # Translators: a refusal of a service, then the problems it lists by field ("reason: Required.").
        message = gettext("%(message)s %(details)s") % {"message": message, "details": details}
    if order is not None and order.channel_order_id not in message:
        message = labelled(order.channel_order_id, message)
    return message


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "channel_order_id",
        "store",
        "status",
        "held",
        "warehouse",
        "shipping_method",
        "ship_name",
        "ship_country",
        "total_with_currency",
        "ordered_at",
        "ship_by",
    ]
    list_select_related = ["store", "warehouse", "shipping_method"]
    list_filter = [
        "status",
        HeldFilter,
        HoldReasonFilter,
        "warehouse",
        "shipping_method",
        "store",
        "store__channel",
        TagFilter,
    ]
    search_fields = ["=channel_order_id", "buyer_name", "ship_name", "=lines__channel_sku"]
    search_help_text = _("Order ID, buyer or recipient name, or a line's exact SKU.")
    ordering = ["-ordered_at", "-id"]
    date_hierarchy = "ordered_at"
    show_full_result_count = False
    inlines = [OrderLineInline, OrderParcelInline, OrderHoldInline, OrderShipmentInline, OrderEventInline]
    actions = [
        "allocate",
        "hold",
        "release_holds",
        "set_by_hand",
        "merge",
        "parcels_undo",
        "cancel",
        "try_rules",
    ]
    readonly_fields = ["tags_text", "why"]
    fieldsets = [
        (None, {"fields": ["store", "channel_order_id", "status", "channel_status", "requested_service"]}),
        (
            _("Allocation"),
            {
                "fields": [
                    "warehouse",
                    "shipping_method",
                    "warehouse_by_hand",
                    "method_by_hand",
                    "tags_text",
                    "why",
                ]
            },
        ),
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

    def has_fulfil_permission(self, request) -> bool:
        """Allocating, holding, cancelling, merging and changing orders by hand."""
        return request.user.has_perm("orders.change_order")

    @admin.display(description=_("held"), boolean=True, ordering="is_held")
    def held(self, order: Order) -> bool:
        return order.is_held

    @admin.display(description=_("total"), ordering="total")
    def total_with_currency(self, order: Order) -> str:
        return format_html("{} {}", money_text(order.total), order.currency)

    @admin.display(description=_("tags"))
    def tags_text(self, order: Order) -> str:
        return words_join(order.tags or []) or "—"

    @admin.display(description=_("why"))
    def why(self, order: Order) -> str:
        return decision_html(order.decision)

    # --- actions: each calls one service per order and says what worked and what each refusal was -------------

    def _chosen(self, request, queryset) -> list[Order] | None:
        orders = list(queryset.select_related("store").order_by("pk")[: ACTION_MOST + 1])
        if len(orders) > ACTION_MOST:
            self.message_user(
                request,
                gettext("Choose at most %(most)s orders at a time.") % {"most": ACTION_MOST},
                level=messages.ERROR,
            )
            return None
        return orders

    def _each(self, request, orders: Iterable[Order], call: Callable[[Order], Any], done: Callable[[int], str]) -> int:
        """``call`` for each order; a refusal is an error message naming the order. ``done(count)`` says how
        many worked."""
        worked = 0
        for order in orders:
            try:
                call(order)
            except DomainError as error:
                self.message_user(request, refusal_text(error, order), level=messages.ERROR)
            else:
                worked += 1
        if worked:
            self.message_user(request, done(worked), level=messages.SUCCESS)
        return worked

    def _form_page(self, request, orders: list[Order], form: forms.Form, *, action: str, title: str, submit: str):
        return action_form_page(
            self,
            request,
            chosen=[(order.pk, order.channel_order_id) for order in orders],
            chosen_text=ngettext("For %(count)s order:", "For %(count)s orders:", len(orders)) % {"count": len(orders)},
            form=form,
            action=action,
            title=title,
            submit=submit,
        )

    @admin.action(description=_("Allocate (new and awaiting stock)"), permissions=["fulfil"])
    def allocate(self, request, queryset):
        orders = self._chosen(request, queryset)
        if orders is None:
            return
        result = fulfilment.orders_allocate(order_ids=[order.pk for order in orders], user=request.user)
        taken = result.allocated + result.awaiting_stock + result.held + result.skipped
        self.message_user(
            request,
            gettext(
                "%(allocated)s allocated (%(parcels)s parcels), %(awaiting_stock)s awaiting stock, %(held)s on hold, "
                "%(skipped)s busy elsewhere (the next run takes them)."
            )
            % result.counts(),
            level=messages.SUCCESS if result.allocated else messages.WARNING,
        )
        if len(orders) > taken:
            self.message_user(
                request,
                ngettext(
                    "%(count)s order was neither new nor awaiting stock: left as it is.",
                    "%(count)s orders were neither new nor awaiting stock: left as they are.",
                    len(orders) - taken,
                )
                % {"count": len(orders) - taken},
                level=messages.WARNING,
            )

    @admin.action(description=_("Hold (with a reason)"), permissions=["release"])
    def hold(self, request, queryset):
        orders = self._chosen(request, queryset)
        if orders is None:
            return None
        form = HoldForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._each(
                request,
                orders,
                lambda order: fulfilment.order_hold(order=order, reason=reason, user=request.user),
                lambda count: ngettext("%(count)s order held.", "%(count)s orders held.", count) % {"count": count},
            )
            return None
        return self._form_page(
            request,
            orders,
            form,
            action="hold",
            title=gettext("Hold orders"),
            submit=gettext("Hold"),
        )

    @admin.action(description=_("Release holds (then allocate)"), permissions=["release"])
    def release_holds(self, request, queryset):
        orders = self._chosen(request, queryset)
        if orders is None:
            return
        self._each(
            request,
            orders,
            lambda order: fulfilment.order_release(order=order, user=request.user),
            lambda count: (
                ngettext("Holds released on %(count)s order.", "Holds released on %(count)s orders.", count)
                % {"count": count}
            ),
        )

    @admin.action(description=_("Set warehouse or shipping method by hand"), permissions=["fulfil"])
    def set_by_hand(self, request, queryset):
        orders = self._chosen(request, queryset)
        if orders is None:
            return None
        form = SetByHandForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            warehouse, method = form.cleaned_data["warehouse"], form.cleaned_data["shipping_method"]
            self._each(
                request,
                orders,
                lambda order: fulfilment.order_set_by_hand(
                    order=order, warehouse=warehouse, method=method, user=request.user
                ),
                lambda count: (
                    ngettext(
                        "%(count)s order changed and allocated again.",
                        "%(count)s orders changed and allocated again.",
                        count,
                    )
                    % {"count": count}
                ),
            )
            return None
        return self._form_page(
            request,
            orders,
            form,
            action="set_by_hand",
            title=gettext("Set warehouse or shipping method by hand"),
            submit=gettext("Save and allocate again"),
        )

    @admin.action(description=_("Merge the selected orders into one parcel"), permissions=["fulfil"])
    def merge(self, request, queryset):
        orders = self._chosen(request, queryset)
        if orders is None:
            return
        self._merge(request, orders)

    def _merge(self, request, orders: list[Order]) -> None:
        try:
            parcel = fulfilment.orders_merge(orders=orders, user=request.user)
        except DomainError as error:
            self.message_user(request, refusal_text(error), level=messages.ERROR)
            return
        self.message_user(
            request,
            gettext("%(orders)s merged into parcel %(parcel)s.")
            % {"orders": words_join(order.channel_order_id for order in orders), "parcel": parcel.number},
            level=messages.SUCCESS,
        )

    @admin.action(description=_("Undo merge or split"), permissions=["fulfil"])
    def parcels_undo(self, request, queryset):
        orders = self._chosen(request, queryset)
        if orders is None:
            return
        undone: set[int] = set()
        worked = 0
        for order in orders:
            if order.pk in undone:
                continue  # undoing an order of the same merged parcel undid this one too
            members = set(
                ParcelLine.objects.filter(
                    parcel__made_by__in=("merge", "split"), parcel__lines__order=order
                ).values_list("order_id", flat=True)
            )
            try:
                fulfilment.order_parcels_undo(order=order, user=request.user)
            except DomainError as error:
                self.message_user(request, refusal_text(error, order), level=messages.ERROR)
            else:
                undone |= members | {order.pk}
                worked += 1
        if worked:
            self.message_user(
                request,
                ngettext(
                    "Merge or split undone on %(count)s order; it is allocated again.",
                    "Merge or split undone on %(count)s orders; each is allocated again.",
                    len(undone),
                )
                % {"count": len(undone)},
                level=messages.SUCCESS,
            )

    @admin.action(description=_("Cancel in Seabridge (cancel it in the store too)"), permissions=["fulfil"])
    def cancel(self, request, queryset):
        orders = self._chosen(request, queryset)
        if orders is None:
            return
        self._each(
            request,
            orders,
            lambda order: fulfilment.order_cancel(
                order=order, reason=gettext("Cancelled in the back office."), user=request.user
            ),
            lambda count: (
                ngettext("%(count)s order cancelled.", "%(count)s orders cancelled.", count) % {"count": count}
            ),
        )

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

    # --- merge suggestions --------------------------------------------------------------------------------------

    def get_urls(self):
        suggestions = path(
            "merge-suggestions/",
            self.admin_site.admin_view(self.merge_suggestions_view),
            name="orders_order_merge_suggestions",
        )
        return [suggestions, *super().get_urls()]

    def merge_suggestions_view(self, request):
        """Orders of one buyer to one address, not yet picked nor merged (``fulfilment.merge_suggestions``), a
        button per group to merge it."""
        if not self.has_fulfil_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            ids = [int(value) for value in request.POST.getlist("orders") if value.isdigit()][:ACTION_MOST]
            self._merge(request, list(Order.objects.filter(pk__in=ids).order_by("pk")))
            return HttpResponseRedirect(request.path)
        groups = fulfilment.merge_suggestions()
        # The same orders with their stores, in one query (orders name their store by reference only).
        loaded = Order.objects.select_related("store").in_bulk([order.pk for group in groups for order in group])
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Merge suggestions"),
            "opts": self.opts,
            "groups": [[loaded.get(order.pk, order) for order in group] for group in groups],
        }
        return TemplateResponse(request, "admin/orders/order/merge_suggestions.html", context)


class ParcelLineInline(ReadOnlyInline):
    model = ParcelLine
    select_related = ("order", "line")
    fields = ["order", "line_sku", "quantity"]
    readonly_fields = fields

    @admin.display(description=_("channel SKU"))
    def line_sku(self, row: ParcelLine) -> str:
        return row.line.channel_sku or row.line.channel_line_id


@admin.register(Parcel)
class ParcelAdmin(ReadOnlyAdmin):
    """What leaves a warehouse as one package; made by allocation, a merge or a split (``orders.fulfilment``)."""

    list_display = ["number", "warehouse", "shipping_method", "reserved_at", "made_by", "orders"]
    list_select_related = ["warehouse", "shipping_method"]
    list_filter = ["made_by", "warehouse", "shipping_method", ("reserved_at", admin.EmptyFieldListFilter)]
    search_fields = ["=number", "=lines__order__channel_order_id"]
    search_help_text = _("Parcel number or order ID.")
    ordering = ["-id"]
    show_full_result_count = False
    fields = ["number", "warehouse", "shipping_method", "reserved_at", "made_by", "created_at", "updated_at"]
    inlines = [ParcelLineInline]
    actions = ["make_labels"]

    def has_ship_permission(self, request) -> bool:
        return request.user.has_perm("logistics.add_shipment")

    @admin.action(description=_("Make labels (with each method's carrier account)"), permissions=["ship"])
    def make_labels(self, request, queryset):
        """Each parcel's shipment with its carrier: tracking number and label, or the carrier's refusal."""
        made = 0
        for parcel in queryset.select_related("shipping_method").order_by("pk"):
            try:
                shipment = parcel_ship(parcel=parcel, user=request.user)
            except DomainError as error:
                self.message_user(request, f"{parcel.number}: {error}", level=messages.ERROR)
                continue
            if shipment.status == shipment.Status.FAILED:
                self.message_user(
                    request,
                    gettext("%(parcel)s: the carrier refused it: %(message)s")
                    % {"parcel": parcel.number, "message": shipment.carrier_message},
                    level=messages.ERROR,
                )
            else:
                made += 1
        if made:
            self.message_user(
                request,
                ngettext(
                    "%(count)s parcel has its shipment (see Shipments for the labels).",
                    "%(count)s parcels have their shipments (see Shipments for the labels).",
                    made,
                )
                % {"count": made},
                level=messages.SUCCESS,
            )

    def get_queryset(self, request):
        lines = ParcelLine.objects.select_related("order").order_by("pk")
        return super().get_queryset(request).prefetch_related(Prefetch("lines", queryset=lines))

    @admin.display(description=_("orders"))
    def orders(self, parcel: Parcel) -> str:
        seen: dict[int, str] = {}
        for line in parcel.lines.all():
            seen.setdefault(line.order_id, line.order.channel_order_id)
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((reverse("admin:orders_order_change", args=[pk]), number) for pk, number in seen.items()),
        )


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
    "merge": _("merge the buyer's orders"),
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
