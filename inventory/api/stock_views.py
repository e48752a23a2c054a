"""REST endpoints for stock: levels, availability, the ledger, stock actions, transfers, counts, import/export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from openpyxl import Workbook
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.pagination import CursorPagination
from core.errors import ErrorDetail, ValidationFailed
from core.spreadsheet import escape_formula
from inventory import count_services, stock_selectors, stock_services, transfer_services
from inventory.api.stock_filters import (
    AvailabilityFilter,
    StockCountFilter,
    StockLevelFilter,
    StockMoveFilter,
    TransferFilter,
    warehouse_ids_from_list,
)
from inventory.api.stock_serializers import (
    AdjustSerializer,
    ErrorSerializer,
    MoveSerializer,
    PickSerializer,
    ProductAvailabilitySerializer,
    ReceiveSerializer,
    ReleaseSerializer,
    ReservationSerializer,
    ReserveSerializer,
    ReturnSerializer,
    ShipSerializer,
    StockCountApproveSerializer,
    StockCountCreateSerializer,
    StockCountDetailSerializer,
    StockCountLineSerializer,
    StockCountRecordSerializer,
    StockCountSerializer,
    StockCountVarianceSerializer,
    StockImportResultSerializer,
    StockImportSerializer,
    StockLevelSerializer,
    StockMoveSerializer,
    TransferCancelSerializer,
    TransferCreateSerializer,
    TransferReceiveSerializer,
    TransferSerializer,
    TransferShipSerializer,
)
from inventory.models import Product, StockCount, StockMove, Warehouse
from inventory.stock_import import stock_rows_from_upload

ADD_STOCK_MOVE = "inventory.add_stockmove"
EXPORT_XLSX_MAX_ROWS = 100_000
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `errors` names each field. Nothing saved."),
    409: OpenApiResponse(
        ErrorSerializer,
        description="Not enough stock, or a stock rule would break: says what was asked, what is "
        "there, and where. Nothing saved.",
    ),
}


# --- Exports ------------------------------------------------------------------------------------------------


class ExportNegotiation(DefaultContentNegotiation):
    """Exports read ``?format=csv|xlsx`` themselves; DRF would take it as a renderer name. Errors stay JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


EXPORT_PARAMETERS = [
    OpenApiParameter(
        "format", OpenApiTypes.STR, enum=["csv", "xlsx"], default="csv", description="File type of the export."
    )
]
EXPORT_RESPONSES = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="CSV, UTF-8 with BOM."),
    (200, XLSX_MEDIA_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="XLSX workbook, one sheet."),
    400: OpenApiResponse(ErrorSerializer, description="Unknown format, or too many rows for XLSX."),
}


class _Echo:
    """A file that hands back what is written, so csv.writer can feed a streaming response line by line."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # the BOM makes Excel read the file as UTF-8 (Chinese product names)
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([escape_formula(value) for value in row])


def export_response(
    request: Request,
    *,
    queryset: QuerySet,
    header: list[str],
    row_of: Callable[[Any], list[Any]],
    name: str,
) -> HttpResponse | StreamingHttpResponse:
    """Stream the rows as CSV (any size), or build an XLSX (at most EXPORT_XLSX_MAX_ROWS rows)."""
    file_format = (request.query_params.get("format") or "csv").lower()
    filename = f"{name}-{timezone.localtime():%Y%m%d-%H%M%S}"
    if file_format == "csv":
        rows = (row_of(item) for item in queryset.iterator(chunk_size=2000))
        response = StreamingHttpResponse(_csv_lines(header, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    if file_format != "xlsx":
        raise ValidationFailed(
            f"Unknown export format {file_format!r}; use csv or xlsx.",
            errors=[ErrorDetail("Must be csv or xlsx.", field="format", code="invalid_choice")],
        )
    total = queryset.count()
    if total > EXPORT_XLSX_MAX_ROWS:
        raise ValidationFailed(
            f"{total} rows are too many for XLSX (at most {EXPORT_XLSX_MAX_ROWS}); narrow the filters or use csv.",
            code="too_many_rows",
            errors=[ErrorDetail(f"At most {EXPORT_XLSX_MAX_ROWS} rows.", field="format", code="too_many_rows")],
        )
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(name)
    sheet.append(header)
    for item in queryset.iterator(chunk_size=2000):
        sheet.append([escape_formula(value) for value in row_of(item)])
    content = io.BytesIO()
    workbook.save(content)
    response = HttpResponse(content.getvalue(), content_type=XLSX_MEDIA_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


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
class StockLevelViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
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
        responses={200: ProductAvailabilitySerializer(many=True), 400: ERRORS[400]},
    )
)
class AvailabilityViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
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
                    f"No warehouse has id or code {', '.join(unknown)}.",
                    errors=[
                        ErrorDetail(f"No warehouse {item}.", field="warehouse", code="not_found") for item in unknown
                    ],
                )
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
class StockMoveViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
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


def _post_move(request: Request, serializer_class, service: Callable[..., StockMove]) -> Response:
    """Validate the body's shape, call the one stock service with it, answer 201 with the ledger row."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return _move_response(service(**serializer.service_arguments(), user=request.user))


