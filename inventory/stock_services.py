"""Stock writes: receive, move, adjust, reserve, release, pick, ship and return, each one transaction.

Every service plans its moves, locks the balance rows and then the stock level rows it touches (see
locks.py), checks the rules against the locked rows, changes quantities in SQL with F() and appends
the ledger rows, all in one transaction. The CHECK constraints on the tables are the last line of
defence: they never fire in normal operation because the checks here come first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils.translation import gettext as _

from core.errors import ErrorDetail, ValidationFailed
from core.limits import QUANTITY_MAX, STOCK_MAX, quantity_check
from inventory.errors import InsufficientStock, StockRuleBroken
from inventory.locks import balances_lock, bins_share_lock, levels_lock
from inventory.models import (
    Bin,
    Product,
    Reservation,
    ReservationEvent,
    SellableChange,
    StockLevel,
    StockMove,
    Warehouse,
)


@dataclass(frozen=True)
class PlannedMove:
    """One ledger row to be: ``quantity`` of ``product`` leaves ``from_bin`` and/or enters ``to_bin``."""

    product: Product
    quantity: int
    reason: str
    from_bin: Bin | None = None
    to_bin: Bin | None = None
    reference: str = ""
    note: str = ""


def moves_apply(
    *,
    moves: Sequence[PlannedMove],
    user=None,
    reserved_delta: dict[tuple[int, int], int] | None = None,
) -> list[StockMove]:
    """Apply planned moves (and reservation changes per (product_id, warehouse_id)) atomically.

    Must run inside a transaction. Raises InsufficientStock when a bin would go below zero and
    StockRuleBroken when sellable stock would no longer cover what is reserved.
    """
    reserved_delta = dict(reserved_delta or {})
    level_delta: dict[tuple[int, int], int] = defaultdict(int)
    on_hand_delta: dict[tuple[int, int], int] = defaultdict(int)
    sellable_delta: dict[tuple[int, int], int] = defaultdict(int)
    products: dict[int, Product] = {}
    bins: dict[int, Bin] = {}
    for move in moves:
        # Counts post whole variances, which may be larger than one document line may ask for.
        quantity_check(move.quantity, maximum=STOCK_MAX)
        products[move.product.pk] = move.product
        for bin_ in (move.from_bin, move.to_bin):
            if bin_ is not None:
                bins[bin_.pk] = bin_
    # The sellable flags are read under a share lock, so a concurrent bin_sellable_set waits for us.
    sellable_now = bins_share_lock(bins)
    for move in moves:
        for bin_, sign in ((move.from_bin, -1), (move.to_bin, 1)):
            if bin_ is None:
                continue
            level_delta[(move.product.pk, bin_.pk)] += sign * move.quantity
            balance_key = (move.product.pk, bin_.warehouse_id)
            on_hand_delta[balance_key] += sign * move.quantity
            if sellable_now[bin_.pk]:
                sellable_delta[balance_key] += sign * move.quantity

    balance_keys = set(on_hand_delta) | set(sellable_delta) | set(reserved_delta)
    balances = balances_lock(balance_keys)
    levels = levels_lock(key for key, delta in level_delta.items() if delta != 0)

    # Check every rule against the locked rows before writing anything.
    for (product_id, bin_id), delta in level_delta.items():
        if delta >= 0:
            continue
        level = levels[(product_id, bin_id)]
        if level.on_hand + delta < 0:
            bin_ = bins[bin_id]
            raise InsufficientStock(
                sku=products[product_id].sku,
                requested=-delta,
                available=level.on_hand,
                where=_("bin %(code)s") % {"code": bin_.code},
            )
    for (product_id, bin_id), delta in level_delta.items():
        if delta > 0 and levels[(product_id, bin_id)].on_hand + delta > STOCK_MAX:
            raise StockRuleBroken(
                _(
                    "%(sku)s: bin %(bin)s would hold %(quantity)s units, more than the %(limit)s a bin can hold of "
                    "one product. Check the quantity."
                )
                % {
                    "sku": products[product_id].sku,
                    "bin": bins[bin_id].code,
                    "quantity": f"{levels[(product_id, bin_id)].on_hand + delta:,}",
                    "limit": f"{STOCK_MAX:,}",
                },
                code="stock_limit",
                sku=products[product_id].sku,
                limit=STOCK_MAX,
            )
    for key in balance_keys:
        balance = balances[key]
        if balance.on_hand + on_hand_delta.get(key, 0) > STOCK_MAX:
            sku = products[key[0]].sku if key[0] in products else str(key[0])
            raise StockRuleBroken(
                _(
                    "%(sku)s: warehouse %(warehouse)s would hold %(quantity)s units, more than the %(limit)s a "
                    "warehouse can hold of one product. Check the quantity."
                )
                % {
                    "sku": sku,
                    "warehouse": balance.warehouse_id,
                    "quantity": f"{balance.on_hand + on_hand_delta[key]:,}",
                    "limit": f"{STOCK_MAX:,}",
                },
                code="stock_limit",
                sku=sku,
                limit=STOCK_MAX,
            )
        sellable = balance.sellable + sellable_delta.get(key, 0)
        reserved = balance.reserved + reserved_delta.get(key, 0)
        if reserved > sellable:
            product = products.get(key[0]) or Product.objects.only("sku").get(pk=key[0])
            raise StockRuleBroken(
                _(
                    "%(sku)s: %(reserved)s units would be reserved in warehouse %(warehouse)s but only %(sellable)s "
                    "would be in sellable bins; release or re-allocate the reservations first."
                )
                % {"sku": product.sku, "reserved": reserved, "warehouse": balance.warehouse_id, "sellable": sellable},
                code="reserved_not_covered",
                sku=product.sku,
                reserved=reserved,
                sellable=sellable,
            )

    _levels_add({levels[key].pk: delta for key, delta in level_delta.items() if delta})
    _balances_add(
        {
            balances[key].pk: (on_hand_delta.get(key, 0), sellable_delta.get(key, 0), reserved_delta.get(key, 0))
            for key in balance_keys
        }
    )

    return StockMove.objects.bulk_create(
        [
            StockMove(
                product=move.product,
                from_bin=move.from_bin,
                to_bin=move.to_bin,
                quantity=move.quantity,
                reason=move.reason,
                reference=move.reference,
                note=move.note,
                user=user,
            )
            for move in moves
        ]
    )


def _levels_add(deltas: dict[int, int]) -> None:
    """Add to the on hand of locked stock level rows, all in one statement."""
    if not deltas:
        return
    ids = list(deltas)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE inventory_stocklevel AS level SET on_hand = level.on_hand + change.delta, updated_at = now()
            FROM unnest(%s::bigint[], %s::int[]) AS change(id, delta)
            WHERE level.id = change.id
            """,
            [ids, [deltas[pk] for pk in ids]],
        )


