"""``Authorization: Token <key>`` (or ``Bearer <key>``): an API token, found by its prefix and proven by its hash."""

from __future__ import annotations

from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from access.keys import key_matches, key_prefix
from access.models import ApiToken
from access.services import token_last_used_touch
from core.permissions import permission_names_sql, permissions_preload

SCHEMES = (b"token", b"bearer")


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
        token = None
        if prefix is not None:
            # One query: the token, its user and partner, and the user's permissions (core/permissions.py).
            user_column = f'"{ApiToken._meta.db_table}"."{ApiToken._meta.get_field("user").column}"'
            token = (
                ApiToken.objects.select_related("user", "partner")
                .annotate(user_permission_names=RawSQL(permission_names_sql(user_column), ()))  # noqa: S611 - no input
                .filter(prefix=prefix)
                .first()
            )
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
        permissions_preload(token.user, token.user_permission_names)
        token_last_used_touch(token=token, now=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate), not 403, when credentials are missing or refused.
        return self.keyword
