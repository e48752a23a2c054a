"""Load the demo catalogue through the apps' own services; creates what is missing and never overwrites."""

from __future__ import annotations

import os
import zlib
from collections import Counter
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from channels.models import Channel, Store, SyncRun
from channels.services import store_create, store_orders_import, store_update, sync_request
from channels.tokens import store_credentials
from core.roles import roles_ensure
from demo import catalogue
from demo.catalogue import DemoProduct, DemoSupplier, DemoWarehouse
from demo.simulators import (
    CARRIER_SIMULATORS,
    PLATFORMS,
    PORT_ENVIRONMENT,
    carrier_simulator_for,
    simulator_for,
    store_settings,
)
from inventory.bulk import product_bulk_upsert
from inventory.count_services import stock_count_import_rows, stock_count_open
from inventory.models import Bin, Product, Reservation, StockCount, StockMove, Transfer, Warehouse
from inventory.services import bin_create, bin_generate, product_create, warehouse_create
from inventory.stock_services import stock_pick, stock_reserve, stock_ship
from inventory.transfer_services import transfer_create, transfer_ship
from logistics.models import Carrier, CarrierAccount, ShippingMethod, TrackingNumberRange
from logistics.services import carrier_account_save, carrier_save, method_save, rate_card_save
from orders.allocation import rule_save
from orders.models import AllocationRule, Blacklist
from orders.services import blacklist_save
from purchasing.models import PurchaseOrder, ReorderPolicy, Supplier, SupplierProduct
from purchasing.orders import purchase_order_create, purchase_order_submit
from purchasing.policies import reorder_policy_create, reorder_policy_global
from purchasing.services import supplier_create, supplier_product_create
from purchasing.suggestions import suggestions_compute


def _warehouse_data(warehouse: DemoWarehouse) -> dict[str, Any]:
    return {
        "code": warehouse.code,
        "name": warehouse.name,
        "kind": warehouse.kind,
        "country": warehouse.country,
        "address_line1": warehouse.address_line1,
        "address_line2": warehouse.address_line2,
        "city": warehouse.city,
        "state": warehouse.state,
        "postal_code": warehouse.postal_code,
        "contact_name": warehouse.contact_name,
        "phone": warehouse.phone,
        "priority": warehouse.priority,
        "bin_code_pattern": catalogue.BIN_CODE_PATTERN,
    }


def _product_row(product: DemoProduct, *, number: int) -> dict[str, Any]:
    """One row in the shape of a spreadsheet import: Product field names, text values."""
    length, width, height = product.dimensions_mm
    return {
        "sku": product.sku,
        "name": product.name,
        "barcode": catalogue.demo_barcode(number),
        "weight_g": str(product.weight_g),
        "length_mm": str(length),
        "width_mm": str(width),
        "height_mm": str(height),
        "declared_name_en": product.declared_name_en,
        "declared_name_zh": product.declared_name_zh,
        "hs_code": product.hs_code,
        "declared_value": product.declared_value_usd,
        "declared_currency": "USD",
        "origin_country": "CN",
        "contains_battery": "true" if product.contains_battery else "false",
        "contains_liquid": "true" if product.contains_liquid else "false",
        "cost_price": product.cost_cny,
        "cost_currency": "CNY",
    }


def _warehouses_ensure(created: Counter) -> dict[str, Warehouse]:
    existing = {
        warehouse.code: warehouse
        for warehouse in Warehouse.objects.filter(code__in=[demo.code for demo in catalogue.WAREHOUSES])
    }
    for demo_warehouse in catalogue.WAREHOUSES:
        if demo_warehouse.code not in existing:
            existing[demo_warehouse.code] = warehouse_create(data=_warehouse_data(demo_warehouse))
            created["warehouses"] += 1
    return existing


def _bins_ensure(warehouses: dict[str, Warehouse], created: Counter) -> None:
    for code, layouts in catalogue.RACK_LAYOUTS.items():
        warehouse = warehouses[code]
        for zones, aisles, racks, levels, kind in layouts:
            made = bin_generate(
                warehouse=warehouse,
                zones=zones,
                aisles=aisles,
                racks=racks,
                levels=levels,
                kind=kind,
                skip_existing=True,
            )
            created["bins"] += len(made)
        taken = set(Bin.objects.filter(warehouse=warehouse).values_list("code", flat=True))
        for bin_code, kind in catalogue.WORK_AREA_BINS[code]:
            if bin_code not in taken:
                bin_create(data={"warehouse": warehouse, "code": bin_code, "kind": kind})
                created["bins"] += 1


