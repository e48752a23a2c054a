"""One rule set, whatever the door: the same rows through every path that writes products, the same outcome.

The doors: the product services (what the admin's forms call), the REST API (POST/PATCH), django-import-export
(the admin's spreadsheet import, ``ProductResource`` and ``BundleComponentResource``) and the bulk COPY path
(``product_bulk_upsert``, behind ``POST /api/v1/products/bulk-upsert/`` and ``manage.py products_import``). Each
case gives rows as a spreadsheet holds them (text) and the problems every door must report: the same code on
the same row and field, and nothing saved; or, for good rows, the same product stored.
"""

from __future__ import annotations

import pytest
import tablib
from django.db import transaction
from rest_framework.test import APIClient

from core.errors import DomainError
from core.validators import gtin_check_digit
from inventory.bulk import product_bulk_upsert
from inventory.models import Bin, BundleComponent, Product
from inventory.resources import BundleComponentResource, ProductResource
from inventory.services import bundle_components_set, product_create, product_update
from inventory.stock_services import stock_receive
from tests.inventory.factories import BinFactory, BundleComponentFactory, BundleFactory, ProductFactory

pytestmark = pytest.mark.django_db

Problems = set[tuple[int, str, str]]  # (position of the row in the list, 1-based; field; code)


def barcode(number: int) -> str:
    """An EAN-13 under the GS1 China prefix, apart from the factories' barcodes (which start with 2)."""
    body = f"690{number:09d}"
    return body + str(gtin_check_digit(body))


TAKEN_BARCODE = barcode(1)
BAD_CHECK_DIGIT = barcode(2)[:-1] + str((int(barcode(2)[-1]) + 1) % 10)


def existing_stock(*, with_stock: bool = True) -> None:
    """STOCK-1 with 5 units in a bin; HOLD-1 holding TAKEN_BARCODE; KIT-1 made of PART-1."""
    stocked = ProductFactory(sku="STOCK-1")
    if with_stock:
        stock_receive(product=stocked, bin=BinFactory(kind=Bin.Kind.PICK, is_sellable=True), quantity=5)
    ProductFactory(sku="HOLD-1", barcode=TAKEN_BARCODE)
    BundleComponentFactory(bundle=BundleFactory(sku="KIT-1"), component=ProductFactory(sku="PART-1"), quantity=2)
    ProductFactory(sku="PLAIN-1")


# --- The doors ----------------------------------------------------------------------------------------------


def through_services(rows: list[dict]) -> Problems:
    problems: Problems = set()
    for position, row in enumerate(rows, 1):
        existing = Product.objects.filter(sku=str(row.get("sku", "")).strip().upper()).first()
        try:
            if existing is None:
                product_create(data=row)
            else:
                product_update(product=existing, data=row)
        except DomainError as error:
            problems |= {(position, detail.field, detail.code) for detail in error.errors}
    return problems


def through_the_api(rows: list[dict]) -> Problems:
    client = APIClient()
    client.force_authenticate(user=_superuser())
    problems: Problems = set()
    for position, row in enumerate(rows, 1):
        existing = Product.objects.filter(sku=str(row.get("sku", "")).strip().upper()).first()
        if existing is None:
            response = client.post("/api/v1/products/", row, format="json")
        else:
            response = client.patch(f"/api/v1/products/{existing.pk}/", row, format="json")
        if response.status_code >= 300:
            problems |= {(position, error.get("field"), error["code"]) for error in response.json()["errors"]}
    return problems


def through_import_export(rows: list[dict]) -> Problems:
    headers = list(dict.fromkeys(key for row in rows for key in row))
    dataset = tablib.Dataset(*[[row.get(header, "") for header in headers] for row in rows], headers=headers)
    resource = ProductResource()
    result = resource.import_data(dataset)
    # Spreadsheet rows: the header is row 1, the first product row 2.
    return {(error.row - 1, error.field, error.code) for error in resource.errors(result)}


def through_bulk(rows: list[dict]) -> Problems:
    try:
        product_bulk_upsert(rows=rows)
    except DomainError as error:
        return {(detail.row, detail.field, detail.code) for detail in error.errors}
    return set()


DOORS = {
    "services": through_services,
    "api": through_the_api,
    "import-export": through_import_export,
    "bulk": through_bulk,
}
# Rules about a whole file: the doors that take one product at a time have no such thing.
SHEET_DOORS = ("import-export", "bulk")


def _superuser():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="parity", defaults={"is_superuser": True})
    return user


def outcome(door: str, rows: list[dict]) -> tuple[Problems, dict]:
    """The problems a door reports and what it stored of the rows' products (the fields they give), rolled back."""
    skus = {str(row.get("sku", "")).strip().upper() for row in rows}
    fields = sorted({key for row in rows for key in row} | {"sku"})
    with transaction.atomic():
        existing_stock()
        problems = DOORS[door](rows)
        stored = {values[0]: values for values in Product.objects.filter(sku__in=skus).values_list(*fields)}
        transaction.set_rollback(True)
    return problems, stored


