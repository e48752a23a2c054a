"""Serializers of transfers between warehouses: the transfer with its lines and steps, and the actions on it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api.serializers import StatusEventSerializer
from core.limits import QUANTITY_MAX
from inventory.api.references import (
    BinReferenceField,
    ProductReferenceField,
    ResolvesStockReferences,
    WarehouseReferenceField,
)
from inventory.api.stock_serializers import ProductQuantitySerializer
from inventory.models import Transfer, TransferEvent, TransferLine


class TransferLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    from_bin_code = serializers.CharField(source="from_bin.code", read_only=True, allow_null=True, default=None)
    quantity_in_transit = serializers.IntegerField(read_only=True)

    class Meta:
        model = TransferLine
        fields = [
            "id",
            "product",
            "sku",
            "quantity",
            "from_bin",
            "from_bin_code",
            "quantity_shipped",
            "quantity_received",
            "quantity_in_transit",
        ]
        read_only_fields = fields


class TransferEventSerializer(StatusEventSerializer):
    class Meta(StatusEventSerializer.Meta):
        model = TransferEvent


class TransferSerializer(serializers.ModelSerializer):
    source_code = serializers.CharField(source="source.code", read_only=True)
    destination_code = serializers.CharField(source="destination.code", read_only=True)
    lines = TransferLineSerializer(many=True, read_only=True)
    events = TransferEventSerializer(many=True, read_only=True)

    class Meta:
        model = Transfer
        fields = [
            "id",
            "number",
            "source",
            "source_code",
            "destination",
            "destination_code",
            "status",
            "carrier_reference",
            "note",
            "shipped_at",
            "received_at",
            "created_by",
            "created_at",
            "updated_at",
            "lines",
            "events",
        ]
        read_only_fields = fields


class TransferLineInputSerializer(serializers.Serializer):
    product = ProductReferenceField()
    quantity = serializers.IntegerField(min_value=1, max_value=QUANTITY_MAX)
    from_bin = BinReferenceField(
        required=False,
        allow_null=True,
        default=None,
        help_text="A bin of the source; leave out to choose when shipped.",
    )


class TransferCreateSerializer(ResolvesStockReferences, serializers.Serializer):
    """Bins on the lines are bins of the source."""

    warehouse_field = "source"

    source = WarehouseReferenceField()
    destination = WarehouseReferenceField()
    lines = TransferLineInputSerializer(many=True, allow_empty=False)
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "source": data["source"],
            "destination": data["destination"],
            "lines": [(line["product"], line["quantity"], line["from_bin"]) for line in data["lines"]],
            "note": data["note"],
        }


class TransferShipSerializer(serializers.Serializer):
    carrier_reference = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True, help_text="Tracking or B/L number."
    )


class TransferReceiveSerializer(ResolvesStockReferences, serializers.Serializer):
    """The bin is looked up in the transfer's destination (put in the context as ``warehouse``)."""

    bin = BinReferenceField(help_text="A bin of the destination warehouse (id or code).")
    lines = ProductQuantitySerializer(many=True, allow_empty=False)

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        return {"bin": data["bin"], "lines": [(line["product"], line["quantity"]) for line in data["lines"]]}


class TransferCancelSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
