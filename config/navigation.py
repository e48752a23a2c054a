"""The admin's sidebar, in the order of a seller's day: orders, the warehouse floor, stock, purchasing, logistics,
stores, then settings. Each app adds its pages to its group; a group shows only the pages the user may view.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _


def _can_view(permission: str) -> Callable[[HttpRequest], bool]:
    def check(request: HttpRequest) -> bool:
        return request.user.has_perm(permission)

    return check


def page(title, icon: str, app_label: str, model_name: str) -> dict:
    """A changelist in the sidebar, shown to users who may view that model."""
    return {
        "title": title,
        "icon": icon,
        "link": reverse_lazy(f"admin:{app_label}_{model_name}_changelist"),
        "permission": _can_view(f"{app_label}.view_{model_name}"),
    }


def _home(request: HttpRequest) -> bool:
    return True


def navigation(request: HttpRequest) -> list[dict]:
    """The sidebar's groups (UNFOLD["SIDEBAR"]["navigation"] calls this for each page)."""
    return NAVIGATION


NAVIGATION = [
    {
        "title": _("Today"),
        "items": [
            {"title": _("Home"), "icon": "space_dashboard", "link": reverse_lazy("admin:index"), "permission": _home}
        ],
    },
    {
        "title": _("Orders"),
        "separator": True,
        "items": [
            page(_("Orders"), "receipt", "orders", "order"),
            page(_("Holds"), "front_hand", "orders", "orderhold"),
            page(_("Parcels"), "package_2", "orders", "parcel"),
            page(_("Allocation rules"), "rule", "orders", "allocationrule"),
            page(_("Blacklist"), "block", "orders", "blacklist"),
        ],
    },
    {
        "title": _("Warehouse"),
        "separator": True,
        "items": [
            page(_("Warehouses"), "warehouse", "inventory", "warehouse"),
            page(_("Bins"), "grid_view", "inventory", "bin"),
            page(_("Stock counts"), "fact_check", "inventory", "stockcount"),
            page(_("Transfers"), "local_shipping", "inventory", "transfer"),
            page(_("Waves"), "waves", "warehouse", "wave"),
            page(_("Scans"), "barcode_scanner", "warehouse", "scanevent"),
            page(_("Pack checks"), "scale", "warehouse", "packcheck"),
            page(_("Floor settings"), "tune", "warehouse", "floorsettings"),
            {
                "title": _("Productivity"),
                "icon": "monitoring",
                "link": reverse_lazy("admin:warehouse_scanevent_productivity"),
                "permission": _can_view("warehouse.view_scanevent"),
            },
            page(_("Put-back tasks"), "move_to_inbox", "warehouse", "putbacktask"),
        ],
    },
    {
        "title": _("Stock"),
        "separator": True,
        "items": [
            page(_("Products"), "inventory_2", "inventory", "product"),
            page(_("Bundle components"), "category", "inventory", "bundlecomponent"),
            page(_("Stock by bin"), "shelves", "inventory", "stocklevel"),
            page(_("Stock by warehouse"), "stacked_bar_chart", "inventory", "inventorybalance"),
            page(_("Stock ledger"), "receipt_long", "inventory", "stockmove"),
            page(_("Reservations"), "lock_clock", "inventory", "reservation"),
            page(_("Reservation history"), "history", "inventory", "reservationevent"),
            page(_("Bins on and off sale"), "toggle_off", "inventory", "sellablechange"),
        ],
    },
    {
        "title": _("Purchasing"),
        "separator": True,
        "items": [
            page(_("Purchase suggestions"), "lightbulb", "purchasing", "suggestion"),
            page(_("Purchase orders"), "receipt_long", "purchasing", "purchaseorder"),
            page(_("Receipts"), "move_to_inbox", "purchasing", "receipt"),
            page(_("Suppliers"), "factory", "purchasing", "supplier"),
            page(_("Supplier products"), "sell", "purchasing", "supplierproduct"),
            page(_("Reorder policies"), "tune", "purchasing", "reorderpolicy"),
            page(_("Promotions"), "campaign", "purchasing", "promotion"),
        ],
    },
    {
        "title": _("Logistics"),
        "separator": True,
        "items": [
            page(_("Shipments"), "package_2", "logistics", "shipment"),
            page(_("Manifests"), "fact_check", "logistics", "manifest"),
            page(_("Label prints"), "print", "logistics", "labelprint"),
            page(_("Shipping methods"), "local_shipping", "logistics", "shippingmethod"),
            page(_("Rate cards"), "request_quote", "logistics", "ratecard"),
            page(_("Carriers"), "airport_shuttle", "logistics", "carrier"),
            page(_("Carrier accounts"), "key", "logistics", "carrieraccount"),
        ],
    },
    {
        "title": _("Stores"),
        "separator": True,
        "items": [
            page(_("Stores"), "storefront", "channels", "store"),
            {
                "title": _("Store health"),
                "icon": "monitor_heart",
                "link": reverse_lazy("admin:channels_store_health"),
                "permission": _can_view("channels.view_store"),
            },
            page(_("SKU mappings"), "link", "channels", "skumapping"),
            page(_("Sync runs"), "sync", "channels", "syncrun"),
            page(_("Rejected orders"), "report", "channels", "rejectedorder"),
        ],
    },
    {
        "title": _("Settings"),
        "separator": True,
        "collapsible": True,
        "items": [
            page(_("Users"), "person", "auth", "user"),
            page(_("Roles"), "group", "auth", "group"),
            page(_("Audit trail"), "history", "core", "auditentry"),
            page(_("API tokens"), "key", "access", "apitoken"),
            page(_("Partners"), "handshake", "access", "partner"),
            page(_("Queued tasks"), "outbox", "core", "taskoutbox"),
            page(_("Idempotency keys"), "replay", "core", "idempotencyrecord"),
            page(_("Periodic tasks"), "schedule", "django_celery_beat", "periodictask"),
            page(_("Intervals"), "timer", "django_celery_beat", "intervalschedule"),
            page(_("Crontabs"), "event_repeat", "django_celery_beat", "crontabschedule"),
        ],
    },
]
