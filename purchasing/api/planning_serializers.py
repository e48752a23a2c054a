"""Serializers of the planning API: reorder policies, promotions and suggestions.

Input serializers only check the shape of a request (and look products and warehouses up by id or code); every
rule of a policy or promotion is purchasing.policies', so the API, the admin and code refuse the same values with
the same words. Numbers are therefore taken without bounds here and judged there.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.references import ResolvesReferences
from inventory.api.references import ProductReferenceField, WarehouseReferenceField
from purchasing.derivation import suggestion_derivation, suggestion_position
from purchasing.models import Promotion, ReorderPolicy, Suggestion

WINDOWS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "maxItems": 6,
    "description": "Sales windows and their weights, which sum to exactly 1; weights are kept as decimal strings.",
    "items": {
        "type": "object",
        "properties": {
            "days": {"type": "integer", "minimum": 1, "maximum": 730, "description": "Days of sales, up to yesterday."},
            "weight": {
                "oneOf": [{"type": "string", "example": "0.5"}, {"type": "number"}],
                "description": "Greater than 0, at most 1, at most 4 decimal places.",
            },
        },
        "required": ["days", "weight"],
        "additionalProperties": False,
    },
    "example": [{"days": 7, "weight": "0.5"}, {"days": 14, "weight": "0.3"}, {"days": 30, "weight": "0.2"}],
}

SUGGESTION_WINDOWS_SCHEMA = {
    "type": "array",
    "description": "Per window, as computed: days, weight, units sold on the counted days, days_counted, "
    'days_left_out ({"stockout": n, "promotion": n}) and average (units ÷ days counted).',
    "items": {"type": "object", "additionalProperties": True},
}


@extend_schema_field(WINDOWS_SCHEMA)
class WindowsField(serializers.JSONField):
    """The windows as given; purchasing.policies checks them and names each problem (``windows[1].weight``)."""


@extend_schema_field(SUGGESTION_WINDOWS_SCHEMA)
class SuggestionWindowsField(serializers.JSONField):
    pass


# --- Reorder policies -----------------------------------------------------------------------------------------


class ReorderPolicySerializer(serializers.ModelSerializer):
    product = serializers.IntegerField(source="product_id", read_only=True, allow_null=True)
    product_sku = serializers.CharField(source="product.sku", read_only=True, allow_null=True, default=None)
    warehouse = serializers.IntegerField(source="warehouse_id", read_only=True, allow_null=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True, allow_null=True, default=None)
    replenish_from = serializers.IntegerField(source="replenish_from_id", read_only=True, allow_null=True)
    replenish_from_code = serializers.CharField(
        source="replenish_from.code", read_only=True, allow_null=True, default=None
    )
    is_global = serializers.SerializerMethodField(help_text="No product and no warehouse: what every product uses.")
    windows = WindowsField(read_only=True)

    class Meta:
        model = ReorderPolicy
        fields = [
            "id",
            "name",
            "product",
            "product_sku",
            "warehouse",
            "warehouse_code",
            "is_global",
            "windows",
            "leave_out_stockout_days",
            "leave_out_promotion_days",
            "day_cap_multiple",
            "safety_days",
            "review_period_days",
            "production_days",
            "qc_days",
            "transit_mode",
            "transit_days",
            "minimum_order_quantity",
            "case_pack",
            "replenish_from",
            "replenish_from_code",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_is_global(self, policy: ReorderPolicy) -> bool:
        return policy.product_id is None and policy.warehouse_id is None


class ReorderPolicyInputSerializer(ResolvesReferences, serializers.Serializer):
    """A new policy (name required), or the fields of one to change (PATCH: any of them)."""

    name = serializers.CharField(trim_whitespace=False)
    product = ProductReferenceField(
        required=False, allow_null=True, help_text="Product id or SKU; null: every product (of the warehouse)."
    )
    warehouse = WarehouseReferenceField(
        required=False, allow_null=True, help_text="Warehouse id or code; null: every warehouse."
    )
    windows = WindowsField(required=False)
    leave_out_stockout_days = serializers.BooleanField(required=False)
    leave_out_promotion_days = serializers.BooleanField(required=False)
    day_cap_multiple = serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="A day counts at most this many times the average day of the longest window (at least 1); "
        "null: no cap.",
    )
    safety_days = serializers.IntegerField(required=False, help_text="0 to 730.")
    review_period_days = serializers.IntegerField(required=False, help_text="0 to 730.")
    production_days = serializers.IntegerField(required=False, help_text="0 to 730.")
    qc_days = serializers.IntegerField(required=False, help_text="0 to 730.")
    transit_mode = serializers.ChoiceField(choices=ReorderPolicy.TransitMode.choices, required=False)
    transit_days = serializers.IntegerField(required=False, help_text="0 to 730.")
    minimum_order_quantity = serializers.IntegerField(
        required=False, allow_null=True, help_text="Null: the supplier's."
    )
    case_pack = serializers.IntegerField(required=False, allow_null=True, help_text="Null: the supplier's.")
    replenish_from = WarehouseReferenceField(
        required=False,
        allow_null=True,
        help_text="Only with a warehouse: the warehouse it is filled from (its suggestions become transfers).",
    )
    is_active = serializers.BooleanField(required=False)


# --- Promotions -------------------------------------------------------------------------------------------------


class PromotionSerializer(serializers.ModelSerializer):
    product = serializers.IntegerField(source="product_id", read_only=True, allow_null=True)
    product_sku = serializers.CharField(source="product.sku", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Promotion
        fields = ["id", "name", "product", "product_sku", "starts_on", "ends_on", "created_at", "updated_at"]
        read_only_fields = fields


class PromotionInputSerializer(ResolvesReferences, serializers.Serializer):
    name = serializers.CharField(trim_whitespace=False)
    product = ProductReferenceField(
        required=False, allow_null=True, help_text="Product id or SKU; null: every product."
    )
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(help_text="The last day of the promotion, on or after starts_on.")


# --- Suggestions ------------------------------------------------------------------------------------------------


class SuggestionSerializer(serializers.ModelSerializer):
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    source_warehouse_code = serializers.CharField(
        source="source_warehouse.code", read_only=True, allow_null=True, default=None
    )
    supplier = serializers.IntegerField(
        source="supplier_product.supplier_id", read_only=True, allow_null=True, default=None
    )
    supplier_name = serializers.CharField(
        source="supplier_product.supplier.name", read_only=True, allow_null=True, default=None
    )
    supplier_sku = serializers.CharField(
        source="supplier_product.supplier_sku", read_only=True, allow_null=True, default=None
    )
    policy_name = serializers.CharField(source="policy.name", read_only=True, allow_null=True, default=None)
    windows = SuggestionWindowsField(read_only=True)
    position = serializers.SerializerMethodField(
        help_text="Stock position: available + incoming_purchase + incoming_transfer − backorders."
    )
    derivation = serializers.SerializerMethodField(
        help_text="How each figure was worked out, one sentence per step, in the language of the request."
    )

    class Meta:
        model = Suggestion
        fields = [
            "id",
            "product",
            "product_sku",
            "product_name",
            "warehouse",
            "warehouse_code",
            "kind",
            "supplier_product",
            "supplier",
            "supplier_name",
            "supplier_sku",
            "source_warehouse",
            "source_warehouse_code",
            "policy",
            "policy_name",
            "windows",
            "ads",
            "production_days",
            "qc_days",
            "transit_days",
            "lead_time_days",
            "safety_days",
            "review_period_days",
            "cover_days",
            "demand",
            "available",
            "incoming_purchase",
            "incoming_transfer",
            "backorders",
            "position",
            "net_need",
            "minimum_order_quantity",
            "case_pack",
            "quantity",
            "days_of_cover",
            "order_by",
            "urgency",
            "status",
            "computed_at",
            "purchase_order_line",
            "transfer",
            "derivation",
        ]
        read_only_fields = fields

    def get_position(self, suggestion: Suggestion) -> int:
        return suggestion_position(suggestion)

    def get_derivation(self, suggestion: Suggestion) -> list[str]:
        return suggestion_derivation(suggestion)


class SuggestionsComputeSerializer(ResolvesReferences, serializers.Serializer):
    warehouse = WarehouseReferenceField(
        required=False, allow_null=True, help_text="Warehouse id or code; left out or null: every warehouse."
    )


class SuggestionsComputeQueuedSerializer(serializers.Serializer):
    task_id = serializers.CharField(help_text="The id of the queued task.")
    warehouse = serializers.IntegerField(allow_null=True, help_text="The warehouse recomputed; null: every one.")
