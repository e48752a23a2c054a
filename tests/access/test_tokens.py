"""API tokens: only a hash is stored; expired, revoked and unknown keys are refused by code; scopes per method;
both header schemes; last use noted at most once a minute; partners and the management command."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from access.keys import KEY_RE
from access.models import ApiToken, Partner
from access.services import partner_create, partner_update, token_create, token_revoke, token_rotate
from core.errors import ValidationFailed
from inventory.count_services import stock_count_open
from inventory.stock_services import stock_receive
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def client_for(key: str, scheme: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    return client


@pytest.fixture
def manager(make_user):
    return make_user("Warehouse manager")


def test_the_database_never_holds_the_key(manager):
    token, key = token_create(user=manager, name="3PL sync", scopes=["inventory:read"], all_warehouses=True)

    assert KEY_RE.match(key) and key.startswith(f"sb_{token.prefix}_")
    assert len(key) == len("sb_") + 8 + 1 + 43
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    secret = key[len(f"sb_{token.prefix}_") :]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM access_apitoken")
        rows = cursor.fetchall()
    assert not any(key in str(value) or secret in str(value) for row in rows for value in row)


def test_a_token_works_with_either_scheme_and_a_wrong_key_is_refused(manager):
    _token, key = token_create(user=manager, name="sync", scopes=["inventory:read"], all_warehouses=True)

    assert client_for(key).get("/api/v1/warehouses/").status_code == 200
    assert client_for(key, "Bearer").get("/api/v1/warehouses/").status_code == 200
    assert client_for(key, "bearer").get("/api/v1/warehouses/").status_code == 200

    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")  # the right prefix, another secret
    for bad in (wrong, "sb_00000000_" + "x" * 43, "not-a-key"):
        response = client_for(bad).get("/api/v1/warehouses/")
        assert response.status_code == 401
        assert response.json() == {"message": "Unknown API token.", "code": "token_invalid", "errors": []}
        assert response["WWW-Authenticate"] == "Token"


def test_an_expired_token_is_refused(manager):
    token, key = token_create(
        user=manager,
        name="sync",
        scopes=["*"],
        all_warehouses=True,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    assert client_for(key).get("/api/v1/warehouses/").status_code == 200

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client_for(key).get("/api/v1/warehouses/")
    assert response.status_code == 401
    assert response.json() == {"message": "This API token has expired.", "code": "token_expired", "errors": []}


def test_an_expiry_in_the_past_is_refused_at_creation(manager):
    with pytest.raises(ValidationFailed) as refused:
        token_create(user=manager, name="sync", scopes=["*"], expires_at=timezone.now() - timedelta(minutes=1))
    assert [(error.field, error.code) for error in refused.value.errors] == [("expires_at", "in_the_past")]


def test_a_revoked_token_is_refused_from_the_next_request(manager, make_user):
    admin = make_user(superuser=True)
    token, key = token_create(user=manager, name="sync", scopes=["*"], all_warehouses=True)
    assert client_for(key).get("/api/v1/warehouses/").status_code == 200

    token_revoke(token=token, by=admin)

    response = client_for(key).get("/api/v1/warehouses/")
    assert response.status_code == 401
    assert response.json() == {"message": "This API token has been revoked.", "code": "token_revoked", "errors": []}
    token.refresh_from_db()
    assert token.revoked_by == admin and token.revoked_at is not None
    revoked_at = token.revoked_at
    token_revoke(token=token, by=manager)  # again: nothing changes
    token.refresh_from_db()
    assert (token.revoked_at, token.revoked_by) == (revoked_at, admin)


def test_rotating_revokes_the_live_tokens_of_that_name_only(manager):
    first, first_key = token_create(user=manager, name="make run", scopes=["*"])
    other, _other_key = token_create(user=manager, name="other", scopes=["*"])

    second, second_key = token_rotate(user=manager, name="make run", scopes=["*"])

    assert first_key != second_key
    assert ApiToken.objects.get(pk=first.pk).revoked_at is not None
    assert ApiToken.objects.get(pk=other.pk).revoked_at is None
    assert ApiToken.objects.get(pk=second.pk).revoked_at is None


def test_last_use_is_noted_at_most_once_a_minute(manager):
    token, key = token_create(user=manager, name="sync", scopes=["*"], all_stores=True, all_warehouses=True)
    client = client_for(key)
    assert ApiToken.objects.get(pk=token.pk).last_used_at is None

    with CaptureQueriesContext(connection) as first_request:
        client.get("/api/v1/warehouses/")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None

    def token_statements(queries) -> list[str]:
        return [query["sql"].split()[0] for query in queries if '"access_apitoken"' in query["sql"]]

    assert token_statements(first_request) == ["SELECT", "UPDATE"]

    with CaptureQueriesContext(connection) as second_request:
        client.get("/api/v1/warehouses/")
    assert token_statements(second_request) == ["SELECT"]  # within the minute: read, not written again
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first

    # Once the last use is more than a minute old, the next request writes it again.
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(seconds=61))
    client.get("/api/v1/warehouses/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first


def test_a_limited_token_reads_the_ids_of_its_limited_dimensions_only(manager):
    warehouse = WarehouseFactory(code="SZ")
    _token, key = token_create(user=manager, name="sync", scopes=["*"], all_stores=True, warehouses=[warehouse])
    client = client_for(key)
    client.get("/api/v1/warehouses/")  # notes the first use
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/v1/warehouses/")
    token_queries = [query["sql"] for query in captured.captured_queries if "access_apitoken" in query["sql"]]
    # the token with its user, then its warehouses (once per request, however many querysets are narrowed)
    assert len(token_queries) == 2 and all(sql.startswith("SELECT") for sql in token_queries)
    assert "access_apitoken_warehouses" in token_queries[1] and "access_apitoken_stores" not in " ".join(token_queries)


def test_scopes_are_needed_per_method_as_well_as_the_roles_permission(manager):
    warehouse = WarehouseFactory(code="SZ")
    reader_key = token_create(user=manager, name="r", scopes=["inventory:read"], all_warehouses=True)[1]
    writer_key = token_create(user=manager, name="w", scopes=["inventory:write"], all_warehouses=True)[1]
    orders_key = token_create(user=manager, name="o", scopes=["orders:read"], all_warehouses=True)[1]
    change = {"name": "Shenzhen main"}

    assert client_for(reader_key).get(f"/api/v1/warehouses/{warehouse.pk}/").status_code == 200
    refused = client_for(reader_key).patch(f"/api/v1/warehouses/{warehouse.pk}/", change)
    assert refused.status_code == 403
    assert refused.json() == {
        "message": "This token's scopes do not allow it: it needs inventory:write.",
        "code": "scope_missing",
        "errors": [],
    }
    assert client_for(reader_key).delete(f"/api/v1/warehouses/{warehouse.pk}/").status_code == 403
    # write includes read
    assert client_for(writer_key).get(f"/api/v1/warehouses/{warehouse.pk}/").status_code == 200
    assert client_for(writer_key).patch(f"/api/v1/warehouses/{warehouse.pk}/", change).status_code == 200
    # another area's scope does not open this one
    response = client_for(orders_key).get("/api/v1/warehouses/")
    assert (response.status_code, response.json()["code"]) == (403, "scope_missing")
    assert response.json()["message"] == "This token's scopes do not allow it: it needs inventory:read."


def test_a_scope_does_not_lift_the_roles_ceiling(make_user):
    picker = make_user("Picker/packer")
    key = token_create(user=picker, name="p", scopes=["*"], all_warehouses=True)[1]
    warehouse = WarehouseFactory(code="SZ")

    assert client_for(key).get(f"/api/v1/warehouses/{warehouse.pk}/").status_code == 200
    response = client_for(key).patch(f"/api/v1/warehouses/{warehouse.pk}/", {"name": "x"})
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_the_token_scope_also_limits_what_a_view_checks_itself(manager):
    """Blind counts hide the book figures from who may not approve them: a read-only token may not, whatever its
    user's roles."""
    warehouse = WarehouseFactory(code="SZ")
    product = ProductFactory(sku="CASE-A")
    bin_ = BinFactory(warehouse=warehouse, code="A-01")
    stock_receive(product=product, bin=bin_, quantity=4, reference="PO-1")
    count = stock_count_open(warehouse=warehouse, is_blind=True, user=manager)
    reader = token_create(user=manager, name="r", scopes=["inventory:read"], all_warehouses=True)[1]
    writer = token_create(user=manager, name="w", scopes=["inventory:write"], all_warehouses=True)[1]

    hidden = client_for(reader).get(f"/api/v1/stock-counts/{count.pk}/").json()["lines"][0]["expected_quantity"]
    shown = client_for(writer).get(f"/api/v1/stock-counts/{count.pk}/").json()["lines"][0]["expected_quantity"]
    assert (hidden, shown) == (None, 4)


