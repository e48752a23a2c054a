"""Waves, scans, pack checks, floor settings and productivity in the admin: every page renders in English and in
Chinese; the "Make a wave" page counts the parcels its criteria match and makes the wave (its refusals on the
form); the actions release, print pick lists, make labels and assign a picker, each refusal a message naming the
wave; pickers see waves and print their pick lists but release nothing."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from orders.models import Order
from tests.logistics.test_shipments import pdf_text
from tests.orders.factories import line_in
from tests.warehouse.floor import criteria, orders
from tests.warehouse.test_picking_packing import pick_all
from warehouse.models import FloorSettings, PickTask, ScanEvent, Wave
from warehouse.packing import pack_item, pack_open, pack_weigh
from warehouse.scans import ScanDone, scan_record
from warehouse.waves import wave_create, wave_release

pytestmark = pytest.mark.django_db

WAVES = "admin:warehouse_wave_changelist"


def action(client, name: str, waves, **extra):
    data = {"action": name, "index": "0", "_selected_action": [wave.pk for wave in waves], **extra}
    return client.post(reverse(WAVES), data, follow=True, HTTP_ACCEPT_LANGUAGE="en")


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def two_orders(world) -> None:
    orders(
        world,
        ("R-1", [line_in("L1", "CASE-A", 2), line_in("L2", "CABLE-B", 1)]),
        ("R-2", [line_in("L1", "CASE-A", 2)]),
    )


@pytest.fixture
def floor_day(world, floor, make_user):
    """A released wave of R-1 and R-2, picked; R-2 packed (a pack check) by a packer whose scans are recorded;
    Shenzhen's floor settings; and a draft wave of R-3."""
    two_orders(world)
    wave = wave_release(wave=wave_create(criteria=criteria(world)))
    pick_all(wave)
    packer = make_user("Picker/packer", username="wang.fang")
    cn = world["cn"]
    entry = scan_record(
        user=packer,
        warehouse=cn,
        step="pack",
        code="R-2",
        do=lambda: ScanDone(message="open", wave=wave),
    )
    state = pack_open(code="R-2", warehouse_id=cn.pk)
    for _ in range(2):
        pack_item(entry=state.entry, code="CASE-A")
    pack_weigh(entry=state.entry, grams=425, user=packer)
    FloorSettings.objects.filter(warehouse=cn).update(weight_tolerance_g=25)
    orders(world, ("R-3", [line_in("L1", "CABLE-B", 1)]))
    draft = wave_create(criteria=criteria(world))
    return {"wave": wave, "draft": draft, "scan": entry.event}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_page_renders_in_english_and_chinese(admin_client, world, floor_day, language):
    wave = floor_day["wave"]
    pages = [
        reverse(WAVES),
        reverse(WAVES) + "?status__exact=picked",
        reverse(WAVES) + f"?warehouse__id__exact={world['cn'].pk}&shape__exact=any",
        reverse(WAVES) + "?q=R-2",
        reverse("admin:warehouse_wave_change", args=[wave.pk]),
        reverse("admin:warehouse_wave_change", args=[floor_day["draft"].pk]),
        reverse("admin:warehouse_wave_add"),
        reverse("admin:warehouse_scanevent_changelist"),
        reverse("admin:warehouse_scanevent_changelist") + "?step__exact=pack&ok__exact=1",
        reverse("admin:warehouse_scanevent_change", args=[floor_day["scan"].pk]),
        reverse("admin:warehouse_packcheck_changelist"),
        reverse("admin:warehouse_floorsettings_changelist"),
        reverse("admin:warehouse_floorsettings_add"),
        reverse("admin:warehouse_floorsettings_change", args=[FloorSettings.objects.get().pk]),
        reverse("admin:warehouse_scanevent_productivity"),
    ]
    for url in pages:
        response = admin_client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        assert ("首页" in response.content.decode()) == (language == "zh-hans"), url
    content = admin_client.get(reverse("admin:warehouse_wave_change", args=[wave.pk])).content.decode()
    assert "R-1" in content and "A-01-01-02" in content and "5/5" in content
    assert reverse("admin:warehouse_wave_pick_list", args=[wave.pk]) in content
    found = admin_client.get(reverse(WAVES), {"q": "R-3"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert floor_day["draft"].number in found and wave.number not in found
    checks = admin_client.get(reverse("admin:warehouse_packcheck_changelist")).content.decode()
    assert "425" in checks and "wang.fang" in checks


def test_the_sidebar_links_the_floor_pages(admin_client, world, floor):
    page = admin_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for name in ("wave", "scanevent", "packcheck", "floorsettings"):
        assert reverse(f"admin:warehouse_{name}_changelist") in page, name
    assert reverse("admin:warehouse_scanevent_productivity") in page


def test_the_make_a_wave_page_counts_then_makes_the_wave(admin_client, world, floor):
    two_orders(world)
    url = reverse("admin:warehouse_wave_add")
    chosen = {"warehouse": world["cn"].pk, "shape": "any", "max_parcels": "200", "methods": [world["method"].pk]}

    counted = admin_client.post(url, {**chosen, "_preview": "1"}, HTTP_ACCEPT_LANGUAGE="en")

    assert counted.status_code == 200 and Wave.objects.count() == 0
    page = counted.content.decode()
    assert "2 parcels match now." in page and "R-1" in page and "R-2" in page

    made = admin_client.post(url, {**chosen, "_make": "1"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")

    wave = Wave.objects.get()
    assert made.redirect_chain[-1][0] == reverse("admin:warehouse_wave_change", args=[wave.pk])
    assert (wave.parcel_count, wave.unit_count, wave.status) == (2, 5, Wave.Status.DRAFT)
    assert messages_of(made) == [f"Wave {wave.number} made: 2 parcels, 5 units. Release it to pick it."]

    empty = admin_client.post(url, {**chosen, "_make": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    assert empty.status_code == 200 and "No allocated parcel matches" in empty.content.decode()
    assert "0 parcels match now." in empty.content.decode()
    bad = admin_client.post(url, {**chosen, "max_parcels": "0", "_make": "1"}, HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 200 and bad.context["form"].errors.keys() == {"max_parcels"}
    assert Wave.objects.count() == 1


def test_the_release_action_builds_the_path_and_names_each_refused_wave(
    admin_client, world, floor, django_capture_on_commit_callbacks
):
    two_orders(world)
    wave = wave_create(criteria=criteria(world))

    with django_capture_on_commit_callbacks(execute=False) as queued:
        released = action(admin_client, "release_waves", [wave])

    assert released.status_code == 200
    assert messages_of(released) == [f"Wave {wave.number} released: 3 stops to pick; its labels are being made."]
    assert list(PickTask.objects.order_by("sequence").values_list("bin__code", flat=True)) == [
        "B-01-01-01",
        "A-01-01-02",
        "A-01-01-01",
    ]
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.PICKING} and len(queued) == 1

    again = action(admin_client, "release_waves", [wave])
    assert again.status_code == 200
    assert messages_of(again) == [f"Wave {wave.number} was released already."]


def test_the_pick_list_action_prints_one_pdf_or_one_per_wave_joined(admin_client, world, floor, tmp_path):
    orders(world, ("P-1", [line_in("L1", "CASE-A", 1)]), ("P-2", [line_in("L1", "CABLE-B", 1)]))
    first = wave_release(wave=wave_create(criteria=criteria(world, max_parcels=1)))
    second = wave_release(wave=wave_create(criteria=criteria(world, max_parcels=1)))

    one = action(admin_client, "print_pick_lists", [first])

    assert one["Content-Type"] == "application/pdf" and one.content.startswith(b"%PDF")
    assert first.number in pdf_text(one.content, tmp_path)
    both = action(admin_client, "print_pick_lists", [first, second])
    assert len(PdfReader(io.BytesIO(both.content)).pages) == 2
    text = pdf_text(both.content, tmp_path)
    assert text.index(first.number) < text.index(second.number)
    linked = admin_client.get(reverse("admin:warehouse_wave_pick_list", args=[second.pk]))
    assert linked["Content-Type"] == "application/pdf" and second.number in pdf_text(linked.content, tmp_path)


def test_labels_again_and_assign_a_picker_by_actions(admin_client, make_user, world, floor):
    two_orders(world)
    wave = wave_release(wave=wave_create(criteria=criteria(world)))
    picker = make_user("Picker/packer", username="li.na")
    make_user("Purchaser", username="buyer")

    labelled = action(admin_client, "make_labels", [wave])
    assert messages_of(labelled) == [
        f"Wave {wave.number}: 2 labels ready, 0 waiting for the carrier, 0 refused (why: each parcel's note)."
    ]

    asked = action(admin_client, "assign_picker", [wave])
    assert asked.status_code == 200 and "li.na" in asked.content.decode()
    assert "buyer" not in asked.content.decode()  # only people who may pick are offered
    assigned = action(admin_client, "assign_picker", [wave], apply="1", picker=picker.pk)
    assert messages_of(assigned) == [f"Wave {wave.number} assigned to li.na."]
    wave.refresh_from_db()
    assert wave.picker == picker
    Wave.objects.filter(pk=wave.pk).update(status=Wave.Status.DONE)
    refused = action(admin_client, "assign_picker", [wave], apply="1", picker=picker.pk)
    assert messages_of(refused) == [f"Wave {wave.number} is Done: there is nothing left to pick."]


def test_pickers_see_waves_and_print_pick_lists_but_release_nothing(client, make_user, world, floor):
    two_orders(world)
    wave = wave_release(wave=wave_create(criteria=criteria(world)))
    client.force_login(make_user("Picker/packer"))

    listed = client.get(reverse(WAVES), HTTP_ACCEPT_LANGUAGE="en")

    assert listed.status_code == 200 and wave.number in listed.content.decode()
    choices = [name for name, _label in listed.context["action_form"].fields["action"].choices]
    assert "print_pick_lists" in choices and "release_waves" not in choices and "assign_picker" not in choices
    assert client.get(reverse("admin:warehouse_wave_add")).status_code == 403
    assert client.get(reverse("admin:warehouse_wave_pick_list", args=[wave.pk])).status_code == 200
    assert ScanEvent.objects.count() == 0


def test_floor_settings_are_edited_per_warehouse(admin_client, world):
    url = reverse("admin:warehouse_floorsettings_add")
    values = {"weight_tolerance_g": "40", "weight_tolerance_percent": "5", "packaging_g": "35"}

    added = admin_client.post(url, {"warehouse": world["cn"].pk, **values, "over_receipt_percent": "2"})

    assert added.status_code == 302
    settings = FloorSettings.objects.get(warehouse=world["cn"])
    assert (settings.weight_tolerance_g, settings.weight_tolerance_percent, settings.packaging_g) == (40, 5, 35)
    twice = admin_client.post(url, {"warehouse": world["cn"].pk, **values, "over_receipt_percent": "0"})
    assert twice.status_code == 200 and twice.context["adminform"].form.errors.keys() == {"warehouse"}
    change = reverse("admin:warehouse_floorsettings_change", args=[settings.pk])
    changed = admin_client.post(change, {"warehouse": world["us"].pk, **values, "over_receipt_percent": "10"})
    assert changed.status_code == 302
    settings.refresh_from_db()
    assert (settings.warehouse, settings.over_receipt_percent) == (world["cn"], 10)  # the warehouse stays
