"""Orders from a spreadsheet (CSV or XLSX), for stores without an API (the ``manual`` channel) or a backlog.

One row per order line; the order's own columns (buyer, ship-to, money, times) are given on its first row and
may be repeated on the next rows of the same order, where they must say the same. The header names the columns
by key or by name in any language (``ship_country``, ``Country``, ``国家``); the keys and what each holds are in
docs/orders.md. Every problem of every row is reported (row and column) and then nothing is saved; a file
imported twice changes nothing the second time.

Times without a time zone are read in ``zone`` (the store's ``options["timezone"]``, else the site's TIME_ZONE).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ErrorDetail, ValidationFailed
from core.sheets import (
    ROW_KEY,
    SheetColumn,
    SheetLayout,
    SheetSource,
    choice_by_text,
    header_key,
    sheet_open,
)
from orders.imports import UpsertResult, orders_upsert
from orders.inbound import AddressIn, LineIn, OrderIn
from orders.models import Order, OrderLine

MAX_ROWS = 200_000

_order = Order._meta.get_field
_line = OrderLine._meta.get_field

# (key, model field it reads into or None, extra aliases, required)
ORDER_COLUMNS: tuple[tuple[str, Any, tuple[str, ...], bool], ...] = (
    ("order_id", _order("channel_order_id"), ("order id", gettext_lazy("order number")), True),
    ("ordered_at", _order("ordered_at"), ("order date", "date"), True),
    ("status", _order("status"), (), False),
    ("buyer_name", _order("buyer_name"), ("buyer",), False),
    ("buyer_email", _order("buyer_email"), ("email",), False),
    ("ship_name", _order("ship_name"), ("name", "recipient name"), False),
    ("ship_company", _order("ship_company"), ("company",), False),
    ("ship_address1", _order("ship_address1"), ("address1", "address"), False),
    ("ship_address2", _order("ship_address2"), ("address2",), False),
    ("ship_address3", _order("ship_address3"), ("address3",), False),
    ("ship_district", _order("ship_district"), ("district",), False),
    ("ship_city", _order("ship_city"), ("city",), False),
    ("ship_county", _order("ship_county"), ("county",), False),
    ("ship_state", _order("ship_state"), ("state", "province", "region"), False),
    ("ship_postcode", _order("ship_postcode"), ("postcode", "zip", "postal code"), False),
    ("ship_country", _order("ship_country"), ("country",), True),
    ("ship_phone", _order("ship_phone"), ("phone",), False),
    ("currency", _order("currency"), (), False),
    ("shipping", _order("shipping_total"), (), False),
    ("tax", _order("tax_total"), (), False),
    ("discount", _order("discount_total"), (), False),
    ("total", _order("total"), (), False),
    ("requested_service", _order("requested_service"), ("service", "shipping service"), False),
    ("note", _order("buyer_note"), ("buyer note",), False),
)
LINE_COLUMNS: tuple[tuple[str, Any, tuple[str, ...], bool], ...] = (
    ("line_id", _line("channel_line_id"), ("line id",), False),
    ("sku", _line("channel_sku"), (gettext_lazy("SKU"),), True),
    ("title", _line("title"), ("product name",), False),
    ("quantity", _line("quantity"), ("qty",), True),
    ("unit_price", _line("unit_price"), ("price",), False),
)
NUMBER_COLUMNS = {"shipping", "tax", "discount", "total", "quantity", "unit_price"}
TIME_COLUMNS = {"ordered_at"}

ORDER_SHEET = SheetLayout(
    columns=tuple(
        SheetColumn(
            name=key,
            aliases=(model_field.name, model_field.verbose_name, *aliases),
            is_required=required,
            is_text=key not in NUMBER_COLUMNS | TIME_COLUMNS,
        )
        for key, model_field, aliases, required in ORDER_COLUMNS + LINE_COLUMNS
    ),
    ignores_unknown_columns=True,
    max_rows=MAX_ROWS,
)
ORDER_KEYS = [key for key, *_rest in ORDER_COLUMNS]


class _Rows:
    """Problems found while reading, each with its row and column."""

    def __init__(self) -> None:
        self.errors: list[ErrorDetail] = []

    def add(self, row: int, field: str, message: str, code: str = "invalid") -> None:
        self.errors.append(ErrorDetail(message=message, field=field, row=row, code=code))


# The template's example: one order of two lines, every column filled where it makes sense.
_TEMPLATE_EXAMPLE = (
    {
        "order_id": "WEB-1001",
        "ordered_at": "2026-11-20 09:30",
        "status": "awaiting_shipment",
        "buyer_name": "Jane Roe",
        "buyer_email": "jane@example.com",
        "ship_name": "Jane Roe",
        "ship_address1": "1 Main St",
        "ship_address2": "Apt 4",
        "ship_city": "Springfield",
        "ship_state": "IL",
        "ship_postcode": "62701",
        "ship_country": "US",
        "ship_phone": "+1 555 0100",
        "currency": "USD",
        "shipping": "4.99",
        "requested_service": "Standard",
        "note": "Leave at the door",
        "line_id": "1",
        "sku": "CASE-IP15-BLK",
        "title": "Phone case, black",
        "quantity": "2",
        "unit_price": "9.90",
    },
    {"order_id": "WEB-1001", "line_id": "2", "sku": "CBL-USBC-1M", "title": "USB-C cable, 1 m", "quantity": "1"},
)


def orders_template_csv() -> str:
    """A CSV template of the order sheet: the columns by their names in the active language (which the import
    reads back in any language), and an example order of two lines. With a BOM, so Excel opens Chinese headers
    right."""
    import csv
    import io

    stream = io.StringIO()
    writer = csv.writer(stream)
    columns = ORDER_COLUMNS + LINE_COLUMNS
    writer.writerow([str(model_field.verbose_name) for _key, model_field, _aliases, _required in columns])
    for example in _TEMPLATE_EXAMPLE:
        writer.writerow([example.get(key, "") for key, *_rest in columns])
    return "\ufeff" + stream.getvalue()


def _status_by_text() -> dict[str, str]:
    return choice_by_text(Order.Status.choices)


def _time(value: Any, zone: dt.tzinfo) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        text = str(value).strip().replace("/", "-")
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            moment = dt.datetime.combine(day, dt.time()) if day else None
    if moment is None:
        return None
    return timezone.make_aware(moment, zone) if timezone.is_naive(moment) else moment


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _quantity(value: Any) -> int | None:
    amount = _decimal(value)
    if amount is None or amount != amount.to_integral_value():
        return None
    return int(amount)


def _order_values(row: dict[str, Any], number: int, problems: _Rows, zone: dt.tzinfo, statuses) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in ORDER_KEYS:
        if key not in row:
            continue
        value = row[key]
        if key == "ordered_at":
            moment = _time(value, zone)
            if moment is None:
                problems.add(number, key, _("Not a date and time: %(value)s.") % {"value": value})
            values[key] = moment
        elif key in {"shipping", "tax", "discount", "total"}:
            amount = _decimal(value)
            if amount is None:
                problems.add(number, key, _("Not an amount of money: %(value)s.") % {"value": value})
            values[key] = amount
        elif key == "status":
            status = statuses.get(header_key(str(value)))
            if status is None:
                problems.add(
                    number,
                    key,
                    _("Not a status of an order: %(value)s (one of: %(choices)s).")
                    % {"value": value, "choices": ", ".join(Order.Status.values)},
                )
            values[key] = status
        else:
            values[key] = str(value)
    return values


def _line_values(row: dict[str, Any], number: int, problems: _Rows) -> dict[str, Any]:
    quantity = _quantity(row.get("quantity"))
    if quantity is None or quantity < 1:
        problems.add(
            number,
            "quantity",
            _("Must be a whole number of at least 1 (got %(value)s).") % {"value": row.get("quantity")},
        )
    price = _decimal(row.get("unit_price", "0"))
    if price is None:
        problems.add(number, "unit_price", _("Not an amount of money: %(value)s.") % {"value": row.get("unit_price")})
    return {
        "line_id": str(row.get("line_id") or "").strip(),
        "sku": str(row.get("sku") or "").strip(),
        "title": str(row.get("title") or ""),
        "quantity": quantity or 0,
        "unit_price": price or Decimal("0"),
        "row": number,
    }


def _order_in(
    order_id: str, values: dict[str, Any], lines: list[dict[str, Any]], rows: list[dict], now: dt.datetime
) -> OrderIn:
    shipping = values.get("shipping") or Decimal("0")
    tax = values.get("tax") or Decimal("0")
    discount = values.get("discount") or Decimal("0")
    subtotal = sum((line["unit_price"] * line["quantity"] for line in lines), Decimal("0"))
    total = values.get("total")
    status = values.get("status") or Order.Status.AWAITING_SHIPMENT
    return OrderIn(
        channel_order_id=order_id,
        status=status,
        channel_status=status,
        ordered_at=values["ordered_at"],
        # A spreadsheet says nothing of when it changed: equal data imported again is recognised as unchanged
        # by its content, and changed data applies.
        channel_updated_at=now,
        lines=[
            LineIn(
                channel_line_id=line["line_id"] or line["sku"],
                channel_sku=line["sku"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                title=line["title"],
            )
            for line in lines
        ],
        address=AddressIn(
            name=values.get("ship_name", ""),
            company=values.get("ship_company", ""),
            address1=values.get("ship_address1", ""),
            address2=values.get("ship_address2", ""),
            address3=values.get("ship_address3", ""),
            district=values.get("ship_district", ""),
            city=values.get("ship_city", ""),
            county=values.get("ship_county", ""),
            state=values.get("ship_state", ""),
            postcode=values.get("ship_postcode", ""),
            country=values.get("ship_country", ""),
            phone=values.get("ship_phone", ""),
        ),
        buyer_name=values.get("buyer_name", ""),
        buyer_email=values.get("buyer_email", ""),
        currency=values.get("currency", ""),
        subtotal=subtotal,
        shipping_total=shipping,
        tax_total=tax,
        discount_total=discount,
        total=total if total is not None else subtotal + shipping + tax - discount,
        requested_service=values.get("requested_service", ""),
        buyer_note=values.get("note", ""),
        # The rows are the file's; what is kept is where they were.
        raw={"source": "spreadsheet", "rows": [row[ROW_KEY] for row in rows]},
    )


def orders_from_sheet(*, source: SheetSource, zone: dt.tzinfo | None = None) -> list[OrderIn]:
    """Read and check every row; ValidationFailed lists every problem (row and column) of the file."""
    zone = zone or zoneinfo.ZoneInfo(settings.TIME_ZONE)
    problems = _Rows()
    statuses = _status_by_text()
    orders: dict[str, tuple[dict[str, Any], int, list[dict[str, Any]], list[dict]]] = {}
    try:
        for row in sheet_open(source=source, layout=ORDER_SHEET):
            number = row[ROW_KEY]
            order_id = str(row.get("order_id") or "").strip()
            if not order_id:
                problems.add(number, "order_id", _("Missing."), code="required")
                continue
            values = _order_values(row, number, problems, zone, statuses)
            line = _line_values(row, number, problems)
            if not line["sku"]:
                problems.add(number, "sku", _("Missing."), code="required")
            if order_id not in orders:
                if "ordered_at" not in values:
                    problems.add(number, "ordered_at", _("Missing on the order's first row."), code="required")
                if not values.get("ship_country"):
                    problems.add(number, "ship_country", _("Missing on the order's first row."), code="required")
                orders[order_id] = (values, number, [line], [row])
                continue
            first, first_row, lines, rows = orders[order_id]
            for key, value in values.items():
                if key in first and first[key] != value:
                    problems.add(
                        number,
                        key,
                        _("Differs from row %(row)s of order %(order)s (%(first)s).")
                        % {"row": first_row, "order": order_id, "first": first[key]},
                        code="inconsistent",
                    )
                first.setdefault(key, value)
            line_id = line["line_id"] or line["sku"]
            for other in lines:
                if (other["line_id"] or other["sku"]) == line_id:
                    problems.add(
                        number,
                        "line_id" if line["line_id"] else "sku",
                        _("Order %(order)s has this line already at row %(row)s; give each line its own line_id.")
                        % {"order": order_id, "row": other["row"]},
                        code="duplicate",
                    )
            lines.append(line)
            rows.append(row)
    except ValidationFailed as failed:  # cells the reader refused, and the header: with ours, all at once
        raise ValidationFailed.listing(_("The file"), [*failed.errors, *problems.errors]) from None
    if problems.errors:
        raise ValidationFailed.listing(_("The file"), problems.errors)
    now = timezone.now()
    return [_order_in(order_id, values, lines, rows, now) for order_id, (values, _row, lines, rows) in orders.items()]


@transaction.atomic
def orders_import_sheet(*, store, source: SheetSource, user=None, lines_mapper=None) -> UpsertResult:
    """Import a spreadsheet of orders into ``store``: all or nothing. ``lines_mapper(store, orders)`` resolves
    the lines' SKUs to products (channels passes its SKU mapping); without it lines stay unmapped."""
    zone_name = (store.options or {}).get("timezone") or settings.TIME_ZONE
    try:
        zone = zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    orders = orders_from_sheet(source=source, zone=zone)
    if lines_mapper is not None:
        lines_mapper(store, orders)
    result = orders_upsert(store_id=store.pk, orders=orders, user=user)
    if result.problems:
        # Rows passed the sheet's checks but an order still cannot be saved (a value too long, say): nothing is.
        raise ValidationFailed.listing(
            _("The file"),
            [
                ErrorDetail(
                    message=f"{problem.channel_order_id}: {problem.message}", field=problem.field, code="invalid"
                )
                for problem in result.problems
            ],
        )
    return result
