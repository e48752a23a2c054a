"""JSON in and out, fast where it counts: pages of marketplace orders read, and order rows written by COPY.

orjson reads and writes several times faster than the standard library, which matters for a sync of ten thousand
orders (a megabyte of JSON per page of Amazon orders). Where it refuses what the standard library takes (text in a
charset other than UTF-8, integers beyond 64 bits, NaN, a lone surrogate) the standard library does the work, so
behaviour and errors stay what they were: ``ValueError`` for JSON that cannot be read.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_DUMP_OPTIONS = orjson.OPT_NON_STR_KEYS


def json_loads(content: bytes | str) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


def json_text(value: Any) -> str:
    """``value`` as JSON text, non-ASCII characters as they are; what JSON cannot say is written with ``str()``."""
    try:
        return orjson.dumps(value, default=str, option=_DUMP_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, default=str)


def json_may_hold_nul(value: Any) -> bool | None:
    """Whether the JSON of ``value`` holds a NUL character (which PostgreSQL's jsonb refuses); None when orjson
    cannot write it at all (a lone surrogate, an integer beyond 64 bits): the caller cleans it to be safe."""
    try:
        return b"\\u0000" in orjson.dumps(value, default=str, option=_DUMP_OPTIONS)
    except orjson.JSONEncodeError:
        return None
