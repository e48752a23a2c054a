"""The operations of the served OpenAPI schema (the ``schema`` fixture of tests/api/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

METHODS = ("get", "post", "put", "patch", "delete")


def operations(schema: dict) -> Iterator[tuple[str, str, dict]]:
    """(path, method, operation) of every operation in ``schema``."""
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]
