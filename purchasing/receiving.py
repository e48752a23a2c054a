"""Receiving against purchase orders: accepted units into a bin, QC rejects into quarantine, the over-receipt
tolerance, and the landed cost of each unit (freight and duties spread over the lines) as the products' moving
average cost.

Every write here locks in one order: the purchase order's row (``core.status.status_lock``), then the rows of the
products whose cost changes (by primary key, ``FOR NO KEY UPDATE``), then the stock rows (``moves_apply``: bins,
balances, levels). Two receipts of one order take turns at the first lock; two receipts of one product on different
orders take turns at the second, so each averages over what the other left.

Decisions, with their reasons:

- **The tolerance** is the warehouse floor's ``over_receipt_percent`` (``purchasing.selectors.over_receipt_percent``).
  ``warehouse`` sits above ``purchasing`` (docs/architecture.md), so the setting is read by app label when a receipt
  is made, not imported; a warehouse without floor settings allows nothing over what was ordered. A line may accept
  at most ``ordered × (100 + tolerance) ÷ 100`` (rounded down) less what it already received; rejected units do not
  count as received and are not limited by it (they go back to the supplier).
- **Landed cost**: freight and duties are spread over the lines that accepted units, by value (accepted × unit cost)
  or by weight (accepted × the product's weight). ``freight_share`` and ``duty_share`` are the *line's* shares; every
  line but the last is rounded down to 4 decimals and the last takes the rest, so the shares add up exactly to the
  receipt's freight and duties and none is ever negative. A line's landed unit cost is its unit cost plus its shares
  ÷ its accepted units (4 decimals). Spreading by weight refuses (``no_weight``, naming the line) when a product has
  no weight: falling back to value would quietly charge the wrong lines. When every accepted unit is free (a total
  value of 0), the costs are spread by units.
- **Moving average**: the product's cost becomes (owned × cost before + accepted × landed) ÷ (owned + accepted).
  "Owned" is what the business holds of the product before this receipt: on hand in every warehouse
  (``InventoryBalance``) plus the units on the road between warehouses on shipped transfers, which belong to the
  seller and carry the old cost (a sea shipment to an overseas warehouse is often most of the stock). A product with
  no cost, or nothing owned, takes the landed cost. Costs have no exchange rates: a product whose cost is in another
  currency than the order is refused (``currency_mismatch``) unless it has no cost yet, when it takes the order's.
  Each line keeps ``cost_before``, ``on_hand_before`` (the owned figure) and ``cost_after``: the ledger of the cost.
- **Freight and duties learnt later** (``receipt_costs_add``) are set once each per receipt: a second freight (or a
  second duties) is a Conflict, so a form sent twice cannot charge twice; a receipt may get its freight at
  delivery and its duties at customs. Both are spread the same way (a receipt has one ``spread_by``). The added cost
  per unit reaches the product's cost only for the units still owned: cost += added per unit × units still owned ÷
  owned now, where the units still owned are the line's accepted units, at most what is owned now (stock is not
  kept by lot: the units received last are taken to be the ones left). Nothing owned: no change.
- **Scans** (``receipt_scan``) add to the receipt of the order that the same user started today and that has no
  freight or duties yet (once costs are spread over a receipt, later scans start a new one). Accepted units of a
  product go onto one line per bin, rejected ones onto one line per reason; a line's ``cost_before`` and
  ``on_hand_before`` are those before its first unit, ``cost_after`` the cost after its last.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, ErrorDetail, ValidationFailed, errors_summary
from core.limits import QUANTITY_MAX, quantity_problem
from core.status import next_id, status_lock, status_transition
from inventory.models import Bin, InventoryBalance, Product, StockMove
from inventory.services import area_bin
from inventory.stock_services import PlannedMove, moves_apply
from inventory.transfer_services import transfers_in_transit
from purchasing.models import PurchaseOrder, PurchaseOrderLine, Receipt, ReceiptLine
from purchasing.orders import PO_STATUS, RECEIVABLE_STATUSES
from purchasing.selectors import over_receipt_percent

Status = PurchaseOrder.Status
SpreadBy = Receipt.SpreadBy

COST_PLACES = Decimal("0.0001")
MONEY_PLACES = Decimal("0.01")
ZERO = Decimal(0)
# Freight or duties of one receipt: below what a line's share (numeric(12, 4)) can hold.
AMOUNT_MAX = Decimal("99999999.99")
# What a unit cost column (numeric(12, 4)) holds.
COST_MAX = Decimal("99999999.9999")
REASON_MAX_LENGTH = ReceiptLine._meta.get_field("reject_reason").max_length


@dataclass(frozen=True)
class ReceiveLine:
    """What arrived of one product: units accepted (into ``bin``, else the receipt's, else the receiving area) and
    units rejected at QC (into quarantine, with ``reason``)."""

    product: Product
    accepted: int
    rejected: int = 0
    reason: str = ""
    bin: Bin | None = None


@dataclass
class _Planned:
    """A checked line, with its order line, the bin its accepted units go to and, once spread, its cost shares."""

    field: str
    order_line: PurchaseOrderLine
    accepted: int
    rejected: int
    reason: str
    bin: Bin | None
    freight_share: Decimal = ZERO
    duty_share: Decimal = ZERO
    costs: dict[str, Any] = field(default_factory=dict)

    @property
    def product(self) -> Product:
        return self.order_line.product


# --- the pieces every receiving write shares -----------------------------------------------------------------------


def _receivable(purchase_order: PurchaseOrder) -> PurchaseOrder:
    """The order, locked and read afresh; refused unless goods can be received against it."""
    locked = status_lock(machine=PO_STATUS, document=purchase_order)
    if locked.status not in RECEIVABLE_STATUSES:
        raise Conflict(
            _(
                "Purchase order %(number)s is %(status)s: goods are received only against a submitted or partially "
                "received order."
            )
            % {"number": locked.number, "status": PO_STATUS.status_label(locked.status)},
            code="not_receivable",
            number=locked.number,
            status=locked.status,
        )
    return locked


def _amount(value: Any, field_name: str, errors: list[ErrorDetail]) -> Decimal:
    """``value`` as money (at most 2 decimals, from 0 to AMOUNT_MAX); a problem is added to ``errors``."""
    try:
        amount = None if isinstance(value, bool) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        amount = None
    problem = None
    if amount is None or not amount.is_finite():
        problem = ErrorDetail(_("Must be an amount of money."), field=field_name, code="invalid")
    elif amount < 0:
        problem = ErrorDetail(_("Must not be negative."), field=field_name, code="min_value")
    elif amount > AMOUNT_MAX:
        problem = ErrorDetail(
            _("Must be at most %(most)s.") % {"most": f"{AMOUNT_MAX:,}"}, field=field_name, code="max_value"
        )
    elif amount != amount.quantize(MONEY_PLACES, rounding=ROUND_DOWN):
        problem = ErrorDetail(_("At most 2 decimal places."), field=field_name, code="max_decimal_places")
    if problem is not None:
        errors.append(problem)
        return ZERO
    return amount.quantize(MONEY_PLACES)


def _spread_by(value: Any, errors: list[ErrorDetail]) -> str:
    if value not in SpreadBy.values:
        errors.append(
            ErrorDetail(
                _("Spread by %(choices)s.") % {"choices": " / ".join(SpreadBy.values)},
                field="spread_by",
                code="invalid",
            )
        )
        return SpreadBy.VALUE
    return value


def _tolerance_problems(
    purchase_order: PurchaseOrder, planned: Sequence[_Planned], order_lines: dict[int, PurchaseOrderLine]
) -> list[ErrorDetail]:
    """Accepted units beyond what each order line may still take, named on the line that goes over."""
    percent = over_receipt_percent(warehouse_id=purchase_order.warehouse_id)
    taking: dict[int, int] = defaultdict(int)
    errors: list[ErrorDetail] = []
    for line in planned:
        order_line = line.order_line
        taking[order_line.pk] += line.accepted
        allowed = order_line.quantity * (100 + percent) // 100
        most = max(0, allowed - order_line.quantity_received)
        if line.accepted and taking[order_line.pk] > most:
            errors.append(
                ErrorDetail(
                    _(
                        "%(sku)s: accepting %(accepting)s is more than purchase order %(number)s allows: ordered "
                        "%(ordered)s, received %(received)s, at most %(most)s more may come (over-receipt tolerance "
                        "%(percent)s%%)."
                    )
                    % {
                        "sku": order_line.product.sku,
                        "accepting": taking[order_line.pk],
                        "number": purchase_order.number,
                        "ordered": order_line.quantity,
                        "received": order_line.quantity_received,
                        "most": most,
                        "percent": percent,
                    },
                    field=f"{line.field}accepted",
                    code="over_receipt",
                )
            )
    return errors


def _lines_plan(
    purchase_order: PurchaseOrder, lines: Sequence[ReceiveLine], default_bin: Bin | None, *, prefix: str
) -> tuple[list[_Planned], list[ErrorDetail]]:
    """Check every line against the order (``prefix`` names them: ``lines[0].``); every problem is returned."""
    order_lines = {line.product_id: line for line in purchase_order.lines.select_related("product")}
    errors: list[ErrorDetail] = []
    planned: list[_Planned] = []
    for index, line in enumerate(lines):
        where = prefix.format(index=index)
        line_errors: list[ErrorDetail] = []
        for name, value in (("accepted", line.accepted), ("rejected", line.rejected)):
            problem = quantity_problem(value, field=f"{where}{name}", minimum=0, maximum=QUANTITY_MAX)
            if problem is not None:
                line_errors.append(problem)
        if not line_errors and line.accepted + line.rejected == 0:
            line_errors.append(
                ErrorDetail(_("Say how many were accepted or rejected."), field=f"{where}accepted", code="empty")
            )
        order_line = order_lines.get(line.product.pk)
        if order_line is None:
            line_errors.append(
                ErrorDetail(
                    _("%(sku)s is not on purchase order %(number)s.")
                    % {"sku": line.product.sku, "number": purchase_order.number},
                    field=f"{where}product",
                    code="not_on_order",
                )
            )
        elif line.product.is_bundle:
            line_errors.append(
                ErrorDetail(
                    _("%(sku)s is a bundle; receive its components.") % {"sku": line.product.sku},
                    field=f"{where}product",
                    code="bundle",
                )
            )
        reason = (line.reason or "").strip()
        rejected = line.rejected if isinstance(line.rejected, int) else 0
        if rejected and not reason:
            line_errors.append(
                ErrorDetail(
                    _("Say why %(sku)s was rejected (damaged, wrong item...).") % {"sku": line.product.sku},
                    field=f"{where}reason",
                    code="reason_required",
                )
            )
        elif len(reason) > REASON_MAX_LENGTH:
            line_errors.append(
                ErrorDetail(
                    _("At most %(most)s characters (got %(length)s).")
                    % {"most": REASON_MAX_LENGTH, "length": len(reason)},
                    field=f"{where}reason",
                    code="max_length",
                )
            )
        target = line.bin or default_bin
        if line.bin is not None and line.bin.warehouse_id != purchase_order.warehouse_id:
            line_errors.append(_bin_elsewhere(line.bin, purchase_order, f"{where}bin"))
        errors.extend(line_errors)
        if line_errors:
            continue
        planned.append(
            _Planned(
                field=where,
                order_line=order_line,
                accepted=line.accepted,
                rejected=line.rejected,
                reason=reason if line.rejected else "",
                bin=target,
            )
        )
    if not errors:
        errors.extend(_tolerance_problems(purchase_order, planned, order_lines))
    return planned, errors


def _bin_elsewhere(bin_: Bin, purchase_order: PurchaseOrder, field_name: str) -> ErrorDetail:
    return ErrorDetail(
        _("Bin %(bin)s is not in warehouse %(warehouse)s, where purchase order %(number)s is delivered.")
        % {"bin": bin_.code, "warehouse": purchase_order.warehouse.code, "number": purchase_order.number},
        field=field_name,
        code="warehouse",
    )


def _products_lock(product_ids) -> dict[int, Product]:
    """Lock the products whose cost changes, by primary key, and read them afresh.

    NO KEY UPDATE: ledger rows and stock levels of these products can still be written meanwhile (their foreign
    keys take KEY SHARE); only another cost update of the same product waits, so it averages over this one."""
    products = Product.objects.select_for_update(no_key=True).filter(pk__in=sorted(set(product_ids))).order_by("pk")
    return {product.pk: product for product in products}


def _owned(product_ids) -> dict[int, int]:
    """Units the business owns of each product: on hand in every warehouse plus on the road between them."""
    ids = sorted(set(product_ids))
    owned: dict[int, int] = dict.fromkeys(ids, 0)
    rows = InventoryBalance.objects.filter(product_id__in=ids).values("product_id").annotate(units=Sum("on_hand"))
    for row in rows.order_by():
        owned[row["product_id"]] += row["units"] or 0
    for (product_id, _warehouse_id), units in transfers_in_transit(product_ids=ids).items():
        owned[product_id] += units
    return owned


def _currency_check(purchase_order: PurchaseOrder, products: dict[int, Product], planned: Sequence[_Planned]) -> None:
    """Refuse products whose cost is kept in another currency than the order's (there are no exchange rates)."""
    errors = []
    for line in planned:
        product = products[line.product.pk]
        if line.accepted and product.cost_price is not None and product.cost_currency != purchase_order.currency:
            errors.append(
                ErrorDetail(
                    _(
                        "%(sku)s: its cost is kept in %(product_currency)s but purchase order %(number)s is in "
                        "%(order_currency)s; there are no exchange rates. Change the product's cost currency (and "
                        "cost) or the order's currency."
                    )
                    % {
                        "sku": product.sku,
                        "product_currency": product.cost_currency,
                        "number": purchase_order.number,
                        "order_currency": purchase_order.currency,
                    },
                    field=f"{line.field}product",
                    code="currency_mismatch",
                )
            )
    if errors:
        raise Conflict(errors[0].message, code="currency_mismatch", errors=errors)


def _shares_spread(
    planned: Sequence[_Planned], *, freight: Decimal, duties: Decimal, spread_by: str
) -> list[ErrorDetail]:
    """Add each line's share of ``freight`` and ``duties`` to it (see the module docstring); problems returned."""
    if not freight and not duties:
        return []
    carrying = [line for line in planned if line.accepted]
    if not carrying:
        return [
            ErrorDetail(
                _("Nothing was accepted, so the freight and duties have no units to go on."),
                field="freight" if freight else "duties",
                code="nothing_accepted",
            )
        ]
    if spread_by == SpreadBy.WEIGHT:
        errors = [
            ErrorDetail(
                _("%(sku)s has no weight, so costs cannot be spread by weight; enter its weight or spread by value.")
                % {"sku": line.product.sku},
                field=f"{line.field}product",
                code="no_weight",
            )
            for line in carrying
            if not line.product.weight_g
        ]
        if errors:
            return errors
        bases = [Decimal(line.accepted * line.product.weight_g) for line in carrying]
    else:
        bases = [line.accepted * line.order_line.unit_cost for line in carrying]
    total = sum(bases, ZERO)
    if not total:  # every unit free: spread by units
        bases = [Decimal(line.accepted) for line in carrying]
        total = sum(bases, ZERO)
    for amount, name in ((freight, "freight_share"), (duties, "duty_share")):
        given = ZERO
        for position, (line, basis) in enumerate(zip(carrying, bases, strict=True)):
            if position == len(carrying) - 1:
                share = amount - given
            else:
                share = (amount * basis / total).quantize(COST_PLACES, rounding=ROUND_DOWN)
            given += share
            setattr(line, name, getattr(line, name) + share)
    return []


def _landed(unit_cost: Decimal, accepted: int, freight_share: Decimal, duty_share: Decimal) -> Decimal:
    if not accepted:
        return unit_cost
    return (unit_cost + (freight_share + duty_share) / accepted).quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def _average(owned: int, cost: Decimal | None, accepted: int, landed: Decimal) -> Decimal:
    """The moving average cost once ``accepted`` units at ``landed`` join ``owned`` units at ``cost``."""
    if cost is None or owned <= 0:
        return landed
    return ((owned * cost + accepted * landed) / (owned + accepted)).quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def _too_costly(planned: Sequence[_Planned]) -> list[ErrorDetail]:
    return [
        ErrorDetail(
            _("%(sku)s: a landed unit cost of %(cost)s is more than a cost can hold (%(most)s); check the amounts.")
            % {"sku": line.product.sku, "cost": line.costs["landed"], "most": f"{COST_MAX:,}"},
            field=f"{line.field}accepted",
            code="cost_too_large",
        )
        for line in planned
        if line.costs["landed"] > COST_MAX
    ]


def _costs_apply(purchase_order: PurchaseOrder, planned: Sequence[_Planned]) -> None:
    """Lock the products, average each accepted line's landed cost into its product's cost, and keep the figures
    of each line in ``line.costs``. Runs before the stock moves, so "owned" is what was there before."""
    for line in planned:
        line.costs = {
            "landed": _landed(line.order_line.unit_cost, line.accepted, line.freight_share, line.duty_share),
            "cost_before": None,
            "cost_after": None,
            "on_hand_before": 0,
        }
    errors = _too_costly(planned)
    if errors:
        raise ValidationFailed(errors_summary(_("Nothing was received"), errors), errors=errors)
    accepting = [line for line in planned if line.accepted]
    if not accepting:
        return
    products = _products_lock(line.product.pk for line in accepting)
    _currency_check(purchase_order, products, accepting)
    owned = _owned(products)
    cost = {product_id: product.cost_price for product_id, product in products.items()}
    for line in accepting:
        product_id = line.product.pk
        after = _average(owned[product_id], cost[product_id], line.accepted, line.costs["landed"])
        line.costs.update(cost_before=cost[product_id], cost_after=after, on_hand_before=owned[product_id])
        cost[product_id] = after
        owned[product_id] += line.accepted
    _product_costs_save(purchase_order.currency, {pid: cost[pid] for pid in products if cost[pid] is not None})


def _product_costs_save(currency: str, costs: dict[int, Decimal]) -> None:
    """Set the locked products' cost (and its currency: the same, or the order's for a product that had none)."""
    if not costs:
        return
    ids = list(costs)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_product AS product SET cost_price = new.cost, cost_currency = %s, updated_at = now() "
            "FROM unnest(%s::bigint[], %s::numeric[]) AS new(id, cost) WHERE product.id = new.id",
            [currency, ids, [costs[pk] for pk in ids]],
        )


