"""The audit trail: who changed an audited row, from where, what changed (secrets masked), in the change's own
transaction; the admin's list and each record's history."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from celery import shared_task
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models.deletion import Collector
from django.forms import MultiWidget
from django.test import Client
from django.urls import reverse

from access.models import ApiToken
from access.services import token_create
from channels.models import Store
from channels.services import store_create, store_update
from core.audit import audit_connect, audit_context
from core.audit_models import AuditEntry
from inventory.models import Bin, BundleComponent, Product, StockCountLine, Warehouse
from inventory.services import product_delete, warehouse_update
from tests.inventory.factories import ProductFactory, WarehouseFactory
from tests.processes import database_url

pytestmark = pytest.mark.django_db

# The login throttle comes first in AUTHENTICATION_BACKENDS and signs nobody in.
MODEL_BACKEND = "core.permissions.ModelBackend"
CREDENTIALS = {"client_id": "id-1", "client_secret": "very-secret-value", "refresh_token": "r-1"}


def entries_of(instance) -> list[AuditEntry]:
    content_type = ContentType.objects.get_for_model(type(instance))
    return list(AuditEntry.objects.filter(content_type=content_type, object_id=str(instance.pk)).order_by("id"))


def form_data(response) -> dict:
    """The POST data of an admin change form as it was shown (its fields' current values)."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(field.widget, MultiWidget):  # a date and a time
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(item) for item in value]
        else:
            data[name] = "" if value is None else str(value)
    return data


@pytest.fixture
def boss(make_user):
    return make_user(superuser=True, username="boss")


@pytest.fixture
def boss_client(boss) -> Client:
    client = Client()
    client.force_login(boss, backend=MODEL_BACKEND)
    return client


def test_an_admin_edit_records_the_user_the_source_and_each_changed_field(boss, boss_client):
    warehouse = WarehouseFactory(code="SZ1", name="Shenzhen", priority=10)
    url = reverse("admin:inventory_warehouse_change", args=[warehouse.pk])
    data = form_data(boss_client.get(url))
    data.update(name="Shenzhen main", priority="5")

    response = boss_client.post(url, data)

    assert response.status_code == 302
    [created, changed] = entries_of(warehouse)
    assert (created.action, created.source, created.actor_label) == ("create", "system", "system")
    assert (changed.action, changed.source, changed.actor, changed.actor_label) == ("update", "admin", boss, "boss")
    assert changed.changes == {"name": ["Shenzhen", "Shenzhen main"], "priority": [10, 5]}
    assert changed.object_repr == str(Warehouse.objects.get(pk=warehouse.pk))
    assert len(changed.request_id) == 32


def test_an_api_edit_with_a_token_records_the_token_and_its_user(admin_api):
    product = ProductFactory(sku="AB-1", name="Phone case")
    token = ApiToken.objects.get(user=admin_api.user)

    response = admin_api.patch(f"/api/v1/products/{product.pk}/", {"name": "Phone case, red"}, format="json")

    assert response.status_code == 200, response.json()
    changed = entries_of(product)[-1]
    assert (changed.action, changed.source, changed.actor) == ("update", "api", admin_api.user)
    assert changed.actor_label == f"token {token.prefix}… of {admin_api.user.username}"
    assert changed.changes == {"name": ["Phone case", "Phone case, red"]}


def test_the_request_id_given_by_the_proxy_is_kept(admin_api):
    product = ProductFactory(sku="AB-1", name="Phone case")

    admin_api.patch(f"/api/v1/products/{product.pk}/", {"name": "Case"}, format="json", HTTP_X_REQUEST_ID="req-42")

    assert entries_of(product)[-1].request_id == "req-42"


