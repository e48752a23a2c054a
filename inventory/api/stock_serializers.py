"""Serializers of the stock API: they check the shape of input and find what it names; the services judge."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.models import (
    Bin,
    Product,
    Reservation,
    StockCount,
    StockCountEvent,
    StockCountLine,
    StockLevel,
    StockMove,
    Transfer,
    TransferEvent,
    TransferLine,
    Warehouse,
    normalize_code,
)


class ErrorItemSerializer(serializers.Serializer):
    message = serializers.CharField()
    code = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The input field, e.g. lines[0].quantity.")
    row = serializers.IntegerField(required=False, help_text="The row of a file (the header is row 1).")


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API, for the schema."""

    message = serializers.CharField(help_text="What was asked, what is there, and where.")
    code = serializers.CharField()
    errors = ErrorItemSerializer(many=True)
    context = serializers.DictField(required=False, help_text="The figures behind the message, for programs.")


# --- Naming products, warehouses and bins in input ---------------------------------------------------------

ID_OR_CODE_SCHEMA = {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}]}


def _reference_kind(data: Any) -> str:
    """JSON tells ids from codes: a number is an id, a string is a code (so a SKU "123" is never an id)."""
    if isinstance(data, int) and not isinstance(data, bool):
        return "id"
    if isinstance(data, str) and data.strip():
        return "code"
    return "invalid"


@extend_schema_field({**ID_OR_CODE_SCHEMA, "description": "Product id (a number) or SKU (a string)."})
class ProductReferenceField(serializers.Field):
    default_error_messages = {
        "invalid": "Give the product's id (a number) or its SKU (a string).",
        "no_id": "No product has id {value}.",
        "no_sku": "No product has SKU {value}.",
    }

    def to_internal_value(self, data: Any) -> Product:
        kind = _reference_kind(data)
        if kind == "id":
            product = Product.objects.filter(pk=data).first()
            if product is None:
                self.fail("no_id", value=data)
            return product
        if kind == "code":
            sku = normalize_code(data)
            product = Product.objects.filter(sku=sku).first()
            if product is None:
                self.fail("no_sku", value=sku)
            return product
        self.fail("invalid")

    def to_representation(self, value: Product) -> int:
        return value.pk


@extend_schema_field({**ID_OR_CODE_SCHEMA, "description": "Warehouse id (a number) or code (a string)."})
class WarehouseReferenceField(serializers.Field):
    default_error_messages = {
        "invalid": "Give the warehouse's id (a number) or its code (a string).",
        "no_id": "No warehouse has id {value}.",
        "no_code": "No warehouse has code {value}.",
    }

    def to_internal_value(self, data: Any) -> Warehouse:
        kind = _reference_kind(data)
        if kind == "id":
            warehouse = Warehouse.objects.filter(pk=data).first()
            if warehouse is None:
                self.fail("no_id", value=data)
            return warehouse
        if kind == "code":
            code = normalize_code(data)
            warehouse = Warehouse.objects.filter(code=code).first()
            if warehouse is None:
                self.fail("no_code", value=code)
            return warehouse
        self.fail("invalid")

    def to_representation(self, value: Warehouse) -> int:
        return value.pk


@extend_schema_field(
    {**ID_OR_CODE_SCHEMA, "description": "Bin id (a number), or bin code (a string) in the warehouse of the request."}
)
class BinReferenceField(serializers.Field):
    """A bin by id, or a code that the serializer looks up in the warehouse the request is about."""

    default_error_messages = {
        "invalid": "Give the bin's id (a number) or its code (a string).",
        "no_id": "No bin has id {value}.",
    }

    def to_internal_value(self, data: Any) -> Bin | str:
        kind = _reference_kind(data)
        if kind == "id":
            bin = Bin.objects.select_related("warehouse").filter(pk=data).first()
            if bin is None:
                self.fail("no_id", value=data)
            return bin
        if kind == "code":
            return normalize_code(data)
        self.fail("invalid")

    def to_representation(self, value: Bin) -> int:
        return value.pk


def bin_resolve(value: Bin | str, warehouse: Warehouse | None) -> Bin:
    """The bin a BinReferenceField named, checked against the warehouse; raises the message for that field."""
    if isinstance(value, Bin):
        if warehouse is not None and value.warehouse_id != warehouse.pk:
            raise serializers.ValidationError(
                f"Bin {value.code} (id {value.pk}) is in warehouse {value.warehouse.code}, not {warehouse.code}.",
                code="warehouse",
            )
        return value
    if warehouse is None:
        raise serializers.ValidationError(
            f"Bin code {value} needs a warehouse: give `warehouse`, or the bin's id instead.", code="warehouse_required"
        )
    bin = Bin.objects.select_related("warehouse").filter(warehouse=warehouse, code=value).first()
    if bin is None:
        raise serializers.ValidationError(f"Warehouse {warehouse.code} has no bin {value}.", code="does_not_exist")
    return bin


