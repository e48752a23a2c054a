"""REST endpoints of orders: list and read them, their history, record a shipment, release a hold."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.schema import error_response
from core.errors import NotFound
from orders import selectors, services
from orders.api.filters import OrderFilter
from orders.api.serializers import (
    ConfirmShipmentSerializer,
    HoldReleaseSerializer,
    OrderEventSerializer,
    OrderSerializer,
    OrderShipmentSerializer,
)
from orders.models import Order

CONFIRM_DESCRIPTION = """
Record a parcel of the order handed to a carrier outside Seabridge: the carrier, the tracking number, when it
left, and the lines and quantities in it (everything left to ship when `lines` is left out). The order becomes
shipped or partially shipped, and its store is told once, in the background; the shipment's `store_status`
says how that went (`pending`, `confirmed`, `failed` with the store's message in `store_message`; `not_needed`
for manual stores).

Sending the same tracking number again returns the shipment recorded first (200), so a retry never records or
tells twice. A new shipment answers 201.
"""


@extend_schema_view(
    list=extend_schema(summary="List orders", description="Newest first, with lines, open holds and shipments."),
    retrieve=extend_schema(summary="One order"),
)
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrderSerializer
    filter_backends = [DjangoFilterBackend, SearchFilter, OrderingFilter]
    filterset_class = OrderFilter
    search_fields = ["=channel_order_id", "buyer_name", "ship_name", "=lines__channel_sku"]
    ordering_fields = ["ordered_at", "channel_updated_at", "ship_by", "total", "created_at"]
    action_permissions = {
        "confirm_shipment": ["orders.change_order", "orders.add_ordershipment"],
        "release_hold": ["orders.change_orderhold"],
        "events": ["orders.view_order"],
    }

    def get_queryset(self):
        if self.action in ("list", "retrieve"):
            return selectors.order_list()
        return Order.objects.select_related("store")

    @extend_schema(summary="An order's history", responses={200: OrderEventSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk=None) -> Response:
        order = self.get_object()
        page = self.paginate_queryset(order.events.select_related("user").order_by("pk"))
        return self.get_paginated_response(OrderEventSerializer(page, many=True).data)

    @extend_schema(
        summary="Record a shipment made outside Seabridge (the store is told once)",
        description=CONFIRM_DESCRIPTION,
        request=ConfirmShipmentSerializer,
        responses={
            200: OrderShipmentSerializer,
            201: OrderShipmentSerializer,
            409: error_response("The order is cancelled, pending payment or shipped in full."),
        },
    )
    @action(detail=True, methods=["post"], url_path="confirm-shipment")
    def confirm_shipment(self, request: Request, pk=None) -> Response:
        order = self.get_object()
        serializer = ConfirmShipmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shipment, created = services.order_shipment_record(
            order=order, **serializer.service_arguments(), user=request.user
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(OrderShipmentSerializer(shipment).data, status=code)

    @extend_schema(
        summary="Release a hold a person has dealt with",
        description="For a cancellation or change after shipment. A hold for an unmapped SKU is released by "
        "mapping the SKU (409 here).",
        request=HoldReleaseSerializer,
        responses={200: OrderSerializer, 409: error_response("The hold is released by mapping its SKU.")},
    )
    @action(detail=True, methods=["post"], url_path="release-hold")
    def release_hold(self, request: Request, pk=None) -> Response:
        order = self.get_object()
        serializer = HoldReleaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hold = order.holds.filter(pk=serializer.validated_data["hold"], released_at__isnull=True).first()
        if hold is None:
            raise NotFound(
                _("Order %(order)s has no open hold %(hold)s.")
                % {"order": order.channel_order_id, "hold": serializer.validated_data["hold"]}
            )
        services.order_hold_release(hold=hold, user=request.user)
        return Response(OrderSerializer(selectors.order_list().get(pk=order.pk)).data)
