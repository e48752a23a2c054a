"""The back office in a real Chromium: the root URL, the login, the language switch, every page in Chinese, and
the home page's figures against the database.

"Nothing left in English" is checked on the text a person sees: visible text nodes, option labels, placeholders,
tooltips and the window title (icon ligatures such as ``unfold_more`` are glyphs, not words). A word of Latin
letters passes only if it is data (a value stored in the database: SKUs, codes, names, notes) or one of the few
terms Chinese sellers write in Latin letters (SKU, API, CSV...).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q, Sum
from django.urls import reverse

from config.navigation import NAVIGATION
from demo.services import demo_data_load
from inventory.models import Bin, InventoryBalance, Product, StockCount, StockLevel, StockMove, Transfer, Warehouse
from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

# Terms written in Latin letters in Chinese seller software, and names that are not translated.
LATIN_TERMS = {
    term.upper()
    for term in (
        "Seabridge",  # the product's name
        "SKU",
        "API",
        "CSV",
        "XLSX",
        "XLS",
        "TSV",
        "ODS",
        "JSON",
        "YAML",
        "HTML",
        "PDF",
        "ZPL",  # the label language of Zebra-type thermal printers
        "ID",
        "URL",
        "GTIN",
        "EAN",
        "UPC",
        "HS",
        "FBA",
        "3PL",
        "RE2",
        "Cron",
        "TR",  # document numbers: TR-000012, CNT-000003
        "CNT",
        "Control",  # keys: Django's help for choosing several items names them
        "Command",
        "Mac",
        "kg",
        "cm",
        "mm",
        "English",
        "en",
        "zh",
        "hans",  # the language switcher names each language in itself, with its code
        # Marketplaces whose names Chinese sellers write in Latin letters, and their own terms.
        "eBay",
        "Shopify",
        "Wish",
        "AliExpress",
        "ASIN",
        "ISO",  # ISO country and currency codes
    )
}
# Code names: the keys a marketplace's credentials use (access_token), a marketplace's codes (EBAY_US) and
# Celery's dotted task names (channels.tasks.store_sync_scheduled). They are what the other side calls things.
# and placeholders a person types as they are ({tracking}).
CODE_NAME = re.compile(r"\b[A-Za-z0-9]+(?:[_.][A-Za-z0-9]+)+\b|\{[a-z_]+\}")
# A word: letters, with the digits and apostrophes inside it ("3PL", "RE2", "don't").
WORD = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9'’]*")

# Every visible piece of text on the page, as a person reads it.
VISIBLE_TEXT = """() => {
  const skipped = (element) =>
    element.closest("script, style, noscript, template, .material-symbols-outlined, [aria-hidden=true]");
  const visible = (element) => element.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true });
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue.trim();
    const element = node.parentElement;
    if (!text || !element || skipped(element)) continue;
    if (visible(element.closest("select") || element)) texts.push(text);
  }
  for (const element of document.querySelectorAll("[placeholder], [title]")) {
    if (skipped(element) || !visible(element)) continue;
    for (const name of ["placeholder", "title"]) {
      const value = element.getAttribute(name);
      if (value) texts.push(value);
    }
  }
  return texts;
}"""


TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, ArrayField)


def data_vocabulary() -> set[str]:
    """Every word stored in the database's text columns: what the pages show as data, not as interface."""
    words: set[str] = set()
    user_model = get_user_model()
    for model in apps.get_models():
        data_apps = {"core", "inventory", "purchasing", "demo", "channels", "orders", "logistics", "django_celery_beat"}
        if model._meta.app_label not in data_apps and model is not user_model:
            continue
        fields = [
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField | models.JSONField | ArrayField)
            and not field.choices
        ]
        for row in model.objects.values_list(*fields):
            for value in row:
                # JSON (an allocation rule's conditions, a store's options) and lists (a shipping method's
                # countries) are shown as their text.
                text = value if isinstance(value, str) else json.dumps(value, default=str) if value is not None else ""
                words.update(word.lower() for word in WORD.findall(text))
    # The column keys of the import and export files, which the import page lists as the headers it reads.
    for model_admin in admin.site._registry.values():
        for resource_class in getattr(model_admin, "resource_classes", None) or []:
            for field in resource_class().get_user_visible_fields():
                words.update(word.lower() for word in WORD.findall(field.column_name))
    return words


# A secret shown masked, such as the start of a password's salt ("5fPXCG******"), is not a word.
MASKED = re.compile(r"\S*\*{4,}")


def english_left(texts: list[str], vocabulary: set[str]) -> dict[str, str]:
    """Each English word that is neither data nor a Latin term, with the text it was found in.

    Data is compared without case: a list capitalises the first letter of a value ("Order-line:…")."""
    found: dict[str, str] = {}
    for text in texts:
        for word in WORD.findall(CODE_NAME.sub("", MASKED.sub("", text))):
            if len(re.findall("[A-Za-z]", word)) < 2 or word.lower() in vocabulary or word.upper() in LATIN_TERMS:
                continue
            found.setdefault(word, " ".join(text.split())[:80])
    return found


def admin_pages() -> list[str]:
    """The home page, every page of the sidebar, the add, import and export pages of the main masters, the bin
    generator and the password change."""
    pages = [reverse("admin:index")]
    for group in NAVIGATION:
        pages += [str(item["link"]) for item in group["items"] if str(item["link"]) not in pages]
    for name in (
        "inventory_product",
        "inventory_warehouse",
        "inventory_bin",
        "purchasing_supplier",
    ):
        pages.append(reverse(f"admin:{name}_add"))
    pages += [
        reverse("admin:inventory_product_import"),
        reverse("admin:inventory_product_export"),
        reverse("admin:inventory_bin_generate"),
        reverse("admin:password_change"),
    ]
    return pages


