"""Fast bulk create-or-update of products by SKU: validate in Python, COPY to a staging table, upsert in SQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record_bulk
from core.errors import Conflict, ErrorDetail, ValidationFailed
from core.models import natural_sort_key
from core.sheets import SheetColumn, SheetLayout, SheetSource, sheet_open
from inventory import product_rules as rules
from inventory.models import PRODUCT_FIELDS, BundleComponent, Product, StockLevel
from inventory.product_rules import FIELD_CONVERTERS, FieldInvalid, shown

PRODUCT_BULK_FIELDS = PRODUCT_FIELDS
ROW_NUMBER_KEY = "_row"
# Enough for a person to fix a file in one go, while a file where every row is wrong stays small in memory.
MAX_ERRORS = 10_000
STAGE_TABLE = "product_bulk_stage"
BULK_WORK_MEM = "64MB"
# The staging row is (row number, given-columns mask, is valid, then the product fields in PRODUCT_BULK_FIELDS order).
STAGE_LEADING_COLUMNS = 3


@dataclass(frozen=True)
class ProductBulkResult:
    """How many rows made new products, changed existing ones, and were read in all."""

    created: int
    updated: int
    total: int

    @property
    def unchanged(self) -> int:
        return self.total - self.created - self.updated


@dataclass(frozen=True)
class _Column:
    name: str
    position: int  # in the staging row
    bit: int  # in the given-columns mask
    convert: Callable[[Any], Any]
    stage_type: str


def _stage_type(field: models.Field) -> str:
    if isinstance(field, models.BooleanField):
        return "boolean"
    if isinstance(field, models.DecimalField):
        return "numeric"
    if isinstance(field, models.IntegerField):
        return "integer"
    return "text"


def _build_columns() -> dict[str, _Column]:
    columns = {}
    for index, name in enumerate(PRODUCT_BULK_FIELDS):
        field = Product._meta.get_field(name)
        columns[name] = _Column(
            name=name,
            position=STAGE_LEADING_COLUMNS + index,
            bit=1 << index,
            convert=FIELD_CONVERTERS[name],
            stage_type=_stage_type(field),
        )
    return columns


COLUMNS = _build_columns()
SKU_BIT = COLUMNS["sku"].bit
NAME_BIT = COLUMNS["name"].bit
SKU_POSITION = COLUMNS["sku"].position
BARCODE_BIT = COLUMNS["barcode"].bit
IS_BUNDLE_BIT = COLUMNS["is_bundle"].bit


def _stage_template() -> list[Any]:
    """A staging row before any value is given: the model's defaults (name and SKU have none)."""
    template: list[Any] = [None, 0, True]
    for name in PRODUCT_BULK_FIELDS:
        field = Product._meta.get_field(name)
        template.append(field.get_default() if field.has_default() or field.null else None)
    template.append(None)  # sku_sort, computed from the SKU when the row is staged
    return template


STAGE_TEMPLATE = _stage_template()


# ---------------------------------------------------------------------------------------------------------------
# Reading spreadsheets (CSV or XLSX), through the one reader in core.sheets

PRODUCT_SHEET = SheetLayout(
    columns=tuple(
        SheetColumn.for_field(Product._meta.get_field(name), is_required=name == "sku") for name in PRODUCT_BULK_FIELDS
    ),
)