# --- The rules ----------------------------------------------------------------------------------------------

# name: (rows, problems every door reports)
PRODUCT_CASES: dict[str, tuple[list[dict], Problems]] = {
    "a good new product": (
        [
            {
                "sku": " new-1 ",
                "name": "Cable",
                "barcode": barcode(3),
                "weight_g": "120",
                "declared_value": "3.5",
                "origin_country": "vn",
                "contains_battery": "yes",
            }
        ],
        set(),
    ),
    "a good update of some fields": ([{"sku": "stock-1", "name": "Renamed", "weight_g": "80"}], set()),
    "SKU with characters a SKU cannot hold": ([{"sku": "AB 1#", "name": "x"}], {(1, "sku", "sku_format")}),
    "SKU too long": ([{"sku": "A" * 65, "name": "x"}], {(1, "sku", "max_length")}),
    "new SKU without a name": ([{"sku": "NEW-2", "weight_g": "5"}], {(1, "name", "required")}),
    "name too long": ([{"sku": "NEW-3", "name": "n" * 256}], {(1, "name", "max_length")}),
    "control character in a name": ([{"sku": "NEW-4", "name": "bad\x00name"}], {(1, "name", "forbidden_character")}),
    "barcode check digit": (
        [{"sku": "NEW-5", "name": "x", "barcode": BAD_CHECK_DIGIT}],
        {(1, "barcode", "barcode_check_digit")},
    ),
    "barcode of the wrong length": (
        [{"sku": "NEW-6", "name": "x", "barcode": "12345"}],
        {(1, "barcode", "barcode_format")},
    ),
    "barcode in full-width digits": (
        [{"sku": "NEW-7", "name": "x", "barcode": "４００６３８１３３３９３１"}],
        {(1, "barcode", "barcode_format")},
    ),
    "barcode of another product": (
        [{"sku": "NEW-8", "name": "x", "barcode": TAKEN_BARCODE}],
        {(1, "barcode", "unique")},
    ),
    "HS code with a dot": ([{"sku": "NEW-9", "name": "x", "hs_code": "6109.10"}], {(1, "hs_code", "hs_code")}),
    "unknown country": ([{"sku": "NEW-10", "name": "x", "origin_country": "ZZ"}], {(1, "origin_country", "country")}),
    "unknown currency": ([{"sku": "NEW-11", "name": "x", "cost_currency": "XXY"}], {(1, "cost_currency", "currency")}),
    "negative weight": ([{"sku": "NEW-12", "name": "x", "weight_g": "-1"}], {(1, "weight_g", "min_value")}),
    "weight that is no number": ([{"sku": "NEW-13", "name": "x", "weight_g": "abc"}], {(1, "weight_g", "invalid")}),
    "weight that is not whole": ([{"sku": "NEW-14", "name": "x", "weight_g": "1.5"}], {(1, "weight_g", "invalid")}),
    "weight beyond a database integer": (
        [{"sku": "NEW-15", "name": "x", "weight_g": "2147483648"}],
        {(1, "weight_g", "max_value")},
    ),
    "declared value with three decimals": (
        [{"sku": "NEW-16", "name": "x", "declared_value": "1.234"}],
        {(1, "declared_value", "max_decimal_places")},
    ),
    "declared value too large": (
        [{"sku": "NEW-17", "name": "x", "declared_value": "12345678901"}],
        {(1, "declared_value", "max_whole_digits")},
    ),
    "negative cost": ([{"sku": "NEW-18", "name": "x", "cost_price": "-0.5"}], {(1, "cost_price", "min_value")}),
    "yes/no that is neither": (
        [{"sku": "NEW-19", "name": "x", "contains_battery": "maybe"}],
        {(1, "contains_battery", "invalid")},
    ),
    "a product with stock made a bundle": (
        [{"sku": "STOCK-1", "is_bundle": "yes"}],
        {(1, "is_bundle", "bundle_has_stock")},
    ),
    "a bundle with components made plain": (
        [{"sku": "KIT-1", "is_bundle": "no"}],
        {(1, "is_bundle", "bundle_has_components")},
    ),
    "a component made a bundle": ([{"sku": "PART-1", "is_bundle": "yes"}], {(1, "is_bundle", "component_is_bundle")}),
}
FILE_CASES: dict[str, tuple[list[dict], Problems]] = {
    "the same SKU twice in one file": (
        [{"sku": "DUP-1", "name": "a"}, {"sku": "dup-1", "name": "b"}],
        {(2, "sku", "duplicate")},
    ),
    "the same barcode twice in one file": (
        [{"sku": "DUP-2", "name": "a", "barcode": barcode(4)}, {"sku": "DUP-3", "name": "b", "barcode": barcode(4)}],
        {(2, "barcode", "duplicate")},
    ),
}


