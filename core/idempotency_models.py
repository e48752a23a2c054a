"""The record of an API write sent with an Idempotency-Key: which request it was, and its answer once it has one."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """One Idempotency-Key of one principal (a hash of the credentials that sent it), kept for a day.

    ``status_code`` is empty while the first request runs (or after it died before answering); afterwards the
    record holds the answer that every retry gets back. ``fingerprint`` is the hash of method, path and body, so
    the same key sent with another request is refused rather than answered with the wrong response.
    """

    principal = models.CharField(_("principal"), max_length=64, help_text=_("SHA-256 of the credentials."))
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, help_text=_("SHA-256 of method, path and body."))
    method = models.CharField(_("method"), max_length=10)
    path = models.TextField(_("path"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_headers = models.JSONField(_("response headers"), default=list, blank=True)
    response_body = models.BinaryField(_("response body"), null=True, blank=True)
    is_body_kept = models.BooleanField(
        _("body kept"), default=False, help_text=_("False when the answer was larger than the server keeps.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["principal", "key"], name="core_idempotency_principal_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
