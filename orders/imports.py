"""Saving orders as a store sent them: insert the new, apply the store's changes, hold what needs a person.

``orders_upsert`` is the one write path of imported orders (marketplace syncs and spreadsheet imports). It
takes ``OrderIn`` (``orders.inbound``), whose lines the caller has already resolved to products through the
store's SKU mapping, and in one transaction, with a fixed number of queries per thousand orders:

- checks every order and sets aside those it cannot save, each with the field and the reason
  (``UpsertResult.problems``), so one bad order never stops the others;
- inserts orders never seen, with their lines and an "imported" event ("" → their status);
- for orders seen before, ignores data older than what is saved (``channel_updated_at``), and applies newer data:
  to orders not shipped yet, every change (address, buyer, money, lines, status as the machine allows); to orders
  shipped in part or whole, the money and the store's status, and a hold when the store changed the address or
  the lines, or cancelled, since a person must see that; cancelled orders stay cancelled;
- holds an order with something still to ship whose line SKU is not mapped (one hold per SKU), and releases
  that hold when the SKU is gone from the order;
- writes an ``OrderEvent`` for every change, with what changed.

Running it twice with the same data changes nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.jsontext import json_may_hold_nul, json_text
from core.limits import QUANTITY_MAX
from core.text import FORBIDDEN_CHARACTERS
from orders.fulfilment import orders_settle
from orders.inbound import AddressIn, LineIn, OrderIn
from orders.models import Order, OrderEvent, OrderHold, OrderLine
from orders.status import IN_PROCESS, NOT_SHIPPED, ORDER_STATUS, RESERVED, TO_SHIP
from orders.tasks import allocation_queue

Status = Order.Status
BATCH = 1000
MONEY_LIMIT = Decimal("100000000000000")  # 18 digits with 4 decimals
MONEY_PLACES = Decimal("0.0001")
ADDRESS_FIELDS = {
    "name": "ship_name",
    "company": "ship_company",
    "address1": "ship_address1",
    "address2": "ship_address2",
    "address3": "ship_address3",
    "district": "ship_district",
    "city": "ship_city",
    "county": "ship_county",
    "state": "ship_state",
    "postcode": "ship_postcode",
    "country": "ship_country",
    "phone": "ship_phone",
}
MONEY_FIELDS = ("subtotal", "shipping_total", "tax_total", "discount_total", "total")
# Not a column: whether (and why) the buyer asked to cancel, which opens or releases a hold.
CANCEL_REQUEST = "cancel_requested"
TEXT_FIELDS = ("channel_status", "buyer_name", "buyer_email", "currency", "requested_service", "buyer_note")
TIME_FIELDS = ("ordered_at", "paid_at", "ship_by")
# Fields of an order whose change after shipment means the parcel may have gone to the wrong place or held
# the wrong things: a person must look.
WATCHED_AFTER_SHIPMENT = frozenset(ADDRESS_FIELDS.values())
REPLACEMENT = "\ufffd"
_COUNTRY = re.compile(r"[A-Z]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class ImportProblem:
    channel_order_id: str
    field: str
    message: str


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    held: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    imported_ids: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "held": self.held,
            "rejected": len(self.problems),
        }


def clean_text(value: Any) -> str:
    """Text from a store, with the characters no field may hold (NUL, other controls) replaced by U+FFFD, so an
    order is never refused for an invisible character and a reader sees where one was."""
    text = "" if value is None else str(value)
    return FORBIDDEN_CHARACTERS.sub(REPLACEMENT, text)


def clean_raw(value: Any) -> Any:
    """The store's data with every string cleaned (PostgreSQL's jsonb refuses \\u0000)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(key): clean_raw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean_raw(item) for item in value]
    return value


def _raw_checked(raw: Any) -> Any:
    """The store's data as saved: cleaned only if it holds a NUL, which jsonb refuses, or a lone surrogate (a scan
    of its JSON text is much cheaper than walking every string)."""
    return raw if json_may_hold_nul(raw) is False else clean_raw(raw)


# --- Checking ---------------------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.message = message


_MAX_LENGTH = {
    model: {field.name: getattr(field, "max_length", None) for field in model._meta.concrete_fields}
    for model in (Order, OrderLine)
}
_STATUSES = frozenset(Status.values)


