"""Stock work on the floor: a transfer received (accepted, rejected at QC with a reason, more than in transit
refused), put away into the suggested bin (where the SKU lives, else an empty pick face) or another storage bin, a
put-back task's units put away, a bin counted into its open count, and items moved bin to bin."""

from __future__ import annotations

import pytest

from core.errors import Conflict, NotFound, ValidationFailed
from inventory.count_services import stock_count_open
from inventory.models import Bin, StockCountLine, StockLevel, Transfer
from inventory.stock_services import stock_receive
from tests.inventory.factories import BinFactory, ProductFactory
from warehouse.floor_stock import (
    count_for_bin,
    count_submit,
    move_items,
    putaway_start,
    putaway_suggest,
    putaway_to,
    receive_item,
    receive_open,
)
from warehouse.models import PutBackTask

pytestmark = pytest.mark.django_db


def on_hand(bin_, product) -> int:
    level = StockLevel.objects.filter(bin=bin_, product=product).first()
    return level.on_hand if level else 0


def test_a_transfer_is_received_accepted_or_rejected_and_never_more_than_sent(world, floor, transfer):
    with pytest.raises(Conflict) as elsewhere:
        receive_open(warehouse=world["us"], code=transfer.number)
    assert elsewhere.value.code == "other_warehouse"
    with pytest.raises(NotFound):
        receive_open(warehouse=world["cn"], code="TR-999999")
    opened = receive_open(warehouse=world["cn"], code=transfer.number.lower())
    accepted = receive_item(document=opened, code="CASE-A", quantity=8)
    assert accepted.bin.kind == Bin.Kind.RECEIVING and on_hand(accepted.bin, world["a"]) == 8
    with pytest.raises(ValidationFailed):
        receive_item(document=opened, code="CASE-A", quantity=1, accept=False)
    rejected = receive_item(document=opened, code="CASE-A", quantity=1, accept=False, reason="crushed box")
    assert rejected.bin.kind == Bin.Kind.QUARANTINE and not rejected.bin.is_sellable
    with pytest.raises(Exception) as over:
        receive_item(document=opened, code="CASE-A", quantity=2)  # 1 left in transit
    assert "CASE-A" in str(over.value)
    ProductFactory(sku="LAMP-C")
    with pytest.raises(Conflict) as stranger:
        receive_item(document=opened, code="LAMP-C", quantity=1)
    assert stranger.value.code == "not_on_document"
    receive_item(document=opened, code="CASE-A", quantity=1)
    receive_item(document=opened, code="CABLE-B", quantity=2)
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.RECEIVED


def test_put_away_suggests_where_the_sku_lives_else_an_empty_pick_face(world, floor, transfer):
    opened = receive_open(warehouse=world["cn"], code=transfer.number)
    receive_item(document=opened, code="CASE-A", quantity=5)
    receive_item(document=opened, code="CABLE-B", quantity=2)
    start = putaway_start(warehouse=world["cn"], code="CASE-A")
    assert start.suggested == floor["p1"] and start.available == 5  # CASE-A's pick face, not its bulk bin
    with pytest.raises(Conflict) as not_storage:
        putaway_to(start=start, bin_code=start.from_bin.code, quantity=1)
    assert not_storage.value.code == "not_storage"
    with pytest.raises(Conflict) as too_many:
        putaway_to(start=start, bin_code="A-01-01-01", quantity=6)
    assert too_many.value.code == "too_many"
    putaway_to(start=start, bin_code="a-01-01-01", quantity=5)
    assert on_hand(floor["p1"], world["a"]) == 8

    empty_face = BinFactory(warehouse=world["cn"], code="A-02-01-01", pick_sequence=30)
    assert putaway_suggest(world["cn"], world["b"]) == floor["p2"]  # CABLE-B lives in A-01-01-02
    fresh = ProductFactory(sku="NEW-SKU")
    assert putaway_suggest(world["cn"], fresh) in (empty_face, world["bins"]["CN1"])
    with pytest.raises(Conflict) as nothing:
        putaway_start(warehouse=world["cn"], code="CASE-A")
    assert nothing.value.code == "nothing_to_put_away"


def test_a_put_back_tasks_units_are_put_away_and_the_task_is_done(world, floor):
    tote = BinFactory(warehouse=world["cn"], code="TOTE-1", kind=Bin.Kind.PACKING, is_sellable=False)
    stock_receive(product=world["b"], bin=tote, quantity=1, reference="PCL1")
    task = PutBackTask.objects.create(
        warehouse=world["cn"], product=world["b"], quantity=1, reference="PCL1", from_bin=tote
    )
    start = putaway_start(warehouse=world["cn"], code="CABLE-B")
    assert start.task == task and start.from_bin == tote and start.suggested == floor["p2"]
    putaway_to(start=start, bin_code="A-01-01-02", quantity=1)
    task.refresh_from_db()
    assert task.status == PutBackTask.Status.DONE and on_hand(tote, world["b"]) == 0


def test_a_bin_is_counted_into_its_open_count_and_items_move_bin_to_bin(world, floor):
    with pytest.raises(Conflict) as no_count:
        count_for_bin(warehouse=world["cn"], code="A-01-01-01")
    assert no_count.value.code == "no_open_count"
    stock_count_open(warehouse=world["cn"], bins=[floor["p1"]])
    count, bin_ = count_for_bin(warehouse=world["cn"], code="A-01-01-01")
    assert count_submit(count=count, bin=bin_, counted={world["a"].pk: 2}) == 1
    line = StockCountLine.objects.get(count=count, product=world["a"])
    assert (line.expected_quantity, line.counted_quantity) == (3, 2)

    move_items(warehouse=world["cn"], from_code="B-01-01-01", product_code="CASE-A", quantity=4, to_code="A-01-01-01")
    assert on_hand(floor["bulk"], world["a"]) == 46 and on_hand(floor["p1"], world["a"]) == 7
    with pytest.raises(Conflict) as same:
        move_items(
            warehouse=world["cn"], from_code="B-01-01-01", product_code="CASE-A", quantity=1, to_code="B-01-01-01"
        )
    assert same.value.code == "same_bin"
    with pytest.raises(NotFound) as unknown:
        move_items(warehouse=world["cn"], from_code="Z-99", product_code="CASE-A", quantity=1, to_code="B-01-01-01")
    assert unknown.value.code == "unknown_bin"
