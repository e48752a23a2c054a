"""The stock ledger as the source of truth: check that levels and balances agree with it, and rebuild them from it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import OperationalError, connection, transaction
from django.utils.translation import gettext as _

from core.errors import Conflict
from inventory.errors import StockRuleBroken

# How long the repair waits for the stock tables before giving up (writers finish in milliseconds).
REBUILD_LOCK_TIMEOUT = "10s"
# The summary handed to logs and Celery results lists this many drifts at most; the count is always exact.
SUMMARY_MAX_LISTED = 50


@dataclass(frozen=True)
class LevelDrift:
    """A bin's stock level that differs from what the ledger adds up to."""

    product_id: int
    sku: str
    bin_id: int
    bin_code: str
    warehouse_code: str
    ledger_on_hand: int
    table_on_hand: int

    def describe(self) -> str:
        return (
            f"level {self.sku} in bin {self.bin_code} ({self.warehouse_code}): "
            f"ledger says {self.ledger_on_hand}, table says {self.table_on_hand}"
        )


@dataclass(frozen=True)
class BalanceDrift:
    """A product's balance in a warehouse that differs from the ledger (on hand, sellable) or reservations."""

    product_id: int
    sku: str
    warehouse_id: int
    warehouse_code: str
    expected_on_hand: int
    actual_on_hand: int
    expected_sellable: int
    actual_sellable: int
    expected_reserved: int
    actual_reserved: int

    def describe(self) -> str:
        figures = [
            f"{name} expected {expected}, table says {actual}"
            for name, expected, actual in (
                ("on hand", self.expected_on_hand, self.actual_on_hand),
                ("sellable", self.expected_sellable, self.actual_sellable),
                ("reserved", self.expected_reserved, self.actual_reserved),
            )
            if expected != actual
        ]
        return f"balance {self.sku} in {self.warehouse_code}: " + "; ".join(figures)


@dataclass(frozen=True)
class ReservationDrift:
    """A reservation whose figures are not what its history (reserved, released, picked, shipped) adds up to."""

    reservation_id: int
    reference: str
    sku: str
    expected: tuple[int, int, int]  # reserved, picked, shipped, from the events
    actual: tuple[int, int, int]

    def describe(self) -> str:
        return (
            f"reservation {self.reference} of {self.sku}: history adds up to reserved/picked/shipped "
            f"{'/'.join(map(str, self.expected))}, the row says {'/'.join(map(str, self.actual))}"
        )


@dataclass(frozen=True)
class DriftReport:
    """Every stock level, balance and reservation that disagrees with the ledger, the reservations and their
    history; empty lists when ok."""

    level_drifts: list[LevelDrift]
    balance_drifts: list[BalanceDrift]
    reservation_drifts: list[ReservationDrift] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.level_drifts and not self.balance_drifts and not self.reservation_drifts

    def lines(self) -> list[str]:
        drifts = [*self.level_drifts, *self.balance_drifts, *self.reservation_drifts]
        return [drift.describe() for drift in drifts]

    def summary(self) -> dict[str, Any]:
        """JSON-friendly counts and the first drifts, for logs and task results."""
        lines = self.lines()
        return {
            "ok": self.ok,
            "level_drifts": len(self.level_drifts),
            "balance_drifts": len(self.balance_drifts),
            "reservation_drifts": len(self.reservation_drifts),
            "drifts": lines[:SUMMARY_MAX_LISTED],
        }


@dataclass(frozen=True)
class BalancesRebuild:
    """What a rebuild changed (or, with ``dry_run``, would change): each drift goes from table to expected."""

    dry_run: bool
    levels_changed: list[LevelDrift]
    balances_changed: list[BalanceDrift]

    @property
    def changed(self) -> int:
        return len(self.levels_changed) + len(self.balances_changed)