def _products_ensure(created: Counter) -> dict[str, Product]:
    skus = [product.sku for product in catalogue.PRODUCTS] + [bundle.sku for bundle in catalogue.BUNDLES]
    existing = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    # Barcodes are numbered by catalogue position so that a product keeps its barcode from run to run.
    rows = [
        _product_row(product, number=number)
        for number, product in enumerate(catalogue.PRODUCTS, start=1)
        if product.sku not in existing
    ]
    if rows:
        product_bulk_upsert(rows=rows)
        created["products"] += len(rows)
    by_sku = {product.sku: product for product in Product.objects.filter(sku__in=skus)}
    first_bundle_number = len(catalogue.PRODUCTS) + 1
    for number, bundle in enumerate(catalogue.BUNDLES, start=first_bundle_number):
        if bundle.sku in by_sku:
            continue
        components = [(by_sku[sku], quantity) for sku, quantity in bundle.components]
        by_sku[bundle.sku] = product_create(
            data={
                "sku": bundle.sku,
                "name": bundle.name,
                "barcode": catalogue.demo_barcode(number),
                "declared_name_en": bundle.declared_name_en,
                "declared_name_zh": bundle.declared_name_zh,
                "is_bundle": True,
            },
            components=components,
        )
        created["bundles"] += 1
    return by_sku


def _supplier_ensure(demo_supplier: DemoSupplier, created: Counter) -> Supplier:
    supplier = Supplier.objects.filter(name=demo_supplier.name).first()
    if supplier is not None:
        return supplier
    created["suppliers"] += 1
    return supplier_create(
        name=demo_supplier.name,
        contact_name=demo_supplier.contact_name,
        email=demo_supplier.email,
        phone=demo_supplier.phone,
        address=demo_supplier.address,
        currency="CNY",
        default_lead_time_days=demo_supplier.lead_time_days,
    )


def _supplier_products_ensure(products: dict[str, Product], created: Counter) -> None:
    suppliers = {demo.key: _supplier_ensure(demo, created) for demo in catalogue.SUPPLIERS}
    prefixes = {demo.key: demo.sku_prefix for demo in catalogue.SUPPLIERS}
    other_key = {"electronics": "general", "general": "electronics"}
    existing = set(
        SupplierProduct.objects.filter(supplier__in=suppliers.values()).values_list("supplier_id", "product_id")
    )
    # A person may have chosen another preferred supplier since the last run; that choice stands.
    has_preferred = set(SupplierProduct.objects.filter(is_preferred=True).values_list("product_id", flat=True))
    for number, demo_product in enumerate(catalogue.PRODUCTS, start=1):
        product = products[demo_product.sku]
        cost = Decimal(demo_product.cost_cny)
        sources = [(demo_product.supplier, cost, True)]
        if demo_product.sku in catalogue.SECOND_SOURCE_SKUS:
            marked_up = (cost * catalogue.SECOND_SOURCE_MARKUP).quantize(Decimal("0.01"))
            sources.append((other_key[demo_product.supplier], marked_up, False))
        for key, unit_cost, preferred in sources:
            supplier = suppliers[key]
            if (supplier.pk, product.pk) in existing:
                continue
            supplier_product_create(
                supplier=supplier,
                product=product,
                unit_cost=unit_cost,
                supplier_sku=f"{prefixes[key]}-{number:04d}",
                # Cheap small goods come in bigger minimums and cartons than chargers and power banks.
                minimum_order_quantity=50 if unit_cost < 5 else 20,
                case_pack=100 if demo_product.weight_g < 100 else 20,
                is_preferred=preferred and product.pk not in has_preferred,
            )
            created["supplier_products"] += 1