_forbidden_search = FORBIDDEN_CHARACTERS.search


def _text(value: Any, *, model: type, name: str, label: str, cut: bool = False) -> str:
    text = value.strip() if type(value) is str and not _forbidden_search(value) else clean_text(value).strip()
    limit = _MAX_LENGTH[model][name]
    return _too_long(text, limit, label, cut) if limit is not None and len(text) > limit else text


def _too_long(text: str, limit: int, label: str, cut: bool) -> str:
    if cut:
        return text[: limit - 1] + "…"
    raise _Refused(label, _("Longer than %(limit)s characters (%(length)s).") % {"limit": limit, "length": len(text)})


def _texts(
    source: Any, fields: tuple[tuple[str, str, int | None, bool], ...], values: dict[str, Any], prefix: str = ""
) -> None:
    """``_text`` of many attributes of ``source`` into ``values``, inlined (an import checks some twenty texts an
    order and four a line, hundreds of thousands in all); an error's label is ``prefix`` + the attribute."""
    for attribute, name, limit, cut in fields:
        value = getattr(source, attribute)
        text = value.strip() if type(value) is str and not _forbidden_search(value) else clean_text(value).strip()
        values[name] = (
            _too_long(text, limit, prefix + attribute, cut) if limit is not None and len(text) > limit else text
        )


def _money(value: Any, label: str) -> Decimal:
    if type(value) is Decimal and value.is_finite() and abs(value) < MONEY_LIMIT:
        return value.quantize(MONEY_PLACES)
    if isinstance(value, float):
        value = str(value)
    try:
        amount = Decimal(value if value not in (None, "") else "0")
    except (InvalidOperation, TypeError, ValueError):
        raise _Refused(label, _("Not an amount of money: %(value)s.") % {"value": repr(value)}) from None
    if not amount.is_finite() or abs(amount) >= MONEY_LIMIT:
        raise _Refused(label, _("Not an amount of money: %(value)s.") % {"value": repr(value)})
    return amount.quantize(MONEY_PLACES)


def _time(value: Any, label: str, *, required: bool) -> datetime | None:
    if value is None:
        if required:
            raise _Refused(label, _("Missing."))
        return None
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise _Refused(label, _("Not a time with its time zone: %(value)s.") % {"value": repr(value)})
    return value


# (attribute, field, max length, cut rather than refuse) of the texts of a line, an order and its address.
_LINE_TEXTS = tuple(
    (name, name, _MAX_LENGTH[OrderLine][name], name == "title")
    for name in ("channel_line_id", "channel_sku", "channel_item_id", "title")
)
_ORDER_TEXTS = tuple((name, name, _MAX_LENGTH[Order][name], name == "buyer_note") for name in TEXT_FIELDS)
_ADDRESS_TEXTS = tuple((source, target, _MAX_LENGTH[Order][target], False) for source, target in ADDRESS_FIELDS.items())


def _line(line: LineIn, position: int) -> dict[str, Any]:
    where = f"lines[{position}]"
    texts: dict[str, Any] = {}
    _texts(line, _LINE_TEXTS, texts, prefix=f"{where}.")
    line_id = texts["channel_line_id"]
    if not line_id:
        raise _Refused(f"{where}.channel_line_id", _("Missing."))
    quantity = line.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= QUANTITY_MAX:
        raise _Refused(
            f"{where}.quantity",
            _("Must be a whole number from 0 to %(maximum)s (got %(value)s).")
            % {"maximum": f"{QUANTITY_MAX:,}", "value": repr(quantity)},
        )
    product_quantity = line.product_quantity
    if line.product_id is not None and (
        not isinstance(product_quantity, int) or not 0 <= product_quantity <= QUANTITY_MAX * 1000
    ):
        raise _Refused(
            f"{where}.product_quantity",
            _("Must be a whole number (got %(value)s).") % {"value": repr(product_quantity)},
        )
    return {
        **texts,
        "quantity": quantity,
        "unit_price": _money(line.unit_price, f"{where}.unit_price"),
        "product_id": line.product_id,
        "product_quantity": product_quantity if line.product_id is not None else None,
    }