# One statement, so it reads every table in one snapshot: a stock write commits its ledger rows, levels,
# balances and reservations together, so a check running next to live traffic never sees half of one
# and needs no lock. The ledger is read once (a materialized CTE) and used twice: per bin against
# StockLevel, and rolled up per warehouse (with the bins' current sellable flags) against
# InventoryBalance. Balances are compared with the ledger itself rather than with the stored levels, so
# a corrupt level is reported once, where it is, and not again as a balance that disagrees with it;
# when the levels are right the two sums are the same. Rows missing on either side count as zero.
DRIFT_SQL = """
WITH ledger_levels AS MATERIALIZED (
    SELECT moves.product_id, moves.bin_id, SUM(moves.quantity)::bigint AS on_hand
    FROM (
        SELECT product_id, to_bin_id AS bin_id, SUM(quantity) AS quantity
        FROM inventory_stockmove
        WHERE to_bin_id IS NOT NULL {move_in_filter}
        GROUP BY product_id, to_bin_id
        UNION ALL
        SELECT product_id, from_bin_id AS bin_id, -SUM(quantity) AS quantity
        FROM inventory_stockmove
        WHERE from_bin_id IS NOT NULL {move_out_filter}
        GROUP BY product_id, from_bin_id
    ) AS moves
    GROUP BY moves.product_id, moves.bin_id
),
stored_levels AS (
    SELECT level.product_id, level.bin_id, level.on_hand
    FROM inventory_stocklevel AS level
    WHERE TRUE {level_filter}
),
level_drifts AS (
    SELECT COALESCE(ledger.product_id, stored.product_id) AS product_id,
           COALESCE(ledger.bin_id, stored.bin_id) AS bin_id,
           COALESCE(ledger.on_hand, 0) AS expected_on_hand,
           COALESCE(stored.on_hand, 0) AS actual_on_hand
    FROM ledger_levels AS ledger
    FULL OUTER JOIN stored_levels AS stored
        ON stored.product_id = ledger.product_id AND stored.bin_id = ledger.bin_id
    WHERE COALESCE(ledger.on_hand, 0) <> COALESCE(stored.on_hand, 0)
),
ledger_stock AS (
    SELECT ledger.product_id, bin.warehouse_id,
           SUM(ledger.on_hand) AS on_hand,
           COALESCE(SUM(ledger.on_hand) FILTER (WHERE bin.is_sellable), 0) AS sellable
    FROM ledger_levels AS ledger
    JOIN inventory_bin AS bin ON bin.id = ledger.bin_id
    GROUP BY ledger.product_id, bin.warehouse_id
),
reserved AS (
    SELECT reservation.product_id, reservation.warehouse_id, SUM(reservation.quantity_reserved) AS reserved
    FROM inventory_reservation AS reservation
    WHERE reservation.quantity_reserved > 0 {reservation_filter}
    GROUP BY reservation.product_id, reservation.warehouse_id
),
expected_balances AS (
    SELECT COALESCE(stock.product_id, reserved.product_id) AS product_id,
           COALESCE(stock.warehouse_id, reserved.warehouse_id) AS warehouse_id,
           COALESCE(stock.on_hand, 0) AS on_hand,
           COALESCE(stock.sellable, 0) AS sellable,
           COALESCE(reserved.reserved, 0) AS reserved
    FROM ledger_stock AS stock
    FULL OUTER JOIN reserved
        ON reserved.product_id = stock.product_id AND reserved.warehouse_id = stock.warehouse_id
),
stored_balances AS (
    SELECT balance.product_id, balance.warehouse_id, balance.on_hand, balance.sellable, balance.reserved
    FROM inventory_inventorybalance AS balance
    WHERE TRUE {balance_filter}
),
balance_drifts AS (
    SELECT COALESCE(expected.product_id, stored.product_id) AS product_id,
           COALESCE(expected.warehouse_id, stored.warehouse_id) AS warehouse_id,
           COALESCE(expected.on_hand, 0) AS expected_on_hand,
           COALESCE(stored.on_hand, 0) AS actual_on_hand,
           COALESCE(expected.sellable, 0) AS expected_sellable,
           COALESCE(stored.sellable, 0) AS actual_sellable,
           COALESCE(expected.reserved, 0) AS expected_reserved,
           COALESCE(stored.reserved, 0) AS actual_reserved
    FROM expected_balances AS expected
    FULL OUTER JOIN stored_balances AS stored
        ON stored.product_id = expected.product_id AND stored.warehouse_id = expected.warehouse_id
    WHERE (COALESCE(expected.on_hand, 0), COALESCE(expected.sellable, 0), COALESCE(expected.reserved, 0))
        <> (COALESCE(stored.on_hand, 0), COALESCE(stored.sellable, 0), COALESCE(stored.reserved, 0))
)
SELECT 'level' AS kind, drift.product_id, product.sku, drift.bin_id AS place_id, bin.code AS place_code,
       warehouse.code AS warehouse_code, drift.expected_on_hand, drift.actual_on_hand,
       NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint
FROM level_drifts AS drift
JOIN inventory_product AS product ON product.id = drift.product_id
JOIN inventory_bin AS bin ON bin.id = drift.bin_id
JOIN inventory_warehouse AS warehouse ON warehouse.id = bin.warehouse_id
UNION ALL
SELECT 'balance', drift.product_id, product.sku, drift.warehouse_id, warehouse.code, warehouse.code,
       drift.expected_on_hand, drift.actual_on_hand, drift.expected_sellable, drift.actual_sellable,
       drift.expected_reserved, drift.actual_reserved
FROM balance_drifts AS drift
JOIN inventory_product AS product ON product.id = drift.product_id
JOIN inventory_warehouse AS warehouse ON warehouse.id = drift.warehouse_id
ORDER BY 1 DESC, 3, 5
"""


