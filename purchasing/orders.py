"""Purchase orders: their status machine, drafts made from suggestions (one per supplier), submit, cancel, and
the lines a buyer edits while the order is a draft.

A line's unit cost and supplier SKU come from the supplier's SupplierProduct for that product unless the buyer
gives a cost; a product the supplier has no row for can be ordered only with a cost given. A SupplierProduct's
cost is in the supplier's currency, so an order in another currency needs every cost given. The same product
given twice is one line with the quantities added up. Lines change only while the order is a draft; the
supplier's reference, the expected date and the note may still change while goods are awaited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext_lazy

from core.errors import Conflict, ErrorDetail, ValidationFailed, errors_summary, words_join
from core.limits import QUANTITY_MAX, quantity_problem
from core.status import StatusMachine, next_id, status_check, status_lock, status_start, status_transition
from core.validators import validate_currency
from inventory.models import Product, Transfer, Warehouse
from inventory.transfer_services import transfer_create
from purchasing.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Suggestion,
    Supplier,
    SupplierProduct,
)

Status = PurchaseOrder.Status

# partially_received → partially_received is a further receipt, audited like a status change; partially_received →
# received is also how a buyer closes an order short (the rest will not come).
PO_STATUS = StatusMachine(
    model=PurchaseOrder,
    status_choices=Status,
    transitions={
        "": {Status.DRAFT},
        Status.DRAFT: {Status.SUBMITTED, Status.CANCELLED},
        Status.SUBMITTED: {Status.PARTIALLY_RECEIVED, Status.RECEIVED, Status.CANCELLED},
        Status.PARTIALLY_RECEIVED: {Status.PARTIALLY_RECEIVED, Status.RECEIVED},
        Status.RECEIVED: set(),
        Status.CANCELLED: set(),
    },
    event_model=PurchaseOrderEvent,
    event_document_field="purchase_order",
    label=pgettext_lazy("document", "Purchase order"),
    lock_related=("supplier", "warehouse"),
)
# What a warehouse can receive against, and what counts as incoming stock in the suggestions.
RECEIVABLE_STATUSES = (Status.SUBMITTED, Status.PARTIALLY_RECEIVED)
# While goods are awaited the supplier's reference, the expected date and the note may still change.
OPEN_STATUSES = (Status.DRAFT, *RECEIVABLE_STATUSES)

NUMBER_PREFIX = "PO-"
# unit_cost is DECIMAL(12, 4): eight digits before the point, four after.
UNIT_COST_PLACES = 4
UNIT_COST_LIMIT = Decimal(10) ** (12 - UNIT_COST_PLACES)
HEADER_FIELDS = frozenset({"warehouse", "currency", "expected_on", "supplier_reference", "note"})
# What may change once the order is submitted: the rest is what the supplier was sent.
HEADER_FIELDS_AFTER_SUBMIT = frozenset({"expected_on", "supplier_reference", "note"})
SUPPLIER_REFERENCE_MAX_LENGTH = PurchaseOrder._meta.get_field("supplier_reference").max_length

LineInput = tuple[Product, Any, Any]  # (product, quantity, unit cost or None)


def purchase_order_number(pk: int) -> str:
    """``PO-000123``: the number is the primary key, taken before the INSERT (see core.status.next_id)."""
    return f"{NUMBER_PREFIX}{pk:06d}"


# --- Rules of the header and the lines (one definition for the services, the API, the admin and the import) ------


def currency_normalize(value: Any) -> str:
    return str(value or "").strip().upper()


def currency_problem(currency: str, field_name: str = "currency") -> ErrorDetail | None:
    try:
        validate_currency(currency)
    except DjangoValidationError as error:
        return ErrorDetail(error.messages[0], field=field_name, code="currency")
    return None


def unit_cost_parse(value: Any, *, field_name: str = "unit_cost") -> tuple[Decimal | None, ErrorDetail | None]:
    """``value`` as a unit cost (a decimal ≥ 0 with at most four places, below 100,000,000), or the problem.

    Text is read as typed ("12.5"); a float is read through its shortest text, so 0.1 is 0.1."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        return None, ErrorDetail(
            _("Must be a number (got %(value)s).") % {"value": repr(value)}, field=field_name, code="invalid"
        )
    try:
        cost = Decimal(str(value).strip())
    except InvalidOperation:
        return None, ErrorDetail(
            _("%(value)s is not a number.") % {"value": repr(value)}, field=field_name, code="invalid"
        )
    if not cost.is_finite():
        return None, ErrorDetail(
            _("%(value)s is not a number.") % {"value": repr(value)}, field=field_name, code="invalid"
        )
    if cost < 0:
        return None, ErrorDetail(
            _("Must be at least 0 (got %(value)s).") % {"value": cost}, field=field_name, code="min_value"
        )
    if cost >= UNIT_COST_LIMIT:
        return None, ErrorDetail(
            _("Must be less than %(limit)s (got %(value)s).") % {"limit": f"{UNIT_COST_LIMIT:,}", "value": cost},
            field=field_name,
            code="max_value",
        )
    if cost != cost.quantize(Decimal(1).scaleb(-UNIT_COST_PLACES), rounding="ROUND_DOWN"):
        return None, ErrorDetail(
            _("At most %(places)s decimal places (got %(value)s).") % {"places": UNIT_COST_PLACES, "value": cost},
            field=field_name,
            code="max_decimal_places",
        )
    return cost.quantize(Decimal(1).scaleb(-UNIT_COST_PLACES)), None


