"""The warehouse floor's work in the back office: put-back tasks (picked goods of cancelled orders to go back to
their bins). Moving the stock from the tote back to a bin is the put-away scan's; here a person only marks a task
done once the goods are back."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdmin
from warehouse.models import PutBackTask


@admin.register(PutBackTask)
class PutBackTaskAdmin(ReadOnlyAdmin):
    list_display = ["reference", "product", "quantity", "warehouse", "from_bin", "status", "order", "done_by"]
    list_select_related = ["product", "warehouse", "from_bin", "order", "done_by"]
    list_filter = ["status", "warehouse"]
    search_fields = ["=reference", "=product__sku", "=order__channel_order_id"]
    search_help_text = _("Parcel number, SKU or order ID.")
    ordering = ["-id"]
    show_full_result_count = False
    fields = [
        "reference",
        "product",
        "quantity",
        "warehouse",
        "from_bin",
        "order",
        "status",
        "note",
        "done_by",
        "created_at",
        "updated_at",
    ]
    actions = ["mark_put_back"]

    def has_mark_done_permission(self, request) -> bool:
        return request.user.has_perm("warehouse.change_putbacktask")

    @admin.action(description=_("Mark put back"), permissions=["mark_done"])
    def mark_put_back(self, request, queryset):
        # Only open tasks: one done already keeps who did it and when.
        done = queryset.filter(status=PutBackTask.Status.OPEN).update(
            status=PutBackTask.Status.DONE, done_by=request.user, updated_at=timezone.now()
        )
        self.message_user(
            request,
            ngettext("%(count)s task marked put back.", "%(count)s tasks marked put back.", done) % {"count": done},
            level=messages.SUCCESS,
        )
