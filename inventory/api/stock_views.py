"""REST endpoints of stock: levels, availability, the ledger, the stock actions, reservations, import and export.

Transfers are in transfer_views.py and counts in count_views.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.exports import (
    EXPORT_PARAMETERS,
    EXPORT_RESPONSES,
    EXPORT_XLSX_MAX_ROWS,
    ExportNegotiation,
    export_response,
)
from core.api.pagination import CursorPagination
from core.api.parsers import MultiPartParser
from core.api.scoping import BY_VIEW, DataScopedViewMixin
from core.errors import ErrorDetail, ValidationFailed
from inventory import count_services, stock_selectors, stock_services
from inventory.api.stock_filters import (
    AvailabilityFilter,
    ReservationFilter,
    SellableChangeFilter,
    StockLevelFilter,
    StockMoveFilter,
    warehouse_ids_from_list,
)
from inventory.api.stock_serializers import (
    AdjustSerializer,
    MoveSerializer,
    PickSerializer,
    ProductAvailabilitySerializer,
    ReceiveSerializer,
    ReleaseSerializer,
    ReservationHistorySerializer,
    ReservationSerializer,
    ReserveSerializer,
    ReturnSerializer,
    SellableChangeSerializer,
    ShipSerializer,
    StockActionSerializer,
    StockImportResultSerializer,
    StockImportSerializer,
    StockLevelSerializer,
    StockMoveSerializer,
)
from inventory.models import Product, StockMove, Warehouse
from inventory.stock_import import stock_rows_from_upload

ADD_STOCK_MOVE = "inventory.add_stockmove"


STOCK_LEVEL_COLUMNS = ["warehouse", "bin", "zone", "bin_kind", "sellable", "sku", "product_name", "quantity"]
LEDGER_COLUMNS = [
    "id",
    "created_at",
    "warehouse",
    "sku",
    "from_bin",
    "to_bin",
    "quantity",
    "reason",
    "reference",
    "note",
    "user",
]


def _stock_level_row(level) -> list[Any]:
    bin = level.bin
    return [
        bin.warehouse.code,
        bin.code,
        bin.zone,
        bin.kind,
        "yes" if bin.is_sellable else "no",
        level.product.sku,
        level.product.name,
        level.on_hand,
    ]


def _ledger_row(move: StockMove) -> list[Any]:
    bin = move.from_bin or move.to_bin
    return [
        move.pk,
        timezone.localtime(move.created_at).isoformat(),
        bin.warehouse.code,
        move.product.sku,
        move.from_bin.code if move.from_bin else "",
        move.to_bin.code if move.to_bin else "",
        move.quantity,
        move.reason,
        move.reference,
        move.note,
        move.user.username if move.user else "",
    ]


# --- Stock levels, availability, ledger -------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List stock levels",
        description="Units per product per bin, by warehouse, bin (natural order) and SKU. Rows at zero are left "
        "out unless `include_zero=true`.",
    )
)
class StockLevelViewSet(DataScopedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    data_scope = {"warehouse": "bin__warehouse_id"}
    serializer_class = StockLevelSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = StockLevelFilter

    def get_queryset(self):
        # Zeros are dropped by the filter set, which knows whether include_zero was asked for.
        return stock_selectors.stock_levels(include_zero=True)

    @extend_schema(
        summary="Export stock levels",
        description="The list's rows (same filters) as CSV or XLSX; the columns sku, bin and quantity can be "
        "imported back with POST /stock/import/.",
        parameters=EXPORT_PARAMETERS,
        responses=EXPORT_RESPONSES,
        filters=True,
    )
    @action(detail=False, methods=["get"], content_negotiation_class=ExportNegotiation, pagination_class=None)
    def export(self, request: Request):
        return export_response(
            request,
            queryset=self.filter_queryset(self.get_queryset()),
            header=STOCK_LEVEL_COLUMNS,
            row_of=_stock_level_row,
            name="stock-levels",
        )


def _availability_items(products: list[Product], report: dict, warehouse_codes: dict[int, str]) -> list[dict]:
    items = []
    for product in products:
        figures = report[product.pk]
        items.append(
            {
                "product": product.pk,
                "sku": product.sku,
                "name": product.name,
                "is_bundle": product.is_bundle,
                "total": figures.total.as_dict(),
                "warehouses": [
                    {"warehouse": warehouse_id, "warehouse_code": warehouse_codes[warehouse_id], **numbers.as_dict()}
                    for warehouse_id, numbers in figures.warehouses.items()
                ],
            }
        )
    return items


@extend_schema_view(
    list=extend_schema(
        summary="Availability per product, per warehouse and in total",
        description="For each product (natural SKU order, bundles included): on hand, sellable (on hand in "
        "sellable bins), reserved, available = sellable − reserved, and incoming (transfers in transit), per "
        "warehouse and in total. A bundle counts whole bundles: in each warehouse the minimum over its components "
        "of the component's figure ÷ quantity; its total is the sum over warehouses, because one bundle ships "
        "from one warehouse. `warehouse` limits the warehouses counted (ids or codes, comma-separated). Needs "
        "inventory.view_inventorybalance.",
        responses={200: ProductAvailabilitySerializer(many=True)},
    )
)
class AvailabilityViewSet(DataScopedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    data_scope = {"warehouse": BY_VIEW}  # every product, counted in the warehouses in scope only (see list)
    serializer_class = ProductAvailabilitySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AvailabilityFilter
    action_permissions = {"list": ["inventory.view_inventorybalance"]}

    def get_queryset(self):
        return stock_selectors.availability_products()

    def list(self, request: Request, *args, **kwargs) -> Response:
        warehouse_ids = None
        if request.query_params.get("warehouse"):
            warehouse_ids, unknown = warehouse_ids_from_list(request.query_params["warehouse"])
            if unknown:
                raise ValidationFailed(
                    _("No warehouse has id or code %(items)s.") % {"items": ", ".join(unknown)},
                    errors=[
                        ErrorDetail(_("No warehouse %(item)s.") % {"item": item}, field="warehouse", code="not_found")
                        for item in unknown
                    ],
                )
        in_scope = self.scope_ids("warehouse")
        if in_scope is not None:
            warehouse_ids = sorted(in_scope if warehouse_ids is None else set(warehouse_ids) & in_scope)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        report = stock_selectors.availability(product_ids=[product.pk for product in page], warehouse_ids=warehouse_ids)
        seen = {warehouse_id for figures in report.values() for warehouse_id in figures.warehouses}
        codes = dict(Warehouse.objects.filter(pk__in=seen).values_list("pk", "code"))
        return self.get_paginated_response(_availability_items(page, report, codes))


@extend_schema_view(
    list=extend_schema(
        summary="The stock ledger",
        description="Every stock move, newest first, a cursor page at a time (follow `next`). Filter by product, "
        "bin (moves out of it and into it), warehouse, reference or reason.",
    ),
    retrieve=extend_schema(summary="One ledger row"),
)
class StockMoveViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    data_scope = {"warehouse": ("from_bin__warehouse_id", "to_bin__warehouse_id")}
    serializer_class = StockMoveSerializer
    pagination_class = CursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = StockMoveFilter

    def get_queryset(self):
        return stock_selectors.ledger()

    @extend_schema(
        summary="Export the ledger",
        description="The ledger's rows (same filters), newest first. CSV is streamed, so any size works; XLSX "
        f"holds at most {EXPORT_XLSX_MAX_ROWS} rows.",
        parameters=EXPORT_PARAMETERS,
        responses=EXPORT_RESPONSES,
        filters=True,
    )
    @action(detail=False, methods=["get"], content_negotiation_class=ExportNegotiation, pagination_class=None)
    def export(self, request: Request):
        return export_response(
            request,
            queryset=self.filter_queryset(self.get_queryset()),
            header=LEDGER_COLUMNS,
            row_of=_ledger_row,
            name="stock-ledger",
        )


# --- Stock actions ------------------------------------------------------------------------------------------


def _move_response(move: StockMove) -> Response:
    """201 with the ledger row as the ledger shows it (bins and warehouse by code)."""
    row = stock_selectors.ledger().get(pk=move.pk)
    return Response(StockMoveSerializer(row).data, status=status.HTTP_201_CREATED)


def _post_move(view: viewsets.GenericViewSet, request: Request, service: Callable[..., StockMove]) -> Response:
    """Validate the body's shape, call the one stock service with it, answer 201 with the ledger row."""
    serializer = view.get_serializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return _move_response(service(**serializer.service_arguments(), user=request.user))


