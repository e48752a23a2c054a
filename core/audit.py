"""The audit trail's recording: who changed an audited row (settings.AUDITED_MODELS), what changed, and where from.

How it works (docs/staff-security.md says why):

* ``AuditMiddleware`` keeps the request in a context variable for as long as the view runs. The actor is read from
  it when a change is saved, not when the request arrives: DRF authenticates inside the view and sets
  ``request._request.user`` (and ``.auth``, the token), so a token-authenticated API call is attributed to its
  token. Celery tasks record "system" with the task's name (``task_prerun``), management commands with the
  command's name (from ``sys.argv``), and code can name itself with :func:`audit_context`.
* ``pre_save`` loads the stored row (only the audited fields, only for audited models, and nothing when
  ``update_fields`` names no audited field); ``post_save``, ``post_delete`` and ``m2m_changed`` write an
  :class:`AuditEntry` with the same database connection, so it is in the change's transaction: a rollback takes
  the entry away with the change. Entries of one request or task for one row are merged into one (the admin saves a
  user, then its groups).
* Secrets (credentials, password and token hashes) are recorded as ``"changed"``, never their values. Fields that
  move by themselves (``last_login``, a beat task's run count) are not audited.
* Bulk paths send no signals: ``inventory.bulk.product_bulk_upsert`` records one entry per import with its counts
  through :func:`audit_record_bulk`, as does ``inventory.services.bin_generate`` (up to 20,000 bins at once, with
  the first and last code); a bundle's components, a handful of rows written by ``bulk_create``, get an entry each
  through :func:`audit_record_created`. The admin's spreadsheet import saves row by row, so it records one entry per
  changed row, with source "import".
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.http import HttpRequest

from core.audit_models import AuditEntry
from core.models import NaturalSortKeyField

SECRET = "changed"  # noqa: S105 - the word written instead of a secret
# Field names whose values are never stored: credentials, passwords, token keys and hashes, two-factor secrets.
SECRET_NAME = re.compile(r"password|secret|token|credential|encrypted|hash|(^|_)key$|otp", re.IGNORECASE)
# Fields that change by themselves on every login, sync, push, label or run: not what an audit trail is for.
IGNORED_FIELDS: dict[str, set[str]] = {
    # date_joined: the admin's form drops its microseconds on every save of a user.
    "auth.user": {"last_login", "date_joined"},
    "channels.store": {
        "access_token_encrypted",
        "access_token_expires_at",
        "orders_synced_to",
        "last_success_at",
        "last_failure_at",
        "failures_in_row",
        "last_error",
    },
    "channels.skumapping": {"pushed_quantity", "pushed_at", "push_status", "push_error"},
    "logistics.trackingnumberrange": {"next_number"},
    "django_celery_beat.periodictask": {"last_run_at", "total_run_count", "date_changed", "no_changes"},
    "access.apitoken": {"last_used_at"},
}
REPR_MAX = 200
REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
REQUEST_ID_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass
class AuditContext:
    """Who is acting now: a request (the user is read when a change is saved), or a named system actor."""

    source: str
    label: str = ""
    request: HttpRequest | None = None
    request_id: str = ""
    # Entries written in this context, by (content type id, object id): a second change of the row merges into it.
    entries: dict[tuple[int, str], AuditEntry] = field(default_factory=dict)
    merges: bool = True


def _process_context() -> AuditContext:
    """Outside requests and tasks: a management command names itself by its command; anything else is "system"."""
    argv = sys.argv
    if len(argv) > 1 and argv[0].endswith("manage.py") and not argv[1].startswith("-"):
        return AuditContext(source=AuditEntry.Source.COMMAND, label=f"system/command {argv[1]}", merges=False)
    return AuditContext(source=AuditEntry.Source.SYSTEM, label="system", merges=False)


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("audit_context", default=None)


def audit_current() -> AuditContext:
    return _current.get() or _process_context()


@contextmanager
def audit_context(*, label: str, source: str = AuditEntry.Source.SYSTEM) -> Iterator[AuditContext]:
    """Changes made inside are recorded as made by ``label`` (e.g. "system/command products_import")."""
    context = AuditContext(source=source, label=label)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def _request_source(request: HttpRequest) -> str:
    path = request.path_info
    if path.startswith("/api/"):
        return AuditEntry.Source.API
    if path.startswith("/admin/"):
        if path.endswith(("/import/", "/process_import/")):
            return AuditEntry.Source.IMPORT
        return AuditEntry.Source.ADMIN
    if path.startswith("/scan/"):
        return AuditEntry.Source.SCAN
    return AuditEntry.Source.SYSTEM


class AuditMiddleware:
    """Keeps the request in the audit context while the view runs (after AuthenticationMiddleware)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        given = request.META.get(REQUEST_ID_HEADER, "")
        request_id = given if REQUEST_ID_SAFE.match(given) else uuid.uuid4().hex
        context = AuditContext(source=_request_source(request), request=request, request_id=request_id)
        token = _current.set(context)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


