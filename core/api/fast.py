"""Faster reads for the busiest API serializers: the same JSON as DRF's, with less work per request and per row.

DRF builds a ``ModelSerializer``'s fields from the model on every instantiation, and walks every field of every row
through its generic ``get_attribute`` and ``to_representation``. On the hot reads (orders, products, stock and
shipments, listed 50 at a time) that was most of the request. ``FastReadMixin``:

- builds a serializer class's fields from its model once, and deep-copies them for each instance (DRF already
  deep-copies the declared fields the same way);
- plans each readable field once per serializer instance (so once per list, not per row): a plain attribute is read
  with ``getattr``, a foreign key from its ``<name>_id`` column, and text, whole numbers, booleans and date-times are
  turned into JSON inline. Every other field, and any value the plan did not expect (a ``None`` on the way, a
  callable, a mapping, an exception), goes DRF's own way, so errors and defaults are DRF's.

Only a class whose ``get_fields`` depends on nothing but the class may use it (not on the request or the context).
``tests/api/test_fast_read.py`` proves the output equal to DRF's own for every serializer that uses it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from rest_framework import fields as drf_fields
from rest_framework import relations
from rest_framework.settings import api_settings

# Off in tests/api/test_fast_read.py to render the same rows DRF's own way, for comparison.
ENABLED = True

# The fields of each class, built from its model once; each instance gets a deep copy.
_FIELDS_BUILT: dict[type, dict[str, drf_fields.Field]] = {}

# How a planned step reads its value.
_DRF, _ATTRIBUTE, _FOREIGN_KEY = 0, 1, 2
# How it turns the value into JSON.
_AS_IS, _TEXT, _WHOLE, _BOOLEAN, _MOMENT, _FIELD = 0, 1, 2, 3, 4, 5

_CONVERSIONS = {
    drf_fields.CharField: _TEXT,
    drf_fields.EmailField: _TEXT,
    drf_fields.IntegerField: _WHOLE,
    drf_fields.BooleanField: _BOOLEAN,
    drf_fields.ReadOnlyField: _AS_IS,
}


def _conversion(field: drf_fields.Field) -> int:
    kind = type(field)
    found = _CONVERSIONS.get(kind)
    if found is not None:
        return found
    if kind is drf_fields.DateTimeField and _moment_is_plain(field):
        return _MOMENT
    return _FIELD


def _moment_is_plain(field: drf_fields.DateTimeField) -> bool:
    """ISO 8601 in the current time zone: the field names no format or zone of its own."""
    output_format = field.__dict__.get("format", api_settings.DATETIME_FORMAT)
    return (
        settings.USE_TZ
        and "timezone" not in field.__dict__
        and isinstance(output_format, str)
        and output_format.lower() == drf_fields.ISO_8601
    )


def _foreign_key_column(field: drf_fields.Field, model: type | None) -> str | None:
    """``<name>_id`` when ``field`` shows a foreign key of ``model`` as its bare id, as DRF's pk-only path does."""
    if (
        model is None
        or type(field) is not relations.PrimaryKeyRelatedField
        or field.pk_field is not None
        or len(field.source_attrs) != 1
    ):
        return None
    try:
        model_field = model._meta.get_field(field.source_attrs[0])
    except FieldDoesNotExist:  # not a model field (a property, a method): DRF's way
        return None
    if not getattr(model_field, "many_to_one", False) or not model_field.concrete:
        return None
    return model_field.attname


class FastReadMixin:
    """Put before ``serializers.ModelSerializer`` (or ``Serializer``) in a read-heavy serializer's bases."""

    def get_fields(self):
        if not ENABLED:
            return super().get_fields()
        cls = type(self)
        built = _FIELDS_BUILT.get(cls)
        if built is None:
            built = super().get_fields()
            _FIELDS_BUILT[cls] = built
        return copy.deepcopy(built)

    def _fast_plan(self) -> tuple[type | None, list[tuple]]:
        plan = self.__dict__.get("_fast_read_plan")
        if plan is not None:
            return plan
        meta = getattr(self, "Meta", None)
        model = getattr(meta, "model", None)
        steps = []
        for field in self._readable_fields:
            # A field with its own way of reading (nested serializers, method fields, source="*") goes DRF's way.
            reads_plainly = type(field).get_attribute is drf_fields.Field.get_attribute and field.source_attrs
            column = _foreign_key_column(field, model)
            if column is not None:
                steps.append((field.field_name, field, _FOREIGN_KEY, column, _AS_IS))
            elif reads_plainly:
                steps.append((field.field_name, field, _ATTRIBUTE, tuple(field.source_attrs), _conversion(field)))
            else:
                steps.append((field.field_name, field, _DRF, None, _FIELD))
        plan = (model, steps)
        self.__dict__["_fast_read_plan"] = plan
        return plan

    def to_representation(self, instance):
        if not ENABLED:
            return super().to_representation(instance)
        model, steps = self._fast_plan()
        own_model = model is not None and isinstance(instance, model)
        zone = None
        result: dict[str, Any] = {}
        for name, field, read, source, convert in steps:
            if read == _FOREIGN_KEY and own_model:
                result[name] = getattr(instance, source)
                continue
            value = _MISSING
            if read == _ATTRIBUTE:
                value = _attribute(instance, source)
            if value is _MISSING:
                # DRF's own way, with its defaults, SkipField and messages.
                try:
                    value = field.get_attribute(instance)
                except drf_fields.SkipField:
                    continue
                check_for_none = value.pk if isinstance(value, relations.PKOnlyObject) else value
                result[name] = None if check_for_none is None else field.to_representation(value)
                continue
            if value is None:
                result[name] = None
            elif convert == _TEXT:
                result[name] = str(value)
            elif convert == _WHOLE:
                result[name] = int(value)
            elif convert == _AS_IS or (convert == _BOOLEAN and (value is True or value is False)):
                result[name] = value
            elif convert == _MOMENT and getattr(value, "tzinfo", None) is not None and not isinstance(value, str):
                if zone is None:
                    zone = timezone.get_current_timezone()
                result[name] = _moment_text(field, value, zone)
            else:
                result[name] = field.to_representation(value)
        return result


class _Missing:
    pass


_MISSING = _Missing()


def _attribute(instance: Any, attributes: tuple[str, ...]) -> Any:
    """``instance.a.b`` for source ``a.b``, or ``_MISSING`` where DRF's reading could differ from plain attributes
    (a mapping, a callable, a ``None`` on the way, any exception): the caller then goes DRF's way."""
    value = instance
    try:
        for name in attributes:
            if value is None or isinstance(value, Mapping):
                return _MISSING
            value = getattr(value, name)
            if callable(value):
                return _MISSING
    except Exception:  # not swallowed: the caller reads it again DRF's way, which handles or raises it
        return _MISSING
    return value


def _moment_text(field: drf_fields.DateTimeField, value, zone) -> str:
    """DRF's ISO 8601 for an aware date-time in ``zone``, 'Z' for UTC."""
    try:
        text = value.astimezone(zone).isoformat()
    except OverflowError:
        return field.to_representation(value)  # DRF's error
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return text
