"""Permissions from the model permissions of the user's groups, reads included (deny by default)."""

from __future__ import annotations

from rest_framework import permissions


class ModelPermissions(permissions.DjangoModelPermissions):
    """Like DRF's DjangoModelPermissions, but reading needs ``view_<model>`` too.

    A view may name the permissions of a custom action with ``action_permissions``:
    ``{"generate": ["inventory.add_bin"]}``; an action not listed falls back to the HTTP method.
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
            return user.has_perms(explicit[action])
        if getattr(view, "_ignore_model_permissions", False):
            return True
        queryset = self._queryset(view)
        return user.has_perms(self.get_required_permissions(request.method, queryset.model))
