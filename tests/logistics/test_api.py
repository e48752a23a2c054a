"""Carriers, methods and rate cards through the API, quotes for a parcel and for an order, the rate sheet."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from logistics.models import RateBracket, RateCard, RateZone
from orders.imports import orders_upsert
from tests.inventory.factories import ProductFactory
from tests.orders.factories import StoreFactory, line_in, order_in

pytestmark = pytest.mark.django_db

CARD = {
    "name": "YunExpress 2026",
    "currency": "CNY",
    "volumetric_divisor": 6000,
    "weight_step_g": 10,
    "fuel_surcharge_percent": "10",
    "registration_fee": "18",
    "zones": [
        {
            "code": "us",
            "countries": ["US"],
            "brackets": [{"max_weight_g": 2000, "pricing": "per_kg", "price_per_kg": "80"}],
        },
        {
            "code": "US-W",
            "countries": ["US"],
            "postcode_prefixes": ["9"],
            "brackets": [
                {
                    "max_weight_g": 30000,
                    "pricing": "first_additional",
                    "first_weight_g": 500,
                    "first_price": "60",
                    "additional_unit_g": 500,
                    "additional_price": "25",
                    "registration_fee": "0",
                }
            ],
        },
    ],
}


@pytest.fixture
def method(admin_api):
    carrier = admin_api.post("/api/v1/carriers/", {"code": " yunexpress ", "name": "YunExpress"}, format="json")
    assert carrier.status_code == 201, carrier.json()
    assert carrier.json()["code"] == "YUNEXPRESS"
    response = admin_api.post(
        "/api/v1/shipping-methods/",
        {
            "carrier": carrier.json()["id"],
            "code": "yt-std",
            "name": "YunExpress Standard",
            "countries": ["us", "gb"],
            "marketplace_carrier_codes": {"amazon": "YunExpress"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["code"], response.json()["countries"]) == ("YT-STD", ["GB", "US"])
    return response.json()["id"]


@pytest.fixture
def card(admin_api, method):
    response = admin_api.post("/api/v1/rate-cards/", {**CARD, "method": method}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_card_with_its_zones_prices_a_parcel_through_the_quotes_endpoint(admin_api, card):
    assert [zone["code"] for zone in card["zones"]] == ["US", "US-W"]

    response = admin_api.post(
        "/api/v1/quotes/",
        {
            "parcel": {
                "country": "us",
                "postcode": "10001",
                "weight_g": 1234,
                "length_mm": 300,
                "width_mm": 200,
                "height_mm": 100,
            }
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    [quote] = response.json()["quotes"]
    assert (quote["method_code"], quote["eligible"], quote["zone"], quote["chargeable_weight_g"]) == (
        "YT-STD",
        True,
        "US",
        1240,
    )
    assert (quote["freight"], quote["fuel_surcharge"], quote["registration_fee"], quote["total"]) == (
        "99.20",
        "9.92",
        "18.00",
        "127.12",
    )
    assert quote["steps"][-1] == "Total: 127.12 CNY."


def test_the_arithmetic_reads_in_chinese(admin_api, card):
    response = admin_api.post(
        "/api/v1/quotes/",
        {"parcel": {"country": "GB", "weight_g": 100, "has_battery": True}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    [quote] = response.json()["quotes"]
    assert not quote["eligible"]
    assert all(not reason.isascii() for reason in quote["reasons"]), quote["reasons"]


def test_bad_cards_are_refused_by_field_and_nothing_is_saved(admin_api, method):
    bad = {
        **CARD,
        "method": method,
        "zones": [
            {
                "code": "US",
                "countries": ["US", "XX"],
                "brackets": [{"max_weight_g": 500, "pricing": "first_additional"}],
            },
            {
                "code": "us",
                "countries": ["US"],
                "brackets": [
                    {"max_weight_g": 500, "pricing": "per_kg", "price_per_kg": "1"},
                    {"max_weight_g": 500, "pricing": "per_kg", "price_per_kg": "2"},
                ],
            },
        ],
    }

    response = admin_api.post("/api/v1/rate-cards/", bad, format="json")

    assert response.status_code == 400
    fields = sorted(error["field"] for error in response.json()["errors"])
    assert fields == [
        "zones[0].brackets[0].additional_price",
        "zones[0].brackets[0].additional_unit_g",
        "zones[0].brackets[0].first_price",
        "zones[0].brackets[0].first_weight_g",
        "zones[0].countries",
        "zones[1].brackets[1].max_weight_g",
        "zones[1].code",
    ]
    assert not RateCard.objects.exists() and not RateZone.objects.exists()


def test_bad_methods_are_refused_by_field(admin_api, method):
    response = admin_api.patch(
        f"/api/v1/shipping-methods/{method}/",
        {"marketplace_carrier_codes": {"tiktok": "X"}, "transit_days_min": 9, "transit_days_max": 3},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "marketplace_carrier_codes.tiktok"


def test_a_rate_sheet_replaces_the_zones_all_or_nothing_and_exports_as_it_imports(admin_api, card):
    url = f"/api/v1/rate-cards/{card['id']}/"
    sheet = (
        "zone,countries,postcode_prefixes,max_weight_g,pricing,price_per_kg,first_weight_g,first_price,"
        "additional_unit_g,additional_price,registration_fee\n"
        "EU,DE FR,,500,per_kg,100,,,,,12\n"
        "EU,,,2000,首重续重,,500,40,100,8,\n"
        "GB,GB,,2000,per_kg,90,,,,,\n"
    )
    response = admin_api.post(
        url + "import/", {"file": SimpleUploadedFile("r.csv", sheet.encode())}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    assert [(zone["code"], len(zone["brackets"])) for zone in response.json()["zones"]] == [("EU", 2), ("GB", 1)]
    first_additional = RateBracket.objects.get(zone__code="EU", max_weight_g=2000)
    assert (first_additional.pricing, first_additional.additional_price) == ("first_additional", Decimal("8.0000"))

    exported = admin_api.get(url + "export/")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    again = admin_api.post(url + "import/", {"file": SimpleUploadedFile("r.csv", exported.content)}, format="multipart")
    assert again.status_code == 200
    assert again.json()["zones"] == response.json()["zones"]

    bad = sheet.replace("GB,GB,,2000,per_kg,90", "GB,GB,,heavy,per_kg,").replace(",首重续重,", ",by the box,")
    refused = admin_api.post(url + "import/", {"file": SimpleUploadedFile("r.csv", bad.encode())}, format="multipart")
    assert refused.status_code == 400
    assert sorted((error["row"], error["field"]) for error in refused.json()["errors"]) == [
        (3, "pricing"),
        (4, "max_weight_g"),
    ]
    assert RateZone.objects.filter(card_id=card["id"]).count() == 2  # unchanged


def test_an_order_is_quoted_from_its_products_and_one_without_a_weight_is_named(admin_api, card):
    store = StoreFactory()
    heavy = ProductFactory(sku="LAMP-1", weight_g=700, length_mm=400, width_mm=300, height_mm=100)
    light = ProductFactory(sku="CABLE-1", weight_g=50, length_mm=100, width_mm=100, height_mm=20)
    orders_upsert(
        store_id=store.pk,
        orders=[
            order_in(
                "Q-1",
                lines=[
                    line_in("L1", "LAMP-1", quantity=1, product_id=heavy.pk, product_quantity=1),
                    line_in("L2", "CABLE-1", quantity=2, product_id=light.pk, product_quantity=2),
                ],
            )
        ],
    )
    from orders.models import Order

    order = Order.objects.get(channel_order_id="Q-1")  # to 62701 (zone US)

    response = admin_api.post("/api/v1/quotes/", {"order": order.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["parcel"]["weight_g"] == 800
    [quote] = response.json()["quotes"]
    # 12,000 + 2 × 200 = 12,400 cm³ ÷ 6000 = 2,067 g volumetric, over the 800 g it weighs and over US's 2 kg.
    assert (quote["volumetric_weight_g"], quote["chargeable_weight_g"], quote["eligible"]) == (2067, 2070, False)

    ProductFactory(sku="NO-WEIGHT", weight_g=None)
    orders_upsert(
        store_id=store.pk,
        orders=[order_in("Q-2", lines=[line_in("L1", "NO-WEIGHT", product_id=None)])],
    )
    unmapped = Order.objects.get(channel_order_id="Q-2")
    refused = admin_api.post("/api/v1/quotes/", {"order": unmapped.pk}, format="json")
    assert refused.status_code == 400
    assert "NO-WEIGHT" in refused.json()["errors"][0]["message"]
    assert admin_api.post("/api/v1/quotes/", {"order": 999999}, format="json").status_code == 404
    both = admin_api.post(
        "/api/v1/quotes/", {"order": order.pk, "parcel": {"country": "US", "weight_g": 1}}, format="json"
    )
    assert both.status_code == 400


def test_quotes_need_the_right_to_see_shipping_methods(api_client_for, card):
    picker = api_client_for("Picker/packer")
    assert (
        picker.post("/api/v1/quotes/", {"parcel": {"country": "US", "weight_g": 1}}, format="json").status_code == 403
    )
    service = api_client_for("Customer service")
    assert (
        service.post("/api/v1/quotes/", {"parcel": {"country": "US", "weight_g": 1}}, format="json").status_code == 200
    )
    assert service.post("/api/v1/rate-cards/", {**CARD, "method": card["method"]}, format="json").status_code == 403
