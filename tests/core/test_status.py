"""Status machines: the declaration's checks, the refusal, the event row, the lock and the caller's transaction."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import Conflict
from core.status import (
    NOTE_MAX_LENGTH,
    StatusMachine,
    note_cut,
    status_check,
    status_lock,
    status_start,
    status_transition,
)
from inventory.count_services import COUNT_STATUS, stock_count_open
from inventory.models import (
    StockCount,
    StockCountEvent,
    Transfer,
    TransferEvent,
    TransferLine,
)
from inventory.stock_services import stock_receive
from inventory.transfer_services import TRANSFER_STATUS, transfer_create, transfer_receive, transfer_ship
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

Status = Transfer.Status

TRANSFER_MAP = {
    "": {Status.DRAFT},
    Status.DRAFT: {Status.SHIPPED, Status.CANCELLED},
    Status.SHIPPED: {Status.PARTIALLY_RECEIVED, Status.RECEIVED},
    Status.PARTIALLY_RECEIVED: {Status.PARTIALLY_RECEIVED, Status.RECEIVED},
    Status.RECEIVED: set(),
    Status.CANCELLED: set(),
}


def declare(**overrides) -> StatusMachine:
    """A transfer machine like TRANSFER_STATUS, with some parts of the declaration replaced."""
    declaration = {
        "model": Transfer,
        "status_choices": Status,
        "transitions": TRANSFER_MAP,
        "event_model": TransferEvent,
        "event_document_field": "transfer",
        "label": "Transfer",
    }
    return StatusMachine(**{**declaration, **overrides})


def events(document) -> list[tuple[str, str, str]]:
    return list(document.events.order_by("id").values_list("from_status", "to_status", "note"))


# --- The declaration ----------------------------------------------------------------------------------------


def test_a_declaration_is_frozen_and_its_map_cannot_change():
    machine = declare(lock_related=("source",))
    assert machine.transitions[Status.DRAFT] == frozenset({Status.SHIPPED, Status.CANCELLED})
    assert machine.allowed(Status.RECEIVED) == frozenset()
    assert machine.touched_fields == ("updated_at",)
    with pytest.raises(TypeError):
        machine.transitions[Status.RECEIVED] = frozenset({Status.DRAFT})
    assert TRANSFER_STATUS.label == "Transfer"
    assert COUNT_STATUS.allowed("") == frozenset({StockCount.Status.OPEN})


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"transitions": {**TRANSFER_MAP, "lost": set()}}, "the map has statuses that are not choices: lost"),
        (
            {"transitions": {**TRANSFER_MAP, Status.RECEIVED: {"archived"}}},
            "the map leads to statuses that are not choices: archived",
        ),
        (
            {"transitions": {key: value for key, value in TRANSFER_MAP.items() if key != Status.CANCELLED}},
            "the map leaves out cancelled (map a closed status to no targets)",
        ),
        (
            {"transitions": {key: value for key, value in TRANSFER_MAP.items() if key}},
            'the map has no initial status ("" → ...)',
        ),
        ({"status_choices": StockCount.Status}, "Transfer.status does not use Status"),
        ({"status_field": "state"}, "Transfer has no field 'state'"),
        ({"number_field": "reference"}, "Transfer has no field 'reference'"),
        ({"event_model": TransferLine}, "is not a StatusEvent"),
        ({"event_document_field": "document"}, "TransferEvent has no field 'document'"),
        (
            {"event_model": StockCountEvent, "event_document_field": "count"},
            "StockCountEvent.count is not a foreign key to Transfer",
        ),
        ({"lock_related": ("lines",)}, "lock_related 'lines' is not a foreign key of Transfer"),
    ],
)
def test_a_wrong_declaration_is_refused_when_it_is_built(overrides, problem):
    with pytest.raises(ImproperlyConfigured) as caught:
        declare(**overrides)
    assert str(caught.value).startswith("Status machine of Transfer: ")
    assert problem in str(caught.value)


def test_every_problem_of_a_declaration_is_named_at_once():
    with pytest.raises(ImproperlyConfigured) as caught:
        declare(transitions={Status.DRAFT: {"gone"}}, number_field="reference")
    assert str(caught.value) == (
        "Status machine of Transfer: Transfer has no field 'reference'; "
        'the map has no initial status ("" → ...); '
        "the map leads to statuses that are not choices: gone; "
        "the map leaves out cancelled, partially_received, received, shipped (map a closed status to no targets)."
    )


# --- Transitions on real documents ----------------------------------------------------------------------------


@pytest.fixture
def site():
    shenzhen = WarehouseFactory(code="SZ")
    return {
        "source": shenzhen,
        "destination": WarehouseFactory(code="LA", country="US"),
        "pick": BinFactory(warehouse=shenzhen, code="A-01-01-01"),
        "case": ProductFactory(sku="CASE-1"),
    }


@pytest.fixture
def draft(site) -> Transfer:
    stock_receive(product=site["case"], bin=site["pick"], quantity=10)
    return transfer_create(source=site["source"], destination=site["destination"], lines=[(site["case"], 6, None)])


@pytest.mark.django_db
def test_a_refused_move_names_the_document_its_status_and_where_it_can_go(draft):
    with pytest.raises(Conflict) as caught:
        status_transition(machine=TRANSFER_STATUS, document=draft, to_status=Status.RECEIVED)
    assert caught.value.code == "invalid_transition"
    assert caught.value.status_code == 409
    assert caught.value.message == (
        f"Transfer {draft.number} is draft; it cannot become received "
        "(from here it can become: cancelled, shipped (in transit))."
    )
    assert caught.value.context == {"number": draft.number, "status": "draft", "requested_status": "received"}
    # The same refusal from the check alone, which services run before their own work.
    with pytest.raises(Conflict) as checked:
        status_check(machine=TRANSFER_STATUS, document=draft, to_status=Status.RECEIVED)
    assert checked.value.as_dict() == caught.value.as_dict()
    status_check(machine=TRANSFER_STATUS, document=draft, to_status=Status.SHIPPED)  # allowed: no error

    cancelled = status_transition(machine=TRANSFER_STATUS, document=draft, to_status=Status.CANCELLED)
    with pytest.raises(Conflict) as closed:
        status_transition(machine=TRANSFER_STATUS, document=draft, to_status="archived")
    assert closed.value.message == (
        f"Transfer {cancelled.number} is cancelled; it cannot become archived (from here it can become: nothing, "
        "it is closed)."
    )
    assert events(draft) == [("", "draft", ""), ("draft", "cancelled", "")]


@pytest.mark.django_db
def test_the_event_says_who_when_from_to_and_why_and_the_changes_are_saved(site, make_user):
    counter, manager = make_user(), make_user()
    count = stock_count_open(warehouse=site["source"], bins=[site["pick"]], user=counter)
    opened = count.updated_at
    count.note = "edited in memory only"  # the service reads the row afresh under its lock
    approved_at = timezone.now()
    before = timezone.now()

    approved = status_transition(
        machine=COUNT_STATUS,
        document=count,
        to_status=StockCount.Status.APPROVED,
        user=manager,
        note="Checked twice",
        changes={"approved_by": manager, "approved_at": approved_at},
    )
    after = timezone.now()
    assert approved is not count
    assert (approved.status, approved.approved_by, approved.approved_at) == ("approved", manager, approved_at)
    stored = StockCount.objects.get(pk=count.pk)
    assert (stored.status, stored.approved_by, stored.approved_at, stored.note) == (
        "approved",
        manager,
        approved_at,
        "",
    )
    assert stored.updated_at > opened
    opening, approval = StockCountEvent.objects.filter(count=count).order_by("id")
    assert (opening.from_status, opening.to_status, opening.note, opening.user) == (
        "",
        "open",
        "bins A-01-01-01",
        counter,
    )
    assert (approval.from_status, approval.to_status, approval.note, approval.user) == (
        "open",
        "approved",
        "Checked twice",
        manager,
    )
    assert before <= approval.created_at <= after
    assert str(approval) == "open → approved"
    assert list(count.events.all()) == [opening, approval]  # related_name "events", ordered by id


@pytest.mark.django_db
def test_the_status_cannot_be_smuggled_in_with_the_changes(draft):
    with pytest.raises(ValueError, match="to_status"):
        status_transition(
            machine=TRANSFER_STATUS, document=draft, to_status=Status.CANCELLED, changes={"status": "received"}
        )
    draft.refresh_from_db()
    assert draft.status == "draft"


@pytest.mark.django_db
def test_a_caller_failing_later_in_its_transaction_keeps_neither_status_nor_event(draft):
    with pytest.raises(RuntimeError, match="later step"), transaction.atomic():
        cancelled = status_transition(machine=TRANSFER_STATUS, document=draft, to_status=Status.CANCELLED)
        assert cancelled.status == "cancelled"
        assert events(draft)[-1] == ("draft", "cancelled", "")
        raise RuntimeError("the caller's later step failed")
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert events(draft) == [("", "draft", "")]


@pytest.mark.django_db
def test_a_same_status_step_is_audited_like_a_change(site, draft):
    receiving = BinFactory(warehouse=site["destination"], code="R-01-01-01")
    transfer_ship(transfer=draft)
    transfer_receive(transfer=draft, lines=[(site["case"], 2)], bin=receiving)
    transfer_receive(transfer=draft, lines=[(site["case"], 1)], bin=receiving)
    again = status_transition(
        machine=TRANSFER_STATUS, document=draft, to_status=Status.PARTIALLY_RECEIVED, note="Pallet 3 is late"
    )
    assert again.status == "partially_received"
    assert events(draft) == [
        ("", "draft", ""),
        ("draft", "shipped", ""),
        ("shipped", "partially_received", "Received 2 × CASE-1 into bin R-01-01-01"),
        ("partially_received", "partially_received", "Received 1 × CASE-1 into bin R-01-01-01"),
        ("partially_received", "partially_received", "Pallet 3 is late"),
    ]
    # Only where the map says so: a draft cannot step to draft.
    other = transfer_create(source=site["source"], destination=site["destination"], lines=[(site["case"], 1, None)])
    with pytest.raises(Conflict, match=r"is draft; it cannot become draft"):
        status_transition(machine=TRANSFER_STATUS, document=other, to_status=Status.DRAFT)


@pytest.mark.django_db
def test_the_creation_event_starts_from_nothing_and_only_in_an_initial_status(site, make_user):
    user = make_user()
    transfer = Transfer.objects.create(number="TR-TEST-1", source=site["source"], destination=site["destination"])
    event = status_start(machine=TRANSFER_STATUS, document=transfer, user=user, note="Imported")
    assert (event.transfer, event.from_status, event.to_status, event.note, event.user) == (
        transfer,
        "",
        "draft",
        "Imported",
        user,
    )
    shipped = Transfer(number="TR-TEST-2", source=site["source"], destination=site["destination"], status="shipped")
    with pytest.raises(Conflict) as caught:
        status_start(machine=TRANSFER_STATUS, document=shipped)
    assert caught.value.message == (
        "Transfer TR-TEST-2 is new; it cannot become shipped (in transit) (from here it can become: draft)."
    )
    assert TransferEvent.objects.filter(to_status="shipped").count() == 0


@pytest.mark.django_db
def test_the_lock_takes_only_the_document_row(draft):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = status_lock(machine=TRANSFER_STATUS, document=draft)
    (query,) = queries.captured_queries
    # The warehouses are fetched with it but not locked: transfers of one warehouse do not queue on it.
    assert re.search(r'FOR NO KEY UPDATE OF "inventory_transfer"$', query["sql"]), query["sql"]
    assert '"inventory_warehouse"' in query["sql"]
    assert (locked.source.code, locked.destination.code) == ("SZ", "LA")


@pytest.mark.django_db
def test_a_long_note_is_cut_to_fit_the_column(draft):
    cancelled = status_transition(machine=TRANSFER_STATUS, document=draft, to_status=Status.CANCELLED, note="x" * 400)
    (note,) = cancelled.events.filter(to_status="cancelled").values_list("note", flat=True)
    assert note == "x" * (NOTE_MAX_LENGTH - 1) + "…"


# --- Cutting notes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "cut"),
    [
        ("short", "short"),
        ("0123456789", "0123456789"),
        ("01234567890", "012345678…"),
        ("01234567 abcd", "01234567…"),  # no space left before the ellipsis
        ("01234567e\u0301xyz", "01234567…"),  # e + combining acute is one letter: both go
        ("01234567\U0001f1e8\U0001f1f3x", "01234567…"),  # the flag 🇨🇳 is two indicators: both go
        ("0123456\U0001f1e8\U0001f1f3xx", "0123456\U0001f1e8\U0001f1f3…"),  # a whole flag before the cut stays
        ("0123456\U0001f1e8\U0001f1f3\U0001f1fa\U0001f1f8", "0123456\U0001f1e8\U0001f1f3…"),  # 🇨🇳 stays, 🇺🇸 goes
        ("0123456\U0001f469\u200d\U0001f4bbx", "0123456…"),  # 👩‍💻 is three code points joined by ZWJ
        ("01234567\u2764\ufe0fx", "01234567…"),  # ❤️: heart + variation selector
        ("01234567\U0001f44d\U0001f3fdx", "01234567…"),  # 👍🏽: thumb + skin tone
        ("手机壳手机壳手机壳手机壳", "手机壳手机壳手机壳…"),
    ],
)
def test_note_cut_never_splits_what_a_reader_sees_as_one_character(note, cut):
    assert note_cut(note, max_length=10) == cut
    assert len(note_cut(note, max_length=10)) <= 10
