"""A user's permissions read in the same query as the user, instead of two queries of their own on every request.

Django's ``ModelBackend`` reads a user's permissions on first use, with one query for the user's own and one for
their groups', and keeps them on the user object (``_perm_cache``) for the rest of the request. The API reads them on
every request (``core.api.permissions``). ``permission_ids_sql`` is the same set, as ids, in one SQL expression on
the user's id column, to annotate the query that loads the user; ``permission_names_of`` names them and
``permissions_preload`` puts the names where ``ModelBackend`` looks, so it asks nothing more. API tokens
(``access.authentication``) and sessions (this module's ``ModelBackend``, in ``AUTHENTICATION_BACKENDS``) both load
their user so.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from django.contrib.auth import backends, get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection

from core.db_rows import columns_sql, instance_read


def permission_ids_sql(user_column: str) -> str:
    """``ARRAY[permission id, …]`` of the user in ``user_column`` (a quoted, qualified column): their own permissions
    and their groups', as ``ModelBackend.get_all_permissions`` gives them (for an active user). Ids, not names: the
    names are ``permission_names_of``'s, from a table the process keeps (half the time of reading them as text)."""
    user_model = get_user_model()
    own = user_model._meta.get_field("user_permissions").remote_field.through._meta
    groups = user_model._meta.get_field("groups").remote_field.through._meta
    group_permissions = Group._meta.get_field("permissions").remote_field.through._meta
    own_user, own_permission = own.get_field(user_model._meta.model_name).column, own.get_field("permission").column
    member_user, member_group = groups.get_field(user_model._meta.model_name).column, groups.get_field("group").column
    granted_group = group_permissions.get_field("group").column
    granted_permission = group_permissions.get_field("permission").column
    return f"""ARRAY(
        SELECT o."{own_permission}" FROM "{own.db_table}" o WHERE o."{own_user}" = {user_column}
        UNION
        SELECT gp."{granted_permission}" FROM "{group_permissions.db_table}" gp
        JOIN "{groups.db_table}" ug ON ug."{member_group}" = gp."{granted_group}"
        WHERE ug."{member_user}" = {user_column}
    )"""  # noqa: S608 - table and column names come from the models' _meta, the user column from the caller


# Every permission's "app_label.codename" by id, read again when an id is missing (a permission made since) and after
# every migrate (core.apps). Django makes permissions in migrate's post_migrate and never renames one in place; a
# deleted one takes its grants (the rows that name its id) with it, and PostgreSQL never hands out an id twice
# unless its sequence is reset, which only a flush does, and a flush sends post_migrate. Django keeps its content
# types the same way (ContentTypeManager's cache).
_names_by_id: dict[int, str] = {}


def _permission_names_read() -> dict[int, str]:
    return {
        pk: f"{app_label}.{codename}"
        for pk, app_label, codename in Permission.objects.values_list("pk", "content_type__app_label", "codename")
    }


def permission_names_reload(**kwargs) -> None:
    global _names_by_id
    _names_by_id = _permission_names_read()


def permission_names_of(ids: Iterable[int]) -> set[str]:
    """The ``app_label.codename`` of each permission id (``permission_ids_sql``), as ``ModelBackend`` names them."""
    global _names_by_id
    ids = list(ids)
    names = _names_by_id
    if any(pk not in names for pk in ids):
        names = _names_by_id = _permission_names_read()
    return {names[pk] for pk in ids if pk in names}


def permissions_preload(user, names: Iterable[str]) -> None:
    """Give ``user`` the permissions read with it, where ``ModelBackend`` looks before it queries. A superuser's are
    every permission (``ModelBackend`` reads them all when asked for the list; ``has_perm`` never asks)."""
    if user.is_superuser:
        return
    user._perm_cache = set(names) if user.is_active else set()


@cache
def _session_user_sql() -> str:
    """A user by primary key with their permission ids: one statement, built once (``core.db_rows``)."""
    user = get_user_model()._meta
    table_column = f'u."{user.pk.column}"'
    return f"""SELECT {columns_sql(user.model, "u")}, {permission_ids_sql(table_column)}
    FROM "{user.db_table}" u WHERE {table_column} = %s"""  # noqa: S608 - names from the model's _meta


class ModelBackend(backends.ModelBackend):
    """Django's ``ModelBackend``, but the user of a session is read with their permissions in one query, by SQL
    built once per process, as the API's tokens are (``access.authentication.token_read``)."""

    def get_user(self, user_id):
        user_model = get_user_model()
        with connection.cursor() as cursor:
            cursor.execute(_session_user_sql(), [user_model._meta.pk.get_prep_value(user_id)])
            row = cursor.fetchone()
        if row is None:
            return None
        values = iter(row)
        user = instance_read(user_model, "u", values)
        if not self.user_can_authenticate(user):
            return None
        permissions_preload(user, permission_names_of(next(values)))
        return user
