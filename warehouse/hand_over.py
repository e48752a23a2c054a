"""The hand-over step on the floor: a scanned parcel into the open manifest of its carrier, and the manifest closed,
with the answer a person reads. The rules (which parcel may go, what closing does) are ``logistics.manifests``'."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from logistics.manifests import manifest_close, manifest_scan, shipment_by_scan
from logistics.models import Manifest, Shipment
from warehouse.scans import ScanDone


def hand_over_scan(*, manifest: Manifest, code: str, user=None) -> ScanDone:
    """Put the parcel whose label reads ``code`` into ``manifest``; a parcel scanned twice is a warning, not an
    error (it is in the manifest, once). Refusals are ``manifest_scan``'s, with its message."""
    again = shipment_by_scan(code).manifest_id == manifest.pk
    manifest_scan(manifest=manifest, code=code, user=user)
    count = Shipment.objects.filter(manifest=manifest).count()
    if again:
        message = ngettext(
            "%(code)s is in %(manifest)s already: %(count)s parcel.",
            "%(code)s is in %(manifest)s already: %(count)s parcels.",
            count,
        )
        return ScanDone(
            message % {"code": code, "manifest": manifest.number, "count": count},
            reference=manifest.number,
            is_warning=True,
        )
    message = ngettext(
        "%(code)s into %(manifest)s: %(count)s parcel.",
        "%(code)s into %(manifest)s: %(count)s parcels.",
        count,
    )
    return ScanDone(
        message % {"code": code, "manifest": manifest.number, "count": count}, reference=manifest.number, quantity=1
    )


def hand_over_close(*, manifest: Manifest, user=None) -> ScanDone:
    """Hand the manifest over (``manifest_close``: the carrier asked, the parcels handed over, their orders
    shipped). Parcels the carrier would not take leave the manifest with its words: the answer is then a warning
    that says how many."""
    scanned = Shipment.objects.filter(manifest=manifest).count()
    closed = manifest_close(manifest=manifest, user=user)
    left = scanned - closed.parcel_count
    if left > 0:
        # Both counts are at least one here, so "parcels" is always plural.
        message = _(
            "Manifest %(manifest)s handed over: %(count)s of %(scanned)s parcels. The carrier would not take the "
            "others: they are out of the manifest, with the carrier's words."
        ) % {"manifest": closed.number, "count": closed.parcel_count, "scanned": scanned}
    else:
        message = ngettext(
            "Manifest %(manifest)s handed over: %(count)s parcel.",
            "Manifest %(manifest)s handed over: %(count)s parcels.",
            closed.parcel_count,
        ) % {"manifest": closed.number, "count": closed.parcel_count}
    return ScanDone(message, reference=closed.number, quantity=closed.parcel_count, is_warning=left > 0)
