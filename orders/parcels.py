"""An order as the parcel a quote prices: its destination, weight, size and what is in it, from its products."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from core.errors import ErrorDetail, ValidationFailed
from logistics.quotes import ParcelIn
from orders.models import Order, OrderLine


def order_parcel(order: Order, lines: Iterable[OrderLine] | None = None) -> ParcelIn:
    """The parcel of ``order``'s lines still in it: products' weights × quantities, the sum of their volumes (so
    the volumetric weight of items packed together), the longest side of any item, batteries and liquids.
    ValidationFailed names what is missing: an unmapped SKU, a product without a weight, the country.
    ``lines`` (with their products) when the caller has them already; else they are read."""
    errors: list[ErrorDetail] = []
    weight = volume = longest = 0
    volume_known = True
    battery = liquid = False
    if lines is None:
        lines = order.lines.filter(quantity__gt=0).select_related("product").order_by("pk")
    for line in lines:
        if line.quantity <= 0:
            continue
        product = line.product
        if product is None:
            errors.append(
                ErrorDetail(_("SKU %(sku)s is not mapped to a product.") % {"sku": line.channel_sku}, field="lines")
            )
            continue
        quantity = line.product_quantity or 0
        if product.weight_g is None:
            errors.append(ErrorDetail(_("Product %(sku)s has no weight.") % {"sku": product.sku}, field="lines"))
        else:
            weight += product.weight_g * quantity
        sides = (product.length_mm, product.width_mm, product.height_mm)
        if all(sides):
            volume += sides[0] * sides[1] * sides[2] * quantity
            longest = max(longest, *sides)
        else:
            volume_known = False
        battery = battery or product.contains_battery
        liquid = liquid or product.contains_liquid
    if not order.ship_country:
        errors.append(ErrorDetail(_("The order has no country to ship to."), field="ship_country"))
    if weight <= 0 and not errors:
        errors.append(ErrorDetail(_("The order has nothing left to ship."), field="lines"))
    if errors:
        raise ValidationFailed.listing(_("Order %(order)s") % {"order": order.channel_order_id}, errors)
    return ParcelIn(
        country=order.ship_country,
        postcode=order.ship_postcode,
        weight_g=weight,
        length_mm=longest or None,
        volume_mm3=volume if volume_known and volume else None,
        has_battery=battery,
        has_liquid=liquid,
    )
