"""What orders shows on the home page: orders to ship, those held and why, and those due to ship today."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from core.dashboard import ORDERS, Figure, Section, dashboard_register
from orders.models import Order, OrderHold
from orders.selectors import open_holds
from orders.status import TO_SHIP


def _orders(**filters) -> str:
    url = reverse("admin:orders_order_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def orders_sections(request: HttpRequest) -> list[Section]:
    if not request.user.has_perm("orders.view_order"):
        return []
    end_of_today = timezone.localtime().replace(hour=23, minute=59, second=59) + timedelta(seconds=1)
    held = Exists(open_holds().filter(order=OuterRef("pk")))
    Status = Order.Status
    figures = Order.objects.filter(status__in=TO_SHIP).aggregate(
        new=Count("pk", filter=Q(status=Status.AWAITING_SHIPMENT)),
        awaiting_stock=Count("pk", filter=Q(status=Status.AWAITING_STOCK)),
        allocated=Count("pk", filter=Q(status=Status.ALLOCATED)),
        due=Count("pk", filter=Q(ship_by__lt=end_of_today) & ~Q(status=Status.PENDING)),
    )
    by_reason = dict(
        OrderHold.objects.filter(released_at__isnull=True)
        .values_list("code")
        .annotate(orders=Count("order", distinct=True))
        .values_list("code", "orders")
    )
    reasons = [f"{label} {by_reason[code]}" for code, label in OrderHold.Code.choices if by_reason.get(code)]
    return [
        Section(
            title=_("Orders"),
            figures=[
                Figure(
                    label=_("New, to allocate"),
                    value=figures["new"],
                    link=_orders(status__exact=Status.AWAITING_SHIPMENT),
                ),
                Figure(
                    label=_("Awaiting stock"),
                    value=figures["awaiting_stock"],
                    link=_orders(status__exact=Status.AWAITING_STOCK),
                ),
                Figure(
                    label=_("Allocated, to pick"),
                    value=figures["allocated"],
                    link=_orders(status__exact=Status.ALLOCATED),
                ),
                Figure(
                    label=_("Held"),
                    value=Order.objects.filter(held).count(),
                    note="; ".join(reasons),
                    link=_orders(held="yes"),
                ),
                Figure(
                    label=_("To ship by today"),
                    value=figures["due"],
                    note=_("Not shipped yet, with the store's ship-by date today or past"),
                    link=_orders(),
                ),
            ],
        )
    ]


def dashboard_ready() -> None:
    dashboard_register(orders_sections, order=ORDERS)
