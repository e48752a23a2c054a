"""Idempotency-Key on API writes: a retry gets the first answer, another request with the key is refused, a second
request while the first runs gets 409, and keys expire after a day (core/idempotency.py)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from access.services import token_create
from core.idempotency import idempotency_records_expire
from core.idempotency_models import IdempotencyRecord
from inventory.models import Product, Warehouse
from tests.processes import database_url, wait_for

WAREHOUSES = "/api/v1/warehouses/"
PRODUCTS = "/api/v1/products/"
WAREHOUSE = {"code": "LA", "name": "Los Angeles", "country": "US", "kind": "overseas"}


def keyed(client, path: str, body, key: str, method: str = "post"):
    return getattr(client, method)(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_a_retry_gets_the_first_answer_and_runs_nothing_again(admin_api):
    first = keyed(admin_api, WAREHOUSES, WAREHOUSE, "create-la-1")
    assert first.status_code == 201, first.json()
    assert "Idempotent-Replayed" not in first

    again = keyed(admin_api, WAREHOUSES, WAREHOUSE, "create-la-1")
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert again["Idempotent-Replayed"] == "true"
    assert Warehouse.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.method, record.path, record.status_code, record.is_body_kept) == (
        "create-la-1",
        "POST",
        WAREHOUSES,
        201,
        True,
    )

    # Without the key the same body is a new request: the SKU rule of warehouses refuses the second code.
    plain = admin_api.post(WAREHOUSES, WAREHOUSE, format="json")
    assert plain.status_code == 400
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_or_path_is_refused(admin_api):
    assert keyed(admin_api, WAREHOUSES, WAREHOUSE, "k-1").status_code == 201

    other_body = keyed(admin_api, WAREHOUSES, {**WAREHOUSE, "code": "NY"}, "k-1")
    assert other_body.status_code == 422
    body = other_body.json()
    assert body["code"] == "idempotency_key_reused"
    assert body["errors"] == [
        {"message": "Already used for another request.", "code": "idempotency_key_reused", "field": "Idempotency-Key"}
    ]
    assert body["message"].startswith("This Idempotency-Key was used ")
    assert body["message"].endswith(" for POST /api/v1/warehouses/ with another body; use a new key for a new request.")

    other_path = keyed(admin_api, PRODUCTS, {"sku": "A-1", "name": "A"}, "k-1")
    assert other_path.status_code == 422
    assert list(Warehouse.objects.values_list("code", flat=True)) == ["LA"]
    assert Product.objects.count() == 0


@pytest.mark.django_db
def test_keys_belong_to_their_principal(admin_api, api_client_for, make_user, client):
    other = api_client_for(superuser=True)
    assert keyed(admin_api, WAREHOUSES, WAREHOUSE, "shared").status_code == 201
    # Another token with the same key runs its own request (here refused: the code exists), not the first's answer.
    response = keyed(other, WAREHOUSES, WAREHOUSE, "shared")
    assert response.status_code == 400
    assert "Idempotent-Replayed" not in response

    # A session's user is a principal too.
    client.force_login(make_user(superuser=True), backend="core.permissions.ModelBackend")
    created = client.post(
        PRODUCTS, {"sku": "S-1", "name": "S"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="s"
    )
    assert created.status_code == 201, created.json()
    replayed = client.post(
        PRODUCTS, {"sku": "S-1", "name": "S"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="s"
    )
    assert (replayed.status_code, replayed["Idempotent-Replayed"], replayed.content) == (201, "true", created.content)
    assert IdempotencyRecord.objects.count() == 3
    assert Product.objects.count() == 1


@pytest.mark.django_db
def test_a_refusal_is_kept_and_replayed_too(admin_api):
    bad = {**WAREHOUSE, "kind": "barn"}
    first = keyed(admin_api, WAREHOUSES, bad, "bad-1")
    assert first.status_code == 400
    again = keyed(admin_api, WAREHOUSES, bad, "bad-1")
    assert (again.status_code, again["Idempotent-Replayed"], again.content) == (400, "true", first.content)


@pytest.mark.django_db
def test_delete_and_patch_are_replayed(admin_api):
    warehouse_id = admin_api.post(WAREHOUSES, WAREHOUSE, format="json").json()["id"]
    patched = keyed(admin_api, f"{WAREHOUSES}{warehouse_id}/", {"priority": 5}, "p-1", method="patch")
    assert patched.status_code == 200
    assert keyed(admin_api, f"{WAREHOUSES}{warehouse_id}/", {"priority": 5}, "p-1", method="patch").content == (
        patched.content
    )
    deleted = keyed(admin_api, f"{WAREHOUSES}{warehouse_id}/", None, "d-1", method="delete")
    assert deleted.status_code == 204
    again = keyed(admin_api, f"{WAREHOUSES}{warehouse_id}/", None, "d-1", method="delete")
    assert (again.status_code, again["Idempotent-Replayed"]) == (204, "true")  # not 404: the first answer


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_refused_naming_the_header(admin_api, key):
    response = keyed(admin_api, WAREHOUSES, WAREHOUSE, key)
    assert response.status_code == 400
    message = "Idempotency-Key must be 1 to 255 printable ASCII characters (a UUID, for example)."
    assert response.json() == {
        "message": message,
        "code": "idempotency_key_invalid",
        "errors": [{"message": message, "code": "idempotency_key_invalid", "field": "Idempotency-Key"}],
    }
    assert Warehouse.objects.count() == 0


@pytest.mark.django_db
def test_an_answer_too_large_to_keep_is_not_run_again(admin_api, settings):
    settings.IDEMPOTENCY_RESPONSE_MAX_BYTES = 100
    first = keyed(admin_api, WAREHOUSES, WAREHOUSE, "big")
    assert first.status_code == 201 and len(first.content) > 100
    again = keyed(admin_api, WAREHOUSES, WAREHOUSE, "big")
    assert again.status_code == 409
    assert again.json()["code"] == "idempotency_response_too_large"
    assert again.json()["context"] == {"status": 201}
    assert Warehouse.objects.count() == 1
    assert IdempotencyRecord.objects.get().response_body is None


@pytest.mark.django_db
def test_reads_and_requests_without_a_key_leave_no_record(admin_api):
    admin_api.post(WAREHOUSES, WAREHOUSE, format="json")
    assert admin_api.get(WAREHOUSES, HTTP_IDEMPOTENCY_KEY="read").status_code == 200
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_records_expire_after_a_day(admin_api):
    assert keyed(admin_api, WAREHOUSES, WAREHOUSE, "old").status_code == 201
    assert keyed(admin_api, WAREHOUSES, {**WAREHOUSE, "code": "NY"}, "new").status_code == 201
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=24, seconds=1))

    # An expired key is a new key: another body is welcome, and runs.
    reused = keyed(admin_api, WAREHOUSES, {**WAREHOUSE, "code": "SZ"}, "old")
    assert reused.status_code == 201
    assert "Idempotent-Replayed" not in reused
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    assert idempotency_records_expire() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert idempotency_records_expire() == 0


@pytest.mark.django_db
def test_the_schema_documents_the_header_on_writes_only(admin_api):
    schema = admin_api.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/warehouses/"]
    names = lambda op: [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]  # noqa: E731
    assert names(operation["post"]) == ["Idempotency-Key"]
    assert names(operation["get"]) == []
    assert names(schema["paths"]["/api/v1/warehouses/{id}/"]["delete"]) == ["Idempotency-Key"]
    assert set(operation["post"]["responses"]) >= {"409", "422", "503"}
    assert "422" not in operation["get"]["responses"]


# --- two requests with one key at once, over HTTP ---------------------------------------------------------------


def _post(url: str, body: dict, *, key: str, token: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}", "Idempotency-Key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def _waiting_on_a_lock(test_connection: psycopg.Connection) -> bool:
    rows = test_connection.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO %%'"
    ).fetchone()
    return rows[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_second_request_while_the_first_runs_gets_409_then_the_replay(live_server, make_user):
    user = make_user(superuser=True)
    _token, token = token_create(user=user, name="race", scopes=["*"], all_stores=True, all_warehouses=True, by=user)
    url = f"{live_server.url}{WAREHOUSES}"
    first: list[tuple[int, dict, dict]] = []
    with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as holder:
        # The test holds the warehouses table so the first request's INSERT waits, mid-request, holding its key.
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE inventory_warehouse IN SHARE MODE")
        runner = threading.Thread(target=lambda: first.append(_post(url, WAREHOUSE, key="race-1", token=token)))
        runner.start()
        with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as watcher:
            wait_for(
                lambda: _waiting_on_a_lock(watcher),
                deadline_seconds=20,
                describe=lambda: "The first request never reached its INSERT.",
            )
        status, headers, body = _post(url, WAREHOUSE, key="race-1", token=token)
        assert (status, body["code"], headers["Retry-After"]) == (409, "idempotency_key_in_progress", "1")
        holder.execute("ROLLBACK")
        runner.join(timeout=30)
    assert first[0][0] == 201, first
    status, headers, body = _post(url, WAREHOUSE, key="race-1", token=token)
    assert (status, headers["Idempotent-Replayed"], body) == (201, "true", first[0][2])
    assert list(Warehouse.objects.values_list("code", flat=True)) == ["LA"]
    assert IdempotencyRecord.objects.get().status_code == 201
