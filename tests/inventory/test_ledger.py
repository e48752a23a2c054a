"""The ledger check finds exactly the drift made behind the services' back, and the rebuild repairs it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from io import StringIO
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from inventory.errors import StockRuleBroken
from inventory.ledger import (
    BalanceDrift,
    DriftReport,
    LevelDrift,
    stock_balances_rebuild,
    stock_drift_check,
)
from inventory.models import Bin, InventoryBalance, StockLevel
from inventory.schedules import periodic_tasks_ensure
from inventory.stock_services import stock_receive, stock_reserve
from inventory.tasks import stock_drift_check_task
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    """SZ: 5 CASE-1 in a pick bin, 2 in receiving, 3 reserved; 4 CABLE-1 in bulk. LA: 6 CASE-1 in a pick bin."""
    shenzhen = WarehouseFactory(code="SZ")
    los_angeles = WarehouseFactory(code="LA")
    case, cable = ProductFactory(sku="CASE-1"), ProductFactory(sku="CABLE-1")
    bins = {
        "pick": BinFactory(warehouse=shenzhen, code="A-01-01-01", kind=Bin.Kind.PICK),
        "bulk": BinFactory(warehouse=shenzhen, code="B-01-01-01", kind=Bin.Kind.BULK),
        "receiving": BinFactory(warehouse=shenzhen, code="R-01-01-01", kind=Bin.Kind.RECEIVING, is_sellable=False),
        "la_pick": BinFactory(warehouse=los_angeles, code="A-09-09-09", kind=Bin.Kind.PICK),
    }
    stock_receive(product=case, bin=bins["pick"], quantity=5)
    stock_receive(product=case, bin=bins["receiving"], quantity=2)
    stock_receive(product=cable, bin=bins["bulk"], quantity=4)
    stock_receive(product=case, bin=bins["la_pick"], quantity=6)
    stock_reserve(warehouse=shenzhen, lines=[(case, 3)], reference="order-line:1")
    return {"sz": shenzhen, "la": los_angeles, "case": case, "cable": cable, **bins}


def run_sql(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def balance_of(product, warehouse) -> tuple[int, int, int]:
    row = InventoryBalance.objects.get(product=product, warehouse=warehouse)
    return row.on_hand, row.sellable, row.reserved


def test_stock_written_by_the_services_has_no_drift(site):
    report = stock_drift_check()
    assert report == DriftReport(level_drifts=[], balance_drifts=[])
    assert report.ok
    assert report.summary() == {
        "ok": True,
        "level_drifts": 0,
        "balance_drifts": 0,
        "reservation_drifts": 0,
        "drifts": [],
    }


def test_a_level_changed_behind_the_ledger_is_reported_once_and_rebuilt(site):
    case, pick = site["case"], site["pick"]
    run_sql(
        "UPDATE inventory_stocklevel SET on_hand = on_hand + 2 WHERE product_id = %s AND bin_id = %s",
        [case.pk, pick.pk],
    )

    expected = LevelDrift(
        product_id=case.pk,
        sku="CASE-1",
        bin_id=pick.pk,
        bin_code="A-01-01-01",
        warehouse_code="SZ",
        ledger_on_hand=5,
        table_on_hand=7,
    )
    report = stock_drift_check()
    # The balance still agrees with the ledger, so only the level is reported.
    assert report == DriftReport(level_drifts=[expected], balance_drifts=[])
    assert not report.ok
    assert report.lines() == ["level CASE-1 in bin A-01-01-01 (SZ): ledger says 5, table says 7"]

    dry_run = stock_balances_rebuild(dry_run=True)
    assert (dry_run.dry_run, dry_run.levels_changed, dry_run.balances_changed, dry_run.changed) == (
        True,
        [expected],
        [],
        1,
    )
    assert StockLevel.objects.get(product=case, bin=pick).on_hand == 7

    rebuild = stock_balances_rebuild(dry_run=False)
    assert (rebuild.dry_run, rebuild.levels_changed, rebuild.changed) == (False, [expected], 1)
    assert StockLevel.objects.get(product=case, bin=pick).on_hand == 5
    assert stock_drift_check().ok
    assert stock_balances_rebuild(dry_run=False).changed == 0


def test_balance_figures_are_compared_with_the_ledger_and_the_reservations(site):
    case, shenzhen = site["case"], site["sz"]
    run_sql(
        "UPDATE inventory_inventorybalance SET on_hand = on_hand + 1, reserved = reserved - 1 "
        "WHERE product_id = %s AND warehouse_id = %s",
        [case.pk, shenzhen.pk],
    )
    report = stock_drift_check()
    assert report.level_drifts == []
    assert report.balance_drifts == [
        BalanceDrift(
            product_id=case.pk,
            sku="CASE-1",
            warehouse_id=shenzhen.pk,
            warehouse_code="SZ",
            expected_on_hand=7,
            actual_on_hand=8,
            expected_sellable=5,
            actual_sellable=5,
            expected_reserved=3,
            actual_reserved=2,
        )
    ]
    assert report.lines() == [
        "balance CASE-1 in SZ: on hand expected 7, table says 8; reserved expected 3, table says 2"
    ]
    stock_balances_rebuild(dry_run=False)
    assert balance_of(case, shenzhen) == (7, 5, 3)


def test_a_reservation_changed_behind_the_balance_shows_as_reserved_drift(site):
    case, shenzhen = site["case"], site["sz"]
    run_sql("UPDATE inventory_reservation SET quantity_reserved = 4 WHERE reference = 'order-line:1'")
    report = stock_drift_check()
    (drift,) = report.balance_drifts
    assert (drift.sku, drift.expected_reserved, drift.actual_reserved) == ("CASE-1", 4, 3)
    # The reservation's own history says 3: the row was changed behind the services.
    assert [drift.describe() for drift in report.reservation_drifts] == [
        "reservation order-line:1 of CASE-1: history adds up to reserved/picked/shipped 3/0/0, the row says 4/0/0"
    ]
    stock_balances_rebuild(dry_run=False)
    assert balance_of(case, shenzhen) == (7, 5, 4)
    run_sql("UPDATE inventory_reservation SET quantity_reserved = 3 WHERE reference = 'order-line:1'")
    stock_balances_rebuild(dry_run=False)
    assert stock_drift_check().ok


def test_a_sellable_flag_flipped_without_the_service_shows_as_sellable_drift(site):
    cable, shenzhen, bulk = site["cable"], site["sz"], site["bulk"]
    Bin.objects.filter(pk=bulk.pk).update(is_sellable=False)  # not through bin_sellable_set
    (drift,) = stock_drift_check().balance_drifts
    assert (drift.sku, drift.expected_sellable, drift.actual_sellable) == ("CABLE-1", 0, 4)
    assert drift.describe() == "balance CABLE-1 in SZ: sellable expected 0, table says 4"
    stock_balances_rebuild(dry_run=False)
    assert balance_of(cable, shenzhen) == (4, 0, 0)


def test_rows_missing_on_either_side_count_as_zero_and_are_recreated(site):
    case, cable, shenzhen, pick = site["case"], site["cable"], site["sz"], site["pick"]
    run_sql("DELETE FROM inventory_stocklevel WHERE product_id = %s AND bin_id = %s", [case.pk, pick.pk])
    run_sql(
        "DELETE FROM inventory_inventorybalance WHERE product_id = %s AND warehouse_id = %s", [cable.pk, shenzhen.pk]
    )
    stray = ProductFactory(sku="NO-MOVES")
    run_sql(
        "INSERT INTO inventory_inventorybalance (product_id, warehouse_id, on_hand, sellable, reserved, updated_at) "
        "VALUES (%s, %s, 9, 9, 0, now())",
        [stray.pk, shenzhen.pk],
    )
    report = stock_drift_check()
    assert [(drift.sku, drift.ledger_on_hand, drift.table_on_hand) for drift in report.level_drifts] == [
        ("CASE-1", 5, 0)
    ]
    assert [
        (drift.sku, drift.expected_on_hand, drift.expected_sellable, drift.actual_on_hand, drift.actual_sellable)
        for drift in report.balance_drifts
    ] == [("CABLE-1", 4, 4, 0, 0), ("NO-MOVES", 0, 0, 9, 9)]

    assert stock_balances_rebuild(dry_run=False).changed == 3
    assert StockLevel.objects.get(product=case, bin=pick).on_hand == 5
    assert balance_of(cable, shenzhen) == (4, 4, 0)
    assert balance_of(stray, shenzhen) == (0, 0, 0)  # corrected, not deleted
    assert stock_drift_check().ok


def test_filters_limit_the_check_to_some_warehouses_or_products(site):
    case, cable = site["case"], site["cable"]
    run_sql("UPDATE inventory_stocklevel SET on_hand = 1 WHERE bin_id = %s", [site["la_pick"].pk])
    run_sql("UPDATE inventory_stocklevel SET on_hand = 1 WHERE bin_id = %s", [site["bulk"].pk])

    def drifted(report: DriftReport) -> list[tuple[str, str]]:
        return [(drift.sku, drift.warehouse_code) for drift in report.level_drifts]

    assert drifted(stock_drift_check()) == [("CABLE-1", "SZ"), ("CASE-1", "LA")]
    assert drifted(stock_drift_check(warehouse_ids=[site["la"].pk])) == [("CASE-1", "LA")]
    assert drifted(stock_drift_check(product_ids=[cable.pk])) == [("CABLE-1", "SZ")]
    assert drifted(stock_drift_check(warehouse_ids=[site["sz"].pk], product_ids=[case.pk])) == []

    rebuild = stock_balances_rebuild(dry_run=False, warehouse_ids=[site["la"].pk])
    assert [(drift.sku, drift.warehouse_code) for drift in rebuild.levels_changed] == [("CASE-1", "LA")]
    assert drifted(stock_drift_check()) == [("CABLE-1", "SZ")]
    stock_balances_rebuild(dry_run=False)


@pytest.mark.allows_stock_drift  # a ledger row cannot be taken back; the test's transaction rolls it back
def test_rebuild_refuses_a_ledger_that_adds_up_to_negative_stock(site):
    case, pick = site["case"], site["pick"]
    run_sql(
        "INSERT INTO inventory_stockmove (product_id, from_bin_id, quantity, reason, reference, note, created_at) "
        "VALUES (%s, %s, 8, 'adjustment', 'restore', '', now())",
        [case.pk, pick.pk],
    )
    with pytest.raises(StockRuleBroken) as caught:
        stock_balances_rebuild(dry_run=False)
    assert caught.value.code == "ledger_inconsistent"
    assert caught.value.context["problems"] == [
        "CASE-1 in bin A-01-01-01: the ledger adds up to -3",
        "CASE-1 in SZ: 3 reserved but the ledger has only -3 in sellable bins",
    ]
    assert StockLevel.objects.get(product=case, bin=pick).on_hand == 5


def test_stock_check_command_prints_every_drift_and_exits_1_then_rebuilds(site):
    output = StringIO()
    call_command("stock_check", stdout=output)
    assert output.getvalue() == "no drift\n"

    run_sql("UPDATE inventory_stocklevel SET on_hand = 0 WHERE bin_id = %s", [site["bulk"].pk])
    run_sql("UPDATE inventory_inventorybalance SET on_hand = 9 WHERE warehouse_id = %s", [site["la"].pk])
    output = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("stock_check", stdout=output)
    assert caught.value.returncode == 1
    assert (
        str(caught.value)
        == "Stock drift: 1 levels and 1 balances disagree with the ledger, 0 reservations with their history."
    )
    assert output.getvalue() == (
        "level CABLE-1 in bin B-01-01-01 (SZ): ledger says 4, table says 0\n"
        "balance CASE-1 in LA: on hand expected 6, table says 9\n"
    )

    output = StringIO()
    call_command("stock_check", "--warehouse", "la", "--rebuild", stdout=output)
    assert output.getvalue() == (
        "fixed balance CASE-1 in LA: on hand expected 6, table says 9\n1 rows corrected from the ledger.\nno drift\n"
    )
    output = StringIO()
    call_command("stock_check", "--rebuild", stdout=output)
    assert output.getvalue() == (
        "fixed level CABLE-1 in bin B-01-01-01 (SZ): ledger says 4, table says 0\n"
        "1 rows corrected from the ledger.\nno drift\n"
    )


def test_stock_check_command_refuses_an_unknown_warehouse(site):
    with pytest.raises(CommandError) as caught:
        call_command("stock_check", "--warehouse", "nope", stdout=StringIO())
    assert str(caught.value) == "No warehouse has code NOPE."


def _database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database this test runs on (the test database, not the configured one)."""
    user = quote(settings_dict["USER"] or "", safe="")
    password = quote(settings_dict["PASSWORD"] or "", safe="")
    host, port, name = settings_dict["HOST"] or "", settings_dict["PORT"] or "", settings_dict["NAME"]
    if host.startswith("/"):  # a Unix socket folder (the embedded server)
        return f"postgresql://{user}:{password}@/{name}?host={quote(host, safe='')}" + (f"&port={port}" if port else "")
    return f"postgresql://{user}:{password}@{host}:{port or 5432}/{name}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_stock_check_exit_status_from_the_shell(site):
    environment = {**os.environ, "DATABASE_URL": _database_url(connection.settings_dict), "SEABRIDGE_TESTING": "1"}

    def manage(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "stock_check", *arguments],
            cwd=settings.BASE_DIR,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    clean = manage()
    assert (clean.returncode, clean.stdout) == (0, "no drift\n")
    run_sql("UPDATE inventory_stocklevel SET on_hand = 1 WHERE bin_id = %s", [site["receiving"].pk])
    drifted = manage()
    assert (drifted.returncode, drifted.stdout) == (
        1,
        "level CASE-1 in bin R-01-01-01 (SZ): ledger says 2, table says 1\n",
    )
    assert (
        "Stock drift: 1 levels and 0 balances disagree with the ledger, 0 reservations with their history."
        in drifted.stderr
    )
    repaired = manage("--rebuild")
    assert repaired.returncode == 0, repaired.stderr
    assert repaired.stdout.endswith("1 rows corrected from the ledger.\nno drift\n")


