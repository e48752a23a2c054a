"""Purchase orders to and from spreadsheets: their lines exported (CSV or XLSX, the API's and the admin's), and a
sheet of lines imported as draft orders, all or nothing.

One row is one line. The export's columns are EXPORT_COLUMNS; the import reads IMPORT_COLUMNS and accepts the
export's other columns (status, supplier_sku, received, rejected) without reading them, so an export of drafts,
edited, imports back. Which order a row belongs to is its ``number``:

* empty: a new draft per supplier, warehouse, currency and expected date (the rows of one supplier and warehouse
  become one order, as with suggestions);
* the number of an existing order (PO-000123): the rows are that draft's lines, replacing the ones it has (the
  order must still be a draft, and the rows must name its supplier and warehouse);
* anything else (``A``, ``new-1``): a key grouping rows into one new draft, whose rows must agree on the supplier,
  the warehouse, the currency and the expected date.

Every problem is reported with its spreadsheet row (the header is row 1) and column, and nothing is saved while
any is left. Orders and lines are written by the services of purchasing.orders, so an import obeys the rules of
the API and the admin (costs from the supplier's products, one line per product, quantities added up).

The admin reaches both through django-import-export: ``PurchaseOrderLineExportResource`` (lines of the orders
chosen) and ``PurchaseOrderImportResource``, whose import runs the one import service and reports its outcome
in django-import-export's result, so the admin's preview and confirmation work as for other imports.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import tablib
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.fields import Field
from import_export.results import RowResult

from core.errors import DomainError, ErrorDetail, ValidationFailed
from core.limits import QUANTITY_MAX, quantity_problem
from core.resources import SpreadsheetError, SpreadsheetResource
from core.sheets import SheetColumn, SheetLayout, SheetSource, sheet_open, sheet_open_table
from core.spreadsheet import escape_formula
from inventory.models import Product, Warehouse, normalize_code
from purchasing import selectors
from purchasing.models import PurchaseOrder, PurchaseOrderLine, Supplier
from purchasing.orders import (
    Status,
    currency_normalize,
    purchase_order_create,
    purchase_order_update,
    unit_cost_parse,
)

EXPORT_COLUMNS = [
    "number",
    "status",
    "supplier",
    "warehouse",
    "sku",
    "supplier_sku",
    "quantity",
    "unit_cost",
    "currency",
    "received",
    "rejected",
    "expected_on",
]
IMPORT_COLUMNS = ["number", "supplier", "warehouse", "sku", "quantity", "unit_cost", "currency", "expected_on"]
# Columns of the export the import accepts and leaves alone: they are the system's to fill.
IGNORED_COLUMNS = ["status", "supplier_sku", "received", "rejected"]
MAX_ROWS = 10_000
NUMBER_PATTERN = re.compile(r"^PO-\d+$", re.IGNORECASE)

_order_field = PurchaseOrder._meta.get_field
_line_field = PurchaseOrderLine._meta.get_field
PURCHASE_ORDER_SHEET = SheetLayout(
    columns=(
        SheetColumn.for_field(_order_field("number"), aliases=("order", "po", "group")),
        SheetColumn.for_field(_order_field("supplier"), is_required=True, is_text=True),
        SheetColumn.for_field(_order_field("warehouse"), is_required=True, is_text=True),
        SheetColumn.for_field(Product._meta.get_field("sku"), is_required=True),
        SheetColumn.for_field(_line_field("quantity"), aliases=("qty",), is_required=True, is_text=True),
        SheetColumn.for_field(_line_field("unit_cost"), aliases=("cost",), is_text=True),
        SheetColumn.for_field(_order_field("currency")),
        SheetColumn.for_field(_order_field("expected_on"), is_text=True),
        SheetColumn.for_field(_order_field("status")),
        SheetColumn.for_field(_line_field("supplier_sku")),
        SheetColumn.for_field(_line_field("quantity_received"), name="received", is_text=True),
        SheetColumn.for_field(_line_field("quantity_rejected"), name="rejected", is_text=True),
    ),
    max_rows=MAX_ROWS,
)


# --- Export ----------------------------------------------------------------------------------------------------


def purchase_order_line_row(line: PurchaseOrderLine) -> list[Any]:
    """One exported line, in EXPORT_COLUMNS order (formulas are escaped by whoever writes the file)."""
    order = line.purchase_order
    return [
        order.number,
        order.status,
        order.supplier.name,
        order.warehouse.code,
        line.product.sku,
        line.supplier_sku,
        line.quantity,
        line.unit_cost,
        order.currency,
        line.quantity_received,
        line.quantity_rejected,
        order.expected_on.isoformat() if order.expected_on else "",
    ]


# --- Import ----------------------------------------------------------------------------------------------------


@dataclass
class _Row:
    sheet_row: int
    values: dict[str, Any]
    supplier: Supplier | None = None
    warehouse: Warehouse | None = None
    product: Product | None = None
    quantity: int | None = None
    unit_cost: Decimal | None = None
    currency: str = ""
    expected_on: dt.date | None = None


@dataclass
class _Group:
    """The rows of one order: an existing draft (``order``) or a new one."""

    key: str
    rows: list[_Row] = field(default_factory=list)
    order: PurchaseOrder | None = None


@dataclass(frozen=True)
class ImportedOrders:
    """What an import made: new drafts and drafts whose lines it replaced, and which order each row went to."""

    created: list[PurchaseOrder]
    updated: list[PurchaseOrder]
    order_of_row: dict[int, PurchaseOrder]

    @property
    def orders(self) -> list[PurchaseOrder]:
        return sorted([*self.created, *self.updated], key=lambda order: order.pk)


def _whole_number(text: Any) -> int | str:
    """A cell as a whole number, or the text it holds when it is not one (for quantity_problem to name)."""
    try:
        number = Decimal(str(text).strip())
    except InvalidOperation:
        return str(text)
    if not number.is_finite() or number != number.to_integral_value():
        return str(text)
    return int(number)


def purchase_orders_import(*, source: SheetSource, user=None) -> ImportedOrders:
    """Import a CSV or XLSX file of lines (see the module docstring); raises ValidationFailed listing every problem."""
    return purchase_orders_import_rows(rows=sheet_open(source=source, layout=PURCHASE_ORDER_SHEET), user=user)


@transaction.atomic
def purchase_orders_import_rows(*, rows: Iterable[Mapping[str, Any]], user=None) -> ImportedOrders:
    """Rows (column → cell, ``_row`` the spreadsheet row) as draft orders, all or nothing.

    Suppliers, warehouses, products and existing orders are loaded in one query each; then every row is checked,
    then each order whose rows are good is written by purchase_order_create or purchase_order_update (each in a
    savepoint), whose refusals are reported on the rows and columns they are about; any problem rolls all back."""
    parsed = [
        _Row(sheet_row=int(row.get("_row") or position + 2), values=dict(row)) for position, row in enumerate(rows)
    ]
    if not parsed:
        raise ValidationFailed(
            _("The file has no rows to import."), errors=[ErrorDetail(_("No rows."), field="rows", code="empty")]
        )
    errors: list[ErrorDetail] = []

    def refuse(row: _Row, column: str, message: str, code: str) -> None:
        errors.append(ErrorDetail(message, field=column, row=row.sheet_row, code=code))

    def text(row: _Row, column: str) -> str:
        value = row.values.get(column)
        return "" if value is None else str(value).strip()

    suppliers = {
        supplier.name: supplier
        for supplier in Supplier.objects.filter(name__in={text(row, "supplier") for row in parsed})
    }
    warehouses = {
        warehouse.code: warehouse
        for warehouse in Warehouse.objects.filter(code__in={normalize_code(text(row, "warehouse")) for row in parsed})
    }
    products = {
        product.sku: product
        for product in Product.objects.filter(sku__in={normalize_code(text(row, "sku")) for row in parsed})
    }
    numbers = {text(row, "number").upper() for row in parsed if NUMBER_PATTERN.match(text(row, "number"))}
    orders = {
        order.number: order
        for order in PurchaseOrder.objects.filter(number__in=numbers).select_related("supplier", "warehouse")
    }

    for row in parsed:
        name = text(row, "supplier")
        row.supplier = suppliers.get(name)
        if not name:
            refuse(row, "supplier", _("Supplier is required."), "required")
        elif row.supplier is None:
            refuse(row, "supplier", _("No supplier is named %(name)s.") % {"name": name}, "unknown_supplier")
        code = normalize_code(text(row, "warehouse"))
        row.warehouse = warehouses.get(code)
        if not code:
            refuse(row, "warehouse", _("Warehouse is required."), "required")
        elif row.warehouse is None:
            refuse(row, "warehouse", _("No warehouse has code %(code)s.") % {"code": code}, "unknown_warehouse")
        sku = normalize_code(text(row, "sku"))
        row.product = products.get(sku)
        if not sku:
            refuse(row, "sku", _("SKU is required."), "required")
        elif row.product is None:
            refuse(row, "sku", _("Unknown SKU %(sku)s.") % {"sku": sku}, "unknown_sku")
        if not text(row, "quantity"):
            refuse(row, "quantity", _("Quantity is required."), "required")
        else:
            quantity = _whole_number(text(row, "quantity"))
            problem = quantity_problem(quantity, field="quantity", maximum=QUANTITY_MAX)
            if problem is not None:
                refuse(row, "quantity", problem.message, problem.code)
            else:
                row.quantity = quantity
        if text(row, "unit_cost"):
            row.unit_cost, problem = unit_cost_parse(text(row, "unit_cost"))
            if problem is not None:
                refuse(row, "unit_cost", problem.message, problem.code)
        row.currency = currency_normalize(text(row, "currency"))
        if text(row, "expected_on"):
            try:
                row.expected_on = dt.date.fromisoformat(text(row, "expected_on")[:10])
            except ValueError:
                refuse(
                    row,
                    "expected_on",
                    _("%(value)s is not a date; write it as 2025-03-31.") % {"value": repr(text(row, "expected_on"))},
                    "invalid",
                )

    groups = _groups(parsed, orders, refuse, text)
    created: list[PurchaseOrder] = []
    updated: list[PurchaseOrder] = []
    order_of_row: dict[int, PurchaseOrder] = {}
    bad_rows = {error.row for error in errors}
    for group in groups:
        if any(row.sheet_row in bad_rows for row in group.rows):
            continue  # its own problems are listed; the services' are looked for in the other orders
        first = group.rows[0]
        lines = [(row.product, row.quantity, row.unit_cost) for row in group.rows]
        try:
            # A savepoint per order, so the refusals of every order are collected before all is rolled back.
            with transaction.atomic():
                if group.order is not None:
                    order = purchase_order_update(
                        purchase_order=group.order,
                        data={"expected_on": first.expected_on} if first.expected_on else {},
                        lines=lines,
                    )
                    updated.append(order)
                else:
                    order = purchase_order_create(
                        supplier=first.supplier,
                        warehouse=first.warehouse,
                        lines=lines,
                        currency=first.currency or None,
                        expected_on=first.expected_on,
                        user=user,
                    )
                    created.append(order)
        except DomainError as error:
            errors.extend(_on_rows(error, group))
            continue
        for row in group.rows:
            order_of_row[row.sheet_row] = order
    if errors:
        raise _import_failure(errors, len(parsed))
    return ImportedOrders(created=created, updated=updated, order_of_row=order_of_row)


def _groups(parsed: list[_Row], orders: dict[str, PurchaseOrder], refuse, text) -> list[_Group]:
    """The rows grouped into orders, each group checked for agreeing rows (and an existing order for being a
    draft of the same supplier and warehouse)."""
    groups: dict[tuple, _Group] = {}
    for row in parsed:
        if row.supplier is None or row.warehouse is None:
            continue  # reported already; without them the row belongs to no order
        number = text(row, "number")
        if not number:
            # Rows without a number agree by construction: what they must agree on is their key.
            key: tuple = ("", row.supplier.pk, row.warehouse.pk, row.currency or row.supplier.currency, row.expected_on)
            label = ""
        elif NUMBER_PATTERN.match(number):
            label = number.upper()
            key = ("order", label)
            if label not in orders:
                refuse(
                    row,
                    "number",
                    _(
                        "No purchase order has number %(number)s; leave the number empty, or write a key of your "
                        "own (such as A), for a new order."
                    )
                    % {"number": label},
                    "unknown_order",
                )
                continue
        else:
            label = number
            key = ("key", number)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(key=label, order=orders.get(label) if key[0] == "order" else None)
            if group.order is not None and group.order.status != Status.DRAFT:
                refuse(
                    row,
                    "number",
                    _("%(number)s is %(status)s; only a draft's lines can be imported.")
                    % {"number": label, "status": group.order.get_status_display().lower()},
                    "not_draft",
                )
        elif group.rows:
            _agree(group, row, refuse)
        if group.order is not None:
            _agree_with_order(group.order, row, refuse)
        group.rows.append(row)
    return [group for group in groups.values() if group.rows]


def _agree(group: _Group, row: _Row, refuse) -> None:
    """A row of a group names what the group's first row named (the supplier, the warehouse, ...)."""
    first = group.rows[0]
    checks = [
        ("supplier", first.supplier.name, row.supplier.name),
        ("warehouse", first.warehouse.code, row.warehouse.code),
        ("currency", first.currency, row.currency),
        ("expected_on", first.expected_on, row.expected_on),
    ]
    for column, expected, found in checks:
        if expected != found:
            refuse(
                row,
                column,
                _("Order %(key)s has %(column)s %(expected)s (row %(row)s); this row has %(found)s.")
                % {
                    "key": group.key,
                    "column": column,
                    "expected": expected or "-",
                    "row": first.sheet_row,
                    "found": found or "-",
                },
                "group_differs",
            )


