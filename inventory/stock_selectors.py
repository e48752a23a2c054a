"""Reads of stock: availability (the one definition of available), levels, the ledger, transfers and counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum

from inventory.models import (
    Bin,
    BundleComponent,
    InventoryBalance,
    Product,
    Reservation,
    ReservationEvent,
    SellableChange,
    StockCount,
    StockCountEvent,
    StockCountLine,
    StockLevel,
    StockMove,
    Transfer,
    TransferEvent,
    TransferLine,
    Warehouse,
)
from inventory.transfer_services import transfers_in_transit

# Available = on hand in sellable bins − reserved. The SQL form is for annotating querysets (admin columns,
# sorting); StockFigures.available is the same rule in Python. Nothing else computes availability.
AVAILABLE = F("sellable") - F("reserved")


@dataclass(frozen=True)
class StockFigures:
    """Stock of one product in one warehouse, or across warehouses."""

    on_hand: int = 0
    sellable: int = 0
    reserved: int = 0
    incoming: int = 0

    @property
    def available(self) -> int:
        return self.sellable - self.reserved

    def __add__(self, other: StockFigures) -> StockFigures:
        return StockFigures(
            on_hand=self.on_hand + other.on_hand,
            sellable=self.sellable + other.sellable,
            reserved=self.reserved + other.reserved,
            incoming=self.incoming + other.incoming,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "on_hand": self.on_hand,
            "sellable": self.sellable,
            "reserved": self.reserved,
            "available": self.available,
            "incoming": self.incoming,
        }


@dataclass(frozen=True)
class ProductAvailability:
    """A product's figures per warehouse and in total over those warehouses."""

    product_id: int
    sku: str
    is_bundle: bool
    warehouses: dict[int, StockFigures] = field(default_factory=dict)

    @property
    def total(self) -> StockFigures:
        total = StockFigures()
        for figures in self.warehouses.values():
            total += figures
        return total


# --- Incoming stock: an extension point ----------------------------------------------------------------------

# A source of incoming stock takes product ids (None: all products) and returns units on their way,
# keyed by (product_id, destination warehouse_id). Transfers in transit are built in; purchasing adds its
# open purchase orders with ``incoming_source_register`` (from its AppConfig.ready), because inventory
# must not import the apps above it.
IncomingSource = Callable[[Collection[int] | None], dict[tuple[int, int], int]]


def incoming_from_transfers(product_ids: Collection[int] | None) -> dict[tuple[int, int], int]:
    """Units shipped by a transfer and not received yet, counted at the destination."""
    return transfers_in_transit(product_ids=product_ids)


INCOMING_SOURCES: list[IncomingSource] = [incoming_from_transfers]


def incoming_source_register(source: IncomingSource) -> None:
    """Add a source of incoming stock (for example open purchase orders); registering twice is harmless."""
    if source not in INCOMING_SOURCES:
        INCOMING_SOURCES.append(source)


def incoming(*, product_ids: Collection[int] | None = None) -> dict[tuple[int, int], int]:
    """Units on their way, summed over every registered source, keyed by (product_id, warehouse_id)."""
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for source in INCOMING_SOURCES:
        for key, quantity in source(product_ids).items():
            totals[key] += quantity
    return dict(totals)


# --- Availability --------------------------------------------------------------------------------------------


