"""Reads of the floor for the back office and the API: waves with their progress, a wave with its parcels and pick
path, the scan log, and the productivity figures (per person and per day), each a fixed number of queries.

Productivity, per person and per local day (``settings.TIME_ZONE``):

- scans: every scan they made (accepted or refused); errors: the refused ones;
- units picked: the quantities of their accepted pick scans;
- lines picked: pick tasks they picked units of, on the day of their last accepted pick scan in that task's wave (a
  pick task keeps who picked it, not when);
- parcels packed: wave parcels they packed that day;
- scans per hour: scans ÷ the hours between the day's first and last scan, at least a quarter of an hour (a few
  scans in a minute are not thousands an hour).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import (
    Count,
    DecimalField,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Greatest, Round, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ErrorDetail, ValidationFailed
from orders.models import ParcelLine
from warehouse.models import PickTask, ScanEvent, Wave, WaveParcel
from warehouse.waves import PICK_PERMISSION

# The shortest day a rate is taken over: a few scans in one minute are not thousands an hour.
SHORTEST_HOURS = Decimal("0.25")
# The longest range the figures are asked for at once (a quarter and a bit): rows are people × days.
PRODUCTIVITY_MOST_DAYS = 92


# --- waves -------------------------------------------------------------------------------------------------------


def waves_listed() -> QuerySet[Wave]:
    """Waves with their warehouse and picker, and the units their pick tasks ask for and have picked (``to_pick``
    and ``picked``; 0 and 0 before release): one query."""
    tasks = PickTask.objects.filter(wave=OuterRef("pk")).order_by().values("wave")
    return Wave.objects.select_related("warehouse", "picker", "cart_bin").annotate(
        units_to_pick=Coalesce(Subquery(tasks.annotate(n=Sum("quantity")).values("n"), output_field=IntegerField()), 0),
        units_picked=Coalesce(Subquery(tasks.annotate(n=Sum("picked")).values("n"), output_field=IntegerField()), 0),
    )


def wave_parcels(wave_ids=None) -> QuerySet[WaveParcel]:
    """Wave parcels in position order, with their parcel, who packed them and their orders (``parcel.lines`` with
    each line's order): two queries."""
    lines = ParcelLine.objects.select_related("order").order_by("pk")
    queryset = WaveParcel.objects.select_related("parcel", "packed_by").prefetch_related(
        Prefetch("parcel__lines", queryset=lines)
    )
    if wave_ids is not None:
        queryset = queryset.filter(wave_id__in=wave_ids)
    return queryset.order_by("wave_id", "position")


def pick_tasks() -> QuerySet[PickTask]:
    """Pick tasks in walking order with their bin, product and who picked them."""
    return PickTask.objects.select_related("bin", "product", "picked_by").order_by("wave_id", "sequence")


def waves_detailed() -> QuerySet[Wave]:
    """``waves_listed`` with the parcels (and their orders) and the pick tasks: five queries."""
    return waves_listed().prefetch_related(
        Prefetch("parcels", queryset=wave_parcels()),
        Prefetch("tasks", queryset=pick_tasks()),
    )


def pickers() -> QuerySet:
    """Active users who may pick (``warehouse.waves.PICK_PERMISSION``, by role, by themselves or as
    superusers), by username."""
    app_label, _dot, codename = PICK_PERMISSION.partition(".")
    may_pick = Q(content_type__app_label=app_label, codename=codename)
    allowed = Permission.objects.filter(may_pick)
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__permissions__in=allowed) | Q(user_permissions__in=allowed))
        .distinct()
        .order_by("username")
    )


def parcel_order_ids(entry: WaveParcel) -> list[str]:
    """The order IDs (as their stores know them) in a wave parcel, each once, from ``wave_parcels``' prefetch."""
    seen: dict[int, str] = {}
    for line in entry.parcel.lines.all():
        seen.setdefault(line.order_id, line.order.channel_order_id)
    return list(seen.values())


# --- scans -------------------------------------------------------------------------------------------------------


def scans_listed() -> QuerySet[ScanEvent]:
    """Scans newest first with who made them, where and for which wave: one query."""
    return ScanEvent.objects.select_related("user", "warehouse", "wave").order_by("-id")


def day_bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The moments the local days ``date_from`` to ``date_to`` (both included) start and end after: a range on the
    indexed columns, not a function of them."""
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(dt.datetime.combine(date_from, dt.time.min), zone)
    end = timezone.make_aware(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min), zone)
    return start, end


# --- productivity ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductivityRow:
    """One person's work on one day."""

    user_id: int
    username: str
    day: dt.date
    scans: int = 0
    errors: int = 0
    lines_picked: int = 0
    units_picked: int = 0
    parcels_packed: int = 0
    first_scan_at: dt.datetime | None = None
    last_scan_at: dt.datetime | None = None
    hours: Decimal = Decimal("0")
    scans_per_hour: Decimal = Decimal("0")


class _Hours(Func):
    """The hours in a PostgreSQL interval, as a number."""

    template = "(EXTRACT(EPOCH FROM %(expressions)s)::numeric / 3600)"
    output_field = DecimalField()


