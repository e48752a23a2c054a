"""The admin's read-only list of queued tasks (core/outbox.py): what waits for the broker, was sent, or failed."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.outbox_models import TaskOutbox


class DoneFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("waiting", _("Not done")), ("done", _("Done")), ("failed", _("With an error")))

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(done_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(done_at__isnull=False)
        if self.value() == "failed":
            return queryset.exclude(last_error="")
        return queryset


@admin.register(TaskOutbox)
class TaskOutboxAdmin(ReadOnlyAdmin):
    list_display = ("task_name", "created_at", "sent_at", "started_at", "done_at", "attempts", "last_error")
    list_filter = (DoneFilter, "task_name")
    search_fields = ("task_name", "task_id")
    date_hierarchy = "created_at"