def demo_users_ensure(*, password: str | None, created: Counter) -> dict[str, object]:
    """One staff user per role (catalogue.USERS); new ones get ``password`` (none usable without it)."""
    user_model = get_user_model()
    users = {user.username: user for user in user_model.objects.filter(username__in=[u[0] for u in catalogue.USERS])}
    groups = {group.name: group for group in Group.objects.all()}
    for username, role, first_name, last_name in catalogue.USERS:
        if username in users:
            continue
        user = user_model.objects.create_user(
            username=username,
            password=password,
            email=f"{username}@example.com",
            first_name=first_name,
            last_name=last_name,
            is_staff=True,
        )
        user.groups.add(groups[role])
        users[username] = user
        created["users"] += 1
    return users


def _spread(sku: str, low: int, high: int) -> int:
    """A quantity between ``low`` and ``high`` that is the same for a SKU on every run."""
    return low + zlib.crc32(sku.encode()) % (high - low + 1)


def _stocked_skus() -> list[str]:
    wanted = {sku for _, sku, _ in catalogue.ORDER_LINES} | {sku for sku, _ in catalogue.TRANSFER_LINES}
    return [
        product.sku
        for index, product in enumerate(catalogue.PRODUCTS)
        if index % catalogue.UNSTOCKED_EVERY != catalogue.UNSTOCKED_EVERY - 1 or product.sku in wanted
    ]


def _opening_stock_ensure(warehouses: dict[str, Warehouse], user, created: Counter) -> None:
    """Opening balances through a stock count per warehouse, as a seller starting on Seabridge would load them.

    A warehouse that has any ledger row already is left alone: its stock is somebody's work, not the demo's.
    """
    stocked = _stocked_skus()
    transfer_skus = [sku for sku, _ in catalogue.TRANSFER_LINES]
    plans = {
        "SZ": [
            *((sku, Bin.Kind.PICK, _spread(sku, 12, 480)) for sku in stocked),
            *(
                (sku, Bin.Kind.BULK, _spread(sku, 200, 1000))
                for sku in dict.fromkeys(stocked[: catalogue.BULK_PRODUCTS] + transfer_skus)
            ),
        ],
        "LA": [(sku, Bin.Kind.PICK, _spread(sku, 10, 120)) for sku in stocked[: catalogue.OVERSEAS_PRODUCTS]],
    }
    for code, plan in plans.items():
        warehouse = warehouses[code]
        if StockMove.objects.filter(to_bin__warehouse=warehouse).exists():
            continue
        bins = {
            kind: list(
                Bin.objects.filter(warehouse=warehouse, kind=kind, is_active=True).order_by(
                    "pick_sequence", "code_sort"
                )
            )
            for kind in (Bin.Kind.PICK, Bin.Kind.BULK)
        }
        rows = []
        for index, (sku, kind, quantity) in enumerate(plan):
            # Spread over the bins along the pick path, two bins apart, as put-away would.
            bin_ = bins[kind][(index * 2) % len(bins[kind])]
            rows.append({"sku": sku, "bin": bin_.code, "quantity": quantity, "_row": index + 2})
        stock_count_import_rows(warehouse=warehouse, rows=rows, user=user, note="Demo: opening stock")
        created["opening_stock_rows"] += len(rows)


def _orders_ensure(warehouses: dict[str, Warehouse], users: dict[str, object], created: Counter) -> None:
    """Orders waiting: reserved, some picked into a packing bin, one shipped."""
    shenzhen = warehouses["SZ"]
    references = [reference for reference, _, _ in catalogue.ORDER_LINES]
    if Reservation.objects.filter(reference__in=references).exists():
        return
    products = {
        product.sku: product for product in Product.objects.filter(sku__in=[sku for _, sku, _ in catalogue.ORDER_LINES])
    }
    packing = Bin.objects.get(warehouse=shenzhen, code="PACK-01")
    for number, (reference, sku, quantity) in enumerate(catalogue.ORDER_LINES):
        product = products[sku]
        stock_reserve(warehouse=shenzhen, lines=[(product, quantity)], reference=reference, user=users.get("service"))
        created["reservations"] += 1
        if number < catalogue.PICKED_ORDER_LINES:
            # From the first pick bin that holds it along the path.
            from_bin = (
                Bin.objects.filter(
                    warehouse=shenzhen,
                    kind=Bin.Kind.PICK,
                    stock_levels__product=product,
                    stock_levels__on_hand__gte=quantity,
                )
                .order_by("pick_sequence")
                .first()
            )
            stock_pick(
                reference=reference,
                product=product,
                from_bin=from_bin,
                to_bin=packing,
                quantity=quantity,
                user=users.get("picker"),
            )
        if number < catalogue.SHIPPED_ORDER_LINES:
            stock_ship(
                reference=reference, product=product, from_bin=packing, quantity=quantity, user=users.get("picker")
            )


