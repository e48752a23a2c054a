"""What inventory shows on the admin's home page: stock per warehouse, bins in use, products without stock, open
counts and transfers, and the latest stock moves; each only to users who may see it."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from core.dashboard import STOCK, WAREHOUSE, Figure, Section, Table, dashboard_register
from inventory import stock_selectors
from inventory.models import StockCount, Transfer

LATEST_MOVES = 10


def _changelist(model_name: str, **filters) -> str:
    url = reverse(f"admin:inventory_{model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def _units(value: int) -> str:
    return number_format(value, force_grouping=True)


def warehouse_sections(request: HttpRequest) -> list[Section]:
    user = request.user
    sections: list[Section] = []
    if user.has_perm("inventory.view_inventorybalance"):
        figures = []
        for warehouse in stock_selectors.warehouse_stock_summary():
            figures.append(
                Figure(
                    label=f"{warehouse.code} {warehouse.name}",
                    value=_units(warehouse.available),
                    note=_(
                        "%(on_hand)s on hand, %(reserved)s reserved, %(products)s products; "
                        "%(used)s of %(bins)s bins in use"
                    )
                    % {
                        "on_hand": _units(warehouse.on_hand),
                        "reserved": _units(warehouse.reserved),
                        "products": _units(warehouse.products),
                        "used": _units(warehouse.bins_in_use),
                        "bins": _units(warehouse.bins_total),
                    },
                    link=_changelist("inventorybalance", warehouse__id__exact=warehouse.warehouse_id),
                )
            )
        sections.append(Section(title=_("Available stock by warehouse"), figures=figures))
    if user.has_perm("inventory.view_stockcount") or user.has_perm("inventory.view_transfer"):
        documents = stock_selectors.open_documents()
        work = []
        if user.has_perm("inventory.view_stockcount"):
            work.append(
                Figure(
                    label=_("Stock counts open"),
                    value=documents["counts_open"],
                    link=_changelist("stockcount", status__exact=StockCount.Status.OPEN),
                )
            )
        if user.has_perm("inventory.view_transfer"):
            work.append(
                Figure(
                    label=_("Transfers in transit"),
                    value=documents["transfers_in_transit"],
                    note=_("%(count)s more drafted") % {"count": documents["transfers_draft"]},
                    link=_changelist("transfer", status__exact=Transfer.Status.SHIPPED),
                )
            )
        sections.append(Section(title=_("Warehouse work"), figures=work))
    return sections


def stock_sections(request: HttpRequest) -> list[Section]:
    user = request.user
    sections: list[Section] = []
    figures = []
    if user.has_perm("inventory.view_product"):
        figures.append(
            Figure(
                label=_("Products without stock"),
                value=stock_selectors.products_without_stock_count(),
                note=_("Active products with no unit on hand in any warehouse"),
                link=_changelist("product", is_active__exact=1, is_bundle__exact=0),
            )
        )
    tables = []
    if user.has_perm("inventory.view_stockmove"):
        rows = [
            [
                timezone.localtime(move.created_at).strftime("%Y-%m-%d %H:%M"),
                move.get_reason_display(),
                move.product.sku,
                (move.from_bin or move.to_bin).warehouse.code,
                move.from_bin.code if move.from_bin else "—",
                move.to_bin.code if move.to_bin else "—",
                move.quantity,
                move.user.username if move.user else "—",
            ]
            for move in stock_selectors.ledger()[:LATEST_MOVES]
        ]
        tables.append(
            Table(
                title=_("Latest stock moves"),
                headers=[
                    _("Time"),
                    _("Reason"),
                    _("SKU"),
                    _("Warehouse"),
                    _("From bin"),
                    _("To bin"),
                    _("Quantity"),
                    _("By"),
                ],
                rows=rows,
                link=_changelist("stockmove"),
                empty=_("No stock has moved yet."),
            )
        )
    if figures or tables:
        sections.append(Section(title=_("Stock"), figures=figures, tables=tables))
    return sections


def dashboard_ready() -> None:
    dashboard_register(warehouse_sections, order=WAREHOUSE)
    dashboard_register(stock_sections, order=STOCK)
