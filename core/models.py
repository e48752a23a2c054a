"""Shared model pieces: timestamps and the natural-sort key column."""

from __future__ import annotations

import re

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, editable=False)

    class Meta:
        abstract = True


NATURAL_SORT_WIDTH = 12
_DIGIT_RUN = re.compile(r"\d+")


def natural_sort_key(value: str) -> str:
    """A key whose plain (byte) order is natural order: every run of digits is zero-padded (A-2 before A-10)."""
    return _DIGIT_RUN.sub(lambda match: match.group().rjust(NATURAL_SORT_WIDTH, "0"), value)


class NaturalSortKeyField(models.CharField):
    """Stores ``natural_sort_key`` of another field, refreshed whenever the row is saved or bulk-created.

    Computed in Python rather than as a generated column: the SQL regular expressions cost about 13 µs a
    row, which was most of a 100,000-row import. ``save(update_fields=...)`` callers must include this
    field when they change the source (the models' ``save`` does it). Byte ("C") collation makes the order
    independent of the database's locale.
    """

    def __init__(self, *args, source: str, **kwargs) -> None:
        self.source = source
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("db_collation", "C")
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = natural_sort_key(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, value)
        return value


def with_sort_keys(model: models.Model, update_fields):
    """``update_fields`` plus every natural-sort column whose source field is in it (None stays None)."""
    if update_fields is None:
        return None
    fields = set(update_fields)
    for field in model._meta.concrete_fields:
        if isinstance(field, NaturalSortKeyField) and field.source in fields:
            fields.add(field.name)
    return fields


def adopt_saved(instance: models.Model, saved: models.Model) -> None:
    """Make ``instance`` (held by the admin or by django-import-export) the row a service created, so that what
    they do next with it (log it, show it, link to it) is about the saved row."""
    instance.__dict__.update(saved.__dict__)


# The models of core's own pieces live beside them; Django finds models through this module.
from core.audit_models import AuditEntry  # noqa: E402,F401
from core.idempotency_models import IdempotencyRecord  # noqa: E402,F401
from core.outbox_models import TaskOutbox  # noqa: E402,F401
from core.throttle_models import ThrottleCounter  # noqa: E402,F401
from core.twofactor_models import TwoFactorDevice, TwoFactorRecoveryCode  # noqa: E402,F401
