"""Printing labels: many shipments' labels as one file in the order given (a wave prints in pick order), each
print logged (who, when, which batch, and whether it was a reprint), so a second label for one parcel is never a
mystery.

Carrier labels are kept as the carrier sent them; PDFs are joined page by page (pypdf), ZPL labels by joining
their texts (a Zebra printer takes one stream of ``^XA…^XZ`` blocks). PDFs and ZPL cannot be joined into one file:
a batch of both is refused, naming the format of each.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _
from pypdf import PdfReader, PdfWriter

from core.errors import Conflict, ErrorDetail, ValidationFailed
from logistics.models import LabelPrint, Shipment

PRINTABLE = (
    Shipment.Status.LABEL_READY,
    Shipment.Status.HANDED_OVER,
    Shipment.Status.IN_TRANSIT,
    Shipment.Status.EXCEPTION,
)


def labels_join(shipments: Sequence[Shipment]) -> tuple[bytes, str]:
    """The labels of ``shipments`` as one file, in the order given: (bytes, "pdf" or "zpl")."""
    problems = [
        ErrorDetail(
            _("%(shipment)s has no label to print (it is %(status)s).")
            % {"shipment": shipment.tracking_number or shipment.number, "status": shipment.get_status_display()},
            field=f"shipments[{index}]",
            code="no_label",
        )
        for index, shipment in enumerate(shipments)
        if shipment.status not in PRINTABLE or not shipment.label
    ]
    if problems:
        raise ValidationFailed.listing(_("The labels"), problems)
    formats = {shipment.label_format or "pdf" for shipment in shipments}
    if len(formats) > 1:
        raise Conflict(
            _("PDF and ZPL labels cannot print as one file: print each format apart (%(formats)s).")
            % {"formats": ", ".join(sorted(formats))},
            code="mixed_label_formats",
        )
    label_format = formats.pop() if formats else "pdf"
    if label_format == "zpl":
        return b"\n".join(bytes(shipment.label).strip() for shipment in shipments) + b"\n", "zpl"
    writer = PdfWriter()
    for shipment in shipments:
        writer.append(PdfReader(io.BytesIO(bytes(shipment.label))))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), "pdf"


@transaction.atomic
def labels_print(*, shipments: Sequence[Shipment], user=None, batch: str = "", reason: str = "") -> tuple[bytes, str]:
    """Join the labels (``labels_join``) and log one print per shipment; a shipment printed before is logged as a
    reprint, with ``reason`` when given."""
    data, label_format = labels_join(shipments)
    printed = set(
        LabelPrint.objects.filter(shipment__in=[shipment.pk for shipment in shipments]).values_list(
            "shipment_id", flat=True
        )
    )
    LabelPrint.objects.bulk_create(
        [
            LabelPrint(
                shipment=shipment,
                reprint=shipment.pk in printed,
                reason=reason[:200],
                batch=batch[:64],
                user=user,
            )
            for shipment in shipments
        ]
    )
    return data, label_format
