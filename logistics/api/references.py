"""Carrier accounts, shipping methods and shipments named in API input by id or by their name, code or number."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from core.api.references import Key, ReferenceField
from logistics.models import CarrierAccount, Shipment, ShippingMethod

# A shipment is of its parcel's orders' stores, and made from its parcel's warehouse (core.api.scoping).
SHIPMENT_SCOPE = {"store": "parcel__lines__order__store_id", "warehouse": "parcel__warehouse_id"}


class CarrierAccountReferenceField(ReferenceField):
    model = CarrierAccount
    code_field = "name"
    noun = gettext_lazy("carrier account")
    code_noun = gettext_lazy("name")
    default_error_messages = {
        "invalid": gettext_lazy("Give the carrier account's id (a number) or its name (a string).")
    }

    def normalize(self, code: str) -> str:
        return code.strip()  # names are compared as written ("China Post 中国邮政")

    def missing(self, key: Key, scope: models.Model | None) -> None:
        is_id, value = key
        if is_id:
            raise serializers.ValidationError(
                _("No carrier account has id %(value)s.") % {"value": value}, code="no_id"
            )
        raise serializers.ValidationError(
            _("No carrier account is named %(value)s.") % {"value": value}, code="no_code"
        )


class ShippingMethodReferenceField(ReferenceField):
    model = ShippingMethod
    noun = gettext_lazy("shipping method")
    code_noun = gettext_lazy("code")
    default_error_messages = {
        "invalid": gettext_lazy("Give the shipping method's id (a number) or its code (a string).")
    }

    def missing(self, key: Key, scope: models.Model | None) -> None:
        is_id, value = key
        if is_id:
            message = _("No shipping method has id %(value)s.") % {"value": value}
            raise serializers.ValidationError(message, code="no_id")
        raise serializers.ValidationError(_("No shipping method has code %(code)s.") % {"code": value}, code="no_code")


class ShipmentReferenceField(ReferenceField):
    """A shipment by id or by its number (SHP00000001); read whole, label included, to be printed."""

    model = Shipment
    data_scope = SHIPMENT_SCOPE
    code_field = "number"
    noun = gettext_lazy("shipment")
    code_noun = gettext_lazy("number")
    select_related = ("account", "method")
    default_error_messages = {"invalid": gettext_lazy("Give the shipment's id (a number) or its number (a string).")}

    def missing(self, key: Key, scope: models.Model | None) -> None:
        is_id, value = key
        if is_id:
            raise serializers.ValidationError(_("No shipment has id %(value)s.") % {"value": value}, code="no_id")
        raise serializers.ValidationError(_("No shipment has number %(value)s.") % {"value": value}, code="no_code")