def _checked(order: OrderIn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The order's fields and lines as they will be saved; _Refused names the first field that cannot be."""
    channel_order_id = _text(order.channel_order_id, model=Order, name="channel_order_id", label="channel_order_id")
    if not channel_order_id:
        raise _Refused("channel_order_id", _("Missing."))
    if order.status not in _STATUSES:
        raise _Refused("status", _("Not a status of an order: %(value)s.") % {"value": repr(order.status)})
    values: dict[str, Any] = {"channel_order_id": channel_order_id, "status": order.status}
    _texts(order, _ORDER_TEXTS, values)
    values["currency"] = values["currency"].upper()
    if values["currency"] and not _CURRENCY.fullmatch(values["currency"]):
        raise _Refused("currency", _("Not a currency code: %(value)s.") % {"value": repr(order.currency)})
    address = order.address or AddressIn()
    _texts(address, _ADDRESS_TEXTS, values, prefix="address.")
    values["ship_country"] = values["ship_country"].upper()
    if values["ship_country"] and not _COUNTRY.fullmatch(values["ship_country"]):
        raise _Refused("address.country", _("Not a country code: %(value)s.") % {"value": repr(address.country)})
    for name in MONEY_FIELDS:
        values[name] = _money(getattr(order, name), name)
    for name in TIME_FIELDS:
        values[name] = _time(getattr(order, name), name, required=name == "ordered_at")
    values["channel_updated_at"] = _time(order.channel_updated_at, "channel_updated_at", required=True)
    values["raw"] = _raw_checked(order.raw or {})
    values[CANCEL_REQUEST] = clean_text(order.cancel_requested).strip()[:255]
    if not order.lines:
        raise _Refused("lines", _("An order needs at least one line."))
    lines = [_line(line, position) for position, line in enumerate(order.lines)]
    seen: set[str] = set()
    for position, line in enumerate(lines):
        if line["channel_line_id"] in seen:
            raise _Refused(
                f"lines[{position}].channel_line_id",
                _("Line %(line)s is in the order twice.") % {"line": line["channel_line_id"]},
            )
        seen.add(line["channel_line_id"])
    return values, lines


# --- Saving -----------------------------------------------------------------------------------------------------


def _unmapped_skus(lines: Iterable[dict[str, Any] | OrderLine]) -> set[str]:
    skus = set()
    for line in lines:
        product_id = line["product_id"] if isinstance(line, dict) else line.product_id
        quantity = line["quantity"] if isinstance(line, dict) else line.quantity
        sku = line["channel_sku"] if isinstance(line, dict) else line.channel_sku
        if product_id is None and quantity > 0:
            skus.add(sku)
    return skus


@dataclass
class _EventRow:
    order: Any  # an Order, or a _NewOrder whose id is taken when the batch is written
    kind: str
    from_status: str
    to_status: str
    details: dict
    user_id: int | None


@dataclass
class _HoldRow:
    order: Any
    code: str
    detail: str


class _NewOrder:
    """An order to insert: its checked values, and the id taken for it when the batch is written."""

    __slots__ = ("lines", "pk", "status", "values")

    def __init__(self, values: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        self.values = values
        self.lines = lines
        self.status = values["status"]
        self.pk: int | None = None


def _event(
    order: Any, kind: str, *, from_status: str | None = None, details: dict | None = None, user=None
) -> _EventRow:
    return _EventRow(
        order=order,
        kind=kind,
        from_status=order.status if from_status is None else from_status,
        to_status=order.status,
        details=details or {},
        user_id=getattr(user, "pk", None),
    )


def _printable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class _Batch:
    """What one batch writes, gathered so each kind of row is written with one query (COPY for new rows)."""

    def __init__(self, user, store_id: int) -> None:
        self.user = user
        self.store_id = store_id
        self.new_orders: list[_NewOrder] = []
        self.changed_orders: list[Order] = []
        self.changed_fields: set[str] = set()
        self.new_lines: list[tuple[Any, dict[str, Any]]] = []  # (order, line values) for lines of saved orders
        self.changed_lines: list[OrderLine] = []
        self.changed_line_fields: set[str] = set()
        self.events: list[_EventRow] = []
        self.holds: list[_HoldRow] = []
        self.released_hold_ids: list[int] = []
        # Saved orders to bring in line with their holds and news once written (orders.fulfilment.orders_settle).
        self.settle_ids: set[int] = set()
        self.reopen_ids: set[int] = set()

    def hold(self, order: Any, code: str, detail: str) -> None:
        self.holds.append(_HoldRow(order=order, code=code, detail=detail[:255]))
        self.events.append(
            _event(order, OrderEvent.Kind.HELD, details={"code": code, "detail": detail[:255]}, user=self.user)
        )

    def write(self) -> None:
        now = timezone.now()
        if self.new_orders:
            for order, pk in zip(self.new_orders, _ids_take(Order, len(self.new_orders)), strict=True):
                order.pk = pk
            _copy_rows(Order, ORDER_COLUMNS, (_order_row(order, self.store_id, now) for order in self.new_orders))
            lines = (_line_row(order.pk, line) for order in self.new_orders for line in order.lines)
            _copy_rows(OrderLine, LINE_COLUMNS, lines)
        if self.changed_orders:
            Order.objects.bulk_update(
                self.changed_orders, sorted(self.changed_fields | {"updated_at"}), batch_size=BATCH
            )
        if self.new_lines:
            _copy_rows(OrderLine, LINE_COLUMNS, (_line_row(order.pk, line) for order, line in self.new_lines))
        if self.changed_lines:
            OrderLine.objects.bulk_update(self.changed_lines, sorted(self.changed_line_fields), batch_size=BATCH)
        if self.released_hold_ids:
            # Released by the store's own data (the SKU mapped, the request withdrawn), not by a person.
            OrderHold.objects.filter(pk__in=self.released_hold_ids).update(released_at=now, released_by=None)
        if self.holds:
            _copy_rows(
                OrderHold,
                ("order_id", "code", "detail", "created_at"),
                ((hold.order.pk, hold.code, hold.detail, now) for hold in self.holds),
            )
        if self.events:
            _copy_rows(
                OrderEvent,
                ("order_id", "kind", "from_status", "to_status", "note", "details", "user_id", "created_at"),
                (
                    (e.order.pk, e.kind, e.from_status, e.to_status, "", _json(e.details), e.user_id, now)
                    for e in self.events
                ),
            )


ORDER_COLUMNS = (*(field.attname for field in Order._meta.concrete_fields if field.attname != "store_id"), "store_id")
LINE_COLUMNS = (
    "order_id",
    "channel_line_id",
    "channel_sku",
    "channel_item_id",
    "title",
    "quantity",
    "unit_price",
    "product_id",
    "product_quantity",
)


# Columns an import never sets: what allocation decides later.
_ORDER_DEFAULTS = {
    "warehouse_id": None,
    "shipping_method_id": None,
    "warehouse_by_hand_id": None,
    "method_by_hand_id": None,
    "tags": "[]",
    "decision": "{}",
}


def _json(value: Any) -> str:
    return json_text(value)


def _order_row(order: _NewOrder, store_id: int, now: datetime) -> tuple:
    values = order.values
    row = []
    for column in ORDER_COLUMNS:
        if column == "id":
            row.append(order.pk)
        elif column in ("created_at", "updated_at"):
            row.append(now)
        elif column == "store_id":
            row.append(store_id)
        elif column == "raw":
            row.append(_json(values["raw"]))
        elif column in _ORDER_DEFAULTS:
            row.append(_ORDER_DEFAULTS[column])
        else:
            row.append(values[column])
    return tuple(row)


def _line_row(order_id: int, line: dict[str, Any]) -> tuple:
    return (
        order_id,
        line["channel_line_id"],
        line["channel_sku"],
        line["channel_item_id"],
        line["title"],
        line["quantity"],
        line["unit_price"],
        line["product_id"],
        line["product_quantity"],
    )


def _ids_take(model: type, count: int) -> list[int]:
    """``count`` primary keys of ``model`` taken from its sequence, so rows written by COPY can name each other."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy_rows(model: type, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Write rows of ``model``'s table with COPY, ``columns`` in order (JSON as its text). Several times faster
    than INSERT for the thousands of rows of an import; constraints and indexes are checked as for any insert."""
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN") as copy,
    ):
        write_row = copy.write_row
        for row in rows:
            write_row(row)


def _new_order(batch: _Batch, values: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    order = _NewOrder(values, lines)
    batch.new_orders.append(order)
    batch.events.append(_event(order, OrderEvent.Kind.IMPORTED, from_status="", user=batch.user))
    if order.status in TO_SHIP:
        for sku in sorted(_unmapped_skus(lines)):
            batch.hold(order, OrderHold.Code.UNMAPPED_SKU, sku)
        if values[CANCEL_REQUEST]:
            batch.hold(order, OrderHold.Code.CANCEL_REQUESTED, values[CANCEL_REQUEST])


def _apply_lines(batch: _Batch, order: Order, saved: list[OrderLine], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Lines the store added, changed or dropped (a dropped line keeps its row at quantity 0)."""
    changes: dict[str, Any] = {}
    by_id = {line.channel_line_id: line for line in saved}
    incoming_ids = set()
    for line in lines:
        incoming_ids.add(line["channel_line_id"])
        current = by_id.get(line["channel_line_id"])
        if current is None:
            batch.new_lines.append((order, line))
            changes[line["channel_line_id"]] = ["", f"{line['channel_sku']} × {line['quantity']}"]
            continue
        differing = {
            name: value
            for name, value in line.items()
            if name not in {"product_id", "product_quantity"} and getattr(current, name) != value
        }
        # A line keeps its product once mapped, unless its SKU changed: the store's mapping decided it then.
        if "channel_sku" in differing or current.product_id is None:
            differing.update({"product_id": line["product_id"], "product_quantity": line["product_quantity"]})
        elif "quantity" in differing and current.product_id is not None and current.quantity:
            per_unit = (current.product_quantity or 0) // current.quantity if current.quantity else 0
            differing["product_quantity"] = line["quantity"] * per_unit
        differing = {name: value for name, value in differing.items() if getattr(current, name) != value}
        if differing:
            if any(name in differing for name in ("channel_sku", "quantity")):
                changes[current.channel_line_id] = [
                    f"{current.channel_sku} × {current.quantity}",
                    f"{line['channel_sku']} × {line['quantity']}",
                ]
            for name, value in differing.items():
                setattr(current, name, value)
            batch.changed_lines.append(current)
            batch.changed_line_fields.update(differing)
    for current in saved:
        if current.channel_line_id not in incoming_ids and current.quantity:
            changes[current.channel_line_id] = [f"{current.channel_sku} × {current.quantity}", ""]
            current.quantity = 0
            current.product_quantity = 0 if current.product_id is not None else None
            batch.changed_lines.append(current)
            batch.changed_line_fields.update({"quantity", "product_quantity"})
    return changes


def _existing_order(
    batch: _Batch,
    order: Order,
    values: dict[str, Any],
    lines: list[dict[str, Any]],
    open_holds: list[OrderHold],
    saved_lines: list[OrderLine],
    cancel_request_released: bool = False,
) -> str:
    """Apply newer data to a saved order; returns "stale", "unchanged" or "updated"."""
    if values["channel_updated_at"] <= order.channel_updated_at:
        return "stale" if values["channel_updated_at"] < order.channel_updated_at else "unchanged"
    user = batch.user
    previous_status = order.status
    events_before, lines_changed_before, raw_before = len(batch.events), len(batch.changed_lines), order.raw
    holds_before = len(batch.holds)
    changed: dict[str, list[Any]] = {}
    if order.status == Status.CANCELLED:
        allowed = {"channel_status", "channel_updated_at", "raw"}
    elif order.status in NOT_SHIPPED:
        allowed = set(values) - {"channel_order_id", "status", CANCEL_REQUEST}
    else:  # shipped in part or whole: the store's money and status are news, its address and lines are not
        allowed = {"channel_status", "channel_updated_at", "raw", *MONEY_FIELDS, "paid_at", "currency"}
    after_shipment = order.status not in NOT_SHIPPED and order.status != Status.CANCELLED
    watched_changes = []
    for name, value in values.items():
        if name in {"channel_order_id", "status", CANCEL_REQUEST} or getattr(order, name) == value:
            continue
        if name in allowed:
            if name not in {"raw", "channel_updated_at"}:
                changed[name] = [_printable(getattr(order, name)), _printable(value)]
            setattr(order, name, value)
            batch.changed_fields.add(name)
        elif after_shipment and name in WATCHED_AFTER_SHIPMENT:
            watched_changes.append(name)
    if order.status in NOT_SHIPPED:
        line_changes = _apply_lines(batch, order, saved_lines, lines)
        if line_changes:
            changed["lines"] = line_changes
        final_lines = saved_lines + [line for owner, line in batch.new_lines if owner is order]
    else:
        final_lines = saved_lines
        saved_by_id = {line.channel_line_id: line for line in saved_lines}
        if after_shipment and any(
            (saved_by_id.get(line["channel_line_id"]) is None and line["quantity"])
            or (
                saved_by_id.get(line["channel_line_id"]) is not None
                and saved_by_id[line["channel_line_id"]].quantity != line["quantity"]
            )
            for line in lines
        ):
            watched_changes.append("lines")

    target = values["status"]
    if target != order.status:
        if after_shipment and target == Status.CANCELLED:
            _hold_once(batch, order, open_holds, OrderHold.Code.CANCELLED_AFTER_SHIPMENT, values["channel_status"])
        elif order.status in IN_PROCESS and target in (Status.AWAITING_SHIPMENT, Status.PENDING):
            pass  # the store still waits for the parcel: no news for an order Seabridge is working on
        elif order.status in (Status.PICKING, Status.PACKED) and target != Status.CANCELLED:
            watched_changes.append("status")  # shipped by someone else while the floor works on it
        elif target in ORDER_STATUS.allowed(order.status):
            order.status = target
            batch.changed_fields.add("status")
    if watched_changes:
        _hold_once(
            batch, order, open_holds, OrderHold.Code.CHANGED_AFTER_SHIPMENT, ", ".join(sorted(set(watched_changes)))
        )

    # Unmapped SKUs: a hold for each SKU still to ship, released when the SKU is no longer in the order.
    unmapped = _unmapped_skus(final_lines) if order.status in TO_SHIP else set()
    for hold in open_holds:
        if hold.code == OrderHold.Code.UNMAPPED_SKU and hold.detail not in unmapped:
            batch.released_hold_ids.append(hold.pk)
            batch.events.append(
                _event(order, OrderEvent.Kind.RELEASED, details={"code": hold.code, "detail": hold.detail}, user=user)
            )
    held_skus = {hold.detail for hold in open_holds if hold.code == OrderHold.Code.UNMAPPED_SKU}
    for sku in sorted(unmapped - held_skus):
        batch.hold(order, OrderHold.Code.UNMAPPED_SKU, sku)

    # A buyer's request to cancel holds what is still to ship until the seller answers it in the store (which then
    # stops saying so, or cancels the order) or a person here releases the hold to ship anyway (kept released).
    request = values[CANCEL_REQUEST] if order.status in TO_SHIP else ""
    for hold in open_holds:
        if hold.code == OrderHold.Code.CANCEL_REQUESTED and not request:
            batch.released_hold_ids.append(hold.pk)
            batch.events.append(
                _event(order, OrderEvent.Kind.RELEASED, details={"code": hold.code, "detail": hold.detail}, user=user)
            )
    if request and not cancel_request_released:
        _hold_once(batch, order, open_holds, OrderHold.Code.CANCEL_REQUESTED, request)

    if order.status != previous_status:
        batch.events.append(_event(order, OrderEvent.Kind.STATUS, from_status=previous_status, user=user))
    if previous_status in IN_PROCESS or order.status != previous_status or len(batch.holds) > holds_before:
        batch.settle_ids.add(order.pk)
        if previous_status in RESERVED | {Status.AWAITING_STOCK} and (
            "lines" in changed or any(name.startswith("ship_") or name == "requested_service" for name in changed)
        ):
            batch.reopen_ids.add(order.pk)
    if changed:
        batch.events.append(_event(order, OrderEvent.Kind.CHANGED, details=changed, user=user))
    material = (
        changed
        or order.status != previous_status
        or len(batch.events) > events_before
        or len(batch.changed_lines) > lines_changed_before
        or raw_before != order.raw
    )
    if not material:
        # Newer in name only (a spreadsheet imported again, a store touching nothing a person sees): no write.
        return "unchanged"
    batch.changed_orders.append(order)
    batch.changed_fields.update({"channel_updated_at", "raw"})
    return "updated"


def _hold_once(batch: _Batch, order: Order, open_holds: list[OrderHold], code: str, detail: str) -> None:
    if any(hold.code == code for hold in open_holds) or any(
        hold.order is order and hold.code == code for hold in batch.holds
    ):
        return
    batch.hold(order, code, detail)


def _latest(orders: Sequence[OrderIn]) -> list[OrderIn]:
    """One version of each order: the latest the store sent (pages overlap, orders change during a scan)."""
    latest: dict[str, OrderIn] = {}
    for order in orders:
        key = clean_text(order.channel_order_id).strip()
        current = latest.get(key)
        try:
            newer = current is None or order.channel_updated_at >= current.channel_updated_at
        except TypeError:  # a naive or missing time: checked (and refused) below
            newer = current is None
        if newer:
            latest[key] = order
    return list(latest.values())


@transaction.atomic
def orders_upsert(*, store_id: int, orders: Sequence[OrderIn], user=None) -> UpsertResult:
    """Save what a store sent (see the module's docstring). Orders are taken in batches of a thousand, each
    locking its saved orders in id order, so two imports into one store take turns order by order."""
    result = UpsertResult()
    checked: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for order in _latest(orders):
        try:
            checked.append(_checked(order))
        except _Refused as refused:
            result.problems.append(
                ImportProblem(clean_text(order.channel_order_id).strip()[:100], refused.field, refused.message)
            )
    for start in range(0, len(checked), BATCH):
        _upsert_batch(store_id, checked[start : start + BATCH], result, user)
    return result


def _upsert_batch(
    store_id: int, checked: list[tuple[dict[str, Any], list[dict[str, Any]]]], result: UpsertResult, user
) -> None:
    ids = [values["channel_order_id"] for values, _ in checked]
    saved = {
        order.channel_order_id: order
        for order in Order.objects.select_for_update(of=("self",))
        .filter(store_id=store_id, channel_order_id__in=ids)
        .order_by("pk")
    }
    # The saved lines by order, without Django's prefetch, which would also set each line's order (half the time
    # of a re-import of ten thousand unchanged orders).
    saved_lines: dict[int, list[OrderLine]] = defaultdict(list)
    if saved:
        for line in OrderLine.objects.filter(order_id__in=[order.pk for order in saved.values()]).order_by("pk"):
            saved_lines[line.order_id].append(line)
    open_holds: dict[int, list[OrderHold]] = defaultdict(list)
    cancel_requests_released: set[int] = set()
    if saved:
        for hold in OrderHold.objects.filter(order__in=saved.values(), released_at__isnull=True).order_by("pk"):
            open_holds[hold.order_id].append(hold)
        # A person released a cancel-request hold to ship anyway: the same request does not hold the order again.
        cancel_requests_released = set(
            OrderHold.objects.filter(
                order__in=saved.values(), code=OrderHold.Code.CANCEL_REQUESTED, released_by__isnull=False
            ).values_list("order_id", flat=True)
        )
    batch = _Batch(user, store_id)
    for values, lines in checked:
        order = saved.get(values["channel_order_id"])
        holds_before = len(batch.holds)
        if order is None:
            _new_order(batch, values, lines)
            result.created += 1
        else:
            outcome = _existing_order(
                batch,
                order,
                values,
                lines,
                open_holds[order.pk],
                saved_lines[order.pk],
                order.pk in cancel_requests_released,
            )
            setattr(result, outcome, getattr(result, outcome) + 1)
        if len(batch.holds) > holds_before:
            result.held += 1
        result.imported_ids.append(values["channel_order_id"])
    batch.write()
    if batch.settle_ids:
        orders_settle(
            order_ids=batch.settle_ids,
            user=user,
            reopen=batch.reopen_ids,
            note=gettext_noop("What the store sent changed it."),
        )
    if result.created or batch.settle_ids:
        transaction.on_commit(allocation_queue)
