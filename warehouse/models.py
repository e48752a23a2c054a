"""Floor work: the tasks people do with goods that are not where they belong (waves, pick tasks and scan events
come with the warehouse floor issue)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import TimeStampedModel


class PutBackTask(TimeStampedModel):
    """Picked goods of a cancelled order to go back to their bins: made when an order is cancelled after picking
    began, done when someone puts them away (the put-away scan page, or by hand in the admin)."""

    class Status(models.TextChoices):
        OPEN = "open", _("To put back")
        DONE = "done", _("Put back")

    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.PROTECT, related_name="put_back_tasks", verbose_name=_("warehouse")
    )
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="put_back_tasks", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    reference = models.CharField(_("reference"), max_length=64, help_text=_("The parcel whose picked stock it is."))
    from_bin = models.ForeignKey(
        "inventory.Bin",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("where it is"),
        help_text=_("The tote or packing bin it was picked into."),
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    note = models.CharField(_("note"), max_length=255, blank=True, default="")
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )

    class Meta:
        verbose_name = _("put-back task")
        verbose_name_plural = _("put-back tasks")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="putback_quantity_positive"),
            models.UniqueConstraint(fields=["reference", "product"], name="putback_reference_product_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.product_id} × {self.quantity}"


class FloorSettings(models.Model):
    """How a warehouse's floor checks its work: the packing weight tolerance, the packaging a parcel adds, and how
    much more than ordered a receipt may take. One row per warehouse, made with defaults when first read."""

    warehouse = models.OneToOneField(
        "inventory.Warehouse", on_delete=models.CASCADE, related_name="floor", verbose_name=_("warehouse")
    )
    weight_tolerance_g = models.PositiveIntegerField(
        _("weight tolerance (g)"),
        default=30,
        help_text=_("A weighed parcel may differ from what it should weigh by this much..."),
    )
    weight_tolerance_percent = models.PositiveSmallIntegerField(
        _("weight tolerance (%)"), default=10, help_text=_("...or by this share of it, whichever is larger.")
    )
    packaging_g = models.PositiveIntegerField(
        _("packaging (g)"), default=20, help_text=_("What the box or mailer adds to the products' weight.")
    )
    over_receipt_percent = models.PositiveSmallIntegerField(
        _("over-receipt tolerance (%)"),
        default=0,
        help_text=_("How much more than a purchase order or transfer says may be received."),
    )

    class Meta:
        verbose_name = _("floor settings")
        verbose_name_plural = _("floor settings")

    def __str__(self) -> str:
        return str(self.warehouse)


class Wave(TimeStampedModel):
    """Parcels picked together (配货波次): chosen by warehouse, carrier or method, ship-by cut-off, store and order
    shape; released with its pick tasks (by bin and SKU, in the bins' pick sequence) and its labels made."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        RELEASED = "released", _("Released")
        PICKING = "picking", _("Picking")
        PICKED = "picked", _("Picked")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Shape(models.TextChoices):
        SINGLE_ITEM = "single_item", _("Single item (单品单件)")
        SINGLE_SKU = "single_sku", _("One SKU, several units (单品多件)")
        MULTI_ITEM = "multi_item", _("Several SKUs (多品)")
        ANY = "any", _("Any")

    number = models.CharField(_("number"), max_length=20, unique=True)
    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.PROTECT, related_name="waves", verbose_name=_("warehouse")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    shape = models.CharField(_("order shape"), max_length=16, choices=Shape.choices, default=Shape.ANY)
    criteria = models.JSONField(
        _("chosen by"), default=dict, blank=True, help_text=_("The filters the wave was made with.")
    )
    picker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("picker"),
    )
    cart_bin = models.ForeignKey(
        "inventory.Bin",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cart"),
        help_text=_("Where the wave's goods are picked into (a packing bin made for the wave)."),
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    parcel_count = models.PositiveIntegerField(_("parcels"), default=0)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    unit_count = models.PositiveIntegerField(_("units"), default=0)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("wave")
        verbose_name_plural = _("waves")

    def __str__(self) -> str:
        return self.number


class WaveParcel(models.Model):
    """A parcel in a wave, in pick order; its slot on the sorting wall for waves of several SKUs."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        PICKED = "picked", _("Picked")
        SHORT = "short", _("Short")
        PACKED = "packed", _("Packed")
        REMOVED = "removed", _("Removed")

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="parcels", verbose_name=_("wave"))
    parcel = models.ForeignKey(
        "orders.Parcel", on_delete=models.PROTECT, related_name="wave_entries", verbose_name=_("parcel")
    )
    position = models.PositiveIntegerField(_("position"))
    slot = models.PositiveIntegerField(_("slot"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.WAITING)
    units = models.PositiveIntegerField(_("units"), default=0)
    units_picked = models.PositiveIntegerField(_("units picked"), default=0)
    units_sorted = models.PositiveIntegerField(_("units sorted"), default=0)
    units_packed = models.PositiveIntegerField(_("units packed"), default=0)
    sorted_units = models.JSONField(
        _("sorted by product"), default=dict, blank=True, help_text=_("Product id → units put in its slot.")
    )
    packed = models.JSONField(_("packed by product"), default=dict, blank=True, help_text=_("Product id → units."))
    packed_at = models.DateTimeField(_("packed at"), null=True, blank=True)
    packed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("packed by"),
    )
    note = models.CharField(_("note"), max_length=255, blank=True, default="")

    class Meta:
        ordering = ["wave_id", "position"]
        verbose_name = _("wave parcel")
        verbose_name_plural = _("wave parcels")
        constraints = [
            models.UniqueConstraint(fields=["wave", "position"], name="waveparcel_position_unique"),
            models.UniqueConstraint(
                fields=["parcel"], condition=~Q(status="removed"), name="waveparcel_one_live_wave_per_parcel"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wave_id}#{self.position}"


class PickTask(models.Model):
    """One stop of a wave's pick path: take ``quantity`` of a product from a bin; ``lines`` say for which parcels."""

    class Status(models.TextChoices):
        OPEN = "open", _("To pick")
        DONE = "done", _("Picked")
        SHORT = "short", _("Short")

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="tasks", verbose_name=_("wave"))
    sequence = models.PositiveIntegerField(_("sequence"))
    bin = models.ForeignKey("inventory.Bin", on_delete=models.PROTECT, related_name="+", verbose_name=_("bin"))
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="+", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    picked = models.PositiveIntegerField(_("picked"), default=0)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    short_reason = models.CharField(_("why short"), max_length=200, blank=True, default="")
    picked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("picked by"),
    )

    class Meta:
        ordering = ["wave_id", "sequence"]
        verbose_name = _("pick task")
        verbose_name_plural = _("pick tasks")
        constraints = [
            models.UniqueConstraint(fields=["wave", "sequence"], name="picktask_sequence_unique"),
            models.CheckConstraint(condition=Q(picked__lte=F("quantity")), name="picktask_picked_within"),
        ]

    def __str__(self) -> str:
        return f"{self.wave_id}/{self.sequence}"


class PickTaskLine(models.Model):
    """The units of a pick task that go to one parcel (reserved under the parcel's number)."""

    task = models.ForeignKey(PickTask, on_delete=models.CASCADE, related_name="lines", verbose_name=_("pick task"))
    wave_parcel = models.ForeignKey(
        WaveParcel, on_delete=models.CASCADE, related_name="pick_lines", verbose_name=_("wave parcel")
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    picked = models.PositiveIntegerField(_("picked"), default=0)

    class Meta:
        verbose_name = _("pick task line")
        verbose_name_plural = _("pick task lines")
        constraints = [
            models.UniqueConstraint(fields=["task", "wave_parcel"], name="picktaskline_unique"),
            models.CheckConstraint(condition=Q(picked__lte=F("quantity")), name="picktaskline_picked_within"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} → {self.wave_parcel_id} × {self.quantity}"


class PackCheck(models.Model):
    """A parcel weighed at packing against what it should weigh; out of tolerance, the label waits for a
    supervisor's override with a reason."""

    wave_parcel = models.ForeignKey(
        WaveParcel, on_delete=models.CASCADE, related_name="pack_checks", verbose_name=_("wave parcel")
    )
    expected_g = models.PositiveIntegerField(_("expected weight (g)"))
    weighed_g = models.PositiveIntegerField(_("weighed (g)"))
    tolerance_g = models.PositiveIntegerField(_("tolerance (g)"))
    within = models.BooleanField(_("within tolerance"))
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("overridden by"),
    )
    override_reason = models.CharField(_("why overridden"), max_length=200, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("packer")
    )
    created_at = models.DateTimeField(_("weighed at"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("pack check")
        verbose_name_plural = _("pack checks")

    def __str__(self) -> str:
        return f"{self.wave_parcel_id}: {self.weighed_g} g"


class ScanEvent(models.Model):
    """Every scan on the floor: who, where, on which page, what was scanned, and what the system answered. The
    trail behind each parcel and the source of the productivity figures."""

    class Step(models.TextChoices):
        RECEIVE = "receive", _("Receive")
        PUT_AWAY = "put_away", _("Put away")
        PICK = "pick", _("Pick")
        SORT = "sort", _("Sort")
        PACK = "pack", _("Pack")
        FAST_LANE = "fast_lane", _("Single-item fast lane")
        HAND_OVER = "hand_over", _("Hand over")
        COUNT = "count", _("Count")
        MOVE = "move", _("Move")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("user")
    )
    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse")
    )
    step = models.CharField(_("step"), max_length=16, choices=Step.choices)
    code = models.CharField(_("scanned"), max_length=200, blank=True, default="")
    ok = models.BooleanField(_("accepted"))
    message = models.CharField(_("answer"), max_length=500, blank=True, default="")
    error_code = models.CharField(_("error code"), max_length=64, blank=True, default="")
    quantity = models.IntegerField(_("quantity"), null=True, blank=True)
    wave = models.ForeignKey(
        Wave, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("wave")
    )
    reference = models.CharField(
        _("document"), max_length=64, blank=True, default="", help_text=_("The parcel, order or document scanned for.")
    )
    created_at = models.DateTimeField(_("scanned at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("scan")
        verbose_name_plural = _("scans")
        indexes = [
            models.Index(fields=["user", "created_at"], name="scanevent_user_time_idx"),
            models.Index(fields=["warehouse", "step", "reference", "-id"], name="scanevent_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.step} {self.code}"


class ScanPreference(models.Model):
    """What the scan pages remember of a person between logins: the warehouse they work in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scan_preference", verbose_name=_("user")
    )
    warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.CASCADE, related_name="+", verbose_name=_("warehouse")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("scan preference")
        verbose_name_plural = _("scan preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.warehouse_id}"