class BinsInWarehouseMixin:
    """Resolves the serializer's ``bin_fields`` against ``warehouse`` (a field, or the context's)."""

    bin_fields: tuple[str, ...] = ()

    def warehouse_for_bins(self, attrs: dict[str, Any]) -> Warehouse | None:
        return attrs.get("warehouse") or self.context.get("warehouse")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        warehouse = self.warehouse_for_bins(attrs)
        errors: dict[str, list] = {}
        for name in self.bin_fields:
            if attrs.get(name) is None:
                continue
            try:
                attrs[name] = bin_resolve(attrs[name], warehouse)
            except serializers.ValidationError as error:
                errors[name] = error.detail
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


WAREHOUSE_FOR_CODES = "Warehouse id or code; needed when a bin is given by its code."


# --- Read: stock levels, the ledger, reservations, availability ---------------------------------------------


class StockLevelSerializer(serializers.ModelSerializer):
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


class StockMoveSerializer(serializers.ModelSerializer):
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


class ReceiveSerializer(BinsInWarehouseMixin, serializers.Serializer):
    bin_fields = ("bin",)

    product = ProductReferenceField()
    warehouse = WarehouseReferenceField(required=False, help_text=WAREHOUSE_FOR_CODES)
    bin = BinReferenceField()
    quantity = serializers.IntegerField(min_value=1)
    reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data.pop("warehouse", None)
        return data


class ReturnSerializer(ReceiveSerializer):
    pass


class MoveSerializer(BinsInWarehouseMixin, serializers.Serializer):
    bin_fields = ("from_bin", "to_bin")

    product = ProductReferenceField()
    warehouse = WarehouseReferenceField(required=False, help_text=WAREHOUSE_FOR_CODES)
    from_bin = BinReferenceField()
    to_bin = BinReferenceField()
    quantity = serializers.IntegerField(min_value=1)
    reason = serializers.ChoiceField(
        choices=[StockMove.Reason.MOVE, StockMove.Reason.PUT_AWAY], default=StockMove.Reason.MOVE
    )
    reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data.pop("warehouse", None)
        return data


class AdjustSerializer(BinsInWarehouseMixin, serializers.Serializer):
    bin_fields = ("bin",)

    product = ProductReferenceField()
    warehouse = WarehouseReferenceField(required=False, help_text=WAREHOUSE_FOR_CODES)
    bin = BinReferenceField()
    delta = serializers.IntegerField(help_text="Units to add (positive) or take away (negative); not zero.")
    note = serializers.CharField(
        max_length=255, required=False, default="", allow_blank=True, help_text="Why the stock is adjusted (required)."
    )
    reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data.pop("warehouse", None)
        return data


class ProductQuantitySerializer(serializers.Serializer):
    product = ProductReferenceField()
    quantity = serializers.IntegerField(min_value=1)


class ReserveSerializer(serializers.Serializer):
    warehouse = WarehouseReferenceField()
    reference = serializers.CharField(max_length=100, help_text="The line it is for, e.g. order-line:123.")
    lines = ProductQuantitySerializer(many=True, allow_empty=False)

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        lines = [(line["product"], line["quantity"]) for line in data["lines"]]
        return {"warehouse": data["warehouse"], "reference": data["reference"], "lines": lines}


class ReleaseSerializer(serializers.Serializer):
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


class PickSerializer(BinsInWarehouseMixin, serializers.Serializer):
    bin_fields = ("from_bin", "to_bin")

    reference = serializers.CharField(max_length=100, help_text="The reservation's reference.")
    product = ProductReferenceField()
    warehouse = WarehouseReferenceField(required=False, help_text=WAREHOUSE_FOR_CODES)
    from_bin = BinReferenceField(help_text="A sellable bin to pick from.")
    to_bin = BinReferenceField(help_text="The packing bin or tote the units go to.")
    quantity = serializers.IntegerField(min_value=1)

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data.pop("warehouse", None)
        return data


