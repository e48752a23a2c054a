"""The admin pieces every app's admin shares (Unfold's look, code fields, service errors shown as messages,
spreadsheet import), and the admin of the third-party models people use (users, roles, schedules)."""

from __future__ import annotations

import json
from typing import ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from import_export.admin import ImportExportModelAdmin
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.admin import TabularInline as UnfoldTabularInline
from unfold.contrib.import_export.forms import ImportForm, SelectableFieldsExportForm
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from core.errors import DomainError, clauses_join, labelled, words_join
from core.resources import detail_line
from core.roles import role_label
from core.twofactor import two_factor_reset_action


class ModelAdmin(UnfoldModelAdmin):
    """The base of every admin class: Unfold's look and behaviour, the same for every app."""

    def history_view(self, request, object_id, extra_context=None):
        # An audited model's "History" is its audit trail (core/audit.py); others keep Django's log of admin edits.
        from core.audit import audited_models
        from core.audit_admin import audit_history_view

        if self.model in audited_models() and request.user.has_perm("core.view_auditentry"):
            return audit_history_view(self, request, object_id)
        return super().history_view(request, object_id, extra_context)


class TabularInline(UnfoldTabularInline):
    """The base of every inline."""


class ReadOnlyAdmin(ModelAdmin):
    """Rows that change only through their services (a ledger, a document's history, what a store sent): here
    they are looked at, never added, changed or deleted."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(TabularInline):
    """Lines shown with their document, read only; ``select_related`` are fetched with them (there may be
    thousands), in ``line_order``."""

    extra = 0
    can_delete = False
    select_related: tuple[str, ...] = ()
    line_order: tuple[str, ...] = ("id",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.select_related).order_by(*self.line_order)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CodesAdminForm(forms.ModelForm):
    """Admin form that trims and upper-cases ``code_fields`` before the model's validators see them (sku-1 →
    SKU-1). The admin supplies the model and the fields."""

    code_fields: ClassVar[tuple[str, ...]] = ()

    def clean(self):
        cleaned = super().clean()
        for name in self.code_fields:
            if isinstance(cleaned.get(name), str):
                cleaned[name] = cleaned[name].strip().upper()
        return cleaned


def json_object_clean(text: str, example: str) -> dict | None:
    """A form's JSON object field (credentials typed as JSON): None when left empty (keep what is stored), the
    object when it is one, else a ValidationError whose message shows ``example``."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise ValidationError(_("Not JSON: write an object such as %(example)s.") % {"example": example}) from None
    if not isinstance(value, dict):
        raise ValidationError(_("Must be a JSON object of names and values."))
    return value


