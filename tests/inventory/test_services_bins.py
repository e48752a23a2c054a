"""Warehouse and bin services, and the bin generator's snake path, scheme checks and all-or-nothing rule."""

from __future__ import annotations

import contextlib
import signal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import Conflict, ValidationFailed
from inventory.errors import StockRuleBroken
from inventory.models import Bin, InventoryBalance, Warehouse
from inventory.selectors import bin_pick_path
from inventory.services import (
    BIN_GENERATE_LIMIT,
    bin_create,
    bin_delete,
    bin_generate,
    bin_update,
    warehouse_create,
    warehouse_delete,
    warehouse_update,
)
from inventory.stock_services import stock_receive, stock_reserve
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def errors_of(caught) -> list[tuple[str | None, str, str]]:
    return [(error.field, error.code, error.message) for error in caught.value.errors]


def walk(warehouse: Warehouse) -> list[tuple[str, int]]:
    return list(bin_pick_path(warehouse=warehouse).values_list("code", "pick_sequence"))


# --- warehouses -------------------------------------------------------------------------------------------------


def test_warehouse_code_and_country_are_trimmed_and_upper_cased():
    warehouse = warehouse_create(data={"code": " la-1 ", "name": " Los Angeles ", "country": "us", "kind": "overseas"})
    warehouse.refresh_from_db()
    assert (warehouse.code, warehouse.name, warehouse.country, warehouse.kind) == (
        "LA-1",
        "Los Angeles",
        "US",
        "overseas",
    )


def test_warehouse_errors_name_the_field():
    WarehouseFactory(code="SZ")
    with pytest.raises(ValidationFailed) as caught:
        warehouse_create(data={"code": "sz", "name": "", "country": "XX", "kind": "moon", "bin_code_pattern": "(["})
    assert [(field, code) for field, code, _ in errors_of(caught)] == [
        ("name", "blank"),
        ("kind", "invalid_choice"),
        ("country", "country"),
        ("bin_code_pattern", "invalid_pattern"),
        ("code", "unique"),
    ]
    with pytest.raises(ValidationFailed) as caught:
        warehouse_create(data={"code": "W.1", "name": "x", "country": "CN", "bin_code_pattern": "(["})
    assert errors_of(caught) == [
        ("code", "invalid", "Warehouse code may only hold letters, digits, - and _."),
    ]
    with pytest.raises(ValidationFailed) as caught:
        warehouse_create(data={"code": "W1", "name": "x", "country": "CN", "bin_code_pattern": "(["})
    assert errors_of(caught) == [
        (
            "bin_code_pattern",
            "invalid_pattern",
            "Not a pattern this system can use (missing ]: [); patterns use RE2 syntax, which has no "
            "back-references or look-arounds.",
        )
    ]
    assert list(Warehouse.objects.values_list("code", flat=True)) == ["SZ"]


@contextlib.contextmanager
def _fails_after(seconds: float):
    """Fail the test instead of letting it hang: Python's backtracking re needs minutes for the patterns below."""

    def give_up(signum, frame):
        raise AssertionError(f"Matching took more than {seconds} s: the pattern engine backtracks.")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_catastrophic_pattern_cannot_hang_the_bin_checks():
    warehouse = WarehouseFactory(code="SZ", bin_code_pattern=r"^(A+)+B$")
    code = "A" * 32
    with _fails_after(5), pytest.raises(ValidationFailed) as caught:
        bin_create(data={"warehouse": warehouse, "code": code, "zone": "A"})
    assert [error[:2] for error in errors_of(caught)] == [("code", "invalid")]
    with _fails_after(5), pytest.raises(ValidationFailed) as caught:
        bin_generate(warehouse=warehouse, zones=["A" * 16], aisles=(1, 1), racks=(1, 1), levels=(1, 1), kind="pick")
    assert errors_of(caught)[0][1] == "bin_code_pattern"
    with _fails_after(5):
        warehouse_update(warehouse=warehouse, data={"bin_code_pattern": r"^(A+)+B$|^A{32}$"})
        created = bin_create(data={"warehouse": warehouse, "code": code, "zone": "A"})
    assert (created.code, created.zone) == (code, "A")


