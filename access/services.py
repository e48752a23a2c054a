"""Every write of partner access: partners with their service users, tokens made (the key shown once) and revoked."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from access.keys import key_hash, key_make
from access.models import SCOPE_CHOICES, ApiToken, Partner
from core.errors import Conflict, ErrorDetail, ValidationFailed

PARTNER_ROLE = "API partner"


def _scopes_check(scopes: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(scopes))
    errors = [
        ErrorDetail(
            _("Unknown scope %(scope)s; use <area>:read, <area>:write or *.") % {"scope": repr(scope)},
            code="invalid_choice",
            field="scopes",
        )
        for scope in chosen
        if scope not in SCOPE_CHOICES
    ]
    if not chosen:
        errors.append(ErrorDetail(_("Give at least one scope."), code="required", field="scopes"))
    if errors:
        raise ValidationFailed.listing(_("Invalid scopes"), errors)
    return chosen


@transaction.atomic
def token_create(
    *,
    user,
    name: str,
    scopes: Sequence[str],
    stores: Iterable | None = None,
    warehouses: Iterable | None = None,
    all_stores: bool = False,
    all_warehouses: bool = False,
    expires_at: datetime | None = None,
    by=None,
) -> tuple[ApiToken, str]:
    """A new token acting as ``user`` (a staff user, or a partner's service user); returns it with its key, which
    is never stored and cannot be shown again. Stores and warehouses are ignored where ``all_*`` is set."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the token a name."), errors=[ErrorDetail(_("Required."), "required", "name")])
    chosen = _scopes_check(scopes)
    if not user.is_active:
        raise Conflict(_("User %(user)s is not active; its tokens would not work.") % {"user": user.get_username()})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(
            _("The expiry must be in the future."),
            errors=[ErrorDetail(_("Must be in the future."), "in_the_past", "expires_at")],
        )
    key, prefix = key_make()
    token = ApiToken.objects.create(
        user=user,
        partner=Partner.objects.filter(user=user).first(),
        name=name,
        prefix=prefix,
        key_hash=key_hash(key),
        scopes=chosen,
        all_stores=all_stores,
        all_warehouses=all_warehouses,
        expires_at=expires_at,
        created_by=by,
    )
    if not all_stores and stores:
        token.stores.set(stores)
    if not all_warehouses and warehouses:
        token.warehouses.set(warehouses)
    return token, key


@transaction.atomic
def token_revoke(*, token: ApiToken, by=None) -> ApiToken:
    """Stop the token from working, from the next request on; revoking again changes nothing."""
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.revoked_by = by
        locked.save(update_fields=["revoked_at", "revoked_by"])
    token.revoked_at, token.revoked_by = locked.revoked_at, locked.revoked_by
    return token


@transaction.atomic
def token_rotate(*, user, name: str, by=None, **options) -> tuple[ApiToken, str]:
    """Revoke ``user``'s live tokens called ``name`` and make a new one (for keys printed by scripts, which cannot
    print a stored key again)."""
    for old in ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True):
        token_revoke(token=old, by=by)
    return token_create(user=user, name=name, by=by, **options)


def token_last_used_touch(*, token: ApiToken, now: datetime, every_seconds: int = 60) -> None:
    """Note that the token was used, at most once per ``every_seconds`` (not a write on every request)."""
    if token.last_used_at is not None and (now - token.last_used_at).total_seconds() < every_seconds:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


@transaction.atomic
def partner_create(*, name: str, notes: str = "", roles: Sequence[str] = (PARTNER_ROLE,), by=None) -> Partner:
    """A partner with its service user (not staff, no password) in ``roles``, the ceiling of its tokens."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Give the partner a name."), errors=[ErrorDetail(_("Required."), "required", "name")])
    if Partner.objects.filter(name=name).exists():
        raise Conflict(
            _("A partner named %(name)s exists already.") % {"name": name},
            errors=[ErrorDetail(_("Already taken."), "unique", "name")],
        )
    groups = list(Group.objects.filter(name__in=roles))
    unknown = sorted(set(roles) - {group.name for group in groups})
    if unknown:
        raise ValidationFailed(
            _("No role named %(roles)s.") % {"roles": ", ".join(unknown)},
            errors=[
                ErrorDetail(_("No role named %(role)s.") % {"role": role}, "not_found", "roles") for role in unknown
            ],
        )
    user_model = get_user_model()
    base = f"partner-{slugify(name)[:100] or 'integration'}"
    username, number = base, 1
    while user_model.objects.filter(username=username).exists():
        number += 1
        username = f"{base}-{number}"
    user = user_model(username=username, is_staff=False, is_superuser=False, first_name=name[:150])
    user.set_unusable_password()
    user.save()
    user.groups.set(groups)
    return Partner.objects.create(name=name, notes=notes, user=user)


@transaction.atomic
def partner_update(*, partner: Partner, is_active: bool | None = None, notes: str | None = None) -> Partner:
    """Deactivating a partner stops its tokens (and its service user)."""
    if is_active is not None:
        partner.is_active = is_active
        partner.user.is_active = is_active
        partner.user.save(update_fields=["is_active"])
    if notes is not None:
        partner.notes = notes
    partner.save(update_fields=["is_active", "notes"])
    return partner