def test_the_bulk_import_records_one_entry_with_its_counts(admin_api):
    ProductFactory(sku="OLD-1", name="Old")
    rows = [{"sku": "OLD-1", "name": "Old, renamed"}, {"sku": "NEW-1", "name": "New"}, {"sku": "NEW-2", "name": "N2"}]

    response = admin_api.post("/api/v1/products/bulk-upsert/", rows, format="json")

    assert response.status_code == 200, response.json()
    [entry] = AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Product), object_id="")
    assert (entry.action, entry.source, entry.actor, entry.object_repr) == (
        "update",
        "api",
        admin_api.user,
        "products bulk upsert",
    )
    assert entry.changes == {"created": [None, 2], "updated": [None, 1], "rows": [None, 3]}


def test_generated_bins_are_recorded_as_one_entry_with_the_block(admin_api):
    """Generating a block of bins writes them in bulk (no signals): one entry names the count and the codes."""
    warehouse = WarehouseFactory(code="SZ-1")
    body = {
        "warehouse": warehouse.pk,
        "zones": ["a"],
        "aisles": {"first": 1, "last": 2},
        "racks": {"first": 1, "last": 2},
    }
    body["levels"] = {"first": 1, "last": 1}

    response = admin_api.post("/api/v1/bins/generate/", body, format="json")

    assert response.status_code == 201, response.json()
    [entry] = AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Bin))
    assert (entry.action, entry.source, entry.actor, entry.object_id, entry.object_repr, entry.changes) == (
        "update",
        "api",
        admin_api.user,
        "",
        "4 bins generated in SZ-1: A-01-01-01 … A-02-01-01",
        {"created": [None, 4]},
    )
    # Nothing new to make (every code there already, skipped): nothing recorded.
    again = admin_api.post("/api/v1/bins/generate/", {**body, "skip_existing": True}, format="json")
    assert again.status_code == 201 and again.json()["count"] == 0, again.json()
    assert AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Bin)).count() == 1


def test_a_bundles_components_are_recorded_line_by_line(admin_api):
    """A bundle's components are replaced in bulk: each line made is recorded as a save would be, each line removed
    as a delete."""
    ProductFactory(sku="CASE-1", name="Case")
    ProductFactory(sku="CABLE-1", name="Cable")
    made = admin_api.post(
        "/api/v1/products/",
        {"sku": "KIT-1", "name": "Kit", "is_bundle": True, "components": [{"sku": "CASE-1", "quantity": 1}]},
        format="json",
    )
    assert made.status_code == 201, made.json()
    changed = admin_api.patch(
        f"/api/v1/products/{made.json()['id']}/", {"components": [{"sku": "CABLE-1", "quantity": 2}]}, format="json"
    )
    assert changed.status_code == 200, changed.json()

    component_type = ContentType.objects.get_for_model(BundleComponent)
    rows = AuditEntry.objects.filter(content_type=component_type).order_by("id")
    assert [(entry.action, entry.object_repr, entry.actor, entry.source) for entry in rows] == [
        ("create", "KIT-1 = 1 × CASE-1", admin_api.user, "api"),
        ("delete", "KIT-1 = 1 × CASE-1", admin_api.user, "api"),
        ("create", "KIT-1 = 2 × CABLE-1", admin_api.user, "api"),
    ]
    assert rows[2].object_id == str(BundleComponent.objects.get().pk)
    assert rows[2].changes["quantity"] == [None, 2]


def test_the_admin_spreadsheet_import_records_each_row_as_an_import(boss, boss_client):
    ProductFactory(sku="OLD-1", name="Old")
    content = b"sku,name\nOLD-1,Old renamed\nNEW-1,New one\n"
    preview = boss_client.post(
        reverse("admin:inventory_product_import"),
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("p.csv", content)},
    )
    assert AuditEntry.objects.filter(source="import").count() == 0  # the preview was rolled back, and its entries

    response = boss_client.post(
        reverse("admin:inventory_product_process_import"), preview.context["confirm_form"].initial
    )

    assert response.status_code == 302
    rows = AuditEntry.objects.filter(source="import").order_by("id")
    assert [(entry.action, entry.object_repr.split(" ")[0], entry.actor) for entry in rows] == [
        ("update", "OLD-1", boss),
        ("create", "NEW-1", boss),
    ]
    assert rows[0].changes == {"name": ["Old", "Old renamed"]}


