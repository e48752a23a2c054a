"""Naming rows in API input by id or code, looked up in bulk: one query per kind of row, however many lines.

A :class:`ReferenceField` names a row of its model: a JSON number is an id, a JSON string is a code (so a SKU
"123" is never taken for an id). A root serializer with :class:`ResolvesReferences` first walks the raw input
for every reference field in it (nested lists included), and looks them all up together: every id and code of
one model in one query, then the references scoped by another row (a bin code is a code within one warehouse) in
one query per model. Each field then takes its row from what was found, and DRF reports every miss on its own
field path (``lines[3].product``) together with the other errors of the request. Nothing is looked up for a value
that cannot name a row (an id out of range, an empty or over-long code).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.scoping import current_scope

# Primary keys are PostgreSQL bigints.
ID_MAX = 2**63 - 1

Key = tuple[bool, int | str]  # (is an id, the id or normalized code)


def _schema(field_class: type[ReferenceField]) -> dict:
    return {
        "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}],
        "description": lazy(_schema_description, str)(field_class),
    }


def _schema_description(field_class: type[ReferenceField]) -> str:
    # The schema is for partners' developers, in English, whatever the nouns' translations; it is written when
    # the schema is generated, not when the field class is declared (translations are not loaded at import).
    with translation.override("en"):
        return f"{capfirst(field_class.noun)} id (a number) or {field_class.code_noun} (a string)."


class ReferenceField(serializers.Field):
    """A row of ``model`` named by id (a JSON number) or by ``code_field`` (a JSON string).

    Subclasses set ``model``, ``code_field``, ``noun`` ("product") and ``code_noun`` ("SKU") (lazy translations,
    as they go into messages in the request's language), and may override
    :meth:`normalize` (codes are compared trimmed and upper-cased by default). A field with ``scope_field`` names a
    code within another row (a bin code within its ``warehouse``); the root serializer says which row
    (:meth:`ResolvesReferences.reference_scope`).
    """

    model: type[models.Model]
    code_field = "code"
    noun = gettext_lazy("row")
    code_noun = gettext_lazy("code")
    scope_field: str | None = None
    select_related: tuple[str, ...] = ()
    #: How a row reaches a store and a warehouse (see core.api.scoping); a row out of the request's data scope is
    #: answered as one that does not exist.
    data_scope: Mapping[str, str | tuple[str, ...]] | str | None = None

    default_error_messages = {
        "invalid": gettext_lazy("Give the {noun}'s id (a number) or its {code_noun} (a string)."),
        "no_id": gettext_lazy("No {noun} has id {value}."),
        "no_code": gettext_lazy("No {noun} has {code_noun} {value}."),
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            extend_schema_field(_schema(cls))(cls)

    # --- reading the input

    def normalize(self, code: str) -> str:
        return code.strip().upper()

    def key(self, data: Any) -> Key | None:
        """(is an id, value) for what the input holds, or None when it is neither an id nor a code."""
        if isinstance(data, int) and not isinstance(data, bool):
            return True, data
        if isinstance(data, str) and data.strip():
            return False, self.normalize(data)
        return None

    def can_exist(self, key: Key) -> bool:
        """Whether a key could name a row at all; one that cannot is not looked up."""
        is_id, value = key
        if is_id:
            return 1 <= value <= ID_MAX
        return len(value) <= self.model._meta.get_field(self.code_field).max_length

    def queryset(self):
        rows = self.model._default_manager.select_related(*self.select_related)
        return current_scope().filter(rows, self.data_scope)

    # --- taking the row

    def to_internal_value(self, data: Any) -> models.Model:
        key = self.key(data)
        if key is None:
            self.fail("invalid", noun=self.noun, code_noun=self.code_noun)
        root = self.root
        scope = None
        if self.scope_field is not None and isinstance(root, ResolvesReferences):
            scope = root.reference_scope(self)
        if isinstance(scope, str):
            if not key[0]:
                # Translators: the start of a sentence ends with why a code cannot be looked up: "Bin code A-1" +
                # " needs a warehouse: ...".
                message = _("%(noun)s code %(code)s %(reason)s") % {
                    "noun": capfirst(self.noun),
                    "code": key[1],
                    "reason": scope,
                }
                raise serializers.ValidationError(message, code="scope_required")
            scope = None  # an id names its row without a scope
        row = None
        if self.can_exist(key):
            cache_key = (type(self), key, _pk(scope))
            if cache_key in getattr(root, "_references_searched", ()):
                row = root._references_found.get(cache_key)  # looked up with the rest of the request
            else:  # outside a resolving serializer: look it up alone
                row = _lookup(self, [key], scope).get(key)
        if row is None:
            self.missing(key, scope)
        self.scope_check(row, scope)
        return row

    def missing(self, key: Key, scope: models.Model | None) -> None:
        is_id, value = key
        self.fail("no_id" if is_id else "no_code", noun=self.noun, code_noun=self.code_noun, value=value)

    def scope_check(self, row: models.Model, scope: models.Model | None) -> None:
        """Refuse a row found by id that is not in ``scope`` (scoped fields override)."""

    def to_representation(self, value: models.Model) -> int:
        return value.pk


def _pk(row: models.Model | None) -> int | None:
    return row.pk if isinstance(row, models.Model) else None


def _lookup(field: ReferenceField, keys: list[Key], scope: models.Model | None) -> dict[Key, models.Model]:
    """The rows of ``keys`` (ids, and codes within ``scope`` for a scoped field), in one query."""
    ids = {value for is_id, value in keys if is_id}
    codes = {value for is_id, value in keys if not is_id}
    condition = Q(pk__in=ids)
    if codes:
        scope_filter = {} if field.scope_field is None else {field.scope_field: scope}
        condition |= Q(**{f"{field.code_field}__in": codes}, **scope_filter)
    found: dict[Key, models.Model] = {}
    for row in field.queryset().filter(condition):
        if row.pk in ids:
            found[(True, row.pk)] = row
        code = getattr(row, field.code_field)
        if code in codes and (field.scope_field is None or getattr(row, f"{field.scope_field}_id") == _pk(scope)):
            found[(False, code)] = row
    return found


def _references_in(field: serializers.Field, data: Any) -> Iterator[tuple[ReferenceField, Any]]:
    """Every (reference field, raw value) the raw input ``data`` gives to ``field`` and the fields inside it."""
    if isinstance(field, ReferenceField):
        yield field, data
    elif isinstance(field, serializers.ListSerializer | serializers.ListField):
        if isinstance(data, list):
            for item in data:
                yield from _references_in(field.child, item)
    elif isinstance(field, serializers.Serializer) and isinstance(data, dict):
        for name, child in field.fields.items():
            if not child.read_only and name in data:
                yield from _references_in(child, data[name])


class ResolvesReferences:
    """Mixin for a root serializer: every ReferenceField of the request is looked up in bulk, before the fields run.

    Unscoped references first (one query per model); then scoped ones, in the row :meth:`reference_scope` gives.
    """

    def to_internal_value(self, data: Any) -> Any:
        self._references_searched: set[tuple[type, Key, int | None]] = set()
        self._references_found = self._references_find(data)
        return super().to_internal_value(data)

    def _references_find(self, data: Any) -> dict[tuple[type, Key, int | None], models.Model]:
        """Look every reference of ``data`` up; records what was searched, so a miss is not searched again."""
        found: dict[tuple[type, Key, int | None], models.Model] = {}
        wanted: dict[type, tuple[ReferenceField, set[Key]]] = defaultdict(lambda: (None, set()))
        for field, raw in _references_in(self, data):
            key = field.key(raw)
            if key is not None and field.can_exist(key):
                wanted[type(field)] = (field, wanted[type(field)][1] | {key})
        # Unscoped first: a scoped field's scope (the warehouse of a bin code) is one of them.
        for scoped in (False, True):
            for field_class, (field, keys) in wanted.items():
                if (field.scope_field is not None) is not scoped:
                    continue
                scope = None
                if scoped:
                    self._references_found = found
                    scope = self.reference_scope(field)
                    if isinstance(scope, str):  # no scope: only ids can be looked up; each code reports it
                        scope = None
                        keys = {key for key in keys if key[0]}
                for key, row in _lookup(field, list(keys), scope).items():
                    found[(field_class, key, _pk(scope))] = row
                self._references_searched.update((field_class, key, _pk(scope)) for key in keys)
        return found

    def reference_scope(self, field: ReferenceField) -> models.Model | str | None:
        """The row a scoped field's codes are looked up in: a row, None (ids only), or why there is none, as the
        end of a sentence that starts with the code ("Bin code A-1 " + "needs a warehouse: ...")."""
        return None
