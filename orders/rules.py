"""Allocation rules as data: conditions and actions checked against a fixed vocabulary (no code, no ``eval``),
and their evaluation against orders with the trail of which rule decided what.

A rule: ``match`` ``all`` or ``any`` of its ``conditions`` (none: every order), then its ``actions`` in order.
Rules run by priority (lowest first). The first rule to set the warehouse sets it, and likewise the shipping
method; holds and tags add up; a rule with ``stop`` ends the run for that order when it matches.

Conditions, each ``{"field", "op", "value"}``:

=====================  ===========================================  =========================================
field                  ops                                           value
=====================  ===========================================  =========================================
store                  in, not_in                                    store ids
channel                in, not_in                                    amazon, ebay, aliexpress, wish, shopify, manual
country                in, not_in                                    ISO codes
region                 in, not_in                                    state or region texts (case ignored)
postcode               starts_with, not_starts_with                  prefixes
order_total            gt, gte, lt, lte, eq                          an amount (the order's currency)
line_count             gt, gte, lt, lte, eq                          a whole number
total_weight_g         gt, gte, lt, lte, eq                          grams (products' weights × quantities)
sku                    any_of, all_of, none_of                       product SKUs
has_battery            is                                            true or false
has_liquid             is                                            true or false
requested_service      in, not_in, contains                          texts (case ignored)
buyer                  in, not_in, contains                          names or e-mails (case ignored)
tag                    any_of, none_of                               tags
address_ok             is                                            true or false (``orders.checks``)
blacklisted            is                                            true or false (the blacklist)
country_mismatch       is                                            true or false: the buyer's billing country
                                                                     (when the store gives it) is not the
                                                                     country shipped to
buyer_orders           gt, gte, lt, lte, eq                          the buyer's earlier orders (by e-mail)
=====================  ===========================================  =========================================

Actions, each ``{"type", ...}``: ``set_warehouse`` (``warehouse``: a code), ``set_method`` (``method``: a code),
``cheapest_method`` / ``fastest_method`` (``methods``: codes to choose from, eligible for the parcel), ``hold``
(``reason``), ``add_tag`` (``tag``), ``merge`` (no value: merge the order with the buyer's other orders to the same
address that are not picked yet, into one parcel, before allocating).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import ErrorDetail, ValidationFailed
from core.phrases import Phrase

COMPARE = ("gt", "gte", "lt", "lte", "eq")
CHANNELS = ("amazon", "ebay", "aliexpress", "wish", "shopify", "manual")
MAX_VALUES = 500

# field → (ops, kind of value)
FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "store": (("in", "not_in"), "ids"),
    "channel": (("in", "not_in"), "channels"),
    "country": (("in", "not_in"), "countries"),
    "region": (("in", "not_in"), "texts"),
    "postcode": (("starts_with", "not_starts_with"), "texts"),
    "order_total": (COMPARE, "amount"),
    "line_count": (COMPARE, "count"),
    "total_weight_g": (COMPARE, "count"),
    "sku": (("any_of", "all_of", "none_of"), "texts"),
    "has_battery": (("is",), "flag"),
    "has_liquid": (("is",), "flag"),
    "requested_service": (("in", "not_in", "contains"), "texts"),
    "buyer": (("in", "not_in", "contains"), "texts"),
    "tag": (("any_of", "none_of"), "texts"),
    "address_ok": (("is",), "flag"),
    "blacklisted": (("is",), "flag"),
    "country_mismatch": (("is",), "flag"),
    "buyer_orders": (COMPARE, "count"),
}
ACTIONS: dict[str, tuple[str, str]] = {
    "set_warehouse": ("warehouse", "code"),
    "set_method": ("method", "code"),
    "cheapest_method": ("methods", "codes"),
    "fastest_method": ("methods", "codes"),
    "hold": ("reason", "text"),
    "add_tag": ("tag", "text"),
    "merge": ("", "none"),
}


def _texts(value: Any, where: str, errors: list[ErrorDetail], *, upper: bool = False) -> list[str] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or len(value) > MAX_VALUES:
        errors.append(ErrorDetail(_("Must be a list of 1 to %(most)s texts.") % {"most": MAX_VALUES}, field=where))
        return None
    texts = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > 255:
            errors.append(ErrorDetail(_("Must be a list of 1 to %(most)s texts.") % {"most": MAX_VALUES}, field=where))
            return None
        texts.append(item.strip().upper() if upper else item.strip())
    return texts


def _condition_checked(condition: Any, where: str, errors: list[ErrorDetail]) -> dict[str, Any] | None:
    if not isinstance(condition, Mapping):
        errors.append(ErrorDetail(_("Must be an object with field, op and value."), field=where))
        return None
    name, op, value = condition.get("field"), condition.get("op"), condition.get("value")
    unknown = sorted(set(condition) - {"field", "op", "value"})
    if unknown:
        errors.append(ErrorDetail(_("Unknown key %(key)s.") % {"key": unknown[0]}, field=f"{where}.{unknown[0]}"))
    if name not in FIELDS:
        errors.append(
            ErrorDetail(
                _("Unknown field %(field)s (one of: %(choices)s).")
                % {"field": repr(name), "choices": ", ".join(FIELDS)},
                field=f"{where}.field",
            )
        )
        return None
    ops, kind = FIELDS[name]
    if op not in ops:
        errors.append(
            ErrorDetail(
                _("%(op)s is not an operator of %(field)s (one of: %(choices)s).")
                % {"op": repr(op), "field": name, "choices": ", ".join(ops)},
                field=f"{where}.op",
            )
        )
        return None
    at = f"{where}.value"
    checked: Any
    if kind == "ids":
        ok = isinstance(value, list) and value and all(isinstance(i, int) and not isinstance(i, bool) for i in value)
        checked = value if ok else None
        if not ok:
            errors.append(ErrorDetail(_("Must be a list of ids."), field=at))
    elif kind == "channels":
        checked = _texts(value, at, errors)
        bad = [item for item in checked or [] if item.lower() not in CHANNELS]
        if bad:
            errors.append(
                ErrorDetail(
                    _("%(value)s is not a channel (one of: %(choices)s).")
                    % {"value": bad[0], "choices": ", ".join(CHANNELS)},
                    field=at,
                )
            )
        checked = [item.lower() for item in checked] if checked and not bad else None
    elif kind == "countries":
        from core.codes import COUNTRY_CODES

        checked = _texts(value, at, errors, upper=True)
        bad = [item for item in checked or [] if item not in COUNTRY_CODES]
        if bad:
            errors.append(ErrorDetail(_("%(value)s is not a country code.") % {"value": bad[0]}, field=at))
            checked = None
    elif kind == "texts":
        checked = _texts(value, at, errors, upper=name in ("sku", "postcode"))
    elif kind == "amount":
        try:
            checked = Decimal(str(value)) if not isinstance(value, bool | list | dict) and value is not None else None
        except InvalidOperation:
            checked = None
        if checked is None or not checked.is_finite():
            errors.append(ErrorDetail(_("Must be an amount, such as 100 or 99.50."), field=at))
            checked = None
    elif kind == "count":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**9
        checked = value if ok else None
        if not ok:
            errors.append(ErrorDetail(_("Must be a whole number."), field=at))
    else:  # flag
        checked = value if isinstance(value, bool) else None
        if checked is None:
            errors.append(ErrorDetail(_("Must be true or false."), field=at))
    if checked is None:
        return None
    return {"field": name, "op": op, "value": str(checked) if kind == "amount" else checked}


def _action_checked(action: Any, where: str, errors: list[ErrorDetail]) -> dict[str, Any] | None:
    if not isinstance(action, Mapping):
        errors.append(ErrorDetail(_("Must be an object with a type."), field=where))
        return None
    kind = action.get("type")
    if kind not in ACTIONS:
        errors.append(
            ErrorDetail(
                _("Unknown action %(type)s (one of: %(choices)s).")
                % {"type": repr(kind), "choices": ", ".join(ACTIONS)},
                field=f"{where}.type",
            )
        )
        return None
    key, shape = ACTIONS[kind]
    unknown = sorted(set(action) - {"type", key})
    if unknown:
        errors.append(ErrorDetail(_("Unknown key %(key)s.") % {"key": unknown[0]}, field=f"{where}.{unknown[0]}"))
        return None
    if shape == "none":
        return {"type": kind}
    value = action.get(key)
    if shape == "codes":
        codes = _texts(value, f"{where}.{key}", errors, upper=True)
        return {"type": kind, key: codes} if codes else None
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        errors.append(ErrorDetail(_("Required: a text of at most 255 characters."), field=f"{where}.{key}"))
        return None
    text = value.strip().upper() if shape == "code" else value.strip()
    return {"type": kind, key: text}


def rule_checked(conditions: Any, actions: Any, match: Any = "all") -> tuple[list[dict], list[dict]]:
    """The rule's conditions and actions as stored, or ValidationFailed naming every problem by its place
    (``conditions[1].op``). Codes of warehouses and methods are checked to exist."""
    errors: list[ErrorDetail] = []
    if match not in ("all", "any"):
        errors.append(ErrorDetail(_("Must be all or any."), field="match"))
    if not isinstance(conditions, list) or len(conditions) > 50:
        errors.append(ErrorDetail(_("Must be a list of at most 50 conditions."), field="conditions"))
        conditions = []
    if not isinstance(actions, list) or not actions or len(actions) > 20:
        errors.append(ErrorDetail(_("A rule needs 1 to 20 actions."), field="actions"))
        actions = [] if not isinstance(actions, list) else actions[:20]
    checked_conditions = [_condition_checked(item, f"conditions[{i}]", errors) for i, item in enumerate(conditions)]
    checked_actions = [_action_checked(item, f"actions[{i}]", errors) for i, item in enumerate(actions)]
    _codes_exist(checked_actions, errors)
    if errors:
        raise ValidationFailed.listing(_("Rule"), errors)
    return [c for c in checked_conditions if c], [a for a in checked_actions if a]


def _codes_exist(actions: Sequence[dict | None], errors: list[ErrorDetail]) -> None:
    from inventory.models import Warehouse
    from logistics.models import ShippingMethod

    warehouses = set(Warehouse.objects.values_list("code", flat=True))
    methods = set(ShippingMethod.objects.values_list("code", flat=True))
    for index, action in enumerate(actions):
        if not action:
            continue
        if action["type"] == "set_warehouse" and action["warehouse"] not in warehouses:
            errors.append(
                ErrorDetail(
                    _("No warehouse has code %(code)s.") % {"code": action["warehouse"]},
                    field=f"actions[{index}].warehouse",
                )
            )
        codes = [action["method"]] if action["type"] == "set_method" else action.get("methods") or []
        for code in codes:
            if code not in methods:
                errors.append(
                    ErrorDetail(_("No shipping method has code %(code)s.") % {"code": code}, field=f"actions[{index}]")
                )


# --- Evaluation -------------------------------------------------------------------------------------------------


@dataclass
class OrderFacts:
    """What the conditions read of an order, gathered once per batch."""

    order_id: int
    store_id: int
    channel: str
    country: str
    region: str
    postcode: str
    total: Decimal
    line_count: int
    total_weight_g: int
    skus: frozenset[str]
    has_battery: bool
    has_liquid: bool
    requested_service: str
    buyer: tuple[str, ...]
    tags: frozenset[str] = frozenset()
    address_problems: tuple[str, ...] = ()
    blacklisted: bool = False
    buyer_orders: int = 0
    country_mismatch: bool = False

    @property
    def address_ok(self) -> bool:
        return not self.address_problems


@dataclass
class Decision:
    warehouse: str | None = None
    method: str | None = None
    holds: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    merge: bool = False
    trail: list[dict[str, Any]] = field(default_factory=list)  # {"rule", "name", "action", "result"}


def _compare(left: Any, op: str, right: Any) -> bool:
    return {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
        "eq": left == right,
    }[op]


def condition_holds(facts: OrderFacts, condition: Mapping[str, Any]) -> bool:
    name, op, value = condition["field"], condition["op"], condition["value"]
    if name in ("order_total", "line_count", "total_weight_g", "buyer_orders"):
        actual = facts.total if name == "order_total" else getattr(facts, name)
        return _compare(actual, op, Decimal(value) if name == "order_total" else value)
    if name in ("has_battery", "has_liquid", "address_ok", "blacklisted", "country_mismatch"):
        return getattr(facts, name) is value
    if name == "postcode":
        code = facts.postcode.replace(" ", "").upper()
        starts = any(code.startswith(prefix.replace(" ", "")) for prefix in value)
        return starts if op == "starts_with" else not starts
    if name in ("sku", "tag"):
        have = facts.skus if name == "sku" else facts.tags
        wanted = set(value)
        if op == "any_of":
            return bool(have & wanted)
        if op == "all_of":
            return wanted <= have
        return not (have & wanted)
    actual: Any = {
        "store": facts.store_id,
        "channel": facts.channel,
        "country": facts.country.upper(),
        "region": facts.region.casefold(),
        "requested_service": facts.requested_service.casefold(),
        "buyer": tuple(text.casefold() for text in facts.buyer),
    }[name]
    if name in ("region", "requested_service"):
        value = [item.casefold() for item in value]
    if name == "buyer":
        value = [item.casefold() for item in value]
        if op == "contains":
            return any(item in text for text in actual for item in value)
        found = any(text in value for text in actual if text)
        return found if op == "in" else not found
    if op == "contains":
        return any(item in actual for item in value)
    return (actual in value) if op == "in" else (actual not in value)


def rule_matches(facts: OrderFacts, match: str, conditions: Iterable[Mapping[str, Any]]) -> bool:
    results = (condition_holds(facts, condition) for condition in conditions)
    return all(results) if match == "all" else any(results) if conditions else True


def _method_pick(kind: str, codes: list[str], quotes: list[Any]) -> Any:
    """The eligible quote ``cheapest_method``/``fastest_method`` takes among ``codes`` (fastest: fewest transit
    days at most, then cheapest)."""
    eligible = [quote for quote in quotes if quote.eligible and quote.method.code in codes]
    if not eligible:
        return None
    if kind == "cheapest_method":
        return min(eligible, key=lambda quote: (quote.total, quote.method.code))
    slowest = 10**6
    return min(
        eligible,
        key=lambda quote: (quote.method.transit_days_max or slowest, quote.total, quote.method.code),
    )


def _apply(decision: Decision, action: Mapping[str, Any], quotes_of, rule_name: str) -> str:
    kind = action["type"]
    if kind in ("set_warehouse",):
        if decision.warehouse is not None:
            return Phrase(gettext_noop("Warehouse already chosen (%(code)s)."), code=decision.warehouse)
        decision.warehouse = action["warehouse"]
        return Phrase(gettext_noop("Warehouse %(code)s."), code=decision.warehouse)
    if kind in ("set_method", "cheapest_method", "fastest_method"):
        if decision.method is not None:
            return Phrase(gettext_noop("Shipping method already chosen (%(code)s)."), code=decision.method)
        if kind == "set_method":
            decision.method = action["method"]
            return Phrase(gettext_noop("Shipping method %(code)s."), code=decision.method)
        quotes = quotes_of() if quotes_of is not None else []
        picked = _method_pick(kind, action["methods"], quotes)
        if picked is None:
            return Phrase(gettext_noop("None of %(codes)s can take this parcel."), codes=", ".join(action["methods"]))
        decision.method = picked.method.code
        if kind == "cheapest_method":
            return Phrase(
                gettext_noop("Cheapest of %(codes)s: %(code)s at %(total)s %(currency)s."),
                codes=", ".join(action["methods"]),
                code=picked.method.code,
                total=str(picked.total),
                currency=picked.currency,
            )
        return Phrase(
            gettext_noop("Fastest of %(codes)s: %(code)s (%(days)s days at most)."),
            codes=", ".join(action["methods"]),
            code=picked.method.code,
            days=picked.method.transit_days_max if picked.method.transit_days_max is not None else "?",
        )
    if kind == "merge":
        decision.merge = True
        return Phrase(gettext_noop("Merged with the buyer's other orders to the same address, when there are any."))
    if kind == "hold":
        decision.holds.append(action["reason"])
        return Phrase(gettext_noop("Held: %(reason)s"), reason=action["reason"])
    if action["tag"] not in decision.tags:
        decision.tags.append(action["tag"])
    return Phrase(gettext_noop("Tagged %(tag)s."), tag=action["tag"])


def decide(facts: OrderFacts, rules: Iterable[Any], quotes_of=None) -> Decision:
    """Run ``rules`` (objects with ``pk``, ``name``, ``match``, ``conditions``, ``actions``, ``stop``, in priority
    order) on one order. ``quotes_of()`` gives the order's quotes, asked for only by a cheapest or fastest action.
    The trail names, for each action of each matching rule, what it did."""
    decision = Decision()
    had = facts.tags
    for rule in rules:
        facts.tags = had | frozenset(decision.tags)  # a tag condition reads the tags earlier rules gave too
        if not rule_matches(facts, rule.match, rule.conditions):
            continue
        for action in rule.actions:
            result = _apply(decision, action, quotes_of, rule.name)
            decision.trail.append({"rule": rule.pk, "name": rule.name, "action": action["type"], "result": result})
        if rule.stop:
            break
    facts.tags = had
    return decision
