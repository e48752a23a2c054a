"""Purchase orders: drafts and their lines, submit, cancel, and drafts made from suggestions (a race included)."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from core.errors import Conflict, ValidationFailed
from core.status import status_transition
from inventory.models import Transfer, Warehouse
from purchasing.models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine, Suggestion, Supplier
from purchasing.orders import (
    PO_STATUS,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_add,
    purchase_order_line_remove,
    purchase_order_line_update,
    purchase_order_lines_set,
    purchase_order_submit,
    purchase_order_update,
    purchase_orders_from_suggestions,
)
from tests.inventory.factories import BundleFactory, ProductFactory, WarehouseFactory
from tests.purchasing.factories import SupplierFactory, SupplierProductFactory

WAIT_TIMEOUT = 30


@dataclass
class World:
    shenzhen: Warehouse
    ontario: Warehouse
    acme: Supplier
    bolt: Supplier


def world_make() -> World:
    return World(
        shenzhen=WarehouseFactory(code="SZ", name="Shenzhen Longhua", kind=Warehouse.Kind.OWN, country="CN"),
        ontario=WarehouseFactory(code="ONT", name="Ontario CA", kind=Warehouse.Kind.OVERSEAS, country="US"),
        acme=SupplierFactory(name="Acme Plastics", currency="CNY", default_lead_time_days=7),
        bolt=SupplierFactory(name="Bolt Cables", currency="CNY", default_lead_time_days=12),
    )


@pytest.fixture
def world(db) -> World:
    return world_make()


def suggestion_make(product, warehouse, quantity, **fields) -> Suggestion:
    """A suggestion as the engine leaves it, its figures set by hand (these tests are about ordering it)."""
    return Suggestion.objects.create(
        product=product, warehouse=warehouse, quantity=quantity, computed_at=timezone.now(), **fields
    )


def lines_of(order: PurchaseOrder) -> list[tuple[str, int, Decimal, str]]:
    return [
        (line.product.sku, line.quantity, line.unit_cost, line.supplier_sku)
        for line in order.lines.select_related("product").order_by("product__sku_sort")
    ]


def steps_of(order: PurchaseOrder) -> list[tuple[str, str]]:
    return list(
        PurchaseOrderEvent.objects.filter(purchase_order=order).order_by("id").values_list("from_status", "to_status")
    )


def fields_and_codes(error: ValidationFailed) -> list[tuple[str | None, str]]:
    return [(detail.field, detail.code) for detail in error.errors]


# --- Create and the lines of a draft ----------------------------------------------------------------------------


def test_a_draft_takes_cost_and_supplier_sku_from_the_supplier_product_and_adds_up_repeats(world, make_user):
    buyer = make_user("Purchaser")
    case = ProductFactory(sku="CASE-1")
    cable = ProductFactory(sku="CABLE-2")
    SupplierProductFactory(supplier=world.acme, product=case, supplier_sku="AC-77", unit_cost=Decimal("12.5"))
    order = purchase_order_create(
        supplier=world.acme,
        warehouse=world.shenzhen,
        lines=[(case, 10, None), (cable, 5, Decimal("3.2")), (case, 6, None)],
        note="Before Golden Week",
        user=buyer,
    )
    assert re.fullmatch(r"PO-\d{6}", order.number) and order.number == f"PO-{order.pk:06d}"
    assert (order.status, order.currency, order.created_by, order.note) == ("draft", "CNY", buyer, "Before Golden Week")
    assert lines_of(order) == [
        ("CABLE-2", 5, Decimal("3.2000"), ""),
        ("CASE-1", 16, Decimal("12.5000"), "AC-77"),
    ]
    assert steps_of(order) == [("", "draft")]
    assert PurchaseOrderEvent.objects.get(purchase_order=order).user == buyer


def test_every_bad_line_is_named_by_its_field_and_nothing_is_saved(world):
    case = ProductFactory(sku="CASE-1")
    loose = ProductFactory(sku="LOOSE-3")
    kit = BundleFactory(sku="KIT-1")
    SupplierProductFactory(supplier=world.acme, product=case, unit_cost=Decimal("12.5"))
    SupplierProductFactory(supplier=world.acme, product=kit, unit_cost=Decimal("30"))
    with pytest.raises(ValidationFailed) as refused:
        purchase_order_create(
            supplier=world.acme,
            warehouse=world.shenzhen,
            lines=[
                (case, 0, None),
                (kit, 1, None),
                (loose, 2, None),
                (case, 3, Decimal("-1")),
                (case, 2, Decimal("1.23456")),
                (case, 10_000_001, None),
            ],
        )
    assert fields_and_codes(refused.value) == [
        ("lines[0].quantity", "min_value"),
        ("lines[1].product", "bundle"),
        ("lines[2].unit_cost", "required"),
        ("lines[3].unit_cost", "min_value"),
        ("lines[4].unit_cost", "max_decimal_places"),
        ("lines[5].quantity", "max_value"),
    ]
    messages = [detail.message for detail in refused.value.errors]
    assert messages[2] == "Acme Plastics has no supplier product for LOOSE-3; give the unit cost."
    assert messages[1] == "KIT-1 is a bundle; order its components."
    assert refused.value.message.startswith("The purchase order was not created: lines[0].quantity: CASE-1: must be")
    assert refused.value.message.endswith("(and 5 more)")
    assert PurchaseOrder.objects.count() == 0 and PurchaseOrderLine.objects.count() == 0


def test_a_product_given_twice_at_two_costs_is_refused_and_repeats_stay_within_a_line(world):
    case = ProductFactory(sku="CASE-1")
    SupplierProductFactory(supplier=world.acme, product=case, unit_cost=Decimal("12.5"))
    with pytest.raises(ValidationFailed) as refused:
        purchase_order_create(
            supplier=world.acme,
            warehouse=world.shenzhen,
            lines=[(case, 4, Decimal("11")), (case, 4, Decimal("11.5")), (case, 9_999_999, None)],
        )
    assert fields_and_codes(refused.value) == [
        ("lines[1].unit_cost", "conflicting_cost"),
        ("lines[2].quantity", "max_value"),
    ]
    assert refused.value.errors[0].message == "CASE-1 is on line 1 at 11.0000; one product has one unit cost."
    # A cost given once wins over the supplier product's for the whole line.
    order = purchase_order_create(
        supplier=world.acme, warehouse=world.shenzhen, lines=[(case, 4, None), (case, 1, Decimal("11"))]
    )
    assert lines_of(order)[0][:3] == ("CASE-1", 5, Decimal("11.0000"))


def test_an_order_in_another_currency_needs_its_costs_and_a_closed_door_is_named(world):
    case = ProductFactory(sku="CASE-1")
    SupplierProductFactory(supplier=world.acme, product=case, unit_cost=Decimal("12.5"))
    with pytest.raises(ValidationFailed) as refused:
        purchase_order_create(supplier=world.acme, warehouse=world.shenzhen, currency="usd", lines=[(case, 4, None)])
    assert fields_and_codes(refused.value) == [("lines[0].unit_cost", "currency")]
    assert refused.value.errors[0].message == (
        "CASE-1 costs 12.5000 CNY at Acme Plastics, but the order is in USD; give the unit cost in USD."
    )
    order = purchase_order_create(
        supplier=world.acme, warehouse=world.shenzhen, currency=" usd", lines=[(case, 4, Decimal("1.75"))]
    )
    assert (order.currency, lines_of(order)[0][2]) == ("USD", Decimal("1.7500"))

    Supplier.objects.filter(pk=world.acme.pk).update(is_active=False)
    Warehouse.objects.filter(pk=world.ontario.pk).update(is_active=False)
    world.acme.refresh_from_db()
    world.ontario.refresh_from_db()
    with pytest.raises(ValidationFailed) as refused:
        purchase_order_create(supplier=world.acme, warehouse=world.ontario, currency="XYZ")
    assert fields_and_codes(refused.value) == [
        ("supplier", "inactive"),
        ("warehouse", "inactive"),
        ("currency", "currency"),
    ]


def test_setting_lines_keeps_the_row_of_a_product_still_ordered(world):
    case, cable, strap = (ProductFactory(sku=sku) for sku in ("CASE-1", "CABLE-2", "STRAP-3"))
    for product in (case, cable, strap):
        SupplierProductFactory(supplier=world.acme, product=product, unit_cost=Decimal("2"))
    order = purchase_order_create(
        supplier=world.acme, warehouse=world.shenzhen, lines=[(case, 10, None), (cable, 5, None)]
    )
    case_line = order.lines.get(product=case)
    suggestion = suggestion_make(case, world.shenzhen, 10, status="ordered", purchase_order_line=case_line)
    purchase_order_lines_set(purchase_order=order, lines=[(strap, 3, None), (case, 12, Decimal("1.9"))])
    assert [(sku, quantity, cost) for sku, quantity, cost, _ in lines_of(order)] == [
        ("CASE-1", 12, Decimal("1.9000")),
        ("STRAP-3", 3, Decimal("2.0000")),
    ]
    assert order.lines.get(product=case).pk == case_line.pk
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.purchase_order_line_id) == ("ordered", case_line.pk)
    # The line goes: the suggestion is open again, to be ordered another time.
    purchase_order_lines_set(purchase_order=order, lines=[(strap, 3, None)])
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.purchase_order_line_id) == ("open", None)


def test_lines_are_added_changed_and_removed_one_by_one_while_draft(world):
    case, cable = ProductFactory(sku="CASE-1"), ProductFactory(sku="CABLE-2")
    SupplierProductFactory(supplier=world.acme, product=case, unit_cost=Decimal("2"))
    order = purchase_order_create(supplier=world.acme, warehouse=world.shenzhen)
    assert order.lines.count() == 0
    line = purchase_order_line_add(purchase_order=order, product=case, quantity=4)
    again = purchase_order_line_add(purchase_order=order, product=case, quantity=6)
    assert (again.pk, again.quantity, again.unit_cost) == (line.pk, 10, Decimal("2.0000"))
    with pytest.raises(ValidationFailed) as refused:
        purchase_order_line_add(purchase_order=order, product=cable, quantity=1)
    assert fields_and_codes(refused.value) == [("unit_cost", "required")]
    changed = purchase_order_line_update(line=line, unit_cost=Decimal("1.5"))
    assert (changed.quantity, changed.unit_cost) == (10, Decimal("1.5000"))
    with pytest.raises(ValidationFailed) as refused:
        purchase_order_line_update(line=line, quantity=0)
    assert fields_and_codes(refused.value) == [("quantity", "min_value")]
    purchase_order_line_remove(line=line)
    assert order.lines.count() == 0


# --- The life cycle ------------------------------------------------------------------------------------------------


def test_draft_is_submitted_with_its_expected_date_then_cancelled(world, make_user):
    buyer, boss = make_user("Purchaser"), make_user("Purchaser")
    case, cable, strap = (ProductFactory(sku=sku) for sku in ("CASE-1", "CABLE-2", "STRAP-3"))
    SupplierProductFactory(supplier=world.acme, product=case, lead_time_days=10, qc_days=2, transit_days=5)
    SupplierProductFactory(supplier=world.acme, product=cable, lead_time_days=None)  # the supplier's 7 days
    order = purchase_order_create(
        supplier=world.acme,
        warehouse=world.shenzhen,
        lines=[(case, 10, None), (cable, 5, None), (strap, 1, Decimal("1"))],
        user=buyer,
    )
    before = timezone.now()
    submitted = purchase_order_submit(purchase_order=order, user=buyer, note="Sent by email")
    assert submitted.status == "submitted"
    assert submitted.expected_on == timezone.localdate() + dt.timedelta(days=17)  # 10 + 2 QC + 5 transit
    assert before <= submitted.submitted_at <= timezone.now()
    cancelled = purchase_order_cancel(purchase_order=order, note="Supplier closed for holidays", user=boss)
    assert cancelled.status == "cancelled"
    assert list(
        PurchaseOrderEvent.objects.filter(purchase_order=order)
        .order_by("id")
        .values_list("from_status", "to_status", "note", "user")
    ) == [
        ("", "draft", "", buyer.pk),
        ("draft", "submitted", "Sent by email", buyer.pk),
        ("submitted", "cancelled", "Supplier closed for holidays", boss.pk),
    ]
    with pytest.raises(Conflict) as refused:
        purchase_order_submit(purchase_order=order)
    assert refused.value.code == "invalid_transition"


def test_an_expected_date_given_or_set_on_the_draft_wins(world):
    case = ProductFactory(sku="CASE-1")
    SupplierProductFactory(supplier=world.acme, product=case, lead_time_days=30)
    first = purchase_order_create(
        supplier=world.acme, warehouse=world.shenzhen, lines=[(case, 1, None)], expected_on=dt.date(2031, 5, 1)
    )
    assert purchase_order_submit(purchase_order=first).expected_on == dt.date(2031, 5, 1)
    second = purchase_order_create(supplier=world.acme, warehouse=world.shenzhen, lines=[(case, 1, None)])
    assert purchase_order_submit(purchase_order=second, expected_on=dt.date(2031, 6, 2)).expected_on == dt.date(
        2031, 6, 2
    )


def test_an_empty_draft_cannot_be_submitted(world):
    order = purchase_order_create(supplier=world.acme, warehouse=world.shenzhen)
    with pytest.raises(Conflict) as refused:
        purchase_order_submit(purchase_order=order)
    assert refused.value.code == "empty"
    assert refused.value.message == f"{order.number} has no lines; add what to order before submitting it."
    assert fields_and_codes(refused.value) == [("lines", "empty")]
    order.refresh_from_db()
    assert (order.status, order.submitted_at) == ("draft", None)
    assert steps_of(order) == [("", "draft")]


def test_a_submitted_order_keeps_its_lines_but_its_dates_and_references_may_change(world):
    case = ProductFactory(sku="CASE-1")
    SupplierProductFactory(supplier=world.acme, product=case, unit_cost=Decimal("2"))
    order = purchase_order_create(supplier=world.acme, warehouse=world.shenzhen, lines=[(case, 10, None)])
    purchase_order_submit(purchase_order=order)
    line = order.lines.get()
    attempts = [
        lambda: purchase_order_lines_set(purchase_order=order, lines=[(case, 11, None)]),
        lambda: purchase_order_line_add(purchase_order=order, product=case, quantity=1),
        lambda: purchase_order_line_update(line=line, quantity=11),
        lambda: purchase_order_line_remove(line=line),
        lambda: purchase_order_update(purchase_order=order, data={"warehouse": world.ontario}),
        lambda: purchase_order_update(purchase_order=order, data={}, lines=[(case, 11, None)]),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "not_draft"
    assert refused.value.message == f"{order.number} is submitted: its lines can change only while it is a draft."
    with pytest.raises(Conflict) as refused:
        purchase_order_update(purchase_order=order, data={"currency": "USD", "warehouse": world.ontario})
    assert refused.value.message == (
        f"{order.number} is submitted: currency, warehouse can change only while it is a draft."
    )
    assert lines_of(order)[0][:2] == ("CASE-1", 10)
    changed = purchase_order_update(
        purchase_order=order,
        data={"supplier_reference": "SO-88123", "expected_on": dt.date(2031, 1, 9), "note": "Confirmed"},
    )
    assert (changed.supplier_reference, changed.expected_on, changed.note) == (
        "SO-88123",
        dt.date(2031, 1, 9),
        "Confirmed",
    )
    with pytest.raises(ValidationFailed) as refused:
        purchase_order_update(purchase_order=order, data={"supplier": world.bolt})
    assert fields_and_codes(refused.value) == [("supplier", "unknown_field")]


def test_an_order_with_goods_received_cannot_be_cancelled(world):
    case = ProductFactory(sku="CASE-1")
    SupplierProductFactory(supplier=world.acme, product=case, unit_cost=Decimal("2"))
    order = purchase_order_create(supplier=world.acme, warehouse=world.shenzhen, lines=[(case, 10, None)])
    purchase_order_submit(purchase_order=order)
    # Receiving is another service's: here the outcome of a first receipt is set by hand.
    PurchaseOrderLine.objects.filter(purchase_order=order).update(quantity_received=3, quantity_rejected=1)
    with pytest.raises(Conflict) as refused:
        purchase_order_cancel(purchase_order=order)
    assert refused.value.code == "already_received"
    assert refused.value.message == (
        f"{order.number} has received goods already (3 accepted, 1 rejected); it cannot be cancelled. "
        "Close it short instead: mark it received."
    )
    status_transition(machine=PO_STATUS, document=order, to_status="partially_received")
    with pytest.raises(Conflict) as refused:
        purchase_order_cancel(purchase_order=order)
    assert refused.value.code == "already_received"
    order.refresh_from_db()
    assert order.status == "partially_received"
    assert steps_of(order)[-1] == ("submitted", "partially_received")


def test_a_received_order_is_closed_to_changes(world):
    case = ProductFactory(sku="CASE-1")
    SupplierProductFactory(supplier=world.acme, product=case, unit_cost=Decimal("2"))
    order = purchase_order_create(supplier=world.acme, warehouse=world.shenzhen, lines=[(case, 10, None)])
    purchase_order_submit(purchase_order=order)
    status_transition(machine=PO_STATUS, document=order, to_status="received")
    with pytest.raises(Conflict) as refused:
        purchase_order_update(purchase_order=order, data={"note": "late"})
    assert (refused.value.code, refused.value.message) == (
        "closed",
        f"{order.number} is received: it can no longer change.",
    )


# --- From suggestions -----------------------------------------------------------------------------------------------


def test_suggestions_become_one_draft_per_supplier_and_warehouse_and_transfers(world, make_user):
    buyer = make_user("Purchaser")
    case, cable, strap, lamp, fan, mug = (
        ProductFactory(sku=sku) for sku in ("CASE-1", "CABLE-2", "STRAP-3", "LAMP-4", "FAN-5", "MUG-6")
    )
    case_at_acme = SupplierProductFactory(
        supplier=world.acme, product=case, unit_cost=Decimal("12.5"), supplier_sku="A-1"
    )
    # No supplier product on the suggestion: the cheapest (Bolt) for the cable, the preferred (Acme) for the strap.
    SupplierProductFactory(supplier=world.acme, product=cable, unit_cost=Decimal("5"))
    SupplierProductFactory(supplier=world.bolt, product=cable, unit_cost=Decimal("4"), supplier_sku="B-2")
    SupplierProductFactory(
        supplier=world.acme, product=strap, unit_cost=Decimal("9"), is_preferred=True, supplier_sku="A-3"
    )
    SupplierProductFactory(supplier=world.bolt, product=strap, unit_cost=Decimal("2"))
    lamp_at_acme = SupplierProductFactory(supplier=world.acme, product=lamp, unit_cost=Decimal("30"))

    s_case = suggestion_make(case, world.shenzhen, 40, supplier_product=case_at_acme)
    s_cable = suggestion_make(cable, world.shenzhen, 25)
    s_strap = suggestion_make(strap, world.shenzhen, 15)
    s_lamp = suggestion_make(lamp, world.ontario, 8, supplier_product=lamp_at_acme)
    t_case = suggestion_make(case, world.ontario, 30, kind="transfer", source_warehouse=world.shenzhen)
    t_cable = suggestion_make(cable, world.ontario, 12, kind="transfer", source_warehouse=world.shenzhen)
    nothing = suggestion_make(fan, world.shenzhen, 0)
    dismissed = suggestion_make(mug, world.shenzhen, 5, status="dismissed")
    no_supplier = suggestion_make(fan, world.ontario, 3)
    no_source = suggestion_make(mug, world.ontario, 6, kind="transfer")
    chosen = [s_case, s_cable, s_strap, s_lamp, t_case, t_cable, nothing, dismissed, no_supplier, no_source]

    made = purchase_orders_from_suggestions(suggestions=[*chosen, 999_999], user=buyer)

    orders = {(order.supplier.name, order.warehouse.code): order for order in made.purchase_orders}
    assert sorted(orders) == [("Acme Plastics", "ONT"), ("Acme Plastics", "SZ"), ("Bolt Cables", "SZ")]
    assert lines_of(orders["Acme Plastics", "SZ"]) == [
        ("CASE-1", 40, Decimal("12.5000"), "A-1"),
        ("STRAP-3", 15, Decimal("9.0000"), "A-3"),
    ]
    assert lines_of(orders["Bolt Cables", "SZ"]) == [("CABLE-2", 25, Decimal("4.0000"), "B-2")]
    assert [line[:2] for line in lines_of(orders["Acme Plastics", "ONT"])] == [("LAMP-4", 8)]
    assert {order.status for order in made.purchase_orders} == {"draft"}
    assert {order.created_by_id for order in made.purchase_orders} == {buyer.pk}

    (transfer,) = made.transfers
    assert (transfer.source.code, transfer.destination.code, transfer.status) == ("SZ", "ONT", "draft")
    assert sorted(transfer.lines.values_list("product__sku", "quantity")) == [("CABLE-2", 12), ("CASE-1", 30)]

    assert [(item.suggestion_id, item.code) for item in made.skipped] == [
        (nothing.pk, "nothing_to_order"),
        (dismissed.pk, "dismissed"),
        (no_supplier.pk, "no_supplier"),
        (no_source.pk, "no_source"),
        (999_999, "not_found"),
    ]
    reasons = {item.code: item.reason for item in made.skipped}
    assert reasons["no_supplier"] == "FAN-5 for ONT: no active supplier supplies it; add a supplier product."
    assert reasons["dismissed"] == "MUG-6 for SZ is dismissed already."

    for suggestion in chosen:
        suggestion.refresh_from_db()
    assert [s.status for s in (s_case, s_cable, s_strap, s_lamp, t_case, t_cable)] == ["ordered"] * 6
    assert (nothing.status, dismissed.status, no_supplier.status, no_source.status) == (
        "open",
        "dismissed",
        "open",
        "open",
    )
    assert s_case.purchase_order_line == orders["Acme Plastics", "SZ"].lines.get(product=case)
    assert s_cable.purchase_order_line.purchase_order == orders["Bolt Cables", "SZ"]
    assert (t_case.transfer, t_cable.transfer, s_case.transfer) == (transfer, transfer, None)

    # Ordered suggestions are not ordered twice.
    again = purchase_orders_from_suggestions(suggestions=[s_case.pk, t_case.pk])
    assert (again.purchase_orders, again.transfers) == ([], [])
    assert [item.code for item in again.skipped] == ["ordered", "ordered"]


def test_the_lead_time_of_a_line_from_a_suggestion_is_the_suggestions(world):
    case = ProductFactory(sku="CASE-1")
    case_at_acme = SupplierProductFactory(supplier=world.acme, product=case, lead_time_days=3)
    suggestion_make(case, world.ontario, 10, supplier_product=case_at_acme, lead_time_days=41)
    (order,) = purchase_orders_from_suggestions(suggestions=Suggestion.objects.all()).purchase_orders
    assert purchase_order_submit(purchase_order=order).expected_on == timezone.localdate() + dt.timedelta(days=41)


def test_cancelling_an_order_opens_its_suggestions_again(world):
    case = ProductFactory(sku="CASE-1")
    case_at_acme = SupplierProductFactory(supplier=world.acme, product=case)
    suggestion = suggestion_make(case, world.shenzhen, 10, supplier_product=case_at_acme)
    (order,) = purchase_orders_from_suggestions(suggestions=[suggestion]).purchase_orders
    purchase_order_cancel(purchase_order=order)
    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.purchase_order_line) == ("open", None)
    (second,) = purchase_orders_from_suggestions(suggestions=[suggestion]).purchase_orders
    assert second.pk != order.pk and lines_of(second)[0][:2] == ("CASE-1", 10)


# --- Two buyers at once -------------------------------------------------------------------------------------------


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _wait_until_blocked(pid: int) -> tuple[str, list[int], list[str]]:
    """Wait until backend ``pid`` waits for a lock; returns the statement it waits in (cut by PostgreSQL), who blocks
    it, and the tables whose row it has queued for (the tuple locks it holds while it waits)."""
    deadline = time.monotonic() + WAIT_TIMEOUT
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                """
                SELECT activity.wait_event_type, activity.query, pg_blocking_pids(activity.pid),
                    ARRAY(
                        SELECT lock.relation::regclass::text FROM pg_locks AS lock
                        WHERE lock.pid = activity.pid AND lock.locktype = 'tuple'
                    )
                FROM pg_stat_activity AS activity WHERE activity.pid = %s
                """,
                [pid],
            )
            row = cursor.fetchone()
            if row and row[0] == "Lock":
                return row[1], row[2], row[3]
            threading.Event().wait(0.01)  # polling an observable state, not timing a race
    raise AssertionError(f"backend {pid} was never seen waiting for a lock within {WAIT_TIMEOUT}s")


class Worker(threading.Thread):
    """A thread with its own database connection; records its backend pid and what its action returned."""

    def __init__(self, action) -> None:
        super().__init__(daemon=True)
        self.action = action
        self.pid_known = threading.Event()
        self.pid: int | None = None
        self.result = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.pid = _backend_pid()
            self.pid_known.set()
            self.result = self.action()
        except BaseException as error:
            self.error = error
        finally:
            self.pid_known.set()
            connection.close()

    def started_pid(self) -> int:
        self.start()
        assert self.pid_known.wait(WAIT_TIMEOUT)
        assert self.pid is not None, self.error
        return self.pid


@pytest.mark.django_db(transaction=True)
def test_two_buyers_ordering_the_same_suggestions_at_once_order_them_once():
    world = world_make()
    user_model = get_user_model()
    first_buyer, second_buyer = (user_model.objects.create_user(username=name) for name in ("buyer-1", "buyer-2"))
    case, cable = ProductFactory(sku="CASE-1"), ProductFactory(sku="CABLE-2")
    suggestions = [
        suggestion_make(
            case, world.shenzhen, 40, supplier_product=SupplierProductFactory(supplier=world.acme, product=case)
        ),
        suggestion_make(
            cable, world.shenzhen, 25, supplier_product=SupplierProductFactory(supplier=world.acme, product=cable)
        ),
        suggestion_make(case, world.ontario, 30, kind="transfer", source_warehouse=world.shenzhen),
    ]
    ids = [suggestion.pk for suggestion in suggestions]
    first_ordered = threading.Event()
    first_may_commit = threading.Event()

    def first():
        with transaction.atomic():
            made = purchase_orders_from_suggestions(suggestions=ids, user=first_buyer)
            first_ordered.set()
            assert first_may_commit.wait(WAIT_TIMEOUT)
        return made

    def second():
        return purchase_orders_from_suggestions(suggestions=ids, user=second_buyer)

    holder = Worker(first)
    holder_pid = holder.started_pid()
    assert first_ordered.wait(WAIT_TIMEOUT), holder.error
    waiter = Worker(second)
    waiter_pid = waiter.started_pid()
    query, blocked_by, rows_queued_for = _wait_until_blocked(waiter_pid)
    # The second waits in the locking read of the suggestions, before it has read or written anything.
    assert query.lstrip().startswith('SELECT "purchasing_suggestion"."id"'), query
    assert rows_queued_for == ["purchasing_suggestion"]
    assert blocked_by == [holder_pid]
    assert PurchaseOrder.objects.count() == 0  # the first has not committed yet
    first_may_commit.set()
    holder.join(WAIT_TIMEOUT)
    waiter.join(WAIT_TIMEOUT)
    assert (holder.error, waiter.error) == (None, None)

    assert (len(holder.result.purchase_orders), len(holder.result.transfers), holder.result.skipped) == (1, 1, [])
    assert (waiter.result.purchase_orders, waiter.result.transfers) == ([], [])
    assert [(item.suggestion_id, item.code) for item in waiter.result.skipped] == [(pk, "ordered") for pk in ids]
    assert PurchaseOrder.objects.count() == 1 and Transfer.objects.count() == 1
    assert PurchaseOrderLine.objects.count() == 2
    assert set(Suggestion.objects.values_list("status", flat=True)) == {"ordered"}
    assert PurchaseOrder.objects.get().created_by == first_buyer
