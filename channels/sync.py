"""The sync engine: read a store's changed orders, tell it of shipments, push it its stock.

Reading orders (``orders_sync``) happens in two phases, so a failure never leaves half an import:

1. **Fetch**, with no transaction open: the adapter pages through every order the store changed in the window
   (from where the last run got to, minus an overlap, up to a little before now) and everything is collected.
   A platform error in the middle (a 500 on page 7, a time-out, refused credentials) ends the run as failed:
   nothing is saved and the store's cursor stays where it was, so the next run reads the same window again.
2. **Save**, in one transaction: the SKUs are resolved through the store's mapping (a channel SKU equal to a
   product's SKU maps itself, and the mapping is kept), ``orders.imports.orders_upsert`` saves the orders,
   orders that could not be read are kept as ``RejectedOrder`` with what the store sent, and the cursor moves
   to the end of the window, all committed together.

Because the import is an upsert on (store, channel order id) and older data never overwrites newer, windows
may overlap and runs may repeat: nothing is duplicated. ``stock_sync`` pushes to each mapped listing the
available stock of the store's warehouses (less the buffer, times the share shown), only where it changed.
``shipment_tell`` tells the store of one shipment, once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.adapters import adapter_class
from channels.adapters.base import (
    AuthFailed,
    ChannelAdapter,
    ChannelError,
    OrderProblem,
    Rejected,
    ShipmentLineOut,
    ShipmentOut,
    StockOut,
    StoreConnection,
)
from channels.adapters.http import ChannelHttp
from channels.models import RejectedOrder, SkuMapping, Store, SyncRun
from channels.tokens import StoreTokens, store_credentials
from inventory.models import normalize_code
from inventory.selectors import products_by_sku
from inventory.stock_selectors import availability
from orders.imports import ImportProblem, clean_raw, orders_upsert
from orders.inbound import OrderIn
from orders.models import OrderShipment
from orders.services import order_shipment_store_claim, order_shipment_store_result

logger = logging.getLogger(__name__)

# Read again the last minutes of the previous window: platforms index changes a little late.
OVERLAP = timedelta(minutes=10)
# Stop the window a little before now: Amazon wants LastUpdatedBefore at least two minutes in the past, and a
# change being written at the edge is read whole by the next run.
SETTLE = timedelta(minutes=2)
ERRORS_KEPT = 50


def http_for_store(store: Store) -> ChannelHttp:
    return ChannelHttp(
        timeout=settings.CHANNEL_HTTP_TIMEOUT,
        max_attempts=settings.CHANNEL_HTTP_ATTEMPTS,
        backoff_base=settings.CHANNEL_HTTP_BACKOFF,
    )


def adapter_for(store: Store, http: ChannelHttp) -> ChannelAdapter:
    connection = StoreConnection(
        channel=store.channel,
        api_base_url=store.api_base_url,
        auth_url=store.auth_url,
        marketplace_id=store.marketplace_id,
        options=store.options,
        credentials=store_credentials(store),
        tokens=StoreTokens(store.pk),
        store_id=store.pk,
    )
    return adapter_class(store.channel)(connection, http)


# --- Runs -------------------------------------------------------------------------------------------------------


# While a worker carries out a run it holds a session advisory lock (RUN_LEASE_CLASS, run id): the run's lease.
# A worker that dies (SIGKILL, out of memory) loses its database session and the lease with it, so a run still
# "running" without its lease was abandoned, and the next delivery of its task takes it over.
RUN_LEASE_CLASS = 0x5EAC
RUN_LEASE_MOD = 2_147_483_647


def _run_lease_take(run_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, (%s %% %s)::int)", [RUN_LEASE_CLASS, run_id, RUN_LEASE_MOD])
        return cursor.fetchone()[0]


def _run_lease_release(run_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, (%s %% %s)::int)", [RUN_LEASE_CLASS, run_id, RUN_LEASE_MOD])


def run_abandoned(run: SyncRun) -> bool:
    """A run marked running whose worker is gone (no session holds its lease)."""
    if run.status != SyncRun.Status.RUNNING:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
            "AND objsubid = 2 AND objid::bigint = %s %% %s)",
            [RUN_LEASE_CLASS, run.pk, RUN_LEASE_MOD],
        )
        return cursor.fetchone()[0]


def run_claim(run_id: int) -> SyncRun | None:
    """Start a queued run, or take over a running one whose worker died, holding its lease (None if it is done or
    another worker holds it: a repeated task does nothing)."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update(skip_locked=True).select_related("store").filter(pk=run_id).first()
        if run is None or run.status not in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING):
            return None
        if not _run_lease_take(run.pk):
            return None
        if run.status == SyncRun.Status.RUNNING:
            logger.warning("Sync run %s of store %s: its worker was lost; taken over", run.pk, run.store_id)
        run.status = SyncRun.Status.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at"])
        return run


