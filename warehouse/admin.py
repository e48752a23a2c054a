"""The warehouse floor's work in the back office: waves (made on the "Make a wave" page, released, printed, their
labels made again and assigned to a picker, by actions that call the services of ``warehouse.waves``), the scan log
and the productivity page, pack checks, floor settings per warehouse, and put-back tasks (picked goods of cancelled
orders to go back to their bins). Moving the stock from the tote back to a bin is the put-away scan's; here a person
only marks a task done once the goods are back."""

from __future__ import annotations

import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from pypdf import PdfReader, PdfWriter
from unfold.widgets import (
    INPUT_CLASSES,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSelectMultipleWidget,
    UnfoldAdminSelectWidget,
)

from core.admin import ModelAdmin, ReadOnlyAdmin, ReadOnlyInline, action_form_page
from core.errors import DomainError, words_join
from inventory.models import Warehouse
from logistics.admin import refusal_text
from logistics.api.files import file_response
from logistics.models import Carrier, ShippingMethod
from orders.models import Order, ParcelLine
from warehouse.models import FloorSettings, PackCheck, PickTask, PutBackTask, ScanEvent, Wave, WaveParcel
from warehouse.selectors import (
    PRODUCTIVITY_MOST_DAYS,
    parcel_order_ids,
    pickers,
    productivity,
    productivity_range,
    waves_listed,
)
from warehouse.waves import (
    MOST_PARCELS,
    WaveCriteria,
    pick_list_pdf,
    wave_assign,
    wave_candidates,
    wave_create,
    wave_labels_make,
    wave_release,
)

# The most waves one action works on: each is a service call (releasing builds a path, labels ask carriers).
ACTION_MOST = 20
# The parcels the "Make a wave" page lists under its count.
PREVIEW_SHOWN = 20


def _store_model():
    # Stores are the channels app's, which the floor does not import: found through the order's relation.
    return Order._meta.get_field("store").related_model


# --- waves -------------------------------------------------------------------------------------------------------