def test_a_zone_derived_from_a_long_code_is_checked_like_a_given_one():
    warehouse = WarehouseFactory(code="SZ", bin_code_pattern="")
    with pytest.raises(ValidationFailed) as caught:
        bin_create(data={"warehouse": warehouse, "code": "RECEIVING" * 3})
    assert errors_of(caught) == [
        (
            "zone",
            "max_length",
            "Zone RECEIVINGRECEIVINGRECEIVING has 27 characters; at most 16 are allowed (without a zone, the part "
            "of the code before the first dash is the zone).",
        )
    ]


def test_back_references_and_look_arounds_are_refused_with_a_reason():
    with pytest.raises(ValidationFailed) as caught:
        warehouse_create(data={"code": "W2", "name": "x", "country": "CN", "bin_code_pattern": r"^(A)\1$"})
    assert errors_of(caught) == [
        (
            "bin_code_pattern",
            "invalid_pattern",
            "Not a pattern this system can use (invalid escape sequence: \\1); patterns use RE2 syntax, which has "
            "no back-references or look-arounds.",
        )
    ]


def test_a_new_bin_code_scheme_must_fit_the_existing_bins():
    warehouse = WarehouseFactory(code="SZ")
    BinFactory(warehouse=warehouse, code="A-01-01-01")
    BinFactory(warehouse=warehouse, code="A-01-01-02")
    with pytest.raises(ValidationFailed) as caught:
        warehouse_update(warehouse=warehouse, data={"bin_code_pattern": r"^[A-Z]-\d{3}$"})
    assert errors_of(caught) == [
        (
            "bin_code_pattern",
            "bins_do_not_match",
            r"2 existing bins do not follow ^[A-Z]-\d{3}$ (for example A-01-01-01, A-01-01-02); "
            "rename them first or choose a scheme that fits them.",
        )
    ]
    warehouse_update(warehouse=warehouse, data={"bin_code_pattern": r"^[A-Z]-\d{2}-\d{2}-\d{2}$", "priority": 5})
    warehouse.refresh_from_db()
    assert (warehouse.bin_code_pattern, warehouse.priority) == (r"^[A-Z]-\d{2}-\d{2}-\d{2}$", 5)


def test_a_warehouse_with_bins_cannot_be_deleted():
    bin_ = BinFactory(warehouse__code="SZ")
    with pytest.raises(Conflict) as caught:
        warehouse_delete(warehouse=bin_.warehouse)
    assert caught.value.message == (
        "Warehouse SZ cannot be deleted: it is still referred to by 1 bin. Deactivate it instead (is_active = false)."
    )
    bin_delete(bin=bin_)
    warehouse_delete(warehouse=bin_.warehouse)
    assert Warehouse.objects.count() == 0


# --- single bins ------------------------------------------------------------------------------------------------


def test_bin_code_is_normalized_and_zone_and_sellable_are_derived():
    warehouse = WarehouseFactory()
    bin_ = bin_create(data={"warehouse": warehouse, "code": " b-02-03-04 ", "kind": "quarantine"})
    bin_.refresh_from_db()
    assert (bin_.code, bin_.zone, bin_.kind, bin_.is_sellable) == ("B-02-03-04", "B", "quarantine", False)
    bulk = bin_create(data={"warehouse": warehouse, "code": "B-02-03-05", "kind": "bulk"})
    assert bulk.is_sellable is True
    given = bin_create(data={"warehouse": warehouse, "code": "B-02-03-06", "kind": "pick", "is_sellable": False})
    assert given.is_sellable is False


