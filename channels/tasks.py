"""Celery tasks of channels: thin wrappers around the sync engine (channels.sync)."""

from __future__ import annotations

from celery import shared_task
from django.dispatch import receiver

from channels import sync
from channels.models import Channel, Store, SyncRun
from core.outbox import task_enqueue
from core.tasks import RETRY_TRANSIENT
from orders.services import shipment_recorded

RUN_TIME_LIMIT = 60 * 60


# Late ack, through the outbox: a run is claimed once (a run whose worker died is taken over, see run_claim) and the
# import upserts on (store, channel order id), so a second delivery changes nothing.
@shared_task(
    name="channels.tasks.sync_run_execute",
    time_limit=RUN_TIME_LIMIT,
    soft_time_limit=RUN_TIME_LIMIT - 60,
    acks_late=True,
    **RETRY_TRANSIENT,
)
def sync_run_execute(run_id: int) -> str | None:
    run = sync.sync_run_execute(run_id)
    return None if run is None else run.status


# Early ack: beat sends it again at the store's next interval, which is its retry; it only queues runs (one active
# per store and kind) and tells shipments once each, so running it twice is harmless too.
@shared_task(
    name="channels.tasks.store_sync_scheduled",
    time_limit=RUN_TIME_LIMIT,
    soft_time_limit=RUN_TIME_LIMIT - 60,
    acks_late=False,
    **RETRY_TRANSIENT,
)
def store_sync_scheduled(store_id: int) -> dict[str, str]:
    """The store's periodic sync (one django-celery-beat task per store): read its orders, tell it of the
    shipments waiting, push its stock. Each part is a run of its own, so a person's "Sync now" and the schedule
    never run the same kind twice at once."""
    from channels.services import sync_request

    store = Store.objects.filter(pk=store_id, is_active=True).exclude(channel=Channel.MANUAL).first()
    if store is None:
        return {}
    outcome = {}
    run, queued = sync_request(store=store, kind=SyncRun.Kind.ORDERS, trigger=SyncRun.Trigger.SCHEDULE)
    outcome["orders"] = f"run {run.pk} {'queued' if queued else 'already active'}"
    told = [sync.shipment_tell(shipment_id) for shipment_id in sync.shipments_due(store)]
    outcome["shipments"] = f"{sum(1 for shipment in told if shipment is not None)} told"
    if store.push_stock:
        run, queued = sync_request(store=store, kind=SyncRun.Kind.STOCK, trigger=SyncRun.Trigger.SCHEDULE)
        outcome["stock"] = f"run {run.pk} {'queued' if queued else 'already active'}"
    return outcome


# Late ack, through the outbox: a shipment is claimed before the store is told, so it is told once.
@shared_task(
    name="channels.tasks.shipment_tell", time_limit=10 * 60, soft_time_limit=9 * 60, acks_late=True, **RETRY_TRANSIENT
)
def shipment_tell(shipment_id: int) -> str | None:
    shipment = sync.shipment_tell(shipment_id)
    return None if shipment is None else shipment.store_status


@receiver(shipment_recorded, dispatch_uid="channels.shipment_recorded")
def _shipment_recorded(sender, shipment_id: int, **kwargs) -> None:
    """A shipment was recorded (the signal is sent on commit): tell its store now rather than at the next sync."""
    task_enqueue(shipment_tell, shipment_id)