def _stock_post(receipt: Receipt, purchase_order: PurchaseOrder, planned: Sequence[_Planned], user) -> None:
    """Accepted units into their bins, rejected ones into quarantine with the reason, as RECEIPT moves."""
    moves = [
        PlannedMove(
            line.product,
            line.accepted,
            StockMove.Reason.RECEIPT,
            to_bin=line.bin,
            reference=receipt.number,
            note=purchase_order.number,
        )
        for line in planned
        if line.accepted
    ]
    rejecting = [line for line in planned if line.rejected]
    if rejecting:
        quarantine = area_bin(purchase_order.warehouse_id, Bin.Kind.QUARANTINE)
        moves += [
            PlannedMove(
                line.product,
                line.rejected,
                StockMove.Reason.RECEIPT,
                to_bin=quarantine,
                reference=receipt.number,
                note=line.reason,
            )
            for line in rejecting
        ]
    moves_apply(moves=moves, user=user)


def _order_advance(purchase_order: PurchaseOrder, receipt: Receipt, planned: Sequence[_Planned], user) -> None:
    """Add the receipt to the order lines and move the order on: received once every line has what was ordered."""
    accepted: dict[int, int] = defaultdict(int)
    rejected: dict[int, int] = defaultdict(int)
    for line in planned:
        accepted[line.order_line.pk] += line.accepted
        rejected[line.order_line.pk] += line.rejected
    ids = list(accepted)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE purchasing_purchaseorderline AS line "
            "SET quantity_received = line.quantity_received + got.accepted, "
            "quantity_rejected = line.quantity_rejected + got.rejected "
            "FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS got(id, accepted, rejected) WHERE line.id = got.id",
            [ids, [accepted[pk] for pk in ids], [rejected[pk] for pk in ids]],
        )
    # The order's row lock keeps its lines still, so this is current.
    complete = all(
        line.quantity_received >= line.quantity
        for line in PurchaseOrderLine.objects.filter(purchase_order=purchase_order)
    )
    status_transition(
        machine=PO_STATUS,
        document=purchase_order,
        to_status=Status.RECEIVED if complete else Status.PARTIALLY_RECEIVED,
        user=user,
        note=receipt.number,
        changes={"received_at": timezone.now()} if complete else None,
    )