def _transfer_ensure(warehouses: dict[str, Warehouse], user, created: Counter) -> None:
    """Sea freight from Shenzhen to Ontario, shipped and on the water."""
    if Transfer.objects.filter(note=catalogue.TRANSFER_NOTE).exists():
        return
    products = {
        product.sku: product for product in Product.objects.filter(sku__in=[sku for sku, _ in catalogue.TRANSFER_LINES])
    }
    transfer = transfer_create(
        source=warehouses["SZ"],
        destination=warehouses["LA"],
        lines=[(products[sku], quantity, None) for sku, quantity in catalogue.TRANSFER_LINES],
        note=catalogue.TRANSFER_NOTE,
        user=user,
    )
    transfer_ship(transfer=transfer, user=user, carrier_reference=catalogue.TRANSFER_CARRIER_REFERENCE)
    created["transfers"] += 1


def _count_ensure(warehouses: dict[str, Warehouse], user, created: Counter) -> None:
    """A cycle count of one zone, open: counters are at it."""
    if StockCount.objects.filter(note=catalogue.COUNT_NOTE).exists():
        return
    stock_count_open(
        warehouse=warehouses["SZ"], zone=catalogue.COUNT_ZONE, is_blind=True, note=catalogue.COUNT_NOTE, user=user
    )
    created["counts"] += 1


CREATED_KINDS = (
    "warehouses",
    "bins",
    "products",
    "bundles",
    "suppliers",
    "supplier_products",
    "users",
    "opening_stock_rows",
    "reservations",
    "transfers",
    "counts",
    "stores",
    "spreadsheet_orders",
    "shipping_methods",
    "carrier_accounts",
    "allocation_rules",
    "reorder_policies",
    "purchase_orders",
)


@transaction.atomic
def demo_data_load(*, password: str | None = None, simulators_url: str | None = None) -> dict[str, int]:
    """Create the demo warehouses, bins, products, bundles, suppliers, roles and users that do not exist yet, and
    put work in them: opening stock in both warehouses, orders reserved and picked, a transfer on the water, a
    count open, a purchase order due today, and the purchase suggestions.

    Everything goes through the apps' services, as a person's work would. Idempotent: a second run creates
    nothing and leaves rows that exist (even edited ones) as they are. New demo users get ``password`` (the
    admin's, from bootstrap). ``simulators_url`` is where the marketplace simulators of the demo answer
    (``demo.simulators``; default http://127.0.0.1:$SEABRIDGE_SIMULATORS_PORT or 8001): a store per platform points
    at them. Returns how many of each kind were created.
    """
    created: Counter = Counter()
    roles_ensure()
    warehouses = _warehouses_ensure(created)
    _bins_ensure(warehouses, created)
    products = _products_ensure(created)
    _supplier_products_ensure(products, created)
    users = demo_users_ensure(password=password, created=created)
    manager = users.get("manager")
    _opening_stock_ensure(warehouses, manager, created)
    _orders_ensure(warehouses, users, created)
    _transfer_ensure(warehouses, manager, created)
    _count_ensure(warehouses, manager, created)
    _stores_ensure(warehouses, simulators_url or simulators_default_url(), created)
    _shipping_methods_ensure(created)
    _carrier_accounts_ensure(warehouses["SZ"], simulators_url or simulators_default_url(), created)
    _allocation_rules_ensure(created)
    _purchasing_ensure(warehouses, manager, created)
    return {kind: created[kind] for kind in CREATED_KINDS}


