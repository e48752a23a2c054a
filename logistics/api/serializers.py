"""Carriers, shipping methods, rate cards (with their zones and brackets) and quotes in the API."""

from __future__ import annotations

from rest_framework import serializers

from logistics.models import Carrier, CarrierAccount, RateBracket, RateCard, RateZone, ShippingMethod
from logistics.services import BRACKET_FIELDS, CARD_FIELDS, CARRIER_FIELDS, METHOD_FIELDS


class CarrierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Carrier
        fields = ["id", *CARRIER_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class ShippingMethodSerializer(serializers.ModelSerializer):
    countries = serializers.ListField(
        child=serializers.CharField(max_length=2), required=False, help_text="ISO codes; empty for everywhere."
    )
    marketplace_carrier_codes = serializers.DictField(
        child=serializers.CharField(max_length=100, allow_blank=True),
        required=False,
        help_text='The carrier as each marketplace expects it: {"amazon": "YunExpress", "ebay": "YunExpress"}.',
    )

    class Meta:
        model = ShippingMethod
        fields = ["id", *METHOD_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators = []  # the service checks (and names) what the table would refuse


class RateBracketSerializer(serializers.ModelSerializer):
    class Meta:
        model = RateBracket
        fields = list(BRACKET_FIELDS)
        validators = []


class RateZoneSerializer(serializers.ModelSerializer):
    countries = serializers.ListField(child=serializers.CharField(max_length=2), min_length=1)
    postcode_prefixes = serializers.ListField(child=serializers.CharField(max_length=16), required=False)
    brackets = RateBracketSerializer(many=True)

    class Meta:
        model = RateZone
        fields = ["code", "countries", "postcode_prefixes", "brackets"]
        validators = []


class RateCardSerializer(serializers.ModelSerializer):
    zones = RateZoneSerializer(
        many=True, required=False, help_text="Given: they replace all of the card's zones and brackets."
    )

    class Meta:
        model = RateCard
        fields = ["id", *CARD_FIELDS, "zones", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators = []


class RateCardImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or XLSX, one row per weight bracket (docs/logistics.md).")


class ParcelSerializer(serializers.Serializer):
    country = serializers.CharField(max_length=2, min_length=2, help_text="ISO 3166 alpha-2.")
    postcode = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    weight_g = serializers.IntegerField(min_value=1, max_value=1_000_000)
    length_mm = serializers.IntegerField(min_value=1, max_value=10_000, required=False, allow_null=True)
    width_mm = serializers.IntegerField(min_value=1, max_value=10_000, required=False, allow_null=True)
    height_mm = serializers.IntegerField(min_value=1, max_value=10_000, required=False, allow_null=True)
    has_battery = serializers.BooleanField(required=False, default=False)
    has_liquid = serializers.BooleanField(required=False, default=False)


class QuoteSerializer(serializers.Serializer):
    method = serializers.IntegerField(source="method.pk")
    method_code = serializers.CharField(source="method.code")
    method_name = serializers.CharField(source="method.name")
    carrier = serializers.CharField(source="method.carrier.code")
    service_level = serializers.CharField(source="method.service_level")
    eligible = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField(), help_text="Why not, when not eligible.")
    rate_card = serializers.CharField(source="card.name", default=None, allow_null=True)
    zone = serializers.CharField()
    currency = serializers.CharField()
    actual_weight_g = serializers.IntegerField()
    volumetric_weight_g = serializers.IntegerField(allow_null=True)
    chargeable_weight_g = serializers.IntegerField()
    freight = serializers.DecimalField(max_digits=18, decimal_places=2)
    fuel_surcharge = serializers.DecimalField(max_digits=18, decimal_places=2)
    registration_fee = serializers.DecimalField(max_digits=18, decimal_places=2)
    total = serializers.DecimalField(max_digits=18, decimal_places=2)
    steps = serializers.ListField(child=serializers.CharField(), help_text="The arithmetic, one line a step.")


class CarrierAccountSerializer(serializers.ModelSerializer):
    credentials = serializers.DictField(
        child=serializers.CharField(max_length=500),
        write_only=True,
        required=False,
        help_text=(
            "In the carrier's own terms, stored encrypted and never shown again: yunexpress customer_code and "
            "api_secret; dhl_express username, password and account_number; easypost api_key; 4px app_key and "
            "app_secret; yanwen user_id and api_token; self: none."
        ),
    )
    has_credentials = serializers.SerializerMethodField(help_text="Whether credentials are stored.")
    sender = serializers.DictField(
        child=serializers.CharField(max_length=255, allow_blank=True),
        required=False,
        help_text="The return address printed on labels: name, company, address1, city, postcode, country, phone.",
    )

    class Meta:
        model = CarrierAccount
        fields = [
            "id",
            "carrier",
            "name",
            "api_base_url",
            "is_active",
            "sender",
            "label_format",
            "credentials",
            "has_credentials",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"api_base_url": {"help_text": "The carrier's production API when left out."}}

    def get_has_credentials(self, account: CarrierAccount) -> bool:
        return bool(account.credentials_encrypted)