def _receipt_start(purchase_order: PurchaseOrder, **fields: Any) -> Receipt:
    receipt_id = next_id(Receipt)
    return Receipt.objects.create(
        pk=receipt_id, number=f"RCV-{receipt_id:06d}", purchase_order=purchase_order, **fields
    )


def _line_row(receipt: Receipt, line: _Planned) -> ReceiptLine:
    return ReceiptLine(
        receipt=receipt,
        purchase_order_line=line.order_line,
        product=line.product,
        quantity_accepted=line.accepted,
        quantity_rejected=line.rejected,
        reject_reason=line.reason,
        bin=line.bin if line.accepted else None,
        unit_cost=line.order_line.unit_cost,
        freight_share=line.freight_share,
        duty_share=line.duty_share,
        landed_unit_cost=line.costs["landed"],
        cost_before=line.costs["cost_before"],
        cost_after=line.costs["cost_after"],
        on_hand_before=line.costs["on_hand_before"],
    )


# --- services ------------------------------------------------------------------------------------------------------


@transaction.atomic
def receipt_create(
    *,
    purchase_order: PurchaseOrder,
    lines: Sequence[ReceiveLine],
    bin: Bin | None = None,
    freight: Decimal | int = 0,
    duties: Decimal | int = 0,
    spread_by: str = SpreadBy.VALUE,
    note: str = "",
    user=None,
) -> Receipt:
    """Receive goods against a submitted or partially received order, all lines or none.

    Accepted units go into the line's bin, else ``bin``, else the warehouse's receiving area; rejected units into
    its quarantine with the reason. Each problem is named by its field (``lines[1].accepted``). Freight and duties
    are spread over the accepted lines and every product's cost becomes its moving average (module docstring)."""
    locked = _receivable(purchase_order)
    errors: list[ErrorDetail] = []
    freight = _amount(freight, "freight", errors)
    duties = _amount(duties, "duties", errors)
    spread_by = _spread_by(spread_by, errors)
    if bin is not None and bin.warehouse_id != locked.warehouse_id:
        errors.append(_bin_elsewhere(bin, locked, "bin"))
    if not lines:
        errors.append(ErrorDetail(_("Say what was received."), field="lines", code="required"))
    planned, line_errors = _lines_plan(locked, lines, bin, prefix="lines[{index}].")
    errors += line_errors
    if not errors:
        errors += _shares_spread(planned, freight=freight, duties=duties, spread_by=spread_by)
    if errors:
        raise ValidationFailed(errors_summary(_("Nothing was received"), errors), errors=errors)

    if any(line.accepted and line.bin is None for line in planned):
        receiving = area_bin(locked.warehouse_id, Bin.Kind.RECEIVING)
        for line in planned:
            line.bin = line.bin or receiving
    _costs_apply(locked, planned)
    receipt = _receipt_start(
        locked, freight=freight, duties=duties, spread_by=spread_by, note=note or "", received_by=user
    )
    _stock_post(receipt, locked, planned, user)
    ReceiptLine.objects.bulk_create([_line_row(receipt, line) for line in planned])
    _order_advance(locked, receipt, planned, user)
    return receipt


