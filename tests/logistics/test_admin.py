"""Rate cards in the admin: their zones and brackets from a spreadsheet, and back."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from logistics.models import RateZone
from tests.logistics.test_quotes import method_with_card

pytestmark = pytest.mark.django_db

SHEET = (
    "zone,countries,postcode_prefixes,max_weight_g,pricing,price_per_kg,first_weight_g,first_price,"
    "additional_unit_g,additional_price,registration_fee\n"
    "EU,DE FR,,2000,per_kg,70,,,,,19\n"
)


@pytest.fixture
def client(make_user) -> Client:
    client = Client()
    client.force_login(make_user(superuser=True))
    return client


def test_a_rate_sheet_is_imported_from_the_cards_page_and_downloaded_again(client):
    _method, card = method_with_card()
    page = client.get(reverse("admin:logistics_ratecard_change", args=[card.pk]), HTTP_ACCEPT_LANGUAGE="en")
    import_url = reverse("admin:logistics_ratecard_import", args=[card.pk])
    assert import_url in page.content.decode()

    bad = SHEET.replace("2000,per_kg,70", "heavy,per_kg,70")
    refused = client.post(import_url, {"file": SimpleUploadedFile("r.csv", bad.encode())}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200
    assert "Row 2, max_weight_g" in refused.content.decode()
    assert sorted(RateZone.objects.filter(card=card).values_list("code", flat=True)) == ["US", "US-W"]

    done = client.post(import_url, {"file": SimpleUploadedFile("r.csv", SHEET.encode())})
    assert done.status_code == 302
    assert list(RateZone.objects.filter(card=card).values_list("code", "countries")) == [("EU", ["DE", "FR"])]

    exported = client.get(reverse("admin:logistics_ratecard_export", args=[card.pk]))
    assert exported["Content-Type"].startswith("text/csv")
    assert exported.content.decode("utf-8-sig").splitlines()[1] == "EU,DE FR,,2000,per_kg,70,,,,,19"
