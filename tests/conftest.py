"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone, translation
from rest_framework.test import APIClient

from access.services import token_create, token_last_used_touch
from core.roles import roles_ensure
from inventory.ledger import stock_drift_check

DATABASE_FIXTURES = (
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
)


@pytest.fixture(autouse=True)
def _stock_ends_drift_free(request):
    """After every test that used the database, stock levels and balances must agree with the ledger.

    That is how "no drift after the whole suite" is proven: every test ends drift-free. A test that breaks
    them on purpose says so with @pytest.mark.allows_stock_drift.
    """
    uses_database = request.node.get_closest_marker("django_db") is not None or any(
        name in request.fixturenames for name in DATABASE_FIXTURES
    )
    if not uses_database or request.node.get_closest_marker("allows_stock_drift") is not None:
        yield
        return
    # Set up the database first, so this fixture's teardown runs before the test's transaction is rolled
    # back (or its tables are flushed) and while database access is still allowed.
    request.getfixturevalue("_django_db_helper")
    yield
    if connection.needs_rollback:
        return  # the test left its transaction broken, so it has failed already and nothing can be read
    report = stock_drift_check()
    if not report.ok:
        pytest.fail("Stock drift after the test:\n" + "\n".join(report.lines()), pytrace=False)


@pytest.fixture(autouse=True)
def _language_reset():
    """Each test starts in the default language: a request through LocaleMiddleware leaves its language active
    in the thread, which would make the next test's English assertions depend on the order tests ran in."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def roles(db) -> dict[str, Group]:
    roles_ensure()
    return {group.name: group for group in Group.objects.all()}


@pytest.fixture
def make_user(db, roles):
    """make_user("Purchaser") -> a user in that role; make_user(superuser=True) for an admin."""

    def make(role: str | None = None, *, username: str | None = None, superuser: bool = False):
        user_model = get_user_model()
        name = username or f"user{user_model.objects.count() + 1}"
        user = user_model.objects.create_user(
            username=name, password="test-pass-123", is_staff=True, is_superuser=superuser
        )
        if role:
            user.groups.add(roles[role])
        return user

    return make


@pytest.fixture
def api_client_for(make_user):
    """api_client_for("Picker/packer") -> an APIClient authenticated with that user's token."""

    def make(role: str | None = None, *, superuser: bool = False) -> APIClient:
        user = make_user(role, superuser=superuser)
        token, key = token_create(user=user, name="tests", scopes=["*"], all_stores=True, all_warehouses=True, by=user)
        # Noted as just used, so a test's first request costs what every later one does (the query-count budgets);
        # the once-a-minute write of the last use is proven in tests/access.
        token_last_used_touch(token=token, now=timezone.now())
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        client.user = user
        return client

    return make


@pytest.fixture
def admin_api(api_client_for) -> APIClient:
    return api_client_for(superuser=True)


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()
