"""API keys: ``sb_<prefix>_<secret>``, recognisable in a leak; only the SHA-256 of the whole key is stored.

The secret is 32 random bytes, so a fast hash is right (nothing to guess from it, unlike a password); the prefix
(8 hex characters) finds the row, and the hash is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

KEY_PREFIX = "sb"
KEY_RE = re.compile(r"^sb_(?P<prefix>[0-9a-f]{8})_(?P<secret>[A-Za-z0-9_-]{43})$")


def key_make() -> tuple[str, str]:
    """A new key and its prefix."""
    prefix = secrets.token_hex(4)
    return f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key; None for anything else."""
    found = KEY_RE.match(key)
    return found["prefix"] if found else None


def key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(key_hash(key), stored_hash)
