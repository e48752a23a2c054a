"""REST endpoints of stock counts (盘点): open a count, record what is there, approve or cancel it, its variance."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.permissions import request_has_perms
from core.api.scoping import DataScopedViewMixin
from inventory import count_services, stock_selectors
from inventory.api.count_serializers import (
    StockCountApproveSerializer,
    StockCountCreateSerializer,
    StockCountDetailSerializer,
    StockCountLineSerializer,
    StockCountRecordSerializer,
    StockCountSerializer,
    StockCountVarianceSerializer,
)
from inventory.api.stock_filters import StockCountFilter
from inventory.api.stock_views import ADD_STOCK_MOVE
from inventory.models import StockCount


def _expected_hidden(request: Request, count: StockCount) -> bool:
    """A blind count shows counters no book figures while it is open; people who may approve it see them."""
    return (
        count.is_blind
        and count.status == StockCount.Status.OPEN
        and not request_has_perms(request, ["inventory.change_stockcount"])
    )


@extend_schema_view(
    list=extend_schema(summary="List stock counts", description="Newest first, with how many lines are counted."),
    retrieve=extend_schema(
        summary="One stock count with its lines",
        description="While a blind count is open, expected, system and variance are null for users without "
        "inventory.change_stockcount.",
        responses={200: StockCountDetailSerializer},
    ),
    create=extend_schema(
        summary="Open a stock count",
        description="Over the given bins, a zone, or (neither given) every active bin of the warehouse. Each "
        "product on hand there gets a line expecting its current quantity. Needs inventory.add_stockcount.",
        request=StockCountCreateSerializer,
        responses={201: StockCountDetailSerializer},
    ),
)
class StockCountViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    data_scope = {"warehouse": "warehouse_id"}
    serializer_class = StockCountSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = StockCountFilter
    action_permissions = {
        "record": ["inventory.change_stockcountline"],
        "approve": ["inventory.change_stockcount", ADD_STOCK_MOVE],
        "cancel": ["inventory.change_stockcount"],
        "variance": ["inventory.view_stockcount"],
    }

    def get_queryset(self):
        # The actions lock and read the count themselves; only the reads need its figures counted.
        if self.action in ("list", "retrieve"):
            return stock_selectors.stock_count_list()
        return StockCount.objects.select_related("warehouse")

    def _detail_response(self, count: StockCount, code: int = status.HTTP_200_OK) -> Response:
        count = stock_selectors.stock_count_get(pk=count.pk)
        context = {
            "lines": stock_selectors.stock_count_lines(count=count),
            "hide_expected": _expected_hidden(self.request, count),
        }
        return Response(StockCountDetailSerializer(count, context=context).data, status=code)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return self._detail_response(self.get_object())

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = StockCountCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = count_services.stock_count_open(**serializer.service_arguments(), user=request.user)
        return self._detail_response(count, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record a counted quantity",
        description="How many of a product are in a bin of the count (again, to correct it); a product nobody "
        "expected there gets a new line. The bin is an id or a code of the count's warehouse. Needs "
        "inventory.change_stockcountline.",
        request=StockCountRecordSerializer,
        responses={200: StockCountLineSerializer},
    )
    @action(detail=True, methods=["post"])
    def record(self, request: Request, pk=None) -> Response:
        count = self.get_object()
        serializer = StockCountRecordSerializer(data=request.data, context={"warehouse": count.warehouse})
        serializer.is_valid(raise_exception=True)
        line = count_services.stock_count_record(count=count, user=request.user, **serializer.validated_data)
        line = stock_selectors.stock_count_lines(count=count).get(pk=line.pk)
        context = {"hide_expected": _expected_hidden(request, count)}
        return Response(StockCountLineSerializer(line, context=context).data)

    @extend_schema(
        summary="Approve a count",
        description="Posts each counted line's variance to the ledger (reason count, reference the count "
        "number). `uncounted`: skip (default) or zero. Needs inventory.change_stockcount and "
        "inventory.add_stockmove.",
        request=StockCountApproveSerializer,
        responses={200: StockCountDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk=None) -> Response:
        serializer = StockCountApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = count_services.stock_count_approve(
            count=self.get_object(), user=request.user, **serializer.validated_data
        )
        return self._detail_response(count)

    @extend_schema(
        summary="Cancel an open count",
        description="Nothing is posted, and its bins can be counted again.",
        request=None,
        responses={200: StockCountDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        count = count_services.stock_count_cancel(count=self.get_object(), user=request.user)
        return self._detail_response(count)

    @extend_schema(
        summary="Variance of a count",
        description="Every line with expected, system (when counted), counted, variance, and the ledger rows of "
        "its bin and product since the count opened. Book figures are null while a blind count is open, for "
        "users without inventory.change_stockcount.",
        responses={200: StockCountVarianceSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def variance(self, request: Request, pk=None) -> Response:
        count = self.get_object()
        rows = stock_selectors.stock_count_variance(count=count, include_expected=not _expected_hidden(request, count))
        return Response(StockCountVarianceSerializer(rows, many=True).data)