def _scan_receipt(purchase_order: PurchaseOrder, user) -> Receipt:
    """The receipt this user's scans of the order go on today: the latest one without freight or duties."""
    today = timezone.localdate()
    found = (
        Receipt.objects.filter(
            purchase_order=purchase_order,
            received_by=user if user is not None and user.pk else None,
            created_at__date=today,
            freight=0,
            duties=0,
        )
        .order_by("-pk")
        .first()
    )
    if found is not None:
        return found
    return _receipt_start(purchase_order, received_by=user if user is not None and user.pk else None)


@transaction.atomic
def receipt_scan(
    *,
    purchase_order: PurchaseOrder,
    product: Product,
    quantity: int = 1,
    accept: bool = True,
    reason: str = "",
    user=None,
) -> Receipt:
    """One scan on the floor's receive page: ``quantity`` of ``product`` accepted into the receiving area, or
    rejected into quarantine with ``reason``, posted at once onto today's receipt of this user (module docstring)."""
    locked = _receivable(purchase_order)
    problem = quantity_problem(quantity, field="quantity")
    if problem is not None:
        raise ValidationFailed(problem.message, code=problem.code, errors=[problem])
    line = ReceiveLine(
        product=product,
        accepted=quantity if accept else 0,
        rejected=0 if accept else quantity,
        reason="" if accept else reason,
    )
    planned, errors = _lines_plan(locked, [line], None, prefix="")
    if errors:
        # One scan: its quantity is the scan's own, whether accepted or rejected.
        errors = [
            ErrorDetail(
                detail.message,
                code=detail.code,
                field="quantity" if detail.field in ("accepted", "rejected") else detail.field,
            )
            for detail in errors
        ]
        raise ValidationFailed(errors[0].message, code=errors[0].code, errors=errors)
    (scan,) = planned
    if accept:
        scan.bin = area_bin(locked.warehouse_id, Bin.Kind.RECEIVING)
    _costs_apply(locked, planned)
    receipt = _scan_receipt(locked, user)
    _stock_post(receipt, locked, planned, user)
    existing = _scan_line(receipt, scan)
    if existing is None:
        _line_row(receipt, scan).save()
    else:
        existing.quantity_accepted += scan.accepted
        existing.quantity_rejected += scan.rejected
        update_fields = ["quantity_accepted", "quantity_rejected"]
        if scan.accepted:
            existing.cost_after = scan.costs["cost_after"]
            update_fields.append("cost_after")
        existing.save(update_fields=update_fields)
    _order_advance(locked, receipt, planned, user)
    return receipt


