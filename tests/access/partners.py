"""Two partners, each with its own store and two warehouses and data in all of them, each with a token limited to
its own store and warehouses (every scope, and the Administrator role, so that only the data scope stands between
them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from access.services import partner_create, token_create
from channels.models import RejectedOrder, Store, SyncRun
from channels.services import sku_mapping_save
from inventory.count_services import stock_count_open
from inventory.models import Bin, Reservation, StockMove, Warehouse
from inventory.services import bin_update
from inventory.stock_services import stock_receive
from inventory.transfer_services import transfer_create, transfer_ship
from logistics.manifests import manifest_open, manifest_scan
from logistics.models import TrackingEvent
from orders.fulfilment import orders_allocate
from orders.inbound import AddressIn
from orders.models import Order, Parcel
from orders.shipping import parcel_ship
from purchasing.models import Suggestion
from purchasing.orders import purchase_order_create, purchase_order_submit
from purchasing.policies import reorder_policy_create
from purchasing.receiving import ReceiveLine, receipt_create
from purchasing.suggestions import suggestions_compute
from tests.inventory.factories import BinFactory, ProductFactory, WarehouseFactory
from tests.logistics.parcels import post_account
from tests.logistics.test_quotes import method_with_card
from tests.orders.factories import StoreFactory, line_in
from tests.orders.test_fulfilment import imported
from tests.purchasing.factories import SupplierFactory
from warehouse.models import ScanEvent
from warehouse.scans import ScanDone, scan_record
from warehouse.waves import WaveCriteria, wave_create


@dataclass
class Partner:
    tag: str  # ALPHA or BRAVO: in every name and code of the partner's rows, so a leak shows in any answer
    store: Store
    warehouses: list[Warehouse]
    bins: dict[str, Bin]
    key: str = ""
    objects: dict[str, int] = field(default_factory=dict)  # route prefix -> one of its rows' ids
    markers: set[str] = field(default_factory=set)


def shared_world() -> dict:
    """What belongs to no partner: products, a shipping method with its rate card, the post account, a supplier."""
    method, _card = method_with_card("YT-STD")
    post = post_account()
    method.account = post
    method.save()
    return {
        "a": ProductFactory(sku="CASE-A", weight_g=200),
        "b": ProductFactory(sku="CABLE-B", weight_g=100),
        "method": method,
        "post": post,
        "supplier": SupplierFactory(name="Shenzhen Supply"),
    }


def partner_make(shared: dict, tag: str, letter: str, admin) -> Partner:
    main = WarehouseFactory(code=f"{letter}MAIN", name=f"{tag} main", country="CN", priority=10, bin_code_pattern="")
    overseas = WarehouseFactory(
        code=f"{letter}OVER", name=f"{tag} overseas", country="US", priority=50, bin_code_pattern=""
    )
    bins = {
        "pick": BinFactory(warehouse=main, code=f"{tag}-01-01-01", zone=tag, pick_sequence=10),
        "spare": BinFactory(warehouse=main, code=f"{tag}-01-01-02", zone=tag, pick_sequence=20),
        "overseas": BinFactory(warehouse=overseas, code=f"{tag}-09-01-01", zone=tag),
    }
    store = StoreFactory(name=f"{tag} shop")
    store.warehouses.set([main])
    partner = Partner(tag=tag, store=store, warehouses=[main, overseas], bins=bins)
    a, b = shared["a"], shared["b"]
    for product in (a, b):
        stock_receive(product=product, bin=bins["pick"], quantity=20, reference=f"{tag}-PO-0")
    stock_receive(product=a, bin=bins["overseas"], quantity=6, reference=f"{tag}-PO-0")
    stock_receive(product=b, bin=bins["spare"], quantity=1, reference=f"{tag}-PO-0")
    bin_update(bin=bins["spare"], data={"is_sellable": False}, user=admin)  # a sellable change

    world = {"store": store, "a": a, "b": b}
    # One buyer per partner, so their orders are merge suggestions of their own.
    address = AddressIn(name=f"{tag} buyer", address1="1 Main St", city="Springfield", postcode="62701", country="US")
    for number in (1, 2, 3):
        imported(world, f"{tag}-{number}", line_in("L1", "CASE-A", 1), address=address)
    imported(world, f"{tag}-4", line_in("L1", "CABLE-B", 2), line_in("L2", "CASE-A", 1), address=address)
    for product in (a, b):  # the store's SKUs mapped, which also maps its orders' lines
        sku_mapping_save(store=store, channel_sku=product.sku, product=product, user=admin)
    return partner


def partner_finish(shared: dict, partner: Partner, admin) -> None:
    """After allocation: a shipment in a manifest with tracking, a wave, a transfer, a count, a purchase order
    received, a policy and suggestions, a sync run, a rejected order, a scan; then the partner and its token."""
    tag, store = partner.tag, partner.store
    main, overseas = partner.warehouses
    orders = {order.channel_order_id: order for order in Order.objects.filter(store=store)}
    parcel_of = {
        order_id: Parcel.objects.filter(lines__order=order).distinct().get() for order_id, order in orders.items()
    }
    shipment = parcel_ship(parcel=parcel_of[f"{tag}-1"], account=shared["post"], user=admin)
    manifest = manifest_open(account=shared["post"], warehouse=main, pickup=tag)
    manifest_scan(manifest=manifest, code=shipment.number, user=admin)
    TrackingEvent.objects.create(
        shipment=shipment, occurred_at=timezone.now(), kind=TrackingEvent.Kind.IN_TRANSIT, description=f"{tag} hub"
    )
    wave = wave_create(criteria=WaveCriteria(warehouse_id=main.pk, max_parcels=1, store_ids=(store.pk,)), user=admin)
    transfer = transfer_create(
        source=overseas, destination=main, lines=[(shared["a"], 2, partner.bins["overseas"])], user=admin
    )
    transfer_ship(transfer=transfer, user=admin)
    count = stock_count_open(warehouse=overseas, user=admin)
    purchase_order = purchase_order_create(
        supplier=shared["supplier"], warehouse=main, lines=[(shared["a"], 5, Decimal("3.50"))], user=admin
    )
    purchase_order_submit(purchase_order=purchase_order, user=admin)
    receipt = receipt_create(
        purchase_order=purchase_order,
        lines=[ReceiveLine(product=shared["a"], accepted=2, bin=partner.bins["pick"])],
        user=admin,
    )
    policy = reorder_policy_create(name=f"{tag} policy", warehouse=main)
    suggestions_compute(warehouses=[main])
    # A manual store has no platform to sync with (sync_request refuses it): its run is written as a worker would.
    run = SyncRun.objects.create(store=store, kind=SyncRun.Kind.ORDERS, status=SyncRun.Status.SUCCEEDED)
    rejected = RejectedOrder.objects.create(store=store, channel_order_id=f"{tag}-BAD", message="No address")
    scan_record(
        user=admin,
        warehouse=main,
        step="pick",
        code=f"{tag}-SCAN",
        do=lambda: ScanDone(message="ok", reference=f"{tag}-SCAN"),
    )
    partner.objects = {
        "orders": orders[f"{tag}-2"].pk,
        "parcels": parcel_of[f"{tag}-3"].pk,
        "shipments": shipment.pk,
        "manifests": manifest.pk,
        "waves": wave.pk,
        "warehouses": main.pk,
        "bins": partner.bins["pick"].pk,
        "stock-moves": StockMove.objects.filter(to_bin=partner.bins["pick"]).order_by("pk").first().pk,
        "reservations": Reservation.objects.filter(warehouse=main).order_by("pk").first().pk,
        "transfers": transfer.pk,
        "stock-counts": count.pk,
        "purchase-orders": purchase_order.pk,
        "receipts": receipt.pk,
        "reorder-policies": policy.pk,
        "suggestions": Suggestion.objects.filter(warehouse=main).order_by("pk").first().pk,
        "stores": store.pk,
        "sync-runs": run.pk,
        "sku-mappings": store.sku_mappings.order_by("pk").first().pk,
        "rejected-orders": rejected.pk,
        "scans": ScanEvent.objects.filter(warehouse=main).get().pk,
    }
    partner.markers = {
        tag,
        main.code,
        overseas.code,
        shipment.number,
        manifest.number,
        wave.number,
        transfer.number,
        count.number,
        purchase_order.number,
        *(parcel.number for parcel in parcel_of.values()),
    }
    service = partner_create(name=f"{tag} 3PL", roles=["Administrator"], by=admin)
    _token, partner.key = token_create(
        user=service.user,
        name="everything of ours",
        scopes=["*"],
        stores=[store],
        warehouses=[main, overseas],
        expires_at=timezone.now() + timedelta(days=1),
        by=admin,
    )


def two_partners(admin) -> tuple[dict, Partner, Partner]:
    shared = shared_world()
    alpha = partner_make(shared, "ALPHA", "A", admin)
    bravo = partner_make(shared, "BRAVO", "B", admin)
    orders_allocate()
    partner_finish(shared, alpha, admin)
    partner_finish(shared, bravo, admin)
    return shared, alpha, bravo
