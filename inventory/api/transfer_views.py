"""REST endpoints of transfers between warehouses: create a draft, ship it, receive it in parts, cancel it."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.scoping import DataScopedViewMixin
from inventory import stock_selectors, transfer_services
from inventory.api.stock_filters import TransferFilter
from inventory.api.stock_views import ADD_STOCK_MOVE
from inventory.api.transfer_serializers import (
    TransferCancelSerializer,
    TransferCreateSerializer,
    TransferReceiveSerializer,
    TransferSerializer,
    TransferShipSerializer,
)
from inventory.models import Transfer


@extend_schema_view(
    list=extend_schema(summary="List transfers", description="Newest first, with lines and status history."),
    retrieve=extend_schema(summary="One transfer"),
    create=extend_schema(
        summary="Create a draft transfer",
        description="Lines name a product and quantity, and optionally a bin of the source (id or code); lines "
        "without one take from the source's sellable bins when shipped. Needs inventory.add_transfer.",
        request=TransferCreateSerializer,
        responses={201: TransferSerializer},
    ),
)
class TransferViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    # A transfer touches both of its warehouses; creating one names both, each looked up within the scope.
    data_scope = {"warehouse": ("source_id", "destination_id")}
    serializer_class = TransferSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = TransferFilter
    action_permissions = {
        "ship": ["inventory.change_transfer", ADD_STOCK_MOVE],
        "receive": ["inventory.change_transfer", ADD_STOCK_MOVE],
        "cancel": ["inventory.change_transfer"],
    }

    def get_queryset(self):
        # The actions lock and read the transfer themselves; only the reads need its lines and history joined.
        if self.action in ("list", "retrieve"):
            return stock_selectors.transfer_list()
        return Transfer.objects.select_related("source", "destination")

    def _transfer_response(self, transfer, code: int = status.HTTP_200_OK) -> Response:
        return Response(TransferSerializer(stock_selectors.transfer_list().get(pk=transfer.pk)).data, status=code)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = TransferCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transfer = transfer_services.transfer_create(**serializer.service_arguments(), user=request.user)
        return self._transfer_response(transfer, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Ship a draft transfer",
        description="Every line leaves the source (transfer_out moves), all or none; 409 names each short line. "
        "The units then count as incoming at the destination.",
        request=TransferShipSerializer,
        responses={200: TransferSerializer},
    )
    @action(detail=True, methods=["post"])
    def ship(self, request: Request, pk=None) -> Response:
        serializer = TransferShipSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transfer = transfer_services.transfer_ship(
            transfer=self.get_object(), user=request.user, **serializer.validated_data
        )
        return self._transfer_response(transfer)

    @extend_schema(
        summary="Receive (part of) a transfer",
        description="Lines received into one bin of the destination (id or code). The transfer is received when "
        "every line has received what was shipped, partially received until then.",
        request=TransferReceiveSerializer,
        responses={200: TransferSerializer},
    )
    @action(detail=True, methods=["post"])
    def receive(self, request: Request, pk=None) -> Response:
        transfer = self.get_object()
        serializer = TransferReceiveSerializer(data=request.data, context={"warehouse": transfer.destination})
        serializer.is_valid(raise_exception=True)
        transfer = transfer_services.transfer_receive(
            transfer=transfer, user=request.user, **serializer.service_arguments()
        )
        return self._transfer_response(transfer)

    @extend_schema(
        summary="Cancel a draft transfer",
        description="Only a draft: once shipped, the stock is on the road (409).",
        request=TransferCancelSerializer,
        responses={200: TransferSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        serializer = TransferCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transfer = transfer_services.transfer_cancel(
            transfer=self.get_object(), user=request.user, **serializer.validated_data
        )
        return self._transfer_response(transfer)
