"""Stock counts (盘点): open a count over some bins, record what is there, approve to post the variances."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from core.errors import Conflict, ErrorDetail, ValidationFailed
from core.limits import QUANTITY_MAX, quantity_check
from core.status import StatusMachine, next_id, status_check, status_lock, status_start, status_transition
from inventory.locks import balances_lock, bins_share_lock, levels_lock
from inventory.models import (
    Bin,
    Product,
    StockCount,
    StockCountBin,
    StockCountEvent,
    StockCountLine,
    StockLevel,
    StockMove,
    Warehouse,
    normalize_code,
)
from inventory.stock_services import PlannedMove, moves_apply

Status = StockCount.Status

# The count row lock also makes recording and approval of one count take turns (stock_count_record takes it).
COUNT_STATUS = StatusMachine(
    model=StockCount,
    status_choices=Status,
    transitions={
        "": {Status.OPEN},
        Status.OPEN: {Status.APPROVED, Status.CANCELLED},
        Status.APPROVED: set(),
        Status.CANCELLED: set(),
    },
    event_model=StockCountEvent,
    event_document_field="count",
    # "Count" alone is also a number, "Transfer" also a verb: the context keeps them apart in the catalogue.
    label=pgettext_lazy("document", "Count"),
    lock_related=("warehouse",),
)
WHOLE_NUMBER_RE = re.compile(r"^[+-]?\d+(\.0*)?$")


@transaction.atomic
def stock_count_open(
    *,
    warehouse: Warehouse,
    bins: Sequence[Bin] | None = None,
    zone: str | None = None,
    is_blind: bool = False,
    note: str = "",
    user=None,
) -> StockCount:
    """Open a count over the given bins, or a zone's active bins, or every active bin of the warehouse.

    Each product on hand in those bins gets a line expecting its current quantity. A bin can be in one
    open count at a time, or approving both counts would post the same variance twice.
    """
    if bins is not None and zone is not None:
        raise ValidationFailed(
            _("Count either a list of bins or a zone, not both."),
            errors=[ErrorDetail(_("Give bins or a zone, not both."), field="zone", code="ambiguous")],
        )
    # Opening counts of one warehouse take turns, so two cannot claim the same bin at once.
    Warehouse.objects.select_for_update(no_key=True).filter(pk=warehouse.pk).values_list("pk", flat=True).get()
    if bins is not None:
        scope_bins = list({bin_.pk: bin_ for bin_ in bins}.values())
        foreign = [bin_.code for bin_ in scope_bins if bin_.warehouse_id != warehouse.pk]
        if foreign:
            raise ValidationFailed(
                _("Bins %(codes)s are not in warehouse %(warehouse)s.")
                % {"codes": ", ".join(foreign), "warehouse": warehouse.code},
                errors=[
                    ErrorDetail(
                        _("Bin %(code)s is not in warehouse %(warehouse)s.")
                        % {"code": code, "warehouse": warehouse.code},
                        field="bins",
                    )
                    for code in foreign
                ],
            )
        codes = sorted(bin_.code for bin_ in scope_bins)
        scope = f"bins {', '.join(codes)}" if len(codes) <= 10 else f"{len(codes)} bins"
    elif zone is not None:
        zone = normalize_code(zone)
        scope_bins = list(Bin.objects.filter(warehouse=warehouse, zone=zone, is_active=True))
        scope = f"zone {zone}"
    else:
        scope_bins = list(Bin.objects.filter(warehouse=warehouse, is_active=True))
        scope = "whole warehouse"
    if not scope_bins:
        if bins is not None:
            message = _("There is nothing to count: no bins were given.")
        elif zone is not None:
            message = _("There is nothing to count: no active bins in zone %(zone)s of warehouse %(warehouse)s.") % {
                "zone": zone,
                "warehouse": warehouse.code,
            }
        else:
            message = _("There is nothing to count: no active bins in warehouse %(warehouse)s.") % {
                "warehouse": warehouse.code
            }
        raise ValidationFailed(
            message,
            errors=[ErrorDetail(_("No bins to count."), field="zone" if zone is not None else "bins", code="empty")],
        )
    scope_bin_ids = [bin_.pk for bin_ in scope_bins]
    busy = list(
        StockCountBin.objects.filter(bin_id__in=scope_bin_ids, count__status=Status.OPEN)
        .select_related("count", "bin")
        .order_by("bin__code_sort")
    )
    if busy:
        raise Conflict(
            _("%(count)s of these bins are already being counted: %(bins)s. Approve or cancel that count first.")
            % {
                "count": len(busy),
                "bins": ", ".join(
                    _("%(bin)s in %(number)s") % {"bin": row.bin.code, "number": row.count.number} for row in busy[:10]
                ),
            },
            code="bin_in_open_count",
            errors=[
                ErrorDetail(
                    _("Bin %(bin)s is in open count %(number)s.") % {"bin": row.bin.code, "number": row.count.number},
                    field="bins",
                    code="busy",
                )
                for row in busy
            ],
        )

    count_id = next_id(StockCount)
    count = StockCount.objects.create(
        pk=count_id,
        number=f"CNT-{count_id:06d}",
        warehouse=warehouse,
        status=Status.OPEN,
        is_blind=is_blind,
        scope=scope[:255],
        note=note,
        created_by=user,
    )
    StockCountBin.objects.bulk_create([StockCountBin(count=count, bin_id=bin_id) for bin_id in sorted(scope_bin_ids)])
    # The expected quantities are a snapshot: what the book says as the count opens.
    on_hand = StockLevel.objects.filter(bin_id__in=scope_bin_ids, on_hand__gt=0).order_by("bin_id", "product_id")
    StockCountLine.objects.bulk_create(
        [
            StockCountLine(
                count=count, bin_id=level.bin_id, product_id=level.product_id, expected_quantity=level.on_hand
            )
            for level in on_hand
        ],
        batch_size=1000,
    )
    status_start(machine=COUNT_STATUS, document=count, user=user, note=scope)
    return count


@dataclass(frozen=True)
class _Counted:
    bin: Bin
    product: Product
    counted_quantity: int


def _stock_lock_for(keys: Iterable[tuple[int, int]], warehouse_id: int) -> dict[tuple[int, int], StockLevel]:
    """Lock bins, balances and levels of (product_id, bin_id) pairs in the house order; returns the levels.

    Taking all three now (not only the level) keeps the order right when approval follows in the same
    transaction, as it does for imports.
    """
    keys = sorted(set(keys))
    bins_share_lock(bin_id for _, bin_id in keys)
    balances_lock((product_id, warehouse_id) for product_id, _ in keys)
    return levels_lock(keys)


LINE_COLUMN_TYPES = {
    "counted_quantity": "integer",
    "system_quantity": "integer",
    "adjustment": "integer",
    "counted_at": "timestamptz",
    "counted_by_id": "bigint",
}


def _lines_update(lines: Sequence[StockCountLine], columns: Sequence[str]) -> None:
    """Write some columns of many lines in one statement (bulk_update's CASE per row is slow for thousands)."""
    if not lines:
        return
    arrays = [[line.pk for line in lines]] + [[getattr(line, column) for line in lines] for column in columns]
    unnest = ", ".join(["%s::bigint[]"] + [f"%s::{LINE_COLUMN_TYPES[column]}[]" for column in columns])
    assignments = ", ".join(f"{column} = data.{column}" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE inventory_stockcountline AS line SET {assignments}
            FROM unnest({unnest}) AS data(id, {", ".join(columns)})
            WHERE line.id = data.id
            """,  # noqa: S608 - column names come from LINE_COLUMN_TYPES, values are parameters
            arrays,
        )


def _lines_record(
    *,
    count: StockCount,
    entries: Sequence[_Counted],
    user=None,
    levels: dict[tuple[int, int], StockLevel] | None = None,
) -> list[StockCountLine]:
    """Record counted quantities; the book quantity of each is read under its stock level lock.

    A recount overwrites the line (quantity, book quantity, who and when): the count is of what is there
    now, and the ledger, not the line, is the history that matters. ``levels`` are stock levels this
    transaction has locked already.
    """
    if levels is None:
        levels = _stock_lock_for(((entry.product.pk, entry.bin.pk) for entry in entries), count.warehouse_id)
    counted_at = timezone.now()  # after the locks: moves before this are in the book quantity, later ones after
    existing = {
        (line.bin_id, line.product_id): line
        for line in StockCountLine.objects.filter(
            count=count, bin_id__in={entry.bin.pk for entry in entries}, product_id__in={e.product.pk for e in entries}
        )
    }
    to_update: list[StockCountLine] = []
    to_create: list[StockCountLine] = []
    for entry in entries:
        line = existing.get((entry.bin.pk, entry.product.pk))
        if line is None:
            # Found where nobody expected it.
            line = StockCountLine(count=count, bin=entry.bin, product=entry.product, expected_quantity=0)
            to_create.append(line)
        else:
            to_update.append(line)
        line.counted_quantity = entry.counted_quantity
        line.system_quantity = levels[(entry.product.pk, entry.bin.pk)].on_hand
        line.counted_at = counted_at
        line.counted_by = user
    _lines_update(to_update, ["counted_quantity", "system_quantity", "counted_at", "counted_by_id"])
    StockCountLine.objects.bulk_create(to_create, batch_size=1000)
    return to_update + to_create


def _counted_quantity_check(counted_quantity: Any) -> int:
    return quantity_check(counted_quantity, field="counted_quantity", minimum=0)


@transaction.atomic
def stock_count_record(
    *, count: StockCount, bin: Bin, product: Product, counted_quantity: int, user=None
) -> StockCountLine:
    """Record how many of a product are in a bin of an open count (again, to correct a recount)."""
    _counted_quantity_check(counted_quantity)
    locked = status_lock(machine=COUNT_STATUS, document=count)
    # Not a transition: the count stays open, so the map does not apply; only the wording is shared.
    if locked.status != Status.OPEN:
        raise Conflict(
            _("Count %(number)s is %(status)s; quantities are recorded only while it is open.")
            % {"number": locked.number, "status": COUNT_STATUS.status_label(locked.status)},
            code="count_not_open",
            number=locked.number,
            status=locked.status,
        )
    if not StockCountBin.objects.filter(count=locked, bin_id=bin.pk).exists():
        raise ValidationFailed(
            _("Bin %(bin)s is not part of count %(number)s (%(scope)s).")
            % {"bin": bin.code, "number": locked.number, "scope": locked.scope},
            errors=[
                ErrorDetail(
                    _("Bin %(bin)s is not in this count.") % {"bin": bin.code}, field="bin", code="not_in_scope"
                )
            ],
        )
    if product.is_bundle:
        raise ValidationFailed(
            _("%(sku)s is a bundle; count its components.") % {"sku": product.sku},
            errors=[ErrorDetail(_("Bundles hold no stock of their own."), field="product", code="bundle")],
        )
    (line,) = _lines_record(count=locked, entries=[_Counted(bin, product, counted_quantity)], user=user)
    return line


@transaction.atomic
def stock_count_approve(*, count: StockCount, user=None, uncounted: Literal["skip", "zero"] = "skip") -> StockCount:
    """Post every counted line's variance (counted − book quantity when counted) to the ledger as COUNT moves.

    The variance is applied to what is on hand now, so units picked or received after the line was counted
    are kept, not overwritten. Lines nobody counted are left alone (``uncounted="skip"``, the default; their
    adjustment stays empty and the event says how many) or taken as found empty (``"zero"``: the approver
    states the bin holds none now, so the whole current quantity is written off; counted_at stays empty on
    those lines). A line whose result would be below zero (stock moved out after it was counted) stops the
    approval with every such line named; if an adjustment would leave reserved units without sellable stock,
    moves_apply raises StockRuleBroken. Either way nothing is saved.
    """
    if uncounted not in ("skip", "zero"):
        raise ValidationFailed(
            _("uncounted must be 'skip' or 'zero' (got %(value)s).") % {"value": repr(uncounted)},
            errors=[ErrorDetail(_("Must be skip or zero."), field="uncounted", code="invalid_choice")],
        )
    return _approve(count=status_lock(machine=COUNT_STATUS, document=count), user=user, uncounted=uncounted)


def _approve(
    *,
    count: StockCount,
    user=None,
    uncounted: str,
    levels: dict[tuple[int, int], StockLevel] | None = None,
) -> StockCount:
    """stock_count_approve on a count locked by this transaction; ``levels`` may hold stock levels locked already."""
    locked = count
    status_check(machine=COUNT_STATUS, document=locked, to_status=Status.APPROVED)
    lines = list(locked.lines.select_related("bin", "product").order_by("id"))
    counted = [line for line in lines if line.counted_quantity is not None]
    not_counted = [line for line in lines if line.counted_quantity is None]
    zeroed = not_counted if uncounted == "zero" else []
    applied = counted + zeroed
    keys = {(line.product_id, line.bin_id) for line in applied}
    if levels is None or not keys <= levels.keys():
        levels = _stock_lock_for(keys, locked.warehouse_id)

    for line in zeroed:
        line.counted_quantity = 0
        line.system_quantity = levels[(line.product_id, line.bin_id)].on_hand
    problems: list[ErrorDetail] = []
    moves: list[PlannedMove] = []
    for line in applied:
        line.adjustment = line.counted_quantity - line.system_quantity
        on_hand = levels[(line.product_id, line.bin_id)].on_hand
        if on_hand + line.adjustment < 0:
            problems.append(
                ErrorDetail(
                    _(
                        "Bin %(bin)s, %(sku)s: counted %(counted)s when the book said %(book)s (%(adjustment)s), but "
                        "only %(on_hand)s are on hand now; stock left the bin after it was counted. Recount this line."
                    )
                    % {
                        "bin": line.bin.code,
                        "sku": line.product.sku,
                        "counted": line.counted_quantity,
                        "book": line.system_quantity,
                        "adjustment": f"{line.adjustment:+d}",
                        "on_hand": on_hand,
                    },
                    field="lines",
                    code="count_result_negative",
                )
            )
        if line.adjustment > 0:
            moves.append(
                PlannedMove(
                    line.product, line.adjustment, StockMove.Reason.COUNT, to_bin=line.bin, reference=locked.number
                )
            )
        elif line.adjustment < 0:
            moves.append(
                PlannedMove(
                    line.product, -line.adjustment, StockMove.Reason.COUNT, from_bin=line.bin, reference=locked.number
                )
            )
    if problems:
        raise Conflict(
            _("Count %(number)s cannot be approved: %(count)s line(s) would leave less than nothing. %(first)s")
            % {"number": locked.number, "count": len(problems), "first": problems[0].message},
            code="count_result_negative",
            errors=problems,
        )
    if moves:
        moves_apply(moves=moves, user=user)
    _lines_update(applied, ["adjustment", "counted_quantity", "system_quantity"])

    units_in = sum(line.adjustment for line in applied if line.adjustment > 0)
    units_out = -sum(line.adjustment for line in applied if line.adjustment < 0)
    summary = f"{len(moves)} line(s) adjusted (+{units_in} / -{units_out} units), {len(applied) - len(moves)} unchanged"
    if zeroed:
        summary += f", {len(zeroed)} not counted and taken as empty"
    elif not_counted:
        summary += f", {len(not_counted)} not counted and skipped"
    return status_transition(
        machine=COUNT_STATUS,
        document=locked,
        to_status=Status.APPROVED,
        user=user,
        note=summary,
        changes={"approved_by": user, "approved_at": timezone.now()},
    )


@transaction.atomic
def stock_count_cancel(*, count: StockCount, user=None, note: str = "") -> StockCount:
    """Cancel an open count: nothing is posted, and its bins can be counted again."""
    return status_transition(machine=COUNT_STATUS, document=count, to_status=Status.CANCELLED, user=user, note=note)


# --- Import of counted quantities (opening balances, counts from a sheet) ------------------------------------


def _quantity_parse(value: Any) -> tuple[int | None, str | None, str | None]:
    """A sheet's quantity as a whole number ≥ 0: (quantity, None, None), or (None, message, code)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, _("Quantity is required."), "required"
    if isinstance(value, bool):
        return None, _("Quantity must be a whole number (got %(value)s).") % {"value": repr(value)}, "invalid"
    if isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):
        # Spreadsheet cells often hold 12.0 for 12.
        if value != value or value in (float("inf"), float("-inf")) or value != int(value):
            return None, _("Quantity must be a whole number (got %(value)s).") % {"value": value}, "invalid"
        number = int(value)
    elif isinstance(value, str) and WHOLE_NUMBER_RE.match(value.strip()):
        number = int(Decimal(value.strip()))
    else:
        return None, _("Quantity must be a whole number (got %(value)s).") % {"value": repr(str(value))}, "invalid"
    if number < 0:
        return None, _("Quantity cannot be negative (got %(value)s).") % {"value": number}, "min_value"
    if number > QUANTITY_MAX:
        shown = str(number) if len(str(number)) <= 20 else str(number)[:17] + "..."
        message = _("Quantity must be at most %(maximum)s (got %(value)s).") % {
            "maximum": f"{QUANTITY_MAX:,}",
            "value": shown,
        }
        return None, message, "max_value"
    return number, None, None


def stock_count_import_rows(
    *,
    warehouse: Warehouse,
    rows: Iterable[Mapping[str, Any]],
    user=None,
    note: str = "",
    mode: Literal["set"] = "set",
) -> StockCount:
    """Set bins to the quantities of a sheet (sku, bin, quantity[, _row]) through an approved count.

    Every row is checked first (unknown or bundle SKU, unknown bin in this warehouse, quantity not a whole
    number ≥ 0, the same bin and SKU twice) and every bad row is reported with its row number and field;
    then nothing is saved. Otherwise one count is opened over exactly the sheet's bins, each row is
    recorded, and the count is approved: each quantity means "this is in the bin now", so opening balances
    post +quantity COUNT moves and importing the same sheet again posts nothing. Products in those bins that
    the sheet does not name are left alone. SKUs and bins are loaded in one query each.
    """
    if mode != "set":
        raise ValidationFailed(
            _("Unknown import mode %(mode)s; the only mode is 'set'.") % {"mode": repr(mode)},
            errors=[ErrorDetail(_("Must be set."), field="mode", code="invalid_choice")],
        )
    parsed: list[tuple[int, str, str, Any]] = []
    for position, row in enumerate(rows, start=1):
        row_number = row.get("_row") or position
        parsed.append(
            (
                row_number,
                normalize_code(str(row.get("sku") or "")),
                normalize_code(str(row.get("bin") or "")),
                row.get("quantity"),
            )
        )
    if not parsed:
        raise ValidationFailed(
            _("The file has no rows to import."), errors=[ErrorDetail(_("No rows."), field="rows", code="empty")]
        )

    products = {product.sku: product for product in Product.objects.filter(sku__in={sku for _, sku, _, _ in parsed})}
    bins = {
        bin_.code: bin_ for bin_ in Bin.objects.filter(warehouse=warehouse, code__in={code for _, _, code, _ in parsed})
    }
    errors: list[ErrorDetail] = []
    bad_rows: set[int] = set()
    first_row_of: dict[tuple[str, str], int] = {}
    entries: list[_Counted] = []

    def refuse(row_number: int, field: str, message: str, code: str) -> None:
        errors.append(ErrorDetail(message, field=field, row=row_number, code=code))
        bad_rows.add(row_number)

    for row_number, sku, bin_code, raw_quantity in parsed:
        product = products.get(sku)
        bin_ = bins.get(bin_code)
        if not sku:
            refuse(row_number, "sku", _("SKU is required."), "required")
        elif product is None:
            refuse(row_number, "sku", _("Unknown SKU %(sku)s.") % {"sku": sku}, "unknown_sku")
        elif product.is_bundle:
            refuse(row_number, "sku", _("%(sku)s is a bundle; count its components.") % {"sku": sku}, "bundle")
        if not bin_code:
            refuse(row_number, "bin", _("Bin is required."), "required")
        elif bin_ is None:
            message = _("Unknown bin %(bin)s in warehouse %(warehouse)s.") % {
                "bin": bin_code,
                "warehouse": warehouse.code,
            }
            refuse(row_number, "bin", message, "unknown_bin")
        quantity, message, code = _quantity_parse(raw_quantity)
        if message:
            refuse(row_number, "quantity", message, code)
        if sku and bin_code:
            first = first_row_of.setdefault((bin_code, sku), row_number)
            if first != row_number:
                message = _("Bin %(bin)s and SKU %(sku)s are already on row %(row)s.") % {
                    "bin": bin_code,
                    "sku": sku,
                    "row": first,
                }
                refuse(row_number, "sku", message, "duplicate")
        if row_number not in bad_rows:
            entries.append(_Counted(bin_, product, quantity))
    if errors:
        raise ValidationFailed(
            _("%(bad)s of %(total)s rows are wrong; nothing was imported.")
            % {"bad": len(bad_rows), "total": len(parsed)},
            errors=errors,
            bad_rows=len(bad_rows),
            rows=len(parsed),
        )

    # Checking the rows needs no transaction; the writes are one.
    with transaction.atomic():
        count = stock_count_open(
            warehouse=warehouse,
            bins=list({entry.bin.pk: entry.bin for entry in entries}.values()),
            note=note or "Imported quantities",
            user=user,
        )
        # The count was created in this transaction, so nobody else can record on it: no need to lock it.
        # The stock rows are locked once, for recording and approval alike (levels_lock is costly for thousands).
        levels = _stock_lock_for(((entry.product.pk, entry.bin.pk) for entry in entries), warehouse.pk)
        _lines_record(count=count, entries=entries, user=user, levels=levels)
        return _approve(count=count, user=user, uncounted="skip", levels=levels)
