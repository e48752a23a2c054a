"""Scans on the floor: every scan page runs its step's service through ``scan_record``, which answers the person
(done, done but look, or refused with why) and writes the scan's ``ScanEvent``; and the warehouse a person works
in, remembered between logins.

No HTTP here: the scan pages (``warehouse.scan``) turn the answer into a page or JSON, and the same service could
answer a PDA's API client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from core.errors import DomainError, ValidationFailed
from inventory.models import Warehouse
from warehouse.models import ScanEvent, ScanPreference, Wave

# What a scanner can send: barcodes are short; a longer text is a mistake (a paste, a stuck key), refused, not cut.
SCAN_CODE_MAX = ScanEvent._meta.get_field("code").max_length
MESSAGE_MAX = ScanEvent._meta.get_field("message").max_length
REFERENCE_MAX = ScanEvent._meta.get_field("reference").max_length
ERROR_CODE_MAX = ScanEvent._meta.get_field("error_code").max_length

# How an answer looks and sounds: green and a high beep, amber and two beeps, red and a low buzz.
OK, WARNING, ERROR = "ok", "warning", "error"


@dataclass(frozen=True)
class ScanDone:
    """What a step's service did with a scan, as the person should read it. ``is_warning``: done, but look (a
    parcel scanned twice, a slot whose order is complete)."""

    message: str
    reference: str = ""
    quantity: int | None = None
    wave: Wave | None = None
    is_warning: bool = False


@dataclass(frozen=True)
class ScanAnswer:
    """The answer to one scan: its level (``OK``, ``WARNING``, ``ERROR``), the text the person reads, the error's
    code when refused, and the event recorded."""

    level: str
    message: str
    error_code: str
    event: ScanEvent

    @property
    def ok(self) -> bool:
        return self.level != ERROR

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "level": self.level, "message": self.message, "code": self.error_code}


def scan_record(
    *,
    user,
    warehouse: Warehouse,
    step: str,
    code: str,
    do: Callable[[], ScanDone],
    reference: str = "",
    wave: Wave | None = None,
) -> ScanAnswer:
    """Run ``do`` (the step's service, with what was scanned) and record the scan, accepted or refused.

    A ``DomainError`` is the refusal: its message is what the person reads, its ``code`` is kept with the scan.
    ``reference`` and ``wave`` say what the scan was for when the service did not (a refused scan).

    The event is written after the service, not in one transaction around it: a step may ask a carrier (the
    hand-over), which must never happen inside a transaction, and a refused scan is recorded although its service
    rolled back. Any other exception is a fault, not an answer: it is not recorded here and reaches the server's
    error handling."""
    code = (code or "").strip()
    try:
        if len(code) > SCAN_CODE_MAX:
            raise ValidationFailed(
                _("That is not a barcode: %(length)s characters, at most %(max)s.")
                % {"length": len(code), "max": SCAN_CODE_MAX},
                code="scan_too_long",
            )
        done = do()
    except DomainError as error:
        level, message, error_code = ERROR, str(error.message), error.code
        quantity = None
    else:
        level, message, error_code = (WARNING if done.is_warning else OK), str(done.message), ""
        reference, wave, quantity = done.reference or reference, done.wave or wave, done.quantity
    event = ScanEvent.objects.create(
        user=user,
        warehouse=warehouse,
        step=step,
        code=code[:SCAN_CODE_MAX],
        ok=level != ERROR,
        message=message[:MESSAGE_MAX],
        error_code=error_code[:ERROR_CODE_MAX],
        quantity=quantity,
        wave=wave,
        reference=reference[:REFERENCE_MAX],
    )
    return ScanAnswer(level=level, message=message, error_code=error_code, event=event)


def scan_warehouse_remember(*, user, warehouse: Warehouse) -> ScanPreference:
    """Remember the warehouse ``user`` works in, for their next login."""
    preference, _made = ScanPreference.objects.update_or_create(user=user, defaults={"warehouse": warehouse})
    return preference