def _sku_problem(product: Product, detail: ErrorDetail) -> ErrorDetail:
    """``SKU-1: quantity must be …``: a field rule's message with the product it is about."""
    message = detail.message[0].lower() + detail.message[1:]
    return ErrorDetail(
        _("%(sku)s: %(problem)s") % {"sku": product.sku, "problem": message}, field=detail.field, code=detail.code
    )


def _warehouse_inactive(warehouse: Warehouse) -> ErrorDetail:
    return ErrorDetail(
        _("Warehouse %(code)s is not active; goods cannot be delivered there.") % {"code": warehouse.code},
        field="warehouse",
        code="inactive",
    )


def purchase_order_header_problems(
    *, supplier: Supplier | None, warehouse: Warehouse | None, currency: str
) -> list[ErrorDetail]:
    """What is wrong with a new order's supplier, warehouse and currency (normalized), field by field."""
    errors: list[ErrorDetail] = []
    if supplier is not None and not supplier.is_active:
        errors.append(
            ErrorDetail(
                _("Supplier %(supplier)s is not active; activate it or order from another supplier.")
                % {"supplier": supplier.name},
                field="supplier",
                code="inactive",
            )
        )
    if warehouse is not None and not warehouse.is_active:
        errors.append(_warehouse_inactive(warehouse))
    problem = currency_problem(currency)
    if problem is not None:
        errors.append(problem)
    return errors


@dataclass(frozen=True)
class PlannedLine:
    """One line as it will be stored: the product, its quantity (repeats added up), its cost and supplier SKU;
    ``index`` is the first input line it came from."""

    product: Product
    quantity: int
    unit_cost: Decimal
    supplier_sku: str
    index: int


def purchase_order_lines_plan(
    *, supplier: Supplier, currency: str, lines: Sequence[LineInput], prefix: str = "lines"
) -> tuple[list[PlannedLine], list[ErrorDetail]]:
    """The lines as they will be stored, and every problem, each named ``lines[2].quantity`` and so on.

    Costs and supplier SKUs come from the supplier's SupplierProducts (one query); a product given twice is one
    line with the quantities added up, and two different costs given for it are refused.
    """
    errors: list[ErrorDetail] = []
    product_ids = {product.pk for product, _quantity, _cost in lines}
    supplier_products = {
        row.product_id: row for row in SupplierProduct.objects.filter(supplier=supplier, product_id__in=product_ids)
    }
    planned: dict[int, dict[str, Any]] = {}
    for index, (product, quantity, given_cost) in enumerate(lines):
        where = f"{prefix}[{index}]"
        bad = False
        problem = quantity_problem(quantity, field=f"{where}.quantity")
        if problem is not None:
            errors.append(_sku_problem(product, problem))
            bad = True
        if product.is_bundle:
            errors.append(
                ErrorDetail(
                    _("%(sku)s is a bundle; order its components.") % {"sku": product.sku},
                    field=f"{where}.product",
                    code="bundle",
                )
            )
            bad = True
        cost = None
        if given_cost is not None:
            cost, problem = unit_cost_parse(given_cost, field_name=f"{where}.unit_cost")
            if problem is not None:
                errors.append(_sku_problem(product, problem))
                bad = True
        supplier_product = supplier_products.get(product.pk)
        if given_cost is None:
            if supplier_product is None:
                errors.append(
                    ErrorDetail(
                        _("%(supplier)s has no supplier product for %(sku)s; give the unit cost.")
                        % {"supplier": supplier.name, "sku": product.sku},
                        field=f"{where}.unit_cost",
                        code="required",
                    )
                )
                bad = True
            elif currency != supplier.currency:
                errors.append(
                    ErrorDetail(
                        _(
                            "%(sku)s costs %(cost)s %(supplier_currency)s at %(supplier)s, but the order is in "
                            "%(currency)s; give the unit cost in %(currency)s."
                        )
                        % {
                            "sku": product.sku,
                            "cost": supplier_product.unit_cost,
                            "supplier_currency": supplier.currency,
                            "supplier": supplier.name,
                            "currency": currency,
                        },
                        field=f"{where}.unit_cost",
                        code="currency",
                    )
                )
                bad = True
            else:
                cost = supplier_product.unit_cost
        if bad:
            continue
        earlier = planned.get(product.pk)
        if earlier is None:
            planned[product.pk] = {
                "product": product,
                "quantity": quantity,
                "unit_cost": cost,
                "cost_given": given_cost is not None,
                "index": index,
            }
            continue
        if given_cost is not None:
            if earlier["cost_given"] and earlier["unit_cost"] != cost:
                errors.append(
                    ErrorDetail(
                        _("%(sku)s is on line %(line)s at %(cost)s; one product has one unit cost.")
                        % {"sku": product.sku, "line": earlier["index"] + 1, "cost": earlier["unit_cost"]},
                        field=f"{where}.unit_cost",
                        code="conflicting_cost",
                    )
                )
                continue
            earlier["unit_cost"], earlier["cost_given"] = cost, True
        total = earlier["quantity"] + quantity
        if total > QUANTITY_MAX:
            errors.append(
                ErrorDetail(
                    _("%(sku)s: %(total)s units with line %(line)s; one line holds at most %(maximum)s.")
                    % {
                        "sku": product.sku,
                        "total": f"{total:,}",
                        "line": earlier["index"] + 1,
                        "maximum": f"{QUANTITY_MAX:,}",
                    },
                    field=f"{where}.quantity",
                    code="max_value",
                )
            )
            continue
        earlier["quantity"] = total
    result = [
        PlannedLine(
            product=entry["product"],
            quantity=entry["quantity"],
            unit_cost=entry["unit_cost"],
            supplier_sku=supplier_products[product_id].supplier_sku if product_id in supplier_products else "",
            index=entry["index"],
        )
        for product_id, entry in planned.items()
    ]
    return result, errors


def _refuse(subject: str, errors: list[ErrorDetail]) -> None:
    if errors:
        raise ValidationFailed(errors_summary(subject, errors), errors=errors)


def _draft_check(order: PurchaseOrder, fields: Sequence[str] = ()) -> None:
    """Refuse (``not_draft``) unless ``order`` is a draft: its lines, or the header ``fields``, change only then."""
    if order.status == Status.DRAFT:
        return
    values = {"number": order.number, "status": PO_STATUS.status_label(order.status), "fields": words_join(fields)}
    if fields:
        message = _("%(number)s is %(status)s: %(fields)s can change only while it is a draft.") % values
    else:
        message = _("%(number)s is %(status)s: its lines can change only while it is a draft.") % values
    raise Conflict(message, code="not_draft", number=order.number, status=order.status)


# --- Create, and the lines of a draft ----------------------------------------------------------------------------


@transaction.atomic
def purchase_order_create(
    *,
    supplier: Supplier,
    warehouse: Warehouse,
    lines: Sequence[LineInput] = (),
    currency: str | None = None,
    expected_on: dt.date | None = None,
    supplier_reference: str = "",
    note: str = "",
    user=None,
) -> PurchaseOrder:
    """A draft order to ``supplier`` delivered to ``warehouse``; every problem is reported at once, nothing saved.

    ``lines`` are (product, quantity, unit cost or None); a draft may start empty and get its lines later.
    ``currency`` defaults to the supplier's."""
    currency = currency_normalize(currency) if currency else supplier.currency
    errors = purchase_order_header_problems(supplier=supplier, warehouse=warehouse, currency=currency)
    if len(supplier_reference) > SUPPLIER_REFERENCE_MAX_LENGTH:
        errors.append(_too_long("supplier_reference", SUPPLIER_REFERENCE_MAX_LENGTH))
    planned, line_errors = purchase_order_lines_plan(supplier=supplier, currency=currency, lines=lines)
    _refuse(_("The purchase order was not created"), errors + line_errors)

    order_id = next_id(PurchaseOrder)
    order = PurchaseOrder.objects.create(
        pk=order_id,
        number=purchase_order_number(order_id),
        supplier=supplier,
        warehouse=warehouse,
        status=Status.DRAFT,
        currency=currency,
        expected_on=expected_on,
        supplier_reference=supplier_reference,
        note=note,
        created_by=user,
    )
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(
                purchase_order=order,
                product=line.product,
                supplier_sku=line.supplier_sku,
                quantity=line.quantity,
                unit_cost=line.unit_cost,
            )
            for line in planned
        ]
    )
    status_start(machine=PO_STATUS, document=order, user=user)
    return order


