"""Query parameters every app's API shares."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField


class UtcMomentField(IsoDateTimeField):
    """An ISO 8601 moment, turned to UTC before it reaches a query. PostgreSQL takes zone offsets of at most 15:59
    and Python of up to 23:59, so ``…-17:15`` would be a server error; a moment UTC cannot hold (year 1 ahead of
    UTC, year 9999 behind it) is refused here, naming the parameter."""

    default_error_messages = {"out_of_range": _("%(value)s is out of range once in UTC.")}

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError(
                self.error_messages["out_of_range"], code="out_of_range", params={"value": value}
            ) from None


class UtcMomentFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcMomentField
