"""Sort (播种) a picked wave on the sorting wall: scan the wave, then each item from the cart; the page shows the slot
it goes to, big. A slot whose parcel is complete is announced (amber, two beeps: it is ready to pack); an item no
parcel of the wave needs is refused (red: put it aside). Another wave's number changes waves."""

from __future__ import annotations

from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from warehouse.models import ScanEvent, Wave, WaveParcel
from warehouse.scan.pages import floor_page
from warehouse.scan.views import ScanView, looks_like_wave, wave_scanned
from warehouse.scan_selectors import scans_recent, sort_wall
from warehouse.scans import ScanAnswer, ScanDone
from warehouse.sorting import SORTABLE, sort_item

STEP = ScanEvent.Step.SORT


class SortView(ScanView):
    template_name = "scan/sort.html"
    state_template_name = "scan/sort_state.html"
    permissions = floor_page(STEP).permissions
    step = STEP
    memory_key = "scan_sort"
    prompt = gettext_lazy("Scan the wave, then each item from the cart.")

    def prepare(self) -> None:
        wave_id = self.memory().get("wave")
        self.wave = Wave.objects.filter(pk=wave_id, warehouse=self.warehouse).first() if wave_id else None
        return None

    def scan(self, code: str) -> ScanAnswer:
        taking = self.wave is None or looks_like_wave(code)
        do = partial(self._wave_take, code) if taking else partial(self._sort, code)
        return self.record(code, do=do, reference=self.wave.number if self.wave else "", wave=self.wave)

    def _wave_take(self, code: str) -> ScanDone:
        wave = wave_scanned(
            code,
            self.warehouse,
            statuses=SORTABLE,
            refused=_("Wave %(wave)s is %(status)s: nothing to sort."),
            error_code="wave_not_sortable",
        )
        self.wave = wave
        self.remember(wave=wave.pk, slot=None, complete=False)
        return ScanDone(
            _("Wave %(wave)s: scan each item from the cart.") % {"wave": wave.number}, reference=wave.number, wave=wave
        )

    def _sort(self, code: str) -> ScanDone:
        self.remember(slot=None, complete=False)  # a refused item shows no slot to put it in
        answer = sort_item(wave=self.wave, code=code)
        self.remember(slot=answer.slot, complete=answer.complete)
        return ScanDone(
            answer.message,
            reference=answer.entry.parcel.number,
            quantity=1,
            wave=self.wave,
            is_warning=answer.complete,
        )

    def state_context(self) -> dict:
        if self.wave is None:
            return {}
        kept = self.memory()
        wall = sort_wall(self.wave)
        return {
            "wave": self.wave,
            "slot": kept.get("slot"),
            "complete": kept.get("complete", False),
            "sorted": sum(entry.units_sorted for entry in wall),
            "picked": sum(entry.units_picked for entry in wall if entry.status != WaveParcel.Status.SHORT),
            # As sort_item announces them: picked in full and every picked unit in its slot.
            "ready": [
                entry.slot
                for entry in wall
                if entry.status == WaveParcel.Status.PICKED and entry.units_sorted >= entry.units_picked
            ],
            "scans": scans_recent(warehouse=self.warehouse, step=STEP, wave=self.wave),
        }
