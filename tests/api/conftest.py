"""The served OpenAPI schema, read once per test module."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()
