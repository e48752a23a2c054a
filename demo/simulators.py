"""The marketplaces and carriers of the demo: every platform's simulator behind one local server, full of orders
for the demo catalogue, so `make run` shows stores that really sync and labels that really come from a carrier.

``python -m demo.simulators --port 8001`` serves them (``manage.py serve`` starts it when SEABRIDGE_SIMULATORS_PORT
is set, as `make run` does): Amazon under ``/amazon``, eBay under ``/ebay``, AliExpress under ``/aliexpress``, Wish
under ``/wish`` and Shopify under ``/shopify``, each speaking its platform's wire format; the carriers YunExpress,
4PX, DHL Express and EasyPost under ``/yunexpress``, ``/4px``, ``/dhl`` and ``/easypost``. The demo's stores and
carrier accounts point at them. State lives in this one process; it starts afresh, with the same orders, every time.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PORT_ENVIRONMENT = "SEABRIDGE_SIMULATORS_PORT"
ORDERS_PER_STORE = 40
# SKUs the stores sell that the catalogue does not know: their orders are held until someone maps them.
UNKNOWN_SKUS = ("AMZ-EARBUDS-PRO-BLK", "HOLIDAY-BUNDLE-2026")
# Wish issues random tokens; the demo's store and its simulator (another process) agree on these instead.
WISH_DEMO_TOKENS = ("demo-wish-access-token", "demo-wish-refresh-token")


@dataclass(frozen=True)
class Platform:
    """How the demo reaches one simulator: its module and class, the store's URLs and credentials under ``base``."""

    channel: str
    name: str
    module: str
    class_name: str
    api_path: str = ""
    auth_path: str = ""
    marketplace_id: str = ""
    credentials: Callable[[Any], dict[str, str]] = field(default=lambda sim: {})
    options: Callable[[Any], dict[str, Any]] = field(default=lambda sim: {})
    follows_clock: bool = False  # a simulator whose clock stands still unless set: set it to the real time


PLATFORMS = (
    Platform(
        channel="amazon",
        name="Amazon US (demo)",
        module="channels.simulators.amazon",
        class_name="AmazonSimulator",
        auth_path="/auth/o2/token",
        marketplace_id="ATVPDKIKX0DER",
        credentials=lambda sim: {
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "refresh_token": sim.refresh_token,
            "seller_id": sim.seller_id,
        },
    ),
    Platform(
        channel="ebay",
        name="eBay US (demo)",
        module="channels.simulators.ebay",
        class_name="EbaySimulator",
        auth_path="/identity/v1/oauth2/token",
        marketplace_id="EBAY_US",
        credentials=lambda sim: {
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "refresh_token": sim.refresh_token,
        },
    ),
    Platform(
        channel="aliexpress",
        name="AliExpress (demo)",
        module="channels.simulators.aliexpress",
        class_name="AliExpressSimulator",
        auth_path="/rest",
        credentials=lambda sim: {
            "app_key": sim.app_key,
            "app_secret": sim.app_secret,
            "access_token": "sim-access-0",
            "refresh_token": "sim-refresh-0",
        },
        follows_clock=True,
    ),
    Platform(
        channel="wish",
        name="Wish (demo)",
        module="channels.simulators.wish",
        class_name="WishSimulator",
        api_path="/api/v3",
        credentials=lambda sim: {
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "access_token": WISH_DEMO_TOKENS[0],
            "refresh_token": WISH_DEMO_TOKENS[1],
        },
        options=lambda sim: {"warehouse_id": sim.warehouse_id},
    ),
    Platform(
        channel="shopify",
        name="Shopify store (demo)",
        module="channels.simulators.shopify",
        class_name="ShopifySimulator",
        api_path="/admin/api/2026-04",
        credentials=lambda sim: {"access_token": "shpat_simulated_token"},  # the simulator's own
        options=lambda sim: {"location_id": f"gid://shopify/Location/{sim.default_location}"},
    ),
)


@dataclass(frozen=True)
class CarrierSim:
    """How the demo reaches one carrier's simulator: under ``/<path>``, its API at ``api_path``, with the
    simulator's own credentials."""

    carrier: str  # CarrierAccount.Kind
    path: str
    name: str
    module: str
    class_name: str
    api_path: str
    credentials: Callable[[Any], dict[str, str]]
    methods: tuple[str, ...] = ()  # the demo's shipping methods whose labels it makes