def product_rows_from_sheet(*, source: SheetSource, encoding: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows of a product sheet (CSV or XLSX: bytes, a path or an upload) keyed by Product field names.

    The header names fields or their labels ("SKU", "Declared name (Chinese)"), in any case; unknown, repeated
    or no SKU column refuse the file here, before any row. Empty cells are left out (not given), text is trimmed
    and the formula escape of our exports undone; each row carries its spreadsheet row number under ``_row``
    (the header is row 1). ``encoding`` None detects it. See core.sheets for what else is checked.
    """
    return iter(sheet_open(source=source, layout=PRODUCT_SHEET, encoding=encoding))


# ---------------------------------------------------------------------------------------------------------------
# The upsert


class _ErrorLog:
    """Every problem found, up to ``limit`` kept; counts invalid rows exactly either way."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.details: list[ErrorDetail] = []
        self.omitted = 0
        self.invalid_rows = 0

    def add(self, *, row: int, field: str | None, message: str, code: str) -> None:
        if len(self.details) < self.limit:
            self.details.append(ErrorDetail(message=message, code=code, field=field, row=row))
        else:
            self.omitted += 1


def _unknown_key_problem(key: Any) -> tuple[str | None, str, str]:
    """(field, message, code) for a key that is no product field."""
    if key is None:
        return None, _("This row has more cells than the header has columns."), "unknown_column"
    if key == "":
        return "", _("A cell has a value but its column has no header."), "unknown_column"
    detail = rules.UNKNOWN_FIELD.detail(field=str(key), name=repr(key))
    return detail.field, detail.message, detail.code


def _keep(value: Any) -> Any:
    return value


def _unknown_key(key: Any) -> Callable[[Any], Any]:
    _, message, code = _unknown_key_problem(key)

    def convert(value: Any) -> Any:
        raise FieldInvalid(message, code)

    return convert


@dataclass(frozen=True)
class _RowPlan:
    """How to stage a row with a given sequence of keys: one (error field, staging position, converter) per key."""

    steps: tuple[tuple[str | None, int, Callable[[Any], Any]], ...]
    mask: int

    @classmethod
    def for_keys(cls, keys: tuple[Any, ...]) -> _RowPlan:
        steps = []
        mask = 0
        for key in keys:
            column = COLUMNS.get(key) if isinstance(key, str) else None
            if column is not None:
                steps.append((column.name, column.position, column.convert))
                mask |= column.bit
            elif key == ROW_NUMBER_KEY:
                steps.append((None, 0, _keep))  # position 0 is overwritten with the row number anyway
            else:
                steps.append((_unknown_key_problem(key)[0], 0, _unknown_key(key)))
        return cls(steps=tuple(steps), mask=mask)


# Rows from one CSV file (or one API client) nearly all have the same keys in the same order, so the work of
# matching keys to columns is done once per key sequence; bounded, in case every row brings new keys.
_ROW_PLAN_CACHE_LIMIT = 1024


def _stage_rows(
    cursor: Any, rows: Iterator[Any], *, chunk_size: int, errors: _ErrorLog, start: int, masks: dict[int, int]
) -> int:
    """Validate and COPY up to ``chunk_size`` rows to staging; counts rows per given-columns mask into ``masks``.

    Every row is staged, also an invalid one (flagged, with the values that could be read), so the checks across
    rows can still name both rows of a duplicate. Returns how many rows were read.
    """
    plans: dict[tuple[Any, ...], _RowPlan] = {}
    template = STAGE_TEMPLATE
    count = 0
    with cursor.copy(f"COPY {STAGE_TABLE} FROM STDIN") as copy:
        write_row = copy.write_row
        for row in islice(rows, chunk_size):
            count += 1
            if type(row) is not dict and not isinstance(row, Mapping):
                errors.invalid_rows += 1
                message = _("A row must be an object of field names and values, not %(row)s.") % {"row": shown(row)}
                errors.add(row=start + count, field=None, message=message, code="invalid")
                continue  # nothing in it to stage
            keys = tuple(row)
            plan = plans.get(keys)
            if plan is None:
                if len(plans) >= _ROW_PLAN_CACHE_LIMIT:
                    plans.clear()
                plan = plans[keys] = _RowPlan.for_keys(keys)
            values = template.copy()
            problems: list[tuple[str | None, str, str]] | None = None
            for (field, position, convert), value in zip(plan.steps, row.values(), strict=True):
                try:
                    values[position] = convert(value)
                except FieldInvalid as problem:
                    problems = problems or []
                    problems.append((field, problem.message, problem.code))
            mask = plan.mask
            row_number = row.get(ROW_NUMBER_KEY, start + count)
            if not mask & SKU_BIT:
                problems = problems or []
                missing = rules.SKU_REQUIRED.detail()
                problems.insert(0, (missing.field, missing.message, missing.code))
            values[0] = row_number
            values[1] = mask
            sku = values[SKU_POSITION]
            if type(sku) is str:
                values[-1] = natural_sort_key(sku)
            if problems:
                values[2] = False
                errors.invalid_rows += 1
                for field, message, code in problems:
                    errors.add(row=row_number, field=field, message=message, code=code)
            masks[mask] = masks.get(mask, 0) + 1
            write_row(values)
    return count


def _stage_create(cursor: Any) -> None:
    columns = ", ".join(f"{column.name} {column.stage_type}" for column in COLUMNS.values())
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE_TABLE}")
    # ON COMMIT DROP cleans up after a caller's outer transaction too; we also drop it ourselves when done.
    cursor.execute(
        f"CREATE TEMP TABLE {STAGE_TABLE} (row_number integer, given_mask integer, is_valid boolean, {columns}, "
        "sku_sort text) "
        "ON COMMIT DROP"
    )


