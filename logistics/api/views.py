"""REST endpoints of logistics: carriers, shipping methods, rate cards (import and export too)."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.parsers import MultiPartParser
from core.api.scoping import GLOBAL, DataScopedViewMixin
from logistics import services
from logistics.api.carrier_errors import CARRIER_REFUSED, CARRIER_UNAVAILABLE
from logistics.api.serializers import (
    CarrierAccountSerializer,
    CarrierSerializer,
    RateCardImportSerializer,
    RateCardSerializer,
    ShippingMethodSerializer,
)
from logistics.api.shipment_serializers import RateSerializer, RatesRequestSerializer
from logistics.carriers import adapter_for
from logistics.models import Carrier, CarrierAccount, RateBracket, RateCard, RateZone, ShippingMethod
from logistics.rate_sheet import rate_card_csv, rate_card_import

WRITABLE = ["get", "post", "patch", "head", "options"]


class _Saving(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin):
    """List, read, create and change (PATCH); nothing is deleted: a carrier, method or card is deactivated."""

    http_method_names = WRITABLE

    def save(self, serializer, instance=None):
        raise NotImplementedError

    def perform_create(self, serializer):
        serializer.instance = self.save(serializer)

    def perform_update(self, serializer):
        serializer.instance = self.save(serializer, serializer.instance)


@extend_schema_view(
    list=extend_schema(summary="List carriers"),
    create=extend_schema(summary="Add a carrier"),
    partial_update=extend_schema(summary="Change a carrier (is_active false to retire it)"),
)
class CarrierViewSet(DataScopedViewMixin, _Saving, viewsets.GenericViewSet):
    data_scope = GLOBAL  # the carrier catalogue
    serializer_class = CarrierSerializer
    filterset_fields = ["is_active"]
    search_fields = ["code", "name"]
    queryset = Carrier.objects.order_by("code")

    def save(self, serializer, instance=None):
        return services.carrier_save(carrier=instance, data=serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary="List shipping methods"),
    create=extend_schema(summary="Add a shipping method"),
    partial_update=extend_schema(summary="Change a shipping method"),
)
class ShippingMethodViewSet(DataScopedViewMixin, _Saving, viewsets.GenericViewSet):
    data_scope = GLOBAL
    serializer_class = ShippingMethodSerializer
    filterset_fields = ["carrier", "service_level", "is_active", "tracked"]
    search_fields = ["code", "name", "carrier_product_code"]
    queryset = ShippingMethod.objects.select_related("carrier").order_by("code")

    def save(self, serializer, instance=None):
        return services.method_save(method=instance, data=serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary="List rate cards, with their zones and brackets"),
    create=extend_schema(summary="Add a rate card (zones and brackets in the same body)"),
    partial_update=extend_schema(summary="Change a rate card; zones given replace all of its zones"),
)
class RateCardViewSet(DataScopedViewMixin, _Saving, viewsets.GenericViewSet):
    data_scope = GLOBAL
    serializer_class = RateCardSerializer
    filterset_fields = ["method", "is_active", "currency"]
    search_fields = ["name", "method__code"]
    action_permissions = {
        "import_zones": ["logistics.change_ratecard"],
        "export_zones": ["logistics.view_ratecard"],
    }

    def get_queryset(self):
        zones = RateZone.objects.order_by("code").prefetch_related(
            Prefetch("brackets", queryset=RateBracket.objects.order_by("max_weight_g"))
        )
        return (
            RateCard.objects.select_related("method")
            .prefetch_related(Prefetch("zones", queryset=zones))
            .order_by("method__code", "-valid_from", "pk")
        )

    def save(self, serializer, instance=None):
        data = dict(serializer.validated_data)
        zones = data.pop("zones", None)
        return services.rate_card_save(card=instance, data=data, zones=zones)

    @extend_schema(
        summary="Replace a rate card's zones and brackets from a spreadsheet",
        description="CSV or XLSX, one row per weight bracket: zone, countries, postcode_prefixes, max_weight_g, "
        "pricing (per_kg or first_additional), price_per_kg, first_weight_g, first_price, additional_unit_g, "
        "additional_price, registration_fee. All or nothing: every problem is listed with its row and column.",
        request={"multipart/form-data": RateCardImportSerializer},
        responses={200: RateCardSerializer},
    )
    @action(detail=True, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_zones(self, request: Request, pk=None) -> Response:
        card = self.get_object()
        serializer = RateCardImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rate_card_import(card=card, source=serializer.validated_data["file"])
        return Response(self.get_serializer(self.get_queryset().get(pk=card.pk)).data)

    @extend_schema(
        summary="A rate card's zones and brackets as CSV (what the import reads)",
        responses={(200, "text/csv"): OpenApiResponse(description="CSV, UTF-8 with a BOM.")},
    )
    @action(detail=True, methods=["get"], url_path="export")
    def export_zones(self, request: Request, pk=None) -> HttpResponse:
        card = self.get_object()
        response = HttpResponse(rate_card_csv(card), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rate-card-{card.pk}.csv"'
        return response


@extend_schema_view(
    list=extend_schema(summary="List carrier accounts"),
    create=extend_schema(summary="Connect a carrier account (credentials are write-only, stored encrypted)"),
    partial_update=extend_schema(summary="Change a carrier account (new credentials replace the old)"),
)
class CarrierAccountViewSet(_Saving, viewsets.GenericViewSet):
    serializer_class = CarrierAccountSerializer
    filterset_fields = ["carrier", "is_active"]
    search_fields = ["name"]
    queryset = CarrierAccount.objects.order_by("name")
    # Asking for prices changes nothing: whoever may see the account may ask.
    action_permissions = {"rates": ["logistics.view_carrieraccount"]}

    def save(self, serializer, instance=None):
        data = dict(serializer.validated_data)
        credentials = data.pop("credentials", None)
        return services.carrier_account_save(account=instance, data=data, credentials=credentials)

    @extend_schema(
        summary="Live rates from the carrier for a parcel",
        description="The carrier is asked what it would charge for a parcel to `recipient` of `weight_g` (and size, "
        "where given); with `method`, for that method's carrier product. Carriers without a rate call (the "
        "self-printed post, YunExpress) answer an empty list: Seabridge's own rate cards price those "
        "(POST `/quotes/`). Nothing is saved.",
        request=RatesRequestSerializer,
        responses={200: RateSerializer(many=True), 400: CARRIER_REFUSED, 502: CARRIER_UNAVAILABLE},
    )
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])
    def rates(self, request: Request, pk=None) -> Response:
        account = self.get_object()
        asked = RatesRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        shipment, parcel = asked.quote_arguments(account)
        rates = adapter_for(account).quote(shipment, parcel)
        return Response(RateSerializer(rates, many=True).data)