def _scan_figures(start: dt.datetime, end: dt.datetime, warehouse_id: int | None) -> QuerySet:
    zone = timezone.get_current_timezone()
    scans = ScanEvent.objects.filter(user__isnull=False, created_at__gte=start, created_at__lt=end)
    if warehouse_id is not None:
        scans = scans.filter(warehouse_id=warehouse_id)
    picked = Q(step=ScanEvent.Step.PICK, ok=True)
    return (
        scans.annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("user_id", "day")
        .annotate(
            scans=Count("pk"),
            errors=Count("pk", filter=Q(ok=False)),
            units_picked=Coalesce(Sum("quantity", filter=picked), 0),
            first_scan_at=Min("created_at"),
            last_scan_at=Max("created_at"),
        )
        .annotate(span=Greatest(_Hours(F("last_scan_at") - F("first_scan_at")), Value(SHORTEST_HOURS)))
        .annotate(
            hours=Round(F("span"), 2, output_field=DecimalField(max_digits=12, decimal_places=2)),
            scans_per_hour=Round(
                Cast(F("scans"), DecimalField(max_digits=12, decimal_places=2)) / F("span"),
                1,
                output_field=DecimalField(max_digits=12, decimal_places=1),
            ),
        )
        .order_by()
    )


def _line_figures(start: dt.datetime, end: dt.datetime, warehouse_id: int | None) -> QuerySet:
    zone = timezone.get_current_timezone()
    last_pick = (
        ScanEvent.objects.filter(
            user=OuterRef("picked_by"), wave=OuterRef("wave"), step=ScanEvent.Step.PICK, ok=True, quantity__gt=0
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    # A task cannot be picked before its wave was released: that bounds the tasks looked at.
    tasks = PickTask.objects.filter(picked_by__isnull=False, picked__gt=0, wave__released_at__lt=end)
    if warehouse_id is not None:
        tasks = tasks.filter(wave__warehouse_id=warehouse_id)
    return (
        tasks.annotate(picked_at=Subquery(last_pick))
        .filter(picked_at__gte=start, picked_at__lt=end)
        .annotate(day=TruncDate("picked_at", tzinfo=zone))
        .values("picked_by_id", "day")
        .annotate(lines=Count("pk"))
        .order_by()
    )


def _pack_figures(start: dt.datetime, end: dt.datetime, warehouse_id: int | None) -> QuerySet:
    zone = timezone.get_current_timezone()
    packed = WaveParcel.objects.filter(
        status=WaveParcel.Status.PACKED, packed_by__isnull=False, packed_at__gte=start, packed_at__lt=end
    )
    if warehouse_id is not None:
        packed = packed.filter(wave__warehouse_id=warehouse_id)
    return (
        packed.annotate(day=TruncDate("packed_at", tzinfo=zone))
        .values("packed_by_id", "day")
        .annotate(parcels=Count("pk"))
        .order_by()
    )


def productivity_range(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date, dt.date]:
    """The days the figures are for: ``date_to`` (today if None) and ``date_from`` (a week's first day if None);
    ValidationFailed naming the field when the range is backwards or longer than ``PRODUCTIVITY_MOST_DAYS``."""
    date_to = date_to or timezone.localdate()
    date_from = date_from or date_to - dt.timedelta(days=6)
    if date_from > date_to or date_to >= dt.date.max:
        problem = ErrorDetail(_("Must be a day from date_from on."), code="invalid_range", field="date_to")
        raise ValidationFailed.listing(_("The days"), [problem])
    if (date_to - date_from).days >= PRODUCTIVITY_MOST_DAYS:
        problem = ErrorDetail(
            _("At most %(days)s days at once.") % {"days": PRODUCTIVITY_MOST_DAYS},
            code="range_too_long",
            field="date_from",
        )
        raise ValidationFailed.listing(_("The days"), [problem])
    return date_from, date_to


def productivity(*, date_from: dt.date, date_to: dt.date, warehouse_id: int | None = None) -> list[ProductivityRow]:
    """Each person's figures for each local day from ``date_from`` to ``date_to`` (both included, checked by
    ``productivity_range``) on which they scanned, picked or packed, in one warehouse or all; by day, then by
    username. Four queries (scans, lines, parcels, names), each grouped by person and day in SQL."""
    date_from, date_to = productivity_range(date_from, date_to)
    start, end = day_bounds(date_from, date_to)
    rows: dict[tuple[int, dt.date], dict] = {}
    for figures in _scan_figures(start, end, warehouse_id):
        figures.pop("span")
        rows[(figures.pop("user_id"), figures.pop("day"))] = figures
    for figures in _line_figures(start, end, warehouse_id):
        key = (figures["picked_by_id"], figures["day"])
        rows.setdefault(key, {})["lines_picked"] = figures["lines"]
    for figures in _pack_figures(start, end, warehouse_id):
        key = (figures["packed_by_id"], figures["day"])
        rows.setdefault(key, {})["parcels_packed"] = figures["parcels"]
    names = dict(
        get_user_model().objects.filter(pk__in={user_id for user_id, _day in rows}).values_list("pk", "username")
    )
    made = [
        ProductivityRow(user_id=user_id, username=names.get(user_id, ""), day=day, **figures)
        for (user_id, day), figures in rows.items()
    ]
    return sorted(made, key=lambda row: (row.day, row.username, row.user_id))