def _scan_line(receipt: Receipt, scan: _Planned) -> ReceiptLine | None:
    """The line of ``receipt`` a scan adds to: accepted units of the product into the same bin, or rejected ones
    for the same reason."""
    lines = ReceiptLine.objects.filter(receipt=receipt, product=scan.product)
    if scan.accepted:
        lines = lines.filter(bin=scan.bin, quantity_rejected=0)
    else:
        lines = lines.filter(reject_reason=scan.reason, quantity_accepted=0)
    return lines.order_by("pk").first()


@transaction.atomic
def receipt_costs_add(
    *,
    receipt: Receipt,
    freight: Decimal | int = 0,
    duties: Decimal | int = 0,
    spread_by: str = SpreadBy.VALUE,
) -> Receipt:
    """Freight or duties of a receipt learnt after it was received, each set once (module docstring): spread over
    its accepted lines and added to the cost of the units still owned; the lines' figures are updated."""
    purchase_order = status_lock(machine=PO_STATUS, document=receipt.purchase_order)
    locked = Receipt.objects.select_for_update(no_key=True).get(pk=receipt.pk)
    errors: list[ErrorDetail] = []
    freight = _amount(freight, "freight", errors)
    duties = _amount(duties, "duties", errors)
    spread_by = _spread_by(spread_by, errors)
    if not errors and not freight and not duties:
        errors.append(ErrorDetail(_("Give the freight, the duties or both."), field="freight", code="required"))
    if errors:
        raise ValidationFailed(errors_summary(_("No costs were added"), errors), errors=errors)
    already = [
        (name, label, current)
        for name, label, current, adding in (
            ("freight", _("freight"), locked.freight, freight),
            ("duties", _("duties"), locked.duties, duties),
        )
        if adding and current
    ]
    if already:
        name, label, current = already[0]
        raise Conflict(
            _(
                "Receipt %(number)s already has its %(what)s (%(amount)s %(currency)s); it is set once per receipt, "
                "so a form sent twice cannot charge it twice."
            )
            % {"number": locked.number, "what": label, "amount": current, "currency": purchase_order.currency},
            code="costs_already_set",
            errors=[ErrorDetail(_("Already set."), field=name, code="costs_already_set")],
        )
    if (locked.freight or locked.duties) and spread_by != locked.spread_by:
        raise Conflict(
            _("Receipt %(number)s spreads its costs %(spread_by)s; spread these the same way.")
            % {"number": locked.number, "spread_by": str(SpreadBy(locked.spread_by).label).lower()},
            code="spread_by_differs",
            errors=[ErrorDetail(_("Must be %(value)s.") % {"value": locked.spread_by}, field="spread_by")],
        )

    rows = list(locked.lines.select_related("product", "purchase_order_line").order_by("pk"))
    planned = [
        _Planned(
            field=f"lines[{index}].",
            order_line=row.purchase_order_line,
            accepted=row.quantity_accepted,
            rejected=row.quantity_rejected,
            reason=row.reject_reason,
            bin=row.bin,
        )
        for index, row in enumerate(rows)
    ]
    for line, row in zip(planned, rows, strict=True):
        line.order_line.product = row.product
    errors = _shares_spread(planned, freight=freight, duties=duties, spread_by=spread_by)
    if errors:
        raise ValidationFailed(errors_summary(_("No costs were added"), errors), errors=errors)
    for line, row in zip(planned, rows, strict=True):
        line.costs = {
            "landed": _landed(
                row.unit_cost,
                row.quantity_accepted,
                row.freight_share + line.freight_share,
                row.duty_share + line.duty_share,
            )
        }
    errors = _too_costly(planned)
    if errors:
        raise ValidationFailed(errors_summary(_("No costs were added"), errors), errors=errors)

    accepting = [(line, row) for line, row in zip(planned, rows, strict=True) if line.accepted]
    products = _products_lock(row.product_id for _line, row in accepting)
    _currency_check(purchase_order, products, [line for line, _row in accepting])
    owned = _owned(products)
    cost = {product_id: product.cost_price for product_id, product in products.items()}
    left = dict(owned)  # owned units not yet taken by a line of this receipt
    changed: set[int] = set()
    for line, row in accepting:
        product_id = row.product_id
        still = min(row.quantity_accepted, left[product_id])
        left[product_id] -= still
        row.freight_share += line.freight_share
        row.duty_share += line.duty_share
        row.landed_unit_cost = line.costs["landed"]
        if not still:
            continue
        added_per_unit = (line.freight_share + line.duty_share) / row.quantity_accepted
        if cost[product_id] is None:
            cost[product_id] = row.landed_unit_cost
        else:
            cost[product_id] = (cost[product_id] + added_per_unit * still / owned[product_id]).quantize(
                COST_PLACES, rounding=ROUND_HALF_UP
            )
        row.cost_after = cost[product_id]
        changed.add(product_id)
    _product_costs_save(purchase_order.currency, {product_id: cost[product_id] for product_id in changed})
    ReceiptLine.objects.bulk_update(rows, ["freight_share", "duty_share", "landed_unit_cost", "cost_after"])
    locked.freight += freight
    locked.duties += duties
    locked.spread_by = spread_by
    locked.save(update_fields=["freight", "duties", "spread_by", "updated_at"])
    return locked
