"""A local Shopify store that speaks the GraphQL Admin API 2026-04 and checks every query against Shopify's schema.

What it answers, as Shopify does (the wire format is read from the vendored 2026-04 schema,
``data/shopify/2026-04-admin-schema.graphql.gz``, and from shopify.dev's rate-limit and authentication pages):

- ``POST /admin/api/2026-04/graphql.json`` with ``X-Shopify-Access-Token``. Every document is parsed and validated
  against the real schema and its variables are coerced by its types, so a query the adapter sends here is a
  query 2026-04 accepts. An invalid one gets HTTP 200 with ``{"errors": [{message, locations, ...}]}`` and no data
  (the messages are graphql-core's wording, not Shopify's graphql-ruby wording; the shape is Shopify's). A wrong or
  expired token gets HTTP 401 ``{"errors": "[API] Invalid API key or access token ..."}``.
- ``POST /admin/oauth/access_token`` (form or JSON), the client credentials grant of a Dev Dashboard app installed
  on its own store: ``{"access_token", "scope", "expires_in": 86399}``; unknown client → 400 ``invalid_client``.
- Cost-based throttling: each query's requested cost is computed before it runs (objects 1, scalars and enums 0,
  connections 2 + ``first`` × the node's cost, lists sized by ``first``, mutations 10), a query above 1,000 points
  is refused with ``MAX_COST_EXCEEDED``, the bucket (``bucket_size`` points, ``restore_rate`` a second) must hold
  the requested cost or the answer is HTTP 200 ``errors[{message: "Throttled", extensions: {code: "THROTTLED"}}]``,
  and after the query runs the difference to its actual cost is refunded. Every answer carries
  ``extensions.cost {requestedQueryCost, actualQueryCost, throttleStatus}``.
- Resolvers for what the adapter uses: ``orders`` (cursor paging sorted by ``UPDATED_AT``/``CREATED_AT``/``ID``,
  the search syntax's ``updated_at``/``created_at``/``status`` terms; cursors are keyset, so an order changed
  during a scan shows up again further on), ``order(id:)`` with ``lineItems``, ``fulfillmentOrders`` and
  ``fulfillments``, ``fulfillmentCreate`` (fulfilment orders that are closed or lack the quantity are refused with
  userErrors, which is what a repeated confirmation meets; Shopify itself has no duplicate check, so a repeat for
  lines that still remain would be fulfilled twice) and ``inventorySetQuantities`` (the 2026-04 rules:
  ``@idempotent(key:)`` required, ``changeFromQuantity`` required even when null, per-item userErrors with their
  input path, all or nothing; a key seen again with the same input replays the first answer).

For tests and the demo: ``order_add``/``order_update``/``order_line_quantity``/``order_cancel``/``order_close``/
``order_fulfil``/``fulfillment_order_move`` (each bumps ``updatedAt``), ``order_tamper`` (odd data in answers),
``location_add``, ``inventory_item_add``, ``page_size``, ``repeat_page_boundary`` (the last order of a page comes
again first on the next), ``throttle_next``, ``expire_tokens``, ``on_operation`` (run something just before a named
operation: an order changing mid-scan), ``fulfillments_created``, ``stock_sets``, ``available``, and ``seed_demo``.
The clock (``now``) runs with real time until set; once set it stays, ticking one second per change so every change
has its own ``updatedAt``.

The bucket defaults to 1,000 points restored at 100 a second (Shopify's Standard plan restores 100; the bucket size
varies by plan). It refills on real time, so a demo or benchmark that reads thousands of orders waits as it would on
Shopify; one that measures Seabridge rather than Shopify's limits passes a larger ``bucket_size``/``restore_rate``.
Not simulated: the search index's lag behind writes (Shopify's ``query:`` results can trail a change by seconds,
which the sync engine's overlap window covers), presentment currencies, refunds and returns as objects, and the
REST API.
"""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    build_schema,
    execute_sync,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_list_type,
    parse,
    validate,
    validate_schema,
)
from graphql.execution.values import get_directive_values

from channels.simulators.base import Request, Response, Simulator

API_VERSION = "2026-04"
SCHEMA_PATH = Path(__file__).parent / "data" / "shopify" / f"{API_VERSION}-admin-schema.graphql.gz"
MAX_QUERY_COST = 1000
MUTATION_COST = 10
MAX_PAGE = 250  # Shopify's limit on first/last and on input arrays
TOKEN_SECONDS = 86399  # what the client credentials grant answers
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105 (a message)
# The reasons Shopify's inventory mutations accept (shopify.dev, "inventory reasons").
INVENTORY_REASONS = frozenset(
    "correction cycle_count_available damaged movement_created movement_updated movement_received movement_canceled "  # noqa: SIM905
    "other promotion quality_control received reservation_created reservation_deleted reservation_updated restock "
    "safety_stock shrinkage".split()
)
INVENTORY_NAMES = frozenset({"available", "on_hand", "damaged", "quality_control", "reserved", "safety_stock"})
DELETE = object()  # order_tamper(..., field=DELETE) drops the field from the answer


# --- The schema ---------------------------------------------------------------------------------------------------

_schema: GraphQLSchema | None = None
_schema_set_aside: tuple[str, ...] = ()
_schema_lock = threading.Lock()


def _deprecations_set_aside(schema: GraphQLSchema) -> tuple[str, ...]:
    """Clear the deprecation of implementation fields whose interface field is not deprecated.

    The published 2026-04 schema has four (``Customer.hasTimelineComment``, ``DiscountAutomaticBxgy.id``,
    ``MediaImage.metafield(s)``); graphql-core 3.3 refuses such a schema, so no query could be validated. Nothing
    else is changed, and the file stays as Shopify published it.
    """
    set_aside = set()
    for named_type in schema.type_map.values():
        if not isinstance(named_type, GraphQLObjectType | GraphQLInterfaceType):
            continue
        for interface in named_type.interfaces:
            for name, interface_field in interface.fields.items():
                implementation = named_type.fields.get(name)
                if implementation and implementation.deprecation_reason and not interface_field.deprecation_reason:
                    implementation.deprecation_reason = None
                    set_aside.add(f"{named_type.name}.{name}")
    return tuple(sorted(set_aside))


def admin_schema() -> GraphQLSchema:
    """Shopify's GraphQL Admin API 2026-04, built once per process (about a second)."""
    global _schema, _schema_set_aside
    with _schema_lock:
        if _schema is None:
            sdl = gzip.decompress(SCHEMA_PATH.read_bytes()).decode()
            schema = build_schema(sdl, assume_valid_sdl=True)
            set_aside = _deprecations_set_aside(schema)
            problems = validate_schema(schema)
            if problems:
                raise RuntimeError(f"Shopify schema still invalid: {problems[0].message}")
            _schema, _schema_set_aside = schema, set_aside
        return _schema


def schema_fields_set_aside() -> tuple[str, ...]:
    """The implementation fields whose deprecation was cleared at load (for the tests to pin)."""
    admin_schema()
    return _schema_set_aside


# --- Query cost -----------------------------------------------------------------------------------------------------


