"""Status machines of documents: the declaration, its event model, the one transition service, and numbering.

A document with a status (transfer, count, and next orders, shipments, waves, purchase orders, returns)
declares one ``StatusMachine``: its model and status field, the allowed-transition map, and a ``StatusEvent``
subclass holding its history. Every change of that status goes through ``status_transition``, which locks the
document row, checks the map and writes the event row in the caller's transaction; ``status_start`` records
the creation event, and ``status_check`` lets a service refuse before it does its own work.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Conflict, words_join
from core.jsontext import json_text

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

# One size for every document's status column in the events, long enough for names like "awaiting_pickup".
STATUS_MAX_LENGTH = 32
NOTE_MAX_LENGTH = 255
ELLIPSIS = "…"


class StatusEvent(models.Model):
    """One step of a document's status: from (empty when it was created), to, why, who and when.

    A subclass adds only the foreign key to its document, with ``related_name="events"``. ``user`` is whoever
    acted, a person or an integration acting through its own user account; deleting the user keeps the event.
    """

    from_status = models.CharField(gettext_lazy("from status"), max_length=STATUS_MAX_LENGTH, blank=True, default="")
    to_status = models.CharField(gettext_lazy("to status"), max_length=STATUS_MAX_LENGTH)
    note = models.CharField(gettext_lazy("note"), max_length=NOTE_MAX_LENGTH, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=gettext_lazy("user"),
    )
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"


DocumentT = TypeVar("DocumentT", bound=models.Model)


@dataclass(frozen=True)
class StatusMachine(Generic[DocumentT]):
    """The status pipeline of one document model, checked once when it is declared.

    ``transitions`` maps every status to the statuses it may become: ``""`` (before the document exists) to
    the initial statuses, and every choice, a closed one to an empty set, so no status is forgotten. A status
    may map to itself when a repeated step is audited like a change (a further part received). ``label`` names
    the document in messages ("Transfer TR-000001 is cancelled; ..."): a lazy translation, rendered when a message
    is written, in the language of its reader; ``lock_related`` are foreign keys fetched with the locked row (the
    rows they point to are not locked).
    """

    model: type[DocumentT]
    status_choices: type[models.TextChoices]
    transitions: Mapping[str, Iterable[str]]
    event_model: type[StatusEvent]
    event_document_field: str
    label: str | Promise
    status_field: str = "status"
    number_field: str = "number"
    lock_related: tuple[str, ...] = ()
    # Saved with every transition besides the status and the given changes (the model's auto_now column).
    touched_fields: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "transitions",
            MappingProxyType({status: frozenset(targets) for status, targets in self.transitions.items()}),
        )
        problems = self._problems()
        if problems:
            raise ImproperlyConfigured(f"Status machine of {self.label}: " + "; ".join(problems) + ".")
        has_updated_at = any(model_field.name == "updated_at" for model_field in self.model._meta.concrete_fields)
        object.__setattr__(self, "touched_fields", ("updated_at",) if has_updated_at else ())

    def _problems(self) -> list[str]:
        problems: list[str] = []
        choices = set(self.status_choices.values)
        model_name = self.model.__name__
        try:
            status_field = self.model._meta.get_field(self.status_field)
        except FieldDoesNotExist:
            problems.append(f"{model_name} has no field {self.status_field!r}")
        else:
            field_choices = {value for value, _ in status_field.choices or ()}
            if field_choices != choices:
                problems.append(f"{model_name}.{self.status_field} does not use {self.status_choices.__name__}")
        try:
            self.model._meta.get_field(self.number_field)
        except FieldDoesNotExist:
            problems.append(f"{model_name} has no field {self.number_field!r}")
        for name in self.lock_related:
            try:
                related = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                related = None
            if related is None or not related.many_to_one:
                problems.append(f"lock_related {name!r} is not a foreign key of {model_name}")

        if not self.transitions.get(""):
            problems.append('the map has no initial status ("" → ...)')
        unknown_keys = set(self.transitions) - choices - {""}
        if unknown_keys:
            problems.append(f"the map has statuses that are not choices: {', '.join(sorted(unknown_keys))}")
        unknown_targets = set().union(*self.transitions.values()) - choices
        if unknown_targets:
            problems.append(f"the map leads to statuses that are not choices: {', '.join(sorted(unknown_targets))}")
        missing = choices - set(self.transitions)
        if missing:
            problems.append(f"the map leaves out {', '.join(sorted(missing))} (map a closed status to no targets)")

        if not (isinstance(self.event_model, type) and issubclass(self.event_model, StatusEvent)):
            problems.append(f"{self.event_model!r} is not a StatusEvent")
            return problems
        event_name = self.event_model.__name__
        try:
            document_field = self.event_model._meta.get_field(self.event_document_field)
        except FieldDoesNotExist:
            problems.append(f"{event_name} has no field {self.event_document_field!r}")
        else:
            if not document_field.many_to_one or document_field.related_model is not self.model:
                problems.append(f"{event_name}.{self.event_document_field} is not a foreign key to {model_name}")
        longest = max(choices, key=len, default="")
        if len(longest) > self.event_model._meta.get_field("to_status").max_length:
            problems.append(f"status {longest!r} is longer than {event_name}.to_status")
        return problems

    def status_label(self, status: str) -> str:
        """How messages name a status: its choice label in lower case, "new" before the document exists (in the
        active language)."""
        if not status:
            # Translators: the status of a document before it exists, in "it cannot become ..." messages.
            return _("new")
        try:
            return str(self.status_choices(status).label).lower()
        except ValueError:
            return status

    def allowed(self, status: str) -> frozenset[str]:
        """The statuses a document in ``status`` may become."""
        return self.transitions.get(status, frozenset())


def note_cut(note: str, max_length: int = NOTE_MAX_LENGTH) -> str:
    """``note`` fitted into ``max_length`` characters, marked with "…" when cut.

    The cut never separates what a reader sees as one character: an accent from its letter, the halves of a
    flag, the parts of an emoji joined by a zero-width joiner, a variation selector or a skin tone.
    """
    if len(note) <= max_length:
        return note
    end = max_length - len(ELLIPSIS)
    while end > 0 and _cut_splits_character(note, end):
        end -= 1
    return note[:end].rstrip() + ELLIPSIS


_ZERO_WIDTH_JOINER = "\u200d"


def _regional_indicator(character: str) -> bool:
    return "\U0001f1e6" <= character <= "\U0001f1ff"


def _cut_splits_character(text: str, end: int) -> bool:
    """Whether cutting ``text`` before index ``end`` separates parts of one visible character."""
    before, after = text[end - 1], text[end]
    if _ZERO_WIDTH_JOINER in (before, after) or unicodedata.category(after).startswith("M"):
        return True  # combining marks and variation selectors are category M
    if "\U0001f3fb" <= after <= "\U0001f3ff":  # skin tone modifiers
        return True
    if _regional_indicator(before) and _regional_indicator(after):
        # Flags are pairs of indicators: an odd run of them before the cut means the cut splits one.
        run = 0
        while run < end and _regional_indicator(text[end - 1 - run]):
            run += 1
        return run % 2 == 1
    return False


def _refuse_unless_allowed(machine: StatusMachine, *, number: str, status: str, to_status: str) -> None:
    allowed = machine.allowed(status)
    if to_status in allowed:
        return
    choices = words_join(machine.status_label(choice) for choice in sorted(allowed)) or _("nothing, it is closed")
    raise Conflict(
        _(
            "%(document)s %(number)s is %(status)s; it cannot become %(to_status)s "
            "(from here it can become: %(choices)s)."
        )
        % {
            "document": machine.label,
            "number": number,
            "status": machine.status_label(status),
            "to_status": machine.status_label(to_status),
            "choices": choices,
        },
        code="invalid_transition",
        number=number,
        status=status,
        requested_status=to_status,
    )


def status_check(*, machine: StatusMachine[DocumentT], document: DocumentT, to_status: str) -> None:
    """Raise Conflict (``invalid_transition``) unless ``document`` may go from its status to ``to_status``.

    For services that must refuse before doing their own work (moving stock, say) and call
    ``status_transition`` after it; pass the document ``status_lock`` returned, so its status is current.
    """
    _refuse_unless_allowed(
        machine,
        number=getattr(document, machine.number_field),
        status=getattr(document, machine.status_field),
        to_status=to_status,
    )


def status_lock(*, machine: StatusMachine[DocumentT], document: DocumentT) -> DocumentT:
    """Lock the document's row and read it afresh: changes of one document's status take turns.

    NO KEY UPDATE, so rows pointing at the document (its lines, its events) can still be inserted meanwhile;
    only the document's own row is locked, not the rows ``lock_related`` fetches with it.
    """
    return (
        machine.model._default_manager.select_for_update(no_key=True, of=("self",))
        .select_related(*machine.lock_related)
        .get(pk=document.pk)
    )


def _event_write(
    machine: StatusMachine,
    *,
    document: models.Model,
    from_status: str,
    to_status: str,
    user,
    note: str,
    event_fields: Mapping[str, Any] | None = None,
) -> StatusEvent:
    return machine.event_model.objects.create(
        **{machine.event_document_field: document},
        from_status=from_status,
        to_status=to_status,
        note=note_cut(note),
        user=user,
        **(event_fields or {}),
    )


@transaction.atomic
def status_transition(
    *,
    machine: StatusMachine[DocumentT],
    document: DocumentT,
    to_status: str,
    user: AbstractBaseUser | None = None,
    note: str = "",
    changes: Mapping[str, Any] | None = None,
    event_fields: Mapping[str, Any] | None = None,
) -> DocumentT:
    """The one way a document's status changes: lock, check the map, save, write the event; returns the document.

    ``changes`` are other fields saved with the status (shipped_at, approved_by, ...); ``event_fields`` are the
    event model's own fields besides the common ones (an order event's ``details``). The refusal is a
    Conflict with code ``invalid_transition`` that names the document and where it can go instead. Runs in
    the caller's transaction, so if the caller fails later neither the status nor the event is kept.
    """
    changes = dict(changes or {})
    if machine.status_field in changes:
        raise ValueError(f"Give the new status as to_status, not in changes ({machine.status_field!r}).")
    locked = status_lock(machine=machine, document=document)
    status_check(machine=machine, document=locked, to_status=to_status)
    from_status = getattr(locked, machine.status_field)
    setattr(locked, machine.status_field, to_status)
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.save(update_fields=[machine.status_field, *changes, *machine.touched_fields])
    _event_write(
        machine,
        document=locked,
        from_status=from_status,
        to_status=to_status,
        user=user,
        note=note,
        event_fields=event_fields,
    )
    return locked


@transaction.atomic
def status_start(
    *,
    machine: StatusMachine[DocumentT],
    document: DocumentT,
    user: AbstractBaseUser | None = None,
    note: str = "",
) -> StatusEvent:
    """Record the creation of ``document`` ("" → its status), in the transaction that created it.

    Refused (``invalid_transition``) if its status is not one the map lets a document start in.
    """
    to_status = getattr(document, machine.status_field)
    _refuse_unless_allowed(machine, number=getattr(document, machine.number_field), status="", to_status=to_status)
    return _event_write(machine, document=document, from_status="", to_status=to_status, user=user, note=note)


@dataclass
class StatusMove:
    """One document of ``status_transitions_apply``: where it goes, why, and what else changes with it."""

    document: models.Model
    to_status: str
    note: str = ""
    changes: Mapping[str, Any] = field(default_factory=dict)
    event_fields: Mapping[str, Any] = field(default_factory=dict)


def status_transitions_apply(
    *, machine: StatusMachine[DocumentT], moves: Sequence[StatusMove], user: AbstractBaseUser | None = None
) -> None:
    """``status_transition`` for many documents at once, for batch work (an allocation run): the same map, the
    same events, in two statements. The caller must hold the documents' row locks (``select_for_update``) and
    pass them as read under those locks; the whole batch is refused if one move is not allowed."""
    if not moves:
        return
    for move in moves:
        if machine.status_field in move.changes:
            raise ValueError(f"Give the new status as to_status, not in changes ({machine.status_field!r}).")
        status_check(machine=machine, document=move.document, to_status=move.to_status)
    events = []
    fields: set[str] = {machine.status_field, *machine.touched_fields}
    now = timezone.now()
    for move in moves:
        document = move.document
        from_status = getattr(document, machine.status_field)
        setattr(document, machine.status_field, move.to_status)
        for name, value in move.changes.items():
            setattr(document, name, value)
            fields.add(name)
        if "updated_at" in machine.touched_fields:
            document.updated_at = now
        events.append(
            machine.event_model(
                **{machine.event_document_field: document},
                from_status=from_status,
                to_status=move.to_status,
                note=note_cut(move.note),
                user=user,
                **move.event_fields,
            )
        )
    rows_update(machine.model, [move.document for move in moves], sorted(fields))
    machine.event_model.objects.bulk_create(events)


def rows_update(model: type[models.Model], documents: Sequence[models.Model], names: Sequence[str]) -> None:
    """Save ``names`` of many rows in one ``UPDATE ... FROM unnest(...)``: what ``bulk_update`` does, without
    building a CASE per row and field (seconds for a few thousand rows of an allocation run). A JSON field's
    values travel as one JSON array, taken by position: as items of a text array each would be escaped again."""
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    params: list[Any] = [[document.pk for document in documents]]
    casts = [f"%s::{model._meta.pk.db_type(connection)}[]"]
    columns, sets, json_params = ["id"], [], []
    for position, model_field in enumerate(fields, start=1):
        values = [getattr(document, model_field.attname) for document in documents]
        if isinstance(model_field, models.JSONField):
            json_params.append(json_text(values))
            sets.append(f"{quote(model_field.column)} = (%s::jsonb) -> (row.n::int - 1)")
        else:
            params.append([model_field.get_db_prep_save(value, connection) for value in values])
            casts.append(f"%s::{model_field.db_type(connection)}[]")
            columns.append(f"c{position}")
            sets.append(f"{quote(model_field.column)} = row.c{position}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(model._meta.db_table)} AS target SET {', '.join(sets)} "  # noqa: S608 - names from the model
            f"FROM unnest({', '.join(casts)}) WITH ORDINALITY AS row({', '.join(columns)}, n) "
            f"WHERE target.{quote(model._meta.pk.column)} = row.id",
            json_params + params,
        )


def next_id(model: type[models.Model]) -> int:
    """Take the next primary key up front so a document number built from it goes into the same INSERT."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [model._meta.db_table])
        return cursor.fetchone()[0]


def next_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` primary keys of ``model`` taken from its sequence in one query (numbers for a batch of rows)."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]
