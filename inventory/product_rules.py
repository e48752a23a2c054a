"""The rules of a product, defined once: each field's converter and each rule across rows, with its code and message.

Products come in through four doors: the API and the admin (``inventory.services``), django-import-export
(``inventory.resources``), and the bulk COPY path (``inventory.bulk``, used by ``POST /api/v1/products/
bulk-upsert/`` and ``manage.py products_import``). Every door judges a value with the converters here and a row
with the :class:`Rule` objects here, so the same bad row gets the same error code (and message) whichever way it
came; ``tests/inventory/test_product_rules_parity.py`` feeds the same rows through every door to prove it. The
bulk path applies the rules across rows in SQL for speed, but takes each message and code from the same Rule.

Messages are in the language active when they are built, which happens only when a value or a row is refused:
field labels are the model fields' (lazy) verbose names, read then, and each Rule holds a lazy template.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.codes import COUNTRY_CODES, CURRENCY_CODES
from core.errors import ErrorDetail
from core.limits import QUANTITY_MAX
from core.text import forbidden_character_message
from core.validators import GTIN_LENGTHS, validate_country, validate_currency, validate_gtin, validate_hs_code
from inventory.models import PRODUCT_FIELDS, SKU_RE, BundleComponent, Product, StockLevel, validate_sku

BOOLEAN_WORDS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
}
POSTGRES_INTEGER_MAX = 2_147_483_647
# Stricter than \d: Python's \d also takes other scripts' digits, which the database's CHECK would refuse.
ASCII_HS_CODE_RE = re.compile(r"[0-9]{6,10}")


# ---------------------------------------------------------------------------------------------------------------
# Field rules


class FieldInvalid(Exception):
    """One bad value; raised only off the happy path, so valid rows pay nothing for it."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _django_message(error: ValidationError) -> FieldInvalid:
    return FieldInvalid(error.messages[0], error.code or "invalid")


def _label(field: models.Field) -> str:
    """The field's name in messages, in the active language ("Weight (g)"); read when a message is built."""
    return capfirst(str(field.verbose_name))


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _as_text(value: Any, field: models.Field) -> str:
    """A JSON value for a text column: text as is, whole numbers as their digits, nothing else."""
    if value is None:
        return ""
    if type(value) is int:
        return str(value)
    raise FieldInvalid(
        _("%(label)s must be text, not %(value)s.") % {"label": _label(field), "value": shown(value)}, "invalid_type"
    )


# ---------------------------------------------------------------------------------------------------------------
# One converter per field: takes the raw value (text from a sheet, a JSON value, or a Python value from a form)
# and returns it checked and normalized. Plain numbers come back as their text, which PostgreSQL parses itself on
# the bulk path; product_values() turns them into Python numbers for the model.


def _text_converter(field: models.CharField, *, required: bool, upper: bool = False) -> Callable[[Any], Any]:
    max_length = field.max_length

    def convert(value: Any) -> str:
        value = value.strip() if type(value) is str else _as_text(value, field).strip()
        if upper:
            value = value.upper()
        if not value:
            if required:
                raise FieldInvalid(_("%(label)s is required.") % {"label": _label(field)}, "required")
            return value
        if len(value) > max_length:
            raise FieldInvalid(
                _("%(label)s has %(length)s characters; at most %(max_length)s are allowed.")
                % {"label": _label(field), "length": len(value), "max_length": max_length},
                "max_length",
            )
        # isprintable() is a C-speed pass over the text; only text it doubts is searched for forbidden characters.
        if not value.isprintable():
            message = forbidden_character_message(value)
            if message:
                raise FieldInvalid(
                    _("%(label)s: %(problem)s") % {"label": _label(field), "problem": message}, "forbidden_character"
                )
        return value

    return convert


def _sku_converter(field: models.CharField) -> Callable[[Any], Any]:
    text = _text_converter(field, required=True, upper=True)

    def convert(value: Any) -> str:
        value = text(value)
        if not SKU_RE.match(value):
            try:
                validate_sku(value)
            except ValidationError as error:
                raise _django_message(error) from None
        return value

    return convert


def _gtin_offset(length: int) -> int:
    """What the ASCII codes add over the digits in the GS1 sum of a ``length``-digit code (weights 3, 1, 3, ...)."""
    tripled = len(range(length - 2, -1, -2))
    single = len(range(length - 3, -1, -2))
    return 48 * (3 * tripled + single + 1)


# Summing the ASCII bytes in C is several times faster than int() per digit.
_GTIN_OFFSETS = {length: _gtin_offset(length) for length in GTIN_LENGTHS}


