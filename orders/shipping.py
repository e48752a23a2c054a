"""An allocated parcel shipped with a carrier: the parcel in the carrier's words (``ShipmentIn``: recipient,
weight, size, customs lines from the products' data), handed to ``logistics.shipments.shipment_create``.

``logistics`` knows shipments, not orders; this module, above it, turns an order's parcel into one."""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError
from core.status import status_lock, status_transition
from inventory.locks import balances_lock, bins_share_lock
from inventory.models import Bin, Reservation, StockLevel, StockMove, Warehouse
from inventory.stock_services import stock_pick, stock_ship
from logistics.carriers.base import CustomsLineIn, ShipmentIn
from logistics.manifests import shipments_handed_over
from logistics.models import CarrierAccount, Shipment
from logistics.shipments import shipment_create, shipment_label_ready, shipment_moved
from orders.models import Order, Parcel
from orders.services import SHIPPABLE, ShipmentLineIn, order_shipment_record
from orders.status import ORDER_STATUS

logger = logging.getLogger(__name__)

# Destinations where an IOSS number goes with a low-value parcel (the EU) and the store may have one.
EU = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()  # noqa: SIM905
)


def _vat_number(options: dict, country: str) -> str:
    """The seller's VAT number for the destination, from the store's options: ``vat_numbers`` by country (the UK's
    for parcels to GB, Norway's VOEC number...), or ``uk_vat_number`` for GB."""
    by_country = options.get("vat_numbers") if isinstance(options.get("vat_numbers"), dict) else {}
    number = by_country.get(country) or (options.get("uk_vat_number") if country == "GB" else "")
    return str(number or "")


def parcel_shipment_in(parcel: Parcel) -> ShipmentIn:
    """The parcel as a carrier reads it: the first order's address (merged orders share it), every line's product
    weight and customs data (bundles declared as sold), the orders' references joined, and the store's tax numbers
    the destination asks for (options ``ioss_number`` for the EU, ``vat_numbers``/``uk_vat_number``,
    ``eori_number`` for the EU and GB)."""
    rows = list(parcel.lines.select_related("line__product", "order__store").order_by("order_id", "pk"))
    orders: dict[int, Order] = {}
    lines: dict[str, CustomsLineIn] = {}
    weight = 0
    for row in rows:
        orders.setdefault(row.order_id, row.order)
        product = row.line.product
        if product is None:
            continue
        units = (row.line.product_quantity or 0) * row.quantity // (row.line.quantity or 1)
        weight += (product.weight_g or 0) * units
        previous = lines.get(product.sku)
        lines[product.sku] = CustomsLineIn(
            sku=product.sku,
            name_en=product.declared_name_en or "",
            name_zh=product.declared_name_zh or "",
            hs_code=product.hs_code or "",
            quantity=(previous.quantity if previous else 0) + units,
            unit_value=product.declared_value if product.declared_value is not None else Decimal(0),
            currency=product.declared_currency or "USD",
            unit_weight_g=product.weight_g or 0,
            origin_country=product.origin_country or "CN",
        )
    first = next(iter(orders.values()))
    country = (first.ship_country or "").upper()
    options = first.store.options if isinstance(first.store.options, dict) else {}
    return ShipmentIn(
        reference="+".join(order.channel_order_id for order in orders.values())[:64],
        method_code=parcel.shipping_method.code if parcel.shipping_method_id else "",
        recipient={
            "name": first.ship_name,
            "company": first.ship_company,
            "address1": first.ship_address1,
            "address2": " ".join(part for part in (first.ship_address2, first.ship_address3) if part),
            "city": first.ship_city,
            "state": first.ship_state,
            "postcode": first.ship_postcode,
            "country": country,
            "phone": first.ship_phone,
            "email": first.buyer_email,
        },
        weight_g=weight,
        lines=tuple(lines.values()),
        ioss_number=str(options.get("ioss_number") or "") if country in EU else "",
        vat_number=_vat_number(options, country),
        eori_number=str(options.get("eori_number") or "") if country in EU | {"GB"} else "",
    )


