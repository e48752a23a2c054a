"""Checks of an order before it is allocated: its address (the lines a carrier needs for the country, the
postcode's format for the main destinations, a phone that can be dialled) and the blacklist. Allocation rules
read their results (``address_ok``, ``blacklisted``) to hold an order with the reason shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.translation import gettext as _

from orders.models import Blacklist, Order

# Lines a carrier's label needs, beyond name, street, city and country (needed everywhere).
NEEDS_STATE = frozenset({"US", "CA", "AU", "BR", "MX", "IN", "CN", "JP"})
NO_POSTCODE = frozenset({"HK", "AE", "QA", "IE"})  # Ireland's Eircode is optional on labels
# Postcode formats of the main destinations (upper-cased, spaces as given).
POSTCODES = {
    "US": re.compile(r"\d{5}(-\d{4})?"),
    "CA": re.compile(r"[A-Z]\d[A-Z] ?\d[A-Z]\d"),
    "GB": re.compile(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"),
    "DE": re.compile(r"\d{5}"),
    "FR": re.compile(r"\d{5}"),
    "IT": re.compile(r"\d{5}"),
    "ES": re.compile(r"\d{5}"),
    "NL": re.compile(r"\d{4} ?[A-Z]{2}"),
    "AU": re.compile(r"\d{4}"),
    "JP": re.compile(r"\d{3}-?\d{4}"),
    "BR": re.compile(r"\d{5}-?\d{3}"),
    "MX": re.compile(r"\d{5}"),
    "PL": re.compile(r"\d{2}-\d{3}"),
}
_NOT_DIGITS = re.compile(r"\D")


def phone_normalised(text: str) -> str:
    """A phone number as digits, with a leading + kept (``+1 (555) 010-0100`` → ``+15550100100``)."""
    text = (text or "").strip()
    digits = _NOT_DIGITS.sub("", text)
    return f"+{digits}" if text.startswith("+") and digits else digits


def email_normalised(text: str) -> str:
    return (text or "").strip().lower()


def address_normalised(street: str, postcode: str, country: str) -> str:
    """Street, postcode and country folded for comparison: case, spaces and punctuation do not count."""
    folded = " ".join(re.sub(r"[^\w]+", " ", f"{street} {postcode}".casefold()).split())
    return f"{country.upper()}:{folded}"


def address_problems(order: Order) -> list[str]:
    """What a carrier would refuse in the ship-to address, each said in a sentence; empty when it is fine."""
    problems = []
    country = (order.ship_country or "").upper()
    for value, label in (
        (order.ship_name, _("recipient's name")),
        (order.ship_address1, _("street")),
        (order.ship_city, _("city")),
        (country, _("country")),
    ):
        if not (value or "").strip():
            problems.append(_("The address has no %(part)s.") % {"part": label})
    if country in NEEDS_STATE and not (order.ship_state or "").strip():
        problems.append(_("Addresses in %(country)s need a state or province.") % {"country": country})
    postcode = (order.ship_postcode or "").strip().upper()
    if not postcode and country and country not in NO_POSTCODE:
        problems.append(_("The address has no postcode."))
    elif postcode and country in POSTCODES and not POSTCODES[country].fullmatch(postcode):
        problems.append(
            _("%(postcode)s is not a postcode of %(country)s.") % {"postcode": order.ship_postcode, "country": country}
        )
    phone = phone_normalised(order.ship_phone)
    if order.ship_phone and len(phone.lstrip("+")) < 6:
        problems.append(_("The phone number %(phone)s is too short to dial.") % {"phone": order.ship_phone})
    return problems


def blacklist_keys(order: Order) -> list[tuple[str, str]]:
    """(kind, normalised value) of what of ``order`` a blacklist entry can name."""
    keys = [
        (Blacklist.Kind.BUYER, (order.buyer_name or "").strip().casefold()),
        (Blacklist.Kind.BUYER, (order.ship_name or "").strip().casefold()),
        (Blacklist.Kind.EMAIL, email_normalised(order.buyer_email)),
        (Blacklist.Kind.PHONE, phone_normalised(order.ship_phone)),
        (Blacklist.Kind.ADDRESS, address_normalised(order.ship_address1, order.ship_postcode, order.ship_country)),
    ]
    return [(kind, value) for kind, value in keys if value and not value.endswith(":")]


def blacklist_hits(orders: Iterable[Order]) -> dict[int, list[Blacklist]]:
    """The active blacklist entries each order matches, in one query for all of them."""
    orders = list(orders)
    keys = {order.pk: blacklist_keys(order) for order in orders}
    values = {value for found in keys.values() for _kind, value in found}
    entries = {(entry.kind, entry.value): entry for entry in Blacklist.objects.filter(is_active=True, value__in=values)}
    return {pk: [entries[key] for key in found if key in entries] for pk, found in keys.items()}


def blacklist_value(kind: str, value: str) -> str:
    """``value`` as the blacklist keeps it for ``kind``. An address is given as ``COUNTRY: street postcode``."""
    if kind == Blacklist.Kind.EMAIL:
        return email_normalised(value)
    if kind == Blacklist.Kind.PHONE:
        return phone_normalised(value)
    if kind == Blacklist.Kind.ADDRESS:
        country, _colon, rest = (value or "").partition(":")
        return address_normalised(rest, "", country.strip()) if rest.strip() else ""
    return (value or "").strip().casefold()


def billing_country(order: Order) -> str:
    """The buyer's billing (or registration) country when the store sends one: Shopify's ``billing_address``,
    eBay's ``buyer.buyerRegistrationAddress``; empty when unknown (Amazon, Wish, AliExpress do not say)."""
    raw = order.raw if isinstance(order.raw, dict) else {}
    places = (
        raw.get("billing_address"),
        (raw.get("buyer") or {}).get("buyerRegistrationAddress") if isinstance(raw.get("buyer"), dict) else None,
    )
    for place in places:
        if isinstance(place, dict):
            code = place.get("country_code") or place.get("countryCode") or ""
            if isinstance(code, str) and len(code.strip()) == 2:
                return code.strip().upper()
    return ""


def country_mismatch(order: Order) -> bool:
    """Whether the buyer's billing country is known and is not the country the order ships to (a risk sign)."""
    billing = billing_country(order)
    return bool(billing and order.ship_country and billing != order.ship_country.upper())


def merge_key(order: Order) -> str:
    """Orders with the same key go to the same buyer at the same address: they may be merged into one parcel."""
    buyer = email_normalised(order.buyer_email) or " ".join(order.ship_name.casefold().split())
    if not buyer:
        return ""
    street = f"{order.ship_address1} {order.ship_address2}"
    return f"{buyer}|{address_normalised(street, order.ship_postcode, order.ship_country)}"