def _agree_with_order(order: PurchaseOrder, row: _Row, refuse) -> None:
    checks = [
        ("supplier", order.supplier.name, row.supplier.name),
        ("warehouse", order.warehouse.code, row.warehouse.code),
        ("currency", order.currency, row.currency or order.currency),
    ]
    for column, expected, found in checks:
        if expected != found:
            refuse(
                row,
                column,
                _("%(number)s has %(column)s %(expected)s; this row has %(found)s.")
                % {"number": order.number, "column": column, "expected": expected, "found": found},
                "order_differs",
            )


# A service's field names as the sheet's columns.
_COLUMN_OF_FIELD = {"product": "sku", "quantity": "quantity", "unit_cost": "unit_cost"}
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


def _on_rows(error: DomainError, group: _Group) -> list[ErrorDetail]:
    """A service's refusal of one order as problems of the rows and columns it is about."""
    found = []
    for detail in error.errors or [ErrorDetail(error.message, code=error.code)]:
        match = _LINE_FIELD.match(detail.field or "")
        if match and int(match.group(1)) < len(group.rows):
            row = group.rows[int(match.group(1))]
            column = _COLUMN_OF_FIELD.get(match.group(2), match.group(2))
        else:
            row = group.rows[0]
            column = detail.field if detail.field in IMPORT_COLUMNS else "number"
        found.append(ErrorDetail(detail.message, field=column, row=row.sheet_row, code=detail.code))
    return found


