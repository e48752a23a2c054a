"""The audit trail in the admin: the list (read only, filtered by model, user, action, source and date, searched by
record), and each audited record's history page (core.admin.ModelAdmin.history_view)."""

from __future__ import annotations

import json

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ReadOnlyAdmin
from core.audit import SECRET, audited_models
from core.audit_models import AuditEntry

HISTORY_LIMIT = 200


class AuditedModelFilter(admin.SimpleListFilter):
    """The kinds of record the trail keeps, by their names (not every content type there is)."""

    title = gettext_lazy("kind of record")
    parameter_name = "content_type__id__exact"

    def lookups(self, request, model_admin):
        types = ContentType.objects.get_for_models(*audited_models(), for_concrete_models=False)
        return sorted(
            ((content_type.pk, capfirst(model._meta.verbose_name_plural)) for model, content_type in types.items()),
            key=lambda item: str(item[1]),
        )

    def queryset(self, request, queryset):
        return queryset.filter(content_type_id=self.value()) if self.value() else queryset


def change_lines(entry: AuditEntry) -> list[tuple[str, str]]:
    """Each change of an entry as (field name, what happened), in the reader's language."""
    model = entry.content_type.model_class()
    lines = []
    for name, change in (entry.changes or {}).items():
        label = name
        if model is not None:
            try:
                label = str(capfirst(model._meta.get_field(name).verbose_name))
            except Exception:  # a field removed since, or a bulk entry's count
                label = name
        if change == SECRET:
            text = _("changed (secret, not shown)")
        elif isinstance(change, dict):
            parts = []
            if change.get("added"):
                parts.append(_("added %(items)s") % {"items": ", ".join(change["added"])})
            if change.get("removed"):
                parts.append(_("removed %(items)s") % {"items": ", ".join(change["removed"])})
            text = "; ".join(parts)
        elif isinstance(change, list) and len(change) == 2:
            old, new = (_shown(value) for value in change)
            text = f"{old} → {new}"
        else:
            text = _shown(change)
        lines.append((label, text))
    return lines


def _shown(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "kind", "object_link", "source", "summary"]
    list_filter = [AuditedModelFilter, "action", "source", ("actor", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["object_repr", "actor_label"]
    list_select_related = ["content_type", "actor"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "created_at",
        "actor",
        "actor_label",
        "source",
        "request_id",
        "action",
        "kind",
        "object_id",
        "object_link",
        "changes_shown",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("kind of record"), ordering="content_type")
    def kind(self, entry: AuditEntry) -> str:
        model = entry.content_type.model_class()
        return capfirst(model._meta.verbose_name) if model is not None else entry.content_type.model

    @admin.display(description=gettext_lazy("record"), ordering="object_repr")
    def object_link(self, entry: AuditEntry):
        if entry.object_id and entry.action != AuditEntry.Action.DELETE:
            try:
                url = reverse(
                    f"admin:{entry.content_type.app_label}_{entry.content_type.model}_change", args=[entry.object_id]
                )
            except Exception:  # a model without an admin page
                return entry.object_repr
            return format_html('<a class="text-primary-600" href="{}">{}</a>', url, entry.object_repr)
        return entry.object_repr

    @admin.display(description=gettext_lazy("changes"))
    def summary(self, entry: AuditEntry) -> str:
        lines = change_lines(entry)
        text = "; ".join(f"{label}: {change}" for label, change in lines[:3])
        return text if len(lines) <= 3 else text + " …"

    @admin.display(description=gettext_lazy("changes"))
    def changes_shown(self, entry: AuditEntry):
        return format_html("<dl>{}</dl>", format_html_join("", "<dt><b>{}</b></dt><dd>{}</dd>", change_lines(entry)))


def audit_history_view(model_admin, request, object_id: str):
    """An audited record's history: its audit entries, newest first (the change page's "History")."""
    model = model_admin.model
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None:
        raise Http404(_("No record with that id."))
    if not model_admin.has_view_or_change_permission(request, obj):
        raise PermissionDenied
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    entries = list(
        AuditEntry.objects.filter(content_type=content_type, object_id=str(obj.pk))
        .select_related("content_type")
        .order_by("-created_at", "-id")[:HISTORY_LIMIT]
    )
    opts = model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("History: %(record)s") % {"record": obj},
        "subtitle": None,
        "opts": opts,
        "object": obj,
        "entries": [(entry, change_lines(entry)) for entry in entries],
        "limit": HISTORY_LIMIT,
        "trail_url": reverse("admin:core_auditentry_changelist")
        + f"?content_type__id__exact={content_type.pk}&object_id={obj.pk}",
        "preserved_filters": model_admin.get_preserved_filters(request),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "core/audit_history.html", context)
