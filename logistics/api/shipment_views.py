"""REST endpoints of shipments: list and read them, download a label or a wave's labels as one file (each print
logged), cancel one with its carrier, ask the carrier again for a label; and the tracking events carriers reported."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce, Length
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.exports import ExportNegotiation
from core.api.schema import error_response
from core.api.scoping import DataScopedViewMixin
from core.errors import Conflict, NotFound, ValidationFailed
from logistics.api.carrier_errors import CARRIER_REFUSED, CARRIER_UNAVAILABLE
from logistics.api.files import AS_BYTES, label_response
from logistics.api.references import SHIPMENT_SCOPE
from logistics.api.shipment_filters import ShipmentFilter, TrackingEventFilter
from logistics.api.shipment_serializers import (
    CancelShipmentSerializer,
    LabelDownloadSerializer,
    LabelsPrintSerializer,
    ShipmentDetailSerializer,
    ShipmentSerializer,
    TrackingEventSerializer,
)
from logistics.models import CustomsLine, LabelPrint, Shipment, ShipmentEvent, TrackingEvent
from logistics.printing import labels_print
from logistics.shipments import shipment_cancel, shipment_label_refresh

LABEL_FILES = {
    (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF labels, as the carrier sent them."),
    (200, "application/x-zpl"): OpenApiResponse(
        OpenApiTypes.BINARY, description="ZPL labels (accounts whose label format is ZPL), for a thermal printer."
    ),
    **AS_BYTES,
}


# --- reads: each list runs the same queries for 1 row and for 500 ------------------------------------------------


def shipments_listed() -> QuerySet[Shipment]:
    """Shipments with their account, method, parcel and manifest, how big the label is (its bytes are not read)
    and how often it was printed: one query."""
    prints = LabelPrint.objects.filter(shipment=OuterRef("pk")).order_by()
    print_count = prints.values("shipment").annotate(count=Count("pk")).values("count")
    return (
        Shipment.objects.select_related("account", "method", "parcel", "manifest")
        .defer("label", "manifest__carrier_document")
        .annotate(
            label_bytes=Length("label"),
            print_count=Coalesce(Subquery(print_count, output_field=IntegerField()), 0),
            last_printed_at=Subquery(prints.order_by("-printed_at", "-pk").values("printed_at")[:1]),
        )
    )


def shipments_detailed() -> QuerySet[Shipment]:
    """``shipments_listed`` with the customs lines, the status history (with who) and the tracking events."""
    return shipments_listed().prefetch_related(
        Prefetch("customs_lines", queryset=CustomsLine.objects.order_by("pk")),
        Prefetch("events", queryset=ShipmentEvent.objects.select_related("user").order_by("pk")),
        Prefetch("tracking_events", queryset=TrackingEvent.objects.order_by("occurred_at", "pk")),
    )


def shipment_detail(shipment: Shipment) -> dict:
    return ShipmentDetailSerializer(shipments_detailed().get(pk=shipment.pk)).data


@extend_schema_view(
    list=extend_schema(
        summary="List shipments",
        description="Newest first. Light: no label bytes, no lines (`has_label`, `label_format` and `label_size` say "
        "what the label is; GET `/shipments/{id}/label/` downloads it).",
    ),
    retrieve=extend_schema(
        summary="One shipment",
        description="With its customs lines, status history, tracking events, prints and void request.",
    ),
)
class ShipmentViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    data_scope = SHIPMENT_SCOPE
    serializer_class = ShipmentSerializer
    filterset_class = ShipmentFilter
    search_fields = ["number", "tracking_number", "reference"]
    ordering_fields = ["created_at", "updated_at", "number", "tracking_number"]
    ordering = ["-id"]
    # Whoever may see a shipment may print its label (packers do); every print is logged with who printed it.
    action_permissions = {
        "label": ["logistics.view_shipment"],
        "labels": ["logistics.view_shipment"],
        "cancel": ["logistics.change_shipment"],
        "refresh_label": ["logistics.change_shipment"],
    }

    def get_queryset(self):
        if self.action == "list":
            return shipments_listed()
        if self.action == "retrieve":
            return shipments_detailed()
        return Shipment.objects.select_related("account", "method")

    def get_serializer_class(self):
        return ShipmentDetailSerializer if self.action == "retrieve" else ShipmentSerializer

    @extend_schema(
        summary="Download a shipment's label",
        description="The label as stored (PDF, or ZPL for accounts that print ZPL), as an attachment named by the "
        "tracking number. Each download is logged as a print; one printed before is logged as a reprint, with "
        "`reason`.",
        parameters=[LabelDownloadSerializer],
        responses={
            **LABEL_FILES,
            404: error_response("No shipment has that id, or it has no label (`code` no_label)."),
            409: error_response("Its label must not be printed: the shipment is cancelled, failed or delivered."),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        content_negotiation_class=ExportNegotiation,
        filter_backends=[],
        pagination_class=None,
    )
    def label(self, request: Request, pk=None) -> HttpResponse:
        shipment = self.get_object()
        asked = LabelDownloadSerializer(data=request.query_params)
        asked.is_valid(raise_exception=True)
        if not shipment.label:
            raise NotFound(
                _("Shipment %(shipment)s has no label (it is %(status)s).")
                % {"shipment": shipment.number, "status": shipment.get_status_display()},
                code="no_label",
                shipment=shipment.number,
            )
        try:
            data, label_format = labels_print(
                shipments=[shipment], user=request.user, reason=asked.validated_data["reason"]
            )
        except ValidationFailed as refused:
            # Alone, "shipments[0]" names nothing the caller sent: the shipment's state is what refuses it.
            message = refused.errors[0].message if refused.errors else refused.message
            raise Conflict(message, code="not_printable", shipment=shipment.number) from None
        return label_response(data, label_format, shipment.tracking_number or shipment.number, request)

    @extend_schema(
        summary="Print many shipments' labels as one file",
        description="The labels in the order given (a wave prints in pick order), as one PDF, or one ZPL stream when "
        "the labels are ZPL; PDF and ZPL labels cannot be joined (409). Each is logged as a print (a reprint when "
        "printed before), with `batch` and `reason`. An unknown shipment, one named twice or one without a label "
        "to print is refused naming `shipments[i]`, and nothing is printed.",
        request=LabelsPrintSerializer,
        responses={
            **LABEL_FILES,
            409: error_response("PDF and ZPL labels in one request (`code` mixed_label_formats)."),
        },
    )
    @action(
        detail=False,
        methods=["post"],
        content_negotiation_class=ExportNegotiation,
        filter_backends=[],
        pagination_class=None,
    )
    def labels(self, request: Request) -> HttpResponse:
        asked = LabelsPrintSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        data, label_format = labels_print(user=request.user, **asked.validated_data)
        return label_response(data, label_format, f"labels-{timezone.localtime():%Y%m%d-%H%M%S}", request)

    @extend_schema(
        summary="Cancel a shipment and void its label with the carrier",
        description="Only before hand-over (409 after, and for delivered, returned or failed shipments); "
        "cancelling a cancelled shipment changes nothing. The carrier voids the label first; if it refuses or "
        "cannot be reached, the shipment stays as it was.",
        request=CancelShipmentSerializer,
        responses={
            200: ShipmentDetailSerializer,
            400: CARRIER_REFUSED,
            409: error_response("The shipment was handed over already (`code` invalid_transition)."),
            502: CARRIER_UNAVAILABLE,
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        shipment = self.get_object()
        asked = CancelShipmentSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        shipment = shipment_cancel(shipment=shipment, user=request.user, note=asked.validated_data["note"])
        return Response(shipment_detail(shipment))

    @extend_schema(
        summary="Ask the carrier again for a shipment's label",
        description="For a shipment still created (the carrier did not answer, or gives its tracking number later): "
        "sent again under the same number, so the carrier never makes a second parcel. The answer shows the "
        "outcome (label ready, still created with the carrier's message, or failed). Other shipments are "
        "returned as they are.",
        request=None,
        responses={200: ShipmentDetailSerializer, 400: CARRIER_REFUSED, 502: CARRIER_UNAVAILABLE},
    )
    @action(detail=True, methods=["post"], url_path="refresh-label")
    def refresh_label(self, request: Request, pk=None) -> Response:
        shipment = self.get_object()
        shipment = shipment_label_refresh(shipment=shipment, user=request.user)
        return Response(shipment_detail(shipment))


@extend_schema_view(
    list=extend_schema(
        summary="List tracking events",
        description="Each step of a parcel's journey as its carrier reported it, newest first; "
        "`?shipment=` for one shipment's.",
    ),
)
class TrackingEventViewSet(DataScopedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    data_scope = {dimension: f"shipment__{path}" for dimension, path in SHIPMENT_SCOPE.items()}
    serializer_class = TrackingEventSerializer
    filterset_class = TrackingEventFilter
    ordering_fields = ["occurred_at", "created_at"]
    ordering = ["-occurred_at", "-id"]
    queryset = TrackingEvent.objects.all()