class QueryCost:
    """Shopify's calculated query cost, requested (from ``first``/``last``) or actual (from what came back)."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any]) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def operation(self, operation, data: dict | None = None) -> int:
        if operation.operation == OperationType.MUTATION:
            return MUTATION_COST * sum(1 for _ in self._fields(operation.selection_set, self.schema.mutation_type))
        actual = data is not None
        return self._selection(operation.selection_set, self.schema.query_type, data if actual else None, actual)

    def _fields(self, selection_set: SelectionSetNode, owner):
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, owner
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                yield from self._fields(
                    fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value)
                )
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                yield from self._fields(
                    selection.selection_set, self.schema.get_type(condition.name.value) if condition else owner
                )

    def _size(self, node: FieldNode) -> int:
        for argument in node.arguments:
            if argument.name.value in ("first", "last"):
                value = argument.value
                if isinstance(value, VariableNode):
                    return int(self.variables.get(value.name.value) or 0)
                if isinstance(value, IntValueNode):
                    return int(value.value)
        return 1

    def _selection(self, selection_set, owner, data, actual: bool) -> int:
        total = 0
        for node, node_owner in self._fields(selection_set, owner):
            name = node.name.value
            if name.startswith("__") or isinstance(node_owner, GraphQLUnionType):
                continue
            definition = node_owner.fields[name]
            named = get_named_type(definition.type)
            if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                continue
            key = node.alias.value if node.alias else name
            value = data.get(key) if isinstance(data, dict) else None
            if actual and value is None:
                continue
            if named.name.endswith("Connection") and "first" in definition.args:
                total += self._connection(node, named, value, actual)
            elif is_list_type(get_nullable_type(definition.type)):
                items = value if actual else [None] * self._size(node)
                total += sum(1 + self._selection(node.selection_set, named, item, actual) for item in items)
            else:
                total += 1 + self._selection(node.selection_set, named, value, actual)
        return total

    def _connection(self, node: FieldNode, connection_type, value, actual: bool) -> int:
        """2 points, plus each node's cost for ``first`` nodes (requested) or the nodes returned (actual)."""
        count = self._size(node)
        if actual:
            count = max(len(value.get("nodes") or []), len(value.get("edges") or []))
        total = 2
        for index in range(count):
            for part, part_owner in self._fields(node.selection_set, connection_type):
                part_name = part.name.value
                part_value = value.get(part.alias.value if part.alias else part_name) if actual else None
                if part_name == "nodes":
                    item = part_value[index] if actual and index < len(part_value or []) else None
                    node_type = get_named_type(part_owner.fields["nodes"].type)
                    total += 1 + self._selection(part.selection_set, node_type, item, actual)
                elif part_name == "edges":
                    edge = part_value[index] if actual and index < len(part_value or []) else None
                    edge_type = get_named_type(part_owner.fields["edges"].type)
                    total += self._selection(part.selection_set, edge_type, edge, actual)
        return total


def requested_cost(query: str, variables: dict[str, Any] | None = None, operation_name: str | None = None) -> int:
    """What Shopify would charge before running ``query`` (the tests check the adapter's queries fit)."""
    document = parse(query)
    operation = get_operation_ast(document, operation_name)
    return QueryCost(admin_schema(), document, variables or {}).operation(operation)


# --- Identifiers, times, money --------------------------------------------------------------------------------------


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def gid_number(value: Any, kind: str) -> int | None:
    match = re.fullmatch(rf"gid://shopify/{kind}/(\d+)", value or "") if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    value = {"amount": str(amount.quantize(Decimal("0.01"))), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": dict(value)}


def _cursor(payload: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _uncursor(cursor: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.b64decode(cursor.encode(), validate=True))
    except ValueError as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}") from exc
    if not isinstance(payload, dict) or "last_id" not in payload:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}")
    return payload


# --- The store's data -------------------------------------------------------------------------------------------------


@dataclass
class SimLine:
    id: int
    sku: str | None
    title: str
    quantity: int
    current_quantity: int
    unit_price: Decimal
    variant_id: int | None
    fulfilled: int = 0


@dataclass
class SimFulfillmentOrderLine:
    id: int
    line_id: int
    total: int
    remaining: int


@dataclass
class SimFulfillmentOrder:
    id: int
    location_id: int
    lines: list[SimFulfillmentOrderLine]
    status: str = "OPEN"

    def status_refresh(self) -> None:
        if self.status in ("CANCELLED", "ON_HOLD", "SCHEDULED"):
            return
        if all(line.remaining == 0 for line in self.lines):
            self.status = "CLOSED"
        elif any(line.remaining < line.total for line in self.lines):
            self.status = "IN_PROGRESS"
        else:
            self.status = "OPEN"


@dataclass
class SimFulfillment:
    id: int
    order_id: int
    location_id: int
    lines: list[tuple[int, int]]  # (line id, quantity)
    tracking_company: str | None
    tracking_number: str | None
    tracking_url: str | None
    notify_customer: bool
    created_at: datetime
    status: str = "SUCCESS"


@dataclass
class SimOrder:
    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    currency: str
    financial_status: str | None
    lines: list[SimLine]
    shipping_address: dict[str, Any] | None
    shipping_title: str | None
    shipping_price: Decimal
    tax: Decimal
    discount: Decimal
    email: str | None = None
    phone: str | None = None
    note: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None
    fulfillment_orders: list[SimFulfillmentOrder] = field(default_factory=list)
    fulfillments: list[SimFulfillment] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return gid("Order", self.id)

    def fulfillment_status(self) -> str:
        fulfilled = sum(min(line.fulfilled, line.current_quantity) for line in self.lines)
        wanted = sum(line.current_quantity for line in self.lines)
        if fulfilled == 0:
            return "UNFULFILLED"
        return "FULFILLED" if fulfilled >= wanted else "PARTIALLY_FULFILLED"

    def subtotal(self) -> Decimal:
        return sum((line.unit_price * line.current_quantity for line in self.lines), Decimal("0"))

    def total(self) -> Decimal:
        return self.subtotal() + self.shipping_price + self.tax - self.discount


@dataclass
class _Tokens:
    expires_at: datetime | None


# --- The simulator --------------------------------------------------------------------------------------------------


