"""Row locks on stock rows, always taken in one order (bins, balances, then levels; each by primary key).

Every stock write locks what it will change through these helpers, so two transactions never wait on
each other in opposite orders. Missing rows are created first (in key order, ON CONFLICT DO NOTHING) so
that there is always a row to lock. The querysets are evaluated here: an unevaluated select_for_update
takes no lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from inventory.models import InventoryBalance, StockLevel

BalanceKey = tuple[int, int]  # (product_id, warehouse_id)
LevelKey = tuple[int, int]  # (product_id, bin_id)


def _insert_missing(table: str, second_column: str, keys: list[tuple[int, int]], extra_columns: str) -> None:
    if not keys:
        return
    products = [key[0] for key in keys]
    others = [key[1] for key in keys]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (product_id, {second_column}, {extra_columns}, updated_at)
            SELECT k.product_id, k.other_id, {", ".join("0" for _ in extra_columns.split(","))}, now()
            FROM unnest(%s::bigint[], %s::bigint[]) AS k(product_id, other_id)
            ORDER BY k.product_id, k.other_id
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 - table and column names are constants of this module
            [products, others],
        )


def bins_share_lock(bin_ids: Iterable[int]) -> dict[int, bool]:
    """Share-lock bins (so their sellable flag cannot change under us); returns id -> is_sellable."""
    wanted = sorted(set(bin_ids))
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, is_sellable FROM inventory_bin WHERE id = ANY(%s) ORDER BY id FOR SHARE", [wanted])
        return dict(cursor.fetchall())


def balances_lock(keys: Iterable[BalanceKey], *, create: bool = True) -> dict[BalanceKey, InventoryBalance]:
    """Lock the balance rows of (product_id, warehouse_id) pairs; create missing ones when ``create``."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    if create:
        _insert_missing("inventory_inventorybalance", "warehouse_id", wanted, "on_hand, sellable, reserved")
    rows = _lock_pairs(InventoryBalance, "warehouse_id", wanted)
    return {(row.product_id, row.warehouse_id): row for row in rows}


def levels_lock(keys: Iterable[LevelKey], *, create: bool = True) -> dict[LevelKey, StockLevel]:
    """Lock the stock level rows of (product_id, bin_id) pairs; create missing ones when ``create``."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    if create:
        _insert_missing("inventory_stocklevel", "bin_id", wanted, "on_hand")
    rows = _lock_pairs(StockLevel, "bin_id", wanted)
    return {(row.product_id, row.bin_id): row for row in rows}


def _lock_pairs(model, second_column: str, pairs: list[tuple[int, int]]) -> list:
    # One statement whatever the number of pairs: the keys travel as two arrays.
    table = model._meta.db_table
    return list(
        model.objects.raw(
            f"""
            SELECT * FROM {table}
            WHERE (product_id, {second_column}) IN (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))
            ORDER BY id
            FOR UPDATE
            """,  # noqa: S608 - table and column names come from this module
            [[pair[0] for pair in pairs], [pair[1] for pair in pairs]],
        )
    )