def _token_label(token: Any, user: Any) -> str:
    """A token named without its secret: its prefix (when it keeps one) and whom it belongs to."""
    prefix = getattr(token, "prefix", "") or ""
    partner = getattr(token, "partner", None)
    name = f"token {prefix}…" if prefix else "token"
    if partner is not None:
        return f"{name} of partner {partner}"
    return f"{name} of {user.get_username()}" if user is not None else name


def _actor(context: AuditContext) -> tuple[Any, str]:
    request = context.request
    if request is None:
        return None, context.label or "system"
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None, "anonymous"
    token = getattr(request, "auth", None)
    if token is not None:
        return user, _token_label(token, user)[:REPR_MAX]
    return user, user.get_username()[:REPR_MAX]


# --- Which models and fields ----------------------------------------------------------------------------------

_audited: dict[type[models.Model], list[models.Field]] = {}


def audited_fields(model: type[models.Model]) -> list[models.Field]:
    """Every concrete field but the key, the timestamps, computed sort keys and the fields that move by themselves
    (IGNORED_FIELDS). Fields no form shows are kept: a token's revocation, a store's encrypted credentials."""
    ignored = IGNORED_FIELDS.get(model._meta.label_lower, set())
    chosen = []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key or model_field.name in ignored or model_field.name == "created_at":
            continue
        if getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            continue
        if isinstance(model_field, NaturalSortKeyField):
            continue
        chosen.append(model_field)
    return chosen


def _is_secret(model_field: models.Field) -> bool:
    return bool(SECRET_NAME.search(model_field.name))


class _AuditEncoder(DjangoJSONEncoder):
    """Django's encoder, and the text of whatever else a field holds (a time zone, a custom value)."""

    def default(self, value: Any) -> Any:
        try:
            return super().default(value)
        except TypeError:
            return str(value)


def _json_value(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=_AuditEncoder))


def _repr(instance: models.Model) -> str:
    try:
        text = str(instance)
    except Exception:  # a __str__ that needs a deleted relation must not stop the change
        text = f"{instance._meta.verbose_name} {instance.pk}"
    return text[:REPR_MAX]


def _values(instance: models.Model, fields: list[models.Field]) -> dict[str, Any]:
    return {model_field.attname: getattr(instance, model_field.attname) for model_field in fields}


