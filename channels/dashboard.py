"""What channels shows on the home page: the stores that need looking at."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from channels.selectors import store_health
from core.dashboard import STORES, Figure, Section, dashboard_register


def stores_sections(request: HttpRequest) -> list[Section]:
    if not request.user.has_perm("channels.view_store"):
        return []
    health = store_health()
    if not health:
        return []
    link = reverse("admin:channels_store_health")
    troubled = [item for item in health if item.warnings]
    figures = [
        Figure(
            label=_("Stores needing a look"),
            value=len(troubled),
            note="; ".join(f"{item.store.name}: {item.warnings[0]}" for item in troubled[:3]),
            link=link,
        ),
        Figure(
            label=_("Orders waiting for a SKU mapping"),
            value=sum(item.orders_waiting_mapping for item in health),
            link=reverse("admin:orders_order_changelist") + "?hold=unmapped_sku",
        ),
        Figure(
            label=_("Shipments the stores refused"),
            value=sum(item.shipments_failed for item in health),
            link=link,
        ),
    ]
    return [Section(title=_("Stores"), figures=figures)]


def dashboard_ready() -> None:
    dashboard_register(stores_sections, order=STORES)
