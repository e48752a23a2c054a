"""Stores (a seller's shops on each marketplace), their SKU mappings, sync runs, and orders a store sent that could
not be read."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


class Channel(models.TextChoices):
    AMAZON = "amazon", "Amazon"
    EBAY = "ebay", "eBay"
    ALIEXPRESS = "aliexpress", "AliExpress"
    WISH = "wish", "Wish"
    SHOPIFY = "shopify", "Shopify"
    MANUAL = "manual", _("Manual or spreadsheet")


class Store(TimeStampedModel):
    """One shop: where to reach it and as whom, how often to read its orders, and what stock it is shown."""

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    name = models.CharField(_("name"), max_length=100, unique=True)
    marketplace_id = models.CharField(
        _("marketplace"),
        max_length=64,
        blank=True,
        default="",
        help_text=_("Amazon's marketplace ID (ATVPDKIKX0DER) or eBay's marketplace (EBAY_US)."),
    )
    api_base_url = models.URLField(
        _("API base URL"), max_length=500, blank=True, default="", help_text=_("Empty: the platform's production API.")
    )
    auth_url = models.URLField(
        _("token URL"), max_length=500, blank=True, default="", help_text=_("Empty: the platform's own.")
    )
    options = models.JSONField(
        _("options"), default=dict, blank=True, help_text=_("Channel settings, e.g. the Shopify location ID.")
    )
    credentials_encrypted = models.TextField(_("credentials (encrypted)"), blank=True, default="", editable=False)
    access_token_encrypted = models.TextField(_("access token (encrypted)"), blank=True, default="", editable=False)
    access_token_expires_at = models.DateTimeField(_("access token expires at"), null=True, blank=True, editable=False)
    credentials_expire_at = models.DateTimeField(
        _("credentials expire at"),
        null=True,
        blank=True,
        help_text=_("When the seller must authorise the store again (a refresh token's end), if the platform says."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    sync_interval_minutes = models.PositiveSmallIntegerField(
        _("sync every (minutes)"), default=15, validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    import_from = models.DateTimeField(
        _("import orders from"), help_text=_("Where the first import starts (30 days back unless set).")
    )
    orders_synced_to = models.DateTimeField(
        _("orders read up to"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Every order the store changed before this time has been imported."),
    )
    warehouses = models.ManyToManyField(
        "inventory.Warehouse",
        blank=True,
        related_name="stores",
        verbose_name=_("warehouses"),
        help_text=_(
            "The warehouses whose available stock this store is shown, and that may ship its orders (none: any)."
        ),
    )
    split_orders = models.BooleanField(
        _("split orders across warehouses"),
        default=False,
        help_text=_("When no one warehouse can fill an order, ship it in parcels from several rather than wait."),
    )
    tracking_to_store = models.CharField(
        _("tell the store the tracking number"),
        max_length=16,
        choices=[("label", _("When the label is made")), ("handover", _("When the parcel is handed over"))],
        default="handover",
        help_text=_(
            "When the label is made: the store shows the order shipped sooner (some marketplaces count the days to "
            "ship until then). When handed over: the store hears only of parcels the carrier really has."
        ),
    )
    stock_buffer = models.PositiveIntegerField(
        _("stock buffer"), default=0, help_text=_("Units held back from what the store is shown.")
    )
    stock_percent = models.PositiveSmallIntegerField(
        _("stock shown (%)"),
        default=100,
        validators=[MaxValueValidator(100)],
        help_text=_("The share of available stock the store is shown, after the buffer, rounded down."),
    )
    push_stock = models.BooleanField(_("push stock"), default=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True, editable=False)
    failures_in_row = models.PositiveIntegerField(_("failures in a row"), default=0, editable=False)
    last_error = models.TextField(_("last error"), blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(stock_percent__lte=100), name="store_stock_percent_le_100"),
            models.CheckConstraint(condition=Q(sync_interval_minutes__gte=1), name="store_sync_interval_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class SkuMapping(TimeStampedModel):
    """A store's SKU → a product (or bundle) × quantity, and what was last pushed to the listing."""

    class PushStatus(models.TextChoices):
        NEVER = "never", _("Not pushed yet")
        OK = "ok", _("Pushed")
        FAILED = "failed", _("Refused by the store")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="sku_mappings", verbose_name=_("store"))
    channel_sku = models.CharField(_("channel SKU"), max_length=100)
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="sku_mappings", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(
        _("quantity"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_("Units of the product in one unit sold (a 3-pack listing of a single product: 3)."),
    )
    listing_id = models.CharField(
        _("listing ID"), max_length=100, blank=True, default="", help_text=_("ASIN, item ID or product ID.")
    )
    listing_variant_id = models.CharField(
        _("variant ID"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("The variant's or inventory item's ID, where the store needs it to set stock."),
    )
    options = models.JSONField(_("options"), default=dict, blank=True, help_text=_("e.g. Amazon's product type."))
    is_automatic = models.BooleanField(
        _("automatic"), default=False, help_text=_("Made by itself: the channel SKU is a product's SKU.")
    )
    pushed_quantity = models.IntegerField(_("pushed quantity"), null=True, blank=True, editable=False)
    pushed_at = models.DateTimeField(_("pushed at"), null=True, blank=True, editable=False)
    push_status = models.CharField(
        _("push status"), max_length=8, choices=PushStatus.choices, default=PushStatus.NEVER, editable=False
    )
    push_error = models.TextField(_("push error"), blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("SKU mapping")
        verbose_name_plural = _("SKU mappings")
        ordering = ["store", "channel_sku"]
        constraints = [
            models.UniqueConstraint(fields=["store", "channel_sku"], name="skumapping_store_sku_unique"),
            models.CheckConstraint(condition=~Q(channel_sku=""), name="skumapping_sku_not_empty"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="skumapping_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_sku} → {self.product_id} × {self.quantity}"


class SyncRun(models.Model):
    """One reading of a store's orders, or one push of its stock: queued, run by a worker, with its figures."""

    class Kind(models.TextChoices):
        ORDERS = "orders", _("Orders")
        STOCK = "stock", _("Stock")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        PERSON = "person", _("A person")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="sync_runs", verbose_name=_("store"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(_("started by"), max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    window_start = models.DateTimeField(_("from"), null=True, blank=True)
    window_end = models.DateTimeField(_("to"), null=True, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    requests = models.PositiveIntegerField(_("requests"), default=0)
    seconds_waiting = models.FloatField(_("seconds waiting on the store"), default=0)
    seconds_backing_off = models.FloatField(_("seconds backing off"), default=0)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-id"]
        constraints = [
            # One run of a kind per store at a time: the schedule and "Sync now" find the one waiting.
            models.UniqueConstraint(
                fields=["store", "kind"],
                condition=Q(status__in=["queued", "running"]),
                name="syncrun_one_active_per_store_kind",
            )
        ]
        indexes = [models.Index(fields=["store", "kind", "-id"], name="syncrun_store_kind_idx")]

    def __str__(self) -> str:
        return f"{self.store_id} {self.kind} #{self.pk}"


class RejectedOrder(models.Model):
    """An order a store sent that could not be read: kept with what was sent and why, until a later version of it
    reads well (the next sync retries it by itself)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="rejected_orders", verbose_name=_("store"))
    channel_order_id = models.CharField(_("channel order ID"), max_length=100)
    field = models.CharField(_("field"), max_length=200, blank=True, default="")
    message = models.TextField(_("problem"))
    raw = models.JSONField(_("as received"), null=True, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"), auto_now=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rejected order")
        verbose_name_plural = _("rejected orders")
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "channel_order_id"],
                condition=Q(resolved_at__isnull=True),
                name="rejectedorder_one_open_per_order",
            )
        ]

    def __str__(self) -> str:
        return self.channel_order_id
