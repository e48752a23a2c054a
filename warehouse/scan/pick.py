"""Pick (配货) on the floor: scan a wave to take it; the page shows the next stop big (bin, SKU, name, how many, the
wave's progress). Scan the bin, then each item: one unit a scan.

Many units at once, typed on the scanner's keypad: after the bin, a number and Enter is how many the next item scan
takes (``5``, then the SKU: five); right after an item scan, a number is how many that scan was in all (the SKU,
then ``5``: four more). Up to four digits: a longer number is a barcode.

SHORT (F2) asks why the stop is short: a reason card (``SHORT:EMPTY``, ``SHORT:DAMAGED``, ``SHORT:MISSING``, which
work at any time, or F6-F8 once asked) or words typed and Enter; the stop ends short and the wave goes on. CANCEL
(Esc) drops a question or a number entered. A picked wave offers the next one (NEXT, F3, or its number scanned).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Conflict, DomainError, NotFound, ValidationFailed
from warehouse.models import PickTask, ScanEvent, Wave
from warehouse.picking import (
    MOST_AT_ONCE,
    PickAnswer,
    pick_bin,
    pick_item,
    pick_next,
    pick_progress,
    pick_short,
    pick_start,
    product_by_scan,
    wave_by_scan,
)
from warehouse.scan.pages import floor_page
from warehouse.scan.quantity import QUANTITY
from warehouse.scan.views import ScanView, looks_like_wave
from warehouse.scan_selectors import scans_recent, waves_to_pick
from warehouse.scans import ScanAnswer, ScanDone

STEP = ScanEvent.Step.PICK
# Commands, as printed on command cards or typed, in any case; buttons send them too.
SHORT = "SHORT"
NEXT = "NEXT"
CANCEL = "CANCEL"
# Reason cards for a short pick (SHORT:EMPTY...), with their keys once SHORT asked; the reason kept is the words.
SHORT_REASONS = {
    "EMPTY": gettext_lazy("Bin empty"),
    "DAMAGED": gettext_lazy("Damaged"),
    "MISSING": gettext_lazy("Fewer in the bin than listed"),
}
REASON_KEYS = {"EMPTY": "F6", "DAMAGED": "F7", "MISSING": "F8"}


class PickView(ScanView):
    template_name = "scan/pick.html"
    state_template_name = "scan/pick_state.html"
    permissions = floor_page(STEP).permissions
    step = STEP
    memory_key = "scan_pick"
    prompt = gettext_lazy("Scan a wave, then the bin, then each item.")

    def prepare(self) -> None:
        wave_id = self.memory().get("wave")
        self.wave = Wave.objects.filter(pk=wave_id, warehouse=self.warehouse).first() if wave_id else None
        return None

    def scan(self, code: str) -> ScanAnswer:
        return self.record(code, do=self._route(code), reference=self.wave.number if self.wave else "", wave=self.wave)

    def _route(self, code: str) -> Callable[[], ScanDone]:
        """What the scan is, from what it reads and where the picker is: a wave, a command, the bin, a number or an
        item."""
        command = code.upper()
        if command == NEXT:
            return self._wave_next
        if self.wave is None or looks_like_wave(code):
            return partial(self._wave_take, code)
        task = pick_next(self.wave)
        if task is None:
            return self._wave_picked
        if self.wave.picker_id not in (None, self.request.user.pk):
            # Given to someone else meanwhile (wave_assign): pick_start refuses it with who has it.
            return partial(self._wave_take, self.wave.number)
        kept = self.memory()
        if command.startswith(SHORT + ":"):
            return partial(self._short, task, code[len(SHORT) + 1 :])
        if command == SHORT:
            return partial(self._short_ask, task)
        if command == CANCEL:
            return self._cancel
        if kept.get("short") == task.pk:
            return partial(self._short, task, code)
        if QUANTITY.match(code):
            return partial(self._quantity, task, int(code))
        if kept.get("bin") != task.pk:
            return partial(self._bin, task, code)
        return partial(self._item, task, code)

    # --- the wave ------------------------------------------------------------------------------------------------

    def _wave_take(self, code: str) -> ScanDone:
        wave = pick_start(wave=wave_by_scan(code, self.warehouse.pk), user=self.request.user)
        return self._taken(wave)

    def _wave_next(self) -> ScanDone:
        offered = [
            wave for wave in waves_to_pick(warehouse=self.warehouse, user=self.request.user) if wave != self.wave
        ]
        if not offered:
            raise NotFound(_("No wave waits to be picked here."), code="no_wave")
        return self._taken(pick_start(wave=offered[0], user=self.request.user))

    def _taken(self, wave: Wave) -> ScanDone:
        self.wave = wave
        self.remember(wave=wave.pk, bin=None, quantity=None, last=None, short=None)
        task = pick_next(wave)
        if task is None:
            message = _("Wave %(wave)s: nothing left to pick.") % {"wave": wave.number}
        else:
            message = _("Wave %(wave)s is yours: go to %(bin)s.") % {"wave": wave.number, "bin": task.bin.code}
        return ScanDone(message, reference=wave.number, wave=wave)

    def _wave_picked(self) -> ScanDone:
        raise Conflict(
            _("Wave %(wave)s is picked: scan the next wave, or NEXT.") % {"wave": self.wave.number},
            code="wave_picked",
        )

    # --- a stop --------------------------------------------------------------------------------------------------

    def _bin(self, task: PickTask, code: str) -> ScanDone:
        product = product_by_scan(code)
        if product is not None and product.pk == task.product_id:
            raise Conflict(
                _("Scan the bin %(bin)s first, then the items.") % {"bin": task.bin.code}, code="bin_first", scan=code
            )
        pick_bin(wave=self.wave, task_id=task.pk, code=code)
        self.remember(bin=task.pk, quantity=None, last=None)
        left = task.quantity - task.picked
        return ScanDone(
            _("At %(bin)s: take %(left)s × %(sku)s.") % {"bin": task.bin.code, "left": left, "sku": task.product.sku},
            reference=self.wave.number,
            wave=self.wave,
        )

    def _item(self, task: PickTask, code: str) -> ScanDone:
        if code.upper() == task.bin.code:
            return ScanDone(
                _("You are at %(bin)s: scan the items.") % {"bin": task.bin.code},
                reference=self.wave.number,
                wave=self.wave,
            )
        quantity = self.memory().get("quantity") or 1
        self.remember(last=None)  # a number after a refused scan is no count of it
        answer = self._pick(task.pk, code, quantity)
        self.remember(last=[task.pk, quantity, code])
        return self._picked(task, answer)

    def _quantity(self, task: PickTask, quantity: int) -> ScanDone:
        """A number: how many the last item scan was in all (right after it), else how many the next one takes."""
        kept = self.memory()
        if kept.get("last"):
            task_id, units, code = kept["last"]
            self.remember(last=None)
            if quantity == units:
                return ScanDone(
                    _("%(quantity)s × %(sku)s, as scanned.") % {"quantity": quantity, "sku": code},
                    reference=self.wave.number,
                    wave=self.wave,
                )
            if quantity < units:
                raise ValidationFailed(
                    _("That scan took %(units)s already: scan the next item.") % {"units": units},
                    code="quantity_below_picked",
                )
            answer = self._pick(task_id, code, quantity - units)
            return self._picked(task, answer)
        if kept.get("bin") != task.pk:
            raise Conflict(
                _("Scan the bin %(bin)s first, then the quantity.") % {"bin": task.bin.code}, code="bin_first"
            )
        if not 1 <= quantity <= MOST_AT_ONCE:
            raise ValidationFailed(_("Enter a quantity of 1 or more."), code="invalid_quantity")
        self.remember(quantity=quantity)
        return ScanDone(
            _("The next scan of %(sku)s takes %(quantity)s.") % {"sku": task.product.sku, "quantity": quantity},
            reference=self.wave.number,
            wave=self.wave,
        )

    def _pick(self, task_id: int, code: str, quantity: int) -> PickAnswer:
        try:
            answer = pick_item(wave=self.wave, task_id=task_id, code=code, quantity=quantity, user=self.request.user)
        except DomainError as refused:
            if refused.code in ("too_many", "invalid_quantity", "task_done"):
                self.remember(quantity=None)  # the number entered cannot be taken: enter it again
            raise
        self.remember(quantity=None)
        return answer

    def _picked(self, task: PickTask, answer: PickAnswer) -> ScanDone:
        following = answer.task
        # A next stop at the same bin (another SKU there) needs no second bin scan.
        self.remember(bin=following.pk if following is not None and following.bin_id == task.bin_id else None)
        return ScanDone(
            self._then(answer.message, task, following),
            reference=self.wave.number,
            quantity=answer.picked,
            wave=self.wave,
        )

    def _then(self, done: str, task: PickTask, following: PickTask | None) -> str:
        """What was done, and what comes next: the wave picked, the next stop, or what is left here."""
        if following is None:
            return _("%(done)s Wave %(wave)s is picked: take the cart to packing.") % {
                "done": done,
                "wave": self.wave.number,
            }
        if following.pk != task.pk:
            return _("%(done)s Next: %(sku)s at %(bin)s.") % {
                "done": done,
                "sku": following.product.sku,
                "bin": following.bin.code,
            }
        return _("%(done)s %(left)s to go here.") % {"done": done, "left": following.quantity - following.picked}

    # --- short, cancel -------------------------------------------------------------------------------------------

    def _short_ask(self, task: PickTask) -> ScanDone:
        self.remember(short=task.pk)
        return ScanDone(
            _("Why is %(sku)s at %(bin)s short? Scan or press a reason, or type it and Enter; Esc goes on picking.")
            % {"sku": task.product.sku, "bin": task.bin.code},
            reference=self.wave.number,
            wave=self.wave,
            is_warning=True,
        )

    def _short(self, task: PickTask, said: str) -> ScanDone:
        said = said.strip()
        reason = SHORT_REASONS.get(said.upper())
        answer = pick_short(
            wave=self.wave, task_id=task.pk, reason=str(reason) if reason else said, user=self.request.user
        )
        self.remember(short=None, quantity=None, last=None)
        self.remember(bin=answer.task.pk if answer.task is not None and answer.task.bin_id == task.bin_id else None)
        return ScanDone(
            self._then(answer.message, task, answer.task), reference=self.wave.number, wave=self.wave, is_warning=True
        )

    def _cancel(self) -> ScanDone:
        self.remember(short=None, quantity=None)
        return ScanDone(_("Go on picking."), reference=self.wave.number, wave=self.wave)

    # --- the page ------------------------------------------------------------------------------------------------

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "short": SHORT,
            "reason_cards": [f"{SHORT}:{code}" for code in SHORT_REASONS],
        }

    def state_context(self) -> dict:
        user = self.request.user
        if self.wave is None:
            return {"offered": waves_to_pick(warehouse=self.warehouse, user=user), "next": NEXT}
        kept = self.memory()
        task = pick_next(self.wave)
        state = {
            "wave": self.wave,
            "task": task,
            "progress": pick_progress(self.wave),
            "scans": scans_recent(warehouse=self.warehouse, step=STEP, reference=self.wave.number),
            "next": NEXT,
            "cancel": CANCEL,
        }
        if task is None:
            offered = [wave for wave in waves_to_pick(warehouse=self.warehouse, user=user) if wave != self.wave]
            return {**state, "offered": offered}
        asking = kept.get("short") == task.pk
        return {
            **state,
            "left": task.quantity - task.picked,
            "at_bin": kept.get("bin") == task.pk,
            "taking": kept.get("quantity"),
            "asking_why": asking,
            "reasons": [
                {"command": f"{SHORT}:{code}", "label": label, "key": REASON_KEYS[code]}
                for code, label in SHORT_REASONS.items()
            ]
            if asking
            else [],
        }
