"""Data scope of API requests: a token limited to some stores or warehouses sees only their rows, everywhere.

Each view says once how its rows reach a store and a warehouse::

    class OrderViewSet(DataScopedViewMixin, ...):
        data_scope = {"store": "store_id"}

    class TransferViewSet(DataScopedViewMixin, ...):
        data_scope = {"warehouse": ("source_id", "destination_id")}   # either end: it touches both

A lookup path per dimension (a tuple: any of them); the mixin filters ``get_queryset()`` by the ids the request's
token may see, so lists leave the rest out and details answer 404. A view whose rows belong to no store or
warehouse (the product catalogue, carriers) says ``data_scope = GLOBAL``. A limited token reaching a view that
declares nothing is refused (403 ``out_of_scope``, see :mod:`core.api.permissions`): deny by default.

Rows named in a request's body (a warehouse, a bin, a shipment) are looked up through
:class:`core.api.references.ReferenceField`, whose ``data_scope`` works the same way with the scope of the request
being served (:func:`current_scope`): a row out of scope is answered as one that does not exist.

Core imports no app, so the token is read duck-typed: ``request.auth.data_scope_ids(dimension)`` gives the ids of
a dimension ("store", "warehouse") the token may see, or None for all of them. Session logins (the admin, the scan
pages) and tokens without that method are not limited.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q, QuerySet
from rest_framework import serializers

GLOBAL = "global"
#: A dimension the view narrows itself (with :meth:`DataScopedViewMixin.scope_ids`), or whose rows only come from
#: the request's body, where references are scoped (the stock actions).
BY_VIEW = "by view"
DIMENSIONS = ("store", "warehouse")

DataScopeDeclaration = Mapping[str, str | tuple[str, ...]] | str | None


class RequestScope:
    """The ids of each dimension a request may see (None: all)."""

    def __init__(self, ids: Mapping[str, frozenset[int] | None]) -> None:
        self.ids = dict(ids)

    @property
    def is_limited(self) -> bool:
        return any(value is not None for value in self.ids.values())

    def limited_dimensions(self) -> set[str]:
        return {dimension for dimension, value in self.ids.items() if value is not None}

    def filter(self, queryset: QuerySet, declaration: DataScopeDeclaration) -> QuerySet:
        """``queryset`` narrowed to the rows this scope may see, by the lookup paths of ``declaration``."""
        if declaration == GLOBAL or not isinstance(declaration, Mapping):
            return queryset
        for dimension, paths in declaration.items():
            allowed = self.ids.get(dimension)
            if allowed is None or paths == BY_VIEW:
                continue
            model = queryset.model
            condition = Q()
            for path in (paths,) if isinstance(paths, str) else paths:
                if _many_valued(model, path):
                    # A join through a to-many relation would repeat rows; a subquery of ids does not.
                    inner = model._default_manager.filter(**{f"{path}__in": sorted(allowed)}).values("pk")
                    condition |= Q(pk__in=inner)
                else:
                    condition |= Q(**{f"{path}__in": sorted(allowed)})
            queryset = queryset.filter(condition)
        return queryset


def _many_valued(model, path: str) -> bool:
    """Whether the lookup ``path`` from ``model`` crosses a to-many relation (a reverse foreign key, a M2M)."""
    for name in path.split("__"):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return False  # "store_id": a foreign key's column
        if field.one_to_many or field.many_to_many:
            return True
        if field.related_model is None:
            return False
        model = field.related_model
    return False


UNLIMITED = RequestScope({})


def request_scope(request: Any) -> RequestScope:
    """The data scope of ``request`` (DRF's): its token's, or unlimited for a session or a token without one."""
    scope_ids = getattr(getattr(request, "auth", None), "data_scope_ids", None)
    if scope_ids is None:
        return UNLIMITED
    return RequestScope({dimension: scope_ids(dimension) for dimension in DIMENSIONS})


_current: ContextVar[RequestScope] = ContextVar("seabridge_data_scope", default=UNLIMITED)


def current_scope() -> RequestScope:
    """The data scope of the API request being served in this thread or task (unlimited outside one)."""
    return _current.get()


def undeclared(view: Any) -> bool:
    """Whether ``view`` says nothing about its data scope (deny by default to limited tokens)."""
    declaration = getattr(view, "data_scope", None)
    if declaration == GLOBAL:
        return False
    return not (isinstance(declaration, Mapping) and isinstance(view, DataScopedViewMixin))


class DataScopedViewMixin:
    """Narrows ``get_queryset()`` to the request's data scope by ``data_scope``, and makes that scope the current
    one while the request is served, for the references of its body. Put it first in the bases."""

    data_scope: DataScopeDeclaration = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A view's own get_queryset() (a selector per action, say) is scoped too: it is wrapped here, so no view
        # has to remember to call super() for its rows to stay within the token's stores and warehouses.
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("get_queryset")
        if own is not None and not getattr(own, "data_scoped", False):

            @functools.wraps(own)
            def get_queryset(self, *args: Any, **kwargs: Any) -> QuerySet:
                return self.scope_queryset(own(self, *args, **kwargs))

            get_queryset.data_scoped = True
            cls.get_queryset = get_queryset

    def dispatch(self, request, *args, **kwargs):
        token = _current.set(UNLIMITED)
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            _current.reset(token)

    def initial(self, request, *args, **kwargs) -> None:
        # Authentication and the permission checks run in super().initial(); the scope is known after them.
        super().initial(request, *args, **kwargs)
        _current.set(request_scope(request))

    def get_queryset(self):
        return self.scope_queryset(super().get_queryset())

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # One row by its id is not narrowed by the list's filters, search and ordering: the schema gives a detail no
        # such parameters, and building the filter form cost more than reading the row. (Its scope is in
        # get_queryset, above, and still applies.)
        if getattr(self, "action", None) == "retrieve":
            return queryset
        return super().filter_queryset(queryset)

    def scope_queryset(self, queryset: QuerySet, declaration: DataScopeDeclaration = None) -> QuerySet:
        """``queryset`` within the request's scope, by the view's ``data_scope`` or by ``declaration``."""
        return request_scope(self.request).filter(queryset, declaration or self.data_scope)

    def scope_missing(self, ids) -> list[int]:
        """Those of ``ids`` (of the view's rows) out of the request's scope, or not there at all."""
        wanted = set(ids)
        if not request_scope(self.request).is_limited or not wanted:
            return []
        found = set(self.get_queryset().filter(pk__in=wanted).values_list("pk", flat=True))
        return sorted(wanted - found)

    def scope_ids(self, dimension: str) -> frozenset[int] | None:
        """The ids of ``dimension`` this request may see (None: all), for views that compute beyond a queryset."""
        return request_scope(self.request).ids.get(dimension)


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related row by id, among those in the request's data scope (``data_scope`` as a view's): an id out of
    scope is answered as one that does not exist."""

    def __init__(self, *, data_scope: DataScopeDeclaration, **kwargs: Any) -> None:
        self.data_scope = data_scope
        super().__init__(**kwargs)

    def get_queryset(self):
        return current_scope().filter(super().get_queryset(), self.data_scope)
