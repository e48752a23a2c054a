"""Stock admin: lists with a fixed number of queries, a ledger nobody can edit, count and transfer actions."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.count_services import stock_count_open, stock_count_record
from inventory.models import Bin, Reservation, ReservationEvent, StockCount, StockLevel, StockMove, Transfer
from inventory.stock_services import stock_adjust, stock_receive, stock_reserve
from inventory.transfer_services import transfer_create, transfer_ship
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = ["stocklevel", "inventorybalance", "stockmove", "reservation", "transfer", "stockcount"]


@pytest.fixture
def site():
    shenzhen = WarehouseFactory(code="SZ")
    los_angeles = WarehouseFactory(code="LA", country="US")
    return {
        "shenzhen": shenzhen,
        "los_angeles": los_angeles,
        "pick": BinFactory(warehouse=shenzhen, code="A-01-01-01", kind=Bin.Kind.PICK),
        "la_pick": BinFactory(warehouse=los_angeles, code="A-01-01-01", kind=Bin.Kind.PICK),
    }


@pytest.fixture
def superuser_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(superuser=True))
    return client


def add_stock(site, number: int) -> None:
    """One product with stock, a reservation, a transfer and an open count per ``number``."""
    product = ProductFactory()
    count_bin = BinFactory(warehouse=site["shenzhen"], code=f"C-01-01-{number:02d}")
    stock_receive(product=product, bin=site["pick"], quantity=5)
    stock_receive(product=product, bin=count_bin, quantity=2)
    stock_reserve(warehouse=site["shenzhen"], lines=[(product, 1)], reference=f"order-line:{number}")
    transfer_create(source=site["shenzhen"], destination=site["los_angeles"], lines=[(product, 1, None)])
    stock_count_open(warehouse=site["shenzhen"], bins=[count_bin])


def changelist_queries(client: Client, model_name: str) -> int:
    url = reverse(f"admin:inventory_{model_name}_changelist")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, model_name
    return len(captured)


def test_changelists_run_the_same_queries_for_one_row_and_twenty(superuser_client, site):
    add_stock(site, 0)
    one = {name: changelist_queries(superuser_client, name) for name in CHANGELISTS}
    for number in range(1, 20):
        add_stock(site, number)
    many = {name: changelist_queries(superuser_client, name) for name in CHANGELISTS}
    assert many == one
    assert max(one.values()) <= 8


def test_change_pages_of_transfers_counts_and_moves_load(superuser_client, site):
    add_stock(site, 0)
    for model, obj in (
        ("transfer", Transfer.objects.get()),
        ("stockcount", StockCount.objects.get()),
        ("stockmove", StockMove.objects.first()),
    ):
        response = superuser_client.get(reverse(f"admin:inventory_{model}_change", args=[obj.pk]))
        assert response.status_code == 200, model


def test_the_ledger_cannot_be_added_to_changed_or_deleted_in_the_admin(superuser_client, site, rf, make_user):
    product = ProductFactory(sku="CASE-1")
    move = stock_receive(product=product, bin=site["pick"], quantity=3)
    model_admin = admin.site._registry[StockMove]
    request = rf.get("/")
    request.user = make_user(superuser=True)
    assert (
        model_admin.has_add_permission(request),
        model_admin.has_change_permission(request, move),
        model_admin.has_delete_permission(request, move),
    ) == (False, False, False)

    assert superuser_client.get(reverse("admin:inventory_stockmove_add")).status_code == 403
    change_url = reverse("admin:inventory_stockmove_change", args=[move.pk])
    assert superuser_client.post(change_url, {"quantity": 300, "reason": "receipt"}).status_code == 403
    assert (
        superuser_client.post(reverse("admin:inventory_stockmove_delete", args=[move.pk]), {"post": "yes"}).status_code
        == 403
    )
    changelist = reverse("admin:inventory_stockmove_changelist")
    response = superuser_client.post(changelist, {"action": "delete_selected", "_selected_action": [move.pk]})
    assert response.status_code == 200  # the action does not exist: the list is shown again
    move.refresh_from_db()
    assert (StockMove.objects.count(), move.quantity) == (1, 3)


def test_stock_level_list_hides_zeros_and_links_to_the_ledger_of_the_bin(superuser_client, site):
    product = ProductFactory(sku="CASE-1")
    stock_receive(product=product, bin=site["pick"], quantity=3)
    empty = ProductFactory(sku="GONE-1")
    stock_receive(product=empty, bin=site["la_pick"], quantity=1)
    stock_adjust(product=empty, bin=site["la_pick"], delta=-1, note="lost")
    changelist = reverse("admin:inventory_stocklevel_changelist")
    body = superuser_client.get(changelist).content.decode()
    assert "CASE-1" in body and "GONE-1" not in body
    assert "GONE-1" in superuser_client.get(changelist, {"quantity": "zero"}).content.decode()
    ledger_link = f"/admin/inventory/stockmove/?product={product.pk}&amp;bin={site['pick'].pk}"
    assert ledger_link in body
    ledger = superuser_client.get(
        reverse("admin:inventory_stockmove_changelist"), {"product": product.pk, "bin": site["pick"].pk}
    )
    assert ledger.status_code == 200
    assert list(ledger.context["cl"].result_list) == list(StockMove.objects.filter(product=product))


def test_approve_action_posts_the_count_adjustment(superuser_client, site):
    product = ProductFactory(sku="CASE-1")
    stock_receive(product=product, bin=site["pick"], quantity=10)
    count = stock_count_open(warehouse=site["shenzhen"], bins=[site["pick"]])
    stock_count_record(count=count, bin=site["pick"], product=product, counted_quantity=7)

    changelist = reverse("admin:inventory_stockcount_changelist")
    list_page = superuser_client.get(changelist).content.decode()
    assert "1 of 1" in list_page and "-3" in list_page  # lines counted, net variance
    response = superuser_client.post(changelist, {"action": "approve", "_selected_action": [count.pk]}, follow=True)
    assert response.status_code == 200
    assert f"Approved: {count.number}." in [str(message) for message in response.context["messages"]]
    count.refresh_from_db()
    assert count.status == "approved"
    move = StockMove.objects.get(reason="count")
    assert (move.product_id, move.from_bin_id, move.quantity, move.reference) == (
        product.pk,
        site["pick"].pk,
        3,
        count.number,
    )
    assert StockLevel.objects.get(product=product, bin=site["pick"]).on_hand == 7

    # Approving it again is refused with the service's words, and changes nothing.
    response = superuser_client.post(changelist, {"action": "approve", "_selected_action": [count.pk]}, follow=True)
    assert [str(message) for message in response.context["messages"]] == [
        f"{count.number}: Count {count.number} is approved; it cannot become approved "
        "(from here it can become: nothing, it is closed)."
    ]
    assert StockMove.objects.filter(reason="count").count() == 1


def test_transfer_ship_and_cancel_actions(superuser_client, site):
    product = ProductFactory(sku="CASE-1")
    stock_receive(product=product, bin=site["pick"], quantity=4)
    shipped = transfer_create(source=site["shenzhen"], destination=site["los_angeles"], lines=[(product, 3, None)])
    short = transfer_create(
        source=site["shenzhen"], destination=site["los_angeles"], lines=[(ProductFactory(sku="NONE-1"), 1, None)]
    )
    changelist = reverse("admin:inventory_transfer_changelist")
    response = superuser_client.post(
        changelist, {"action": "ship", "_selected_action": [shipped.pk, short.pk]}, follow=True
    )
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        f"{short.number}: Not enough NONE-1 in warehouse SZ (sellable bins, 0 reserved for orders): asked for 1, "
        "0 available.",
        f"Shipped: {shipped.number}.",
    ]
    response = superuser_client.post(changelist, {"action": "cancel", "_selected_action": [short.pk]}, follow=True)
    assert [str(message) for message in response.context["messages"]] == [f"Cancelled: {short.number}."]
    assert dict(Transfer.objects.values_list("number", "status")) == {
        shipped.number: "shipped",
        short.number: "cancelled",
    }
    assert StockMove.objects.filter(reason="transfer_out").get().quantity == 3


def test_transfer_receive_action_asks_for_a_bin_then_receives_everything_in_transit(superuser_client, site):
    product = ProductFactory(sku="LAMP-1")
    stock_receive(product=product, bin=site["pick"], quantity=5)
    transfer = transfer_create(source=site["shenzhen"], destination=site["los_angeles"], lines=[(product, 4, None)])
    transfer_ship(transfer=transfer)
    changelist = reverse("admin:inventory_transfer_changelist")

    page = superuser_client.post(changelist, {"action": "receive_in_full", "_selected_action": [transfer.pk]})
    assert page.status_code == 200
    body = page.content.decode()
    assert f"Receive transfers into {site['los_angeles'].code}" in body
    # Only bins of the destination are offered.
    # (as options: the page's hidden inputs hold value="1" too, which bin 1 would match)
    assert f'<option value="{site["la_pick"].pk}"' in body and f'<option value="{site["pick"].pk}"' not in body
    assert not StockMove.objects.filter(reason="transfer_in").exists()

    done = superuser_client.post(
        changelist,
        {"action": "receive_in_full", "_selected_action": [transfer.pk], "apply": "1", "bin": site["la_pick"].pk},
        follow=True,
    )
    assert f"Received into A-01-01-01: {transfer.number}." in [str(m) for m in done.context["messages"]]
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.RECEIVED
    assert StockLevel.objects.get(product=product, bin=site["la_pick"]).on_hand == 4

    again = superuser_client.post(
        changelist,
        {"action": "receive_in_full", "_selected_action": [transfer.pk], "apply": "1", "bin": site["la_pick"].pk},
        follow=True,
    )
    assert any("nothing in transit" in str(m) for m in again.context["messages"])
    assert StockLevel.objects.get(product=product, bin=site["la_pick"]).on_hand == 4


@pytest.mark.parametrize(
    ("model", "index"),
    [
        (StockMove, "stockmove_ref_prefix_idx"),
        (Reservation, "reservation_ref_prefix_idx"),
        (ReservationEvent, "reservation_ref_prefix_idx"),
    ],
)
def test_the_search_of_growing_lists_is_answered_by_indexes(rf, make_user, model, index):
    """An exact SKU or the start of a reference: PostgreSQL's plan for the admin's own query can read the
    reference-prefix index and the product-id index instead of every row."""
    product = ProductFactory(sku="SEARCH-1")
    model_admin = admin.site._registry[model]
    request = rf.get("/", {"q": "SEARCH-1"})
    request.user = make_user(superuser=True)
    queryset, may_have_duplicates = model_admin.get_search_results(
        request, model_admin.get_queryset(request), "SEARCH-1"
    )
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # Only bitmap scans are left to the planner, and a bitmap scan needs an index condition: the plan reads
        # the indexes if they answer the search, and falls back to a (disabled) sequential scan if not.
        for plan_kind in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{plan_kind} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
    # Either index on the product answers the exact SKU: the composite one or Django's own foreign-key index.
    assert "Index Cond: (product_id = " in plan, plan
    assert str(product.pk) in str(params)
    assert may_have_duplicates is False


def test_the_ledger_and_reservations_are_searched_by_exact_sku_or_reference_prefix(superuser_client, site):
    wanted = ProductFactory(sku="CASE-RED")
    other = ProductFactory(sku="CASE-RED-XL")
    stock_receive(product=wanted, bin=site["pick"], quantity=5, reference="PO-2026-0001")
    stock_receive(product=other, bin=site["pick"], quantity=5, reference="PO-2026-0002")
    stock_reserve(warehouse=site["shenzhen"], lines=[(other, 1)], reference="order-line:77")
    stock_reserve(warehouse=site["shenzhen"], lines=[(wanted, 1)], reference="order-line:78")

    def found(model_name: str, term: str) -> list[int]:
        response = superuser_client.get(reverse(f"admin:inventory_{model_name}_changelist"), {"q": term})
        assert response.status_code == 200
        return sorted(row.pk for row in response.context["cl"].result_list)

    by_sku = sorted(StockMove.objects.filter(product=wanted).values_list("pk", flat=True))
    assert found("stockmove", "case-red") == by_sku  # exact SKU, any case; CASE-RED-XL is another product
    assert found("stockmove", "PO-2026-000") == sorted(StockMove.objects.values_list("pk", flat=True))
    assert found("stockmove", "2026") == []  # the start of a reference, not any part of it
    assert found("reservation", "order-line:7") == sorted(Reservation.objects.values_list("pk", flat=True))
    assert found("reservation", "CASE-RED-XL") == [Reservation.objects.get(product=other).pk]
    events_of_wanted = sorted(ReservationEvent.objects.filter(reservation__product=wanted).values_list("pk", flat=True))
    assert found("reservationevent", "CASE-RED") == events_of_wanted
    assert found("reservationevent", "order-line:78") == events_of_wanted
