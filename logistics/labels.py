"""Shipping labels and CN22 customs declarations, rendered with WeasyPrint from ``templates/labels/``.

A label is one page of 100×100 mm or 4×6 in (the sizes thermal printers take): sender, receiver, the order
reference and the tracking number as a Code 128 barcode; a second page of the same size carries the CN22
declaration (bilingual names, HS codes, quantities, values, weights, origin). Many labels render as one document
(a wave prints as one PDF in pick order): WeasyPrint lays out one document of many pages far faster than many
documents. Chinese needs a CJK font on the machine (Noto Sans CJK from Debian's ``fonts-noto-cjk``, which
``.ci/run`` installs); nothing is fetched from the network: the fetcher refuses every URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import barcode
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from core.pdf import pdf_from_html

# Page sizes as CSS gives them, by ``ShippingMethod.LabelSize`` (100x150 is the 4 × 6 in thermal label).
SIZES = {"100x100": "100mm 100mm", "100x150": "4in 6in", "a6": "A6", "a4": "A4"}
DEFAULT_SIZE = "100x100"


@dataclass(frozen=True)
class LabelLine:
    """One line of the CN22: what the customs officer reads."""

    name_en: str
    name_zh: str
    hs_code: str
    quantity: int
    unit_value: Decimal
    currency: str
    unit_weight_g: int
    origin_country: str

    @property
    def value(self) -> Decimal:
        return self.unit_value * self.quantity

    @property
    def weight_g(self) -> int:
        return self.unit_weight_g * self.quantity


@dataclass(frozen=True)
class LabelIn:
    tracking_number: str
    reference: str
    carrier: str
    service: str
    sender: Mapping[str, str]
    recipient: Mapping[str, str]
    weight_g: int
    lines: Sequence[LabelLine] = field(default_factory=tuple)
    size: str = DEFAULT_SIZE


def code128_svg(text: str, *, height: int = 40) -> SafeString:
    """``text`` as a Code 128 barcode: an SVG of one rectangle per bar, its width in modules (the quiet zones of
    ten modules included), scaled by the page. Rectangles, not a font: every printer draws them the same."""
    modules = barcode.get_barcode_class("code128")(text).build()[0]
    quiet = 10
    bars = []
    position, index = quiet, 0
    while index < len(modules):
        run = 1
        while index + run < len(modules) and modules[index + run] == modules[index]:
            run += 1
        if modules[index] == "1":
            bars.append(f'<rect x="{position}" y="0" width="{run}" height="{height}"/>')
        position += run
        index += run
    width = len(modules) + 2 * quiet
    return mark_safe(  # noqa: S308 - numbers only; the text is not in the SVG
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'class="barcode" shape-rendering="crispEdges">{"".join(bars)}</svg>'
    )


def _context(label: LabelIn) -> dict[str, Any]:
    total_value = sum((line.value for line in label.lines), Decimal(0))
    currencies = sorted({line.currency for line in label.lines})
    return {
        "label": label,
        "barcode": code128_svg(label.tracking_number),
        "total_value": total_value,
        "currency": currencies[0] if len(currencies) == 1 else "",
        "total_weight_g": sum(line.weight_g for line in label.lines) or label.weight_g,
    }


def labels_html(labels: Sequence[LabelIn]) -> str:
    """One HTML document with every label's pages, in the order given (all of one size: the first one's)."""
    size = labels[0].size if labels else DEFAULT_SIZE
    return render_to_string(
        "labels/labels.html",
        {"page_size": SIZES.get(size, SIZES[DEFAULT_SIZE]), "labels": [_context(label) for label in labels]},
    )


def labels_pdf(labels: Sequence[LabelIn]) -> bytes:
    """The labels as one PDF, each a label page and a CN22 page (when it has customs lines)."""
    return pdf_from_html(labels_html(labels))
