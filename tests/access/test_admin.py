"""The admin of API tokens and partners: a token is made through the service and its key shown once; revoking is an
action; a partner is made with its service user."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from access.keys import key_hash
from access.models import ApiToken, Partner
from access.services import token_create
from tests.inventory.factories import WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged(make_user) -> Client:
    client = Client()
    client.force_login(make_user(superuser=True, username="boss"))
    return client


def test_adding_a_token_shows_its_key_once_and_stores_its_hash(admin_client_logged, make_user):
    manager = make_user("Warehouse manager", username="alice")
    warehouse = WarehouseFactory(code="SZ")
    response = admin_client_logged.post(
        reverse("admin:access_apitoken_add"),
        {
            "user": manager.pk,
            "name": "3PL sync",
            "scopes": ["inventory:read", "orders:write"],
            "warehouses": [warehouse.pk],
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    token = ApiToken.objects.get(name="3PL sync")
    messages = " ".join(str(message) for message in get_messages(response.wsgi_request))
    [key] = re.findall(r"sb_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", messages)
    assert token.key_hash == key_hash(key) and key.startswith(f"sb_{token.prefix}_")
    assert (token.user, token.scopes, token.all_warehouses) == (manager, ["inventory:read", "orders:write"], False)
    assert list(token.warehouses.all()) == [warehouse]
    assert token.created_by.username == "boss"
    # The next page shows the message with the key; after that, no page does.
    first = admin_client_logged.get(reverse("admin:access_apitoken_changelist")).content.decode()
    again = admin_client_logged.get(reverse("admin:access_apitoken_changelist")).content.decode()
    assert key in first
    assert token.prefix in again and key not in again
    assert key not in admin_client_logged.get(reverse("admin:access_apitoken_change", args=[token.pk])).content.decode()


def test_the_revoke_action_revokes_the_selected_tokens(admin_client_logged, make_user):
    manager = make_user("Warehouse manager")
    token, _key = token_create(user=manager, name="old", scopes=["*"])
    response = admin_client_logged.post(
        reverse("admin:access_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by.username == "boss"


def test_adding_a_partner_makes_its_service_user(admin_client_logged, roles):
    response = admin_client_logged.post(
        reverse("admin:access_partner_add"),
        {
            "name": "Acme 3PL",
            "notes": "",
            "roles": [roles["API partner"].pk],
            "tokens-TOTAL_FORMS": "0",
            "tokens-INITIAL_FORMS": "0",
            "tokens-MIN_NUM_FORMS": "0",
            "tokens-MAX_NUM_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    partner = Partner.objects.get(name="Acme 3PL")
    assert partner.user.username == "partner-acme-3pl" and not partner.user.is_staff
    assert [group.name for group in partner.user.groups.all()] == ["API partner"]
