"""Writes of logistics: carriers, shipping methods and rate cards. A rate card's zones and brackets are replaced as
one whole (from the API or a spreadsheet): checked completely first, then written, or nothing is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.crypto import decrypt_json, encrypt_json
from core.errors import ErrorDetail, ValidationFailed, errors_from_django
from logistics.models import Carrier, CarrierAccount, RateBracket, RateCard, RateZone, ShippingMethod

# The marketplaces a method's carrier names are given for (channels' keys; logistics comes before channels).
MARKETPLACES = ("amazon", "ebay", "aliexpress", "wish", "shopify")
CARRIER_FIELDS = ("code", "name", "tracking_url", "is_active")
METHOD_FIELDS = (
    "carrier",
    "account",
    "code",
    "name",
    "carrier_product_code",
    "service_level",
    "label_size",
    "tracked",
    "max_weight_g",
    "max_length_mm",
    "max_dimensions_sum_mm",
    "countries",
    "allows_battery",
    "allows_liquid",
    "transit_days_min",
    "transit_days_max",
    "marketplace_carrier_codes",
    "is_active",
)
CARD_FIELDS = (
    "method",
    "name",
    "currency",
    "valid_from",
    "valid_to",
    "volumetric_divisor",
    "weight_step_g",
    "fuel_surcharge_percent",
    "registration_fee",
    "is_active",
)
BRACKET_FIELDS = (
    "max_weight_g",
    "pricing",
    "price_per_kg",
    "first_weight_g",
    "first_price",
    "additional_unit_g",
    "additional_price",
    "registration_fee",
)


def _codes(values: Any) -> list[str]:
    """Country codes or postcode prefixes as given (a list, or text split on spaces, commas, semicolons)."""
    if isinstance(values, str):
        values = values.replace(",", " ").replace(";", " ").replace("，", " ").split()
    return [str(value).strip().upper() for value in values or [] if str(value).strip()]


def _saved(instance, subject: str, exclude: tuple[str, ...] = ()):
    try:
        instance.full_clean(exclude=list(exclude))
    except DjangoValidationError as error:
        raise ValidationFailed.listing(subject, errors_from_django(error)) from None
    instance.save()
    return instance


def _marketplace_codes_checked(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValidationFailed(
            _("Carrier names for the marketplaces must be an object."),
            errors=[ErrorDetail(_("Must be an object."), field="marketplace_carrier_codes")],
        )
    errors = [
        ErrorDetail(
            _("Not a marketplace (one of: %(choices)s).") % {"choices": ", ".join(MARKETPLACES)},
            field=f"marketplace_carrier_codes.{key}",
        )
        for key in value
        if key not in MARKETPLACES
    ] + [
        ErrorDetail(_("Must be a text of at most 100 characters."), field=f"marketplace_carrier_codes.{key}")
        for key, name in value.items()
        if not isinstance(name, str) or len(name) > 100
    ]
    if errors:
        raise ValidationFailed.listing(_("Carrier names for the marketplaces"), errors)
    return {key: name.strip() for key, name in value.items()}


@transaction.atomic
def carrier_save(*, carrier: Carrier | None = None, data: Mapping[str, Any]) -> Carrier:
    carrier = carrier or Carrier()
    for name in CARRIER_FIELDS:
        if name in data:
            setattr(carrier, name, data[name].strip().upper() if name == "code" else data[name])
    return _saved(carrier, _("Carrier"))


@transaction.atomic
def method_save(*, method: ShippingMethod | None = None, data: Mapping[str, Any]) -> ShippingMethod:
    method = method or ShippingMethod()
    for name in METHOD_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name == "code":
            value = value.strip().upper()
        elif name == "countries":
            value = sorted(set(_codes(value)))
        elif name == "marketplace_carrier_codes":
            value = _marketplace_codes_checked(value)
        setattr(method, name, value)
    return _saved(method, _("Shipping method"))


@transaction.atomic
def rate_card_save(
    *, card: RateCard | None = None, data: Mapping[str, Any], zones: list[Mapping[str, Any]] | None = None
) -> RateCard:
    """Create or change a card; ``zones`` (each with its ``brackets``), when given, replace the card's."""
    card = card or RateCard()
    for name in CARD_FIELDS:
        if name in data:
            setattr(card, name, data[name].strip().upper() if name == "currency" else data[name])
    _saved(card, _("Rate card"))
    if zones is not None:
        rate_card_zones_replace(card=card, zones=zones)
    return card