def _import_failure(errors: list[ErrorDetail], total: int) -> ValidationFailed:
    order = {column: index for index, column in enumerate(IMPORT_COLUMNS)}
    errors = sorted(errors, key=lambda error: (error.row or 0, order.get(error.field or "", len(order))))
    bad = len({error.row for error in errors})
    return ValidationFailed(
        _("Nothing was imported: %(bad)s of %(total)s rows have errors.") % {"bad": bad, "total": total},
        errors=errors,
    )


# --- The admin's resources ------------------------------------------------------------------------------------


def _export_field(column: str, attribute: str | None = None) -> Field:
    # ``attribute`` names the model field whose verbose name labels the column on the admin's export page.
    return Field(attribute=attribute, column_name=column, readonly=True)


class PurchaseOrderLineExportResource(SpreadsheetResource):
    """The lines of the orders the admin chose (its changelist's filters, or the rows ticked), EXPORT_COLUMNS."""

    number = _export_field("number")
    status = _export_field("status")
    supplier = _export_field("supplier")
    warehouse = _export_field("warehouse")
    sku = _export_field("sku")
    supplier_sku = _export_field("supplier_sku", "supplier_sku")
    quantity = _export_field("quantity", "quantity")
    unit_cost = _export_field("unit_cost", "unit_cost")
    currency = _export_field("currency")
    received = _export_field("received", "quantity_received")
    rejected = _export_field("rejected", "quantity_rejected")
    expected_on = _export_field("expected_on")

    class Meta:
        model = PurchaseOrderLine
        name = gettext_lazy("Purchase order lines")
        fields = EXPORT_COLUMNS
        export_order = EXPORT_COLUMNS

    def filter_export(self, queryset, **kwargs):
        # The admin hands over the orders chosen; the rows are their lines.
        if queryset is None or queryset.model is PurchaseOrder:
            return selectors.purchase_order_line_list(queryset)
        return queryset.select_related("purchase_order__supplier", "purchase_order__warehouse", "product")

    def export_resource(self, instance, selected_fields=None, **kwargs):
        values = dict(zip(EXPORT_COLUMNS, purchase_order_line_row(instance), strict=True))
        return [escape_formula(values[field.column_name]) for field in self.get_export_fields(selected_fields)]


