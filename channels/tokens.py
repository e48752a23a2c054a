"""A store's access token kept in the database, encrypted, and refreshed by one worker at a time.

Every worker reads the token from the store's row. When the platform refuses it, the worker calls
``StoreTokens.refresh(stale=...)``: it locks the store's row, and if another worker has already refreshed the
token meanwhile it takes that one; otherwise it makes the platform's refresh call while holding the lock and
saves the new token (and any credential the platform rotated, such as Wish's refresh token) before letting go.
So a platform whose refresh revokes the previous token (Wish) never sees two refreshes race. The lock is the
store row's, never a stock row's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from channels.adapters.base import AccessToken, TokenGrant
from channels.models import Store
from core.crypto import decrypt_json, encrypt_json

# A token this close to its end is refreshed before use rather than refused mid-run.
EXPIRY_MARGIN = timedelta(seconds=60)
# A token read from the row serves the calls of the next seconds without reading the row again (a sync makes a
# call per page). Another worker's refresh is seen after this long, or at once when the platform refuses the
# old token: refresh() reads the locked row and takes the newer token it finds.
REREAD_AFTER = timedelta(seconds=30)


def _token_of(store: Store) -> AccessToken | None:
    if not store.access_token_encrypted:
        return None
    value = decrypt_json(store.access_token_encrypted)
    return AccessToken(value=value, expires_at=store.access_token_expires_at)


def _usable(token: AccessToken | None) -> bool:
    return token is not None and (token.expires_at is None or token.expires_at > timezone.now() + EXPIRY_MARGIN)


class StoreTokens:
    def __init__(self, store_id: int) -> None:
        self.store_id = store_id
        self._token: AccessToken | None = None
        self._read_at = None

    def current(self) -> AccessToken | None:
        now = timezone.now()
        if self._token is not None and now - self._read_at < REREAD_AFTER and _usable(self._token):
            return self._token
        store = Store.objects.only("access_token_encrypted", "access_token_expires_at").get(pk=self.store_id)
        token = _token_of(store)
        self._token, self._read_at = token, now
        return token if _usable(token) else None

    def _keep(self, token: AccessToken) -> AccessToken:
        self._token, self._read_at = token, timezone.now()
        return token

    def refresh(self, *, stale: AccessToken | None, grant: Callable[[Mapping[str, Any]], TokenGrant]) -> AccessToken:
        with transaction.atomic():
            store = Store.objects.select_for_update().get(pk=self.store_id)
            token = _token_of(store)
            if _usable(token) and token != stale:
                return self._keep(token)
            credentials = decrypt_json(store.credentials_encrypted) if store.credentials_encrypted else {}
            granted = grant(credentials)
            fields = ["access_token_encrypted", "access_token_expires_at", "updated_at"]
            if granted.credentials:
                store.credentials_encrypted = encrypt_json({**credentials, **granted.credentials})
                fields.append("credentials_encrypted")
            store.access_token_encrypted = encrypt_json(granted.access_token.value)
            store.access_token_expires_at = granted.access_token.expires_at
            store.save(update_fields=fields)
            return self._keep(granted.access_token)


def store_credentials(store: Store) -> dict[str, Any]:
    return decrypt_json(store.credentials_encrypted) if store.credentials_encrypted else {}