def _finish(run: SyncRun, http: ChannelHttp | None, *, succeeded: bool) -> None:
    run.status = SyncRun.Status.SUCCEEDED if succeeded else SyncRun.Status.FAILED
    run.finished_at = timezone.now()
    if http is not None:
        run.requests = http.requests
        run.seconds_waiting = round(http.seconds_waiting, 3)
        run.seconds_backing_off = round(http.seconds_backing_off, 3)
    run.errors = run.errors[:ERRORS_KEPT]
    run.save()


def _store_health(store_id: int, *, error: str = "") -> None:
    now = timezone.now()
    store = Store.objects.select_for_update().get(pk=store_id)
    if error:
        store.last_failure_at = now
        store.failures_in_row += 1
        store.last_error = error
    else:
        store.last_success_at = now
        store.failures_in_row = 0
        store.last_error = ""
    store.save(update_fields=["last_failure_at", "last_success_at", "failures_in_row", "last_error", "updated_at"])


def _fail(run: SyncRun, http: ChannelHttp | None, error: Exception) -> None:
    if isinstance(error, ChannelError):
        message, code = error.message, error.code
    else:
        logger.exception("Sync run %s of store %s failed", run.pk, run.store_id)
        message, code = _("Unexpected error: %(error)s") % {"error": error.__class__.__name__}, "internal"
    with transaction.atomic():
        run.errors = [*run.errors, {"code": code, "message": message}]
        _finish(run, http, succeeded=False)
        _store_health(run.store_id, error=message)


def sync_run_execute(run_id: int) -> SyncRun | None:
    """Carry out a queued run (the Celery task calls this)."""
    run = run_claim(run_id)
    if run is None:
        return None
    try:
        if run.kind == SyncRun.Kind.ORDERS:
            orders_sync(run)
        else:
            stock_sync(run)
    finally:
        _run_lease_release(run.pk)
    run.refresh_from_db()
    return run


# --- Orders -----------------------------------------------------------------------------------------------------


def order_window(store: Store, now: datetime | None = None, *, settle: timedelta = SETTLE) -> tuple[datetime, datetime]:
    until = (now or timezone.now()) - max(SETTLE, settle)
    since = store.orders_synced_to - OVERLAP if store.orders_synced_to else store.import_from
    return min(since, until), until


def _fetch(adapter: ChannelAdapter, since: datetime, until: datetime) -> tuple[list[OrderIn], list[OrderProblem]]:
    orders: list[OrderIn] = []
    problems: list[OrderProblem] = []
    for item in adapter.orders_changed(since=since, until=until):
        (problems if isinstance(item, OrderProblem) else orders).append(item)
    return orders, problems


def skus_resolve(store: Store, orders: list[OrderIn]) -> list[SkuMapping]:
    """Resolve every line to a product through the store's mapping; SKUs equal to a product's SKU map themselves.
    Returns the automatic mappings to create (saved with the orders)."""
    skus = {line.channel_sku.strip() for order in orders for line in order.lines if line.channel_sku}
    mappings = {
        mapping.channel_sku: mapping for mapping in SkuMapping.objects.filter(store=store, channel_sku__in=skus)
    }
    unmapped = skus - set(mappings)
    automatic: list[SkuMapping] = []
    if unmapped:
        found = products_by_sku(skus=sorted(unmapped))
        listing_of = {
            line.channel_sku.strip(): line.channel_item_id
            for order in orders
            for line in order.lines
            if line.channel_sku
        }
        for sku in sorted(unmapped):
            product = found.get(normalize_code(sku))
            if product is not None and normalize_code(sku) == sku:
                mapping = SkuMapping(
                    store=store,
                    channel_sku=sku,
                    product=product,
                    quantity=1,
                    is_automatic=True,
                    listing_id=(listing_of.get(sku) or "")[:100],
                )
                mappings[sku] = mapping
                automatic.append(mapping)
    for order in orders:
        for line in order.lines:
            mapping = mappings.get(line.channel_sku.strip()) if line.channel_sku else None
            if mapping is not None and isinstance(line.quantity, int):
                line.product_id = mapping.product_id
                line.product_quantity = line.quantity * mapping.quantity
    return automatic


