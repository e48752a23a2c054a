"""Receive (收货) a transfer on the floor: scan its number (``TR-…``), then each item: one unit a scan, accepted into
the receiving area. The page shows the transfer's lines, received of sent.

Many units at once, as on the pick page: a number and Enter before an item scan is how many it takes; right after
one, how many that scan was in all. Another transfer's number changes transfers.

REJECT (F2) asks why the next item is rejected at QC: a reason card (``REJECT:DAMAGED``, ``REJECT:WRONG``, which work
at any time, or F6-F7 once asked) or words typed and Enter. The next item scan (with its number) then goes into
quarantine with that reason; the one after is accepted again. An item or a number is no reason: while the page
asks why, it is refused. CANCEL (Esc) drops a question, a reason or a number.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import Conflict
from inventory.models import Transfer, TransferLine
from warehouse.floor_stock import Received, receive_item, receive_open
from warehouse.models import ScanEvent
from warehouse.picking import product_by_scan
from warehouse.scan.pages import floor_page
from warehouse.scan.quantity import CANCEL, QuantityPage, quantity_read
from warehouse.scan_selectors import scans_recent
from warehouse.scans import ScanAnswer, ScanDone

STEP = ScanEvent.Step.RECEIVE
# Commands, as printed on command cards or typed, in any case; buttons send them too.
REJECT = "REJECT"
# Reason cards for a rejection at QC (REJECT:DAMAGED...), with their keys once REJECT asked; the reason kept is the
# words.
REJECT_REASONS = {
    "DAMAGED": gettext_lazy("Damaged"),
    "WRONG": gettext_lazy("Wrong item"),
}
REASON_KEYS = {"DAMAGED": "F6", "WRONG": "F7"}


def looks_like_transfer(code: str) -> bool:
    """A transfer's number (``TR-000042``): the page takes it to change transfers at any scan."""
    return code.upper().startswith("TR-")