def _balances_add(deltas: dict[int, tuple[int, int, int]]) -> None:
    """Add (on hand, sellable, reserved) changes to locked balance rows, all in one statement."""
    changed = {pk: delta for pk, delta in deltas.items() if any(delta)}
    if not changed:
        return
    ids = list(changed)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE inventory_inventorybalance AS balance
            SET on_hand = balance.on_hand + change.on_hand,
                sellable = balance.sellable + change.sellable,
                reserved = balance.reserved + change.reserved,
                updated_at = now()
            FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::int[]) AS change(id, on_hand, sellable, reserved)
            WHERE balance.id = change.id
            """,
            [ids, [changed[pk][0] for pk in ids], [changed[pk][1] for pk in ids], [changed[pk][2] for pk in ids]],
        )


def _same_warehouse(from_bin: Bin, to_bin: Bin) -> None:
    if from_bin.warehouse_id != to_bin.warehouse_id:
        raise ValidationFailed(
            _("Bins %(from_bin)s and %(to_bin)s are in different warehouses; use a transfer.")
            % {"from_bin": from_bin.code, "to_bin": to_bin.code},
            errors=[
                ErrorDetail(_("Must be in the same warehouse as the source bin."), field="to_bin", code="warehouse")
            ],
        )
    if from_bin.pk == to_bin.pk:
        raise ValidationFailed(
            _("Source and destination are both bin %(code)s.") % {"code": from_bin.code},
            errors=[ErrorDetail(_("Must differ from the source bin."), field="to_bin", code="same_bin")],
        )


@transaction.atomic
def stock_receive(
    *,
    product: Product,
    bin: Bin,
    quantity: int,
    reference: str = "",
    note: str = "",
    reason: str = StockMove.Reason.RECEIPT,
    user=None,
) -> StockMove:
    """Goods arrive into a bin (a receiving bin, or straight into a pick/bulk bin)."""
    quantity_check(quantity)
    if product.is_bundle:
        raise ValidationFailed(
            _("%(sku)s is a bundle; receive its components instead.") % {"sku": product.sku},
            errors=[ErrorDetail(_("Bundles hold no stock of their own."), field="product", code="bundle")],
        )
    if reason not in (StockMove.Reason.RECEIPT, StockMove.Reason.RETURN, StockMove.Reason.TRANSFER_IN):
        raise ValueError(f"stock_receive cannot post reason {reason}")
    (move,) = moves_apply(
        moves=[PlannedMove(product, quantity, reason, to_bin=bin, reference=reference, note=note)], user=user
    )
    return move


@transaction.atomic
def stock_move(
    *,
    product: Product,
    from_bin: Bin,
    to_bin: Bin,
    quantity: int,
    reason: str = StockMove.Reason.MOVE,
    reference: str = "",
    note: str = "",
    user=None,
) -> StockMove:
    """Put-away or bin-to-bin move inside one warehouse."""
    _same_warehouse(from_bin, to_bin)
    if reason not in (StockMove.Reason.MOVE, StockMove.Reason.PUT_AWAY):
        raise ValueError(f"stock_move cannot post reason {reason}")
    (move,) = moves_apply(
        moves=[
            PlannedMove(product, quantity, reason, from_bin=from_bin, to_bin=to_bin, reference=reference, note=note)
        ],
        user=user,
    )
    return move


@transaction.atomic
def stock_adjust(
    *,
    product: Product,
    bin: Bin,
    delta: int,
    note: str,
    reference: str = "",
    reason: str = StockMove.Reason.ADJUSTMENT,
    user=None,
) -> StockMove:
    """Correct a bin's quantity up or down; a reason (note) is required."""
    quantity_check(delta, field="delta", minimum=-QUANTITY_MAX)
    if delta == 0:
        raise ValidationFailed(
            _("An adjustment must change the quantity by a whole number other than zero."),
            errors=[ErrorDetail(_("Must be a non-zero whole number."), field="delta", code="invalid")],
        )
    if not (note or "").strip():
        raise ValidationFailed(
            _("Say why the stock is adjusted."),
            errors=[ErrorDetail(_("A reason is required for an adjustment."), field="note", code="required")],
        )
    if delta > 0:
        planned = PlannedMove(product, delta, reason, to_bin=bin, reference=reference, note=note.strip())
    else:
        planned = PlannedMove(product, -delta, reason, from_bin=bin, reference=reference, note=note.strip())
    (move,) = moves_apply(moves=[planned], user=user)
    return move