PRODUCT_TABLE = Product._meta.db_table
COMPONENT_TABLE = BundleComponent._meta.db_table

# Only the keys that repeat are aggregated, so a clean file costs one hash aggregate per key.
DUPLICATES_SQL = (
    f"SELECT {{key}}, row_number, is_valid FROM {STAGE_TABLE} WHERE {{key}} IN ("  # noqa: S608 - constant names
    f"SELECT {{key}} FROM {STAGE_TABLE} WHERE {{key}} IS NOT NULL AND {{key}} <> '' GROUP BY {{key}} "
    "HAVING count(*) > 1) ORDER BY {key}, row_number"
)
# Barcodes that other products hold; ``holder_moves`` when this import gives the holder another barcode.
BARCODE_HOLDERS_SQL = (
    f"SELECT s.row_number, s.is_valid, s.barcode, p.sku, EXISTS ("  # noqa: S608 - constant names
    f"SELECT 1 FROM {STAGE_TABLE} o WHERE o.sku = p.sku AND o.given_mask & {BARCODE_BIT} <> 0) AS holder_moves "
    f"FROM {STAGE_TABLE} s JOIN {PRODUCT_TABLE} p ON p.barcode = s.barcode "
    "WHERE s.barcode <> '' AND p.sku IS DISTINCT FROM s.sku ORDER BY s.row_number"
)
NEW_WITHOUT_NAME_SQL = (
    f"SELECT s.row_number, s.is_valid, s.sku FROM {STAGE_TABLE} s "  # noqa: S608 - constant names
    f"WHERE s.given_mask & {NAME_BIT} = 0 AND s.sku IS NOT NULL "
    f"AND NOT EXISTS (SELECT 1 FROM {PRODUCT_TABLE} p WHERE p.sku = s.sku) ORDER BY s.row_number"
)
STOCK_LEVEL_TABLE = StockLevel._meta.db_table
# The bundle roles of product_rules.product_problems: a bundle with components stays one; a bundle holds no stock;
# a component cannot become a bundle (the bundles it is in come back, named as the rule's message names them).
BUNDLE_ROLE_SQL = (
    f"SELECT row_number, is_valid, sku, keeps_components, has_stock, bundles FROM ("  # noqa: S608 - constant names
    f"SELECT s.row_number, s.is_valid, s.sku, "
    f"NOT s.is_bundle AND EXISTS (SELECT 1 FROM {COMPONENT_TABLE} c WHERE c.bundle_id = p.id) AS keeps_components, "
    f"s.is_bundle AND EXISTS (SELECT 1 FROM {STOCK_LEVEL_TABLE} l WHERE l.product_id = p.id AND l.on_hand > 0) "
    "AS has_stock, "
    f"CASE WHEN s.is_bundle THEN ARRAY(SELECT b.sku FROM {COMPONENT_TABLE} c JOIN {PRODUCT_TABLE} b "
    f"ON b.id = c.bundle_id WHERE c.component_id = p.id ORDER BY b.sku_sort LIMIT {rules.BUNDLES_NAMED + 1}) "
    "END AS bundles "
    f"FROM {STAGE_TABLE} s JOIN {PRODUCT_TABLE} p ON p.sku = s.sku WHERE s.given_mask & {IS_BUNDLE_BIT} <> 0"
    ") AS roles WHERE keeps_components OR has_stock OR cardinality(bundles) > 0 ORDER BY row_number"
)
# Barcodes this import moves from one product to another are blanked first, so the upsert meets no transient clash
# (two products swapping barcodes, say). Their SKUs come back: they count as updated even if nothing else changes.
FREE_MOVED_BARCODES_SQL = (
    f"UPDATE {PRODUCT_TABLE} p SET barcode = '', updated_at = %s FROM {STAGE_TABLE} s "  # noqa: S608 - constant names
    f"WHERE s.sku = p.sku AND s.given_mask & {BARCODE_BIT} <> 0 AND p.barcode <> '' AND p.barcode <> s.barcode "
    f"AND EXISTS (SELECT 1 FROM {STAGE_TABLE} o WHERE o.barcode = p.barcode) RETURNING p.sku"
)


