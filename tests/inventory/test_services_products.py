"""Product and bundle services: normalization, field-named errors, bundle rules, nothing saved on failure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import Conflict, ValidationFailed
from inventory.models import BundleComponent, Product
from inventory.selectors import bundle_components_of, product_get_by_code
from inventory.services import bundle_components_set, product_create, product_delete, product_update
from inventory.stock_services import stock_receive
from tests.inventory.factories import BinFactory, BundleComponentFactory, BundleFactory, ProductFactory

pytestmark = pytest.mark.django_db


def errors_of(caught) -> list[tuple[str | None, str, str]]:
    return [(error.field, error.code, error.message) for error in caught.value.errors]


def test_create_trims_and_upper_cases_codes():
    product = product_create(
        data={
            "sku": "  ab-1 ",
            "name": "  Phone case ",
            "barcode": " 4006381333931 ",
            "origin_country": "de",
            "declared_currency": "eur",
            "cost_currency": " cny",
            "hs_code": " 392690 ",
        }
    )
    product.refresh_from_db()
    assert (product.sku, product.name, product.barcode) == ("AB-1", "Phone case", "4006381333931")
    assert (product.origin_country, product.declared_currency, product.cost_currency) == ("DE", "EUR", "CNY")
    assert product.hs_code == "392690"
    assert product.sku_sort == "AB-000000000001"


def test_sku_with_bad_characters_names_them():
    with pytest.raises(ValidationFailed) as caught:
        product_create(data={"sku": "ab 1#", "name": "x"})
    assert errors_of(caught) == [
        ("sku", "sku_format", "SKU AB 1# may only hold letters, digits and - _ . / (found ' ' '#').")
    ]
    assert caught.value.message == (
        "Product AB 1# is invalid: sku: SKU AB 1# may only hold letters, digits and - _ . / (found ' ' '#')."
    )
    assert Product.objects.count() == 0


def test_barcode_check_digit_error_says_what_it_should_be():
    with pytest.raises(ValidationFailed) as caught:
        product_create(data={"sku": "A-1", "name": "x", "barcode": "4006381333932"})
    assert errors_of(caught) == [
        (
            "barcode",
            "barcode_check_digit",
            "Barcode 4006381333932 has check digit 2; EAN-13 check digit should be 1.",
        )
    ]


def test_every_bad_field_is_reported_at_once_and_nothing_is_saved():
    with pytest.raises(ValidationFailed) as caught:
        product_create(
            data={
                "sku": "A-1",
                "name": "",
                "barcode": "12345",
                "hs_code": "6109.10",
                "declared_value": Decimal("-1"),
                "declared_currency": "XXY",
                "origin_country": "ZZ",
                "cost_price": Decimal("-0.5"),
            }
        )
    assert [(field, code) for field, code, _ in errors_of(caught)] == [
        ("name", "required"),
        ("barcode", "barcode_format"),
        ("hs_code", "hs_code"),
        ("declared_value", "min_value"),
        ("declared_currency", "currency"),
        ("origin_country", "country"),
        ("cost_price", "min_value"),
    ]
    assert caught.value.message.endswith("(and 6 more)")
    assert Product.objects.count() == 0


def test_duplicate_sku_and_barcode_name_the_field_and_the_holder():
    ProductFactory(sku="A-1", barcode="4006381333931")
    with pytest.raises(ValidationFailed) as caught:
        product_create(data={"sku": " a-1", "name": "again", "barcode": "4006381333931"})
    assert errors_of(caught) == [
        ("sku", "unique", "SKU A-1 is already used by another product."),
        ("barcode", "unique", "Barcode 4006381333931 is already used by SKU A-1."),
    ]


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationFailed) as caught:
        product_create(data={"sku": "A-1", "name": "x", "colour": "red"})
    assert errors_of(caught)[0][:2] == ("colour", "unknown_field")
    assert errors_of(caught)[0][2].startswith("'colour' is not a product field; fields are sku, name, barcode, ")


def test_update_changes_only_the_given_fields_and_keeps_its_own_barcode():
    product = ProductFactory(sku="A-1", barcode="4006381333931", weight_g=100, origin_country="CN")
    product_update(product=product, data={"weight_g": 120, "barcode": "4006381333931", "origin_country": "vn"})
    product.refresh_from_db()
    assert (product.weight_g, product.barcode, product.origin_country, product.sku) == (
        120,
        "4006381333931",
        "VN",
        "A-1",
    )


def test_failed_update_leaves_the_row_unchanged():
    product = ProductFactory(sku="A-1", weight_g=100)
    with pytest.raises(ValidationFailed):
        product_update(product=product, data={"weight_g": 150, "hs_code": "12"})
    product.refresh_from_db()
    assert (product.weight_g, product.hs_code) == (100, "392690")


def test_bundle_created_with_its_components_in_one_call():
    case, cable = ProductFactory(sku="CASE-1"), ProductFactory(sku="CABLE-1")
    bundle = product_create(data={"sku": "kit-1", "name": "Kit", "is_bundle": True}, components=[(case, 1), (cable, 2)])
    assert [(product.sku, quantity) for product, quantity in bundle_components_of(bundle=bundle)] == [
        ("CASE-1", 1),
        ("CABLE-1", 2),
    ]


def test_components_replace_the_previous_ones_and_an_empty_list_clears_them():
    line = BundleComponentFactory(quantity=3)
    bundle = line.bundle
    other = ProductFactory(sku="OTHER-1")
    bundle_components_set(bundle=bundle, components=[(other, 4)])
    assert list(BundleComponent.objects.filter(bundle=bundle).values_list("component__sku", "quantity")) == [
        ("OTHER-1", 4)
    ]
    bundle_components_set(bundle=bundle, components=[])
    assert BundleComponent.objects.filter(bundle=bundle).count() == 0


def test_component_rules_are_named_by_position_and_nothing_changes():
    line = BundleComponentFactory(quantity=3)
    bundle = line.bundle
    other_bundle = BundleFactory(sku="KIT-OTHER")
    plain = ProductFactory(sku="PLAIN-1")
    with pytest.raises(ValidationFailed) as caught:
        bundle_components_set(bundle=bundle, components=[(bundle, 1), (other_bundle, 1), (plain, 0), (plain, 2)])
    assert errors_of(caught) == [
        ("components[0].sku", "component_is_self", f"Bundle {bundle.sku} cannot be a component of itself."),
        (
            "components[1].sku",
            "component_is_bundle",
            "SKU KIT-OTHER is a bundle; a component cannot itself be a bundle.",
        ),
        (
            "components[2].quantity",
            "min_value",
            "Quantity of PLAIN-1 must be a whole number from 1 to 10,000,000 (got 0).",
        ),
        (
            "components[3].sku",
            "duplicate_component",
            "SKU PLAIN-1 is listed twice (also at components[2]); give it once with the total quantity.",
        ),
    ]
    assert list(BundleComponent.objects.filter(bundle=bundle).values_list("component_id", "quantity")) == [
        (line.component_id, 3)
    ]


def test_a_product_that_is_not_a_bundle_cannot_have_components():
    product = ProductFactory(sku="PLAIN-1")
    with pytest.raises(ValidationFailed) as caught:
        bundle_components_set(bundle=product, components=[(ProductFactory(sku="PART-1"), 1)])
    assert errors_of(caught) == [
        (
            "components",
            "not_a_bundle",
            "SKU PLAIN-1 is not a bundle, so it cannot have components; set is_bundle first.",
        )
    ]


def test_create_of_a_plain_product_with_components_saves_nothing():
    part = ProductFactory(sku="PART-1")
    with pytest.raises(ValidationFailed):
        product_create(data={"sku": "PLAIN-2", "name": "x"}, components=[(part, 1)])
    assert not Product.objects.filter(sku="PLAIN-2").exists()


def test_a_bundle_with_components_cannot_stop_being_a_bundle_unless_they_go_too():
    line = BundleComponentFactory()
    bundle = line.bundle
    with pytest.raises(ValidationFailed) as caught:
        product_update(product=bundle, data={"is_bundle": False})
    assert errors_of(caught) == [
        (
            "is_bundle",
            "bundle_has_components",
            f"SKU {bundle.sku} still has bundle components; remove them before it stops being a bundle.",
        )
    ]
    product_update(product=bundle, data={"is_bundle": False}, components=[])
    bundle.refresh_from_db()
    assert bundle.is_bundle is False
    assert bundle.components.count() == 0


def test_a_component_cannot_become_a_bundle():
    line = BundleComponentFactory(bundle__sku="KIT-9", component__sku="PART-9")
    with pytest.raises(ValidationFailed) as caught:
        product_update(product=line.component, data={"is_bundle": True})
    assert errors_of(caught) == [
        (
            "is_bundle",
            "component_is_bundle",
            "SKU PART-9 is a component of bundle KIT-9; a component cannot itself be a bundle.",
        )
    ]


def test_delete_of_a_product_in_a_bundle_is_a_conflict_and_a_free_one_goes():
    line = BundleComponentFactory(component__sku="PART-1")
    with pytest.raises(Conflict) as caught:
        product_delete(product=line.component)
    assert caught.value.code == "protected"
    assert caught.value.message == (
        "Product PART-1 cannot be deleted: it is still referred to by 1 bundle component. "
        "Deactivate it instead (is_active = false)."
    )
    free = ProductFactory(sku="FREE-1")
    product_delete(product=free)
    assert not Product.objects.filter(sku="FREE-1").exists()


def test_product_found_by_sku_in_any_case_or_by_barcode():
    product = ProductFactory(sku="AB-1", barcode="4006381333931")
    assert product_get_by_code(code=" ab-1 ").pk == product.pk
    assert product_get_by_code(code="4006381333931").pk == product.pk


def test_a_product_with_stock_cannot_become_a_bundle():
    product = ProductFactory(sku="CASE-1")
    stock_receive(product=product, bin=BinFactory(), quantity=2)
    with pytest.raises(ValidationFailed) as caught:
        product_update(product=product, data={"is_bundle": True})
    assert errors_of(caught) == [
        (
            "is_bundle",
            "bundle_has_stock",
            "SKU CASE-1 has stock in bins; a bundle holds no stock of its own, so move or adjust that stock out first.",
        )
    ]