# --- Reservations ---------------------------------------------------------------------------------------


def _aggregate_lines(lines: Iterable[tuple[Product, int]]) -> dict[int, tuple[Product, int]]:
    totals: dict[int, tuple[Product, int]] = {}
    for index, (product, quantity) in enumerate(lines):
        quantity_check(quantity, field=f"lines[{index}].quantity")
        if product.is_bundle:
            raise ValidationFailed(
                _("%(sku)s is a bundle; reserve its components.") % {"sku": product.sku},
                errors=[ErrorDetail(_("Bundles hold no stock of their own."), field=f"lines[{index}].product")],
            )
        previous = totals.get(product.pk, (product, 0))[1]
        totals[product.pk] = (product, previous + quantity)
    return totals


@transaction.atomic
def stock_reserve(
    *, warehouse: Warehouse, lines: Sequence[tuple[Product, int]], reference: str, user=None
) -> list[Reservation]:
    """Reserve every line in one warehouse, or nothing: raises InsufficientStock naming each short SKU.

    Each reservation gets a "reserved" event saying how many, by whom (``user``: a person, or an integration
    acting through its own user) and when.
    """
    if not reference:
        raise ValidationFailed(
            _("A reservation needs a reference."),
            errors=[ErrorDetail(_("Required."), field="reference", code="required")],
        )
    totals = _aggregate_lines(lines)
    keys = [(product_id, warehouse.pk) for product_id in totals]
    balances = balances_lock(keys, create=False)
    shortages = []
    for product_id, (product, quantity) in totals.items():
        balance = balances.get((product_id, warehouse.pk))
        available = (balance.sellable - balance.reserved) if balance else 0
        if available < quantity:
            shortages.append(
                {"sku": product.sku, "requested": quantity, "available": available, "warehouse": warehouse.code}
            )
    if shortages:
        raise InsufficientStock.for_many(shortages)
    return _reservations_add(
        warehouse=warehouse,
        reference=reference,
        quantities={product_id: quantity for product_id, (_, quantity) in totals.items()},
        balance_ids={product_id: balances[(product_id, warehouse.pk)].pk for product_id in totals},
        products={product_id: product for product_id, (product, _) in totals.items()},
        user=user,
    )


