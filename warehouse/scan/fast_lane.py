"""The single-item fast lane (单品单件) on the floor: scan the wave, then each item: the SKU scanned packs the oldest
picked single-item parcel of the wave waiting for it (``fast_lane``, no weighing: one known item) and its label
opens at once to print. LABEL (F3) opens the last label again, or asks the carrier again when it was not ready.
Another wave's number changes waves."""

from __future__ import annotations

from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import words_join
from orders.models import Order
from warehouse.models import ScanEvent, Wave, WaveParcel
from warehouse.packing import fast_lane
from warehouse.picking import product_by_scan
from warehouse.scan.pack import LABEL, LabelPages
from warehouse.scan.pages import floor_page
from warehouse.scan.views import looks_like_wave, wave_scanned
from warehouse.scan_selectors import scans_recent
from warehouse.scans import ScanAnswer, ScanDone

STEP = ScanEvent.Step.FAST_LANE
# Waves whose picked parcels may be packed (one picked while the rest of the wave is still picked, too).
PACKABLE = (Wave.Status.PICKING, Wave.Status.PICKED)


class FastLaneView(LabelPages):
    template_name = "scan/fast_lane.html"
    state_template_name = "scan/fast_lane_state.html"
    permissions = floor_page(STEP).permissions
    step = STEP
    memory_key = "scan_fast_lane"
    prompt = gettext_lazy("Scan the wave, then each item: its label prints.")

    def prepare(self) -> None:
        wave_id = self.memory().get("wave")
        self.wave = Wave.objects.filter(pk=wave_id, warehouse=self.warehouse).first() if wave_id else None
        return None

    def scan(self, code: str) -> ScanAnswer:
        if code.upper() == LABEL:
            do = self.label_again
        elif self.wave is None or looks_like_wave(code):
            do = partial(self._wave_take, code)
        else:
            do = partial(self._pack, code)
        return self.record(code, do=do, reference=self.wave.number if self.wave else "", wave=self.wave)

    def _wave_take(self, code: str) -> ScanDone:
        wave = wave_scanned(
            code,
            self.warehouse,
            statuses=PACKABLE,
            refused=_("Wave %(wave)s is %(status)s: nothing to pack."),
            error_code="wave_not_packable",
        )
        self.wave = wave
        self.remember(wave=wave.pk)
        return ScanDone(
            _("Wave %(wave)s: scan each item, its label prints.") % {"wave": wave.number},
            reference=wave.number,
            wave=wave,
        )

    def _pack(self, code: str) -> ScanDone:
        entry = fast_lane(wave=self.wave, code=code, user=self.request.user)
        orders = sorted(set(entry.parcel.lines.values_list("order__channel_order_id", flat=True)))
        product = product_by_scan(code)
        done = _("%(sku)s packed into %(parcel)s (order %(orders)s).") % {
            "sku": product.sku if product is not None else code,
            "parcel": entry.parcel.number,
            "orders": words_join(orders),
        }
        return self.packed_answer(entry, done, quantity=1)

    def state_context(self) -> dict:
        state = self.label_context()
        if self.wave is None:
            return state
        singles = self.wave.parcels.filter(units=1)
        return {
            **state,
            "wave": self.wave,
            # As fast_lane takes them: picked, and no order of theirs cancelled (those go back to the shelf).
            "waiting": singles.filter(status=WaveParcel.Status.PICKED)
            .exclude(parcel__lines__order__status=Order.Status.CANCELLED)
            .count(),
            "done": singles.filter(status=WaveParcel.Status.PACKED).count(),
            "scans": scans_recent(warehouse=self.warehouse, step=STEP, wave=self.wave),
        }
