"""Allocation rules in use: saving them checked, the facts of orders they read, and a preview of what a rule
would do to orders before it is saved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.db.models.functions import Lower, Trim
from django.utils.translation import gettext as _

from core.errors import ErrorDetail, ValidationFailed
from logistics.quotes import methods_for_quotes, quotes_for
from orders.checks import address_problems, blacklist_hits, country_mismatch, email_normalised
from orders.models import AllocationRule, Order, OrderLine
from orders.parcels import order_parcel
from orders.rules import Decision, OrderFacts, decide, rule_checked

RULE_FIELDS = ("name", "priority", "is_active", "match", "stop", "note")
PREVIEW_MOST = 500


@transaction.atomic
def rule_save(*, rule: AllocationRule | None = None, data: Mapping[str, Any]) -> AllocationRule:
    rule = rule or AllocationRule()
    for name in RULE_FIELDS:
        if name in data:
            setattr(rule, name, data[name])
    conditions = data.get("conditions", rule.conditions)
    actions = data.get("actions", rule.actions)
    rule.conditions, rule.actions = rule_checked(conditions, actions, rule.match)
    rule.full_clean(exclude=["conditions", "actions"], validate_unique=True)
    rule.save()
    return rule


def orders_with_lines(order_ids: Sequence[int]) -> list[Order]:
    """Orders with their store and their lines still in them (with products): two queries."""
    lines = OrderLine.objects.filter(quantity__gt=0).select_related("product").order_by("pk")
    loaded = Order.objects.filter(pk__in=list(order_ids)).select_related("store").order_by("pk")
    return list(loaded.prefetch_related(Prefetch("lines", queryset=lines), "store__warehouses"))


def order_facts(orders: Sequence[Order], *, loaded: bool = False) -> dict[int, OrderFacts]:
    """The facts rules read, for many orders at once: four queries whatever their number (orders with their
    store, their lines with products, blacklist entries, the buyers' earlier orders); two when ``loaded`` says
    the orders come from ``orders_with_lines``."""
    with_lines = list(orders) if loaded else orders_with_lines([order.pk for order in orders])
    hits = blacklist_hits(with_lines)
    earlier = _earlier_orders(with_lines)
    facts = {}
    for order in with_lines:
        weight, skus, battery, liquid, count = 0, set(), False, False, 0
        for line in order.lines.all():
            count += 1
            product = line.product
            if product is None:
                skus.add(line.channel_sku.upper())
                continue
            skus.add(product.sku)
            weight += (product.weight_g or 0) * (line.product_quantity or 0)
            battery = battery or product.contains_battery
            liquid = liquid or product.contains_liquid
        facts[order.pk] = OrderFacts(
            order_id=order.pk,
            store_id=order.store_id,
            channel=order.store.channel,
            country=order.ship_country,
            region=order.ship_state,
            postcode=order.ship_postcode,
            total=order.total or Decimal(0),
            line_count=count,
            total_weight_g=weight,
            skus=frozenset(skus),
            has_battery=battery,
            has_liquid=liquid,
            requested_service=order.requested_service,
            buyer=(order.buyer_name, order.buyer_email, order.ship_name),
            address_problems=tuple(address_problems(order)),
            blacklisted=bool(hits.get(order.pk)),
            buyer_orders=earlier.get(order.pk, 0),
            tags=frozenset(order.tags or ()),
            country_mismatch=country_mismatch(order),
        )
    return facts


def _earlier_orders(orders: Sequence[Order]) -> dict[int, int]:
    """How many orders each order's buyer (by e-mail, in any store) placed before it: one query."""
    emails = {email_normalised(order.buyer_email) for order in orders if order.buyer_email}
    if not emails:
        return {}
    placed: dict[str, list] = {}
    for email, ordered_at in (
        Order.objects.annotate(email=Lower(Trim("buyer_email")))
        .filter(email__in=emails)
        .values_list("email", "ordered_at")
    ):
        placed.setdefault(email, []).append(ordered_at)
    return {
        order.pk: sum(1 for moment in placed.get(email_normalised(order.buyer_email), []) if moment < order.ordered_at)
        for order in orders
        if order.buyer_email
    }


class _Unsaved:
    """A rule as the preview runs it: checked, not saved."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.pk = None
        self.name = str(data.get("name") or _("(this rule)"))
        self.match = data.get("match", "all")
        self.stop = bool(data.get("stop", False))
        self.conditions, self.actions = rule_checked(data.get("conditions", []), data.get("actions"), self.match)


def rule_preview(*, data: Mapping[str, Any], order_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """What the rule in ``data`` would do to each order (``order_ids``, else the latest 100 awaiting shipment):
    whether it matches, and the result of each of its actions. Nothing is saved."""
    rule = _Unsaved(data)
    if order_ids is not None and len(order_ids) > PREVIEW_MOST:
        raise ValidationFailed(
            _("At most %(most)s orders at a time.") % {"most": PREVIEW_MOST},
            errors=[ErrorDetail(_("At most %(most)s orders at a time.") % {"most": PREVIEW_MOST}, field="orders")],
        )
    if order_ids is None:
        orders = list(Order.objects.filter(status=Order.Status.AWAITING_SHIPMENT).order_by("-ordered_at")[:100])
    else:
        orders = list(Order.objects.filter(pk__in=order_ids).order_by("pk"))
    return _decisions(orders, [rule])


def rules_preview(orders: Sequence[Order]) -> list[dict[str, Any]]:
    """What the active rules, in priority order, would decide for each order, with the rule behind each step.
    Nothing is saved."""
    rules = list(AllocationRule.objects.filter(is_active=True).order_by("priority", "pk"))
    return _decisions(list(orders), rules)


def _decisions(orders: list[Order], rules: list[Any]) -> list[dict[str, Any]]:
    facts = order_facts(orders)
    methods = None
    results = []
    for order in orders:

        def quotes_of(order=order):
            nonlocal methods
            methods = methods if methods is not None else methods_for_quotes()
            try:
                return quotes_for(order_parcel(order), methods)
            except ValidationFailed:
                return []

        decision: Decision = decide(facts[order.pk], rules, quotes_of)
        results.append(
            {
                "order": order.pk,
                "channel_order_id": order.channel_order_id,
                "matched": bool(decision.trail),
                "warehouse": decision.warehouse,
                "method": decision.method,
                "holds": decision.holds,
                "tags": decision.tags,
                "trail": [step["result"] for step in decision.trail],
                "rules": [step["name"] for step in decision.trail],
            }
        )
    return results
