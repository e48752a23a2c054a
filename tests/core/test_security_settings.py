"""Production settings pass `check --deploy`, and every kind of page carries the security headers."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SEABRIDGE_", "DJANGO_")) and key not in {"DEBUG", "SECRET_KEY", "CREDENTIALS_KEYS"}
    }
    environment.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(60),
        CREDENTIALS_KEYS=Fernet.generate_key().decode(),
        SEABRIDGE_HTTPS="1",
        ALLOWED_HOSTS="example.com",
        SEABRIDGE_DATA_DIR=str(tmp_path),
        # Never connected to: the checks read settings only (a URL, so no embedded server is started either).
        DATABASE_URL="postgresql://nobody@127.0.0.1:9/none",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "System check identified no issues (0 silenced).")
    assert "WARNING" not in result.stderr


EXPECTED_HEADERS = {
    "Content-Security-Policy": settings.CONTENT_SECURITY_POLICY,
    "Permissions-Policy": settings.PERMISSIONS_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@pytest.mark.parametrize(
    "path",
    [
        "/admin/login/",
        "/api/v1/no-such-route/",  # an API answer (its 404, in the API's shape)
        "/api/docs/",
        "/scan/login/",
    ],
)
def test_security_headers_on_every_kind_of_page(client, db, path):
    response = client.get(path)
    assert response.status_code in (200, 404)
    # Swagger UI too: its split view (a start script of its own, for the CSP) keeps Django's same-origin opener
    # policy, which drf-spectacular's single page lowered for an OAuth2 sign-in window this API does not use.
    assert {name: response.headers.get(name) for name in EXPECTED_HEADERS} == EXPECTED_HEADERS


def test_security_headers_on_signed_in_pages_and_api_answers(client, make_user):
    user = make_user(superuser=True)
    client.force_login(user)
    for path in (reverse("admin:index"), reverse("admin:inventory_product_changelist"), reverse("scan:home")):
        response = client.get(path)
        assert response.status_code in (200, 302), path
        assert {name: response.headers.get(name) for name in EXPECTED_HEADERS} == EXPECTED_HEADERS, path
    for path in ("/api/v1/products/", "/api/v1/warehouses/"):
        response = client.get(path, HTTP_AUTHORIZATION="Token not-a-token")
        assert response.status_code == 401, path
        assert {name: response.headers.get(name) for name in EXPECTED_HEADERS} == EXPECTED_HEADERS, path


def test_content_security_policy_names_no_other_host():
    directives = dict(part.strip().split(" ", 1) for part in settings.CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    for sources in directives.values():
        assert all(source.startswith("'") or source in ("data:", "blob:") for source in sources.split()), sources