def _differences(fields: list[models.Field], old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for model_field in fields:
        name = model_field.attname
        if name not in old or name not in new:
            continue
        before, after = old[name], new[name]
        # A value the model has not validated yet (text from a form) is compared as the field would store it.
        with contextlib.suppress(Exception):
            after = model_field.to_python(after)
        if before == after:
            continue
        changes[model_field.name] = SECRET if _is_secret(model_field) else [_json_value(before), _json_value(after)]
    return changes


def _snapshot(fields: list[models.Field], values: dict[str, Any], *, created: bool) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for model_field in fields:
        value = values[model_field.attname]
        if _is_secret(model_field):
            if value not in (None, ""):
                changes[model_field.name] = SECRET
            continue
        if value in (None, "", [], {}):
            continue
        changes[model_field.name] = [None, _json_value(value)] if created else [_json_value(value), None]
    return changes


# --- Writing entries ------------------------------------------------------------------------------------------


def _merge(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    merged = dict(first)
    for name, change in second.items():
        earlier = merged.get(name)
        if isinstance(change, list) and isinstance(earlier, list):
            merged[name] = [earlier[0], change[1]]
        elif isinstance(change, dict) and isinstance(earlier, dict):
            added = [item for item in earlier.get("added", []) if item not in change.get("removed", [])]
            removed = [item for item in earlier.get("removed", []) if item not in change.get("added", [])]
            added += [item for item in change.get("added", []) if item not in earlier.get("removed", [])]
            removed += [item for item in change.get("removed", []) if item not in earlier.get("added", [])]
            merged[name] = {"added": added, "removed": removed}
        else:
            merged[name] = change
    return merged


def _record(
    *, model: type[models.Model], object_id: Any, object_repr: str, action: str, changes: dict[str, Any]
) -> AuditEntry:
    context = audit_current()
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    key = (content_type.pk, str(object_id))
    earlier = context.entries.get(key) if context.merges else None
    if earlier is not None and action == AuditEntry.Action.UPDATE and earlier.action != AuditEntry.Action.DELETE:
        earlier.changes = _merge(earlier.changes, changes)
        earlier.object_repr = object_repr
        # Zero rows when the earlier entry's transaction was rolled back meanwhile: then this one stands alone.
        if AuditEntry.objects.filter(pk=earlier.pk).update(changes=earlier.changes, object_repr=object_repr):
            return earlier
    entry = _entry(context, content_type, object_id, object_repr, action, changes)
    entry.save()
    if context.merges:
        context.entries[key] = entry
    return entry


def _entry(
    context: AuditContext, content_type: ContentType, object_id: Any, object_repr: str, action: str, changes: dict
) -> AuditEntry:
    """An entry not saved yet, by the actor and from the source of ``context``."""
    actor, label = _actor(context)
    return AuditEntry(
        actor=actor,
        actor_label=label,
        action=action,
        content_type=content_type,
        object_id=str(object_id)[:64],
        object_repr=object_repr,
        changes=changes,
        source=context.source,
        request_id=context.request_id,
    )


def audit_record_bulk(*, model: type[models.Model], counts: dict[str, int], description: str) -> AuditEntry:
    """One entry for a bulk write that sends no signals (an import of many rows): what ran and its counts.

    Call it inside the bulk write's transaction. ``object_id`` is empty: the entry is about the model, not a row.
    """
    changes = {name: [None, count] for name, count in counts.items()}
    return _record(model=model, object_id="", object_repr=description[:REPR_MAX], action="update", changes=changes)


def audit_record_created(instances: Sequence[models.Model]) -> list[AuditEntry]:
    """A create entry for each row ``bulk_create`` wrote (it sends no ``post_save``), as a save would record it, all
    written in one query (rows of one audited model).

    Call it inside the write's transaction, after ``bulk_create`` has set the rows' primary keys."""
    if not instances:
        return []
    model = type(instances[0])
    fields = _audited.get(model)
    if fields is None:
        return []
    context = audit_current()
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    changes = [_snapshot(fields, _values(instance, fields), created=True) for instance in instances]
    entries = AuditEntry.objects.bulk_create(
        _entry(context, content_type, instance.pk, _repr(instance), AuditEntry.Action.CREATE, created)
        for instance, created in zip(instances, changes, strict=True)
    )
    if context.merges:  # a later save of one of them in the same request merges into its entry, as after a save
        for instance, entry in zip(instances, entries, strict=True):
            context.entries[(content_type.pk, str(instance.pk))] = entry
    return entries


def _pre_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    fields = _audited.get(sender)
    if fields is None or raw:
        return
    instance._audit_old = None
    if instance._state.adding or instance.pk is None:
        return
    if update_fields is not None:
        fields = [model_field for model_field in fields if model_field.name in update_fields]
        if not fields:
            return
    old = sender._base_manager.filter(pk=instance.pk).values(*(model_field.attname for model_field in fields)).first()
    instance._audit_old = (fields, old)


def _post_save(sender, instance, created, raw=False, **kwargs) -> None:
    fields = _audited.get(sender)
    if fields is None or raw:
        return
    if created:
        changes = _snapshot(fields, _values(instance, fields), created=True)
        action = AuditEntry.Action.CREATE
    else:
        saved = getattr(instance, "_audit_old", None)
        if saved is None:
            return
        fields, old = saved
        if old is None:
            return
        changes = _differences(fields, old, _values(instance, fields))
        if not changes:
            return
        action = AuditEntry.Action.UPDATE
    instance._audit_old = None
    _record(model=sender, object_id=instance.pk, object_repr=_repr(instance), action=action, changes=changes)


def _pre_delete(sender, instance, **kwargs) -> None:
    # The primary key is gone from the instance after the delete (Django sets it to None).
    if sender in _audited:
        instance._audit_deleted_pk = instance.pk


def _post_delete(sender, instance, **kwargs) -> None:
    fields = _audited.get(sender)
    if fields is None:
        return
    object_id = getattr(instance, "_audit_deleted_pk", None) or instance.pk
    changes = _snapshot(fields, _values(instance, fields), created=False)
    _record(model=sender, object_id=object_id, object_repr=_repr(instance), action="delete", changes=changes)


def _m2m_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    """A many-to-many field of an audited model changed: recorded on the model that declares the field."""
    if action not in {"pre_clear", "post_add", "post_remove", "post_clear"}:
        return
    owner, field_name = _m2m_fields[sender]
    if action == "pre_clear":
        # The rows a clear removes are only known before it.
        if reverse:
            instance._audit_cleared = list(owner._base_manager.filter(**{field_name: instance}))
        else:
            instance._audit_cleared = list(getattr(instance, field_name).select_related())
        return
    if action == "post_clear":
        related = getattr(instance, "_audit_cleared", [])
        kind = "removed"
    else:
        # select_related(): a permission's text names its content type, one query for all instead of one each.
        related = list(model._base_manager.filter(pk__in=pk_set or []).select_related())
        kind = "added" if action == "post_add" else "removed"
    if not related:
        return
    if not reverse:
        changes = {field_name: {"added": [], "removed": [], kind: sorted(_repr(item) for item in related)}}
        _record(model=owner, object_id=instance.pk, object_repr=_repr(instance), action="update", changes=changes)
        return
    # group.user_set.add(user): the change is to each user's groups.
    for item in related:
        changes = {field_name: {"added": [], "removed": [], kind: [_repr(instance)]}}
        _record(model=owner, object_id=item.pk, object_repr=_repr(item), action="update", changes=changes)


_m2m_fields: dict[type[models.Model], tuple[type[models.Model], str]] = {}


def audited_models() -> list[type[models.Model]]:
    return list(_audited)


def audit_connect() -> None:
    """Resolve settings.AUDITED_MODELS and connect the signals (CoreConfig.ready). An unknown label stops startup.

    Signals are connected per model: a delete signal with any receiver makes Django load every row a queryset delete
    removes, so connecting them for all models would slow down every bulk delete in the project."""
    audited: dict[type[models.Model], list[models.Field]] = {}
    m2m_fields: dict[type[models.Model], tuple[type[models.Model], str]] = {}
    for label in settings.AUDITED_MODELS:
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError) as error:
            raise ImproperlyConfigured(f"AUDITED_MODELS names {label!r}, which is not an installed model.") from error
        audited[model] = audited_fields(model)
        for model_field in model._meta.local_many_to_many:
            m2m_fields[model_field.remote_field.through] = (model, model_field.name)
    for model in _audited:
        for signal in (pre_save, post_save, pre_delete, post_delete):
            signal.disconnect(sender=model, dispatch_uid=f"core.audit.{model._meta.label}")
    for through in _m2m_fields:
        m2m_changed.disconnect(sender=through, dispatch_uid=f"core.audit.m2m.{through._meta.label}")
    _audited.clear()
    _audited.update(audited)
    _m2m_fields.clear()
    _m2m_fields.update(m2m_fields)
    for model in _audited:
        uid = f"core.audit.{model._meta.label}"
        pre_save.connect(_pre_save, sender=model, dispatch_uid=uid)
        post_save.connect(_post_save, sender=model, dispatch_uid=uid)
        pre_delete.connect(_pre_delete, sender=model, dispatch_uid=uid)
        post_delete.connect(_post_delete, sender=model, dispatch_uid=uid)
    for through in _m2m_fields:
        m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid=f"core.audit.m2m.{through._meta.label}")
    _celery_connect()


def _celery_connect() -> None:
    from celery.signals import task_postrun, task_prerun

    tokens: dict[str, contextvars.Token] = {}

    def started(task_id=None, task=None, **kwargs) -> None:
        context = AuditContext(
            source=AuditEntry.Source.TASK, label=f"system/task {task.name}", request_id=task_id or ""
        )
        tokens[task_id] = _current.set(context)

    def finished(task_id=None, **kwargs) -> None:
        token = tokens.pop(task_id, None)
        if token is not None:
            _current.reset(token)

    task_prerun.connect(started, weak=False, dispatch_uid="core.audit.task_prerun")
    task_postrun.connect(finished, weak=False, dispatch_uid="core.audit.task_postrun")
