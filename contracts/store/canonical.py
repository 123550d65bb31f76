"""Canonical JSON: one byte string per value, so a hash identifies content.

Problem: the ledger hashes events and settlements, and an auditor recomputes those hashes
years later with another library version; `json.dumps` defaults (key order, spacing,
floats) would make the same content hash differently.

Approach: sorted keys, no whitespace, UTF-8 kept as is, and no floats at all: a
`Decimal` is written as its string (exact), dates as ISO 8601, tuples as lists. A float
is refused, since its text form is not the money it pretends to be.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        raise TypeError(f"canonical JSON takes no floats ({value!r}); use Decimal")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """The canonical text of `value` (sorted keys, no whitespace, decimals as strings)."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
