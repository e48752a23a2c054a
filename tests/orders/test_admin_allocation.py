"""The order life cycle in the admin: why allocation chose what it did, the actions on the order list (allocate,
hold, release, cancel, merge, undo, set by hand) with refusals shown as messages, the merge suggestions, parcels
and put-back tasks."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from inventory.models import Reservation
from inventory.stock_services import stock_receive
from orders.allocation import rule_save
from orders.fulfilment import orders_allocate
from orders.imports import orders_upsert
from orders.models import Order, OrderHold, Parcel
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory
from tests.logistics.test_quotes import method_with_card
from tests.orders.factories import StoreFactory, line_in, order_in
from warehouse.models import PutBackTask

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:orders_order_changelist"


@pytest.fixture
def client(make_user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(make_user(superuser=True))
    return client


@pytest.fixture
def site():
    """Shenzhen with 10 of CASE-1 on a pick bin, one shipping method whose rate card takes the US, a store, and a
    rule that ships everything from Shenzhen."""
    shenzhen = WarehouseFactory(code="SZ", country="CN")
    product = ProductFactory(sku="CASE-1", weight_g=300)
    stock_receive(product=product, bin=BinFactory(warehouse=shenzhen), quantity=10)
    method, _card = method_with_card("YT-STD")
    rule_save(data={"name": "Ship from Shenzhen", "actions": [{"type": "set_warehouse", "warehouse": "SZ"}]})
    return {"warehouse": shenzhen, "product": product, "method": method, "store": StoreFactory()}


def import_orders(site, *order_ids: str, quantity: int = 1) -> list[Order]:
    line = line_in("L1", "CASE-1", quantity=quantity, product_id=site["product"].pk, product_quantity=quantity)
    orders_upsert(
        store_id=site["store"].pk,
        orders=[order_in(order_id, lines=[line], buyer_email="jane@example.com") for order_id in order_ids],
    )
    return list(Order.objects.filter(channel_order_id__in=order_ids).order_by("channel_order_id"))


def act(client: Client, action: str, orders: list[Order], **data):
    return client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [order.pk for order in orders], **data}
    )


def said(client: Client, response) -> list[tuple[str, str]]:
    """The messages ``response``'s request left; a page is then opened that shows them, so the next request
    starts with none."""
    found = [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]
    client.get(reverse("admin:index"))
    return found


def reserved(order: Order) -> int:
    numbers = Parcel.objects.filter(lines__order=order).values_list("number", flat=True)
    return sum(Reservation.objects.filter(reference__in=list(numbers)).values_list("quantity_reserved", flat=True))


def test_allocate_then_the_order_page_says_why_rule_by_rule_and_step_by_step_with_its_parcel(client, site):
    [order] = import_orders(site, "A-1", quantity=2)

    response = act(client, "allocate", [order])

    assert response.status_code == 302
    assert said(client, response) == [
        ("success", "1 allocated (1 parcels), 0 awaiting stock, 0 on hold, 0 busy elsewhere (the next run takes them).")
    ]
    order.refresh_from_db()
    parcel = Parcel.objects.get(lines__order=order)
    assert (order.status, order.warehouse.code, order.shipping_method.code) == ("allocated", "SZ", "YT-STD")
    assert reserved(order) == 2
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "<li>Ship from Shenzhen → Warehouse SZ.</li>" in text
    assert "<li>SZ can fill it all.</li>" in text
    assert "No rule chose a shipping method: the cheapest that can take it, YT-STD at" in text
    assert f"<dt>Parcels</dt><dd>{parcel.number}</dd>" in text
    assert '"rules":' not in text  # the decision is shown in words, never as JSON
    # The parcel inline: its number, warehouse, method and the line's quantity.
    assert parcel.number in text and "Method YT-STD (YT-STD)" in text

    listing = client.get(reverse(CHANGELIST), {"warehouse__id__exact": site["warehouse"].pk})
    assert listing.status_code == 200 and "A-1" in listing.content.decode()


def test_allocating_an_order_that_is_not_new_leaves_it_and_says_so(client, site):
    [order] = import_orders(site, "A-1")
    orders_allocate(order_ids=[order.pk])

    response = act(client, "allocate", [order])

    nothing = "0 allocated (0 parcels), 0 awaiting stock, 0 on hold, 0 busy elsewhere (the next run takes them)."
    assert said(client, response) == [
        ("warning", nothing),
        ("warning", "1 order was neither new nor awaiting stock: left as it is."),
    ]


def test_hold_asks_for_a_reason_on_its_own_page_then_holds_and_release_allocates_again(client, site):
    [order] = import_orders(site, "A-1")
    orders_allocate(order_ids=[order.pk])

    asked = act(client, "hold", [order])
    assert asked.status_code == 200
    assert 'name="reason"' in asked.content.decode() and 'value="hold"' in asked.content.decode()
    empty = act(client, "hold", [order], apply="1", reason="")
    assert empty.status_code == 200 and "This field is required." in empty.content.decode()
    order.refresh_from_db()
    assert order.status == "allocated"

    held = act(client, "hold", [order], apply="1", reason="Buyer asked to change the colour")

    assert held.status_code == 302
    assert said(client, held) == [("success", "1 order held.")]
    order.refresh_from_db()
    assert order.status == "on_hold" and reserved(order) == 0
    assert list(order.holds.filter(released_at__isnull=True).values_list("code", "detail")) == [
        ("manual", "Buyer asked to change the colour")
    ]
    listing = client.get(reverse(CHANGELIST), {"hold": "manual"})
    assert "A-1" in listing.content.decode()

    released = act(client, "release_holds", [order])

    assert said(client, released) == [("success", "Holds released on 1 order.")]
    order.refresh_from_db()
    assert order.status == "allocated" and reserved(order) == 1

    again = act(client, "release_holds", [order])

    assert again.status_code == 302
    assert said(client, again) == [("error", "Order A-1 has no open hold.")]


def test_cancel_gives_the_stock_back_and_a_refusal_is_a_message_not_a_server_error(client, site):
    [order] = import_orders(site, "A-1")
    orders_allocate(order_ids=[order.pk])

    cancelled = act(client, "cancel", [order])

    assert said(client, cancelled) == [("success", "1 order cancelled.")]
    order.refresh_from_db()
    assert order.status == "cancelled" and reserved(order) == 0

    refused = act(client, "hold", [order], apply="1", reason="Too late")

    assert refused.status_code == 302
    assert said(client, refused) == [("error", "Order A-1 is cancelled; it cannot be held now.")]
    assert not order.holds.filter(code=OrderHold.Code.MANUAL).exists()


def test_merge_makes_one_parcel_and_undo_gives_each_order_its_own_again(client, site):
    first, second = import_orders(site, "A-1", "A-2")
    orders_allocate(order_ids=[first.pk, second.pk])

    lonely = act(client, "merge", [first])
    assert said(client, lonely) == [("error", "Choose at least two orders to merge. orders: At least two orders.")]

    merged = act(client, "merge", [first, second])

    parcel = Parcel.objects.get(made_by="merge")
    assert said(client, merged) == [("success", f"A-1, A-2 merged into parcel {parcel.number}.")]
    assert sorted(parcel.lines.values_list("order__channel_order_id", flat=True)) == ["A-1", "A-2"]
    assert parcel.reserved_at is not None and parcel.warehouse.code == "SZ"
    assert set(Order.objects.values_list("status", flat=True)) == {"allocated"}

    undone = act(client, "parcels_undo", [first, second])

    assert said(client, undone) == [("success", "Merge or split undone on 2 orders; each is allocated again.")]
    assert not Parcel.objects.filter(made_by="merge").exists()
    assert Parcel.objects.filter(made_by="allocation").count() == 2
    first.refresh_from_db()
    assert first.status == "allocated" and reserved(first) == 1

    nothing = act(client, "parcels_undo", [first])
    assert said(client, nothing) == [("error", "Order A-1 is neither merged nor split.")]


def test_set_by_hand_asks_for_the_warehouse_or_method_and_allocates_there(client, site):
    los_angeles = WarehouseFactory(code="LA", country="US")
    stock_receive(product=site["product"], bin=BinFactory(warehouse=los_angeles), quantity=3)
    [order] = import_orders(site, "A-1")
    orders_allocate(order_ids=[order.pk])

    asked = act(client, "set_by_hand", [order])
    assert asked.status_code == 200 and 'name="warehouse"' in asked.content.decode()
    neither = act(client, "set_by_hand", [order], apply="1", warehouse="", shipping_method="")
    assert neither.status_code == 200 and "Choose a warehouse, a shipping method or both." in neither.content.decode()

    response = act(client, "set_by_hand", [order], apply="1", warehouse=los_angeles.pk, shipping_method="")

    assert said(client, response) == [("success", "1 order changed and allocated again.")]
    order.refresh_from_db()
    assert (order.status, order.warehouse.code, order.warehouse_by_hand.code) == ("allocated", "LA", "LA")
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "<li>Warehouse LA, set by hand.</li>" in page


def test_merge_suggestions_list_a_group_and_its_button_merges_it(client, site):
    first, second = import_orders(site, "A-1", "A-2")
    import_orders(site, "B-1")
    Order.objects.filter(channel_order_id="B-1").update(buyer_email="other@example.com", ship_name="Other")

    listing = client.get(reverse(CHANGELIST))
    assert reverse("admin:orders_order_merge_suggestions") in listing.content.decode()
    page = client.get(reverse("admin:orders_order_merge_suggestions"))

    assert page.status_code == 200
    text = page.content.decode()
    assert text.count('class="merge-group') == 1
    assert "A-1" in text and "A-2" in text and "B-1" not in text

    merged = client.post(reverse("admin:orders_order_merge_suggestions"), {"orders": [first.pk, second.pk]})

    assert merged.status_code == 302
    parcel = Parcel.objects.get(made_by="merge")
    assert said(client, merged) == [("success", f"A-1, A-2 merged into parcel {parcel.number}.")]
    after = client.get(reverse("admin:orders_order_merge_suggestions")).content.decode()
    assert 'id="no-merge-suggestions"' in after


def test_parcels_and_put_back_tasks_are_listed_and_a_task_is_marked_put_back(client, site, make_user):
    [order] = import_orders(site, "A-1")
    orders_allocate(order_ids=[order.pk])
    parcel = Parcel.objects.get()
    task = PutBackTask.objects.create(
        warehouse=site["warehouse"], product=site["product"], quantity=1, reference=parcel.number, order=order
    )

    parcels = client.get(reverse("admin:orders_parcel_changelist"))
    assert parcels.status_code == 200
    assert parcel.number in parcels.content.decode() and "A-1" in parcels.content.decode()
    assert client.get(reverse("admin:orders_parcel_change", args=[parcel.pk])).status_code == 200
    tasks = client.get(reverse("admin:warehouse_putbacktask_changelist"))
    assert tasks.status_code == 200 and parcel.number in tasks.content.decode()

    response = client.post(
        reverse("admin:warehouse_putbacktask_changelist"), {"action": "mark_put_back", "_selected_action": [task.pk]}
    )

    assert said(client, response) == [("success", "1 task marked put back.")]
    task.refresh_from_db()
    assert task.status == "done" and task.done_by == response.wsgi_request.user


def test_a_user_who_may_only_view_orders_gets_no_actions_and_no_merge_suggestions(site, make_user):
    viewer = Client(HTTP_ACCEPT_LANGUAGE="en")
    viewer.force_login(make_user("Purchaser"))
    [order] = import_orders(site, "A-1")

    listing = viewer.get(reverse(CHANGELIST))
    assert listing.status_code == 200
    assert 'value="allocate"' not in listing.content.decode()
    assert viewer.get(reverse("admin:orders_order_merge_suggestions")).status_code == 403
    act(viewer, "cancel", [order])
    order.refresh_from_db()
    assert order.status == "awaiting_shipment"


def test_the_store_form_has_split_orders_next_to_its_warehouses(client, site):
    page = client.get(reverse("admin:channels_store_change", args=[site["store"].pk])).content.decode()
    assert page.index('name="warehouses"') < page.index('name="split_orders"') < page.index('name="stock_buffer"')
