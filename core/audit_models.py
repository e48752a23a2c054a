"""The audit trail: who changed master data, rules, stores, settings, users and tokens, and when (core/audit.py)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One change of one audited row, written in the transaction of the change (a rollback takes it away too).

    ``changes`` maps a field to ``[old, new]`` (JSON values; for a created row old is null, for a deleted row new
    is null), a many-to-many field to ``{"added": [...], "removed": [...]}`` (the related rows as text), and a
    secret (credentials, password and token hashes) to the word ``"changed"``: its values are never stored.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        DELETE = "delete", _("deleted")

    class Source(models.TextChoices):
        ADMIN = "admin", _("admin")
        API = "api", _("API")
        IMPORT = "import", _("import")
        SCAN = "scan", _("scan pages")
        COMMAND = "command", _("command")
        TASK = "task", _("task")
        SYSTEM = "system", _("system")

    created_at = models.DateTimeField(_("time"), default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    # Kept as text so the entry still says who it was when the user, token or partner is gone.
    actor_label = models.CharField(_("by"), max_length=200)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", verbose_name=_("kind of record")
    )
    object_id = models.CharField(_("record id"), max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    request_id = models.CharField(_("request id"), max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "-created_at"], name="audit_object_time"),
            models.Index(fields=["-created_at", "-id"], name="audit_time"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"