@pytest.fixture
def demo(make_user):
    demo_data_load()
    return make_user(superuser=True, username="boss")


def test_the_root_url_leads_through_the_login_to_the_seabridge_home_page(new_page, make_user):
    make_user(superuser=True, username="boss")
    page = new_page()

    page.goto("/")

    assert page.url.endswith("/admin/login/?next=/admin/")
    assert "Seabridge" in page.title()
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "test-pass-123")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url.endswith("/admin/")
    assert page.title().startswith("Home")
    assert "Seabridge" in page.title()
    body = page.inner_text("body")
    assert "Django administration" not in body and "Site administration" not in body
    assert page.locator("#dashboard").is_visible()


def test_the_language_chosen_in_the_switcher_is_kept_and_the_browser_language_is_the_default(new_page, demo):
    english = new_page("en-US")
    log_in(english, "boss")
    assert english.locator("#dashboard").get_by_text("Available stock by warehouse").is_visible()

    # The switcher is in the user menu at the foot of the sidebar.
    english.get_by_text("boss", exact=True).first.click()
    with english.expect_navigation():
        english.get_by_role("button", name=re.compile("简体中文")).click()

    assert english.title().startswith("首页")
    assert english.locator("#dashboard").get_by_text("各仓库可用库存").is_visible()
    # Kept for the next pages, and after logging out and in again, although the browser asks for English.
    english.goto(reverse("admin:inventory_product_changelist"))
    assert "商品" in english.title()
    english.context.clear_cookies(name="sessionid")
    log_in(english, "boss")
    assert english.title().startswith("首页")

    # A browser that asks for Chinese gets it from the login page on; one that asks for English gets English.
    chinese = new_page("zh-CN")
    chinese.goto("/admin/login/")
    assert chinese.get_by_role("button", name=re.compile("登录")).is_visible()
    log_in(chinese, "boss")
    assert chinese.title().startswith("首页")
    other = new_page("en-US")
    other.goto("/admin/login/")
    assert other.get_by_role("button", name=re.compile("Log in")).is_visible()


def test_every_page_reads_in_chinese(new_page, demo):
    vocabulary = data_vocabulary()
    page = new_page("zh-CN")
    log_in(page, "boss")
    leftovers: dict[str, dict[str, str]] = defaultdict(dict)
    visited = 0
    for url in admin_pages():
        response = page.goto(url)
        assert response.status == 200, url
        leftovers[url].update(english_left(page.evaluate(VISIBLE_TEXT), vocabulary))
        visited += 1
        # The change page of the list's first row, where the list has rows.
        first_row = page.locator("#result_list tbody tr a[href*='/change/']").first
        if url.endswith("/") and "/add/" not in url and first_row.count():
            change_url = first_row.get_attribute("href")
            assert page.goto(change_url).status == 200, change_url
            leftovers[change_url].update(english_left(page.evaluate(VISIBLE_TEXT), vocabulary))
            visited += 1

    assert visited > 30
    found = "\n".join(
        f"{url}: {word!r} in {text!r}" for url, words in leftovers.items() for word, text in sorted(words.items())
    )
    assert not found, f"English words left on the Chinese pages:\n{found}"


def test_the_home_page_figures_are_the_database_s(new_page, demo):
    # A sale reserved stock and a count is open in the demo; one more product without stock makes the figure move.
    Product.objects.create(sku="NEW-NOTHING-1", name="Nothing yet", is_active=True)
    page = new_page("en-US")
    log_in(page, "boss")

    cards = {}
    for card in page.locator("#dashboard a").all():
        texts = card.inner_text().split("\n")
        value = card.locator(".figure-value")
        if value.count():
            cards[texts[0].strip()] = (value.inner_text().strip(), card.inner_text())

    for warehouse in Warehouse.objects.filter(is_active=True):
        totals = InventoryBalance.objects.filter(warehouse=warehouse).aggregate(
            on_hand=Sum("on_hand"), available=Sum(F("sellable") - F("reserved")), reserved=Sum("reserved")
        )
        bins_in_use = (
            StockLevel.objects.filter(bin__warehouse=warehouse, bin__is_active=True, on_hand__gt=0)
            .values("bin")
            .distinct()
            .count()
        )
        value, text = cards[f"{warehouse.code} {warehouse.name}"]
        assert int(value.replace(",", "")) == totals["available"]
        assert f"{totals['on_hand']:,} on hand" in text
        assert f"{totals['reserved']:,} reserved" in text
        assert f"{bins_in_use:,} of {Bin.objects.filter(warehouse=warehouse, is_active=True).count():,} bins" in text
        assert totals["on_hand"] > 0

    without_stock = (
        Product.objects.filter(is_active=True, is_bundle=False)
        .annotate(units=Sum("balances__on_hand", filter=Q(balances__on_hand__gt=0)))
        .filter(units__isnull=True)
        .count()
    )
    assert int(cards["Products without stock"][0]) == without_stock >= 1
    assert int(cards["Stock counts open"][0]) == StockCount.objects.filter(status=StockCount.Status.OPEN).count() == 1
    in_transit = Transfer.objects.filter(status__in=[Transfer.Status.SHIPPED, Transfer.Status.PARTIALLY_RECEIVED])
    assert int(cards["Transfers in transit"][0]) == in_transit.count() == 1

    latest = page.locator("#dashboard table tbody tr")
    assert latest.count() == min(10, StockMove.objects.count())
    newest = StockMove.objects.select_related("product").order_by("-created_at", "-id").first()
    assert newest.product.sku in latest.first.inner_text()
