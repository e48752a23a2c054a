"""Every write to inventory master data: products, bundle components, warehouses and bins."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import product as cartesian_product
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from core.audit import audit_record_bulk, audit_record_created
from core.errors import Conflict, ErrorDetail, ValidationFailed, errors_from_django
from core.patterns import PatternError, pattern_compile
from inventory import product_rules
from inventory.models import Bin, BundleComponent, Product, Warehouse, normalize_code
from inventory.stock_services import bin_sellable_set

WAREHOUSE_FIELDS = (
    "code",
    "name",
    "kind",
    "country",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "contact_name",
    "phone",
    "priority",
    "bin_code_pattern",
    "is_active",
)
BIN_FIELDS = ("warehouse", "code", "zone", "kind", "is_sellable", "pick_sequence", "is_active")
# What bin_update saves itself: a bin keeps its warehouse, and its sellable flag changes only through the stock service.
BIN_UPDATE_FIELDS = ("code", "zone", "kind", "pick_sequence", "is_active")

# Codes are compared trimmed and upper-cased; the other text is only trimmed.
PRODUCT_CODE_FIELDS = ("sku", "origin_country", "declared_currency", "cost_currency")
WAREHOUSE_CODE_FIELDS = ("code", "country")
BIN_CODE_FIELDS = ("code", "zone")

BIN_GENERATE_LIMIT = 20_000
BIN_GENERATE_BATCH_SIZE = 2_000
# Enough to show what is wrong without sending back a 20,000-line error body.
MAX_LISTED_ERRORS = 100
ZONE_RE = re.compile(r"^[A-Z0-9]+$")
ZONE_MAX_LENGTH = 16

# Which field a database constraint is about, for the rare race that slips past the checks in Python.
CONSTRAINT_FIELDS = {
    "inventory_product_sku_key": "sku",
    "product_barcode_unique": "barcode",
    "inventory_warehouse_code_key": "code",
    "bin_code_unique_per_warehouse": "code",
    "bundle_component_unique": "components",
}


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers


def _normalized(data: Mapping[str, Any], *, allowed: Iterable[str], code_fields: Iterable[str]) -> dict[str, Any]:
    """Only the known fields; codes trimmed and upper-cased, other text trimmed."""
    allowed = set(allowed)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed.listing(
            _("Unknown fields"),
            [
                ErrorDetail(
                    message=_("%(name)s is not a field that can be set.") % {"name": name},
                    code="unknown_field",
                    field=name,
                )
                for name in unknown
            ],
        )
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name in code_fields and (value is None or isinstance(value, str)):
            value = normalize_code(value)
        elif isinstance(value, str):
            value = value.strip()
        cleaned[name] = value
    return cleaned


def _full_clean(instance: models.Model, *, subject: str, extra: list[ErrorDetail] | None = None) -> None:
    """Run the model's validators; report them, with ``extra`` problems found by the service, as one error.

    Constraints are left to the database (and to the explicit checks of each service), because Django reports
    conditional and multi-column unique constraints without naming a field.
    """
    errors = list(extra or [])
    try:
        instance.full_clean(validate_constraints=False)
    except DjangoValidationError as exc:
        errors = errors_from_django(exc) + errors
    if errors:
        raise ValidationFailed.listing(subject, errors)


def _save(instance: models.Model, *, subject: str, **kwargs: Any) -> None:
    """Save; a unique constraint lost to a concurrent writer becomes a field-named error, not a 500."""
    try:
        with transaction.atomic():
            instance.save(**kwargs)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        field = CONSTRAINT_FIELDS.get(constraint or "")
        raise ValidationFailed.listing(
            subject,
            [
                ErrorDetail(
                    message=_("Rejected by the database (%(reason)s).") % {"reason": constraint or exc},
                    code="conflict",
                    field=field,
                )
            ],
        ) from exc


def _delete(instance: models.Model, *, subject: str) -> None:
    try:
        with transaction.atomic():
            instance.delete()
    except (models.ProtectedError, models.RestrictedError) as exc:
        blockers = list(exc.protected_objects if isinstance(exc, models.ProtectedError) else exc.restricted_objects)
        counts = Counter(blocker._meta for blocker in blockers)
        parts = ", ".join(
            _("%(count)s %(name)s")
            % {"count": count, "name": meta.verbose_name if count == 1 else meta.verbose_name_plural}
            for meta, count in sorted(counts.items(), key=lambda item: item[0].label)
        )
        raise Conflict(
            _(
                "%(subject)s cannot be deleted: it is still referred to by %(parts)s. "
                "Deactivate it instead (is_active = false)."
            )
            % {"subject": subject, "parts": parts},
            code="protected",
        ) from exc


# ---------------------------------------------------------------------------------------------------------------
# Products and bundles


def _product_save(*, product: Product, data: Mapping[str, Any], components_given: bool) -> None:
    """Judge ``data`` by the product rules, apply it to ``product`` and save; one error lists every problem."""
    values, errors = product_rules.product_values(data)
    for name, value in values.items():
        setattr(product, name, value)
    # A field whose value was refused is not judged again by the rules across rows (it holds its old value).
    refused = {error.field for error in errors}
    errors += product_rules.product_problems(product, components_given=components_given, skip_fields=refused)
    sku = product.sku if "sku" not in refused else str(data.get("sku", "")).strip().upper()
    subject = _("Product %(sku)s is invalid") % {"sku": sku or _("(no SKU)")}
    if errors:
        raise ValidationFailed.listing(subject, errors)
    _save(product, subject=subject)


@transaction.atomic
def product_create(*, data: Mapping[str, Any], components: list[tuple[Product, int]] | None = None) -> Product:
    """Create a product from field values (text or Python values, each judged by its converter in
    ``inventory.product_rules``); a bundle may get its components in the same transaction."""
    product = Product()
    _product_save(product=product, data=data, components_given=components is not None)
    if components is not None:
        bundle_components_set(bundle=product, components=components)
    return product


@transaction.atomic
def product_update(
    *, product: Product, data: Mapping[str, Any], components: list[tuple[Product, int]] | None = None
) -> Product:
    """Change the given fields of a product; ``components``, when given, replaces a bundle's components."""
    _product_save(product=product, data=data, components_given=components is not None)
    if components is not None:
        bundle_components_set(bundle=product, components=components)
    return product


