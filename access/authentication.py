"""``Authorization: Token <key>`` (or ``Bearer <key>``): an API token, found by its prefix and proven by its hash."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from access.keys import key_matches, key_prefix
from access.models import ApiToken, Partner
from access.services import token_last_used_touch
from core.db_rows import columns_sql, instance_read
from core.permissions import permission_ids_sql, permission_names_of, permissions_preload

SCHEMES = (b"token", b"bearer")


@cache
def _token_sql() -> str:
    """The token of a prefix with its user, its partner and the user's permission ids: one statement, built once."""
    token, user, partner = ApiToken._meta, get_user_model()._meta, Partner._meta
    return f"""SELECT {columns_sql(ApiToken, "t")}, {columns_sql(user.model, "u")}, {columns_sql(Partner, "p")},
        {permission_ids_sql('t."' + token.get_field("user").column + '"')}
    FROM "{token.db_table}" t
    JOIN "{user.db_table}" u ON u."{user.pk.column}" = t."{token.get_field("user").column}"
    LEFT JOIN "{partner.db_table}" p ON p."{partner.pk.column}" = t."{token.get_field("partner").column}"
    WHERE t."{token.get_field("prefix").column}" = %s"""  # noqa: S608 - names from the models' _meta


def token_read(prefix: str) -> ApiToken | None:
    """The token whose key starts with ``prefix``, its ``user`` and ``partner`` loaded as ``select_related`` would,
    and ``user_permission_ids``. Hand-written SQL (``core.db_rows``): compiling the queryset cost a third of every
    API request's authentication, and the prefix is unique."""
    with connection.cursor() as cursor:
        cursor.execute(_token_sql(), [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    values = iter(row)
    token = instance_read(ApiToken, "t", values)
    user = instance_read(get_user_model(), "u", values)
    partner = instance_read(Partner, "p", values)
    ApiToken._meta.get_field("user").set_cached_value(token, user)
    ApiToken._meta.get_field("partner").set_cached_value(token, partner)
    token.user_permission_ids = next(values)
    return token


class TokenRefused(exceptions.AuthenticationFailed):
    """401 in the API's error shape, with a code a program can act on."""


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in SCHEMES:
            return None  # another scheme, or none: the next authentication class may know it
        if len(parts) != 2:
            raise TokenRefused(_("Send one key after the scheme: Authorization: Token <key>."), code="token_invalid")
        try:
            key = parts[1].decode()
        except UnicodeDecodeError:
            key = ""
        return self.authenticate_key(key)

    def authenticate_key(self, key: str):
        prefix = key_prefix(key)
        token = token_read(prefix) if prefix is not None else None
        if token is None or not key_matches(key, token.key_hash):
            raise TokenRefused(_("Unknown API token."), code="token_invalid")
        if token.revoked_at is not None:
            raise TokenRefused(_("This API token has been revoked."), code="token_revoked")
        now = timezone.now()
        if token.is_expired(now):
            raise TokenRefused(_("This API token has expired."), code="token_expired")
        if token.partner is not None and not token.partner.is_active:
            raise TokenRefused(_("The partner of this API token is not active."), code="token_revoked")
        if not token.user.is_active:
            raise TokenRefused(_("The user of this API token is not active."), code="token_invalid")
        permissions_preload(token.user, permission_names_of(token.user_permission_ids))
        token_last_used_touch(token=token, now=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate), not 403, when credentials are missing or refused.
        return self.keyword