class ShopifySimulator(Simulator):
    """One shop: its orders, fulfilment orders, fulfilments, inventory and API tokens, in memory."""

    name = "shopify"

    def __init__(
        self,
        *,
        access_token: str = "shpat_simulated_token",  # noqa: S107 (a simulator's own test value)
        client_id: str = "sim-client-id",
        client_secret: str = "sim-client-secret",  # noqa: S107 (a simulator's own test value)
        bucket_size: float = 1000.0,
        restore_rate: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
        currency: str = "USD",
    ) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.currency = currency
        self.tokens: dict[str, _Tokens] = {}
        if access_token:
            self.tokens[access_token] = _Tokens(expires_at=None)
        self.token_grants = 0
        self.bucket_size, self.restore_rate, self.clock = bucket_size, restore_rate, clock
        self._bucket_level = bucket_size
        self._bucket_at = clock()
        self._throttle_next: list[float] = []
        self._now: datetime | None = None
        self._ids = itertools.count(5_900_000_000_001)
        self._order_numbers = itertools.count(1001)
        self.orders: dict[int, SimOrder] = {}
        self.locations: dict[int, str] = {}
        self.default_location = self.location_add("Shenzhen warehouse")
        self.inventory_items: dict[int, str | None] = {}  # inventory item id → SKU
        self.inventory: dict[tuple[int, int], int] = {}  # (item id, location id) → available
        self.fulfillments_created: list[SimFulfillment] = []
        self.stock_sets: list[dict[str, Any]] = []
        self._idempotency: dict[str, tuple[str, dict[str, Any]]] = {}
        self._tamper: dict[str, dict[str, Any]] = {}
        self._hooks: list[tuple[str, Callable[[ShopifySimulator], None]]] = []
        self.page_size: int | None = None
        self.repeat_page_boundary = False
        self._documents: dict[str, tuple[DocumentNode | None, list[GraphQLError]]] = {}

    # -- clock ----------------------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        with self.lock:
            if self._now is not None:
                return self._now
        return datetime.now(UTC).replace(microsecond=0)

    @now.setter
    def now(self, moment: datetime) -> None:
        with self.lock:
            self._now = moment.astimezone(UTC).replace(microsecond=0)

    def advance(self, seconds: float) -> datetime:
        with self.lock:
            self._now = self.now + timedelta(seconds=seconds)
            return self._now

    def _change_time(self) -> datetime:
        """The time of a change: the running clock, or the set clock moved on by a second."""
        with self.lock:
            if self._now is None:
                return self.now
            self._now += timedelta(seconds=1)
            return self._now

    def _next_id(self) -> int:
        return next(self._ids)

    # -- for tests and the demo: the shop -------------------------------------------------------------------------

    def location_add(self, name: str) -> str:
        with self.lock:
            number = self._next_id()
            self.locations[number] = name
            return gid("Location", number)

    def inventory_item_add(self, sku: str | None, *, location: str | None = None, available: int = 0) -> str:
        """An inventory item stocked at ``location`` (the default one); returns its gid."""
        with self.lock:
            number = self._next_id()
            self.inventory_items[number] = sku
            location_number = gid_number(location or self.default_location, "Location")
            self.inventory[(number, location_number)] = available
            return gid("InventoryItem", number)

    def available(self, inventory_item: str, location: str | None = None) -> int | None:
        with self.lock:
            key = (
                gid_number(inventory_item, "InventoryItem"),
                gid_number(location or self.default_location, "Location"),
            )
            return self.inventory.get(key)

    def order_add(
        self,
        *,
        lines: list[dict[str, Any]],
        address: dict[str, Any] | None = None,
        financial_status: str | None = "PAID",
        created_at: datetime | None = None,
        email: str | None = "buyer@example.com",
        phone: str | None = None,
        note: str | None = None,
        shipping_title: str | None = "Standard Shipping",
        shipping_price: Decimal | str = "4.99",
        tax: Decimal | str = "0",
        discount: Decimal | str = "0",
        currency: str | None = None,
        location: str | None = None,
    ) -> str:
        """A new order, one fulfilment order at ``location``. ``lines``: dicts of sku, quantity, price, title."""
        with self.lock:
            moment = created_at.astimezone(UTC).replace(microsecond=0) if created_at else self._change_time()
            order_lines = [
                SimLine(
                    id=self._next_id(),
                    sku=line.get("sku"),
                    title=line.get("title") or f"Product {line.get('sku')}",
                    quantity=int(line.get("quantity", 1)),
                    current_quantity=int(line.get("quantity", 1)),
                    unit_price=Decimal(str(line.get("price", "10.00"))),
                    variant_id=line.get("variant_id", self._next_id()),
                )
                for line in lines
            ]
            order = SimOrder(
                id=self._next_id(),
                name=f"#{next(self._order_numbers)}",
                created_at=moment,
                updated_at=moment,
                currency=currency or self.currency,
                financial_status=financial_status,
                lines=order_lines,
                shipping_address=address if address is not None else dict(DEMO_ADDRESS),
                shipping_title=shipping_title,
                shipping_price=Decimal(str(shipping_price)),
                tax=Decimal(str(tax)),
                discount=Decimal(str(discount)),
                email=email,
                phone=phone,
                note=note,
            )
            location_number = gid_number(location or self.default_location, "Location")
            order.fulfillment_orders.append(
                SimFulfillmentOrder(
                    id=self._next_id(),
                    location_id=location_number,
                    lines=[
                        SimFulfillmentOrderLine(self._next_id(), line.id, line.quantity, line.quantity)
                        for line in order_lines
                    ],
                )
            )
            self.orders[order.id] = order
            return order.gid

    def order(self, order_gid: str) -> SimOrder:
        with self.lock:
            return self.orders[gid_number(order_gid, "Order")]

    def _touch(self, order: SimOrder) -> None:
        order.updated_at = max(self._change_time(), order.updated_at)

    def order_update(self, order_gid: str, **changes: Any) -> None:
        """Change fields of the order (``note``, ``email``, ``shipping_address``, ``financial_status``...)."""
        with self.lock:
            order = self.order(order_gid)
            for name, value in changes.items():
                if not hasattr(order, name):
                    raise AttributeError(name)
                setattr(order, name, value)
            self._touch(order)

    def order_line_quantity(self, order_gid: str, line_index: int, current_quantity: int) -> None:
        """An edit or refund: the line's current quantity changes (its ordered quantity stays)."""
        with self.lock:
            order = self.order(order_gid)
            line = order.lines[line_index]
            removed = line.current_quantity - current_quantity
            line.current_quantity = current_quantity
            for fulfillment_order in order.fulfillment_orders:
                for fo_line in fulfillment_order.lines:
                    if fo_line.line_id == line.id and removed > 0:
                        taken = min(removed, fo_line.remaining)
                        fo_line.remaining -= taken
                        fo_line.total -= taken
                        removed -= taken
                fulfillment_order.status_refresh()
            self._touch(order)

    def order_cancel(self, order_gid: str, *, reason: str = "CUSTOMER", refund: bool = True) -> None:
        with self.lock:
            order = self.order(order_gid)
            moment = self._change_time()
            order.cancelled_at, order.cancel_reason, order.closed_at = moment, reason, moment
            order.financial_status = "REFUNDED" if refund and order.financial_status == "PAID" else "VOIDED"
            for fulfillment_order in order.fulfillment_orders:
                if fulfillment_order.status != "CLOSED":
                    fulfillment_order.status = "CANCELLED"
            order.updated_at = moment

    def order_close(self, order_gid: str) -> None:
        with self.lock:
            order = self.order(order_gid)
            order.closed_at = self._change_time()
            order.updated_at = order.closed_at

    def order_fulfil(
        self, order_gid: str, *, tracking_number: str | None = None, company: str | None = None, lines=None
    ) -> str:
        """A fulfilment made outside the adapter (the merchant in Shopify's admin): every remaining unit, or
        ``lines`` as {line index: quantity}. Returns its gid."""
        with self.lock:
            order = self.order(order_gid)
            wanted = {order.lines[index].id: quantity for index, quantity in (lines or {}).items()}
            requests = []
            for fulfillment_order in order.fulfillment_orders:
                if fulfillment_order.status not in ("OPEN", "IN_PROGRESS"):
                    continue
                chosen = []
                for fo_line in fulfillment_order.lines:
                    quantity = (
                        fo_line.remaining if lines is None else min(wanted.get(fo_line.line_id, 0), fo_line.remaining)
                    )
                    if quantity:
                        chosen.append({"id": gid("FulfillmentOrderLineItem", fo_line.id), "quantity": quantity})
                if chosen:
                    requests.append(
                        {
                            "fulfillmentOrderId": gid("FulfillmentOrder", fulfillment_order.id),
                            "fulfillmentOrderLineItems": chosen,
                        }
                    )
            tracking = {"number": tracking_number, "company": company} if tracking_number else None
            result = self._fulfillment_create(
                {"lineItemsByFulfillmentOrder": requests, "trackingInfo": tracking, "notifyCustomer": False},
                record=False,
            )
            if result["userErrors"]:
                raise ValueError(result["userErrors"][0]["message"])
            return result["fulfillment"]["id"]

    def fulfillment_order_move(self, order_gid: str, line_index: int, location: str) -> None:
        """Move a line to a new fulfilment order at another location (a split the merchant made)."""
        with self.lock:
            order = self.order(order_gid)
            line = order.lines[line_index]
            for fulfillment_order in list(order.fulfillment_orders):
                moving = [fo_line for fo_line in fulfillment_order.lines if fo_line.line_id == line.id]
                fulfillment_order.lines = [fo_line for fo_line in fulfillment_order.lines if fo_line.line_id != line.id]
                if moving:
                    order.fulfillment_orders.append(
                        SimFulfillmentOrder(self._next_id(), gid_number(location, "Location"), moving)
                    )
            order.fulfillment_orders = [fo for fo in order.fulfillment_orders if fo.lines]
            self._touch(order)

    def order_tamper(self, order_gid: str, **fields: Any) -> None:
        """Odd data: every object with this id in an answer gets these fields (``DELETE`` drops one), after the
        schema's types were applied, as a broken proxy or a platform bug would send it."""
        with self.lock:
            self._tamper.setdefault(order_gid, {}).update(fields)

    def on_operation(self, operation_name: str, action: Callable[[ShopifySimulator], None]) -> None:
        """Run ``action(sim)`` once, just before the next request whose operationName is ``operation_name``."""
        with self.lock:
            self._hooks.append((operation_name, action))

    def throttle_next(self, count: int, *, available: float = 0.0) -> None:
        """The next ``count`` GraphQL calls are throttled, the bucket showing ``available`` points."""
        with self.lock:
            self._throttle_next.extend([available] * count)

    def expire_tokens(self) -> None:
        """Every token issued so far (the static one too) is refused from now on, as an expired one is."""
        with self.lock:
            for token in self.tokens.values():
                token.expires_at = self.now - timedelta(seconds=1)

    # -- WSGI -----------------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path == "/admin/oauth/access_token" and request.method == "POST":
            return self._token_grant(request)
        match = re.fullmatch(r"/admin/api/([0-9]{4}-[0-9]{2}|unstable)/graphql\.json", request.path)
        if not match or match.group(1) != API_VERSION or request.method != "POST":
            return Response(404, {"errors": "Not Found"})
        if not self._token_valid(request.headers.get("x-shopify-access-token", "")):
            return Response(401, {"errors": INVALID_TOKEN})
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return Response(400, {"errors": {"query": "Required parameter missing or invalid"}})
        headers = {"X-Request-Id": secrets.token_hex(8), "X-Shopify-API-Version": API_VERSION}
        return Response(200, self._graphql(body), headers)

    def _token_valid(self, value: str) -> bool:
        with self.lock:
            token = self.tokens.get(value) if value else None
            return token is not None and (token.expires_at is None or token.expires_at > self.now)

    def _token_grant(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        try:
            form = request.json() if "json" in content_type else request.form()
        except ValueError:
            form = None
        if not isinstance(form, dict) or form.get("grant_type") != "client_credentials":
            return Response(
                400, {"error": "unsupported_grant_type", "error_description": "The grant type is not supported."}
            )
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Response(
                400,
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed: unknown client or wrong secret.",
                },
            )
        value = "shpat_" + secrets.token_hex(16)
        with self.lock:
            self.tokens[value] = _Tokens(expires_at=self.now + timedelta(seconds=TOKEN_SECONDS))
            self.token_grants += 1
        return Response(
            200,
            {
                "access_token": value,
                "scope": "read_orders,write_merchant_managed_fulfillment_orders,write_inventory",
                "expires_in": TOKEN_SECONDS,
            },
        )

    # -- GraphQL ----------------------------------------------------------------------------------------------------

    def _document(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        """Parsed and validated against the schema, cached by text (the adapter sends a few documents many times)."""
        cached = self._documents.get(query)
        if cached is None:
            try:
                document = parse(query)
            except GraphQLError as error:
                cached = (None, [error])
            else:
                cached = (document, list(validate(admin_schema(), document)))
            self._documents[query] = cached
        return cached

    def _graphql(self, body: dict[str, Any]) -> dict[str, Any]:
        schema = admin_schema()
        document, errors = self._document(body["query"])
        if errors:
            return {"errors": [error.formatted for error in errors]}
        variables = body.get("variables") or {}
        operation_name = body.get("operationName")
        operation = get_operation_ast(document, operation_name)
        if operation is None or not isinstance(variables, dict):
            return {"errors": [{"message": "An operation name is required", "extensions": {"code": "BAD_REQUEST"}}]}
        costing = QueryCost(schema, document, variables)
        requested = costing.operation(operation)
        if requested > MAX_QUERY_COST:
            message = (
                f"Query cost is {requested}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).\n\n"
                "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
                "cost of a query is calculated.\n"
            )
            extensions = {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": MAX_QUERY_COST}
            return {"errors": [{"message": message, "extensions": extensions}]}
        action = self._hook_take(operation.name.value if operation.name else None)
        if action is not None:
            action(self)  # outside the lock: it may wait for another request to finish
        with self.lock:
            if self._bucket_take(requested) is None:
                forced = self._throttle_next.pop(0) if self._throttle_next else None
                return {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": {"cost": self._cost_extension(requested, None, forced)},
                }
            result = execute_sync(
                schema,
                document,
                root_value=self._root(),
                variable_values=variables,
                operation_name=operation_name,
            )
            actual = requested
            if operation.operation != OperationType.MUTATION:
                actual = costing.operation(operation, result.data or {})
            data = self._tampered(result.data) if result.data is not None else None
            self._bucket_level = min(self.bucket_size, self._bucket_level + requested - actual)
            answer: dict[str, Any] = {"data": data}
            if result.errors:
                answer["errors"] = [error.formatted for error in result.errors]
            answer["extensions"] = {"cost": self._cost_extension(requested, actual)}
            return answer

    def _hook_take(self, name: str | None) -> Callable[[ShopifySimulator], None] | None:
        with self.lock:
            for index, (hook_name, action) in enumerate(self._hooks):
                if hook_name == name:
                    del self._hooks[index]
                    return action
        return None

    def _bucket_refill(self) -> None:
        moment = self.clock()
        self._bucket_level = min(self.bucket_size, self._bucket_level + (moment - self._bucket_at) * self.restore_rate)
        self._bucket_at = moment

    def _bucket_take(self, cost: int) -> float | None:
        """Take ``cost`` points; if the bucket holds too few, None and nothing is taken, else what is left.
        A throttle forced by ``throttle_next`` shows its own level and leaves the bucket as it is."""
        self._bucket_refill()
        if self._throttle_next:
            return None
        if self._bucket_level < cost:
            return None
        self._bucket_level -= cost
        return self._bucket_level

    def _cost_extension(self, requested: int, actual: int | None, available: float | None = None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.bucket_size,
                "currentlyAvailable": round(self._bucket_level if available is None else available, 1),
                "restoreRate": self.restore_rate,
            },
        }

    def _tampered(self, data: Any) -> Any:
        if not self._tamper:
            return data
        if isinstance(data, list):
            return [self._tampered(item) for item in data]
        if not isinstance(data, dict):
            return data
        result = {key: self._tampered(value) for key, value in data.items()}
        for key, value in self._tamper.get(result.get("id"), {}).items():
            if value is DELETE:
                result.pop(key, None)
            else:
                result[key] = value
        return result

    def _root(self) -> dict[str, Any]:
        return {
            "orders": self._resolve_orders,
            "order": self._resolve_order,
            "fulfillmentCreate": self._resolve_fulfillment_create,
            "inventorySetQuantities": self._resolve_inventory_set,
        }

    # -- resolvers: orders ------------------------------------------------------------------------------------------

    def _resolve_orders(
        self, info, first=None, after=None, last=None, before=None, sortKey="PROCESSED_AT", query=None, **_
    ):
        if last is not None or before is not None:
            raise GraphQLError("This simulator pages orders forwards only (first/after).")
        _check_first(first)
        keys = {
            "UPDATED_AT": lambda o: (o.updated_at, o.id),
            "CREATED_AT": lambda o: (o.created_at, o.id),
            "PROCESSED_AT": lambda o: (o.created_at, o.id),
            "ID": lambda o: (o.id, o.id),
        }
        if sortKey not in keys:
            raise GraphQLError(f"This simulator does not sort orders by {sortKey}.")
        key = keys[sortKey]
        matches = _search(query or "")
        chosen = sorted((o for o in self.orders.values() if matches(o)), key=key)
        if after:
            position = _uncursor(after)
            last_value = position.get("last_value")
            boundary = (datetime.fromisoformat(last_value) if sortKey != "ID" else int(last_value), position["last_id"])
            if self.repeat_page_boundary:
                chosen = [o for o in chosen if key(o) >= boundary]
            else:
                chosen = [o for o in chosen if key(o) > boundary]
        size = min(first, self.page_size or first)
        page, has_next = chosen[:size], len(chosen) > size

        def cursor(order: SimOrder) -> str:
            value = key(order)[0]
            return _cursor(
                {"last_id": order.id, "last_value": value.isoformat() if isinstance(value, datetime) else value}
            )

        return _connection([(cursor(o), self._order_node(o)) for o in page], has_next, after is not None)

    def _resolve_order(self, info, id):
        number = gid_number(id, "Order")
        if number is None:
            raise GraphQLError(f"Invalid global id '{id}'", extensions={"code": "argumentLiteralsIncompatible"})
        order = self.orders.get(number)
        return self._order_node(order) if order else None

    def _order_node(self, order: SimOrder) -> dict[str, Any]:
        currency = order.currency
        lines = {line.id: line for line in order.lines}

        def line_items(info, first=None, after=None, **_):
            _check_first(first)
            start = _uncursor(after)["last_id"] + 1 if after else 0
            page = order.lines[start : start + first]
            return _connection(
                [(_cursor({"last_id": start + i}), self._line_node(line, currency)) for i, line in enumerate(page)],
                start + first < len(order.lines),
                start > 0,
            )

        def fulfillment_orders(info, first=None, after=None, **_):
            _check_first(first)
            start = _uncursor(after)["last_id"] + 1 if after else 0
            page = order.fulfillment_orders[start : start + first]
            return _connection(
                [
                    (_cursor({"last_id": start + i}), self._fulfillment_order_node(fo, lines, currency))
                    for i, fo in enumerate(page)
                ],
                start + first < len(order.fulfillment_orders),
                start > 0,
            )

        def fulfillments(info, first=None, **_):
            chosen = order.fulfillments if first is None else order.fulfillments[:first]
            return [self._fulfillment_node(f, lines, currency) for f in chosen]

        subtotal, total = order.subtotal(), order.total()
        return {
            "id": order.gid,
            "legacyResourceId": str(order.id),
            "name": order.name,
            "createdAt": iso(order.created_at),
            "processedAt": iso(order.created_at),
            "updatedAt": iso(order.updated_at),
            "cancelledAt": iso(order.cancelled_at),
            "cancelReason": order.cancel_reason,
            "closedAt": iso(order.closed_at),
            "closed": order.closed_at is not None,
            "confirmed": True,
            "test": False,
            "displayFinancialStatus": order.financial_status,
            "displayFulfillmentStatus": order.fulfillment_status(),
            "currencyCode": currency,
            "email": order.email,
            "phone": order.phone,
            "note": order.note,
            "subtotalPriceSet": money(subtotal, currency),
            "currentSubtotalPriceSet": money(subtotal, currency),
            "totalShippingPriceSet": money(order.shipping_price, currency),
            "currentShippingPriceSet": money(order.shipping_price, currency),
            "totalTaxSet": money(order.tax, currency),
            "currentTotalTaxSet": money(order.tax, currency),
            "totalDiscountsSet": money(order.discount, currency),
            "currentTotalDiscountsSet": money(order.discount, currency),
            "totalPriceSet": money(total, currency),
            "currentTotalPriceSet": money(total, currency),
            "shippingAddress": _address_node(order.shipping_address, order.id),
            "shippingLine": (
                {"title": order.shipping_title, "originalPriceSet": money(order.shipping_price, currency)}
                if order.shipping_title
                else None
            ),
            "lineItems": line_items,
            "fulfillmentOrders": fulfillment_orders,
            "fulfillments": fulfillments,
        }

    def _line_node(self, line: SimLine, currency: str) -> dict[str, Any]:
        return {
            "id": gid("LineItem", line.id),
            "sku": line.sku,
            "title": line.title,
            "name": line.title,
            "quantity": line.quantity,
            "currentQuantity": line.current_quantity,
            "variant": {"id": gid("ProductVariant", line.variant_id)} if line.variant_id else None,
            "originalUnitPriceSet": money(line.unit_price, currency),
            "originalTotalSet": money(line.unit_price * line.quantity, currency),
        }

    def _fulfillment_order_node(self, fulfillment_order: SimFulfillmentOrder, lines, currency) -> dict[str, Any]:
        def line_items(info, first=None, after=None, **_):
            _check_first(first)
            start = _uncursor(after)["last_id"] + 1 if after else 0
            page = fulfillment_order.lines[start : start + first]
            return _connection(
                [
                    (
                        _cursor({"last_id": start + i}),
                        {
                            "id": gid("FulfillmentOrderLineItem", fo_line.id),
                            "remainingQuantity": fo_line.remaining,
                            "totalQuantity": fo_line.total,
                            "lineItem": self._line_node(lines[fo_line.line_id], currency),
                            "sku": lines[fo_line.line_id].sku,
                        },
                    )
                    for i, fo_line in enumerate(page)
                ],
                start + first < len(fulfillment_order.lines),
                start > 0,
            )

        location = gid("Location", fulfillment_order.location_id)
        return {
            "id": gid("FulfillmentOrder", fulfillment_order.id),
            "status": fulfillment_order.status,
            "assignedLocation": {
                "location": {"id": location, "name": self.locations.get(fulfillment_order.location_id)},
                "name": self.locations.get(fulfillment_order.location_id, ""),
                "countryCode": "CN",
            },
            "lineItems": line_items,
        }

    def _fulfillment_node(self, fulfillment: SimFulfillment, lines, currency) -> dict[str, Any]:
        tracking = []
        if fulfillment.tracking_number:
            tracking.append(
                {
                    "company": fulfillment.tracking_company,
                    "number": fulfillment.tracking_number,
                    "url": fulfillment.tracking_url,
                }
            )

        def fulfillment_line_items(info, first=None, **_):
            _check_first(first)
            chosen = fulfillment.lines[:first]
            return _connection(
                [
                    (
                        _cursor({"last_id": i}),
                        {
                            "id": gid("FulfillmentLineItem", line_id),
                            "quantity": qty,
                            "lineItem": self._line_node(lines[line_id], currency),
                        },
                    )
                    for i, (line_id, qty) in enumerate(chosen)
                ],
                len(fulfillment.lines) > first,
                False,
            )

        return {
            "id": gid("Fulfillment", fulfillment.id),
            "name": f"#F{fulfillment.id}",
            "status": fulfillment.status,
            "createdAt": iso(fulfillment.created_at),
            "updatedAt": iso(fulfillment.created_at),
            "totalQuantity": sum(qty for _, qty in fulfillment.lines),
            "location": {"id": gid("Location", fulfillment.location_id)},
            "trackingInfo": lambda info, first=None, **_: tracking if first is None else tracking[:first],
            "fulfillmentLineItems": fulfillment_line_items,
        }

    # -- resolvers: fulfilment ----------------------------------------------------------------------------------------

    def _resolve_fulfillment_create(self, info, fulfillment, message=None):
        return self._fulfillment_create(fulfillment, record=True)

    def _fulfillment_create(self, request: dict[str, Any], *, record: bool) -> dict[str, Any]:
        """Shopify's checks, in order: each fulfilment order exists, is fulfillable, shares the order and the
        location; each line belongs to it and asks at most what remains. Any failure: nothing happens."""
        errors: list[dict[str, Any]] = []
        chosen: list[tuple[SimFulfillmentOrder, SimFulfillmentOrderLine, int]] = []
        orders, locations = set(), set()
        for group in request.get("lineItemsByFulfillmentOrder") or []:
            fulfillment_order, order = self._fulfillment_order(group.get("fulfillmentOrderId"))
            if fulfillment_order is None:
                errors.append({"field": ["fulfillment"], "message": "Fulfillment order does not exist."})
                continue
            if fulfillment_order.status not in ("OPEN", "IN_PROGRESS"):
                errors.append(
                    {
                        "field": ["fulfillment"],
                        "message": f"Fulfillment order {fulfillment_order.id} has an unfulfillable status= "
                        f"{fulfillment_order.status.lower()}.",
                    }
                )
                continue
            orders.add(order.id)
            locations.add(fulfillment_order.location_id)
            wanted = group.get("fulfillmentOrderLineItems")
            if wanted is None:
                chosen += [
                    (fulfillment_order, line, line.remaining) for line in fulfillment_order.lines if line.remaining
                ]
                continue
            by_id = {gid("FulfillmentOrderLineItem", line.id): line for line in fulfillment_order.lines}
            for item in wanted:
                line = by_id.get(item["id"])
                if line is None or not 0 < item["quantity"] <= line.remaining:
                    errors.append(
                        {"field": ["fulfillment"], "message": "Invalid fulfillment order line item quantity requested."}
                    )
                    continue
                chosen.append((fulfillment_order, line, item["quantity"]))
        if not errors and not chosen:
            errors.append({"field": ["fulfillment"], "message": "Line items are required to create a fulfillment."})
        if len(orders) > 1:
            errors.append(
                {"field": ["fulfillment"], "message": "All fulfillment orders must belong to the same order."}
            )
        if len(locations) > 1:
            errors.append(
                {"field": ["fulfillment"], "message": "All fulfillment orders must be assigned to the same location."}
            )
        if errors:
            return {"fulfillment": None, "userErrors": errors}
        order = self.orders[orders.pop()]
        tracking = request.get("trackingInfo") or {}
        number = tracking.get("number") or next(iter(tracking.get("numbers") or []), None)
        lines_by_id = {line.id: line for line in order.lines}
        for _fulfillment_order, fo_line, quantity in chosen:
            fo_line.remaining -= quantity
            lines_by_id[fo_line.line_id].fulfilled += quantity
        for fulfillment_order in {id(fo): fo for fo, _, _ in chosen}.values():
            fulfillment_order.status_refresh()
        created = SimFulfillment(
            id=self._next_id(),
            order_id=order.id,
            location_id=locations.pop(),
            lines=[(fo_line.line_id, quantity) for _, fo_line, quantity in chosen],
            tracking_company=tracking.get("company"),
            tracking_number=number,
            tracking_url=tracking.get("url"),
            notify_customer=bool(request.get("notifyCustomer")),
            created_at=self._change_time(),
        )
        order.fulfillments.append(created)
        order.updated_at = max(order.updated_at, created.created_at)
        if record:
            self.fulfillments_created.append(created)
        return {"fulfillment": self._fulfillment_node(created, lines_by_id, order.currency), "userErrors": []}

    def _fulfillment_order(self, value: Any) -> tuple[SimFulfillmentOrder | None, SimOrder | None]:
        number = gid_number(value, "FulfillmentOrder")
        for order in self.orders.values():
            for fulfillment_order in order.fulfillment_orders:
                if fulfillment_order.id == number:
                    return fulfillment_order, order
        return None, None

    # -- resolvers: stock ---------------------------------------------------------------------------------------------

    def _resolve_inventory_set(self, info, input):
        directive = info.schema.get_directive("idempotent")
        given = get_directive_values(directive, info.field_nodes[0], info.variable_values)
        if given is None:
            raise GraphQLError(
                "The @idempotent directive is required for this mutation but was not provided.",
                extensions={"code": "BAD_REQUEST"},
            )
        key = given["key"]
        if not key.strip():
            raise GraphQLError(
                "The idempotency key cannot be empty or whitespace only.", extensions={"code": "BAD_REQUEST"}
            )
        quantities = input["quantities"]
        if len(quantities) > MAX_PAGE:
            raise GraphQLError(
                f"The input array size of {len(quantities)} is greater than the maximum allowed of {MAX_PAGE}.",
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )
        for quantity in quantities:
            if "changeFromQuantity" not in quantity:
                raise GraphQLError(
                    "InventoryQuantityInput must include the following argument: changeFromQuantity.",
                    extensions={"code": "INVALID_FIELD_ARGUMENTS"},
                )
        fingerprint = json.dumps(input, sort_keys=True, default=str)
        if key in self._idempotency:
            seen_fingerprint, answer = self._idempotency[key]
            if seen_fingerprint == fingerprint:
                return answer
            return {
                "inventoryAdjustmentGroup": None,
                "userErrors": [
                    {
                        "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                        "field": None,
                        "message": "The same idempotency key was used with different parameters.",
                    }
                ],
            }
        errors = self._inventory_errors(input)
        if errors:
            answer = {"inventoryAdjustmentGroup": None, "userErrors": errors}
        else:
            moment = self._change_time()
            for quantity in quantities:
                item = gid_number(quantity["inventoryItemId"], "InventoryItem")
                location = gid_number(quantity["locationId"], "Location")
                self.inventory[(item, location)] = quantity["quantity"]
                self.stock_sets.append(
                    {
                        "inventory_item_id": quantity["inventoryItemId"],
                        "location_id": quantity["locationId"],
                        "quantity": quantity["quantity"],
                        "name": input["name"],
                        "reason": input["reason"],
                        "key": key,
                    }
                )
            answer = {
                "inventoryAdjustmentGroup": {
                    "id": gid("InventoryAdjustmentGroup", self._next_id()),
                    "reason": input["reason"],
                    "createdAt": iso(moment),
                    "referenceDocumentUri": input.get("referenceDocumentUri"),
                },
                "userErrors": [],
            }
        self._idempotency[key] = (fingerprint, answer)
        return answer

    def _inventory_errors(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        errors = []
        if request["name"] not in INVENTORY_NAMES:
            errors.append(
                {"code": "INVALID_NAME", "field": ["input", "name"], "message": "The quantity name is invalid."}
            )
        if request["reason"] not in INVENTORY_REASONS:
            errors.append(
                {"code": "INVALID_REASON", "field": ["input", "reason"], "message": "The specified reason is invalid."}
            )
        seen = set()
        for index, quantity in enumerate(request["quantities"]):
            path = ["input", "quantities", str(index)]
            item = gid_number(quantity["inventoryItemId"], "InventoryItem")
            location = gid_number(quantity["locationId"], "Location")
            if item not in self.inventory_items:
                errors.append(
                    {
                        "code": "INVALID_INVENTORY_ITEM",
                        "field": [*path, "inventoryItemId"],
                        "message": "The specified inventory item could not be found.",
                    }
                )
            elif location not in self.locations:
                errors.append(
                    {
                        "code": "INVALID_LOCATION",
                        "field": [*path, "locationId"],
                        "message": "The specified location could not be found.",
                    }
                )
            elif (item, location) not in self.inventory:
                errors.append(
                    {
                        "code": "ITEM_NOT_STOCKED_AT_LOCATION",
                        "field": [*path, "locationId"],
                        "message": "The specified inventory item is not stocked at the location.",
                    }
                )
            elif quantity["quantity"] < 0:
                errors.append(
                    {
                        "code": "INVALID_QUANTITY_NEGATIVE",
                        "field": [*path, "quantity"],
                        "message": "The quantity can't be negative.",
                    }
                )
            elif quantity["quantity"] > 1_000_000_000:
                errors.append(
                    {
                        "code": "INVALID_QUANTITY_TOO_HIGH",
                        "field": [*path, "quantity"],
                        "message": "The quantity can't be higher than 1,000,000,000.",
                    }
                )
            elif (
                quantity["changeFromQuantity"] is not None
                and quantity["changeFromQuantity"] != self.inventory[(item, location)]
            ):
                errors.append(
                    {
                        "code": "CHANGE_FROM_QUANTITY_STALE",
                        "field": [*path, "changeFromQuantity"],
                        "message": "The specified compare quantity is stale.",
                    }
                )
            if (item, location) in seen:
                errors.append(
                    {
                        "code": "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                        "field": path,
                        "message": "The combination of inventoryItemId and locationId must be unique.",
                    }
                )
            seen.add((item, location))
        return errors

    # -- demo data ----------------------------------------------------------------------------------------------------

    def seed_demo(self, count: int, skus: list[str], seed: int = 1) -> list[str]:
        """``count`` realistic orders over the week before ``now``, the same for the same seed: buyers in the US,
        UK, Germany, France, Australia, Japan, Canada and the Netherlands, one to four lines of ``skus``, mostly
        paid and awaiting shipment, some pending payment, a few cancelled and a few shipped. Each SKU gets an
        inventory item at the default location. Returns the orders' gids."""
        rng = random.Random(seed)  # noqa: S311 (demo data, not security)
        prices = {sku: Decimal(rng.randrange(499, 8999)) / 100 for sku in skus}
        with self.lock:
            for sku in skus:
                if sku not in self.inventory_items.values():
                    self.inventory_item_add(sku, available=rng.randrange(0, 120))
            end = self.now
            made = []
            kinds = _demo_kinds(count, rng)
            for index in range(count):
                country = rng.choice(DEMO_COUNTRIES)
                first_name, last_name = rng.choice(country["names"])
                city, province, province_code, postcode = rng.choice(country["cities"])
                address = {
                    "firstName": first_name,
                    "lastName": last_name,
                    "name": f"{first_name} {last_name}",
                    "company": rng.choice([None, None, None, "Studio Nord", "Acme Ltd"]),
                    "address1": f"{rng.randrange(1, 240)} {rng.choice(country['streets'])}",
                    "address2": rng.choice([None, None, f"Apt {rng.randrange(1, 40)}"]),
                    "city": city,
                    "province": province,
                    "provinceCode": province_code,
                    "zip": postcode,
                    "country": country["name"],
                    "countryCodeV2": country["code"],
                    "phone": country["phone"] + str(rng.randrange(10_000_000, 99_999_999)),
                }
                lines = [
                    {"sku": sku, "quantity": rng.choice([1, 1, 1, 2, 3]), "price": prices[sku], "title": f"Item {sku}"}
                    for sku in rng.sample(skus, k=min(len(skus), rng.choice([1, 1, 2, 2, 3, 4])))
                ]
                created = end - timedelta(seconds=rng.randrange(600, 7 * 24 * 3600))
                kind = kinds[index]
                order_gid = self.order_add(
                    lines=lines,
                    address=address,
                    financial_status="PENDING" if kind == "pending" else "PAID",
                    created_at=created,
                    email=f"{first_name.lower()}.{last_name.lower()}@example.com".replace(" ", ""),
                    shipping_title=rng.choice(DEMO_SHIPPING),
                    shipping_price=rng.choice(["0.00", "4.99", "9.90", "14.50"]),
                    tax=str(Decimal(rng.randrange(0, 900)) / 100),
                    note=rng.choice([None, None, None, "Please leave at the door", "Gift, no invoice please"]),
                )
                order = self.order(order_gid)
                if kind == "cancelled":
                    order.cancelled_at = order.closed_at = created + timedelta(hours=rng.randrange(1, 30))
                    order.cancel_reason = rng.choice(["CUSTOMER", "INVENTORY", "DECLINED"])
                    order.financial_status = "REFUNDED"
                    for fulfillment_order in order.fulfillment_orders:
                        fulfillment_order.status = "CANCELLED"
                    order.updated_at = min(order.cancelled_at, end)
                elif kind == "shipped":
                    self._now, saved = min(created + timedelta(hours=rng.randrange(4, 48)), end), self._now
                    self.order_fulfil(
                        order_gid, tracking_number=f"YT{rng.randrange(10**15, 10**16)}", company="YunExpress"
                    )
                    self._now = saved
                    order.updated_at = min(order.updated_at, end)
                made.append(order_gid)
            return made


def _demo_kinds(count: int, rng: random.Random) -> list[str]:
    """What becomes of each demo order: 8 % pending payment, 7 % cancelled, 10 % shipped (each at least once from
    four orders on), the rest paid and awaiting shipment; shuffled."""
    shares = {"pending": 0.08, "cancelled": 0.07, "shipped": 0.10}
    kinds = [kind for kind, share in shares.items() for _ in range(max(int(count >= 4), round(count * share)))]
    kinds = (kinds + ["paid"] * count)[:count]
    rng.shuffle(kinds)
    return kinds


def _check_first(first: int | None) -> None:
    if first is None:
        raise GraphQLError("you must provide one of first or last")
    if not 0 <= first <= MAX_PAGE:
        raise GraphQLError(f"The first argument must be between 0 and {MAX_PAGE}.")


def _connection(items: list[tuple[str, dict[str, Any]]], has_next: bool, has_previous: bool) -> dict[str, Any]:
    return {
        "nodes": [node for _, node in items],
        "edges": [{"cursor": cursor, "node": node} for cursor, node in items],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": items[0][0] if items else None,
            "endCursor": items[-1][0] if items else None,
        },
    }


def _address_node(address: dict[str, Any] | None, order_id: int) -> dict[str, Any] | None:
    if address is None:
        return None
    node = {
        key: address.get(key)
        for key in (
            "name",
            "firstName",
            "lastName",
            "company",
            "address1",
            "address2",
            "city",
            "province",
            "provinceCode",
            "zip",
            "country",
            "countryCodeV2",
            "phone",
        )
    }
    node["id"] = f"gid://shopify/MailingAddress/{order_id}?model_name=Address"
    node["formatted"] = lambda info, **_: [v for v in (address.get("address1"), address.get("city")) if v]
    node["coordinatesValidated"] = False
    return node


# --- The search syntax (the part the adapter uses) ------------------------------------------------------------------

_TERM = re.compile(r"""(?P<field>[a-z_]+):(?P<op><=|>=|<|>)?(?P<value>'[^']*'|"[^"]*"|\S+)""")


def _search(text: str) -> Callable[[SimOrder], bool]:
    """``updated_at``/``created_at`` with ``: < <= > >=`` and ``status:open|closed|cancelled|not_closed``, joined
    by AND (spaces). Any other term raises, so a query the simulator would misread cannot pass silently."""
    tests: list[Callable[[SimOrder], bool]] = []
    rest = _TERM.sub(lambda m: tests.append(_term(m)) or "", text)
    if rest.replace("AND", "").strip():
        raise GraphQLError(f"This simulator cannot read the search terms {rest.strip()!r}.")
    return lambda order: all(test(order) for test in tests)


def _term(match: re.Match) -> Callable[[SimOrder], bool]:
    name, operator, value = match.group("field"), match.group("op") or "", match.group("value").strip("'\"")
    if name in ("updated_at", "created_at"):
        moment = datetime.fromisoformat(value)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        compare = {
            "": lambda a: a == moment,
            "<": lambda a: a < moment,
            "<=": lambda a: a <= moment,
            ">": lambda a: a > moment,
            ">=": lambda a: a >= moment,
        }[operator]
        return lambda order: compare(getattr(order, name))
    if name == "status" and not operator:
        states = {
            "open": lambda o: o.closed_at is None and o.cancelled_at is None,
            "closed": lambda o: o.closed_at is not None,
            "cancelled": lambda o: o.cancelled_at is not None,
            "not_closed": lambda o: o.closed_at is None,
            "any": lambda o: True,
        }
        if value in states:
            return states[value]
    raise GraphQLError(f"This simulator cannot read the search term {match.group(0)!r}.")


# --- Demo data -------------------------------------------------------------------------------------------------------

DEMO_ADDRESS = {
    "firstName": "Jane",
    "lastName": "Doe",
    "name": "Jane Doe",
    "company": None,
    "address1": "350 Fifth Avenue",
    "address2": "Suite 21",
    "city": "New York",
    "province": "New York",
    "provinceCode": "NY",
    "zip": "10118",
    "country": "United States",
    "countryCodeV2": "US",
    "phone": "+12125550100",
}
DEMO_SHIPPING = ["Standard Shipping", "Express Shipping", "Free International Shipping", "Economy"]
DEMO_COUNTRIES = [
    {
        "code": "US",
        "name": "United States",
        "phone": "+1",
        "names": [("Emily", "Johnson"), ("Michael", "Brown"), ("Sarah", "Miller"), ("David", "Garcia")],
        "streets": ["Main Street", "Oak Avenue", "Maple Drive", "Sunset Boulevard"],
        "cities": [
            ("Austin", "Texas", "TX", "78701"),
            ("Portland", "Oregon", "OR", "97205"),
            ("Columbus", "Ohio", "OH", "43215"),
            ("San Diego", "California", "CA", "92101"),
        ],
    },
    {
        "code": "GB",
        "name": "United Kingdom",
        "phone": "+44",
        "names": [("Oliver", "Smith"), ("Amelia", "Jones"), ("Harry", "Taylor"), ("Isla", "Davies")],
        "streets": ["High Street", "Station Road", "Church Lane", "Victoria Road"],
        "cities": [
            ("Manchester", "England", "ENG", "M1 1AE"),
            ("Edinburgh", "Scotland", "SCT", "EH1 1YZ"),
            ("Bristol", "England", "ENG", "BS1 4DJ"),
        ],
    },
    {
        "code": "DE",
        "name": "Germany",
        "phone": "+49",
        "names": [("Lukas", "Müller"), ("Anna", "Schmidt"), ("Jonas", "Schneider"), ("Lea", "Fischer")],
        "streets": ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße"],
        "cities": [
            ("Berlin", "Berlin", "BE", "10115"),
            ("München", "Bayern", "BY", "80331"),
            ("Köln", None, None, "50667"),
        ],
    },
    {
        "code": "FR",
        "name": "France",
        "phone": "+33",
        "names": [("Camille", "Martin"), ("Hugo", "Bernard"), ("Chloé", "Dubois"), ("Louis", "Durand")],
        "streets": ["rue de la République", "avenue Victor Hugo", "rue des Lilas"],
        "cities": [("Lyon", None, None, "69002"), ("Paris", None, None, "75011"), ("Bordeaux", None, None, "33000")],
    },
    {
        "code": "AU",
        "name": "Australia",
        "phone": "+61",
        "names": [("Jack", "Wilson"), ("Charlotte", "Thompson"), ("Noah", "White")],
        "streets": ["George Street", "Collins Street", "Queen Street"],
        "cities": [
            ("Sydney", "New South Wales", "NSW", "2000"),
            ("Melbourne", "Victoria", "VIC", "3000"),
            ("Brisbane", "Queensland", "QLD", "4000"),
        ],
    },
    {
        "code": "JP",
        "name": "Japan",
        "phone": "+81",
        "names": [("Yui", "Sato"), ("Haruto", "Suzuki"), ("Aoi", "Takahashi")],
        "streets": ["Shibuya 2-chome", "Umeda 1-chome", "Sakae 3-chome"],
        "cities": [("Shibuya-ku", "Tokyo", "JP-13", "150-0002"), ("Osaka", "Osaka", "JP-27", "530-0001")],
    },
    {
        "code": "CA",
        "name": "Canada",
        "phone": "+1",
        "names": [("Liam", "Tremblay"), ("Olivia", "Roy"), ("Ethan", "Gagnon")],
        "streets": ["Yonge Street", "Rue Sainte-Catherine", "Granville Street"],
        "cities": [("Toronto", "Ontario", "ON", "M5B 2H1"), ("Montréal", "Quebec", "QC", "H3B 1A7")],
    },
    {
        "code": "NL",
        "name": "Netherlands",
        "phone": "+31",
        "names": [("Daan", "de Jong"), ("Emma", "Jansen"), ("Sem", "de Vries")],
        "streets": ["Kalverstraat", "Damrak", "Coolsingel"],
        "cities": [("Amsterdam", "Noord-Holland", "NH", "1012 NX"), ("Rotterdam", "Zuid-Holland", "ZH", "3011 AD")],
    },
]
