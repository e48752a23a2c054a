"""Serializers of the inventory API: they check the shape of input; the services check the rules."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from inventory import selectors
from inventory.models import PRODUCT_FIELDS, Bin, BundleComponent, Product, Warehouse


class ShapeOnlyModelSerializer(serializers.ModelSerializer):
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


class BundleComponentSerializer(serializers.ModelSerializer):
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

    def validate_components(self, value: list[dict[str, Any]]) -> list[tuple[Any, int]]:
        """Turn [{"component": {"sku"}, "quantity"}] into [(Product, quantity)], naming unknown SKUs by index."""
        skus = [item["component"]["sku"] for item in value]
        found = selectors.products_by_sku(skus=skus)
        errors: list[dict[str, Any]] = []
        resolved: list[tuple[Any, int]] = []
        for item in value:
            sku = item["component"]["sku"].strip().upper()
            product = found.get(sku)
            if product is None:
                errors.append({"sku": [serializers.ErrorDetail(f"No product has SKU {sku}.", code="does_not_exist")]})
            else:
                errors.append({})
                resolved.append((product, item["quantity"]))
        if any(errors):
            raise serializers.ValidationError(errors)
        return resolved

    def service_arguments(self) -> dict[str, Any]:
        """The validated input as the services take it: model fields in ``data``, ``components`` apart."""
        data = dict(self.validated_data)
        components = data.pop("components", None)
        return {"data": data, "components": components}


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
    warehouse = serializers.PrimaryKeyRelatedField(queryset=Warehouse.objects.all())
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
