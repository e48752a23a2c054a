"""Spreadsheet safety: exported text never runs as a formula, and the escape is undone on import."""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would evaluate with an apostrophe (OWASP CSV injection advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unescape_formula(value: Any) -> Any:
    """Undo :func:`escape_formula`, so an exported file imports back unchanged."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value
