"""REST endpoints of channels: stores (connect, change, sync now), sync runs, SKU mappings, rejected orders."""

from __future__ import annotations

import django_filters
from django.db.models import ProtectedError
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request
from rest_framework.response import Response

from channels import services
from channels.api.serializers import (
    OrdersImportResultSerializer,
    OrdersImportSerializer,
    RejectedOrderSerializer,
    SkuMappingSerializer,
    StoreSerializer,
    SyncRequestSerializer,
    SyncRunSerializer,
)
from channels.models import RejectedOrder, SkuMapping, Store, SyncRun
from core.api.parsers import MultiPartParser
from core.api.schema import error_response
from core.api.scoping import DataScopedViewMixin
from core.errors import Conflict

SYNC_DESCRIPTION = """
Queue a sync of the store: `orders` reads every order the store changed since the last run (the first run
starts at `import_from`), `stock` pushes the available stock of its warehouses to its mapped listings. Answers
202 with the run, which a worker carries out; follow it at `/api/v1/sync-runs/{id}/`. A run of that kind already
queued or running is returned instead of a second one.
"""


@extend_schema_view(
    list=extend_schema(summary="List stores"),
    retrieve=extend_schema(summary="One store, with its health"),
    create=extend_schema(summary="Connect a store"),
    partial_update=extend_schema(summary="Change a store (credentials given replace the stored ones)"),
    destroy=extend_schema(
        summary="Delete a store",
        description="Only a store without orders; otherwise 409 (deactivate it instead).",
        responses={204: None, 409: error_response("The store has orders.")},
    ),
)
class StoreViewSet(
    DataScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    data_scope = {"store": "id"}
    serializer_class = StoreSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = [DjangoFilterBackend, SearchFilter]
    filterset_fields = ["channel", "is_active"]
    search_fields = ["name"]
    action_permissions = {
        "sync": ["channels.change_store", "channels.add_syncrun"],
        "import_orders": ["channels.view_store", "orders.add_order", "orders.change_order"],
    }

    def get_queryset(self):
        return Store.objects.prefetch_related("warehouses").order_by("name")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.store_create(**data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.store_update(store=serializer.instance, **data)

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError:
            raise Conflict(
                _("Store %(store)s has orders; deactivate it instead.") % {"store": instance.name}, code="protected"
            ) from None

    @extend_schema(
        summary="Import orders from a spreadsheet",
        description="One row per order line, the order's columns on its first row (docs/orders.md names the "
        "columns; headers may be keys or names in English or Chinese). All or nothing: every problem is listed "
        "with its row and column and nothing is saved. Importing the same file again changes nothing.",
        request={"multipart/form-data": OrdersImportSerializer},
        responses={200: OrdersImportResultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="import-orders", parser_classes=[MultiPartParser])
    def import_orders(self, request: Request, pk=None) -> Response:
        store = self.get_object()
        serializer = OrdersImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.store_orders_import(store=store, source=serializer.validated_data["file"], user=request.user)
        return Response(OrdersImportResultSerializer(result.counts()).data)

    @extend_schema(
        summary="Sync now",
        description=SYNC_DESCRIPTION,
        request=SyncRequestSerializer,
        responses={202: SyncRunSerializer, 409: error_response("A manual or inactive store has nothing to sync.")},
    )
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk=None) -> Response:
        store = self.get_object()
        serializer = SyncRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run, _queued = services.sync_request(store=store, kind=serializer.validated_data["kind"], user=request.user)
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class SyncRunFilter(django_filters.FilterSet):
    class Meta:
        model = SyncRun
        fields = ["store", "kind", "status"]


@extend_schema_view(list=extend_schema(summary="List sync runs", description="Newest first."))
class SyncRunViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    data_scope = {"store": "store_id"}
    serializer_class = SyncRunSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = SyncRunFilter

    def get_queryset(self):
        return SyncRun.objects.select_related("store").order_by("-pk")


class SkuMappingFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(field_name="channel_sku", help_text="The channel SKU, exactly.")
    product = django_filters.NumberFilter(field_name="product_id", help_text="Product id.")

    class Meta:
        model = SkuMapping
        fields = ["store", "sku", "product", "push_status", "is_automatic"]


@extend_schema_view(
    list=extend_schema(summary="List SKU mappings"),
    create=extend_schema(
        summary="Map a store's SKU to a product",
        description="Creates the mapping, or changes the mapping of that SKU in that store. The SKU's lines in "
        "orders still to ship point at the product, and their holds for the SKU are released.",
    ),
    partial_update=extend_schema(summary="Change a mapping (its orders still to ship follow)"),
    destroy=extend_schema(summary="Remove a mapping (its orders still to ship are held again)"),
)
class SkuMappingViewSet(
    DataScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    data_scope = {"store": "store_id"}
    serializer_class = SkuMappingSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = [DjangoFilterBackend, SearchFilter, OrderingFilter]
    filterset_class = SkuMappingFilter
    search_fields = ["channel_sku", "product__sku"]
    ordering_fields = ["channel_sku", "pushed_at", "created_at"]

    def get_queryset(self):
        return SkuMapping.objects.select_related("product", "store").order_by("store_id", "channel_sku")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        store = data.pop("store")
        mapping, _created = services.sku_mapping_save(
            store=store,
            channel_sku=data.pop("channel_sku"),
            product=data.pop("product"),
            quantity=data.pop("quantity", 1),
            user=self.request.user,
            **data,
        )
        serializer.instance = mapping

    def perform_update(self, serializer):
        mapping = serializer.instance
        current = {
            "store": mapping.store,
            "channel_sku": mapping.channel_sku,
            "product": mapping.product,
            "quantity": mapping.quantity,
        }
        if (
            serializer.validated_data.get("store", mapping.store) != mapping.store
            or serializer.validated_data.get("channel_sku", mapping.channel_sku) != mapping.channel_sku
        ):
            raise Conflict(_("A mapping's store and SKU cannot change; map the other SKU."), code="mapping_key_fixed")
        data = {**current, **serializer.validated_data}
        mapping, _created = services.sku_mapping_save(
            store=data.pop("store"),
            channel_sku=data.pop("channel_sku"),
            product=data.pop("product"),
            quantity=data.pop("quantity"),
            user=self.request.user,
            **data,
        )
        serializer.instance = mapping

    def perform_destroy(self, instance):
        services.sku_mapping_delete(mapping=instance, user=self.request.user)


@extend_schema_view(list=extend_schema(summary="Orders a store sent that could not be read"))
class RejectedOrderViewSet(
    DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    data_scope = {"store": "store_id"}
    serializer_class = RejectedOrderSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["store"]

    def get_queryset(self):
        return RejectedOrder.objects.order_by("-last_seen_at", "-pk")