def _barcode_converter(field: models.CharField) -> Callable[[Any], Any]:
    def convert(value: Any) -> str:
        value = value.strip() if type(value) is str else _as_text(value, field).strip()
        if not value:
            return value
        offset = _GTIN_OFFSETS.get(len(value))
        if offset is not None and value.isascii() and value.isdigit():
            data = value.encode()
            # A valid code's weighted sum, its check digit included, is a multiple of 10.
            if (3 * sum(data[-2::-2]) + sum(data[-3::-2]) + data[-1] - offset) % 10 == 0:
                return value
        try:
            validate_gtin(value)
        except ValidationError as error:
            raise _django_message(error) from None
        # Django's validator takes other scripts' digits; the database's CHECK does not.
        raise FieldInvalid(
            _("Barcode %(value)s must be 8, 12, 13 or 14 digits 0-9.") % {"value": value}, "barcode_format"
        )

    return convert


def _hs_code_converter(field: models.CharField) -> Callable[[Any], Any]:
    def convert(value: Any) -> str:
        value = value.strip() if type(value) is str else _as_text(value, field).strip()
        if not value or ASCII_HS_CODE_RE.fullmatch(value):
            return value
        try:
            validate_hs_code(value)
        except ValidationError as error:
            raise _django_message(error) from None
        raise FieldInvalid(
            _("HS code %(value)s must be 6 to 10 digits 0-9, without dots or spaces.") % {"value": value}, "hs_code"
        )

    return convert


def _code_converter(
    field: models.CharField, *, codes: frozenset[str], validator: Callable[[str], None]
) -> Callable[[Any], Any]:
    def convert(value: Any) -> str:
        value = value.strip().upper() if type(value) is str else _as_text(value, field).strip().upper()
        if value in codes:
            return value
        if not value:
            raise FieldInvalid(_("%(label)s is required.") % {"label": _label(field)}, "required")
        try:
            validator(value)
        except ValidationError as error:
            raise _django_message(error) from None
        raise FieldInvalid(
            _("%(label)s %(value)s is not a known code.") % {"label": _label(field), "value": value}, "invalid"
        )

    return convert


def _integer_converter(field: models.Field) -> Callable[[Any], Any]:
    def refused(value: Any, code: str) -> FieldInvalid:
        return FieldInvalid(
            _("%(label)s must be a whole number, 0 or more; got %(value)s.")
            % {"label": _label(field), "value": shown(value)},
            code,
        )

    def slow(value: Any) -> int | None:
        if type(value) is str:
            if not value:
                return None
            try:
                number = Decimal(value)
            except InvalidOperation:
                raise refused(value, "invalid") from None
        elif type(value) in (int, float, Decimal):
            number = Decimal(value)
        else:
            raise refused(value, "invalid_type")
        if not number.is_finite() or number != number.to_integral_value():
            raise refused(value, "invalid")
        if number < 0:
            raise refused(value, "min_value")
        if number > POSTGRES_INTEGER_MAX:
            raise FieldInvalid(
                _("%(label)s must be at most %(maximum)s; got %(value)s.")
                % {"label": _label(field), "maximum": POSTGRES_INTEGER_MAX, "value": shown(value)},
                "max_value",
            )
        return int(number)

    def convert(value: Any) -> int | str | None:
        if type(value) is str:
            value = value.strip()
            # Nine digits always fit a PostgreSQL integer, which parses the text itself.
            if len(value) < 10 and value.isascii() and value.isdigit():
                return value
        elif value is None:
            return None
        elif type(value) is int and 0 <= value <= POSTGRES_INTEGER_MAX:
            return value
        return slow(value)

    return convert


