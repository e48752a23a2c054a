"""POST /api/v1/quotes/: what a parcel, or an order's parcel, costs by each shipping method, with the arithmetic.

It lives with orders because it takes an order; the arithmetic is logistics' (``logistics.quotes``)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import request_has_perms
from core.api.schema import error_response
from core.api.scoping import BY_VIEW, DataScopedViewMixin
from core.errors import ErrorDetail, NotFound, ValidationFailed
from logistics.api.serializers import ParcelSerializer, QuoteSerializer
from logistics.quotes import ParcelIn, quotes_for
from orders.models import Order
from orders.parcels import order_parcel


class QuoteRequestSerializer(serializers.Serializer):
    order = serializers.IntegerField(required=False, min_value=1, help_text="An order's id: its parcel is priced.")
    parcel = ParcelSerializer(required=False, help_text="Or a parcel described by destination, weight and size.")


class QuoteAnswerSerializer(serializers.Serializer):
    parcel = ParcelSerializer()
    quotes = QuoteSerializer(many=True)


class QuoteView(DataScopedViewMixin, APIView):
    permission_classes = [IsAuthenticated]
    data_scope = {"store": BY_VIEW}  # an order named in the body is looked up within the scope

    @extend_schema(
        summary="Quote every shipping method for a parcel or an order",
        description="Give `order` (its lines' products make the parcel) or `parcel`. Every active method is "
        "quoted: the eligible ones cheapest first, each with its chargeable weight and the arithmetic in `steps`, "
        "then the others with their `reasons`.",
        request=QuoteRequestSerializer,
        responses={
            200: QuoteAnswerSerializer,
            404: error_response("No order has that id."),
        },
    )
    def post(self, request: Request) -> Response:
        if not request_has_perms(request, ["logistics.view_shippingmethod"]):
            raise PermissionDenied
        asked = QuoteRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        order_id, parcel_data = asked.validated_data.get("order"), asked.validated_data.get("parcel")
        if (order_id is None) == (parcel_data is None):
            raise ValidationFailed(
                _("Give an order or a parcel, not both."),
                errors=[ErrorDetail(_("Give an order or a parcel, not both."), field="order")],
            )
        if order_id is not None:
            if not request_has_perms(request, ["orders.view_order"]):
                raise PermissionDenied
            order = self.scope_queryset(Order.objects.filter(pk=order_id), {"store": "store_id"}).first()
            if order is None:
                raise NotFound(_("No order has id %(id)s.") % {"id": order_id})
            parcel = order_parcel(order)
        else:
            parcel = ParcelIn(**{**parcel_data, "country": parcel_data["country"].upper()})
        quotes = quotes_for(parcel)
        return Response(
            {
                "parcel": {
                    "country": parcel.country,
                    "postcode": parcel.postcode,
                    "weight_g": parcel.weight_g,
                    "length_mm": parcel.length_mm,
                    "width_mm": parcel.width_mm,
                    "height_mm": parcel.height_mm,
                    "has_battery": parcel.has_battery,
                    "has_liquid": parcel.has_liquid,
                },
                "quotes": QuoteSerializer(quotes, many=True).data,
            }
        )
