"""REST endpoints for products, warehouses and bins; each write validates the shape and calls one service."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.filters import SearchFilter
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.permissions import request_has_perms
from core.api.schema import error_response
from core.api.scoping import GLOBAL, DataScopedViewMixin
from core.errors import ErrorDetail, ValidationFailed
from inventory import selectors, services
from inventory.api.filters import BinFilter, NaturalOrderingFilter, ProductFilter, WarehouseFilter
from inventory.api.serializers import (
    BinGenerateResultSerializer,
    BinGenerateSerializer,
    BinSerializer,
    ProductBulkResultSerializer,
    ProductBulkRowSerializer,
    ProductSerializer,
    WarehouseSerializer,
)
from inventory.bulk import ROW_NUMBER_KEY, product_bulk_upsert

PRODUCT_BULK_LIMIT = 1_000
COMPONENT_PERMISSIONS = [
    "inventory.add_bundlecomponent",
    "inventory.change_bundlecomponent",
    "inventory.delete_bundlecomponent",
]
FILTER_BACKENDS = [DjangoFilterBackend, SearchFilter, NaturalOrderingFilter]

BULK_UPSERT_DESCRIPTION = """
Create or update up to 1,000 products in one request, matched by SKU (trimmed, upper-cased).

The body is a JSON list of objects whose keys are the product fields below; a field left out keeps its current
value on update and its default on create. All or nothing: when any row is invalid, nothing is saved and the
response (400) lists every problem with `row` and `field`. **`row` is 1-based: the position of the object in
the list you sent** (the first object is row 1). Bundle components are not set here; use the product endpoints.
"""


@extend_schema_view(
    list=extend_schema(summary="List products", description="Natural SKU order (A-2 before A-10) by default."),
    create=extend_schema(summary="Create a product (with its components, for a bundle)"),
    partial_update=extend_schema(summary="Change some fields of a product"),
    destroy=extend_schema(
        summary="Delete a product",
        description="Only a product nothing refers to; otherwise 409 (deactivate it instead).",
    ),
)
class ProductViewSet(DataScopedViewMixin, viewsets.ModelViewSet):
    data_scope = GLOBAL  # the catalogue belongs to no store or warehouse
    serializer_class = ProductSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ProductFilter
    search_fields = ["sku", "name", "barcode", "declared_name_en", "declared_name_zh"]
    ordering_fields = ["sku", "name", "weight_g", "cost_price", "created_at", "updated_at"]
    ordering_aliases = {"sku": "sku_sort"}
    action_permissions = {"bulk_upsert": ["inventory.add_product", "inventory.change_product"]}

    def get_queryset(self):
        return selectors.product_list()

    def _components_permission_check(self, request: Request) -> None:
        """A write that sets a bundle's components needs the rights the admin's component lines need."""
        sets_components = isinstance(request.data, Mapping) and "components" in request.data
        if sets_components and not request_has_perms(request, COMPONENT_PERMISSIONS):
            raise PermissionDenied(
                _(
                    "Setting a bundle's components needs the permissions to add, change and delete bundle "
                    "components; leave `components` out to change only the product."
                )
            )

    def create(self, request: Request, *args, **kwargs) -> Response:
        self._components_permission_check(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.service_arguments())
        output = self.get_serializer(selectors.product_get(pk=product.pk))
        return Response(output.data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        product = self.get_object()
        self._components_permission_check(request)
        serializer = self.get_serializer(product, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        services.product_update(product=product, **serializer.service_arguments())
        return Response(self.get_serializer(selectors.product_get(pk=product.pk)).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.product_delete(product=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Create or update many products (all or nothing)",
        description=BULK_UPSERT_DESCRIPTION.strip(),
        request=ProductBulkRowSerializer(many=True),
        responses={
            200: ProductBulkResultSerializer,
            400: error_response("Nothing saved; `errors` lists each bad row (1-based) and field."),
        },
    )
    @action(detail=False, methods=["post"], url_path="bulk-upsert")
    def bulk_upsert(self, request: Request) -> Response:
        rows = request.data
        if not isinstance(rows, list):
            raise ValidationFailed(_("The body must be a JSON list of product objects."), code="not_a_list")
        if len(rows) > PRODUCT_BULK_LIMIT:
            raise ValidationFailed(
                _("At most %(limit)s products per request; this one has %(count)s. Split the list.")
                % {"limit": PRODUCT_BULK_LIMIT, "count": len(rows)},
                code="too_many_rows",
            )
        not_objects = [
            ErrorDetail(message=_("Each item must be a JSON object of product fields."), code="not_an_object", row=row)
            for row, item in enumerate(rows, start=1)
            if not isinstance(item, dict)
        ]
        if not_objects:
            raise ValidationFailed(
                _("%(count)s items are not JSON objects (first at row %(row)s); nothing saved.")
                % {"count": len(not_objects), "row": not_objects[0].row},
                errors=not_objects,
            )
        # Rows are numbered by their place in the list, whatever a client may have put under the internal key.
        numbered = [{**item, ROW_NUMBER_KEY: row} for row, item in enumerate(rows, start=1)]
        result = product_bulk_upsert(rows=numbered)
        return Response(ProductBulkResultSerializer(result).data)


@extend_schema_view(
    list=extend_schema(summary="List warehouses", description="By priority (lower first), then code."),
    destroy=extend_schema(
        summary="Delete a warehouse",
        description="Only a warehouse without bins; otherwise 409 (deactivate it instead).",
    ),
)
class WarehouseViewSet(DataScopedViewMixin, viewsets.ModelViewSet):
    data_scope = {"warehouse": "id"}
    serializer_class = WarehouseSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = WarehouseFilter
    search_fields = ["code", "name", "city"]
    ordering_fields = ["code", "name", "priority", "created_at"]

    def get_queryset(self):
        return selectors.warehouse_list()

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        warehouse = services.warehouse_create(data=serializer.validated_data)
        return Response(self.get_serializer(warehouse).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        warehouse = self.get_object()
        serializer = self.get_serializer(warehouse, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        warehouse = services.warehouse_update(warehouse=warehouse, data=serializer.validated_data)
        return Response(self.get_serializer(warehouse).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.warehouse_delete(warehouse=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="List bins", description="By warehouse, then natural code order (A-2 before A-10)."),
    update=extend_schema(description="A bin cannot move to another warehouse."),
    partial_update=extend_schema(description="A bin cannot move to another warehouse."),
)
class BinViewSet(DataScopedViewMixin, viewsets.ModelViewSet):
    data_scope = {"warehouse": "warehouse_id"}
    serializer_class = BinSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = BinFilter
    search_fields = ["code", "zone"]
    ordering_fields = ["code", "zone", "pick_sequence", "kind", "created_at"]
    ordering_aliases = {"code": "code_sort"}
    action_permissions = {"generate": ["inventory.add_bin"]}

    def get_queryset(self):
        return selectors.bin_list()

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bin = services.bin_create(data=serializer.validated_data)
        return Response(self.get_serializer(bin).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        bin = self.get_object()
        serializer = self.get_serializer(bin, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        bin = services.bin_update(bin=bin, data=serializer.validated_data, user=request.user)
        return Response(self.get_serializer(bin).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.bin_delete(bin=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Generate a block of bins",
        description=(
            "Creates zones × aisles × racks × levels bins (inclusive ranges, at most "
            f"{services.BIN_GENERATE_LIMIT}) with codes ZONE-AISLE-RACK-LEVEL, zero-padded to `width` digits. "
            "Pick sequence continues after the warehouse's highest and follows a snake path: zone by zone, aisle by "
            "aisle; racks ascend in odd-numbered aisles and descend in even-numbered ones; levels ascend. "
            "All or nothing: existing codes are errors unless `skip_existing`. Needs inventory.add_bin."
        ),
        request=BinGenerateSerializer,
        responses={
            201: BinGenerateResultSerializer,
            400: error_response("Nothing created; `errors` names each problem."),
        },
    )
    @action(detail=False, methods=["post"])
    def generate(self, request: Request) -> Response:
        serializer = BinGenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        bins = services.bin_generate(**serializer.service_arguments())
        result = {
            "count": len(bins),
            "skipped": serializer.requested_count() - len(bins),
            "first_code": bins[0].code if bins else None,
            "last_code": bins[-1].code if bins else None,
            "first_pick_sequence": bins[0].pick_sequence if bins else None,
            "last_pick_sequence": bins[-1].pick_sequence if bins else None,
        }
        return Response(BinGenerateResultSerializer(result).data, status=status.HTTP_201_CREATED)
