"""Orders in the API: what the store sent, the lines mapped to products, open holds, shipments, what allocation
decided and the parcels it made; recording a shipment, and what people do to orders before picking."""

from __future__ import annotations

from django.db import models
from rest_framework import serializers

from core.api.fast import FastReadMixin
from core.api.references import ID_MAX, ResolvesReferences
from core.api.serializers import StatusEventSerializer
from core.phrases import phrase_text
from inventory.api.references import WarehouseReferenceField
from logistics.api.references import ShippingMethodReferenceField
from orders.fulfilment import SplitLineIn
from orders.models import Order, OrderEvent, OrderHold, OrderLine, OrderShipment, OrderShipmentLine, Parcel, ParcelLine
from orders.services import ShipmentLineIn

# How many orders one request may name (merge, allocate), and how big a split may be.
ORDERS_MAX = 500
SPLIT_PARCELS_MAX = 50
SPLIT_LINES_MAX = 500


class OrderLineSerializer(FastReadMixin, serializers.ModelSerializer):
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


class OrderHoldSerializer(FastReadMixin, serializers.ModelSerializer):
    reason = serializers.CharField(source="get_code_display", read_only=True)

    class Meta:
        model = OrderHold
        fields = ["id", "code", "reason", "detail", "created_at"]
        read_only_fields = fields


class ShipmentLineSerializer(FastReadMixin, serializers.ModelSerializer):
    class Meta:
        model = OrderShipmentLine
        fields = ["line", "quantity"]
        read_only_fields = fields


class OrderShipmentSerializer(FastReadMixin, serializers.ModelSerializer):
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


class ShipToSerializer(FastReadMixin, serializers.Serializer):
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


class OrderParcelLineSerializer(FastReadMixin, serializers.ModelSerializer):
    channel_line_id = serializers.CharField(source="line.channel_line_id", read_only=True)

    class Meta:
        model = ParcelLine
        fields = ["order", "line", "channel_line_id", "quantity"]
        read_only_fields = fields
        extra_kwargs = {
            "order": {"help_text": "Order id (a merged parcel holds lines of several orders)."},
            "line": {"help_text": "Order line id."},
            "quantity": {"help_text": "In the store's units."},
        }


class OrderParcelSerializer(FastReadMixin, serializers.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code", read_only=True, allow_null=True, default=None)
    shipping_method = serializers.CharField(
        source="shipping_method.code", read_only=True, allow_null=True, default=None
    )
    lines = OrderParcelLineSerializer(many=True, read_only=True)

    class Meta:
        model = Parcel
        fields = ["number", "warehouse", "shipping_method", "reserved_at", "made_by", "lines"]
        read_only_fields = fields


class OrderParcelListSerializer(serializers.ListSerializer):
    """An order's parcels (``order_parcels``), each whole."""

    def get_attribute(self, instance: Order) -> list[Parcel]:
        return order_parcels(instance)


class PhraseField(serializers.CharField):
    """A sentence saved by a background run (``core.phrases``), read in the reader's language."""

    def to_representation(self, value):
        return phrase_text(value)


class DecisionStepSerializer(serializers.Serializer):
    rule = serializers.IntegerField(allow_null=True, help_text="Allocation rule id.")
    name = serializers.CharField(help_text="The rule's name.")
    action = serializers.CharField(help_text="The action's type.")
    result = PhraseField(help_text="What the action did, in the reader's language.")


class DecisionSerializer(serializers.Serializer):
    decided_at = serializers.DateTimeField(required=False)
    rules = DecisionStepSerializer(many=True, required=False, help_text="What each rule that matched did, in order.")
    routing = serializers.ListField(
        child=PhraseField(), required=False, help_text="How the warehouse was chosen, step by step."
    )
    warehouse = serializers.CharField(required=False, help_text="The warehouse chosen (code), once allocated.")
    method = serializers.CharField(required=False, help_text="The shipping method chosen (code), once allocated.")
    parcels = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="The numbers of the parcels made, once allocated."
    )


def _code(row: models.Model | None) -> str | None:
    return row.code if row is not None else None


