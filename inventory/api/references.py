"""Products, warehouses and bins named in API input by id or code (SKU, warehouse code, bin code in a warehouse)."""

from __future__ import annotations

from django.db import models
from rest_framework import serializers

from core.api.references import Key, ReferenceField, ResolvesReferences
from inventory.models import Bin, Product, Warehouse, normalize_code


class ProductReferenceField(ReferenceField):
    model = Product
    code_field = "sku"
    noun = "product"
    code_noun = "SKU"

    def normalize(self, code: str) -> str:
        return normalize_code(code)


class WarehouseReferenceField(ReferenceField):
    model = Warehouse
    noun = "warehouse"
    code_noun = "code"

    def normalize(self, code: str) -> str:
        return normalize_code(code)


class BinReferenceField(ReferenceField):
    """A bin by id, or by code in the warehouse the request is about (its ``warehouse``, or the context's)."""

    model = Bin
    noun = "bin"
    code_noun = "code in the warehouse of the request"
    scope_field = "warehouse"
    select_related = ("warehouse",)

    def normalize(self, code: str) -> str:
        return normalize_code(code)

    def missing(self, key: Key, scope: models.Model | None) -> None:
        is_id, value = key
        if is_id or scope is None:
            raise serializers.ValidationError(f"No bin has id {value}.", code="does_not_exist")
        raise serializers.ValidationError(f"Warehouse {scope.code} has no bin {value}.", code="does_not_exist")

    def scope_check(self, row: models.Model, scope: models.Model | None) -> None:
        if scope is not None and row.warehouse_id != scope.pk:
            raise serializers.ValidationError(
                f"Bin {row.code} (id {row.pk}) is in warehouse {row.warehouse.code}, not {scope.code}.",
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
                return f"needs a warehouse: give `{self.warehouse_field}`, or the bin's id instead."
            return warehouse
        warehouse_field = self.fields[self.warehouse_field]
        key = warehouse_field.key(raw)
        found = getattr(self, "_references_found", {})
        warehouse = found.get((type(warehouse_field), key, None)) if key is not None else None
        if warehouse is None:
            return f"cannot be looked up: `{self.warehouse_field}` names no warehouse."
        return warehouse
