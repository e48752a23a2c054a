"""Waves, scans and productivity in the API: a wave in a list and in full (its parcels with their orders, its pick
path, its progress), what making, previewing, releasing and assigning a wave take, the scan log, and the figures
per person and day."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.references import ResolvesReferences
from core.api.scoping import current_scope
from inventory.api.references import WarehouseReferenceField
from inventory.api.stock_filters import WAREHOUSE_HELP, warehouse_ids_matching
from inventory.models import Warehouse
from logistics.models import Carrier, ShippingMethod
from orders.models import Order, Parcel
from warehouse.api.references import IdListField, UserReferenceField
from warehouse.models import PickTask, ScanEvent, Wave, WaveParcel
from warehouse.picking import pick_progress
from warehouse.selectors import parcel_order_ids
from warehouse.waves import MOST_PARCELS, WaveCriteria, picker_problem

# The most order lines a wave may be limited to (a bound for the input, far above any wave).
MOST_LINES = 100_000
# The most parcels a preview lists.
PREVIEW_MOST = 100


def warehouse_by_id_or_code(value: str) -> Warehouse:
    """The warehouse a query parameter names by id or code (a number matches either; the id first)."""
    within = current_scope().filter(Warehouse.objects.all(), {"warehouse": "id"})  # the request's data scope
    found = within.filter(pk__in=warehouse_ids_matching(value)).order_by("pk").first()
    if found is None:
        raise serializers.ValidationError(
            _("No warehouse has id or code %(value)s.") % {"value": value}, code="does_not_exist"
        )
    return found


def _store_model():
    # Stores are the channels app's, which the floor does not import: found through the order's relation.
    return Order._meta.get_field("store").related_model


# --- waves as they are shown -------------------------------------------------------------------------------------


class WaveSerializer(serializers.ModelSerializer):
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    picker_username = serializers.CharField(source="picker.username", read_only=True, allow_null=True, default=None)
    cart_bin_code = serializers.CharField(source="cart_bin.code", read_only=True, allow_null=True, default=None)
    units_to_pick = serializers.IntegerField(
        read_only=True, help_text="Units its pick tasks ask for (0 before release)."
    )
    units_picked = serializers.IntegerField(read_only=True, help_text="Units picked so far.")

    class Meta:
        model = Wave
        fields = [
            "id",
            "number",
            "warehouse",
            "warehouse_code",
            "status",
            "shape",
            "criteria",
            "picker",
            "picker_username",
            "cart_bin_code",
            "parcel_count",
            "line_count",
            "unit_count",
            "units_to_pick",
            "units_picked",
            "released_at",
            "finished_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "criteria": {"help_text": "The filters it was made with."},
            "parcel_count": {"help_text": "Parcels it took."},
            "line_count": {"help_text": "Their order lines."},
            "unit_count": {"help_text": "Their units."},
        }


class WaveParcelSerializer(serializers.ModelSerializer):
    parcel_number = serializers.CharField(source="parcel.number", read_only=True)
    orders = serializers.SerializerMethodField(help_text="The order IDs (as their stores know them) in the parcel.")
    packed_by_username = serializers.CharField(
        source="packed_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = WaveParcel
        fields = [
            "id",
            "position",
            "parcel",
            "parcel_number",
            "orders",
            "status",
            "slot",
            "units",
            "units_picked",
            "units_sorted",
            "units_packed",
            "packed_at",
            "packed_by",
            "packed_by_username",
            "note",
        ]
        read_only_fields = fields

    def get_orders(self, entry: WaveParcel) -> list[str]:
        return parcel_order_ids(entry)


class PickTaskSerializer(serializers.ModelSerializer):
    bin_code = serializers.CharField(source="bin.code", read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True)
    picked_by_username = serializers.CharField(
        source="picked_by.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = PickTask
        fields = [
            "id",
            "sequence",
            "bin",
            "bin_code",
            "product",
            "sku",
            "quantity",
            "picked",
            "status",
            "short_reason",
            "picked_by",
            "picked_by_username",
        ]
        read_only_fields = fields


class PickProgressSerializer(serializers.Serializer):
    stops = serializers.IntegerField(help_text="Pick tasks (bin and SKU) on the path.")
    stops_done = serializers.IntegerField(help_text="Those picked or reported short.")
    units = serializers.IntegerField()
    units_picked = serializers.IntegerField()


class WaveDetailSerializer(WaveSerializer):
    progress = serializers.SerializerMethodField()
    parcels = WaveParcelSerializer(many=True, read_only=True, help_text="In pick order.")
    tasks = PickTaskSerializer(many=True, read_only=True, help_text="The pick path, in walking order.")

    class Meta(WaveSerializer.Meta):
        fields = [*WaveSerializer.Meta.fields, "progress", "parcels", "tasks"]
        read_only_fields = fields

    @extend_schema_field(PickProgressSerializer)
    def get_progress(self, wave: Wave) -> dict[str, int]:
        return pick_progress(wave)


# --- making a wave -----------------------------------------------------------------------------------------------


class WaveCriteriaSerializer(ResolvesReferences, serializers.Serializer):
    warehouse = WarehouseReferenceField(help_text="Warehouse id (or code) whose allocated parcels it takes.")
    shape = serializers.ChoiceField(
        choices=Wave.Shape.choices,
        default=Wave.Shape.ANY,
        help_text="One unit of one SKU, several units of one SKU, several SKUs, or any.",
    )
    method_ids = IdListField(
        model_of=lambda: ShippingMethod,
        missing=gettext_lazy("No shipping method has id %(value)s."),
        help_text="Only parcels of these shipping methods.",
    )
    carrier_ids = IdListField(
        model_of=lambda: Carrier,
        missing=gettext_lazy("No carrier has id %(value)s."),
        help_text="Only parcels whose method is of these carriers.",
    )
    store_ids = IdListField(
        model_of=_store_model,
        missing=gettext_lazy("No store has id %(value)s."),
        data_scope={"store": "id"},
        help_text="Only parcels with an order of these stores.",
    )
    ship_by_before = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Only parcels to ship before this time."
    )
    max_parcels = serializers.IntegerField(
        required=False, min_value=1, max_value=MOST_PARCELS, help_text="The most parcels it takes (200 if left out)."
    )
    max_lines = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MOST_LINES,
        help_text="The most order lines it takes (no limit if left out).",
    )

    def validate_ship_by_before(self, value: dt.datetime | None) -> dt.datetime | None:
        # PostgreSQL takes zone offsets of at most 15:59; in UTC every moment is one it reads.
        if value is None:
            return None
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            raise serializers.ValidationError(_("Out of range once in UTC."), code="out_of_range") from None

    def criteria(self) -> WaveCriteria:
        data = self.validated_data
        chosen = {
            "shape": data["shape"],
            "method_ids": data["method_ids"],
            "carrier_ids": data["carrier_ids"],
            "store_ids": data["store_ids"],
            "ship_by_before": data["ship_by_before"],
            "max_lines": data["max_lines"],
        }
        if "max_parcels" in data:
            chosen["max_parcels"] = data["max_parcels"]
        return WaveCriteria(warehouse_id=data["warehouse"].pk, **chosen)


class WaveCandidatesQuerySerializer(WaveCriteriaSerializer):
    """The criteria as query parameters (ids repeated: ``?method_ids=1&method_ids=2``), and how many to list."""

    warehouse = serializers.CharField(max_length=64, help_text=WAREHOUSE_HELP)
    limit = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=PREVIEW_MOST, help_text="How many parcels to list."
    )

    def validate_warehouse(self, value: str) -> Warehouse:
        return warehouse_by_id_or_code(value)


class WaveCandidateSerializer(serializers.ModelSerializer):
    orders = serializers.SerializerMethodField(help_text="The order IDs (as their stores know them) in the parcel.")
    shipping_method_code = serializers.CharField(
        source="shipping_method.code", read_only=True, allow_null=True, default=None
    )
    skus = serializers.IntegerField(read_only=True, help_text="SKUs reserved for it.")
    units = serializers.IntegerField(read_only=True, help_text="Units reserved for it.")
    ship_by = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Its orders' earliest ship-by.")

    class Meta:
        model = Parcel
        fields = ["id", "number", "orders", "shipping_method", "shipping_method_code", "skus", "units", "ship_by"]
        read_only_fields = fields

    def get_orders(self, parcel: Parcel) -> list[str]:
        seen: dict[int, str] = {}
        for line in parcel.lines.all():
            seen.setdefault(line.order_id, line.order.channel_order_id)
        return list(seen.values())


class WaveCandidatesSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Parcels the criteria match now (a wave takes at most `max_parcels`).")
    parcels = WaveCandidateSerializer(many=True, help_text="The first of them, in the order a wave takes them.")


class WavePickerSerializer(ResolvesReferences, serializers.Serializer):
    picker = UserReferenceField(
        allow_null=True, help_text="User id (or username) who picks it; null: whoever starts it first."
    )

    def validate_picker(self, picker):
        problem = picker_problem(picker) if picker is not None else None
        if problem is not None:
            raise serializers.ValidationError(problem, code="invalid_picker")
        return picker


class WaveReleaseSerializer(WavePickerSerializer):
    picker = UserReferenceField(
        required=False, allow_null=True, default=None, help_text="User id (or username) who picks it, if chosen now."
    )


class WaveLabelsSerializer(serializers.Serializer):
    ready = serializers.IntegerField(help_text="Parcels whose label is ready to print.")
    waiting = serializers.IntegerField(help_text="Parcels whose carrier has not answered yet (asked again later).")
    refused = serializers.IntegerField(help_text="Parcels the carrier refused (why: the parcel's note, the shipment).")


# --- scans and productivity --------------------------------------------------------------------------------------


class ScanEventSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    wave_number = serializers.CharField(source="wave.number", read_only=True, allow_null=True, default=None)

    class Meta:
        model = ScanEvent
        fields = [
            "id",
            "user",
            "username",
            "warehouse",
            "warehouse_code",
            "step",
            "code",
            "ok",
            "message",
            "error_code",
            "quantity",
            "wave",
            "wave_number",
            "reference",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "code": {"help_text": "What was scanned."},
            "ok": {"help_text": "Whether the scan was accepted."},
            "message": {"help_text": "What the person read."},
            "error_code": {"help_text": "Why it was refused, for programs."},
        }


class ProductivityQuerySerializer(serializers.Serializer):
    date_from = serializers.DateField(
        required=False, default=None, help_text="First day (local time); 6 days before date_to if left out."
    )
    date_to = serializers.DateField(required=False, default=None, help_text="Last day, included; today if left out.")
    warehouse = serializers.CharField(
        required=False, max_length=64, help_text=f"{WAREHOUSE_HELP} Every warehouse if left out."
    )

    def validate_warehouse(self, value: str) -> Warehouse:
        return warehouse_by_id_or_code(value)


class ProductivityRowSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField()
    day = serializers.DateField()
    scans = serializers.IntegerField(help_text="Every scan, accepted or refused.")
    errors = serializers.IntegerField(help_text="Refused scans.")
    lines_picked = serializers.IntegerField(help_text="Pick tasks (bin and SKU) they picked units of.")
    units_picked = serializers.IntegerField(help_text="Units of their accepted pick scans.")
    parcels_packed = serializers.IntegerField()
    first_scan_at = serializers.DateTimeField(allow_null=True)
    last_scan_at = serializers.DateTimeField(allow_null=True)
    hours = serializers.FloatField(help_text="Between the first and the last scan, at least a quarter of an hour.")
    scans_per_hour = serializers.FloatField(help_text="Scans ÷ hours, to one decimal.")


class ProductivitySerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    warehouse = serializers.IntegerField(allow_null=True, help_text="The warehouse id asked for; null: all of them.")
    rows = ProductivityRowSerializer(many=True, help_text="By day, then by username.")