def order_parcels(order: Order) -> list[Parcel]:
    """The parcels holding lines of ``order``, from its prefetched ``parcel_line_list`` (see the view's queryset)."""
    found: dict[int, Parcel] = {}
    for row in order.parcel_line_list:
        found.setdefault(row.parcel_id, row.parcel)
    return [found[pk] for pk in sorted(found)]


class OrderSerializer(FastReadMixin, serializers.ModelSerializer):
    store_name = serializers.CharField(source="store.name", read_only=True)
    channel = serializers.CharField(source="store.channel", read_only=True)
    ship_to = ShipToSerializer(source="*", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True, source="line_list")
    is_held = serializers.BooleanField(read_only=True, default=False)
    holds = OrderHoldSerializer(many=True, read_only=True, source="open_holds")
    shipments = OrderShipmentSerializer(many=True, read_only=True, source="shipment_list")
    warehouse = serializers.CharField(
        source="warehouse.code",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="Where it ships from (code; the first parcel's when split across warehouses).",
    )
    shipping_method = serializers.CharField(
        source="shipping_method.code", read_only=True, allow_null=True, default=None, help_text="Code."
    )
    warehouse_by_hand = serializers.CharField(
        source="warehouse_by_hand.code",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="A person's choice (code): rules and routing keep to it.",
    )
    method_by_hand = serializers.CharField(
        source="method_by_hand.code",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="A person's choice (code): rules keep to it.",
    )
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    decision = DecisionSerializer(
        read_only=True, help_text="What the allocation rules and routing decided, the last time allocation ran."
    )
    parcels = OrderParcelListSerializer(child=OrderParcelSerializer(), read_only=True, source="*")

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
            "warehouse",
            "shipping_method",
            "warehouse_by_hand",
            "method_by_hand",
            "tags",
            "decision",
            "parcels",
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


# --- what people do to orders before picking -------------------------------------------------------------------


class HoldOrderSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, help_text="Why the order waits; shown with its hold.")


class ReleaseOrderSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class CancelOrderSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class MergeOrdersSerializer(serializers.Serializer):
    orders = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=ID_MAX), max_length=ORDERS_MAX, help_text="Order ids."
    )


class AllocateOrdersSerializer(serializers.Serializer):
    orders = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=ID_MAX),
        max_length=ORDERS_MAX,
        required=False,
        help_text="Order ids; left out: every new order and every order awaiting stock.",
    )


class AllocationCountsSerializer(serializers.Serializer):
    allocated = serializers.IntegerField()
    awaiting_stock = serializers.IntegerField()
    held = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Orders another run or an import held, left for the next run.")
    parcels = serializers.IntegerField(help_text="Parcels made.")


class SplitLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text="Order line id.")
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000, help_text="In the store's units.")


class SplitOrderSerializer(serializers.Serializer):
    parcels = serializers.ListField(
        child=serializers.ListField(child=SplitLineSerializer(), max_length=SPLIT_LINES_MAX),
        max_length=SPLIT_PARCELS_MAX,
        help_text="Each parcel a list of lines and quantities; what no parcel takes goes in one more parcel.",
    )

    def service_arguments(self) -> dict:
        return {
            "parcels": [
                [SplitLineIn(line_id=row["line"], quantity=row["quantity"]) for row in parcel]
                for parcel in self.validated_data["parcels"]
            ]
        }


class SetByHandSerializer(ResolvesReferences, serializers.Serializer):
    warehouse = WarehouseReferenceField(required=False, help_text="Warehouse code (or id).")
    shipping_method = ShippingMethodReferenceField(required=False, help_text="Shipping method code (or id).")

    def service_arguments(self) -> dict:
        data = self.validated_data
        return {"warehouse": data.get("warehouse"), "method": data.get("shipping_method")}


class MergeSuggestionSerializer(serializers.Serializer):
    orders = serializers.ListField(child=serializers.IntegerField(), help_text="Order ids, oldest first.")
    channel_order_ids = serializers.ListField(child=serializers.CharField(), help_text="Their ids in their stores.")