def _decimal_converter(field: models.DecimalField) -> Callable[[Any], Any]:
    places = field.decimal_places
    whole_digits = field.max_digits - places
    step = Decimal(1).scaleb(-places)
    plain = re.compile(rf"[0-9]{{1,{whole_digits}}}(?:\.[0-9]{{1,{places}}})?")

    def refused(value: Any, code: str) -> FieldInvalid:
        return FieldInvalid(
            _(
                "%(label)s must be a number, 0 or more, with at most %(whole_digits)s digits before the point and "
                "%(places)s after it; got %(value)s."
            )
            % {"label": _label(field), "whole_digits": whole_digits, "places": places, "value": shown(value)},
            code,
        )

    def slow(value: Any) -> Decimal | None:
        if type(value) is str:
            if not value:
                return None
            try:
                number = Decimal(value)
            except InvalidOperation:
                raise refused(value, "invalid") from None
        elif type(value) is int:
            number = Decimal(value)
        elif type(value) is float:
            number = Decimal(repr(value))
        elif type(value) is Decimal:
            number = value
        else:
            raise refused(value, "invalid_type")
        if not number.is_finite():
            raise refused(value, "invalid")
        if number < 0:
            raise FieldInvalid(
                _("%(label)s must be 0 or more; got %(value)s.") % {"label": _label(field), "value": shown(value)},
                "min_value",
            )
        if number.adjusted() >= whole_digits:
            raise FieldInvalid(
                _(
                    "%(label)s must be a number, 0 or more, with at most %(whole_digits)s digits before the point; "
                    "got %(value)s."
                )
                % {"label": _label(field), "whole_digits": whole_digits, "value": shown(value)},
                "max_whole_digits",
            )
        rounded = number.quantize(step)
        # Trailing zeros are fine (1.500 is 1.50); anything that rounding would change is refused.
        if rounded != number:
            raise FieldInvalid(
                _("%(label)s may have at most %(places)s decimal places; got %(value)s.")
                % {"label": _label(field), "places": places, "value": shown(value)},
                "max_decimal_places",
            )
        return rounded

    def convert(value: Any) -> str | Decimal | None:
        if type(value) is str:
            value = value.strip()
            # PostgreSQL parses the text itself, so a plain number needs no Decimal on the way.
            if plain.fullmatch(value):
                return value
        elif value is None:
            return None
        return slow(value)

    return convert


def _boolean_converter(field: models.Field) -> Callable[[Any], Any]:
    def convert(value: Any) -> bool:
        if type(value) is bool:
            return value
        if type(value) is str:
            result = BOOLEAN_WORDS.get(value)  # most files spell them one way, in lower case
            if result is None:
                result = BOOLEAN_WORDS.get(value.strip().lower())
            if result is not None:
                return result
        elif type(value) is int and value in (0, 1):
            return bool(value)
        raise FieldInvalid(
            _("%(label)s must be true or false (or yes/no, y/n, 1/0); got %(value)s.")
            % {"label": _label(field), "value": shown(value)},
            "invalid",
        )

    return convert


def converter_for(field: models.Field) -> Callable[[Any], Any]:
    """The one converter of a product field: the rules of its values, whatever door they come in by."""
    name = field.name
    if name == "sku":
        return _sku_converter(field)
    if name == "barcode":
        return _barcode_converter(field)
    if name == "hs_code":
        return _hs_code_converter(field)
    if name == "origin_country":
        return _code_converter(field, codes=COUNTRY_CODES, validator=validate_country)
    if name in ("declared_currency", "cost_currency"):
        return _code_converter(field, codes=CURRENCY_CODES, validator=validate_currency)
    if isinstance(field, models.BooleanField):
        return _boolean_converter(field)
    if isinstance(field, models.DecimalField):
        return _decimal_converter(field)
    if isinstance(field, models.IntegerField):
        return _integer_converter(field)
    if isinstance(field, models.CharField):
        return _text_converter(field, required=not field.blank)
    raise TypeError(f"No converter for {field!r}.")


FIELD_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    name: converter_for(Product._meta.get_field(name)) for name in PRODUCT_FIELDS
}
_INTEGER_FIELDS = frozenset(
    name for name in PRODUCT_FIELDS if isinstance(Product._meta.get_field(name), models.IntegerField)
)
_DECIMAL_FIELDS = frozenset(
    name for name in PRODUCT_FIELDS if isinstance(Product._meta.get_field(name), models.DecimalField)
)


def _python_value(name: str, value: Any) -> Any:
    """A converter's result as the model holds it (the bulk path leaves plain numbers as text for PostgreSQL)."""
    if type(value) is str:
        if name in _INTEGER_FIELDS:
            return int(value)
        if name in _DECIMAL_FIELDS:
            return Decimal(value)
    return value


# ---------------------------------------------------------------------------------------------------------------
# Rules across rows, and against what is stored


@dataclass(frozen=True)
class Rule:
    """A rule a row can break: its code, the field it is about, and its message.

    ``message`` is a lazy translation with named placeholders (``%(sku)s``), filled by :meth:`detail` when a row
    breaks the rule, so it is rendered in the language active then; ``fixed`` holds placeholders that never change.
    """

    code: str
    field: str
    message: str
    fixed: Mapping[str, Any] | None = None

    def detail(self, *, row: int | None = None, field: str | None = None, **params: Any) -> ErrorDetail:
        if self.fixed:
            params = {**self.fixed, **params}
        return ErrorDetail(str(self.message) % params, code=self.code, field=field or self.field, row=row)


