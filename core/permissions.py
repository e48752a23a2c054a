"""A user's permissions read in the same query as the user, instead of two queries of their own on every request.

Django's ``ModelBackend`` reads a user's permissions on first use, with one query for the user's own and one for
their groups', and keeps them on the user object (``_perm_cache``) for the rest of the request. The API reads them on
every request (``core.api.permissions``). ``permission_names_sql`` is the same set as one SQL expression on the
user's id column, to annotate the query that loads the user; ``permissions_preload`` puts the result where
``ModelBackend`` looks, so it asks nothing more. API tokens (``access.authentication``) and sessions (this module's
``ModelBackend``, in ``AUTHENTICATION_BACKENDS``) both load their user so.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models.expressions import RawSQL


def permission_names_sql(user_column: str) -> str:
    """``ARRAY['app_label.codename', …]`` of the user in ``user_column`` (a quoted, qualified column): their own
    permissions and their groups', as ``ModelBackend.get_all_permissions`` gives them (for an active user)."""
    user_model = get_user_model()
    own = user_model._meta.get_field("user_permissions").remote_field.through._meta
    groups = user_model._meta.get_field("groups").remote_field.through._meta
    group_permissions = Group._meta.get_field("permissions").remote_field.through._meta
    permission, content_type = Permission._meta.db_table, ContentType._meta.db_table
    own_user, own_permission = own.get_field(user_model._meta.model_name).column, own.get_field("permission").column
    member_user, member_group = groups.get_field(user_model._meta.model_name).column, groups.get_field("group").column
    granted_group = group_permissions.get_field("group").column
    granted_permission = group_permissions.get_field("permission").column
    return f"""ARRAY(
        SELECT ct."app_label" || '.' || p."codename"
        FROM "{permission}" p JOIN "{content_type}" ct ON ct."id" = p."content_type_id"
        WHERE p."id" IN (
            SELECT o."{own_permission}" FROM "{own.db_table}" o WHERE o."{own_user}" = {user_column}
            UNION
            SELECT gp."{granted_permission}" FROM "{group_permissions.db_table}" gp
            JOIN "{groups.db_table}" ug ON ug."{member_group}" = gp."{granted_group}"
            WHERE ug."{member_user}" = {user_column}
        )
    )"""  # noqa: S608 - table and column names come from the models' _meta, the user column from the caller


def permissions_preload(user, names: Iterable[str]) -> None:
    """Give ``user`` the permissions read with it, where ``ModelBackend`` looks before it queries. A superuser's are
    every permission (``ModelBackend`` reads them all when asked for the list; ``has_perm`` never asks)."""
    if user.is_superuser:
        return
    user._perm_cache = set(names) if user.is_active else set()


class ModelBackend(backends.ModelBackend):
    """Django's ``ModelBackend``, but the user of a session is read with their permissions in one query."""

    def get_user(self, user_id):
        user_model = get_user_model()
        user_column = f'"{user_model._meta.db_table}"."{user_model._meta.pk.column}"'
        user = (
            user_model._default_manager.annotate(
                permission_names=RawSQL(permission_names_sql(user_column), ())  # noqa: S611 - no input
            )
            .filter(pk=user_id)
            .first()
        )
        if user is None or not self.user_can_authenticate(user):
            return None
        permissions_preload(user, user.permission_names)
        return user