def _rejected_save(store: Store, problems: Iterable[OrderProblem | ImportProblem], imported: Iterable[str]) -> None:
    now = timezone.now()
    RejectedOrder.objects.filter(store=store, channel_order_id__in=list(imported), resolved_at__isnull=True).update(
        resolved_at=now
    )
    for problem in problems:
        raw = clean_raw(problem.raw) if isinstance(problem, OrderProblem) else None
        channel_order_id = (problem.channel_order_id or "?")[:100]
        updated = RejectedOrder.objects.filter(
            store=store, channel_order_id=channel_order_id, resolved_at__isnull=True
        ).update(field=problem.field[:200], message=problem.message, last_seen_at=now, **({"raw": raw} if raw else {}))
        if not updated:
            RejectedOrder.objects.create(
                store=store,
                channel_order_id=channel_order_id,
                field=problem.field[:200],
                message=problem.message,
                raw=raw,
            )


def orders_sync(run: SyncRun, *, http: ChannelHttp | None = None) -> None:
    """Read the store's changed orders and save them (see the module's docstring). ``http`` is for benchmarks
    that pace the platform differently; a run makes its own."""
    store = run.store
    http = http or http_for_store(store)
    try:
        with http:
            adapter = adapter_for(store, http)
            # A platform that indexes changes late (Amazon) says how far behind now its windows must end.
            since, until = order_window(store, settle=getattr(adapter, "window_lag", SETTLE))
            run.window_start, run.window_end = since, until
            orders, problems = _fetch(adapter, since, until)
        with transaction.atomic():
            store = Store.objects.select_for_update().get(pk=store.pk)
            automatic = skus_resolve(store, orders)
            SkuMapping.objects.bulk_create(automatic, ignore_conflicts=True)
            result = orders_upsert(store_id=store.pk, orders=orders)
            all_problems = [*problems, *result.problems]
            _rejected_save(store, all_problems, result.imported_ids)
            store.orders_synced_to = until
            store.save(update_fields=["orders_synced_to", "updated_at"])
            run.counts = {"fetched": len(orders) + len(problems), **result.counts(), "rejected": len(all_problems)}
            run.counts["mapped_automatically"] = len(automatic)
            run.errors = [
                {
                    "code": "rejected_order",
                    "order": problem.channel_order_id,
                    "field": problem.field,
                    "message": problem.message,
                }
                for problem in all_problems
            ]
            _finish(run, http, succeeded=True)
            _store_health(store.pk)
    except Exception as error:
        _fail(run, http, error)


# --- Stock ------------------------------------------------------------------------------------------------------


