"""Writes of the purchase planning settings (reorder policies, promotions) and of a buyer's steps on suggestions
(dismiss one, queue a recompute).

Every rule of a policy is checked here, once, for every door (the API, the admin's form, code): each problem is an
``ErrorDetail`` naming its field, ``windows[1].weight`` for a part of the windows, and all of them come back
together. The database backs what it can (one policy per scope, the day cap, a warehouse not replenished from
itself), and a constraint lost to a concurrent writer becomes the same named refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.errors import Conflict, ErrorDetail, ValidationFailed, words_join
from core.limits import QUANTITY_MAX, quantity_problem
from core.outbox import task_enqueue
from inventory.models import Product, Warehouse
from purchasing.models import Promotion, ReorderPolicy, Suggestion

# A window longer than two years reads sales of another business; so does a lead leg, a safety stock or a review
# period that long. Six windows are more than any buyer weighs.
WINDOWS_MAX = 6
DAYS_MAX = 730
# Weights are kept to four decimals, as the average daily sales are.
WEIGHT_PLACES = 4
DAY_CAP_MAX = Decimal("9999.99")  # the column's max_digits=6, decimal_places=2
DAY_CAP_PLACES = 2
GLOBAL_POLICY_NAME = "Default"
SCOPE_CONSTRAINT = "reorder_policy_one_per_scope"

POLICY_DAY_FIELDS = ("safety_days", "review_period_days", "production_days", "qc_days", "transit_days")
POLICY_FIELDS = frozenset(
    {
        "name",
        "product",
        "warehouse",
        "windows",
        "leave_out_stockout_days",
        "leave_out_promotion_days",
        "day_cap_multiple",
        *POLICY_DAY_FIELDS,
        "transit_mode",
        "minimum_order_quantity",
        "case_pack",
        "replenish_from",
        "is_active",
    }
)
PROMOTION_FIELDS = frozenset({"name", "product", "starts_on", "ends_on"})


# --- Figures --------------------------------------------------------------------------------------------------


def decimal_text(value: Decimal) -> str:
    """A decimal as plain text without trailing zeros: ``0.5`` for 0.50, ``10`` for 1E+1 (a number beyond any
    figure here, 1E+999999 typed in a request, stays in that short form rather than a million digits)."""
    value = value.normalize()
    if not -24 <= value.adjusted() <= 24:
        return str(value)
    text = format(value, "f")
    return "0" if text == "-0" else text


def _decimal(value: Any) -> Decimal | None:
    """A number given as a Decimal, an int, a float (as typed: 0.1 is 0.1) or text; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, str):
        value = value.strip()
    if not isinstance(value, Decimal | int | str):
        return None
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _unknown_fields(given: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValidationFailed(
            _("Unknown field(s): %(fields)s.") % {"fields": words_join(unknown)},
            errors=[
                ErrorDetail(message=_("Not a field that can be changed."), code="unknown_field", field=name)
                for name in unknown
            ],
        )


def _name_problem(value: Any, max_length: int) -> ErrorDetail | None:
    if not isinstance(value, str) or not value.strip():
        return ErrorDetail(_("Give a name."), field="name", code="required")
    if len(value.strip()) > max_length:
        return ErrorDetail(
            _("At most %(maximum)s characters (got %(count)s).") % {"maximum": max_length, "count": len(value.strip())},
            field="name",
            code="max_length",
        )
    return None


# --- Reorder policies -----------------------------------------------------------------------------------------


def _weight_clean(value: Any, field: str) -> tuple[Decimal | None, ErrorDetail | None]:
    number = _decimal(value)
    if number is None:
        return None, ErrorDetail(
            _('Must be a decimal number such as "0.5" (got %(value)s).') % {"value": repr(value)},
            field=field,
            code="invalid",
        )
    if number <= 0:
        return None, ErrorDetail(
            _("Must be more than 0 (got %(value)s).") % {"value": decimal_text(number)}, field=field, code="min_value"
        )
    if number > 1:
        return None, ErrorDetail(
            _("Must be at most 1 (got %(value)s).") % {"value": decimal_text(number)}, field=field, code="max_value"
        )
    if _places(number) > WEIGHT_PLACES:
        return None, ErrorDetail(
            _("At most %(places)s decimal places (got %(value)s).")
            % {"places": WEIGHT_PLACES, "value": decimal_text(number)},
            field=field,
            code="max_decimal_places",
        )
    return number, None


def _windows_clean(value: Any) -> tuple[list[dict], list[ErrorDetail]]:
    """The windows sorted by length with weights as text, or the problems of each window by its place."""
    example = '[{"days": 7, "weight": "0.5"}, {"days": 14, "weight": "0.3"}, {"days": 30, "weight": "0.2"}]'
    if not isinstance(value, list):
        return [], [
            ErrorDetail(
                _("Must be a list of windows, e.g. %(example)s.") % {"example": example},
                field="windows",
                code="invalid",
            )
        ]
    if not 1 <= len(value) <= WINDOWS_MAX:
        return [], [
            ErrorDetail(
                _("Give from 1 to %(maximum)s windows (got %(count)s).")
                % {"maximum": WINDOWS_MAX, "count": len(value)},
                field="windows",
                code="count",
            )
        ]
    problems: list[ErrorDetail] = []
    windows: list[dict] = []
    weights: list[Decimal] = []
    first_of_days: dict[int, int] = {}
    for index, item in enumerate(value):
        place = f"windows[{index}]"
        if not isinstance(item, dict):
            problems.append(ErrorDetail(_("Must be an object with days and weight."), field=place, code="invalid"))
            continue
        unknown = sorted(set(item) - {"days", "weight"})
        if unknown:
            problems.append(
                ErrorDetail(
                    _("Unknown key(s) %(keys)s: a window has days and weight.") % {"keys": words_join(unknown)},
                    field=place,
                    code="unknown_field",
                )
            )
        days = item.get("days")
        if "days" not in item:
            problems.append(ErrorDetail(_("Give the window's days."), field=f"{place}.days", code="required"))
        else:
            problem = quantity_problem(days, field=f"{place}.days", minimum=1, maximum=DAYS_MAX)
            if problem is not None:
                problems.append(problem)
            elif days in first_of_days:
                problems.append(
                    ErrorDetail(
                        _("windows[%(other)s] is %(days)s days too; each window needs a length of its own.")
                        % {"other": first_of_days[days], "days": days},
                        field=f"{place}.days",
                        code="duplicate",
                    )
                )
            else:
                first_of_days[days] = index
        if "weight" not in item:
            problems.append(ErrorDetail(_("Give the window's weight."), field=f"{place}.weight", code="required"))
            continue
        weight, problem = _weight_clean(item["weight"], f"{place}.weight")
        if problem is not None:
            problems.append(problem)
            continue
        weights.append(weight)
        windows.append({"days": days, "weight": decimal_text(weight)})
    if len(weights) == len(value):
        total = sum(weights, Decimal(0))
        if total != 1:
            problems.append(
                ErrorDetail(
                    _("The weights sum to %(total)s, not 1.") % {"total": decimal_text(total)},
                    field="windows",
                    code="weights_sum",
                )
            )
    if problems:
        return [], problems
    return sorted(windows, key=lambda window: window["days"]), []


def _day_cap_clean(value: Any) -> tuple[Decimal | None, ErrorDetail | None]:
    if value is None:
        return None, None
    field = "day_cap_multiple"
    number = _decimal(value)
    if number is None:
        return None, ErrorDetail(
            _("Must be a number such as 3, or empty for no cap (got %(value)s).") % {"value": repr(value)},
            field=field,
            code="invalid",
        )
    if number < 1:
        return None, ErrorDetail(
            _("Must be at least 1: a day counts at most this many average days (got %(value)s).")
            % {"value": decimal_text(number)},
            field=field,
            code="min_value",
        )
    if number > DAY_CAP_MAX or _places(number) > DAY_CAP_PLACES:
        return None, ErrorDetail(
            _("Must be at most %(maximum)s, with at most %(places)s decimal places (got %(value)s).")
            % {"maximum": decimal_text(DAY_CAP_MAX), "places": DAY_CAP_PLACES, "value": decimal_text(number)},
            field=field,
            code="max_value",
        )
    return number, None


def _row_problem(value: Any, model: type, field: str) -> ErrorDetail | None:
    """A foreign key is a saved row, or None (every product, every warehouse)."""
    if value is None:
        return None
    if not isinstance(value, model) or value.pk is None:
        return ErrorDetail(_("Must be a saved row."), field=field, code="invalid")
    return None


def _policy_field_problems(name: str, value: Any) -> tuple[Any, list[ErrorDetail]]:
    """(the value to store, problems) for one field given on its own."""
    if name == "name":
        problem = _name_problem(value, ReorderPolicy._meta.get_field("name").max_length)
        return (value.strip() if problem is None else value), [problem] if problem else []
    if name == "windows":
        windows, problems = _windows_clean(value)
        return windows, problems
    if name == "day_cap_multiple":
        number, problem = _day_cap_clean(value)
        return number, [problem] if problem else []
    if name in POLICY_DAY_FIELDS:
        problem = quantity_problem(value, field=name, minimum=0, maximum=DAYS_MAX)
        return value, [problem] if problem else []
    if name in ("minimum_order_quantity", "case_pack"):
        problem = None if value is None else quantity_problem(value, field=name, minimum=1, maximum=QUANTITY_MAX)
        return value, [problem] if problem else []
    if name == "transit_mode":
        if value not in ReorderPolicy.TransitMode.values:
            choices = words_join(ReorderPolicy.TransitMode.values)
            return value, [
                ErrorDetail(
                    _("Must be one of %(choices)s (got %(value)s).") % {"choices": choices, "value": repr(value)},
                    field=name,
                    code="invalid_choice",
                )
            ]
        return value, []
    if name in ("leave_out_stockout_days", "leave_out_promotion_days", "is_active"):
        if not isinstance(value, bool):
            return value, [ErrorDetail(_("Must be true or false."), field=name, code="invalid")]
        return value, []
    if name == "product":
        problem = _row_problem(value, Product, name)
        if problem is None and value is not None and value.is_bundle:
            problem = ErrorDetail(
                _("%(sku)s is a bundle; bundles are not bought: set the policy on its components.")
                % {"sku": value.sku},
                field=name,
                code="bundle",
            )
        return value, [problem] if problem else []
    if name in ("warehouse", "replenish_from"):
        problem = _row_problem(value, Warehouse, name)
        return value, [problem] if problem else []
    raise AssertionError(f"no rule for {name}")  # POLICY_FIELDS and the rules above list the same fields


def reorder_policy_check(*, policy: ReorderPolicy, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` cleaned (names trimmed, windows sorted by length with their weights as text) for ``policy``
    (unsaved for a new one), or ValidationFailed listing every problem by field. Writes nothing, so the admin's form
    shows the same words on its fields before anything is saved. Rules across fields read the fields not given
    from ``policy``."""
    _unknown_fields(fields, POLICY_FIELDS)
    cleaned: dict[str, Any] = {}
    problems: list[ErrorDetail] = []
    for name in sorted(fields, key=_field_order):
        value, found = _policy_field_problems(name, fields[name])
        problems += found
        if not found:
            cleaned[name] = value
    problem = _replenish_problem(policy, fields)
    if problem is not None and not any(detail.field in ("warehouse", "replenish_from") for detail in problems):
        problems.append(problem)
    if problems:
        raise ValidationFailed.listing(_("The reorder policy is invalid"), problems)
    return cleaned


@cache
def _field_positions() -> dict[str, int]:
    return {field.name: index for index, field in enumerate(ReorderPolicy._meta.get_fields())}


def _field_order(name: str) -> int:
    """Problems are listed in the order of the form's fields."""
    return _field_positions().get(name, len(_field_positions()))


def _replenish_problem(policy: ReorderPolicy, fields: Mapping[str, Any]) -> ErrorDetail | None:
    def id_of(name: str) -> int | None:
        if name in fields:
            value = fields[name]
            return value.pk if isinstance(value, Warehouse) else None
        return getattr(policy, f"{name}_id")

    source_id, warehouse_id = id_of("replenish_from"), id_of("warehouse")
    if source_id is None:
        return None
    if warehouse_id is None:
        return ErrorDetail(
            _("Only a warehouse's policy can say where the warehouse is replenished from: choose the warehouse too."),
            field="replenish_from",
            code="needs_warehouse",
        )
    if source_id == warehouse_id:
        return ErrorDetail(
            _("A warehouse cannot be replenished from itself."), field="replenish_from", code="from_itself"
        )
    return None


def policy_scope_text(*, product: Product | None, warehouse: Warehouse | None) -> str:
    """What a policy covers, as a person reads it: "SKU-1 in CN1", "every product in CN1", "every product"."""
    if product is None and warehouse is None:
        return _("every product in every warehouse")
    if warehouse is None:
        return _("%(sku)s in every warehouse") % {"sku": product.sku}
    if product is None:
        return _("every product in %(warehouse)s") % {"warehouse": warehouse.code}
    return _("%(sku)s in %(warehouse)s") % {"sku": product.sku, "warehouse": warehouse.code}


def reorder_policy_scope_check(
    *, product: Product | None, warehouse: Warehouse | None, policy: ReorderPolicy | None = None
) -> None:
    """Conflict naming the policy that already covers (product, warehouse), other than ``policy`` itself."""
    others = ReorderPolicy.objects.filter(product=product, warehouse=warehouse).select_related("product", "warehouse")
    if policy is not None and policy.pk is not None:
        others = others.exclude(pk=policy.pk)
    holder = others.first()
    if holder is not None:
        raise _scope_taken(holder)


def _scope_taken(holder: ReorderPolicy) -> Conflict:
    scope = policy_scope_text(product=holder.product, warehouse=holder.warehouse)
    message = _("Reorder policy %(name)s (id %(id)s) already covers %(scope)s; change that one instead.") % {
        "name": holder.name,
        "id": holder.pk,
        "scope": scope,
    }
    field = "product" if holder.product_id is not None else "warehouse" if holder.warehouse_id is not None else None
    return Conflict(
        message,
        code="policy_scope_taken",
        errors=[ErrorDetail(message, field=field, code="unique")],
        policy=holder.pk,
    )


def _policy_save(policy: ReorderPolicy, fields: Mapping[str, Any]) -> ReorderPolicy:
    cleaned = reorder_policy_check(policy=policy, fields=fields)
    for name, value in cleaned.items():
        setattr(policy, name, value)
    with transaction.atomic():
        reorder_policy_scope_check(product=policy.product, warehouse=policy.warehouse, policy=policy)
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
            if constraint == SCOPE_CONSTRAINT:  # another writer took the scope since the check
                holder = ReorderPolicy.objects.filter(product=policy.product, warehouse=policy.warehouse).first()
                if holder is not None:
                    raise _scope_taken(holder) from exc
            raise Conflict(
                _("The reorder policy was refused by the database (%(reason)s); another change came first, try again.")
                % {"reason": constraint or exc},
                constraint=constraint,
            ) from exc
    return policy


@transaction.atomic
def reorder_policy_create(
    *,
    name: str,
    product: Product | None = None,
    warehouse: Warehouse | None = None,
    windows: list[dict] | None = None,
    leave_out_stockout_days: bool = True,
    leave_out_promotion_days: bool = True,
    day_cap_multiple: Decimal | None = None,
    safety_days: int = 7,
    review_period_days: int = 7,
    production_days: int = 7,
    qc_days: int = 1,
    transit_mode: str = ReorderPolicy.TransitMode.LOCAL,
    transit_days: int = 2,
    minimum_order_quantity: int | None = None,
    case_pack: int | None = None,
    replenish_from: Warehouse | None = None,
    is_active: bool = True,
) -> ReorderPolicy:
    """A policy for one scope: none (the global one), a warehouse, a product, or a product in a warehouse; the
    most specific active one applies. ``windows`` default to 7, 14 and 30 days at 0.5, 0.3 and 0.2."""
    fields = {
        "name": name,
        "product": product,
        "warehouse": warehouse,
        "windows": ReorderPolicy._meta.get_field("windows").get_default() if windows is None else windows,
        "leave_out_stockout_days": leave_out_stockout_days,
        "leave_out_promotion_days": leave_out_promotion_days,
        "day_cap_multiple": day_cap_multiple,
        "safety_days": safety_days,
        "review_period_days": review_period_days,
        "production_days": production_days,
        "qc_days": qc_days,
        "transit_mode": transit_mode,
        "transit_days": transit_days,
        "minimum_order_quantity": minimum_order_quantity,
        "case_pack": case_pack,
        "replenish_from": replenish_from,
        "is_active": is_active,
    }
    return _policy_save(ReorderPolicy(), fields)


@transaction.atomic
def reorder_policy_update(*, policy: ReorderPolicy, **fields: Any) -> ReorderPolicy:
    """Change the fields given (any of POLICY_FIELDS), under the same rules as reorder_policy_create."""
    return _policy_save(policy, fields)


def reorder_policy_global() -> ReorderPolicy:
    """The global policy (no product, no warehouse), made with the model's defaults, named "Default", when there is
    none yet. The scope's unique constraint makes two callers at once get the same row."""
    policy, _created = ReorderPolicy.objects.get_or_create(
        product=None, warehouse=None, defaults={"name": GLOBAL_POLICY_NAME}
    )
    return policy


def reorder_policy_delete(*, policy: ReorderPolicy) -> None:
    """Delete an override; the global policy stays (it is what every product falls back to: change it instead)."""
    if policy.product_id is None and policy.warehouse_id is None:
        raise Conflict(
            _("%(name)s is the global reorder policy, which every product falls back to; change it instead.")
            % {"name": policy.name},
            code="global_policy",
            policy=policy.pk,
        )
    policy.delete()


# --- Promotions -------------------------------------------------------------------------------------------------


def promotion_check(*, promotion: Promotion, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` cleaned for ``promotion``, or ValidationFailed naming each problem (the end before the start is
    named on ``ends_on``). Writes nothing."""
    _unknown_fields(fields, PROMOTION_FIELDS)
    cleaned: dict[str, Any] = {}
    problems: list[ErrorDetail] = []
    if "name" in fields:
        problem = _name_problem(fields["name"], Promotion._meta.get_field("name").max_length)
        if problem is None:
            cleaned["name"] = fields["name"].strip()
        else:
            problems.append(problem)
    if "product" in fields:
        problem = _row_problem(fields["product"], Product, "product")
        if problem is None:
            cleaned["product"] = fields["product"]
        else:
            problems.append(problem)
    for name in ("starts_on", "ends_on"):
        if name not in fields:
            continue
        value = fields[name]
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            problems.append(ErrorDetail(_("Must be a date."), field=name, code="invalid"))
        else:
            cleaned[name] = value
    starts_on = cleaned.get("starts_on", promotion.starts_on if "starts_on" not in fields else None)
    ends_on = cleaned.get("ends_on", promotion.ends_on if "ends_on" not in fields else None)
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        problems.append(
            ErrorDetail(
                _("Ends on %(ends_on)s, before it starts (%(starts_on)s).")
                % {"ends_on": ends_on.isoformat(), "starts_on": starts_on.isoformat()},
                field="ends_on",
                code="ends_before_start",
            )
        )
    if problems:
        raise ValidationFailed.listing(_("The promotion is invalid"), problems)
    return cleaned


@transaction.atomic
def promotion_create(*, name: str, starts_on: dt.date, ends_on: dt.date, product: Product | None = None) -> Promotion:
    """Days of a promotion, of one product or (without one) of every product; their sales are left out of the
    sales windows where the policy says so."""
    promotion = Promotion()
    fields = {"name": name, "product": product, "starts_on": starts_on, "ends_on": ends_on}
    for field, value in promotion_check(promotion=promotion, fields=fields).items():
        setattr(promotion, field, value)
    promotion.save()
    return promotion


@transaction.atomic
def promotion_update(*, promotion: Promotion, **fields: Any) -> Promotion:
    """Change the fields given (any of PROMOTION_FIELDS)."""
    for field, value in promotion_check(promotion=promotion, fields=fields).items():
        setattr(promotion, field, value)
    promotion.save()
    return promotion


def promotion_delete(*, promotion: Promotion) -> None:
    promotion.delete()


# --- A buyer's steps on suggestions -----------------------------------------------------------------------------


@transaction.atomic
def suggestion_dismiss(*, suggestion: Suggestion) -> Suggestion:
    """Set an open suggestion aside (the buyer will not order it). The next recompute opens it again only if its
    quantity changes. Dismissing twice changes nothing; an ordered one is refused, its order says what happens."""
    locked = (
        Suggestion.objects.select_for_update(of=("self",), no_key=True)
        .select_related("product", "warehouse")
        .get(pk=suggestion.pk)
    )
    if locked.status == Suggestion.Status.ORDERED:
        raise Conflict(
            _("The suggestion for %(sku)s in %(warehouse)s is already ordered; cancel its order instead.")
            % {"sku": locked.product.sku, "warehouse": locked.warehouse.code},
            code="suggestion_ordered",
            suggestion=locked.pk,
        )
    if locked.status != Suggestion.Status.DISMISSED:
        locked.status = Suggestion.Status.DISMISSED
        locked.save(update_fields=["status"])
    return locked


def suggestions_compute_queue(*, warehouse: Warehouse | None = None) -> str:
    """Queue a recompute of the suggestions (of ``warehouse``, or of every warehouse) for a worker, sent once the
    caller's transaction commits (through the outbox, so a broker that is down loses nothing); returns the id the task
    will run under, so the caller can follow it."""
    from purchasing.tasks import suggestions_compute_task

    warehouse_ids = None if warehouse is None else [warehouse.pk]
    return str(task_enqueue(suggestions_compute_task, warehouse_ids=warehouse_ids).task_id)
