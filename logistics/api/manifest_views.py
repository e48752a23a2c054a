"""REST endpoints of hand-over manifests (交运): open one, scan parcels into it, take one out, hand it over (close),
and print it, or download the document the carrier gave at hand-over."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce, Length
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.exports import ExportNegotiation
from core.api.schema import error_response
from core.api.scoping import DataScopedViewMixin, request_scope
from core.errors import NotFound
from logistics.api.carrier_errors import CARRIER_UNAVAILABLE
from logistics.api.files import AS_BYTES, OCTET_STREAM, file_response
from logistics.api.manifest_serializers import (
    ManifestDetailSerializer,
    ManifestOpenSerializer,
    ManifestRemoveSerializer,
    ManifestScanSerializer,
    ManifestSerializer,
)
from logistics.api.references import SHIPMENT_SCOPE
from logistics.api.shipment_filters import ManifestFilter
from logistics.api.shipment_serializers import ShipmentSerializer
from logistics.api.shipment_views import shipments_listed
from logistics.manifests import (
    manifest_close,
    manifest_open,
    manifest_pdf,
    manifest_remove,
    manifest_scan,
    shipment_by_scan,
)
from logistics.models import Manifest, Shipment

# A carrier's hand-over document is kept as it sent it; what it is shows in its first bytes.
DOCUMENT_SIGNATURES = (
    (b"%PDF", "application/pdf", "pdf"),
    (b"\x89PNG", "image/png", "png"),
    (b"^XA", "application/x-zpl", "zpl"),
)
DOCUMENT_FILES = {
    (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description=f"The carrier's document ({extension}).")
    for _signature, media_type, extension in DOCUMENT_SIGNATURES
}
DOCUMENT_FILES[(200, OCTET_STREAM)] = OpenApiResponse(
    OpenApiTypes.BINARY, description="The carrier's document in a format not recognised, or as plain bytes."
)


def manifests_listed() -> QuerySet[Manifest]:
    """Manifests with their account, warehouse and who handed them over, how many parcels are in each and whether
    the carrier sent a document (its bytes are not read): one query."""
    shipments = Shipment.objects.filter(manifest=OuterRef("pk")).order_by()
    shipment_count = shipments.values("manifest").annotate(count=Count("pk")).values("count")
    return (
        Manifest.objects.select_related("account", "warehouse", "handed_over_by")
        .defer("carrier_document")
        .annotate(
            document_bytes=Length("carrier_document"),
            shipment_count=Coalesce(Subquery(shipment_count, output_field=IntegerField()), 0),
        )
    )


def manifests_detailed() -> QuerySet[Manifest]:
    """``manifests_listed`` with its parcels (their method; never their labels)."""
    shipments = Shipment.objects.select_related("method").defer("label", "sender").order_by("pk")
    return manifests_listed().prefetch_related(Prefetch("shipments", queryset=shipments))


def manifest_detail(manifest: Manifest) -> dict:
    return ManifestDetailSerializer(manifests_detailed().get(pk=manifest.pk)).data


@extend_schema_view(
    list=extend_schema(summary="List hand-over manifests", description="Newest first."),
    retrieve=extend_schema(summary="One manifest, with its parcels"),
)
class ManifestViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    data_scope = {"warehouse": "warehouse_id"}
    http_method_names = ["get", "post", "head", "options"]
    serializer_class = ManifestSerializer
    filterset_class = ManifestFilter
    search_fields = ["number", "pickup"]
    ordering_fields = ["created_at", "handed_over_at", "number"]
    ordering = ["-id"]
    action_permissions = {
        "scan": ["logistics.change_manifest"],
        "remove": ["logistics.change_manifest"],
        "close": ["logistics.change_manifest"],
        "pdf": ["logistics.view_manifest"],
        "carrier_document": ["logistics.view_manifest"],
    }

    def get_queryset(self):
        if self.action == "list":
            return manifests_listed()
        if self.action == "retrieve":
            return manifests_detailed()
        if self.action == "carrier_document":
            return Manifest.objects.all()
        return Manifest.objects.select_related("account", "warehouse").defer("carrier_document")

    def get_serializer_class(self):
        return ManifestDetailSerializer if self.action == "retrieve" else ManifestSerializer

    @extend_schema(
        summary="Open a manifest (or find the open one)",
        description="The open manifest of the account, warehouse and pickup: made when there is none (201), or the "
        "one already open (200). Parcels are then scanned into it.",
        request=ManifestOpenSerializer,
        responses={200: ManifestDetailSerializer, 201: ManifestDetailSerializer},
    )
    def create(self, request: Request) -> Response:
        asked = ManifestOpenSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        started = timezone.now()
        manifest = manifest_open(**asked.validated_data)
        made = manifest.created_at >= started
        return Response(manifest_detail(manifest), status=status.HTTP_201_CREATED if made else status.HTTP_200_OK)

    @extend_schema(
        summary="Scan a parcel into the manifest",
        description="By what its label reads (tracking number, shipment number or our reference with the carrier); "
        "scanning it again changes nothing. A parcel of another carrier account, without its label, cancelled, "
        "whose order was cancelled, in another open manifest or handed over already is refused (409), and an "
        "unknown label is 404; the error's `context.scan` is the code scanned.",
        request=ManifestScanSerializer,
        responses={
            200: ShipmentSerializer,
            404: error_response("No manifest has that id, or no parcel has that label (`code` unknown_parcel)."),
            409: error_response("The parcel must not go in this manifest, or the manifest was handed over already."),
        },
    )
    @action(detail=True, methods=["post"])
    def scan(self, request: Request, pk=None) -> Response:
        manifest = self.get_object()
        asked = ManifestScanSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        if request_scope(request).is_limited:  # a parcel out of the token's scope is one it does not know
            known = shipment_by_scan(asked.validated_data["code"])
            if not self.scope_queryset(Shipment.objects.filter(pk=known.pk), SHIPMENT_SCOPE).exists():
                code = asked.validated_data["code"]
                message = _("No parcel has the label %(code)s.") % {"code": code}
                raise NotFound(message, code="unknown_parcel", scan=code)
        shipment = manifest_scan(manifest=manifest, code=asked.validated_data["code"], user=request.user)
        return Response(ShipmentSerializer(shipments_listed().get(pk=shipment.pk)).data)

    @extend_schema(
        summary="Take a parcel out of the manifest",
        description="It stays label ready, for another pickup; a parcel not in this manifest is left as it is.",
        request=ManifestRemoveSerializer,
        responses={200: ManifestDetailSerializer, 409: error_response("The manifest was handed over already.")},
    )
    @action(detail=True, methods=["post"])
    def remove(self, request: Request, pk=None) -> Response:
        manifest = self.get_object()
        asked = ManifestRemoveSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        manifest_remove(manifest=manifest, shipment=asked.validated_data["shipment"])
        return Response(manifest_detail(manifest))

    @extend_schema(
        summary="Hand the manifest over (close it)",
        description="Confirmed with the carrier where its API has that step; each parcel it took becomes handed "
        "over and its orders ship (stock out, the stores told), while one it would not take leaves the manifest "
        "with the carrier's words in its `carrier_message`. Closing a closed manifest changes nothing.",
        request=None,
        responses={
            200: ManifestDetailSerializer,
            409: error_response(
                "No parcels, a parcel cancelled meanwhile, someone else closing it, or the carrier took none."
            ),
            502: CARRIER_UNAVAILABLE,
        },
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk=None) -> Response:
        manifest = self.get_object()
        manifest = manifest_close(manifest=manifest, user=request.user)
        return Response(manifest_detail(manifest))

    @extend_schema(
        summary="The manifest as a PDF (the list the driver signs)",
        description="A4: the carrier, pickup and warehouse, each parcel with its weight and order reference, the "
        "counts and a barcode of the number.",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF, A4."), **AS_BYTES},
    )
    @action(detail=True, methods=["get"], content_negotiation_class=ExportNegotiation, filter_backends=[])
    def pdf(self, request: Request, pk=None) -> HttpResponse:
        manifest = self.get_object()
        return file_response(manifest_pdf(manifest), "application/pdf", f"{manifest.number}.pdf", request)

    @extend_schema(
        summary="The document the carrier gave at hand-over",
        description="As the carrier sent it (a scan form, a hand-over list): PDF, PNG or ZPL. 404 when it sent none.",
        responses={
            **DOCUMENT_FILES,
            404: error_response("No manifest has that id, or its carrier sent no document (`code` no_document)."),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="carrier-document",
        content_negotiation_class=ExportNegotiation,
        filter_backends=[],
    )
    def carrier_document(self, request: Request, pk=None) -> HttpResponse:
        manifest = self.get_object()
        document = bytes(manifest.carrier_document or b"")
        if not document:
            raise NotFound(
                _("The carrier sent no document for manifest %(manifest)s.") % {"manifest": manifest.number},
                code="no_document",
                manifest=manifest.number,
            )
        media_type, extension = OCTET_STREAM, "bin"
        for signature, known_type, known_extension in DOCUMENT_SIGNATURES:
            if document.startswith(signature):
                media_type, extension = known_type, known_extension
                break
        return file_response(document, media_type, f"{manifest.number}-carrier.{extension}", request)
