"""What a parcel costs by each shipping method, with the arithmetic a person can check.

For each active method: is it eligible (country served, weight and size limits, batteries and liquids, a rate
card in force with a zone for the address and a bracket for the weight), and if so:

    volumetric weight (g) = L × W × H (mm³) ÷ divisor (cm³ per kg)      [mm³ ÷ 1000 = cm³; kg × 1000 = g]
    chargeable weight (g) = max(actual, volumetric), rounded up to the card's weight step
    freight               = chargeable kg × price per kg
                          or first price + ⌈(chargeable − first weight) ÷ additional unit⌉ × additional price
    fuel surcharge        = freight × fuel %
    total                 = freight + fuel surcharge + registration fee, to the cent (half up)

Every figure is a Decimal; nothing is a float. Methods, cards, zones and brackets are read in four queries for all
methods, whatever their number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import F, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from logistics.models import RateBracket, RateCard, RateZone, ShippingMethod

CENT = Decimal("0.01")
GRAMS_PER_KG = Decimal(1000)


@dataclass(frozen=True)
class ParcelIn:
    """A parcel to price: where it goes, what it weighs, its size (each side in mm; the volume may be given
    instead, for several items packed together), and what is in it."""

    country: str
    weight_g: int
    postcode: str = ""
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    volume_mm3: int | None = None
    has_battery: bool = False
    has_liquid: bool = False

    @property
    def volume(self) -> int | None:
        if self.volume_mm3 is not None:
            return self.volume_mm3
        if self.length_mm and self.width_mm and self.height_mm:
            return self.length_mm * self.width_mm * self.height_mm
        return None


@dataclass
class Quote:
    method: ShippingMethod
    eligible: bool
    reasons: list[str] = field(default_factory=list)  # why not, when not eligible
    currency: str = ""
    card: RateCard | None = None
    zone: str = ""
    actual_weight_g: int = 0
    volumetric_weight_g: int | None = None
    chargeable_weight_g: int = 0
    freight: Decimal = Decimal(0)
    fuel_surcharge: Decimal = Decimal(0)
    registration_fee: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    steps: list[str] = field(default_factory=list)  # the arithmetic, one line a step


def methods_for_quotes(methods: Any = None, on: dt.date | None = None) -> list[ShippingMethod]:
    """Active methods (or those of ``methods``, a queryset) with their cards in force on ``on``, zones and
    brackets prefetched."""
    on = on or timezone.localdate()
    zones = RateZone.objects.order_by("code").prefetch_related(
        Prefetch("brackets", queryset=RateBracket.objects.order_by("max_weight_g"))
    )
    cards = (
        RateCard.objects.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=on),
            Q(valid_to__isnull=True) | Q(valid_to__gte=on),
            is_active=True,
        )
        .order_by(F("valid_from").desc(nulls_last=True), "-pk")
        .prefetch_related(Prefetch("zones", queryset=zones))
    )
    queryset = methods if methods is not None else ShippingMethod.objects.all()
    return list(
        queryset.filter(is_active=True, carrier__is_active=True)
        .select_related("carrier")
        .prefetch_related(Prefetch("rate_cards", queryset=cards, to_attr="cards_in_force"))
        .order_by("code")
    )


def quotes_for(parcel: ParcelIn, methods: list[ShippingMethod] | None = None) -> list[Quote]:
    """A quote of every method (``methods_for_quotes()`` unless given): the eligible ones cheapest first, then
    the others with their reasons."""
    methods = methods if methods is not None else methods_for_quotes()
    quotes = [method_quote(method, parcel) for method in methods]
    return sorted(
        quotes, key=lambda quote: (not quote.eligible, quote.total if quote.eligible else 0, quote.method.code)
    )


def _limits_broken(method: ShippingMethod, parcel: ParcelIn) -> list[str]:
    reasons = []
    country = parcel.country.upper()
    if method.countries and country not in method.countries:
        reasons.append(_("Does not serve %(country)s.") % {"country": country})
    if method.max_weight_g is not None and parcel.weight_g > method.max_weight_g:
        reasons.append(
            _("%(weight)s g is over its %(limit)s g.")
            % {"weight": f"{parcel.weight_g:,}", "limit": method.max_weight_g}
        )
    sides = [side for side in (parcel.length_mm, parcel.width_mm, parcel.height_mm) if side]
    if method.max_length_mm is not None and sides and max(sides) > method.max_length_mm:
        reasons.append(
            _("A side of %(side)s mm is over its %(limit)s mm.") % {"side": max(sides), "limit": method.max_length_mm}
        )
    if method.max_dimensions_sum_mm is not None and len(sides) == 3 and sum(sides) > method.max_dimensions_sum_mm:
        reasons.append(
            _("Length + width + height of %(sum)s mm is over its %(limit)s mm.")
            % {"sum": sum(sides), "limit": method.max_dimensions_sum_mm}
        )
    if parcel.has_battery and not method.allows_battery:
        reasons.append(_("Does not take batteries."))
    if parcel.has_liquid and not method.allows_liquid:
        reasons.append(_("Does not take liquids."))
    return reasons


def zone_for(card: RateCard, country: str, postcode: str) -> RateZone | None:
    """The card's zone for the address: among the zones of the country, the one with the longest postcode prefix
    the postcode starts with, else one for the whole country."""
    country = country.upper()
    code = postcode.replace(" ", "").upper()
    best: tuple[int, RateZone] | None = None
    for zone in card.zones.all():
        if country not in zone.countries:
            continue
        if not zone.postcode_prefixes:
            length = 0
        else:
            matching = [
                len(prefix) for prefix in zone.postcode_prefixes if code.startswith(prefix.replace(" ", "").upper())
            ]
            if not matching:
                continue
            length = max(matching)
        if best is None or length > best[0]:
            best = (length, zone)
    return best[1] if best else None


def _grams(value: int) -> str:
    return f"{value:,} g"


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):,}"


def method_quote(method: ShippingMethod, parcel: ParcelIn) -> Quote:
    """One method's quote; ``method`` comes from ``methods_for_quotes()``."""
    quote = Quote(method=method, eligible=False, actual_weight_g=parcel.weight_g)
    quote.reasons = _limits_broken(method, parcel)
    cards = method.cards_in_force  # methods_for_quotes() reads them
    if not cards:
        quote.reasons.append(_("No rate card in force."))
        return quote
    card = cards[0]
    quote.card, quote.currency = card, card.currency
    zone = zone_for(card, parcel.country, parcel.postcode)
    if zone is None:
        where = f"{parcel.country.upper()} {parcel.postcode}".strip()
        quote.reasons.append(_("Rate card %(card)s has no zone for %(where)s.") % {"card": card.name, "where": where})
        return quote
    quote.zone = zone.code

    steps = [_("Actual weight: %(weight)s.") % {"weight": _grams(parcel.weight_g)}]
    chargeable = parcel.weight_g
    volume = parcel.volume
    if card.volumetric_divisor and volume:
        volumetric = int((Decimal(volume) / card.volumetric_divisor).to_integral_value(rounding=ROUND_CEILING))
        quote.volumetric_weight_g = volumetric
        if parcel.length_mm and parcel.width_mm and parcel.height_mm and parcel.volume_mm3 is None:
            size = "{} × {} × {} cm".format(
                *(Decimal(side) / 10 for side in (parcel.length_mm, parcel.width_mm, parcel.height_mm))
            )
        else:
            size = f"{Decimal(volume) / 1000:,} cm³"
        steps.append(
            _("Volumetric weight: %(size)s ÷ %(divisor)s = %(weight)s.")
            % {"size": size, "divisor": card.volumetric_divisor, "weight": _grams(volumetric)}
        )
        chargeable = max(chargeable, volumetric)
    if card.weight_step_g > 1 and chargeable % card.weight_step_g:
        rounded = -(-chargeable // card.weight_step_g) * card.weight_step_g
        steps.append(
            _("Chargeable weight: %(weight)s, rounded up to %(step)s g: %(rounded)s.")
            % {"weight": _grams(chargeable), "step": card.weight_step_g, "rounded": _grams(rounded)}
        )
        chargeable = rounded
    else:
        steps.append(_("Chargeable weight: %(weight)s.") % {"weight": _grams(chargeable)})
    quote.chargeable_weight_g = chargeable

    bracket = next((bracket for bracket in zone.brackets.all() if bracket.max_weight_g >= chargeable), None)
    if bracket is None:
        heaviest = max((bracket.max_weight_g for bracket in zone.brackets.all()), default=0)
        quote.reasons.append(
            _("%(weight)s is over the heaviest bracket of zone %(zone)s (%(limit)s).")
            % {"weight": _grams(chargeable), "zone": zone.code, "limit": _grams(heaviest)}
        )
        return quote
    if bracket.pricing == RateBracket.Pricing.PER_KG:
        kilograms = Decimal(chargeable) / GRAMS_PER_KG
        freight = kilograms * bracket.price_per_kg
        steps.append(
            _("Freight (zone %(zone)s, up to %(limit)s): %(kg)s kg × %(price)s = %(freight)s.")
            % {
                "zone": zone.code,
                "limit": _grams(bracket.max_weight_g),
                "kg": f"{kilograms:,}",
                "price": _money(bracket.price_per_kg),
                "freight": _money(freight),
            }
        )
    else:
        extra_grams = max(0, chargeable - bracket.first_weight_g)
        units = -(-extra_grams // bracket.additional_unit_g)
        freight = bracket.first_price + units * bracket.additional_price
        steps.append(
            _(
                "Freight (zone %(zone)s, up to %(limit)s): first %(first)s %(first_price)s + %(units)s × "
                "%(unit)s g at %(unit_price)s = %(freight)s."
            )
            % {
                "zone": zone.code,
                "limit": _grams(bracket.max_weight_g),
                "first": _grams(bracket.first_weight_g),
                "first_price": _money(bracket.first_price),
                "units": units,
                "unit": bracket.additional_unit_g,
                "unit_price": _money(bracket.additional_price),
                "freight": _money(freight),
            }
        )
    fuel = freight * card.fuel_surcharge_percent / 100
    if fuel:
        steps.append(
            _("Fuel surcharge: %(freight)s × %(percent)s%% = %(fuel)s.")
            % {"freight": _money(freight), "percent": card.fuel_surcharge_percent.normalize(), "fuel": _money(fuel)}
        )
    registration = bracket.registration_fee if bracket.registration_fee is not None else card.registration_fee
    if registration:
        steps.append(_("Registration fee: %(fee)s.") % {"fee": _money(registration)})
    total = (freight + fuel + registration).quantize(CENT, rounding=ROUND_HALF_UP)
    steps.append(_("Total: %(total)s %(currency)s.") % {"total": f"{total:,}", "currency": card.currency})
    quote.freight, quote.fuel_surcharge, quote.registration_fee, quote.total = freight, fuel, registration, total
    quote.steps = steps
    quote.eligible = not quote.reasons
    return quote
