"""REST endpoints of purchase planning: reorder policies, promotions, and the suggestions with their derivation
(list, export, dismiss, recompute). Reads come from purchasing.selectors, writes go to purchasing.policies."""

from __future__ import annotations

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
from core.api.permissions import OutOfScope
from core.api.schema import error_response
from core.api.scoping import GLOBAL, DataScopedViewMixin
from inventory.api.filters import NaturalOrderingFilter
from purchasing import policies, selectors
from purchasing.api.planning_filters import PromotionFilter, ReorderPolicyFilter, SuggestionFilter
from purchasing.api.planning_serializers import (
    PromotionInputSerializer,
    PromotionSerializer,
    ReorderPolicyInputSerializer,
    ReorderPolicySerializer,
    SuggestionsComputeQueuedSerializer,
    SuggestionsComputeSerializer,
    SuggestionSerializer,
)
from purchasing.derivation import SUGGESTION_EXPORT_COLUMNS, suggestion_export_row

POLICY_RULES = """
A policy covers a scope: no product and no warehouse (the global one), a warehouse, a product, or a product in a
warehouse; the most specific active one applies. `windows` are 1 to 6 sales windows of distinct lengths (1 to 730
days) whose weights sum to exactly 1; day legs (production, QC, transit), safety days and the review period are whole
numbers from 0 to 730; `day_cap_multiple` is at least 1; `replenish_from` needs a warehouse and must be another one.
Every problem is named by its field (`windows[1].weight`), all together.
"""
SCOPE_TAKEN = error_response("Another policy already covers that product and warehouse; the message names it.")