def _drift_statement(
    *, warehouse_ids: Iterable[int] | None, product_ids: Iterable[int] | None
) -> tuple[str, dict[str, Any]]:
    """DRIFT_SQL with its filters: the same warehouses and products on both sides of every comparison."""
    params: dict[str, Any] = {}
    move_in, move_out, level, reservation, balance = [], [], [], [], []
    if product_ids is not None:
        params["product_ids"] = sorted(set(product_ids))
        for conditions in (move_in, move_out):
            conditions.append("product_id = ANY(%(product_ids)s)")
        level.append("level.product_id = ANY(%(product_ids)s)")
        reservation.append("reservation.product_id = ANY(%(product_ids)s)")
        balance.append("balance.product_id = ANY(%(product_ids)s)")
    if warehouse_ids is not None:
        params["warehouse_ids"] = sorted(set(warehouse_ids))
        bins_of = "(SELECT id FROM inventory_bin WHERE warehouse_id = ANY(%(warehouse_ids)s))"
        move_in.append(f"to_bin_id IN {bins_of}")
        move_out.append(f"from_bin_id IN {bins_of}")
        level.append(f"level.bin_id IN {bins_of}")
        reservation.append("reservation.warehouse_id = ANY(%(warehouse_ids)s)")
        balance.append("balance.warehouse_id = ANY(%(warehouse_ids)s)")

    def joined(conditions: list[str]) -> str:
        return "".join(f" AND {condition}" for condition in conditions)

    sql = DRIFT_SQL.format(
        move_in_filter=joined(move_in),
        move_out_filter=joined(move_out),
        level_filter=joined(level),
        reservation_filter=joined(reservation),
        balance_filter=joined(balance),
    )
    return sql, params


def _drift_report(*, warehouse_ids: Iterable[int] | None, product_ids: Iterable[int] | None) -> DriftReport:
    sql, params = _drift_statement(warehouse_ids=warehouse_ids, product_ids=product_ids)
    level_drifts: list[LevelDrift] = []
    balance_drifts: list[BalanceDrift] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            kind, product_id, sku, place_id, place_code, warehouse_code, *figures = row
            if kind == "level":
                level_drifts.append(
                    LevelDrift(
                        product_id=product_id,
                        sku=sku,
                        bin_id=place_id,
                        bin_code=place_code,
                        warehouse_code=warehouse_code,
                        ledger_on_hand=int(figures[0]),
                        table_on_hand=int(figures[1]),
                    )
                )
            else:
                balance_drifts.append(
                    BalanceDrift(
                        product_id=product_id,
                        sku=sku,
                        warehouse_id=place_id,
                        warehouse_code=warehouse_code,
                        expected_on_hand=int(figures[0]),
                        actual_on_hand=int(figures[1]),
                        expected_sellable=int(figures[2]),
                        actual_sellable=int(figures[3]),
                        expected_reserved=int(figures[4]),
                        actual_reserved=int(figures[5]),
                    )
                )
    return DriftReport(level_drifts=level_drifts, balance_drifts=balance_drifts)