def test_drift_check_task_returns_the_summary_and_logs_drift_as_an_error(site, caplog):
    assert (stock_drift_check_task.name, stock_drift_check_task.soft_time_limit, stock_drift_check_task.time_limit) == (
        "inventory.tasks.stock_drift_check_task",
        600,
        900,
    )
    assert stock_drift_check_task.apply().get() == {
        "ok": True,
        "level_drifts": 0,
        "balance_drifts": 0,
        "reservation_drifts": 0,
        "drifts": [],
    }
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []

    run_sql("UPDATE inventory_stocklevel SET on_hand = 3 WHERE bin_id = %s", [site["pick"].pk])
    summary = stock_drift_check_task.apply(kwargs={"warehouse_ids": [site["sz"].pk]}).get()
    assert summary == {
        "ok": False,
        "level_drifts": 1,
        "balance_drifts": 0,
        "reservation_drifts": 0,
        "drifts": ["level CASE-1 in bin A-01-01-01 (SZ): ledger says 5, table says 3"],
    }
    (record,) = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert record.name == "inventory.tasks"
    assert record.getMessage() == (
        "Stock drift: 1 levels and 0 balances disagree with the ledger, 0 reservations with their history "
        "(run manage.py stock_check):\n"
        "level CASE-1 in bin A-01-01-01 (SZ): ledger says 5, table says 3"
    )
    stock_balances_rebuild(dry_run=False)


