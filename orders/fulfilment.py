"""Allocation: every new order gets a warehouse, a shipping method and its stock reserved in parcels, or waits
with a reason (on hold, awaiting stock); and what people do to orders before picking (hold, release, cancel,
merge, split, undo, set the warehouse or the method by hand).

The run (``orders_allocate``) takes new orders and those awaiting stock, by ship-by date then oldest first, in
batches. Each batch locks its orders (skipping rows another run or an import holds: they are taken next time),
reads their facts once (``orders.allocation.order_facts``), runs the active rules (``orders.rules.decide``), and
routes each parcel when no rule or person fixed the warehouse:

1. the store's warehouses (all active ones when it names none; never FBA), those in the destination country first
   (overseas stock), then by the warehouse's priority;
2. the first that can fill the whole parcel from its available stock (sellable − reserved);
3. none can: when the store allows split orders and the warehouses together can fill it, one parcel per
   warehouse; otherwise the order waits as awaiting stock and a later run (every minute) tries again.

Stock is reserved through ``inventory.stock_services.stock_reserve`` under the parcel's number, so the run is
safe to repeat (an allocated order is not taken again) and safe beside imports and people (rows are locked,
stock is checked under the balance locks). Every status change goes through ``orders.status.ORDER_STATUS`` with
an event whose details hold the trail: which rule chose what, and how routing chose the warehouse.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Max, ProtectedError, Q
from django.db.models.functions import Lower, Trim
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import Conflict, ErrorDetail, ValidationFailed
from core.phrases import Phrase, phrase_json
from core.status import (
    StatusMove,
    next_id,
    next_ids,
    rows_update,
    status_check,
    status_transition,
    status_transitions_apply,
)
from inventory.errors import InsufficientStock
from inventory.models import BundleComponent, InventoryBalance, Product, Reservation, StockMove, Warehouse
from inventory.stock_services import ReservePart, stock_release, stock_reserve, stock_reserve_many
from logistics.models import ShippingMethod
from logistics.quotes import methods_for_quotes, quotes_for
from logistics.shipments import shipments_void_request
from orders.allocation import order_facts, orders_with_lines
from orders.checks import merge_key
from orders.models import AllocationRule, Order, OrderEvent, OrderHold, OrderLine, Parcel, ParcelLine
from orders.parcels import order_parcel
from orders.rules import Decision, decide
from orders.status import NOT_PICKED, ORDER_STATUS

logger = logging.getLogger(__name__)
Status = Order.Status

BATCH = 200
STOCK_SETTLING = timedelta(minutes=10)
# Sent in the transaction that cancels an order whose goods were picked: ``picked`` lists, per parcel, the
# units out of their bins (warehouse_id, product_id, quantity, reference, from_bin_id). The warehouse floor
# makes put-back tasks of them; logistics (the labels issue) voids the parcel's label.
order_cancelled = Signal()


def parcel_number(pk: int) -> str:
    return f"PCL{pk:08d}"


# --- what a parcel needs -----------------------------------------------------------------------------------------


def _components(product_ids: Iterable[int]) -> dict[int, list[tuple[Product, int]]]:
    """The components of the bundles among ``product_ids`` (one query)."""
    found: dict[int, list[tuple[Product, int]]] = defaultdict(list)
    rows = BundleComponent.objects.filter(bundle_id__in=list(product_ids)).select_related("component")
    for row in rows.order_by("bundle_id", "pk"):
        found[row.bundle_id].append((row.component, row.quantity))
    return found


def _units(line: OrderLine, quantity: int) -> int:
    """Units of the line's product in ``quantity`` of the store's units (the mapping may sell packs)."""
    return (line.product_quantity or 0) * quantity // line.quantity if line.quantity else 0


def _needs(
    parcel_lines: Iterable[tuple[OrderLine, int]], components: Mapping[int, list[tuple[Product, int]]]
) -> dict[int, tuple[Product, int]]:
    """Product id → (product, units) for stock: bundles stand for their components."""
    needs: dict[int, tuple[Product, int]] = {}
    for line, quantity in parcel_lines:
        product, units = line.product, _units(line, quantity)
        if product is None or units <= 0:
            continue
        parts = components.get(product.pk) if product.is_bundle else None
        for part, each in parts or [(product, 1)]:
            previous = needs.get(part.pk, (part, 0))[1]
            needs[part.pk] = (part, previous + units * each)
    return needs


# --- the run -----------------------------------------------------------------------------------------------------


@dataclass
class AllocationResult:
    allocated: int = 0
    awaiting_stock: int = 0
    held: int = 0
    skipped: int = 0
    parcels: int = 0
    seconds_facts: float = 0.0
    seconds_deciding: float = 0.0
    seconds_reserving: float = 0.0
    seconds_total: float = 0.0
    rule_evaluations: int = 0

    def counts(self) -> dict[str, Any]:
        return {
            "allocated": self.allocated,
            "awaiting_stock": self.awaiting_stock,
            "held": self.held,
            "skipped": self.skipped,
            "parcels": self.parcels,
        }


@dataclass
class _Context:
    """What a run loads once: rules, warehouses, shipping methods with their rate cards."""

    rules: list[AllocationRule]
    warehouses: dict[str, Warehouse]
    methods: dict[str, ShippingMethod]
    quote_methods: list[ShippingMethod] | None = None
    user: Any = None

    @classmethod
    def load(cls, user=None) -> _Context:
        return cls(
            rules=list(AllocationRule.objects.filter(is_active=True).order_by("priority", "pk")),
            warehouses={w.code: w for w in Warehouse.objects.filter(is_active=True).order_by("priority", "code")},
            methods={m.code: m for m in ShippingMethod.objects.select_related("carrier")},
            user=user,
        )

    def warehouse_by_id(self, pk: int) -> Warehouse:
        found = next((w for w in self.warehouses.values() if w.pk == pk), None)
        return found or Warehouse.objects.get(pk=pk)

    def method_by_id(self, pk: int) -> ShippingMethod:
        return next(m for m in self.methods.values() if m.pk == pk)

    def quotes(self, order: Order) -> list:
        if self.quote_methods is None:
            self.quote_methods = methods_for_quotes()
        try:
            return quotes_for(order_parcel(order, order.lines.all()), self.quote_methods)
        except ValidationFailed:
            return []


def _candidate_ids(order_ids: Sequence[int] | None) -> list[int]:
    """New orders and those awaiting stock, the most urgent first: by the store's ship-by date, then oldest.

    The periodic run looks again at an order awaiting stock only when some stock changed since it last looked
    (a balance updated after the order's reason was written), so a long backlog costs nothing while nothing
    moves; orders named by ``order_ids`` are always looked at."""
    queryset = Order.objects.filter(status__in=[Status.AWAITING_SHIPMENT, Status.AWAITING_STOCK])
    if order_ids is not None:
        queryset = queryset.filter(pk__in=list(order_ids))
    else:
        stock_moved = InventoryBalance.objects.aggregate(latest=Max("updated_at"))["latest"]
        waiting = Q(status=Status.AWAITING_STOCK)
        # A margin for a stock write whose transaction began before the reason was written and ended after it.
        queryset = (
            queryset.exclude(waiting)
            if stock_moved is None
            else queryset.exclude(waiting & Q(updated_at__gt=stock_moved + STOCK_SETTLING))
        )
    ordering = (F("ship_by").asc(nulls_last=True), "ordered_at", "pk")
    return list(queryset.order_by(*ordering).values_list("pk", flat=True))


def orders_allocate(*, order_ids: Sequence[int] | None = None, user=None, batch_size: int = BATCH) -> AllocationResult:
    """Allocate new orders and retry those awaiting stock (``order_ids``: only these). Each batch is one
    transaction; orders locked elsewhere are left for the next run."""
    started = time.perf_counter()
    result = AllocationResult()
    context = _Context.load(user)
    candidates = _candidate_ids(order_ids)
    if any(action["type"] == "merge" for rule in context.rules for action in rule.actions):
        _rule_merges(candidates, context)
    for start in range(0, len(candidates), batch_size):
        with transaction.atomic():
            _allocate_batch(candidates[start : start + batch_size], context, result)
    result.seconds_total = time.perf_counter() - started
    return result


@dataclass
class _Writes:
    """What a batch writes, gathered so each kind of row is written in one statement at the end."""

    moves: list[StatusMove] = field(default_factory=list)
    decisions_only: list[Order] = field(default_factory=list)  # still waiting: the reason, refreshed
    holds: list[OrderHold] = field(default_factory=list)
    plans: list[_Plan] = field(default_factory=list)


@dataclass
class _Plan:
    group: _Group
    decision: Decision
    method: ShippingMethod
    routing: list[str]
    routes: list[tuple[Warehouse, dict[int, tuple[Product, int]], list]]


def _rule_merges(candidates: list[int], context: _Context) -> None:
    """Before allocating: new orders a ``merge`` rule matches are merged with the buyer's other orders to the same
    address that are not picked yet (``orders_merge``, which allocates the parcel). The rules run only for orders
    that have such a partner: most buyers have one order open, and their orders are decided once, by the run."""
    mergeable = [Status.AWAITING_SHIPMENT, Status.AWAITING_STOCK, Status.ALLOCATED]
    for start in range(0, len(candidates), BATCH):
        new = list(Order.objects.filter(pk__in=candidates[start : start + BATCH], status=Status.AWAITING_SHIPMENT))
        keys = {order.pk: merge_key(order) for order in new}
        emails = {order.buyer_email.strip().lower() for order in new if order.buyer_email.strip()}
        names = {order.ship_name for order in new if order.ship_name}
        partners = (
            Order.objects.filter(status__in=mergeable)
            .exclude(parcel_lines__parcel__made_by="merge")
            .annotate(email=Lower(Trim("buyer_email")))
            .filter(Q(email__in=emails) | Q(ship_name__in=names))
        )
        by_key: dict[str, list[Order]] = defaultdict(list)
        for order in partners.order_by("ordered_at", "pk"):
            by_key[merge_key(order)].append(order)
        paired = [pk for pk, key in keys.items() if key and len(by_key.get(key, ())) > 1]
        if not paired:
            continue
        orders = orders_with_lines(paired)
        facts = order_facts(orders, loaded=True)
        done: set[int] = set()
        for order in orders:
            if order.pk in done or not decide(facts[order.pk], context.rules).merge:
                continue
            group = [other for other in by_key[keys[order.pk]] if other.pk not in done]
            if len(group) < 2:
                continue
            try:
                with transaction.atomic():
                    orders_merge(orders=group, user=context.user)
            except (Conflict, ValidationFailed) as refused:
                logger.info("Rule merge of %s refused: %s", [o.channel_order_id for o in group], refused)
            done |= {other.pk for other in group}


def _allocate_batch(ids: list[int], context: _Context, result: AllocationResult) -> None:
    # The orders merged with these into parcels not reserved yet go in the same batch: a parcel is allocated whole.
    partners = ParcelLine.objects.filter(
        parcel__reserved_at__isnull=True,
        parcel_id__in=ParcelLine.objects.filter(order_id__in=ids).values("parcel_id"),
    ).values_list("order_id", flat=True)
    ids = sorted(set(ids) | set(partners))
    locked = set(
        Order.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=ids, status__in=[Status.AWAITING_SHIPMENT, Status.AWAITING_STOCK])
        .values_list("pk", flat=True)
    )
    result.skipped += len(ids) - len(locked)
    if not locked:
        return
    writes = _Writes()
    held = set(
        OrderHold.objects.filter(order_id__in=locked, released_at__isnull=True).values_list("order_id", flat=True)
    )
    if held:
        for order in Order.objects.filter(pk__in=held).order_by("pk"):
            writes.moves.append(
                StatusMove(order, Status.ON_HOLD, gettext_noop("Open holds: a person must look at it."))
            )
            result.held += 1
    orders = orders_with_lines(sorted(locked - held))
    if orders:
        _allocate_orders(orders, context, result, writes)
    _writes_apply(writes, context, result)


def _allocate_orders(orders: list[Order], context: _Context, result: AllocationResult, writes: _Writes) -> None:
    by_id = {order.pk: order for order in orders}
    began = time.perf_counter()
    facts = order_facts(orders, loaded=True)
    result.seconds_facts += time.perf_counter() - began
    began = time.perf_counter()
    decisions = {
        order.pk: decide(facts[order.pk], context.rules, lambda order=order: context.quotes(order)) for order in orders
    }
    result.seconds_deciding += time.perf_counter() - began
    result.rule_evaluations += len(orders) * len(context.rules)

    # Holds a rule gave: the order waits for a person (unless a person released this very hold before).
    holding: set[int] = set()
    rule_holds = [(order, reason[:255]) for order in orders for reason in decisions[order.pk].holds]
    if rule_holds:
        earlier = {
            (order_id, detail): released is None
            for order_id, detail, released in OrderHold.objects.filter(
                order_id__in=[order.pk for order, _reason in rule_holds], code=OrderHold.Code.RULE
            ).values_list("order_id", "detail", "released_at")
        }
        for order, reason in rule_holds:
            key = (order.pk, reason)
            if key in earlier and not earlier[key]:
                continue
            if key not in earlier:
                writes.holds.append(OrderHold(order=order, code=OrderHold.Code.RULE, detail=reason))
                earlier[key] = True
            holding.add(order.pk)
    for order in orders:
        if order.pk in holding:
            decision = decisions[order.pk]
            writes.moves.append(
                StatusMove(
                    order,
                    Status.ON_HOLD,
                    "; ".join(decision.holds),
                    changes={"decision": _decision_record(decision, []), "tags": _tags(order, decision)},
                    event_fields={"details": _event_details(decision, {})},
                )
            )
            result.held += 1

    todo = [order for order in orders if order.pk not in holding]
    if not todo:
        return
    parcels = _parcels_of(todo)
    groups = _groups(todo, parcels, by_id)
    product_ids = {line.product_id for order in todo for line in order.lines.all() if line.product_id}
    product_ids |= {line.line.product_id for rows in parcels.values() for line in rows if line.line.product_id}
    components = _components(product_ids)
    needed_products = set(product_ids) | {part.pk for parts in components.values() for part, _each in parts}
    available = _available(needed_products)
    for group in groups:
        _allocate_group(group, parcels, decisions, components, available, context, result, writes)


def _writes_apply(writes: _Writes, context: _Context, result: AllocationResult) -> None:
    """Reserve the planned parcels in one call, record them, then every status change and event at once."""
    if writes.holds:
        OrderHold.objects.bulk_create(writes.holds)
    if writes.plans:
        started = time.perf_counter()
        numbers = iter(next_ids(Parcel, sum(len(plan.routes) for plan in writes.plans)))
        requests, parcels_of_plan = [], []
        for plan in writes.plans:
            pks = [next(numbers) for _route in plan.routes]
            parcels_of_plan.append(pks)
            requests.append(
                [
                    ReservePart(
                        warehouse=warehouse,
                        reference=parcel_number(pk),
                        lines=[(product, units) for product, units in part.values()],
                    )
                    for pk, (warehouse, part, _source) in zip(pks, plan.routes, strict=True)
                ]
            )
        outcomes = stock_reserve_many(requests=requests, user=context.user)
        result.seconds_reserving += time.perf_counter() - started
        now = timezone.now()
        parcels, lines = [], []
        for plan, pks, shortages in zip(writes.plans, parcels_of_plan, outcomes, strict=True):
            if shortages is not None:
                # Another writer took the stock since it was read: wait, and a later run tries again.
                short = [
                    Phrase(gettext_noop("%(sku)s needs %(requested)s, %(warehouse)s has %(available)s"), **shortage)
                    for shortage in shortages
                ]
                plan.routing.append(
                    Phrase(gettext_noop("Stock went while reserving (%(short)s): it waits for stock."), short=short)
                )
                _wait(plan.group, plan.decision, plan.routing, result, writes, Status.AWAITING_STOCK)
                continue
            made, taken = [], set()
            for pk, (warehouse, part, source) in zip(pks, plan.routes, strict=True):
                parcel = Parcel(
                    pk=pk,
                    number=parcel_number(pk),
                    warehouse=warehouse,
                    shipping_method=plan.method,
                    reserved_at=now,
                    made_by="split" if len(plan.routes) > 1 else "allocation",
                )
                made.append(parcel)
                lines += _lines_for_part(parcel, source, part, taken)
            parcels += made
            _allocated(plan.group, plan.decision, plan.routing, made, plan.method, result, writes)
        Parcel.objects.bulk_create(parcels)
        ParcelLine.objects.bulk_create(lines)
    status_transitions_apply(machine=ORDER_STATUS, moves=writes.moves, user=context.user)
    if writes.decisions_only:
        rows_update(Order, writes.decisions_only, ["decision", "updated_at"])


def _allocated(
    group: _Group,
    decision: Decision,
    routing: list[str],
    made: list[Parcel],
    method: ShippingMethod,
    result: AllocationResult,
    writes: _Writes,
) -> None:
    result.parcels += len(made)
    record = _decision_record(
        decision,
        routing,
        warehouse=made[0].warehouse.code,
        method=method.code,
        parcels=[parcel.number for parcel in made],
    )
    note = f"{made[0].warehouse.code} · {method.code}" + (f" · {len(made)} " + _("parcels") if len(made) > 1 else "")
    for order in group.orders:
        writes.moves.append(
            StatusMove(
                order,
                Status.ALLOCATED,
                note,
                changes={
                    "warehouse": made[0].warehouse,
                    "shipping_method": method,
                    "decision": record,
                    "tags": _tags(order, decision),
                },
                event_fields={"details": _event_details(decision, record)},
            )
        )
        result.allocated += 1


def _tags(order: Order, decision: Decision) -> list[str]:
    tags = list(order.tags or [])
    for tag in decision.tags:
        if tag not in tags:
            tags.append(tag)
    return tags


def _event_details(decision: Decision, record: Mapping[str, Any]) -> dict[str, Any]:
    """What an allocation event keeps: the outcome and the rules that made it (the steps are on the order)."""
    rules = list(dict.fromkeys(step["name"] for step in decision.trail))
    return {key: record[key] for key in ("warehouse", "method", "parcels") if key in record} | {"rules": rules}


def _decision_record(decision: Decision, routing: list[str], **extra: Any) -> dict[str, Any]:
    """The order's ``decision``: each step kept as its message and values (``core.phrases``), so the admin and
    the API show it in the reader's language whichever language the run that wrote it had."""
    return {
        "decided_at": timezone.now().isoformat(),
        "rules": phrase_json(decision.trail),
        "routing": phrase_json(routing),
        **extra,
    }


def _to_status(
    order: Order, to_status: str, user, note: str, *, changes: Mapping[str, Any] | None = None, details=None
) -> Order:
    if to_status in (Status.AWAITING_SHIPMENT, Status.ON_HOLD):
        # Its stock was given back: it ships from nowhere yet (``decision`` keeps the last reasons).
        changes = {"warehouse": None, "shipping_method": None, **(changes or {})}
    return status_transition(
        machine=ORDER_STATUS,
        document=order,
        to_status=to_status,
        user=user,
        note=note,
        changes=changes,
        event_fields={"details": details} if details else None,
    )


def _parcels_of(orders: Sequence[Order]) -> dict[int, list[ParcelLine]]:
    """Unreserved parcels made by a person (merge or split) holding lines of ``orders``: parcel id → its lines."""
    rows = (
        ParcelLine.objects.filter(parcel__reserved_at__isnull=True, parcel__lines__order__in=list(orders))
        .select_related("parcel", "line__product")
        .distinct()
        .order_by("parcel_id", "pk")
    )
    found: dict[int, list[ParcelLine]] = defaultdict(list)
    for row in rows:
        found[row.parcel_id].append(row)
    return found


@dataclass
class _Group:
    """Orders allocated together: one order, or orders merged into one parcel."""

    orders: list[Order]
    parcel_ids: list[int] = field(default_factory=list)
    waiting_for: list[str] = field(default_factory=list)

    @property
    def leader(self) -> Order:
        return self.orders[0]


def _groups(todo: list[Order], parcels: dict[int, list[ParcelLine]], by_id: dict[int, Order]) -> list[_Group]:
    parcel_orders = {pid: {row.order_id for row in rows} for pid, rows in parcels.items()}
    seen: set[int] = set()
    groups = []
    for order in todo:
        if order.pk in seen:
            continue
        members, pids, frontier = {order.pk}, set(), [order.pk]
        while frontier:
            current = frontier.pop()
            for pid, owners in parcel_orders.items():
                if current in owners and pid not in pids:
                    pids.add(pid)
                    for other in owners - members:
                        members.add(other)
                        frontier.append(other)
        seen |= members
        missing = [pk for pk in members if pk not in by_id]
        group = _Group(orders=[by_id[pk] for pk in sorted(members) if pk in by_id], parcel_ids=sorted(pids))
        if missing:
            group.waiting_for = [
                str(number)
                for number in Order.objects.filter(pk__in=missing).values_list("channel_order_id", flat=True)
            ]
        groups.append(group)
    return groups


def _available(product_ids: set[int]) -> dict[tuple[int, int], int]:
    """(product id, warehouse id) → sellable − reserved now (one query). Read without locks: reserving checks
    again under the balance locks, so a stale figure costs a retry, never an oversell."""
    rows = InventoryBalance.objects.filter(product_id__in=product_ids).values_list(
        "product_id", "warehouse_id", "sellable", "reserved"
    )
    return {(product, warehouse): sellable - reserved for product, warehouse, sellable, reserved in rows}


def _candidates(order: Order, context: _Context, fixed: Warehouse | None) -> list[Warehouse]:
    if fixed is not None:
        return [fixed]
    allowed = [w for w in order.store.warehouses.all() if w.is_active] if order.store_id else []
    pool = allowed or list(context.warehouses.values())
    pool = [w for w in pool if w.kind != Warehouse.Kind.FBA]
    country = (order.ship_country or "").upper()
    return sorted(pool, key=lambda w: (w.country != country, w.priority, w.code))


def _fills(needs: Mapping[int, tuple[Product, int]], warehouse: Warehouse, available) -> bool:
    return all(available.get((pid, warehouse.pk), 0) >= units for pid, (_product, units) in needs.items())


def _shortages(needs: Mapping[int, tuple[Product, int]], warehouses: list[Warehouse], available) -> list[Phrase]:
    parts = []
    for pid, (product, units) in sorted(needs.items(), key=lambda item: item[1][0].sku):
        have = ", ".join(f"{w.code} {max(available.get((pid, w.pk), 0), 0)}" for w in warehouses)
        parts.append(
            Phrase(gettext_noop("%(sku)s needs %(units)s (%(have)s)"), sku=product.sku, units=units, have=have)
        )
    return parts


def _route(
    needs: dict[int, tuple[Product, int]],
    candidates: list[Warehouse],
    available: dict[tuple[int, int], int],
    *,
    country: str,
    split: bool,
) -> tuple[list[tuple[Warehouse, dict[int, tuple[Product, int]]]], list[str]]:
    """Where the units come from: [(warehouse, needs)] (several when split), or [] when they must wait; and the
    steps of the choice, in words."""
    steps: list[str] = []
    if not candidates:
        steps.append(Phrase(gettext_noop("No active warehouse may ship this store's orders.")))
        return [], steps
    local = [w.code for w in candidates if w.country == country]
    if local and len(candidates) > 1:
        steps.append(
            Phrase(gettext_noop("Warehouses in the destination country first: %(codes)s."), codes=", ".join(local))
        )
    for warehouse in candidates:
        if _fills(needs, warehouse, available):
            steps.append(Phrase(gettext_noop("%(code)s can fill it all."), code=warehouse.code))
            return [(warehouse, needs)], steps
    if split and len(candidates) > 1:
        plan: dict[int, dict[int, tuple[Product, int]]] = defaultdict(dict)
        left = dict(available)
        possible = True
        for pid, (product, units) in needs.items():
            wanted = units
            for warehouse in candidates:
                take = min(wanted, max(left.get((pid, warehouse.pk), 0), 0))
                if take:
                    plan[warehouse.pk][pid] = (product, take)
                    left[(pid, warehouse.pk)] = left.get((pid, warehouse.pk), 0) - take
                    wanted -= take
                if not wanted:
                    break
            if wanted:
                possible = False
                break
        if possible:
            chosen = [(w, plan[w.pk]) for w in candidates if plan.get(w.pk)]
            steps.append(
                Phrase(
                    gettext_noop(
                        "No one warehouse can fill it; the store allows split orders: %(count)s parcels from %(codes)s."
                    ),
                    count=len(chosen),
                    codes=", ".join(w.code for w, _needs in chosen),
                )
            )
            return chosen, steps
    steps.append(
        Phrase(
            gettext_noop("No warehouse can fill it (%(short)s): it waits for stock."),
            short=_shortages(needs, candidates, available),
        )
    )
    return [], steps


def _method_for(group: _Group, decision: Decision, context: _Context, steps: list[str]) -> ShippingMethod | None:
    leader = group.leader
    if leader.method_by_hand_id:
        method = context.method_by_id(leader.method_by_hand_id)
        steps.append(Phrase(gettext_noop("Shipping method %(code)s, set by hand."), code=method.code))
        return method
    if decision.method:
        method = context.methods.get(decision.method)
        if method is None or not method.is_active:
            steps.append(Phrase(gettext_noop("Shipping method %(code)s is not active."), code=decision.method))
            return None
        return method
    quotes = [quote for quote in context.quotes(leader) if quote.eligible]
    if not quotes:
        steps.append(Phrase(gettext_noop("No rule chose a shipping method and none can take this parcel.")))
        return None
    best = min(quotes, key=lambda quote: (quote.total, quote.method.code))
    steps.append(
        Phrase(
            gettext_noop(
                "No rule chose a shipping method: the cheapest that can take it, %(code)s at %(total)s %(currency)s."
            ),
            code=best.method.code,
            total=str(best.total),
            currency=best.currency,
        )
    )
    return best.method


def _allocate_group(
    group: _Group,
    parcels: dict[int, list[ParcelLine]],
    decisions: dict[int, Decision],
    components,
    available: dict[tuple[int, int], int],
    context: _Context,
    result: AllocationResult,
    writes: _Writes,
) -> None:
    leader = group.leader
    decision = decisions[leader.pk]
    routing: list[str] = []
    if group.waiting_for:
        # A merged order is held or busy: the parcel waits for it (each run looks again).
        result.skipped += len(group.orders)
        return
    # What goes in which parcel: a person's parcels, else one parcel of all lines.
    if group.parcel_ids:
        planned = [(pid, [(row.line, row.quantity) for row in parcels[pid]]) for pid in group.parcel_ids]
    else:
        planned = [(None, [(line, line.quantity) for line in leader.lines.all() if line.quantity > 0])]

    fixed: Warehouse | None = None
    if leader.warehouse_by_hand_id:
        fixed = context.warehouse_by_id(leader.warehouse_by_hand_id)
        routing.append(Phrase(gettext_noop("Warehouse %(code)s, set by hand."), code=fixed.code))
    elif decision.warehouse:
        fixed = context.warehouses.get(decision.warehouse)
        if fixed is None:
            routing.append(Phrase(gettext_noop("Warehouse %(code)s is not active."), code=decision.warehouse))
            _wait(group, decision, routing, result, writes, Status.AWAITING_STOCK)
            return

    method = _method_for(group, decision, context, routing)
    if method is None:
        writes.holds += [OrderHold(order=order, code=OrderHold.Code.NO_METHOD) for order in group.orders]
        _wait(
            group,
            decision,
            routing,
            result,
            writes,
            Status.ON_HOLD,
            note=gettext_noop("No shipping method can take it."),
        )
        return

    candidates = _candidates(leader, context, fixed)
    split = bool(getattr(leader.store, "split_orders", False))
    routes: list[tuple[int | None, Warehouse, dict[int, tuple[Product, int]], list]] = []
    for pid, lines in planned:
        needs = _needs(lines, components)
        chosen, steps = _route(needs, candidates, available, country=(leader.ship_country or "").upper(), split=split)
        routing.extend(steps)
        if not chosen:
            _wait(group, decision, routing, result, writes, Status.AWAITING_STOCK)
            return
        for index, (warehouse, part) in enumerate(chosen):
            # The person's parcel keeps its number for the first warehouse; more warehouses make more parcels.
            routes.append((pid if index == 0 else None, warehouse, part, lines))
    for _pid, warehouse, part, _source in routes:
        for product_id, (_product, units) in part.items():
            available[(product_id, warehouse.pk)] = available.get((product_id, warehouse.pk), 0) - units

    if all(route[0] is None for route in routes):
        # The common case: new parcels, reserved with the rest of the batch in one call.
        writes.plans.append(
            _Plan(
                group, decision, method, routing, [(warehouse, part, source) for _p, warehouse, part, source in routes]
            )
        )
        return
    started = time.perf_counter()
    try:
        with transaction.atomic():  # a person's parcels: all or none
            made = _parcels_reserve(routes, method, context)
    except InsufficientStock as short:
        result.seconds_reserving += time.perf_counter() - started
        routing.append(
            Phrase(gettext_noop("Stock went while reserving (%(short)s): it waits for stock."), short=str(short))
        )
        _wait(group, decision, routing, result, writes, Status.AWAITING_STOCK)
        return
    result.seconds_reserving += time.perf_counter() - started
    _allocated(group, decision, routing, made, method, result, writes)


def _wait(
    group: _Group,
    decision: Decision,
    routing: list[str],
    result: AllocationResult,
    writes: _Writes,
    to_status: str,
    note: str = "",
) -> None:
    record = _decision_record(decision, routing)
    for order in group.orders:
        if order.status == to_status:
            # Still waiting: say why now, without a new event each run.
            order.decision = record
            order.updated_at = timezone.now()
            writes.decisions_only.append(order)
        else:
            writes.moves.append(
                StatusMove(
                    order,
                    to_status,
                    note,
                    changes={"decision": record, "tags": _tags(order, decision)},
                    event_fields={"details": _event_details(decision, {}) | {"routing": phrase_json(routing[-1:])}},
                )
            )
        if to_status == Status.ON_HOLD:
            result.held += 1
        else:
            result.awaiting_stock += 1


def _parcels_reserve(routes, method: ShippingMethod, context: _Context) -> list[Parcel]:
    """Reserve a person's parcels (merged or split; a parcel split further across warehouses makes more) one by
    one; the caller's savepoint makes it all or nothing."""
    now = timezone.now()
    made: list[Parcel] = []
    taken: set[int] = set()
    for pid, warehouse, part, source in routes:
        if pid is not None:
            parcel = Parcel.objects.select_for_update().get(pk=pid)
            parcel.warehouse, parcel.shipping_method, parcel.reserved_at = warehouse, method, now
            parcel.save(update_fields=["warehouse", "shipping_method", "reserved_at", "updated_at"])
            if any(route[0] is None and route[3] is source for route in routes):
                # The person's parcel itself is split across warehouses: it keeps what its first one sends.
                kept = _lines_for_part(parcel, source, part, taken)
                parcel.lines.all().delete()
                ParcelLine.objects.bulk_create(kept)
        else:
            pk = next_id(Parcel)
            parcel = Parcel.objects.create(
                pk=pk,
                number=parcel_number(pk),
                warehouse=warehouse,
                shipping_method=method,
                reserved_at=now,
                made_by="split",
            )
            ParcelLine.objects.bulk_create(_lines_for_part(parcel, source, part, taken))
        stock_reserve(
            warehouse=warehouse,
            lines=[(product, units) for product, units in part.values()],
            reference=parcel.number,
            user=context.user,
        )
        made.append(parcel)
    return made


def _lines_for_part(
    parcel: Parcel, source: list[tuple[OrderLine, int]], part, taken: set[int] | None = None
) -> list[ParcelLine]:
    """The order lines whose products ``part`` takes, in the store's units (a split across warehouses splits by
    product). A bundle line goes whole into the first parcel of the order (``taken`` remembers it), so the
    parcels' lines add up to the order even when its components ship from two warehouses."""
    rows = []
    for line, quantity in source:
        if line.product_id is None:
            continue
        if line.product.is_bundle:
            if taken is None or line.pk not in taken:
                rows.append(ParcelLine(parcel=parcel, order_id=line.order_id, line=line, quantity=quantity))
                if taken is not None:
                    taken.add(line.pk)
            continue
        if line.product_id in part:
            share = quantity
            if line.product_quantity:
                per_unit = line.product_quantity // line.quantity or 1
                share = min(quantity, max(part[line.product_id][1] // per_unit, 1))
            rows.append(ParcelLine(parcel=parcel, order_id=line.order_id, line=line, quantity=share))
    return rows


# --- giving back what a parcel holds --------------------------------------------------------------------------------


def _parcels_unreserve(
    parcels: Iterable[Parcel], user, *, keep_made_by_person: bool = True, keep_protected: bool = False
) -> list[int]:
    """Release the reserved stock of ``parcels``; delete those allocation made (a person's merge or split stays
    as a grouping, unreserved). A parcel the floor already put in a wave is protected by it: with
    ``keep_protected`` (its order is cancelled; packing refuses it) it stays too, unreserved; else the change is
    refused (Conflict), since its orders would be allocated again into a second parcel. Returns the ids of the
    orders they held."""
    order_ids: set[int] = set()
    for parcel in parcels:
        order_ids |= set(parcel.lines.values_list("order_id", flat=True))
        _labels_void(parcel, gettext_noop("Its parcel was undone."))
        if parcel.reserved_at is not None and parcel.warehouse_id is not None:
            stock_release(warehouse=parcel.warehouse, reference=parcel.number, user=user)
        if not (keep_made_by_person and parcel.made_by in ("merge", "split")):
            try:
                parcel.delete()
                continue
            except ProtectedError:  # raised while collecting, before anything is deleted
                if not keep_protected:
                    raise Conflict(
                        _("Parcel %(parcel)s is in a wave already; the floor must take it out first.")
                        % {"parcel": parcel.number},
                        code="parcel_in_wave",
                        parcel=parcel.number,
                    ) from None
        parcel.reserved_at = None
        parcel.warehouse = None
        parcel.save(update_fields=["reserved_at", "warehouse", "updated_at"])
    return sorted(order_ids)


def _labels_void(parcel: Parcel, reason: str) -> None:
    """The parcel's labels not handed over are voided with the carrier (after this transaction commits; the
    request itself is kept in it, so it is never lost)."""
    shipments_void_request(shipment_ids=parcel.shipments.values_list("pk", flat=True), reason=reason)


def _reserved_release(parcel: Parcel, user) -> None:
    """Give back what the parcel still has reserved (not picked); the parcel itself stays."""
    if parcel.warehouse_id and Reservation.objects.filter(reference=parcel.number, quantity_reserved__gt=0).exists():
        stock_release(warehouse=parcel.warehouse, reference=parcel.number, user=user)


def _order_parcels(order_ids: Iterable[int]) -> list[Parcel]:
    return list(
        Parcel.objects.select_for_update(of=("self",))
        .filter(pk__in=ParcelLine.objects.filter(order_id__in=list(order_ids)).values("parcel_id"))
        .select_related("warehouse")
        .order_by("pk")
    )


def _others_back_to_new(order_ids: Iterable[int], skip: set[int], user, note: str) -> None:
    """The other orders of a parcel that was undone are allocated again at once, each on its own."""
    moved = []
    for order in Order.objects.filter(pk__in=list(order_ids), status__in=[Status.ALLOCATED, Status.AWAITING_STOCK]):
        if order.pk not in skip:
            _to_status(order, Status.AWAITING_SHIPMENT, user, note)
            moved.append(order.pk)
    if moved:
        orders_allocate(order_ids=moved, user=user)


@transaction.atomic
def orders_settle(*, order_ids: Iterable[int], user=None, reopen: Iterable[int] = (), note: str = "") -> None:
    """Bring orders in line with their holds and the store's news, after an import or a person changed them:
    held orders wait on hold (their stock given back); an allocated order the store changed (``reopen``) is
    allocated afresh; an order whose holds are all released is new again; one the store cancelled or shipped
    gives back what its parcels reserved."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    reopen = set(reopen)
    orders = list(Order.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))
    held = set(OrderHold.objects.filter(order_id__in=ids, released_at__isnull=True).values_list("order_id", flat=True))
    for order in orders:
        if order.status == Status.CANCELLED:
            for parcel in _order_parcels([order.pk]):
                _labels_void(parcel, gettext_noop("Its order was cancelled."))
            reserved = [p for p in _order_parcels([order.pk]) if p.reserved_at is not None]
            if reserved:
                others = _parcels_unreserve(reserved, user, keep_made_by_person=False)
                _others_back_to_new(others, {order.pk}, user, note or gettext_noop("A merged order left the parcel."))
        elif order.status in (Status.SHIPPED, Status.PARTIALLY_SHIPPED):
            # Shipped outside the floor's steps (recorded by hand, or by the store): what is still reserved for
            # its parcels goes back; the parcels stay as the record of what was planned.
            for parcel in _order_parcels([order.pk]):
                _reserved_release(parcel, user)
        elif order.status in (Status.ALLOCATED, Status.AWAITING_STOCK) and (order.pk in held or order.pk in reopen):
            others = _parcels_unreserve(_order_parcels([order.pk]), user)
            target = Status.ON_HOLD if order.pk in held else Status.AWAITING_SHIPMENT
            _to_status(order, target, user, note or gettext_noop("Changed in the store: allocated again."))
            _others_back_to_new(others, {order.pk}, user, note or gettext_noop("A merged order changed."))
        elif order.status == Status.AWAITING_SHIPMENT and order.pk in held:
            _to_status(order, Status.ON_HOLD, user, note or gettext_noop("Held."))
        elif order.status == Status.ON_HOLD and order.pk not in held:
            _to_status(order, Status.AWAITING_SHIPMENT, user, note or gettext_noop("Every hold released."))


# --- what people do -------------------------------------------------------------------------------------------------


def _event(order: Order, kind: str, details: dict[str, Any], user) -> None:
    """An event of an order whose status stays as it is now (read afresh: a transition may just have moved it)."""
    status = Order.objects.filter(pk=order.pk).values_list("status", flat=True).get()
    OrderEvent.objects.create(
        order_id=order.pk, kind=kind, from_status=status, to_status=status, details=details, user=user
    )


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order.pk)


def _refuse_unless(order: Order, statuses: Iterable[str], action: str) -> None:
    if order.status not in statuses:
        raise Conflict(
            _("Order %(order)s is %(status)s; it cannot be %(action)s now.")
            % {"order": order.channel_order_id, "status": ORDER_STATUS.status_label(order.status), "action": action},
            code="invalid_transition",
            order=order.channel_order_id,
            status=order.status,
        )


@transaction.atomic
def order_hold(*, order: Order, reason: str, user=None) -> Order:
    """A person holds an order before picking, with a reason; stock reserved for it is given back."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _("Say why the order is held."), errors=[ErrorDetail(_("Required."), field="reason", code="required")]
        )
    order = _locked(order)
    _refuse_unless(order, NOT_PICKED | {Status.PENDING}, _("held"))
    OrderHold.objects.get_or_create(order=order, code=OrderHold.Code.MANUAL, detail=reason[:255], released_at=None)
    _event(order, OrderEvent.Kind.HELD, {"code": OrderHold.Code.MANUAL, "detail": reason[:255]}, user)
    orders_settle(order_ids=[order.pk], user=user, note=reason)
    return Order.objects.get(pk=order.pk)


@transaction.atomic
def order_release(*, order: Order, user=None, note: str = "") -> Order:
    """A person releases every hold of an order a person may release (an unmapped SKU is released by mapping it);
    with none left, the order is new again and allocated at once."""
    order = _locked(order)
    holds = list(order.holds.select_for_update().filter(released_at__isnull=True).order_by("pk"))
    if not holds:
        raise Conflict(
            _("Order %(order)s has no open hold.") % {"order": order.channel_order_id}, code="nothing_to_release"
        )
    unmapped = [hold.detail for hold in holds if hold.code == OrderHold.Code.UNMAPPED_SKU]
    holds = [hold for hold in holds if hold.code != OrderHold.Code.UNMAPPED_SKU]
    if not holds:  # an unmapped SKU is released by mapping it; the order's other holds a person may release
        raise Conflict(
            _("Map SKU %(sku)s to a product: that releases the hold by itself.") % {"sku": ", ".join(unmapped)},
            code="hold_needs_mapping",
        )
    now = timezone.now()
    OrderHold.objects.filter(pk__in=[hold.pk for hold in holds]).update(released_at=now, released_by=user)
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.RELEASED,
                from_status=order.status,
                to_status=order.status,
                note=note[:255],
                details={"code": hold.code, "detail": hold.detail},
                user=user,
            )
            for hold in holds
        ]
    )
    orders_settle(order_ids=[order.pk], user=user, note=note or gettext_noop("Released by hand."))
    order.refresh_from_db()
    if order.status == Status.AWAITING_SHIPMENT:
        orders_allocate(order_ids=[order.pk], user=user)
        order.refresh_from_db()
    return order