def _unchanged_sql() -> str:
    """Delete from staging every row equal, in the columns it gives, to the product stored under its SKU."""
    same = " AND ".join(
        f"(s.given_mask & {column.bit} = 0 OR p.{name} IS NOT DISTINCT FROM s.{name})"
        for name, column in COLUMNS.items()
        if name != "sku"
    )
    return f"DELETE FROM {STAGE_TABLE} s USING {PRODUCT_TABLE} p WHERE p.sku = s.sku AND {same}"  # noqa: S608


# Unchanged rows go before the upserts: PostgreSQL would compute each one's proposed row (its sku_sort
# included) and lock the stored row, even where the update's WHERE then skips it.
UNCHANGED_SQL = _unchanged_sql()
REMAINING_MASKS_SQL = f"SELECT given_mask, count(*) FROM {STAGE_TABLE} GROUP BY given_mask"  # noqa: S608


def _check_across_rows(cursor: Any, *, errors: _ErrorLog, masks: dict[int, int]) -> bool:
    """The rules across rows (product_rules), in SQL over the staged rows: repeated SKUs and barcodes, barcodes
    held by other products, a name for new SKUs, and the bundle roles.

    Returns whether some barcode moves from one product to another (the caller frees it before the upsert).
    """
    flagged: set[int] = set()

    def flag(row: int, is_valid: bool, field: str, message: str, code: str) -> None:
        if is_valid and row not in flagged:
            flagged.add(row)
            errors.invalid_rows += 1
        errors.add(row=row, field=field, message=message, code=code)

    def flag_detail(row: int, is_valid: bool, detail: ErrorDetail) -> None:
        flag(row, is_valid, detail.field, detail.message, detail.code)

    def duplicates(key: str, rule: rules.Rule) -> None:
        cursor.execute(DUPLICATES_SQL.format(key=key))
        first: dict[str, int] = {}
        for value, row, is_valid in cursor.fetchall():
            if value not in first:
                first[value] = row
            else:
                flag_detail(row, is_valid, rule.detail(first_row=first[value], **{key: value}))

    duplicates("sku", rules.SKU_REPEATED)
    barcode_moves = False
    if any(mask & BARCODE_BIT for mask in masks):
        duplicates("barcode", rules.BARCODE_REPEATED)
        cursor.execute(BARCODE_HOLDERS_SQL)
        for row, is_valid, barcode, holder_sku, holder_moves in cursor.fetchall():
            if holder_moves:
                barcode_moves = True
            else:
                flag_detail(row, is_valid, rules.BARCODE_TAKEN.detail(barcode=barcode, holder=holder_sku))

    if any(not mask & NAME_BIT for mask in masks):
        cursor.execute(NEW_WITHOUT_NAME_SQL)
        for row, is_valid, sku in cursor.fetchall():
            flag_detail(row, is_valid, rules.NAME_REQUIRED_FOR_NEW.detail(sku=sku))

    if any(mask & IS_BUNDLE_BIT for mask in masks):
        cursor.execute(BUNDLE_ROLE_SQL)
        for row, is_valid, sku, keeps_components, has_stock, bundles in cursor.fetchall():
            if keeps_components:
                flag_detail(row, is_valid, rules.BUNDLE_HAS_COMPONENTS.detail(sku=sku))
            if has_stock:
                flag_detail(row, is_valid, rules.BUNDLE_HAS_STOCK.detail(sku=sku))
            if bundles:
                flag_detail(
                    row, is_valid, rules.COMPONENT_BECOMES_BUNDLE.detail(sku=sku, bundles=rules.bundles_label(bundles))
                )
    return barcode_moves