def _move_schema(summary: str, description: str, request_serializer) -> Callable:
    return extend_schema(
        summary=summary,
        description=description,
        request=request_serializer,
        responses={201: StockMoveSerializer, **ERRORS},
    )


class StockActionViewSet(viewsets.GenericViewSet):
    """Each stock write is its own endpoint under /stock/; each calls one stock service."""

    queryset = StockMove.objects.none()
    action_permissions = {
        "receive": [ADD_STOCK_MOVE],
        "move": [ADD_STOCK_MOVE],
        "adjust": [ADD_STOCK_MOVE, "inventory.change_stocklevel"],
        "reserve": ["inventory.add_reservation"],
        "release": ["inventory.change_reservation"],
        "pick": [ADD_STOCK_MOVE, "inventory.change_reservation"],
        "ship": [ADD_STOCK_MOVE, "inventory.change_reservation"],
        "return_": [ADD_STOCK_MOVE],
        "stock_import": ["inventory.add_stockcount", "inventory.change_stockcount", ADD_STOCK_MOVE],
    }

    @_move_schema(
        "Receive goods into a bin",
        "Posts a receipt. Bins by id, or by code with `warehouse`. Needs inventory.add_stockmove.",
        ReceiveSerializer,
    )
    @action(detail=False, methods=["post"])
    def receive(self, request: Request) -> Response:
        return _post_move(request, ReceiveSerializer, stock_services.stock_receive)

    @_move_schema(
        "Move stock between two bins of a warehouse",
        "A bin-to-bin move or a put-away (`reason`). 409 when the source bin holds fewer units, or when "
        "moving them out of sellable bins would leave reserved units uncovered.",
        MoveSerializer,
    )
    @action(detail=False, methods=["post"])
    def move(self, request: Request) -> Response:
        return _post_move(request, MoveSerializer, stock_services.stock_move)

    @_move_schema(
        "Adjust a bin's quantity",
        "Adds (`delta` > 0) or takes away (`delta` < 0) units, with a reason in `note`. 409 when taking away "
        "more than the bin holds. Needs inventory.add_stockmove and inventory.change_stocklevel.",
        AdjustSerializer,
    )
    @action(detail=False, methods=["post"])
    def adjust(self, request: Request) -> Response:
        return _post_move(request, AdjustSerializer, stock_services.stock_adjust)

    @_move_schema(
        "Receive a customer return",
        "Posts a return into a bin (usually a quarantine bin, which is not sellable).",
        ReturnSerializer,
    )
    @action(detail=False, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request) -> Response:
        return _post_move(request, ReturnSerializer, stock_services.stock_return)

    @_move_schema(
        "Pick reserved units",
        "Moves reserved units of `reference` from a sellable bin to a packing bin; the reservation becomes picked. "
        "409 when `reference` has fewer units reserved, or the bin holds fewer.",
        PickSerializer,
    )
    @action(detail=False, methods=["post"])
    def pick(self, request: Request) -> Response:
        return _post_move(request, PickSerializer, stock_services.stock_pick)

    @_move_schema(
        "Ship picked units",
        "Picked units of `reference` leave the warehouse. 409 when fewer were picked.",
        ShipSerializer,
    )
    @action(detail=False, methods=["post"])
    def ship(self, request: Request) -> Response:
        return _post_move(request, ShipSerializer, stock_services.stock_ship)

    @extend_schema(
        summary="Reserve stock for a reference",
        description="Every line in one warehouse, or nothing: 409 names each short SKU with what is available. "
        "Needs inventory.add_reservation.",
        request=ReserveSerializer,
        responses={201: ReservationSerializer(many=True), **ERRORS},
    )
    @action(detail=False, methods=["post"])
    def reserve(self, request: Request) -> Response:
        serializer = ReserveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reservations = stock_services.stock_reserve(**serializer.service_arguments())
        return Response(ReservationSerializer(reservations, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Release reserved stock",
        description="Gives back the given lines, or everything still reserved for `reference`. Nothing is created, "
        "so the answer is 200 with the reservations as they are now. Needs inventory.change_reservation.",
        request=ReleaseSerializer,
        responses={200: ReservationSerializer(many=True), **ERRORS},
    )
    @action(detail=False, methods=["post"])
    def release(self, request: Request) -> Response:
        serializer = ReleaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reservations = stock_services.stock_release(**serializer.service_arguments())
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
        responses={201: StockImportResultSerializer, 400: ERRORS[400], 409: ERRORS[409]},
    )
    @action(detail=False, methods=["post"], url_path="import", url_name="import", parser_classes=[MultiPartParser])
    def stock_import(self, request: Request) -> Response:
        serializer = StockImportSerializer(data=request.data)
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


