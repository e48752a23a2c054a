"""Serializers of stock counts (盘点): the count with its lines, the variance report, and the actions on it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import StatusEventSerializer
from core.limits import QUANTITY_MAX
from inventory.api.references import (
    BinReferenceField,
    ProductReferenceField,
    ResolvesStockReferences,
    WarehouseReferenceField,
)
from inventory.models import StockCount, StockCountEvent, StockCountLine, StockMove, normalize_code


class StockCountSerializer(serializers.ModelSerializer):
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    lines_total = serializers.IntegerField(read_only=True, help_text="Product × bin lines in the count.")
    lines_counted = serializers.IntegerField(read_only=True, help_text="Lines with a counted quantity.")

    class Meta:
        model = StockCount
        fields = [
            "id",
            "number",
            "warehouse",
            "warehouse_code",
            "status",
            "is_blind",
            "scope",
            "note",
            "created_by",
            "approved_by",
            "approved_at",
            "created_at",
            "updated_at",
            "lines_total",
            "lines_counted",
        ]
        read_only_fields = fields


class StockCountLineSerializer(serializers.ModelSerializer):
    """``expected_quantity``, ``system_quantity`` and ``variance`` are null while a blind count is hidden."""

    bin_code = serializers.CharField(source="bin.code", read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True)
    expected_quantity = serializers.SerializerMethodField()
    system_quantity = serializers.SerializerMethodField()
    variance = serializers.SerializerMethodField()

    class Meta:
        model = StockCountLine
        fields = [
            "id",
            "bin",
            "bin_code",
            "product",
            "sku",
            "expected_quantity",
            "counted_quantity",
            "system_quantity",
            "variance",
            "adjustment",
            "counted_at",
            "counted_by",
        ]
        read_only_fields = fields

    def _hidden(self) -> bool:
        return bool(self.context.get("hide_expected"))

    def get_expected_quantity(self, line: StockCountLine) -> int | None:
        return None if self._hidden() else line.expected_quantity

    def get_system_quantity(self, line: StockCountLine) -> int | None:
        return None if self._hidden() else line.system_quantity

    def get_variance(self, line: StockCountLine) -> int | None:
        return None if self._hidden() else line.variance


class StockCountEventSerializer(StatusEventSerializer):
    class Meta(StatusEventSerializer.Meta):
        model = StockCountEvent


class StockCountDetailSerializer(StockCountSerializer):
    events = StockCountEventSerializer(many=True, read_only=True, help_text="Opened, approved or cancelled.")
    expected_hidden = serializers.SerializerMethodField(
        help_text="True while the count is blind and open and you may not see what the books say."
    )
    lines = serializers.SerializerMethodField()

    class Meta(StockCountSerializer.Meta):
        fields = [*StockCountSerializer.Meta.fields, "events", "expected_hidden", "lines"]
        read_only_fields = fields

    def get_expected_hidden(self, count: StockCount) -> bool:
        return bool(self.context.get("hide_expected"))

    @extend_schema_field(StockCountLineSerializer(many=True))
    def get_lines(self, count: StockCount) -> list[dict[str, Any]]:
        return StockCountLineSerializer(self.context["lines"], many=True, context=self.context).data


class StockCountCreateSerializer(ResolvesStockReferences, serializers.Serializer):
    warehouse = WarehouseReferenceField()
    bins = serializers.ListField(
        child=BinReferenceField(),
        required=False,
        allow_empty=False,
        max_length=20_000,
        help_text="Bins to count (ids or codes).",
    )
    zone = serializers.CharField(max_length=16, required=False, allow_blank=False, help_text="Count a whole zone.")
    is_blind = serializers.BooleanField(default=False, help_text="Counters do not see the expected quantities.")
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "warehouse": data["warehouse"],
            "bins": data.get("bins"),
            "zone": normalize_code(data["zone"]) if data.get("zone") else None,
            "is_blind": data["is_blind"],
            "note": data["note"],
        }


class StockCountRecordSerializer(ResolvesStockReferences, serializers.Serializer):
    """The bin is looked up in the count's warehouse (put in the context as ``warehouse``)."""

    bin = BinReferenceField()
    product = ProductReferenceField()
    counted_quantity = serializers.IntegerField(min_value=0, max_value=QUANTITY_MAX)


class StockCountApproveSerializer(serializers.Serializer):
    uncounted = serializers.ChoiceField(
        choices=["skip", "zero"],
        default="skip",
        help_text="Lines nobody counted: `skip` leaves their stock as it is, `zero` counts them as empty.",
    )


class StockCountMoveSerializer(serializers.Serializer):
    move_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    reason = serializers.ChoiceField(choices=StockMove.Reason.choices)
    reference = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Positive: into the bin; negative: out of it.")
    is_before_counting = serializers.BooleanField(help_text="Before the line was counted (so in its system figure).")


class StockCountVarianceSerializer(serializers.Serializer):
    """One line of a count as the count service reports it; figures from the books are null while hidden."""

    line_id = serializers.IntegerField()
    bin_id = serializers.IntegerField()
    bin_code = serializers.CharField()
    product_id = serializers.IntegerField()
    sku = serializers.CharField()
    product_name = serializers.CharField()
    expected_quantity = serializers.IntegerField(allow_null=True, help_text="Book quantity when the count opened.")
    system_quantity = serializers.IntegerField(allow_null=True, help_text="Book quantity when the line was counted.")
    counted_quantity = serializers.IntegerField(allow_null=True)
    variance = serializers.IntegerField(allow_null=True, help_text="counted − system.")
    adjustment = serializers.IntegerField(allow_null=True, help_text="Posted to the ledger on approval.")
    is_counted = serializers.BooleanField()
    net_moved_before_counting = serializers.IntegerField(help_text="expected + this = system.")
    net_moved_after_counting = serializers.IntegerField(help_text="Moved after counting; kept by approval.")
    moves = StockCountMoveSerializer(many=True, help_text="Ledger rows of this bin and product since the count opened.")
