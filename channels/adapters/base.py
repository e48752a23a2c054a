"""The one small interface every marketplace adapter implements, and the errors they raise.

An adapter speaks one platform's real protocol: its authentication, paging, throttling dialect and data shapes.
It knows nothing of the database: it is built from a ``StoreConnection`` (where and as whom to connect, with a
``TokenStore`` that keeps access tokens and refreshes them one worker at a time) and a ``ChannelHttp`` (time-outs,
retries with backoff, pacing, and the time spent waiting on the platform). ``channels.sync`` drives it.

Four operations:

- ``orders_changed(since, until)``: every order the store changed in the window, complete (lines, and the
  address even where the platform gives it by another call), as ``OrderIn``, or as ``OrderProblem`` for an
  order whose data cannot be read (the run records it with its raw data and goes on). Paging is hidden.
- ``order_get(id)``: one order in full.
- ``shipment_confirm(shipment)``: tell the store a parcel left, once (``ConfirmResult.already_confirmed`` when the
  platform says it knows it already).
- ``stock_push(items)``: set the available quantity of listings, at most ``stock_batch_size`` per call; one
  ``StockResult`` per item, since platforms refuse items one by one.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from orders.inbound import OrderIn

# --- Errors ---------------------------------------------------------------------------------------------------


class ChannelError(Exception):
    """Something went wrong talking to a platform. ``code`` is stable (for programs); the message is for people."""

    code = "channel_error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.status = status


class Transient(ChannelError):
    """Worth trying again later: time-outs, connection errors, 5xx, after the retries ``ChannelHttp`` made."""

    code = "transient"


class RateLimited(Transient):
    """The platform says slow down; ``retry_after`` is how long it asked for (seconds), if it said."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AuthFailed(ChannelError):
    """The credentials are refused even after a refresh: a person must reconnect the store."""

    code = "auth_failed"


class Rejected(ChannelError):
    """The platform understood the request and refused it (a wrong order id, a tracking number it will not take)."""

    code = "rejected"


class BadResponse(ChannelError):
    """The platform answered something this adapter cannot read (not JSON, a missing field, a wrong type)."""

    code = "bad_response"


# --- What goes in and out ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderProblem:
    """An order the adapter could not read: which one, which field, why, and what the platform sent."""

    channel_order_id: str
    field: str
    message: str
    raw: Any = None


@dataclass(frozen=True)
class ShipmentLineOut:
    channel_line_id: str
    quantity: int


@dataclass(frozen=True)
class ShipmentOut:
    """A parcel to tell the store about. ``reference`` is Seabridge's id of it, unique per order (a positive
    number, which is what Amazon's packageReferenceId accepts), and ``order_raw`` the order as the store sent it."""

    channel_order_id: str
    reference: str
    carrier: str
    service: str
    tracking_number: str
    shipped_at: datetime
    lines: tuple[ShipmentLineOut, ...]
    order_raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfirmResult:
    reference: str = ""  # the platform's id of the fulfilment, where it gives one
    already_confirmed: bool = False


@dataclass(frozen=True)
class StockOut:
    """A listing's available quantity to set. ``listing_id``/``listing_variant_id``/``options`` are the mapping's
    (ASIN or item id, Shopify inventory item id, Amazon product type...)."""

    channel_sku: str
    quantity: int
    listing_id: str = ""
    listing_variant_id: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StockResult:
    channel_sku: str
    ok: bool
    message: str = ""


# --- Tokens -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class TokenGrant:
    """What a refresh returned: the new access token, and credentials the platform rotated (Wish's refresh
    token, say), to be saved with the store's other credentials."""

    access_token: AccessToken
    credentials: Mapping[str, Any] = field(default_factory=dict)


class TokenStore(Protocol):
    """Keeps a store's access token where every worker sees it, and refreshes it one worker at a time."""

    def current(self) -> AccessToken | None: ...

    def refresh(self, *, stale: AccessToken | None, grant: Callable[[Mapping[str, Any]], TokenGrant]) -> AccessToken:
        """Under a lock: if the token is no longer ``stale`` (another worker refreshed meanwhile), return the new
        one; otherwise call ``grant(credentials)`` (the platform's refresh call), save and return its token."""
        ...


class MemoryTokens:
    """A TokenStore in memory, for one process: adapters' own tests and command-line use."""

    def __init__(self, credentials: Mapping[str, Any], token: AccessToken | None = None) -> None:
        self.credentials = dict(credentials)
        self.token = token
        self.refreshes = 0
        self._lock = threading.Lock()

    def current(self) -> AccessToken | None:
        return self.token

    def refresh(self, *, stale, grant):
        with self._lock:
            if self.token is not None and self.token != stale:
                return self.token
            granted = grant(dict(self.credentials))
            self.credentials.update(granted.credentials)
            self.token = granted.access_token
            self.refreshes += 1
            return self.token


@dataclass
class StoreConnection:
    """Where and as whom an adapter connects. ``credentials`` hold the names each platform uses (decrypted);
    ``options`` the store's channel-specific settings (a Shopify location id, say)."""

    channel: str
    api_base_url: str
    credentials: Mapping[str, Any]
    tokens: TokenStore
    auth_url: str = ""
    marketplace_id: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    store_id: int | None = None


# --- The interface ----------------------------------------------------------------------------------------------


class ChannelAdapter(ABC):
    """One platform. Subclasses set the class attributes and implement the four operations."""

    channel: ClassVar[str]
    default_api_base_url: ClassVar[str]
    default_auth_url: ClassVar[str] = ""
    # The credential names this platform needs (the API refuses a store without them).
    credential_names: ClassVar[tuple[str, ...]]
    stock_batch_size: ClassVar[int] = 1

    def __init__(self, connection: StoreConnection, http) -> None:
        self.connection = connection
        self.http = http

    @property
    def base_url(self) -> str:
        return (self.connection.api_base_url or self.default_api_base_url).rstrip("/")

    @property
    def auth_url(self) -> str:
        return self.connection.auth_url or self.default_auth_url

    @abstractmethod
    def orders_changed(self, *, since: datetime, until: datetime) -> Iterator[OrderIn | OrderProblem]: ...

    @abstractmethod
    def order_get(self, channel_order_id: str) -> OrderIn: ...

    @abstractmethod
    def shipment_confirm(self, shipment: ShipmentOut) -> ConfirmResult: ...

    @abstractmethod
    def stock_push(self, items: list[StockOut]) -> list[StockResult]: ...