def _too_long(field_name: str, maximum: int) -> ErrorDetail:
    return ErrorDetail(_("At most %(maximum)s characters.") % {"maximum": maximum}, field=field_name, code="max_length")


def _suggestions_reopen(**lines) -> None:
    """The suggestions ordered on these lines are open again (their line is gone, or its order cancelled)."""
    Suggestion.objects.filter(status=Suggestion.Status.ORDERED, **lines).update(
        status=Suggestion.Status.OPEN, purchase_order_line=None
    )


def _lines_write(order: PurchaseOrder, planned: Sequence[PlannedLine]) -> None:
    """Make the order's lines ``planned``: a product's existing line is updated in place, so what points at it (the
    suggestion it came from) stays linked; lines of products no longer given are deleted."""
    existing = {line.product_id: line for line in order.lines.all()}
    wanted = {line.product.pk for line in planned}
    doomed = [line.pk for product_id, line in existing.items() if product_id not in wanted]
    if doomed:
        _suggestions_reopen(purchase_order_line__in=doomed)
        PurchaseOrderLine.objects.filter(pk__in=doomed).delete()
    changed, created = [], []
    for line in planned:
        current = existing.get(line.product.pk)
        if current is None:
            created.append(
                PurchaseOrderLine(
                    purchase_order=order,
                    product=line.product,
                    supplier_sku=line.supplier_sku,
                    quantity=line.quantity,
                    unit_cost=line.unit_cost,
                )
            )
        elif (current.quantity, current.unit_cost, current.supplier_sku) != (
            line.quantity,
            line.unit_cost,
            line.supplier_sku,
        ):
            current.quantity, current.unit_cost, current.supplier_sku = (
                line.quantity,
                line.unit_cost,
                line.supplier_sku,
            )
            changed.append(current)
    if changed:
        PurchaseOrderLine.objects.bulk_update(changed, ["quantity", "unit_cost", "supplier_sku"])
    if created:
        PurchaseOrderLine.objects.bulk_create(created)
    if doomed or changed or created:
        order.save(update_fields=["updated_at"])


@transaction.atomic
def purchase_order_lines_set(
    *, purchase_order: PurchaseOrder, lines: Sequence[LineInput], prefix: str = "lines"
) -> PurchaseOrder:
    """Replace a draft's lines with ``lines`` (same rules as purchase_order_create); refused once submitted."""
    locked = status_lock(machine=PO_STATUS, document=purchase_order)
    _draft_check(locked)
    planned, errors = purchase_order_lines_plan(
        supplier=locked.supplier, currency=locked.currency, lines=lines, prefix=prefix
    )
    _refuse(_("The lines were not changed"), errors)
    _lines_write(locked, planned)
    return locked


def _current_lines(order: PurchaseOrder) -> list[tuple[PurchaseOrderLine, LineInput]]:
    return [
        (line, (line.product, line.quantity, line.unit_cost))
        for line in order.lines.select_related("product").order_by("id")
    ]


def _line_errors_named(errors: list[ErrorDetail], index: int) -> list[ErrorDetail]:
    """Errors of the one line a caller gave, named by its own fields (``quantity``, not ``lines[3].quantity``)."""
    prefix = f"lines[{index}]."
    return [
        ErrorDetail(error.message, field=error.field.removeprefix(prefix), code=error.code)
        if error.field and error.field.startswith(prefix)
        else error
        for error in errors
    ]


def _line_of(order: PurchaseOrder, product: Product) -> PurchaseOrderLine:
    return order.lines.select_related("product").get(product=product)