@transaction.atomic
def bundle_components_set(*, bundle: Product, components: list[tuple[Product, int]]) -> list[BundleComponent]:
    """Replace what ``bundle`` is made of with ``components`` (product, quantity), in the given order.

    Errors name ``components[i].sku`` or ``components[i].quantity`` (0-based, like the API's list); an empty
    list removes every component.
    """
    errors = product_rules.component_problems(
        bundle=bundle,
        components=components,
        field_of=lambda index, part: f"components[{index}].{'sku' if part == 'component' else part}",
        position_of=lambda index: f"components[{index}]",
    )
    if errors:
        raise ValidationFailed.listing(_("Components of bundle %(sku)s are invalid") % {"sku": bundle.sku}, errors)

    BundleComponent.objects.filter(bundle=bundle).delete()
    lines = [
        BundleComponent(bundle=bundle, component=component, quantity=quantity) for component, quantity in components
    ]
    made = BundleComponent.objects.bulk_create(lines)
    audit_record_created(made)  # bulk_create sends no post_save: each line is recorded as a save would be
    return made


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Delete a product nothing refers to; a product with history or in a bundle must be deactivated instead."""
    _delete(product, subject=_("Product %(sku)s") % {"sku": product.sku})


# ---------------------------------------------------------------------------------------------------------------
# Warehouses


def _warehouse_checks(warehouse: Warehouse) -> list[ErrorDetail]:
    """A changed bin code scheme must still fit the bins the warehouse already has."""
    if warehouse.pk is None or not warehouse.bin_code_pattern:
        return []
    try:
        pattern = pattern_compile(warehouse.bin_code_pattern)
    except PatternError:
        return []  # Warehouse.clean reports the broken pattern.
    codes = Bin.objects.filter(warehouse=warehouse).order_by("code_sort").values_list("code", flat=True)
    misfits = [code for code in codes.iterator() if not pattern.fullmatch(code)]
    if not misfits:
        return []
    examples = ", ".join(misfits[:5])
    return [
        ErrorDetail(
            message=_(
                "%(count)s existing bins do not follow %(pattern)s (for example %(examples)s); rename them first or "
                "choose a scheme that fits them."
            )
            % {"count": len(misfits), "pattern": warehouse.bin_code_pattern, "examples": examples},
            code="bins_do_not_match",
            field="bin_code_pattern",
        )
    ]


@transaction.atomic
def warehouse_create(*, data: Mapping[str, Any]) -> Warehouse:
    values = _normalized(data, allowed=WAREHOUSE_FIELDS, code_fields=WAREHOUSE_CODE_FIELDS)
    warehouse = Warehouse(**values)
    subject = _("Warehouse %(code)s is invalid") % {"code": warehouse.code or _("(no code)")}
    _full_clean(warehouse, subject=subject)
    _save(warehouse, subject=subject)
    return warehouse


@transaction.atomic
def warehouse_update(*, warehouse: Warehouse, data: Mapping[str, Any]) -> Warehouse:
    values = _normalized(data, allowed=WAREHOUSE_FIELDS, code_fields=WAREHOUSE_CODE_FIELDS)
    for name, value in values.items():
        setattr(warehouse, name, value)
    subject = _("Warehouse %(code)s is invalid") % {"code": warehouse.code or _("(no code)")}
    _full_clean(warehouse, subject=subject, extra=_warehouse_checks(warehouse))
    _save(warehouse, subject=subject)
    return warehouse


@transaction.atomic
def warehouse_delete(*, warehouse: Warehouse) -> None:
    _delete(warehouse, subject=_("Warehouse %(code)s") % {"code": warehouse.code})


# ---------------------------------------------------------------------------------------------------------------
# Bins


def _bin_checks(bin: Bin) -> list[ErrorDetail]:
    if not bin.code or not bin.warehouse_id:
        return []
    taken = Bin.objects.filter(warehouse_id=bin.warehouse_id, code=bin.code).exclude(pk=bin.pk).exists()
    if not taken:
        return []
    return [
        ErrorDetail(
            message=_("Bin %(code)s already exists in warehouse %(warehouse)s.")
            % {"code": bin.code, "warehouse": bin.warehouse.code},
            code="unique",
            field="code",
        )
    ]


AREA_CODES = {Bin.Kind.RECEIVING: "RECEIVING", Bin.Kind.QUARANTINE: "QUARANTINE"}


def area_bin(warehouse_id: int, kind: str) -> Bin:
    """The warehouse's receiving (or quarantine) area: its first active bin of that kind, made on first use (not
    sellable, coded RECEIVING or QUARANTINE). Where the floor's receive page and a receipt put what comes in."""
    found = Bin.objects.filter(warehouse_id=warehouse_id, kind=kind, is_active=True).order_by("pk").first()
    if found is not None:
        return found
    code = AREA_CODES[kind]
    made, _created = Bin.objects.get_or_create(
        warehouse_id=warehouse_id, code=code, defaults={"kind": kind, "is_sellable": False, "zone": code}
    )
    return made