def _upsert_sql(mask: int) -> str:
    """One INSERT … ON CONFLICT for the staged rows that gave exactly the columns in ``mask``.

    Only the given columns are updated, and only where one of them differs (rows equal to what is stored have
    left staging already; the WHERE is for a row that a concurrent transaction changed meanwhile). Counts the
    rows created, updated, and updated among the ``moved`` SKUs whose barcode was blanked before.
    """
    given = [name for name, column in COLUMNS.items() if mask & column.bit and name != "sku"]
    insert_columns = ", ".join([*PRODUCT_BULK_FIELDS, "sku_sort", "created_at", "updated_at"])
    source = f"{STAGE_TABLE} s"
    selected = [*(f"s.{name}" for name in PRODUCT_BULK_FIELDS), "s.sku_sort"]
    if not mask & NAME_BIT:
        # Only existing SKUs come here without a name (checked before). NOT NULL is checked before the conflict
        # is found, so the proposed row carries the current name, which the update then leaves alone.
        source += f" LEFT JOIN {PRODUCT_TABLE} p ON p.sku = s.sku"
        selected[PRODUCT_BULK_FIELDS.index("name")] = "p.name"
    if given:
        current = ", ".join(f"{PRODUCT_TABLE}.{name}" for name in given)
        proposed = ", ".join(f"EXCLUDED.{name}" for name in given)
        changes = ", ".join(f"{name} = EXCLUDED.{name}" for name in given)
        on_conflict = (
            f"DO UPDATE SET {changes}, updated_at = EXCLUDED.updated_at WHERE ({current}) IS DISTINCT FROM ({proposed})"
        )
    else:
        on_conflict = "DO NOTHING"
    return (
        f"WITH written AS (INSERT INTO {PRODUCT_TABLE} ({insert_columns}) "  # noqa: S608 - constant names
        f"SELECT {', '.join(selected)}, %(now)s, %(now)s FROM {source} WHERE s.given_mask = %(mask)s "
        f"ON CONFLICT (sku) {on_conflict} "
        f"RETURNING (xmax = 0) AS is_created, {PRODUCT_TABLE}.sku = ANY(%(moved)s) AS had_barcode_moved) "
        "SELECT count(*) FILTER (WHERE is_created), count(*) FILTER (WHERE NOT is_created), "
        "count(*) FILTER (WHERE NOT is_created AND had_barcode_moved) FROM written"
    )


