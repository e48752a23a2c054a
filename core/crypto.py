"""Encryption of secrets stored in the database (marketplace and carrier credentials), and its key rotation.

Keys come from ``CREDENTIALS_KEYS`` (newest first): values are written with the newest and read with any, so a new
key can be put in front at any time; ``manage.py credentials_rotate`` then re-encrypts every stored value with it, after
which the old key can be dropped (docs/security.md gives the steps).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models, transaction
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


# --- key rotation ---------------------------------------------------------------------------------------------------
#
# Every encrypted column is a text field whose name ends in ``_encrypted`` and holds what encrypt_json wrote (today:
# channels.Store.credentials_encrypted and access_token_encrypted, logistics.CarrierAccount.credentials_encrypted).
# The convention is how core finds them without importing an app; a new encrypted column only has to follow it.

ENCRYPTED_SUFFIX = "_encrypted"


@dataclass(frozen=True)
class EncryptedColumn:
    model: type[models.Model]
    field: str

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field}"


@dataclass
class RotationCount:
    """One column: rows holding a value, those not on the newest key (before), those re-encrypted, and those no key
    of CREDENTIALS_KEYS opens (left as they are)."""

    column: str
    rows: int = 0
    stale: int = 0
    rotated: int = 0
    unreadable: int = 0


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted column of every installed model, found by the ``_encrypted`` naming convention."""
    from django.apps import apps

    return [
        EncryptedColumn(model=model, field=field.name)
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.managed
        for field in model._meta.concrete_fields
        if field.name.endswith(ENCRYPTED_SUFFIX) and isinstance(field, models.TextField | models.CharField)
    ]


def _is_on_newest_key(newest: Fernet, token: str) -> bool:
    try:
        newest.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def credentials_rotate(*, check_only: bool = False, batch_size: int = 500) -> list[RotationCount]:
    """Re-encrypt every encrypted value with the newest of CREDENTIALS_KEYS (``check_only``: only count).

    Column by column, in batches of ``batch_size`` rows by primary key, each batch in its own transaction with its
    rows locked, so a credential a sync writes meanwhile is neither lost nor overwritten with an older value.
    MultiFernet.rotate keeps each token's timestamp. Safe to run again: rows on the newest key are left alone.
    """
    keys = [Fernet(key.encode()) for key in settings.CREDENTIALS_KEYS]
    newest, every_key = keys[0], MultiFernet(keys)
    counts: list[RotationCount] = []
    for column in encrypted_columns():
        count = RotationCount(column=column.label)
        counts.append(count)
        manager = column.model._default_manager
        filled = manager.exclude(**{column.field: ""}).exclude(**{f"{column.field}__isnull": True})
        last_pk = None
        while True:
            batch = filled.order_by("pk")
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            pks = list(batch.values_list("pk", flat=True)[:batch_size])
            if not pks:
                break
            last_pk = pks[-1]
            with transaction.atomic():
                rows = manager.filter(pk__in=pks).order_by("pk").select_for_update().values_list("pk", column.field)
                for pk, token in rows:
                    if not token:
                        continue
                    count.rows += 1
                    if _is_on_newest_key(newest, token):
                        continue
                    count.stale += 1
                    try:
                        rotated = every_key.rotate(token.encode()).decode()
                    except InvalidToken:
                        count.unreadable += 1
                        continue
                    if check_only:
                        continue
                    manager.filter(pk=pk).update(**{column.field: rotated})
                    count.rotated += 1
    return counts