def test_bin_code_must_follow_the_warehouse_scheme():
    warehouse = WarehouseFactory(code="SZ")
    with pytest.raises(ValidationFailed) as caught:
        bin_create(data={"warehouse": warehouse, "code": "a-1-2-3"})
    assert errors_of(caught) == [
        (
            "code",
            "invalid",
            r"Bin code A-1-2-3 does not follow warehouse SZ's scheme ^[A-Z]{1,3}-\d{2}-\d{2}-\d{2}$.",
        )
    ]
    assert Bin.objects.count() == 0


def test_bin_code_is_unique_within_its_warehouse():
    existing = BinFactory(code="A-01-01-01", warehouse__code="SZ")
    with pytest.raises(ValidationFailed) as caught:
        bin_create(data={"warehouse": existing.warehouse, "code": "a-01-01-01"})
    assert errors_of(caught) == [("code", "unique", "Bin A-01-01-01 already exists in warehouse SZ.")]
    elsewhere = bin_create(data={"warehouse": WarehouseFactory(), "code": "A-01-01-01"})
    assert elsewhere.pk is not None


def test_bin_update_renames_rederives_the_zone_and_stays_in_its_warehouse():
    bin_ = BinFactory(code="A-01-01-01")
    bin_update(bin=bin_, data={"code": "c-01-01-01"})
    bin_.refresh_from_db()
    assert (bin_.code, bin_.zone) == ("C-01-01-01", "C")
    with pytest.raises(ValidationFailed) as caught:
        bin_update(bin=bin_, data={"warehouse": WarehouseFactory()})
    assert errors_of(caught) == [
        ("warehouse", "read_only", "Bin C-01-01-01 cannot move to another warehouse; create a bin there instead.")
    ]


def test_making_a_bin_unsellable_keeps_the_balance_true_and_protects_reservations():
    bin_ = BinFactory(code="A-01-01-01", kind="pick", is_sellable=True)
    case, cable = ProductFactory(sku="CASE-1"), ProductFactory(sku="CABLE-1")
    stock_receive(product=case, bin=bin_, quantity=5)
    stock_receive(product=cable, bin=bin_, quantity=3)
    stock_reserve(warehouse=bin_.warehouse, lines=[(cable, 2)], reference="order:1")
    with pytest.raises(StockRuleBroken) as caught:
        bin_update(bin=bin_, data={"is_sellable": False, "kind": "quarantine"})
    assert caught.value.message == (
        "Bin A-01-01-01 holds 3 CABLE-1; without them only 0 would be sellable for 2 reserved."
    )
    bin_.refresh_from_db()
    assert (bin_.is_sellable, bin_.kind) == (True, "pick")

    other = BinFactory(warehouse=bin_.warehouse, code="A-01-01-02", kind="pick")
    stock_receive(product=case, bin=other, quantity=4)
    bin_update(bin=other, data={"is_sellable": False, "kind": "quarantine"})
    other.refresh_from_db()
    assert (other.is_sellable, other.kind) == (False, "quarantine")
    balance = InventoryBalance.objects.get(product=case, warehouse=bin_.warehouse)
    assert (balance.on_hand, balance.sellable, balance.reserved) == (9, 5, 0)


def test_a_bin_with_stock_cannot_be_deleted():
    bin_ = BinFactory(code="A-01-01-01")
    stock_receive(product=ProductFactory(), bin=bin_, quantity=1)
    with pytest.raises(Conflict) as caught:
        bin_delete(bin=bin_)
    assert caught.value.code == "protected"
    assert Bin.objects.filter(pk=bin_.pk).exists()


# --- generator --------------------------------------------------------------------------------------------------


