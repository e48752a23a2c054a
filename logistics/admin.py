"""Logistics in the admin: carriers, shipping methods and rate cards (a card's zones and a zone's brackets edited
inline), carrier accounts; shipments, hand-over manifests and label prints, which change only through their
services (``logistics.shipments``, ``logistics.manifests``, ``logistics.printing``): here they are looked at, and
what a person does to them is an action that calls the service, each refusal shown as a message naming the row."""

from __future__ import annotations

import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce, Length
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from pypdf import PdfReader, PdfWriter

from core.admin import (
    ModelAdmin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceErrorsAdminMixin,
    TabularInline,
    json_object_clean,
)
from core.errors import DomainError, clauses_join, labelled
from core.models import adopt_saved
from core.resources import detail_line
from logistics import services
from logistics.api.files import file_response, label_response
from logistics.carriers.base import CUSTOMS_FIELDS
from logistics.manifests import manifest_close, manifest_open, manifest_pdf
from logistics.models import (
    Carrier,
    CarrierAccount,
    CustomsLine,
    LabelPrint,
    Manifest,
    RateBracket,
    RateCard,
    RateZone,
    Shipment,
    ShipmentEvent,
    ShippingMethod,
    TrackingEvent,
    TrackingNumberRange,
)
from logistics.printing import labels_print
from logistics.rate_sheet import rate_card_csv, rate_card_import
from logistics.shipments import shipment_cancel, shipment_label_refresh

# The most rows one action works on, one service call each (or one file): a request that answers in seconds.
ACTION_MOST = 500


