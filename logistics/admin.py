"""Carriers, shipping methods and rate cards in the admin; a card's zones and a zone's brackets are edited inline."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import ModelAdmin, TabularInline
from core.errors import DomainError
from core.resources import detail_line
from logistics.models import Carrier, RateBracket, RateCard, RateZone, ShippingMethod
from logistics.rate_sheet import rate_card_csv, rate_card_import


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


class RateSheetForm(forms.Form):
    file = forms.FileField(label=_("file"), help_text=_("CSV or XLSX, one row per weight bracket (docs/logistics.md)."))


@admin.register(RateCard)
class RateCardAdmin(ModelAdmin):
    list_display = ("name", "method", "currency", "valid_from", "valid_to", "is_active")
    list_filter = ("method", "currency", "is_active")
    search_fields = ("name", "method__code", "method__name")
    list_select_related = ("method",)
    inlines = (RateZoneInline,)
    readonly_fields = ("sheet",)

    @admin.display(description=_("spreadsheet"))
    def sheet(self, card: RateCard) -> str:
        if not card.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:logistics_ratecard_import", args=[card.pk]),
            gettext("Import zones and brackets"),
            reverse("admin:logistics_ratecard_export", args=[card.pk]),
            gettext("Download as CSV"),
        )

    def get_urls(self):
        return [
            path(
                "<int:card_id>/import/",
                self.admin_site.admin_view(self.import_view),
                name="logistics_ratecard_import",
            ),
            path(
                "<int:card_id>/export.csv",
                self.admin_site.admin_view(self.export_view),
                name="logistics_ratecard_export",
            ),
            *super().get_urls(),
        ]

    def _card(self, request, card_id: int) -> RateCard:
        card = self.get_object(request, str(card_id))
        if card is None:
            raise Http404
        return card

    def import_view(self, request, card_id: int):
        """The card's zones and brackets from a spreadsheet: all or nothing, every problem listed by row."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        card = self._card(request, card_id)
        form = RateSheetForm(request.POST or None, request.FILES or None)
        problems: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                rate_card_import(card=card, source=form.cleaned_data["file"])
            except DomainError as error:
                problems = [error.message, *(detail_line(detail) for detail in error.errors)]
            else:
                self.message_user(
                    request,
                    gettext("Rate card %(card)s: %(zones)s zones imported.")
                    % {"card": card.name, "zones": card.zones.count()},
                    level=messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:logistics_ratecard_change", args=[card.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import zones and brackets into %(card)s") % {"card": card.name},
            "opts": self.opts,
            "card": card,
            "form": form,
            "problems": problems,
        }
        return TemplateResponse(request, "admin/logistics/ratecard/import.html", context)

    def export_view(self, request, card_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        card = self._card(request, card_id)
        response = HttpResponse(rate_card_csv(card), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rate-card-{card.pk}.csv"'
        return response


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