def test_a_delete_records_what_the_row_held(boss):
    product = ProductFactory(sku="GONE-1", name="Gone", weight_g=120)
    product_id = product.pk

    with audit_context(label="system/command cleanup", source="command"):
        product_delete(product=product)

    entry = AuditEntry.objects.get(action="delete")
    assert (entry.object_id, entry.object_repr, entry.actor_label, entry.source) == (
        str(product_id),
        "GONE-1 Gone",
        "system/command cleanup",
        "command",
    )
    assert entry.changes["sku"] == ["GONE-1", None]
    assert entry.changes["weight_g"] == [120, None]


def test_a_group_change_is_recorded_on_the_user_either_way(make_user, roles, boss_client, boss):
    user = make_user(username="ann")
    url = reverse("admin:auth_user_change", args=[user.pk])
    data = form_data(boss_client.get(url))
    data.update(groups=[str(roles["Purchaser"].pk)], is_staff="")
    del data["is_staff"]

    response = boss_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    roles["Picker/packer"].user_set.add(user)

    [*_, admin_edit, reverse_add] = entries_of(user)
    # The admin saved the user, then its groups: one entry.
    assert (admin_edit.actor, admin_edit.source) == (boss, "admin")
    assert admin_edit.changes == {
        "is_staff": [True, False],
        "groups": {"added": ["Purchaser"], "removed": []},
    }
    assert (reverse_add.actor_label, reverse_add.changes) == (
        "system",
        {"groups": {"added": ["Picker/packer"], "removed": []}},
    )

    Group.objects.get(name="Purchaser").user_set.clear()
    assert entries_of(user)[-1].changes == {"groups": {"added": [], "removed": ["Purchaser"]}}


def test_secrets_are_marked_changed_and_never_stored(make_user):
    store = store_create(channel="ebay", name="eBay US", credentials=CREDENTIALS)
    store_update(store=store, credentials={**CREDENTIALS, "client_secret": "another-secret"})
    user = make_user(username="ann")
    user.set_password("a-new-password-1")
    user.save()
    token, key = token_create(user=user, name="sync", scopes=["*"], all_stores=True, all_warehouses=True)

    store_created, store_changed = entries_of(store)
    assert store_created.changes["credentials_encrypted"] == "changed"
    assert store_changed.changes == {"credentials_encrypted": "changed"}
    assert entries_of(user)[-1].changes == {"password": "changed"}
    token_created = entries_of(token)[0]
    assert token_created.changes["key_hash"] == "changed"
    assert token_created.changes["prefix"] == [None, token.prefix]
    stored = str(list(AuditEntry.objects.values_list("changes", "object_repr")))
    stored_store = Store.objects.get(pk=store.pk)
    for secret in ("very-secret-value", "another-secret", stored_store.credentials_encrypted, user.password, key):
        assert secret not in stored
    assert token.key_hash not in stored


def test_nothing_is_recorded_when_the_change_is_rolled_back():
    warehouse = WarehouseFactory(code="SZ1", name="Shenzhen")
    before = AuditEntry.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        warehouse_update(warehouse=warehouse, data={"name": "Renamed"})
        assert AuditEntry.objects.count() == before + 1
        raise RuntimeError("the caller failed after the change")

    assert AuditEntry.objects.count() == before
    assert Warehouse.objects.get(pk=warehouse.pk).name == "Shenzhen"


def test_a_save_of_fields_that_move_by_themselves_costs_no_query_and_no_entry(django_assert_num_queries):
    store = store_create(channel="ebay", name="eBay US", credentials=CREDENTIALS)
    before = AuditEntry.objects.count()
    store.last_error = "timeout"
    store.failures_in_row = 3

    with django_assert_num_queries(1):  # the UPDATE alone: no row loaded, no entry written
        store.save(update_fields=["last_error", "failures_in_row"])

    assert AuditEntry.objects.count() == before


