"""The counters of login and API throttling, kept in PostgreSQL so every process and machine counts together."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ThrottleCounter(models.Model):
    """Hits of one key (``login:user:alice``, ``login:ip:203.0.113.9``, ``api:token:12``) in its current window.

    One row per key: a hit after the window has passed starts a new window on the same row (core/throttle.py), so
    the table holds one row per client seen, not one per window. Deleting a row lifts its throttle at once.

    The table is UNLOGGED (migration 0001): no write-ahead log, so a count is not a disk flush, and a crash or a
    fail-over to a replica starts every count afresh, which is all a throttle loses.
    """

    key = models.CharField(_("key"), max_length=200, primary_key=True)
    window_start = models.DateTimeField(_("window start"))
    hits = models.PositiveIntegerField(_("hits"), default=0)

    class Meta:
        verbose_name = _("throttle counter")
        verbose_name_plural = _("throttle counters")

    def __str__(self) -> str:
        return f"{self.key}: {self.hits} since {self.window_start:%Y-%m-%d %H:%M:%S}"