class WaveParcelInline(ReadOnlyInline):
    model = WaveParcel
    verbose_name_plural = _("parcels")
    select_related = ("parcel", "packed_by")
    line_order = ("position",)
    per_page = 100
    fields = [
        "position",
        "parcel",
        "orders",
        "status",
        "slot",
        "units",
        "units_picked",
        "units_packed",
        "packed_by",
        "note",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        lines = ParcelLine.objects.select_related("order").order_by("pk")
        return super().get_queryset(request).prefetch_related(Prefetch("parcel__lines", queryset=lines))

    @admin.display(description=_("orders"))
    def orders(self, entry: WaveParcel) -> str:
        return words_join(parcel_order_ids(entry))


class PickTaskInline(ReadOnlyInline):
    model = PickTask
    verbose_name_plural = _("pick path")
    select_related = ("bin", "product", "picked_by")
    line_order = ("sequence",)
    per_page = 100
    fields = ["sequence", "bin", "sku", "quantity", "picked", "status", "short_reason", "picked_by"]
    readonly_fields = fields

    @admin.display(description=_("SKU"))
    def sku(self, task: PickTask) -> str:
        return task.product.sku


class WaveMakeForm(forms.Form):
    """The criteria of a wave; ``wave_create`` checks them (its refusals are shown on their fields)."""

    warehouse = forms.ModelChoiceField(
        label=_("warehouse"),
        queryset=Warehouse.objects.filter(is_active=True).order_by("priority", "code"),
        widget=UnfoldAdminSelectWidget,
    )
    shape = forms.ChoiceField(
        label=_("order shape"),
        choices=Wave.Shape.choices,
        initial=Wave.Shape.ANY,
        widget=UnfoldAdminSelectWidget,
        help_text=_("Single-item waves pack fastest (the fast lane); several SKUs go over the sorting wall."),
    )
    methods = forms.ModelMultipleChoiceField(
        label=_("shipping methods"),
        queryset=ShippingMethod.objects.filter(is_active=True).order_by("code"),
        required=False,
        widget=UnfoldAdminSelectMultipleWidget,
        help_text=_("None chosen: every method."),
    )
    carriers = forms.ModelMultipleChoiceField(
        label=_("carriers"),
        queryset=Carrier.objects.filter(is_active=True).order_by("code"),
        required=False,
        widget=UnfoldAdminSelectMultipleWidget,
        help_text=_("None chosen: every carrier."),
    )
    stores = forms.ModelMultipleChoiceField(
        label=_("stores"),
        queryset=None,
        required=False,
        widget=UnfoldAdminSelectMultipleWidget,
        help_text=_("None chosen: every store."),
    )
    ship_by_before = forms.DateTimeField(
        label=_("ship-by cut-off"),
        required=False,
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": " ".join(INPUT_CLASSES)}, format="%Y-%m-%dT%H:%M"
        ),
        help_text=_("Only parcels whose orders must ship before this time."),
    )
    max_parcels = forms.IntegerField(
        label=_("most parcels"),
        min_value=1,
        max_value=MOST_PARCELS,
        initial=WaveCriteria.max_parcels,
        widget=UnfoldAdminIntegerFieldWidget,
    )
    max_lines = forms.IntegerField(
        label=_("most order lines"),
        min_value=1,
        required=False,
        widget=UnfoldAdminIntegerFieldWidget,
        help_text=_("Empty: no limit."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = _store_model().objects.filter(is_active=True).order_by("name")

    def criteria(self) -> WaveCriteria:
        data = self.cleaned_data
        return WaveCriteria(
            warehouse_id=data["warehouse"].pk,
            shape=data["shape"],
            method_ids=tuple(method.pk for method in data["methods"]),
            carrier_ids=tuple(carrier.pk for carrier in data["carriers"]),
            store_ids=tuple(store.pk for store in data["stores"]),
            ship_by_before=data["ship_by_before"],
            max_parcels=data["max_parcels"],
            max_lines=data["max_lines"],
        )

    def add_service_errors(self, error: DomainError) -> None:
        fields = [detail for detail in error.errors if detail.field in self.fields]
        for detail in fields:
            self.add_error(detail.field, detail.message)
        if not fields:
            self.add_error(None, error.message)


class WavePickerForm(forms.Form):
    picker = forms.ModelChoiceField(
        label=_("picker"),
        queryset=None,
        required=False,
        widget=UnfoldAdminSelectWidget,
        help_text=_("Only this person may start picking it. Empty: whoever starts it first."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["picker"].queryset = pickers()


@admin.register(Wave)
class WaveAdmin(ModelAdmin):
    """Waves are made on the "Make a wave" page (the add button) and change only through their services: here they
    are looked at, and released, printed, labelled and assigned by actions."""

    list_display = [
        "number",
        "warehouse",
        "shape",
        "status",
        "parcel_count",
        "unit_count",
        "picker",
        "progress",
        "released_at",
    ]
    list_filter = ["status", "warehouse", "shape", "picker"]
    search_fields = ["=number", "=parcels__parcel__number", "=parcels__parcel__lines__order__channel_order_id"]
    search_help_text = _("Wave number, parcel number or order ID, exactly.")
    ordering = ["-id"]
    show_full_result_count = False
    inlines = [WaveParcelInline, PickTaskInline]
    actions = ["release_waves", "print_pick_lists", "make_labels", "assign_picker"]
    fields = [
        "number",
        "warehouse",
        "status",
        "shape",
        "chosen_by",
        "picker",
        "cart_bin",
        "progress",
        "parcel_count",
        "line_count",
        "unit_count",
        "released_at",
        "finished_at",
        "documents",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return waves_listed().order_by(*(self.get_ordering(request) or ()))

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a wave changes by its services (release, pick, pack), never by editing

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_release_permission(self, request) -> bool:
        """Releasing, making labels and assigning pickers."""
        return request.user.has_perm("warehouse.change_wave")

    @admin.display(description=_("progress"))
    def progress(self, wave: Wave) -> str:
        units = wave.units_to_pick if wave.released_at else wave.unit_count
        # Translators: units picked of the units a wave asks for, e.g. "12/30 units".
        return gettext("%(picked)s/%(units)s units") % {"picked": wave.units_picked, "units": units}

    @admin.display(description=_("chosen by"))
    def chosen_by(self, wave: Wave) -> str:
        criteria = wave.criteria or {}
        parts = [(gettext("order shape"), wave.get_shape_display())]
        if criteria.get("method_ids"):
            methods = ShippingMethod.objects.filter(pk__in=criteria["method_ids"]).order_by("code")
            parts.append((gettext("shipping methods"), words_join(method.code for method in methods)))
        if criteria.get("carrier_ids"):
            carriers = Carrier.objects.filter(pk__in=criteria["carrier_ids"]).order_by("code")
            parts.append((gettext("carriers"), words_join(carrier.name for carrier in carriers)))
        if criteria.get("store_ids"):
            stores = _store_model().objects.filter(pk__in=criteria["store_ids"]).order_by("name")
            parts.append((gettext("stores"), words_join(store.name for store in stores)))
        if criteria.get("ship_by_before"):
            parts.append((gettext("ship-by cut-off"), criteria["ship_by_before"]))
        if criteria.get("max_parcels"):
            parts.append((gettext("most parcels"), criteria["max_parcels"]))
        if criteria.get("max_lines"):
            parts.append((gettext("most order lines"), criteria["max_lines"]))
        return format_html_join(mark_safe("<br>"), "{}: {}", parts)

    @admin.display(description=_("documents"))
    def documents(self, wave: Wave) -> str:
        if not wave.pk or wave.status == Wave.Status.DRAFT:
            return gettext("The pick list is printed once the wave is released.")
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            reverse("admin:warehouse_wave_pick_list", args=[wave.pk]),
            gettext("Pick list PDF"),
        )

    # --- making a wave: the add button's page -------------------------------------------------------------------

    def get_urls(self):
        pick_list = path(
            "<int:wave_id>/pick-list/", self.admin_site.admin_view(self.pick_list_view), name="warehouse_wave_pick_list"
        )
        return [pick_list, *super().get_urls()]

    def add_view(self, request, form_url="", extra_context=None):
        return self.make_view(request)

    def make_view(self, request):
        """The criteria of a wave, how many parcels they match now (and the first of them), and the wave made."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = WaveMakeForm(request.POST or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            criteria = form.criteria()
            if "_make" in request.POST:
                try:
                    wave = wave_create(criteria=criteria, user=request.user)
                except DomainError as error:
                    form.add_service_errors(error)
                else:
                    self.message_user(
                        request,
                        ngettext(
                            "Wave %(wave)s made: %(count)s parcel, %(units)s units. Release it to pick it.",
                            "Wave %(wave)s made: %(count)s parcels, %(units)s units. Release it to pick it.",
                            wave.parcel_count,
                        )
                        % {"wave": wave.number, "count": wave.parcel_count, "units": wave.unit_count},
                        level=messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:warehouse_wave_change", args=[wave.pk]))
            matching = wave_candidates(criteria)
            lines = ParcelLine.objects.select_related("order").order_by("pk")
            shown = list(
                matching.select_related("shipping_method").prefetch_related(Prefetch("lines", queryset=lines))[
                    :PREVIEW_SHOWN
                ]
            )
            preview = {
                "count": matching.count(),
                "parcels": [
                    {
                        "parcel": parcel,
                        "orders": words_join(dict.fromkeys(line.order.channel_order_id for line in parcel.lines.all())),
                    }
                    for parcel in shown
                ],
            }
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Make a wave"),
            "opts": self.opts,
            "form": form,
            "preview": preview,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/warehouse/wave/make.html", context)

    def pick_list_view(self, request, wave_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        wave = Wave.objects.select_related("warehouse").filter(pk=wave_id).first()
        if wave is None:
            raise Http404
        return file_response(pick_list_pdf(wave), "application/pdf", f"{wave.number}-pick-list.pdf")

    # --- actions: each calls its service per wave and says what worked and what each refusal was -----------------

    def _chosen(self, request, queryset) -> list[Wave] | None:
        waves = list(queryset.select_related("warehouse").order_by("pk")[: ACTION_MOST + 1])
        if len(waves) > ACTION_MOST:
            self.message_user(
                request,
                gettext("Choose at most %(most)s waves at a time.") % {"most": ACTION_MOST},
                level=messages.ERROR,
            )
            return None
        return waves

    @admin.action(description=_("Release (pick tasks, labels)"), permissions=["release"])
    def release_waves(self, request, queryset):
        waves = self._chosen(request, queryset)
        for wave in waves or []:
            try:
                released = wave_release(wave=wave, user=request.user)
            except DomainError as error:
                self.message_user(request, refusal_text(error, wave.number), level=messages.ERROR)
                continue
            stops = released.tasks.count()
            self.message_user(
                request,
                ngettext(
                    "Wave %(wave)s released: %(count)s stop to pick; its labels are being made.",
                    "Wave %(wave)s released: %(count)s stops to pick; its labels are being made.",
                    stops,
                )
                % {"wave": released.number, "count": stops},
                level=messages.SUCCESS,
            )

    @admin.action(description=_("Print pick list"), permissions=["view"])
    def print_pick_lists(self, request, queryset):
        waves = self._chosen(request, queryset)
        if waves is None:
            return None
        printable = []
        for wave in waves:
            if wave.status == Wave.Status.DRAFT:
                self.message_user(
                    request,
                    gettext("Wave %(wave)s is not released yet: it has no pick list.") % {"wave": wave.number},
                    level=messages.WARNING,
                )
            else:
                printable.append(wave)
        if not printable:
            return None
        if len(printable) == 1:
            wave = printable[0]
            return file_response(pick_list_pdf(wave), "application/pdf", f"{wave.number}-pick-list.pdf")
        writer = PdfWriter()
        for wave in printable:
            writer.append(PdfReader(io.BytesIO(pick_list_pdf(wave))))
        out = io.BytesIO()
        writer.write(out)
        return file_response(out.getvalue(), "application/pdf", f"pick-lists-{timezone.localtime():%Y%m%d-%H%M%S}.pdf")

    @admin.action(description=_("Make labels again"), permissions=["release"])
    def make_labels(self, request, queryset):
        for wave in self._chosen(request, queryset) or []:
            try:
                counts = wave_labels_make(wave=wave, user=request.user)
            except DomainError as error:
                self.message_user(request, refusal_text(error, wave.number), level=messages.ERROR)
                continue
            level = messages.SUCCESS if not counts["refused"] and not counts["waiting"] else messages.WARNING
            self.message_user(
                request,
                gettext(
                    "Wave %(wave)s: %(ready)s labels ready, %(waiting)s waiting for the carrier, %(refused)s refused "
                    "(why: each parcel's note)."
                )
                % {"wave": wave.number, **counts},
                level=level,
            )

    @admin.action(description=_("Assign to a picker"), permissions=["release"])
    def assign_picker(self, request, queryset):
        waves = self._chosen(request, queryset)
        if waves is None:
            return None
        form = WavePickerForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            picker = form.cleaned_data["picker"]
            for wave in waves:
                try:
                    wave_assign(wave=wave, picker=picker, user=request.user)
                except DomainError as error:
                    self.message_user(request, refusal_text(error, wave.number), level=messages.ERROR)
                    continue
                if picker is None:
                    message = gettext("Wave %(wave)s: whoever starts it first picks it.") % {"wave": wave.number}
                else:
                    message = gettext("Wave %(wave)s assigned to %(picker)s.") % {
                        "wave": wave.number,
                        "picker": picker.get_username(),
                    }
                self.message_user(request, message, level=messages.SUCCESS)
            return None
        return action_form_page(
            self,
            request,
            chosen=[(wave.pk, wave.number) for wave in waves],
            chosen_text=ngettext("For %(count)s wave:", "For %(count)s waves:", len(waves)) % {"count": len(waves)},
            form=form,
            action="assign_picker",
            title=gettext("Assign to a picker"),
            submit=gettext("Assign"),
        )


# --- scans and productivity --------------------------------------------------------------------------------------


DAY_INPUT = forms.DateInput(attrs={"type": "date", "class": " ".join(INPUT_CLASSES)}, format="%Y-%m-%d")


class ProductivityForm(forms.Form):
    date_from = forms.DateField(label=_("from"), required=False, widget=DAY_INPUT)
    date_to = forms.DateField(label=_("to"), required=False, widget=DAY_INPUT)
    warehouse = forms.ModelChoiceField(
        label=_("warehouse"),
        queryset=Warehouse.objects.order_by("priority", "code"),
        required=False,
        empty_label=_("Every warehouse"),
        widget=UnfoldAdminSelectWidget,
    )


@admin.register(ScanEvent)
class ScanEventAdmin(ReadOnlyAdmin):
    """Every scan on the floor, as it was answered; the productivity page counts them."""

    change_list_template = "admin/warehouse/scanevent/change_list.html"
    list_display = ["created_at", "user", "warehouse", "step", "code", "ok", "message", "quantity", "wave", "reference"]
    list_select_related = ["user", "warehouse", "wave"]
    list_filter = ["step", "ok", "warehouse", "user"]
    search_fields = ["=code", "=reference"]
    search_help_text = _("What was scanned, or the document it was for, exactly.")
    ordering = ["-id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "created_at",
        "user",
        "warehouse",
        "step",
        "code",
        "ok",
        "message",
        "error_code",
        "quantity",
        "wave",
        "reference",
    ]

    def get_urls(self):
        figures = path(
            "productivity/",
            self.admin_site.admin_view(self.productivity_view),
            name="warehouse_scanevent_productivity",
        )
        return [figures, *super().get_urls()]

    def productivity_view(self, request):
        """Per person and per day: scans, errors, lines and units picked, parcels packed, scans per hour."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ProductivityForm(request.GET or None)
        rows = None
        date_from = date_to = None
        if not form.is_bound or form.is_valid():
            data = form.cleaned_data if form.is_bound else {}
            warehouse = data.get("warehouse")
            try:
                date_from, date_to = productivity_range(data.get("date_from"), data.get("date_to"))
            except DomainError as error:
                for detail in error.errors:
                    form.add_error(detail.field if detail.field in form.fields else None, detail.message)
            else:
                rows = productivity(
                    date_from=date_from,
                    date_to=date_to,
                    warehouse_id=warehouse.pk if warehouse is not None else None,
                )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Productivity"),
            "opts": self.opts,
            "form": form,
            "rows": rows,
            "date_from": date_from,
            "date_to": date_to,
            "most_days": PRODUCTIVITY_MOST_DAYS,
        }
        return TemplateResponse(request, "admin/warehouse/productivity.html", context)


# --- pack checks and floor settings ------------------------------------------------------------------------------


@admin.register(PackCheck)
class PackCheckAdmin(ReadOnlyAdmin):
    """Every parcel weighed at packing against what it should weigh, and who let one out of tolerance go."""

    list_display = [
        "parcel",
        "wave",
        "expected_g",
        "weighed_g",
        "tolerance_g",
        "within",
        "override_by",
        "override_reason",
        "user",
        "created_at",
    ]
    list_select_related = ["wave_parcel__parcel", "wave_parcel__wave", "override_by", "user"]
    list_filter = ["within", ("override_by", admin.EmptyFieldListFilter), "wave_parcel__wave__warehouse"]
    search_fields = ["=wave_parcel__parcel__number", "=wave_parcel__wave__number"]
    search_help_text = _("Parcel or wave number, exactly.")
    ordering = ["-id"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = [
        "parcel",
        "wave",
        "expected_g",
        "weighed_g",
        "tolerance_g",
        "within",
        "override_by",
        "override_reason",
        "user",
        "created_at",
    ]
    readonly_fields = ["parcel", "wave"]

    @admin.display(description=_("parcel"), ordering="wave_parcel__parcel__number")
    def parcel(self, check: PackCheck) -> str:
        return check.wave_parcel.parcel.number

    @admin.display(description=_("wave"), ordering="wave_parcel__wave__number")
    def wave(self, check: PackCheck) -> str:
        return check.wave_parcel.wave.number


@admin.register(FloorSettings)
class FloorSettingsAdmin(ModelAdmin):
    """How each warehouse's floor checks its work; a warehouse without a row works with the defaults."""

    list_display = [
        "warehouse",
        "weight_tolerance_g",
        "weight_tolerance_percent",
        "packaging_g",
        "over_receipt_percent",
    ]
    list_select_related = ["warehouse"]
    ordering = ["warehouse__priority", "warehouse__code"]
    fields = ["warehouse", "weight_tolerance_g", "weight_tolerance_percent", "packaging_g", "over_receipt_percent"]

    def get_readonly_fields(self, request, obj=None):
        # The settings are the warehouse's: another warehouse gets its own row.
        return ["warehouse"] if obj is not None else []


# --- put-back tasks ----------------------------------------------------------------------------------------------


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