@admin.register(Carrier)
class CarrierAdmin(ModelAdmin):
    list_display = ("code", "name", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")


@admin.register(ShippingMethod)
class ShippingMethodAdmin(ModelAdmin):
    list_display = ("code", "name", "carrier", "service_level", "tracked", "countries_text", "is_active")
    list_filter = ("carrier", "service_level", "tracked", "allows_battery", "is_active")
    search_fields = ("code", "name", "carrier_product_code")
    list_select_related = ("carrier",)
    fieldsets = (
        (
            None,
            {"fields": ("carrier", "code", "name", "carrier_product_code", "account", "service_level", "label_size")},
        ),
        (
            _("What it takes"),
            {
                "fields": (
                    "countries",
                    "tracked",
                    "max_weight_g",
                    "max_length_mm",
                    "max_dimensions_sum_mm",
                    "allows_battery",
                    "allows_liquid",
                    "transit_days_min",
                    "transit_days_max",
                )
            },
        ),
        (_("Marketplaces"), {"fields": ("marketplace_carrier_codes", "is_active")}),
    )

    @admin.display(description=_("countries served"))
    def countries_text(self, method: ShippingMethod) -> str:
        return " ".join(method.countries) or "—"


class RateZoneInline(TabularInline):
    model = RateZone
    fields = ("code", "countries", "postcode_prefixes")
    extra = 0
    show_change_link = True


class RateSheetForm(forms.Form):
    file = forms.FileField(label=_("file"), help_text=_("CSV or XLSX, one row per weight bracket (docs/logistics.md)."))


@admin.register(RateCard)
class RateCardAdmin(ModelAdmin):
    list_display = ("name", "method", "currency", "valid_from", "valid_to", "is_active")
    list_filter = ("method", "currency", "is_active")
    search_fields = ("name", "method__code", "method__name")
    list_select_related = ("method",)
    inlines = (RateZoneInline,)
    readonly_fields = ("sheet",)

    @admin.display(description=_("spreadsheet"))
    def sheet(self, card: RateCard) -> str:
        if not card.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:logistics_ratecard_import", args=[card.pk]),
            gettext("Import zones and brackets"),
            reverse("admin:logistics_ratecard_export", args=[card.pk]),
            gettext("Download as CSV"),
        )

    def get_urls(self):
        return [
            path(
                "<int:card_id>/import/",
                self.admin_site.admin_view(self.import_view),
                name="logistics_ratecard_import",
            ),
            path(
                "<int:card_id>/export.csv",
                self.admin_site.admin_view(self.export_view),
                name="logistics_ratecard_export",
            ),
            *super().get_urls(),
        ]

    def _card(self, request, card_id: int) -> RateCard:
        card = self.get_object(request, str(card_id))
        if card is None:
            raise Http404
        return card

    def import_view(self, request, card_id: int):
        """The card's zones and brackets from a spreadsheet: all or nothing, every problem listed by row."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        card = self._card(request, card_id)
        form = RateSheetForm(request.POST or None, request.FILES or None)
        problems: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                rate_card_import(card=card, source=form.cleaned_data["file"])
            except DomainError as error:
                problems = [error.message, *(detail_line(detail) for detail in error.errors)]
            else:
                self.message_user(
                    request,
                    gettext("Rate card %(card)s: %(zones)s zones imported.")
                    % {"card": card.name, "zones": card.zones.count()},
                    level=messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:logistics_ratecard_change", args=[card.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import zones and brackets into %(card)s") % {"card": card.name},
            "opts": self.opts,
            "card": card,
            "form": form,
            "problems": problems,
        }
        return TemplateResponse(request, "admin/logistics/ratecard/import.html", context)

    def export_view(self, request, card_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        card = self._card(request, card_id)
        response = HttpResponse(rate_card_csv(card), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="rate-card-{card.pk}.csv"'
        return response


class RateBracketInline(TabularInline):
    model = RateBracket
    fields = (
        "max_weight_g",
        "pricing",
        "price_per_kg",
        "first_weight_g",
        "first_price",
        "additional_unit_g",
        "additional_price",
        "registration_fee",
    )
    extra = 0


@admin.register(RateZone)
class RateZoneAdmin(ModelAdmin):
    list_display = ("code", "card", "countries_text")
    list_filter = ("card",)
    search_fields = ("code", "card__name")
    list_select_related = ("card",)
    inlines = (RateBracketInline,)

    @admin.display(description=_("countries"))
    def countries_text(self, zone: RateZone) -> str:
        return " ".join(zone.countries)


def refusal_text(error: DomainError, subject: str) -> str:
    """A service's refusal, with the problems it lists, naming ``subject`` (once) when the message does not."""
    message = error.message
    details = clauses_join(
        labelled(detail.field, detail.message) for detail in error.errors if detail.message != message
    )
    if details:
        # Translators: a refusal of a service, then the problems it lists by field ("reason: Required.").
        message = gettext("%(message)s %(details)s") % {"message": message, "details": details}
    if subject not in message:
        message = labelled(subject, message)
    return message


# --- carrier accounts ---------------------------------------------------------------------------------------------


