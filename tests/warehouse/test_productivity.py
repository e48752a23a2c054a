"""Productivity per person and per day, from scans made through the services: scans, refused scans, pick tasks
and units picked, parcels packed and scans per hour, exact, in the selector, the API and the admin page."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.errors import NotFound
from tests.orders.factories import line_in
from tests.warehouse.floor import criteria, orders
from warehouse.models import ScanEvent, Wave, WaveParcel
from warehouse.packing import pack_item, pack_open, pack_weigh
from warehouse.picking import pick_bin, pick_item, pick_next, pick_start
from warehouse.scans import ScanDone, scan_record
from warehouse.selectors import productivity
from warehouse.waves import wave_create, wave_labels_make, wave_release

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 2)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@pytest.fixture
def worked(world, floor, make_user):
    """In Shenzhen on DAY: li.na picks a wave of K-1 (2 CASE-A) and K-2 (1 CABLE-B), with one wrong item, in five
    scans from 09:00 to 11:00; wang.fang packs both parcels in eight scans within a minute, with one wrong item.
    The day before, li.na made one refused hand-over scan; on DAY she scanned once in Los Angeles too."""
    orders(world, ("K-1", [line_in("L1", "CASE-A", 2)]), ("K-2", [line_in("L1", "CABLE-B", 1)]))
    wave = wave_release(wave=wave_create(criteria=criteria(world)))
    wave_labels_make(wave=wave)
    picker = make_user("Picker/packer", username="li.na")
    packer = make_user("Picker/packer", username="wang.fang")
    cn = world["cn"]

    def scan(user, step: str, code: str, do, quantity: int | None = None) -> ScanEvent:
        def done():
            answer = do()
            return ScanDone(message=str(getattr(answer, "message", "")), quantity=quantity, wave=wave)

        return scan_record(user=user, warehouse=cn, step=step, code=code, do=done, wave=wave).event

    pick_start(wave=wave, user=picker)
    first = pick_next(wave)  # CABLE-B at A-01-01-02, then CASE-A at A-01-01-01
    picks = [
        scan(picker, "pick", first.bin.code, lambda: pick_bin(wave=wave, task_id=first.pk, code=first.bin.code)),
        scan(picker, "pick", "CASE-A", lambda: pick_item(wave=wave, task_id=first.pk, code="CASE-A", user=picker), 1),
        scan(picker, "pick", "CABLE-B", lambda: pick_item(wave=wave, task_id=first.pk, code="CABLE-B", user=picker), 1),
    ]
    second = pick_next(wave)
    picks += [
        scan(picker, "pick", second.bin.code, lambda: pick_bin(wave=wave, task_id=second.pk, code=second.bin.code)),
        scan(
            picker,
            "pick",
            "CASE-A",
            lambda: pick_item(wave=wave, task_id=second.pk, code="CASE-A", quantity=2, user=picker),
            2,
        ),
    ]
    for event, minute in zip(picks, (0, 10, 20, 30, 120), strict=True):
        ScanEvent.objects.filter(pk=event.pk).update(created_at=at(DAY, 9) + dt.timedelta(minutes=minute))

    packs = []
    for order_id, items, grams in (("K-1", ["CASE-A", "CASE-A"], 420), ("K-2", ["CASE-A", "CABLE-B"], 120)):
        packs.append(
            scan(packer, "pack", order_id, lambda order_id=order_id: pack_open(code=order_id, warehouse_id=cn.pk))
        )
        entry = WaveParcel.objects.get(parcel__lines__order__channel_order_id=order_id)
        for sku in items:
            packs.append(scan(packer, "pack", sku, lambda sku=sku, entry=entry: pack_item(entry=entry, code=sku)))
        packs.append(
            scan(
                packer,
                "pack",
                str(grams),
                lambda grams=grams, entry=entry: pack_weigh(entry=entry, grams=grams, user=packer),
            )
        )
    for second_, event in enumerate(packs):
        ScanEvent.objects.filter(pk=event.pk).update(created_at=at(DAY, 14) + dt.timedelta(seconds=second_ * 5))
    WaveParcel.objects.filter(wave=wave).update(packed_at=at(DAY, 14, 1))
    Wave.objects.filter(pk=wave.pk).update(released_at=at(DAY, 8))

    def unknown_parcel() -> ScanDone:
        raise NotFound("No parcel has that label.", code="unknown_parcel")

    refused = scan_record(user=picker, warehouse=cn, step="hand_over", code="RR000000000CN", do=unknown_parcel).event
    ScanEvent.objects.filter(pk=refused.pk).update(created_at=at(DAY - dt.timedelta(days=1), 17))
    elsewhere = scan_record(
        user=picker, warehouse=world["us"], step="count", code="A-1", do=lambda: ScanDone(message="ok")
    ).event
    ScanEvent.objects.filter(pk=elsewhere.pk).update(created_at=at(DAY, 12))
    return {"wave": wave, "picker": picker, "packer": packer}


def figures(rows) -> list[tuple]:
    return [
        (
            row.day,
            row.username,
            row.scans,
            row.errors,
            row.lines_picked,
            row.units_picked,
            row.parcels_packed,
            row.hours,
            row.scans_per_hour,
        )
        for row in rows
    ]


def test_each_person_and_day_gets_exact_figures(worked, world, django_assert_num_queries):
    with django_assert_num_queries(4):
        rows = productivity(date_from=DAY - dt.timedelta(days=1), date_to=DAY, warehouse_id=world["cn"].pk)

    assert WaveParcel.objects.filter(status=WaveParcel.Status.PACKED).count() == 2
    assert figures(rows) == [
        # one refused scan: a quarter of an hour at least, so 4 an hour
        (DAY - dt.timedelta(days=1), "li.na", 1, 1, 0, 0, 0, Decimal("0.25"), Decimal("4.0")),
        # five scans from 09:00 to 11:00, one refused; two pick tasks, 3 units
        (DAY, "li.na", 5, 1, 2, 3, 0, Decimal("2.00"), Decimal("2.5")),
        # eight scans in 35 seconds, one refused; two parcels packed
        (DAY, "wang.fang", 8, 1, 0, 0, 2, Decimal("0.25"), Decimal("32.0")),
    ]
    every_warehouse = productivity(date_from=DAY, date_to=DAY)
    assert [(row.username, row.scans, row.hours) for row in every_warehouse] == [
        ("li.na", 6, Decimal("3.00")),  # and the count in Los Angeles at 12:00
        ("wang.fang", 8, Decimal("0.25")),
    ]
    assert productivity(date_from=DAY + dt.timedelta(days=1), date_to=DAY + dt.timedelta(days=2)) == []


def test_the_api_gives_the_same_figures_and_refuses_a_bad_range(worked, world, api_client_for):
    manager = api_client_for("Warehouse manager")

    answer = manager.get(
        "/api/v1/productivity/", {"date_from": "2026-03-01", "date_to": "2026-03-02", "warehouse": "CN1"}
    )

    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["date_from"], body["date_to"], body["warehouse"]) == ("2026-03-01", "2026-03-02", world["cn"].pk)
    columns = ("day", "username", "scans", "errors", "lines_picked", "units_picked", "parcels_packed", "hours")
    assert [tuple(row[name] for name in (*columns, "scans_per_hour")) for row in body["rows"]] == [
        ("2026-03-01", "li.na", 1, 1, 0, 0, 0, 0.25, 4.0),
        ("2026-03-02", "li.na", 5, 1, 2, 3, 0, 2.0, 2.5),
        ("2026-03-02", "wang.fang", 8, 1, 0, 0, 2, 0.25, 32.0),
    ]
    assert body["rows"][1]["user"] == worked["picker"].pk
    backwards = manager.get("/api/v1/productivity/", {"date_from": "2026-03-02", "date_to": "2026-03-01"})
    assert backwards.status_code == 400 and backwards.json()["errors"][0]["field"] == "date_to"
    too_long = manager.get("/api/v1/productivity/", {"date_from": "2026-01-01", "date_to": "2026-06-01"})
    assert too_long.status_code == 400 and too_long.json()["errors"][0]["field"] == "date_from"
    unknown = manager.get("/api/v1/productivity/", {"warehouse": "NOWHERE"})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "warehouse"
    default = manager.get("/api/v1/productivity/").json()
    assert default["date_to"] == timezone.localdate().isoformat() and default["rows"] == []


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_admin_page_shows_the_same_table(worked, world, admin_client, language):
    url = reverse("admin:warehouse_scanevent_productivity")

    page = admin_client.get(
        url,
        {"date_from": "2026-03-02", "date_to": "2026-03-02", "warehouse": world["cn"].pk},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-day="2026-03-02"') == 2
    start = html.index(f'data-user="{worked["picker"].pk}"')
    picker_row = html[start : html.index("</tr>", start)]
    assert dict(re.findall(r'data-figure="([a-z-]+)"[^>]*>([^<]*)<', picker_row)) == {
        "scans": "5",
        "errors": "1",
        "lines-picked": "2",
        "units-picked": "3",
        "parcels-packed": "0",
        "scans-per-hour": "2.5",
    }
    assert ("首页" in html) == (language == "zh-hans")  # the page is in the reader's language
    refused = admin_client.get(url, {"date_from": "2026-03-02", "date_to": "2026-01-01"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "Must be a day from date_from on." in refused.content.decode()


def test_productivity_and_the_scan_log_are_the_managers(api_client_for):
    assert api_client_for("Picker/packer").get("/api/v1/productivity/").status_code == 403
    assert api_client_for("Picker/packer").get("/api/v1/scans/").status_code == 403
    assert api_client_for("Warehouse manager").get("/api/v1/productivity/").status_code == 200
