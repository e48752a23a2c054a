"""Hand-over (交运): parcels scanned into the open manifest of their carrier account and pickup, then closed
together, confirmed with the carrier where its API has that step, and printed as a manifest the driver signs.

- ``manifest_scan`` puts a parcel into a manifest by what is printed on it (tracking number, shipment number or our
  reference with the carrier). A parcel of another carrier, one without its label, a cancelled or failed one, one
  whose order was cancelled, or one already handed over is refused, naming it.
- ``manifest_close`` asks the carrier (its hand-over call: a scan form, a pickup, a hand-over list) and then, in
  one transaction, moves the parcels it took to handed over (``shipments_handed_over`` tells orders, which ship
  them) and leaves out, with the carrier's words, the ones it would not take.
- ``manifest_pdf`` prints the list: every parcel, its weight and order reference, the counts, a barcode.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from core.errors import Conflict, NotFound
from core.pdf import pdf_from_html
from core.status import StatusMove, next_id, status_transitions_apply
from logistics.carriers import adapter_for
from logistics.carriers.base import HandoverResult
from logistics.labels import code128_svg
from logistics.models import CarrierAccount, Manifest, Shipment
from logistics.shipments import SHIPMENT_STATUS

Status = Shipment.Status

# Sent inside the closing transaction with the ids of the parcels handed over: orders ships their orders (stock
# out, the store told), so the hand-over and what follows from it are kept together or not at all.
shipments_handed_over = Signal()


def manifest_number(pk: int) -> str:
    return f"MAN{pk:08d}"


def manifest_open(*, account: CarrierAccount, warehouse=None, pickup: str = "") -> Manifest:
    """The open manifest of this account, warehouse and pickup; made when there is none (one at a time)."""
    lookup = {"account": account, "warehouse": warehouse, "pickup": pickup.strip(), "status": Manifest.Status.OPEN}
    found = Manifest.objects.filter(**lookup).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            pk = next_id(Manifest)
            return Manifest.objects.create(pk=pk, number=manifest_number(pk), **lookup)
    except IntegrityError:
        return Manifest.objects.get(**lookup)  # made by someone else at the same moment


def shipment_by_scan(code: str) -> Shipment:
    code = (code or "").strip()
    if not code:
        raise NotFound(_("Scan a parcel's label."), code="scan_empty")
    found = list(
        Shipment.objects.filter(Q(tracking_number=code) | Q(number=code) | Q(carrier_reference=code))
        .select_related("account", "manifest")
        .order_by("-pk")[:2]
    )
    if not found:
        raise NotFound(_("No parcel has the label %(code)s.") % {"code": code}, code="unknown_parcel", scan=code)
    return found[0]  # a number used twice (a cancelled label and its remake): the newest is the live one


@transaction.atomic
def manifest_scan(*, manifest: Manifest, code: str, user=None) -> Shipment:
    """Put the parcel whose label reads ``code`` into ``manifest``; scanning it again changes nothing."""
    # The manifest's row only (of=self): a lock on the joined carrier account would make every scan and close of
    # that carrier's manifests, and every label made with it, wait for each other.
    manifest = Manifest.objects.select_for_update(of=("self",)).select_related("account").get(pk=manifest.pk)
    if manifest.status != Manifest.Status.OPEN:
        raise _closed(manifest)
    shipment = Shipment.objects.select_for_update().get(pk=shipment_by_scan(code).pk)
    _scan_check(manifest, shipment, code)
    if shipment.manifest_id != manifest.pk:
        shipment.manifest = manifest
        shipment.save(update_fields=["manifest", "updated_at"])
    return shipment


def _closed(manifest: Manifest) -> Conflict:
    message = (
        _("Manifest %(manifest)s is being handed over: use a new one.")
        if manifest.status == Manifest.Status.CLOSING
        else _("Manifest %(manifest)s was handed over already: open a new one.")
    )
    return Conflict(message % {"manifest": manifest.number}, code="manifest_closed")


def _scan_check(manifest: Manifest, shipment: Shipment, code: str) -> None:
    def refuse(message: str, error: str) -> None:
        raise Conflict(message, code=error, scan=code, shipment=shipment.number)

    if shipment.account_id != manifest.account_id:
        refuse(
            _("%(code)s goes with %(carrier)s, not %(manifest_carrier)s: put it with its own carrier's parcels.")
            % {"code": code, "carrier": shipment.account.name, "manifest_carrier": manifest.account.name},
            "other_carrier",
        )
    if shipment.void_requested_at is not None:
        refuse(
            _("%(code)s must not go: %(reason)s Take the parcel out.")
            % {"code": code, "reason": gettext(shipment.void_reason) if shipment.void_reason else "-"},
            "order_cancelled",
        )
    if shipment.status in (Status.CANCELLED, Status.FAILED):
        refuse(
            _("%(code)s is %(status)s: this label must not go. Take the parcel out.")
            % {"code": code, "status": SHIPMENT_STATUS.status_label(shipment.status)},
            "parcel_cancelled",
        )
    if shipment.status == Status.CREATED:
        refuse(_("%(code)s has no label yet.") % {"code": code}, "no_label")
    if shipment.status != Status.LABEL_READY:
        refuse(
            _("%(code)s was handed over already (%(manifest)s).")
            % {"code": code, "manifest": shipment.manifest.number if shipment.manifest else "-"},
            "already_handed_over",
        )
    if shipment.manifest_id and shipment.manifest_id != manifest.pk and shipment.manifest.status == "open":
        refuse(
            _("%(code)s is in manifest %(manifest)s already.") % {"code": code, "manifest": shipment.manifest.number},
            "in_other_manifest",
        )


@transaction.atomic
def manifest_remove(*, manifest: Manifest, shipment: Shipment) -> None:
    """Take a parcel out of an open manifest (it stays label ready, for another pickup)."""
    manifest = Manifest.objects.select_for_update().get(pk=manifest.pk)
    if manifest.status != Manifest.Status.OPEN:
        raise _closed(manifest)
    Shipment.objects.filter(pk=shipment.pk, manifest=manifest).update(manifest=None, updated_at=timezone.now())


# A hand-over whose worker died while the carrier answered may be started again after this long.
CLOSING_STALE = timedelta(minutes=10)


def manifest_close(*, manifest: Manifest, user=None) -> Manifest:
    """Hand the manifest's parcels over: confirmed with the carrier where it has that step, then each parcel it
    took becomes handed over (and its orders shipped); a parcel it would not take leaves the manifest with why.

    Three steps, so no row stays locked while the carrier answers: the manifest is marked as being handed over
    (scans and cancels of its parcels are refused meanwhile, and a second close is told so); the carrier is asked;
    then the answer is applied in one transaction. If the carrier fails, the manifest is open again."""
    manifest, shipments = _closing_start(manifest)
    if manifest.status == Manifest.Status.HANDED_OVER:
        return manifest
    adapter = adapter_for(manifest.account)
    try:
        result = adapter.handover(shipments, manifest.number) if adapter.hands_over else None
    except Exception:
        Manifest.objects.filter(pk=manifest.pk, status=Manifest.Status.CLOSING).update(
            status=Manifest.Status.OPEN, closing_since=None
        )
        raise
    try:
        manifest = _closing_finish(manifest, shipments, result, user)
    except Exception as error:
        # The carrier has the parcels but what follows here failed (stock, an order): the manifest opens again with
        # what the carrier said, so a person sees it, fixes the cause and hands over again.
        Manifest.objects.filter(pk=manifest.pk, status=Manifest.Status.CLOSING).update(
            status=Manifest.Status.OPEN,
            closing_since=None,
            carrier_manifest_id=result.carrier_manifest_id if result is not None else "",
            carrier_message=_("The carrier confirmed the hand-over, but Seabridge could not record it: %(error)s")
            % {"error": error},
        )
        raise
    if manifest.status != Manifest.Status.HANDED_OVER:
        raise Conflict(
            _("The carrier took none of the parcels: %(why)s") % {"why": "; ".join(result.refused.values())},
            code="carrier_refused",
        )
    return manifest


@transaction.atomic
def _closing_start(manifest: Manifest) -> tuple[Manifest, list[Shipment]]:
    try:
        # In a savepoint: a lock not granted aborts only it, and the transaction can still read and answer.
        with transaction.atomic():
            # The manifest's row only: with the account's row locked too, another manifest of the same carrier
            # being scanned into or closed at this moment would make this one look busy.
            manifest = (
                Manifest.objects.select_for_update(nowait=True, of=("self",))
                .select_related("account")
                .get(pk=manifest.pk)
            )
    except OperationalError:
        manifest = Manifest.objects.get(pk=manifest.pk)
        raise _busy(manifest) from None
    if manifest.status == Manifest.Status.HANDED_OVER:
        return manifest, []
    if manifest.status == Manifest.Status.CLOSING and timezone.now() - manifest.closing_since < CLOSING_STALE:
        raise _busy(manifest)
    shipments = list(Shipment.objects.select_for_update().filter(manifest=manifest).order_by("pk"))
    if not shipments:
        raise Conflict(
            _("Manifest %(manifest)s has no parcels: scan them first.") % {"manifest": manifest.number},
            code="manifest_empty",
        )
    stale = [shipment for shipment in shipments if shipment.status != Status.LABEL_READY or shipment.void_requested_at]
    if stale:
        raise Conflict(
            _("%(parcels)s can no longer go (cancelled meanwhile): take them out of the manifest first.")
            % {"parcels": ", ".join(shipment.tracking_number or shipment.number for shipment in stale)},
            code="manifest_stale",
        )
    manifest.status, manifest.closing_since = Manifest.Status.CLOSING, timezone.now()
    manifest.save(update_fields=["status", "closing_since", "updated_at"])
    return manifest, shipments


def _busy(manifest: Manifest) -> Conflict:
    return Conflict(
        _("Manifest %(manifest)s is being handed over by someone else.") % {"manifest": manifest.number},
        code="manifest_busy",
    )


@transaction.atomic
def _closing_finish(manifest: Manifest, shipments: list[Shipment], result: HandoverResult | None, user) -> Manifest:
    manifest = Manifest.objects.select_for_update().get(pk=manifest.pk)
    shipments = list(Shipment.objects.select_for_update().filter(pk__in=[s.pk for s in shipments]).order_by("pk"))
    refused = result.refused if result is not None else {}
    taken = [shipment for shipment in shipments if shipment.pk not in refused]
    for shipment in shipments:
        if shipment.pk in refused:
            Shipment.objects.filter(pk=shipment.pk).update(
                manifest=None, carrier_message=refused[shipment.pk][:2000], updated_at=timezone.now()
            )
    if not taken:  # the parcels' messages and the reopened manifest are kept; the caller reports the refusal
        manifest.status, manifest.closing_since = Manifest.Status.OPEN, None
        manifest.save(update_fields=["status", "closing_since", "updated_at"])
        return manifest
    status_transitions_apply(
        machine=SHIPMENT_STATUS,
        moves=[StatusMove(shipment, Status.HANDED_OVER, note=manifest.number) for shipment in taken],
        user=user,
    )
    manifest.status = Manifest.Status.HANDED_OVER
    manifest.handed_over_at = timezone.now()
    manifest.handed_over_by = user
    manifest.parcel_count = len(taken)
    manifest.total_weight_g = sum(shipment_weight(shipment) for shipment in taken)
    if result is not None:
        manifest.carrier_manifest_id = result.carrier_manifest_id
        manifest.carrier_document = result.document
        manifest.carrier_message = result.message
    manifest.save()
    shipments_handed_over.send(sender=Manifest, shipment_ids=[shipment.pk for shipment in taken], user=user)
    return manifest


def shipment_weight(shipment: Shipment) -> int:
    """What a parcel weighs on the manifest: as weighed at packing, else as expected, else as declared."""
    return shipment.actual_weight_g or shipment.expected_weight_g or shipment.declared_weight_g or 0


def manifest_pdf(manifest: Manifest) -> bytes:
    """The hand-over list on A4: the carrier, pickup and warehouse, each parcel (tracking number, reference,
    destination, weight), the counts and total weight, a barcode of the manifest number, and places to sign."""
    shipments = list(manifest.shipments.select_related("method").order_by("pk"))
    rows = [
        {
            "index": index,
            "tracking_number": shipment.tracking_number or shipment.number,
            "reference": shipment.reference,
            "method": shipment.method.name,
            "country": (shipment.recipient or {}).get("country", ""),
            "weight_g": shipment_weight(shipment),
        }
        for index, shipment in enumerate(shipments, start=1)
    ]
    html = render_to_string(
        "labels/manifest.html",
        {
            "manifest": manifest,
            "rows": rows,
            "count": len(rows),
            "total_weight_kg": sum(row["weight_g"] for row in rows) / 1000,
            "barcode": code128_svg(manifest.number),
            "printed_at": timezone.localtime(),
        },
    )
    return pdf_from_html(html)