class CarrierAccountForm(forms.ModelForm):
    # A URL typed without its scheme is read as https (what every carrier's API is), as Django 6 will.
    api_base_url = forms.URLField(
        label=_("API address"),
        required=False,
        assume_scheme="https",
        help_text=_("Empty: the carrier's production API."),
    )
    credentials = forms.CharField(
        label=_("credentials"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text=_(
            'A JSON object in the carrier\'s own terms, e.g. {"customer_code": "...", "api_secret": "..."}. '
            "Stored encrypted and never shown again; leave empty to keep the stored ones."
        ),
    )

    class Meta:
        model = CarrierAccount
        fields = ["carrier", "name", "api_base_url", "label_format", "sender", "is_active"]

    def clean_credentials(self):
        return json_object_clean(self.cleaned_data.get("credentials", ""), '{"api_key": "..."}')


class TrackingNumberRangeForm(forms.ModelForm):
    """A range's next number is the printer's: a new range starts at its first number, and the numbers already on
    labels stay inside the range (the table's checks would refuse it with an error page)."""

    class Meta:
        model = TrackingNumberRange
        fields = ["scheme", "prefix", "suffix", "width", "first_number", "last_number", "is_active"]

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("first_number"), cleaned.get("last_number")
        range_ = self.instance
        used = range_.pk is not None and range_.next_number > range_.first_number
        if not used:
            if first is not None:
                range_.next_number = first
            return cleaned
        if first is not None and first != range_.first_number:
            self.add_error("first_number", _("Numbers of this range are on labels already: add a new range instead."))
        if last is not None and last < range_.next_number - 1:
            self.add_error(
                "last_number",
                gettext("Numbers up to %(number)s are on labels already.") % {"number": range_.next_number - 1},
            )
        return cleaned


class TrackingNumberRangeInline(TabularInline):
    model = TrackingNumberRange
    form = TrackingNumberRangeForm
    fields = ("scheme", "prefix", "suffix", "width", "first_number", "last_number", "next_number", "is_active")
    readonly_fields = ("next_number",)
    extra = 0


@admin.register(CarrierAccount)
class CarrierAccountAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = CarrierAccountForm
    list_display = ("name", "carrier", "label_format", "has_credentials", "is_active")
    list_filter = ("carrier", "label_format", "is_active")
    search_fields = ("name",)
    inlines = (TrackingNumberRangeInline,)
    readonly_fields = ("has_credentials",)
    fieldsets = (
        (None, {"fields": ("carrier", "name", "is_active")}),
        (_("Connection"), {"fields": ("api_base_url", "credentials", "has_credentials")}),
        (_("Labels"), {"fields": ("label_format", "sender")}),
    )

    @admin.display(description=_("credentials stored"), boolean=True)
    def has_credentials(self, account: CarrierAccount) -> bool:
        return bool(account.credentials_encrypted)

    def save_model(self, request, obj, form, change):
        # The service checks the credentials, encrypts them and saves.
        data = {name: form.cleaned_data[name] for name in CarrierAccountForm.Meta.fields}
        saved = services.carrier_account_save(account=obj, data=data, credentials=form.cleaned_data.get("credentials"))
        adopt_saved(obj, saved)


# --- shipments --------------------------------------------------------------------------------------------------


class ManifestStateFilter(admin.SimpleListFilter):
    title = _("manifest")
    parameter_name = "manifest_state"

    def lookups(self, request, model_admin):
        return [
            ("open", _("In an open manifest")),
            ("closing", _("In a manifest being handed over")),
            ("handed_over", _("In a handed-over manifest")),
            ("none", _("In no manifest")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(manifest__isnull=True)
        if self.value() in Manifest.Status.values:
            return queryset.filter(manifest__status=self.value())
        return queryset


class CustomsLineInline(ReadOnlyInline):
    model = CustomsLine
    fields = list(CUSTOMS_FIELDS)
    readonly_fields = fields


class ShipmentEventInline(ReadOnlyInline):
    model = ShipmentEvent
    verbose_name_plural = _("history")
    select_related = ("user",)
    fields = ["created_at", "from_status", "to_status", "why", "user"]
    readonly_fields = fields

    @admin.display(description=_("note"))
    def why(self, event: ShipmentEvent) -> str:
        # Notes the system writes are message ids (gettext_noop), shown in the reader's language.
        return gettext(event.note) if event.note else ""


class TrackingEventInline(ReadOnlyInline):
    model = TrackingEvent
    line_order = ("occurred_at", "id")
    fields = ["occurred_at", "kind", "code", "description", "location"]
    readonly_fields = fields


class LabelPrintInline(ReadOnlyInline):
    model = LabelPrint
    select_related = ("user",)
    fields = ["printed_at", "reprint", "reason", "batch", "user"]
    readonly_fields = fields


def shipments_without_labels(queryset):
    """Shipments as lists show them: how big the label is, never its bytes."""
    return queryset.defer("label").annotate(label_bytes=Length("label"))


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    """Shipments are made by shipping a parcel (``orders.shipping.parcel_ship``) and move through their status
    machine; the carrier's data is shown as it came."""

    list_display = [
        "number",
        "tracking_number",
        "account",
        "method",
        "status",
        "reference",
        "label_size",
        "label_format",
        "created_at",
    ]
    list_select_related = ["account", "method"]
    list_filter = [
        "account__carrier",
        "account",
        "status",
        "method",
        ManifestStateFilter,
        "label_format",
        ("void_requested_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=tracking_number", "=number", "reference", "=carrier_order_id"]
    search_help_text = _("Tracking number, shipment number or carrier's order ID (exactly), or the order reference.")
    ordering = ["-id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [CustomsLineInline, ShipmentEventInline, TrackingEventInline, LabelPrintInline]
    actions = ["print_labels", "cancel_shipments", "refresh_labels"]
    readonly_fields = ["label_link", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["number", "status", "reference", "account", "method", "parcel", "label_link"]}),
        (
            _("Carrier"),
            {
                "fields": [
                    "tracking_number",
                    "carrier_order_id",
                    "carrier_reference",
                    "label_format",
                    "label_size",
                    "carrier_message",
                ]
            },
        ),
        (
            _("Parcel"),
            {
                "fields": [
                    "recipient",
                    "sender",
                    "expected_weight_g",
                    "declared_weight_g",
                    "actual_weight_g",
                    "length_mm",
                    "width_mm",
                    "height_mm",
                ]
            },
        ),
        (
            _("Customs and cost"),
            {"fields": ["ioss_number", "vat_number", "eori_number", "quoted_cost", "billed_cost", "cost_currency"]},
        ),
        (_("Hand-over"), {"fields": ["manifest", "void_requested_at", "void_reason", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return shipments_without_labels(super().get_queryset(request))

    def has_print_permission(self, request) -> bool:
        """Whoever may see shipments may print their labels (packers do); each print is logged."""
        return request.user.has_perm("logistics.view_shipment")

    def has_void_permission(self, request) -> bool:
        """Cancelling, voiding labels and asking the carrier again."""
        return request.user.has_perm("logistics.change_shipment")

    @admin.display(description=_("label"))
    def label_link(self, shipment: Shipment) -> str:
        if not shipment.pk or not getattr(shipment, "label_bytes", None):
            return gettext("No label yet.")
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:logistics_shipment_label", args=[shipment.pk]),
            gettext("Download label"),
        )

    def get_urls(self):
        label = path(
            "<int:shipment_id>/label/",
            self.admin_site.admin_view(self.label_view),
            name="logistics_shipment_label",
        )
        return [label, *super().get_urls()]

    def label_view(self, request, shipment_id: int):
        """The shipment's label as stored, logged as a print (a reprint when printed before, with ``?reason=``)."""
        if not self.has_print_permission(request):
            raise PermissionDenied
        shipment = Shipment.objects.select_related("account", "method").filter(pk=shipment_id).first()
        if shipment is None:
            raise Http404
        back = HttpResponseRedirect(reverse("admin:logistics_shipment_change", args=[shipment.pk]))
        if not shipment.label:
            self.message_user(
                request,
                gettext("Shipment %(shipment)s has no label (it is %(status)s).")
                % {"shipment": shipment.number, "status": shipment.get_status_display()},
                level=messages.ERROR,
            )
            return back
        reason = request.GET.get("reason", "")[: LabelPrint._meta.get_field("reason").max_length]
        try:
            data, label_format = labels_print(shipments=[shipment], user=request.user, reason=reason)
        except DomainError as error:
            self._print_refused(request, error)
            return back
        return label_response(data, label_format, shipment.tracking_number or shipment.number)

    # --- actions: each calls its service and says what worked and what each refusal was -----------------------

    def _chosen(self, request, queryset) -> list[Shipment] | None:
        shipments = list(queryset[: ACTION_MOST + 1])
        if len(shipments) > ACTION_MOST:
            self.message_user(
                request,
                gettext("Choose at most %(most)s shipments at a time.") % {"most": ACTION_MOST},
                level=messages.ERROR,
            )
            return None
        return shipments

    def _print_refused(self, request, error: DomainError) -> None:
        # Each problem of a print names its shipment; its place in the list ("shipments[3]") means nothing here.
        for message in [detail.message for detail in error.errors] or [error.message]:
            self.message_user(request, message, level=messages.ERROR)

    @admin.action(description=_("Print labels as one file"), permissions=["print"])
    def print_labels(self, request, queryset):
        # In the list's order (its sorting included): a wave prints in the order it is picked.
        shipments = self._chosen(request, queryset.defer(None).select_related("account", "method"))
        if shipments is None:
            return None
        try:
            data, label_format = labels_print(shipments=shipments, user=request.user)
        except DomainError as error:
            self._print_refused(request, error)
            return None
        return label_response(data, label_format, f"labels-{timezone.localtime():%Y%m%d-%H%M%S}")

    @admin.action(description=_("Cancel and void labels"), permissions=["void"])
    def cancel_shipments(self, request, queryset):
        shipments = self._chosen(request, queryset.order_by("pk"))
        if shipments is None:
            return
        note = gettext("Cancelled in the back office.")
        worked = 0
        for shipment in shipments:
            try:
                shipment_cancel(shipment=shipment, user=request.user, note=note)
            except DomainError as error:
                name = shipment.tracking_number or shipment.number
                self.message_user(request, refusal_text(error, name), level=messages.ERROR)
            else:
                worked += 1
        if worked:
            self.message_user(
                request,
                ngettext(
                    "%(count)s shipment cancelled, its label voided.",
                    "%(count)s shipments cancelled, their labels voided.",
                    worked,
                )
                % {"count": worked},
                level=messages.SUCCESS,
            )

    @admin.action(description=_("Ask the carrier again for labels"), permissions=["void"])
    def refresh_labels(self, request, queryset):
        shipments = self._chosen(request, queryset.filter(status=Shipment.Status.CREATED).order_by("pk"))
        if shipments is None:
            return
        if not shipments:
            self.message_user(
                request, gettext("None of them is waiting for its label from the carrier."), level=messages.WARNING
            )
            return
        ready = 0
        for shipment in shipments:
            name = shipment.tracking_number or shipment.number
            try:
                refreshed = shipment_label_refresh(shipment=shipment, user=request.user)
            except DomainError as error:
                self.message_user(request, refusal_text(error, name), level=messages.ERROR)
                continue
            if refreshed.status == Shipment.Status.LABEL_READY:
                ready += 1
            elif refreshed.status == Shipment.Status.FAILED:
                message = refreshed.carrier_message or refreshed.get_status_display()
                self.message_user(request, labelled(name, message), level=messages.ERROR)
            else:
                message = refreshed.carrier_message or gettext("The carrier has no label for it yet.")
                self.message_user(request, labelled(name, message), level=messages.WARNING)
        if ready:
            self.message_user(
                request,
                ngettext("%(count)s shipment got its label.", "%(count)s shipments got their labels.", ready)
                % {"count": ready},
                level=messages.SUCCESS,
            )


# --- hand-over manifests ----------------------------------------------------------------------------------------


class ManifestShipmentInline(ReadOnlyInline):
    model = Shipment
    fk_name = "manifest"
    verbose_name_plural = _("parcels")
    select_related = ("method",)
    line_order = ("id",)
    fields = ["tracking_number", "number", "reference", "method", "status", "weight", "void_requested_at"]
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).defer("label", "sender")

    @admin.display(description=_("weight (g)"))
    def weight(self, shipment: Shipment) -> int | str:
        return shipment.actual_weight_g or shipment.expected_weight_g or shipment.declared_weight_g or "—"


class ManifestForm(forms.ModelForm):
    class Meta:
        model = Manifest
        fields = ["account", "warehouse", "pickup"]

    def validate_unique(self):
        # One open manifest per account, warehouse and pickup: opening an open one finds it (manifest_open).
        pass


@admin.register(Manifest)
class ManifestAdmin(ModelAdmin):
    """Manifests are opened here (or found, when one is open for the pickup), filled by scanning parcels (the scan
    pages or the API), and handed over by an action; what the carrier said is shown as it came."""

    form = ManifestForm
    list_display = [
        "number",
        "account",
        "warehouse",
        "pickup",
        "status",
        "parcels",
        "weight_kg",
        "handed_over_at",
    ]
    list_select_related = ["account", "warehouse"]
    list_filter = ["status", "account__carrier", "account", "warehouse"]
    search_fields = ["=number", "pickup", "=carrier_manifest_id"]
    search_help_text = _("Manifest number or carrier's manifest ID (exactly), or the pickup.")
    ordering = ["-id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [ManifestShipmentInline]
    actions = ["hand_over", "print_pdf"]
    readonly_fields = [
        "number",
        "status",
        "handed_over_at",
        "handed_over_by",
        "parcel_count",
        "total_weight_g",
        "carrier_manifest_id",
        "carrier_message",
        "documents",
        "created_at",
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["account", "warehouse", "pickup"]})]
        return [
            (None, {"fields": ["number", "account", "warehouse", "pickup", "status", "documents"]}),
            (
                _("Hand-over"),
                {
                    "fields": [
                        "handed_over_at",
                        "handed_over_by",
                        "parcel_count",
                        "total_weight_g",
                        "carrier_manifest_id",
                        "carrier_message",
                        "created_at",
                    ]
                },
            ),
        ]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_queryset(self, request):
        shipments = Shipment.objects.filter(manifest=OuterRef("pk")).order_by()
        count = shipments.values("manifest").annotate(count=Count("pk")).values("count")
        return (
            super()
            .get_queryset(request)
            .defer("carrier_document")
            .annotate(
                document_bytes=Length("carrier_document"),
                shipment_count=Coalesce(Subquery(count, output_field=IntegerField()), 0),
            )
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a manifest changes by scanning and handing over, never by editing

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_hand_over_permission(self, request) -> bool:
        return request.user.has_perm("logistics.change_manifest")

    @admin.display(description=_("parcels"), ordering="shipment_count")
    def parcels(self, manifest: Manifest) -> int:
        return manifest.shipment_count

    @admin.display(description=_("weight (kg)"), ordering="total_weight_g")
    def weight_kg(self, manifest: Manifest) -> str:
        if manifest.status != Manifest.Status.HANDED_OVER:
            return "—"
        return f"{manifest.total_weight_g / 1000:.3f}"

    @admin.display(description=_("documents"))
    def documents(self, manifest: Manifest) -> str:
        if not manifest.pk:
            return "—"
        links = [(reverse("admin:logistics_manifest_pdf", args=[manifest.pk]), gettext("Manifest PDF"))]
        if getattr(manifest, "document_bytes", None):
            document_url = reverse("admin:logistics_manifest_carrier_document", args=[manifest.pk])
            links.append((document_url, gettext("Carrier's document")))
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    # --- opening: the open manifest of the pickup, made when there is none ---------------------------------------

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        started = timezone.now()
        opened = manifest_open(account=data["account"], warehouse=data.get("warehouse"), pickup=data.get("pickup", ""))
        if opened.created_at < started:
            self.message_user(
                request,
                gettext("Manifest %(manifest)s was open for this pickup already: scan the parcels into it.")
                % {"manifest": opened.number},
                level=messages.INFO,
            )
        adopt_saved(obj, opened)

    def response_add(self, request, obj, post_url_continue=None):
        return HttpResponseRedirect(reverse("admin:logistics_manifest_change", args=[obj.pk]))

    # --- files ----------------------------------------------------------------------------------------------------

    def get_urls(self):
        return [
            path("<int:manifest_id>/pdf/", self.admin_site.admin_view(self.pdf_view), name="logistics_manifest_pdf"),
            path(
                "<int:manifest_id>/carrier-document/",
                self.admin_site.admin_view(self.carrier_document_view),
                name="logistics_manifest_carrier_document",
            ),
            *super().get_urls(),
        ]

    def _manifest(self, request, manifest_id: int) -> Manifest:
        if not self.has_view_permission(request):
            raise PermissionDenied
        manifest = Manifest.objects.select_related("account", "warehouse").filter(pk=manifest_id).first()
        if manifest is None:
            raise Http404
        return manifest

    def pdf_view(self, request, manifest_id: int):
        manifest = self._manifest(request, manifest_id)
        return file_response(manifest_pdf(manifest), "application/pdf", f"{manifest.number}.pdf")

    def carrier_document_view(self, request, manifest_id: int):
        manifest = self._manifest(request, manifest_id)
        document = bytes(manifest.carrier_document or b"")
        if not document:
            self.message_user(
                request,
                gettext("The carrier sent no document for manifest %(manifest)s.") % {"manifest": manifest.number},
                level=messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:logistics_manifest_change", args=[manifest.pk]))
        is_pdf = document.startswith(b"%PDF")
        media_type, extension = ("application/pdf", "pdf") if is_pdf else ("application/octet-stream", "bin")
        return file_response(document, media_type, f"{manifest.number}-carrier.{extension}")

    # --- actions ------------------------------------------------------------------------------------------------

    @admin.action(description=_("Hand over (close)"), permissions=["hand_over"])
    def hand_over(self, request, queryset):
        for manifest in queryset.order_by("pk")[:ACTION_MOST]:
            try:
                closed = manifest_close(manifest=manifest, user=request.user)
            except DomainError as error:
                self.message_user(request, refusal_text(error, manifest.number), level=messages.ERROR)
                continue
            self.message_user(
                request,
                ngettext(
                    "Manifest %(manifest)s handed over: %(count)s parcel.",
                    "Manifest %(manifest)s handed over: %(count)s parcels.",
                    closed.parcel_count,
                )
                % {"manifest": closed.number, "count": closed.parcel_count},
                level=messages.SUCCESS,
            )

    @admin.action(description=_("Print manifest PDF"), permissions=["view"])
    def print_pdf(self, request, queryset):
        manifests = list(queryset.select_related("account", "warehouse")[:ACTION_MOST])
        if len(manifests) == 1:
            return file_response(manifest_pdf(manifests[0]), "application/pdf", f"{manifests[0].number}.pdf")
        writer = PdfWriter()
        for manifest in manifests:
            writer.append(PdfReader(io.BytesIO(manifest_pdf(manifest))))
        out = io.BytesIO()
        writer.write(out)
        return file_response(out.getvalue(), "application/pdf", f"manifests-{timezone.localtime():%Y%m%d-%H%M%S}.pdf")


# --- label prints -----------------------------------------------------------------------------------------------


@admin.register(LabelPrint)
class LabelPrintAdmin(ReadOnlyAdmin):
    """Every label printed or downloaded: who, when, which batch, and whether it was a reprint (and why)."""

    list_display = ["shipment", "reprint", "reason", "batch", "user", "printed_at"]
    list_select_related = ["shipment", "user"]
    list_filter = ["reprint", "shipment__account", "user"]
    search_fields = ["=shipment__tracking_number", "=shipment__number", "=batch"]
    search_help_text = _("Tracking number, shipment number or batch, exactly.")
    ordering = ["-id"]
    date_hierarchy = "printed_at"
    show_full_result_count = False
    fields = ["shipment", "reprint", "reason", "batch", "user", "printed_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("shipment__label", "shipment__recipient", "shipment__sender")
