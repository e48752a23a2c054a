"""Writes of suppliers and supplier products; the one-preferred-supplier rule is kept here, under a lock."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.errors import Conflict, ErrorDetail, ValidationFailed, errors_from_django, words_join
from inventory.models import Product
from purchasing.models import Supplier, SupplierProduct

SUPPLIER_FIELDS = frozenset(
    {
        "name",
        "contact_name",
        "email",
        "phone",
        "address",
        "currency",
        "default_lead_time_days",
        "notes",
        "is_active",
    }
)
SUPPLIER_PRODUCT_FIELDS = frozenset(
    {
        "supplier",
        "product",
        "supplier_sku",
        "unit_cost",
        "minimum_order_quantity",
        "case_pack",
        "lead_time_days",
        "is_preferred",
    }
)


def _save(instance: Supplier | SupplierProduct) -> None:
    """Save; a constraint lost to a concurrent writer becomes a named conflict instead of a server error."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        what = _("Supplier") if isinstance(instance, Supplier) else _("Supplier product")
        raise Conflict(
            _("%(what)s was refused by the database (%(reason)s); another change came first, try again.")
            % {"what": what, "reason": constraint or exc},
            constraint=constraint,
        ) from exc


def _supplier_product_clashes(supplier_product: SupplierProduct) -> list[ErrorDetail]:
    """The uniqueness rules, named by field and by the row they clash with (Django names neither)."""
    if supplier_product.supplier_id is None or supplier_product.product_id is None:
        return []
    errors = []
    others = SupplierProduct.objects.filter(supplier_id=supplier_product.supplier_id).select_related(
        "supplier", "product"
    )
    if supplier_product.pk is not None:
        others = others.exclude(pk=supplier_product.pk)
    same_product = others.filter(product_id=supplier_product.product_id).first()
    if same_product is not None:
        errors.append(
            ErrorDetail(
                message=_("%(supplier)s already has a row for %(sku)s; change that one instead.")
                % {"supplier": same_product.supplier.name, "sku": same_product.product.sku},
                code="unique",
                field="product",
            )
        )
    if supplier_product.supplier_sku:
        same_sku = others.filter(supplier_sku=supplier_product.supplier_sku).first()
        if same_sku is not None:
            errors.append(
                ErrorDetail(
                    message=_("Supplier SKU %(supplier_sku)s is already used by %(supplier)s for %(sku)s.")
                    % {
                        "supplier_sku": same_sku.supplier_sku,
                        "supplier": same_sku.supplier.name,
                        "sku": same_sku.product.sku,
                    },
                    code="unique",
                    field="supplier_sku",
                )
            )
    return errors


def _apply(instance: Any, data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed(
            _("Unknown field(s): %(fields)s.") % {"fields": words_join(unknown)},
            errors=[
                ErrorDetail(message=_("Not a field that can be changed."), code="unknown_field", field=name)
                for name in unknown
            ],
        )
    for name, value in data.items():
        setattr(instance, name, value)


def _supplier_save(supplier: Supplier) -> Supplier:
    # Field validators run before Supplier.clean() normalizes, so normalize first.
    supplier.name = (supplier.name or "").strip()
    supplier.currency = (supplier.currency or "").strip().upper()
    try:
        supplier.full_clean()
    except ValidationError as error:
        raise ValidationFailed.listing(_("Supplier is invalid"), errors_from_django(error)) from error
    _save(supplier)
    return supplier


def supplier_create(
    *,
    name: str,
    contact_name: str = "",
    email: str = "",
    phone: str = "",
    address: str = "",
    currency: str = "CNY",
    default_lead_time_days: int = 7,
    notes: str = "",
    is_active: bool = True,
) -> Supplier:
    supplier = Supplier(
        name=name,
        contact_name=contact_name,
        email=email,
        phone=phone,
        address=address,
        currency=currency,
        default_lead_time_days=default_lead_time_days,
        notes=notes,
        is_active=is_active,
    )
    return _supplier_save(supplier)


def supplier_update(*, supplier: Supplier, data: Mapping[str, Any]) -> Supplier:
    """Change the fields named in ``data`` (any of SUPPLIER_FIELDS)."""
    _apply(supplier, data, SUPPLIER_FIELDS)
    return _supplier_save(supplier)


def _supplier_product_save(supplier_product: SupplierProduct) -> SupplierProduct:
    supplier_product.supplier_sku = (supplier_product.supplier_sku or "").strip()
    with transaction.atomic():
        if supplier_product.is_preferred and supplier_product.product_id is not None:
            # The product row is the lock every change of its preferred supplier takes, so two of them
            # for one product run one after the other, even when the product has no supplier rows yet.
            # NO KEY: rows that only point at the product (order lines, stock) are not blocked.
            list(Product.objects.select_for_update(no_key=True).filter(pk=supplier_product.product_id).values("pk"))
            others = SupplierProduct.objects.filter(product_id=supplier_product.product_id, is_preferred=True)
            if supplier_product.pk is not None:
                others = others.exclude(pk=supplier_product.pk)
            others.update(is_preferred=False)
        errors = []
        try:
            # Uniqueness is checked by _supplier_product_clashes, in words that name the other row; the
            # CHECK constraints repeat the field validators and stay with the database.
            supplier_product.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            errors = errors_from_django(error)
        errors += _supplier_product_clashes(supplier_product)
        if errors:
            raise ValidationFailed.listing(_("Supplier product is invalid"), errors)
        _save(supplier_product)
    return supplier_product


def supplier_product_create(
    *,
    supplier: Supplier,
    product: Product,
    unit_cost: Decimal,
    supplier_sku: str = "",
    minimum_order_quantity: int = 1,
    case_pack: int = 1,
    lead_time_days: int | None = None,
    is_preferred: bool = False,
) -> SupplierProduct:
    """Record what ``supplier`` charges for ``product``; ``is_preferred`` unsets the product's other preferred row."""
    supplier_product = SupplierProduct(
        supplier=supplier,
        product=product,
        unit_cost=unit_cost,
        supplier_sku=supplier_sku,
        minimum_order_quantity=minimum_order_quantity,
        case_pack=case_pack,
        lead_time_days=lead_time_days,
        is_preferred=is_preferred,
    )
    return _supplier_product_save(supplier_product)


def supplier_product_update(*, supplier_product: SupplierProduct, data: Mapping[str, Any]) -> SupplierProduct:
    """Change the fields named in ``data`` (any of SUPPLIER_PRODUCT_FIELDS); see supplier_product_create."""
    _apply(supplier_product, data, SUPPLIER_PRODUCT_FIELDS)
    return _supplier_product_save(supplier_product)


def supplier_product_delete(*, supplier_product: SupplierProduct) -> None:
    supplier_product.delete()
