"""Quotes: eligibility, zones by postcode, chargeable weight and each pricing, with exact numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from logistics.models import Carrier, RateBracket, RateCard, RateZone, ShippingMethod
from logistics.quotes import ParcelIn, methods_for_quotes, quotes_for

pytestmark = pytest.mark.django_db


def method_with_card(code: str = "YT-STD", **method_fields) -> tuple[ShippingMethod, RateCard]:
    carrier, _ = Carrier.objects.get_or_create(code="YUNEXPRESS", defaults={"name": "YunExpress"})
    method = ShippingMethod.objects.create(carrier=carrier, code=code, name=f"Method {code}", **method_fields)
    card = RateCard.objects.create(
        method=method,
        name=f"{code} 2026",
        currency="CNY",
        volumetric_divisor=6000,
        weight_step_g=10,
        fuel_surcharge_percent=Decimal("10"),
        registration_fee=Decimal("18"),
    )
    us = RateZone.objects.create(card=card, code="US", countries=["US"])
    RateBracket.objects.create(zone=us, max_weight_g=2000, pricing="per_kg", price_per_kg=Decimal("80"))
    west = RateZone.objects.create(card=card, code="US-W", countries=["US"], postcode_prefixes=["9", "83"])
    RateBracket.objects.create(
        zone=west,
        max_weight_g=30000,
        pricing="first_additional",
        first_weight_g=500,
        first_price=Decimal("60"),
        additional_unit_g=500,
        additional_price=Decimal("25"),
        registration_fee=Decimal("0"),
    )
    return method, card


def only_quote(parcel: ParcelIn):
    [quote] = quotes_for(parcel)
    return quote


def test_per_kg_with_volumetric_weight_rounding_fuel_and_registration():
    method_with_card()

    quote = only_quote(
        ParcelIn(country="us", postcode="10001", weight_g=1234, length_mm=300, width_mm=200, height_mm=100)
    )

    assert quote.eligible, quote.reasons
    assert (quote.zone, quote.actual_weight_g, quote.volumetric_weight_g, quote.chargeable_weight_g) == (
        "US",
        1234,
        1000,  # 30 × 20 × 10 cm = 6,000 cm³ ÷ 6000 = 1 kg
        1240,  # 1,234 g rounded up to 10 g
    )
    # 1.24 kg × 80 = 99.20; fuel 10 % = 9.92; registration 18.
    assert (quote.freight, quote.fuel_surcharge, quote.registration_fee, quote.total) == (
        Decimal("99.2000"),
        Decimal("9.92000"),
        Decimal("18.0000"),
        Decimal("127.12"),
    )
    assert quote.steps[-1] == "Total: 127.12 CNY."
    assert "Volumetric weight: 30 × 20 × 10 cm ÷ 6000 = 1,000 g." in quote.steps


def test_first_and_additional_weight_in_a_postcode_zone_where_volume_outweighs_the_parcel():
    method_with_card()

    quote = only_quote(
        ParcelIn(country="US", postcode="94105", weight_g=800, length_mm=400, width_mm=300, height_mm=200)
    )

    assert (quote.zone, quote.volumetric_weight_g, quote.chargeable_weight_g) == ("US-W", 4000, 4000)
    # First 500 g 60, then ⌈3,500 ÷ 500⌉ = 7 units × 25 = 175: 235; fuel 23.50; the bracket's registration is 0.
    assert (quote.freight, quote.total) == (Decimal("235.0000"), Decimal("258.50"))
    assert quote.registration_fee == Decimal("0")
    # The longest matching prefix wins: 83xxx is in US-W too, 8xxxx is not.
    assert only_quote(ParcelIn(country="US", postcode="83702", weight_g=100)).zone == "US-W"
    assert only_quote(ParcelIn(country="US", postcode="80202", weight_g=100)).zone == "US"


def test_a_card_without_divisor_charges_actual_weight_and_a_partial_unit_counts_whole():
    _method, card = method_with_card()
    card.volumetric_divisor = None
    card.weight_step_g = 1
    card.save()

    quote = only_quote(
        ParcelIn(country="US", postcode="94105", weight_g=501, length_mm=400, width_mm=300, height_mm=200)
    )

    assert (quote.volumetric_weight_g, quote.chargeable_weight_g) == (None, 501)
    assert quote.freight == Decimal("85.0000")  # 60 + 1 unit of 500 g × 25


def test_each_limit_makes_a_method_ineligible_with_its_reason():
    method_with_card(max_weight_g=1000, max_length_mm=500, max_dimensions_sum_mm=900, countries=["US", "CA"])

    quote = only_quote(
        ParcelIn(
            country="GB",
            postcode="SW1A 1AA",
            weight_g=1500,
            length_mm=600,
            width_mm=200,
            height_mm=200,
            has_battery=True,
            has_liquid=True,
        )
    )

    assert not quote.eligible
    assert quote.reasons == [
        "Does not serve GB.",
        "1,500 g is over its 1000 g.",
        "A side of 600 mm is over its 500 mm.",
        "Length + width + height of 1000 mm is over its 900 mm.",
        "Does not take batteries.",
        "Does not take liquids.",
        "Rate card YT-STD 2026 has no zone for GB SW1A 1AA.",
    ]


def test_over_the_heaviest_bracket_and_without_a_card_in_force():
    method_with_card()
    method_with_card("YT-OLD")
    RateCard.objects.filter(method__code="YT-OLD").update(valid_to=timezone.localdate() - dt.timedelta(days=1))

    quotes = {quote.method.code: quote for quote in quotes_for(ParcelIn(country="US", postcode="10001", weight_g=2500))}

    assert quotes["YT-STD"].reasons == ["2,500 g is over the heaviest bracket of zone US (2,000 g)."]
    assert quotes["YT-OLD"].reasons == ["No rate card in force."]


def test_the_latest_card_in_force_prices_and_a_future_one_waits():
    method, _card = method_with_card()
    today = timezone.localdate()
    newer = RateCard.objects.create(method=method, name="newer", currency="USD", valid_from=today)
    zone = RateZone.objects.create(card=newer, code="ALL-US", countries=["US"])
    RateBracket.objects.create(zone=zone, max_weight_g=5000, pricing="per_kg", price_per_kg=Decimal("10"))
    future = RateCard.objects.create(method=method, name="future", currency="EUR", valid_from=today + dt.timedelta(1))
    RateZone.objects.create(card=future, code="ALL-US", countries=["US"])

    quote = only_quote(ParcelIn(country="US", weight_g=1000))

    assert (quote.card.name, quote.currency, quote.total) == ("newer", "USD", Decimal("10.00"))


def test_eligible_methods_come_cheapest_first_and_all_are_read_in_a_fixed_number_of_queries():
    for code in ("A", "B", "C", "D", "E"):
        method_with_card(code)
    RateBracket.objects.filter(zone__card__method__code="C").update(price_per_kg=Decimal("5"))
    RateBracket.objects.filter(zone__card__method__code="E").update(price_per_kg=Decimal("500"))
    ShippingMethod.objects.filter(code="B").update(allows_battery=False)

    with CaptureQueriesContext(connection) as queries:
        quotes = quotes_for(ParcelIn(country="US", postcode="10001", weight_g=1000, has_battery=True))

    assert len(queries) == 4  # methods with carriers, cards, zones, brackets
    assert [quote.method.code for quote in quotes if not quote.eligible] == ["A", "B", "C", "D", "E"]
    ShippingMethod.objects.update(allows_battery=True)
    quotes = quotes_for(ParcelIn(country="US", postcode="10001", weight_g=1000, has_battery=True))
    assert [quote.method.code for quote in quotes] == ["C", "A", "B", "D", "E"]
    assert [quote.total for quote in quotes][:2] == [Decimal("23.50"), Decimal("106.00")]


def test_inactive_methods_and_carriers_are_not_quoted():
    _method, _card = method_with_card()
    method_with_card("OFF", is_active=False)
    assert [quote.method.code for quote in quotes_for(ParcelIn(country="US", weight_g=100))] == ["YT-STD"]
    Carrier.objects.update(is_active=False)
    assert methods_for_quotes() == []
