"""Hand over (交运) on the floor: choose the carrier account (and the pickup) once, then each scan puts a parcel into
the open manifest of that account in this warehouse; CLOSE (scanned, typed, or the button) hands it over."""

from __future__ import annotations

from functools import partial

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from logistics.manifests import manifest_open
from logistics.models import CarrierAccount, Manifest, Shipment
from warehouse.hand_over import hand_over_close, hand_over_scan
from warehouse.models import ScanEvent
from warehouse.scan.pages import floor_page
from warehouse.scan.views import FloorView, ScanView
from warehouse.scan_selectors import scans_recent
from warehouse.scans import ScanAnswer

STEP = ScanEvent.Step.HAND_OVER
SESSION_KEY = "scan_hand_over"
# The command that hands the manifest over, as printed on a command card or typed; any case.
CLOSE = "CLOSE"


class CarrierForm(forms.Form):
    account = forms.ModelChoiceField(
        label=_("Carrier account"),
        queryset=CarrierAccount.objects.filter(is_active=True).order_by("name"),
        empty_label=None,
        widget=forms.Select(attrs={"autofocus": True}),
    )
    pickup = forms.CharField(
        label=_("Pickup (optional)"),
        required=False,
        max_length=Manifest._meta.get_field("pickup").max_length,
        help_text=_("Which collection this is, e.g. the afternoon van."),
    )


class HandOverCarrierView(FloorView):
    """Choose the carrier account and pickup; the open manifest for them is found or opened."""

    template_name = "scan/hand_over_carrier.html"
    permissions = floor_page(STEP).permissions

    def get_context_data(self, **kwargs):
        chosen = self.request.session.get(SESSION_KEY) or {}
        initial = {"account": chosen.get("account"), "pickup": chosen.get("pickup", "")}
        return {"form": CarrierForm(initial=initial), **super().get_context_data(**kwargs)}

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        form = CarrierForm(request.POST)
        if not form.is_valid():
            return self.render_to_response({**self.get_context_data(), "form": form})
        account, pickup = form.cleaned_data["account"], form.cleaned_data["pickup"].strip()
        manifest = manifest_open(account=account, warehouse=self.warehouse, pickup=pickup)
        request.session[SESSION_KEY] = {
            "warehouse": self.warehouse.pk,
            "account": account.pk,
            "pickup": pickup,
            "manifest": manifest.pk,
        }
        return redirect("scan:hand_over")


class HandOverView(ScanView):
    template_name = "scan/hand_over.html"
    state_template_name = "scan/hand_over_state.html"
    permissions = floor_page(STEP).permissions
    step = STEP
    prompt = _("Scan a parcel's label.")

    def prepare(self) -> HttpResponse | None:
        chosen = self.request.session.get(SESSION_KEY) or {}
        self.account = None
        if chosen.get("warehouse") == self.warehouse.pk:
            self.account = CarrierAccount.objects.filter(pk=chosen.get("account"), is_active=True).first()
        if self.account is None:
            return redirect("scan:hand_over_carrier")
        self.pickup = chosen.get("pickup", "")
        self.manifest_id = chosen.get("manifest")
        return None

    def scan(self, code: str) -> ScanAnswer:
        user = self.request.user
        # The open manifest of the account and pickup here: the one everyone scanning for them fills, or a new one
        # after the last was handed over.
        manifest = manifest_open(account=self.account, warehouse=self.warehouse, pickup=self.pickup)
        self._remember(manifest)
        if code.upper() == CLOSE:
            do = partial(hand_over_close, manifest=manifest, user=user)
        else:
            do = partial(hand_over_scan, manifest=manifest, code=code, user=user)
        return self.record(code, do=do, reference=manifest.number)

    def _remember(self, manifest: Manifest) -> None:
        if manifest.pk != self.manifest_id:
            self.manifest_id = manifest.pk
            self.request.session[SESSION_KEY] = {**self.request.session[SESSION_KEY], "manifest": manifest.pk}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "account": self.account, "pickup": self.pickup, "close": CLOSE}

    def state_context(self) -> dict:
        manifest = Manifest.objects.filter(pk=self.manifest_id).first()
        if manifest is None:
            return {}
        handed_over = manifest.status == Manifest.Status.HANDED_OVER
        may_print = self.request.user.has_perm("logistics.view_manifest")
        return {
            "manifest": manifest,
            "handed_over": handed_over,
            "count": manifest.parcel_count if handed_over else Shipment.objects.filter(manifest=manifest).count(),
            "scans": scans_recent(warehouse=self.warehouse, step=STEP, reference=manifest.number),
            "pdf_url": reverse("manifest-pdf", args=[manifest.pk]) if may_print else "",
        }
