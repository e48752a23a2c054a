"""An order whose parcel is already in a (draft) wave: cancelling it keeps the parcel in the wave, unreserved;
a change that would allocate it again (set by hand) is refused with a 409 naming the parcel. (Found by
Schemathesis: both answered 500, the wave protecting the parcel from deletion.)"""

from __future__ import annotations

import pytest

from core.errors import Conflict
from inventory.models import Reservation
from orders.fulfilment import order_cancel, order_set_by_hand
from orders.models import Order, Parcel
from tests.orders.factories import line_in
from tests.warehouse.floor import criteria, orders
from warehouse.models import WaveParcel
from warehouse.waves import wave_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def waved(world, floor):
    orders(world, ("W-1", [line_in("L1", "CASE-A", 2)]))
    wave = wave_create(criteria=criteria(world))
    order = Order.objects.get(channel_order_id="W-1")
    parcel = Parcel.objects.get(lines__order=order)
    assert order.status == Order.Status.ALLOCATED
    return order, parcel, wave


def test_cancelling_an_order_whose_parcel_is_in_a_wave_keeps_the_parcel_unreserved(waved):
    order, parcel, wave = waved

    cancelled = order_cancel(order=order, reason="Buyer asked")

    assert cancelled.status == Order.Status.CANCELLED
    parcel.refresh_from_db()
    assert (parcel.reserved_at, parcel.warehouse_id) == (None, None)
    assert list(WaveParcel.objects.filter(wave=wave).values_list("parcel_id", flat=True)) == [parcel.pk]
    assert list(Reservation.objects.filter(reference=parcel.number).values_list("quantity_reserved", flat=True)) == [0]


def test_setting_an_order_in_a_wave_by_hand_is_refused_and_changes_nothing(world, waved):
    order, parcel, _wave = waved

    with pytest.raises(Conflict) as refused:
        order_set_by_hand(order=order, method=world["method"])

    assert refused.value.code == "parcel_in_wave"
    assert refused.value.context == {"parcel": parcel.number}
    parcel.refresh_from_db()
    assert parcel.reserved_at is not None
    assert list(Reservation.objects.filter(reference=parcel.number).values_list("quantity_reserved", flat=True)) == [2]
    assert Order.objects.get(pk=order.pk).status == Order.Status.ALLOCATED


def test_the_api_answers_409_for_set_by_hand_and_200_for_a_cancel(world, waved, admin_api):
    order, _parcel, _wave = waved

    by_hand = admin_api.post(
        f"/api/v1/orders/{order.pk}/set-by-hand/", {"shipping_method": world["method"].code}, format="json"
    )
    assert by_hand.status_code == 409, by_hand.content
    assert by_hand.json()["code"] == "parcel_in_wave"

    cancel = admin_api.post(f"/api/v1/orders/{order.pk}/cancel/", {}, format="json")
    assert cancel.status_code == 200, cancel.content
    assert cancel.json()["status"] == "cancelled"
