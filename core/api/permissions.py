"""Permissions from the model permissions of the user's groups, reads included (deny by default), within the
scopes and the data scope of the token the request came with."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import permissions
from rest_framework.exceptions import PermissionDenied

from core.api.scoping import request_scope, undeclared

# (view class, action) -> the model of its queryset: ModelPermissions._model.
_MODELS: dict[tuple[type, str | None], type] = {}


class ScopeMissing(PermissionDenied):
    default_code = "scope_missing"


class OutOfScope(PermissionDenied):
    default_code = "out_of_scope"


class ModelPermissions(permissions.DjangoModelPermissions):
    """Like DRF's DjangoModelPermissions, but reading needs ``view_<model>`` too.

    A view may name the permissions of a custom action with ``action_permissions``:
    ``{"generate": ["inventory.add_bin"]}``; an action not listed falls back to the HTTP method.

    A request with a token (``request.auth``) also needs the token's scope for every permission it needs
    (``request.auth.scope_allows(permission)``, duck-typed: core imports no app), and a token limited to some
    stores or warehouses reaches only views that declare their data scope (:mod:`core.api.scoping`). Session
    logins (the admin, the scan pages) are limited by their roles only.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        action = getattr(view, "action", None)
        explicit = getattr(view, "action_permissions", {}) or {}
        if action in explicit:
            needed = list(explicit[action])
        elif getattr(view, "_ignore_model_permissions", False):
            needed = []
        else:
            needed = self.get_required_permissions(request.method, self._model(view))
        if not user.has_perms(needed):
            return False
        self._token_check(request, view, needed)
        return True

    def _model(self, view) -> type:
        """The model whose permissions the view needs: its queryset's, looked up once per view class and action.

        DRF builds the whole queryset (joins, prefetches, the data scope) on every request to read its ``model``; which
        model a view lists is a matter of its code, not of the request, so the answer is kept for the process."""
        key = (type(view), getattr(view, "action", None))
        model = _MODELS.get(key)
        if model is None:
            model = self._queryset(view).model
            _MODELS[key] = model
        return model

    def _token_check(self, request, view, needed: list[str]) -> None:
        scope_allows = getattr(request.auth, "scope_allows", None)
        if scope_allows is not None:
            missing = [permission for permission in needed if not scope_allows(permission)]
            if missing:
                areas = sorted({permission.partition(".")[0] for permission in missing})
                raise ScopeMissing(
                    _("This token's scopes do not allow it: it needs %(scopes)s.")
                    % {"scopes": ", ".join(f"{area}:{_mode(missing, area)}" for area in areas)}
                )
        if request_scope(request).is_limited and undeclared(view):
            raise OutOfScope(
                _("This token is limited to some stores or warehouses, and this endpoint does not work within them.")
            )


def _mode(missing: list[str], area: str) -> str:
    """read when every missing permission of ``area`` only reads, write otherwise."""
    codenames = [permission.partition(".")[2] for permission in missing if permission.startswith(f"{area}.")]
    return "read" if all(codename.startswith("view_") for codename in codenames) else "write"


def request_has_perms(request, permissions: list[str]) -> bool:
    """Whether the user has every one of ``permissions`` and the request's token (if any) has the scopes for them:
    for the checks a view makes itself, beyond what :class:`ModelPermissions` checked."""
    if not request.user.has_perms(permissions):
        return False
    scope_allows = getattr(request.auth, "scope_allows", None)
    return scope_allows is None or all(scope_allows(permission) for permission in permissions)
