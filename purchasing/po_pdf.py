"""The purchase order as the supplier receives it: an A4 PDF rendered with WeasyPrint from
``templates/purchasing/purchase_order.html``.

It shows the buyer and the delivery address (the order's warehouse), the supplier, the number as a Code 128
barcode (the warehouse scans it when the goods arrive), each line (SKU, supplier SKU, name, quantity, unit cost,
line total), the totals, the expected date and the note. Headings are bilingual, Chinese and English, both
through gettext: a seller in one language orders from suppliers who read the other. Chinese needs a CJK font on
the machine (Noto Sans CJK, as for labels); nothing is fetched from the network.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.pdf import pdf_from_html
from logistics.labels import code128_svg
from purchasing.models import PurchaseOrder

# The two languages of the headings: the reader's first, then the other one.
HEADING_LANGUAGES = ("zh-hans", "en")

HEADINGS: dict[str, Promise] = {
    "title": _("Purchase order"),
    "buyer": _("Buyer"),
    "supplier": _("Supplier"),
    "deliver_to": _("Deliver to"),
    "number": _("Order number"),
    "status": _("Status"),
    "created": _("Date"),
    "submitted": _("Submitted"),
    "expected": _("Expected delivery"),
    "currency": _("Currency"),
    "supplier_reference": _("Supplier's reference"),
    "contact": _("Contact"),
    "line": _("No."),
    "sku": _("SKU"),
    "supplier_sku": _("Supplier SKU"),
    "name": _("Product"),
    "quantity": _("Quantity"),
    "unit_cost": _("Unit cost"),
    "line_total": _("Line total"),
    "total_units": _("Total units"),
    "total": _("Total"),
    "notes": _("Notes"),
    "printed": _("Printed at"),
}


def bilingual(text: Promise) -> str:
    """``text`` in the active language, then in the other language of HEADING_LANGUAGES when it reads differently
    ("采购订单 / Purchase order"); a string the catalogue lacks is shown once."""
    shown = [str(text)]
    for language in HEADING_LANGUAGES:
        with translation.override(language):
            rendered = str(text)
        if rendered not in shown:
            shown.append(rendered)
    return " / ".join(shown)


def amount(value: Decimal) -> str:
    """A money figure as people write it: grouped thousands, two decimals, more only when the cost has them
    (unit costs keep up to four places)."""
    value = Decimal(value)
    if value == value.quantize(Decimal("0.01")):
        return f"{value:,.2f}"
    return f"{value.normalize():,f}"


def buyer_name() -> str:
    """Whose order it is: ``settings.COMPANY_NAME`` when the deployment sets it (empty otherwise: the delivery
    address and the buyer's contact then say it)."""
    return getattr(settings, "COMPANY_NAME", "")


def _context(order: PurchaseOrder) -> dict:
    lines = list(order.lines.select_related("product").order_by("id"))
    rows = []
    total = Decimal(0)
    for index, line in enumerate(lines, start=1):
        line_total = line.quantity * line.unit_cost
        total += line_total
        product = line.product
        rows.append(
            {
                "index": index,
                "sku": product.sku,
                "supplier_sku": line.supplier_sku,
                "name": product.name,
                "name_zh": product.declared_name_zh if product.declared_name_zh != product.name else "",
                "quantity": line.quantity,
                "unit_cost": amount(line.unit_cost),
                "line_total": amount(line_total),
            }
        )
    creator = order.created_by
    return {
        "order": order,
        "supplier": order.supplier,
        "warehouse": order.warehouse,
        "status": order.get_status_display(),
        "buyer": buyer_name(),
        "contact": (creator.get_full_name() or creator.get_username()) if creator else "",
        "contact_email": creator.email if creator else "",
        "rows": rows,
        "total_units": sum(line.quantity for line in lines),
        # One order is in one currency; listed per currency so a total never adds up two currencies.
        "totals": [(order.currency, amount(total))],
        "barcode": code128_svg(order.number),
        "heading": {key: bilingual(text) for key, text in HEADINGS.items()},
        "printed_at": timezone.localtime(),
    }


def purchase_order_html(order: PurchaseOrder) -> str:
    return render_to_string("purchasing/purchase_order.html", _context(order))


def purchase_order_pdf(order: PurchaseOrder) -> bytes:
    """The order as an A4 PDF (see the module docstring)."""
    order = PurchaseOrder.objects.select_related("supplier", "warehouse", "created_by").get(pk=order.pk)
    return pdf_from_html(purchase_order_html(order))


def purchase_orders_pdf(orders: Sequence[PurchaseOrder]) -> bytes:
    """Several orders as one PDF, one after the other, each with its own page numbers (rendered one by one and
    joined, so "page 2 / 3" stays about its own order)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for order in orders:
        writer.append(io.BytesIO(purchase_order_pdf(order)))
    joined = io.BytesIO()
    writer.write(joined)
    return joined.getvalue()