@transaction.atomic
def purchase_order_line_add(
    *, purchase_order: PurchaseOrder, product: Product, quantity: int, unit_cost: Decimal | None = None
) -> PurchaseOrderLine:
    """Add ``quantity`` of ``product`` to a draft: to its line if it has one (the quantities are added up)."""
    locked = status_lock(machine=PO_STATUS, document=purchase_order)
    _draft_check(locked)
    inputs = [given for _line, given in _current_lines(locked)]
    inputs.append((product, quantity, unit_cost))
    planned, errors = purchase_order_lines_plan(supplier=locked.supplier, currency=locked.currency, lines=inputs)
    _refuse(_("The line was not added"), _line_errors_named(errors, len(inputs) - 1))
    _lines_write(locked, planned)
    return _line_of(locked, product)


@transaction.atomic
def purchase_order_line_update(
    *, line: PurchaseOrderLine, quantity: int | None = None, unit_cost: Decimal | None = None
) -> PurchaseOrderLine:
    """Change a draft line's quantity or unit cost (None: keep it)."""
    locked = status_lock(machine=PO_STATUS, document=line.purchase_order)
    _draft_check(locked)
    current = _current_lines(locked)
    inputs, position = [], None
    for index, (existing, given) in enumerate(current):
        if existing.pk == line.pk:
            position = index
            product, old_quantity, old_cost = given
            given = (
                product,
                old_quantity if quantity is None else quantity,
                old_cost if unit_cost is None else unit_cost,
            )
        inputs.append(given)
    if position is None:
        raise Conflict(_("That line is no longer on %(number)s.") % {"number": locked.number}, code="line_gone")
    planned, errors = purchase_order_lines_plan(supplier=locked.supplier, currency=locked.currency, lines=inputs)
    _refuse(_("The line was not changed"), _line_errors_named(errors, position))
    _lines_write(locked, planned)
    return _line_of(locked, current[position][0].product)


@transaction.atomic
def purchase_order_line_remove(*, line: PurchaseOrderLine) -> PurchaseOrder:
    """Take a line off a draft; the suggestion it was ordered from is open again."""
    locked = status_lock(machine=PO_STATUS, document=line.purchase_order)
    _draft_check(locked)
    _suggestions_reopen(purchase_order_line=line.pk)
    deleted, _counts = PurchaseOrderLine.objects.filter(pk=line.pk, purchase_order=locked).delete()
    if deleted:
        locked.save(update_fields=["updated_at"])
    return locked


@transaction.atomic
def purchase_order_update(
    *, purchase_order: PurchaseOrder, data: Mapping[str, Any], lines: Sequence[LineInput] | None = None
) -> PurchaseOrder:
    """Change the header fields in ``data`` (HEADER_FIELDS) and, given ``lines``, replace the lines.

    A draft may change anything but its supplier (its costs and supplier SKUs are that supplier's: make a new
    order instead). Once submitted only the supplier's reference, the expected date and the note may change, until
    the goods are in; a received or cancelled order is closed. Changing the currency re-prices nothing: the lines
    keep their costs."""
    locked = status_lock(machine=PO_STATUS, document=purchase_order)
    unknown = sorted(set(data) - HEADER_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("Unknown field(s): %(fields)s.") % {"fields": words_join(unknown)},
            errors=[
                ErrorDetail(_("Not a field that can be changed."), field=name, code="unknown_field") for name in unknown
            ],
        )
    if locked.status not in OPEN_STATUSES:
        raise Conflict(
            _("%(number)s is %(status)s: it can no longer change.")
            % {"number": locked.number, "status": PO_STATUS.status_label(locked.status)},
            code="closed",
            number=locked.number,
            status=locked.status,
        )
    if lines is not None:
        _draft_check(locked)
    if set(data) - HEADER_FIELDS_AFTER_SUBMIT:
        _draft_check(locked, sorted(set(data) - HEADER_FIELDS_AFTER_SUBMIT))
    errors: list[ErrorDetail] = []
    changes = dict(data)
    if "currency" in changes:
        changes["currency"] = currency_normalize(changes["currency"])
        problem = currency_problem(changes["currency"])
        if problem is not None:
            errors.append(problem)
    warehouse = changes.get("warehouse")
    if warehouse is not None and warehouse.pk != locked.warehouse_id and not warehouse.is_active:
        errors.append(_warehouse_inactive(warehouse))
    if len(changes.get("supplier_reference", "")) > SUPPLIER_REFERENCE_MAX_LENGTH:
        errors.append(_too_long("supplier_reference", SUPPLIER_REFERENCE_MAX_LENGTH))
    planned: list[PlannedLine] = []
    if lines is not None:
        planned, line_errors = purchase_order_lines_plan(
            supplier=locked.supplier, currency=changes.get("currency", locked.currency), lines=lines
        )
        errors += line_errors
    _refuse(_("The purchase order was not changed"), errors)
    for name, value in changes.items():
        setattr(locked, name, value)
    if changes:
        locked.save(update_fields=[*changes, "updated_at"])
    if lines is not None:
        _lines_write(locked, planned)
    return locked