@dataclass(frozen=True)
class ReservePart:
    """Units to reserve in one warehouse under one reference (a parcel)."""

    warehouse: Warehouse
    reference: str
    lines: Sequence[tuple[Product, int]]


@transaction.atomic
def stock_reserve_many(*, requests: Sequence[Sequence[ReservePart]], user=None) -> list[list[dict] | None]:
    """Reserve many requests at once, each all or nothing (a request: one part per warehouse), in the order given:
    one lock of every balance they touch and one statement for every reservation made. Returns, per request,
    None when it was reserved, else the shortages that refused it (sku, requested, available, warehouse), as
    ``stock_reserve`` would have named them; a refused request reserves nothing and the next ones go on.

    The batch form of ``stock_reserve`` for allocation runs: the same checks under the same locks, so a
    concurrent writer can never make it oversell; the locks are held until the caller's transaction ends.
    """
    planned: list[list[tuple[ReservePart, dict[int, tuple[Product, int]]]]] = []
    keys: set[tuple[int, int]] = set()
    for request in requests:
        parts = []
        for part in request:
            if not part.reference:
                raise ValidationFailed(
                    _("A reservation needs a reference."),
                    errors=[ErrorDetail(_("Required."), field="reference", code="required")],
                )
            totals = _aggregate_lines(part.lines)
            keys |= {(product_id, part.warehouse.pk) for product_id in totals}
            parts.append((part, totals))
        planned.append(parts)
    balances = balances_lock(keys, create=False)
    available = {key: balance.sellable - balance.reserved for key, balance in balances.items()}
    outcome: list[list[dict] | None] = []
    rows: list[tuple[int, int, int, str, int]] = []  # balance, product, warehouse, reference, quantity
    for parts in planned:
        wanted: dict[tuple[int, int], int] = defaultdict(int)
        products: dict[int, Product] = {}
        for part, totals in parts:
            for product_id, (product, quantity) in totals.items():
                wanted[(product_id, part.warehouse.pk)] += quantity
                products[product_id] = product
        shortages = [
            {
                "sku": products[product_id].sku,
                "requested": quantity,
                "available": max(available.get((product_id, warehouse_id), 0), 0),
                "warehouse": next(p.warehouse.code for p, _t in parts if p.warehouse.pk == warehouse_id),
            }
            for (product_id, warehouse_id), quantity in wanted.items()
            if available.get((product_id, warehouse_id), 0) < quantity
        ]
        if shortages:
            outcome.append(shortages)
            continue
        for key, quantity in wanted.items():
            available[key] -= quantity
        for part, totals in parts:
            for product_id, (_product, quantity) in totals.items():
                balance = balances[(product_id, part.warehouse.pk)]
                rows.append((balance.pk, product_id, part.warehouse.pk, part.reference, quantity))
        outcome.append(None)
    if rows:
        _reservations_add_rows(rows, user)
    return outcome


_RESERVATION_COLUMNS = [field.column for field in Reservation._meta.concrete_fields]


def _reservations_add(
    *,
    warehouse: Warehouse,
    reference: str,
    quantities: dict[int, int],
    balance_ids: dict[int, int],
    products: dict[int, Product],
    user=None,
) -> list[Reservation]:
    """``_reservations_add_rows`` for one reference in one warehouse; returns its reservations, with product and
    warehouse set from what the caller has."""
    rows = [
        (balance_ids[product_id], product_id, warehouse.pk, reference, quantities[product_id])
        for product_id in sorted(quantities)
    ]
    reservations = _reservations_add_rows(rows, user)
    for reservation in reservations:
        # The rows the caller has already, so reading reservation.product costs no query.
        reservation.product = products[reservation.product_id]
        reservation.warehouse = warehouse
    return sorted(reservations, key=lambda reservation: reservation.product_id)