def test_sessions_are_not_limited_by_scopes(make_user, client):
    manager = make_user("Warehouse manager")
    client.force_login(manager)
    warehouse = WarehouseFactory(code="SZ")
    response = client.patch(
        f"/api/v1/warehouses/{warehouse.pk}/", {"name": "Shenzhen"}, content_type="application/json"
    )
    assert response.status_code == 200


def test_a_partner_acts_through_its_service_user_and_stops_when_deactivated(roles, make_user):
    partner = partner_create(name="Acme 3PL", notes="LA warehouse")
    user = partner.user
    assert (user.username, user.is_staff, user.has_usable_password()) == ("partner-acme-3pl", False, False)
    assert [group.name for group in user.groups.all()] == ["API partner"]
    token, key = token_create(user=user, name="orders", scopes=["orders:read"], all_stores=True)
    assert token.partner == partner
    assert client_for(key).get("/api/v1/orders/").status_code == 200
    # the role is the ceiling: API partner may not see carriers
    assert client_for(key).get("/api/v1/carriers/").status_code == 403

    partner_update(partner=partner, is_active=False)

    response = client_for(key).get("/api/v1/orders/")
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
    assert Partner.objects.get(pk=partner.pk).user.is_active is False


def test_unknown_scopes_are_refused(manager):
    with pytest.raises(ValidationFailed) as refused:
        token_create(user=manager, name="x", scopes=["orders:read", "stock:delete"])
    assert [(error.field, error.code) for error in refused.value.errors] == [("scopes", "invalid_choice")]


def test_the_management_command_prints_a_key_that_works(manager):
    warehouse = WarehouseFactory(code="SZ")
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "token_create",
        "--user",
        manager.username,
        "--name",
        "nightly export",
        "--scope",
        "inventory:read",
        "--warehouse",
        str(warehouse.pk),
        "--expires-in-days",
        "30",
        stdout=out,
        stderr=err,
    )
    key = out.getvalue().strip()
    token = ApiToken.objects.get(name="nightly export")
    assert KEY_RE.match(key) and token.prefix in key
    assert list(token.warehouses.values_list("pk", flat=True)) == [warehouse.pk]
    assert token.all_warehouses is False and token.scopes == ["inventory:read"]
    listed = client_for(key).get("/api/v1/warehouses/").json()
    assert [row["code"] for row in listed["results"]] == ["SZ"]
