"""Inventory in Chinese: names of models, fields and choices, and the admin as a Chinese reader sees it."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from inventory.models import Bin, Product, StockCount, StockMove, Transfer, Warehouse
from inventory.stock_services import stock_receive
from inventory.transfer_services import transfer_create, transfer_ship
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

# Icons are drawn from ligatures ("arrow_circle_down"): text in the page, but no word a person reads.
ICON_CLASS = "material-symbols-outlined"


class AdminPage(HTMLParser):
    """What a reader sees: table headers by table id, the actions offered, and every line of text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.headers: dict[str, list[str]] = {}
        self.actions: dict[str, str] = {}
        self.texts: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, hidden) of the elements around the text
        self._tables: list[str] = []
        self._in_thead = False
        self._header: list[str] | None = None
        self._in_action_select = False
        self._option: tuple[str, list[str]] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        hidden = tag in ("script", "style") or ICON_CLASS in (attributes.get("class") or "").split()
        if tag == "input" and attributes.get("type") == "submit" and attributes.get("value"):
            self.texts.append(attributes["value"])  # a button's words
        if tag not in ("input", "br", "img", "meta", "link", "hr", "col"):
            self._open.append((tag, hidden))
        if tag == "table":
            self._tables.append(attributes.get("id") or "")
        elif tag == "thead":
            self._in_thead = True
        elif tag == "th" and self._in_thead and "action-checkbox-column" not in (attributes.get("class") or ""):
            self._header = []
        elif tag == "select" and attributes.get("name") == "action":
            self._in_action_select = True
        elif tag == "option" and self._in_action_select:
            self._option = (attributes.get("value") or "", [])

    def handle_endtag(self, tag):
        while self._open:
            open_tag, _hidden = self._open.pop()
            if open_tag == tag:
                break
        if tag == "table" and self._tables:
            self._tables.pop()
        elif tag == "thead":
            self._in_thead = False
        elif tag == "th" and self._header is not None:
            text = " ".join(self._header)
            if text:
                self.headers.setdefault(self._tables[-1] if self._tables else "", []).append(text)
            self._header = None
        elif tag == "select":
            self._in_action_select = False
        elif tag == "option" and self._option is not None:
            value, words = self._option
            if value:
                self.actions[value] = " ".join(words)
            self._option = None

    def handle_data(self, data):
        if any(hidden for _tag, hidden in self._open):
            return
        text = " ".join(data.split())
        if not text:
            return
        self.texts.append(text)
        if self._header is not None:
            self._header.append(text)
        if self._option is not None:
            self._option[1].append(text)