# --- Submit and cancel ---------------------------------------------------------------------------------------------


def _lead_days(order: PurchaseOrder, lines: Sequence[PurchaseOrderLine]) -> int:
    """The longest lead time of the lines, in days: the suggestion a line was ordered from knows its whole lead time
    (production, QC and transit as its policy had them); other lines take the supplier product's legs, or the
    supplier's default lead time for a product it has no row for."""
    from_suggestions = dict(
        Suggestion.objects.filter(purchase_order_line__in=[line.pk for line in lines]).values_list(
            "purchase_order_line_id", "lead_time_days"
        )
    )
    supplier_products = {
        row.product_id: row
        for row in SupplierProduct.objects.filter(
            supplier_id=order.supplier_id, product_id__in=[line.product_id for line in lines]
        )
    }
    longest = 0
    for line in lines:
        if from_suggestions.get(line.pk):
            days = from_suggestions[line.pk]
        elif line.product_id in supplier_products:
            row = supplier_products[line.product_id]
            row.supplier = order.supplier
            days = row.effective_lead_time_days + (row.qc_days or 0) + (row.transit_days or 0)
        else:
            days = order.supplier.default_lead_time_days
        longest = max(longest, days)
    return longest


@transaction.atomic
def purchase_order_submit(
    *, purchase_order: PurchaseOrder, user=None, expected_on: dt.date | None = None, note: str = ""
) -> PurchaseOrder:
    """Send a draft to the supplier: it needs at least one line and an active supplier. The expected date is the
    one given, else the draft's, else today plus the longest lead time of its lines."""
    locked = status_lock(machine=PO_STATUS, document=purchase_order)
    status_check(machine=PO_STATUS, document=locked, to_status=Status.SUBMITTED)
    lines = list(locked.lines.order_by("id"))
    if not lines:
        message = _("%(number)s has no lines; add what to order before submitting it.") % {"number": locked.number}
        raise Conflict(message, code="empty", errors=[ErrorDetail(message, field="lines", code="empty")])
    if not locked.supplier.is_active:
        problem = purchase_order_header_problems(supplier=locked.supplier, warehouse=None, currency=locked.currency)
        raise Conflict(problem[0].message, code="inactive", errors=problem)
    if expected_on is None:
        expected_on = locked.expected_on or timezone.localdate() + dt.timedelta(days=_lead_days(locked, lines))
    return status_transition(
        machine=PO_STATUS,
        document=locked,
        to_status=Status.SUBMITTED,
        user=user,
        note=note,
        changes={"submitted_at": timezone.now(), "expected_on": expected_on},
    )


@transaction.atomic
def purchase_order_cancel(*, purchase_order: PurchaseOrder, note: str = "", user=None) -> PurchaseOrder:
    """Cancel a draft or a submitted order of which nothing has been received; its suggestions are open again.

    Once goods came in, the order is closed short instead (marked received), so the receipts keep their order."""
    locked = status_lock(machine=PO_STATUS, document=purchase_order)
    totals = locked.lines.aggregate(received=Sum("quantity_received"), rejected=Sum("quantity_rejected"))
    received, rejected = totals["received"] or 0, totals["rejected"] or 0
    if received or rejected or locked.receipts.exists():
        raise Conflict(
            _(
                "%(number)s has received goods already (%(received)s accepted, %(rejected)s rejected); it cannot be "
                "cancelled. Close it short instead: mark it received."
            )
            % {"number": locked.number, "received": received, "rejected": rejected},
            code="already_received",
            number=locked.number,
            status=locked.status,
            received=received,
            rejected=rejected,
        )
    cancelled = status_transition(machine=PO_STATUS, document=locked, to_status=Status.CANCELLED, user=user, note=note)
    _suggestions_reopen(purchase_order_line__purchase_order=locked)
    return cancelled


