"""Admin of purchase orders: lines, life cycle actions, PDF, import and export.

An order and its lines are saved together by the services of purchasing.orders (purchase_order_create on add,
purchase_order_update on change). Their rules run first in the forms' clean (the header's on the order form, the
lines' on the line formset, each problem on the field of the line it is about), so a refusal shows where it
belongs; a refusal the services meet later (a concurrent change) is a message on the page. Lines can be edited
while the order is a draft and are read only after; a received or cancelled order is read only. Orders are not
deleted: one that will not be placed is cancelled.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import SpreadsheetAdmin, TabularInline, action_form_page
from core.errors import DomainError, labelled
from core.limits import QUANTITY_MAX
from core.models import adopt_saved
from inventory.admin_stock import StatusEventInline
from logistics.api.files import file_response
from purchasing import orders, selectors
from purchasing.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine
from purchasing.po_pdf import purchase_order_pdf, purchase_orders_pdf
from purchasing.po_resources import PurchaseOrderImportResource, PurchaseOrderLineExportResource

Status = PurchaseOrder.Status
CLOSED_STATUSES = (Status.RECEIVED, Status.CANCELLED)
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


class PurchaseOrderForm(forms.ModelForm):
    """The order's header; on add, the rules of a new order (active supplier and warehouse, a currency) run here."""

    currency = forms.CharField(
        label=_("currency"), max_length=3, required=False, help_text=_("Empty: the supplier's currency.")
    )

    class Meta:
        model = PurchaseOrder
        fields = ["supplier", "warehouse", "currency", "expected_on", "supplier_reference", "note"]

    def clean(self):
        cleaned = super().clean()
        supplier = cleaned.get("supplier") if self.instance.pk is None else self.instance.supplier
        if "currency" in self.fields and supplier is not None:
            cleaned["currency"] = orders.currency_normalize(cleaned.get("currency")) or supplier.currency
        if self.instance.pk is None and supplier is not None and cleaned.get("warehouse"):
            for problem in orders.purchase_order_header_problems(
                supplier=supplier, warehouse=cleaned["warehouse"], currency=cleaned["currency"]
            ):
                self.add_error(problem.field, problem.message)
        elif "currency" in self.changed_data and cleaned.get("currency"):
            problem = orders.currency_problem(cleaned["currency"])
            if problem is not None:
                self.add_error("currency", problem.message)
        return cleaned


class PurchaseOrderLineForm(forms.ModelForm):
    """A line; an empty unit cost takes the supplier product's (the service fills it in)."""

    unit_cost = forms.DecimalField(
        label=_("unit cost"),
        max_digits=12,
        decimal_places=4,
        min_value=0,
        required=False,
        help_text=_("Empty: the supplier product's cost."),
    )
    quantity = forms.IntegerField(label=_("quantity"), min_value=1, max_value=QUANTITY_MAX)

    class Meta:
        model = PurchaseOrderLine
        fields = ["product", "quantity", "unit_cost"]


class PurchaseOrderLineFormSet(BaseInlineFormSet):
    """The lines of a draft, checked by the rules of purchasing.orders: each problem on its line's field."""

    def line_forms(self) -> list[forms.Form]:
        """The forms that are lines: filled in and not marked for deletion, in the order shown."""
        return [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None)
            and form.cleaned_data.get("product")
            and not form.cleaned_data.get("DELETE")
        ]

    def lines(self) -> list[tuple]:
        return [
            (form.cleaned_data["product"], form.cleaned_data["quantity"], form.cleaned_data.get("unit_cost"))
            for form in self.line_forms()
        ]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        order = self.instance
        supplier = getattr(order, "supplier", None) if order.supplier_id else None
        if supplier is None:
            return  # the order form says what is missing
        currency = order.currency or supplier.currency
        _planned, problems = orders.purchase_order_lines_plan(supplier=supplier, currency=currency, lines=self.lines())
        line_forms = self.line_forms()
        for problem in problems:
            match = _LINE_FIELD.match(problem.field or "")
            if match and int(match.group(1)) < len(line_forms):
                form = line_forms[int(match.group(1))]
                field = match.group(2) if match.group(2) in form.fields else None
                form.add_error(field, problem.message)
            else:
                raise forms.ValidationError(labelled(problem.field, problem.message))


