"""Shared model pieces: timestamps and the natural-sort key expression."""

from __future__ import annotations

from django.db import models
from django.db.models import Func, Value
from django.db.models.functions import Collate


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True


NATURAL_SORT_WIDTH = 12


def natural_sort_expression(field: str) -> Collate:
    """SQL that zero-pads every run of digits so that plain ordering is natural (A-2 before A-10).

    It is immutable, so it can back a stored ``GeneratedField`` and its index; byte order
    ("C" collation) makes the result independent of the database's locale.
    """
    padded = Func(
        models.F(field),
        Value(r"(\d+)"),
        Value("0" * NATURAL_SORT_WIDTH + r"\1"),
        Value("g"),
        function="regexp_replace",
        output_field=models.TextField(),
    )
    trimmed = Func(
        padded,
        Value(r"0*(\d{" + str(NATURAL_SORT_WIDTH) + "})"),
        Value(r"\1"),
        Value("g"),
        function="regexp_replace",
        output_field=models.TextField(),
    )
    return Collate(trimmed, "C")


def natural_sort_key(value: str) -> str:
    """The same key computed in Python, for sorting values that are not in the database."""
    import re

    padded = re.sub(r"(\d+)", lambda m: m.group(1).rjust(NATURAL_SORT_WIDTH, "0"), value)
    return padded