def _zone_errors(
    position: int, zone: Mapping[str, Any], seen: set[str], where: str
) -> tuple[RateZone | None, list, list[ErrorDetail]]:
    errors: list[ErrorDetail] = []
    code = str(zone.get("code") or "").strip().upper()
    instance = RateZone(
        code=code, countries=_codes(zone.get("countries")), postcode_prefixes=_codes(zone.get("postcode_prefixes"))
    )
    try:
        instance.full_clean(exclude=["card"])
    except DjangoValidationError as error:
        errors += [
            ErrorDetail(detail.message, field=f"{where}.{detail.field}", code=detail.code, row=zone.get("row"))
            for detail in errors_from_django(error)
        ]
    if code and code in seen:
        errors.append(
            ErrorDetail(_("Zone %(zone)s is given twice.") % {"zone": code}, field=f"{where}.code", row=zone.get("row"))
        )
    seen.add(code)
    brackets: list[RateBracket] = []
    weights: set[int] = set()
    given = zone.get("brackets")
    if not isinstance(given, list) or not given:
        errors.append(ErrorDetail(_("A zone needs at least one weight bracket."), field=f"{where}.brackets"))
        given = []
    for index, bracket in enumerate(given):
        at = f"{where}.brackets[{index}]"
        row = bracket.get("row") if isinstance(bracket, Mapping) else None
        if not isinstance(bracket, Mapping):
            errors.append(ErrorDetail(_("Must be an object."), field=at))
            continue
        values = {name: bracket.get(name) for name in BRACKET_FIELDS if bracket.get(name) not in (None, "")}
        instance_bracket = RateBracket(**values)
        try:
            instance_bracket.full_clean(exclude=["zone"], validate_constraints=False)
            _pricing_checked(instance_bracket)
        except DjangoValidationError as error:
            errors += [
                ErrorDetail(detail.message, field=f"{at}.{detail.field}", code=detail.code, row=row)
                for detail in errors_from_django(error)
            ]
            continue
        if instance_bracket.max_weight_g in weights:
            errors.append(
                ErrorDetail(
                    _("Two brackets end at %(weight)s g.") % {"weight": instance_bracket.max_weight_g},
                    field=f"{at}.max_weight_g",
                    row=row,
                )
            )
        weights.add(instance_bracket.max_weight_g)
        brackets.append(instance_bracket)
    return instance, brackets, errors


def _pricing_checked(bracket: RateBracket) -> None:
    """What each pricing needs, said per field (the table's CHECK says it too, in one line)."""
    if bracket.pricing == RateBracket.Pricing.PER_KG:
        needed = ["price_per_kg"]
    else:
        needed = ["first_weight_g", "first_price", "additional_unit_g", "additional_price"]
    missing = {name: _("Needed for this pricing.") for name in needed if getattr(bracket, name) is None}
    if missing:
        raise DjangoValidationError(missing)


@transaction.atomic
def rate_card_zones_replace(*, card: RateCard, zones: list[Mapping[str, Any]]) -> RateCard:
    """The card's zones and brackets become ``zones``: all checked first (every problem named by its place, and
    its row when it came from a spreadsheet), then the old ones deleted and the new written."""
    errors: list[ErrorDetail] = []
    built: list[tuple[RateZone, list[RateBracket]]] = []
    seen: set[str] = set()
    if not zones:
        errors.append(ErrorDetail(_("A rate card needs at least one zone."), field="zones"))
    for position, zone in enumerate(zones):
        if not isinstance(zone, Mapping):
            errors.append(ErrorDetail(_("Must be an object."), field=f"zones[{position}]"))
            continue
        instance, brackets, found = _zone_errors(position, zone, seen, f"zones[{position}]")
        errors += found
        built.append((instance, brackets))
    if errors:
        raise ValidationFailed.listing(_("Rate card %(card)s") % {"card": card.name}, errors)
    RateZone.objects.filter(card=card).delete()
    for zone, _brackets in built:
        zone.card = card
    RateZone.objects.bulk_create([zone for zone, _brackets in built])
    for zone, brackets in built:
        for bracket in brackets:
            bracket.zone = zone
    RateBracket.objects.bulk_create([bracket for _zone, brackets in built for bracket in brackets])
    return card


# --- Carrier accounts ---------------------------------------------------------------------------------------------

# The credentials each carrier takes, in its own terms.
CARRIER_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "yunexpress": ("customer_code", "api_secret"),
    "dhl_express": ("username", "password", "account_number"),
    "easypost": ("api_key",),
    "4px": ("app_key", "app_secret"),
    "yanwen": ("user_id", "api_token"),
    "self": (),
}
CARRIER_PRODUCTION_URLS = {
    "yunexpress": "http://oms.api.yunexpress.com/api/",
    "dhl_express": "https://express.api.dhl.com/mydhlapi",
    "easypost": "https://api.easypost.com/v2",
    "4px": "https://open.4px.com/router/api/service",
}


@transaction.atomic
def carrier_account_save(
    *, account: CarrierAccount | None = None, data: Mapping[str, Any], credentials: Mapping[str, Any] | None = None
) -> CarrierAccount:
    """Create or change a carrier account; ``credentials`` (write-only, in the carrier's own terms) are checked and
    stored encrypted. The API address defaults to the carrier's production one."""
    account = account or CarrierAccount()
    for name in ("carrier", "name", "api_base_url", "is_active", "sender", "label_format"):
        if name in data:
            setattr(account, name, data[name])
    if not account.api_base_url:
        account.api_base_url = CARRIER_PRODUCTION_URLS.get(account.carrier, "")
    needed = CARRIER_CREDENTIALS.get(account.carrier, ())
    if credentials is not None or (account.pk is None and needed):
        given = dict(credentials or {})
        errors = [
            ErrorDetail(_("Required."), field=f"credentials.{name}", code="required")
            for name in needed
            if not isinstance(given.get(name), str) or not given[name].strip()
        ]
        errors += [
            ErrorDetail(_("Unknown key %(key)s.") % {"key": name}, field=f"credentials.{name}")
            for name in sorted(set(given) - set(needed))
        ]
        if errors:
            raise ValidationFailed.listing(_("The carrier account"), errors)
        account.credentials_encrypted = encrypt_json({name: given[name].strip() for name in needed})
    account.full_clean(exclude=["credentials_encrypted"])
    account.save()
    return account


def carrier_account_credentials(account: CarrierAccount) -> dict[str, str]:
    return decrypt_json(account.credentials_encrypted) if account.credentials_encrypted else {}
