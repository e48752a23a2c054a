"""Orders in the API: what the store sent, the lines mapped to products, open holds, shipments; recording one."""

from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import StatusEventSerializer
from orders.models import Order, OrderEvent, OrderHold, OrderLine, OrderShipment, OrderShipmentLine
from orders.services import ShipmentLineIn


class OrderLineSerializer(serializers.ModelSerializer):
    product_sku = serializers.CharField(source="product.sku", read_only=True, allow_null=True, default=None)
    quantity_shipped = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "channel_line_id",
            "channel_sku",
            "channel_item_id",
            "title",
            "quantity",
            "unit_price",
            "product",
            "product_sku",
            "product_quantity",
            "quantity_shipped",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["quantity_shipped"] = data["quantity_shipped"] or 0
        return data


class OrderHoldSerializer(serializers.ModelSerializer):
    reason = serializers.CharField(source="get_code_display", read_only=True)

    class Meta:
        model = OrderHold
        fields = ["id", "code", "reason", "detail", "created_at"]
        read_only_fields = fields


class ShipmentLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderShipmentLine
        fields = ["line", "quantity"]
        read_only_fields = fields


class OrderShipmentSerializer(serializers.ModelSerializer):
    lines = ShipmentLineSerializer(many=True, read_only=True)

    class Meta:
        model = OrderShipment
        fields = [
            "id",
            "carrier",
            "service",
            "tracking_number",
            "shipped_at",
            "lines",
            "store_status",
            "store_message",
            "store_reference",
            "store_attempts",
            "store_confirmed_at",
            "created_at",
        ]
        read_only_fields = fields


class ShipToSerializer(serializers.Serializer):
    name = serializers.CharField(source="ship_name")
    company = serializers.CharField(source="ship_company")
    address1 = serializers.CharField(source="ship_address1")
    address2 = serializers.CharField(source="ship_address2")
    address3 = serializers.CharField(source="ship_address3")
    district = serializers.CharField(source="ship_district")
    city = serializers.CharField(source="ship_city")
    county = serializers.CharField(source="ship_county")
    state = serializers.CharField(source="ship_state")
    postcode = serializers.CharField(source="ship_postcode")
    country = serializers.CharField(source="ship_country")
    phone = serializers.CharField(source="ship_phone")


class OrderSerializer(serializers.ModelSerializer):
    store_name = serializers.CharField(source="store.name", read_only=True)
    channel = serializers.CharField(source="store.channel", read_only=True)
    ship_to = ShipToSerializer(source="*", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    is_held = serializers.BooleanField(read_only=True, default=False)
    holds = OrderHoldSerializer(many=True, read_only=True, source="open_holds")
    shipments = OrderShipmentSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "store",
            "store_name",
            "channel",
            "channel_order_id",
            "status",
            "channel_status",
            "is_held",
            "holds",
            "buyer_name",
            "buyer_email",
            "ship_to",
            "currency",
            "subtotal",
            "shipping_total",
            "tax_total",
            "discount_total",
            "total",
            "ordered_at",
            "paid_at",
            "ship_by",
            "channel_updated_at",
            "requested_service",
            "buyer_note",
            "lines",
            "shipments",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class OrderEventSerializer(StatusEventSerializer):
    class Meta(StatusEventSerializer.Meta):
        model = OrderEvent
        fields = ["id", "kind", *StatusEventSerializer.Meta.fields, "details"]
        read_only_fields = fields


class ShipmentLineInSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="Order line id.")
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)


class ConfirmShipmentSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=64, help_text="The carrier's name or code, e.g. UPS, YunExpress.")
    tracking_number = serializers.CharField(max_length=100)
    shipped_at = serializers.DateTimeField(required=False, help_text="When it left; now if left out.")
    service = serializers.CharField(max_length=128, required=False, default="", allow_blank=True)
    lines = ShipmentLineInSerializer(
        many=True,
        required=False,
        help_text="The lines and quantities in the parcel; everything left to ship if left out.",
    )

    def service_arguments(self) -> dict:
        data = dict(self.validated_data)
        lines = data.pop("lines", None)
        if lines is not None:
            data["lines"] = [ShipmentLineIn(line_id=line["line"], quantity=line["quantity"]) for line in lines]
        return data


class HoldReleaseSerializer(serializers.Serializer):
    hold = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="Id of an open hold of the order.")
