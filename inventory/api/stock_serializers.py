"""Serializers of the stock API: levels, the ledger, reservations, availability, and the stock actions.

They check the shape of input and name what it refers to (inventory.api.references, resolved in bulk); the
services judge the rules.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api.fast import FastReadMixin
from core.limits import QUANTITY_MAX
from inventory.api.references import (
    WAREHOUSE_FOR_CODES,
    BinReferenceField,
    ProductReferenceField,
    ResolvesStockReferences,
    WarehouseReferenceField,
)
from inventory.models import Bin, Reservation, ReservationEvent, SellableChange, StockLevel, StockMove

# --- Read: stock levels, the ledger, reservations, availability ---------------------------------------------


class StockLevelSerializer(FastReadMixin, serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    warehouse = serializers.IntegerField(source="bin.warehouse_id", read_only=True)
    warehouse_code = serializers.CharField(source="bin.warehouse.code", read_only=True)
    bin_code = serializers.CharField(source="bin.code", read_only=True)
    zone = serializers.CharField(source="bin.zone", read_only=True)
    bin_kind = serializers.ChoiceField(source="bin.kind", choices=Bin.Kind.choices, read_only=True)
    is_sellable = serializers.BooleanField(source="bin.is_sellable", read_only=True)

    class Meta:
        model = StockLevel
        fields = [
            "id",
            "product",
            "sku",
            "product_name",
            "warehouse",
            "warehouse_code",
            "bin",
            "bin_code",
            "zone",
            "bin_kind",
            "is_sellable",
            "on_hand",
            "updated_at",
        ]
        read_only_fields = fields


class StockMoveSerializer(FastReadMixin, serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    from_bin_code = serializers.CharField(source="from_bin.code", read_only=True, allow_null=True, default=None)
    to_bin_code = serializers.CharField(source="to_bin.code", read_only=True, allow_null=True, default=None)
    warehouse_code = serializers.SerializerMethodField(help_text="The warehouse the move happened in.")
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = StockMove
        fields = [
            "id",
            "product",
            "sku",
            "from_bin",
            "from_bin_code",
            "to_bin",
            "to_bin_code",
            "warehouse_code",
            "quantity",
            "reason",
            "reference",
            "note",
            "user",
            "username",
            "created_at",
        ]
        read_only_fields = fields

    def get_warehouse_code(self, move: StockMove) -> str:
        bin = move.from_bin or move.to_bin
        return bin.warehouse.code


class ReservationSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)

    class Meta:
        model = Reservation
        fields = [
            "id",
            "product",
            "sku",
            "warehouse",
            "warehouse_code",
            "reference",
            "quantity_reserved",
            "quantity_picked",
            "quantity_shipped",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReservationEventSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ReservationEvent
        fields = ["id", "kind", "quantity", "stock_move", "user", "username", "created_at"]
        read_only_fields = fields


class ReservationHistorySerializer(ReservationSerializer):
    events = ReservationEventSerializer(
        many=True, read_only=True, help_text="Reserved, released, picked and shipped: how many, by whom, when."
    )

    class Meta(ReservationSerializer.Meta):
        fields = [*ReservationSerializer.Meta.fields, "events"]
        read_only_fields = fields


class SellableChangeSerializer(serializers.ModelSerializer):
    bin_code = serializers.CharField(source="bin.code", read_only=True)
    warehouse = serializers.IntegerField(source="bin.warehouse_id", read_only=True)
    warehouse_code = serializers.CharField(source="bin.warehouse.code", read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True, allow_null=True, default=None)
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = SellableChange
        fields = [
            "id",
            "bin",
            "bin_code",
            "warehouse",
            "warehouse_code",
            "product",
            "sku",
            "is_sellable",
            "quantity",
            "note",
            "user",
            "username",
            "created_at",
        ]
        read_only_fields = fields


class StockFiguresSerializer(serializers.Serializer):
    on_hand = serializers.IntegerField(help_text="In every bin of the warehouse.")
    sellable = serializers.IntegerField(help_text="On hand in sellable bins.")
    reserved = serializers.IntegerField(help_text="Promised to orders and not picked yet.")
    available = serializers.IntegerField(help_text="sellable − reserved: what can still be sold.")
    incoming = serializers.IntegerField(help_text="On its way: transfers in transit (and open purchase orders).")


class WarehouseAvailabilitySerializer(StockFiguresSerializer):
    warehouse = serializers.IntegerField()
    warehouse_code = serializers.CharField()


class ProductAvailabilitySerializer(serializers.Serializer):
    product = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    is_bundle = serializers.BooleanField(
        help_text="A bundle's figures are whole bundles: per warehouse the minimum over its components of "
        "the component's figure ÷ quantity; its total is the sum over warehouses."
    )
    total = StockFiguresSerializer(help_text="Across the warehouses listed.")
    warehouses = WarehouseAvailabilitySerializer(many=True)


# --- Write: the stock actions --------------------------------------------------------------------------------


class StockActionSerializer(ResolvesStockReferences, serializers.Serializer):
    """An action's input; its service takes the fields as they are, except the warehouse that scopes bin codes."""

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data.pop("warehouse", None)
        return data


