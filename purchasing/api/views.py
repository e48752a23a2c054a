"""Purchasing API: suppliers and what they supply. Reads come from selectors, writes go to services."""

from __future__ import annotations

from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from core.api.scoping import GLOBAL, DataScopedViewMixin
from purchasing import selectors, services
from purchasing.api.filters import SupplierFilter, SupplierProductFilter
from purchasing.api.serializers import (
    SupplierProductSerializer,
    SupplierProductUpdateSerializer,
    SupplierSerializer,
)


class SupplierViewSet(
    DataScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Suppliers. There is no DELETE: a supplier that is no longer used is set ``is_active: false``."""

    data_scope = GLOBAL  # suppliers and what they supply belong to no store or warehouse

    serializer_class = SupplierSerializer
    filterset_class = SupplierFilter
    search_fields = ["name", "contact_name", "email"]
    ordering_fields = ["name", "default_lead_time_days", "created_at"]
    ordering = ["name"]

    def get_queryset(self):
        return selectors.supplier_list()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        supplier = services.supplier_create(**serializer.validated_data)
        return Response(self.get_serializer(supplier).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        supplier = services.supplier_update(supplier=serializer.instance, data=serializer.validated_data)
        return Response(self.get_serializer(supplier).data)


class SupplierProductViewSet(DataScopedViewMixin, viewsets.ModelViewSet):
    data_scope = GLOBAL
    """What each supplier charges for each product. Marking one preferred unsets the product's other one."""

    filterset_class = SupplierProductFilter
    search_fields = ["supplier__name", "product__sku", "product__name", "supplier_sku"]
    ordering_fields = ["unit_cost", "lead_time_days", "created_at", "supplier__name", "product__sku_sort"]
    ordering = ["supplier__name", "product__sku_sort"]

    def get_queryset(self):
        return selectors.supplier_product_list()

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return SupplierProductUpdateSerializer
        return SupplierProductSerializer

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        supplier_product = services.supplier_product_create(**serializer.validated_data)
        return Response(SupplierProductSerializer(supplier_product).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        supplier_product = services.supplier_product_update(
            supplier_product=serializer.instance, data=serializer.validated_data
        )
        return Response(SupplierProductSerializer(supplier_product).data)

    def perform_destroy(self, instance):
        services.supplier_product_delete(supplier_product=instance)
