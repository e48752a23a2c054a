"""Parcels in the API: read them (lines and shipments), and ship one with a carrier account (tracking number and
label). Parcels are made by allocation, merges and splits (the orders endpoints); here they are only shipped."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.references import ResolvesReferences
from core.api.schema import error_response
from core.api.scoping import DataScopedViewMixin
from logistics.api.references import CarrierAccountReferenceField
from logistics.api.shipment_serializers import ShipmentBriefSerializer, ShipmentDetailSerializer
from logistics.api.shipment_views import shipment_detail
from logistics.models import Shipment
from orders.api.serializers import OrderParcelSerializer
from orders.api.views import parcels_with_lines
from orders.models import Parcel
from orders.shipping import parcel_ship

# A shipment that is not cancelled or failed: a parcel has at most one.
ENDED = (Shipment.Status.CANCELLED, Shipment.Status.FAILED)

SHIP_DESCRIPTION = """
Make the parcel's shipment with the carrier account (the shipping method's account when none is given): the parcel
in the carrier's words (the first order's address, the products' weights and customs data), checked against its
shipping method first (a country it does not serve, a weight over its limit, a product without an HS code,
declared name or value are refused naming the field, and nothing is sent).

The answer is the shipment (201): `label_ready` with its tracking number and label; `created` when the carrier did
not answer (asked again in the background, or POST `/shipments/{id}/refresh-label/`); `failed` with the carrier's
words in `carrier_message` when it refused (ship again after fixing what it said). A parcel that has a live
shipment answers that one (200), so a retry never makes a second parcel with the carrier.
"""


class ParcelWithShipmentsSerializer(OrderParcelSerializer):
    shipments = ShipmentBriefSerializer(many=True, read_only=True, help_text="Its shipments, oldest first.")

    class Meta(OrderParcelSerializer.Meta):
        fields = ["id", *OrderParcelSerializer.Meta.fields, "shipments", "created_at"]
        read_only_fields = fields


class ParcelShipSerializer(ResolvesReferences, serializers.Serializer):
    account = CarrierAccountReferenceField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Carrier account id (or name) to ship with; left out: the shipping method's account.",
    )


def parcels_listed() -> QuerySet[Parcel]:
    """Parcels with their lines and shipments (never a label's bytes): four queries."""
    shipments = Shipment.objects.only("id", "number", "status", "tracking_number", "account_id", "parcel_id")
    return parcels_with_lines().prefetch_related(Prefetch("shipments", queryset=shipments.order_by("pk")))


@extend_schema_view(
    list=extend_schema(summary="List parcels", description="Newest first, with their lines and shipments."),
    retrieve=extend_schema(summary="One parcel"),
)
class ParcelViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    # A merged parcel holds lines of several orders (of one buyer); it is in scope with any of their stores.
    data_scope = {"store": "lines__order__store_id", "warehouse": "warehouse_id"}
    serializer_class = ParcelWithShipmentsSerializer
    filterset_fields = ["made_by"]
    search_fields = ["=number", "=lines__order__channel_order_id"]
    ordering_fields = ["created_at", "reserved_at"]
    ordering = ["-id"]
    # Shipping a parcel makes a shipment; the parcel itself does not change.
    action_permissions = {"ship": ["orders.view_parcel", "logistics.add_shipment"]}

    def get_queryset(self):
        if self.action in ("list", "retrieve"):
            return parcels_listed()
        return Parcel.objects.all()

    @extend_schema(
        summary="Ship a parcel with a carrier account",
        description=SHIP_DESCRIPTION,
        request=ParcelShipSerializer,
        responses={
            200: ShipmentDetailSerializer,
            201: ShipmentDetailSerializer,
            409: error_response(
                "The parcel is not allocated (no stock reserved or no shipping method), or no account was given "
                "and its shipping method has none."
            ),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def ship(self, request: Request, pk=None) -> Response:
        parcel = self.get_object()
        asked = ParcelShipSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        had_one = parcel.shipments.exclude(status__in=ENDED).exists()
        shipment = parcel_ship(parcel=parcel, account=asked.validated_data["account"], user=request.user)
        return Response(shipment_detail(shipment), status=status.HTTP_200_OK if had_one else status.HTTP_201_CREATED)