@extend_schema_view(
    list=extend_schema(
        summary="List reorder policies", description="The global policy first, then the overrides by SKU and warehouse."
    ),
    retrieve=extend_schema(summary="One reorder policy"),
    create=extend_schema(
        summary="Create a reorder policy",
        description=POLICY_RULES,
        request=ReorderPolicyInputSerializer,
        responses={201: ReorderPolicySerializer, 409: SCOPE_TAKEN},
    ),
    partial_update=extend_schema(
        summary="Change a reorder policy",
        description="Any of the fields; the rules are the same as on create." + POLICY_RULES,
        request=ReorderPolicyInputSerializer,
        responses={200: ReorderPolicySerializer, 409: SCOPE_TAKEN},
    ),
    destroy=extend_schema(
        summary="Delete a reorder policy",
        description="An override only: the global policy is what every product falls back to (409; change it).",
        responses={204: None, 409: error_response("The global policy cannot be deleted.")},
    ),
)
class ReorderPolicyViewSet(
    DataScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    data_scope = {"warehouse": "warehouse_id"}  # the global policy (no warehouse) is out of a limited scope
    serializer_class = ReorderPolicySerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReorderPolicyFilter

    def get_queryset(self):
        return selectors.reorder_policy_list()

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = ReorderPolicyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = policies.reorder_policy_create(**serializer.validated_data)
        return Response(ReorderPolicySerializer(policy).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        policy = self.get_object()
        serializer = ReorderPolicyInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        policy = policies.reorder_policy_update(policy=policy, **serializer.validated_data)
        return Response(ReorderPolicySerializer(policy).data)

    def perform_destroy(self, instance) -> None:
        policies.reorder_policy_delete(policy=instance)


@extend_schema_view(
    list=extend_schema(summary="List promotions", description="Newest first."),
    retrieve=extend_schema(summary="One promotion"),
    create=extend_schema(
        summary="Record a promotion",
        description="Days of a deal or campaign, of one product or (without one) of every product; their sales are "
        "left out of the sales windows where the policy says so. `ends_on` is on or after `starts_on`.",
        request=PromotionInputSerializer,
        responses={201: PromotionSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a promotion", request=PromotionInputSerializer, responses={200: PromotionSerializer}
    ),
    destroy=extend_schema(summary="Delete a promotion", responses={204: None}),
)
class PromotionViewSet(
    DataScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    data_scope = GLOBAL  # a promotion is of a product
    serializer_class = PromotionSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filter_backends = [DjangoFilterBackend]
    filterset_class = PromotionFilter

    def get_queryset(self):
        return selectors.promotion_list()

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = PromotionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        promotion = policies.promotion_create(**serializer.validated_data)
        return Response(PromotionSerializer(promotion).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        promotion = self.get_object()
        serializer = PromotionInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        promotion = policies.promotion_update(promotion=promotion, **serializer.validated_data)
        return Response(PromotionSerializer(promotion).data)

    def perform_destroy(self, instance) -> None:
        policies.promotion_delete(promotion=instance)


# A suggestion is the need of its warehouse (core.api.scoping).
SUGGESTION_SCOPE = {"warehouse": "warehouse_id"}

SUGGESTIONS_DESCRIPTION = """
What to buy (or transfer) per product and warehouse, most urgent first, with every figure it was worked out from
and `derivation`, the steps in words. quantity = ADS × cover_days − position, rounded up to MOQ and case pack, never
negative; cover_days = lead time + safety days + review period; position = available + incoming purchase orders +
transfers in transit − backorders. `ordering`: order_by, quantity, urgency (most urgent first) or sku, `-` to
reverse.
"""


@extend_schema_view(
    list=extend_schema(summary="List purchase suggestions", description=SUGGESTIONS_DESCRIPTION),
    retrieve=extend_schema(summary="One purchase suggestion, with its derivation"),
)
class SuggestionViewSet(DataScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    # A transfer suggestion also names the warehouse it is filled from.
    data_scope = SUGGESTION_SCOPE
    serializer_class = SuggestionSerializer
    filter_backends = [DjangoFilterBackend, NaturalOrderingFilter]
    filterset_class = SuggestionFilter
    ordering_fields = ["order_by", "quantity", "urgency", "sku"]
    ordering_aliases = {"urgency": "urgency_rank", "sku": "product__sku_sort"}
    action_permissions = {
        "compute": ["purchasing.add_suggestion", "purchasing.change_suggestion"],
        "dismiss": ["purchasing.change_suggestion"],
        "export": ["purchasing.view_suggestion"],
    }

    def get_queryset(self):
        return selectors.suggestion_list()

    @extend_schema(
        summary="Recompute suggestions",
        description="Queues a recompute of every warehouse's suggestions, or of one warehouse's (id or code); a "
        "worker carries it out. Answers 202 with the task's id.",
        request=SuggestionsComputeSerializer,
        responses={202: SuggestionsComputeQueuedSerializer},
    )
    @action(detail=False, methods=["post"])
    def compute(self, request: Request) -> Response:
        serializer = SuggestionsComputeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        warehouse = serializer.validated_data.get("warehouse")
        if warehouse is None and self.scope_ids("warehouse") is not None:
            raise OutOfScope(_("A token limited to some warehouses computes one of them at a time: give `warehouse`."))
        task_id = policies.suggestions_compute_queue(warehouse=warehouse)
        queued = {"task_id": task_id, "warehouse": None if warehouse is None else warehouse.pk}
        return Response(SuggestionsComputeQueuedSerializer(queued).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Dismiss a suggestion",
        description="The buyer will not order it; a recompute opens it again only if its quantity changes. "
        "Dismissing twice changes nothing; an ordered suggestion is refused (409).",
        request=None,
        responses={200: SuggestionSerializer, 409: error_response("The suggestion is already ordered.")},
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk=None) -> Response:
        suggestion = policies.suggestion_dismiss(suggestion=self.get_object())
        return Response(SuggestionSerializer(selectors.suggestion_list().get(pk=suggestion.pk)).data)

    @extend_schema(
        summary="Export purchase suggestions",
        description="The list's rows (same filters and ordering) as CSV or XLSX, with every figure and the "
        f"derivation in one column. CSV is streamed; XLSX holds at most {EXPORT_XLSX_MAX_ROWS} rows.",
        parameters=EXPORT_PARAMETERS,
        responses=EXPORT_RESPONSES,
        filters=True,
    )
    @action(detail=False, methods=["get"], content_negotiation_class=ExportNegotiation, pagination_class=None)
    def export(self, request: Request):
        return export_response(
            request,
            queryset=self.filter_queryset(self.get_queryset()),
            header=SUGGESTION_EXPORT_COLUMNS,
            row_of=suggestion_export_row,
            name="purchase-suggestions",
        )