def _purchasing_ensure(warehouses: dict[str, Warehouse], user, created: Counter) -> None:
    """The buyer's side: the global reorder policy, Ontario refilled from Shenzhen by sea (its suggestions are
    transfers), a purchase order submitted to the electronics supplier and due at Shenzhen today (to receive on the
    floor's receive page), and the suggestions worked out once."""
    reorder_policy_global()
    if not ReorderPolicy.objects.filter(warehouse=warehouses["LA"], product=None).exists():
        reorder_policy_create(
            name=catalogue.OVERSEAS_POLICY_NAME,
            warehouse=warehouses["LA"],
            replenish_from=warehouses["SZ"],
            transit_mode=ReorderPolicy.TransitMode.SEA,
            transit_days=35,
            qc_days=2,
            safety_days=14,
            review_period_days=14,
        )
        created["reorder_policies"] += 1
    if not PurchaseOrder.objects.filter(note=catalogue.PURCHASE_ORDER_NOTE).exists():
        supplier = Supplier.objects.get(name=catalogue.SUPPLIERS[0].name)
        products = Product.objects.in_bulk([sku for sku, _ in catalogue.PURCHASE_ORDER_LINES], field_name="sku")
        order = purchase_order_create(
            supplier=supplier,
            warehouse=warehouses["SZ"],
            lines=[(products[sku], quantity, None) for sku, quantity in catalogue.PURCHASE_ORDER_LINES],
            note=catalogue.PURCHASE_ORDER_NOTE,
            user=user,
        )
        purchase_order_submit(purchase_order=order, user=user, expected_on=timezone.localdate())
        created["purchase_orders"] += 1
    suggestions_compute()


def _allocation_rules_ensure(created: Counter) -> None:
    """The demo's allocation rules (catalogue.ALLOCATION_RULES), made once; a rule a person changed is kept."""
    for kind, value, reason in catalogue.BLACKLIST:
        if not Blacklist.objects.filter(kind=kind, value=value).exists():
            blacklist_save(data={"kind": kind, "value": value, "reason": reason})
    for data in catalogue.ALLOCATION_RULES:
        if not AllocationRule.objects.filter(name=data["name"]).exists():
            rule_save(data=data)
            created["allocation_rules"] += 1


# --- Shipping methods and rate cards -----------------------------------------------------------------------------


def _shipping_methods_ensure(created: Counter) -> None:
    """The demo's carriers, their methods and a rate card for each (catalogue.SHIPPING_METHODS), made once."""
    carriers = {}
    for code, name in catalogue.CARRIERS:
        carriers[code] = Carrier.objects.filter(code=code).first() or carrier_save(data={"code": code, "name": name})
    for method_data, card_data, zones in catalogue.SHIPPING_METHODS:
        if ShippingMethod.objects.filter(code=method_data["code"]).exists():
            continue
        method = method_save(data={**method_data, "carrier": carriers[method_data["carrier"]]})
        rate_card_save(data={**card_data, "method": method}, zones=zones)
        created["shipping_methods"] += 1


def _sender(warehouse: Warehouse) -> dict[str, str]:
    """The return address on labels: the Shenzhen warehouse."""
    return {
        "name": warehouse.contact_name,
        "company": "Seabridge Demo Trading Co.",
        "phone": warehouse.phone,
        "address1": warehouse.address_line1,
        "address2": warehouse.address_line2,
        "district": "Longhua",
        "city": warehouse.city,
        "state": warehouse.state,
        "postcode": warehouse.postal_code,
        "country": warehouse.country,
    }