def parcel_ship(*, parcel: Parcel, account: CarrierAccount | None = None, user=None) -> Shipment:
    """Make the shipment of an allocated parcel with ``account`` (the shipping method's account when not given):
    tracking number and label. Asked twice (a retry, a second click, two people at once), it gives the shipment
    made first. The carrier is asked outside any transaction (see ``shipment_create``)."""
    with transaction.atomic():
        parcel = (
            Parcel.objects.select_for_update(of=("self",))
            .select_related("shipping_method__carrier", "shipping_method__account")
            .get(pk=parcel.pk)
        )
        if parcel.reserved_at is None or parcel.shipping_method_id is None:
            raise Conflict(
                _("Parcel %(parcel)s is not allocated: it has no stock reserved or no shipping method.")
                % {"parcel": parcel.number},
                code="parcel_not_allocated",
            )
        account = account or parcel.shipping_method.account
        if account is not None and not account.is_active:
            raise Conflict(
                _("Carrier account %(account)s is not active.") % {"account": account.name},
                code="account_inactive",
            )
        if account is None:
            raise Conflict(
                _("Shipping method %(method)s has no carrier account to make labels with: set one on the method.")
                % {"method": parcel.shipping_method.code},
                code="method_without_account",
            )
        live = parcel.shipments.exclude(status__in=[Shipment.Status.CANCELLED, Shipment.Status.FAILED]).first()
        if live is not None:
            return live
        earlier = parcel.shipments.count()  # cancelled or failed: a new attempt gets a new number with the carrier
        shipment_in = parcel_shipment_in(parcel)
    shipment_in = replace(shipment_in, idempotency_key=parcel.number if not earlier else f"{parcel.number}-{earlier}")
    try:
        return shipment_create(
            account=account,
            method=parcel.shipping_method,
            parcel=shipment_in,
            parcel_id=parcel.pk,
            user=user,
        )
    except IntegrityError:
        # Someone made this parcel's shipment between our look and our insert: theirs is the one.
        live = parcel.shipments.exclude(status__in=[Shipment.Status.CANCELLED, Shipment.Status.FAILED]).first()
        if live is None:
            raise
        return live


# --- What logistics' news does to orders ------------------------------------------------------------------------


def _carrier_for(method, order: Order) -> str:
    codes = method.marketplace_carrier_codes if isinstance(method.marketplace_carrier_codes, dict) else {}
    return str(codes.get(order.store.channel) or method.carrier.name)


def _parcel_orders(shipment: Shipment) -> list[tuple[Order, list[ShipmentLineIn]]]:
    """Each order in the shipment's parcel, with its lines and quantities in that parcel."""
    by_order: dict[int, tuple[Order, list[ShipmentLineIn]]] = {}
    rows = shipment.parcel.lines.select_related("order__store", "line").order_by("order_id", "pk")
    for row in rows:
        by_order.setdefault(row.order_id, (row.order, []))[1].append(
            ShipmentLineIn(line_id=row.line_id, quantity=row.quantity)
        )
    return list(by_order.values())


@receiver(shipment_label_ready, dispatch_uid="orders.shipment_label_ready")
def _label_ready(sender, shipment_id: int, **kwargs) -> None:
    """A store that wants to hear at the label is told the tracking number now (the order itself waits for the
    hand-over)."""
    shipment = Shipment.objects.select_related("method__carrier", "parcel").get(pk=shipment_id)
    if shipment.parcel is None or not shipment.tracking_number:
        return
    for order, lines in _parcel_orders(shipment):
        if order.store.tracking_to_store != "label" or order.status not in SHIPPABLE:
            continue
        try:
            order_shipment_record(
                order=order,
                carrier=_carrier_for(shipment.method, order),
                service=shipment.method.name,
                tracking_number=shipment.tracking_number,
                lines=lines,
                handed_over=False,
            )
        except DomainError as error:  # the label stands; the order shows why the store was not told
            logger.warning("Order %s: the store was not told label %s: %s", order.pk, shipment.number, error)


@receiver(shipments_handed_over, dispatch_uid="orders.shipments_handed_over")
def _handed_over(sender, shipment_ids: list[int], user=None, **kwargs) -> None:
    """In the hand-over's transaction: each parcel's stock leaves the warehouse and its orders ship (the store is
    told through the channels' queue)."""
    shipments = list(
        Shipment.objects.filter(pk__in=shipment_ids, parcel__isnull=False)
        .select_related("method__carrier", "parcel__warehouse")
        .order_by("pk")
    )
    _stock_rows_lock([shipment.parcel.number for shipment in shipments])
    for shipment in shipments:
        parcel_stock_ship(shipment.parcel, user)
        for order, lines in _parcel_orders(shipment):
            order_shipment_record(
                order=order,
                carrier=_carrier_for(shipment.method, order),
                service=shipment.method.name,
                tracking_number=shipment.tracking_number or shipment.number,
                lines=lines,
                user=user,
                settle=False,
            )


def _stock_rows_lock(references: list[str]) -> None:
    """Lock, at once and in ``inventory.locks``' order, the bins the parcels' units were picked into and the balances
    of their products, before they are shipped parcel by parcel: two hand-overs sharing a SKU would otherwise lock
    its balance parcel by parcel, in opposite orders, and deadlock (found with 50 packers closing manifests at once,
    bench/bench_scans.py). Each ``stock_ship`` then finds its rows locked already."""
    picked_into = StockMove.objects.filter(reference__in=references, reason=StockMove.Reason.PICK)
    bins_share_lock(picked_into.values_list("to_bin_id", flat=True))
    balances_lock(
        Reservation.objects.filter(reference__in=references).values_list("product_id", "warehouse_id"), create=False
    )


