"""The task outbox: every task whose loss would lose work is written here in the caller's transaction, then sent to
the broker; a row stays until a worker has finished its task (see core.outbox)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TaskOutbox(models.Model):
    """One task to be run: written with the work that asks for it, sent once the transaction commits, sent again by
    the drain while the broker was unreachable, the message was lost, or the worker running it died."""

    task_name = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    # The id the task runs under: the worker finds its row (and its lease) by it; every send of the row uses it.
    task_id = models.UUIDField(_("task ID"), default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("sends"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")

    class Meta:
        verbose_name = _("queued task")
        verbose_name_plural = _("queued tasks")
        ordering = ["id"]
        indexes = [
            # The drain reads only the rows not done yet, oldest first.
            models.Index(fields=["id"], condition=Q(done_at__isnull=True), name="taskoutbox_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} #{self.pk}"