# --- Transfers ----------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List transfers", description="Newest first, with lines and status history."),
    retrieve=extend_schema(summary="One transfer"),
    create=extend_schema(
        summary="Create a draft transfer",
        description="Lines name a product and quantity, and optionally a bin of the source (id or code); lines "
        "without one take from the source's sellable bins when shipped. Needs inventory.add_transfer.",
        request=TransferCreateSerializer,
        responses={201: TransferSerializer, 400: ERRORS[400]},
    ),
)
class TransferViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TransferSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = TransferFilter
    action_permissions = {
        "ship": ["inventory.change_transfer", ADD_STOCK_MOVE],
        "receive": ["inventory.change_transfer", ADD_STOCK_MOVE],
        "cancel": ["inventory.change_transfer"],
    }

    def get_queryset(self):
        return stock_selectors.transfer_list()

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
        responses={200: TransferSerializer, **ERRORS},
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
        responses={200: TransferSerializer, **ERRORS},
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
        responses={200: TransferSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        serializer = TransferCancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transfer = transfer_services.transfer_cancel(
            transfer=self.get_object(), user=request.user, **serializer.validated_data
        )
        return self._transfer_response(transfer)


# --- Counts -------------------------------------------------------------------------------------------------


def _expected_hidden(request: Request, count: StockCount) -> bool:
    """A blind count shows counters no book figures while it is open; people who may approve it see them."""
    return (
        count.is_blind
        and count.status == StockCount.Status.OPEN
        and not request.user.has_perm("inventory.change_stockcount")
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
        responses={201: StockCountDetailSerializer, **ERRORS},
    ),
)
class StockCountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
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
        return stock_selectors.stock_count_list()

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
        responses={200: StockCountLineSerializer, **ERRORS},
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
        responses={200: StockCountDetailSerializer, **ERRORS},
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
        responses={200: StockCountDetailSerializer, **ERRORS},
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
        rows = count_services.stock_count_variance(count, include_expected=not _expected_hidden(request, count))
        return Response(StockCountVarianceSerializer(rows, many=True).data)