@shared_task(name="tests.audit_rename_warehouse")
def rename_warehouse(warehouse_id: int, name: str) -> None:
    warehouse_update(warehouse=Warehouse.objects.get(pk=warehouse_id), data={"name": name})


def test_a_celery_task_records_system_with_its_name():
    warehouse = WarehouseFactory(code="SZ1", name="Shenzhen")

    rename_warehouse.apply(args=[warehouse.pk, "By the task"])

    entry = entries_of(warehouse)[-1]
    assert (entry.actor, entry.actor_label, entry.source) == (None, "system/task tests.audit_rename_warehouse", "task")
    assert entry.changes == {"name": ["Shenzhen", "By the task"]}


def test_an_unknown_audited_model_stops_startup(settings):
    settings.AUDITED_MODELS = [*settings.AUDITED_MODELS, "inventory.NoSuchModel"]
    try:
        with pytest.raises(ImproperlyConfigured, match=r"inventory\.NoSuchModel"):
            audit_connect()
    finally:
        settings.AUDITED_MODELS = settings.AUDITED_MODELS[:-1]
        audit_connect()


def test_the_trail_and_a_record_s_history_in_the_admin(boss_client, make_user, roles):
    warehouse = WarehouseFactory(code="SZ1", name="Shenzhen")
    warehouse_update(warehouse=warehouse, data={"name": "Shenzhen main"})

    trail = boss_client.get(reverse("admin:core_auditentry_changelist"), {"q": "SZ1"})
    history = boss_client.get(reverse("admin:inventory_warehouse_history", args=[warehouse.pk]))

    assert trail.status_code == 200
    assert trail.context["cl"].result_count == 2
    assert history.status_code == 200
    assert [entry.action for entry, _lines in history.context["entries"]] == ["update", "create"]
    assert "Shenzhen → Shenzhen main" in history.content.decode()
    # Read only, and only for those who may see it: a warehouse manager yes, a picker no.
    entry = entries_of(warehouse)[-1]
    assert (
        boss_client.post(reverse("admin:core_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    )
    manager, picker = Client(), Client()
    manager.force_login(make_user("Warehouse manager"), backend=MODEL_BACKEND)
    picker.force_login(make_user("Picker/packer"), backend=MODEL_BACKEND)
    assert manager.get(reverse("admin:core_auditentry_changelist")).status_code == 200
    assert picker.get(reverse("admin:core_auditentry_changelist")).status_code == 403


def test_the_trail_list_runs_the_same_queries_for_one_entry_and_for_many(boss_client, django_assert_max_num_queries):
    url = reverse("admin:core_auditentry_changelist")
    WarehouseFactory(code="W1")
    boss_client.get(url)
    with django_assert_max_num_queries(20) as one:
        boss_client.get(url)
    for number in range(2, 30):
        WarehouseFactory(code=f"W{number}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        boss_client.get(url)


def test_models_not_audited_keep_their_fast_queryset_delete():
    # A delete signal with a receiver for a model makes Django load every row a queryset delete removes.
    collector = Collector(using="default")

    assert collector.can_fast_delete(StockCountLine.objects.all()) is True
    assert collector.can_fast_delete(Product.objects.all()) is False


@pytest.mark.django_db(transaction=True)
def test_a_management_command_records_itself_as_the_actor(tmp_path):
    # A real `manage.py products_import` process against the test database: the command's name is the actor.
    sheet = tmp_path / "products.csv"
    sheet.write_text("sku,name\nCMD-1,From the command\nCMD-2,Another\n", encoding="utf-8")
    environment = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict)}

    finished = subprocess.run(
        [sys.executable, "manage.py", "products_import", str(sheet)],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    [entry] = AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Product))
    assert (entry.actor, entry.actor_label, entry.source, entry.object_repr) == (
        None,
        "system/command products_import",
        "command",
        "products bulk upsert",
    )
    assert entry.changes == {"created": [None, 2], "updated": [None, 0], "rows": [None, 2]}