def stock_drift_check(
    *, warehouse_ids: Iterable[int] | None = None, product_ids: Iterable[int] | None = None
) -> DriftReport:
    """Compare stock levels and balances with the ledger and the reservations, and each reservation with its
    history (reserved − released − picked = reserved now; picked − shipped = picked now); ``report.ok`` when they
    all agree.

    Levels: Σ ledger per product and bin (in minus out) against StockLevel.on_hand. Balances: the same
    sums rolled up per warehouse (all bins → on hand, bins sellable now → sellable) and Σ of
    Reservation.quantity_reserved against InventoryBalance. Runs as one statement (one snapshot), so it
    is exact next to live stock writes and takes no lock. ``None`` filters mean every warehouse/product.
    """
    report = _drift_report(warehouse_ids=warehouse_ids, product_ids=product_ids)
    return DriftReport(
        level_drifts=report.level_drifts,
        balance_drifts=report.balance_drifts,
        reservation_drifts=_reservation_drifts(warehouse_ids=warehouse_ids, product_ids=product_ids),
    )


# Each stock service writes a reservation's figures and its event in one transaction, so one statement sees both.
RESERVATION_DRIFT_SQL = """
SELECT r.id, r.reference, p.sku, e.reserved, e.picked, e.shipped,
       r.quantity_reserved, r.quantity_picked, r.quantity_shipped
FROM inventory_reservation r
JOIN inventory_product p ON p.id = r.product_id
LEFT JOIN LATERAL (
    SELECT
        coalesce(sum(quantity) FILTER (WHERE kind = 'reserved'), 0)
            - coalesce(sum(quantity) FILTER (WHERE kind IN ('released', 'picked')), 0) AS reserved,
        coalesce(sum(quantity) FILTER (WHERE kind = 'picked'), 0)
            - coalesce(sum(quantity) FILTER (WHERE kind = 'shipped'), 0) AS picked,
        coalesce(sum(quantity) FILTER (WHERE kind = 'shipped'), 0) AS shipped
    FROM inventory_reservationevent WHERE reservation_id = r.id
) e ON true
WHERE (e.reserved, e.picked, e.shipped) IS DISTINCT FROM (r.quantity_reserved, r.quantity_picked, r.quantity_shipped)
  AND (%(warehouses)s::bigint[] IS NULL OR r.warehouse_id = ANY(%(warehouses)s::bigint[]))
  AND (%(products)s::bigint[] IS NULL OR r.product_id = ANY(%(products)s::bigint[]))
ORDER BY r.id
"""


def _reservation_drifts(
    *, warehouse_ids: Iterable[int] | None, product_ids: Iterable[int] | None
) -> list[ReservationDrift]:
    params = {
        "warehouses": None if warehouse_ids is None else list(warehouse_ids),
        "products": None if product_ids is None else list(product_ids),
    }
    with connection.cursor() as cursor:
        cursor.execute(RESERVATION_DRIFT_SQL, params)
        return [
            ReservationDrift(
                reservation_id=row[0],
                reference=row[1],
                sku=row[2],
                expected=(int(row[3]), int(row[4]), int(row[5])),
                actual=(int(row[6]), int(row[7]), int(row[8])),
            )
            for row in cursor.fetchall()
        ]


def _ledger_contradictions(report: DriftReport) -> list[str]:
    """Expected figures the tables' CHECKs would refuse: the ledger or the reservations themselves are wrong.

    Unlike the drift lines, these are the words of the refusal a person reads, so they are in the active language.
    """
    problems = [
        _("%(sku)s in bin %(bin)s: the ledger adds up to %(on_hand)s")
        % {"sku": drift.sku, "bin": drift.bin_code, "on_hand": drift.ledger_on_hand}
        for drift in report.level_drifts
        if drift.ledger_on_hand < 0
    ]
    problems += [
        _("%(sku)s in %(warehouse)s: %(reserved)s reserved but the ledger has only %(sellable)s in sellable bins")
        % {
            "sku": drift.sku,
            "warehouse": drift.warehouse_code,
            "reserved": drift.expected_reserved,
            "sellable": drift.expected_sellable,
        }
        for drift in report.balance_drifts
        if drift.expected_reserved > drift.expected_sellable
    ]
    return problems


