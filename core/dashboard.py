"""The admin's home page: today's work in tiles and tables, each contributed by the app that knows it.

``core`` imports no app, so apps register what they show (``dashboard_register`` from their AppConfig.ready),
in the order of a seller's day: orders first, then the warehouse floor, stock, purchasing, logistics, stores.
A provider takes the request and returns sections; each reads its figures through its app's selectors, so the
page runs a fixed number of queries whatever the data holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Figure:
    """One number worth seeing at a glance, with what it is and where to act on it."""

    label: str
    value: int | str
    note: str = ""
    link: str = ""


@dataclass(frozen=True)
class Table:
    """A short table: the latest rows of something, with a link to the whole list."""

    title: str
    headers: list[str]
    rows: list[list[Any]]
    link: str = ""
    empty: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


Provider = Callable[[HttpRequest], list[Section]]
# (order, provider): lower orders come first.
PROVIDERS: list[tuple[int, Provider]] = []

# Where each part of the seller's day goes on the page.
ORDERS, WAREHOUSE, STOCK, PURCHASING, LOGISTICS, STORES = 10, 20, 30, 40, 50, 60


def dashboard_register(provider: Provider, *, order: int) -> None:
    """Add a provider of sections to the home page; registering one twice is harmless."""
    if all(existing is not provider for _, existing in PROVIDERS):
        PROVIDERS.append((order, provider))


def dashboard_sections(request: HttpRequest) -> list[Section]:
    sections: list[Section] = []
    for _, provider in sorted(PROVIDERS, key=lambda item: item[0]):
        sections.extend(provider(request))
    return sections


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """UNFOLD["DASHBOARD_CALLBACK"]: the home page's sections, for templates/admin/index.html."""
    context["dashboard_sections"] = dashboard_sections(request)
    return context