@transaction.atomic
def bin_create(*, data: Mapping[str, Any]) -> Bin:
    """Create one bin; ``data`` holds ``warehouse`` (a Warehouse) and the other model fields.

    Without ``is_sellable`` the kind decides (pick and bulk bins are sellable); without ``zone``, the part of the
    code before the first dash is the zone.
    """
    values = _normalized(data, allowed=BIN_FIELDS, code_fields=BIN_CODE_FIELDS)
    bin = Bin(**values)
    if "is_sellable" not in values:
        bin.is_sellable = bin.kind in Bin.SELLABLE_BY_DEFAULT
    subject = _("Bin %(code)s is invalid") % {"code": bin.code or _("(no code)")}
    _full_clean(bin, subject=subject, extra=_bin_checks(bin))
    _save(bin, subject=subject)
    return bin


@transaction.atomic
def bin_update(*, bin: Bin, data: Mapping[str, Any], user=None) -> Bin:
    """Change the given fields of a bin; a bin stays in its warehouse (its stock would not follow it).

    A change of ``is_sellable`` goes through ``bin_sellable_set``, which keeps the balances' sellable figures
    true, records who changed it (``user``), and refuses when reserved stock would lose its cover (StockRuleBroken).
    """
    values = _normalized(data, allowed=BIN_FIELDS, code_fields=BIN_CODE_FIELDS)
    subject = _("Bin %(code)s is invalid") % {"code": bin.code}
    new_warehouse = values.pop("warehouse", None)
    if new_warehouse is not None and new_warehouse.pk != bin.warehouse_id:
        raise ValidationFailed.listing(
            subject,
            [
                ErrorDetail(
                    message=_("Bin %(code)s cannot move to another warehouse; create a bin there instead.")
                    % {"code": bin.code},
                    code="read_only",
                    field="warehouse",
                )
            ],
        )
    if "code" in values and "zone" not in values and values["code"] != bin.code:
        values["zone"] = ""  # derived again from the new code by Bin.clean
    # Whether a bin is sellable decides the balances' sellable figures, so only the stock service changes it.
    is_sellable = values.pop("is_sellable", None)
    for name, value in values.items():
        setattr(bin, name, value)
    _full_clean(bin, subject=subject, extra=_bin_checks(bin))
    # The flag is never saved from the instance: a form or an import may have set it on the instance already,
    # and only bin_sellable_set, comparing with the stored flag under the bin's lock, may change it.
    _save(bin, subject=subject, update_fields=[*BIN_UPDATE_FIELDS, "updated_at"])
    if is_sellable is not None:
        bin.is_sellable = bin_sellable_set(bin=bin, is_sellable=is_sellable, user=user).is_sellable
    return bin


