"""Shipments, manifests, label prints and carrier accounts in the admin: the lists with their filters and search,
the read-only pages with their inlines and links, and the actions (labels printed as one PDF in the list's order,
cancel, ask the carrier again, hand over, the manifest's PDF), each refusal a message naming its row."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from core.simulators import SimulatorServer
from logistics.carriers.self_printed import tracking_number_take
from logistics.manifests import manifest_close, manifest_open, manifest_scan
from logistics.models import CarrierAccount, LabelPrint, Manifest, Shipment, TrackingNumberRange
from logistics.printing import labels_print
from logistics.services import CARRIER_PRODUCTION_URLS, carrier_account_credentials
from logistics.shipments import shipment_cancel
from logistics.simulators.yunexpress import YunExpressSimulator
from orders.models import Order
from tests.logistics.parcels import shipped
from tests.logistics.test_shipments import pdf_text
from tests.logistics.test_yunexpress import account_for

pytestmark = pytest.mark.django_db


def action(client, model: str, name: str, rows, **extra):
    """Run an admin action on ``rows`` from the changelist (``extra`` as the list's query string)."""
    url = reverse(f"admin:logistics_{model}_changelist")
    if extra:
        url += "?" + "&".join(f"{key}={value}" for key, value in extra.items())
    data = {"action": name, "index": "0", "_selected_action": [row.pk for row in rows]}
    return client.post(url, data, follow=True, HTTP_ACCEPT_LANGUAGE="en")


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_shipment_list_renders_with_each_filter_and_search(admin_client, world, post):
    first, second = shipped(world, post, "A-1", "A-2")
    manifest = manifest_open(account=post)
    manifest_scan(manifest=manifest, code=first.tracking_number)
    url = reverse("admin:logistics_shipment_changelist")

    def listed(**query) -> str:
        response = admin_client.get(url, query)
        assert response.status_code == 200, query
        return response.content.decode()

    page = listed()
    assert first.tracking_number in page and second.tracking_number in page
    assert first.tracking_number in listed(account__carrier__exact="self")
    assert first.tracking_number not in listed(account__carrier__exact="yunexpress")
    assert first.tracking_number in listed(status__exact="label_ready")
    assert second.tracking_number not in listed(manifest_state="open")
    assert first.tracking_number not in listed(manifest_state="none")
    assert first.tracking_number in listed(method__id__exact=world["method"].pk, account__id__exact=post.pk)
    assert first.tracking_number in listed(created_at__year=str(first.created_at.year))
    assert first.tracking_number in listed(void_requested_at__isempty="1")
    searched = listed(q=second.tracking_number)
    assert second.tracking_number in searched and first.tracking_number not in searched
    assert second.number in listed(q="A-2")


def test_a_shipment_page_shows_its_lines_history_prints_and_a_download_link(admin_client, world, post, tmp_path):
    [shipment] = shipped(world, post, "P-1")
    labels_print(shipments=[shipment], batch="WAVE-3")

    page = admin_client.get(reverse("admin:logistics_shipment_change", args=[shipment.pk]))

    assert page.status_code == 200
    content = page.content.decode()
    label_url = reverse("admin:logistics_shipment_label", args=[shipment.pk])
    assert label_url in content
    assert "CASE-A" in content and "WAVE-3" in content  # its customs line and its print

    downloaded = admin_client.get(label_url, {"reason": "torn"})
    assert downloaded.status_code == 200 and downloaded["Content-Type"] == "application/pdf"
    assert shipment.tracking_number in pdf_text(downloaded.content, tmp_path)
    assert list(LabelPrint.objects.filter(shipment=shipment).order_by("pk").values_list("reprint", "reason")) == [
        (False, ""),
        (True, "torn"),
    ]
    prints = admin_client.get(reverse("admin:logistics_labelprint_changelist"), {"reprint__exact": "1"})
    assert prints.status_code == 200 and "torn" in prints.content.decode()
    searched = admin_client.get(reverse("admin:logistics_labelprint_changelist"), {"q": shipment.tracking_number})
    assert searched.status_code == 200 and "WAVE-3" in searched.content.decode()


def test_printing_labels_gives_one_pdf_in_the_lists_order_and_logs_each_print(admin_client, world, post):
    shipments = shipped(world, post, "L-1", "L-2", "L-3")

    response = action(admin_client, "shipment", "print_labels", shipments)

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    texts = [page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages]
    newest_first = list(reversed(shipments))  # the list's order: newest first
    firsts = [next(i for i, text in enumerate(texts) if shipment.tracking_number in text) for shipment in newest_first]
    assert firsts == sorted(firsts)
    assert LabelPrint.objects.filter(reprint=False).count() == 3

    by_number = action(admin_client, "shipment", "print_labels", shipments, o="1")  # sorted by number, ascending
    texts = [page.extract_text() for page in PdfReader(io.BytesIO(by_number.content)).pages]
    firsts = [next(i for i, text in enumerate(texts) if shipment.tracking_number in text) for shipment in shipments]
    assert firsts == sorted(firsts)
    assert LabelPrint.objects.filter(reprint=True).count() == 3


def test_a_print_with_a_cancelled_label_prints_nothing_and_names_it(admin_client, world, post):
    kept, cancelled = shipped(world, post, "X-1", "X-2")
    shipment_cancel(shipment=cancelled)

    response = action(admin_client, "shipment", "print_labels", [kept, cancelled])

    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    [message] = messages_of(response)
    assert cancelled.tracking_number in message and "no label to print" in message
    assert not LabelPrint.objects.exists()


def test_cancelling_voids_what_may_go_and_names_what_was_handed_over(admin_client, world, post):
    waiting, gone = shipped(world, post, "V-1", "V-2")
    manifest = manifest_open(account=post)
    manifest_scan(manifest=manifest, code=gone.tracking_number)
    manifest_close(manifest=manifest)

    response = action(admin_client, "shipment", "cancel_shipments", [waiting, gone])

    assert response.status_code == 200
    texts = messages_of(response)
    assert any(gone.tracking_number in text for text in texts)
    assert "1 shipment cancelled, its label voided." in texts
    assert Shipment.objects.get(pk=waiting.pk).status == Shipment.Status.CANCELLED
    assert Shipment.objects.get(pk=gone.pk).status == Shipment.Status.HANDED_OVER


def test_asking_the_carrier_again_gets_the_label_it_did_not_give(admin_client, world):
    simulator = YunExpressSimulator(customer_code="C12345", api_secret="s3cret")
    with SimulatorServer(simulator) as server:
        simulator.url = server.url
        account = account_for(simulator)
        simulator.fault("/api/WayBill/CreateOrder", status=503, times=1)
        [waiting] = shipped(world, account, "Y-1")
        assert waiting.status == Shipment.Status.CREATED

        response = action(admin_client, "shipment", "refresh_labels", [waiting])

    assert "1 shipment got its label." in messages_of(response)
    waiting.refresh_from_db()
    assert waiting.status == Shipment.Status.LABEL_READY and waiting.tracking_number


def test_a_manifest_is_opened_once_handed_over_and_printed(admin_client, world, post, tmp_path):
    first, second = shipped(world, post, "H-1", "H-2")
    add_url = reverse("admin:logistics_manifest_add")
    assert admin_client.get(add_url).status_code == 200
    form = {"account": post.pk, "warehouse": world["cn"].pk, "pickup": "afternoon van"}

    opened = admin_client.post(add_url, form)

    manifest = Manifest.objects.get()
    assert opened.status_code == 302 and opened["Location"] == reverse(
        "admin:logistics_manifest_change", args=[manifest.pk]
    )
    again = admin_client.post(add_url, form, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert Manifest.objects.count() == 1
    assert any(manifest.number in text and "open for this pickup already" in text for text in messages_of(again))

    for shipment in (first, second):
        manifest_scan(manifest=manifest, code=shipment.tracking_number)
    page = admin_client.get(reverse("admin:logistics_manifest_change", args=[manifest.pk]))
    content = page.content.decode()
    assert page.status_code == 200
    assert reverse("admin:logistics_manifest_pdf", args=[manifest.pk]) in content
    assert first.tracking_number in content and second.tracking_number in content
    listed = admin_client.get(reverse("admin:logistics_manifest_changelist"), {"status__exact": "open"})
    assert listed.status_code == 200 and manifest.number in listed.content.decode()

    handed = action(admin_client, "manifest", "hand_over", [manifest])

    assert f"Manifest {manifest.number} handed over: 2 parcels." in messages_of(handed)
    manifest.refresh_from_db()
    assert manifest.status == Manifest.Status.HANDED_OVER and manifest.parcel_count == 2
    assert Order.objects.get(channel_order_id="H-1").status == Order.Status.SHIPPED
    refused = action(admin_client, "manifest", "hand_over", [manifest_open(account=post)])
    assert any("has no parcels" in text for text in messages_of(refused))

    printed = action(admin_client, "manifest", "print_pdf", [manifest])
    assert printed["Content-Type"] == "application/pdf"
    assert first.tracking_number in pdf_text(printed.content, tmp_path)
    linked = admin_client.get(reverse("admin:logistics_manifest_pdf", args=[manifest.pk]))
    assert linked.status_code == 200 and manifest.number in pdf_text(linked.content, tmp_path)
    no_document = admin_client.get(
        reverse("admin:logistics_manifest_carrier_document", args=[manifest.pk]), follow=True
    )
    assert no_document.status_code == 200 and no_document.redirect_chain


def test_a_carrier_account_is_saved_with_its_label_format_and_encrypted_credentials(admin_client):
    add_url = reverse("admin:logistics_carrieraccount_add")
    page = admin_client.get(add_url)
    assert page.status_code == 200 and 'name="label_format"' in page.content.decode()
    inline = {
        "number_ranges-TOTAL_FORMS": "0",
        "number_ranges-INITIAL_FORMS": "0",
        "number_ranges-MIN_NUM_FORMS": "0",
        "number_ranges-MAX_NUM_FORMS": "1000",
    }
    form = {
        "carrier": "yunexpress",
        "name": "YunExpress Shenzhen",
        "api_base_url": "",
        "label_format": "zpl",
        "sender": "{}",
        "is_active": "on",
        **inline,
    }

    refused = admin_client.post(add_url, form, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert not CarrierAccount.objects.exists()
    assert any("credentials.customer_code" in text for text in messages_of(refused))

    saved = admin_client.post(add_url, {**form, "credentials": '{"customer_code": "C1", "api_secret": "s"}'})

    assert saved.status_code == 302
    account = CarrierAccount.objects.get()
    assert account.label_format == "zpl"
    assert account.api_base_url == CARRIER_PRODUCTION_URLS["yunexpress"]  # the service's default, as in the API
    assert carrier_account_credentials(account) == {"customer_code": "C1", "api_secret": "s"}
    listed = admin_client.get(reverse("admin:logistics_carrieraccount_changelist"), {"label_format__exact": "zpl"})
    assert listed.status_code == 200 and "YunExpress Shenzhen" in listed.content.decode()


def test_a_self_printed_accounts_ranges_start_at_their_first_number_and_keep_the_numbers_used(admin_client):
    add_url = reverse("admin:logistics_carrieraccount_add")
    row = {"scheme": "s10", "prefix": "RR", "suffix": "CN", "width": "8", "first_number": "1", "last_number": "10"}
    form = {
        "carrier": "self",
        "name": "China Post",
        "label_format": "pdf",
        "sender": "{}",
        "is_active": "on",
        "number_ranges-TOTAL_FORMS": "1",
        "number_ranges-INITIAL_FORMS": "0",
        "number_ranges-MIN_NUM_FORMS": "0",
        "number_ranges-MAX_NUM_FORMS": "1000",
        **{f"number_ranges-0-{name}": value for name, value in row.items()},
        "number_ranges-0-is_active": "on",
    }

    assert admin_client.post(add_url, form).status_code == 302

    [number_range] = TrackingNumberRange.objects.all()
    assert (number_range.first_number, number_range.next_number) == (1, 1)
    for _ in range(3):
        tracking_number_take(number_range.account_id)
    change_url = reverse("admin:logistics_carrieraccount_change", args=[number_range.account_id])
    changed = {
        **form,
        "number_ranges-INITIAL_FORMS": "1",
        "number_ranges-0-id": str(number_range.pk),
        "number_ranges-0-account": str(number_range.account_id),
        "number_ranges-0-last_number": "2",
    }
    refused = admin_client.post(change_url, changed, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "Numbers up to 3 are on labels already." in refused.content.decode()
    number_range.refresh_from_db()
    assert (number_range.last_number, number_range.next_number) == (10, 4)