# Placeholders that print a value as Python would show it (``%(name)s`` of UNKNOWN_FIELD, ``%(quantity)s`` of the
# component quantities) are given ``repr(value)``: a person sees 'colour' or '3' quoted, as they were sent.
UNKNOWN_FIELD = Rule(
    "unknown_field",
    "",
    gettext_lazy("%(name)s is not a product field; fields are %(fields)s."),
    fixed={"fields": ", ".join(PRODUCT_FIELDS)},
)
# The words of the SKU converter for an empty value, so a missing SKU column and an empty SKU cell read alike.
SKU_REQUIRED = Rule(
    "required",
    "sku",
    gettext_lazy("%(label)s is required."),
    fixed={"label": capfirst(Product._meta.get_field("sku").verbose_name)},
)
SKU_TAKEN = Rule("unique", "sku", gettext_lazy("SKU %(sku)s is already used by another product."))
SKU_REPEATED = Rule(
    "duplicate", "sku", gettext_lazy("SKU %(sku)s is also on row %(first_row)s; a SKU may appear only once.")
)
NAME_REQUIRED_FOR_NEW = Rule("required", "name", gettext_lazy("Name is required for new SKU %(sku)s."))
BARCODE_TAKEN = Rule("unique", "barcode", gettext_lazy("Barcode %(barcode)s is already used by SKU %(holder)s."))
BARCODE_REPEATED = Rule(
    "duplicate",
    "barcode",
    gettext_lazy("Barcode %(barcode)s is also on row %(first_row)s; a barcode may belong to one product only."),
)
BUNDLE_HAS_COMPONENTS = Rule(
    "bundle_has_components",
    "is_bundle",
    gettext_lazy("SKU %(sku)s still has bundle components; remove them before it stops being a bundle."),
)
BUNDLE_HAS_STOCK = Rule(
    "bundle_has_stock",
    "is_bundle",
    gettext_lazy(
        "SKU %(sku)s has stock in bins; a bundle holds no stock of its own, so move or adjust that stock out first."
    ),
)
COMPONENT_BECOMES_BUNDLE = Rule(
    "component_is_bundle",
    "is_bundle",
    gettext_lazy("SKU %(sku)s is a component of bundle %(bundles)s; a component cannot itself be a bundle."),
)
NOT_A_BUNDLE = Rule(
    "not_a_bundle",
    "components",
    gettext_lazy("SKU %(sku)s is not a bundle, so it cannot have components; set is_bundle first."),
)
COMPONENT_IS_SELF = Rule(
    "component_is_self", "component", gettext_lazy("Bundle %(sku)s cannot be a component of itself.")
)
COMPONENT_IS_BUNDLE = Rule(
    "component_is_bundle", "component", gettext_lazy("SKU %(sku)s is a bundle; a component cannot itself be a bundle.")
)
COMPONENT_REPEATED = Rule(
    "duplicate_component",
    "component",
    gettext_lazy("SKU %(sku)s is listed twice (also at %(first)s); give it once with the total quantity."),
)
_COMPONENT_QUANTITY_MESSAGE = gettext_lazy(
    "Quantity of %(sku)s must be a whole number from 1 to %(maximum)s (got %(quantity)s)."
)
_COMPONENT_QUANTITY_LIMITS = {"maximum": f"{QUANTITY_MAX:,}"}
COMPONENT_QUANTITY_NOT_WHOLE = Rule("invalid", "quantity", _COMPONENT_QUANTITY_MESSAGE, _COMPONENT_QUANTITY_LIMITS)
COMPONENT_QUANTITY_TOO_LOW = Rule("min_value", "quantity", _COMPONENT_QUANTITY_MESSAGE, _COMPONENT_QUANTITY_LIMITS)
COMPONENT_QUANTITY_TOO_HIGH = Rule("max_value", "quantity", _COMPONENT_QUANTITY_MESSAGE, _COMPONENT_QUANTITY_LIMITS)
# How many bundles a message names before "..." (the SQL of the bulk path uses the same number).
BUNDLES_NAMED = 5


def bundles_label(skus: list[str]) -> str:
    return ", ".join(skus[:BUNDLES_NAMED]) + (", ..." if len(skus) > BUNDLES_NAMED else "")


def required_field_problem(name: str) -> FieldInvalid:
    """What the converter of a required field says when it is left empty ("SKU is required.")."""
    try:
        FIELD_CONVERTERS[name]("")
    except FieldInvalid as problem:
        return problem
    raise ValueError(f"{name} is not a required product field.")