@transaction.atomic
def bin_delete(*, bin: Bin) -> None:
    _delete(bin, subject=_("Bin %(code)s") % {"code": bin.code})


def _range_errors(name: str, bounds: tuple[int, int], *, width: int) -> list[ErrorDetail]:
    """Problems of one range of bin_generate; ``name`` is the argument's name (aisles, racks, levels)."""
    try:
        first, last = bounds
    except (TypeError, ValueError):
        return [
            ErrorDetail(
                message=_("%(name)s must be a pair (first, last).") % {"name": name}, code="invalid", field=name
            )
        ]
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (first, last)):
        return [ErrorDetail(message=_("%(name)s must be whole numbers.") % {"name": name}, code="invalid", field=name)]
    if first < 0:
        return [
            ErrorDetail(
                message=_("%(name)s cannot start below 0 (got %(first)s).") % {"name": name, "first": first},
                code="min_value",
                field=name,
            )
        ]
    if first > last:
        return [
            ErrorDetail(
                message=_("%(name)s range %(first)s–%(last)s is empty: first must not be greater than last.")
                % {"name": name, "first": first, "last": last},
                code="empty_range",
                field=name,
            )
        ]
    if width and last >= 10**width:
        return [
            ErrorDetail(
                message=_("%(name)s up to %(last)s do not fit in %(width)s digits; raise width or narrow the range.")
                % {"name": name, "last": last, "width": width},
                code="too_wide",
                field=name,
            )
        ]
    return []


def bin_generate_codes(
    *, zones: list[str], aisles: tuple[int, int], racks: tuple[int, int], levels: tuple[int, int], width: int = 2
) -> list[str]:
    """Codes ZONE-AISLE-RACK-LEVEL in walking order: zone by zone, aisle by aisle, snaking along the racks.

    Racks ascend in odd-numbered aisles and descend in even-numbered ones, so a picker leaving an aisle at its
    far end enters the next one there; levels ascend within a rack. Parity follows the aisle number, not its
    position in the block, so blocks generated separately join into one snake. Ranges are inclusive.
    """
    rack_numbers = list(range(racks[0], racks[1] + 1))
    codes = []
    for zone in zones:
        for aisle in range(aisles[0], aisles[1] + 1):
            walk = rack_numbers if aisle % 2 == 1 else list(reversed(rack_numbers))
            for rack, level in cartesian_product(walk, range(levels[0], levels[1] + 1)):
                codes.append(f"{zone}-{aisle:0{width}d}-{rack:0{width}d}-{level:0{width}d}")
    return codes


