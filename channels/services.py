"""Every write of channels: stores (with their credentials and their schedule), SKU mappings, sync requests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from channels.adapters import ADAPTERS, CREDENTIAL_ALTERNATIVES, CREDENTIAL_NAMES, adapter_class
from channels.models import Channel, SkuMapping, Store, SyncRun
from core.crypto import decrypt_json, encrypt_json
from core.errors import Conflict, ErrorDetail, ValidationFailed
from core.outbox import task_enqueue
from orders.services import order_lines_map

FIRST_IMPORT_DAYS = 30
SYNC_TASK = "channels.tasks.store_sync_scheduled"


# --- Stores -----------------------------------------------------------------------------------------------------


def credential_names(channel: str) -> tuple[str, ...]:
    return CREDENTIAL_NAMES.get(channel, ())


def credential_sets(channel: str) -> tuple[tuple[str, ...], ...]:
    """Each complete set of credentials the platform accepts, the usual one first."""
    return (credential_names(channel), *CREDENTIAL_ALTERNATIVES.get(channel, ()))


def _credentials_checked(channel: str, credentials: Any) -> dict[str, str]:
    """The credentials a platform needs (one of its sets), each a non-empty string; unknown names are refused,
    not stored."""
    if not isinstance(credentials, Mapping):
        raise ValidationFailed(
            _("Credentials must be an object of names and values."),
            errors=[ErrorDetail(_("Must be an object."), field="credentials")],
        )
    sets = credential_sets(channel)
    # The set the caller meant: the one all of whose names are given, else the one sharing most names with it.
    needed = max(sets, key=lambda names: (set(names) <= set(credentials), len(set(names) & set(credentials))))
    errors = []
    for name in needed:
        value = credentials.get(name)
        if not isinstance(value, str) or not value.strip():
            errors.append(ErrorDetail(_("Required for this channel."), field=f"credentials.{name}", code="required"))
    for name in credentials:
        if name not in needed:
            errors.append(
                ErrorDetail(
                    _("Not a credential of this channel (it takes: %(names)s).")
                    % {"names": " / ".join(", ".join(names) for names in sets if names) or _("none")},
                    field=f"credentials.{name}",
                    code="unknown",
                )
            )
    if errors:
        raise ValidationFailed.listing(_("Credentials"), errors)
    return {name: credentials[name].strip() for name in needed}


def _defaults_for(channel: str) -> dict[str, str]:
    if channel not in ADAPTERS:
        return {"api_base_url": "", "auth_url": ""}
    adapter = adapter_class(channel)
    return {"api_base_url": adapter.default_api_base_url, "auth_url": adapter.default_auth_url}


def _schedule_ensure(store: Store) -> None:
    """The store's periodic sync in django-celery-beat: every ``sync_interval_minutes``, enabled while the store
    is active (people may switch it off in the admin; saving the store again switches it back on)."""
    # The name is unique in django-celery-beat: the task's code name, the store's id and its name (data, in any
    # language). The list of periodic tasks then reads as the stores' names.
    name = f"{SYNC_TASK} #{store.pk} {store.name}"
    existing = PeriodicTask.objects.filter(task=SYNC_TASK, kwargs=json.dumps({"store_id": store.pk})).first()
    if store.channel == Channel.MANUAL:
        if existing is not None:
            existing.delete()
        return
    interval, _created = IntervalSchedule.objects.get_or_create(
        every=store.sync_interval_minutes, period=IntervalSchedule.MINUTES
    )
    wanted = {
        "name": name,
        "task": SYNC_TASK,
        "interval": interval,
        "kwargs": json.dumps({"store_id": store.pk}),
        "enabled": store.is_active,
    }
    if existing is None:
        PeriodicTask.objects.create(**wanted)
        return
    if any(getattr(existing, key) != value for key, value in wanted.items()):
        for key, value in wanted.items():
            setattr(existing, key, value)
        existing.save()


@transaction.atomic
def store_create(
    *,
    channel: str,
    name: str,
    credentials: Mapping[str, Any] | None = None,
    api_base_url: str = "",
    auth_url: str = "",
    marketplace_id: str = "",
    options: Mapping[str, Any] | None = None,
    warehouses: Iterable[Any] = (),
    import_from=None,
    **settings: Any,
) -> Store:
    if channel not in Channel.values:
        raise ValidationFailed(
            _("Unknown channel %(channel)s.") % {"channel": channel},
            errors=[ErrorDetail(_("Not a channel."), field="channel")],
        )
    checked = _credentials_checked(channel, credentials or {})
    defaults = _defaults_for(channel)
    store = Store(
        channel=channel,
        name=name.strip(),
        api_base_url=api_base_url or defaults["api_base_url"],
        auth_url=auth_url or defaults["auth_url"],
        marketplace_id=marketplace_id,
        options=dict(options or {}),
        credentials_encrypted=encrypt_json(checked) if checked else "",
        import_from=import_from or timezone.now() - timedelta(days=FIRST_IMPORT_DAYS),
        **settings,
    )
    _full_clean(store)
    try:
        with transaction.atomic():
            store.save()
    except IntegrityError:
        raise Conflict(_("A store named %(name)s exists already.") % {"name": store.name}, code="duplicate") from None
    store.warehouses.set(list(warehouses))
    _schedule_ensure(store)
    return store


def _full_clean(store: Store) -> None:
    from django.core.exceptions import ValidationError

    from core.errors import errors_from_django

    try:
        store.full_clean(exclude=["warehouses"], validate_unique=False)
    except ValidationError as exc:
        raise ValidationFailed.listing(_("Store"), errors_from_django(exc)) from None


@transaction.atomic
def store_update(
    *, store: Store, credentials: Mapping[str, Any] | None = None, warehouses: Iterable[Any] | None = None, **changes
) -> Store:
    """Change a store; ``credentials`` given are checked and replace the stored ones (and the cached token)."""
    store = Store.objects.select_for_update().get(pk=store.pk)
    if "channel" in changes and changes["channel"] != store.channel:
        raise Conflict(_("A store's channel cannot change; add another store."), code="channel_fixed")
    for key, value in changes.items():
        setattr(store, key, value)
    if credentials is not None:
        checked = _credentials_checked(store.channel, credentials)
        store.credentials_encrypted = encrypt_json(checked) if checked else ""
        store.access_token_encrypted = ""
        store.access_token_expires_at = None
    _full_clean(store)
    try:
        with transaction.atomic():
            store.save()
    except IntegrityError:
        raise Conflict(_("A store named %(name)s exists already.") % {"name": store.name}, code="duplicate") from None
    if warehouses is not None:
        store.warehouses.set(list(warehouses))
    _schedule_ensure(store)
    return store


def store_credential_names_set(store: Store) -> list[str]:
    """Which credentials a store has (never their values): for the API and the admin."""
    if not store.credentials_encrypted:
        return []
    return sorted(decrypt_json(store.credentials_encrypted))


# --- SKU mappings -----------------------------------------------------------------------------------------------

MAPPING_FIELDS = ("quantity", "listing_id", "listing_variant_id", "options")


@transaction.atomic
def sku_mapping_save(
    *, store: Store, channel_sku: str, product, quantity: int = 1, user=None, is_automatic: bool = False, **listing
) -> tuple[SkuMapping, bool]:
    """Map a store's SKU to a product × quantity (create, or change the mapping of that SKU), and point the
    lines of its orders still to ship at it, releasing their holds. Returns (mapping, created)."""
    channel_sku = channel_sku.strip()
    mapping = SkuMapping.objects.select_for_update().filter(store=store, channel_sku=channel_sku).first()
    created = mapping is None
    if created:
        mapping = SkuMapping(store=store, channel_sku=channel_sku)
    mapping.product = product
    mapping.quantity = quantity
    mapping.is_automatic = is_automatic
    for key, value in listing.items():
        if key not in MAPPING_FIELDS:
            raise TypeError(f"sku_mapping_save() got an unexpected field {key!r}")
        setattr(mapping, key, value)
    mapping.full_clean(validate_unique=False)
    mapping.save()
    order_lines_map(store_id=store.pk, channel_sku=channel_sku, product_id=product.pk, quantity=quantity, user=user)
    return mapping, created


@transaction.atomic
def sku_mapping_delete(*, mapping: SkuMapping, user=None) -> None:
    """Remove a mapping: the SKU's lines in orders still to ship lose their product and hold their orders."""
    mapping = SkuMapping.objects.select_for_update().get(pk=mapping.pk)
    store_id, channel_sku = mapping.store_id, mapping.channel_sku
    mapping.delete()
    order_lines_map(store_id=store_id, channel_sku=channel_sku, product_id=None, user=user)


