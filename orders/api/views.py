"""REST endpoints of orders: list and read them, their history, record a shipment, release a hold; and what people
do before picking (allocate, hold, release, cancel, merge, split, undo, set the warehouse or method by hand)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.schema import error_response
from core.api.scoping import DataScopedViewMixin
from core.errors import Conflict, NotFound
from orders import fulfilment, selectors, services
from orders.api.filters import OrderFilter
from orders.api.serializers import (
    AllocateOrdersSerializer,
    AllocationCountsSerializer,
    CancelOrderSerializer,
    ConfirmShipmentSerializer,
    HoldOrderSerializer,
    HoldReleaseSerializer,
    MergeOrdersSerializer,
    MergeSuggestionSerializer,
    OrderEventSerializer,
    OrderParcelSerializer,
    OrderSerializer,
    OrderShipmentSerializer,
    ReleaseOrderSerializer,
    SetByHandSerializer,
    SplitOrderSerializer,
)
from orders.models import Order, Parcel, ParcelLine
from orders.status import ORDER_STATUS

Status = Order.Status
# What allocation takes: new orders, and those awaiting stock (tried again).
ALLOCATABLE = (Status.AWAITING_SHIPMENT, Status.AWAITING_STOCK)

CONFIRM_DESCRIPTION = """
Record a parcel of the order handed to a carrier outside Seabridge: the carrier, the tracking number, when it
left, and the lines and quantities in it (everything left to ship when `lines` is left out). The order becomes
shipped or partially shipped, and its store is told once, in the background; the shipment's `store_status`
says how that went (`pending`, `confirmed`, `failed` with the store's message in `store_message`; `not_needed`
for manual stores).