class PurchaseOrderImportResource(SpreadsheetResource):
    """A sheet of lines as draft orders, through purchase_orders_import_rows (see the module docstring).

    The admin's import gives a Dataset read by core.sheets; its header is checked against PURCHASE_ORDER_SHEET.
    The dry run (the preview) runs the import and rolls it back, so the preview shows what the orders will be, or
    every problem with its row and column. One result row per sheet row: new (a new draft) or update (a draft whose
    lines it replaced)."""

    number = Field(column_name="number")
    supplier = Field(column_name="supplier")
    warehouse = Field(column_name="warehouse")
    sku = Field(column_name="sku")
    quantity = Field(column_name="quantity")
    unit_cost = Field(column_name="unit_cost")
    currency = Field(column_name="currency")
    expected_on = Field(column_name="expected_on")

    class Meta:
        model = PurchaseOrder
        name = gettext_lazy("Purchase order lines")
        fields = IMPORT_COLUMNS
        import_id_fields = ["number"]

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        result = self.get_result_class()()
        result.diff_headers = list(IMPORT_COLUMNS)
        rows: list[dict[str, Any]] = []
        try:
            rows = _dataset_rows(dataset)
            result.total_rows = len(rows)
            with transaction.atomic():
                imported = purchase_orders_import_rows(rows=rows, user=kwargs.get("user"))
                if dry_run:
                    transaction.set_rollback(True)
        except ValidationFailed as error:
            if raise_errors:
                raise
            _failure_into(result, error, rows)
            return result
        updated = {order.pk for order in imported.updated}
        for row in rows:
            order = imported.order_of_row[row["_row"]]
            row_result = RowResult()
            row_result.import_type = RowResult.IMPORT_TYPE_UPDATE if order.pk in updated else RowResult.IMPORT_TYPE_NEW
            row_result.diff = [_shown(row, column, order) for column in IMPORT_COLUMNS]
            row_result.instance = order
            row_result.add_instance_info(order)
            result.append_row_result(row_result)
            result.increment_row_result_total(row_result)
        return result