def parcel_stock_ship(parcel: Parcel, user=None) -> None:
    """The parcel's stock leaves its warehouse. Units picked on the floor ship from where they were picked to;
    units only reserved (a parcel labelled and handed over without the scan pages) are picked first from the
    sellable bins that hold them, in pick order, into the warehouse's dispatch bin, and ship from there."""
    if parcel.warehouse_id is None:
        return
    warehouse = parcel.warehouse
    reservations = Reservation.objects.filter(reference=parcel.number, warehouse=warehouse).select_related("product")
    dispatch: Bin | None = None
    for reservation in reservations.order_by("product_id"):
        product = reservation.product
        for bin_id, quantity in _picked_where(parcel.number, product.pk).items():
            if quantity > 0:
                stock_ship(
                    reference=parcel.number,
                    product=product,
                    from_bin=Bin.objects.get(pk=bin_id),
                    quantity=quantity,
                    user=user,
                )
        left = reservation.quantity_reserved
        if left <= 0:
            continue
        dispatch = dispatch or _dispatch_bin(warehouse)
        levels = (
            StockLevel.objects.filter(product=product, bin__warehouse=warehouse, bin__is_sellable=True, on_hand__gt=0)
            .select_related("bin")
            .order_by("bin__pick_sequence", "bin__code")
        )
        for level in levels:
            take = min(left, level.on_hand)
            stock_pick(
                reference=parcel.number, product=product, from_bin=level.bin, to_bin=dispatch, quantity=take, user=user
            )
            left -= take
            if left == 0:
                break
        stock_ship(
            reference=parcel.number,
            product=product,
            from_bin=dispatch,
            quantity=reservation.quantity_reserved - left,
            user=user,
        )


def _picked_where(reference: str, product_id: int) -> dict[int, int]:
    """Where the reference's picked units of a product are now: picked into a bin, less what shipped from it."""
    where: dict[int, int] = {}
    moves = StockMove.objects.filter(reference=reference, product_id=product_id).values_list(
        "reason", "from_bin_id", "to_bin_id", "quantity"
    )
    for reason, from_bin_id, to_bin_id, quantity in moves:
        if reason == StockMove.Reason.PICK:
            where[to_bin_id] = where.get(to_bin_id, 0) + quantity
        elif reason == StockMove.Reason.SHIP and from_bin_id in where:
            where[from_bin_id] -= quantity
    return where


def _dispatch_bin(warehouse: Warehouse) -> Bin:
    """The warehouse's dispatch bin (kind shipping), made on first use: not sellable, where parcels wait to go."""
    found = Bin.objects.filter(warehouse=warehouse, kind=Bin.Kind.SHIPPING).order_by("pk").first()
    if found is not None:
        return found
    made, _created = Bin.objects.get_or_create(
        warehouse=warehouse,
        code="DISPATCH",
        defaults={"kind": Bin.Kind.SHIPPING, "is_sellable": False, "zone": "DISPATCH"},
    )
    return made


@receiver(shipment_moved, dispatch_uid="orders.shipment_moved")
def _shipment_moved(sender, shipment_id: int, status: str, **kwargs) -> None:
    """Delivered or returned parcels move their orders: an order is delivered when every parcel of it that went
    is delivered, returned when one comes back."""
    if status not in (Shipment.Status.DELIVERED, Shipment.Status.RETURNED):
        return
    shipment = Shipment.objects.select_related("parcel").get(pk=shipment_id)
    if shipment.parcel is None:
        return
    with transaction.atomic():
        for order, _lines in _parcel_orders(shipment):
            order = status_lock(machine=ORDER_STATUS, document=order)
            if status == Shipment.Status.RETURNED:
                target = Order.Status.RETURNED
            else:
                gone = Shipment.objects.filter(
                    parcel__lines__order=order,
                    status__in=[
                        Shipment.Status.HANDED_OVER,
                        Shipment.Status.IN_TRANSIT,
                        Shipment.Status.EXCEPTION,
                        Shipment.Status.DELIVERED,
                    ],
                ).distinct()
                if order.status != Order.Status.SHIPPED or gone.exclude(status=Shipment.Status.DELIVERED).exists():
                    continue
                target = Order.Status.DELIVERED
            if target in ORDER_STATUS.allowed(order.status):
                status_transition(machine=ORDER_STATUS, document=order, to_status=target, note=shipment.tracking_number)
