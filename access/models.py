"""Partner access: partner integrations and the API tokens people and partners call the API with."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Areas of the API a scope names: the app labels whose model permissions a request needs.
SCOPE_AREAS = ("inventory", "orders", "logistics", "channels", "warehouse", "purchasing")
SCOPE_ALL = "*"
SCOPE_CHOICES = [SCOPE_ALL] + [f"{area}:{mode}" for area in SCOPE_AREAS for mode in ("read", "write")]
# Permissions that only read; every other codename (add_, change_, delete_, custom ones) is a write.
READ_PERMISSION_PREFIX = "view_"


class Partner(models.Model):
    """A partner integration (a 3PL, an accountant, another tool); its tokens act as its service user, whose roles
    are the ceiling of what any of its tokens may do."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("An inactive partner's tokens stop working.")
    )
    notes = models.TextField(_("notes"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="partner",
        verbose_name=_("service user"),
        help_text=_("Not staff, no password: the partner's tokens act as this user, within its roles."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A key to the API: who it acts as, what it may do (scopes) and on which data (stores, warehouses).

    The key itself is shown once, when the token is made; only its SHA-256 is kept. ``prefix`` (in the key, see
    ``access.keys``) finds the row; the hash proves the rest.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("acts as")
    )
    partner = models.ForeignKey(
        Partner,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tokens",
        verbose_name=_("partner"),
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("What it is for, e.g. the 3PL's order sync."))
    prefix = models.CharField(_("prefix"), max_length=8, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    scopes = ArrayField(
        models.CharField(max_length=32, choices=[(scope, scope) for scope in SCOPE_CHOICES]),
        verbose_name=_("scopes"),
        help_text=_(
            "<area>:read or <area>:write per area (inventory, orders, logistics, channels, warehouse, "
            "purchasing), or * for everything the user may do."
        ),
    )
    all_stores = models.BooleanField(_("all stores"), default=False)
    stores = models.ManyToManyField("channels.Store", blank=True, related_name="api_tokens", verbose_name=_("stores"))
    all_warehouses = models.BooleanField(_("all warehouses"), default=False)
    warehouses = models.ManyToManyField(
        "inventory.Warehouse", blank=True, related_name="api_tokens", verbose_name=_("warehouses")
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("revoked by"),
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(prefix__regex=r"^[0-9a-f]{8}$"), name="api_token_prefix_hex"),
            models.CheckConstraint(
                condition=models.Q(key_hash__regex=r"^[0-9a-f]{64}$"), name="api_token_key_hash_sha256"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    # --- what the permission class and the data scope read (duck-typed in core.api, which imports no app)

    def scope_allows(self, permission: str) -> bool:
        """Whether the token's scopes cover ``permission`` ("<app_label>.<codename>"): reads need <area>:read or
        <area>:write, anything else <area>:write; * covers all. A permission of another app needs *."""
        if SCOPE_ALL in self.scopes:
            return True
        app_label, _dot, codename = permission.partition(".")
        if codename.startswith(READ_PERMISSION_PREFIX) and f"{app_label}:read" in self.scopes:
            return True
        return f"{app_label}:write" in self.scopes

    @property
    def store_ids(self) -> frozenset[int] | None:
        """The stores it may see; None: every store."""
        if self.all_stores:
            return None
        if not hasattr(self, "_store_ids"):
            self._store_ids = frozenset(self.stores.values_list("pk", flat=True))
        return self._store_ids

    @property
    def warehouse_ids(self) -> frozenset[int] | None:
        """The warehouses it may see; None: every warehouse."""
        if self.all_warehouses:
            return None
        if not hasattr(self, "_warehouse_ids"):
            self._warehouse_ids = frozenset(self.warehouses.values_list("pk", flat=True))
        return self._warehouse_ids

    def data_scope_ids(self, dimension: str) -> frozenset[int] | None:
        """The ids of ``dimension`` ("store", "warehouse") it may see; None: all of them."""
        return {"store": self.store_ids, "warehouse": self.warehouse_ids}[dimension]

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())