def shown_quantity(available: int, *, buffer: int, percent: int, pack: int) -> int:
    """What a listing is shown: the available units less the buffer, times the share, in the listing's packs,
    rounded down, never negative."""
    units = max(0, available - buffer) * percent // 100
    return max(0, units // max(pack, 1))


def store_stock_quantities(store: Store, mappings: list[SkuMapping]) -> dict[int, int]:
    """Mapping id → the quantity its listing should show, from inventory's one availability selector."""
    warehouse_ids = list(store.warehouses.values_list("pk", flat=True))
    if not warehouse_ids or not mappings:
        return {mapping.pk: 0 for mapping in mappings}
    figures = availability(product_ids={mapping.product_id for mapping in mappings}, warehouse_ids=warehouse_ids)
    return {
        mapping.pk: shown_quantity(
            figures[mapping.product_id].total.available if mapping.product_id in figures else 0,
            buffer=store.stock_buffer,
            percent=store.stock_percent,
            pack=mapping.quantity,
        )
        for mapping in mappings
    }


def stock_sync(run: SyncRun) -> None:
    store = run.store
    http = http_for_store(store)
    counts = {"mappings": 0, "unchanged": 0, "pushed": 0, "failed": 0}
    try:
        mappings = list(SkuMapping.objects.filter(store=store).order_by("pk"))
        counts["mappings"] = len(mappings)
        if not store.warehouses.exists():
            run.errors = [{"code": "no_warehouses", "message": _("No warehouse feeds this store; nothing was pushed.")}]
        wanted = store_stock_quantities(store, mappings) if store.warehouses.exists() else {}
        due = [
            mapping
            for mapping in mappings
            if mapping.pk in wanted
            and (mapping.pushed_quantity != wanted[mapping.pk] or mapping.push_status != SkuMapping.PushStatus.OK)
        ]
        counts["unchanged"] = len(mappings) - len(due)
        with http:
            adapter = adapter_for(store, http)
            size = max(1, adapter.stock_batch_size)
            for start in range(0, len(due), size):
                batch = due[start : start + size]
                results = adapter.stock_push(
                    [
                        StockOut(
                            channel_sku=mapping.channel_sku,
                            quantity=wanted[mapping.pk],
                            listing_id=mapping.listing_id,
                            listing_variant_id=mapping.listing_variant_id,
                            options=mapping.options,
                        )
                        for mapping in batch
                    ]
                )
                _push_results_save(batch, wanted, results, counts, run)
        run.counts = counts
        with transaction.atomic():
            _finish(run, http, succeeded=True)
            _store_health(store.pk)
    except Exception as error:
        run.counts = counts
        _fail(run, http, error)


def _push_results_save(batch: list[SkuMapping], wanted: dict[int, int], results, counts: dict, run: SyncRun) -> None:
    by_sku = {result.channel_sku: result for result in results}
    now = timezone.now()
    for mapping in batch:
        result = by_sku.get(mapping.channel_sku)
        mapping.pushed_at = now
        if result is not None and result.ok:
            mapping.pushed_quantity = wanted[mapping.pk]
            mapping.push_status = SkuMapping.PushStatus.OK
            mapping.push_error = ""
            counts["pushed"] += 1
        else:
            mapping.push_status = SkuMapping.PushStatus.FAILED
            mapping.push_error = result.message if result is not None else _("The store did not answer for this SKU.")
            counts["failed"] += 1
            run.errors.append({"code": "push_failed", "sku": mapping.channel_sku, "message": mapping.push_error})
    SkuMapping.objects.bulk_update(batch, ["pushed_at", "pushed_quantity", "push_status", "push_error"])


# --- Shipments --------------------------------------------------------------------------------------------------


def _shipment_out(shipment: OrderShipment) -> ShipmentOut:
    return ShipmentOut(
        channel_order_id=shipment.order.channel_order_id,
        reference=str(shipment.pk),
        carrier=shipment.carrier,
        service=shipment.service,
        tracking_number=shipment.tracking_number,
        shipped_at=shipment.shipped_at,
        lines=tuple(
            ShipmentLineOut(channel_line_id=line.line.channel_line_id, quantity=line.quantity)
            for line in shipment.lines.select_related("line").order_by("pk")
        ),
        order_raw=shipment.order.raw,
    )


def shipment_tell(shipment_id: int) -> OrderShipment | None:
    """Tell the store of one shipment, if it is due and no other worker has it. Refusals are final (a person
    sees the store's message on the order); time-outs and throttling leave it pending for a later attempt."""
    shipment = order_shipment_store_claim(shipment_id=shipment_id)
    if shipment is None:
        return None
    store = shipment.order.store
    try:
        with http_for_store(store) as http:
            result = adapter_for(store, http).shipment_confirm(_shipment_out(shipment))
    except (Rejected, AuthFailed) as error:
        return order_shipment_store_result(shipment=shipment, confirmed=False, message=error.message, final=True)
    except ChannelError as error:
        return order_shipment_store_result(shipment=shipment, confirmed=False, message=error.message)
    message = _("The store knew this shipment already.") if result.already_confirmed else ""
    return order_shipment_store_result(shipment=shipment, confirmed=True, message=message, reference=result.reference)


def shipments_due(store: Store | None = None, *, limit: int = 500) -> list[int]:
    queryset = OrderShipment.objects.filter(store_status=OrderShipment.StoreStatus.PENDING).exclude(
        store_next_attempt_at__gt=timezone.now()
    )
    if store is not None:
        queryset = queryset.filter(order__store=store)
    return list(queryset.order_by("pk").values_list("pk", flat=True)[:limit])