@transaction.atomic
def bin_generate(
    *,
    warehouse: Warehouse,
    zones: list[str],
    aisles: tuple[int, int],
    racks: tuple[int, int],
    levels: tuple[int, int],
    kind: str,
    width: int = 2,
    is_sellable: bool | None = None,
    skip_existing: bool = False,
) -> list[Bin]:
    """Create a block of bins zones × aisles × racks × levels (inclusive ranges), numbered along a snake path.

    All or nothing: codes that exist already are errors unless ``skip_existing`` (then they are left as they
    are and take no sequence number). Pick sequence continues after the warehouse's highest one. Returns the
    created bins in walking order.
    """
    subject = _("Cannot generate bins in warehouse %(code)s") % {"code": warehouse.code}
    zones = [normalize_code(zone) for zone in zones]
    errors: list[ErrorDetail] = []
    if not zones:
        errors.append(ErrorDetail(message=_("Give at least one zone."), code="required", field="zones"))
    for index, zone in enumerate(zones):
        if not ZONE_RE.match(zone) or len(zone) > ZONE_MAX_LENGTH:
            errors.append(
                ErrorDetail(
                    message=_("Zone %(zone)s must be 1 to %(max_length)s letters and digits.")
                    % {"zone": repr(zone), "max_length": ZONE_MAX_LENGTH},
                    code="invalid",
                    field=f"zones[{index}]",
                )
            )
        elif zone in zones[:index]:
            errors.append(
                ErrorDetail(
                    message=_("Zone %(zone)s is listed twice.") % {"zone": zone},
                    code="duplicate",
                    field=f"zones[{index}]",
                )
            )
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 4:
        errors.append(ErrorDetail(message=_("width must be 1 to 4 digits."), code="invalid", field="width"))
        width = 0
    for name, bounds in (("aisles", aisles), ("racks", racks), ("levels", levels)):
        errors.extend(_range_errors(name, bounds, width=width))
    if kind not in Bin.Kind.values:
        errors.append(
            ErrorDetail(
                message=_("%(kind)s is not a bin kind; choose one of %(kinds)s.")
                % {"kind": repr(kind), "kinds": ", ".join(Bin.Kind.values)},
                code="invalid_choice",
                field="kind",
            )
        )
    if errors:
        raise ValidationFailed.listing(subject, errors)

    count = len(zones) * (aisles[1] - aisles[0] + 1) * (racks[1] - racks[0] + 1) * (levels[1] - levels[0] + 1)
    if count > BIN_GENERATE_LIMIT:
        raise ValidationFailed.listing(
            subject,
            [
                ErrorDetail(
                    message=_("This would make %(count)s bins; at most %(limit)s can be generated at once.")
                    % {"count": count, "limit": BIN_GENERATE_LIMIT},
                    code="too_many_bins",
                )
            ],
        )

    # The row lock makes concurrent generators in one warehouse take turns, so sequences do not overlap; the
    # scheme is read from the locked row so a concurrent change of it cannot slip in between.
    locked = Warehouse.objects.select_for_update().get(pk=warehouse.pk)
    scheme = locked.bin_code_pattern
    codes = bin_generate_codes(zones=zones, aisles=aisles, racks=racks, levels=levels, width=width)
    pattern = pattern_compile(scheme) if scheme else None
    misfits = [code for code in codes if not pattern.fullmatch(code)] if pattern else []
    if misfits:
        raise ValidationFailed.listing(
            subject,
            [
                ErrorDetail(
                    message=_(
                        "%(count)s of %(total)s codes, such as %(example)s, do not follow warehouse %(warehouse)s's "
                        "bin code scheme %(pattern)s."
                    )
                    % {
                        "count": len(misfits),
                        "total": len(codes),
                        "example": misfits[0],
                        "warehouse": warehouse.code,
                        "pattern": scheme,
                    },
                    code="bin_code_pattern",
                )
            ],
        )

    existing = set(Bin.objects.filter(warehouse=warehouse, code__in=codes).values_list("code", flat=True))
    if existing and not skip_existing:
        taken = [code for code in codes if code in existing]
        listed = taken[:MAX_LISTED_ERRORS]
        examples = ", ".join(taken[:3]) + (", ..." if len(taken) > 3 else "")
        raise ValidationFailed(
            _(
                "%(subject)s: %(count)s of the %(total)s codes exist already (%(examples)s); set skip_existing to add "
                "only the others."
            )
            % {"subject": subject, "count": len(taken), "total": len(codes), "examples": examples},
            errors=[
                ErrorDetail(
                    message=_("Bin %(code)s already exists in warehouse %(warehouse)s.")
                    % {"code": code, "warehouse": warehouse.code},
                    code="bin_exists",
                    field="code",
                )
                for code in listed
            ],
        )

    start = Bin.objects.filter(warehouse=warehouse).aggregate(highest=Max("pick_sequence"))["highest"] or 0
    sellable = kind in Bin.SELLABLE_BY_DEFAULT if is_sellable is None else is_sellable
    new_codes = [code for code in codes if code not in existing]
    bins = [
        Bin(
            warehouse=warehouse,
            code=code,
            zone=code.split("-", 1)[0],
            kind=kind,
            is_sellable=sellable,
            pick_sequence=start + offset,
        )
        for offset, code in enumerate(new_codes, start=1)
    ]
    made = Bin.objects.bulk_create(bins, batch_size=BIN_GENERATE_BATCH_SIZE)
    if made:
        # One audit entry for the block (bulk_create sends no post_save), with its count and its first and last codes.
        audit_record_bulk(
            model=Bin,
            counts={"created": len(made)},
            description=f"{len(made)} bins generated in {warehouse.code}: {made[0].code} … {made[-1].code}",
        )
    return made