# --- Drafts from suggestions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkippedSuggestion:
    """A suggestion that was not ordered, and why (``code`` for programs, ``reason`` for people)."""

    suggestion_id: int
    code: str
    reason: str
    sku: str = ""
    warehouse: str = ""


@dataclass(frozen=True)
class FromSuggestions:
    purchase_orders: list[PurchaseOrder] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    skipped: list[SkippedSuggestion] = field(default_factory=list)


def supplier_product_choose(candidates: Iterable[SupplierProduct]) -> SupplierProduct | None:
    """The product's preferred supplier product, else the cheapest (then the quickest, then by supplier name), among
    active suppliers. Costs are compared as numbers: Seabridge keeps no exchange rates."""
    active = [row for row in candidates if row.supplier.is_active]
    preferred = [row for row in active if row.is_preferred]
    if preferred:
        return preferred[0]
    return min(
        active,
        key=lambda row: (row.unit_cost, row.effective_lead_time_days, row.supplier.name, row.pk),
        default=None,
    )


# Written as message ids, so each reader sees the event's note in their language (core.api.serializers.NoteField).
FROM_SUGGESTIONS_NOTE = gettext_noop("Made from purchase suggestions.")


@transaction.atomic
def purchase_orders_from_suggestions(*, suggestions: Iterable[Suggestion | int], user=None) -> FromSuggestions:
    """Order what the suggestions say: purchases as one draft order per (supplier, warehouse), transfers as one draft
    transfer per (source, destination); each suggestion ordered is marked "ordered" and linked to its line or
    transfer. Suggestions that are not open, suggest nothing, or have no supplier are skipped, with the reason.

    The suggestion rows are locked (in primary-key order) and read afresh first, so two buyers ordering the same
    suggestions at once take turns: the second sees them ordered and skips them. All in one transaction."""
    ids = sorted({item.pk if isinstance(item, Suggestion) else int(item) for item in suggestions})
    locked = {
        suggestion.pk: suggestion
        for suggestion in Suggestion.objects.select_for_update(no_key=True, of=("self",))
        .select_related("product", "warehouse", "source_warehouse", "supplier_product__supplier")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    skipped: list[SkippedSuggestion] = []

    def skip(suggestion_id: int, code: str, reason: str, suggestion: Suggestion | None = None) -> None:
        skipped.append(
            SkippedSuggestion(
                suggestion_id=suggestion_id,
                code=code,
                reason=reason,
                sku=suggestion.product.sku if suggestion else "",
                warehouse=suggestion.warehouse.code if suggestion else "",
            )
        )

    orderable: list[Suggestion] = []
    for suggestion_id in ids:
        suggestion = locked.get(suggestion_id)
        if suggestion is None:
            skip(suggestion_id, "not_found", _("No suggestion has id %(id)s.") % {"id": suggestion_id})
            continue
        where = {"sku": suggestion.product.sku, "warehouse": suggestion.warehouse.code}
        if suggestion.status != Suggestion.Status.OPEN:
            skip(
                suggestion_id,
                suggestion.status,
                _("%(sku)s for %(warehouse)s is %(status)s already.")
                % {**where, "status": suggestion.get_status_display().lower()},
                suggestion,
            )
        elif suggestion.quantity <= 0:
            skip(
                suggestion_id,
                "nothing_to_order",
                _("%(sku)s for %(warehouse)s: nothing to order (the suggested quantity is 0).") % where,
                suggestion,
            )
        elif suggestion.quantity > QUANTITY_MAX:
            skip(
                suggestion_id,
                "max_value",
                _("%(sku)s for %(warehouse)s: %(quantity)s units are more than one line holds (%(maximum)s).")
                % {**where, "quantity": f"{suggestion.quantity:,}", "maximum": f"{QUANTITY_MAX:,}"},
                suggestion,
            )
        elif suggestion.product.is_bundle:
            skip(
                suggestion_id,
                "bundle",
                _("%(sku)s is a bundle; order its components.") % where,
                suggestion,
            )
        else:
            orderable.append(suggestion)

    purchases = [item for item in orderable if item.kind == Suggestion.Kind.PURCHASE]
    transfers = [item for item in orderable if item.kind == Suggestion.Kind.TRANSFER]
    supplier_product_of = _supplier_products_choose(purchases, skip)
    made_orders = _orders_make(purchases, supplier_product_of, user)
    made_transfers = _transfers_make(transfers, skip, user)
    skipped.sort(key=lambda item: item.suggestion_id)
    return FromSuggestions(purchase_orders=made_orders, transfers=made_transfers, skipped=skipped)


def _supplier_products_choose(purchases: list[Suggestion], skip) -> dict[int, SupplierProduct]:
    """suggestion id → the supplier product to order it from; suggestions without one are skipped (and removed)."""
    without = {item.product_id for item in purchases if item.supplier_product_id is None}
    candidates: dict[int, list[SupplierProduct]] = {}
    if without:
        for row in SupplierProduct.objects.filter(product_id__in=without).select_related("supplier").order_by("pk"):
            candidates.setdefault(row.product_id, []).append(row)
    chosen: dict[int, SupplierProduct] = {}
    for suggestion in list(purchases):
        where = {"sku": suggestion.product.sku, "warehouse": suggestion.warehouse.code}
        supplier_product = suggestion.supplier_product or supplier_product_choose(
            candidates.get(suggestion.product_id, [])
        )
        if supplier_product is None:
            skip(
                suggestion.pk,
                "no_supplier",
                _("%(sku)s for %(warehouse)s: no active supplier supplies it; add a supplier product.") % where,
                suggestion,
            )
        elif not supplier_product.supplier.is_active:
            skip(
                suggestion.pk,
                "supplier_inactive",
                _("%(sku)s for %(warehouse)s: supplier %(supplier)s is not active.")
                % {**where, "supplier": supplier_product.supplier.name},
                suggestion,
            )
        elif not suggestion.warehouse.is_active:
            skip(
                suggestion.pk,
                "warehouse_inactive",
                _("%(sku)s for %(warehouse)s: the warehouse is not active.") % where,
                suggestion,
            )
        else:
            chosen[suggestion.pk] = supplier_product
            continue
        purchases.remove(suggestion)
    return chosen


def _orders_make(
    purchases: list[Suggestion], supplier_product_of: dict[int, SupplierProduct], user
) -> list[PurchaseOrder]:
    groups: dict[tuple[int, int], list[Suggestion]] = {}
    for suggestion in purchases:
        groups.setdefault((supplier_product_of[suggestion.pk].supplier_id, suggestion.warehouse_id), []).append(
            suggestion
        )
    made: list[PurchaseOrder] = []
    linked: list[Suggestion] = []
    for group in groups.values():
        first = group[0]
        order = purchase_order_create(
            supplier=supplier_product_of[first.pk].supplier,
            warehouse=first.warehouse,
            lines=[(suggestion.product, suggestion.quantity, None) for suggestion in group],
            note=FROM_SUGGESTIONS_NOTE,
            user=user,
        )
        line_of = {line.product_id: line for line in order.lines.all()}
        for suggestion in group:
            suggestion.status = Suggestion.Status.ORDERED
            suggestion.purchase_order_line = line_of[suggestion.product_id]
            linked.append(suggestion)
        made.append(order)
    if linked:
        Suggestion.objects.bulk_update(linked, ["status", "purchase_order_line"])
    return made


def _transfers_make(transfers: list[Suggestion], skip, user) -> list[Transfer]:
    groups: dict[tuple[int, int], list[Suggestion]] = {}
    for suggestion in transfers:
        where = {"sku": suggestion.product.sku, "warehouse": suggestion.warehouse.code}
        source = suggestion.source_warehouse
        if source is None:
            skip(
                suggestion.pk,
                "no_source",
                _("%(sku)s for %(warehouse)s: the transfer has no warehouse to come from.") % where,
                suggestion,
            )
        elif source.pk == suggestion.warehouse_id:
            skip(
                suggestion.pk,
                "same_warehouse",
                _("%(sku)s for %(warehouse)s: it would come from the same warehouse.") % where,
                suggestion,
            )
        else:
            groups.setdefault((source.pk, suggestion.warehouse_id), []).append(suggestion)
    made: list[Transfer] = []
    linked: list[Suggestion] = []
    for group in groups.values():
        first = group[0]
        transfer = transfer_create(
            source=first.source_warehouse,
            destination=first.warehouse,
            lines=[(suggestion.product, suggestion.quantity, None) for suggestion in group],
            note=FROM_SUGGESTIONS_NOTE,
            user=user,
        )
        for suggestion in group:
            suggestion.status = Suggestion.Status.ORDERED
            suggestion.transfer = transfer
            linked.append(suggestion)
        made.append(transfer)
    if linked:
        Suggestion.objects.bulk_update(linked, ["status", "transfer"])
    return made
