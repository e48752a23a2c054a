"""Serializers of purchase orders: the order with its lines and steps, the input of create, change and the
actions, and the answers of making orders from suggestions and of an import."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.references import ID_MAX, Key, ReferenceField, ResolvesReferences
from core.api.serializers import StatusEventSerializer
from core.limits import QUANTITY_MAX
from inventory.api.references import ProductReferenceField, WarehouseReferenceField
from inventory.api.transfer_serializers import TransferSerializer
from purchasing.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine, Supplier

# Lines of one request: far more than any order has, few enough that one request stays cheap.
LINES_MAX = 1000
SUGGESTIONS_MAX = 1000
LINE_TOTAL = serializers.DecimalField(max_digits=24, decimal_places=4, read_only=True)


class SupplierReferenceField(ReferenceField):
    model = Supplier
    code_field = "name"
    noun = gettext_lazy("supplier")
    code_noun = gettext_lazy("name")
    default_error_messages = {"invalid": gettext_lazy("Give the supplier's id (a number) or its name (a string).")}

    def normalize(self, code: str) -> str:
        return code.strip()  # names are compared as written

    def missing(self, key: Key, scope: models.Model | None) -> None:
        is_id, value = key
        if is_id:
            raise serializers.ValidationError(_("No supplier has id %(value)s.") % {"value": value}, code="no_id")
        raise serializers.ValidationError(_("No supplier is named %(value)s.") % {"value": value}, code="no_code")


# --- Reading -------------------------------------------------------------------------------------------------------


class PurchaseOrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    name = serializers.CharField(source="product.name", read_only=True)
    quantity_open = serializers.IntegerField(read_only=True, help_text="Still to come: ordered less accepted.")
    line_total = serializers.SerializerMethodField(help_text="Quantity × unit cost, in the order's currency.")

    class Meta:
        model = PurchaseOrderLine
        fields = [
            "id",
            "product",
            "sku",
            "name",
            "supplier_sku",
            "quantity",
            "unit_cost",
            "line_total",
            "quantity_received",
            "quantity_rejected",
            "quantity_open",
        ]
        read_only_fields = fields

    @extend_schema_field(LINE_TOTAL)
    def get_line_total(self, line: PurchaseOrderLine) -> str:
        return LINE_TOTAL.to_representation(line.quantity * line.unit_cost)


class PurchaseOrderEventSerializer(StatusEventSerializer):
    class Meta(StatusEventSerializer.Meta):
        model = PurchaseOrderEvent


class PurchaseOrderSerializer(serializers.ModelSerializer):
    """An order without its lines (the list): its totals say how big it is."""

    supplier_name = serializers.CharField(source="supplier.name", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    line_count = serializers.IntegerField(read_only=True)
    units = serializers.IntegerField(read_only=True)
    total_value = serializers.DecimalField(
        max_digits=24, decimal_places=4, read_only=True, help_text="Σ quantity × unit cost, in the order's currency."
    )

    class Meta:
        model = PurchaseOrder
        fields = [
            "id",
            "number",
            "supplier",
            "supplier_name",
            "warehouse",
            "warehouse_code",
            "status",
            "currency",
            "expected_on",
            "supplier_reference",
            "note",
            "submitted_at",
            "received_at",
            "created_by",
            "created_at",
            "updated_at",
            "line_count",
            "units",
            "total_value",
        ]
        read_only_fields = fields


class PurchaseOrderDetailSerializer(PurchaseOrderSerializer):
    lines = PurchaseOrderLineSerializer(many=True, read_only=True)
    events = PurchaseOrderEventSerializer(many=True, read_only=True)

    class Meta(PurchaseOrderSerializer.Meta):
        fields = [*PurchaseOrderSerializer.Meta.fields, "lines", "events"]
        read_only_fields = fields


# --- Writing -------------------------------------------------------------------------------------------------------


class PurchaseOrderLineInputSerializer(serializers.Serializer):
    product = ProductReferenceField()
    quantity = serializers.IntegerField(min_value=1, max_value=QUANTITY_MAX)
    unit_cost = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        min_value=0,
        required=False,
        allow_null=True,
        default=None,
        help_text="In the order's currency; leave out to take the supplier product's cost.",
    )


def _lines(data: dict[str, Any]) -> list[tuple]:
    return [(line["product"], line["quantity"], line["unit_cost"]) for line in data["lines"]]


class PurchaseOrderCreateSerializer(ResolvesReferences, serializers.Serializer):
    supplier = SupplierReferenceField()
    warehouse = WarehouseReferenceField(help_text="Where the goods are delivered: warehouse id or code.")
    currency = serializers.CharField(
        max_length=3, required=False, allow_blank=True, default="", help_text="ISO 4217; leave out for the supplier's."
    )
    expected_on = serializers.DateField(required=False, allow_null=True, default=None)
    supplier_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    lines = PurchaseOrderLineInputSerializer(many=True, required=False, default=list, max_length=LINES_MAX)

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "supplier": data["supplier"],
            "warehouse": data["warehouse"],
            "currency": data["currency"] or None,
            "expected_on": data["expected_on"],
            "supplier_reference": data["supplier_reference"],
            "note": data["note"],
            "lines": _lines(data),
        }


class PurchaseOrderUpdateSerializer(ResolvesReferences, serializers.Serializer):
    """Fields left out keep their values; ``lines`` given replace all of a draft's lines."""

    warehouse = WarehouseReferenceField(required=False)
    currency = serializers.CharField(max_length=3, required=False)
    expected_on = serializers.DateField(required=False, allow_null=True)
    supplier_reference = serializers.CharField(max_length=100, required=False, allow_blank=True)
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    lines = PurchaseOrderLineInputSerializer(many=True, required=False, max_length=LINES_MAX)

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        lines = _lines(data) if "lines" in data else None
        data.pop("lines", None)
        return {"data": data, "lines": lines}


class PurchaseOrderSubmitSerializer(serializers.Serializer):
    expected_on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Leave out: the order's, else today plus the longest lead time of its lines.",
    )
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class PurchaseOrderCancelSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class PurchaseOrderImportSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV (UTF-8, UTF-16 or GB18030) or XLSX with a header row: number, supplier, warehouse, sku, "
        "quantity, unit_cost, currency, expected_on."
    )


class PurchaseOrderImportResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField(help_text="Rows read from the file.")
    created = PurchaseOrderSerializer(many=True, help_text="New draft orders.")
    updated = PurchaseOrderSerializer(many=True, help_text="Drafts whose lines the file replaced.")


class FromSuggestionsSerializer(serializers.Serializer):
    suggestions = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=ID_MAX),
        allow_empty=False,
        max_length=SUGGESTIONS_MAX,
        help_text="Ids of the suggestions to order.",
    )


class SkippedSuggestionSerializer(serializers.Serializer):
    suggestion = serializers.IntegerField(source="suggestion_id")
    code = serializers.CharField(
        help_text="not_found, ordered, dismissed, nothing_to_order, max_value, bundle, no_supplier, "
        "supplier_inactive, warehouse_inactive, no_source or same_warehouse."
    )
    reason = serializers.CharField()
    sku = serializers.CharField()
    warehouse = serializers.CharField()


class FromSuggestionsResultSerializer(serializers.Serializer):
    purchase_orders = PurchaseOrderDetailSerializer(many=True)
    transfers = TransferSerializer(many=True)
    skipped = SkippedSuggestionSerializer(many=True)