class ShipSerializer(BinsInWarehouseMixin, serializers.Serializer):
    bin_fields = ("from_bin",)

    reference = serializers.CharField(max_length=100, help_text="The reservation's reference.")
    product = ProductReferenceField()
    warehouse = WarehouseReferenceField(required=False, help_text=WAREHOUSE_FOR_CODES)
    from_bin = BinReferenceField(help_text="Where the picked units are (usually a packing bin).")
    quantity = serializers.IntegerField(min_value=1)

    def service_arguments(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data.pop("warehouse", None)
        return data


# --- Transfers ----------------------------------------------------------------------------------------------


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


class TransferEventSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = TransferEvent
        fields = ["from_status", "to_status", "note", "user", "username", "created_at"]
        read_only_fields = fields


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
    quantity = serializers.IntegerField(min_value=1)
    from_bin = BinReferenceField(
        required=False,
        allow_null=True,
        default=None,
        help_text="A bin of the source; leave out to choose when shipped.",
    )


class TransferCreateSerializer(serializers.Serializer):
    source = WarehouseReferenceField()
    destination = WarehouseReferenceField()
    lines = TransferLineInputSerializer(many=True, allow_empty=False)
    note = serializers.CharField(required=False, default="", allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        line_errors: list[dict[str, Any]] = []
        for line in attrs["lines"]:
            try:
                if line["from_bin"] is not None:
                    line["from_bin"] = bin_resolve(line["from_bin"], attrs["source"])
                line_errors.append({})
            except serializers.ValidationError as error:
                line_errors.append({"from_bin": error.detail})
        if any(line_errors):
            errors["lines"] = line_errors
            raise serializers.ValidationError(errors)
        return attrs

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


class TransferReceiveSerializer(BinsInWarehouseMixin, serializers.Serializer):
    """The bin is looked up in the transfer's destination (put in the context as ``warehouse``)."""

    bin_fields = ("bin",)

    bin = BinReferenceField(help_text="A bin of the destination warehouse (id or code).")
    lines = ProductQuantitySerializer(many=True, allow_empty=False)

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        return {"bin": data["bin"], "lines": [(line["product"], line["quantity"]) for line in data["lines"]]}


class TransferCancelSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


# --- Counts -------------------------------------------------------------------------------------------------


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


class StockCountEventSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = StockCountEvent
        fields = ["from_status", "to_status", "note", "user", "username", "created_at"]
        read_only_fields = fields


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


class StockCountCreateSerializer(serializers.Serializer):
    warehouse = WarehouseReferenceField()
    bins = serializers.ListField(
        child=BinReferenceField(), required=False, allow_empty=False, help_text="Bins to count (ids or codes)."
    )
    zone = serializers.CharField(max_length=16, required=False, allow_blank=False, help_text="Count a whole zone.")
    is_blind = serializers.BooleanField(default=False, help_text="Counters do not see the expected quantities.")
    note = serializers.CharField(required=False, default="", allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "bins" in attrs:
            errors: dict[int, Any] = {}
            resolved = []
            for index, value in enumerate(attrs["bins"]):
                try:
                    resolved.append(bin_resolve(value, attrs["warehouse"]))
                except serializers.ValidationError as error:
                    errors[index] = error.detail
            if errors:
                raise serializers.ValidationError({"bins": errors})
            attrs["bins"] = resolved
        return attrs

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "warehouse": data["warehouse"],
            "bins": data.get("bins"),
            "zone": normalize_code(data["zone"]) if data.get("zone") else None,
            "is_blind": data["is_blind"],
            "note": data["note"],
        }


class StockCountRecordSerializer(BinsInWarehouseMixin, serializers.Serializer):
    """The bin is looked up in the count's warehouse (put in the context as ``warehouse``)."""

    bin_fields = ("bin",)

    bin = BinReferenceField()
    product = ProductReferenceField()
    counted_quantity = serializers.IntegerField(min_value=0)


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


# --- Import ---------------------------------------------------------------------------------------------------


class StockImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8) or XLSX with a header row: sku, bin, quantity.")
    warehouse = WarehouseReferenceField(help_text="Warehouse id or code the bins are in.")
    note = serializers.CharField(required=False, default="", allow_blank=True)


class StockImportResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Id of the stock count that posted the quantities.")
    number = serializers.CharField(help_text="Number of that count, the reference of its ledger rows.")
    rows = serializers.IntegerField(help_text="Rows read from the file.")
    moves_posted = serializers.IntegerField(help_text="Ledger rows written: one per product and bin that changed.")
    units_in = serializers.IntegerField(help_text="Units added by those moves.")
    units_out = serializers.IntegerField(help_text="Units taken away by those moves.")