def product_bulk_upsert(
    *, rows: Iterable[Mapping[str, Any]], chunk_size: int = 5000, max_errors: int = MAX_ERRORS
) -> ProductBulkResult:
    """Create or update products by SKU from ``rows`` keyed by Product field names; all or nothing.

    Values may be text (CSV) or JSON values. A column a row does not give keeps its current value on update and
    the model default on create. Every row is checked; if any is wrong, ValidationFailed lists each problem
    with its row (``row["_row"]`` when present, else the 1-based position), field and message (at most
    ``max_errors`` of them), and nothing is saved. Rows stream through in chunks of ``chunk_size``, so memory
    stays flat however long the input is. A row identical to what is stored changes nothing, not even
    ``updated_at``.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1.")
    errors = _ErrorLog(max_errors)
    iterator = iter(rows)
    total = 0
    masks: dict[int, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        # JIT compiling these short statements can cost more than running them (0.6 s seen on a 20k-row check),
        # and the duplicate checks hash every SKU: more memory keeps them off disk. Both are put back at the end.
        cursor.execute(
            "SELECT current_setting('jit'), current_setting('work_mem'), set_config('jit', 'off', true), "
            "set_config('work_mem', CASE WHEN pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(%(wanted)s) "
            "THEN %(wanted)s ELSE current_setting('work_mem') END, true)",
            {"wanted": BULK_WORK_MEM},
        )
        previous_jit, previous_work_mem = cursor.fetchone()[:2]
        _stage_create(cursor)
        # Django's cursor wraps a psycopg 3 cursor; COPY is only on the latter.
        raw_cursor = cursor.cursor
        while True:
            count = _stage_rows(raw_cursor, iterator, chunk_size=chunk_size, errors=errors, start=total, masks=masks)
            total += count
            if count < chunk_size:
                break
        barcode_moves = _check_across_rows(cursor, errors=errors, masks=masks) if total else False
        if errors.invalid_rows:
            details = sorted(errors.details, key=lambda detail: detail.row or 0)
            context = {"errors_omitted": errors.omitted} if errors.omitted else {}
            raise ValidationFailed(
                _("%(invalid)s of %(total)s rows are invalid; nothing was saved.")
                % {"invalid": errors.invalid_rows, "total": total},
                errors=details,
                **context,
            )
        created = updated = 0
        if total:
            cursor.execute(UNCHANGED_SQL)
            cursor.execute(REMAINING_MASKS_SQL)
            masks = dict(cursor.fetchall())
        if len(masks) > 1:
            cursor.execute(f"CREATE INDEX ON {STAGE_TABLE} (given_mask)")
        now = timezone.now()
        moved: list[str] = []
        if barcode_moves:
            cursor.execute(FREE_MOVED_BARCODES_SQL, [now])
            moved = [sku for (sku,) in cursor.fetchall()]
        try:
            moved_and_updated = 0
            for mask in sorted(masks):
                cursor.execute(_upsert_sql(mask), {"now": now, "mask": mask, "moved": moved})
                mask_created, mask_updated, mask_moved_and_updated = cursor.fetchone()
                created += mask_created
                updated += mask_updated
                moved_and_updated += mask_moved_and_updated
            # A product that only lost its barcode to another row was changed by the blanking alone.
            updated += len(moved) - moved_and_updated
        except IntegrityError as error:
            # Only a concurrent writer can get here: everything the database checks was checked above.
            constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
            raise Conflict(
                _(
                    "The database refused the import (%(reason)s); nothing was saved. Another change to the same "
                    "products may have happened meanwhile; try again."
                )
                % {"reason": constraint or error},
                constraint=constraint,
            ) from error
        cursor.execute(f"DROP TABLE {STAGE_TABLE}")
        cursor.execute(
            "SELECT set_config('jit', %s, true), set_config('work_mem', %s, true)", [previous_jit, previous_work_mem]
        )
        if created or updated:
            # The upsert sends no signals: one audit entry for the whole import, with its counts, in its transaction.
            audit_record_bulk(
                model=Product,
                counts={"created": created, "updated": updated, "rows": total},
                description="products bulk upsert",
            )
    return ProductBulkResult(created=created, updated=updated, total=total)