Sending the same tracking number again returns the shipment recorded first (200), so a retry never records or
tells twice. A new shipment answers 201.
"""

BEFORE_PICKING = "Only orders not yet picked (new, on hold, awaiting stock, allocated); 409 otherwise."
REALLOCATED = "The order is allocated again at once: the answer shows the outcome (allocated, awaiting stock, on hold)."


def parcels_with_lines() -> QuerySet[Parcel]:
    """Parcels with their warehouse, method and lines (with the order line's id in its store): three queries."""
    lines = ParcelLine.objects.select_related("line").order_by("pk")
    return Parcel.objects.select_related("warehouse", "shipping_method").prefetch_related(
        Prefetch("lines", queryset=lines)
    )


def orders_with_parcels() -> QuerySet[Order]:
    """The orders as the API shows them: ``selectors.order_list`` plus what allocation decided and the parcels of
    each (every parcel whole, a merged one with the other orders' lines too): a fixed number of queries. The order as
    the store sent it (``raw``, kilobytes of JSON a marketplace order) is not shown, so it is not read."""
    parcel_lines = ParcelLine.objects.order_by("pk").prefetch_related(Prefetch("parcel", queryset=parcels_with_lines()))
    return (
        selectors.order_list()
        .defer("raw")
        .select_related("warehouse", "shipping_method", "warehouse_by_hand", "method_by_hand")
        .prefetch_related(Prefetch("parcel_lines", queryset=parcel_lines, to_attr="parcel_line_list"))
    )


@extend_schema_view(
    list=extend_schema(
        summary="List orders",
        description="Newest first, with lines, open holds, shipments, what allocation decided and the parcels.",
    ),
    retrieve=extend_schema(summary="One order"),
)
class OrderViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    data_scope = {"store": "store_id"}
    serializer_class = OrderSerializer
    filter_backends = [DjangoFilterBackend, SearchFilter, OrderingFilter]
    filterset_class = OrderFilter
    search_fields = ["=channel_order_id", "buyer_name", "ship_name", "=lines__channel_sku"]
    ordering_fields = ["ordered_at", "channel_updated_at", "ship_by", "total", "created_at"]
    action_permissions = {
        "confirm_shipment": ["orders.change_order", "orders.add_ordershipment"],
        "release_hold": ["orders.change_orderhold"],
        "events": ["orders.view_order"],
        "allocate": ["orders.change_order"],
        "allocate_all": ["orders.change_order"],
        "hold": ["orders.change_order", "orders.add_orderhold"],
        "release": ["orders.change_order", "orders.change_orderhold"],
        "cancel": ["orders.change_order"],
        # Parcels are how an order is packed: whoever may change orders may merge, split and undo.
        "split": ["orders.change_order"],
        "merge": ["orders.change_order"],
        "merge_suggestions": ["orders.view_order"],
        "undo_parcels": ["orders.change_order"],
        "set_by_hand": ["orders.change_order"],
    }

    def get_queryset(self):
        if self.action in ("list", "retrieve"):
            return orders_with_parcels()
        return Order.objects.select_related("store")

    def _order_response(self, order: Order) -> Response:
        return Response(OrderSerializer(orders_with_parcels().get(pk=order.pk)).data)

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
        return self._order_response(order)

    # --- before picking ---------------------------------------------------------------------------------------

    @extend_schema(
        summary="Allocate an order now",
        description="Runs allocation for this order alone: the rules, then a warehouse that can fill it, a shipping "
        "method and its stock reserved in parcels; or it waits, on hold or awaiting stock, and `decision` says why. "
        "Only new orders and those awaiting stock (409 otherwise).",
        request=None,
        responses={200: OrderSerializer, 409: error_response("The order is neither new nor awaiting stock.")},
    )
    @action(detail=True, methods=["post"])
    def allocate(self, request: Request, pk=None) -> Response:
        order = self.get_object()
        if order.status not in ALLOCATABLE:
            raise Conflict(
                _("Order %(order)s is %(status)s; only new orders and those awaiting stock can be allocated.")
                % {"order": order.channel_order_id, "status": ORDER_STATUS.status_label(order.status)},
                code="invalid_transition",
                order=order.channel_order_id,
                status=order.status,
            )
        fulfilment.orders_allocate(order_ids=[order.pk], user=request.user)
        return self._order_response(order)

    @extend_schema(
        summary="Allocate new orders and those awaiting stock",
        description="The allocation run that otherwise runs every minute, now: the orders given, or all of them. "
        "Orders another run or an import is working on are skipped (counted in `skipped`).",
        request=AllocateOrdersSerializer,
        responses={200: AllocationCountsSerializer},
        operation_id="orders_allocate_all",
    )
    @action(detail=False, methods=["post"], url_path="allocate", url_name="allocate-all", pagination_class=None)
    def allocate_all(self, request: Request) -> Response:
        serializer = AllocateOrdersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_ids = serializer.validated_data.get("orders")
        if self.scope_ids("store") is not None:  # a token limited to some stores allocates their orders only
            within = self.get_queryset() if order_ids is None else self.get_queryset().filter(pk__in=order_ids)
            order_ids = list(within.values_list("pk", flat=True))
        result = fulfilment.orders_allocate(order_ids=order_ids, user=request.user)
        return Response(AllocationCountsSerializer(result.counts()).data)

    @extend_schema(
        summary="Hold an order, with a reason",
        description="The order waits on hold for a person (until released); stock reserved for it is given back. "
        "Orders pending payment or not yet picked; 409 otherwise.",
        request=HoldOrderSerializer,
        responses={200: OrderSerializer, 409: error_response("The order is being picked, packed, shipped or closed.")},
    )
    @action(detail=True, methods=["post"])
    def hold(self, request: Request, pk=None) -> Response:
        order = self.get_object()
        serializer = HoldOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = fulfilment.order_hold(order=order, reason=serializer.validated_data["reason"], user=request.user)
        return self._order_response(order)

    @extend_schema(
        summary="Release every hold of an order",
        description="Every open hold a person may release is released; with none left, the order is allocated at "
        "once. A hold for an unmapped SKU is released by mapping the SKU and stays; 409 when that is the only kind "
        "left, or when there is no open hold.",
        request=ReleaseOrderSerializer,
        responses={200: OrderSerializer, 409: error_response("No open hold, or a hold released by mapping a SKU.")},
    )
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk=None) -> Response:
        order = self.get_object()
        serializer = ReleaseOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = fulfilment.order_release(order=order, note=serializer.validated_data["note"], user=request.user)
        return self._order_response(order)

    @extend_schema(
        summary="Cancel an order in Seabridge",
        description="The store is not told: cancel it there too. Before picking, reserved stock is given back; once "
        "picking began, the picked units get a task to put them back. Cancelling a cancelled order changes nothing.",
        request=CancelOrderSerializer,
        responses={200: OrderSerializer, 409: error_response("The order is shipped, delivered or returned.")},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        order = self.get_object()
        serializer = CancelOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = fulfilment.order_cancel(order=order, reason=serializer.validated_data["reason"], user=request.user)
        return self._order_response(order)

    @extend_schema(
        summary="Split an order into parcels",
        description="Each parcel is a list of the order's lines with quantities (in the store's units); what no "
        "parcel takes goes in one more parcel. A split makes at least two parcels, each allocated at once on its "
        "own (a parcel that cannot be filled leaves the order awaiting stock). " + BEFORE_PICKING,
        request=SplitOrderSerializer,
        responses={
            201: OrderParcelSerializer(many=True),
            409: error_response("The order is being picked, packed, shipped or closed."),
        },
    )
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[])
    def split(self, request: Request, pk=None) -> Response:
        order = self.get_object()
        serializer = SplitOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parcels = fulfilment.order_split(order=order, **serializer.service_arguments(), user=request.user)
        made = parcels_with_lines().filter(pk__in=[parcel.pk for parcel in parcels]).order_by("pk")
        return Response(OrderParcelSerializer(made, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Undo a merge or a split",
        description="The order's parcels (and, for a merge, the other orders in them) go back to one parcel per "
        "order, allocated afresh. " + BEFORE_PICKING,
        request=None,
        responses={200: OrderSerializer, 409: error_response("Neither merged nor split, or picking began.")},
    )
    @action(detail=True, methods=["post"], url_path="undo-parcels")
    def undo_parcels(self, request: Request, pk=None) -> Response:
        order = fulfilment.order_parcels_undo(order=self.get_object(), user=request.user)
        return self._order_response(order)

    @extend_schema(
        summary="Set the warehouse or the shipping method by hand",
        description="Rules and routing keep to a person's choice. Give `warehouse`, `shipping_method` or both (by "
        "code or id); an unknown or inactive one is refused naming the field. " + REALLOCATED + " " + BEFORE_PICKING,
        request=SetByHandSerializer,
        responses={200: OrderSerializer, 409: error_response("The order is being picked, packed, shipped or closed.")},
    )
    @action(detail=True, methods=["post"], url_path="set-by-hand")
    def set_by_hand(self, request: Request, pk=None) -> Response:
        order = self.get_object()
        serializer = SetByHandSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = fulfilment.order_set_by_hand(order=order, **serializer.service_arguments(), user=request.user)
        return self._order_response(order)

    @extend_schema(
        summary="Merge orders of one buyer to one address into one parcel",
        description="At least two orders, none picked yet, of the same buyer to the same address (400 names what "
        "differs). The parcel is allocated at once; each order stays as its store sent it, so each store is told "
        "the tracking of its own order.",
        request=MergeOrdersSerializer,
        responses={201: OrderParcelSerializer, 409: error_response("Another writer is changing one of the orders.")},
    )
    @action(detail=False, methods=["post"], pagination_class=None, filter_backends=[])
    def merge(self, request: Request) -> Response:
        serializer = MergeOrdersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The service reads the orders under its locks, refusing too few and unknown ids: only their ids go in.
        orders = [Order(pk=pk) for pk in sorted(set(serializer.validated_data["orders"]))]
        missing = self.scope_missing([order.pk for order in orders])
        if missing:
            raise NotFound(_("No order has id %(id)s.") % {"id": missing[0]}, code="not_found")
        parcel = fulfilment.orders_merge(orders=orders, user=request.user)
        made = parcels_with_lines().get(pk=parcel.pk)
        return Response(OrderParcelSerializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Orders that may be merged",
        description="Groups of orders not yet picked nor merged, of one buyer to one address (by e-mail or name, "
        "street, postcode and country), oldest first; at most 200 groups.",
        responses={200: MergeSuggestionSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], url_path="merge-suggestions", pagination_class=None, filter_backends=[])
    def merge_suggestions(self, request: Request) -> Response:
        groups = [
            {"orders": [order.pk for order in group], "channel_order_ids": [order.channel_order_id for order in group]}
            for group in fulfilment.merge_suggestions()
            if not self.scope_missing([order.pk for order in group])
        ]
        return Response(MergeSuggestionSerializer(groups, many=True).data)
