"""Hand-over manifests in the API: the manifest, its parcels in short, and what opening, scanning and taking a
parcel out take."""

from __future__ import annotations

from rest_framework import serializers

from core.api.references import ResolvesReferences
from inventory.api.references import WarehouseReferenceField
from logistics.api.references import CarrierAccountReferenceField, ShipmentReferenceField
from logistics.manifests import shipment_weight
from logistics.models import Manifest, Shipment

PICKUP_MAX = Manifest._meta.get_field("pickup").max_length
SCAN_MAX = Shipment._meta.get_field("tracking_number").max_length


class ManifestSerializer(serializers.ModelSerializer):
    carrier = serializers.CharField(source="account.carrier", read_only=True, help_text="The account's carrier kind.")
    account_name = serializers.CharField(source="account.name", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True, allow_null=True, default=None)
    shipment_count = serializers.IntegerField(
        read_only=True, help_text="Parcels in it now (scanned while open; those handed over once closed)."
    )
    handed_over_by_username = serializers.CharField(
        source="handed_over_by.username", read_only=True, allow_null=True, default=None
    )
    has_carrier_document = serializers.SerializerMethodField(
        help_text="Whether the carrier sent a document at hand-over (GET `/manifests/{id}/carrier-document/`)."
    )

    class Meta:
        model = Manifest
        fields = [
            "id",
            "number",
            "account",
            "account_name",
            "carrier",
            "warehouse",
            "warehouse_code",
            "pickup",
            "status",
            "shipment_count",
            "parcel_count",
            "total_weight_g",
            "handed_over_at",
            "handed_over_by",
            "handed_over_by_username",
            "carrier_manifest_id",
            "carrier_message",
            "has_carrier_document",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "parcel_count": {"help_text": "Parcels the carrier took, once handed over."},
            "total_weight_g": {"help_text": "Their weight in grams, once handed over."},
        }

    def get_has_carrier_document(self, manifest: Manifest) -> bool:
        return bool(manifest.document_bytes)


class ManifestShipmentSerializer(serializers.ModelSerializer):
    method_code = serializers.CharField(source="method.code", read_only=True)
    country = serializers.SerializerMethodField(help_text="The recipient's country.")
    weight_g = serializers.SerializerMethodField(help_text="Weighed, or else expected, or else declared.")

    class Meta:
        model = Shipment
        fields = [
            "id",
            "number",
            "tracking_number",
            "reference",
            "method_code",
            "status",
            "country",
            "weight_g",
            "void_requested_at",
        ]
        read_only_fields = fields

    def get_country(self, shipment: Shipment) -> str:
        return str((shipment.recipient or {}).get("country") or "")

    def get_weight_g(self, shipment: Shipment) -> int:
        return shipment_weight(shipment)


class ManifestDetailSerializer(ManifestSerializer):
    shipments = ManifestShipmentSerializer(many=True, read_only=True)

    class Meta(ManifestSerializer.Meta):
        fields = [*ManifestSerializer.Meta.fields, "shipments"]
        read_only_fields = fields


class ManifestOpenSerializer(ResolvesReferences, serializers.Serializer):
    account = CarrierAccountReferenceField(help_text="Carrier account id (or name).")
    warehouse = WarehouseReferenceField(
        required=False, allow_null=True, default=None, help_text="Warehouse code (or id) the parcels leave from."
    )
    pickup = serializers.CharField(
        max_length=PICKUP_MAX,
        required=False,
        default="",
        allow_blank=True,
        help_text="Which collection, e.g. the afternoon van; one open manifest per account, warehouse and pickup.",
    )


class ManifestScanSerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=SCAN_MAX, help_text="What the label reads: tracking number, shipment number or our reference."
    )


class ManifestRemoveSerializer(ResolvesReferences, serializers.Serializer):
    shipment = ShipmentReferenceField(help_text="Shipment id (or number).")