class ReceiveSerializer(StockActionSerializer):
    product = ProductReferenceField()
    warehouse = WarehouseReferenceField(required=False, help_text=WAREHOUSE_FOR_CODES)
    bin = BinReferenceField()
    quantity = serializers.IntegerField(min_value=1, max_value=QUANTITY_MAX)
    reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class ReturnSerializer(ReceiveSerializer):
    pass


class MoveSerializer(StockActionSerializer):
    product = ProductReferenceField()
    warehouse = WarehouseReferenceField(required=False, help_text=WAREHOUSE_FOR_CODES)
    from_bin = BinReferenceField()
    to_bin = BinReferenceField()
    quantity = serializers.IntegerField(min_value=1, max_value=QUANTITY_MAX)
    reason = serializers.ChoiceField(
        choices=[StockMove.Reason.MOVE, StockMove.Reason.PUT_AWAY], default=StockMove.Reason.MOVE
    )
    reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class AdjustSerializer(StockActionSerializer):
    product = ProductReferenceField()
    warehouse = WarehouseReferenceField(required=False, help_text=WAREHOUSE_FOR_CODES)
    bin = BinReferenceField()
    delta = serializers.IntegerField(
        min_value=-QUANTITY_MAX,
        max_value=QUANTITY_MAX,
        help_text="Units to add (positive) or take away (negative); not zero.",
    )
    note = serializers.CharField(
        max_length=255, required=False, default="", allow_blank=True, help_text="Why the stock is adjusted (required)."
    )
    reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)


class ProductQuantitySerializer(serializers.Serializer):
    product = ProductReferenceField()
    quantity = serializers.IntegerField(min_value=1, max_value=QUANTITY_MAX)


class ReserveSerializer(ResolvesStockReferences, serializers.Serializer):
    warehouse = WarehouseReferenceField()
    reference = serializers.CharField(max_length=100, help_text="The line it is for, e.g. order-line:123.")
    lines = ProductQuantitySerializer(many=True, allow_empty=False)

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        lines = [(line["product"], line["quantity"]) for line in data["lines"]]
        return {"warehouse": data["warehouse"], "reference": data["reference"], "lines": lines}


class ReleaseSerializer(ResolvesStockReferences, serializers.Serializer):
    warehouse = WarehouseReferenceField()
    reference = serializers.CharField(max_length=100)
    lines = ProductQuantitySerializer(
        many=True, required=False, allow_empty=False, help_text="Leave out to release everything still reserved."
    )

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        lines = data.get("lines")
        return {
            "warehouse": data["warehouse"],
            "reference": data["reference"],
            "lines": None if lines is None else [(line["product"], line["quantity"]) for line in lines],
        }


class PickSerializer(StockActionSerializer):
    reference = serializers.CharField(max_length=100, help_text="The reservation's reference.")
    product = ProductReferenceField()
    warehouse = WarehouseReferenceField(required=False, help_text=WAREHOUSE_FOR_CODES)
    from_bin = BinReferenceField(help_text="A sellable bin to pick from.")
    to_bin = BinReferenceField(help_text="The packing bin or tote the units go to.")
    quantity = serializers.IntegerField(min_value=1, max_value=QUANTITY_MAX)


class ShipSerializer(StockActionSerializer):
    reference = serializers.CharField(max_length=100, help_text="The reservation's reference.")
    product = ProductReferenceField()
    warehouse = WarehouseReferenceField(required=False, help_text=WAREHOUSE_FOR_CODES)
    from_bin = BinReferenceField(help_text="Where the picked units are (usually a packing bin).")
    quantity = serializers.IntegerField(min_value=1, max_value=QUANTITY_MAX)


# --- Import ---------------------------------------------------------------------------------------------------


class StockImportSerializer(ResolvesStockReferences, serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8) or XLSX with a header row: sku, bin, quantity.")
    warehouse = WarehouseReferenceField(help_text="Warehouse id or code the bins are in.")
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class StockImportResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Id of the stock count that posted the quantities.")
    number = serializers.CharField(help_text="Number of that count, the reference of its ledger rows.")
    rows = serializers.IntegerField(help_text="Rows read from the file.")
    moves_posted = serializers.IntegerField(help_text="Ledger rows written: one per product and bin that changed.")
    units_in = serializers.IntegerField(help_text="Units added by those moves.")
    units_out = serializers.IntegerField(help_text="Units taken away by those moves.")
