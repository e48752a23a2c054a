"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.roles import roles_ensure


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
        token, _ = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        client.user = user
        return client

    return make


@pytest.fixture
def admin_api(api_client_for) -> APIClient:
    return api_client_for(superuser=True)


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()
