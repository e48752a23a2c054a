"""Receive (收货) a transfer or a purchase order on the floor: scan its number (``TR-…`` or ``PO-…``), then each item:
one unit a scan, accepted into the receiving area. The page shows the document's lines, received of sent (a
transfer) or of ordered (a purchase order, whose over-receipt tolerance is the warehouse's).

Many units at once, as on the pick page: a number and Enter before an item scan is how many it takes; right after
one, how many that scan was in all. Another document's number changes documents.

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
from inventory.models import Transfer
from purchasing.models import PurchaseOrder
from warehouse.floor_stock import (
    Inbound,
    Received,
    inbound_lines,
    inbound_received_in_full,
    inbound_source,
    receive_item,
    receive_open,
)
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


def looks_like_document(code: str) -> bool:
    """A transfer's or a purchase order's number (``TR-000042``, ``PO-000042``): the page takes it to change
    documents at any scan."""
    return code.strip().upper().startswith(("TR-", "PO-"))


class ReceiveView(QuantityPage):
    template_name = "scan/receive.html"
    state_template_name = "scan/receive_state.html"
    permissions = floor_page(STEP).permissions
    step = STEP
    memory_key = "scan_receive"
    prompt = gettext_lazy("Scan a transfer (TR-…) or a purchase order (PO-…), then each item.")

    def prepare(self) -> None:
        kept = self.memory()
        self.document: Inbound | None = None
        if kept.get("purchase_order"):
            self.document = (
                PurchaseOrder.objects.filter(pk=kept["purchase_order"], warehouse=self.warehouse)
                .select_related("supplier", "warehouse")
                .first()
            )
        elif kept.get("transfer"):
            self.document = (
                Transfer.objects.filter(pk=kept["transfer"], destination=self.warehouse)
                .select_related("source", "destination")
                .first()
            )
        return None

    def reference(self) -> str:
        return self.document.number if self.document is not None else ""

    def scan(self, code: str) -> ScanAnswer:
        return self.record(code, do=self._route(code), reference=self.reference())

    def _route(self, code: str) -> Callable[[], ScanDone]:
        """What the scan is: a transfer, a command, a reason asked for, a number or an item."""
        command = code.upper()
        if self.document is None or looks_like_document(code):
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

    # --- the document ------------------------------------------------------------------------------------------

    def _open(self, code: str) -> ScanDone:
        document = receive_open(warehouse=self.warehouse, code=code)
        self.document = document
        is_order = isinstance(document, PurchaseOrder)
        self.remember(
            transfer=None if is_order else document.pk,
            purchase_order=document.pk if is_order else None,
            quantity=None,
            last=None,
            asking=False,
            reason="",
        )
        figures = {"number": document.number, "source": inbound_source(document), "units": self._to_come()}
        if is_order:
            message = _("Purchase order %(number)s from %(source)s: scan each item, %(units)s to receive.") % figures
        else:
            message = _("Transfer %(number)s from %(source)s: scan each item, %(units)s to receive.") % figures
        return ScanDone(message, reference=document.number)

    def _to_come(self) -> int:
        return sum(max(0, line.expected - line.received) for line in inbound_lines(self.document))

    # --- items ---------------------------------------------------------------------------------------------------

    def _item(self, code: str) -> ScanDone:
        reason = self.memory().get("reason") or ""
        received = self.units_take(partial(self._receive, code, reason))
        self.remember(reason="", last={"code": code, "units": received.quantity, "reason": reason})
        return self._received(received, reason)

    def _receive(self, code: str, reason: str, units: int) -> Received:
        return receive_item(
            document=self.document,
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
            return self.quantity_ahead(quantity, reference=self.document.number)
        self.remember(last=None)
        more = self.quantity_more(quantity, last["units"])
        if not more:
            return ScanDone(
                _("%(quantity)s × %(sku)s, as scanned.") % {"quantity": quantity, "sku": last["code"]},
                reference=self.document.number,
            )
        received = self._receive(last["code"], last["reason"], more)
        return self._received(received, last["reason"])

    def _received(self, received: Received, reason: str) -> ScanDone:
        self.document.refresh_from_db(fields=["status"])
        line = next(line for line in inbound_lines(self.document) if line.product.pk == received.product.pk)
        figures = {
            "quantity": received.quantity,
            "sku": received.product.sku,
            "bin": received.bin.code,
            "received": line.received,
            "sent": line.expected,
        }
        if received.accepted:
            message = _("%(quantity)s × %(sku)s received into %(bin)s: %(received)s of %(sent)s.") % figures
        else:
            message = _(
                "%(quantity)s × %(sku)s rejected (%(reason)s): put it in %(bin)s. %(received)s of %(sent)s."
            ) % {**figures, "reason": reason}
        if inbound_received_in_full(self.document):
            done = {"done": message, "number": self.document.number}
            if isinstance(self.document, PurchaseOrder):
                message = _("%(done)s Purchase order %(number)s is received in full.") % done
            else:
                message = _("%(done)s Transfer %(number)s is received in full.") % done
        return ScanDone(
            message, reference=self.document.number, quantity=received.quantity, is_warning=not received.accepted
        )

    # --- rejecting, cancel ---------------------------------------------------------------------------------------

    def _reject_ask(self) -> ScanDone:
        self.remember(asking=True, last=None)
        return ScanDone(
            _("Why is the next item rejected? Scan or press a reason, or type it and Enter; Esc goes on receiving."),
            reference=self.document.number,
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
            reference=self.document.number,
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
        return ScanDone(_("Go on receiving."), reference=self.document.number)

    # --- the page ------------------------------------------------------------------------------------------------

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "reject": REJECT,
            "reason_cards": [f"{REJECT}:{code}" for code in REJECT_REASONS],
        }

    def state_context(self) -> dict:
        if self.document is None:
            return {}
        kept = self.memory()
        asking = bool(kept.get("asking"))
        return {
            "document": self.document,
            "is_purchase_order": isinstance(self.document, PurchaseOrder),
            "source": inbound_source(self.document),
            "lines": inbound_lines(self.document),
            "complete": inbound_received_in_full(self.document),
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
            "scans": scans_recent(warehouse=self.warehouse, step=STEP, reference=self.document.number),
        }