CARRIER_SIMULATORS = (
    CarrierSim(
        carrier="yunexpress",
        path="yunexpress",
        name="YunExpress 云途 (demo)",
        module="logistics.simulators.yunexpress",
        class_name="YunExpressSimulator",
        api_path="/api/",
        credentials=lambda sim: {"customer_code": sim.customer_code, "api_secret": sim.api_secret},
        methods=("YT-STD", "YT-SENS"),
    ),
    CarrierSim(
        carrier="4px",
        path="4px",
        name="4PX 递四方 (demo)",
        module="logistics.simulators.fourpx",
        class_name="FourPXSimulator",
        api_path="/router/api/service",
        credentials=lambda sim: {"app_key": sim.app_key, "app_secret": sim.app_secret},
        methods=("4PX-ECO",),
    ),
    CarrierSim(
        carrier="dhl_express",
        path="dhl",
        name="DHL Express (demo)",
        module="logistics.simulators.dhl_express",
        class_name="DhlExpressSimulator",
        api_path="/mydhlapi",
        credentials=lambda sim: {
            "username": sim.username,
            "password": sim.password,
            "account_number": sim.account_number,
        },
        methods=("DHL-EXP",),
    ),
    CarrierSim(
        carrier="easypost",
        path="easypost",
        name="EasyPost (demo)",
        module="logistics.simulators.easypost",
        class_name="EasyPostSimulator",
        api_path="/v2",
        credentials=lambda sim: {"api_key": sim.api_key},
    ),
)


def carrier_simulator_for(carrier: CarrierSim) -> Any:
    return getattr(importlib.import_module(carrier.module), carrier.class_name)()


def simulator_for(platform: Platform) -> Any:
    """A simulator of the platform. One that follows the clock starts at the present, so the tokens it issues at
    birth live from now, not from the simulator's fixed test epoch."""
    simulator_class = getattr(importlib.import_module(platform.module), platform.class_name)
    return simulator_class(now=datetime.now(UTC)) if platform.follows_clock else simulator_class()


def simulators_build(skus: Iterable[str], *, orders: int = ORDERS_PER_STORE) -> dict[str, Any]:
    """One simulator per platform, each holding ``orders`` orders of the demo's SKUs (and a few it does not know)."""
    sold = [*sorted(skus), *UNKNOWN_SKUS]
    built = {}
    for number, platform in enumerate(PLATFORMS, 1):
        simulator = simulator_for(platform)
        if platform.channel == "wish":
            _wish_demo_tokens(simulator)
        simulator.seed_demo(orders, sold, seed=number)
        built[platform.channel] = simulator
    for carrier in CARRIER_SIMULATORS:
        built[carrier.path] = carrier_simulator_for(carrier)
    return built


def _wish_demo_tokens(simulator: Any) -> None:
    from channels.simulators.wish import TOKEN_LIFETIME

    with simulator.lock:
        simulator._access_tokens[WISH_DEMO_TOKENS[0]] = simulator.now + TOKEN_LIFETIME
        simulator._refresh_tokens.add(WISH_DEMO_TOKENS[1])


class Dispatcher:
    """WSGI: ``/<channel>/...`` to that channel's simulator, with the prefix taken off the path."""

    def __init__(self, simulators: dict[str, Any]) -> None:
        self.simulators = simulators
        self.clocked = {platform.channel for platform in PLATFORMS if platform.follows_clock}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        channel, _, rest = path.lstrip("/").partition("/")
        simulator = self.simulators.get(channel)
        if simulator is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [
                b"No simulator here: /amazon, /ebay, /aliexpress, /wish, /shopify; "
                b"/yunexpress, /4px, /dhl, /easypost.\n"
            ]
        if channel in self.clocked:
            simulator.now = datetime.now(UTC)
        environ = {**environ, "PATH_INFO": "/" + rest, "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + "/" + channel}
        return simulator(environ, start_response)


def store_settings(platform: Platform, simulator: Any, base_url: str) -> dict[str, Any]:
    """What ``channels.services.store_create`` needs to connect a demo store to its simulator at ``base_url``."""
    root = f"{base_url.rstrip('/')}/{platform.channel}"
    return {
        "channel": platform.channel,
        "name": platform.name,
        "api_base_url": root + platform.api_path,
        "auth_url": root + platform.auth_path if platform.auth_path else "",
        "marketplace_id": platform.marketplace_id,
        "credentials": platform.credentials(simulator),
        "options": platform.options(simulator),
    }


def serve(port: int, host: str = "127.0.0.1") -> None:
    import django

    django.setup()
    from channels.simulators.base import SimulatorServer
    from demo import catalogue

    simulators = simulators_build(product.sku for product in catalogue.PRODUCTS)
    server = SimulatorServer(Dispatcher(simulators), host=host, port=port)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    with server:
        print(f"Marketplace simulators on {server.url}/: " + ", ".join(sorted(simulators)), flush=True)
        stopped.wait()


def main(argv: list[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get(PORT_ENVIRONMENT) or 8001))
    parser.add_argument("--host", default="127.0.0.1")
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    serve(options.port, options.host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
