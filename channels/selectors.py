"""Reads of channels: each store's health, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import Channel, RejectedOrder, SkuMapping, Store, SyncRun
from orders.models import OrderHold, OrderShipment

# Credentials that end within this are a warning on the health page.
CREDENTIALS_WARNING = timedelta(days=14)
# A store this many intervals behind its schedule is late.
LATE_INTERVALS = 3
FAILING_IN_ROW = 3


@dataclass
class StoreHealth:
    store: Store
    lag: timedelta | None
    orders_waiting_mapping: int
    rejected_orders: int
    shipments_pending: int
    shipments_failed: int
    pushes_failed: int
    last_run_status: str | None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.warnings


def _count(queryset, store_field: str = "store") -> Subquery:
    counted = queryset.filter(**{store_field: OuterRef("pk")}).order_by().values(store_field)
    return Coalesce(Subquery(counted.annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()), 0)


def store_health(now: datetime | None = None) -> list[StoreHealth]:
    """Every store with what needs looking at: how far behind its orders are, failures in a row, credentials
    about to end, orders waiting on a SKU mapping, orders it sent that could not be read, shipments it has not
    been told of or refused, stock it refused."""
    now = now or timezone.now()
    last_run = SyncRun.objects.filter(store=OuterRef("pk"), kind=SyncRun.Kind.ORDERS).order_by("-pk")
    stores = Store.objects.annotate(
        waiting_mapping=Coalesce(
            Subquery(
                OrderHold.objects.filter(
                    order__store=OuterRef("pk"), code=OrderHold.Code.UNMAPPED_SKU, released_at__isnull=True
                )
                .order_by()
                .values("order__store")
                .annotate(n=Count("order", distinct=True))
                .values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        ),
        rejected=_count(RejectedOrder.objects.filter(resolved_at__isnull=True)),
        pending=_count(OrderShipment.objects.filter(store_status=OrderShipment.StoreStatus.PENDING), "order__store"),
        refused=_count(OrderShipment.objects.filter(store_status=OrderShipment.StoreStatus.FAILED), "order__store"),
        push_failed=_count(SkuMapping.objects.filter(push_status=SkuMapping.PushStatus.FAILED)),
        last_run_status=Subquery(last_run.values("status")[:1]),
    ).order_by("name")
    health = []
    for store in stores:
        item = StoreHealth(
            store=store,
            lag=(now - store.orders_synced_to) if store.orders_synced_to else None,
            orders_waiting_mapping=store.waiting_mapping,
            rejected_orders=store.rejected,
            shipments_pending=store.pending,
            shipments_failed=store.refused,
            pushes_failed=store.push_failed,
            last_run_status=store.last_run_status,
        )
        item.warnings = _warnings(item, now)
        health.append(item)
    return health


def _warnings(item: StoreHealth, now: datetime) -> list[str]:
    store = item.store
    warnings = []
    if not store.is_active:
        return [_("Not active: nothing is read or pushed.")]
    if store.channel != Channel.MANUAL:
        if store.failures_in_row >= FAILING_IN_ROW:
            warnings.append(
                _("%(count)s failures in a row; last: %(error)s")
                % {"count": store.failures_in_row, "error": store.last_error or "—"}
            )
        elif store.failures_in_row:
            warnings.append(_("The last run failed: %(error)s") % {"error": store.last_error or "—"})
        if store.orders_synced_to is None:
            if store.failures_in_row == 0:
                warnings.append(_("No order has been read yet."))
        elif item.lag and item.lag > timedelta(minutes=store.sync_interval_minutes * LATE_INTERVALS + 15):
            hours = int(item.lag.total_seconds() // 3600)
            minutes = int(item.lag.total_seconds() % 3600 // 60)
            warnings.append(_("Orders are %(hours)sh %(minutes)smin behind.") % {"hours": hours, "minutes": minutes})
        if store.credentials_expire_at and store.credentials_expire_at < now + CREDENTIALS_WARNING:
            warnings.append(
                _("The store's authorisation ends on %(date)s: authorise it again before then.")
                % {"date": timezone.localtime(store.credentials_expire_at).strftime("%Y-%m-%d")}
            )
    if item.orders_waiting_mapping:
        warnings.append(_("%(count)s orders wait for a SKU mapping.") % {"count": item.orders_waiting_mapping})
    if item.rejected_orders:
        warnings.append(_("%(count)s orders could not be read.") % {"count": item.rejected_orders})
    if item.shipments_failed:
        warnings.append(_("%(count)s shipments were refused by the store.") % {"count": item.shipments_failed})
    if item.pushes_failed:
        warnings.append(_("%(count)s listings refused their stock.") % {"count": item.pushes_failed})
    return warnings


def stores_failing_count() -> int:
    return Store.objects.filter(is_active=True, failures_in_row__gt=0).exclude(channel=Channel.MANUAL).count()
