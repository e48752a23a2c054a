"""Serializers of the inventory API: they check the shape of input; the services check the rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.settings import api_settings

from core.api.fast import FastReadMixin
from core.api.scoping import ScopedPrimaryKeyRelatedField
from inventory import product_rules, selectors
from inventory.models import PRODUCT_FIELDS, Bin, BundleComponent, Product, Warehouse, normalize_code


class ShapeOnlyModelSerializer(FastReadMixin, serializers.ModelSerializer):
    """Types, lengths and choices from the model, but none of its validators or unique checks.

    Those run in the services after input is normalized (so "  ab-1 " is judged as "AB-1"), with the
    same messages whether a write comes from the API, the admin or an import.
    """

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        field_kwargs.pop("validators", None)
        return field_class, field_kwargs

    def build_relational_field(self, field_name, relation_info):
        field_class, field_kwargs = super().build_relational_field(field_name, relation_info)
        field_kwargs.pop("validators", None)
        return field_class, field_kwargs

    def get_validators(self):
        return []


class BundleComponentSerializer(FastReadMixin, serializers.ModelSerializer):
    """One component of a bundle; written as {"sku", "quantity"}."""

    sku = serializers.CharField(source="component.sku", max_length=64, help_text="SKU of the component.")
    name = serializers.CharField(source="component.name", read_only=True)
    product_id = serializers.IntegerField(source="component.id", read_only=True)
    quantity = serializers.IntegerField(min_value=1, help_text="Units of the component in one bundle.")

    class Meta:
        model = BundleComponent
        fields = ["product_id", "sku", "name", "quantity"]


class ProductSerializer(ShapeOnlyModelSerializer):
    components = BundleComponentSerializer(
        many=True,
        required=False,
        help_text="What one unit of a bundle is made of. On write, the list replaces the bundle's components "
        "(an empty list removes them); leave it out to keep them as they are.",
    )

    class Meta:
        model = Product
        fields = [
            "id",
            *PRODUCT_FIELDS,
            "components",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "sku": {"help_text": "Trimmed and upper-cased; letters, digits and - _ . / only."},
            "barcode": {"help_text": "EAN-8, UPC-A, EAN-13 or GTIN-14 with a correct check digit."},
            "hs_code": {"help_text": "6 to 10 digits, no dots."},
        }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """The given product fields as they came, for the service to judge with the product rules.

        The fields above document the shape; the values are judged once, by ``inventory.product_rules``, so the
        API answers the same codes and messages as the admin, the spreadsheet imports and the bulk endpoint.
        Read-only fields are ignored, as DRF does.
        """
        if not isinstance(data, Mapping):
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [_("Expected an object of product fields.")]}, code="invalid"
            )
        if not self.partial:
            # A full write (POST, PUT) names the product whole; the rules' own words for what is missing.
            missing = {}
            for name in REQUIRED_PRODUCT_FIELDS:
                if name not in data:
                    problem = product_rules.required_field_problem(name)
                    missing[name] = [serializers.ErrorDetail(problem.message, code=problem.code)]
            if missing:
                raise serializers.ValidationError(missing)
        validated: dict[str, Any] = {"data": {name: data[name] for name in PRODUCT_FIELDS if name in data}}
        if "components" in data:
            validated["components"] = _components_resolve(data["components"])
        return validated

    def service_arguments(self) -> dict[str, Any]:
        """The validated input as the services take it: model fields in ``data``, ``components`` apart."""
        return {"data": self.validated_data["data"], "components": self.validated_data.get("components")}


REQUIRED_PRODUCT_FIELDS = ("sku", "name")


class ComponentInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField()


def _components_resolve(value: Any) -> list[tuple[Product, int]]:
    """[{"sku", "quantity"}] as [(Product, quantity)], every SKU found in one query; errors named by index.

    Each item needs both keys, also in a PATCH (a component is replaced whole); the quantity's range is the
    product rules' to judge.
    """
    if not isinstance(value, list):
        raise serializers.ValidationError(
            {"components": [_("Expected a list of {sku, quantity} objects.")]}, code="not_a_list"
        )
    items: list[dict[str, Any] | None] = []
    errors: list[dict[str, Any]] = []
    for item in value:
        checked = ComponentInputSerializer(data=item)
        if checked.is_valid():
            items.append(checked.validated_data)
            errors.append({})
        else:
            items.append(None)
            errors.append(checked.errors)
    found = selectors.products_by_sku(skus=[item["sku"] for item in items if item is not None])
    for index, item in enumerate(items):
        if item is not None and normalize_code(item["sku"]) not in found:
            sku = normalize_code(item["sku"])
            errors[index] = {
                "sku": [
                    serializers.ErrorDetail(_("No product has SKU %(value)s.") % {"value": sku}, code="does_not_exist")
                ]
            }
    if any(errors):
        raise serializers.ValidationError({"components": errors})
    return [(found[normalize_code(item["sku"])], item["quantity"]) for item in items]


class WarehouseSerializer(ShapeOnlyModelSerializer):
    class Meta:
        model = Warehouse
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "country",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "contact_name",
            "phone",
            "priority",
            "bin_code_pattern",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"code": {"help_text": "Trimmed and upper-cased; letters, digits, - and _ only."}}


class BinSerializer(ShapeOnlyModelSerializer):
    warehouse = ScopedPrimaryKeyRelatedField(
        queryset=Warehouse.objects.all(), data_scope={"warehouse": "id"}, label="Warehouse"
    )
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)

    class Meta:
        model = Bin
        fields = [
            "id",
            "warehouse",
            "warehouse_code",
            "code",
            "zone",
            "kind",
            "is_sellable",
            "pick_sequence",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "code": {"help_text": "Trimmed and upper-cased; must follow the warehouse's bin_code_pattern."},
            "zone": {"required": False, "help_text": "Defaults to the part of the code before the first dash."},
            "is_sellable": {
                "required": False,
                "help_text": "Defaults from the kind: pick and bulk bins are sellable, the others are not.",
            },
        }


class RangeSerializer(serializers.Serializer):
    first = serializers.IntegerField(min_value=0)
    last = serializers.IntegerField(min_value=0)


class BinGenerateSerializer(serializers.Serializer):
    warehouse = ScopedPrimaryKeyRelatedField(queryset=Warehouse.objects.all(), data_scope={"warehouse": "id"})
    zones = serializers.ListField(
        child=serializers.CharField(max_length=16), min_length=1, max_length=100, help_text='Zone codes, e.g. ["A"].'
    )
    aisles = RangeSerializer(help_text="Inclusive aisle numbers; odd aisles are walked with racks ascending.")
    racks = RangeSerializer(help_text="Inclusive rack numbers within each aisle.")
    levels = RangeSerializer(help_text="Inclusive level numbers within each rack, walked ascending.")
    kind = serializers.ChoiceField(choices=Bin.Kind.choices, default=Bin.Kind.PICK)
    width = serializers.IntegerField(
        min_value=1, max_value=4, default=2, help_text="Digits per number: 2 → A-01-02-03."
    )
    is_sellable = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Defaults from the kind (pick and bulk are sellable)."
    )
    skip_existing = serializers.BooleanField(
        default=False, help_text="Keep bins whose code exists already and create only the others."
    )

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "warehouse": data["warehouse"],
            "zones": data["zones"],
            "aisles": (data["aisles"]["first"], data["aisles"]["last"]),
            "racks": (data["racks"]["first"], data["racks"]["last"]),
            "levels": (data["levels"]["first"], data["levels"]["last"]),
            "kind": data["kind"],
            "width": data["width"],
            "is_sellable": data["is_sellable"],
            "skip_existing": data["skip_existing"],
        }

    def requested_count(self) -> int:
        data = self.validated_data
        return len(data["zones"]) * _span(data["aisles"]) * _span(data["racks"]) * _span(data["levels"])


def _span(bounds: dict[str, int]) -> int:
    return max(bounds["last"] - bounds["first"] + 1, 0)


class BinGenerateResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Bins created.")
    skipped = serializers.IntegerField(help_text="Codes that existed already and were kept (skip_existing).")
    first_code = serializers.CharField(allow_null=True)
    last_code = serializers.CharField(allow_null=True)
    first_pick_sequence = serializers.IntegerField(allow_null=True)
    last_pick_sequence = serializers.IntegerField(allow_null=True)


class ProductBulkRowSerializer(ShapeOnlyModelSerializer):
    """Documents one row of the bulk upsert; the rows themselves are checked by the bulk service."""

    class Meta:
        model = Product
        fields = [
            name
            for name in ProductSerializer.Meta.fields
            if name not in ("id", "components", "created_at", "updated_at")
        ]
        extra_kwargs = {
            "sku": {"help_text": "The key: an existing SKU is updated, a new one created. Trimmed, upper-cased."},
            "name": {"required": False, "help_text": "Required for a new SKU."},
        }


class ProductBulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="New SKUs.")
    updated = serializers.IntegerField(help_text="Existing SKUs whose values changed.")
    unchanged = serializers.IntegerField(help_text="Existing SKUs sent with the values they already had.")
    total = serializers.IntegerField(help_text="Rows read.")
