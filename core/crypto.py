"""Encryption of secrets stored in the database (marketplace and carrier credentials)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import DomainError


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.CREDENTIALS_KEYS])


def encrypt_json(value: Any) -> str:
    return _fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> Any:
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise DomainError(
            _("Stored credentials cannot be decrypted with CREDENTIALS_KEYS; was the key changed?"),
            code="credentials_key",
        ) from exc
