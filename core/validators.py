"""Validators for codes that recur across apps: GTIN barcodes, HS codes, ISO countries and currencies."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.codes import COUNTRY_CODES, CURRENCY_CODES

# ASCII digits, as the database's CHECK: \d would also take other scripts' digits (and "¹", which int() refuses).
HS_CODE_RE = re.compile(r"^[0-9]{6,10}$")
GTIN_LENGTHS = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13", 14: "GTIN-14"}


def gtin_check_digit(body: str) -> int:
    """GS1 check digit of the digits before it (weights 3,1,3,... from the right)."""
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_gtin(value: str) -> None:
    if not (value.isascii() and value.isdigit()) or len(value) not in GTIN_LENGTHS:
        raise ValidationError(
            _("Barcode %(value)s must be 8, 12, 13 or 14 digits (EAN-8, UPC-A, EAN-13, GTIN-14)."),
            code="barcode_format",
            params={"value": value},
        )
    expected = gtin_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise ValidationError(
            _("Barcode %(value)s has check digit %(actual)s; %(kind)s check digit should be %(expected)s."),
            code="barcode_check_digit",
            params={
                "value": value,
                "actual": value[-1],
                "expected": expected,
                "kind": GTIN_LENGTHS[len(value)],
            },
        )


def validate_hs_code(value: str) -> None:
    if not HS_CODE_RE.fullmatch(value):
        raise ValidationError(
            _("HS code %(value)s must be 6 to 10 digits, without dots or spaces."),
            code="hs_code",
            params={"value": value},
        )


def validate_country(value: str) -> None:
    if value not in COUNTRY_CODES:
        raise ValidationError(
            _("%(value)s is not an ISO 3166-1 alpha-2 country code (for example CN, US, DE)."),
            code="country",
            params={"value": value},
        )


def validate_currency(value: str) -> None:
    if value not in CURRENCY_CODES:
        raise ValidationError(
            _("%(value)s is not an ISO 4217 currency code (for example USD, CNY, EUR)."),
            code="currency",
            params={"value": value},
        )
