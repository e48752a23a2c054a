"""Reads of orders, with the joins their pages and the API need."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Sum

from orders.models import Order, OrderHold, OrderLine, OrderShipment


def open_holds() -> QuerySet[OrderHold]:
    return OrderHold.objects.filter(released_at__isnull=True).order_by("pk")


def order_list() -> QuerySet[Order]:
    """Orders newest first, with their store, lines (and what shipped of each), open holds and shipments: a
    fixed number of queries for a page of any size. The lines are ``line_list``, the open holds ``open_holds`` and
    the shipments ``shipment_list``."""
    lines = OrderLine.objects.select_related("product").annotate(quantity_shipped=Sum("shipment_lines__quantity"))
    return (
        Order.objects.select_related("store")
        .annotate(is_held=Exists(open_holds().filter(order=OuterRef("pk"))))
        .prefetch_related(
            # Lists (to_attr), not managers: a manager's cache costs a queryset per order and relation.
            Prefetch("lines", queryset=lines.order_by("pk"), to_attr="line_list"),
            Prefetch("holds", queryset=open_holds(), to_attr="open_holds"),
            Prefetch(
                "shipments",
                queryset=OrderShipment.objects.prefetch_related("lines").order_by("pk"),
                to_attr="shipment_list",
            ),
        )
        .order_by("-ordered_at", "-pk")
    )
