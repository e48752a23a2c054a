"""Two-factor login for staff: each user's TOTP authenticator and its one-time recovery codes (core/twofactor.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TwoFactorDevice(models.Model):
    """A user's authenticator app. Its secret is encrypted with CREDENTIALS_KEYS like every other credential.

    The device counts only once confirmed (the user typed a first code). ``last_used_step`` is the 30-second step of
    the last code accepted: a code is accepted only for a later step, so one seen over a shoulder cannot be used again.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="two_factor_device",
        verbose_name=_("user"),
    )
    secret_encrypted = models.TextField(_("secret (encrypted)"), editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True, editable=False)
    last_used_step = models.BigIntegerField(_("last code step"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("two-factor device")
        verbose_name_plural = _("two-factor devices")

    def __str__(self) -> str:
        return str(self.user)


class TwoFactorRecoveryCode(models.Model):
    """A code that stands in for the authenticator once (a lost phone). Only its SHA-256 is stored: the codes are
    random enough (50 bits) that a slow hash would add nothing but seconds to each login."""

    device = models.ForeignKey(
        TwoFactorDevice, on_delete=models.CASCADE, related_name="recovery_codes", verbose_name=_("device")
    )
    code_hash = models.CharField(_("code hash"), max_length=64, editable=False)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        constraints = [
            models.UniqueConstraint(fields=["device", "code_hash"], name="twofactor_recovery_code_unique"),
        ]

    def __str__(self) -> str:
        return str(self.device)