def _reservations_add_rows(rows: list[tuple[int, int, int, str, int]], user) -> list[Reservation]:
    """Raise the locked balances' reserved figures, record the reservation rows and their "reserved" events, for
    (balance id, product id, warehouse id, reference, quantity) rows, in one statement; returns the reservations.

    One round trip while the balance rows are locked: the time those locks are held is what limits how
    many reservations a hot SKU can take per second. (reference, product, warehouse) must not repeat.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH wanted AS (
                SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::text[], %s::int[])
                AS w(balance_id, product_id, warehouse_id, reference, quantity)
            ), per_balance AS (
                SELECT balance_id, sum(quantity) AS quantity FROM wanted GROUP BY balance_id
            ), raised AS (
                UPDATE inventory_inventorybalance AS balance
                SET reserved = balance.reserved + per_balance.quantity, updated_at = now()
                FROM per_balance WHERE balance.id = per_balance.balance_id
            ), saved AS (
                INSERT INTO inventory_reservation
                    (product_id, warehouse_id, reference, quantity_reserved, quantity_picked, quantity_shipped,
                     created_at, updated_at)
                SELECT wanted.product_id, wanted.warehouse_id, wanted.reference, wanted.quantity, 0, 0, now(), now()
                FROM wanted
                ON CONFLICT (reference, product_id, warehouse_id) DO UPDATE
                SET quantity_reserved = inventory_reservation.quantity_reserved + EXCLUDED.quantity_reserved,
                    updated_at = now()
                RETURNING {", ".join("inventory_reservation." + column for column in _RESERVATION_COLUMNS)}
            ), logged AS (
                INSERT INTO inventory_reservationevent (reservation_id, kind, quantity, user_id, created_at)
                SELECT saved.id, %s, wanted.quantity, %s, now()
                FROM saved JOIN wanted ON wanted.product_id = saved.product_id
                    AND wanted.warehouse_id = saved.warehouse_id AND wanted.reference = saved.reference
            )
            SELECT * FROM saved
            """,  # noqa: S608 - the column names come from the model
            [
                [row[0] for row in rows],
                [row[1] for row in rows],
                [row[2] for row in rows],
                [row[3] for row in rows],
                [row[4] for row in rows],
                ReservationEvent.Kind.RESERVED,
                user.pk if user is not None else None,
            ],
        )
        return [Reservation.from_db("default", _RESERVATION_COLUMNS, row) for row in cursor.fetchall()]


def _reservations_lock(*, warehouse: Warehouse, reference: str, product_ids: Iterable[int] | None = None):
    queryset = Reservation.objects.select_for_update().filter(warehouse=warehouse, reference=reference)
    if product_ids is not None:
        queryset = queryset.filter(product_id__in=list(product_ids))
    return {row.product_id: row for row in queryset.order_by("pk")}


# How each kind of reservation event changes (reserved, picked, shipped) per unit.
_RESERVATION_STEPS = {
    ReservationEvent.Kind.RELEASED: (-1, 0, 0),
    ReservationEvent.Kind.PICKED: (-1, 1, 0),
    ReservationEvent.Kind.SHIPPED: (0, -1, 1),
}


