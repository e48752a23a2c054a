"""The purchase order PDF: A4, the number as a barcode a scanner reads, every line and the totals, Chinese rendered."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.utils import translation
from pypdf import PdfReader

from purchasing.orders import purchase_order_create, purchase_order_submit
from purchasing.po_pdf import bilingual, purchase_order_pdf, purchase_orders_pdf
from tests.inventory.factories import ProductFactory
from tests.logistics.code128 import barcodes_on, page_image
from tests.purchasing.factories import SupplierProductFactory
from tests.purchasing.test_purchase_orders import world_make

pytestmark = pytest.mark.django_db

A4_POINTS = (595.28, 841.89)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    return [
        (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2))
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


@pytest.fixture
def order(make_user):
    world = world_make()
    world.shenzhen.address_line1 = "3 Minzhi Avenue"
    world.shenzhen.city = "Shenzhen"
    world.shenzhen.save()
    buyer = make_user("Purchaser", username="li.na")
    earphones = ProductFactory(sku="EAR-1", name="蓝牙耳机 Bluetooth earphones", declared_name_zh="蓝牙耳机")
    cable = ProductFactory(sku="CABLE-2", name="USB-C cable 1m")
    SupplierProductFactory(supplier=world.acme, product=earphones, supplier_sku="AC-EAR-9", unit_cost=Decimal("48.5"))
    order = purchase_order_create(
        supplier=world.acme,
        warehouse=world.shenzhen,
        lines=[(earphones, 120, None), (cable, 1500, Decimal("2.1234"))],
        note="Pack 10 per carton.",
        user=buyer,
    )
    return purchase_order_submit(purchase_order=order, user=buyer)


def test_the_order_prints_on_a4_with_its_lines_totals_and_chinese(order, tmp_path):
    with translation.override("zh-hans"):
        pdf = purchase_order_pdf(order)
    assert page_sizes(pdf) == [A4_POINTS]
    text = pdf_text(pdf)
    expected = [
        order.number,
        "EAR-1",
        "AC-EAR-9",
        "CABLE-2",
        "蓝牙耳机",
        "Acme Plastics",
        "Shenzhen Longhua (SZ)",
        "3 Minzhi Avenue",
        "li.na",
        "48.50",  # 120 × 48.50
        "5,820.00",
        "2.1234",  # 1,500 × 2.1234
        "3,185.10",
        "9,005.10 CNY",  # the total
        "1620",  # units
        order.expected_on.isoformat(),
        "Pack 10 per carton.",
        "Purchase order",
    ]
    for piece in expected:
        assert piece in text, piece
    # The scanner reads the order number off the page (an independent reading of the bars).
    assert order.number in barcodes_on(page_image(pdf, tmp_path))


def test_headings_are_in_both_languages():
    with translation.override("zh-hans"):
        chinese_first = bilingual(translation.gettext_lazy("Status"))
    with translation.override("en"):
        english_first = bilingual(translation.gettext_lazy("Status"))
    assert chinese_first == "状态 / Status"
    assert english_first == "Status / 状态"


def test_several_orders_print_as_one_pdf_each_on_its_own_pages(order):
    second = purchase_order_create(supplier=order.supplier, warehouse=order.warehouse)
    pdf = purchase_orders_pdf([order, second])
    assert page_sizes(pdf) == [A4_POINTS, A4_POINTS]
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    assert order.number in pages[0] and second.number not in pages[0]
    assert second.number in pages[1] and "EAR-1" not in pages[1]