@pytest.fixture
def chinese_client(make_user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(make_user(superuser=True))
    return client


def page(client: Client, url: str) -> AdminPage:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    return AdminPage(response.content.decode())


# --- Names and choices ------------------------------------------------------------------------------------------


def test_model_names_in_chinese():
    with translation.override("zh-hans"):
        names = {
            model.__name__: (str(model._meta.verbose_name), str(model._meta.verbose_name_plural))
            for model in (Product, Bin, StockMove, Transfer, StockCount)
        }
    assert names == {
        "Product": ("商品", "商品"),
        "Bin": ("库位", "库位"),
        "StockMove": ("库存流水", "库存流水"),
        "Transfer": ("调拨", "调拨"),
        "StockCount": ("盘点", "盘点"),
    }


def test_field_names_and_help_texts_in_chinese():
    with translation.override("zh-hans"):
        fields = {
            (model.__name__, name): str(model._meta.get_field(name).verbose_name)
            for model, name in [
                (Product, "sku"),
                (Product, "weight_g"),
                (Product, "declared_name_zh"),
                (Product, "hs_code"),
                (Product, "contains_battery"),
                (Bin, "pick_sequence"),
                (Warehouse, "kind"),
                (StockMove, "reason"),
                (StockMove, "reference"),
                (Transfer, "destination"),
                (StockCount, "is_blind"),
            ]
        }
        help_text = str(Bin._meta.get_field("pick_sequence").help_text)
    assert fields == {
        ("Product", "sku"): "SKU",
        ("Product", "weight_g"): "重量（克）",
        ("Product", "declared_name_zh"): "中文申报名",
        ("Product", "hs_code"): "海关编码",
        ("Product", "contains_battery"): "带电",
        ("Bin", "pick_sequence"): "拣货顺序",
        ("Warehouse", "kind"): "类型",
        ("StockMove", "reason"): "业务类型",
        ("StockMove", "reference"): "单据号",
        ("Transfer", "destination"): "调入仓库",
        ("StockCount", "is_blind"): "盲盘",
    }
    assert help_text == "拣货员走过各库位的顺序；拣货单按它排序。"


def test_choice_labels_in_chinese():
    with translation.override("zh-hans"):
        reasons = {str(label) for _value, label in StockMove.Reason.choices}
        labels = (
            str(StockMove.Reason.PUT_AWAY.label),
            str(StockMove.Reason.TRANSFER_OUT.label),
            str(StockMove.Reason.RETURN.label),
            str(Bin.Kind.PICK.label),
            str(Bin.Kind.BULK.label),
            str(Warehouse.Kind.OVERSEAS.label),
            str(Transfer.Status.SHIPPED.label),
            str(Transfer.Status.PARTIALLY_RECEIVED.label),
            str(StockCount.Status.OPEN.label),
        )
    assert reasons == {
        "收货入库",
        "上架",
        "移库",
        "拣货",
        "出库",
        "库存调整",
        "盘点",
        "调拨出库",
        "调拨入库",
        "退货入库",
    }
    assert labels == (
        "上架",
        "调拨出库",
        "退货入库",
        "拣货位",
        "存储位",
        "海外仓",
        "已发出（在途）",
        "部分收货",
        "盘点中",
    )


def test_english_stays_the_default():
    assert str(Product._meta.get_field("weight_g").verbose_name) == "weight (g)"
    assert str(Product._meta.get_field("declared_name_zh").verbose_name) == "declared name (Chinese)"
    assert str(StockMove.Reason.PUT_AWAY.label) == "Put-away"
    assert str(Transfer._meta.verbose_name_plural) == "transfers"


def test_bin_clean_messages_in_chinese():
    warehouse = WarehouseFactory(code="SZ")
    bin_ = Bin(warehouse=warehouse, code="a-1", kind=Bin.Kind.PICK)
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as caught:
            bin_.clean()
        messages = caught.value.message_dict
    assert messages == {"code": [f"库位编码 A-1 不符合仓库 SZ 的编码规则 {warehouse.bin_code_pattern}。"]}


# --- The admin -----------------------------------------------------------------------------------------------------


def test_product_list_in_chinese(chinese_client):
    ProductFactory(sku="CASE-1")
    seen = page(chinese_client, reverse("admin:inventory_product_changelist"))

    assert seen.headers["result_list"] == [
        "SKU",
        "名称",
        "条码",
        "海关编码",
        "重量（克）",
        "成本价",
        "成本币种",
        "组合商品",
        "启用",
    ]
    for title in ("以 启用", "以 组合商品", "以 带电", "以 含液体", "以 原产国"):
        assert title in seen.texts
    assert seen.actions == {"delete_selected": "删除所选的 商品"}


def test_ledger_list_in_chinese(chinese_client):
    warehouse = WarehouseFactory(code="SZ")
    bin_ = BinFactory(warehouse=warehouse, code="A-01-01-01")
    product = ProductFactory(sku="CASE-1")
    stock_receive(product=product, bin=bin_, quantity=5)

    seen = page(chinese_client, reverse("admin:inventory_stockmove_changelist"))
    assert seen.headers["result_list"] == [
        "ID",
        "创建时间",
        "SKU",
        "仓库",
        "来源库位",
        "目标库位",
        "数量",
        "业务类型",
        "单据号",
        "备注",
        "操作人",
    ]
    assert "以 业务类型" in seen.texts
    assert "以 仓库" in seen.texts
    assert "收货入库" in seen.texts  # the reason of the row, and a choice of its filter

    # The product and bin filters show only while they are on, as reached from a product's or a bin's ledger link.
    filtered = page(
        chinese_client,
        reverse("admin:inventory_stockmove_changelist") + f"?product={product.pk}&bin={bin_.pk}",
    )
    assert "以 商品" in filtered.texts
    assert "以 库位" in filtered.texts


def test_stock_by_bin_quantity_filter_in_chinese(chinese_client):
    seen = page(chinese_client, reverse("admin:inventory_stocklevel_changelist"))
    start = seen.texts.index("以 数量")
    assert seen.texts[start : start + 4] == ["以 数量", "有库存", "数量为 0", "全部行"]


def test_transfer_list_actions_in_chinese(chinese_client):
    transfer_create(
        source=WarehouseFactory(code="SZ"), destination=WarehouseFactory(code="LA"), lines=[(ProductFactory(), 1, None)]
    )
    seen = page(chinese_client, reverse("admin:inventory_transfer_changelist"))
    assert seen.actions == {
        "ship": "发出所选的草稿调拨",
        "receive_in_full": "在途商品全部收货入库（选择库位）",
        "cancel": "取消所选的草稿调拨",
    }
    assert seen.headers["result_list"][:6] == ["单号", "调出仓库", "调入仓库", "状态", "明细行数", "件数"]
    assert "以 状态" in seen.texts


def test_transfer_change_page_in_chinese(chinese_client):
    shenzhen = WarehouseFactory(code="SZ")
    bin_ = BinFactory(warehouse=shenzhen, code="A-01-01-01")
    product = ProductFactory(sku="CASE-1")
    stock_receive(product=product, bin=bin_, quantity=5)
    transfer = transfer_create(source=shenzhen, destination=WarehouseFactory(code="LA"), lines=[(product, 2, None)])
    transfer_ship(transfer=transfer)

    seen = page(chinese_client, reverse("admin:inventory_transfer_change", args=[transfer.pk]))

    assert seen.headers["lines-data"] == ["商品", "数量", "来源库位", "已发数量", "已收数量", "在途数量"]
    assert seen.headers["events-data"][1:3] == ["原状态", "新状态"]
    for text in (
        "单号",
        "调出仓库",
        "调入仓库",
        "物流单号",
        "运单号或提单号。",
        "调拨明细",
        "状态记录",
        "已发出（在途）",
        "草稿",
    ):
        assert text in seen.texts, text
    assert "draft → shipped" not in seen.texts  # a step is told by its status columns, not by its codes


def test_ship_action_reports_in_chinese(chinese_client):
    shenzhen = WarehouseFactory(code="SZ")
    product = ProductFactory()
    stock_receive(product=product, bin=BinFactory(warehouse=shenzhen, code="A-01-01-01"), quantity=5)
    transfer = transfer_create(source=shenzhen, destination=WarehouseFactory(code="LA"), lines=[(product, 1, None)])

    response = chinese_client.post(
        reverse("admin:inventory_transfer_changelist"),
        {"action": "ship", "_selected_action": [transfer.pk]},
        follow=True,
    )
    assert [str(message) for message in response.context["messages"]] == [f"已发出：{transfer.number}。"]


def test_bin_generator_in_chinese(chinese_client):
    warehouse = WarehouseFactory(code="SZ")
    seen = page(chinese_client, reverse("admin:inventory_bin_generate"))
    texts = {text.rstrip(":：") for text in seen.texts}  # labels end with the language's colon
    for text in ("库区", "起始巷道", "编号位数", "跳过已有编码", "按库位类型（拣货位和存储位可售）", "批量生成库位"):
        assert text in texts, text

    response = chinese_client.post(
        reverse("admin:inventory_bin_generate"),
        {
            "warehouse": warehouse.pk,
            "zones": "A",
            "aisle_from": 1,
            "aisle_to": 1,
            "rack_from": 1,
            "rack_to": 2,
            "level_from": 1,
            "level_to": 1,
            "kind": Bin.Kind.PICK,
            "width": 2,
            "is_sellable": "",
        },
        follow=True,
    )
    assert [str(message) for message in response.context["messages"]] == [
        "已在 SZ 创建 2 个库位：A-01-01-01 … A-01-02-01。"
    ]
