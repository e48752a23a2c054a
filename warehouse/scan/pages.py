"""The floor's scan pages, for the menu and for the permission each needs; a new page adds one line here."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise

from warehouse.models import ScanEvent

# Every scan page needs this (it records scans); a step's page may need more, for what its service changes.
FLOOR_PERMISSION = "warehouse.add_scanevent"


@dataclass(frozen=True)
class FloorPage:
    step: str  # a ScanEvent.Step
    url_name: str
    permissions: tuple[str, ...]

    @property
    def label(self) -> Promise:
        return ScanEvent.Step(self.step).label

    def allowed(self, user) -> bool:
        return user.has_perms(self.permissions)


# Picking and sorting change pick tasks and the wave's parcels through the picking services; packing marks parcels
# packed and keeps each weighing (a supervisor's override is ``change_packcheck``, asked of the supervisor, not of
# the page's user).
PICKING = (FLOOR_PERMISSION, "warehouse.change_picktask")
PACKING = (FLOOR_PERMISSION, "warehouse.change_waveparcel", "warehouse.add_packcheck")
# Stock pages ask what the inventory and purchasing APIs and admins ask for the same write. Receiving, as their
# receive: a transfer and its stock moves, or a receipt against a purchase order. Put-away and moves are stock
# moves. Counting records counted quantities (the API's record, change_stockcountline); approving a count
# (change_stockcount with add_stockmove) stays a manager's.
RECEIVING = (FLOOR_PERMISSION, "inventory.change_transfer", "inventory.add_stockmove", "purchasing.add_receipt")
MOVING = (FLOOR_PERMISSION, "inventory.add_stockmove")
COUNTING = (FLOOR_PERMISSION, "inventory.change_stockcountline")

FLOOR_PAGES = [
    FloorPage(ScanEvent.Step.RECEIVE, "scan:receive", RECEIVING),
    FloorPage(ScanEvent.Step.PUT_AWAY, "scan:put_away", MOVING),
    FloorPage(ScanEvent.Step.PICK, "scan:pick", PICKING),
    FloorPage(ScanEvent.Step.SORT, "scan:sort", PICKING),
    FloorPage(ScanEvent.Step.PACK, "scan:pack", PACKING),
    FloorPage(ScanEvent.Step.FAST_LANE, "scan:fast_lane", PACKING),
    FloorPage(ScanEvent.Step.HAND_OVER, "scan:hand_over", (FLOOR_PERMISSION, "logistics.change_manifest")),
    FloorPage(ScanEvent.Step.COUNT, "scan:count", COUNTING),
    FloorPage(ScanEvent.Step.MOVE, "scan:move", MOVING),
]

STEP_ORDER = {step: index for index, step in enumerate(ScanEvent.Step.values)}


def floor_page(step: str) -> FloorPage:
    return next(page for page in FLOOR_PAGES if page.step == step)


def floor_pages_for(user) -> list[FloorPage]:
    """The pages ``user`` may use, in the order of the floor's day (receive ... hand over, count, move)."""
    return sorted((page for page in FLOOR_PAGES if page.allowed(user)), key=lambda page: STEP_ORDER[page.step])
