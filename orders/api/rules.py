"""Allocation rules in the API, the preview of an unsaved rule on orders, and the blacklist."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from orders.allocation import rule_preview, rule_save
from orders.models import AllocationRule, Blacklist
from orders.services import blacklist_save

RULES_HELP = "See docs/allocation.md for the fields, operators and actions."


class AllocationRuleSerializer(serializers.ModelSerializer):
    conditions = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Each {field, op, value}. " + RULES_HELP
    )
    actions = serializers.ListField(child=serializers.DictField(), help_text="Each {type, ...}. " + RULES_HELP)

    class Meta:
        model = AllocationRule
        fields = [
            "id",
            "name",
            "priority",
            "is_active",
            "match",
            "conditions",
            "actions",
            "stop",
            "note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        validators = []


class RulePreviewSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=100)
    match = serializers.ChoiceField(choices=AllocationRule.Match.choices, default="all")
    conditions = serializers.ListField(child=serializers.DictField(), required=False, default=list)
    actions = serializers.ListField(child=serializers.DictField())
    stop = serializers.BooleanField(required=False, default=False)
    orders = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=500,
        help_text="Order ids; left out: the latest 100 orders awaiting shipment.",
    )


class RulePreviewResultSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    channel_order_id = serializers.CharField()
    matched = serializers.BooleanField()
    warehouse = serializers.CharField(allow_null=True)
    method = serializers.CharField(allow_null=True)
    holds = serializers.ListField(child=serializers.CharField())
    tags = serializers.ListField(child=serializers.CharField())
    trail = serializers.ListField(child=serializers.CharField(), help_text="What each action did, in order.")
    rules = serializers.ListField(child=serializers.CharField(), help_text="The rule of each step of the trail.")


@extend_schema_view(
    list=extend_schema(summary="List allocation rules, in the order they run"),
    create=extend_schema(summary="Add an allocation rule"),
    partial_update=extend_schema(summary="Change an allocation rule"),
    destroy=extend_schema(summary="Delete an allocation rule"),
)
class AllocationRuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AllocationRuleSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = ["is_active"]
    search_fields = ["name"]
    queryset = AllocationRule.objects.order_by("priority", "pk")
    action_permissions = {"preview": ["orders.view_allocationrule", "orders.view_order"]}

    def perform_create(self, serializer):
        serializer.instance = rule_save(data=serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = rule_save(rule=serializer.instance, data=serializer.validated_data)

    @extend_schema(
        summary="Try a rule on orders before saving it",
        description="The rule in the body is checked as a save would check it, then run on the orders given "
        "(or the latest 100 awaiting shipment): for each, whether it matches and what each action would do. "
        "Nothing is saved.",
        request=RulePreviewSerializer,
        responses={200: RulePreviewResultSerializer(many=True)},
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        asked = RulePreviewSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        data = dict(asked.validated_data)
        orders = data.pop("orders", None)
        return Response(RulePreviewResultSerializer(rule_preview(data=data, order_ids=orders), many=True).data)


class BlacklistSerializer(serializers.ModelSerializer):
    class Meta:
        model = Blacklist
        fields = ["id", "kind", "value", "reason", "is_active", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators = []


@extend_schema_view(
    list=extend_schema(summary="List the blacklist"),
    create=extend_schema(
        summary="Add to the blacklist",
        description="A buyer or recipient name, an e-mail, a phone, or an address given as `COUNTRY: street "
        "postcode`. The value is kept normalised (case, spaces, punctuation, the phone's digits); allocation rules "
        "hold matching orders with the condition `blacklisted`.",
    ),
    partial_update=extend_schema(summary="Change a blacklist entry"),
    destroy=extend_schema(summary="Remove a blacklist entry"),
)
class BlacklistViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = BlacklistSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = ["kind", "is_active"]
    search_fields = ["value", "reason"]
    queryset = Blacklist.objects.order_by("kind", "value")

    def perform_create(self, serializer):
        serializer.instance = blacklist_save(data=serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = blacklist_save(entry=serializer.instance, data=serializer.validated_data)
