"""`manage.py bootstrap`: everything a first start needs, printed once; a second run reuses it and creates nothing."""

from __future__ import annotations

import io
import re
import stat

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Max
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from access.keys import key_hash
from access.models import ApiToken
from core.schedules import IDEMPOTENCY_EXPIRE_TASK, OUTBOX_DRAIN_TASK, THROTTLE_PRUNE_TASK
from demo.management.commands.bootstrap import ADMIN_PASSWORD_FILE
from inventory.models import Bin, BundleComponent, Product, Warehouse
from inventory.schedules import PERIODIC_TASKS
from logistics.schedules import LABELS_TASK, TRACKING_TASK, VOIDS_TASK
from orders.schedules import ALLOCATION_TASK
from purchasing.models import Supplier, SupplierProduct
from purchasing.schedules import STOCKOUT_DAYS_TASK, SUGGESTIONS_TASK

pytestmark = pytest.mark.django_db

LOGIN_RE = re.compile(r"Login\s+admin / (\S+)")
TOKEN_RE = re.compile(r"API token\s+(sb_[0-9a-f]{8}_[A-Za-z0-9_-]{43})")


@pytest.fixture
def data_dir(settings, tmp_path, monkeypatch):
    """bootstrap keeps its generated admin password in the data folder; give it a fresh one."""
    monkeypatch.delenv("SEABRIDGE_ADMIN_PASSWORD", raising=False)
    settings.DATA_DIR = tmp_path
    # DEBUG on skips collectstatic, which has its own test below.
    settings.DEBUG = True
    return tmp_path


def bootstrap(*arguments: str) -> str:
    output = io.StringIO()
    call_command("bootstrap", *arguments, stdout=output)
    return output.getvalue()


def snapshot() -> dict[str, tuple]:
    user_model = get_user_model()
    state = {}
    for model in (Warehouse, Bin, Product, BundleComponent, Supplier, SupplierProduct):
        latest = "updated_at" if hasattr(model, "updated_at") else "id"
        state[model.__name__] = (model.objects.count(), model.objects.aggregate(latest=Max(latest))["latest"])
    for model in (Group, user_model, PeriodicTask):
        state[model.__name__] = model.objects.count()
    state["live API tokens"] = ApiToken.objects.filter(revoked_at__isnull=True).count()
    state["admin password hash"] = user_model.objects.get(username="admin").password
    return state


def test_bootstrap_prints_a_working_admin_login_and_api_token(data_dir):
    output = bootstrap("--port", "8123")

    password = LOGIN_RE.search(output).group(1)
    token = TOKEN_RE.search(output).group(1)
    assert "Home        http://127.0.0.1:8123/" in output
    assert "Demo users  manager, picker, purchaser, service, partner (same password)" in output
    assert "http://127.0.0.1:8123/api/docs/" in output
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(password)
    assert get_user_model().objects.get(username="manager").check_password(password)
    (live,) = ApiToken.objects.filter(user=admin, revoked_at__isnull=True)
    assert (live.name, live.scopes, live.all_stores, live.all_warehouses) == ("make run", ["*"], True, True)
    assert live.key_hash == key_hash(token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get("/api/v1/products/")
    assert response.status_code == 200
    assert response.json()["count"] == Product.objects.count() > 50
    # The generated password is kept for the next run, readable by its owner only.
    stored = data_dir / ADMIN_PASSWORD_FILE
    assert stored.read_text().strip() == password
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_bootstrap_a_second_time_reuses_everything_and_creates_nothing(data_dir):
    first = bootstrap()
    before = snapshot()

    second = bootstrap()

    assert snapshot() == before
    assert "Demo data: already loaded." in second
    assert "Migrations: up to date." in second
    assert LOGIN_RE.search(second).group(1) == LOGIN_RE.search(first).group(1)
    # The key cannot be printed twice (only its hash is kept): the run's token is rotated, the old key refused.
    old_key, new_key = TOKEN_RE.search(first).group(1), TOKEN_RE.search(second).group(1)
    assert old_key != new_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old_key}")
    assert client.get("/api/v1/products/").json()["code"] == "token_revoked"
    client.credentials(HTTP_AUTHORIZATION=f"Token {new_key}")
    assert client.get("/api/v1/products/").status_code == 200
    assert ApiToken.objects.filter(name="make run").count() == 2


def test_admin_password_from_the_environment_is_used_and_resets_a_forgotten_one(data_dir, monkeypatch):
    bootstrap()
    monkeypatch.setenv("SEABRIDGE_ADMIN_PASSWORD", "a-new-admin-password-42")

    output = bootstrap()

    assert LOGIN_RE.search(output).group(1) == "a-new-admin-password-42"
    assert get_user_model().objects.get(username="admin").check_password("a-new-admin-password-42")


def test_bootstrap_writes_every_app_periodic_task_for_beat(data_dir):
    output = bootstrap("--no-demo")

    names = set(PeriodicTask.objects.values_list("name", flat=True))
    expected = {daily.name for daily in PERIODIC_TASKS} | {
        ALLOCATION_TASK,
        TRACKING_TASK,
        LABELS_TASK,
        VOIDS_TASK,
        SUGGESTIONS_TASK,
        STOCKOUT_DAYS_TASK,
        OUTBOX_DRAIN_TASK,
        IDEMPOTENCY_EXPIRE_TASK,
        THROTTLE_PRUNE_TASK,
    }
    assert expected <= names
    allocation = PeriodicTask.objects.get(name=ALLOCATION_TASK)
    assert (allocation.task, allocation.interval.every) == ("orders.tasks.orders_allocate_task", 1)
    assert f"Periodic tasks: {len(expected)} ({len(expected)} created or updated)" in output
    assert f"Periodic tasks: {len(expected)}, unchanged" in bootstrap("--no-demo")


def test_an_admin_whose_password_is_unknown_is_left_alone(data_dir):
    get_user_model().objects.create_superuser(username="admin", email="a@example.com", password="chosen-by-a-person-1")

    output = bootstrap()

    assert "password unchanged" in output
    assert get_user_model().objects.get(username="admin").check_password("chosen-by-a-person-1")
    # No password file is made up for an admin it would not open.
    assert not (data_dir / ADMIN_PASSWORD_FILE).exists()


def test_bootstrap_without_demo_data_loads_none(data_dir):
    output = bootstrap("--no-demo")

    assert TOKEN_RE.search(output)
    assert not Warehouse.objects.exists()
    assert not Product.objects.exists()
    assert Group.objects.filter(name="Picker/packer").exists()


def test_bootstrap_collects_static_files_when_debug_is_off(data_dir, settings):
    settings.DEBUG = False
    settings.STATIC_ROOT = data_dir / "static"

    output = bootstrap("--no-demo")

    assert f"Static files: collected in {data_dir / 'static'}" in output
    assert (data_dir / "static" / "admin" / "css" / "base.css").exists()
    # whitenoise serves the compressed copies it made next to each file.
    assert (data_dir / "static" / "admin" / "css" / "base.css.gz").exists()
