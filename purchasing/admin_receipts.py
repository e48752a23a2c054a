"""Admin of receipts against purchase orders, with their landed cost per line.

Receipts are made on the floor's receive page and through the API, so here they are read only; the one write is
"Add freight and duties", for the costs a buyer learns after the goods came in (purchasing.receiving)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Sum
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminDecimalFieldWidget, UnfoldAdminSelectWidget

from core.admin import ReadOnlyAdmin, ReadOnlyInline, action_form_page
from core.errors import DomainError, clauses_join, labelled
from purchasing.models import Receipt, ReceiptLine
from purchasing.receiving import AMOUNT_MAX, receipt_costs_add


class ReceiptLineInline(ReadOnlyInline):
    model = ReceiptLine
    fields = [
        "product",
        "quantity_accepted",
        "quantity_rejected",
        "reject_reason",
        "bin",
        "unit_cost",
        "freight_share",
        "duty_share",
        "landed_unit_cost",
        "on_hand_before",
        "cost_before",
        "cost_after",
    ]
    select_related = ("product", "bin")


class ReceiptCostsForm(forms.Form):
    freight = forms.DecimalField(
        label=_("freight"),
        max_digits=10,
        decimal_places=2,
        min_value=0,
        max_value=AMOUNT_MAX,
        initial=Decimal(0),
        widget=UnfoldAdminDecimalFieldWidget,
        help_text=_("In the purchase order's currency. Set once per receipt."),
    )
    duties = forms.DecimalField(
        label=_("duties"),
        max_digits=10,
        decimal_places=2,
        min_value=0,
        max_value=AMOUNT_MAX,
        initial=Decimal(0),
        widget=UnfoldAdminDecimalFieldWidget,
        help_text=_("In the purchase order's currency. Set once per receipt."),
    )
    spread_by = forms.ChoiceField(
        label=_("spread by"),
        choices=Receipt.SpreadBy.choices,
        initial=Receipt.SpreadBy.VALUE,
        widget=UnfoldAdminSelectWidget,
        help_text=_("How the costs are shared among the lines: by each line's value, or by its weight."),
    )


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "purchase_order",
        "supplier",
        "warehouse",
        "accepted",
        "rejected",
        "freight",
        "duties",
        "spread_by",
        "received_by",
        "created_at",
    ]
    list_select_related = ["purchase_order__supplier", "purchase_order__warehouse", "received_by"]
    list_filter = ["spread_by", "purchase_order__warehouse", "purchase_order__supplier"]
    search_fields = ["=number", "=purchase_order__number"]
    search_help_text = _("Receipt or purchase order number, exactly.")
    date_hierarchy = "created_at"
    ordering = ["-id"]
    fields = ["number", "purchase_order", "freight", "duties", "spread_by", "note", "received_by", "created_at"]
    inlines = [ReceiptLineInline]
    actions = ["add_costs"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(accepted_units=Sum("lines__quantity_accepted"), rejected_units=Sum("lines__quantity_rejected"))
        )

    @admin.display(description=_("supplier"), ordering="purchase_order__supplier__name")
    def supplier(self, receipt: Receipt) -> str:
        return receipt.purchase_order.supplier.name

    @admin.display(description=_("warehouse"), ordering="purchase_order__warehouse__code")
    def warehouse(self, receipt: Receipt) -> str:
        return receipt.purchase_order.warehouse.code

    @admin.display(description=_("accepted"), ordering="accepted_units")
    def accepted(self, receipt: Receipt) -> int:
        return receipt.accepted_units or 0

    @admin.display(description=_("rejected"), ordering="rejected_units")
    def rejected(self, receipt: Receipt) -> int:
        return receipt.rejected_units or 0

    def has_add_costs_permission(self, request) -> bool:
        return request.user.has_perm("purchasing.change_receipt")

    @admin.action(description=_("Add freight and duties"), permissions=["add_costs"])
    def add_costs(self, request, queryset):
        receipts = list(queryset.select_related("purchase_order").order_by("pk")[:2])
        if len(receipts) != 1:
            self.message_user(
                request, gettext("Choose one receipt: freight and duties are each receipt's own."), messages.ERROR
            )
            return None
        (receipt,) = receipts
        form = ReceiptCostsForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                receipt = receipt_costs_add(receipt=receipt, **form.cleaned_data)
            except DomainError as error:
                details = clauses_join(
                    labelled(detail.field, detail.message) for detail in error.errors if detail.message != error.message
                )
                # Translators: a refusal of a service, then the problems it lists by field ("freight: Already set.").
                text = gettext("%(message)s %(details)s") % {"message": error.message, "details": details}
                self.message_user(request, text if details else error.message, messages.ERROR)
                return None
            self.message_user(
                request,
                gettext(
                    "Receipt %(number)s: freight %(freight)s and duties %(duties)s %(currency)s, spread %(spread_by)s "
                    "over its lines; the products' costs are updated."
                )
                % {
                    "number": receipt.number,
                    "freight": receipt.freight,
                    "duties": receipt.duties,
                    "currency": receipt.purchase_order.currency,
                    "spread_by": str(Receipt.SpreadBy(receipt.spread_by).label).lower(),
                },
                messages.SUCCESS,
            )
            return None
        return action_form_page(
            self,
            request,
            chosen=[(receipt.pk, receipt.number)],
            chosen_text=ngettext("For %(count)s receipt:", "For %(count)s receipts:", 1) % {"count": 1},
            form=form,
            action="add_costs",
            title=gettext("Add freight and duties"),
            submit=gettext("Add"),
        )
