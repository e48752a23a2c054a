"""REST endpoints of purchase orders: list, read, create and change drafts, submit, cancel, the PDF, export and
import of lines, and drafts made from purchase suggestions. Reads come from selectors, writes from
purchasing.orders (and purchasing.po_resources for the import)."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.exports import EXPORT_PARAMETERS, EXPORT_RESPONSES, ExportNegotiation, export_response
from core.api.parsers import MultiPartParser
from core.api.permissions import OutOfScope, request_has_perms
from core.api.scoping import DataScopedViewMixin, request_scope
from core.errors import NotFound
from inventory import stock_selectors
from logistics.api.files import AS_BYTES, file_response
from purchasing import orders, selectors
from purchasing.api.order_filters import PurchaseOrderFilter
from purchasing.api.order_serializers import (
    FromSuggestionsResultSerializer,
    FromSuggestionsSerializer,
    PurchaseOrderCancelSerializer,
    PurchaseOrderCreateSerializer,
    PurchaseOrderDetailSerializer,
    PurchaseOrderImportResultSerializer,
    PurchaseOrderImportSerializer,
    PurchaseOrderSerializer,
    PurchaseOrderSubmitSerializer,
    PurchaseOrderUpdateSerializer,
)
from purchasing.api.planning_views import SUGGESTION_SCOPE
from purchasing.models import PurchaseOrder, Suggestion
from purchasing.po_pdf import purchase_order_pdf
from purchasing.po_resources import EXPORT_COLUMNS, purchase_order_line_row, purchase_orders_import

CHANGE_ORDER = "purchasing.change_purchaseorder"
ADD_ORDER = "purchasing.add_purchaseorder"
VIEW_ORDER = "purchasing.view_purchaseorder"
# Transfer suggestions become draft transfers: whoever orders them must be allowed to make transfers.
ADD_TRANSFER = "inventory.add_transfer"


@extend_schema_view(
    list=extend_schema(
        summary="List purchase orders",
        description="Newest first, each with its line count, units and value. Filter by status, supplier, "
        "warehouse, SKU on a line, and the days made or expected.",
    ),
    retrieve=extend_schema(
        summary="One purchase order",
        description="With its lines (ordered, received, rejected and still open quantities) and status history.",
        responses={200: PurchaseOrderDetailSerializer},
    ),
    create=extend_schema(
        summary="Create a draft purchase order",
        description="Lines name a product (id or SKU), a quantity and optionally a unit cost; without one, the "
        "cost and supplier SKU are the supplier product's. A product the supplier has no supplier product for "
        "needs a cost. The same product twice is one line, quantities added up. `currency` defaults to the "
        "supplier's. Every problem is listed with its field (`lines[2].quantity`).",
        request=PurchaseOrderCreateSerializer,
        responses={201: PurchaseOrderDetailSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a purchase order",
        description="A draft may change its warehouse, currency, expected date, supplier's reference, note and "
        "lines (`lines` given replace them all). Once submitted only the expected date, the supplier's reference "
        "and the note change (409 for the rest); a received or cancelled order no longer changes.",
        request=PurchaseOrderUpdateSerializer,
        responses={200: PurchaseOrderDetailSerializer},
    ),
)
class PurchaseOrderViewSet(
    DataScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Purchase orders. There is no DELETE: an order that will not be placed is cancelled."""

    data_scope = {"warehouse": "warehouse_id"}

    serializer_class = PurchaseOrderSerializer
    filterset_class = PurchaseOrderFilter
    search_fields = ["=number", "supplier__name", "supplier_reference"]
    ordering_fields = ["id", "number", "created_at", "expected_on", "submitted_at", "status"]
    ordering = ["-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        "submit": [CHANGE_ORDER],
        "cancel": [CHANGE_ORDER],
        "pdf": [VIEW_ORDER],
        "export": [VIEW_ORDER],
        "import_lines": [ADD_ORDER, CHANGE_ORDER],
        "from_suggestions": [ADD_ORDER, "purchasing.change_suggestion"],
    }

    def get_queryset(self):
        if self.action == "list":
            return selectors.purchase_order_list()
        if self.action == "retrieve":
            return selectors.purchase_order_detail()
        # The writes lock and read the order themselves; the export reads lines.
        return PurchaseOrder.objects.select_related("supplier", "warehouse").order_by("-id")

    def get_serializer_class(self):
        if self.action == "retrieve":
            return PurchaseOrderDetailSerializer
        if self.action == "create":
            return PurchaseOrderCreateSerializer
        if self.action == "partial_update":
            return PurchaseOrderUpdateSerializer
        return PurchaseOrderSerializer

    def _order_response(self, order: PurchaseOrder, code: int = status.HTTP_200_OK) -> Response:
        return Response(PurchaseOrderDetailSerializer(selectors.purchase_order_detail().get(pk=order.pk)).data, code)

    def create(self, request: Request, *args, **kwargs) -> Response:
        asked = PurchaseOrderCreateSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        order = orders.purchase_order_create(**asked.service_arguments(), user=request.user)
        return self._order_response(order, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        order = self.get_object()
        asked = PurchaseOrderUpdateSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        order = orders.purchase_order_update(purchase_order=order, **asked.service_arguments())
        return self._order_response(order)

    @extend_schema(
        summary="Submit a draft to the supplier",
        description="Needs at least one line and an active supplier (409 otherwise). The expected date is the one "
        "given, else the draft's, else today plus the longest lead time of its lines.",
        request=PurchaseOrderSubmitSerializer,
        responses={200: PurchaseOrderDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk=None) -> Response:
        asked = PurchaseOrderSubmitSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        order = orders.purchase_order_submit(
            purchase_order=self.get_object(), user=request.user, **asked.validated_data
        )
        return self._order_response(order)

    @extend_schema(
        summary="Cancel a purchase order",
        description="A draft, or a submitted order of which nothing was received; its suggestions are open again. "
        "Once goods came in, 409: the order is closed short instead.",
        request=PurchaseOrderCancelSerializer,
        responses={200: PurchaseOrderDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        asked = PurchaseOrderCancelSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        order = orders.purchase_order_cancel(
            purchase_order=self.get_object(), user=request.user, **asked.validated_data
        )
        return self._order_response(order)

    @extend_schema(
        summary="The purchase order as a PDF (what the supplier is sent)",
        description="A4: buyer and delivery address, supplier, the number as a Code 128 barcode, the lines with "
        "SKU, supplier SKU, quantity, unit cost and line total, the totals, the expected date and the note; "
        "headings in Chinese and English.",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF, A4."), **AS_BYTES},
    )
    @action(detail=True, methods=["get"], content_negotiation_class=ExportNegotiation, filter_backends=[])
    def pdf(self, request: Request, pk=None) -> HttpResponse:
        order = self.get_object()
        return file_response(purchase_order_pdf(order), "application/pdf", f"{order.number}.pdf", request)

    @extend_schema(
        summary="Export purchase order lines",
        description="One row per line of the orders the list's filters select: "
        + ", ".join(EXPORT_COLUMNS)
        + ". Drafts exported this way can be edited and imported back with POST /purchase-orders/import/.",
        parameters=EXPORT_PARAMETERS,
        responses=EXPORT_RESPONSES,
        filters=True,
    )
    @action(detail=False, methods=["get"], content_negotiation_class=ExportNegotiation, pagination_class=None)
    def export(self, request: Request):
        return export_response(
            request,
            queryset=selectors.purchase_order_line_list(self.filter_queryset(self.get_queryset())),
            header=EXPORT_COLUMNS,
            row_of=purchase_order_line_row,
            name="purchase-order-lines",
        )

    @extend_schema(
        summary="Import purchase order lines as draft orders",
        description="Multipart form: `file`, CSV (UTF-8, UTF-16 or GB18030) or XLSX, one row per line: number, "
        "supplier (name), warehouse (code), sku, quantity, and optionally unit_cost, currency and expected_on "
        "(the export's other columns are accepted and not read). Rows without a number become one new draft per "
        "supplier and warehouse; rows with a key of your own (A, B, ...) become one new draft per key; rows with "
        "an existing draft's number replace that draft's lines. All or nothing: 400 lists every bad row (row "
        "numbers as in the file, the header being row 1) with its column.",
        request={"multipart/form-data": PurchaseOrderImportSerializer},
        responses={201: PurchaseOrderImportResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[MultiPartParser],
        filter_backends=[],
        pagination_class=None,
    )
    def import_lines(self, request: Request) -> Response:
        if self.scope_ids("warehouse") is not None:
            # The file names warehouses by code, row by row, read by the import service; not for a limited token.
            raise OutOfScope(_("A token limited to some warehouses cannot import purchase orders from a file."))
        asked = PurchaseOrderImportSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        imported = purchase_orders_import(source=asked.validated_data["file"], user=request.user)
        listed = {
            order.pk: order for order in selectors.purchase_order_list().filter(pk__in=[o.pk for o in imported.orders])
        }
        result = {
            "rows": len(imported.order_of_row),
            "created": [listed[order.pk] for order in imported.created],
            "updated": [listed[order.pk] for order in imported.updated],
        }
        return Response(PurchaseOrderImportResultSerializer(result).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Draft purchase orders and transfers from suggestions",
        description="Purchase suggestions become one draft order per supplier and warehouse (the suggestion's "
        "supplier product, else the product's preferred, else its cheapest); transfer suggestions become one "
        "draft transfer per source and destination (needs inventory.add_transfer too). Each suggestion ordered is "
        "marked ordered and linked to its line or transfer; the ones not ordered are listed with the reason "
        "(not open, nothing to order, no supplier, ...). 201 when something was made, 200 when everything was "
        "skipped. Two buyers ordering the same suggestions at once never order them twice.",
        request=FromSuggestionsSerializer,
        responses={201: FromSuggestionsResultSerializer, 200: FromSuggestionsResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="from-suggestions",
        url_name="from-suggestions",
        filter_backends=[],
        pagination_class=None,
    )
    def from_suggestions(self, request: Request) -> Response:
        asked = FromSuggestionsSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        ids = asked.validated_data["suggestions"]
        if request_scope(request).is_limited:  # a suggestion out of the token's scope is one it does not know
            within = self.scope_queryset(Suggestion.objects.filter(pk__in=ids), SUGGESTION_SCOPE)
            out_of_scope = set(ids) - set(within.values_list("pk", flat=True))
            if out_of_scope:
                raise NotFound(_("No suggestion has id %(id)s.") % {"id": min(out_of_scope)}, code="not_found")
        if (
            not request_has_perms(request, [ADD_TRANSFER])
            and Suggestion.objects.filter(
                pk__in=ids, kind=Suggestion.Kind.TRANSFER, status=Suggestion.Status.OPEN
            ).exists()
        ):
            raise PermissionDenied(
                _("Some of these suggestions are transfers, and your roles may not create transfers.")
            )
        made = orders.purchase_orders_from_suggestions(suggestions=ids, user=request.user)
        result = {
            "purchase_orders": list(
                selectors.purchase_order_detail()
                .filter(pk__in=[order.pk for order in made.purchase_orders])
                .order_by("id")
            ),
            "transfers": list(
                stock_selectors.transfer_list()
                .filter(pk__in=[transfer.pk for transfer in made.transfers])
                .order_by("id")
            ),
            "skipped": made.skipped,
        }
        code = status.HTTP_201_CREATED if made.purchase_orders or made.transfers else status.HTTP_200_OK
        return Response(FromSuggestionsResultSerializer(result).data, status=code)