def _move_schema(summary: str, description: str, request_serializer) -> Callable:
    return extend_schema(
        summary=summary,
        description=description,
        request=request_serializer,
        responses={201: StockMoveSerializer},
    )


class StockActionViewSet(DataScopedViewMixin, viewsets.GenericViewSet):
    """Each stock write is its own endpoint under /stock/; each calls one stock service."""

    data_scope = {"warehouse": BY_VIEW}  # the warehouses and bins of a body are looked up within the scope
    queryset = StockMove.objects.none()
    filter_backends = []  # actions, not lists: no search or ordering parameters
    # The input of each action, so OPTIONS (and the browsable API) can describe it.
    action_serializers = {
        "receive": ReceiveSerializer,
        "move": MoveSerializer,
        "adjust": AdjustSerializer,
        "return_": ReturnSerializer,
        "pick": PickSerializer,
        "ship": ShipSerializer,
        "reserve": ReserveSerializer,
        "release": ReleaseSerializer,
        "stock_import": StockImportSerializer,
    }
    # Stock that comes in without a document (a receipt, a customer return) needs more than the floor's moves: the
    # floor receives against transfers and purchase orders; these are a manager's, like an adjustment.
    action_permissions = {
        "receive": [ADD_STOCK_MOVE, "inventory.add_stocklevel"],
        "move": [ADD_STOCK_MOVE],
        "adjust": [ADD_STOCK_MOVE, "inventory.change_stocklevel"],
        "reserve": ["inventory.add_reservation"],
        "release": ["inventory.change_reservation"],
        "pick": [ADD_STOCK_MOVE, "inventory.change_reservation"],
        "ship": [ADD_STOCK_MOVE, "inventory.change_reservation"],
        "return_": [ADD_STOCK_MOVE, "inventory.add_stocklevel"],
        "stock_import": ["inventory.add_stockcount", "inventory.change_stockcount", ADD_STOCK_MOVE],
    }

    def get_serializer_class(self):
        # OPTIONS runs as the "metadata" action; the route's POST says which action it describes.
        action = self.action_map.get("post") if self.action == "metadata" else self.action
        return self.action_serializers.get(action, StockActionSerializer)

    @_move_schema(
        "Receive goods into a bin",
        "Posts a receipt. Bins by id, or by code with `warehouse`. Needs inventory.add_stockmove.",
        ReceiveSerializer,
    )
    @action(detail=False, methods=["post"])
    def receive(self, request: Request) -> Response:
        return _post_move(self, request, stock_services.stock_receive)

    @_move_schema(
        "Move stock between two bins of a warehouse",
        "A bin-to-bin move or a put-away (`reason`). 409 when the source bin holds fewer units, or when "
        "moving them out of sellable bins would leave reserved units uncovered.",
        MoveSerializer,
    )
    @action(detail=False, methods=["post"])
    def move(self, request: Request) -> Response:
        return _post_move(self, request, stock_services.stock_move)

    @_move_schema(
        "Adjust a bin's quantity",
        "Adds (`delta` > 0) or takes away (`delta` < 0) units, with a reason in `note`. 409 when taking away "
        "more than the bin holds. Needs inventory.add_stockmove and inventory.change_stocklevel.",
        AdjustSerializer,
    )
    @action(detail=False, methods=["post"])
    def adjust(self, request: Request) -> Response:
        return _post_move(self, request, stock_services.stock_adjust)

    @_move_schema(
        "Receive a customer return",
        "Posts a return into a bin (usually a quarantine bin, which is not sellable).",
        ReturnSerializer,
    )
    @action(detail=False, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request) -> Response:
        return _post_move(self, request, stock_services.stock_return)

    @_move_schema(
        "Pick reserved units",
        "Moves reserved units of `reference` from a sellable bin to a packing bin; the reservation becomes picked. "
        "409 when `reference` has fewer units reserved, or the bin holds fewer.",
        PickSerializer,
    )
    @action(detail=False, methods=["post"])
    def pick(self, request: Request) -> Response:
        return _post_move(self, request, stock_services.stock_pick)

    @_move_schema(
        "Ship picked units",
        "Picked units of `reference` leave the warehouse. 409 when fewer were picked.",
        ShipSerializer,
    )
    @action(detail=False, methods=["post"])
    def ship(self, request: Request) -> Response:
        return _post_move(self, request, stock_services.stock_ship)

    @extend_schema(
        summary="Reserve stock for a reference",
        description="Every line in one warehouse, or nothing: 409 names each short SKU with what is available. "
        "Needs inventory.add_reservation.",
        request=ReserveSerializer,
        responses={201: ReservationSerializer(many=True)},
    )
    @action(detail=False, methods=["post"], pagination_class=None)
    def reserve(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reservations = stock_services.stock_reserve(**serializer.service_arguments(), user=request.user)
        return Response(ReservationSerializer(reservations, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Release reserved stock",
        description="Gives back the given lines, or everything still reserved for `reference`. Nothing is created, "
        "so the answer is 200 with the reservations as they are now. Needs inventory.change_reservation.",
        request=ReleaseSerializer,
        responses={200: ReservationSerializer(many=True)},
    )
    @action(detail=False, methods=["post"], pagination_class=None)
    def release(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reservations = stock_services.stock_release(**serializer.service_arguments(), user=request.user)
        return Response(ReservationSerializer(reservations, many=True).data)

    @extend_schema(
        summary="Import bin quantities from a CSV or XLSX file",
        description="Multipart form: `file` (CSV in UTF-8, UTF-16 or GB18030, or XLSX; header row with sku, bin "
        "and quantity or qty; other columns are ignored) and `warehouse`. Each row sets a bin's quantity of a SKU "
        "through a stock count that is opened over the file's bins and approved at once, so every unit changed has "
        "a ledger row "
        "(reason count, reference the count number). Opening balances work the same way. All or nothing: 400 "
        "lists every bad row (row numbers as in the file, the header being row 1) with its field.",
        request={"multipart/form-data": StockImportSerializer},
        responses={201: StockImportResultSerializer},
    )
    @action(detail=False, methods=["post"], url_path="import", url_name="import", parser_classes=[MultiPartParser])
    def stock_import(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rows = list(stock_rows_from_upload(serializer.validated_data["file"]))
        count = count_services.stock_count_import_rows(
            warehouse=serializer.validated_data["warehouse"],
            rows=rows,
            note=serializer.validated_data["note"],
            user=request.user,
        )
        postings = stock_selectors.stock_count_postings(count=count)
        result = {
            "count": count.pk,
            "number": count.number,
            "rows": len(rows),
            "moves_posted": postings["moves"],
            "units_in": postings["units_in"],
            "units_out": postings["units_out"],
        }
        return Response(StockImportResultSerializer(result).data, status=status.HTTP_201_CREATED)


# --- Reservations and sellable changes: who took stock off sale ----------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Reservations with their history",
        description="Newest first. Each reservation with its events: reserved, released, picked and shipped, "
        "how many, by whom and when. Filter by product, warehouse (id or code) or reference. Needs "
        "inventory.view_reservation.",
    ),
    retrieve=extend_schema(summary="One reservation with its history"),
)
class ReservationViewSet(
    DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    data_scope = {"warehouse": "warehouse_id"}
    serializer_class = ReservationHistorySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReservationFilter

    def get_queryset(self):
        return stock_selectors.reservation_list()


@extend_schema_view(
    list=extend_schema(
        summary="Bins put on or taken off sale",
        description="Newest first: per product in the bin, the units that went on or off sale when a bin was "
        "made sellable or not, by whom and when (a bin that held nothing has one row without a product). Filter "
        "by product, bin or warehouse. Needs inventory.view_sellablechange.",
    ),
)
class SellableChangeViewSet(DataScopedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    data_scope = {"warehouse": "bin__warehouse_id"}
    serializer_class = SellableChangeSerializer
    pagination_class = CursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = SellableChangeFilter

    def get_queryset(self):
        return stock_selectors.sellable_changes()
