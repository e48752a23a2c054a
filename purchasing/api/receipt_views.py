"""REST endpoints of receipts against purchase orders: list and read them with their cost figures, receive goods
(a receipt), and add the freight and duties learnt later."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.references import ID_MAX
from core.api.schema import error_response
from core.api.scoping import DataScopedViewMixin
from inventory.models import Warehouse
from purchasing import receiving, selectors
from purchasing.api.receipt_serializers import ReceiptCostsSerializer, ReceiptCreateSerializer, ReceiptSerializer
from purchasing.models import PurchaseOrder, Receipt, Supplier


def _id_or(value: str, **by_code) -> Q:
    """Rows whose id is ``value`` (when it is a number) or whose code field is it."""
    condition = Q(**by_code)
    text = value.strip()
    # ASCII digits only: str.isdigit() also takes "¹" and "٣", which int() refuses.
    if text.isascii() and text.isdigit() and int(text) <= ID_MAX:
        condition |= Q(pk=int(text))
    return condition


class ReceiptFilter(django_filters.FilterSet):
    purchase_order = django_filters.CharFilter(
        method="filter_purchase_order", help_text="Purchase order id or number (PO-000123)."
    )
    warehouse = django_filters.CharFilter(
        method="filter_warehouse", help_text="Warehouse id or code (a number matches either)."
    )
    supplier = django_filters.CharFilter(method="filter_supplier", help_text="Supplier id or name (exactly).")
    date = django_filters.DateFilter(field_name="created_at", lookup_expr="date", help_text="Received on this day.")
    date_from = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", help_text="Received on or after this day."
    )
    date_to = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", help_text="Received on or before this day."
    )

    class Meta:
        model = Receipt
        fields = ["purchase_order", "warehouse", "supplier", "date", "date_from", "date_to"]

    def filter_purchase_order(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        ids = PurchaseOrder.objects.filter(_id_or(value, number=value.strip().upper())).values("pk")
        return queryset.filter(purchase_order_id__in=ids)

    def filter_warehouse(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        ids = Warehouse.objects.filter(_id_or(value, code=value.strip().upper())).values("pk")
        return queryset.filter(purchase_order__warehouse_id__in=ids)

    def filter_supplier(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        ids = Supplier.objects.filter(_id_or(value, name=value.strip())).values("pk")
        return queryset.filter(purchase_order__supplier_id__in=ids)


RECEIVE_REFUSED = error_response(
    "The purchase order is not submitted or partially received (`code` not_receivable), or a product's cost is kept "
    "in another currency than the order's (`code` currency_mismatch), or a bin would hold more than it may. "
    "Nothing received."
)


@extend_schema_view(
    list=extend_schema(
        summary="List receipts",
        description="Newest first, each with its lines and every cost figure (unit cost, freight and duty shares, "
        "landed unit cost, the product's cost before and after, and what was owned before).",
    ),
    retrieve=extend_schema(summary="One receipt"),
    create=extend_schema(
        summary="Receive goods against a purchase order",
        description="Accepted units go into the line's bin, else the receipt's, else the warehouse's receiving "
        "area; rejected units into its quarantine with their reason. Accepting more than ordered beyond the "
        "warehouse's over-receipt tolerance is refused naming the line (`code` over_receipt). Freight and duties "
        "are spread over the accepted lines by value or weight, and each product's cost becomes its moving average. "
        "Needs purchasing.add_receipt.",
        request=ReceiptCreateSerializer,
        responses={201: ReceiptSerializer, 409: RECEIVE_REFUSED},
    ),
)
class ReceiptViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    data_scope = {"warehouse": "purchase_order__warehouse_id"}
    serializer_class = ReceiptSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReceiptFilter
    action_permissions = {"costs": ["purchasing.change_receipt"]}

    def get_queryset(self):
        if self.action in ("list", "retrieve"):
            return selectors.receipt_list()
        return Receipt.objects.select_related("purchase_order")

    def _receipt_response(self, receipt: Receipt, code: int = status.HTTP_200_OK) -> Response:
        return Response(ReceiptSerializer(selectors.receipt_list().get(pk=receipt.pk)).data, status=code)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = ReceiptCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        receipt = receiving.receipt_create(**serializer.service_arguments(), user=request.user)
        return self._receipt_response(receipt, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Add freight and duties learnt later",
        description="Spread over the receipt's accepted lines like at receiving; each product's cost rises by the "
        "added cost of the units still owned. Freight and duties are each set once per receipt (409 "
        "`costs_already_set`), both spread the same way (409 `spread_by_differs`). Needs "
        "purchasing.change_receipt.",
        request=ReceiptCostsSerializer,
        responses={
            200: ReceiptSerializer,
            409: error_response(
                "The receipt already has that cost (`code` costs_already_set), spreads its costs the other way "
                "(`code` spread_by_differs), or a product's cost is kept in another currency (`code` "
                "currency_mismatch). Nothing changed."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def costs(self, request: Request, pk=None) -> Response:
        serializer = ReceiptCostsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        receipt = receiving.receipt_costs_add(receipt=self.get_object(), **serializer.validated_data)
        return self._receipt_response(receipt)
