"""Status pipelines: the one check of an allowed-transition map, and numbering documents from their id."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import connection, models

from core.errors import Conflict


def status_label(status_choices: type[models.TextChoices], status: str) -> str:
    return status_choices(status).label.lower() if status else "new"


def transition_check(
    *,
    document: str,
    number: str,
    status: str,
    to_status: str,
    transitions: Mapping[str, frozenset[str] | set[str]],
    status_choices: type[models.TextChoices],
) -> None:
    """Raise Conflict unless ``transitions`` allows ``status`` → ``to_status``, saying where it can go instead."""
    allowed = transitions[status]
    if to_status in allowed:
        return
    label = lambda value: status_label(status_choices, value)  # noqa: E731 - a short local alias
    choices = ", ".join(label(choice) for choice in sorted(allowed)) or "nothing, it is closed"
    raise Conflict(
        f"{document} {number} is {label(status)}; it cannot become {label(to_status)} "
        f"(from here it can become: {choices}).",
        code="invalid_transition",
        number=number,
        status=status,
        requested_status=to_status,
    )


def next_id(model: type[models.Model]) -> int:
    """Take the next primary key up front so a document number built from it goes into the same INSERT."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [model._meta.db_table])
        return cursor.fetchone()[0]
