"""Carriers, shipping methods and rate cards in the admin; a card's zones and a zone's brackets are edited inline."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ModelAdmin, TabularInline
from logistics.models import Carrier, RateBracket, RateCard, RateZone, ShippingMethod


@admin.register(Carrier)
class CarrierAdmin(ModelAdmin):
    list_display = ("code", "name", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")


@admin.register(ShippingMethod)
class ShippingMethodAdmin(ModelAdmin):
    list_display = ("code", "name", "carrier", "service_level", "tracked", "countries_text", "is_active")
    list_filter = ("carrier", "service_level", "tracked", "allows_battery", "is_active")
    search_fields = ("code", "name", "carrier_product_code")
    list_select_related = ("carrier",)
    fieldsets = (
        (None, {"fields": ("carrier", "code", "name", "carrier_product_code", "service_level", "label_size")}),
        (
            _("What it takes"),
            {
                "fields": (
                    "countries",
                    "tracked",
                    "max_weight_g",
                    "max_length_mm",
                    "max_dimensions_sum_mm",
                    "allows_battery",
                    "allows_liquid",
                    "transit_days_min",
                    "transit_days_max",
                )
            },
        ),
        (_("Marketplaces"), {"fields": ("marketplace_carrier_codes", "is_active")}),
    )

    @admin.display(description=_("countries served"))
    def countries_text(self, method: ShippingMethod) -> str:
        return " ".join(method.countries) or "—"


class RateZoneInline(TabularInline):
    model = RateZone
    fields = ("code", "countries", "postcode_prefixes")
    extra = 0
    show_change_link = True


@admin.register(RateCard)
class RateCardAdmin(ModelAdmin):
    list_display = ("name", "method", "currency", "valid_from", "valid_to", "is_active")
    list_filter = ("method", "currency", "is_active")
    search_fields = ("name", "method__code", "method__name")
    list_select_related = ("method",)
    inlines = (RateZoneInline,)


class RateBracketInline(TabularInline):
    model = RateBracket
    fields = (
        "max_weight_g",
        "pricing",
        "price_per_kg",
        "first_weight_g",
        "first_price",
        "additional_unit_g",
        "additional_price",
        "registration_fee",
    )
    extra = 0


@admin.register(RateZone)
class RateZoneAdmin(ModelAdmin):
    list_display = ("code", "card", "countries_text")
    list_filter = ("card",)
    search_fields = ("code", "card__name")
    list_select_related = ("card",)
    inlines = (RateBracketInline,)

    @admin.display(description=_("countries"))
    def countries_text(self, zone: RateZone) -> str:
        return " ".join(zone.countries)