def product_values(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[ErrorDetail]]:
    """The given fields of ``data`` checked and normalized by their converters, and every problem found.

    Unknown keys are problems too. Only the given fields are in the result: what a caller leaves out keeps its
    current value (update) or the model default (create).
    """
    values: dict[str, Any] = {}
    errors: list[ErrorDetail] = []
    for name, raw in data.items():
        convert = FIELD_CONVERTERS.get(name)
        if convert is None:
            errors.append(UNKNOWN_FIELD.detail(field=str(name), name=repr(name)))
            continue
        try:
            values[name] = _python_value(name, convert(raw))
        except FieldInvalid as problem:
            errors.append(ErrorDetail(problem.message, code=problem.code, field=name))
    return values, errors


def product_problems(
    product: Product, *, components_given: bool, skip_fields: Iterable[str | None] = ()
) -> list[ErrorDetail]:
    """The rules across rows for one product about to be saved (its field values already converted).

    The Python form of the checks the bulk path runs in SQL: SKU and barcode held by another product, a new
    product's name, and the bundle roles (a bundle holds no stock; a bundle with components stays one unless
    its components are replaced in the same call; a component cannot become a bundle). Rules about a field in
    ``skip_fields`` (one whose given value was refused) are not checked.
    """
    skip = set(skip_fields)
    errors: list[ErrorDetail] = []
    is_new = product.pk is None
    if "sku" not in skip:
        if not product.sku:
            errors.append(SKU_REQUIRED.detail())
        elif Product.objects.filter(sku=product.sku).exclude(pk=product.pk).exists():
            errors.append(SKU_TAKEN.detail(sku=product.sku))
    if is_new and "name" not in skip and not product.name:
        errors.append(NAME_REQUIRED_FOR_NEW.detail(sku=product.sku or _("(no SKU)")))
    if product.barcode and "barcode" not in skip:
        holder = (
            Product.objects.filter(barcode=product.barcode).exclude(pk=product.pk).values_list("sku", flat=True).first()
        )
        if holder is not None:
            errors.append(BARCODE_TAKEN.detail(barcode=product.barcode, holder=holder))
    if is_new or "is_bundle" in skip:
        return errors
    if not product.is_bundle and not components_given and product.components.exists():
        errors.append(BUNDLE_HAS_COMPONENTS.detail(sku=product.sku))
    if product.is_bundle:
        if StockLevel.objects.filter(product=product, on_hand__gt=0).exists():
            errors.append(BUNDLE_HAS_STOCK.detail(sku=product.sku))
        used_in = list(
            BundleComponent.objects.filter(component=product)
            .order_by("bundle__sku_sort")
            .values_list("bundle__sku", flat=True)[: BUNDLES_NAMED + 1]
        )
        if used_in:
            errors.append(COMPONENT_BECOMES_BUNDLE.detail(sku=product.sku, bundles=bundles_label(used_in)))
    return errors


def component_problems(
    *,
    bundle: Product,
    components: Iterable[tuple[Product, Any]],
    field_of: Callable[[int, str], str],
    position_of: Callable[[int], str],
    bundle_field: str = "components",
) -> list[ErrorDetail]:
    """The rules of a bundle's component list, each problem at the field ``field_of(index, "component" or
    "quantity")``; ``position_of(index)`` names a line in a message ("components[2]", "row 3")."""
    errors: list[ErrorDetail] = []
    components = list(components)
    if components and not bundle.is_bundle:
        errors.append(NOT_A_BUNDLE.detail(field=bundle_field, sku=bundle.sku))
    first_at: dict[int, int] = {}
    for index, (component, quantity) in enumerate(components):
        if component.pk == bundle.pk:
            errors.append(COMPONENT_IS_SELF.detail(field=field_of(index, "component"), sku=bundle.sku))
        elif component.is_bundle:
            errors.append(COMPONENT_IS_BUNDLE.detail(field=field_of(index, "component"), sku=component.sku))
        if component.pk in first_at:
            errors.append(
                COMPONENT_REPEATED.detail(
                    field=field_of(index, "component"),
                    sku=component.sku,
                    first=position_of(first_at[component.pk]),
                )
            )
        else:
            first_at[component.pk] = index
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            rule = COMPONENT_QUANTITY_NOT_WHOLE
        elif quantity < 1:
            rule = COMPONENT_QUANTITY_TOO_LOW
        elif quantity > QUANTITY_MAX:
            rule = COMPONENT_QUANTITY_TOO_HIGH
        else:
            continue
        errors.append(rule.detail(field=field_of(index, "quantity"), sku=component.sku, quantity=repr(quantity)))
    return errors