def test_snake_path_for_a_small_block():
    warehouse = WarehouseFactory()
    created = bin_generate(
        warehouse=warehouse, zones=["a"], aisles=(1, 3), racks=(1, 2), levels=(1, 2), kind=Bin.Kind.PICK
    )
    expected = [
        ("A-01-01-01", 1),
        ("A-01-01-02", 2),
        ("A-01-02-01", 3),
        ("A-01-02-02", 4),
        ("A-02-02-01", 5),
        ("A-02-02-02", 6),
        ("A-02-01-01", 7),
        ("A-02-01-02", 8),
        ("A-03-01-01", 9),
        ("A-03-01-02", 10),
        ("A-03-02-01", 11),
        ("A-03-02-02", 12),
    ]
    assert [(bin_.code, bin_.pick_sequence) for bin_ in created] == expected
    assert walk(warehouse) == expected
    assert set(Bin.objects.filter(warehouse=warehouse).values_list("zone", "kind", "is_sellable")) == {
        ("A", "pick", True)
    }


def test_sequence_continues_after_the_highest_and_parity_follows_the_aisle_number():
    warehouse = WarehouseFactory()
    BinFactory(warehouse=warehouse, code="Z-99-99-99", pick_sequence=40)
    created = bin_generate(
        warehouse=warehouse, zones=["B", "C"], aisles=(2, 3), racks=(1, 3), levels=(1, 1), kind="bulk", width=2
    )
    assert [(bin_.code, bin_.pick_sequence) for bin_ in created] == [
        ("B-02-03-01", 41),
        ("B-02-02-01", 42),
        ("B-02-01-01", 43),
        ("B-03-01-01", 44),
        ("B-03-02-01", 45),
        ("B-03-03-01", 46),
        ("C-02-03-01", 47),
        ("C-02-02-01", 48),
        ("C-02-01-01", 49),
        ("C-03-01-01", 50),
        ("C-03-02-01", 51),
        ("C-03-03-01", 52),
    ]


def test_sellable_defaults_from_the_kind_unless_given():
    warehouse = WarehouseFactory()
    quarantine = bin_generate(
        warehouse=warehouse, zones=["Q"], aisles=(1, 1), racks=(1, 1), levels=(1, 2), kind="quarantine"
    )
    forced = bin_generate(
        warehouse=warehouse, zones=["P"], aisles=(1, 1), racks=(1, 1), levels=(1, 1), kind="pick", is_sellable=False
    )
    assert [bin_.is_sellable for bin_ in quarantine + forced] == [False, False, False]


def test_existing_codes_are_errors_and_nothing_is_created():
    warehouse = WarehouseFactory(code="SZ")
    BinFactory(warehouse=warehouse, code="A-01-01-02", pick_sequence=7)
    with pytest.raises(ValidationFailed) as caught:
        bin_generate(warehouse=warehouse, zones=["A"], aisles=(1, 1), racks=(1, 2), levels=(1, 2), kind="pick")
    assert errors_of(caught) == [("code", "bin_exists", "Bin A-01-01-02 already exists in warehouse SZ.")]
    assert caught.value.message == (
        "Cannot generate bins in warehouse SZ: 1 of the 4 codes exist already (A-01-01-02); "
        "set skip_existing to add only the others."
    )
    assert walk(warehouse) == [("A-01-01-02", 7)]


def test_skip_existing_keeps_them_and_numbers_only_the_new_ones():
    warehouse = WarehouseFactory()
    BinFactory(warehouse=warehouse, code="A-01-01-02", pick_sequence=7, kind="bulk")
    created = bin_generate(
        warehouse=warehouse, zones=["A"], aisles=(1, 1), racks=(1, 2), levels=(1, 2), kind="pick", skip_existing=True
    )
    assert [(bin_.code, bin_.pick_sequence) for bin_ in created] == [
        ("A-01-01-01", 8),
        ("A-01-02-01", 9),
        ("A-01-02-02", 10),
    ]
    assert Bin.objects.get(warehouse=warehouse, code="A-01-01-02").kind == "bulk"