def _shown(row: Mapping[str, Any], column: str, order: PurchaseOrder) -> str:
    if column == "number":
        return order.number
    value = row.get(column)
    return "" if value is None else str(value)


def _dataset_rows(dataset: tablib.Dataset) -> list[dict[str, Any]]:
    """The admin's Dataset as row dicts with their spreadsheet rows; its header checked by PURCHASE_ORDER_SHEET."""
    sheet = sheet_open_table(rows=[dataset.headers or [], *dataset], layout=PURCHASE_ORDER_SHEET)
    numbers = getattr(dataset, "row_numbers", None)
    header_row = getattr(dataset, "header_row", 1)
    rows = []
    for row in sheet:
        position = row["_row"] - sheet.header_row - 1
        row["_row"] = numbers[position] if numbers and position < len(numbers) else header_row + 1 + position
        rows.append(row)
    return rows


def _failure_into(result, error: ValidationFailed, rows: list[dict[str, Any]]) -> None:
    """A refused import as django-import-export shows it: each bad row with its problems by column, and problems of
    no row (the header, the file) as an error of the whole import."""
    by_row: dict[int, dict[str, list[ValidationError]]] = {}
    whole: list[ErrorDetail] = []
    for detail in error.errors:
        # Before the rows were read, a problem is the file's (its header, say), whatever row it names.
        if not rows or detail.row is None or detail.field == "rows":
            whole.append(detail)
            continue
        by_row.setdefault(detail.row, {}).setdefault(detail.field or "number", []).append(
            ValidationError(detail.message, code=detail.code)
        )
    values_of = {row["_row"]: row for row in rows}
    for number, problems in sorted(by_row.items()):
        result.append_invalid_row(number, values_of.get(number, {}), ValidationError(problems))
    if whole or not by_row:
        result.append_base_error(SpreadsheetError(ValidationFailed(error.message, code=error.code, errors=whole)))
