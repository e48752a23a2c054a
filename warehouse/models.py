"""Floor work: the tasks people do with goods that are not where they belong (waves, pick tasks and scan events
come with the warehouse floor issue)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
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