@transaction.atomic
def order_cancel(*, order: Order, reason: str = "", user=None) -> Order:
    """Cancel an order in Seabridge (the store is not told: cancel it there too). Before picking, its reserved
    stock is given back; after picking began, the picked units are announced (``order_cancelled``) so the floor
    gets a task to put them back and logistics voids the label."""
    order = _locked(order)
    if order.status == Status.CANCELLED:
        return order
    status_check(machine=ORDER_STATUS, document=order, to_status=Status.CANCELLED)
    parcels = _order_parcels([order.pk])
    picked: list[dict[str, Any]] = []
    others: list[int] = []
    for parcel in parcels:
        _labels_void(parcel, reason or gettext_noop("Its order was cancelled."))
    if order.status in (Status.PICKING, Status.PACKED):
        for parcel in parcels:
            if parcel.warehouse_id is None:
                continue
            for reservation in Reservation.objects.filter(reference=parcel.number, quantity_picked__gt=0):
                move = (
                    StockMove.objects.filter(reference=parcel.number, product_id=reservation.product_id)
                    .filter(reason=StockMove.Reason.PICK)
                    .order_by("-pk")
                    .first()
                )
                picked.append(
                    {
                        "warehouse_id": reservation.warehouse_id,
                        "product_id": reservation.product_id,
                        "quantity": reservation.quantity_picked,
                        "reference": parcel.number,
                        "from_bin_id": move.to_bin_id if move is not None else None,
                    }
                )
            _reserved_release(parcel, user)
    else:
        others = _parcels_unreserve(parcels, user, keep_made_by_person=False, keep_protected=True)
    order = _to_status(order, Status.CANCELLED, user, reason or gettext_noop("Cancelled by hand."))
    _others_back_to_new(others, {order.pk}, user, gettext_noop("A merged order was cancelled."))
    order_cancelled.send(sender=Order, order=order, picked=picked, parcels=[p.number for p in parcels], user=user)
    return order


