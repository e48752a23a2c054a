"""Admin of partners and API tokens: made through access.services, the key shown once, tokens revoked (not edited)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from access import services
from access.models import SCOPE_CHOICES, ApiToken, Partner
from core.admin import ModelAdmin, ReadOnlyInline, ServiceErrorsAdminMixin
from core.models import adopt_saved
from core.roles import role_label


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=[(scope, scope) for scope in SCOPE_CHOICES],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("<area>:read reads an area, <area>:write also changes it; * is everything the user may do."),
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name", "scopes", "all_stores", "stores", "all_warehouses", "warehouses", "expires_at"]


class RevokedFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", _("Live")), ("revoked", _("Revoked")), ("expired", _("Expired"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "live":
            return queryset.filter(revoked_at__isnull=True).exclude(expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    """Tokens are made here (the key is shown once, in a message) and revoked; they are never edited."""

    form = ApiTokenForm
    list_display = ("name", "prefix", "user", "partner", "scope_list", "expires_at", "last_used_at", "revoked_at")
    list_filter = (RevokedFilter, "partner")
    search_fields = ("name", "prefix", "user__username", "partner__name")
    list_select_related = ("user", "partner")
    autocomplete_fields = ("user",)
    filter_horizontal = ("stores", "warehouses")
    actions = ["revoke"]
    readonly_fields = ("prefix", "partner", "last_used_at", "revoked_at", "revoked_by", "created_at", "created_by")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a token's key, scopes and data are fixed: revoke it and make another

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked tokens stay, so the admin shows who had access and until when

    @admin.display(description=_("scopes"))
    def scope_list(self, token: ApiToken) -> str:
        return ", ".join(token.scopes)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        token, key = services.token_create(
            user=data["user"],
            name=data["name"],
            scopes=data["scopes"],
            stores=data["stores"],
            warehouses=data["warehouses"],
            all_stores=data["all_stores"],
            all_warehouses=data["all_warehouses"],
            expires_at=data["expires_at"],
            by=request.user,
        )
        adopt_saved(obj, token)
        self.message_user(
            request,
            _("The key of %(name)s is %(key)s. Copy it now: it is not stored and cannot be shown again.")
            % {"name": token.name, "key": key},
            level=messages.WARNING,
        )

    def save_related(self, request, form, formsets, change):
        pass  # the service set the stores and warehouses

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.token_revoke(token=token, by=request.user)
            count += 1
        self.message_user(
            request, ngettext("%(count)s token revoked.", "%(count)s tokens revoked.", count) % {"count": count}
        )

    def get_actions(self, request):
        # Revoking is a change of the token; it needs the add right, as making one does.
        actions = super().get_actions(request)
        if not request.user.has_perm("access.add_apitoken"):
            actions.pop("revoke", None)
        return actions


class TokenInline(ReadOnlyInline):
    model = ApiToken
    fk_name = "partner"
    fields = ("name", "prefix", "scopes", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    line_order = ("-created_at",)


class PartnerAddForm(forms.ModelForm):
    roles = forms.ModelMultipleChoiceField(
        label=_("roles"),
        queryset=Group.objects.order_by("name"),
        required=False,
        help_text=_("The ceiling of its tokens; API partner when none is chosen."),
    )

    class Meta:
        model = Partner
        fields = ["name", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].label_from_instance = lambda group: role_label(group.name)


@admin.register(Partner)
class PartnerAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    list_display = ("name", "is_active", "user", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "notes")
    readonly_fields = ("user", "created_at")
    inlines = (TokenInline,)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = PartnerAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "notes", "roles"]
        return ["name", "is_active", "notes", "user", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return ("name", "user", "created_at") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            adopt_saved(
                obj,
                services.partner_update(
                    partner=Partner.objects.get(pk=obj.pk),
                    is_active=form.cleaned_data["is_active"],
                    notes=form.cleaned_data["notes"],
                ),
            )
            return
        roles = [group.name for group in form.cleaned_data.get("roles") or []] or [services.PARTNER_ROLE]
        partner = services.partner_create(
            name=form.cleaned_data["name"], notes=form.cleaned_data["notes"], roles=roles, by=request.user
        )
        adopt_saved(obj, partner)

    def save_related(self, request, form, formsets, change):
        # The service made the user and its roles; the token lines are read only (saved as the empty change they are).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