def test_periodic_task_is_ensured_daily_at_0330_idempotently():
    name = "inventory: stock drift check"
    assert periodic_tasks_ensure() == {name: "created"}
    assert periodic_tasks_ensure() == {name: "unchanged"}
    periodic_task = PeriodicTask.objects.get(name=name)
    crontab = periodic_task.crontab
    assert (periodic_task.task, periodic_task.enabled, periodic_task.kwargs) == (
        "inventory.tasks.stock_drift_check_task",
        True,
        "{}",
    )
    assert (crontab.minute, crontab.hour, crontab.day_of_week, crontab.day_of_month, crontab.month_of_year) == (
        "30",
        "3",
        "*",
        "*",
        "*",
    )
    assert str(crontab.timezone) == settings.CELERY_TIMEZONE
    assert (PeriodicTask.objects.count(), CrontabSchedule.objects.count()) == (1, 1)

    # Someone moved it to 05:00 and switched it off: the time comes back, the switch stays off.
    elsewhere = CrontabSchedule.objects.create(minute="0", hour="5", timezone=crontab.timezone)
    PeriodicTask.objects.filter(pk=periodic_task.pk).update(crontab=elsewhere, enabled=False)
    assert periodic_tasks_ensure() == {name: "updated"}
    periodic_task.refresh_from_db()
    assert (periodic_task.crontab_id, periodic_task.enabled) == (crontab.pk, False)
    assert periodic_tasks_ensure() == {name: "unchanged"}
    assert PeriodicTask.objects.count() == 1