def _merge_refusal(orders: list[Order]) -> None:
    errors = []
    for order in orders:
        if order.status not in NOT_PICKED:
            errors.append(
                ErrorDetail(
                    _("Order %(order)s is %(status)s; only orders not yet picked can be merged.")
                    % {"order": order.channel_order_id, "status": ORDER_STATUS.status_label(order.status)},
                    field="orders",
                    code="invalid_transition",
                )
            )
    keys = {merge_key(order) for order in orders}
    if "" in keys or len(keys) > 1:
        errors.append(
            ErrorDetail(
                _("Only orders of the same buyer to the same address can be merged."), field="orders", code="invalid"
            )
        )
    if errors:
        raise ValidationFailed.listing(_("The merge"), errors)


@transaction.atomic
def orders_merge(*, orders: Sequence[Order], user=None) -> Parcel:
    """Merge orders of one buyer to one address, none picked yet, into one parcel, and allocate it. Each order
    stays as its store sent it, so each store is told the parcel's tracking for its own order."""
    ids = sorted({order.pk for order in orders})
    if len(ids) < 2:
        raise ValidationFailed(
            _("Choose at least two orders to merge."),
            errors=[ErrorDetail(_("At least two orders."), field="orders", code="min_length")],
        )
    locked = list(Order.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk"))
    if len(locked) != len(ids):
        raise ValidationFailed(
            _("Some of the orders do not exist."), errors=[ErrorDetail(_("Unknown order."), field="orders")]
        )
    _merge_refusal(locked)
    others = _parcels_unreserve(_order_parcels(ids), user, keep_made_by_person=False)
    _others_back_to_new(others, set(ids), user, gettext_noop("A merged order was merged with others."))
    pk = next_id(Parcel)
    parcel = Parcel.objects.create(pk=pk, number=parcel_number(pk), made_by="merge")
    rows = [
        ParcelLine(parcel=parcel, order_id=line.order_id, line=line, quantity=line.quantity)
        for line in OrderLine.objects.filter(order_id__in=ids, quantity__gt=0).order_by("order_id", "pk")
    ]
    ParcelLine.objects.bulk_create(rows)
    numbers = [order.channel_order_id for order in locked]
    for order in locked:
        if order.status in (Status.ALLOCATED, Status.AWAITING_STOCK):
            _to_status(order, Status.AWAITING_SHIPMENT, user, gettext_noop("Merged: allocated again as one parcel."))
        _event(order, OrderEvent.Kind.MERGED, {"parcel": parcel.number, "orders": numbers}, user)
    orders_allocate(order_ids=ids, user=user)
    parcel.refresh_from_db()
    return parcel


@dataclass(frozen=True)
class SplitLineIn:
    line_id: int
    quantity: int


@transaction.atomic
def order_split(*, order: Order, parcels: Sequence[Sequence[SplitLineIn]], user=None) -> list[Parcel]:
    """Split an order not yet picked into parcels: each a list of (line, quantity in the store's units). What no
    parcel names goes into one more parcel. The parcels are allocated at once, each on its own."""
    order = _locked(order)
    _refuse_unless(order, NOT_PICKED, _("split"))
    lines = {line.pk: line for line in order.lines.filter(quantity__gt=0).order_by("pk")}
    left = {pk: line.quantity for pk, line in lines.items()}
    errors: list[ErrorDetail] = []
    groups: list[list[tuple[OrderLine, int]]] = []
    for index, rows in enumerate(parcels):
        group = []
        if not rows:
            errors.append(ErrorDetail(_("A parcel needs at least one line."), field=f"parcels[{index}]"))
        for position, row in enumerate(rows):
            where = f"parcels[{index}][{position}]"
            line = lines.get(row.line_id)
            if line is None:
                errors.append(ErrorDetail(_("Not a line of this order."), field=f"{where}.line", code="invalid"))
                continue
            if not isinstance(row.quantity, int) or row.quantity < 1 or row.quantity > left[line.pk]:
                errors.append(
                    ErrorDetail(
                        _("Between 1 and %(left)s.") % {"left": left[line.pk]},
                        field=f"{where}.quantity",
                        code="invalid",
                    )
                )
                continue
            left[line.pk] -= row.quantity
            group.append((line, row.quantity))
        groups.append(group)
    rest = [(lines[pk], quantity) for pk, quantity in left.items() if quantity > 0]
    if rest:
        groups.append(rest)
    if not errors and len([group for group in groups if group]) < 2:
        errors.append(ErrorDetail(_("A split makes at least two parcels."), field="parcels", code="min_length"))
    if errors:
        raise ValidationFailed.listing(_("The split"), errors)
    others = _parcels_unreserve(_order_parcels([order.pk]), user, keep_made_by_person=False)
    _others_back_to_new(others, {order.pk}, user, gettext_noop("A merged order was split."))
    made = []
    for group in groups:
        pk = next_id(Parcel)
        parcel = Parcel.objects.create(pk=pk, number=parcel_number(pk), made_by="split")
        ParcelLine.objects.bulk_create(
            [ParcelLine(parcel=parcel, order=order, line=line, quantity=quantity) for line, quantity in group]
        )
        made.append(parcel)
    if order.status in (Status.ALLOCATED, Status.AWAITING_STOCK):
        _to_status(order, Status.AWAITING_SHIPMENT, user, gettext_noop("Split: each parcel allocated again."))
    _event(
        order,
        OrderEvent.Kind.SPLIT,
        {
            "parcels": {
                parcel.number: {line.channel_line_id: quantity for line, quantity in group}
                for parcel, group in zip(made, groups, strict=True)
            }
        },
        user,
    )
    orders_allocate(order_ids=[order.pk], user=user)
    return list(Parcel.objects.filter(pk__in=[parcel.pk for parcel in made]).order_by("pk"))


@transaction.atomic
def order_parcels_undo(*, order: Order, user=None) -> Order:
    """Undo a merge or split of an order not yet picked: its parcels (and the other orders of a merged one) go
    back to one parcel per order, allocated afresh."""
    order = _locked(order)
    _refuse_unless(order, NOT_PICKED, _("unmerged or unsplit"))
    parcels = _order_parcels([order.pk])
    if not any(parcel.made_by in ("merge", "split") for parcel in parcels):
        raise Conflict(
            _("Order %(order)s is neither merged nor split.") % {"order": order.channel_order_id},
            code="nothing_to_undo",
        )
    members = sorted({order.pk, *ParcelLine.objects.filter(parcel__in=parcels).values_list("order_id", flat=True)})
    locked = list(Order.objects.select_for_update(of=("self",)).filter(pk__in=members).order_by("pk"))
    for member in locked:
        _refuse_unless(member, NOT_PICKED, _("unmerged or unsplit"))
    _parcels_unreserve(parcels, user, keep_made_by_person=False)
    for member in locked:
        if member.status in (Status.ALLOCATED, Status.AWAITING_STOCK):
            _to_status(member, Status.AWAITING_SHIPMENT, user, gettext_noop("Merge or split undone."))
        _event(member, OrderEvent.Kind.PARCELS_UNDONE, {"parcels": [parcel.number for parcel in parcels]}, user)
    orders_allocate(order_ids=members, user=user)
    order.refresh_from_db()
    return order


@transaction.atomic
def order_set_by_hand(
    *, order: Order, warehouse: Warehouse | None = None, method: ShippingMethod | None = None, user=None
) -> Order:
    """A person fixes the warehouse and/or the shipping method of an order not yet picked (None leaves it as it
    is); rules and routing keep to it, and the order is allocated again at once."""
    order = _locked(order)
    _refuse_unless(order, NOT_PICKED, _("changed"))
    if warehouse is None and method is None:
        raise ValidationFailed(
            _("Give a warehouse or a shipping method."),
            errors=[ErrorDetail(_("Give a warehouse or a shipping method."), field="warehouse", code="required")],
        )
    changes = {}
    if warehouse is not None:
        if not warehouse.is_active:
            raise ValidationFailed(
                _("Warehouse %(code)s is not active.") % {"code": warehouse.code},
                errors=[ErrorDetail(_("Not active."), field="warehouse", code="invalid")],
            )
        order.warehouse_by_hand = warehouse
        changes["warehouse"] = warehouse.code
    if method is not None:
        if not method.is_active:
            raise ValidationFailed(
                _("Shipping method %(code)s is not active.") % {"code": method.code},
                errors=[ErrorDetail(_("Not active."), field="shipping_method", code="invalid")],
            )
        order.method_by_hand = method
        changes["shipping_method"] = method.code
    order.save(update_fields=["warehouse_by_hand", "method_by_hand", "updated_at"])
    if method is not None:
        # A method chosen by a person answers "no shipping method can take it".
        no_method = order.holds.filter(code=OrderHold.Code.NO_METHOD, released_at__isnull=True)
        if no_method.update(released_at=timezone.now(), released_by=user):
            orders_settle(order_ids=[order.pk], user=user, note=gettext_noop("Shipping method set by hand."))
            order.refresh_from_db()
    _event(order, OrderEvent.Kind.SET_BY_HAND, changes, user)
    if order.status in (Status.ALLOCATED, Status.AWAITING_STOCK):
        others = _parcels_unreserve(_order_parcels([order.pk]), user)
        _to_status(order, Status.AWAITING_SHIPMENT, user, gettext_noop("Set by hand: allocated again."))
        _others_back_to_new(others, {order.pk}, user, gettext_noop("A merged order was changed by hand."))
    if Order.objects.filter(pk=order.pk, status=Status.AWAITING_SHIPMENT).exists():
        orders_allocate(order_ids=[order.pk], user=user)
    order.refresh_from_db()
    return order


@transaction.atomic
def order_picking_start(*, order: Order, user=None, note: str = "") -> Order:
    """The floor began picking an allocated order (the warehouse issue's waves call this)."""
    return _to_status(order, Status.PICKING, user, note)


@transaction.atomic
def order_packed(*, order: Order, user=None, note: str = "") -> Order:
    return _to_status(order, Status.PACKED, user, note)


def merge_suggestions(*, limit: int = 200) -> list[list[Order]]:
    """Groups of orders not yet picked nor merged, of one buyer to one address (by normalised e-mail or name,
    street, postcode and country): what a person may merge."""
    candidates = Order.objects.filter(status__in=NOT_PICKED).exclude(Q(parcel_lines__parcel__made_by="merge"))
    groups: dict[str, list[Order]] = defaultdict(list)
    for order in candidates.order_by("ordered_at", "pk").iterator(chunk_size=2000):
        key = merge_key(order)
        if key:
            groups[key].append(order)
    found = [orders for orders in groups.values() if len(orders) > 1]
    return found[:limit]