class ReceiveView(QuantityPage):
    template_name = "scan/receive.html"
    state_template_name = "scan/receive_state.html"
    permissions = floor_page(STEP).permissions
    step = STEP
    memory_key = "scan_receive"
    prompt = gettext_lazy("Scan a transfer (TR-…), then each item.")

    def prepare(self) -> None:
        transfer_id = self.memory().get("transfer")
        found = Transfer.objects.filter(pk=transfer_id, destination=self.warehouse) if transfer_id else None
        self.transfer = found.select_related("source").first() if found is not None else None
        return None

    def reference(self) -> str:
        return self.transfer.number if self.transfer is not None else ""

    def scan(self, code: str) -> ScanAnswer:
        return self.record(code, do=self._route(code), reference=self.reference())

    def _route(self, code: str) -> Callable[[], ScanDone]:
        """What the scan is: a transfer, a command, a reason asked for, a number or an item."""
        command = code.upper()
        if self.transfer is None or looks_like_transfer(code):
            return partial(self._open, code)
        if command == CANCEL:
            return self._cancel
        if command.startswith(REJECT + ":"):
            return partial(self._reject_because, code[len(REJECT) + 1 :])
        if command == REJECT:
            return self._reject_ask
        if self.memory().get("asking"):
            if quantity_read(code) is not None or product_by_scan(code) is not None:
                return self._reason_first
            return partial(self._reject_because, code)
        quantity = quantity_read(code)
        if quantity is not None:
            return partial(self._quantity, quantity)
        return partial(self._item, code)

    # --- the transfer ------------------------------------------------------------------------------------------

    def _open(self, code: str) -> ScanDone:
        transfer = receive_open(warehouse=self.warehouse, code=code)
        self.transfer = transfer
        self.remember(transfer=transfer.pk, quantity=None, last=None, asking=False, reason="")
        return ScanDone(
            _("Transfer %(number)s from %(source)s: scan each item, %(units)s to receive.")
            % {"number": transfer.number, "source": transfer.source.code, "units": self._in_transit()},
            reference=transfer.number,
        )

    def _in_transit(self) -> int:
        return sum(line.quantity_in_transit for line in self.transfer.lines.all())

    # --- items ---------------------------------------------------------------------------------------------------

    def _item(self, code: str) -> ScanDone:
        reason = self.memory().get("reason") or ""
        received = self.units_take(partial(self._receive, code, reason))
        self.remember(reason="", last={"code": code, "units": received.quantity, "reason": reason})
        return self._received(received, reason)

    def _receive(self, code: str, reason: str, units: int) -> Received:
        return receive_item(
            transfer=self.transfer,
            code=code,
            quantity=units,
            accept=not reason,
            reason=reason,
            user=self.request.user,
        )

    def _quantity(self, quantity: int) -> ScanDone:
        """A number: how many the last item scan was in all (right after it), else how many the next one takes."""
        last = self.memory().get("last")
        if not last:
            return self.quantity_ahead(quantity, reference=self.transfer.number)
        self.remember(last=None)
        more = self.quantity_more(quantity, last["units"])
        if not more:
            return ScanDone(
                _("%(quantity)s × %(sku)s, as scanned.") % {"quantity": quantity, "sku": last["code"]},
                reference=self.transfer.number,
            )
        received = self._receive(last["code"], last["reason"], more)
        return self._received(received, last["reason"])

    def _received(self, received: Received, reason: str) -> ScanDone:
        self.transfer.refresh_from_db(fields=["status"])
        line = TransferLine.objects.get(transfer=self.transfer, product=received.product)
        figures = {
            "quantity": received.quantity,
            "sku": received.product.sku,
            "bin": received.bin.code,
            "received": line.quantity_received,
            "sent": line.quantity_shipped,
        }
        if received.accepted:
            message = _("%(quantity)s × %(sku)s received into %(bin)s: %(received)s of %(sent)s.") % figures
        else:
            message = _(
                "%(quantity)s × %(sku)s rejected (%(reason)s): put it in %(bin)s. %(received)s of %(sent)s."
            ) % {**figures, "reason": reason}
        if self.transfer.status == Transfer.Status.RECEIVED:
            message = _("%(done)s Transfer %(number)s is received in full.") % {
                "done": message,
                "number": self.transfer.number,
            }
        return ScanDone(
            message, reference=self.transfer.number, quantity=received.quantity, is_warning=not received.accepted
        )

    # --- rejecting, cancel ---------------------------------------------------------------------------------------

    def _reject_ask(self) -> ScanDone:
        self.remember(asking=True, last=None)
        return ScanDone(
            _("Why is the next item rejected? Scan or press a reason, or type it and Enter; Esc goes on receiving."),
            reference=self.transfer.number,
            is_warning=True,
        )

    def _reject_because(self, said: str) -> ScanDone:
        said = said.strip()
        reason = REJECT_REASONS.get(said.upper())
        reason = str(reason) if reason else said
        if not reason:
            return self._reject_ask()
        self.remember(asking=False, reason=reason, last=None)
        return ScanDone(
            _("The next item scanned is rejected (%(reason)s): scan it.") % {"reason": reason},
            reference=self.transfer.number,
            is_warning=True,
        )

    def _reason_first(self) -> ScanDone:
        # An item (or a number) is no reason: taken as one, the item scanned next would be rejected "CASE-A".
        raise Conflict(
            _("Say why first: scan or press a reason, or type it and Enter; Esc goes on receiving."),
            code="reason_first",
        )

    def _cancel(self) -> ScanDone:
        self.remember(asking=False, reason="", quantity=None)
        return ScanDone(_("Go on receiving."), reference=self.transfer.number)

    # --- the page ------------------------------------------------------------------------------------------------

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "reject": REJECT,
            "reason_cards": [f"{REJECT}:{code}" for code in REJECT_REASONS],
        }

    def state_context(self) -> dict:
        if self.transfer is None:
            return {}
        kept = self.memory()
        lines = list(self.transfer.lines.select_related("product").order_by("product__sku"))
        asking = bool(kept.get("asking"))
        return {
            "transfer": self.transfer,
            "lines": lines,
            "complete": self.transfer.status == Transfer.Status.RECEIVED,
            "taking": kept.get("quantity"),
            "rejecting": kept.get("reason") or "",
            "asking_why": asking,
            "reasons": [
                {"command": f"{REJECT}:{code}", "label": label, "key": REASON_KEYS[code]}
                for code, label in REJECT_REASONS.items()
            ]
            if asking
            else [],
            "cancel": CANCEL,
            "scans": scans_recent(warehouse=self.warehouse, step=STEP, reference=self.transfer.number),
        }
