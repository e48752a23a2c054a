"""The admin's read-only list of Idempotency-Keys: which writes were keyed, by whom (hashed), and what they answered."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from core.idempotency_models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("key", "method", "path", "status_code", "is_body_kept", "created_at", "completed_at")
    list_filter = ("method", "status_code", "is_body_kept")
    search_fields = ("key", "path")
    date_hierarchy = "created_at"
    exclude = ("response_body",)
