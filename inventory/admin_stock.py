"""Admin of stock: levels by product, bin and warehouse, balances, the read-only ledger, transfers and counts."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q, QuerySet, Sum
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from core.errors import DomainError
from inventory import count_services, stock_selectors, transfer_services
from inventory.errors import StockRuleBroken
from inventory.models import (
    Bin,
    InventoryBalance,
    Product,
    Reservation,
    ReservationEvent,
    SellableChange,
    StockCount,
    StockCountBin,
    StockCountEvent,
    StockCountLine,
    StockLevel,
    StockMove,
    Transfer,
    TransferEvent,
    TransferLine,
    Warehouse,
)


def _changelist_link(model_name: str, label: str, **params: int) -> str:
    url = reverse(f"admin:inventory_{model_name}_changelist")
    return format_html('<a href="{}?{}">{}</a>', url, urlencode(params), label)


class TransferReceiveForm(forms.Form):
    bin = forms.ModelChoiceField(
        label=_("Bin"), queryset=Bin.objects.none(), help_text=_("Where the units go (a receiving bin, usually).")
    )

    def __init__(self, *args, destination: Warehouse, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bin"].queryset = Bin.objects.filter(warehouse=destination, is_active=True).order_by("code_sort")


def _run_each(
    model_admin: admin.ModelAdmin, request, items: QuerySet, service: Callable, done: str, **arguments
) -> None:
    """Call ``service`` for each selected document in its own transaction; report successes and each refusal."""
    succeeded = []
    for item in items.order_by("id"):
        try:
            service(item, **arguments)
        except DomainError as error:
            model_admin.message_user(
                request,
                gettext("%(number)s: %(message)s") % {"number": item.number, "message": error.message},
                level=messages.ERROR,
            )
        else:
            succeeded.append(item.number)
    if succeeded:
        model_admin.message_user(
            request,
            gettext("%(done)s: %(numbers)s.") % {"done": done, "numbers": ", ".join(succeeded)},
            level=messages.SUCCESS,
        )


class StockReadOnlyAdmin(ReadOnlyAdmin):
    """Stock rows change only through the stock services, which keep the ledger; here they are looked at."""


class StockReadOnlyInline(ReadOnlyInline):
    """Lines of a stock document (a count can have thousands), read only."""


# --- Filters ------------------------------------------------------------------------------------------------


class QuantityFilter(admin.SimpleListFilter):
    """Rows at zero stay after stock leaves a bin; they are hidden unless asked for."""

    title = _("quantity")
    parameter_name = "quantity"

    def lookups(self, request, model_admin):
        return [("zero", _("At zero")), ("all", _("All rows"))]

    def choices(self, changelist):
        # The first choice, Django's "All" (no value), is what this filter shows by default: rows with stock.
        for index, choice in enumerate(super().choices(changelist)):
            if index == 0:
                choice["display"] = _("With stock")
            yield choice

    def queryset(self, request, queryset):
        if self.value() == "zero":
            return queryset.filter(on_hand=0)
        if self.value() == "all":
            return queryset
        return queryset.exclude(on_hand=0)


class HiddenIdFilter(admin.SimpleListFilter):
    """A filter reached through links (ledger of a product, of a bin): listed only while it is on."""

    model: type = Product
    label_field = "pk"

    def lookups(self, request, model_admin):
        value = self.value()
        if not value or not (value.isascii() and value.isdigit()):
            return []
        label = self.model.objects.filter(pk=value).values_list(self.label_field, flat=True).first()
        return [(value, label or f"#{value}")]

    def id_value(self) -> int | None:
        value = self.value()
        return int(value) if value and value.isascii() and value.isdigit() else None


class ProductIdFilter(HiddenIdFilter):
    title = _("product")
    parameter_name = "product"
    model = Product
    label_field = "sku"

    def queryset(self, request, queryset):
        product_id = self.id_value()
        return queryset if product_id is None else queryset.filter(product_id=product_id)


class LedgerBinFilter(HiddenIdFilter):
    title = _("bin")
    parameter_name = "bin"
    model = Bin
    label_field = "code"

    def queryset(self, request, queryset):
        bin_id = self.id_value()
        if bin_id is None:
            return queryset
        return queryset.filter(Q(from_bin_id=bin_id) | Q(to_bin_id=bin_id))


class LedgerWarehouseFilter(admin.SimpleListFilter):
    """Moves out of the warehouse's bins and into them."""

    title = _("warehouse")
    parameter_name = "warehouse"

    def lookups(self, request, model_admin):
        return [
            (str(pk), code) for pk, code in Warehouse.objects.order_by("priority", "code").values_list("pk", "code")
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value or not (value.isascii() and value.isdigit()):
            return queryset
        bins = Bin.objects.filter(warehouse_id=int(value)).values("pk")
        return queryset.filter(Q(from_bin_id__in=bins) | Q(to_bin_id__in=bins))


# --- Stock levels and balances ------------------------------------------------------------------------------


@admin.register(StockLevel)
class StockLevelAdmin(StockReadOnlyAdmin):
    """Stock by bin; filter by warehouse, zone or kind for a warehouse view, search a SKU for a product view."""

    list_display = ["sku", "product_name", "warehouse_code", "bin_code", "zone", "bin_kind", "on_hand", "ledger"]
    list_filter = [
        QuantityFilter,
        ProductIdFilter,
        ("bin__warehouse", admin.RelatedOnlyFieldListFilter),
        "bin__zone",
        "bin__kind",
        "bin__is_sellable",
    ]
    search_fields = ["^product__sku", "product__name", "^bin__code"]
    show_full_result_count = False

    def get_queryset(self, request):
        return stock_selectors.stock_levels(include_zero=True)

    @admin.display(description=_("SKU"), ordering="product__sku_sort")
    def sku(self, level: StockLevel) -> str:
        return level.product.sku

    @admin.display(description=_("product"), ordering="product__name")
    def product_name(self, level: StockLevel) -> str:
        return level.product.name

    @admin.display(description=_("warehouse"), ordering="bin__warehouse__code")
    def warehouse_code(self, level: StockLevel) -> str:
        return level.bin.warehouse.code

    @admin.display(description=_("bin"), ordering="bin__code_sort")
    def bin_code(self, level: StockLevel) -> str:
        return level.bin.code

    @admin.display(description=_("zone"), ordering="bin__zone")
    def zone(self, level: StockLevel) -> str:
        return level.bin.zone

    @admin.display(description=_("kind"))
    def bin_kind(self, level: StockLevel) -> str:
        sellable = gettext("sellable") if level.bin.is_sellable else gettext("not sellable")
        return gettext("%(kind)s (%(sellable)s)") % {"kind": level.bin.get_kind_display(), "sellable": sellable}

    @admin.display(description=_("ledger"))
    def ledger(self, level: StockLevel) -> str:
        return _changelist_link("stockmove", gettext("moves"), product=level.product_id, bin=level.bin_id)


@admin.register(InventoryBalance)
class InventoryBalanceAdmin(StockReadOnlyAdmin):
    """Stock by product and warehouse, with what is available to sell."""

    list_display = [
        "product",
        "warehouse_code",
        "on_hand",
        "sellable",
        "reserved",
        "available",
        "bins",
        "ledger",
        "updated_at",
    ]
    list_filter = [("warehouse", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["^product__sku", "product__name"]

    def get_queryset(self, request):
        return stock_selectors.balances_with_available()

    @admin.display(description=_("warehouse"), ordering="warehouse__code")
    def warehouse_code(self, balance: InventoryBalance) -> str:
        return balance.warehouse.code

    @admin.display(description=_("available"), ordering="available")
    def available(self, balance: InventoryBalance) -> int:
        return balance.available

    @admin.display(description=_("bins"))
    def bins(self, balance: InventoryBalance) -> str:
        return _changelist_link(
            "stocklevel", gettext("by bin"), product=balance.product_id, bin__warehouse__id__exact=balance.warehouse_id
        )

    @admin.display(description=_("ledger"))
    def ledger(self, balance: InventoryBalance) -> str:
        return _changelist_link(
            "stockmove", gettext("moves"), product=balance.product_id, warehouse=balance.warehouse_id
        )


# --- The ledger ----------------------------------------------------------------------------------------------


def sku_or_reference_search(queryset, term: str, *, product: str, reference: str, through: str | None = None):
    """The rows of a growing table whose product has exactly this SKU or whose reference starts with the term.

    Django's search ORs its fields across a join, which no index answers: on a ledger of millions that is a
    scan of every row. Here the SKU is looked up first (the product table's unique key), and the rows are found
    by product id OR reference prefix, which PostgreSQL combines from two indexes (the prefix one is
    ``UPPER(reference) text_pattern_ops``). ``through`` names a relation to search instead (a reservation's
    events are found through their reservations).
    """
    product_ids = list(Product.objects.filter(sku__iexact=term).values_list("pk", flat=True))
    matches = Q(**{f"{product}__in": product_ids}) | Q(**{f"{reference}__istartswith": term})
    if through is None:
        return queryset.filter(matches)
    related = queryset.model._meta.get_field(through).related_model
    return queryset.filter(**{f"{through}__in": related.objects.filter(matches).values("pk")})


@admin.register(StockMove)
class StockMoveAdmin(StockReadOnlyAdmin):
    """The append-only ledger: nobody adds, changes or deletes a row here (the stock services write it)."""

    list_display = [
        "id",
        "created_at",
        "sku",
        "warehouse_code",
        "from_bin_code",
        "to_bin_code",
        "quantity",
        "reason",
        "reference",
        "note",
        "user",
    ]
    list_select_related = ["product", "from_bin__warehouse", "to_bin__warehouse", "user"]
    list_filter = ["reason", LedgerWarehouseFilter, ProductIdFilter, LedgerBinFilter]
    search_fields = ["=product__sku", "^reference"]
    search_help_text = _("An exact SKU, or the start of a reference.")
    ordering = ["-id"]
    # Counting every row of a long ledger on each page is slow and tells nobody anything.
    show_full_result_count = False

    def get_queryset(self, request):
        return stock_selectors.ledger()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return sku_or_reference_search(queryset, term, product="product_id", reference="reference"), False

    @admin.display(description=_("SKU"), ordering="product__sku_sort")
    def sku(self, move: StockMove) -> str:
        return move.product.sku

    @admin.display(description=_("warehouse"))
    def warehouse_code(self, move: StockMove) -> str:
        return (move.from_bin or move.to_bin).warehouse.code

    @admin.display(description=_("from bin"))
    def from_bin_code(self, move: StockMove) -> str:
        return move.from_bin.code if move.from_bin else "—"

    @admin.display(description=_("to bin"))
    def to_bin_code(self, move: StockMove) -> str:
        return move.to_bin.code if move.to_bin else "—"


class ReservationEventInline(StockReadOnlyInline):
    model = ReservationEvent
    verbose_name_plural = _("history")
    select_related = ("user", "stock_move")
    fields = ["created_at", "kind", "quantity", "user", "stock_move"]
    readonly_fields = fields


@admin.register(Reservation)
class ReservationAdmin(StockReadOnlyAdmin):
    """Reservations with their history: who reserved, released, picked and shipped how many, and when."""

    list_display = [
        "reference",
        "product",
        "warehouse",
        "quantity_reserved",
        "quantity_picked",
        "quantity_shipped",
        "updated_at",
    ]
    list_select_related = ["product", "warehouse"]
    list_filter = [("warehouse", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["^reference", "=product__sku"]
    search_help_text = _("An exact SKU, or the start of a reference.")
    ordering = ["-id"]
    inlines = [ReservationEventInline]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return sku_or_reference_search(queryset, term, product="product_id", reference="reference"), False


@admin.register(ReservationEvent)
class ReservationEventAdmin(StockReadOnlyAdmin):
    """Every reservation step, newest first: search a SKU or a reference to see who took units off sale."""

    list_display = ["created_at", "kind", "quantity", "sku", "warehouse_code", "reference", "user", "stock_move"]
    list_select_related = ["reservation__product", "reservation__warehouse", "user"]
    list_filter = [
        "kind",
        ("reservation__warehouse", admin.RelatedOnlyFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["=reservation__product__sku", "^reservation__reference"]
    search_help_text = _("An exact SKU, or the start of a reference.")
    ordering = ["-id"]
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        found = sku_or_reference_search(
            queryset, term, product="product_id", reference="reference", through="reservation"
        )
        return found, False

    @admin.display(description=_("SKU"), ordering="reservation__product__sku_sort")
    def sku(self, event: ReservationEvent) -> str:
        return event.reservation.product.sku

    @admin.display(description=_("warehouse"))
    def warehouse_code(self, event: ReservationEvent) -> str:
        return event.reservation.warehouse.code

    @admin.display(description=_("reference"))
    def reference(self, event: ReservationEvent) -> str:
        return event.reservation.reference


@admin.register(SellableChange)
class SellableChangeAdmin(StockReadOnlyAdmin):
    """Bins put on or taken off sale: per product, the units that went with them, by whom and when."""

    list_display = ["created_at", "bin_code", "warehouse_code", "sku", "on_sale", "quantity", "note", "user"]
    list_select_related = ["bin__warehouse", "product", "user"]
    list_filter = ["is_sellable", ("bin__warehouse", admin.RelatedOnlyFieldListFilter), ProductIdFilter]
    search_fields = ["=product__sku", "^bin__code"]
    ordering = ["-id"]
    show_full_result_count = False

    @admin.display(description=_("bin"), ordering="bin__code_sort")
    def bin_code(self, change: SellableChange) -> str:
        return change.bin.code

    @admin.display(description=_("warehouse"))
    def warehouse_code(self, change: SellableChange) -> str:
        return change.bin.warehouse.code

    @admin.display(description=_("SKU"))
    def sku(self, change: SellableChange) -> str:
        return change.product.sku if change.product else "—"

    @admin.display(description=_("on sale"), boolean=True, ordering="is_sellable")
    def on_sale(self, change: SellableChange) -> bool:
        return change.is_sellable


# --- Transfers ----------------------------------------------------------------------------------------------


class TransferLineInline(StockReadOnlyInline):
    model = TransferLine
    select_related = ("product", "from_bin")
    fields = ["product", "quantity", "from_bin", "quantity_shipped", "quantity_received", "quantity_in_transit"]
    readonly_fields = fields

    @admin.display(description=_("quantity in transit"))
    def quantity_in_transit(self, line: TransferLine) -> int:
        return line.quantity_in_transit


def _status_label(statuses: type[models.TextChoices], status: str) -> str:
    """What people call a status stored in an event row: "-" before the document existed, the code if unknown."""
    if not status:
        return "-"
    try:
        return str(statuses(status).label)
    except ValueError:
        return status


class StatusEventInline(StockReadOnlyInline):
    """A document's steps, each status shown by its name in the reader's language instead of its code."""

    statuses: type[models.TextChoices]
    verbose_name_plural = _("steps")
    # A step's title is its __str__, "draft → shipped" in status codes; the columns say it in words.
    hide_title = True
    select_related = ("user",)
    fields = ["created_at", "from_status_label", "to_status_label", "note", "user"]
    readonly_fields = fields

    @admin.display(description=_("from status"))
    def from_status_label(self, event) -> str:
        return _status_label(self.statuses, event.from_status)

    @admin.display(description=_("to status"))
    def to_status_label(self, event) -> str:
        return _status_label(self.statuses, event.to_status)


class TransferEventInline(StatusEventInline):
    model = TransferEvent
    statuses = Transfer.Status


@admin.register(Transfer)
class TransferAdmin(StockReadOnlyAdmin):
    """Transfers with their lines and steps: ship, receive (everything in transit, into a bin chosen on an
    intermediate page) and cancel are actions. A partial receipt, which needs the quantities that arrived,
    is POST /api/v1/transfers/{id}/receive/."""

    list_display = [
        "number",
        "source",
        "destination",
        "status",
        "line_count",
        "units",
        "carrier_reference",
        "shipped_at",
        "received_at",
        "created_at",
    ]
    list_select_related = ["source", "destination"]
    list_filter = [
        "status",
        ("source", admin.RelatedOnlyFieldListFilter),
        ("destination", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["=number", "carrier_reference"]
    ordering = ["-id"]
    inlines = [TransferLineInline, TransferEventInline]
    actions = ["ship", "receive_in_full", "cancel"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(line_count=Count("lines"), units=Sum("lines__quantity"))

    def has_receive_permission(self, request) -> bool:
        return request.user.has_perms(["inventory.change_transfer", "inventory.add_stockmove"])

    @admin.action(description=_("Receive everything still in transit (choose the bin)"), permissions=["receive"])
    def receive_in_full(self, request, queryset):
        destinations = set(queryset.values_list("destination_id", flat=True))
        if len(destinations) != 1:
            self.message_user(
                request,
                gettext("Select transfers to one destination warehouse; the bin is chosen there."),
                messages.ERROR,
            )
            return None
        destination = Warehouse.objects.get(pk=destinations.pop())
        form = TransferReceiveForm(request.POST if "apply" in request.POST else None, destination=destination)
        if form.is_valid():
            bin_ = form.cleaned_data["bin"]

            def receive(transfer: Transfer, user) -> None:
                lines = [
                    (line.product, line.quantity_in_transit)
                    for line in transfer.lines.select_related("product")
                    if line.quantity_in_transit > 0
                ]
                if not lines:
                    raise StockRuleBroken(
                        gettext("%(number)s has nothing in transit.") % {"number": transfer.number},
                        code="nothing_in_transit",
                    )
                transfer_services.transfer_receive(transfer=transfer, lines=lines, bin=bin_, user=user)

            done = gettext("Received into %(bin)s") % {"bin": bin_.code}
            _run_each(self, request, queryset, receive, done, user=request.user)
            return None
        return TemplateResponse(
            request,
            "admin/inventory/transfer/receive.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Receive transfers into %(warehouse)s") % {"warehouse": destination.code},
                "opts": self.model._meta,
                "form": form,
                "transfers": queryset.order_by("id"),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.display(description=_("lines"), ordering="line_count")
    def line_count(self, transfer: Transfer) -> int:
        return transfer.line_count

    @admin.display(description=_("units"), ordering="units")
    def units(self, transfer: Transfer) -> int:
        return transfer.units or 0

    def has_ship_permission(self, request) -> bool:
        return request.user.has_perms(["inventory.change_transfer", "inventory.add_stockmove"])

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("inventory.change_transfer")

    @admin.action(description=_("Ship the selected draft transfers"), permissions=["ship"])
    def ship(self, request, queryset):
        _run_each(
            self,
            request,
            queryset,
            lambda transfer, user: transfer_services.transfer_ship(transfer=transfer, user=user),
            gettext("Shipped"),
            user=request.user,
        )

    @admin.action(description=_("Cancel the selected draft transfers"), permissions=["cancel"])
    def cancel(self, request, queryset):
        _run_each(
            self,
            request,
            queryset,
            lambda transfer, user: transfer_services.transfer_cancel(transfer=transfer, user=user, note="In the admin"),
            gettext("Cancelled"),
            user=request.user,
        )


# --- Counts -------------------------------------------------------------------------------------------------


class StockCountLineInline(StockReadOnlyInline):
    model = StockCountLine
    select_related = ("bin", "product", "counted_by")
    line_order = ("bin__pick_sequence", "bin__code_sort", "product__sku_sort", "id")
    fields = [
        "bin",
        "product",
        "expected_quantity",
        "system_quantity",
        "counted_quantity",
        "variance",
        "adjustment",
        "counted_by",
        "counted_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("variance (counted − system)"))
    def variance(self, line: StockCountLine) -> str:
        return "—" if line.variance is None else f"{line.variance:+d}"


class StockCountBinInline(StockReadOnlyInline):
    model = StockCountBin
    verbose_name_plural = _("bins in the count")
    select_related = ("bin",)
    line_order = ("bin__code_sort",)
    fields = ["bin"]
    readonly_fields = fields


class StockCountEventInline(StatusEventInline):
    model = StockCountEvent
    statuses = StockCount.Status


@admin.register(StockCount)
class StockCountAdmin(StockReadOnlyAdmin):
    """Counts with each line's variance; approve posts the variances to the ledger."""

    list_display = [
        "number",
        "warehouse",
        "status",
        "is_blind",
        "scope",
        "lines_counted_of_total",
        "variance_net",
        "created_at",
        "approved_at",
    ]
    list_filter = ["status", "is_blind", ("warehouse", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=number", "scope"]
    ordering = ["-id"]
    inlines = [StockCountBinInline, StockCountLineInline, StockCountEventInline]
    actions = ["approve", "cancel"]

    def get_queryset(self, request):
        return stock_selectors.stock_count_list()

    @admin.display(description=_("lines counted"))
    def lines_counted_of_total(self, count: StockCount) -> str:
        return gettext("%(counted)s of %(total)s") % {"counted": count.lines_counted, "total": count.lines_total}

    @admin.display(description=_("net variance"), ordering="variance_net")
    def variance_net(self, count: StockCount) -> str:
        return f"{count.variance_net:+d}"

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perms(["inventory.change_stockcount", "inventory.add_stockmove"])

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("inventory.change_stockcount")

    @admin.action(
        description=_("Approve the selected counts (post variances; lines not counted are left alone)"),
        permissions=["approve"],
    )
    def approve(self, request, queryset):
        _run_each(
            self,
            request,
            queryset,
            lambda count, user: count_services.stock_count_approve(count=count, user=user),
            gettext("Approved"),
            user=request.user,
        )

    @admin.action(description=_("Cancel the selected open counts"), permissions=["cancel"])
    def cancel(self, request, queryset):
        _run_each(
            self,
            request,
            queryset,
            lambda count, user: count_services.stock_count_cancel(count=count, user=user, note="In the admin"),
            gettext("Cancelled"),
            user=request.user,
        )
