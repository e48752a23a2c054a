"""Shipments in the API: light in lists (never the label's bytes), whole in detail (customs lines, status history,
tracking, prints); what printing, cancelling and a carrier's live rates take and give."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import serializers

from core.api.fast import FastReadMixin
from core.api.references import ResolvesReferences
from core.api.serializers import StatusEventSerializer
from core.validators import validate_country
from logistics.api.references import ShipmentReferenceField, ShippingMethodReferenceField
from logistics.carriers.base import CUSTOMS_FIELDS, ShipmentIn
from logistics.models import (
    CarrierAccount,
    CustomsLine,
    LabelPrint,
    Shipment,
    ShipmentEvent,
    ShippingMethod,
    TrackingEvent,
)

# The most labels one request prints as one file (a wave), and the longest reason or batch name it keeps.
LABELS_MAX = 500
REASON_MAX = LabelPrint._meta.get_field("reason").max_length
BATCH_MAX = LabelPrint._meta.get_field("batch").max_length


class AddressField(serializers.DictField):
    """A recipient or sender as stored: name, company, address1, address2, city, state, postcode, country..."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(allow_blank=True, allow_null=True), **kwargs)


class ShipmentSerializer(FastReadMixin, serializers.ModelSerializer):
    """A shipment in a list: no label bytes, no lines; what the label is and whether there is one."""

    carrier = serializers.CharField(source="account.carrier", read_only=True, help_text="The account's carrier kind.")
    account_name = serializers.CharField(source="account.name", read_only=True)
    method_code = serializers.CharField(source="method.code", read_only=True)
    parcel_number = serializers.CharField(source="parcel.number", read_only=True, allow_null=True, default=None)
    manifest_number = serializers.CharField(source="manifest.number", read_only=True, allow_null=True, default=None)
    has_label = serializers.SerializerMethodField(help_text="Whether the carrier's label is stored.")
    print_count = serializers.IntegerField(read_only=True, help_text="How many times its label was printed.")
    last_printed_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "number",
            "status",
            "reference",
            "tracking_number",
            "carrier",
            "account",
            "account_name",
            "method",
            "method_code",
            "parcel",
            "parcel_number",
            "carrier_order_id",
            "has_label",
            "label_format",
            "label_size",
            "expected_weight_g",
            "declared_weight_g",
            "actual_weight_g",
            "quoted_cost",
            "billed_cost",
            "cost_currency",
            "manifest",
            "manifest_number",
            "void_requested_at",
            "void_reason",
            "print_count",
            "last_printed_at",
            "carrier_message",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_has_label(self, shipment: Shipment) -> bool:
        return bool(shipment.label_bytes)


class CustomsLineSerializer(FastReadMixin, serializers.ModelSerializer):
    class Meta:
        model = CustomsLine
        fields = list(CUSTOMS_FIELDS)
        read_only_fields = fields


class ShipmentEventSerializer(StatusEventSerializer):
    class Meta(StatusEventSerializer.Meta):
        model = ShipmentEvent
        fields = ["id", *StatusEventSerializer.Meta.fields]
        read_only_fields = fields


class TrackingEventSerializer(FastReadMixin, serializers.ModelSerializer):
    class Meta:
        model = TrackingEvent
        fields = ["id", "shipment", "occurred_at", "kind", "code", "description", "location", "created_at"]
        read_only_fields = fields


class ShipmentDetailSerializer(ShipmentSerializer):
    """One shipment whole: addresses, sizes, customs lines, its status history and what the carrier tracked."""

    recipient = AddressField(read_only=True)
    sender = AddressField(read_only=True)
    customs_lines = CustomsLineSerializer(many=True, read_only=True)
    events = ShipmentEventSerializer(many=True, read_only=True, help_text="Its status history, oldest first.")
    tracking_events = TrackingEventSerializer(many=True, read_only=True, help_text="As the carrier reported them.")

    class Meta(ShipmentSerializer.Meta):
        fields = [
            *ShipmentSerializer.Meta.fields,
            "carrier_reference",
            "recipient",
            "sender",
            "length_mm",
            "width_mm",
            "height_mm",
            "ioss_number",
            "vat_number",
            "eori_number",
            "customs_lines",
            "events",
            "tracking_events",
        ]
        read_only_fields = fields


class ShipmentBriefSerializer(serializers.ModelSerializer):
    """A shipment named where something else is shown (a parcel's, a manifest's)."""

    class Meta:
        model = Shipment
        fields = ["id", "number", "status", "tracking_number", "account"]
        read_only_fields = fields


class LabelDownloadSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=REASON_MAX,
        required=False,
        default="",
        allow_blank=True,
        help_text="Why it is printed again (kept with the print when it is a reprint).",
    )


class ShipmentsListField(serializers.ListField):
    """Shipments in an order that matters (labels print in it), each at most once: an unknown one and one named
    again are refused together, each at its place (``shipments[3]``)."""

    def __init__(self, **kwargs):
        super().__init__(child=ShipmentReferenceField(), **kwargs)

    def run_child_validation(self, data):
        found: list[Shipment] = []
        errors: dict[int, list] = {}
        seen: set[int] = set()
        for index, item in enumerate(data):
            try:
                shipment = self.child.run_validation(item)
            except serializers.ValidationError as error:
                errors[index] = error.detail
                continue
            if shipment.pk in seen:
                message = _("%(shipment)s is in the list twice.") % {"shipment": shipment.number}
                errors[index] = [serializers.ErrorDetail(message, code="duplicate")]
            seen.add(shipment.pk)
            found.append(shipment)
        if errors:
            raise serializers.ValidationError(errors)
        return found


class LabelsPrintSerializer(ResolvesReferences, serializers.Serializer):
    shipments = ShipmentsListField(
        min_length=1,
        max_length=LABELS_MAX,
        help_text="Shipment ids (or numbers) in the order the labels are to print.",
    )
    batch = serializers.CharField(
        max_length=BATCH_MAX, required=False, default="", allow_blank=True, help_text="The wave or batch printed."
    )
    reason = serializers.CharField(
        max_length=REASON_MAX, required=False, default="", allow_blank=True, help_text="Why, for reprints."
    )


class CancelShipmentSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True, help_text="Why; kept in its history."
    )


# --- live rates from a carrier ---------------------------------------------------------------------------------


class RecipientSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    company = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    address1 = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    address2 = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    state = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    postcode = serializers.CharField(max_length=16, required=False, default="", allow_blank=True)
    country = serializers.CharField(max_length=2, min_length=2, help_text="ISO 3166 alpha-2.")
    phone = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, default="", allow_blank=True)

    def validate_country(self, value: str) -> str:
        value = value.upper()
        try:
            validate_country(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return value


class RatesRequestSerializer(ResolvesReferences, serializers.Serializer):
    recipient = RecipientSerializer()
    weight_g = serializers.IntegerField(min_value=1, max_value=1_000_000)
    length_mm = serializers.IntegerField(min_value=1, max_value=10_000, required=False, allow_null=True)
    width_mm = serializers.IntegerField(min_value=1, max_value=10_000, required=False, allow_null=True)
    height_mm = serializers.IntegerField(min_value=1, max_value=10_000, required=False, allow_null=True)
    method = ShippingMethodReferenceField(
        required=False,
        allow_null=True,
        help_text="A shipping method (id or code) whose carrier product the rates are asked for; left out: every "
        "service the account offers.",
    )
    reference = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)

    def quote_arguments(self, account: CarrierAccount) -> tuple[Shipment, ShipmentIn]:
        """What ``CarrierAdapter.quote`` takes: an unsaved shipment (account, method, sender, label size) and the
        parcel in the carrier's words. Without a method, an unsaved blank one: adapters read its product code and
        find none, so the carrier quotes every service."""
        data = self.validated_data
        method = data.get("method") or ShippingMethod(code="", name="", carrier_product_code="")
        recipient = dict(data["recipient"])
        sizes = {name: data.get(name) for name in ("length_mm", "width_mm", "height_mm")}
        parcel = ShipmentIn(
            reference=data["reference"],
            method_code=method.code,
            recipient=recipient,
            weight_g=data["weight_g"],
            **sizes,
        )
        shipment = Shipment(
            account=account,
            method=method,
            reference=data["reference"],
            sender=dict(account.sender or {}),
            recipient=recipient,
            expected_weight_g=data["weight_g"],
            label_size=method.label_size or "",
            **sizes,
        )
        return shipment, parcel


class RateSerializer(serializers.Serializer):
    service = serializers.CharField(help_text="The carrier's code of the service (product).")
    amount = serializers.DecimalField(max_digits=None, decimal_places=None, help_text="As the carrier gave it.")
    currency = serializers.CharField()
    delivery_days = serializers.IntegerField(allow_null=True)
    carrier_rate_id = serializers.CharField(help_text="The carrier's id of this rate, where it gives one.")
    description = serializers.CharField()