def action_form_page(
    model_admin, request, *, chosen: list[tuple[int, str]], chosen_text: str, form, action: str, title: str, submit: str
):
    """The page an admin action asks its question on (a reason, a picker...): the rows chosen (pk, label), the form,
    and a button that posts the action again with the answer and the same rows."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.opts,
        "form": form,
        "chosen": chosen,
        "chosen_text": chosen_text,
        "action": action,
        "submit": submit,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/action_form.html", context)


class ServiceErrorsAdminMixin:
    """Admin whose saves call services: a rule a service refuses becomes a message on the page, not a 500.

    The form has already run the model's validation, so this is for rules across rows (and races); the
    whole change is rolled back, as the admin saves in one transaction.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            details = clauses_join(labelled(detail.field, detail.message) for detail in error.errors)
            message = error.message
            if details:
                # Translators: a refusal of a service, then the problems it lists by field ("product: ...; ...").
                message = _("%(message)s %(details)s") % {"message": error.message, "details": details}
            self.message_user(request, message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def column_label(model, column: str, *, attribute: str | None = None) -> str:
    """A column of an import or export file as listed to a person: its key ("weight_g"), and in a language other
    than English also its field's name in that language ("weight_g（重量（克））"). Headers are read in every
    language, but the key is what a file from another user will have. ``attribute`` names the model field when
    the column is named otherwise."""
    try:
        verbose_name = model._meta.get_field(attribute or column).verbose_name
    except FieldDoesNotExist:
        return column
    label = str(verbose_name)
    with translation.override("en"):
        english = str(verbose_name)
    if label == english:
        return column
    # Translators: a column of an import or export file, by its key, then by its name: "weight_g（重量（克））".
    return _("%(column)s (%(label)s)") % {"column": column, "label": label}


class ExportForm(SelectableFieldsExportForm):
    """Unfold's export form with its checkboxes named like the import page's columns, in the reader's language
    (django-import-export titles the key: "Weight G")."""

    def _get_field_label(self, resource, field_name: str) -> str:
        field = resource.fields.get(field_name)
        if field is None:
            return field_name
        return column_label(resource._meta.model, field.column_name, attribute=field.attribute)


class SpreadsheetAdmin(ServiceErrorsAdminMixin, ModelAdmin, ImportExportModelAdmin):
    """ModelAdmin with import/export where importing needs add and change rights, and exporting needs view.

    django-import-export lets anyone who can open the changelist import unless told otherwise. Uploads are read
    by core.sheets (the import formats of settings.IMPORT_FORMATS); a file it refuses is an error on the upload
    field listing every problem by row and column, and rows are numbered as in the spreadsheet.
    """

    import_error_display = ("message", "row")
    import_form_class = ImportForm
    export_form_class = ExportForm

    def has_import_permission(self, request) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def import_action(self, request, **kwargs):
        return self._columns_labelled(super().import_action(request, **kwargs))

    def export_action(self, request, **kwargs):
        return self._columns_labelled(super().export_action(request, **kwargs))

    def _columns_labelled(self, response):
        """The columns the import and export pages list, as column_label names them."""
        context = getattr(response, "context_data", None)
        if not context or "fields_list" not in context:
            return response
        context["fields_list"] = [
            (resource, [column_label(self.model, column) for column in columns])
            for resource, columns in context["fields_list"]
        ]
        return response

    def add_data_read_fail_error_to_form(self, form, e):
        # django-import-export says only "ValidationFailed encountered while trying to read file".
        if isinstance(e, DomainError):
            details = [detail_line(detail) for detail in e.errors if detail.message != e.message]
            form.add_error("import_file", [e.message, *details])
            return
        super().add_data_read_fail_error_to_form(form, e)

    def process_result(self, result, request):
        # The confirmed import runs again on the stored file; if the data changed since the preview and a row
        # fails now, everything was rolled back, and saying "Import finished: 0 new" would hide that.
        if result.has_errors() or result.has_validation_errors():
            problems = [
                _row_problem(
                    row.number,
                    clauses_join(
                        labelled(None if field == NON_FIELD_ERRORS else field, " ".join(map(str, errors)))
                        for field, errors in row.error_dict.items()
                    ),
                )
                for row in result.invalid_rows[:5]
            ]
            problems += [_row_problem(row.number, row.errors[0].error) for row in result.error_rows[:5]]
            problems += [str(error.error) for error in result.base_errors[:1]]
            self.message_user(
                request,
                _("Nothing was imported. %(problems)s") % {"problems": " | ".join(problems)},
                level=messages.ERROR,
            )
            return HttpResponseRedirect(request.path.replace("process_import/", "import/"))
        return super().process_result(result, request)


def _row_problem(number: int, problem: object) -> str:
    # Translators: a problem of one row of an imported file, in a list of them.
    return _("row %(row)s: %(problem)s") % {"row": number, "problem": problem}


# --- Third-party models, in the same look -------------------------------------------------------------------

for model in (User, Group, PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


# Django stores a permission's name in English when the model is migrated ("Can add product"); the four it makes
# for every model are named again here, in the reader's language, from the model's translated name.
DEFAULT_PERMISSION_LABELS = {
    "add": gettext_lazy("Can add %(model)s"),
    "change": gettext_lazy("Can change %(model)s"),
    "delete": gettext_lazy("Can delete %(model)s"),
    "view": gettext_lazy("Can view %(model)s"),
}


def permission_label(permission: Permission) -> str:
    """ "Inventory | product | Can add product", in the active language (the content type is selected with it)."""
    content_type = permission.content_type
    model = content_type.model_class()
    action, _separator, model_name = permission.codename.partition("_")
    if model is not None and model_name == content_type.model and action in DEFAULT_PERMISSION_LABELS:
        name = DEFAULT_PERMISSION_LABELS[action] % {"model": model._meta.verbose_name}
    else:
        name = permission.name
    return f"{content_type} | {name}"


class RolesAndPermissionsLabels:
    """Role and permission choices of the user and group forms read in the reader's language."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None and db_field.name == "groups":
            formfield.label_from_instance = lambda group: role_label(group.name)
        elif formfield is not None and db_field.name in {"permissions", "user_permissions"}:
            formfield.label_from_instance = permission_label
        return formfield


class RoleFilter(admin.SimpleListFilter):
    title = gettext_lazy("role")
    parameter_name = "groups__id__exact"

    def lookups(self, request, model_admin):
        return [(group.pk, role_label(group.name)) for group in Group.objects.order_by("name")]

    def queryset(self, request, queryset):
        return queryset.filter(groups__id=self.value()) if self.value() else queryset


@admin.register(User)
class UserAdmin(RolesAndPermissionsLabels, BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ["username", "email", "first_name", "last_name", "roles", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_superuser", "is_active", RoleFilter]
    actions = [two_factor_reset_action]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=gettext_lazy("roles"))
    def roles(self, user: User) -> str:
        return words_join(role_label(group.name) for group in user.groups.all())


@admin.register(Group)
class GroupAdmin(RolesAndPermissionsLabels, BaseGroupAdmin, ModelAdmin):
    list_display = ["role", "members"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("user"))

    @admin.display(description=gettext_lazy("role"), ordering="name")
    def role(self, group: Group) -> str:
        return role_label(group.name)

    @admin.display(description=gettext_lazy("members"), ordering="member_count")
    def members(self, group: Group) -> int:
        return group.member_count


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin, ModelAdmin):
    list_display = ("name", "enabled", "schedule_text", "start_time", "last_run_at", "one_off")

    @admin.display(description=gettext_lazy("schedule"))
    def schedule_text(self, obj) -> str:
        # django-celery-beat shows its ``scheduler`` property under a heading no catalogue translates.
        return str(obj.scheduler)

    @admin.display(description=gettext_lazy("crontab in words"))
    def crontab_translation(self, obj) -> str:
        # django-celery-beat's own fails on a task run by an interval (no crontab) and has no translated label.
        return obj.crontab.human_readable if obj is not None and obj.crontab is not None else ""


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(ModelAdmin):
    pass


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin, ModelAdmin):
    pass


@admin.register(SolarSchedule)
class SolarScheduleAdmin(ModelAdmin):
    pass


@admin.register(ClockedSchedule)
class ClockedScheduleAdmin(beat_admin.ClockedScheduleAdmin, ModelAdmin):
    pass


from core.audit_admin import AuditEntryAdmin  # noqa: E402,F401 - registers the audit trail's admin
from core.idempotency_admin import IdempotencyRecordAdmin  # noqa: E402,F401 - registers the Idempotency-Keys admin
from core.outbox_admin import TaskOutboxAdmin  # noqa: E402,F401 - registers the queued tasks' admin
