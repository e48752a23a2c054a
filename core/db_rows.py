"""Model instances from the columns of a hand-written SELECT.

For the few reads made on every request, whose SQL is worth building once per process instead of compiling a
queryset each time (``access.authentication``: a token with its user and partner, about a third of that read's
time). ``columns_sql`` lists a model's concrete columns under a table alias, in the order ``instance_read`` takes
them back; each value goes through the converters Django's compiler would apply, and the instance is made by
``Model.from_db``, as a queryset makes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def columns_sql(model: type[Model], alias: str) -> str:
    """``alias."column", …`` of every concrete field of ``model``, in ``_meta.concrete_fields`` order."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


@cache
def _readers(model: type[Model], alias: str, using: str) -> tuple[list[str], int, list[tuple[Any, list[Callable]]]]:
    """The attribute names, the primary key's position and each field's column with its converters."""
    connection = connections[using]
    fields: list[Field] = list(model._meta.concrete_fields)
    readers = []
    for field in fields:
        column = field.get_col(alias)
        readers.append((column, connection.ops.get_db_converters(column) + column.get_db_converters(connection)))
    return [field.attname for field in fields], fields.index(model._meta.pk), readers


def instance_read(model: type[M], alias: str, values: Iterator[Any], *, using: str = "default") -> M | None:
    """The instance whose columns (``columns_sql(model, alias)``) come next in ``values``; None when its primary key
    is NULL (no row on the right of a LEFT JOIN). Takes exactly that model's number of values either way."""
    names, pk_index, readers = _readers(model, alias, using)
    row = [next(values) for _ in names]
    if row[pk_index] is None:
        return None
    connection = connections[using]
    for index, (column, converters) in enumerate(readers):
        for converter in converters:
            row[index] = converter(row[index], column, connection)
    return model.from_db(using, names, row)
