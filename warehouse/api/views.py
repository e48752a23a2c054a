"""REST endpoints of the floor: waves (list, read, make, preview, release, make labels, print the pick list, assign
a picker), the scan log, and the productivity figures."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import SearchFilter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.exports import ExportNegotiation
from core.api.pagination import CursorPagination
from core.api.permissions import ModelPermissions
from core.api.schema import error_response
from core.api.scoping import DataScopedViewMixin
from logistics.api.files import AS_BYTES, file_response
from orders.models import ParcelLine
from warehouse.api.filters import ScanEventFilter, WaveFilter
from warehouse.api.serializers import (
    ProductivityQuerySerializer,
    ProductivitySerializer,
    ScanEventSerializer,
    WaveCandidatesQuerySerializer,
    WaveCandidatesSerializer,
    WaveCriteriaSerializer,
    WaveDetailSerializer,
    WaveLabelsSerializer,
    WavePickerSerializer,
    WaveReleaseSerializer,
    WaveSerializer,
)
from warehouse.models import ScanEvent, Wave
from warehouse.selectors import productivity, productivity_range, scans_listed, waves_detailed, waves_listed
from warehouse.waves import pick_list_pdf, wave_assign, wave_candidates, wave_create, wave_labels_make, wave_release

CREATE_DESCRIPTION = """
A draft wave of the allocated parcels of the warehouse that the criteria choose (every order of them allocated, in
no other wave), oldest ship-by first, up to `max_parcels` parcels and `max_lines` order lines. Two waves made at
once never take the same parcel. Nothing matching is a 409 (`code` wave_empty). GET `/waves/candidates/` shows
what the same criteria would take, without making anything.
"""

RELEASE_DESCRIPTION = """
The pick path is built (one task per bin and SKU, in the bins' pick sequence, pick faces before bulk), a cart bin
takes what is picked, the orders move to picking, and the labels are made in the background right after (POST
`/waves/{id}/labels/` makes them at once). A parcel whose units no bin holds is marked short at once.
"""


def wave_detail(wave: Wave) -> dict:
    return WaveDetailSerializer(waves_detailed().get(pk=wave.pk)).data


@extend_schema_view(
    list=extend_schema(
        summary="List waves",
        description="Newest first, with their progress in units (`units_picked` of `units_to_pick`).",
    ),
    retrieve=extend_schema(
        summary="One wave, with its parcels and pick path",
        description="Parcels in pick order (with their order IDs, status, sorting-wall slot and units picked and "
        "packed), the pick tasks in walking order, and the progress.",
    ),
)
class WaveViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    data_scope = {"warehouse": "warehouse_id"}
    http_method_names = ["get", "post", "head", "options"]
    serializer_class = WaveSerializer
    filterset_class = WaveFilter
    search_fields = ["=number"]
    ordering_fields = ["created_at", "released_at", "number", "parcel_count", "unit_count"]
    ordering = ["-id"]
    action_permissions = {
        "candidates": ["warehouse.view_wave"],
        "release": ["warehouse.change_wave"],
        "labels": ["warehouse.change_wave"],
        "assign": ["warehouse.change_wave"],
        "pick_list": ["warehouse.view_wave"],
    }

    def get_queryset(self):
        if self.action == "retrieve":
            return waves_detailed()
        if self.action == "list":
            return waves_listed()
        return Wave.objects.select_related("warehouse")

    def get_serializer_class(self):
        return WaveDetailSerializer if self.action == "retrieve" else WaveSerializer

    @extend_schema(
        summary="Make a wave",
        description=CREATE_DESCRIPTION,
        request=WaveCriteriaSerializer,
        responses={
            201: WaveDetailSerializer,
            409: error_response("No allocated parcel matches the criteria (`code` wave_empty)."),
        },
    )
    def create(self, request: Request) -> Response:
        asked = WaveCriteriaSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        wave = wave_create(criteria=asked.criteria(), user=request.user)
        return Response(wave_detail(wave), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="What a wave would take (a preview)",
        description="How many allocated parcels the criteria match now, and the first of them in the order a wave "
        "takes them (`limit`). Nothing is made or kept; a wave made next may take fewer (`max_lines`) or others "
        "(another wave took some meanwhile). Ids repeat: `?method_ids=1&method_ids=2`.",
        parameters=[WaveCandidatesQuerySerializer],
        responses={200: WaveCandidatesSerializer},
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def candidates(self, request: Request) -> Response:
        asked = WaveCandidatesQuerySerializer(data=request.query_params)
        asked.is_valid(raise_exception=True)
        matching = wave_candidates(asked.criteria())
        lines = ParcelLine.objects.select_related("order").order_by("pk")
        first = matching.select_related("shipping_method").prefetch_related(Prefetch("lines", queryset=lines))
        answer = {"count": matching.count(), "parcels": list(first[: asked.validated_data["limit"]])}
        return Response(WaveCandidatesSerializer(answer).data)

    @extend_schema(
        summary="Release a wave to the floor",
        description=RELEASE_DESCRIPTION,
        request=WaveReleaseSerializer,
        responses={200: WaveDetailSerializer, 409: error_response("The wave was released already.")},
    )
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk=None) -> Response:
        wave = self.get_object()
        asked = WaveReleaseSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        wave = wave_release(wave=wave, user=request.user, picker=asked.validated_data["picker"])
        return Response(wave_detail(wave))

    @extend_schema(
        summary="Make the wave's labels now",
        description="Each parcel's shipment and label with its method's carrier account, one carrier call at a "
        "time; safe to repeat (a parcel with a live shipment keeps it). A parcel the carrier refused keeps why in "
        "its note. The answer counts the parcels by outcome.",
        request=None,
        responses={200: WaveLabelsSerializer},
    )
    @action(detail=True, methods=["post"])
    def labels(self, request: Request, pk=None) -> Response:
        wave = self.get_object()
        return Response(WaveLabelsSerializer(wave_labels_make(wave=wave, user=request.user)).data)

    @extend_schema(
        summary="Assign the wave to a picker",
        description="Only that person may start picking it (null: whoever starts it first). A wave being picked "
        "changes hands; a picked, done or cancelled wave is a 409. The picker must be active and allowed to pick.",
        request=WavePickerSerializer,
        responses={200: WaveDetailSerializer, 409: error_response("The wave has nothing left to pick.")},
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk=None) -> Response:
        wave = self.get_object()
        asked = WavePickerSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        wave = wave_assign(wave=wave, picker=asked.validated_data["picker"], user=request.user)
        return Response(wave_detail(wave))

    @extend_schema(
        summary="The wave's pick list as a PDF",
        description="A4: each stop in walking order (bin, SKU, name, quantity, for how many parcels), with "
        "barcodes of the wave, each bin and each SKU.",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF, A4."), **AS_BYTES},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="pick-list",
        content_negotiation_class=ExportNegotiation,
        filter_backends=[],
        pagination_class=None,
    )
    def pick_list(self, request: Request, pk=None) -> HttpResponse:
        wave = self.get_object()
        return file_response(pick_list_pdf(wave), "application/pdf", f"{wave.number}-pick-list.pdf", request)


@extend_schema_view(
    list=extend_schema(
        summary="The scan log",
        description="Every scan on the floor (who, where, which step, what was scanned, what the system answered), "
        "newest first, a cursor page at a time (follow `next`).",
    ),
    retrieve=extend_schema(summary="One scan"),
)
class ScanEventViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    data_scope = {"warehouse": "warehouse_id"}
    serializer_class = ScanEventSerializer
    pagination_class = CursorPagination
    filterset_class = ScanEventFilter
    filter_backends = [DjangoFilterBackend, SearchFilter]  # a cursor page keeps its own order: newest first
    search_fields = ["=code", "=reference"]

    def get_queryset(self):
        return scans_listed()


class ProductivityView(APIView):
    permission_classes = [ModelPermissions]
    queryset = ScanEvent.objects.none()  # reading the figures needs warehouse.view_scanevent

    @extend_schema(
        summary="Productivity per person and day",
        description="For each person and each local day of the range (a week to today if left out; at most 92 "
        "days): scans, refused scans (`errors`), pick tasks and units picked, parcels packed, and scans per hour "
        "(scans ÷ the hours between the day's first and last scan, at least a quarter of an hour). Lines picked "
        "count on the day of the picker's last pick scan in the wave.",
        parameters=[ProductivityQuerySerializer],
        responses={200: ProductivitySerializer},
    )
    def get(self, request: Request) -> Response:
        asked = ProductivityQuerySerializer(data=request.query_params)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        warehouse = data.get("warehouse")
        date_from, date_to = productivity_range(data["date_from"], data["date_to"])
        rows = productivity(
            date_from=date_from, date_to=date_to, warehouse_id=warehouse.pk if warehouse is not None else None
        )
        answer = {
            "date_from": date_from,
            "date_to": date_to,
            "warehouse": warehouse.pk if warehouse is not None else None,
            "rows": rows,
        }
        return Response(ProductivitySerializer(answer).data)
