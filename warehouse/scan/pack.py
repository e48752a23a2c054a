"""Pack and verify (复核打包) on the floor: scan the parcel (its order ID, parcel number, tracking number or
sorting-wall slot ``SLOT-<wave>-<n>``), then every item; a wrong or extra item is refused. When every item is in,
the weight: grams typed and Enter (``412``, or ``412g``), or a scale's weight barcode scanned (``W`` and the grams:
``W0412`` is 412 g). Within the warehouse's tolerance the parcel is packed and its label opens to print; out of it,
the page shows expected, weighed and tolerance, and waits for a weighing again or a supervisor's override (F4: the
supervisor's user name and password, checked with ``authenticate``, and why; the supervisor needs
``warehouse.change_packcheck``). A label the carrier has not made yet is announced (amber); LABEL (F3) asks again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Conflict, NotFound, ValidationFailed
from inventory.models import Product
from logistics.models import Shipment
from logistics.shipments import shipment_label_refresh
from orders.models import Order
from orders.shipping import parcel_ship
from warehouse.models import PackCheck, ScanEvent, WaveParcel
from warehouse.packing import label_of, pack_item, pack_open, pack_override, pack_state, pack_weigh
from warehouse.picking import product_by_scan
from warehouse.scan.pages import floor_page
from warehouse.scan.views import ANSWER_KEY, ScanView
from warehouse.scan_selectors import scans_recent
from warehouse.scans import SCAN_CODE_MAX, ScanAnswer, ScanDone

STEP = ScanEvent.Step.PACK
# Commands, as printed on command cards or typed, in any case.
LABEL = "LABEL"
# What a supervisor's override is recorded as (the form's answer; the password is never kept).
OVERRIDE = "OVERRIDE"
# Grams typed (412, 412g) or a scale's weight barcode (W0412).
WEIGHT = re.compile(r"^(?:W(?P<scanned>[0-9]{1,6})|(?P<typed>[0-9]{1,6}) ?G?)$", re.IGNORECASE)


def weight_read(code: str) -> int | None:
    """The grams a scan says, or None when it is no weight."""
    found = WEIGHT.match(code.strip())
    if found is None:
        return None
    return int(found["scanned"] or found["typed"])


def label_url(shipment: Shipment) -> str:
    return reverse("shipment-label", args=[shipment.pk])


def cancelled_order(entry: WaveParcel) -> Order | None:
    return Order.objects.filter(parcel_lines__parcel=entry.parcel, status=Order.Status.CANCELLED).first()


def label_ask(*, entry: WaveParcel, user=None) -> Shipment | None:
    """The packed parcel's label, asked for again when it is not ready: a shipment the carrier has not answered
    for is asked again (``shipment_label_refresh``), a parcel without one is shipped (``parcel_ship``, as the
    wave's label task does). Refused when an order of it was cancelled since. The carrier is asked outside any
    transaction. None while the label is not ready."""
    cancelled = cancelled_order(entry)
    if cancelled is not None:  # its label is voided (after the cancel commits, so it may still look ready)
        raise Conflict(
            _("Order %(order)s was cancelled: its label must not print. Unpack the parcel into the put-back tray.")
            % {"order": cancelled.channel_order_id},
            code="order_cancelled",
        )
    shipment = label_of(entry)
    if shipment is not None:
        return shipment
    waiting = entry.parcel.shipments.filter(status=Shipment.Status.CREATED).order_by("-pk").first()
    if waiting is not None:
        shipment = shipment_label_refresh(shipment=waiting, user=user)
    else:
        shipment = parcel_ship(parcel=entry.parcel, user=user)
    return shipment if shipment.status == Shipment.Status.LABEL_READY else None


class OverrideForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Supervisor's user name"), max_length=150)
    password = forms.CharField(label=gettext_lazy("Password"), max_length=128, strip=False)
    reason = forms.CharField(
        label=gettext_lazy("Why the weight is right"),
        max_length=PackCheck._meta.get_field("override_reason").max_length,
    )


class LabelPages(ScanView):
    """What the pack page and the fast lane share: the parcel packed last here and its label, opened to print in
    the answer that packed it (``printing``), asked for again with LABEL."""

    printing = False

    def last_packed(self) -> WaveParcel | None:
        entry_id = self.memory().get("packed")
        if not entry_id:
            return None
        return WaveParcel.objects.filter(pk=entry_id).select_related("parcel", "wave").first()

    def packed_answer(self, entry: WaveParcel, done: str, *, quantity: int | None = None) -> ScanDone:
        """``done`` and the label: printing (green), or not ready yet (amber)."""
        self.remember(packed=entry.pk)
        shipment = label_of(entry)
        if shipment is None:
            return ScanDone(
                _("%(done)s Its label is not ready yet (the carrier is slow): put it aside; LABEL (F3) asks again.")
                % {"done": done},
                reference=entry.parcel.number,
                quantity=quantity,
                wave=entry.wave,
                is_warning=True,
            )
        self.printing = True
        return ScanDone(
            _("%(done)s Label %(tracking)s printing.") % {"done": done, "tracking": shipment.tracking_number},
            reference=entry.parcel.number,
            quantity=quantity,
            wave=entry.wave,
        )

    def label_again(self) -> ScanDone:
        entry = self.last_packed()
        if entry is None:
            raise NotFound(_("Nothing was packed here yet: no label to print."), code="nothing_packed")
        label_ask(entry=entry, user=self.request.user)
        return self.packed_answer(entry, _("Parcel %(parcel)s.") % {"parcel": entry.parcel.number})

    def label_context(self) -> dict:
        entry = self.last_packed()
        if entry is None:
            return {}
        # A parcel whose order was cancelled after packing shows no label to print (LABEL says why).
        shipment = label_of(entry) if cancelled_order(entry) is None else None
        printing = self.printing or self.memory().get("printing", False)
        if printing and not self.printing:
            self.remember(printing=False)  # opened once, on the page the override led back to
        return {
            "packed": entry,
            "label_url": label_url(shipment) if shipment is not None else "",
            "printing": printing and shipment is not None,
            "label": LABEL,
        }


class PackView(LabelPages):
    template_name = "scan/pack.html"
    state_template_name = "scan/pack_state.html"
    permissions = floor_page(STEP).permissions
    step = STEP
    memory_key = "scan_pack"
    prompt = gettext_lazy("Scan an order, parcel, tracking number or slot; then each item; then the weight.")

    def prepare(self) -> None:
        entry_id = self.memory().get("entry")
        entries = WaveParcel.objects.filter(wave__warehouse=self.warehouse).select_related("parcel", "wave")
        self.entry = entries.filter(pk=entry_id).first() if entry_id else None
        return None

    def scan(self, code: str) -> ScanAnswer:
        entry = self.entry
        return self.record(
            code,
            do=self._route(code),
            reference=entry.parcel.number if entry else "",
            wave=entry.wave if entry else None,
        )

    def _route(self, code: str) -> Callable[[], ScanDone]:
        if code.upper() == LABEL:
            return self.label_again
        if self.entry is None:
            return partial(self._open, code)
        product = product_by_scan(code)
        if product is not None:
            return partial(self._item, code, product)
        grams = weight_read(code)
        if grams is not None:
            return partial(self._weigh, grams)
        return partial(self._open_another, code)

    def _open(self, code: str) -> ScanDone:
        state = pack_open(code=code, warehouse_id=self.warehouse.pk)
        entry = state.entry
        self.entry = entry
        self.remember(entry=entry.pk, check=None)
        units = sum(state.wanted.values())
        if state.complete:
            message = _("Parcel %(parcel)s: every item is in, weigh it.") % {"parcel": entry.parcel.number}
        else:
            message = _("Parcel %(parcel)s: scan its %(units)s items.") % {
                "parcel": entry.parcel.number,
                "units": units,
            }
        return ScanDone(message, reference=entry.parcel.number, wave=entry.wave)

    def _open_another(self, code: str) -> ScanDone:
        """Not an item nor a weight: another parcel (this one stays as it is, to finish later), or a wrong item."""
        try:
            return self._open(code)
        except NotFound as unknown:
            if unknown.code != "unknown_parcel":
                raise
            return self._item(code)  # no product either: pack_item refuses it, not in this parcel

    def _item(self, code: str, product: Product | None = None) -> ScanDone:
        state = pack_item(entry=self.entry, code=code)
        self.entry.packed, self.entry.units_packed = state.entry.packed, state.entry.units_packed  # for the state
        product = product or product_by_scan(code)
        units, packed = sum(state.wanted.values()), sum(state.packed.values())
        if state.complete:
            message = _("%(sku)s in. All %(units)s items are in: weigh the parcel.") % {
                "sku": product.sku,
                "units": units,
            }
        else:
            message = _("%(sku)s in: %(packed)s of %(units)s.") % {"sku": product.sku, "packed": packed, "units": units}
        return ScanDone(message, reference=self.entry.parcel.number, quantity=1, wave=self.entry.wave)

    def _still_packable(self) -> None:
        """Before the parcel is let go (weighed, overridden): its order may have been cancelled since it was opened
        (pack_weigh and pack_override do not look again), so pack_open's checks run again."""
        try:
            pack_open(code=self.entry.parcel.number, warehouse_id=self.warehouse.pk)
        except Conflict:
            self.entry = None
            self.remember(entry=None, check=None)
            raise

    def _weigh(self, grams: int) -> ScanDone:
        self._still_packable()
        check = pack_weigh(entry=self.entry, grams=grams, user=self.request.user)
        figures = {"weighed": check.weighed_g, "expected": check.expected_g, "tolerance": check.tolerance_g}
        if not check.within:
            self.remember(check=check.pk)
            raise Conflict(
                _(
                    "%(weighed)s g is out of tolerance: expected %(expected)s g ± %(tolerance)s g. Check the parcel "
                    "and weigh it again, or a supervisor lets it go (F4)."
                )
                % figures,
                code="weight_out_of_tolerance",
            )
        return self._packed(self.entry, _("Packed at %(weighed)s g (expected %(expected)s g).") % figures)

    def _packed(self, entry: WaveParcel, done: str) -> ScanDone:
        self.entry = None
        self.remember(entry=None, check=None)
        return self.packed_answer(entry, done)

    def pending_check(self) -> PackCheck | None:
        check_id = self.memory().get("check")
        if not check_id or self.entry is None:
            return None
        return PackCheck.objects.filter(
            pk=check_id, wave_parcel=self.entry, within=False, override_by__isnull=True
        ).first()

    def state_context(self) -> dict:
        state = self.label_context()
        entry = self.entry
        if entry is not None:
            packing = pack_state(entry)
            products = Product.objects.filter(pk__in=list(packing.wanted)).order_by("sku")
            state.update(
                entry=entry,
                orders=sorted(set(entry.parcel.lines.values_list("order__channel_order_id", flat=True))),
                items=[
                    {
                        "sku": product.sku,
                        "name": product.name,
                        "packed": packing.packed.get(product.pk, 0),
                        "wanted": packing.wanted[product.pk],
                    }
                    for product in products
                ],
                complete=packing.complete,
                check=self.pending_check(),
                override_form=OverrideForm(),
                override_url=reverse("scan:pack_override"),
            )
        reference = entry.parcel.number if entry is not None else ""
        if not reference and state.get("packed") is not None:
            reference = state["packed"].parcel.number
        state["scans"] = scans_recent(warehouse=self.warehouse, step=STEP, reference=reference) if reference else []
        return state


class PackOverrideView(PackView):
    """The supervisor's override of an out-of-tolerance weighing: a form of its own (a password never goes through
    the scan input, nor into a scan's record), answered on the pack page like a scan."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        form = OverrideForm(request.POST)
        check = self.pending_check()
        entry = self.entry
        answer = self.record(
            OVERRIDE,
            do=partial(self._override, form, check),
            reference=entry.parcel.number if entry else "",
            wave=entry.wave if entry else None,
        )
        if self.printing:
            self.remember(printing=True)
        request.session[ANSWER_KEY] = {**answer.as_dict(), "scanned": OVERRIDE[:SCAN_CODE_MAX]}
        return redirect("scan:pack")

    def _override(self, form: OverrideForm, check: PackCheck | None) -> ScanDone:
        if check is None:
            raise Conflict(_("No weighing waits for a supervisor here."), code="nothing_to_override")
        if not form.is_valid():
            raise ValidationFailed(
                _("A supervisor's user name, password and why are needed."), code="override_incomplete"
            )
        self._still_packable()
        supervisor = authenticate(
            self.request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if supervisor is None:
            raise ValidationFailed(
                _("That supervisor's user name or password is wrong."), code="supervisor_login_failed"
            )
        check = pack_override(check=check, reason=form.cleaned_data["reason"], user=supervisor)
        done = _("%(supervisor)s let it go at %(weighed)s g (expected %(expected)s g ± %(tolerance)s g).") % {
            "supervisor": supervisor.get_username(),
            "weighed": check.weighed_g,
            "expected": check.expected_g,
            "tolerance": check.tolerance_g,
        }
        return self._packed(self.entry, done)