def _reservations_step(
    *,
    kind: str,
    quantities: dict[int, int],
    user=None,
    stock_move: StockMove | None = None,
    balance_ids: dict[int, int] | None = None,
) -> None:
    """Move ``quantities`` (reservation id → units) one step (released, picked, shipped) and write the events.

    One statement for any number of reservations; with ``balance_ids`` (reservation id → locked balance id),
    the balances' reserved figures go down by the same units in it too (a release; a pick does that through
    moves_apply). The rows are locked by the caller.
    """
    reserved, picked, shipped = _RESERVATION_STEPS[kind]
    ids = sorted(quantities)
    balances = balance_ids or {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH step AS (
                SELECT * FROM unnest(%(ids)s::bigint[], %(quantities)s::int[], %(balances)s::bigint[])
                AS s(reservation_id, quantity, balance_id)
            ), stepped AS (
                UPDATE inventory_reservation AS reservation
                SET quantity_reserved = reservation.quantity_reserved + %(reserved)s * step.quantity,
                    quantity_picked = reservation.quantity_picked + %(picked)s * step.quantity,
                    quantity_shipped = reservation.quantity_shipped + %(shipped)s * step.quantity,
                    updated_at = now()
                FROM step WHERE reservation.id = step.reservation_id
            ), released AS (
                UPDATE inventory_inventorybalance AS balance
                SET reserved = balance.reserved - step.quantity, updated_at = now()
                FROM step WHERE balance.id = step.balance_id
            )
            INSERT INTO inventory_reservationevent (reservation_id, kind, quantity, stock_move_id, user_id, created_at)
            SELECT step.reservation_id, %(kind)s, step.quantity, %(move)s, %(user)s, now() FROM step
            """,
            {
                "ids": ids,
                "quantities": [quantities[pk] for pk in ids],
                "balances": [balances.get(pk) for pk in ids],
                "reserved": reserved,
                "picked": picked,
                "shipped": shipped,
                "kind": kind,
                "move": stock_move.pk if stock_move is not None else None,
                "user": user.pk if user is not None else None,
            },
        )


@transaction.atomic
def stock_release(
    *,
    warehouse: Warehouse,
    reference: str,
    lines: Sequence[tuple[Product, int]] | None = None,
    user=None,
) -> list[Reservation]:
    """Give back reserved (not yet picked) units: the given lines, or everything reserved for ``reference``.

    Each reservation released gets a "released" event (how many, by whom, when). Returns the reference's
    reservations in this warehouse as they are now, with product and warehouse.
    """
    if lines is None:
        current = Reservation.objects.filter(warehouse=warehouse, reference=reference, quantity_reserved__gt=0)
        totals = {row.product_id: (row.product, row.quantity_reserved) for row in current.select_related("product")}
    else:
        totals = _aggregate_lines(lines)
    if not totals:
        return []
    balances = balances_lock([(product_id, warehouse.pk) for product_id in totals], create=False)
    reservations = _reservations_lock(warehouse=warehouse, reference=reference, product_ids=totals)
    for product_id, (product, quantity) in totals.items():
        reservation = reservations.get(product_id)
        held = reservation.quantity_reserved if reservation else 0
        if held < quantity:
            raise StockRuleBroken(
                _("%(reference)s holds %(held)s reserved %(sku)s; cannot release %(quantity)s.")
                % {"reference": reference, "held": held, "sku": product.sku, "quantity": quantity},
                code="release_exceeds_reservation",
                sku=product.sku,
                reserved=held,
                requested=quantity,
            )
    _reservations_step(
        kind=ReservationEvent.Kind.RELEASED,
        quantities={reservations[product_id].pk: quantity for product_id, (_, quantity) in totals.items()},
        balance_ids={reservations[product_id].pk: balances[(product_id, warehouse.pk)].pk for product_id in totals},
        user=user,
    )
    return list(
        Reservation.objects.filter(pk__in=[row.pk for row in reservations.values()])
        .select_related("product", "warehouse")
        .order_by("product_id")
    )


@transaction.atomic
def stock_pick(
    *,
    reference: str,
    product: Product,
    from_bin: Bin,
    to_bin: Bin,
    quantity: int,
    user=None,
) -> StockMove:
    """Take reserved units out of a sellable bin into a packing/tote bin; the reservation becomes picked."""
    quantity_check(quantity)
    _same_warehouse(from_bin, to_bin)
    # Bins before balances, the order of every stock write: locking the balance first deadlocks with
    # bin_sellable_set, which holds the bin and waits for the balance. The flag is read under that lock.
    if not bins_share_lock([from_bin.pk, to_bin.pk])[from_bin.pk]:
        raise StockRuleBroken(
            _("Bin %(code)s is not sellable; reserved stock is picked from sellable bins.") % {"code": from_bin.code},
            code="bin_not_sellable",
            bin=from_bin.code,
        )
    warehouse_id = from_bin.warehouse_id
    key = (product.pk, warehouse_id)
    balances_lock([key], create=False)
    reservation = (
        Reservation.objects.select_for_update()
        .filter(reference=reference, product=product, warehouse_id=warehouse_id)
        .first()
    )
    held = reservation.quantity_reserved if reservation else 0
    if held < quantity:
        raise StockRuleBroken(
            _("%(reference)s has %(held)s reserved %(sku)s left to pick in this warehouse; cannot pick %(quantity)s.")
            % {"reference": reference, "held": held, "sku": product.sku, "quantity": quantity},
            code="pick_exceeds_reservation",
            sku=product.sku,
            reserved=held,
            requested=quantity,
        )
    (move,) = moves_apply(
        moves=[
            PlannedMove(product, quantity, StockMove.Reason.PICK, from_bin=from_bin, to_bin=to_bin, reference=reference)
        ],
        reserved_delta={key: -quantity},
        user=user,
    )
    _reservations_step(
        kind=ReservationEvent.Kind.PICKED, quantities={reservation.pk: quantity}, user=user, stock_move=move
    )
    return move


@transaction.atomic
def stock_ship(
    *,
    reference: str,
    product: Product,
    from_bin: Bin,
    quantity: int,
    user=None,
) -> StockMove:
    """Picked units leave the warehouse; the reservation's picked quantity becomes shipped."""
    quantity_check(quantity)
    warehouse_id = from_bin.warehouse_id
    bins_share_lock([from_bin.pk])  # bins before balances, as in stock_pick
    balances_lock([(product.pk, warehouse_id)], create=False)
    reservation = (
        Reservation.objects.select_for_update()
        .filter(reference=reference, product=product, warehouse_id=warehouse_id)
        .first()
    )
    picked = reservation.quantity_picked if reservation else 0
    if picked < quantity:
        raise StockRuleBroken(
            _("%(reference)s has %(picked)s picked %(sku)s waiting to ship; cannot ship %(quantity)s.")
            % {"reference": reference, "picked": picked, "sku": product.sku, "quantity": quantity},
            code="ship_exceeds_picked",
            sku=product.sku,
            picked=picked,
            requested=quantity,
        )
    (move,) = moves_apply(
        moves=[PlannedMove(product, quantity, StockMove.Reason.SHIP, from_bin=from_bin, reference=reference)],
        user=user,
    )
    _reservations_step(
        kind=ReservationEvent.Kind.SHIPPED, quantities={reservation.pk: quantity}, user=user, stock_move=move
    )
    return move


def stock_return(
    *,
    product: Product,
    bin: Bin,
    quantity: int,
    reference: str = "",
    note: str = "",
    user=None,
) -> StockMove:
    """A customer return comes back into a bin (usually quarantine until inspected); one stock_receive."""
    return stock_receive(
        product=product,
        bin=bin,
        quantity=quantity,
        reference=reference,
        note=note,
        reason=StockMove.Reason.RETURN,
        user=user,
    )


@transaction.atomic
def bin_sellable_set(*, bin: Bin, is_sellable: bool, user=None, note: str = "") -> Bin:
    """Change whether a bin's stock can be sold, keeping every balance's sellable figure true.

    Every change is on record (SellableChange): per product in the bin, the units that went on or off sale,
    by whom and when, so "who took these 40 units off sale" has an answer.
    """
    locked_bin = Bin.objects.select_for_update().get(pk=bin.pk)
    if locked_bin.is_sellable == is_sellable:
        return locked_bin
    # Moves into or out of the bin share-lock it (bins_share_lock), so these levels hold still meanwhile.
    stock = list(StockLevel.objects.filter(bin=locked_bin, on_hand__gt=0).select_related("product").order_by("id"))
    balances = balances_lock([(level.product_id, locked_bin.warehouse_id) for level in stock], create=False)
    sign = 1 if is_sellable else -1
    for level in stock:
        balance = balances[(level.product_id, locked_bin.warehouse_id)]
        if balance.sellable + sign * level.on_hand < balance.reserved:
            raise StockRuleBroken(
                _(
                    "Bin %(code)s holds %(quantity)s %(sku)s; without them only %(sellable)s would be sellable for "
                    "%(reserved)s reserved."
                )
                % {
                    "code": locked_bin.code,
                    "quantity": level.on_hand,
                    "sku": level.product.sku,
                    "sellable": balance.sellable - level.on_hand,
                    "reserved": balance.reserved,
                },
                code="reserved_not_covered",
                sku=level.product.sku,
            )
    _balances_add(
        {balances[(level.product_id, locked_bin.warehouse_id)].pk: (0, sign * level.on_hand, 0) for level in stock}
    )
    locked_bin.is_sellable = is_sellable
    locked_bin.save(update_fields=["is_sellable", "updated_at"])
    note = note.strip()[:255]
    SellableChange.objects.bulk_create(
        [
            SellableChange(
                bin=locked_bin,
                product_id=level.product_id,
                is_sellable=is_sellable,
                quantity=level.on_hand,
                note=note,
                user=user,
            )
            for level in stock
        ]
        or [SellableChange(bin=locked_bin, is_sellable=is_sellable, note=note, user=user)]
    )
    return locked_bin
