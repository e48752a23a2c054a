"""Products, warehouses and bins named in API input by id or code (SKU, warehouse code, bin code in a warehouse).

Each field words its refusals as whole sentences in the active language, rather than filling its ``noun`` into
the generic ones, so a translation can order each sentence its own way. ``noun`` and ``code_noun`` are lazy
translations too, for the messages ReferenceField still composes from them (a bin code with no warehouse to look
it up in).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from core.api.references import Key, ReferenceField, ResolvesReferences
from inventory.models import Bin, Product, Warehouse, normalize_code


class ProductReferenceField(ReferenceField):
    model = Product
    code_field = "sku"
    noun = gettext_lazy("product")
    code_noun = gettext_lazy("SKU")
    default_error_messages = {"invalid": gettext_lazy("Give the product's id (a number) or its SKU (a string).")}

    def normalize(self, code: str) -> str:
        return normalize_code(code)

    def missing(self, key: Key, scope: models.Model | None) -> None:
        is_id, value = key
        if is_id:
            raise serializers.ValidationError(_("No product has id %(value)s.") % {"value": value}, code="no_id")
        raise serializers.ValidationError(_("No product has SKU %(value)s.") % {"value": value}, code="no_code")


class WarehouseReferenceField(ReferenceField):
    model = Warehouse
    data_scope = {"warehouse": "id"}
    noun = gettext_lazy("warehouse")
    code_noun = gettext_lazy("code")
    default_error_messages = {"invalid": gettext_lazy("Give the warehouse's id (a number) or its code (a string).")}

    def normalize(self, code: str) -> str:
        return normalize_code(code)

    def missing(self, key: Key, scope: models.Model | None) -> None:
        is_id, value = key
        if is_id:
            raise serializers.ValidationError(_("No warehouse has id %(value)s.") % {"value": value}, code="no_id")
        raise serializers.ValidationError(_("No warehouse has code %(value)s.") % {"value": value}, code="no_code")


class BinReferenceField(ReferenceField):
    """A bin by id, or by code in the warehouse the request is about (its ``warehouse``, or the context's)."""

    model = Bin
    data_scope = {"warehouse": "warehouse_id"}
    noun = gettext_lazy("bin")
    code_noun = gettext_lazy("code in the warehouse of the request")
    scope_field = "warehouse"
    select_related = ("warehouse",)
    default_error_messages = {
        "invalid": gettext_lazy("Give the bin's id (a number) or its code in the warehouse of the request (a string).")
    }

    def normalize(self, code: str) -> str:
        return normalize_code(code)

    def missing(self, key: Key, scope: models.Model | None) -> None:
        is_id, value = key
        if is_id or scope is None:
            raise serializers.ValidationError(_("No bin has id %(value)s.") % {"value": value}, code="does_not_exist")
        raise serializers.ValidationError(
            _("Warehouse %(warehouse)s has no bin %(value)s.") % {"warehouse": scope.code, "value": value},
            code="does_not_exist",
        )

    def scope_check(self, row: models.Model, scope: models.Model | None) -> None:
        if scope is not None and row.warehouse_id != scope.pk:
            raise serializers.ValidationError(
                _("Bin %(code)s (id %(id)s) is in warehouse %(warehouse)s, not %(scope)s.")
                % {"code": row.code, "id": row.pk, "warehouse": row.warehouse.code, "scope": scope.code},
                code="warehouse",
            )


WAREHOUSE_FOR_CODES = "Warehouse id or code; needed when a bin is given by its code."


class ResolvesStockReferences(ResolvesReferences):
    """Bins named by code are looked up in ``warehouse_field`` of the input, else the context's ``warehouse``."""

    #: The input field naming the warehouse bin codes belong to (``source`` for a transfer's lines).
    warehouse_field = "warehouse"

    def reference_scope(self, field: ReferenceField) -> models.Model | str | None:
        data = getattr(self, "initial_data", None)
        raw = data.get(self.warehouse_field) if isinstance(data, dict) else None
        if raw is None:
            warehouse = self.context.get("warehouse")
            if warehouse is None:
                return _("needs a warehouse: give `%(field)s`, or the bin's id instead.") % {
                    "field": self.warehouse_field
                }
            return warehouse
        warehouse_field = self.fields[self.warehouse_field]
        key = warehouse_field.key(raw)
        found = getattr(self, "_references_found", {})
        warehouse = found.get((type(warehouse_field), key, None)) if key is not None else None
        if warehouse is None:
            return _("cannot be looked up: `%(field)s` names no warehouse.") % {"field": self.warehouse_field}
        return warehouse