def _carrier_accounts_ensure(shenzhen: Warehouse, simulators_url: str, created: Counter) -> None:
    """A carrier account per carrier simulator (pointed at it again each time: it may have moved port), the
    self-printed China Post with an S10 number range, and each demo method's account for its labels."""
    sender = _sender(shenzhen)
    accounts: dict[str, CarrierAccount] = {}
    for carrier in CARRIER_SIMULATORS:
        simulator = carrier_simulator_for(carrier)
        url = f"{simulators_url.rstrip('/')}/{carrier.path}{carrier.api_path}"
        account = CarrierAccount.objects.filter(name=carrier.name).first()
        if account is None:
            created["carrier_accounts"] += 1
        elif account.api_base_url == url:
            accounts[carrier.name] = account
            continue
        accounts[carrier.name] = carrier_account_save(
            account=account,
            data={"carrier": carrier.carrier, "name": carrier.name, "api_base_url": url, "sender": sender},
            credentials=carrier.credentials(simulator),
        )
    post = CarrierAccount.objects.filter(name=catalogue.POST_ACCOUNT).first()
    if post is None:
        post = carrier_account_save(data={"carrier": "self", "name": catalogue.POST_ACCOUNT, "sender": sender})
        TrackingNumberRange.objects.create(
            account=post, prefix="RR", suffix="CN", first_number=10000000, last_number=19999999, next_number=10000000
        )
        created["carrier_accounts"] += 1
    for carrier in CARRIER_SIMULATORS:
        ShippingMethod.objects.filter(code__in=carrier.methods, account__isnull=True).update(
            account=accounts[carrier.name]
        )
    ShippingMethod.objects.filter(account__isnull=True).update(account=post)


# --- Stores ----------------------------------------------------------------------------------------------------


def simulators_default_url() -> str:
    port = os.environ.get(PORT_ENVIRONMENT) or "8001"
    return f"http://127.0.0.1:{port}"


def _stores_ensure(warehouses: dict[str, Warehouse], simulators_url: str, created: Counter) -> None:
    """A store per platform, connected to the demo's simulators; one that cannot reach its platform; a spreadsheet
    store with orders imported from a file. Stores that exist are pointed at the simulators again (they may have
    moved port) with the credentials the simulators know (a refresh rotated them last time)."""
    feeding = [warehouses["SZ"], warehouses["LA"]]
    for platform in PLATFORMS:
        wanted = store_settings(platform, simulator_for(platform), simulators_url)
        store = Store.objects.filter(name=wanted["name"]).first()
        if store is None:
            store_create(**wanted, warehouses=feeding)
            created["stores"] += 1
            continue
        connection = {key: wanted[key] for key in ("api_base_url", "auth_url", "marketplace_id", "options")}
        if (
            any(getattr(store, key) != value for key, value in connection.items())
            or store_credentials(store) != wanted["credentials"]
        ):
            store_update(store=store, credentials=wanted["credentials"], **connection)
    if not Store.objects.filter(name=catalogue.UNREACHABLE_STORE).exists():
        store_create(
            channel=Channel.EBAY,
            name=catalogue.UNREACHABLE_STORE,
            # Nothing listens on port 9 of this machine: the health page shows what a store that cannot reach its
            # platform looks like.
            api_base_url="http://127.0.0.1:9",
            auth_url="http://127.0.0.1:9/identity/v1/oauth2/token",
            marketplace_id="EBAY_GB",
            credentials={"client_id": "demo", "client_secret": "demo", "refresh_token": "demo"},
            warehouses=[warehouses["LA"]],
        )
        created["stores"] += 1
    spreadsheet = Store.objects.filter(name=catalogue.SPREADSHEET_STORE).first()
    if spreadsheet is None:
        spreadsheet = store_create(
            channel=Channel.MANUAL,
            name=catalogue.SPREADSHEET_STORE,
            options={"timezone": "Asia/Shanghai"},
            warehouses=feeding,
        )
        created["stores"] += 1
    if not spreadsheet.orders.exists():
        result = store_orders_import(store=spreadsheet, source=catalogue.spreadsheet_orders_csv().encode("utf-8"))
        created["spreadsheet_orders"] += result.created


def demo_stores_sync() -> list[str]:
    """Queue an orders sync of each demo store that has never synced, so `make run` shows their orders within a
    minute instead of at the schedule's first turn (the worker started with the server runs them); the store that
    cannot reach its platform too, so that its failure shows on the health page at once."""
    names = [platform.name for platform in PLATFORMS] + [catalogue.UNREACHABLE_STORE]
    queued = []
    for store in Store.objects.filter(name__in=names, is_active=True, orders_synced_to__isnull=True).order_by("name"):
        _run, queued_now = sync_request(store=store, kind=SyncRun.Kind.ORDERS, trigger=SyncRun.Trigger.SCHEDULE)
        if queued_now:
            queued.append(store.name)
    return queued
