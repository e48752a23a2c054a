"""Serializers of receipts against purchase orders: the receipt with every cost figure of its lines, what a receipt
is made from (the order, its lines, bins, freight and duties), and the costs added later."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from core.api.references import Key, ReferenceField, ResolvesReferences
from core.limits import QUANTITY_MAX
from inventory.api.references import BinReferenceField, ProductReferenceField
from purchasing.models import PurchaseOrder, Receipt, ReceiptLine
from purchasing.receiving import AMOUNT_MAX, REASON_MAX_LENGTH, ReceiveLine

# One receipt is one delivery; a purchase order has one line per product, and a product may go into several bins.
LINES_MAX = 1000
MONEY = {"max_digits": 10, "decimal_places": 2, "min_value": 0, "max_value": AMOUNT_MAX}


class PurchaseOrderReferenceField(ReferenceField):
    model = PurchaseOrder
    data_scope = {"warehouse": "warehouse_id"}
    code_field = "number"
    noun = gettext_lazy("purchase order")
    code_noun = gettext_lazy("number")
    select_related = ("warehouse", "supplier")
    default_error_messages = {
        "invalid": gettext_lazy("Give the purchase order's id (a number) or its number (a string, PO-000123).")
    }

    def missing(self, key: Key, scope: models.Model | None) -> None:
        is_id, value = key
        if is_id:
            raise serializers.ValidationError(_("No purchase order has id %(value)s.") % {"value": value}, code="no_id")
        raise serializers.ValidationError(
            _("No purchase order has number %(value)s.") % {"value": value}, code="no_code"
        )


class ReceiptLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    bin_code = serializers.CharField(source="bin.code", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ReceiptLine
        fields = [
            "id",
            "purchase_order_line",
            "product",
            "sku",
            "quantity_accepted",
            "quantity_rejected",
            "reject_reason",
            "bin",
            "bin_code",
            "unit_cost",
            "freight_share",
            "duty_share",
            "landed_unit_cost",
            "cost_before",
            "cost_after",
            "on_hand_before",
        ]
        read_only_fields = fields


class ReceiptSerializer(serializers.ModelSerializer):
    purchase_order_number = serializers.CharField(source="purchase_order.number", read_only=True)
    supplier = serializers.IntegerField(source="purchase_order.supplier_id", read_only=True)
    supplier_name = serializers.CharField(source="purchase_order.supplier.name", read_only=True)
    warehouse = serializers.IntegerField(source="purchase_order.warehouse_id", read_only=True)
    warehouse_code = serializers.CharField(source="purchase_order.warehouse.code", read_only=True)
    currency = serializers.CharField(
        source="purchase_order.currency", read_only=True, help_text="The purchase order's: every amount is in it."
    )
    received_by_username = serializers.CharField(
        source="received_by.username", read_only=True, allow_null=True, default=None
    )
    lines = ReceiptLineSerializer(many=True, read_only=True)

    class Meta:
        model = Receipt
        fields = [
            "id",
            "number",
            "purchase_order",
            "purchase_order_number",
            "supplier",
            "supplier_name",
            "warehouse",
            "warehouse_code",
            "currency",
            "freight",
            "duties",
            "spread_by",
            "note",
            "received_by",
            "received_by_username",
            "created_at",
            "updated_at",
            "lines",
        ]
        read_only_fields = fields


class ReceiptLineInputSerializer(serializers.Serializer):
    product = ProductReferenceField()
    accepted = serializers.IntegerField(min_value=0, max_value=QUANTITY_MAX, default=0)
    rejected = serializers.IntegerField(min_value=0, max_value=QUANTITY_MAX, default=0)
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        default="",
        allow_blank=True,
        help_text="Why the rejected units were rejected; required when any are.",
    )
    bin = BinReferenceField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Where this line's accepted units go (a bin of the order's warehouse); else the receipt's bin.",
    )


class ReceiptCreateSerializer(ResolvesReferences, serializers.Serializer):
    """Bins named by code are looked up in the purchase order's warehouse."""

    purchase_order = PurchaseOrderReferenceField()
    lines = ReceiptLineInputSerializer(many=True, allow_empty=False, max_length=LINES_MAX)
    bin = BinReferenceField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Where accepted units go unless a line names its own bin; else the warehouse's receiving area.",
    )
    freight = serializers.DecimalField(**MONEY, default=0, help_text="In the order's currency.")
    duties = serializers.DecimalField(**MONEY, default=0, help_text="In the order's currency.")
    spread_by = serializers.ChoiceField(choices=Receipt.SpreadBy.choices, default=Receipt.SpreadBy.VALUE)
    note = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)

    def reference_scope(self, field: ReferenceField) -> models.Model | str | None:
        data = getattr(self, "initial_data", None)
        raw = data.get("purchase_order") if isinstance(data, dict) else None
        order_field = self.fields["purchase_order"]
        key = order_field.key(raw)
        found = getattr(self, "_references_found", {})
        order = found.get((type(order_field), key, None)) if key is not None else None
        if order is None:
            return _("cannot be looked up: `purchase_order` names no purchase order.")
        return order.warehouse

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "purchase_order": data["purchase_order"],
            "lines": [
                ReceiveLine(
                    product=line["product"],
                    accepted=line["accepted"],
                    rejected=line["rejected"],
                    reason=line["reason"],
                    bin=line["bin"],
                )
                for line in data["lines"]
            ],
            "bin": data["bin"],
            "freight": data["freight"],
            "duties": data["duties"],
            "spread_by": data["spread_by"],
            "note": data["note"],
        }


class ReceiptCostsSerializer(serializers.Serializer):
    freight = serializers.DecimalField(**MONEY, default=0, help_text="In the order's currency; set once per receipt.")
    duties = serializers.DecimalField(**MONEY, default=0, help_text="In the order's currency; set once per receipt.")
    spread_by = serializers.ChoiceField(choices=Receipt.SpreadBy.choices, default=Receipt.SpreadBy.VALUE)