@pytest.mark.parametrize("case", PRODUCT_CASES)
def test_every_door_gives_the_same_outcome_for_a_product_row(case):
    rows, expected = PRODUCT_CASES[case]
    outcomes = {door: outcome(door, rows) for door in DOORS}
    for door, (problems, _) in outcomes.items():
        assert problems == expected, f"{door} reported {problems}"
    stored = {door: products for door, (_, products) in outcomes.items()}
    assert all(products == stored["services"] for products in stored.values()), stored


@pytest.mark.parametrize("case", FILE_CASES)
def test_every_sheet_door_gives_the_same_outcome_for_a_file(case):
    rows, expected = FILE_CASES[case]
    for door in SHEET_DOORS:
        problems, stored = outcome(door, rows)
        assert problems == expected, f"{door} reported {problems}"
        assert stored == {}


def test_a_bundle_with_stock_is_refused_by_the_bulk_path_as_by_the_service():
    """The drift that stranded stock: bulk-upsert turned a product with stock into a bundle."""
    existing_stock()
    client = APIClient()
    client.force_authenticate(user=_superuser())
    response = client.post("/api/v1/products/bulk-upsert/", [{"sku": "STOCK-1", "is_bundle": True}], format="json")
    assert response.status_code == 400
    assert [(error["row"], error["code"]) for error in response.json()["errors"]] == [(1, "bundle_has_stock")]
    assert Product.objects.get(sku="STOCK-1").is_bundle is False


# --- Bundle components: the services, the API and the admin's import of bundle lines ------------------------


def components_through_services(lines: list[tuple[str, str, int]]) -> set[tuple[int, str, str]]:
    bundle = Product.objects.get(sku=lines[0][0])
    components = [(Product.objects.get(sku=component), quantity) for _, component, quantity in lines]
    try:
        bundle_components_set(bundle=bundle, components=components)
    except DomainError as error:
        return {_component_problem(detail.field, detail.code) for detail in error.errors}
    return set()


def components_through_the_api(lines: list[tuple[str, str, int]]) -> set[tuple[int, str, str]]:
    client = APIClient()
    client.force_authenticate(user=_superuser())
    bundle = Product.objects.get(sku=lines[0][0])
    body = {"components": [{"sku": component, "quantity": quantity} for _, component, quantity in lines]}
    response = client.patch(f"/api/v1/products/{bundle.pk}/", body, format="json")
    if response.status_code < 300:
        return set()
    return {_component_problem(error.get("field"), error["code"]) for error in response.json()["errors"]}


def components_through_import_export(lines: list[tuple[str, str, int]]) -> set[tuple[int, str, str]]:
    dataset = tablib.Dataset(*[list(line) for line in lines], headers=["bundle", "component", "quantity"])
    resource = BundleComponentResource()
    result = resource.import_data(dataset)
    return {(error.row - 2, error.field, error.code) for error in resource.errors(result)}


def _component_problem(field: str | None, code: str) -> tuple[int, str, str]:
    """components[2].sku -> (2, component, code); components -> (0, bundle, code): lines counted from 0."""
    if field and field.startswith("components["):
        index, part = field[len("components[") :].split("].")
        return int(index), "component" if part == "sku" else part, code
    return 0, "bundle", code


COMPONENT_DOORS = {
    "services": components_through_services,
    "api": components_through_the_api,
    "import-export": components_through_import_export,
}
# name: (lines (bundle, component, quantity), problems by line index from 0)
COMPONENT_CASES = {
    "good lines": ([("KIT-1", "PART-1", 3), ("KIT-1", "PLAIN-1", 1)], set()),
    "a bundle in itself": ([("KIT-1", "KIT-1", 1)], {(0, "component", "component_is_self")}),
    "a bundle in another (circular kits)": ([("KIT-2", "KIT-1", 1)], {(0, "component", "component_is_bundle")}),
    "components of a product that is no bundle": ([("PLAIN-1", "PART-1", 1)], {(0, "bundle", "not_a_bundle")}),
    "a quantity of zero": ([("KIT-1", "PART-1", 0)], {(0, "quantity", "min_value")}),
    "a quantity beyond the line limit": ([("KIT-1", "PART-1", 10_000_001)], {(0, "quantity", "max_value")}),
    "the same component twice": (
        [("KIT-1", "PLAIN-1", 1), ("KIT-1", "PLAIN-1", 2)],
        {(1, "component", "duplicate_component")},
    ),
}


@pytest.mark.parametrize("case", COMPONENT_CASES)
def test_every_door_gives_the_same_outcome_for_bundle_components(case):
    lines, expected = COMPONENT_CASES[case]
    for door, through in COMPONENT_DOORS.items():
        with transaction.atomic():
            existing_stock()
            BundleFactory(sku="KIT-2")
            problems = through(lines)
            stored = list(
                BundleComponent.objects.order_by("bundle__sku", "component__sku").values_list(
                    "bundle__sku", "component__sku", "quantity"
                )
            )
            transaction.set_rollback(True)
        assert problems == expected, f"{door} reported {problems}"
        if not expected:
            assert ("KIT-1", "PART-1", 3) in stored and ("KIT-1", "PLAIN-1", 1) in stored, f"{door} stored {stored}"