def _rebuild_apply(report: DriftReport) -> None:
    levels = sorted((drift.product_id, drift.bin_id, drift.ledger_on_hand) for drift in report.level_drifts)
    balances = sorted(
        (drift.product_id, drift.warehouse_id, drift.expected_on_hand, drift.expected_sellable, drift.expected_reserved)
        for drift in report.balance_drifts
    )
    with connection.cursor() as cursor:
        if levels:
            cursor.execute(
                """
                INSERT INTO inventory_stocklevel (product_id, bin_id, on_hand, updated_at)
                SELECT fixed.product_id, fixed.bin_id, fixed.on_hand, now()
                FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS fixed(product_id, bin_id, on_hand)
                ON CONFLICT (product_id, bin_id) DO UPDATE SET on_hand = EXCLUDED.on_hand, updated_at = now()
                """,
                [list(column) for column in zip(*levels, strict=True)],
            )
        if balances:
            cursor.execute(
                """
                INSERT INTO inventory_inventorybalance
                    (product_id, warehouse_id, on_hand, sellable, reserved, updated_at)
                SELECT fixed.product_id, fixed.warehouse_id, fixed.on_hand, fixed.sellable, fixed.reserved, now()
                FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::int[])
                    AS fixed(product_id, warehouse_id, on_hand, sellable, reserved)
                ON CONFLICT (product_id, warehouse_id) DO UPDATE
                SET on_hand = EXCLUDED.on_hand, sellable = EXCLUDED.sellable, reserved = EXCLUDED.reserved,
                    updated_at = now()
                """,
                [list(column) for column in zip(*balances, strict=True)],
            )


def stock_balances_rebuild(*, dry_run: bool = True, warehouse_ids: Iterable[int] | None = None) -> BalancesRebuild:
    """Set StockLevel and InventoryBalance to what the ledger and the reservations say (repair after a restore).

    With ``dry_run`` (the default) nothing is written and nothing is locked: it returns what would change.
    Otherwise, in its own transaction, it first locks the stock tables so that no stock write can run
    between reading the truth and writing it back: bins (SHARE: sellable flags frozen), balances and
    levels (EXCLUSIVE: plain reads go on, every writer and row lock waits), then ledger and reservations
    (SHARE: read-only). The order is the order the stock services take their locks in. Any stock write
    waits until the rebuild commits, and the rebuild gives up with a Conflict if it cannot get the
    locks within REBUILD_LOCK_TIMEOUT. Rows are corrected, never deleted. Raises StockRuleBroken, and
    writes nothing, when the ledger itself adds up to negative stock or to more reserved than sellable:
    that needs a correcting stock move from a person, not a rebuild.
    """
    warehouse_ids = None if warehouse_ids is None else sorted(set(warehouse_ids))
    if dry_run:
        report = _drift_report(warehouse_ids=warehouse_ids, product_ids=None)
        return BalancesRebuild(dry_run=True, levels_changed=report.level_drifts, balances_changed=report.balance_drifts)
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{REBUILD_LOCK_TIMEOUT}'")
            try:
                cursor.execute("LOCK TABLE inventory_bin IN SHARE MODE")
                cursor.execute("LOCK TABLE inventory_inventorybalance, inventory_stocklevel IN EXCLUSIVE MODE")
                cursor.execute("LOCK TABLE inventory_stockmove, inventory_reservation IN SHARE MODE")
            except OperationalError as error:
                if getattr(error.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
                    raise Conflict(
                        _(
                            "The stock tables stayed busy for %(timeout)s; run the rebuild again when fewer stock "
                            "writes are running."
                        )
                        % {"timeout": REBUILD_LOCK_TIMEOUT},
                        code="stock_tables_busy",
                    ) from error
                raise
        report = _drift_report(warehouse_ids=warehouse_ids, product_ids=None)
        problems = _ledger_contradictions(report)
        if problems:
            raise StockRuleBroken(
                _(
                    "The ledger and reservations cannot be turned into valid stock figures; post correcting moves or "
                    "releases first: %(problems)s"
                )
                % {"problems": "; ".join(problems[:SUMMARY_MAX_LISTED])},
                code="ledger_inconsistent",
                problems=problems,
            )
        _rebuild_apply(report)
    return BalancesRebuild(dry_run=False, levels_changed=report.level_drifts, balances_changed=report.balance_drifts)