def test_codes_that_break_the_warehouse_scheme_are_refused():
    warehouse = WarehouseFactory(code="SZ")
    with pytest.raises(ValidationFailed) as caught:
        bin_generate(warehouse=warehouse, zones=["A"], aisles=(1, 2), racks=(1, 1), levels=(1, 1), kind="pick", width=3)
    assert errors_of(caught) == [
        (
            None,
            "bin_code_pattern",
            r"2 of 2 codes, such as A-001-001-001, do not follow warehouse SZ's bin code scheme "
            r"^[A-Z]{1,3}-\d{2}-\d{2}-\d{2}$.",
        )
    ]
    assert Bin.objects.count() == 0


def test_a_warehouse_without_scheme_takes_any_width():
    warehouse = WarehouseFactory(bin_code_pattern="")
    created = bin_generate(
        warehouse=warehouse, zones=["ab"], aisles=(9, 10), racks=(1, 1), levels=(1, 1), kind="pick", width=3
    )
    assert [bin_.code for bin_ in created] == ["AB-009-001-001", "AB-010-001-001"]


def test_bad_arguments_are_named():
    warehouse = WarehouseFactory()
    with pytest.raises(ValidationFailed) as caught:
        bin_generate(
            warehouse=warehouse,
            zones=["A-1", "b", "B"],
            aisles=(3, 1),
            racks=(1, 100),
            levels=(-1, 2),
            kind="attic",
        )
    assert errors_of(caught) == [
        ("zones[0]", "invalid", "Zone 'A-1' must be 1 to 16 letters and digits."),
        ("zones[2]", "duplicate", "Zone B is listed twice."),
        ("aisles", "empty_range", "aisles range 3–1 is empty: first must not be greater than last."),
        ("racks", "too_wide", "racks up to 100 do not fit in 2 digits; raise width or narrow the range."),
        ("levels", "min_value", "levels cannot start below 0 (got -1)."),
        (
            "kind",
            "invalid_choice",
            "'attic' is not a bin kind; choose one of pick, bulk, receiving, packing, quarantine, shipping.",
        ),
    ]


def test_more_than_the_cap_is_refused_before_anything_is_built():
    warehouse = WarehouseFactory(code="SZ")
    with pytest.raises(ValidationFailed) as caught:
        bin_generate(warehouse=warehouse, zones=["A"], aisles=(0, 20), racks=(1, 40), levels=(0, 24), kind="pick")
    assert errors_of(caught) == [
        (None, "too_many_bins", "This would make 21000 bins; at most 20000 can be generated at once.")
    ]
    assert Bin.objects.count() == 0


def test_exactly_the_cap_is_created_in_one_call():
    warehouse = WarehouseFactory()
    created = bin_generate(
        warehouse=warehouse, zones=["A", "B"], aisles=(1, 10), racks=(1, 50), levels=(1, 20), kind="bulk"
    )
    assert len(created) == BIN_GENERATE_LIMIT == 20_000
    assert (created[0].code, created[-1].code) == ("A-01-01-01", "B-10-01-20")
    assert Bin.objects.filter(warehouse=warehouse).count() == 20_000
    assert [bin_.pick_sequence for bin_ in created] == list(range(1, 20_001))


def test_generator_locks_the_warehouse_row_before_reading_the_highest_sequence():
    warehouse = WarehouseFactory()
    with CaptureQueriesContext(connection) as captured:
        bin_generate(warehouse=warehouse, zones=["A"], aisles=(1, 1), racks=(1, 1), levels=(1, 1), kind="pick")
    statements = [query["sql"] for query in captured.captured_queries]
    lock = next(index for index, sql in enumerate(statements) if sql.endswith("FOR UPDATE"))
    highest = next(index for index, sql in enumerate(statements) if 'MAX("inventory_bin"."pick_sequence")' in sql)
    assert statements[lock].startswith('SELECT "inventory_warehouse"."id"')
    assert f'WHERE "inventory_warehouse"."id" = {warehouse.pk}' in statements[lock]
    assert lock < highest