class PurchaseOrderLineInline(TabularInline):
    model = PurchaseOrderLine
    form = PurchaseOrderLineForm
    formset = PurchaseOrderLineFormSet
    fields = [
        "product",
        "supplier_sku",
        "quantity",
        "unit_cost",
        "quantity_received",
        "quantity_rejected",
        "still_open",
    ]
    readonly_fields = ["supplier_sku", "quantity_received", "quantity_rejected", "still_open"]
    autocomplete_fields = ["product"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product").order_by("id")

    @admin.display(description=_("open"))
    def still_open(self, line: PurchaseOrderLine) -> int | str:
        return line.quantity_open if line.pk else "-"

    def _editable(self, request, order: PurchaseOrder | None) -> bool:
        allowed = request.user.has_perm("purchasing.change_purchaseorder")
        return allowed and (order is None or order.status == Status.DRAFT)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._editable(request, obj)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("purchasing.view_purchaseorder")


class PurchaseOrderEventInline(StatusEventInline):
    model = PurchaseOrderEvent
    statuses = Status


class CancelForm(forms.Form):
    note = forms.CharField(label=_("Why"), max_length=255, required=False, help_text=_("Kept in each order's history."))


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(SpreadsheetAdmin):
    form = PurchaseOrderForm
    inlines = [PurchaseOrderLineInline, PurchaseOrderEventInline]
    list_display = [
        "number",
        "supplier",
        "warehouse",
        "status",
        "currency",
        "line_count",
        "units",
        "total_value",
        "expected_on",
        "submitted_at",
        "created_at",
    ]
    list_select_related = ["supplier", "warehouse"]
    list_filter = [
        "status",
        ("supplier", admin.RelatedOnlyFieldListFilter),
        ("warehouse", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["=number", "supplier__name", "supplier_reference"]
    search_help_text = _("Order number, supplier name or the supplier's reference.")
    ordering = ["-id"]
    autocomplete_fields = ["supplier", "warehouse"]
    actions = ["submit_orders", "cancel_orders", "download_pdf"]
    HISTORY = ["created_by", "submitted_at", "received_at", "created_at", "updated_at"]

    # --- lists and forms

    def get_queryset(self, request):
        return selectors.purchase_order_list()

    @admin.display(description=_("lines"), ordering="line_count")
    def line_count(self, order: PurchaseOrder) -> int:
        return order.line_count

    @admin.display(description=_("units"), ordering="units")
    def units(self, order: PurchaseOrder) -> int:
        return order.units

    @admin.display(description=_("value"), ordering="total_value")
    def total_value(self, order: PurchaseOrder) -> str:
        return f"{order.total_value:,.2f} {order.currency}"

    def get_fieldsets(self, request, obj=None):
        header = ["supplier", "warehouse", "currency", "expected_on", "supplier_reference", "note"]
        if obj is None:
            return [(None, {"fields": header})]
        return [
            (None, {"fields": ["number", "status", *header]}),
            (_("History"), {"fields": self.HISTORY, "classes": ["collapse"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        fixed = ["number", "status", "supplier", *self.HISTORY]
        if obj.status != Status.DRAFT:
            fixed += ["warehouse", "currency"]
        return fixed

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status in CLOSED_STATUSES:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    # --- saving through the services

    def save_model(self, request, obj, form, change):
        # The order and its lines are written together in save_related, by one service call.
        pass

    def save_related(self, request, form, formsets, change):
        order = form.instance
        lines = None
        for formset in formsets:
            if formset.model is PurchaseOrderLine and (not change or formset.has_changed()):
                lines = formset.lines()
            # Read by the admin's change message; the service, not formset.save(), wrote the lines.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        data = form.cleaned_data
        if not change:
            created = orders.purchase_order_create(
                supplier=data["supplier"],
                warehouse=data["warehouse"],
                lines=lines or [],
                currency=data.get("currency") or None,
                expected_on=data.get("expected_on"),
                supplier_reference=data.get("supplier_reference", ""),
                note=data.get("note", ""),
                user=request.user,
            )
            adopt_saved(order, created)
            return
        changed = {name: data[name] for name in form.changed_data if name in orders.HEADER_FIELDS}
        orders.purchase_order_update(purchase_order=order, data=changed, lines=lines)

    # --- actions

    def has_submit_orders_permission(self, request) -> bool:
        return request.user.has_perm("purchasing.change_purchaseorder")

    def has_cancel_orders_permission(self, request) -> bool:
        return request.user.has_perm("purchasing.change_purchaseorder")

    def has_download_pdf_permission(self, request) -> bool:
        return request.user.has_perm("purchasing.view_purchaseorder")

    def _each(self, request, queryset, service, done: str) -> None:
        """``service`` for each chosen order, each in its own transaction; says which were done and each refusal."""
        succeeded = []
        for order in queryset.order_by("id"):
            try:
                service(order)
            except DomainError as error:
                self.message_user(
                    request,
                    gettext("%(number)s: %(message)s") % {"number": order.number, "message": error.message},
                    level=messages.ERROR,
                )
            else:
                succeeded.append(order.number)
        if succeeded:
            self.message_user(
                request,
                gettext("%(done)s: %(numbers)s.") % {"done": done, "numbers": ", ".join(succeeded)},
                level=messages.SUCCESS,
            )

    @admin.action(description=_("Submit the selected drafts to their suppliers"), permissions=["submit_orders"])
    def submit_orders(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda order: orders.purchase_order_submit(purchase_order=order, user=request.user),
            gettext("Submitted"),
        )

    @admin.action(description=_("Cancel the selected orders"), permissions=["cancel_orders"])
    def cancel_orders(self, request, queryset):
        form = CancelForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            note = form.cleaned_data["note"]
            self._each(
                request,
                queryset,
                lambda order: orders.purchase_order_cancel(purchase_order=order, note=note, user=request.user),
                gettext("Cancelled"),
            )
            return None
        chosen = list(queryset.order_by("id").values_list("pk", "number"))
        return action_form_page(
            self,
            request,
            chosen=chosen,
            chosen_text=ngettext("Cancel this order:", "Cancel these orders:", len(chosen)),
            form=form,
            action="cancel_orders",
            title=gettext("Cancel purchase orders"),
            submit=gettext("Cancel them"),
        )

    @admin.action(description=_("Download as PDF (several: one PDF)"), permissions=["download_pdf"])
    def download_pdf(self, request, queryset) -> HttpResponse:
        chosen = list(queryset.select_related("supplier", "warehouse", "created_by").order_by("id"))
        if len(chosen) == 1:
            return file_response(purchase_order_pdf(chosen[0]), "application/pdf", f"{chosen[0].number}.pdf")
        return file_response(purchase_orders_pdf(chosen), "application/pdf", "purchase-orders.pdf")

    # --- import and export (purchasing.po_resources)

    def get_import_resource_classes(self, request):
        return [PurchaseOrderImportResource]

    def get_export_resource_classes(self, request):
        return [PurchaseOrderLineExportResource]

    def generate_log_entries(self, result, request):
        # One entry per order made or changed, not one per row of the file.
        by_type: dict[str, dict[int, Any]] = {}
        for row in result:
            if row.instance is not None:
                by_type.setdefault(row.import_type, {})[row.instance.pk] = row.instance
        self._create_log_entries(
            request.user.pk, {import_type: list(found.values()) for import_type, found in by_type.items()}
        )

    def add_success_message(self, result, request):
        numbers = sorted({row.instance.number for row in result if row.instance is not None})
        self.message_user(
            request,
            ngettext(
                "Imported %(rows)s line into %(numbers)s.",
                "Imported %(rows)s lines into %(numbers)s.",
                result.total_rows,
            )
            % {"rows": result.total_rows, "numbers": ", ".join(numbers)},
            level=messages.SUCCESS,
        )