def _bundle_figures(components: list[tuple[int, int]], figures_of: Callable[[int], StockFigures]) -> StockFigures:
    """How many whole bundles the components make: the minimum over components of figure ÷ quantity.

    ``reserved`` is what reservations of the components take away from the sellable bundles, so that
    available = sellable − reserved holds for bundles too; ``incoming`` is how many more bundles the
    components' incoming stock would complete.
    """
    if not components:
        return StockFigures()
    parts = [(figures_of(component_id), quantity) for component_id, quantity in components]
    on_hand = min(figures.on_hand // quantity for figures, quantity in parts)
    sellable = min(figures.sellable // quantity for figures, quantity in parts)
    available = min(figures.available // quantity for figures, quantity in parts)
    with_incoming = min((figures.available + figures.incoming) // quantity for figures, quantity in parts)
    return StockFigures(
        on_hand=on_hand, sellable=sellable, reserved=sellable - available, incoming=with_incoming - available
    )


def availability(
    *,
    product_ids: Iterable[int] | None = None,
    warehouse_ids: Iterable[int] | None = None,
) -> dict[int, ProductAvailability]:
    """On hand, sellable, reserved, available and incoming per product per warehouse, and in total.

    With ``product_ids`` every one of those products is in the result (all zeros when it has no stock);
    without, every product with a balance or incoming stock, and every bundle made of them. A bundle's
    figures in a warehouse are the minimum over its components of the component's figure ÷ quantity;
    its total is the sum over warehouses, because one bundle ships from one warehouse and components in
    two warehouses do not make a bundle. At most three queries, plus one per incoming source.
    """
    wanted_products = None if product_ids is None else set(product_ids)
    wanted_warehouses = None if warehouse_ids is None else set(warehouse_ids)

    def in_scope(warehouse_id: int) -> bool:
        return wanted_warehouses is None or warehouse_id in wanted_warehouses

    products_queryset = Product.objects.all()
    on_the_way: dict[tuple[int, int], int] | None = None
    if wanted_products is not None:
        products_queryset = products_queryset.filter(pk__in=wanted_products)
    else:
        on_the_way = incoming(product_ids=None)
        stocked = InventoryBalance.objects.values("product_id")
        if wanted_warehouses is not None:
            stocked = stocked.filter(warehouse_id__in=wanted_warehouses)
        arriving = sorted({product_id for product_id, warehouse_id in on_the_way if in_scope(warehouse_id)})
        stock_holders = Q(pk__in=stocked) | Q(pk__in=arriving)
        made_of_them = BundleComponent.objects.filter(
            Q(component_id__in=stocked) | Q(component_id__in=arriving)
        ).values("bundle_id")
        products_queryset = products_queryset.filter(stock_holders | Q(pk__in=made_of_them))
    products = {row["id"]: row for row in products_queryset.values("id", "sku", "is_bundle")}

    components: dict[int, list[tuple[int, int]]] = defaultdict(list)
    bundle_ids = [product_id for product_id, row in products.items() if row["is_bundle"]]
    if bundle_ids:
        for bundle_id, component_id, quantity in (
            BundleComponent.objects.filter(bundle_id__in=bundle_ids)
            .order_by("id")
            .values_list("bundle_id", "component_id", "quantity")
        ):
            components[bundle_id].append((component_id, quantity))
    component_ids = {component_id for lines in components.values() for component_id, _ in lines}
    stock_product_ids = {pid for pid, row in products.items() if not row["is_bundle"]} | component_ids
    if on_the_way is None:
        on_the_way = incoming(product_ids=sorted(stock_product_ids))

    balances = InventoryBalance.objects.all()
    if wanted_products is not None:
        balances = balances.filter(product_id__in=stock_product_ids)
    if wanted_warehouses is not None:
        balances = balances.filter(warehouse_id__in=wanted_warehouses)
    figures: dict[tuple[int, int], StockFigures] = {
        (product_id, warehouse_id): StockFigures(on_hand=on_hand, sellable=sellable, reserved=reserved)
        for product_id, warehouse_id, on_hand, sellable, reserved in balances.values_list(
            "product_id", "warehouse_id", "on_hand", "sellable", "reserved"
        )
    }
    for (product_id, warehouse_id), quantity in on_the_way.items():
        if product_id in stock_product_ids and in_scope(warehouse_id):
            current = figures.get((product_id, warehouse_id), StockFigures())
            figures[(product_id, warehouse_id)] = current + StockFigures(incoming=quantity)

    warehouses_of: dict[int, set[int]] = defaultdict(set)
    for product_id, warehouse_id in figures:
        warehouses_of[product_id].add(warehouse_id)

    result: dict[int, ProductAvailability] = {}
    for product_id, row in products.items():
        per_warehouse: dict[int, StockFigures] = {}
        if row["is_bundle"]:
            lines = components.get(product_id, [])
            warehouse_ids_here = set().union(*(warehouses_of[component_id] for component_id, _ in lines))
            for warehouse_id in sorted(warehouse_ids_here):
                per_warehouse[warehouse_id] = _bundle_figures(
                    lines,
                    lambda component_id, warehouse_id=warehouse_id: figures.get(
                        (component_id, warehouse_id), StockFigures()
                    ),
                )
        else:
            for warehouse_id in sorted(warehouses_of[product_id]):
                per_warehouse[warehouse_id] = figures[(product_id, warehouse_id)]
        result[product_id] = ProductAvailability(
            product_id=product_id, sku=row["sku"], is_bundle=row["is_bundle"], warehouses=per_warehouse
        )
    return result


def availability_products() -> QuerySet[Product]:
    """Products whose availability the API lists, a page at a time, in natural SKU order."""
    return Product.objects.order_by("sku_sort", "id")


def balances_with_available() -> QuerySet[InventoryBalance]:
    """Balance rows with ``available`` annotated, and their product and warehouse joined."""
    return (
        InventoryBalance.objects.select_related("product", "warehouse")
        .annotate(available=AVAILABLE)
        .order_by("warehouse__priority", "warehouse__code", "product__sku_sort")
    )


# --- Stock levels and the ledger ----------------------------------------------------------------------------


# Within one warehouse: by bin (natural order), then SKU. The list of one warehouse orders by this alone.
STOCK_LEVEL_ORDER_IN_WAREHOUSE = ("bin__code_sort", "product__sku_sort", "id")


def stock_levels(*, include_zero: bool = False) -> QuerySet[StockLevel]:
    """Units per product per bin with product, bin and warehouse joined, by warehouse, bin then SKU.

    Rows at zero stay in the table after stock leaves a bin; they are left out unless ``include_zero``.
    """
    queryset = StockLevel.objects.select_related("product", "bin", "bin__warehouse").order_by(
        "bin__warehouse__priority", "bin__warehouse__code", *STOCK_LEVEL_ORDER_IN_WAREHOUSE
    )
    if not include_zero:
        queryset = queryset.exclude(on_hand=0)
    return queryset


def ledger(
    *,
    product: Product | int | None = None,
    bin: Bin | int | None = None,
    warehouse: Warehouse | int | None = None,
    reference: str | None = None,
) -> QuerySet[StockMove]:
    """Ledger rows, newest first (by id, which is the order they were written in).

    Ordering by ``-id`` alone is what lets PostgreSQL walk the (product, -id) index backwards and stop
    after one page, so a page of a product with a million moves costs the same as one with ten. A bin's
    moves are the union of what left it and what entered it.
    """
    queryset = StockMove.objects.select_related(
        "product", "from_bin", "from_bin__warehouse", "to_bin", "to_bin__warehouse", "user"
    ).order_by("-id")
    if product is not None:
        queryset = queryset.filter(product=product)
    if bin is not None:
        queryset = queryset.filter(Q(from_bin=bin) | Q(to_bin=bin))
    if warehouse is not None:
        queryset = queryset.filter(Q(from_bin__warehouse=warehouse) | Q(to_bin__warehouse=warehouse))
    if reference is not None:
        queryset = queryset.filter(reference=reference)
    return queryset


# --- The home page ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarehouseStock:
    """A warehouse on the home page: its stock in units, and its bins in use."""

    warehouse_id: int
    code: str
    name: str
    on_hand: int
    sellable: int
    reserved: int
    products: int
    bins_total: int
    bins_in_use: int

    @property
    def available(self) -> int:
        return self.sellable - self.reserved


def warehouse_stock_summary() -> list[WarehouseStock]:
    """Every active warehouse with its units on hand, sellable and reserved, products in stock and bins in use.

    Three queries, whatever the number of warehouses, bins and products.
    """
    units = {
        row["warehouse_id"]: row
        for row in InventoryBalance.objects.values("warehouse_id")
        .annotate(
            # Named apart from the columns: a filter on on_hand must read the column, not the sum.
            products=Count("id", filter=Q(on_hand__gt=0)),
            units_on_hand=Sum("on_hand"),
            units_sellable=Sum("sellable"),
            units_reserved=Sum("reserved"),
        )
        .order_by()
    }
    holding = StockLevel.objects.filter(bin_id=OuterRef("pk"), on_hand__gt=0)
    bins = {
        row["warehouse_id"]: row
        for row in Bin.objects.filter(is_active=True)
        .values("warehouse_id")
        .annotate(total=Count("id"), in_use=Count("id", filter=Exists(holding)))
        .order_by()
    }
    summary = []
    for warehouse in Warehouse.objects.filter(is_active=True).order_by("priority", "code"):
        figures = units.get(warehouse.pk, {})
        bin_figures = bins.get(warehouse.pk, {})
        summary.append(
            WarehouseStock(
                warehouse_id=warehouse.pk,
                code=warehouse.code,
                name=warehouse.name,
                on_hand=figures.get("units_on_hand") or 0,
                sellable=figures.get("units_sellable") or 0,
                reserved=figures.get("units_reserved") or 0,
                products=figures.get("products") or 0,
                bins_total=bin_figures.get("total") or 0,
                bins_in_use=bin_figures.get("in_use") or 0,
            )
        )
    return summary


def products_without_stock_count() -> int:
    """Active products (not bundles) with no unit on hand in any warehouse: what may need buying or a count."""
    in_stock = InventoryBalance.objects.filter(product_id=OuterRef("pk"), on_hand__gt=0)
    return Product.objects.filter(is_active=True, is_bundle=False).exclude(Exists(in_stock)).count()


def open_documents() -> dict[str, int]:
    """Counts being counted, transfers drafted and transfers on the road (2 queries)."""
    transfers = Transfer.objects.aggregate(
        draft=Count("id", filter=Q(status=Transfer.Status.DRAFT)),
        in_transit=Count("id", filter=Q(status__in=[Transfer.Status.SHIPPED, Transfer.Status.PARTIALLY_RECEIVED])),
    )
    return {
        "counts_open": StockCount.objects.filter(status=StockCount.Status.OPEN).count(),
        "transfers_draft": transfers["draft"],
        "transfers_in_transit": transfers["in_transit"],
    }


# --- Reservations and sellable changes --------------------------------------------------------------------


def reservation_list() -> QuerySet[Reservation]:
    """Reservations newest first, with product, warehouse and their history (each event's user) prefetched."""
    return (
        Reservation.objects.select_related("product", "warehouse")
        .prefetch_related(Prefetch("events", queryset=ReservationEvent.objects.select_related("user").order_by("id")))
        .order_by("-id")
    )


def sellable_changes() -> QuerySet[SellableChange]:
    """Bins put on or taken off sale, newest first, with bin, warehouse, product and user joined."""
    return SellableChange.objects.select_related("bin", "bin__warehouse", "product", "user").order_by("-id")


# --- Transfers and counts -----------------------------------------------------------------------------------


def transfer_list() -> QuerySet[Transfer]:
    """Transfers newest first, with both warehouses, their lines (product, bin) and their status history."""
    return (
        Transfer.objects.select_related("source", "destination", "created_by")
        .prefetch_related(
            Prefetch("lines", queryset=TransferLine.objects.select_related("product", "from_bin").order_by("id")),
            Prefetch("events", queryset=TransferEvent.objects.select_related("user").order_by("id")),
        )
        .order_by("-id")
    )


def stock_count_list() -> QuerySet[StockCount]:
    """Counts newest first, with their warehouse and people, how many lines are counted, and the net variance."""
    return (
        StockCount.objects.select_related("warehouse", "created_by", "approved_by")
        .annotate(
            lines_total=Count("lines", distinct=True),
            lines_counted=Count("lines", filter=Q(lines__counted_quantity__isnull=False), distinct=True),
            # Over the one join to the lines, so no row is summed twice; lines not counted yet add nothing.
            variance_net=Sum(F("lines__counted_quantity") - F("lines__system_quantity"), default=0),
        )
        .order_by("-id")
    )


def stock_count_get(*, pk: int) -> StockCount:
    """One count as stock_count_list() shows it, with its status history."""
    return (
        stock_count_list()
        .prefetch_related(Prefetch("events", queryset=StockCountEvent.objects.select_related("user").order_by("id")))
        .get(pk=pk)
    )


def stock_count_lines(*, count: StockCount | int) -> QuerySet[StockCountLine]:
    """A count's lines in the order a counter walks them: bin pick sequence, bin code, then SKU."""
    return (
        StockCountLine.objects.filter(count=count)
        .select_related("bin", "product", "counted_by")
        .order_by("bin__pick_sequence", "bin__code_sort", "product__sku_sort", "id")
    )


def stock_count_postings(*, count: StockCount) -> dict[str, int]:
    """What a count posted to the ledger: its COUNT moves, and the units they added and took away."""
    figures = StockMove.objects.filter(reference=count.number, reason=StockMove.Reason.COUNT).aggregate(
        moves=Count("id"),
        units_in=Sum("quantity", filter=Q(to_bin__isnull=False), default=0),
        units_out=Sum("quantity", filter=Q(from_bin__isnull=False), default=0),
    )
    return {"moves": figures["moves"], "units_in": figures["units_in"], "units_out": figures["units_out"]}


# --- Count variance report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountMove:
    """A ledger row that touched a counted bin and product while the count was open (quantity: + in, − out)."""

    move_id: int
    created_at: datetime
    reason: str
    reference: str
    quantity: int
    is_before_counting: bool


@dataclass(frozen=True)
class StockCountVarianceRow:
    """One line of a count, with the ledger movements that explain why the book moved while it was open.

    expected + net_moved_before_counting = system (the book when counted); the variance is counted − system;
    net_moved_after_counting is what changed in the bin after it was counted, kept by approval.
    """

    line_id: int
    bin_id: int
    bin_code: str
    product_id: int
    sku: str
    product_name: str
    expected_quantity: int | None
    system_quantity: int | None
    counted_quantity: int | None
    variance: int | None
    adjustment: int | None
    is_counted: bool
    net_moved_before_counting: int
    net_moved_after_counting: int
    moves: tuple[CountMove, ...]


def stock_count_variance(*, count: StockCount, include_expected: bool = True) -> list[StockCountVarianceRow]:
    """Every line of a count with its variance and the moves since the count opened (2 queries).

    The report can always show everything; the API passes ``include_expected=False`` to counters of a blind
    count (``count.is_blind``), which blanks expected, system and variance so the counted figure is honest.
    Moves are the ledger rows touching the line's bin and product after the count opened (up to approval),
    except the count's own adjustments.
    """
    lines = list(count.lines.select_related("bin", "product").order_by("bin__code_sort", "product__sku_sort", "id"))
    moves = (
        StockMove.objects.filter(created_at__gt=count.created_at, product_id__in={line.product_id for line in lines})
        .filter(Q(from_bin_id__in={line.bin_id for line in lines}) | Q(to_bin_id__in={line.bin_id for line in lines}))
        .exclude(reason=StockMove.Reason.COUNT, reference=count.number)
    )
    if count.approved_at is not None:
        moves = moves.filter(created_at__lte=count.approved_at)
    moves_of: dict[tuple[int, int], list[StockMove]] = {}
    for move in moves.order_by("id"):
        if move.from_bin_id:
            moves_of.setdefault((move.product_id, move.from_bin_id), []).append(move)
        if move.to_bin_id:
            moves_of.setdefault((move.product_id, move.to_bin_id), []).append(move)

    rows = []
    for line in lines:
        line_moves = []
        for move in moves_of.get((line.product_id, line.bin_id), []):
            line_moves.append(
                CountMove(
                    move_id=move.pk,
                    created_at=move.created_at,
                    reason=move.reason,
                    reference=move.reference,
                    quantity=move.quantity if move.to_bin_id == line.bin_id else -move.quantity,
                    is_before_counting=line.counted_at is None or move.created_at <= line.counted_at,
                )
            )
        rows.append(
            StockCountVarianceRow(
                line_id=line.pk,
                bin_id=line.bin_id,
                bin_code=line.bin.code,
                product_id=line.product_id,
                sku=line.product.sku,
                product_name=line.product.name,
                expected_quantity=line.expected_quantity if include_expected else None,
                system_quantity=line.system_quantity if include_expected else None,
                counted_quantity=line.counted_quantity,
                variance=line.variance if include_expected else None,
                adjustment=line.adjustment if include_expected else None,
                is_counted=line.counted_at is not None,
                net_moved_before_counting=sum(move.quantity for move in line_moves if move.is_before_counting),
                net_moved_after_counting=sum(move.quantity for move in line_moves if not move.is_before_counting),
                moves=tuple(line_moves),
            )
        )
    return rows
