"""The staff roles as Django groups, with permissions named by patterns so later models join by themselves."""

from __future__ import annotations

import fnmatch
import re

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_lazy as _

# Patterns match "<app_label>.<codename>".
ROLES: dict[str, list[str]] = {
    "Administrator": ["*"],
    "Warehouse manager": [
        "inventory.*",
        "warehouse.*",
        "logistics.*",
        "orders.view_*",
        "orders.change_order",
        "purchasing.view_*",
        "purchasing.change_receipt",
        "purchasing.add_receipt",
        # Who changed master data, rules, stores and settings (the Administrator sees it through "*").
        "core.view_auditentry",
    ],
    "Picker/packer": [
        "inventory.view_product",
        "inventory.view_bundlecomponent",
        "inventory.view_bin",
        "inventory.view_warehouse",
        "inventory.view_stocklevel",
        # The floor's own records: waves, their parcels and pick path, put-back tasks, weighings. Not the scan log
        # nor everyone's productivity (view_scanevent), nor the floor settings: those are the manager's.
        "warehouse.view_putbacktask",
        "warehouse.view_picktaskline",
        "warehouse.view_packcheck",
        "warehouse.change_picktask",
        "warehouse.add_scanevent",  # every scan page records its scans
        "logistics.view_shipment",
        # The hand-over scan page fills the open manifest and closes it (and prints it); opening one by hand in
        # the admin or the API (add_manifest) stays a manager's.
        "logistics.view_manifest",
        "logistics.change_manifest",
        # Waves in the back office and the API: pickers see their waves, their parcels and pick path, and print
        # the pick list.
        "warehouse.view_wave",
        "warehouse.view_waveparcel",
        "warehouse.view_picktask",
        # The pack and fast-lane scan pages mark parcels packed and keep each weighing; letting a parcel go out of
        # tolerance (change_packcheck) is a supervisor's, the warehouse manager's.
        "warehouse.change_waveparcel",
        "warehouse.add_packcheck",
        # The stock scan pages: receive a transfer (change_transfer with its stock moves), put away and move bin to
        # bin (add_stockmove), record counted quantities (change_stockcountline, the API's record). Not a stock
        # adjustment (change_stocklevel) nor opening, approving or cancelling a count (add_/change_stockcount):
        # those are the manager's.
        "inventory.change_transfer",
        "inventory.add_stockmove",
        "inventory.change_stockcountline",
        # Receiving a purchase order on the floor writes its receipt (not the order, nor its costs: the buyer's).
        "purchasing.add_receipt",
    ],
    "Purchaser": [
        "purchasing.*",
        "inventory.view_*",
        "inventory.change_product",
        # A suggestion for an overseas warehouse refilled from another is ordered as a draft transfer.
        "inventory.add_transfer",
        "orders.view_order",
        "orders.view_orderline",
    ],
    "Customer service": [
        "orders.*",
        "channels.view_*",
        # Held orders are theirs to clear: mapping a SKU releases the orders waiting on it.
        "channels.add_skumapping",
        "channels.change_skumapping",
        "channels.delete_skumapping",
        "inventory.view_product",
        "inventory.view_bundlecomponent",
        "inventory.view_warehouse",
        "logistics.view_*",
    ],
    "API partner": [
        "inventory.view_product",
        "inventory.view_bundlecomponent",
        "inventory.view_warehouse",
        "inventory.view_stocklevel",
        "inventory.view_inventorybalance",  # availability per warehouse, what partner systems sync
        "orders.view_order",
        "orders.add_order",
        "logistics.view_shipment",
    ],
}

# The groups' names are keys (code, fixtures and other systems refer to them), so they stay as they are; people
# read the role through these labels, in their language. A group someone adds in the admin shows its own name.
ROLE_LABELS = {
    "Administrator": _("Administrator"),
    "Warehouse manager": _("Warehouse manager"),
    "Picker/packer": _("Picker/packer"),
    "Purchaser": _("Purchaser"),
    "Customer service": _("Customer service"),
    "API partner": _("API partner"),
}


def role_label(name: str) -> str:
    """The name of a role group as a person reads it, in the active language."""
    label = ROLE_LABELS.get(name)
    return str(label) if label is not None else name


@transaction.atomic
def roles_ensure() -> dict[str, int]:
    """Create or update every role group; returns the number of permissions of each. Idempotent."""
    permissions = [
        (f"{app_label}.{codename}", pk)
        for pk, app_label, codename in Permission.objects.values_list("pk", "content_type__app_label", "codename")
    ]
    counts: dict[str, int] = {}
    for name, patterns in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        # One expression per role: the suite ensures the roles in hundreds of tests.
        matches = re.compile("|".join(fnmatch.translate(pattern) for pattern in patterns)).match
        chosen = [pk for label, pk in permissions if matches(label)]
        group.permissions.set(chosen)
        counts[name] = len(chosen)
    return counts