# --- Sync requests ----------------------------------------------------------------------------------------------


def sync_request(*, store: Store, kind: str, user=None, trigger: str = SyncRun.Trigger.PERSON) -> tuple[SyncRun, bool]:
    """Queue a run of ``kind`` for the store, or return the one queued or running already. Returns (run,
    queued now). The worker is sent the run once the transaction commits."""
    if kind not in SyncRun.Kind.values:
        raise ValidationFailed(
            _("Unknown kind of sync %(kind)s.") % {"kind": kind},
            errors=[ErrorDetail(_("Must be orders or stock."), field="kind")],
        )
    if store.channel == Channel.MANUAL:
        raise Conflict(
            _("Store %(store)s has no platform to sync with: import its orders from a spreadsheet.")
            % {"store": store.name},
            code="manual_store",
        )
    if not store.is_active:
        raise Conflict(_("Store %(store)s is not active.") % {"store": store.name}, code="store_inactive")
    with transaction.atomic():
        active = SyncRun.objects.filter(
            store=store, kind=kind, status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
        ).first()
        if active is not None:
            from channels.sync import run_abandoned
            from channels.tasks import sync_run_execute

            if run_abandoned(active):  # its worker died: queued again, to be taken over
                task_enqueue(sync_run_execute, active.pk)
            return active, False
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(store=store, kind=kind, trigger=trigger, requested_by=user)
        except IntegrityError:  # another request queued one at the same moment
            return SyncRun.objects.get(
                store=store, kind=kind, status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]
            ), False
        from channels.tasks import sync_run_execute

        task_enqueue(sync_run_execute, run.pk)  # written with the run, sent when it commits (core.outbox)
        return run, True


# --- Orders from a spreadsheet ----------------------------------------------------------------------------------


@transaction.atomic
def store_orders_import(*, store: Store, source, user=None):
    """A spreadsheet of orders into a store, SKUs resolved through its mapping (exact product SKUs map
    themselves, as in a sync). All or nothing: ValidationFailed lists every problem of the file."""
    from channels.sync import skus_resolve
    from orders.sheet_import import orders_import_sheet

    def lines_mapper(store: Store, orders) -> None:
        SkuMapping.objects.bulk_create(skus_resolve(store, orders), ignore_conflicts=True)

    return orders_import_sheet(store=store, source=source, user=user, lines_mapper=lines_mapper)
